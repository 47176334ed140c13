/* errgroup.c: run tasks in parallel; the first error cancels the others.
 *
 * The Go it mirrors (golang.org/x/sync/errgroup with a context):
 *
 *     g, ctx := errgroup.WithContext(context.Background())
 *     g.SetLimit(4)                                    // at most 4 tasks at once
 *     for each task: g.Go(func() error { return work(ctx) })
 *     err := g.Wait()                                  // the first error; ctx is cancelled
 *
 * In goro: goro_group_new(parent, limit), goro_group_go(g, fn, arg), goro_group_wait(g). Each
 * task works in steps of 10 ms, sleeping with goro_sleep_ctx: a cancel ends the sleep at once
 * (GORO_ECANCELED), with no polling and no "done" channel to thread through by hand.
 */
#include "example.h"

#include <stdatomic.h>

#define TASKS 6
#define LIMIT 4         /* members running at once */
#define STEPS 50        /* 50 x 10 ms: half a second if nothing goes wrong */
#define FAILING_TASK 2  /* this one fails ...        */
#define FAILING_STEP 3  /* ... at its third step     */
#define TASK_FAILED 100 /* the status a failing task returns (any nonzero int) */

static atomic_int canceled, completed, running, max_running;

static int task(goro_ctx *ctx, void *arg) {
    int id = (int)(intptr_t)arg;
    int now = atomic_fetch_add(&running, 1) + 1;
    int max = atomic_load(&max_running);
    while (now > max && !atomic_compare_exchange_weak(&max_running, &max, now)) {
    }
    int result = 0;
    for (int step = 0; step < STEPS; step++) {
        if (id == FAILING_TASK && step == FAILING_STEP) {
            printf("  task %d: failed\n", id);
            result = TASK_FAILED + id;
            break;
        }
        int rc = goro_sleep_ctx(MS(10), ctx); /* wakes at once when the group is cancelled */
        if (rc == GORO_ECANCELED) {
            printf("  task %d: canceled at step %d\n", id, step);
            atomic_fetch_add(&canceled, 1);
            break;
        }
        CHECK(rc);
        if (step == STEPS - 1)
            atomic_fetch_add(&completed, 1);
    }
    atomic_fetch_sub(&running, 1);
    return result;
}

int main(void) {
    goro_ctx *bg = goro_ctx_background();
    goro_group *g = goro_group_new(bg, LIMIT);
    if (!bg || !g) { fprintf(stderr, "allocation failed\n"); return 1; }

    printf("errgroup: %d tasks of %d ms each, %d at a time; task %d fails after ~%d ms\n", TASKS,
           STEPS * 10, LIMIT, FAILING_TASK, FAILING_STEP * 10);
    int64_t start = now_ns();
    /* The tasks after the first LIMIT wait for a place; once the group is cancelled they
     * start, see the cancel at their first sleep and end. */
    for (int i = 0; i < TASKS; i++)
        CHECK(goro_group_go(g, task, (void *)(intptr_t)i));
    int err = goro_group_wait(g);
    double elapsed = ms_since(start);
    printf("errgroup: all tasks returned after %.1f ms: %d canceled, %d completed, first error %d\n",
           elapsed, atomic_load(&canceled), atomic_load(&completed), err);

    EXPECT(err == TASK_FAILED + FAILING_TASK, "goro_group_wait gave %d", err);
    EXPECT(goro_ctx_err(goro_group_ctx(g)) == GORO_ECANCELED, "the group's context is %s",
           goro_strerror(goro_ctx_err(goro_group_ctx(g))));
    EXPECT(atomic_load(&canceled) == TASKS - 1, "%d tasks saw the cancel", atomic_load(&canceled));
    EXPECT(atomic_load(&completed) == 0, "%d tasks ran to the end despite the cancel",
           atomic_load(&completed));
    EXPECT(atomic_load(&max_running) <= LIMIT, "%d tasks ran at once with a limit of %d",
           atomic_load(&max_running), LIMIT);
    EXPECT(elapsed < STEPS * 10, "cancel took %.1f ms: the tasks did not stop early", elapsed);
    EXPECT(goro_ctx_err(bg) == GORO_OK, "the background context ended");

    goro_group_free(g);
    goro_ctx_release(bg);
    return example_exit_code("errgroup");
}
