/* Go's runtime channel tests: blocking, non-blocking, closing, FIFO order, len/cap for
 * many capacities; the non-blocking races; self-select; select stress, fairness and
 * pseudo-randomness; many consumers; a goroutine queued twice on one channel; and (goro's
 * own, Go has no select timeout) selects with timeouts.
 *
 * Port of Go's src/runtime/chan_test.go to goro's C API, rewritten by hand.
 * Original: Copyright 2009 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * Not ported, as they test Go's garbage collector and movable stacks, which goro does not
 * have: TestShrinkStackDuringBlockedSend, TestNoShrinkStackWhileParking,
 * TestSelectStackAdjust. Benchmarks live in benches/, not here.
 *
 * Counts follow Go's non-short sizes where they fit the suite's time budget, and scale
 * down with GORO_TEST_SCALE.
 */
#include "golike.h"

#include <math.h>

/* https://github.com/golang/go/blob/master/src/runtime/chan_test.go */

/* ---- TestChan -------------------------------------------------------------------------- */

struct flag_recv {
    goro_chan *c;
    atomic_int *flag;
    bool with_ok;
};

static void recv_then_flag(void *arg)
{
    struct flag_recv *a = arg;
    bool ok;
    if (a->with_ok)
        recv_i64_ok(a->c, &ok); /* _, _ = <-c */
    else
        CHECK_OK(goro_chan_recv(a->c, NULL, NULL)); /* _ = <-c */
    atomic_store(a->flag, 1);
    free(a);
}

struct flag_send {
    goro_chan *c;
    atomic_int *flag;
};

static void send_then_flag(void *arg)
{
    struct flag_send *a = arg;
    send_i64(a->c, 0);
    atomic_store(a->flag, 1);
    free(a);
}

struct close_check {
    goro_chan *c, *done;
};

static void recv_expect_closed(void *arg)
{
    struct close_check *a = arg;
    bool ok = true;
    int64_t v = recv_i64_ok(a->c, &ok);
    bool good = (v == 0 && !ok);
    CHECK_OK(goro_chan_send(a->done, &good));
    free(a);
}

struct send_n {
    goro_chan *c;
    int64_t n;
};

static void send_0_to_n(void *arg)
{
    struct send_n *a = arg;
    for (int64_t i = 0; i < a->n; i++)
        send_i64(a->c, i);
    free(a);
}

enum { P = 4, L = 1000 };

struct counting_recv {
    goro_chan *c, *done;
    atomic_int *recv; /* L counters */
};

static void recv_l_and_count(void *arg)
{
    struct counting_recv *a = arg;
    for (int i = 0; i < L; i++) {
        int64_t v = recv_i64(a->c);
        CHECK(v >= 0 && v < L);
        atomic_fetch_add(&a->recv[v], 1);
    }
    bool t = true;
    CHECK_OK(goro_chan_send(a->done, &t));
    free(a);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    CHECK(p != NULL);
    return p;
}

