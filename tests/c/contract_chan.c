/* CONTRACT.md, C, channels: each rule checked from goroutines and from plain threads.
 *
 * - closed channels: send fails with GORO_ECLOSED; receive drains the buffer first, then
 *   GORO_ECLOSED with ok = false and out zero-filled; closing twice gives GORO_ECLOSED;
 * - timeout 0 and try_* give GORO_EAGAIN; a positive timeout gives GORO_ETIMEDOUT, no
 *   earlier, and consumes or delivers nothing;
 * - waiting senders and receivers are served first in, first out; a receive from a full
 *   buffer moves the first parked sender's value into the buffer;
 * - elem_size 0; large elements are copied whole; goro_chan_new overflow gives NULL;
 *   len and cap (of NULL: 0);
 * - releasing a handle while another goroutine or thread is blocked on it is safe;
 * - timeouts near INT64_MAX wait (a deadline that wraps around would expire at once).
 *
 * "Parked" cannot be observed through the API, so where order matters each waiter is
 * first seen on its way (a flag it sets just before its call), then given PARK_NS to park
 * before the next starts: a loaded machine that is slow to schedule a thread still passes.
 */
#include "golike.h"

#include <limits.h>

#define PARK_NS (20 * MS)

static const enum runner runners[] = { ON_GOROUTINE, ON_THREAD };

/* ---- closed channels ------------------------------------------------------------------- */

struct big {
    unsigned char b[200];
};

static void closed_rules(void *unused)
{
    for (size_t cap = 0; cap <= 3; cap += 3) {
        goro_chan *c = make_chan(cap);
        for (int64_t i = 0; i < (int64_t)cap - 1; i++)
            send_i64(c, 10 + i);
        CHECK_OK(goro_chan_close(c));

        /* Send on a closed channel, every way. */
        int64_t v = 1;
        CHECK_EQ(goro_chan_send(c, &v), GORO_ECLOSED);
        CHECK_EQ(goro_chan_try_send(c, &v), GORO_ECLOSED);
        CHECK_EQ(goro_chan_send_timeout(c, &v, 0), GORO_ECLOSED);
        CHECK_EQ(goro_chan_send_timeout(c, &v, 10 * MS), GORO_ECLOSED);
        CHECK_EQ(goro_chan_send_timeout(c, &v, -1), GORO_ECLOSED);

        /* Receive drains what was buffered, in order... */
        CHECK_EQ(goro_chan_len(c), cap ? cap - 1 : 0);
        for (int64_t i = 0; i < (int64_t)cap - 1; i++) {
            bool ok = false;
            v = -1;
            CHECK_OK(goro_chan_recv(c, &v, &ok));
            CHECK(ok);
            CHECK_EQ(v, 10 + i);
        }
        /* ...then fails at once, every way, with ok = false and a zero value. */
        for (int way = 0; way < 4; way++) {
            bool ok = true;
            v = 0x5A5A5A5A;
            int64_t t0 = now_ns();
            int st;
            switch (way) {
            case 0: st = goro_chan_recv(c, &v, &ok); break;
            case 1: st = goro_chan_try_recv(c, &v, &ok); break;
            case 2: st = goro_chan_recv_timeout(c, &v, &ok, 0); break;
            default: st = goro_chan_recv_timeout(c, &v, &ok, 5 * SEC); break;
            }
            CHECK_EQ(st, GORO_ECLOSED);
            CHECK(!ok);
            CHECK_EQ(v, 0);
            CHECK_LE(now_ns() - t0, 2 * SEC); /* "returns at once", loosely */
        }
        /* ok and out may be NULL. */
        CHECK_EQ(goro_chan_recv(c, NULL, NULL), GORO_ECLOSED);
        /* Closing twice. */
        CHECK_EQ(goro_chan_close(c), GORO_ECLOSED);
        CHECK_EQ(goro_chan_cap(c), cap);
        CHECK_EQ(goro_chan_len(c), 0);
        goro_chan_release(c);
    }

    /* Zero-filled means every byte, for a large element too. */
    goro_chan *c = make_chan_sized(sizeof(struct big), 1);
    CHECK_OK(goro_chan_close(c));
    struct big b;
    memset(&b, 0xEE, sizeof b);
    bool ok = true;
    CHECK_EQ(goro_chan_recv(c, &b, &ok), GORO_ECLOSED);
    CHECK(!ok);
    for (size_t i = 0; i < sizeof b.b; i++)
        CHECK_EQ(b.b[i], 0);
    goro_chan_release(c);
}

