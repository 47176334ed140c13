/* hello_100k.c: 100,000 goroutines parked on one channel, released by one close, then joined.
 *
 * A goroutine that waits on a channel parks: it keeps only its stack (reserved, committed as
 * touched) and frees its OS thread for others, so a few threads carry 100,000 of them.
 * Closing the channel wakes every receiver at once, the way Go programs broadcast "go".
 *
 *     release := make(chan struct{})
 *     for i := 0; i < n; i++ { go func() { started.Done(); <-release; finished.Done() }() }
 *     started.Wait(); close(release); finished.Wait()
 *
 * Usage: hello_100k [count]   (default 100000). Prints goro_num_goroutine at each step.
 */
#include "example.h"

static goro_chan *release_ch;               /* elem_size 0: never carries a value, only closed */
static goro_waitgroup *started, *finished;

static void parked(void *arg) {
    (void)arg;
    CHECK(goro_wg_done(started));
    bool ok = true;
    int rc = goro_chan_recv(release_ch, NULL, &ok); /* parks here until main closes release_ch */
    if (rc != GORO_ECLOSED || ok) {
        fprintf(stderr, "goroutine %" PRIu64 ": expected the close, got %s\n", goro_id(),
                goro_strerror(rc));
        exit(1);
    }
    CHECK(goro_wg_done(finished));
}

static long peak_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (n <= 0) { fprintf(stderr, "usage: %s [count > 0]\n", argv[0]); return 2; }

    int64_t base = goro_num_goroutine();
    printf("hello_100k: %ld goroutines on %d OS threads (GOMAXPROCS; %d CPUs); "
           "goro_num_goroutine = %" PRId64 "\n",
           n, goro_maxprocs(0), goro_num_cpu(), base);

    release_ch = goro_chan_new(0, 0);
    started = goro_wg_new();
    finished = goro_wg_new();
    if (!release_ch || !started || !finished) { fprintf(stderr, "allocation failed\n"); return 1; }
    CHECK(goro_wg_add(started, n));
    CHECK(goro_wg_add(finished, n));

    int64_t t0 = now_ns();
    long spawned = 0;
    for (; spawned < n; spawned++) {
        int rc = goro_go(parked, NULL);
        if (rc != GORO_OK) {
            fprintf(stderr, "goro_go failed after %ld goroutines: %s (%d)\n", spawned,
                    goro_strerror(rc), rc);
            break;
        }
        if ((spawned + 1) % (n / 4 > 0 ? n / 4 : 1) == 0)
            printf("  started %6ld: goro_num_goroutine = %" PRId64 "\n", spawned + 1,
                   goro_num_goroutine());
    }
    EXPECT(spawned == n, "only %ld of %ld goroutines started", spawned, n);
    if (spawned < n) { /* take the missing ones off both counters, then clean up as usual */
        CHECK(goro_wg_add(started, -(n - spawned)));
        CHECK(goro_wg_add(finished, -(n - spawned)));
    }

    CHECK(goro_wg_wait(started));
    double spawn_ms = ms_since(t0);
    goro_sleep(MS(20)); /* let the last ones reach the receive */
    int64_t alive = goro_num_goroutine();
    printf("hello_100k: all %ld running after %.1f ms and parked on one channel: "
           "goro_num_goroutine = %" PRId64 ", peak RSS %ld MiB\n",
           spawned, spawn_ms, alive, peak_rss_kib() / 1024);
    EXPECT(alive >= base + spawned, "%" PRId64 " alive, expected at least %ld", alive, base + spawned);

    int64_t t1 = now_ns();
    CHECK(goro_chan_close(release_ch)); /* one close wakes all of them */
    CHECK(goro_wg_wait(finished));
    printf("hello_100k: released and joined in %.1f ms: goro_num_goroutine = %" PRId64 "\n",
           ms_since(t1), goro_num_goroutine());

    /* A goroutine still counts until it has returned from its function, a moment after its
     * wg_done: give the count a little time to settle back to where it started. */
    int64_t deadline = now_ns() + MS(5000), left;
    while ((left = goro_num_goroutine()) > base && now_ns() < deadline) goro_sleep(MS(1));
    printf("hello_100k: after exit, goro_num_goroutine = %" PRId64 " (started at %" PRId64 ")\n",
           left, base);
    EXPECT(left <= base, "%" PRId64 " goroutines still alive", left);

    goro_chan_release(release_ch);
    goro_wg_free(started);
    goro_wg_free(finished);
    return example_exit_code("hello_100k");
}