static void test_chan_cap(size_t chan_cap)
{
    {
        /* Ensure that receive from empty chan blocks. */
        goro_chan *c = make_chan(chan_cap);
        atomic_int recv1 = 0, recv2 = 0;
        struct flag_recv *a1 = xmalloc(sizeof *a1), *a2 = xmalloc(sizeof *a2);
        *a1 = (struct flag_recv){ c, &recv1, false };
        *a2 = (struct flag_recv){ c, &recv2, true };
        go(recv_then_flag, a1);
        go(recv_then_flag, a2);
        goro_sleep(MS);
        CHECK_MSG(!atomic_load(&recv1) && !atomic_load(&recv2),
                  "chan[%zu]: receive from empty chan", chan_cap);
        /* Ensure that non-blocking receive does not block. */
        goro_case rc = { c, GORO_RECV, NULL, false }; /* _ = <-c */
        CHECK_EQ(goro_select(&rc, 1, 0), GORO_EAGAIN);
        int64_t v;
        goro_case rc2 = { c, GORO_RECV, &v, false }; /* _, _ = <-c */
        CHECK_EQ(goro_select(&rc2, 1, 0), GORO_EAGAIN);
        send_i64(c, 0);
        send_i64(c, 0);
        /* recv1 and recv2 live on this stack: wait for both receivers to be done. */
        while (!atomic_load(&recv1) || !atomic_load(&recv2))
            goro_yield();
        goro_chan_release(c);
    }
    {
        /* Ensure that send to full chan blocks. */
        goro_chan *c = make_chan(chan_cap);
        for (size_t i = 0; i < chan_cap; i++)
            send_i64(c, (int64_t)i);
        atomic_int sent = 0;
        struct flag_send *a = xmalloc(sizeof *a);
        *a = (struct flag_send){ c, &sent };
        go(send_then_flag, a);
        goro_sleep(MS);
        CHECK_MSG(atomic_load(&sent) == 0, "chan[%zu]: send to full chan", chan_cap);
        /* Ensure that non-blocking send does not block. */
        int64_t zero = 0;
        goro_case sc = { c, GORO_SEND, &zero, false };
        CHECK_EQ(goro_select(&sc, 1, 0), GORO_EAGAIN);
        recv_i64(c);
        while (!atomic_load(&sent))
            goro_yield();
        goro_chan_release(c);
    }
    {
        /* Ensure that we receive 0 from closed chan. */
        goro_chan *c = make_chan(chan_cap);
        for (size_t i = 0; i < chan_cap; i++)
            send_i64(c, (int64_t)i);
        CHECK_OK(goro_chan_close(c));
        for (size_t i = 0; i < chan_cap; i++)
            CHECK_EQ(recv_i64(c), (int64_t)i);
        int64_t v = 99;
        CHECK_EQ(goro_chan_recv(c, &v, NULL), GORO_ECLOSED);
        CHECK_EQ(v, 0);
        bool ok = true;
        v = recv_i64_ok(c, &ok);
        CHECK_MSG(v == 0 && !ok, "chan[%zu]: received %lld/%d, expected 0/false", chan_cap,
                  (long long)v, ok);
        goro_chan_release(c);
    }
    {
        /* Ensure that close unblocks receive. */
        goro_chan *c = make_chan(chan_cap);
        goro_chan *done = make_chan_sized(sizeof(bool), 0);
        struct close_check *a = xmalloc(sizeof *a);
        *a = (struct close_check){ c, done };
        go(recv_expect_closed, a);
        goro_sleep(MS);
        CHECK_OK(goro_chan_close(c));
        bool good = false;
        CHECK_OK(goro_chan_recv(done, &good, NULL));
        CHECK_MSG(good, "chan[%zu]: received non zero from closed chan", chan_cap);
        goro_chan_release(c);
        goro_chan_release(done);
    }
    {
        /* Send 100 integers, ensure that we receive them non-corrupted in FIFO order. */
        goro_chan *c = make_chan(chan_cap);
        struct send_n *a = xmalloc(sizeof *a);
        *a = (struct send_n){ c, 100 };
        go(send_0_to_n, a);
        for (int64_t i = 0; i < 100; i++)
            CHECK_EQ(recv_i64(c), i);

        /* Same, but using recv2. */
        a = xmalloc(sizeof *a);
        *a = (struct send_n){ c, 100 };
        go(send_0_to_n, a);
        for (int64_t i = 0; i < 100; i++) {
            bool ok = false;
            int64_t v = recv_i64_ok(c, &ok);
            CHECK_MSG(ok, "chan[%zu]: receive failed, expected %lld", chan_cap, (long long)i);
            CHECK_EQ(v, i);
        }

        /* Send 1000 integers in 4 goroutines, ensure that we receive what we send. */
        for (int p = 0; p < P; p++) {
            a = xmalloc(sizeof *a);
            *a = (struct send_n){ c, L };
            go(send_0_to_n, a);
        }
        goro_chan *done = make_chan_sized(sizeof(bool), 0);
        atomic_int *recv = calloc(L, sizeof *recv);
        CHECK(recv != NULL);
        for (int p = 0; p < P; p++) {
            struct counting_recv *r = xmalloc(sizeof *r);
            *r = (struct counting_recv){ c, done, recv };
            go(recv_l_and_count, r);
        }
        for (int p = 0; p < P; p++) {
            bool t;
            CHECK_OK(goro_chan_recv(done, &t, NULL));
        }
        for (int k = 0; k < L; k++)
            CHECK_MSG(atomic_load(&recv[k]) == P, "chan[%zu]: value %d received %d times",
                      chan_cap, k, atomic_load(&recv[k]));
        free(recv);
        goro_chan_release(done);
        goro_chan_release(c);
    }
    {
        /* Test len/cap. */
        goro_chan *c = make_chan(chan_cap);
        CHECK_EQ(goro_chan_len(c), 0);
        CHECK_EQ(goro_chan_cap(c), chan_cap);
        for (size_t i = 0; i < chan_cap; i++)
            send_i64(c, (int64_t)i);
        CHECK_EQ(goro_chan_len(c), chan_cap);
        CHECK_EQ(goro_chan_cap(c), chan_cap);
        goro_chan_release(c);
    }
}

