/* CONTRACT.md, C, WaitGroup:
 *
 * - add that would drive the counter below zero gives GORO_EINVAL and leaves it unchanged
 *   (done is add(-1));
 * - wait on a zero counter returns at once; wait blocks until the counter reaches zero,
 *   from goroutines and plain threads at once, and wakes them all;
 * - goro_wg_free is safe as soon as goro_wg_wait has returned, even while the goroutine
 *   whose done released the wait is still returning from done (checked by repetition,
 *   and by ASan / valgrind when run under them).
 */
#include "golike.h"

static void below_zero(void *unused)
{
    goro_waitgroup *wg = make_wg(0);
    CHECK_EQ(goro_wg_done(wg), GORO_EINVAL); /* 0 - 1 */
    CHECK_EQ(goro_wg_add(wg, -1), GORO_EINVAL);
    CHECK_OK(goro_wg_wait(wg)); /* still zero: returns at once */

    CHECK_OK(goro_wg_add(wg, 3));
    CHECK_EQ(goro_wg_add(wg, -4), GORO_EINVAL); /* refused as a whole: still 3 */
    CHECK_OK(goro_wg_add(wg, -2));              /* 1 */
    CHECK_EQ(goro_wg_add(wg, -2), GORO_EINVAL); /* still 1 */
    CHECK_OK(goro_wg_done(wg));                 /* 0 */
    CHECK_EQ(goro_wg_done(wg), GORO_EINVAL);    /* had the refused adds counted, this differs */
    CHECK_OK(goro_wg_wait(wg));
    CHECK_OK(goro_wg_add(wg, 0));
    CHECK_OK(goro_wg_wait(wg));
    CHECK_EQ(goro_wg_add(wg, INT64_MIN), GORO_EINVAL);
    CHECK_OK(goro_wg_wait(wg));
    goro_wg_free(wg);
}

/* ---- many waiters, goroutines and threads ----------------------------------------------------- */

struct waiter_args {
    goro_waitgroup *wg;
    atomic_int *released; /* set by the main side just before the last done */
    atomic_int *woken;
};

static void waiter(void *arg)
{
    struct waiter_args *a = arg;
    CHECK_OK(goro_wg_wait(a->wg));
    CHECK_MSG(atomic_load(a->released), "wait returned before the counter reached zero");
    atomic_fetch_add(a->woken, 1);
}

static void doer(void *arg)
{
    goro_sleep(5 * MS);
    CHECK_OK(goro_wg_done(arg));
}

enum { NWAITERS = 8, NDOERS = 10 };

static void many_waiters(void *unused)
{
    goro_waitgroup *wg = make_wg(NDOERS + 1);
    atomic_int released = 0, woken = 0;
    struct waiter_args a = { wg, &released, &woken };
    for (int i = 0; i < NWAITERS; i++)
        spawn_on(i % 2 ? ON_THREAD : ON_GOROUTINE, waiter, &a);
    for (int i = 0; i < NDOERS; i++)
        spawn_on(i % 3 ? ON_GOROUTINE : ON_THREAD, doer, wg);
    goro_sleep(50 * MS);
    CHECK_EQ(atomic_load(&woken), 0);
    atomic_store(&released, 1);
    CHECK_OK(goro_wg_done(wg)); /* the last one */
    CHECK_OK(goro_wg_wait(wg));
    int64_t deadline = now_ns() + 10 * SEC;
    while (atomic_load(&woken) < NWAITERS) {
        CHECK_MSG(now_ns() < deadline, "only %d of %d waiters woke", atomic_load(&woken),
                  NWAITERS);
        goro_sleep(MS);
    }
    join_spawned_threads();
    goro_wg_free(wg);

    /* Reuse after reaching zero, as Go allows once waiters have returned. */
    wg = make_wg(2);
    spawn_on(ON_GOROUTINE, doer, wg);
    spawn_on(ON_THREAD, doer, wg);
    CHECK_OK(goro_wg_wait(wg));
    CHECK_OK(goro_wg_add(wg, 1));
    spawn_on(ON_GOROUTINE, doer, wg);
    CHECK_OK(goro_wg_wait(wg));
    join_spawned_threads();
    goro_wg_free(wg);
}

/* ---- free right after wait returns ---------------------------------------------------------------- */

static void done_now(void *arg)
{
    CHECK_OK(goro_wg_done(arg));
}

static void free_after_wait(void *unused)
{
    long n = scaled(2000, 100);
    for (long i = 0; i < n; i++) {
        goro_waitgroup *wg = make_wg(1);
        /* Alternate who finishes first, so wait sometimes parks and sometimes does not. */
        if (i % 50 == 0)
            spawn_on(ON_THREAD, done_now, wg);
        else
            go(done_now, wg);
        if (i % 2)
            goro_yield();
        CHECK_OK(goro_wg_wait(wg));
        goro_wg_free(wg);
        if (i % 50 == 0)
            join_spawned_threads();
    }
}

static void null_handles(void *unused)
{
    CHECK_EQ(goro_wg_add(NULL, 1), GORO_EINVAL);
    CHECK_EQ(goro_wg_done(NULL), GORO_EINVAL);
    CHECK_EQ(goro_wg_wait(NULL), GORO_EINVAL);
    goro_wg_free(NULL);
}

int main(void)
{
    STEP_GO(below_zero);
    STEP_THREAD(below_zero);
    STEP_GO(many_waiters);
    STEP_THREAD(many_waiters);
    STEP_GO(free_after_wait);
    STEP_THREAD(free_after_wait);
    STEP_THREAD(null_handles);
    return 0;
}