/* ---- would block: EAGAIN; timed out: ETIMEDOUT, nothing consumed ---------------------- */

static void nonblocking_and_timeouts(void *unused)
{
    goro_chan *u = make_chan(0);
    goro_chan *b = make_chan(2);
    int64_t v = 3;
    bool ok;

    CHECK_EQ(goro_chan_try_recv(u, &v, &ok), GORO_EAGAIN);
    CHECK_EQ(goro_chan_try_send(u, &v), GORO_EAGAIN);
    /* goro.h: on GORO_EAGAIN, try_recv leaves out and ok untouched. */
    v = 77;
    ok = true;
    CHECK_EQ(goro_chan_try_recv(u, &v, &ok), GORO_EAGAIN);
    CHECK(v == 77 && ok);
    ok = false;
    CHECK_EQ(goro_chan_try_recv(u, &v, &ok), GORO_EAGAIN);
    CHECK(v == 77 && !ok);
    v = 3;
    CHECK_EQ(goro_chan_recv_timeout(u, &v, &ok, 0), GORO_EAGAIN);
    CHECK_EQ(goro_chan_send_timeout(u, &v, 0), GORO_EAGAIN);
    CHECK_EQ(goro_chan_try_recv(b, &v, &ok), GORO_EAGAIN);
    CHECK_EQ(goro_chan_recv_timeout(b, &v, &ok, 0), GORO_EAGAIN);
    send_i64(b, 1);
    send_i64(b, 2);
    CHECK_EQ(goro_chan_try_send(b, &v), GORO_EAGAIN);
    CHECK_EQ(goro_chan_send_timeout(b, &v, 0), GORO_EAGAIN);
    CHECK_EQ(goro_chan_len(b), 2);

    /* Positive timeouts run out no earlier than asked. */
    int64_t t0 = now_ns();
    CHECK_EQ(goro_chan_send_timeout(b, &v, 20 * MS), GORO_ETIMEDOUT);
    CHECK_LE(20 * MS, now_ns() - t0);
    CHECK_EQ(goro_chan_len(b), 2); /* nothing delivered... */
    CHECK_EQ(recv_i64(b), 1);      /* ...and the buffer is intact, in order */
    CHECK_EQ(recv_i64(b), 2);
    CHECK_EQ(goro_chan_try_recv(b, &v, &ok), GORO_EAGAIN);

    t0 = now_ns();
    CHECK_EQ(goro_chan_recv_timeout(b, &v, &ok, 20 * MS), GORO_ETIMEDOUT);
    CHECK_LE(20 * MS, now_ns() - t0);
    /* The timed-out receiver is gone: a value sent now stays in the buffer. */
    send_i64(b, 42);
    CHECK_EQ(goro_chan_len(b), 1);
    CHECK_EQ(recv_i64(b), 42);

    t0 = now_ns();
    CHECK_EQ(goro_chan_send_timeout(u, &v, 20 * MS), GORO_ETIMEDOUT);
    CHECK_LE(20 * MS, now_ns() - t0);
    /* No phantom sender left on the unbuffered channel... */
    CHECK_EQ(goro_chan_try_recv(u, &v, &ok), GORO_EAGAIN);
    t0 = now_ns();
    CHECK_EQ(goro_chan_recv_timeout(u, &v, &ok, 20 * MS), GORO_ETIMEDOUT);
    CHECK_LE(20 * MS, now_ns() - t0);
    /* ...and no phantom receiver. */
    CHECK_EQ(goro_chan_try_send(u, &v), GORO_EAGAIN);

    goro_chan_release(u);
    goro_chan_release(b);
}

/* ---- FIFO order of waiters -------------------------------------------------------------- */

struct fifo_waiter {
    goro_chan *c;
    int64_t idx;
    int64_t got;
    goro_waitgroup *wg;
};

