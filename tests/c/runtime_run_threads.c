/* goro_run may be called any number of times, from any threads at once (CONTRACT.md):
 *
 * - 4 pthreads call goro_run at the same moment; each root starts goroutines that talk
 *   over that root's own channels, and every sum comes out right; each goro_run returns
 *   only after its own root returned;
 * - goro_run called many times in a row from the main thread;
 * - roots blocking on each other's channels across goro_run calls (one runtime, shared);
 * - goro_run called from inside a goroutine parks that goroutine (goro.h), even with
 *   GOMAXPROCS 1, where blocking its thread would deadlock.
 */
#include "golike.h"

enum { NTHREADS = 4, WORKERS = 20 };

struct root_args {
    int id;
    long items;
    int64_t sum;
    atomic_int root_returned;
};

struct worker_args {
    goro_chan *in, *out;
    goro_waitgroup *wg;
};

static void square_worker(void *arg)
{
    struct worker_args *w = arg;
    for (;;) {
        bool ok;
        int64_t v = recv_i64_ok(w->in, &ok);
        if (!ok)
            break;
        send_i64(w->out, v * v);
    }
    CHECK_OK(goro_wg_done(w->wg));
}

static void root(void *arg)
{
    struct root_args *r = arg;
    CHECK(goro_id() != 0);
    goro_chan *in = make_chan(4), *out = make_chan(4);
    struct worker_args w = { in, out, make_wg(WORKERS) };
    for (int i = 0; i < WORKERS; i++)
        go(square_worker, &w);
    int64_t sum = 0;
    long sent = 0, got = 0;
    while (got < r->items) {
        int64_t v = sent + 1, sq = 0;
        goro_case cs[2] = {
            { sent < r->items ? in : NULL, GORO_SEND, &v, false },
            { out, GORO_RECV, &sq, false },
        };
        int k = goro_select(cs, 2, -1);
        if (k == 0) {
            sent++;
        } else {
            CHECK_EQ(k, 1);
            sum += sq;
            got++;
        }
    }
    CHECK_OK(goro_chan_close(in));
    CHECK_OK(goro_wg_wait(w.wg)); /* w lives on this stack */
    goro_wg_free(w.wg);
    goro_chan_release(in);
    goro_chan_release(out);
    r->sum = sum;
    atomic_store(&r->root_returned, 1);
}

static pthread_barrier_t start_line;

static void thread_main(void *arg)
{
    struct root_args *r = arg;
    pthread_barrier_wait(&start_line);
    CHECK_OK(goro_run(root, r));
    CHECK_MSG(atomic_load(&r->root_returned), "goro_run returned before its root did");
    CHECK_EQ(goro_id(), 0);
}

static int64_t sum_of_squares(long n)
{
    return (int64_t)n * (n + 1) * (2 * n + 1) / 6;
}

static void four_at_once(void *unused)
{
    struct root_args r[NTHREADS];
    pthread_t t[NTHREADS];
    CHECK_EQ(pthread_barrier_init(&start_line, NULL, NTHREADS), 0);
    for (int i = 0; i < NTHREADS; i++) {
        r[i] = (struct root_args){ i, scaled(5000, 100) + i, 0, 0 };
        t[i] = thread_go(thread_main, &r[i]);
    }
    for (int i = 0; i < NTHREADS; i++)
        thread_join(t[i]);
    pthread_barrier_destroy(&start_line);
    for (int i = 0; i < NTHREADS; i++) {
        printf("root %d: %ld items, sum of squares %lld\n", i, r[i].items, (long long)r[i].sum);
        CHECK_EQ(r[i].sum, sum_of_squares(r[i].items));
    }
}

static void many_in_a_row(void *unused)
{
    long n = scaled(300, 20);
    for (long i = 0; i < n; i++) {
        struct root_args r = { 0, 10, 0, 0 };
        CHECK_OK(goro_run(root, &r));
        CHECK_EQ(r.sum, sum_of_squares(10));
    }
}

/* Two roots started from two threads meet over one unbuffered channel. */
static goro_chan *meeting;

static void root_sender(void *unused)
{
    for (int64_t i = 0; i < 1000; i++)
        send_i64(meeting, i);
}

static void root_receiver(void *unused)
{
    for (int64_t i = 0; i < 1000; i++)
        CHECK_EQ(recv_i64(meeting), i);
}

static void run_root(void *fn)
{
    CHECK_OK(goro_run((goro_fn)fn, NULL));
}

static void roots_meet(void *unused)
{
    meeting = make_chan(0);
    pthread_t a = thread_go(run_root, (void *)root_sender);
    pthread_t b = thread_go(run_root, (void *)root_receiver);
    thread_join(a);
    thread_join(b);
    goro_chan_release(meeting);
}

static void inner_root(void *arg)
{
    struct root_args *r = arg;
    root(r);
}

static void outer_root(void *unused)
{
    int old = goro_maxprocs(1);
    for (int i = 0; i < 20; i++) {
        struct root_args r = { 0, 50, 0, 0 };
        CHECK_OK(goro_run(inner_root, &r));
        CHECK(atomic_load(&r.root_returned));
        CHECK_EQ(r.sum, sum_of_squares(50));
    }
    goro_maxprocs(old);
}

int main(void)
{
    STEP_THREAD(four_at_once);
    STEP_THREAD(many_in_a_row);
    STEP_THREAD(roots_meet);
    STEP_THREAD(four_at_once);
    STEP_GO(outer_root);
    return 0;
}
