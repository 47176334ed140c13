/* Channels of a zero-size element (elem_size 0, Go's struct{} and [0]byte), unbuffered and
 * buffered: they can be made, and (beyond the Go original) they carry signals.
 *
 * Port of Go's test/chan/zerosize.go to goro's C API, rewritten by hand.
 * Original: Copyright 2011 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/zerosize.go */

static void signal_once(void *arg)
{
    CHECK_OK(goro_chan_send(arg, NULL));
}

static void go_main(void *unused)
{
    /* The Go original: making them is enough. */
    goro_chan *a = goro_chan_new(0, 0);
    goro_chan *b = goro_chan_new(0, 1);
    CHECK(a != NULL);
    CHECK(b != NULL);
    CHECK_EQ(goro_chan_cap(a), 0);
    CHECK_EQ(goro_chan_cap(b), 1);

    /* Unbuffered: a rendezvous with nothing to copy; elem and out may be NULL. */
    go(signal_once, a);
    bool ok = false;
    CHECK_OK(goro_chan_recv(a, NULL, &ok));
    CHECK(ok);

    /* Buffered: len counts signals. */
    CHECK_OK(goro_chan_send(b, NULL));
    CHECK_EQ(goro_chan_len(b), 1);
    CHECK_EQ(goro_chan_try_send(b, NULL), GORO_EAGAIN);
    char untouched = 'u';
    CHECK_OK(goro_chan_recv(b, &untouched, &ok)); /* zero bytes copied */
    CHECK(ok);
    CHECK_EQ(untouched, 'u');
    CHECK_EQ(goro_chan_len(b), 0);

    /* The sender may still be returning from its send: its operation holds its own
       reference (CONTRACT.md), so releasing now is safe. */
    goro_chan_release(a);
    goro_chan_release(b);
}

int main(void)
{
    STEP_GO(go_main);
    return 0;
}
