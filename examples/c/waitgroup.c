/* waitgroup.c: start N goroutines and wait for all of them with a WaitGroup.
 *
 * The Go it mirrors:
 *
 *     var wg sync.WaitGroup
 *     wg.Add(n)
 *     for i := 0; i < n; i++ {
 *         go func(i int) { defer wg.Done(); results[i] = i * i }(i)
 *     }
 *     wg.Wait()
 *
 * Each goroutine writes only its own slot of `results`, so no lock is needed, and
 * goro_wg_wait returning happens after every goro_wg_done: main may read every slot then.
 */
#include "example.h"

#define N 10

struct task {
    int index;
    long *result;       /* this goroutine's slot, and nobody else's */
    goro_waitgroup *wg;
};

static void square(void *arg) {
    struct task *t = arg;
    /* Finish in reverse order of start, so the wait visibly waits for the slowest. */
    goro_sleep(MS(2 * (N - t->index)));
    *t->result = (long)t->index * t->index;
    printf("  goroutine %d (goro_id %" PRIu64 "): %d*%d = %ld\n", t->index, goro_id(), t->index,
           t->index, *t->result);
    CHECK(goro_wg_done(t->wg));
}

int main(void) {
    goro_waitgroup *wg = goro_wg_new();
    if (!wg) { fprintf(stderr, "goro_wg_new failed\n"); return 1; }

    struct task tasks[N];
    long results[N] = {0};

    printf("waitgroup: starting %d goroutines\n", N);
    int64_t start = now_ns();
    /* Add before go, as in Go: added inside the goroutine, Wait could see 0 too early. */
    CHECK(goro_wg_add(wg, N));
    for (int i = 0; i < N; i++) {
        tasks[i] = (struct task){.index = i, .result = &results[i], .wg = wg};
        CHECK(goro_go(square, &tasks[i]));
    }
    CHECK(goro_wg_wait(wg)); /* a plain OS thread: this blocks the thread until the count is 0 */
    printf("waitgroup: all %d goroutines done after %.1f ms\n", N, ms_since(start));

    long sum = 0, expected = 0;
    for (int i = 0; i < N; i++) {
        EXPECT(results[i] == (long)i * i, "results[%d] = %ld", i, results[i]);
        sum += results[i];
        expected += (long)i * i;
    }
    printf("waitgroup: sum of squares = %ld (expected %ld)\n", sum, expected);
    EXPECT(sum == expected, "sum %ld != %ld", sum, expected);

    /* Where Go panics ("negative WaitGroup counter"), goro returns an error and changes nothing. */
    int rc = goro_wg_done(wg);
    printf("waitgroup: one more done() on a zero counter -> %s\n", goro_strerror(rc));
    EXPECT(rc == GORO_EINVAL, "goro_wg_done below zero returned %d", rc);

    goro_wg_free(wg);
    return example_exit_code("waitgroup");
}
