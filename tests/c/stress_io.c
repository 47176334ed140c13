/* Random interleavings on pipes, with a printed seed (GORO_TEST_SEED replays it):
 *
 * Phase 1, nothing lost: P pipes, each with a writer goroutine sending B bytes in random-sized
 * chunks (with random yields and sleeps), then closing its end, and two readers (a goroutine, and for every fourth
 * pipe a plain thread) reading random sizes with random timeouts, retrying on GORO_ETIMEDOUT
 * and GORO_EAGAIN. Every byte sent is received exactly once (sums and counts per pipe).
 *
 * Phase 2, close races: waiters (goroutines and threads) in goro_fd_wait / goro_read on pipes
 * that a closer goroutine closes with goro_fd_close at a random moment while a writer may
 * write: every waiter returns, with GORO_OK, a byte, GORO_ECLOSED or GORO_ETIMEDOUT (only with
 * a timeout), EBADF or GORO_EINVAL when it started after the close: never a hang or a crash.
 */
#include "check.h"

#include <pthread.h>

struct pipe_st {
    int rd, wr;
    long bytes;
    atomic_long got_bytes, got_sum;
    long sent_sum;
    atomic_int writer_done;
    uint64_t seed;
};

static goro_waitgroup *wg;

static void writer(void *arg)
{
    struct pipe_st *p = arg;
    uint64_t rng = p->seed;
    unsigned char buf[700];
    long sent = 0;
    while (sent < p->bytes) {
        size_t n = 1 + rng_below(&rng, sizeof buf);
        if ((long)n > p->bytes - sent)
            n = (size_t)(p->bytes - sent);
        for (size_t i = 0; i < n; i++) {
            buf[i] = (unsigned char)rng_next(&rng);
            p->sent_sum += buf[i];
        }
        CHECK_EQ(goro_write(p->wr, buf, n, -1), n);
        sent += (long)n;
        switch (rng_below(&rng, 8)) {
        case 0: goro_yield(); break;
        case 1: goro_sleep((int64_t)rng_below(&rng, 200) * US); break;
        default: break;
        }
    }
    atomic_store(&p->writer_done, 1);
    CHECK_OK(goro_fd_close(p->wr)); /* the readers see EOF once the pipe is drained */
    CHECK_OK(goro_wg_done(wg));
}

static void read_loop(struct pipe_st *p, uint64_t rng)
{
    unsigned char buf[500];
    for (;;) {
        size_t n = 1 + rng_below(&rng, sizeof buf);
        int64_t to;
        switch (rng_below(&rng, 4)) {
        case 0: to = 0; break;
        case 1: to = (int64_t)rng_below(&rng, 300) * US + 1; break;
        case 2: to = 50 * MS; break;
        default: to = -1; break;
        }
        ptrdiff_t r = goro_read(p->rd, buf, n, to);
        if (r == GORO_EAGAIN || r == GORO_ETIMEDOUT)
            continue;
        if (r == 0)
            break; /* EOF: the writer is done and the pipe drained */
        CHECK_MSG(r > 0, "read: %td", r);
        long s = 0;
        for (ptrdiff_t i = 0; i < r; i++)
            s += buf[i];
        atomic_fetch_add(&p->got_sum, s);
        atomic_fetch_add(&p->got_bytes, r);
    }
}

struct rd_arg {
    struct pipe_st *p;
    uint64_t seed;
};

static void g_reader(void *arg)
{
    struct rd_arg *a = arg;
    read_loop(a->p, a->seed);
    CHECK_OK(goro_wg_done(wg));
}

static void *t_reader(void *arg)
{
    struct rd_arg *a = arg;
    read_loop(a->p, a->seed);
    CHECK_OK(goro_wg_done(wg));
    return NULL;
}

static void phase1(uint64_t *rng)
{
    long np = scaled(64, 4);
    struct pipe_st *ps = calloc((size_t)np, sizeof *ps);
    struct rd_arg *ra = calloc((size_t)np * 2, sizeof *ra);
    pthread_t *ts = calloc((size_t)np, sizeof *ts);
    CHECK(ps && ra && ts);
    wg = goro_wg_new();
    long nthreads = 0;
    for (long i = 0; i < np; i++) {
        int fds[2];
        CHECK_EQ(pipe(fds), 0);
        ps[i].rd = fds[0];
        ps[i].wr = fds[1];
        ps[i].bytes = scaled(200000, 5000);
        ps[i].seed = rng_next(rng);
        CHECK_OK(goro_wg_add(wg, 3));
        CHECK_OK(goro_go(writer, &ps[i]));
        ra[2 * i] = (struct rd_arg){ &ps[i], rng_next(rng) };
        ra[2 * i + 1] = (struct rd_arg){ &ps[i], rng_next(rng) };
        CHECK_OK(goro_go(g_reader, &ra[2 * i]));
        if (i % 4 == 0)
            CHECK_EQ(pthread_create(&ts[nthreads++], NULL, t_reader, &ra[2 * i + 1]), 0);
        else
            CHECK_OK(goro_go(g_reader, &ra[2 * i + 1]));
    }
    CHECK_OK(goro_wg_wait(wg));
    for (long i = 0; i < nthreads; i++)
        CHECK_EQ(pthread_join(ts[i], NULL), 0);
    for (long i = 0; i < np; i++) {
        CHECK_EQ(atomic_load(&ps[i].got_bytes), ps[i].bytes);
        CHECK_EQ(atomic_load(&ps[i].got_sum), ps[i].sent_sum);
        CHECK_OK(goro_fd_close(ps[i].rd));
    }
    goro_wg_free(wg);
    free(ps);
    free(ra);
    free(ts);
    printf("stress_io: phase 1: %ld pipes, nothing lost\n", np);
}

