/* 100,000 selects on a channel must not grow the process's memory: after a warm-up round,
 * a second round of the same work may allocate only a small, fixed amount.
 *
 * Port of Go's test/chan/select2.go to goro's C API, rewritten by hand.
 * Original: Copyright 2010 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * Go reads runtime.MemStats after a GC; here the live heap is glibc's mallinfo2 (bytes in
 * use in every arena plus mmapped blocks), which is what goro's allocator draws from.
 * Under sanitizers the allocator is replaced, so the figures are printed, not checked.
 */
#include "golike.h"

#include <malloc.h>

/* https://github.com/golang/go/blob/master/test/chan/select2.go */

struct sender_args {
    goro_chan *c;
    int64_t n;
};

static void sender(void *arg)
{
    struct sender_args a = *(struct sender_args *)arg; /* outlives nothing of the caller's */
    for (int64_t i = 0; i < a.n; i++)
        send_i64(a.c, 1);
}

static void receiver(goro_chan *c, goro_chan *dummy, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t v = 0;
        goro_case cases[2] = {
            { c, GORO_RECV, &v, false },
            { dummy, GORO_RECV, &v, false },
        };
        int r = goro_select(cases, 2, -1);
        CHECK_MSG(r == 0, "dummy chosen: %d", r);
        CHECK(cases[0].ok);
        CHECK_EQ(v, 1);
    }
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void go_main(void *unused)
{
    int64_t n = scaled(100000, 5000);
    goro_chan *c = make_chan(0);
    goro_chan *dummy = make_chan(0);

    /* warm up */
    struct sender_args a = { c, n };
    go(sender, &a);
    receiver(c, dummy, n);
    goro_sleep(10 * MS); /* let the sender finish returning */
    size_t before = heap_in_use();

    /* the second time must not increase the footprint by much */
    go(sender, &a);
    receiver(c, dummy, n);
    goro_sleep(10 * MS);
    size_t after = heap_in_use();

    long long growth = (long long)after - (long long)before;
    printf("heap in use: %zu before, %zu after %lld selects (growth %lld bytes)\n", before,
           after, (long long)n, growth);
#ifndef GORO_TEST_SANITIZED
    /* Go allows 1e5 bytes; a leak of even 10 bytes per select would exceed 1 MiB here. */
    CHECK_MSG(growth < (1 << 20), "too much memory for %lld selects: %lld bytes",
              (long long)n, growth);
#endif
    goro_chan_release(c);
    goro_chan_release(dummy);
}

int main(void)
{
    STEP_GO(go_main);
    return 0;
}
