/* Hand-off: a goroutine that blocks its OS thread in a plain syscall must not stop the
 * other goroutines. With GOMAXPROCS 2, two goroutines sit in a plain blocking read() of a
 * pipe (not a goro call) while two others ping-pong over unbuffered channels; the ping-pong
 * must keep going while both are blocked:
 *
 * - without announcement: the runtime notices after a short time, as Go's sysmon does;
 * - with goro_blocking_begin/goro_blocking_end around the call: at once.
 *
 * A plain thread writes the pipe WINDOW_NS after both sleepers are inside their read, so
 * the two waits always overlap (a fixed nanosleep each did not: under valgrind the second
 * sleeper once started after the first had woken, and the window was empty). Progress is
 * counted only over that overlap. The floor is small on purpose: thousands of round trips
 * fit in 300 ms, and a runtime that does not hand off manages none.
 * goro_blocking_begin/end from a plain thread, and unbalanced use, must be harmless.
 */
#include "golike.h"

#define WINDOW_NS (300 * MS)
#define MIN_ROUND_TRIPS 20

struct handoff {
    goro_chan *ping, *pong;
    atomic_long round_trips;
    atomic_int stop;
    bool announce;
    int64_t start_count[2], end_count[2];
    atomic_int inside; /* sleepers that have recorded their start */
    int pipe_rd, pipe_wr;
    goro_waitgroup *sleepers, *players;
};

struct sleeper {
    struct handoff *h;
    int idx;
};

static void sleeper(void *arg)
{
    struct sleeper *s = arg;
    struct handoff *h = s->h;
    if (h->announce)
        goro_blocking_begin();
    h->start_count[s->idx] = atomic_load(&h->round_trips);
    atomic_fetch_add(&h->inside, 1);
    char c;
    /* Blocks the OS thread, invisible to goro, until the waker writes. */
    CHECK_EQ(read(h->pipe_rd, &c, 1), 1);
    h->end_count[s->idx] = atomic_load(&h->round_trips);
    if (h->announce)
        goro_blocking_end();
    CHECK_OK(goro_wg_done(h->sleepers));
}

/* On a plain thread: once both sleepers are in (or about to enter) their read, lets the
 * window pass, then wakes them both. */
static void waker(void *arg)
{
    struct handoff *h = arg;
    while (atomic_load(&h->inside) < 2)
        os_sleep_ns(MS);
    os_sleep_ns(WINDOW_NS);
    CHECK_EQ(write(h->pipe_wr, "ab", 2), 2);
}

static void pinger(void *arg)
{
    struct handoff *h = arg;
    while (!atomic_load(&h->stop)) {
        send_i64(h->ping, 1);
        recv_i64(h->pong);
        atomic_fetch_add(&h->round_trips, 1);
    }
    CHECK_OK(goro_chan_close(h->ping));
    CHECK_OK(goro_wg_done(h->players));
}

static void ponger(void *arg)
{
    struct handoff *h = arg;
    for (;;) {
        bool ok;
        int64_t v = recv_i64_ok(h->ping, &ok);
        if (!ok)
            break;
        send_i64(h->pong, v);
    }
    CHECK_OK(goro_wg_done(h->players));
}

static void run_handoff(bool announce)
{
    int old = goro_maxprocs(2);
    struct handoff h = { .ping = make_chan(0), .pong = make_chan(0), .announce = announce };
    atomic_init(&h.round_trips, 0);
    atomic_init(&h.stop, 0);
    atomic_init(&h.inside, 0);
    int p[2];
    CHECK_EQ(pipe(p), 0);
    h.pipe_rd = p[0];
    h.pipe_wr = p[1];
    h.sleepers = make_wg(2);
    h.players = make_wg(2);
    go(pinger, &h);
    go(ponger, &h);
    /* The game is under way (within 10 s: valgrind on a loaded machine is slow to start). */
    for (int i = 0; i < 10000 && atomic_load(&h.round_trips) == 0; i++)
        goro_sleep(1 * MS);
    CHECK(atomic_load(&h.round_trips) > 0);

    struct sleeper s[2] = { { &h, 0 }, { &h, 1 } };
    pthread_t w = thread_go(waker, &h);
    go(sleeper, &s[0]);
    go(sleeper, &s[1]);
    CHECK_OK(goro_wg_wait(h.sleepers));
    thread_join(w);

    int64_t from = h.start_count[0] > h.start_count[1] ? h.start_count[0] : h.start_count[1];
    int64_t to = h.end_count[0] < h.end_count[1] ? h.end_count[0] : h.end_count[1];
    printf("%s: %lld round trips while both goroutines were in read (%lld in all)\n",
           announce ? "with goro_blocking_begin/end" : "unannounced", (long long)(to - from),
           (long long)atomic_load(&h.round_trips));
    atomic_store(&h.stop, 1);
    CHECK_OK(goro_wg_wait(h.players));
    CHECK_MSG(to - from >= MIN_ROUND_TRIPS,
              "goroutines blocked in a syscall stopped the others (%lld round trips in %lld ms)",
              (long long)(to - from), (long long)(WINDOW_NS / MS));
    goro_wg_free(h.sleepers);
    goro_wg_free(h.players);
    goro_chan_release(h.ping);
    goro_chan_release(h.pong);
    close(h.pipe_rd);
    close(h.pipe_wr);
    goro_maxprocs(old);
}

static void unannounced(void *unused)
{
    run_handoff(false);
}

static void announced(void *unused)
{
    run_handoff(true);
}

/* From a plain thread the announcement has nothing to hand off: harmless either way. */
static void plain_thread(void *unused)
{
    goro_blocking_begin();
    os_sleep_ns(MS);
    goro_blocking_end();
    goro_blocking_end(); /* unbalanced: must not crash */
}

int main(void)
{
    STEP_GO(unannounced);
    STEP_GO(announced);
    STEP_THREAD(plain_thread);
    return 0;
}
