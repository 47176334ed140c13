/* Receives that discard their value (out = NULL, or a select case with elem = NULL) meet
 * sends made three ways: plain, a one-case select, and a two-case select.
 *
 * Port of Go's test/chan/select7.go to goro's C API, rewritten by hand.
 * Original: Copyright 2011 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/select7.go */

static void recv1(void *arg)
{
    CHECK_OK(goro_chan_recv(arg, NULL, NULL));
}

static void recv2(void *arg)
{
    goro_case cs[1] = { { arg, GORO_RECV, NULL, false } };
    CHECK_EQ(goro_select(cs, 1, -1), 0);
    CHECK(cs[0].ok);
}

static void recv3(void *arg)
{
    goro_chan *c2 = make_chan(0);
    goro_case cs[2] = { { arg, GORO_RECV, NULL, false }, { c2, GORO_RECV, NULL, false } };
    CHECK_EQ(goro_select(cs, 2, -1), 0);
    CHECK(cs[0].ok);
    goro_chan_release(c2);
}

static void send1(goro_fn recv)
{
    goro_chan *c = make_chan(0);
    go(recv, c);
    goro_yield();
    send_i64(c, 1);
    goro_chan_release(c); /* the receiver's operation holds its own reference */
}

static void send2(goro_fn recv)
{
    goro_chan *c = make_chan(0);
    go(recv, c);
    goro_yield();
    int64_t one = 1;
    goro_case cs[1] = { { c, GORO_SEND, &one, false } };
    CHECK_EQ(goro_select(cs, 1, -1), 0);
    CHECK(cs[0].ok);
    goro_chan_release(c);
}

static void send3(goro_fn recv)
{
    goro_chan *c = make_chan(0);
    go(recv, c);
    goro_yield();
    goro_chan *c2 = make_chan(0);
    int64_t one = 1;
    goro_case cs[2] = { { c, GORO_SEND, &one, false }, { c2, GORO_SEND, &one, false } };
    CHECK_EQ(goro_select(cs, 2, -1), 0);
    CHECK(cs[0].ok);
    goro_chan_release(c2);
    goro_chan_release(c);
}

static void go_main(void *unused)
{
    send1(recv1);
    send2(recv1);
    send3(recv1);
    send1(recv2);
    send2(recv2);
    send3(recv2);
    send1(recv3);
    send2(recv3);
    send3(recv3);
}

int main(void)
{
    STEP_GO(go_main);
    return 0;
}
