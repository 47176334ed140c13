/* CONTRACT.md, C, worker pool:
 *
 * - N workers run jobs concurrently, never more (workers 0 = GOMAXPROCS);
 * - submitting to a full queue waits (back-pressure) until a worker takes a job, from a
 *   goroutine and from a plain thread;
 * - goro_pool_wait returns when every submitted job has finished, and may be called again;
 * - goro_pool_free waits for the submitted jobs, then frees;
 * - NULL handles and a NULL fn give GORO_EINVAL.
 *
 * Jobs block on a gate channel the test closes, so "how many run" and "is the queue
 * full" are states the test controls rather than races it hopes to win.
 */
#include "golike.h"

struct gate {
    goro_chan *open;    /* closed by the test to let every job finish */
    goro_chan *started; /* each job sends here first */
    atomic_int running, max_running, finished;
};

static void gated_job(void *arg)
{
    struct gate *g = arg;
    int now = atomic_fetch_add(&g->running, 1) + 1;
    int max = atomic_load(&g->max_running);
    while (now > max && !atomic_compare_exchange_weak(&g->max_running, &max, now)) {
    }
    send_i64(g->started, 1);
    CHECK_EQ(goro_chan_recv(g->open, NULL, NULL), GORO_ECLOSED);
    atomic_fetch_sub(&g->running, 1);
    atomic_fetch_add(&g->finished, 1);
}

static void gate_init(struct gate *g)
{
    g->open = make_chan_sized(0, 0);
    g->started = make_chan(1000);
    atomic_init(&g->running, 0);
    atomic_init(&g->max_running, 0);
    atomic_init(&g->finished, 0);
}

static void gate_destroy(struct gate *g)
{
    goro_chan_release(g->open);
    goro_chan_release(g->started);
}

struct submitter {
    goro_pool *p;
    struct gate *g;
    atomic_int returned;
};

static void submit_one(void *arg)
{
    struct submitter *s = arg;
    CHECK_OK(goro_pool_submit(s->p, gated_job, s->g));
    atomic_store(&s->returned, 1);
}

enum { WORKERS = 2, QUEUE = 3 };

static void back_pressure(void *unused)
{
    for (int r = 0; r < 2; r++) {
        enum runner blocked_on = r ? ON_THREAD : ON_GOROUTINE;
        struct gate g;
        gate_init(&g);
        goro_pool *p = goro_pool_new(WORKERS, QUEUE);
        CHECK(p != NULL);

        /* Two jobs take the two workers... */
        for (int i = 0; i < WORKERS; i++)
            CHECK_OK(goro_pool_submit(p, gated_job, &g));
        for (int i = 0; i < WORKERS; i++)
            recv_i64(g.started);
        /* ...three more fill the queue without waiting... */
        int64_t t0 = now_ns();
        for (int i = 0; i < QUEUE; i++)
            CHECK_OK(goro_pool_submit(p, gated_job, &g));
        CHECK_LE(now_ns() - t0, 2 * SEC);
        /* ...and the sixth must wait. */
        struct submitter s = { p, &g, 0 };
        spawn_on(blocked_on, submit_one, &s);
        goro_sleep(50 * MS);
        CHECK_MSG(!atomic_load(&s.returned), "submit to a full queue did not wait");
        CHECK_EQ(atomic_load(&g.running), WORKERS); /* never more than the workers */

        CHECK_OK(goro_chan_close(g.open));
        int64_t deadline = now_ns() + 10 * SEC;
        while (!atomic_load(&s.returned)) {
            CHECK_MSG(now_ns() < deadline, "blocked submit never returned");
            goro_sleep(MS);
        }
        CHECK_OK(goro_pool_wait(p));
        CHECK_EQ(atomic_load(&g.finished), WORKERS + QUEUE + 1);
        CHECK_EQ(atomic_load(&g.max_running), WORKERS);
        CHECK_OK(goro_pool_wait(p)); /* again: nothing left, returns at once */
        join_spawned_threads();
        goro_pool_free(p);
        gate_destroy(&g);
    }
}

/* ---- workers 0 = GOMAXPROCS ----------------------------------------------------------------------- */

static void default_workers(void *unused)
{
    int procs = goro_maxprocs(0);
    CHECK(procs >= 1);
    struct gate g;
    gate_init(&g);
    goro_pool *p = goro_pool_new(0, 64);
    CHECK(p != NULL);
    int jobs = procs + 3;
    for (int i = 0; i < jobs; i++)
        CHECK_OK(goro_pool_submit(p, gated_job, &g));
    for (int i = 0; i < procs; i++)
        recv_i64(g.started);
    goro_sleep(50 * MS);
    CHECK_MSG(atomic_load(&g.running) == procs, "%d jobs run at once with GOMAXPROCS %d",
              atomic_load(&g.running), procs);
    CHECK_OK(goro_chan_close(g.open));
    CHECK_OK(goro_pool_wait(p));
    CHECK_EQ(atomic_load(&g.finished), jobs);
    goro_pool_free(p);
    gate_destroy(&g);
}