static void TestChan(void *unused)
{
    int old = goro_maxprocs(4);
    long n = scaled(200, 20);
    for (long chan_cap = 0; chan_cap < n; chan_cap++)
        test_chan_cap((size_t)chan_cap);
    goro_maxprocs(old);
}

/* The main side of TestChan from a plain OS thread, for a few capacities. */
static void TestChanFromThread(void *unused)
{
    static const size_t caps[] = { 0, 1, 2, 7, 100 };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        test_chan_cap(caps[i]);
}

/* ---- TestNonblockRecvRace ---------------------------------------------------------------- */

static atomic_int nonblock_failed;

static void nonblock_recv(void *arg)
{
    goro_case rc = { arg, GORO_RECV, NULL, false };
    if (goro_select(&rc, 1, 0) != 0)
        atomic_store(&nonblock_failed, 1); /* chan is not ready */
}

static void TestNonblockRecvRace(void *unused)
{
    long n = scaled(10000, 100);
    goro_chan **cs = calloc((size_t)n, sizeof *cs);
    CHECK(cs != NULL);
    for (long i = 0; i < n && !atomic_load(&nonblock_failed); i++) {
        goro_chan *c = make_chan(1);
        cs[i] = c;
        send_i64(c, 1);
        go(nonblock_recv, c);
        CHECK_OK(goro_chan_close(c));
        bool ok;
        recv_i64_ok(c, &ok);
    }
    CHECK_MSG(!atomic_load(&nonblock_failed), "chan is not ready");
    /* The goroutines hold no reference of their own: keep the channels until they ran. */
    goro_sleep(20 * MS);
    for (long i = 0; i < n; i++)
        goro_chan_release(cs[i]);
    free(cs);
}

/* ---- TestNonblockSelectRace, TestNonblockSelectRace2 --------------------------------------
   A select acts on the state of the channels at one moment, not over a smeared window:
   from the time the goroutine starts, at least one of c1 and c2 is always ready, so its
   non-blocking select must never take the default. */

struct race_args {
    goro_chan *c1, *c2, *done;
};

static void nonblock_select2(void *arg)
{
    struct race_args *a = arg;
    goro_case cs[2] = { { a->c1, GORO_RECV, NULL, false }, { a->c2, GORO_RECV, NULL, false } };
    bool ready = goro_select(cs, 2, 0) >= 0;
    CHECK_OK(goro_chan_send(a->done, &ready));
}

