/* Go issue 2075: a select's failed cases must be removed from their channels' wait queues
 * cleanly, or later waiters on those channels (here c1) never wake.
 *
 * Port of Go's test/chan/select6.go to goro's C API, rewritten by hand.
 * Original: Copyright 2011 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/select6.go */

static goro_chan *c1, *c2, *c3;

static void recv_c1(void *unused)
{
    bool b;
    CHECK_OK(goro_chan_recv(c1, &b, NULL));
}

static void select_then_recv_c1(void *unused)
{
    bool b1 = false, b2 = false, t = true;
    goro_case cs[2] = { { c1, GORO_RECV, &b1, false }, { c2, GORO_RECV, &b2, false } };
    int r = goro_select(cs, 2, -1);
    CHECK_MSG(r == 1, "dummy: c1 chosen");
    CHECK_OK(goro_chan_send(c3, &t));
    CHECK_OK(goro_chan_recv(c1, &b1, NULL));
}

static void send_c2(void *unused)
{
    bool t = true;
    CHECK_OK(goro_chan_send(c2, &t));
}

static void go_main(void *unused)
{
    c1 = make_chan_sized(sizeof(bool), 0);
    c2 = make_chan_sized(sizeof(bool), 0);
    c3 = make_chan_sized(sizeof(bool), 0);
    go(recv_c1, NULL);
    go(select_then_recv_c1, NULL);
    go(send_c2, NULL);
    bool t = true;
    CHECK_OK(goro_chan_recv(c3, &t, NULL));
    CHECK_OK(goro_chan_send(c1, &t));
    CHECK_OK(goro_chan_send(c1, &t));
}

int main(void)
{
    STEP_GO(go_main);
    return 0;
}