/* ---- wait and free wait for everything --------------------------------------------------------------- */

static atomic_long done_jobs;

static void short_job(void *arg)
{
    goro_sleep((int64_t)(intptr_t)arg);
    atomic_fetch_add(&done_jobs, 1);
}

static void waits(void *unused)
{
    long n = scaled(300, 20);
    goro_pool *p = goro_pool_new(4, 8);
    CHECK(p != NULL);
    atomic_store(&done_jobs, 0);
    for (long i = 0; i < n; i++)
        CHECK_OK(goro_pool_submit(p, short_job, (void *)(intptr_t)((i % 3) * 100 * US)));
    CHECK_OK(goro_pool_wait(p));
    CHECK_EQ(atomic_load(&done_jobs), n);

    /* And again, on the same pool, then free without waiting ourselves. */
    for (long i = 0; i < n; i++)
        CHECK_OK(goro_pool_submit(p, short_job, (void *)(intptr_t)(200 * US)));
    goro_pool_free(p);
    CHECK_EQ(atomic_load(&done_jobs), 2 * n);
}

/* Jobs submitted from several goroutines and threads at once into a small queue. */
struct feeder {
    goro_pool *p;
    long n;
    goro_waitgroup *wg;
};

static void feed(void *arg)
{
    struct feeder *f = arg;
    for (long i = 0; i < f->n; i++)
        CHECK_OK(goro_pool_submit(f->p, short_job, (void *)(intptr_t)0));
    CHECK_OK(goro_wg_done(f->wg));
}

static void many_submitters(void *unused)
{
    goro_pool *p = goro_pool_new(3, 2);
    CHECK(p != NULL);
    atomic_store(&done_jobs, 0);
    struct feeder f = { p, scaled(500, 20), make_wg(6) };
    for (int i = 0; i < 6; i++)
        spawn_on(i % 2 ? ON_THREAD : ON_GOROUTINE, feed, &f);
    CHECK_OK(goro_wg_wait(f.wg));
    CHECK_OK(goro_pool_wait(p));
    CHECK_EQ(atomic_load(&done_jobs), 6 * f.n);
    join_spawned_threads();
    goro_wg_free(f.wg);
    goro_pool_free(p);
}

/* queue_cap 0 (goro.h): no queue at all; a submit waits until a worker takes the job. */
static void no_queue(void *unused)
{
    struct gate g;
    gate_init(&g);
    goro_pool *p = goro_pool_new(1, 0);
    CHECK(p != NULL);
    CHECK_OK(goro_pool_submit(p, gated_job, &g)); /* taken by the one worker... */
    recv_i64(g.started);
    struct submitter s = { p, &g, 0 };
    go(submit_one, &s); /* ...so this one must wait for it */
    goro_sleep(30 * MS);
    CHECK_MSG(!atomic_load(&s.returned), "submit with no queue and no free worker returned");
    CHECK_OK(goro_chan_close(g.open));
    CHECK_OK(goro_pool_wait(p));
    int64_t deadline = now_ns() + 10 * SEC;
    while (!atomic_load(&s.returned)) {
        CHECK(now_ns() < deadline);
        goro_sleep(MS);
    }
    CHECK_EQ(atomic_load(&g.finished), 2);
    goro_pool_free(p);
    gate_destroy(&g);
}

static void bad_input(void *unused)
{
    CHECK_EQ(goro_pool_submit(NULL, short_job, NULL), GORO_EINVAL);
    CHECK_EQ(goro_pool_wait(NULL), GORO_EINVAL);
    goro_pool_free(NULL);
    goro_pool *p = goro_pool_new(1, 1);
    CHECK(p != NULL);
    CHECK_EQ(goro_pool_submit(p, NULL, NULL), GORO_EINVAL);
    CHECK_OK(goro_pool_wait(p));
    goro_pool_free(p);
}

int main(void)
{
    STEP_GO(back_pressure);
    STEP_THREAD(back_pressure);
    STEP_GO(default_workers);
    STEP_GO(waits);
    STEP_THREAD(waits);
    STEP_GO(many_submitters);
    STEP_GO(no_queue);
    STEP_THREAD(bad_input);
    return 0;
}
