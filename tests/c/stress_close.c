/* Close during waits. Two parts, each round with seeded random choices (printed seed;
 * GORO_TEST_SEED replays it):
 *
 * 1. Parked waiters: receivers on an empty channel, senders on a full (or unbuffered)
 *    one, selects over both, and *_timeout calls with long timeouts, from goroutines and
 *    threads; then both channels are closed, in random order, after a random delay. Every
 *    waiter must wake with the right status: receivers GORO_ECLOSED, ok = false and a
 *    zeroed value; senders GORO_ECLOSED; selects their case index with ok = false; none
 *    may time out. The full channel must still hold exactly its original values, in
 *    order: no closed-out sender slipped its value in.
 *
 * 2. Close while busy: producers send numbered values until a send fails with
 *    GORO_ECLOSED; consumers receive until GORO_ECLOSED; a closer closes at a random
 *    moment. Exactly the values whose send returned GORO_OK are received, each once: none
 *    lost, none duplicated, and the send that failed delivered nothing.
 */
#include "golike.h"

static uint64_t seed;

/* ---- part 1 ------------------------------------------------------------------------------------ */

enum { K = 3 }; /* values pre-filled in the full channel, when buffered */

enum kind { RECV, RECV_TIMEOUT, SEND, SEND_TIMEOUT, SELECT, NKINDS };

struct round {
    goro_chan *empty, *full;
    goro_waitgroup *wg;
    atomic_int bad;
};

struct waiter {
    struct round *r;
    enum kind kind;
    uint64_t rng;
};

static void waiter(void *arg)
{
    struct waiter *w = arg;
    struct round *r = w->r;
    int64_t v = 0x7777, out = 0x7777;
    bool ok = true;
    int st;
    switch (w->kind) {
    case RECV:
        st = goro_chan_recv(r->empty, &out, &ok);
        if (st != GORO_ECLOSED || ok || out != 0)
            atomic_store(&r->bad, 1);
        break;
    case RECV_TIMEOUT:
        st = goro_chan_recv_timeout(r->empty, &out, &ok, 20 * SEC);
        if (st != GORO_ECLOSED || ok || out != 0)
            atomic_store(&r->bad, 2);
        break;
    case SEND:
        st = goro_chan_send(r->full, &v);
        if (st != GORO_ECLOSED)
            atomic_store(&r->bad, 3);
        break;
    case SEND_TIMEOUT:
        st = goro_chan_send_timeout(r->full, &v, 20 * SEC);
        if (st != GORO_ECLOSED)
            atomic_store(&r->bad, 4);
        break;
    default: {
        goro_case cs[2];
        size_t ri = (size_t)rng_below(&w->rng, 2);
        cs[ri] = (goro_case){ r->empty, GORO_RECV, &out, true };
        cs[1 - ri] = (goro_case){ r->full, GORO_SEND, &v, true };
        int k = goro_select(cs, 2, rng_below(&w->rng, 2) ? -1 : 20 * SEC);
        if (k != 0 && k != 1)
            atomic_store(&r->bad, 5);
        else if (cs[k].ok || cs[1 - k].ok != true)
            atomic_store(&r->bad, 6); /* chosen: ok = false; unchosen: untouched */
        else if ((size_t)k == ri && out != 0)
            atomic_store(&r->bad, 7); /* a closed receive zero-fills */
        break;
    }
    }
    CHECK_OK(goro_wg_done(r->wg));
}

static void parked_waiters(void *unused)
{
    uint64_t rng = seed;
    long rounds = scaled(150, 10);
    static const char *what[] = { "", "recv", "recv_timeout", "send", "send_timeout",
                                  "select index", "select ok", "select zero" };
    for (long round = 0; round < rounds; round++) {
        size_t full_cap = rng_below(&rng, 2) ? K : 0;
        struct round r = { make_chan(rng_below(&rng, 2) ? 2 : 0), make_chan(full_cap), NULL, 0 };
        for (int64_t i = 0; i < (int64_t)full_cap; i++)
            send_i64(r.full, 100 + i);
        int n = 4 + (int)rng_below(&rng, 8);
        r.wg = make_wg(n);
        struct waiter *ws = calloc((size_t)n, sizeof *ws);
        CHECK(ws != NULL);
        for (int i = 0; i < n; i++) {
            ws[i] = (struct waiter){ &r, (enum kind)rng_below(&rng, NKINDS), rng_next(&rng) };
            spawn_on(rng_below(&rng, 4) ? ON_GOROUTINE : ON_THREAD, waiter, &ws[i]);
        }
        int64_t delay = (int64_t)rng_below(&rng, 3000) * US;
        goro_sleep(delay);
        if (rng_below(&rng, 2)) {
            CHECK_OK(goro_chan_close(r.empty));
            CHECK_OK(goro_chan_close(r.full));
        } else {
            CHECK_OK(goro_chan_close(r.full));
            CHECK_OK(goro_chan_close(r.empty));
        }
        CHECK_OK(goro_wg_wait(r.wg));
        join_spawned_threads();
        int bad = atomic_load(&r.bad);
        CHECK_MSG(bad == 0, "round %ld: a %s waiter woke with the wrong result", round, what[bad]);
        /* The full channel holds exactly what it held before. */
        for (int64_t i = 0; i < (int64_t)full_cap; i++)
            CHECK_EQ(recv_i64(r.full), 100 + i);
        bool ok;
        CHECK_EQ(goro_chan_recv(r.full, NULL, &ok), GORO_ECLOSED);
        CHECK_EQ(goro_chan_recv(r.empty, NULL, &ok), GORO_ECLOSED);
        goro_wg_free(r.wg);
        goro_chan_release(r.empty);
        goro_chan_release(r.full);
        free(ws);
    }
}