static void nonblock_select_race(bool close_c2)
{
    long n = scaled(100000, 1000);
    goro_chan *done = make_chan_sized(sizeof(bool), 1);
    for (long i = 0; i < n; i++) {
        struct race_args a = { make_chan(1), make_chan(close_c2 ? 0 : 1), done };
        send_i64(a.c1, 1);
        go(nonblock_select2, &a);
        if (close_c2)
            CHECK_OK(goro_chan_close(a.c2));
        else
            send_i64(a.c2, 1);
        goro_case rc = { a.c1, GORO_RECV, NULL, false };
        goro_select(&rc, 1, 0);
        bool ready = false;
        CHECK_OK(goro_chan_recv(done, &ready, NULL));
        CHECK_MSG(ready, "no chan is ready (iteration %ld)", i);
        goro_chan_release(a.c1);
        goro_chan_release(a.c2);
    }
    goro_chan_release(done);
}

static void TestNonblockSelectRace(void *unused)
{
    nonblock_select_race(false);
}

static void TestNonblockSelectRace2(void *unused)
{
    nonblock_select_race(true); /* close(c2) replaces c2 <- 1 */
}

/* ---- TestSelfSelect: send and receive on the same channel in one select neither crash nor
   deadlock, and an unbuffered select never receives its own value. */

struct self_args {
    goro_chan *c;
    goro_waitgroup *wg;
    int64_t p;
    size_t chan_cap;
};

static void self_select(void *arg)
{
    struct self_args *a = arg;
    for (int i = 0; i < 1000; i++) {
        int64_t v = -1, p = a->p;
        goro_case send = { a->c, GORO_SEND, &p, false };
        goro_case recv = { a->c, GORO_RECV, &v, false };
        goro_case cs[2];
        bool send_first = (a->p == 0 || i % 2 == 0);
        cs[0] = send_first ? send : recv;
        cs[1] = send_first ? recv : send;
        int r = goro_select(cs, 2, -1);
        CHECK(r == 0 || r == 1);
        if (cs[r].op == GORO_RECV)
            CHECK_MSG(!(a->chan_cap == 0 && v == a->p), "self receive");
    }
    CHECK_OK(goro_wg_done(a->wg));
}

static void TestSelfSelect(void *unused)
{
    int old = goro_maxprocs(2);
    static const size_t caps[] = { 0, 10 };
    for (size_t k = 0; k < 2; k++) {
        goro_waitgroup *wg = goro_wg_new();
        CHECK(wg != NULL);
        CHECK_OK(goro_wg_add(wg, 2));
        goro_chan *c = make_chan(caps[k]);
        struct self_args a[2] = { { c, wg, 0, caps[k] }, { c, wg, 1, caps[k] } };
        go(self_select, &a[0]);
        go(self_select, &a[1]);
        CHECK_OK(goro_wg_wait(wg));
        goro_wg_free(wg);
        goro_chan_release(c);
    }
    goro_maxprocs(old);
}

/* ---- TestSelectStress ---------------------------------------------------------------------
   4 goroutines send N values on each of 4 channels (two unbuffered, two buffered), 4
   receive N from each, one sends N on each in a single select, one receives N from each
   in a single select, dropping a channel (NULL) once its N are done. It must not
   deadlock. */

static goro_chan *stress_c[4];
static long stress_n;

struct stress_one {
    int k;
    goro_waitgroup *wg;
};

static void stress_sender(void *arg)
{
    struct stress_one *a = arg;
    for (long i = 0; i < stress_n; i++)
        send_i64(stress_c[a->k], 0);
    CHECK_OK(goro_wg_done(a->wg));
}

static void stress_receiver(void *arg)
{
    struct stress_one *a = arg;
    for (long i = 0; i < stress_n; i++)
        recv_i64(stress_c[a->k]);
    CHECK_OK(goro_wg_done(a->wg));
}

