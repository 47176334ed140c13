/* errgroup.c: run tasks in parallel; the first error cancels the others.
 *
 * The Go it mirrors (what golang.org/x/sync/errgroup does with a context):
 *
 *     errc := make(chan error, n)   // room for every task: a failing task never blocks
 *     done := make(chan struct{})   // closed = "stop": one close wakes every listener
 *     for each task: go func() { defer wg.Done(); if err := work(done); err != nil { errc <- err } }()
 *     go func() { wg.Wait(); close(allDone) }()
 *     select {
 *     case err := <-errc: close(done); <-allDone; return err
 *     case <-allDone:     return nil
 *     }
 *
 * Each task works in steps of 10 ms. Between steps it selects on `done` and on a fresh
 * goro_after(10 ms), so it notices a cancel within a step, without polling.
 */
#include "example.h"

#include <stdatomic.h>

#define TASKS 6
#define STEPS 50        /* 50 x 10 ms: half a second if nothing goes wrong */
#define FAILING_TASK 2  /* this one fails ...        */
#define FAILING_STEP 3  /* ... at its third step     */

struct group {
    goro_chan *errc;     /* int: the id of a task that failed; capacity TASKS */
    goro_chan *done;     /* elem_size 0: only ever closed */
    goro_chan *all_done; /* elem_size 0: closed once every task has returned */
    goro_waitgroup *wg;
    atomic_int canceled, completed;
};

struct task {
    int id;
    struct group *g;
};

/* Returns 0 when the work completed, 1 when it failed, -1 when it saw the cancel. */
static int work(int id, goro_chan *done) {
    for (int step = 0; step < STEPS; step++) {
        if (id == FAILING_TASK && step == FAILING_STEP) return 1;

        /* select { case <-done: canceled; case <-time.After(10 ms): next step } */
        goro_chan *tick = goro_after(MS(10));
        if (!tick) { fprintf(stderr, "goro_after failed\n"); exit(1); }
        int64_t fired_at;
        goro_case cases[2] = {
            {.chan = done, .op = GORO_RECV, .elem = NULL},
            {.chan = tick, .op = GORO_RECV, .elem = &fired_at},
        };
        int i = goro_select(cases, 2, -1);
        CHECK(i);
        goro_chan_release(tick); /* an unreceived timer leaks nothing once released */
        if (i == 0) {
            printf("  task %d: canceled at step %d\n", id, step);
            return -1;
        }
    }
    return 0;
}

static void run_task(void *arg) {
    struct task *t = arg;
    int r = work(t->id, t->g->done);
    if (r == 1) {
        printf("  task %d: failed\n", t->id);
        CHECK(goro_chan_send(t->g->errc, &t->id)); /* never blocks: capacity TASKS */
    } else if (r == -1) {
        atomic_fetch_add(&t->g->canceled, 1);
    } else {
        atomic_fetch_add(&t->g->completed, 1);
    }
    CHECK(goro_wg_done(t->g->wg));
}

/* errgroup.Wait as a channel: so main can select on "everyone returned". */
static void close_when_all_done(void *arg) {
    struct group *g = arg;
    CHECK(goro_wg_wait(g->wg));
    CHECK(goro_chan_close(g->all_done));
}

int main(void) {
    struct group g = {
        .errc = goro_chan_new(sizeof(int), TASKS),
        .done = goro_chan_new(0, 0),
        .all_done = goro_chan_new(0, 0),
        .wg = goro_wg_new(),
    };
    if (!g.errc || !g.done || !g.all_done || !g.wg) { fprintf(stderr, "allocation failed\n"); return 1; }
    atomic_init(&g.canceled, 0);
    atomic_init(&g.completed, 0);

    struct task tasks[TASKS];
    printf("errgroup: %d tasks of %d ms each; task %d fails after ~%d ms\n", TASKS, STEPS * 10,
           FAILING_TASK, FAILING_STEP * 10);
    int64_t start = now_ns();
    CHECK(goro_wg_add(g.wg, TASKS));
    for (int i = 0; i < TASKS; i++) {
        tasks[i] = (struct task){.id = i, .g = &g};
        CHECK(goro_go(run_task, &tasks[i]));
    }
    CHECK(goro_go(close_when_all_done, &g));

    int first_error = -1;
    goro_case cases[2] = {
        {.chan = g.errc, .op = GORO_RECV, .elem = &first_error},
        {.chan = g.all_done, .op = GORO_RECV, .elem = NULL},
    };
    int which = goro_select(cases, 2, -1);
    CHECK(which);
    if (which == 0) {
        printf("errgroup: first error from task %d after %.1f ms: closing done\n", first_error,
               ms_since(start));
        CHECK(goro_chan_close(g.done)); /* one close wakes every task waiting on done */
        /* Join: all_done never carries a value; the receive returns GORO_ECLOSED once closed. */
        int rc = goro_chan_recv(g.all_done, NULL, NULL);
        EXPECT(rc == GORO_ECLOSED, "receive on all_done gave %s", goro_strerror(rc));
    } else {
        printf("errgroup: every task succeeded\n");
    }
    double elapsed = ms_since(start);
    int canceled = atomic_load(&g.canceled), completed = atomic_load(&g.completed);
    printf("errgroup: all tasks returned after %.1f ms: %d canceled, %d completed, error from task %d\n",
           elapsed, canceled, completed, first_error);

    EXPECT(which == 0 && first_error == FAILING_TASK, "select gave case %d, error %d", which,
           first_error);
    EXPECT(canceled == TASKS - 1, "%d tasks saw the cancel", canceled);
    EXPECT(completed == 0, "%d tasks ran to the end despite the cancel", completed);
    EXPECT(elapsed < STEPS * 10, "cancel took %.1f ms: the tasks did not stop early", elapsed);

    goro_chan_release(g.errc);
    goro_chan_release(g.done);
    goro_chan_release(g.all_done);
    goro_wg_free(g.wg);
    return example_exit_code("errgroup");
}
