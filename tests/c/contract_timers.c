/* CONTRACT.md, C, timers, from goroutines and from plain threads:
 *
 * - goro_sleep(d <= 0) returns at once; goro_sleep(d) returns no earlier than d;
 * - goro_after(d) fires no earlier than d after the call and delivers CLOCK_MONOTONIC
 *   nanoseconds at the moment it fired (so: >= call time + d, <= the time we got it);
 *   d <= 0 fires at once; it receives exactly once; released unreceived, it leaks nothing
 *   (left to ASan / valgrind to see);
 * - a ticker's channel has capacity 1 and drops the ticks no one took; its values grow;
 *   goro_ticker_stop stops the ticks and drops the ticker's reference, leaving a channel the
 *   caller retained open (never closed, no more ticks).
 *
 * - durations near INT64_MAX never fire (a deadline that wrapped would fire at once).
 *
 * Upper bounds are loose ("at once" = well under a second): the machine may be busy.
 */
#include "golike.h"

#define AT_ONCE (500 * MS)

static void sleeps(void *unused)
{
    int64_t t0 = now_ns();
    CHECK_OK(goro_sleep(0));
    CHECK_OK(goro_sleep(-1));
    CHECK_OK(goro_sleep(INT64_MIN));
    CHECK_LE(now_ns() - t0, AT_ONCE);

    static const int64_t ds[] = { 1 * US, 1 * MS, 15 * MS };
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        t0 = now_ns();
        CHECK_OK(goro_sleep(ds[i]));
        int64_t took = now_ns() - t0;
        CHECK_MSG(took >= ds[i], "goro_sleep(%lld) returned after %lld ns", (long long)ds[i],
                  (long long)took);
    }
}

static void afters(void *unused)
{
    static const int64_t ds[] = { 1 * MS, 10 * MS, 30 * MS };
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        int64_t t0 = now_ns();
        goro_chan *c = goro_after(ds[i]);
        CHECK(c != NULL);
        CHECK_EQ(goro_chan_cap(c), 1);
        int64_t fired = 0;
        bool ok = false;
        CHECK_OK(goro_chan_recv(c, &fired, &ok));
        int64_t t1 = now_ns();
        CHECK(ok);
        CHECK_MSG(fired >= t0 + ds[i], "after(%lld) fired %lld ns after the call",
                  (long long)ds[i], (long long)(fired - t0));
        CHECK_MSG(fired <= t1, "after() delivered a time in the future (%lld > %lld)",
                  (long long)fired, (long long)t1);
        CHECK_LE(t0 + ds[i], t1);
        /* Exactly once. */
        CHECK_EQ(goro_chan_recv_timeout(c, &fired, &ok, 3 * ds[i] + 5 * MS), GORO_ETIMEDOUT);
        goro_chan_release(c);
    }

    /* d <= 0 fires at once. */
    static const int64_t now_ds[] = { 0, -1, -SEC };
    for (size_t i = 0; i < sizeof now_ds / sizeof now_ds[0]; i++) {
        int64_t t0 = now_ns();
        goro_chan *c = goro_after(now_ds[i]);
        CHECK(c != NULL);
        int64_t fired = 0;
        CHECK_OK(goro_chan_recv_timeout(c, &fired, NULL, 5 * SEC));
        CHECK_LE(t0, fired);
        CHECK_LE(now_ns() - t0, AT_ONCE);
        goro_chan_release(c);
    }

    /* In a select against a channel that never gets anything: the timer case wins. */
    goro_chan *never = make_chan(0);
    goro_chan *t = goro_after(5 * MS);
    CHECK(t != NULL);
    int64_t fired = 0;
    goro_case cs[2] = { { never, GORO_RECV, NULL, false }, { t, GORO_RECV, &fired, false } };
    CHECK_EQ(goro_select(cs, 2, -1), 1);
    CHECK(fired > 0);
    goro_chan_release(t);
    goro_chan_release(never);

    /* Released before firing, or fired and never received: nothing may leak or crash. */
    for (int i = 0; i < 200; i++) {
        goro_chan *c = goro_after(i % 2 ? 1 * MS : 10 * SEC);
        CHECK(c != NULL);
        goro_chan_release(c);
    }
    goro_chan *c = goro_after(0);
    CHECK(c != NULL);
    goro_sleep(5 * MS);
    CHECK_EQ(goro_chan_len(c), 1);
    goro_chan_release(c);
    goro_sleep(10 * MS); /* let the 1 ms timers fire into their released channels */
}