static void stress_select_sender(void *arg)
{
    goro_waitgroup *wg = arg;
    long n[4] = { 0 };
    goro_chan *c1[4] = { stress_c[0], stress_c[1], stress_c[2], stress_c[3] };
    static const int order[4] = { 3, 2, 0, 1 }; /* Go lists the cases in this order */
    for (long i = 0; i < 4 * stress_n; i++) {
        int64_t zero = 0;
        goro_case cs[4];
        for (int j = 0; j < 4; j++)
            cs[j] = (goro_case){ c1[order[j]], GORO_SEND, &zero, false };
        int r = goro_select(cs, 4, -1);
        CHECK(r >= 0 && r < 4);
        CHECK(cs[r].ok);
        int k = order[r];
        if (++n[k] == stress_n)
            c1[k] = NULL;
    }
    CHECK_OK(goro_wg_done(wg));
}

static void stress_select_receiver(void *arg)
{
    goro_waitgroup *wg = arg;
    long n[4] = { 0 };
    goro_chan *c1[4] = { stress_c[0], stress_c[1], stress_c[2], stress_c[3] };
    for (long i = 0; i < 4 * stress_n; i++) {
        goro_case cs[4];
        for (int k = 0; k < 4; k++)
            cs[k] = (goro_case){ c1[k], GORO_RECV, NULL, false };
        int r = goro_select(cs, 4, -1);
        CHECK(r >= 0 && r < 4);
        CHECK(cs[r].ok);
        if (++n[r] == stress_n)
            c1[r] = NULL;
    }
    CHECK_OK(goro_wg_done(wg));
}

static void TestSelectStress(void *unused)
{
    int old = goro_maxprocs(10);
    stress_c[0] = make_chan(0);
    stress_c[1] = make_chan(0);
    stress_c[2] = make_chan(2);
    stress_c[3] = make_chan(3);
    stress_n = scaled(100000, 1000); /* as Go (1e4 in -short) */
    goro_waitgroup *wg = goro_wg_new();
    CHECK(wg != NULL);
    CHECK_OK(goro_wg_add(wg, 10));
    struct stress_one a[4];
    for (int k = 0; k < 4; k++) {
        a[k] = (struct stress_one){ k, wg };
        go(stress_sender, &a[k]);
        go(stress_receiver, &a[k]);
    }
    go(stress_select_sender, wg);
    go(stress_select_receiver, wg);
    CHECK_OK(goro_wg_wait(wg));
    goro_wg_free(wg);
    for (int k = 0; k < 4; k++)
        goro_chan_release(stress_c[k]);
    goro_maxprocs(old);
}

/* ---- TestSelectFairness -------------------------------------------------------------------
   Two always-ready channels among four cases: a fair select picks each about half the
   time. Go's bound, kept here: more than 10 standard deviations away fails, which a fair
   choice essentially never does (p < 1e-20) while a biased one (say 60/40) always does. */

struct fair_args {
    goro_chan *c1, *c2, *c3, *c4, *out, *done;
    goro_waitgroup *wg;
};

static void fair_picker(void *arg)
{
    struct fair_args *a = arg;
    for (;;) {
        unsigned char b = 0;
        goro_case cs[4] = {
            { a->c3, GORO_RECV, &b, false },
            { a->c4, GORO_RECV, &b, false },
            { a->c1, GORO_RECV, &b, false },
            { a->c2, GORO_RECV, &b, false },
        };
        CHECK(goro_select(cs, 4, -1) >= 2);
        goro_case out[2] = { { a->out, GORO_SEND, &b, false }, { a->done, GORO_RECV, NULL, false } };
        if (goro_select(out, 2, -1) == 1)
            break;
    }
    CHECK_OK(goro_wg_done(a->wg));
}

