/* A select with four ready-to-be-ready send cases must run exactly one of them per call:
 * if two ran, the same counter would reach two channels and the receiver sees a duplicate.
 *
 * Port of Go's test/chan/doubleselect.go to goro's C API, rewritten by hand.
 * Original: Copyright 2009 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * Go's deferred closes become goro_defer, so they also check defer's LIFO run at the end.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/doubleselect.go */

static int64_t iterations;

struct sender_args {
    int64_t n;
    goro_chan *c1, *c2, *c3, *c4;
};

static void close_chan(void *c)
{
    CHECK_OK(goro_chan_close(c));
}

/* Sends a counter to one of four channels. */
static void sender(void *arg)
{
    struct sender_args *a = arg;
    CHECK_OK(goro_defer(close_chan, a->c1));
    CHECK_OK(goro_defer(close_chan, a->c2));
    CHECK_OK(goro_defer(close_chan, a->c3));
    CHECK_OK(goro_defer(close_chan, a->c4));
    for (int64_t i = 0; i < a->n; i++) {
        int64_t v = i;
        goro_case cases[4] = {
            { a->c1, GORO_SEND, &v, false },
            { a->c2, GORO_SEND, &v, false },
            { a->c3, GORO_SEND, &v, false },
            { a->c4, GORO_SEND, &v, false },
        };
        int k = goro_select(cases, 4, -1);
        CHECK(k >= 0 && k < 4);
        CHECK(cases[k].ok);
    }
}

struct mux_args {
    goro_chan *out, *in, *done;
};

/* Receives the values from sender and forwards them onto another channel. Four separate
   channels (not one) are what triggered the original bug. */
static void mux(void *arg)
{
    struct mux_args *a = arg;
    for (;;) {
        bool ok;
        int64_t v = recv_i64_ok(a->in, &ok);
        if (!ok)
            break;
        send_i64(a->out, v);
    }
    bool t = true;
    CHECK_OK(goro_chan_send(a->done, &t));
}

struct closer_args {
    goro_chan *done, *cmux;
};

static void closer(void *arg)
{
    struct closer_args *a = arg;
    for (int i = 0; i < 4; i++) {
        bool t = false;
        CHECK_OK(goro_chan_recv(a->done, &t, NULL));
        CHECK(t);
    }
    CHECK_OK(goro_chan_close(a->cmux));
}

/* Gets the stream of values from the four muxes and checks for duplicates. */
static void recver(goro_chan *in, int64_t n)
{
    unsigned char *seen = calloc((size_t)n, 1);
    CHECK(seen != NULL);
    int64_t count = 0;
    for (;;) {
        bool ok;
        int64_t v = recv_i64_ok(in, &ok);
        if (!ok)
            break;
        CHECK(v >= 0 && v < n);
        CHECK_MSG(!seen[v], "got duplicate value: %lld", (long long)v);
        seen[v] = 1;
        count++;
    }
    CHECK_EQ(count, n); /* and nothing lost */
    free(seen);
}

static void go_main(void *unused)
{
    int old = goro_maxprocs(2);
    goro_chan *c1 = make_chan(0), *c2 = make_chan(0), *c3 = make_chan(0), *c4 = make_chan(0);
    goro_chan *done = make_chan_sized(sizeof(bool), 0);
    goro_chan *cmux = make_chan(0);
    struct sender_args s = { iterations, c1, c2, c3, c4 };
    struct mux_args m[4] = {
        { cmux, c1, done }, { cmux, c2, done }, { cmux, c3, done }, { cmux, c4, done }
    };
    struct closer_args cl = { done, cmux };
    go(sender, &s);
    for (int i = 0; i < 4; i++)
        go(mux, &m[i]);
    go(closer, &cl);
    /* The original bug made the runtime throw "bad g->status in ready"; the receiver is
       kept because it may catch more. */
    recver(cmux, iterations);
    goro_maxprocs(old);
    /* Everyone is done or returning; operations in progress hold their own references. */
    goro_chan *all[] = { c1, c2, c3, c4, done, cmux };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        goro_chan_release(all[i]);
}

int main(void)
{
    iterations = scaled(100000, 1000);
    STEP_GO(go_main);
    return 0;
}
