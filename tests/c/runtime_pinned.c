/* Pinned goroutines (goro_go_ex with GORO_PINNED) never move to another OS thread:
 * pthread_self() and the address of a thread-local variable stay the same across many
 * yields, sleeps, channel and timer waits, while other goroutines keep the scheduler busy
 * and GOMAXPROCS is above 1 (so there are other threads to move to). Several pinned
 * goroutines run at once, each staying where it started (they may share a thread: the
 * contract promises no move, not a thread of one's own). A pinned goroutine still talks to
 * unpinned ones normally.
 */
#include "golike.h"

/* The address of a thread-local variable names the OS thread, like pthread_self (and is
   what thread-bound C state would use). Pinned goroutines may share a thread, so only
   addresses are compared, never values. noinline: the compiler may not reuse an address
   computed before a goro call. */
static _Thread_local int tls_marker;

__attribute__((noinline)) static void *tls_address(void)
{
    return &tls_marker;
}

struct pinned {
    goro_chan *ping, *pong;
    goro_waitgroup *wg;
    int id;
    long rounds;
    atomic_int moved;
};

static void pinned_body(void *arg)
{
    struct pinned *p = arg;
    pthread_t me = pthread_self();
    void *my_tls = tls_address();
    for (long i = 0; i < p->rounds; i++) {
        switch (i % 4) {
        case 0: goro_yield(); break;
        case 1: goro_sleep(100 * US); break;
        case 2: /* park on a channel until an unpinned partner answers */
            send_i64(p->ping, i);
            CHECK_EQ(recv_i64(p->pong), i);
            break;
        default: {
            goro_chan *t = goro_after(50 * US);
            CHECK(t != NULL);
            CHECK_OK(goro_chan_recv(t, NULL, NULL));
            goro_chan_release(t);
        }
        }
        if (!pthread_equal(me, pthread_self()) || tls_address() != my_tls) {
            int expected = 0; /* keep the first: 1 + the kind of wait that moved it */
            atomic_compare_exchange_strong(&p->moved, &expected, 1 + (int)(i % 4));
            me = pthread_self();
            my_tls = tls_address();
        }
    }
    CHECK_OK(goro_wg_done(p->wg));
}

static void echo(void *arg)
{
    struct pinned *p = arg;
    goro_chan *ping = p->ping, *pong = p->pong; /* p may be gone after the last answer */
    long n = (p->rounds + 1) / 4;                /* the pinned side's i % 4 == 2 */
    for (long i = 0; i < n; i++) {
        int64_t v = recv_i64(ping);
        goro_yield();
        send_i64(pong, v);
    }
}

struct noise {
    atomic_int *stop;
    goro_waitgroup *wg;
};

static void noise(void *arg)
{
    struct noise *n = arg;
    long i = 0;
    while (!atomic_load(n->stop)) {
        if (++i % 8 == 0)
            goro_sleep(50 * US);
        else
            goro_yield();
    }
    CHECK_OK(goro_wg_done(n->wg));
}

enum { NPINNED = 3, NNOISE = 8 };

static void pinned_stay(void *unused)
{
    int old = goro_maxprocs(0);
    if (old < 2)
        goro_maxprocs(2);
    atomic_int stop = 0;
    struct noise nz = { &stop, make_wg(NNOISE) };
    for (int i = 0; i < NNOISE; i++)
        go(noise, &nz);

    goro_waitgroup *wg = make_wg(NPINNED);
    struct pinned p[NPINNED];
    for (int i = 0; i < NPINNED; i++) {
        p[i].ping = make_chan(0);
        p[i].pong = make_chan(0);
        p[i].wg = wg;
        p[i].id = i;
        p[i].rounds = scaled(400, 40);
        atomic_init(&p[i].moved, 0);
        goro_go_opts opts = { 0, "pinned", GORO_PINNED };
        CHECK_OK(goro_go_ex(pinned_body, &p[i], &opts));
        go(echo, &p[i]);
    }
    CHECK_OK(goro_wg_wait(wg));
    goro_wg_free(wg);
    atomic_store(&stop, 1);
    CHECK_OK(goro_wg_wait(nz.wg));
    goro_wg_free(nz.wg);
    static const char *after[] = { "", "goro_yield", "goro_sleep", "a channel wait",
                                   "a goro_after timer wait" };
    for (int i = 0; i < NPINNED; i++) {
        int m = atomic_load(&p[i].moved);
        CHECK_MSG(m == 0, "pinned goroutine %d changed OS thread after %s", i, after[m]);
        goro_chan_release(p[i].ping);
        goro_chan_release(p[i].pong);
    }
    goro_maxprocs(old);
}

/* A pinned goroutine blocked while GOMAXPROCS changes under it still wakes on its thread. */
struct repin {
    goro_chan *gate;
    atomic_int moved;
    goro_waitgroup *wg;
};

static void pinned_waiter(void *arg)
{
    struct repin *r = arg;
    pthread_t me = pthread_self();
    CHECK_EQ(goro_chan_recv(r->gate, NULL, NULL), GORO_ECLOSED);
    if (!pthread_equal(me, pthread_self()))
        atomic_store(&r->moved, 1);
    CHECK_OK(goro_wg_done(r->wg));
}

static void pinned_across_maxprocs(void *unused)
{
    int old = goro_maxprocs(4);
    struct repin r = { make_chan_sized(0, 0), 0, make_wg(4) };
    goro_go_opts opts = { 0, NULL, GORO_PINNED };
    for (int i = 0; i < 4; i++)
        CHECK_OK(goro_go_ex(pinned_waiter, &r, &opts));
    goro_sleep(10 * MS);
    goro_maxprocs(1);
    goro_sleep(10 * MS);
    CHECK_OK(goro_chan_close(r.gate));
    CHECK_OK(goro_wg_wait(r.wg));
    goro_wg_free(r.wg);
    CHECK_MSG(!atomic_load(&r.moved), "a pinned goroutine woke on another thread");
    goro_chan_release(r.gate);
    goro_maxprocs(old);
}

int main(void)
{
    STEP_GO(pinned_stay);
    STEP_GO(pinned_across_maxprocs);
    return 0;
}