static void TestSelectFairness(void *unused)
{
    enum { TRIALS = 10000 };
    struct fair_args a;
    a.c1 = make_chan_sized(1, TRIALS + 1);
    a.c2 = make_chan_sized(1, TRIALS + 1);
    for (int i = 0; i < TRIALS + 1; i++) {
        unsigned char one = 1, two = 2;
        CHECK_OK(goro_chan_send(a.c1, &one));
        CHECK_OK(goro_chan_send(a.c2, &two));
    }
    a.c3 = make_chan_sized(1, 0);
    a.c4 = make_chan_sized(1, 0);
    a.out = make_chan_sized(1, 0);
    a.done = make_chan_sized(1, 0);
    a.wg = goro_wg_new();
    CHECK(a.wg != NULL);
    CHECK_OK(goro_wg_add(a.wg, 1));
    go(fair_picker, &a);
    int cnt1 = 0, cnt2 = 0;
    for (int i = 0; i < TRIALS; i++) {
        unsigned char b = 0;
        CHECK_OK(goro_chan_recv(a.out, &b, NULL));
        if (b == 1)
            cnt1++;
        else if (b == 2)
            cnt2++;
        else
            TEST_FAIL("unexpected value %d on channel", b);
    }
    double mean = TRIALS * 0.5;
    double stddev = sqrt(TRIALS * 0.5 * (1 - 0.5));
    printf("select fairness: %d / %d in %d trials\n", cnt1, cnt2, TRIALS);
    CHECK_MSG(fabs(cnt1 - mean) <= 10 * stddev,
              "unfair select: in %d trials, results were %d, %d", TRIALS, cnt1, cnt2);
    CHECK_OK(goro_chan_close(a.done));
    CHECK_OK(goro_wg_wait(a.wg));
    goro_wg_free(a.wg);
    goro_chan_release(a.c1);
    goro_chan_release(a.c2);
    goro_chan_release(a.c3);
    goro_chan_release(a.c4);
    goro_chan_release(a.out);
    goro_chan_release(a.done);
}

/* ---- TestChanSendInterface: pointer-sized values offered to a full channel, with a
   default; nothing may be sent and nothing may break. */

static void TestChanSendInterface(void *unused)
{
    struct mt {
        char unused_;
    };
    static struct mt m, other;
    void *pm = &m, *pother = &other;
    goro_chan *c = make_chan_sized(sizeof(void *), 1);
    CHECK_OK(goro_chan_send(c, &pm));
    goro_case one = { c, GORO_SEND, &pm, false };
    CHECK_EQ(goro_select(&one, 1, 0), GORO_EAGAIN);
    goro_case two[2] = { { c, GORO_SEND, &pm, false }, { c, GORO_SEND, &pother, false } };
    CHECK_EQ(goro_select(two, 2, 0), GORO_EAGAIN);
    void *got = NULL;
    CHECK_OK(goro_chan_recv(c, &got, NULL));
    CHECK(got == pm);
    CHECK_EQ(goro_chan_len(c), 0);
    goro_chan_release(c);
}

/* ---- TestPseudoRandomSend: two send cases on the same channel, both always ready when a
   receiver comes: over 100 selects each value must be chosen more than 10 times. */

struct pr_args {
    goro_chan *c;
    int *l;
    int n;
    goro_mutex *m;
};

static void pr_receiver(void *arg)
{
    struct pr_args *a = arg;
    for (int i = 0; i < a->n; i++) {
        goro_yield();
        a->l[i] = (int)recv_i64(a->c);
    }
    CHECK_OK(goro_mutex_unlock(a->m));
}

