/* Every operation Go's perm.go marks "ok" on a bidirectional channel works on a goro_chan:
 * send, receive, receive with ok, both kinds of select case, range (receive until closed)
 * and close.
 *
 * Port of Go's test/chan/perm.go to goro's C API, rewritten by hand.
 * Original: Copyright 2009 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * perm.go is a compile-error test of channel directions (chan<-, <-chan). A goro_chan has
 * no direction, so the lines Go rejects have no C counterpart; the lines it accepts are
 * checked here at run time instead.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/perm.go */

static void body(void *unused)
{
    goro_chan *c = make_chan(1);

    send_i64(c, 0);           /* c <- 0 // ok */
    CHECK_EQ(recv_i64(c), 0); /* <-c // ok */
    send_i64(c, 0);
    bool ok = false;
    CHECK_EQ(recv_i64_ok(c, &ok), 0); /* x, ok := <-c // ok */
    CHECK(ok);

    /* select { case c <- 0: // ok   case x := <-c: // ok } */
    int64_t zero = 0, x = -1;
    goro_case cs[2] = { { c, GORO_SEND, &zero, false }, { c, GORO_RECV, &x, false } };
    CHECK_EQ(goro_select(cs, 2, -1), 0); /* empty buffer: only the send is ready */
    CHECK(cs[0].ok);
    CHECK_EQ(goro_select(cs, 2, -1), 1); /* full buffer: only the receive is ready */
    CHECK(cs[1].ok);
    CHECK_EQ(x, 0);

    /* close(c); for range c {} // ok */
    send_i64(c, 7);
    CHECK_OK(goro_chan_close(c));
    long n = 0;
    for (;;) {
        int64_t v = recv_i64_ok(c, &ok);
        if (!ok)
            break;
        CHECK_EQ(v, 7);
        n++;
    }
    CHECK_EQ(n, 1);
    goro_chan_release(c);
}

int main(void)
{
    run_step("perm (plain thread)", body, NULL, false);
    run_step("perm (goroutine)", body, NULL, true);
    return 0;
}
