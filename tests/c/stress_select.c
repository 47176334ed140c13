/* Selects mixing send and receive cases over the same channels, from goroutines and plain
 * threads at once. Three channels (unbuffered, one slot, four slots); each worker runs many
 * selects, each with a random set of send and receive cases over them in random order,
 * mostly blocking, sometimes non-blocking or with a short timeout.
 *
 * A helper goroutine offers every case (send and receive on every channel) until the
 * workers are done, so every worker select can always complete, even when its only other
 * partner would be itself (a select never matches its own send with its own receive): a
 * hang here is a lost wake-up. (The helper may also trade values with itself through the
 * buffers; that is fine, it is counted like everyone else.)
 *
 * Every value names its sender and sequence number; at the end (buffers drained) each
 * value a sender counted as sent was received exactly once, and nothing else was. The
 * random choices come from a printed seed (GORO_TEST_SEED replays it).
 *
 * The helper's sends are held to a budget of HELPER_PER_OP per worker operation done
 * (plus a head start): trading with itself through the buffers costs it almost nothing,
 * so while the workers are descheduled (a loaded machine, plain threads) it could
 * otherwise run through any fixed number of sequence numbers. Over budget it naps
 * briefly and then still offers every case, so no worker is ever left without a partner.
 */
#include "golike.h"

enum { NCHAN = 3, GO_WORKERS = 6, THREAD_WORKERS = 2, NWORKERS = GO_WORKERS + THREAD_WORKERS };
enum { HELPER = NWORKERS, NSENDERS = NWORKERS + 1, HELPER_MAX_SEQ = 1 << 22 };
enum { HELPER_PER_OP = 8, HELPER_HEAD_START = 4096 };

static uint64_t seed;
static goro_chan *chans[NCHAN];
static long ops_per_worker;
static long max_seq[NSENDERS];
static atomic_uchar *seen[NSENDERS];
static long sent[NSENDERS]; /* each written by its sender only; read after the WaitGroup */
static atomic_long worker_ops; /* selects completed by all workers: the helper's budget */

static int64_t encode(int sender, long seq)
{
    return ((int64_t)sender << 32) | (int64_t)seq;
}

static void record(int64_t v)
{
    int sender = (int)(v >> 32);
    long seq = (long)(v & 0xFFFFFFFF);
    CHECK_MSG(sender >= 0 && sender < NSENDERS && seq < max_seq[sender],
              "received a value never sent: %llx", (unsigned long long)v);
    CHECK_MSG(atomic_fetch_add(&seen[sender][seq], 1) == 0,
              "value %ld of sender %d received twice", seq, sender);
}

struct worker {
    int id;
    uint64_t rng;
    goro_waitgroup *wg;
};

static void worker(void *arg)
{
    struct worker *w = arg;
    long seq = 0, done = 0;
    while (done < ops_per_worker) {
        goro_case cs[2 * NCHAN];
        int64_t send_val = encode(w->id, seq);
        int64_t recv_val[2 * NCHAN];
        size_t n = 0;
        for (int k = 0; k < NCHAN; k++) {
            unsigned pick = (unsigned)rng_below(&w->rng, 4); /* none, send, recv, both */
            if (pick & 1)
                cs[n++] = (goro_case){ chans[k], GORO_SEND, &send_val, false };
            if (pick & 2)
                cs[n++] = (goro_case){ chans[k], GORO_RECV, NULL, false }; /* elem set below */
        }
        if (n == 0)
            continue;
        for (size_t i = n - 1; i > 0; i--) { /* shuffle: case order must not matter */
            size_t j = (size_t)rng_below(&w->rng, i + 1);
            goro_case t = cs[i];
            cs[i] = cs[j];
            cs[j] = t;
        }
        for (size_t i = 0; i < n; i++) {
            if (cs[i].op == GORO_RECV) {
                recv_val[i] = -1;
                cs[i].elem = &recv_val[i];
            }
        }
        uint64_t mode = rng_below(&w->rng, 10);
        int64_t timeout = mode == 0 ? 0 : mode == 1 ? (int64_t)rng_below(&w->rng, 100) * US : -1;
        int r = goro_select(cs, n, timeout);
        if (r == GORO_EAGAIN || r == GORO_ETIMEDOUT) {
            CHECK(timeout >= 0);
            for (size_t i = 0; i < n; i++)
                CHECK(!cs[i].ok);
            continue;
        }
        CHECK_MSG(r >= 0 && (size_t)r < n, "select returned %d", r);
        CHECK(cs[r].ok);
        for (size_t i = 0; i < n; i++)
            if (i != (size_t)r)
                CHECK(!cs[i].ok); /* untouched */
        if (cs[r].op == GORO_SEND) {
            seq++;
        } else {
            record(*(int64_t *)cs[r].elem);
        }
        done++;
        atomic_fetch_add_explicit(&worker_ops, 1, memory_order_relaxed);
    }
    sent[w->id] = seq;
    CHECK_OK(goro_wg_done(w->wg));
}

