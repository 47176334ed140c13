/* CONTRACT.md, C, Mutex:
 *
 * - try_lock gives GORO_EAGAIN while the mutex is held (by anyone), GORO_OK when free;
 * - unlocking an unlocked mutex gives GORO_EINVAL;
 * - a mutex may be unlocked by another goroutine or thread than the one that locked it,
 *   and the waiter it releases then holds it;
 * - under contention from many goroutines and threads at once a plain counter guarded by
 *   it stays exact (mutual exclusion), with lock and try_lock both in play;
 * - goro_mutex_free is safe as soon as the last unlock has returned;
 * - (goro.h) waiters are served first come, first served.
 */
#include "golike.h"

static void basics(void *unused)
{
    goro_mutex *m = goro_mutex_new();
    CHECK(m != NULL);
    CHECK_EQ(goro_mutex_unlock(m), GORO_EINVAL); /* never locked */
    CHECK_OK(goro_mutex_try_lock(m));
    CHECK_EQ(goro_mutex_try_lock(m), GORO_EAGAIN);
    CHECK_OK(goro_mutex_unlock(m));
    CHECK_EQ(goro_mutex_unlock(m), GORO_EINVAL); /* unlocked twice */
    CHECK_OK(goro_mutex_lock(m));
    CHECK_EQ(goro_mutex_try_lock(m), GORO_EAGAIN);
    CHECK_OK(goro_mutex_unlock(m));
    CHECK_OK(goro_mutex_try_lock(m));
    CHECK_OK(goro_mutex_unlock(m));
    goro_mutex_free(m);

    CHECK_EQ(goro_mutex_lock(NULL), GORO_EINVAL);
    CHECK_EQ(goro_mutex_try_lock(NULL), GORO_EINVAL);
    CHECK_EQ(goro_mutex_unlock(NULL), GORO_EINVAL);
    goro_mutex_free(NULL);
}

/* ---- unlock from elsewhere --------------------------------------------------------------------- */

struct handover {
    goro_mutex *m;
    atomic_int stage;
};

static void try_from_elsewhere(void *arg)
{
    struct handover *h = arg;
    CHECK_EQ(goro_mutex_try_lock(h->m), GORO_EAGAIN); /* held by the other side */
    CHECK_OK(goro_mutex_unlock(h->m));                /* ...which we may unlock */
    atomic_store(&h->stage, 1);
}

static void lock_and_mark(void *arg)
{
    struct handover *h = arg;
    CHECK_OK(goro_mutex_lock(h->m)); /* blocks until the main side unlocks */
    atomic_store(&h->stage, 2);
    /* Leaves it locked: the main side unlocks it. */
}

static void wait_stage(struct handover *h, int stage)
{
    int64_t deadline = now_ns() + 10 * SEC;
    while (atomic_load(&h->stage) != stage) {
        CHECK_MSG(now_ns() < deadline, "stuck before stage %d", stage);
        goro_sleep(MS);
    }
}

static void unlock_elsewhere(void *unused)
{
    for (int r = 0; r < 2; r++) {
        enum runner other = r ? ON_THREAD : ON_GOROUTINE;
        struct handover h = { goro_mutex_new(), 0 };
        CHECK(h.m != NULL);

        CHECK_OK(goro_mutex_lock(h.m));
        spawn_on(other, try_from_elsewhere, &h);
        wait_stage(&h, 1);
        CHECK_OK(goro_mutex_try_lock(h.m)); /* free again */

        spawn_on(other, lock_and_mark, &h);
        goro_sleep(20 * MS);
        CHECK_EQ(atomic_load(&h.stage), 1); /* still waiting for us */
        CHECK_OK(goro_mutex_unlock(h.m));
        wait_stage(&h, 2);
        CHECK_EQ(goro_mutex_try_lock(h.m), GORO_EAGAIN); /* the waiter holds it now */
        CHECK_OK(goro_mutex_unlock(h.m));                /* and we release it for them */
        CHECK_EQ(goro_mutex_unlock(h.m), GORO_EINVAL);
        join_spawned_threads();
        goro_mutex_free(h.m);
    }
}

/* ---- contention ------------------------------------------------------------------------------------ */

struct contention {
    goro_mutex *m;
    long iters;
    long counter; /* guarded by m, deliberately not atomic */
    atomic_int inside;
    goro_waitgroup *wg;
};

