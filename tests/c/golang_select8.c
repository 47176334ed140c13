/* One-, two- and three-case selects (with and without default) against a goroutine that
 * sends forever: the receive or the default may run, a send nobody takes never does.
 *
 * Port of Go's test/chan/select8.go to goro's C API, rewritten by hand.
 * Original: Copyright 2019 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * Go's test is about `break` inside select (a gccgo bug); C has no select statement, so
 * what remains is the shape of each select and which outcomes are allowed.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/select8.go */

static goro_chan *ch;

static void send_forever(void *unused)
{
    for (;;)
        send_i64(ch, 5);
}

static void go_main(void *unused)
{
    ch = make_chan(0);
    go(send_forever, NULL);

    int64_t v = 0;
    goro_case one[1] = { { ch, GORO_RECV, &v, false } };
    CHECK_EQ(goro_select(one, 1, -1), 0);
    CHECK_EQ(v, 5);

    CHECK_EQ(goro_select(NULL, 0, 0), GORO_EAGAIN); /* select { default: } */

    v = 0;
    int r = goro_select(one, 1, 0);
    CHECK(r == 0 || r == GORO_EAGAIN);
    if (r == 0)
        CHECK_EQ(v, 5);

    int64_t ten = 10;
    v = 0;
    goro_case two[2] = { { ch, GORO_RECV, &v, false }, { ch, GORO_SEND, &ten, false } };
    r = goro_select(two, 2, 0);
    CHECK_MSG(r == 0 || r == GORO_EAGAIN, "unreachable case %d", r);
    if (r == 0)
        CHECK_EQ(v, 5);
}

int main(void)
{
    STEP_GO(go_main);
    return 0;
}