static void TestPseudoRandomSend(void *unused)
{
    enum { N = 100 };
    static const size_t caps[] = { 0, N };
    for (size_t k = 0; k < 2; k++) {
        int l[N];
        struct pr_args a = { make_chan(caps[k]), l, N, goro_mutex_new() };
        CHECK(a.m != NULL);
        CHECK_OK(goro_mutex_lock(a.m));
        go(pr_receiver, &a);
        for (int i = 0; i < N; i++) {
            int64_t one = 1, zero = 0;
            goro_case cs[2] = { { a.c, GORO_SEND, &one, false }, { a.c, GORO_SEND, &zero, false } };
            int r = goro_select(cs, 2, -1);
            CHECK(r == 0 || r == 1);
        }
        CHECK_OK(goro_mutex_lock(a.m)); /* wait; the receiver unlocks a mutex it never locked */
        int n0 = 0, n1 = 0;
        for (int i = 0; i < N; i++) {
            n0 += (l[i] + 1) % 2;
            n1 += l[i];
        }
        CHECK_MSG(n0 > N / 10 && n1 > N / 10,
                  "want pseudorandom, got %d zeros and %d ones (chan cap %zu)", n0, n1, caps[k]);
        CHECK_OK(goro_mutex_unlock(a.m));
        goro_mutex_free(a.m);
        goro_chan_release(a.c);
    }
}

/* ---- TestMultiConsumer: 23 workers range over a queue (some yielding to upset its FIFO
   feel) and forward to results; the sum and count must match what was fed. */

static const int64_t pn[] = { 2, 3, 7, 11, 13, 17, 19, 23, 27, 31 };
enum { NPN = sizeof pn / sizeof pn[0], NWORK = 23 };

struct mc_shared {
    goro_chan *q, *r;
    goro_waitgroup *wg;
    long niter;
    int64_t expect;
};

struct mc_worker {
    struct mc_shared *s;
    int w;
};

static void mc_worker(void *arg)
{
    struct mc_worker *a = arg;
    for (;;) {
        bool ok;
        int64_t v = recv_i64_ok(a->s->q, &ok);
        if (!ok)
            break;
        if (pn[a->w % NPN] == v) /* mess with the fifo-ish nature of range */
            goro_yield();
        send_i64(a->s->r, v);
    }
    CHECK_OK(goro_wg_done(a->s->wg));
}

static void mc_feeder(void *arg)
{
    struct mc_shared *s = arg;
    int64_t expect = 0;
    for (long i = 0; i < s->niter; i++) {
        int64_t v = pn[i % NPN];
        expect += v;
        send_i64(s->q, v);
    }
    s->expect = expect; /* published by closing r, which happens after */
    CHECK_OK(goro_chan_close(s->q)); /* no more work */
    CHECK_OK(goro_wg_wait(s->wg));   /* workers done */
    CHECK_OK(goro_chan_close(s->r)); /* ... so there can be no more results */
}

static void TestMultiConsumer(void *unused)
{
    struct mc_shared s = { make_chan(NWORK * 3), make_chan(NWORK * 3), goro_wg_new(),
                           scaled(271828, 2000), 0 };
    CHECK(s.wg != NULL);
    struct mc_worker w[NWORK];
    for (int i = 0; i < NWORK; i++) {
        CHECK_OK(goro_wg_add(s.wg, 1));
        w[i] = (struct mc_worker){ &s, i };
        go(mc_worker, &w[i]);
    }
    go(mc_feeder, &s);
    long n = 0;
    int64_t sum = 0;
    for (;;) {
        bool ok;
        int64_t v = recv_i64_ok(s.r, &ok);
        if (!ok)
            break;
        n++;
        sum += v;
    }
    CHECK_MSG(n == s.niter && sum == s.expect, "expected sum %lld (got %lld) from %ld iter (saw %ld)",
              (long long)s.expect, (long long)sum, s.niter, n);
    /* The feeder may still be returning from close(r). */
    goro_sleep(10 * MS);
    goro_wg_free(s.wg);
    goro_chan_release(s.q);
    goro_chan_release(s.r);
}

/* ---- TestSelectDuplicateChannel: a goroutine queued twice on one channel (two cases on
   c) must dequeue itself cleanly when woken through a third case, or c's queue is corrupt
   and the next waiter on c is never found. */

