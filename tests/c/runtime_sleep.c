/* goro_sleep parks the goroutine, not its thread:
 *
 * - 1,000 goroutines sleeping 50 ms each all wake after >= 50 ms, and together take about
 *   50 ms, not 1,000 x 50 ms;
 * - with GOMAXPROCS 1, a sleeping goroutine leaves the thread to others;
 * - goroutines sleeping different lengths wake in the order of their deadlines;
 * - d <= 0 returns at once, from goroutines and plain threads.
 */
#include "golike.h"

struct sleeper {
    int64_t d;
    goro_waitgroup *wg;
    atomic_int *too_early;
    atomic_int *order_pos;
    int *order;
    int idx;
};

static void sleep_and_check(void *arg)
{
    struct sleeper *s = arg;
    int64_t t0 = now_ns();
    CHECK_OK(goro_sleep(s->d));
    if (now_ns() - t0 < s->d)
        atomic_fetch_add(s->too_early, 1);
    if (s->order)
        s->order[atomic_fetch_add(s->order_pos, 1)] = s->idx;
    CHECK_OK(goro_wg_done(s->wg));
}

static void many_sleepers(void *unused)
{
    long n = scaled(1000, 50);
    struct sleeper *s = calloc((size_t)n, sizeof *s);
    CHECK(s != NULL);
    atomic_int too_early = 0;
    goro_waitgroup *wg = make_wg(n);
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        s[i] = (struct sleeper){ 50 * MS, wg, &too_early, NULL, NULL, (int)i };
        go(sleep_and_check, &s[i]);
    }
    CHECK_OK(goro_wg_wait(wg));
    int64_t took = now_ns() - t0;
    printf("%ld goroutines slept 50 ms in %.1f ms\n", n, (double)took / 1e6);
    CHECK_EQ(atomic_load(&too_early), 0);
    CHECK_LE(50 * MS, took);
    CHECK_MSG(took < 5 * SEC, "sleeping goroutines held their threads (%lld ms)",
              (long long)(took / MS));
    goro_wg_free(wg);
    free(s);
}

static atomic_int woke;

static void sleep_then_flag(void *unused)
{
    goro_sleep(50 * MS);
    atomic_store(&woke, 1);
}

static void sleep_frees_the_thread(void *unused)
{
    int old = goro_maxprocs(1);
    atomic_store(&woke, 0);
    go(sleep_then_flag, NULL);
    goro_yield(); /* let it start and park */
    long work = 0;
    int64_t deadline = now_ns() + 20 * SEC;
    while (!atomic_load(&woke)) {
        work++;
        goro_yield();
        CHECK_MSG(now_ns() < deadline, "the sleeper never woke");
    }
    printf("%ld turns ran on the one thread while the sleeper slept\n", work);
    CHECK_MSG(work > 10, "only %ld turns ran while the other goroutine slept", work);
    goro_maxprocs(old);
}

enum { NORDER = 4 };

static void wake_order(void *unused)
{
    int order[NORDER];
    atomic_int pos = 0, too_early = 0;
    goro_waitgroup *wg = make_wg(NORDER);
    struct sleeper s[NORDER];
    /* Started longest first, so creation order cannot explain the wake order. */
    for (int i = NORDER - 1; i >= 0; i--) {
        s[i] = (struct sleeper){ (i + 1) * 40 * MS, wg, &too_early, &pos, order, i };
        go(sleep_and_check, &s[i]);
    }
    CHECK_OK(goro_wg_wait(wg));
    goro_wg_free(wg);
    CHECK_EQ(atomic_load(&too_early), 0);
    for (int i = 0; i < NORDER; i++)
        CHECK_MSG(order[i] == i, "wake %d was sleeper %d", i, order[i]);
}

static void non_positive(void *unused)
{
    int64_t t0 = now_ns();
    for (int i = 0; i < 1000; i++) {
        CHECK_OK(goro_sleep(0));
        CHECK_OK(goro_sleep(-i));
    }
    CHECK_LE(now_ns() - t0, SEC);
}

int main(void)
{
    STEP_GO(many_sleepers);
    STEP_GO(sleep_frees_the_thread);
    STEP_GO(wake_order);
    STEP_GO(non_positive);
    STEP_THREAD(non_positive);
    return 0;
}