/* Waiters about to block: before giving one PARK_NS to park, main waits until it is on its
   way, so that a thread a loaded machine has not scheduled yet cannot arrive late. */
static atomic_int arriving;

static void arrive_then_settle(int n)
{
    while (atomic_load(&arriving) < n)
        goro_sleep(MS);
    goro_sleep(PARK_NS);
}

static void fifo_receiver(void *arg)
{
    struct fifo_waiter *w = arg;
    atomic_fetch_add(&arriving, 1);
    w->got = recv_i64(w->c);
    CHECK_OK(goro_wg_done(w->wg));
}

static void fifo_sender(void *arg)
{
    struct fifo_waiter *w = arg;
    atomic_fetch_add(&arriving, 1);
    send_i64(w->c, w->idx);
    CHECK_OK(goro_wg_done(w->wg));
}

enum { NWAIT = 6 };

/* Waiters park one after another, alternating goroutines and threads; partners then
   arrive one by one and must meet the waiters in arrival order. */
static void fifo_order(void *unused)
{
    for (size_t cap = 0; cap <= 1; cap++) {
        /* Receivers. */
        goro_chan *c = make_chan(cap);
        struct fifo_waiter w[NWAIT];
        goro_waitgroup *wg = make_wg(NWAIT);
        atomic_store(&arriving, 0);
        for (int i = 0; i < NWAIT; i++) {
            w[i] = (struct fifo_waiter){ c, i, -1, wg };
            spawn_on(runners[i % 2], fifo_receiver, &w[i]);
            arrive_then_settle(i + 1);
        }
        for (int64_t i = 0; i < NWAIT; i++)
            send_i64(c, i);
        CHECK_OK(goro_wg_wait(wg));
        for (int i = 0; i < NWAIT; i++)
            CHECK_MSG(w[i].got == i, "cap %zu: receiver %d (parked %d-th) got %lld", cap, i, i,
                      (long long)w[i].got);
        goro_wg_free(wg);
        join_spawned_threads();

        /* Senders (on a buffered channel, once its buffer is full). */
        if (cap)
            send_i64(c, -7);
        wg = make_wg(NWAIT);
        atomic_store(&arriving, 0);
        for (int i = 0; i < NWAIT; i++) {
            w[i] = (struct fifo_waiter){ c, i, -1, wg };
            spawn_on(runners[(i + 1) % 2], fifo_sender, &w[i]);
            arrive_then_settle(i + 1);
        }
        CHECK_EQ(goro_chan_len(c), cap); /* parked senders are not in the buffer */
        if (cap)
            CHECK_EQ(recv_i64(c), -7);
        for (int64_t i = 0; i < NWAIT; i++)
            CHECK_MSG(recv_i64(c) == i, "cap %zu: senders not served in order", cap);
        CHECK_OK(goro_wg_wait(wg));
        goro_wg_free(wg);
        join_spawned_threads();
        goro_chan_release(c);
    }
}

/* ---- a receive from a full buffer moves the first parked sender's value in ---------------- */

static void select_sender(void *arg)
{
    struct fifo_waiter *w = arg;
    int64_t v = w->idx;
    atomic_fetch_add(&arriving, 1);
    goro_case cs[2] = { { NULL, GORO_RECV, NULL, false }, { w->c, GORO_SEND, &v, false } };
    CHECK_EQ(goro_select(cs, 2, -1), 1);
    CHECK(cs[1].ok);
    CHECK_OK(goro_wg_done(w->wg));
}

