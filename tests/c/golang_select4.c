/* A select receive case that is not chosen must not touch its destination: Go checks that
 * the address expression of the unchosen case is never even evaluated.
 *
 * Port of Go's test/chan/select4.go to goro's C API, rewritten by hand.
 * Original: Copyright 2010 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * C computes every case's elem pointer before the call, so the port checks the part that
 * still means something: the unchosen case's buffer and ok stay exactly as they were.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/select4.go */

static void body(void *unused)
{
    struct {
        int64_t a;
    } x = { 0 };
    unsigned char untouched[sizeof(int64_t)];
    memset(untouched, 0xA5, sizeof untouched);

    goro_chan *c = make_chan(1);
    goro_chan *c1 = make_chan(0);
    send_i64(c, 42);
    goro_case cases[2] = {
        { c1, GORO_RECV, untouched, true },
        { c, GORO_RECV, &x.a, false },
    };
    int r = goro_select(cases, 2, -1);
    CHECK_EQ(r, 1);
    CHECK(cases[1].ok);
    CHECK_EQ(x.a, 42);
    for (size_t i = 0; i < sizeof untouched; i++)
        CHECK_MSG(untouched[i] == 0xA5, "unchosen case's buffer written at byte %zu", i);
    CHECK_MSG(cases[0].ok == true, "unchosen case's ok written");
    goro_chan_release(c);
    goro_chan_release(c1);
}

int main(void)
{
    run_step("select4 (plain thread)", body, NULL, false);
    run_step("select4 (goroutine)", body, NULL, true);
    return 0;
}
