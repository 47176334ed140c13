/* A long chain of goroutines threaded together by unbuffered channels; one value passes
 * down the whole chain and they all tear down cleanly.
 *
 * Port of Go's test/chan/goroutines.go to goro's C API, rewritten by hand.
 * Original: Copyright 2009 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * As in Go, the chain length may be given as the first argument (default 10000).
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/goroutines.go */

struct link {
    goro_chan *left, *right;
};

static void f(void *arg)
{
    struct link *l = arg;
    send_i64(l->left, recv_i64(l->right));
}

static void send_one(void *arg)
{
    send_i64(arg, 1);
}

static long n;

static void go_main(void *unused)
{
    int64_t base = goro_num_goroutine();
    struct link *links = calloc((size_t)n, sizeof *links);
    goro_chan **chans = calloc((size_t)n + 1, sizeof *chans);
    CHECK(links && chans);
    goro_chan *leftmost = make_chan(0);
    goro_chan *left = leftmost, *right = leftmost;
    chans[0] = leftmost;
    for (long i = 0; i < n; i++) {
        right = make_chan(0);
        chans[i + 1] = right;
        links[i] = (struct link){ left, right };
        go(f, &links[i]);
        left = right;
    }
    go(send_one, right);
    CHECK_EQ(recv_i64(leftmost), 1);
    /* Every goroutine has passed its value on; wait for the last ones to return before
       their links and channels go away ("tear them down cleanly"). */
    int64_t deadline = now_ns() + 20 * SEC;
    while (goro_num_goroutine() > base && now_ns() < deadline)
        goro_sleep(MS);
    CHECK_EQ(goro_num_goroutine(), base);
    for (long i = 0; i <= n; i++)
        goro_chan_release(chans[i]);
    free(chans);
    free(links);
}

int main(int argc, char **argv)
{
    n = argc > 1 ? atol(argv[1]) : scaled(10000, 100);
    CHECK(n > 0);
    STEP_GO(go_main);
    return 0;
}