static void buffered_handoff(void *unused)
{
    goro_chan *c = make_chan(2);
    send_i64(c, 1);
    send_i64(c, 2);
    struct fifo_waiter w[2];
    goro_waitgroup *wg = make_wg(2);
    atomic_store(&arriving, 0);
    for (int i = 0; i < 2; i++) {
        w[i] = (struct fifo_waiter){ c, 3 + i, -1, wg };
        spawn_on(runners[i], fifo_sender, &w[i]);
        arrive_then_settle(i + 1);
    }
    CHECK_EQ(goro_chan_len(c), 2);
    CHECK_EQ(recv_i64(c), 1); /* the oldest buffered value */
    /* The first parked sender's 3 is in the buffer by the time the receive returns; the
       second sender still waits. */
    CHECK_EQ(goro_chan_len(c), 2);
    CHECK_EQ(recv_i64(c), 2);
    CHECK_EQ(recv_i64(c), 3);
    CHECK_EQ(recv_i64(c), 4);
    CHECK_EQ(goro_chan_len(c), 0);
    CHECK_OK(goro_wg_wait(wg));
    goro_wg_free(wg);
    join_spawned_threads();

    /* The same with a select's send case parked first. */
    send_i64(c, 1);
    send_i64(c, 2);
    wg = make_wg(2);
    w[0] = (struct fifo_waiter){ c, 3, -1, wg };
    w[1] = (struct fifo_waiter){ c, 4, -1, wg };
    atomic_store(&arriving, 0);
    go(select_sender, &w[0]);
    arrive_then_settle(1);
    go(fifo_sender, &w[1]);
    arrive_then_settle(2);
    CHECK_EQ(recv_i64(c), 1);
    CHECK_EQ(goro_chan_len(c), 2);
    for (int64_t v = 2; v <= 4; v++)
        CHECK_EQ(recv_i64(c), v);
    CHECK_OK(goro_wg_wait(wg));
    goro_wg_free(wg);
    goro_chan_release(c);
}

/* ---- elem_size 0 ---------------------------------------------------------------------- */

static void zero_sender(void *arg)
{
    for (int i = 0; i < 100; i++)
        CHECK_OK(goro_chan_send(arg, NULL));
    CHECK_OK(goro_chan_close(arg));
}

static void zero_size(void *unused)
{
    for (size_t cap = 0; cap <= 5; cap += 5) {
        for (size_t r = 0; r < 2; r++) {
            goro_chan *c = make_chan_sized(0, cap);
            spawn_on(runners[r], zero_sender, c);
            int n = 0;
            bool ok;
            int st;
            while ((st = goro_chan_recv(c, NULL, &ok)) == GORO_OK) {
                CHECK(ok);
                n++;
            }
            CHECK_EQ(st, GORO_ECLOSED);
            CHECK(!ok);
            CHECK_EQ(n, 100);
            CHECK_LE(goro_chan_len(c), cap);
            join_spawned_threads();
            goro_chan_release(c);
        }
    }
    /* try_*, timeouts and select with NULL elems. */
    goro_chan *c = make_chan_sized(0, 1);
    CHECK_OK(goro_chan_try_send(c, NULL));
    CHECK_EQ(goro_chan_try_send(c, NULL), GORO_EAGAIN);
    CHECK_EQ(goro_chan_send_timeout(c, NULL, MS), GORO_ETIMEDOUT);
    goro_case rc = { c, GORO_RECV, NULL, false };
    CHECK_EQ(goro_select(&rc, 1, 0), 0);
    CHECK(rc.ok);
    CHECK_EQ(goro_chan_try_recv(c, NULL, NULL), GORO_EAGAIN);
    goro_case sc = { c, GORO_SEND, NULL, false };
    CHECK_EQ(goro_select(&sc, 1, 0), 0);
    CHECK(sc.ok);
    CHECK_OK(goro_chan_recv_timeout(c, NULL, NULL, MS));
    goro_chan_release(c);
}

/* ---- large elements are copied whole ------------------------------------------------------ */

struct blob {
    uint32_t w[250]; /* 1000 bytes */
};

static void fill_blob(struct blob *b, uint32_t seed)
{
    for (size_t i = 0; i < 250; i++)
        b->w[i] = seed * 2654435761u + (uint32_t)i;
}

static void blob_sender(void *arg)
{
    for (uint32_t k = 0; k < 50; k++) {
        struct blob b;
        fill_blob(&b, k);
        CHECK_OK(goro_chan_send(arg, &b));
    }
}

static void large_elements(void *unused)
{
    for (size_t cap = 0; cap <= 7; cap += 7) {
        for (size_t r = 0; r < 2; r++) {
            goro_chan *c = make_chan_sized(sizeof(struct blob), cap);
            spawn_on(runners[r], blob_sender, c);
            for (uint32_t k = 0; k < 50; k++) {
                struct blob got, want;
                fill_blob(&want, k);
                CHECK_OK(goro_chan_recv(c, &got, NULL));
                CHECK(memcmp(&got, &want, sizeof got) == 0);
            }
            join_spawned_threads();
            goro_chan_release(c);
        }
    }
}