static void tickers(void *unused)
{
    const int64_t period = 10 * MS;
    int64_t t0 = now_ns();
    goro_ticker *tk = goro_ticker_new(period);
    CHECK(tk != NULL);
    goro_chan *c = goro_ticker_chan(tk);
    CHECK(c != NULL);
    CHECK_EQ(goro_chan_cap(c), 1);

    /* Ticks come every period, no earlier, increasing. */
    int64_t prev = t0;
    for (int i = 1; i <= 3; i++) {
        int64_t v = 0;
        CHECK_OK(goro_chan_recv(c, &v, NULL));
        CHECK_MSG(v >= t0 + i * period, "tick %d at +%lld ns", i, (long long)(v - t0));
        CHECK(v > prev);
        CHECK_LE(v, now_ns());
        prev = v;
    }

    /* Nobody receives for 10 periods: only one tick waits, the rest were dropped. */
    goro_sleep(10 * period);
    CHECK_EQ(goro_chan_len(c), 1);
    int64_t v = 0;
    CHECK_OK(goro_chan_try_recv(c, &v, NULL));
    CHECK(v > prev);
    prev = v;
    /* The next one is a fresh tick, still later. */
    CHECK_OK(goro_chan_recv(c, &v, NULL));
    CHECK(v > prev);

    /* Stop with the channel retained: it stays open, and no tick comes any more. */
    goro_chan *kept = goro_chan_retain(c);
    CHECK(kept == c);
    goro_ticker_stop(tk);
    int st = goro_chan_try_recv(kept, &v, NULL); /* a tick sent just before the stop */
    CHECK_MSG(st == GORO_OK || st == GORO_EAGAIN, "stopped ticker's channel: %s",
              status_name(st));
    CHECK_EQ(goro_chan_recv_timeout(kept, &v, NULL, 5 * period), GORO_ETIMEDOUT);
    CHECK_EQ(goro_chan_len(kept), 0);
    /* Open: a send still works (Go's ticker channel is never closed). */
    CHECK_OK(goro_chan_try_send(kept, &v));
    goro_chan_release(kept);

    /* Stopped without ever being read, and without a retained channel. */
    for (int i = 0; i < 50; i++) {
        goro_ticker *t = goro_ticker_new(MS);
        CHECK(t != NULL);
        if (i % 2)
            goro_sleep(2 * MS);
        goro_ticker_stop(t);
    }

    /* A period Go would panic on. */
    CHECK(goro_ticker_new(0) == NULL);
    CHECK(goro_ticker_new(-MS) == NULL);
    CHECK(goro_ticker_chan(NULL) == NULL);
    goro_ticker_stop(NULL);
}

/* Durations near INT64_MAX are "never" in practice; now + d must not wrap into the past. */
static atomic_int huge_sleep_returned;

static void huge_sleeper(void *arg)
{
    goro_sleep((int64_t)(intptr_t)arg);
    atomic_store(&huge_sleep_returned, 1);
}

static void huge_durations(void *unused)
{
    goro_chan *t = goro_after(INT64_MAX);
    CHECK(t != NULL);
    goro_chan *t2 = goro_after(INT64_MAX / 2);
    CHECK(t2 != NULL);
    goro_ticker *tk = goro_ticker_new(INT64_MAX);
    CHECK(tk != NULL);
    go(huge_sleeper, (void *)(intptr_t)INT64_MAX);
    go(huge_sleeper, (void *)(intptr_t)(INT64_MAX - 1));
    CHECK_EQ(goro_chan_recv_timeout(t, NULL, NULL, 30 * MS), GORO_ETIMEDOUT);
    CHECK_EQ(goro_chan_recv_timeout(t2, NULL, NULL, MS), GORO_ETIMEDOUT);
    CHECK_EQ(goro_chan_recv_timeout(goro_ticker_chan(tk), NULL, NULL, MS), GORO_ETIMEDOUT);
    CHECK_MSG(!atomic_load(&huge_sleep_returned), "goro_sleep(~INT64_MAX) returned");
    goro_ticker_stop(tk);
    goro_chan_release(t);
    goro_chan_release(t2);
    /* The sleepers stay parked; they are abandoned at exit. */
}

int main(void)
{
    STEP_GO(sleeps);
    STEP_THREAD(sleeps);
    STEP_GO(afters);
    STEP_THREAD(afters);
    STEP_GO(tickers);
    STEP_THREAD(tickers);
    STEP_GO(huge_durations);
    return 0;
}