/* ---- phase 2 ---- */

struct race {
    int rd, wr;
    uint64_t seed;
    atomic_int closed;
};

struct race_waiter {
    struct race *r;
    uint64_t seed;
    int result;
};

static int race_wait(struct race_waiter *w)
{
    uint64_t rng = w->seed;
    int64_t to = rng_below(&rng, 2) ? -1 : (int64_t)rng_below(&rng, 20) * MS + 1;
    int res;
    if (rng_below(&rng, 2)) {
        res = goro_fd_wait(w->r->rd, GORO_FD_READ, to);
    } else {
        char c;
        ptrdiff_t n = goro_read(w->r->rd, &c, 1, to);
        res = n == 1 ? GORO_OK : (int)n;
    }
    bool ok = res == GORO_OK || res == GORO_ECLOSED || res == GORO_EINVAL ||
              res == GORO_ESYS - EBADF || (to >= 0 && res == GORO_ETIMEDOUT);
    CHECK_MSG(ok, "waiter got %d (timeout %lld)", res, (long long)to);
    return res;
}

static void g_race(void *arg)
{
    struct race_waiter *w = arg;
    w->result = race_wait(w);
    CHECK_OK(goro_wg_done(wg));
}

static void *t_race(void *arg)
{
    struct race_waiter *w = arg;
    w->result = race_wait(w);
    CHECK_OK(goro_wg_done(wg));
    return NULL;
}

static void closer(void *arg)
{
    struct race *r = arg;
    uint64_t rng = r->seed;
    int64_t d = (int64_t)rng_below(&rng, 3000) * US;
    if (rng_below(&rng, 3) == 0)
        CHECK_EQ(goro_write(r->wr, "z", 1, -1), 1);
    goro_sleep(d);
    CHECK_OK(goro_fd_close(r->rd));
    atomic_store(&r->closed, 1);
    CHECK_OK(goro_wg_done(wg));
}

static void phase2(uint64_t *rng)
{
    long rounds = scaled(40, 3);
    enum { NP = 8, NW = 6 };
    for (long round = 0; round < rounds; round++) {
        struct race rs[NP];
        struct race_waiter ws[NP][NW];
        pthread_t ts[NP];
        wg = goro_wg_new();
        for (int i = 0; i < NP; i++) {
            int fds[2];
            CHECK_EQ(pipe(fds), 0);
            rs[i].rd = fds[0];
            rs[i].wr = fds[1];
            rs[i].seed = rng_next(rng);
            atomic_init(&rs[i].closed, 0);
        }
        /* Waiters first; pipes are closed only once every waiter has at least started. */
        for (int i = 0; i < NP; i++) {
            for (int j = 0; j < NW; j++) {
                ws[i][j] = (struct race_waiter){ &rs[i], rng_next(rng), 99 };
                CHECK_OK(goro_wg_add(wg, 1));
                if (j == 0)
                    CHECK_EQ(pthread_create(&ts[i], NULL, t_race, &ws[i][j]), 0);
                else
                    CHECK_OK(goro_go(g_race, &ws[i][j]));
            }
        }
        for (int i = 0; i < NP; i++) {
            CHECK_OK(goro_wg_add(wg, 1));
            CHECK_OK(goro_go(closer, &rs[i]));
        }
        int64_t t0 = now_ns();
        CHECK_OK(goro_wg_wait(wg));
        CHECK_LE(now_ns() - t0, 10 * SEC);
        for (int i = 0; i < NP; i++) {
            CHECK_EQ(pthread_join(ts[i], NULL), 0);
            CHECK_OK(goro_fd_close(rs[i].wr));
        }
        goro_wg_free(wg);
    }
    printf("stress_io: phase 2: %ld rounds of close races\n", rounds);
}

int main(void)
{
    uint64_t rng = test_seed("stress_io");
    phase1(&rng);
    phase2(&rng);
    printf("stress_io: ok\n");
    return 0;
}