struct helper_args {
    goro_chan *stop;
    goro_waitgroup *wg;
};

static void helper(void *arg)
{
    struct helper_args *h = arg;
    long seq = 0;
    for (;;) {
        int64_t send_val = encode(HELPER, seq), recv_val[NCHAN];
        goro_case cs[2 * NCHAN + 1];
        for (int k = 0; k < NCHAN; k++) {
            cs[2 * k] = (goro_case){ chans[k], GORO_SEND, &send_val, false };
            cs[2 * k + 1] = (goro_case){ chans[k], GORO_RECV, &recv_val[k], false };
        }
        cs[2 * NCHAN] = (goro_case){ h->stop, GORO_RECV, NULL, false };
        long budget = HELPER_PER_OP * atomic_load_explicit(&worker_ops, memory_order_relaxed) +
                      HELPER_HEAD_START;
        if (seq >= budget)
            CHECK_OK(goro_sleep(20 * US));
        int r = goro_select(cs, 2 * NCHAN + 1, -1);
        CHECK(r >= 0 && r <= 2 * NCHAN);
        if (r == 2 * NCHAN) {
            CHECK(!cs[r].ok); /* closed */
            break;
        }
        CHECK(cs[r].ok);
        if (r % 2 == 0) {
            seq++;
            CHECK_MSG(seq < max_seq[HELPER], "the helper sent %ld values", seq);
        } else {
            record(recv_val[r / 2]);
        }
    }
    sent[HELPER] = seq;
    CHECK_OK(goro_wg_done(h->wg));
}

static void body(void *unused)
{
    static const size_t caps[NCHAN] = { 0, 1, 4 };
    for (int k = 0; k < NCHAN; k++)
        chans[k] = make_chan(caps[k]);
    ops_per_worker = scaled(20000, 200);
    for (int s = 0; s < NSENDERS; s++) {
        max_seq[s] = s == HELPER ? HELPER_MAX_SEQ : ops_per_worker + 1;
        seen[s] = calloc((size_t)max_seq[s], sizeof *seen[s]);
        CHECK(seen[s] != NULL);
        sent[s] = 0;
    }
    atomic_store(&worker_ops, 0);
    struct helper_args h = { make_chan_sized(0, 0), make_wg(1) };
    go(helper, &h);

    goro_waitgroup *wg = make_wg(NWORKERS);
    struct worker ws[NWORKERS];
    int64_t t0 = now_ns();
    for (int i = 0; i < NWORKERS; i++) {
        ws[i] = (struct worker){ i, seed ^ ((uint64_t)i * 0x9E3779B97F4A7C15ULL), wg };
        spawn_on(i < GO_WORKERS ? ON_GOROUTINE : ON_THREAD, worker, &ws[i]);
    }
    CHECK_OK(goro_wg_wait(wg));
    CHECK_OK(goro_chan_close(h.stop));
    CHECK_OK(goro_wg_wait(h.wg));
    join_spawned_threads();

    /* Drain what is still buffered. */
    for (int k = 0; k < NCHAN; k++) {
        int64_t v;
        while (goro_chan_try_recv(chans[k], &v, NULL) == GORO_OK)
            record(v);
    }

    long total = 0;
    for (int s = 0; s < NSENDERS; s++) {
        for (long q = 0; q < max_seq[s]; q++) {
            unsigned char got = atomic_load(&seen[s][q]);
            if (q < sent[s])
                CHECK_MSG(got == 1, "sender %d value %ld sent but received %d times", s, q, got);
            else
                CHECK_MSG(got == 0, "sender %d value %ld received but never sent", s, q);
        }
        total += sent[s];
        free(seen[s]);
    }
    printf("%d workers x %ld selects: %ld values exchanged (%ld sent by the helper) in %.1f ms\n",
           NWORKERS, ops_per_worker, total, sent[HELPER], (double)(now_ns() - t0) / 1e6);
    goro_wg_free(wg);
    goro_wg_free(h.wg);
    goro_chan_release(h.stop);
    for (int k = 0; k < NCHAN; k++)
        goro_chan_release(chans[k]);
}

int main(void)
{
    seed = test_seed("stress_select");
    STEP_GO(body);
    STEP_THREAD(body);
    return 0;
}
