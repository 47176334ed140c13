/* CONTRACT.md, C, goro_select: each rule checked from goroutines and from plain threads.
 *
 * - a case on a NULL channel is never ready; zero cases with timeout 0 give GORO_EAGAIN,
 *   with a positive timeout GORO_ETIMEDOUT, with a negative one block forever;
 * - a send case on a closed channel completes with ok = false; a receive case on a closed,
 *   drained channel with ok = false and a zero-filled elem;
 * - the chosen case's ok is set, the unchosen cases are left untouched (ok, elem, and no
 *   value sent or taken);
 * - among ready cases the choice is uniform; a waiting select's cases are queued in random
 *   order, so which of two cases on one channel a late partner meets varies too;
 * - a blocked select is completed by a partner arriving later, from a goroutine or thread.
 *
 * Statistical checks use bounds more than 10 standard deviations wide: a fair choice never
 * fails them, a biased or fixed one always does.
 */
#include "golike.h"

static const enum runner runners[] = { ON_GOROUTINE, ON_THREAD };

/* ---- NULL channels and zero cases ----------------------------------------------------------- */

static void null_and_empty(void *unused)
{
    int64_t v = 1;
    goro_case nulls[2] = { { NULL, GORO_RECV, &v, true }, { NULL, GORO_SEND, &v, true } };
    CHECK_EQ(goro_select(nulls, 2, 0), GORO_EAGAIN);
    int64_t t0 = now_ns();
    CHECK_EQ(goro_select(nulls, 2, 20 * MS), GORO_ETIMEDOUT);
    CHECK_LE(20 * MS, now_ns() - t0);
    CHECK(nulls[0].ok && nulls[1].ok && v == 1);

    CHECK_EQ(goro_select(NULL, 0, 0), GORO_EAGAIN);
    goro_case unused_case;
    CHECK_EQ(goro_select(&unused_case, 0, 0), GORO_EAGAIN);
    t0 = now_ns();
    CHECK_EQ(goro_select(NULL, 0, 20 * MS), GORO_ETIMEDOUT);
    CHECK_LE(20 * MS, now_ns() - t0);

    /* A NULL case next to a ready one: the ready one, every time. */
    goro_chan *c = make_chan(1);
    for (int i = 0; i < 100; i++) {
        int64_t in = i, out = -1;
        goro_case cs[3] = {
            { NULL, GORO_SEND, &in, true },
            { c, GORO_SEND, &in, false },
            { NULL, GORO_RECV, &out, true },
        };
        CHECK_EQ(goro_select(cs, 3, -1), 1);
        CHECK(cs[1].ok);
        cs[1] = (goro_case){ c, GORO_RECV, &out, false };
        CHECK_EQ(goro_select(cs, 3, -1), 1);
        CHECK_EQ(out, i);
        CHECK(cs[0].ok && cs[2].ok);
    }
    goro_chan_release(c);
}

static atomic_int forever_returned;

static void select_forever(void *arg)
{
    goro_case *cs = arg; /* NULL, or one case on a NULL channel */
    goro_select(cs, cs ? 1 : 0, -1);
    atomic_store(&forever_returned, 1);
}

/* select {} and a select over only NULL channels block forever: after 100 ms they are
   still blocked; they are abandoned at exit, as in Go. Threads are never joined. */
static void blocks_forever(void *unused)
{
    static int64_t v;
    static goro_case nullcase = { NULL, GORO_RECV, &v, false };
    go(select_forever, NULL);
    go(select_forever, &nullcase);
    pthread_t t1 = thread_go(select_forever, NULL);
    pthread_t t2 = thread_go(select_forever, &nullcase);
    pthread_detach(t1);
    pthread_detach(t2);
    goro_sleep(100 * MS);
    CHECK_MSG(!atomic_load(&forever_returned), "select with no ready case returned");
}

/* ---- closed channels ------------------------------------------------------------------------ */

static void closed_cases(void *unused)
{
    goro_chan *closed = make_chan(0), *idle = make_chan(0);
    CHECK_OK(goro_chan_close(closed));

    int64_t v = 5, w = 77;
    goro_case cs[2] = { { idle, GORO_RECV, &w, true }, { closed, GORO_SEND, &v, true } };
    CHECK_EQ(goro_select(cs, 2, -1), 1);
    CHECK(!cs[1].ok);
    CHECK(cs[0].ok && w == 77); /* untouched */
    cs[1].ok = true;
    CHECK_EQ(goro_select(cs, 2, 0), 1); /* ready for a non-blocking select too */
    CHECK(!cs[1].ok);

    int64_t r = 0x1234;
    goro_case rc[2] = { { idle, GORO_SEND, &v, true }, { closed, GORO_RECV, &r, true } };
    CHECK_EQ(goro_select(rc, 2, -1), 1);
    CHECK(!rc[1].ok);
    CHECK_EQ(r, 0);
    CHECK(rc[0].ok);

    /* A buffered channel drains through select before it reports closed. */
    goro_chan *b = make_chan(2);
    send_i64(b, 8);
    CHECK_OK(goro_chan_close(b));
    goro_case bc = { b, GORO_RECV, &r, false };
    CHECK_EQ(goro_select(&bc, 1, 0), 0);
    CHECK(bc.ok);
    CHECK_EQ(r, 8);
    r = 3;
    CHECK_EQ(goro_select(&bc, 1, 0), 0);
    CHECK(!bc.ok);
    CHECK_EQ(r, 0);

    goro_chan_release(closed);
    goro_chan_release(idle);
    goro_chan_release(b);
}