static goro_chan *dup_c, *dup_d, *dup_e;

static void dup_a(void *unused)
{
    goro_case cs[3] = {
        { dup_c, GORO_RECV, NULL, false },
        { dup_c, GORO_RECV, NULL, false },
        { dup_d, GORO_RECV, NULL, false },
    };
    CHECK_EQ(goro_select(cs, 3, -1), 2);
    send_i64(dup_e, 9);
}

static void dup_b(void *unused)
{
    CHECK_EQ(recv_i64(dup_c), 8);
}

static void TestSelectDuplicateChannel(void *unused)
{
    dup_c = make_chan(0);
    dup_d = make_chan(0);
    dup_e = make_chan(0);
    go(dup_a, NULL);
    goro_sleep(MS); /* make sure goroutine A gets queued first on c */
    go(dup_b, NULL);
    goro_sleep(MS); /* make sure goroutine B gets queued on c before continuing */
    send_i64(dup_d, 7); /* wake up A, it dequeues itself from c */
    CHECK_EQ(recv_i64(dup_e), 9); /* A tells us it's done */
    send_i64(dup_c, 8); /* wake up B: must find B, not A's stale entries */
    goro_chan_release(dup_c);
    goro_chan_release(dup_d);
    goro_chan_release(dup_e);
}

/* ---- select with timeouts (goro's own: Go spells it with time.After) --------------------- */

static void late_send(void *arg)
{
    goro_sleep(20 * MS);
    send_i64(arg, 5);
}

static void TestSelectTimeout(void *unused)
{
    goro_chan *a = make_chan(0), *b = make_chan(1);
    int64_t va = -1, vb = -1;

    /* Nothing ready: gives up after the timeout, no earlier, and touches no case. */
    goro_case cs[2] = { { a, GORO_RECV, &va, true }, { b, GORO_RECV, &vb, true } };
    int64_t t0 = now_ns();
    CHECK_EQ(goro_select(cs, 2, 30 * MS), GORO_ETIMEDOUT);
    int64_t took = now_ns() - t0;
    CHECK_MSG(took >= 30 * MS, "select timed out after %lld ns, before its 30 ms",
              (long long)took);
    CHECK(va == -1 && vb == -1 && cs[0].ok && cs[1].ok);

    /* A partner arriving before the timeout wins. */
    go(late_send, a);
    cs[0].ok = cs[1].ok = false;
    CHECK_EQ(goro_select(cs, 2, 10 * SEC), 0);
    CHECK(cs[0].ok);
    CHECK_EQ(va, 5);

    /* A timed-out send case left nothing behind: the buffer slot is still free and the
       unbuffered channel has no phantom sender. */
    int64_t seven = 7;
    goro_case sc[1] = { { a, GORO_SEND, &seven, false } };
    CHECK_EQ(goro_select(sc, 1, 10 * MS), GORO_ETIMEDOUT);
    CHECK_EQ(goro_chan_try_recv(a, NULL, NULL), GORO_EAGAIN);
    CHECK_EQ(goro_chan_len(b), 0);

    goro_chan_release(a);
    goro_chan_release(b);
}

int main(void)
{
    STEP_GO(TestChan);
    STEP_THREAD(TestChanFromThread);
    STEP_GO(TestNonblockRecvRace);
    STEP_GO(TestNonblockSelectRace);
    STEP_GO(TestNonblockSelectRace2);
    STEP_GO(TestSelfSelect);
    STEP_GO(TestSelectStress);
    STEP_GO(TestSelectFairness);
    STEP_GO(TestChanSendInterface);
    STEP_GO(TestPseudoRandomSend);
    STEP_GO(TestMultiConsumer);
    STEP_GO(TestSelectDuplicateChannel);
    STEP_GO(TestSelectTimeout);
    STEP_THREAD(TestSelectTimeout);
    return 0;
}
