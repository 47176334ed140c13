/* Goroutines are cheap: 100,000 of them are started, all alive at once (each blocks on a
 * gate until every one has started), then joined with a WaitGroup; afterwards
 * goro_num_goroutine comes back to where it was. Goroutines are also started from a plain
 * thread, and one goroutine starts the next in a long chain.
 */
#include "golike.h"

struct crowd {
    goro_chan *gate; /* closed once all are started */
    goro_waitgroup *wg;
    atomic_long started, finished;
};

static void member(void *arg)
{
    struct crowd *c = arg;
    atomic_fetch_add(&c->started, 1);
    CHECK_EQ(goro_chan_recv(c->gate, NULL, NULL), GORO_ECLOSED);
    atomic_fetch_add(&c->finished, 1);
    CHECK_OK(goro_wg_done(c->wg));
}

static void wait_num_goroutine(int64_t want)
{
    int64_t deadline = now_ns() + 20 * SEC;
    while (goro_num_goroutine() != want) {
        CHECK_MSG(now_ns() < deadline, "goro_num_goroutine() = %lld, want %lld",
                  (long long)goro_num_goroutine(), (long long)want);
        goro_sleep(MS);
    }
}

static void crowd_of(long n)
{
    /* Quiet first: only the caller (if a goroutine). A goro_run that has just returned may
       still count its root for a moment, as Go counts a goroutine after its last Done. */
    int64_t base = goro_id() ? 1 : 0;
    wait_num_goroutine(base);
    struct crowd c = { make_chan_sized(0, 0), make_wg(n), 0, 0 };
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        go(member, &c);
    /* All alive at once: none can finish before the gate closes. */
    int64_t deadline = now_ns() + 30 * SEC;
    while (atomic_load(&c.started) < n) {
        CHECK_MSG(now_ns() < deadline, "only %ld of %ld started", atomic_load(&c.started), n);
        goro_sleep(MS);
    }
    CHECK_EQ(goro_num_goroutine(), base + n);
    CHECK_EQ(atomic_load(&c.finished), 0);
    printf("%ld goroutines started and parked in %.1f ms\n", n, (double)(now_ns() - t0) / 1e6);
    CHECK_OK(goro_chan_close(c.gate));
    CHECK_OK(goro_wg_wait(c.wg));
    CHECK_EQ(atomic_load(&c.finished), n);
    printf("%ld goroutines joined after %.1f ms\n", n, (double)(now_ns() - t0) / 1e6);
    wait_num_goroutine(base);
    goro_wg_free(c.wg);
    goro_chan_release(c.gate);
}

static void hundred_thousand(void *unused)
{
    crowd_of(scaled(100000, 2000));
}

static void from_plain_thread(void *unused)
{
    crowd_of(scaled(10000, 200));
}

/* Each goroutine starts the next: spawning from inside goroutines, deep in time. */
struct chain {
    long left;
    goro_chan *done;
};

static void link_fn(void *arg)
{
    struct chain *c = arg;
    if (--c->left == 0)
        send_i64(c->done, 1);
    else
        go(link_fn, c);
}

static void chain(void *unused)
{
    struct chain c = { scaled(20000, 200), make_chan(0) };
    go(link_fn, &c);
    CHECK_EQ(recv_i64(c.done), 1);
    goro_chan_release(c.done);
}

int main(void)
{
    CHECK_EQ(goro_num_goroutine(), 0);
    STEP_GO(hundred_thousand);
    STEP_THREAD(from_plain_thread);
    STEP_GO(chain);
    return 0;
}