/* ---- unchosen cases untouched, choice uniform -------------------------------------------------- */

enum { NREADY = 3, TRIALS = 3000 };

static void uniform_untouched(void *unused)
{
    goro_chan *in[NREADY], *out[NREADY];
    for (int k = 0; k < NREADY; k++) {
        in[k] = make_chan(1);
        out[k] = make_chan(1);
    }
    long recv_count[NREADY] = { 0 }, send_count[NREADY] = { 0 };
    for (int t = 0; t < TRIALS; t++) {
        /* Receives: every channel holds one value; one is taken. */
        int64_t buf[NREADY];
        goro_case cs[NREADY];
        for (int k = 0; k < NREADY; k++) {
            if (goro_chan_len(in[k]) == 0)
                send_i64(in[k], 100 + k);
            buf[k] = -1;
            cs[k] = (goro_case){ in[k], GORO_RECV, &buf[k], (t + k) % 2 == 0 };
        }
        bool ok_before[NREADY];
        for (int k = 0; k < NREADY; k++)
            ok_before[k] = cs[k].ok;
        int r = goro_select(cs, NREADY, t % 2 ? -1 : 0);
        CHECK(r >= 0 && r < NREADY);
        CHECK(cs[r].ok);
        CHECK_EQ(buf[r], 100 + r);
        recv_count[r]++;
        for (int k = 0; k < NREADY; k++) {
            if (k == r)
                continue;
            CHECK_MSG(buf[k] == -1 && cs[k].ok == ok_before[k], "unchosen case %d touched", k);
            CHECK_EQ(goro_chan_len(in[k]), 1); /* and its value is still there */
        }

        /* Sends: every channel has room; exactly one gets its value. */
        int64_t val[NREADY];
        for (int k = 0; k < NREADY; k++) {
            val[k] = 200 + k;
            cs[k] = (goro_case){ out[k], GORO_SEND, &val[k], (t + k) % 2 == 1 };
            ok_before[k] = cs[k].ok;
        }
        r = goro_select(cs, NREADY, t % 2 ? 0 : -1);
        CHECK(r >= 0 && r < NREADY);
        CHECK(cs[r].ok);
        send_count[r]++;
        for (int k = 0; k < NREADY; k++) {
            if (k == r) {
                CHECK_EQ(recv_i64(out[k]), 200 + k);
                continue;
            }
            CHECK_MSG(cs[k].ok == ok_before[k], "unchosen send case %d touched", k);
            CHECK_EQ(goro_chan_len(out[k]), 0);
        }
    }
    /* Expected 1000 each, standard deviation about 26: 700..1300 is over 11 deviations. */
    for (int k = 0; k < NREADY; k++) {
        printf("case %d: chosen %ld times to receive, %ld to send, of %d\n", k, recv_count[k],
               send_count[k], TRIALS);
        CHECK(recv_count[k] > 700 && recv_count[k] < 1300);
        CHECK(send_count[k] > 700 && send_count[k] < 1300);
    }
    for (int k = 0; k < NREADY; k++) {
        goro_chan_release(in[k]);
        goro_chan_release(out[k]);
    }
}

/* ---- a waiting select: queued in random order, completed by a late partner ------------------- */

struct waiter {
    goro_chan *c;
    goro_chan *result; /* the index the select returned */
    int op;            /* what the select does on c, in both of its cases */
};

static void select_twice_on_c(void *arg)
{
    struct waiter *w = arg;
    int64_t a = 1, b = 2, ra = -1, rb = -1;
    goro_case cs[2];
    if (w->op == GORO_RECV) {
        cs[0] = (goro_case){ w->c, GORO_RECV, &ra, false };
        cs[1] = (goro_case){ w->c, GORO_RECV, &rb, false };
    } else {
        cs[0] = (goro_case){ w->c, GORO_SEND, &a, false };
        cs[1] = (goro_case){ w->c, GORO_SEND, &b, false };
    }
    int r = goro_select(cs, 2, -1);
    CHECK(r == 0 || r == 1);
    CHECK(cs[r].ok);
    CHECK(!cs[1 - r].ok); /* untouched */
    if (w->op == GORO_RECV)
        CHECK_EQ(r == 0 ? ra : rb, 9);
    send_i64(w->result, r);
}