/* ---- part 2 ------------------------------------------------------------------------------------ */

enum { NPROD = 6, NCONS = 4, MAXSEQ = 1 << 20 };

struct busy {
    goro_chan *c;
    atomic_uchar *seen; /* NPROD * MAXSEQ */
    long sent[NPROD];   /* each written by its producer, read after the WaitGroup */
    goro_waitgroup *wg;
    atomic_long received;
};

struct busy_actor {
    struct busy *b;
    int id;
    uint64_t rng;
};

static void busy_producer(void *arg)
{
    struct busy_actor *a = arg;
    struct busy *b = a->b;
    long seq = 0;
    for (;; seq++) {
        CHECK(seq < MAXSEQ);
        int64_t v = (int64_t)a->id * MAXSEQ + seq;
        int st;
        if (rng_below(&a->rng, 3) == 0) {
            goro_case cs[1] = { { b->c, GORO_SEND, &v, false } };
            CHECK_EQ(goro_select(cs, 1, -1), 0);
            st = cs[0].ok ? GORO_OK : GORO_ECLOSED;
        } else {
            st = goro_chan_send(b->c, &v);
        }
        if (st == GORO_ECLOSED)
            break;
        CHECK_OK(st);
        if (rng_below(&a->rng, 8) == 0)
            goro_yield();
    }
    b->sent[a->id] = seq; /* values 0 .. seq-1 went through; seq did not */
    CHECK_OK(goro_wg_done(b->wg));
}

static void busy_consumer(void *arg)
{
    struct busy_actor *a = arg;
    struct busy *b = a->b;
    long n = 0;
    for (;;) {
        int64_t v = -1;
        bool ok;
        int st = goro_chan_recv(b->c, &v, &ok);
        if (st == GORO_ECLOSED) {
            CHECK(!ok);
            break;
        }
        CHECK_OK(st);
        CHECK(v >= 0 && v < (int64_t)NPROD * MAXSEQ);
        CHECK_MSG(atomic_fetch_add(&b->seen[v], 1) == 0, "value %lld received twice",
                  (long long)v);
        n++;
        if (rng_below(&a->rng, 8) == 0)
            goro_yield();
    }
    atomic_fetch_add(&b->received, n);
    CHECK_OK(goro_wg_done(b->wg));
}

static void close_while_busy(void *unused)
{
    uint64_t rng = seed ^ 0xB0B0;
    long rounds = scaled(20, 3);
    atomic_uchar *seen = calloc((size_t)NPROD * MAXSEQ, sizeof *seen);
    CHECK(seen != NULL);
    for (long round = 0; round < rounds; round++) {
        size_t cap = (size_t)rng_below(&rng, 3) * 4; /* 0, 4 or 8 */
        struct busy b = { .c = make_chan(cap), .seen = seen, .wg = make_wg(NPROD + NCONS) };
        atomic_init(&b.received, 0);
        struct busy_actor actors[NPROD + NCONS];
        for (int i = 0; i < NPROD + NCONS; i++) {
            actors[i] = (struct busy_actor){ &b, i < NPROD ? i : i - NPROD, rng_next(&rng) };
            enum runner on = rng_below(&rng, 4) ? ON_GOROUTINE : ON_THREAD;
            spawn_on(on, i < NPROD ? busy_producer : busy_consumer, &actors[i]);
        }
        goro_sleep((int64_t)(1 + rng_below(&rng, 20)) * MS);
        CHECK_OK(goro_chan_close(b.c));
        CHECK_OK(goro_wg_wait(b.wg));
        join_spawned_threads();
        long total = 0;
        for (int p = 0; p < NPROD; p++) {
            for (long s = 0; s <= b.sent[p] && s < MAXSEQ; s++) {
                unsigned char got = atomic_load(&seen[(size_t)p * MAXSEQ + s]);
                if (s < b.sent[p])
                    CHECK_MSG(got == 1, "round %ld: producer %d value %ld sent (OK) but received %d times",
                              round, p, s, got);
                else
                    CHECK_MSG(got == 0, "round %ld: producer %d value %ld failed with ECLOSED but was received",
                              round, p, s);
                atomic_store(&seen[(size_t)p * MAXSEQ + s], 0);
            }
            total += b.sent[p];
        }
        CHECK_EQ(atomic_load(&b.received), total);
        printf("round %ld: cap %zu, %ld values before the close\n", round, cap, total);
        goro_wg_free(b.wg);
        goro_chan_release(b.c);
    }
    free(seen);
}

int main(void)
{
    seed = test_seed("stress_close");
    STEP_GO(parked_waiters);
    STEP_THREAD(parked_waiters);
    STEP_GO(close_while_busy);
    return 0;
}
