/* Many producers and consumers, goroutines and plain threads together, on one channel
 * (unbuffered, one slot, sixteen slots), each attempt made a randomly chosen way:
 * blocking, try_*, *_timeout with short timeouts, or a select (blocking or not) with a
 * NULL-channel case beside the real one; failed attempts retry a fresh random way; with
 * random yields and sleeps in between.
 * Once every producer is done the channel is closed, and the consumers drain it.
 *
 * Every value is unique (producer, sequence); nothing may be lost or duplicated: each is
 * received exactly once, the counts and sums match, and each consumer ends with
 * GORO_ECLOSED. The random choices come from a printed seed (GORO_TEST_SEED replays it;
 * thread timing still varies).
 *
 * Each channel gets a time budget (BUDGET_NS): producers stop early once it is spent, and
 * the checks cover what each one sent. Every hand-over to or from a plain thread is an OS
 * wake-up, so under CPU hogs the run took 20 to 40 times as long (past ctest's 60 s).
 */
#include "golike.h"

enum { GO_PRODUCERS = 6, THREAD_PRODUCERS = 2, GO_CONSUMERS = 5, THREAD_CONSUMERS = 2 };
enum { NPROD = GO_PRODUCERS + THREAD_PRODUCERS, NCONS = GO_CONSUMERS + THREAD_CONSUMERS };

static uint64_t seed;

#define BUDGET_NS (4 * SEC)
enum { MIN_PER_PRODUCER = 200 }; /* sent whatever the budget */

struct shared {
    goro_chan *c;
    long per_producer;
    int64_t stop_at; /* producers stop at their next value after this (now_ns) */
    long sent[NPROD]; /* each written by its producer only; read after the WaitGroup */
    atomic_uchar *seen; /* NPROD * per_producer */
    goro_waitgroup *producers, *consumers;
    atomic_long received;
    atomic_llong sum;
};

struct actor {
    struct shared *s;
    int id;
    uint64_t rng;
};

static void jitter(uint64_t *rng)
{
    switch (rng_below(rng, 16)) {
    case 0: goro_yield(); break;
    case 1: goro_sleep((int64_t)rng_below(rng, 50) * US); break;
    default: break;
    }
}

/* One attempt per call, made a random way; false if it would block or timed out. Callers
   retry with a fresh choice each time: two non-blocking attempts on an unbuffered channel
   never meet (as in Go), so sticking to try_* on both sides would spin forever. */
static bool try_put(struct actor *a, int64_t v)
{
    goro_chan *c = a->s->c;
    int st;
    switch (rng_below(&a->rng, 4)) {
    case 0:
        CHECK_OK(goro_chan_send(c, &v));
        return true;
    case 1:
        st = goro_chan_try_send(c, &v);
        break;
    case 2:
        st = goro_chan_send_timeout(c, &v, (int64_t)(1 + rng_below(&a->rng, 200)) * US);
        break;
    default: {
        int64_t other = -1;
        goro_case cs[2];
        size_t real = (size_t)rng_below(&a->rng, 2);
        cs[real] = (goro_case){ c, GORO_SEND, &v, false };
        cs[1 - real] = (goro_case){ NULL, GORO_SEND, &other, false };
        int64_t timeout = rng_below(&a->rng, 2) ? -1 : 0;
        int r = goro_select(cs, 2, timeout);
        if (r == GORO_EAGAIN && timeout == 0)
            return false;
        CHECK_EQ(r, (int)real);
        CHECK(cs[real].ok);
        return true;
    }
    }
    if (st == GORO_EAGAIN || st == GORO_ETIMEDOUT)
        return false;
    CHECK_OK(st);
    return true;
}

static void put(struct actor *a, int64_t v)
{
    while (!try_put(a, v))
        if (rng_below(&a->rng, 2))
            goro_yield();
}

enum take_result { TAKEN, NOT_YET, CLOSED };

static enum take_result try_take(struct actor *a, int64_t *v)
{
    goro_chan *c = a->s->c;
    bool ok = false;
    int st;
    *v = -1;
    switch (rng_below(&a->rng, 4)) {
    case 0:
        st = goro_chan_recv(c, v, &ok);
        break;
    case 1:
        st = goro_chan_try_recv(c, v, &ok);
        break;
    case 2:
        st = goro_chan_recv_timeout(c, v, &ok, (int64_t)(1 + rng_below(&a->rng, 200)) * US);
        break;
    default: {
        int64_t other = -2;
        goro_case cs[2];
        size_t real = (size_t)rng_below(&a->rng, 2);
        cs[real] = (goro_case){ c, GORO_RECV, v, false };
        cs[1 - real] = (goro_case){ NULL, GORO_RECV, &other, false };
        int64_t timeout = rng_below(&a->rng, 2) ? -1 : 0;
        int r = goro_select(cs, 2, timeout);
        CHECK_EQ(other, -2);
        if (r == GORO_EAGAIN && timeout == 0)
            return NOT_YET;
        CHECK_EQ(r, (int)real);
        ok = cs[real].ok;
        st = ok ? GORO_OK : GORO_ECLOSED;
        break;
    }
    }
    if (st == GORO_EAGAIN || st == GORO_ETIMEDOUT)
        return NOT_YET;
    if (st == GORO_OK) {
        CHECK(ok);
        return TAKEN;
    }
    CHECK_EQ(st, GORO_ECLOSED);
    CHECK(!ok);
    CHECK_EQ(*v, 0);
    return CLOSED;
}

