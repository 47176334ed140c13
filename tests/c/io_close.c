/* Several waiters on one fd, goroutines and plain threads mixed:
 *
 * 1. readiness wakes all of them (a pipe written once: every waiter of goro_fd_wait sees it);
 * 2. goro_fd_close while they wait wakes every one with GORO_ECLOSED, none lost, none late;
 *    a goroutine blocked in goro_read gets GORO_ECLOSED too;
 * 3. the fd closed with a plain close(2) and its number reused by the OS for a new pipe while
 *    old waiters are registered: the old waiters never see the new pipe's data as theirs
 *    (they are woken with GORO_ECLOSED when the new file is first waited on), and waits on the
 *    new pipe work; a waiter with a timeout on the dead file times out.
 */
#include "check.h"

#include <pthread.h>

#define N_G 16
#define N_T 4

struct shared {
    int fd;
    int use_read;
    atomic_int started;
    atomic_int results[N_G + N_T];
    goro_waitgroup *wg;
};

struct who {
    struct shared *sh;
    int idx;
};

static int do_wait(struct shared *sh)
{
    if (sh->use_read) {
        char c;
        ptrdiff_t r = goro_read(sh->fd, &c, 1, 20 * SEC);
        return r == 1 ? 100 : (int)r;
    }
    return goro_fd_wait(sh->fd, GORO_FD_READ, 20 * SEC);
}

static void g_waiter(void *arg)
{
    struct who *w = arg;
    atomic_fetch_add(&w->sh->started, 1);
    atomic_store(&w->sh->results[w->idx], do_wait(w->sh));
    CHECK_OK(goro_wg_done(w->sh->wg));
}

static void *t_waiter(void *arg)
{
    struct who *w = arg;
    CHECK_EQ(goro_id(), 0);
    atomic_fetch_add(&w->sh->started, 1);
    atomic_store(&w->sh->results[w->idx], do_wait(w->sh));
    CHECK_OK(goro_wg_done(w->sh->wg));
    return NULL;
}

/* Starts N_G goroutines and N_T threads waiting on sh->fd; returns once all have started and
   had time to block. */
static void start_waiters(struct shared *sh, struct who *who, pthread_t *ts)
{
    atomic_store(&sh->started, 0);
    for (int i = 0; i < N_G + N_T; i++)
        atomic_store(&sh->results[i], 99);
    sh->wg = goro_wg_new();
    CHECK_OK(goro_wg_add(sh->wg, N_G + N_T));
    for (int i = 0; i < N_G + N_T; i++) {
        who[i] = (struct who){ sh, i };
        if (i < N_G)
            CHECK_OK(goro_go(g_waiter, &who[i]));
        else
            CHECK_EQ(pthread_create(&ts[i - N_G], NULL, t_waiter, &who[i]), 0);
    }
    while (atomic_load(&sh->started) < N_G + N_T)
        os_sleep_ns(MS);
    os_sleep_ns(50 * MS);
}

static void join(struct shared *sh, pthread_t *ts)
{
    int64_t t0 = now_ns();
    CHECK_OK(goro_wg_wait(sh->wg));
    CHECK_LE(now_ns() - t0, 5 * SEC);
    for (int i = 0; i < N_T; i++)
        CHECK_EQ(pthread_join(ts[i], NULL), 0);
    goro_wg_free(sh->wg);
}

static struct shared sh;
static struct who who[N_G + N_T];
static pthread_t ts[N_T];

static void ready_wakes_all(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    sh.fd = p[0];
    sh.use_read = 0;
    start_waiters(&sh, who, ts);
    for (int i = 0; i < N_G + N_T; i++)
        CHECK_EQ(atomic_load(&sh.results[i]), 99);
    CHECK_EQ(write(p[1], "x", 1), 1);
    join(&sh, ts);
    for (int i = 0; i < N_G + N_T; i++)
        CHECK_OK(atomic_load(&sh.results[i]));
    CHECK_OK(goro_fd_close(p[0]));
    CHECK_OK(goro_fd_close(p[1]));
}

static void close_wakes_all(int use_read)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    sh.fd = p[0];
    sh.use_read = use_read;
    start_waiters(&sh, who, ts);
    CHECK_OK(goro_fd_close(p[0]));
    join(&sh, ts);
    for (int i = 0; i < N_G + N_T; i++)
        CHECK_EQ(atomic_load(&sh.results[i]), GORO_ECLOSED);
    CHECK_OK(goro_fd_close(p[1]));
}

struct old_waiter {
    int fd;
    int64_t timeout;
    atomic_int result;
    goro_waitgroup *wg;
};

static void old_g(void *arg)
{
    struct old_waiter *o = arg;
    atomic_store(&o->result, goro_fd_wait(o->fd, GORO_FD_READ, o->timeout));
    CHECK_OK(goro_wg_done(o->wg));
}

static void reused_by_os(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    struct old_waiter a = { .fd = p[0], .timeout = 20 * SEC };
    struct old_waiter b = { .fd = p[0], .timeout = 100 * MS };
    atomic_init(&a.result, 99);
    atomic_init(&b.result, 99);
    a.wg = b.wg = goro_wg_new();
    CHECK_OK(goro_wg_add(a.wg, 2));
    CHECK_OK(goro_go(old_g, &a));
    CHECK_OK(goro_go(old_g, &b));
    os_sleep_ns(30 * MS);
    /* Behind goro's back: close both ends, get the same numbers for a new pipe. */
    int old_rd = p[0];
    CHECK_EQ(close(p[0]), 0);
    CHECK_EQ(close(p[1]), 0);
    int q[2];
    CHECK_EQ(pipe(q), 0);
    CHECK_EQ(q[0], old_rd); /* the lowest free numbers: the same */
    CHECK_EQ(write(q[1], "n", 1), 1);
    os_sleep_ns(150 * MS);
    /* The short waiter timed out; the data on the new pipe did not wake the old waiter. */
    CHECK_EQ(atomic_load(&b.result), GORO_ETIMEDOUT);
    CHECK_EQ(atomic_load(&a.result), 99);
    /* A wait on the new file works (and moves the old waiter out with GORO_ECLOSED). */
    CHECK_OK(goro_fd_wait(q[0], GORO_FD_READ, 5 * SEC));
    char c;
    CHECK_EQ(goro_read(q[0], &c, 1, 0), 1);
    CHECK_EQ(c, 'n');
    CHECK_OK(goro_wg_wait(a.wg));
    CHECK_EQ(atomic_load(&a.result), GORO_ECLOSED);
    CHECK_EQ(goro_fd_wait(q[0], GORO_FD_READ, 0), GORO_EAGAIN);
    CHECK_OK(goro_fd_close(q[0]));
    CHECK_OK(goro_fd_close(q[1]));
    goro_wg_free(a.wg);
}

int main(void)
{
    long rounds = scaled(20, 2);
    for (long r = 0; r < rounds; r++) {
        ready_wakes_all();
        close_wakes_all(0);
        close_wakes_all(1);
    }
    reused_by_os();
    printf("io_close: ok (%ld rounds)\n", rounds);
    return 0;
}