/* ---- goro_chan_new bounds, len and cap ------------------------------------------------------ */

static void new_len_cap(void *unused)
{
    /* elem_size * cap overflows */
    CHECK(goro_chan_new(SIZE_MAX, 2) == NULL);
    CHECK(goro_chan_new(2, SIZE_MAX) == NULL);
    CHECK(goro_chan_new(SIZE_MAX / 2 + 1, 2) == NULL);
    CHECK(goro_chan_new((size_t)1 << 33, (size_t)1 << 33) == NULL);
    /* no overflow, but no machine has 2^52 bytes to give: NULL, not an abort */
    CHECK(goro_chan_new((size_t)1 << 22, (size_t)1 << 30) == NULL);
    /* zero-size elements need no buffer at all, whatever the capacity (as Go's make) */
    goro_chan *z = goro_chan_new(0, (size_t)1 << 40);
    CHECK(z != NULL);
    CHECK_EQ(goro_chan_cap(z), (size_t)1 << 40);
    goro_chan_release(z);

    CHECK_EQ(goro_chan_len(NULL), 0);
    CHECK_EQ(goro_chan_cap(NULL), 0);

    goro_chan *c = make_chan(5);
    CHECK_EQ(goro_chan_cap(c), 5);
    for (size_t i = 0; i < 5; i++) {
        CHECK_EQ(goro_chan_len(c), i);
        send_i64(c, (int64_t)i);
    }
    CHECK_EQ(goro_chan_len(c), 5);
    CHECK(goro_chan_retain(c) == c);
    goro_chan_release(c); /* the retained reference */
    CHECK_EQ(goro_chan_len(c), 5);
    goro_chan_release(c);
}

/* ---- releasing while another goroutine or thread is blocked -------------------------------- */

struct blocked {
    goro_chan *c;
    int expect;
    atomic_int returned;
    atomic_int started; /* set just before the blocking call (see arrive_then_settle) */
};

/* Waits for the waiter to be on its way, then gives it PARK_NS to park. */
static void started_then_settle(struct blocked *b)
{
    while (!atomic_load(&b->started))
        goro_sleep(MS);
    goro_sleep(PARK_NS);
}

static void blocked_recv_timeout(void *arg)
{
    struct blocked *b = arg;
    atomic_store(&b->started, 1);
    int64_t v;
    CHECK_EQ(goro_chan_recv_timeout(b->c, &v, NULL, 100 * MS), b->expect);
    atomic_store(&b->returned, 1);
}

static void blocked_recv(void *arg)
{
    struct blocked *b = arg;
    atomic_store(&b->started, 1);
    int64_t v = 1;
    bool ok = true;
    CHECK_EQ(goro_chan_recv(b->c, &v, &ok), b->expect);
    CHECK(!ok && v == 0);
    atomic_store(&b->returned, 1);
}

static void blocked_send(void *arg)
{
    struct blocked *b = arg;
    atomic_store(&b->started, 1);
    int64_t v = 1;
    CHECK_EQ(goro_chan_send(b->c, &v), b->expect);
    atomic_store(&b->returned, 1);
}

static void blocked_select(void *arg)
{
    struct blocked *b = arg;
    atomic_store(&b->started, 1);
    int64_t v = 1;
    goro_case cs[2] = { { b->c, GORO_RECV, &v, false }, { NULL, GORO_SEND, &v, false } };
    CHECK_EQ(goro_select(cs, 2, 100 * MS), b->expect);
    atomic_store(&b->returned, 1);
}

static void wait_returned(struct blocked *b)
{
    int64_t deadline = now_ns() + 10 * SEC;
    while (!atomic_load(&b->returned)) {
        CHECK_MSG(now_ns() < deadline, "blocked waiter never returned");
        goro_sleep(MS);
    }
}