static void late_partner(void *unused)
{
    enum { N = 200 };
    for (size_t rn = 0; rn < 2; rn++) {
        for (int op = GORO_SEND; op <= GORO_RECV; op++) {
            long count[2] = { 0 };
            goro_chan *c = make_chan(0), *result = make_chan(1);
            struct waiter w = { c, result, op };
            long n = rn == 0 ? N : N / 4; /* threads are slower to start */
            for (long i = 0; i < n; i++) {
                spawn_on(runners[rn], select_twice_on_c, &w);
                goro_sleep(MS); /* usually parked by now; if not, the pick is random anyway */
                if (op == GORO_RECV) {
                    send_i64(c, 9);
                } else {
                    int64_t got = recv_i64(c);
                    CHECK(got == 1 || got == 2);
                }
                int64_t r = recv_i64(result);
                if (op == GORO_SEND)
                    CHECK(r == 0 || r == 1);
                count[r]++;
                join_spawned_threads();
            }
            printf("%s %s select: case 0 met %ld times, case 1 %ld times\n",
                   runner_name(runners[rn]), op == GORO_SEND ? "send" : "recv", count[0],
                   count[1]);
            /* Expected n/2 each; n/10 is far below (8 deviations at n = 50, 11 at 200). */
            CHECK_MSG(count[0] > n / 10 && count[1] > n / 10,
                      "a waiting select's cases are not queued in random order");
            goro_chan_release(c);
            goro_chan_release(result);
        }
    }
}

/* ---- mixed send and receive cases, completed from the other side ------------------------------ */

struct mixed {
    goro_chan *in, *out;
    goro_waitgroup *wg;
};

static void mixed_partner(void *arg)
{
    struct mixed *m = arg;
    /* Takes what the select sends, or gives what it receives, 100 times in all. */
    for (int i = 0; i < 100;) {
        int64_t v = 1000 + i, got = -1;
        goro_case cs[2] = { { m->out, GORO_RECV, &got, false }, { m->in, GORO_SEND, &v, false } };
        int r = goro_select(cs, 2, -1);
        CHECK(r == 0 || r == 1);
        if (r == 0)
            CHECK(got >= 0 && got < 1000);
        i++;
    }
    CHECK_OK(goro_wg_done(m->wg));
}

static void mixed_cases(void *unused)
{
    for (size_t rn = 0; rn < 2; rn++) {
        struct mixed m = { make_chan(0), make_chan(0), make_wg(1) };
        spawn_on(runners[rn], mixed_partner, &m);
        for (int i = 0; i < 100; i++) {
            int64_t v = i, got = -1;
            goro_case cs[2] = { { m.out, GORO_SEND, &v, false }, { m.in, GORO_RECV, &got, false } };
            int r = goro_select(cs, 2, 10 * SEC);
            CHECK(r == 0 || r == 1);
            CHECK(cs[r].ok);
            if (r == 1)
                CHECK(got >= 1000 && got < 1100);
        }
        CHECK_OK(goro_wg_wait(m.wg));
        goro_wg_free(m.wg);
        join_spawned_threads();
        goro_chan_release(m.in);
        goro_chan_release(m.out);
    }
}

/* ---- bad cases ------------------------------------------------------------------------------- */

static void bad_cases(void *unused)
{
    goro_chan *c = make_chan(1);
    int64_t v = 1;
    CHECK_EQ(goro_select(NULL, 1, 0), GORO_EINVAL);
    goro_case bad_op = { c, 0, &v, false };
    CHECK_EQ(goro_select(&bad_op, 1, 0), GORO_EINVAL);
    bad_op.op = GORO_SEND | GORO_RECV;
    CHECK_EQ(goro_select(&bad_op, 1, -1), GORO_EINVAL);
    /* A send case needs a value when the element has a size. */
    goro_case no_value = { c, GORO_SEND, NULL, false };
    CHECK_EQ(goro_select(&no_value, 1, 0), GORO_EINVAL);
    CHECK_EQ(goro_chan_len(c), 0);
    goro_chan_release(c);
}

int main(void)
{
    STEP_GO(null_and_empty);
    STEP_THREAD(null_and_empty);
    STEP_GO(closed_cases);
    STEP_THREAD(closed_cases);
    STEP_GO(uniform_untouched);
    STEP_THREAD(uniform_untouched);
    STEP_GO(late_partner);
    STEP_GO(mixed_cases);
    STEP_THREAD(mixed_cases);
    STEP_GO(bad_cases);
    STEP_GO(blocks_forever); /* last: leaves goroutines and threads blocked */
    return 0;
}
