/* goro_yield gives the thread to other runnable goroutines:
 *
 * - with GOMAXPROCS 1, a goroutine spinning on goro_yield lets the goroutine it waits for
 *   run (without yield meaning anything, this hangs and the test times out);
 * - with GOMAXPROCS 1, goroutines that only compute and yield all make progress, roughly
 *   evenly (the slowest gets at least a tenth of the fastest: loose on purpose);
 * - a timer still fires while the only thread is kept busy by yielding goroutines;
 * - on a plain thread it simply returns.
 */
#include "golike.h"

static atomic_int flag;

static void set_flag(void *unused)
{
    atomic_store(&flag, 1);
}

static void yield_lets_others_run(void *unused)
{
    int old = goro_maxprocs(1);
    for (int i = 0; i < 100; i++) {
        atomic_store(&flag, 0);
        go(set_flag, NULL);
        long spins = 0;
        while (!atomic_load(&flag)) {
            goro_yield();
            spins++;
            CHECK_MSG(spins < 10000000, "the other goroutine never ran");
        }
    }
    goro_maxprocs(old);
}

enum { NSPIN = 4 };

struct spinner {
    atomic_int *stop;
    atomic_long count;
    goro_waitgroup *wg;
};

static void spin_yield(void *arg)
{
    struct spinner *s = arg;
    while (!atomic_load(s->stop)) {
        atomic_fetch_add(&s->count, 1);
        goro_yield();
    }
    CHECK_OK(goro_wg_done(s->wg));
}

static void fairness(void *unused)
{
    int old = goro_maxprocs(1);
    atomic_int stop = 0;
    goro_waitgroup *wg = make_wg(NSPIN);
    struct spinner s[NSPIN];
    for (int i = 0; i < NSPIN; i++) {
        s[i].stop = &stop;
        atomic_init(&s[i].count, 0);
        s[i].wg = wg;
        go(spin_yield, &s[i]);
    }
    /* Our own sleep's timer must fire although the one thread is never idle. */
    int64_t t0 = now_ns();
    CHECK_OK(goro_sleep(100 * MS));
    int64_t slept = now_ns() - t0;
    atomic_store(&stop, 1);
    CHECK_OK(goro_wg_wait(wg));
    goro_wg_free(wg);
    long min = -1, max = 0;
    for (int i = 0; i < NSPIN; i++) {
        long c = atomic_load(&s[i].count);
        printf("spinner %d: %ld yields\n", i, c);
        if (min < 0 || c < min)
            min = c;
        if (c > max)
            max = c;
    }
    printf("slept %.1f ms among the spinners\n", (double)slept / 1e6);
    CHECK_MSG(slept < 10 * SEC, "a timer starved behind yielding goroutines");
    CHECK(min > 0);
    CHECK_MSG(min * 10 >= max, "unfair yield: %ld vs %ld", min, max);
    goro_maxprocs(old);
}

static void plain_thread(void *unused)
{
    for (int i = 0; i < 1000; i++)
        goro_yield();
}

int main(void)
{
    STEP_GO(yield_lets_others_run);
    STEP_GO(fairness);
    STEP_THREAD(plain_thread);
    return 0;
}