/* Returns false once the channel is closed and drained. */
static bool take(struct actor *a, int64_t *v)
{
    for (;;) {
        enum take_result r = try_take(a, v);
        if (r != NOT_YET)
            return r == TAKEN;
        if (rng_below(&a->rng, 2))
            goro_yield();
    }
}

static void producer(void *arg)
{
    struct actor *a = arg;
    long i = 0;
    for (; i < a->s->per_producer; i++) {
        if (i >= MIN_PER_PRODUCER && i % 64 == 0 && now_ns() > a->s->stop_at)
            break;
        put(a, (int64_t)a->id * a->s->per_producer + i);
        jitter(&a->rng);
    }
    a->s->sent[a->id] = i;
    CHECK_OK(goro_wg_done(a->s->producers));
}

static void consumer(void *arg)
{
    struct actor *a = arg;
    struct shared *s = a->s;
    long n = 0;
    int64_t v, sum = 0;
    while (take(a, &v)) {
        CHECK_MSG(v >= 0 && v < NPROD * s->per_producer, "received a value never sent: %lld",
                  (long long)v);
        unsigned char before = atomic_fetch_add(&s->seen[v], 1);
        CHECK_MSG(before == 0, "value %lld received twice", (long long)v);
        n++;
        sum += v;
        jitter(&a->rng);
    }
    atomic_fetch_add(&s->received, n);
    atomic_fetch_add(&s->sum, sum);
    CHECK_OK(goro_wg_done(s->consumers));
}

static void closer(void *arg)
{
    struct shared *s = arg;
    CHECK_OK(goro_wg_wait(s->producers));
    CHECK_OK(goro_chan_close(s->c));
}

static void run_cap(size_t cap, long per_producer)
{
    struct shared s;
    s.c = make_chan(cap);
    s.per_producer = per_producer;
    s.seen = calloc((size_t)(NPROD * per_producer), sizeof *s.seen);
    CHECK(s.seen != NULL);
    s.producers = make_wg(NPROD);
    s.consumers = make_wg(NCONS);
    atomic_init(&s.received, 0);
    atomic_init(&s.sum, 0);

    struct actor actors[NPROD + NCONS];
    for (int i = 0; i < NPROD + NCONS; i++)
        actors[i] = (struct actor){ &s, i < NPROD ? i : i - NPROD,
                                    seed ^ ((uint64_t)cap << 40) ^ ((uint64_t)i << 8) };
    int64_t t0 = now_ns();
    s.stop_at = t0 + BUDGET_NS;
    for (int i = 0; i < NCONS; i++)
        spawn_on(i < GO_CONSUMERS ? ON_GOROUTINE : ON_THREAD, consumer, &actors[NPROD + i]);
    for (int i = 0; i < NPROD; i++)
        spawn_on(i < GO_PRODUCERS ? ON_GOROUTINE : ON_THREAD, producer, &actors[i]);
    go(closer, &s);
    CHECK_OK(goro_wg_wait(s.consumers));
    join_spawned_threads();

    long total = 0;
    long long want_sum = 0;
    for (int p = 0; p < NPROD; p++) {
        total += s.sent[p];
        for (long i = 0; i < s.sent[p]; i++)
            want_sum += (long long)p * per_producer + i;
    }
    printf("cap %zu: %ld values through %d producers and %d consumers in %.1f ms%s\n", cap, total,
           NPROD, NCONS, (double)(now_ns() - t0) / 1e6,
           total < NPROD * per_producer ? " (time budget spent)" : "");
    CHECK_EQ(atomic_load(&s.received), total);
    CHECK_EQ(atomic_load(&s.sum), want_sum);
    for (long v = 0; v < NPROD * per_producer; v++) {
        int want = v % per_producer < s.sent[v / per_producer];
        CHECK_MSG(atomic_load(&s.seen[v]) == want, "value %ld received %d times", v,
                  atomic_load(&s.seen[v]));
    }
    goro_wg_free(s.producers);
    goro_wg_free(s.consumers);
    goro_chan_release(s.c);
    free(s.seen);
}

static void body(void *unused)
{
    long per = scaled(20000, 200);
    run_cap(0, per);
    run_cap(1, per);
    run_cap(16, per);
}

int main(void)
{
    seed = test_seed("stress_chan");
    STEP_GO(body);
    STEP_THREAD(body);
    return 0;
}
