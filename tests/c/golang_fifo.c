/* Channels act as pure FIFOs: a buffered channel returns values in send order, and an
 * unbuffered channel serves a daisy chain of receivers in the order they queued.
 *
 * Port of Go's test/chan/fifo.go to goro's C API, rewritten by hand.
 * Original: Copyright 2009 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/fifo.go */

enum { N = 10 };

static void asynch_fifo(void)
{
    goro_chan *ch = make_chan(N);
    for (int64_t i = 0; i < N; i++)
        send_i64(ch, i);
    for (int64_t i = 0; i < N; i++)
        CHECK_EQ(recv_i64(ch), i);
    goro_chan_release(ch);
}

struct chain_args {
    goro_chan *ch, *in, *out;
    int64_t val;
};

/* Waits for its turn on in, then must receive exactly val from ch. */
static void chain(void *arg)
{
    struct chain_args *a = arg;
    recv_i64(a->in);
    CHECK_EQ(recv_i64(a->ch), a->val);
    send_i64(a->out, 1);
}

/* Threads a daisy chain to read the elements in sequence. */
static void synch_fifo(void)
{
    struct chain_args args[N];
    goro_chan *chans[N + 1];
    goro_chan *ch = make_chan(0);
    goro_chan *in = make_chan(0);
    goro_chan *start = in;
    chans[0] = in;
    for (int i = 0; i < N; i++) {
        goro_chan *out = make_chan(0);
        chans[i + 1] = out;
        args[i] = (struct chain_args){ ch, in, out, i };
        go(chain, &args[i]);
        in = out;
    }
    send_i64(start, 0);
    for (int64_t i = 0; i < N; i++)
        send_i64(ch, i);
    recv_i64(in);
    for (int i = 0; i <= N; i++)
        goro_chan_release(chans[i]);
    goro_chan_release(ch);
}

static void go_main(void *unused)
{
    asynch_fifo();
    synch_fifo();
}

/* The buffered half needs no goroutine, so it also runs on the plain main thread. */
static void plain_asynch(void *unused)
{
    asynch_fifo();
}

int main(void)
{
    STEP_THREAD(plain_asynch);
    STEP_GO(go_main);
    return 0;
}