static void hammer(void *arg)
{
    struct contention *c = arg;
    for (long i = 0; i < c->iters; i++) {
        if (i % 4 == 3) {
            while (goro_mutex_try_lock(c->m) == GORO_EAGAIN)
                goro_yield();
        } else {
            CHECK_OK(goro_mutex_lock(c->m));
        }
        CHECK_EQ(atomic_fetch_add(&c->inside, 1), 0); /* nobody else inside */
        long v = c->counter;
        if (i % 64 == 0)
            goro_yield(); /* hold it across a reschedule now and then */
        c->counter = v + 1;
        atomic_fetch_sub(&c->inside, 1);
        CHECK_OK(goro_mutex_unlock(c->m));
    }
    CHECK_OK(goro_wg_done(c->wg));
}

enum { NGOROUTINES = 16, NTHREADS = 3 };

static void contention(void *unused)
{
    struct contention c = { goro_mutex_new(), scaled(5000, 100), 0, 0, NULL };
    CHECK(c.m != NULL);
    c.wg = make_wg(NGOROUTINES + NTHREADS);
    for (int i = 0; i < NGOROUTINES; i++)
        go(hammer, &c);
    for (int i = 0; i < NTHREADS; i++)
        spawn_on(ON_THREAD, hammer, &c);
    CHECK_OK(goro_wg_wait(c.wg));
    join_spawned_threads();
    CHECK_EQ(c.counter, (long)(NGOROUTINES + NTHREADS) * c.iters);
    goro_wg_free(c.wg);
    goro_mutex_free(c.m);
}

/* ---- free right after the last unlock -------------------------------------------------------------- */

struct last_unlock {
    goro_mutex *m;
    goro_chan *done;
};

static void unlock_then_signal(void *arg)
{
    struct last_unlock *l = arg;
    goro_chan *done = l->done;
    CHECK_OK(goro_mutex_lock(l->m)); /* waits for the main side's unlock */
    CHECK_OK(goro_mutex_unlock(l->m));
    send_i64(done, 1);
}

static void free_after_unlock(void *unused)
{
    long n = scaled(1000, 50);
    goro_chan *done = make_chan(1);
    for (long i = 0; i < n; i++) {
        struct last_unlock l = { goro_mutex_new(), done };
        CHECK(l.m != NULL);
        CHECK_OK(goro_mutex_lock(l.m));
        go(unlock_then_signal, &l);
        if (i % 2)
            goro_yield();
        CHECK_OK(goro_mutex_unlock(l.m)); /* may hand off to the parked goroutine */
        recv_i64(done);                   /* its unlock has returned */
        goro_mutex_free(l.m);
    }
    goro_chan_release(done);
}

/* ---- waiters in arrival order (goro.h: "first come, first served") ------------------------- */

enum { NQUEUE = 5 };

struct queued {
    goro_mutex *m;
    goro_chan *order; /* each waiter sends its index once it holds the mutex */
    int idx;
};

/* Waiters about to call lock: main waits for each before it starts the next, so that a slow
   machine (a thread not yet scheduled after 20 ms) cannot reorder the arrivals. */
static atomic_int arriving;

static void queue_for_lock(void *arg)
{
    struct queued *q = arg;
    goro_mutex *m = q->m;
    goro_chan *order = q->order;
    int64_t idx = q->idx;
    atomic_fetch_add(&arriving, 1);
    CHECK_OK(goro_mutex_lock(m));
    send_i64(order, idx);
    CHECK_OK(goro_mutex_unlock(m));
}

static void fcfs(void *unused)
{
    goro_mutex *m = goro_mutex_new();
    CHECK(m != NULL);
    goro_chan *order = make_chan(NQUEUE);
    struct queued q[NQUEUE];
    atomic_store(&arriving, 0);
    CHECK_OK(goro_mutex_lock(m));
    for (int i = 0; i < NQUEUE; i++) {
        q[i] = (struct queued){ m, order, i };
        spawn_on(i % 2 ? ON_THREAD : ON_GOROUTINE, queue_for_lock, &q[i]);
        while (atomic_load(&arriving) < i + 1)
            goro_sleep(1 * MS);
        goro_sleep(20 * MS); /* parked before the next one comes */
    }
    CHECK_OK(goro_mutex_unlock(m));
    for (int64_t i = 0; i < NQUEUE; i++)
        CHECK_MSG(recv_i64(order) == i, "mutex waiters not served in arrival order");
    join_spawned_threads();
    /* The last waiter's unlock may still be returning: take the mutex once more. */
    CHECK_OK(goro_mutex_lock(m));
    CHECK_OK(goro_mutex_unlock(m));
    goro_mutex_free(m);
    goro_chan_release(order);
}

int main(void)
{
    STEP_GO(basics);
    STEP_THREAD(basics);
    STEP_GO(unlock_elsewhere);
    STEP_THREAD(unlock_elsewhere);
    STEP_GO(contention);
    STEP_THREAD(contention);
    STEP_GO(free_after_unlock);
    STEP_GO(fcfs);
    STEP_THREAD(fcfs);
    return 0;
}