static void release_while_blocked(void *unused)
{
    for (size_t r = 0; r < 2; r++) {
        /* The waiter borrows the only reference; it goes while the waiter waits. */
        struct blocked b = { make_chan(0), GORO_ETIMEDOUT, 0 };
        spawn_on(runners[r], blocked_recv_timeout, &b);
        started_then_settle(&b);
        goro_chan_release(b.c);
        wait_returned(&b);

        struct blocked s = { make_chan(0), GORO_ETIMEDOUT, 0 };
        spawn_on(runners[r], blocked_select, &s);
        started_then_settle(&s);
        goro_chan_release(s.c);
        wait_returned(&s);

        /* Close, then drop the last reference at once: the waiter still wakes, closed. */
        struct blocked rc = { make_chan(0), GORO_ECLOSED, 0 };
        spawn_on(runners[r], blocked_recv, &rc);
        started_then_settle(&rc);
        CHECK_OK(goro_chan_close(rc.c));
        goro_chan_release(rc.c);
        wait_returned(&rc);

        struct blocked sc = { make_chan(1), GORO_ECLOSED, 0 };
        send_i64(sc.c, 0); /* full: the sender blocks */
        spawn_on(runners[r], blocked_send, &sc);
        started_then_settle(&sc);
        CHECK_OK(goro_chan_close(sc.c));
        goro_chan_release(sc.c);
        wait_returned(&sc);

        join_spawned_threads();
    }
}

/* ---- huge timeouts: a deadline of now + INT64_MAX must not wrap into the past ------------------ */

static void late_send(void *arg)
{
    goro_sleep(20 * MS);
    send_i64(arg, 99);
}

struct huge_wait {
    goro_chan *c;
    int way;
    atomic_int returned;
    int status;
};

static void huge_waiter(void *arg)
{
    struct huge_wait *h = arg;
    int64_t v = 5;
    bool ok;
    if (h->way == 0) {
        h->status = goro_chan_recv_timeout(h->c, &v, &ok, INT64_MAX);
    } else if (h->way == 1) {
        goro_case rc = { h->c, GORO_RECV, &v, false };
        h->status = goro_select(&rc, 1, INT64_MAX);
    } else {
        h->status = goro_chan_send_timeout(h->c, &v, INT64_MAX - 1);
    }
    atomic_store(&h->returned, 1);
}

static void huge_timeouts(void *unused)
{
    goro_chan *c = make_chan(0);
    go(late_send, c);
    int64_t v = 0;
    bool ok = false;
    CHECK_OK(goro_chan_recv_timeout(c, &v, &ok, INT64_MAX));
    CHECK(ok && v == 99);
    goro_chan_release(c);

    for (int way = 0; way < 3; way++) {
        for (size_t r = 0; r < 2; r++) {
            struct huge_wait h = { make_chan(0), way, 0, 12345 };
            spawn_on(runners[r], huge_waiter, &h);
            goro_sleep(50 * MS);
            CHECK_MSG(!atomic_load(&h.returned), "a wait with timeout ~INT64_MAX returned (%s)",
                      status_name(h.status));
            CHECK_OK(goro_chan_close(h.c));
            int64_t deadline = now_ns() + 10 * SEC;
            while (!atomic_load(&h.returned)) {
                CHECK(now_ns() < deadline);
                goro_sleep(MS);
            }
            if (way == 1)
                CHECK_EQ(h.status, 0); /* the case, completed by the close */
            else
                CHECK_EQ(h.status, GORO_ECLOSED);
            join_spawned_threads();
            goro_chan_release(h.c);
        }
    }
}

int main(void)
{
    STEP_THREAD(closed_rules);
    STEP_GO(closed_rules);
    STEP_THREAD(nonblocking_and_timeouts);
    STEP_GO(nonblocking_and_timeouts);
    STEP_GO(fifo_order);
    STEP_THREAD(fifo_order);
    STEP_GO(buffered_handoff);
    STEP_THREAD(buffered_handoff);
    STEP_GO(zero_size);
    STEP_THREAD(zero_size);
    STEP_GO(large_elements);
    STEP_THREAD(new_len_cap);
    STEP_GO(release_while_blocked);
    STEP_THREAD(release_while_blocked);
    STEP_GO(huge_timeouts);
    STEP_THREAD(huge_timeouts);
    return 0;
}
