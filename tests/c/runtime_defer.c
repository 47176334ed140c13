/* goro_defer and goro_exit:
 *
 * - cleanups registered with goro_defer run when the goroutine ends, last registered
 *   first, on that goroutine (same goro_id), whether registered at top level or in nested
 *   calls;
 * - goro_exit ends the goroutine at once, from any call depth, running the cleanups; the
 *   code after it never runs;
 * - a cleanup may itself register a cleanup, which then runs too (Go runs a defer made
 *   inside a deferred call);
 * - the root goroutine of goro_run may goro_exit too: goro_run then returns;
 * - outside a goroutine goro_defer gives GORO_EINVAL (and contract_badinput checks more),
 *   and goro_exit returns doing nothing (goro.h).
 */
#include "golike.h"

#include <limits.h>
#include <malloc.h>

enum { MAXLOG = 2048 };

struct log {
    int entries[MAXLOG];
    int n;
    uint64_t ids[MAXLOG];
    goro_chan *done; /* the last cleanup (registered first) signals here */
};

struct entry {
    struct log *log;
    int value;
};

static void record(void *arg)
{
    struct entry *e = arg;
    CHECK(e->log->n < MAXLOG);
    e->log->ids[e->log->n] = goro_id();
    e->log->entries[e->log->n++] = e->value;
    free(e);
}

static void signal_done(void *arg)
{
    struct log *log = arg;
    send_i64(log->done, log->n);
}

static struct entry *entry_new(struct log *log, int value)
{
    /* Owned by the cleanup it is given to, which frees it. */
    struct entry *e = malloc(sizeof *e);
    CHECK(e != NULL);
    e->log = log;
    e->value = value;
    return e;
}

static void check_log(struct log *log, const int *want, int n, uint64_t id)
{
    CHECK_EQ(log->n, n);
    for (int i = 0; i < n; i++) {
        CHECK_MSG(log->entries[i] == want[i], "cleanup %d ran as %d-th", want[i], i);
        CHECK_MSG(log->ids[i] == id, "cleanup ran on goroutine %llu, not %llu",
                  (unsigned long long)log->ids[i], (unsigned long long)id);
    }
}

/* ---- normal end ---------------------------------------------------------------------------- */

static uint64_t body_id;

static void nested_defer(struct log *log, int depth)
{
    if (depth == 0)
        return;
    CHECK_OK(goro_defer(record, entry_new(log, 100 + depth)));
    nested_defer(log, depth - 1);
}

static void normal_end(void *arg)
{
    struct log *log = arg;
    body_id = goro_id();
    CHECK_OK(goro_defer(signal_done, log));
    for (int i = 1; i <= 3; i++)
        CHECK_OK(goro_defer(record, entry_new(log, i)));
    nested_defer(log, 3); /* 103, 102, 101: not run when nested_defer returns */
    CHECK_EQ(log->n, 0);
}

static void normal_end_test(void *unused)
{
    struct log log = { .n = 0, .done = make_chan(1) };
    go(normal_end, &log);
    CHECK_EQ(recv_i64(log.done), 6);
    static const int want[] = { 101, 102, 103, 3, 2, 1 };
    check_log(&log, want, 6, body_id);
    goro_chan_release(log.done);
}

/* ---- goro_exit ------------------------------------------------------------------------------ */

static atomic_int after_exit_ran;

static void deep_exit(struct log *log, int depth)
{
    if (depth == 0) {
        goro_exit();
        atomic_store(&after_exit_ran, 1); /* goro_exit returned: checked by the caller */
        return;
    }
    CHECK_OK(goro_defer(record, entry_new(log, 10 + depth)));
    deep_exit(log, depth - 1);
    atomic_store(&after_exit_ran, 1); /* never reached: the goroutine ended below */
}

static void exiting(void *arg)
{
    struct log *log = arg;
    body_id = goro_id();
    CHECK_OK(goro_defer(signal_done, log));
    CHECK_OK(goro_defer(record, entry_new(log, 1)));
    deep_exit(log, 4);
    atomic_store(&after_exit_ran, 1);
}

static void goro_exit_test(void *unused)
{
    struct log log = { .n = 0, .done = make_chan(1) };
    go(exiting, &log);
    CHECK_EQ(recv_i64(log.done), 5);
    static const int want[] = { 11, 12, 13, 14, 1 };
    check_log(&log, want, 5, body_id);
    goro_sleep(10 * MS);
    CHECK_MSG(!atomic_load(&after_exit_ran), "code after goro_exit ran");
    goro_chan_release(log.done);
}

/* goro_exit with nothing deferred, and the WaitGroup pattern (defer wg.Done()). */
static void wg_done_cleanup(void *wg)
{
    CHECK_OK(goro_wg_done(wg));
}

static void exit_bare(void *arg)
{
    CHECK_OK(goro_defer(wg_done_cleanup, arg));
    goro_exit();
    atomic_store(&after_exit_ran, 1);
}

static void exit_bare_test(void *unused)
{
    goro_waitgroup *wg = make_wg(100);
    for (int i = 0; i < 100; i++)
        go(exit_bare, wg);
    CHECK_OK(goro_wg_wait(wg));
    goro_wg_free(wg);
    CHECK(!atomic_load(&after_exit_ran));
}

/* ---- a cleanup that defers ----------------------------------------------------------------------- */

static void defer_more(void *arg)
{
    struct entry *e = arg;
    struct log *log = e->log;
    int value = e->value;
    record(e); /* frees e */
    CHECK_OK(goro_defer(record, entry_new(log, value + 1)));
}

static void defers_in_cleanup(void *arg)
{
    struct log *log = arg;
    body_id = goro_id();
    CHECK_OK(goro_defer(signal_done, log));
    CHECK_OK(goro_defer(defer_more, entry_new(log, 50)));
}

static void defers_in_cleanup_test(void *unused)
{
    struct log log = { .n = 0, .done = make_chan(1) };
    go(defers_in_cleanup, &log);
    CHECK_EQ(recv_i64(log.done), 2);
    static const int want[] = { 50, 51 };
    check_log(&log, want, 2, body_id);
    goro_chan_release(log.done);
}

/* ---- many cleanups --------------------------------------------------------------------------------- */

static void many(void *arg)
{
    struct log *log = arg;
    body_id = goro_id();
    CHECK_OK(goro_defer(signal_done, log));
    for (int i = 0; i < 1000; i++)
        CHECK_OK(goro_defer(record, entry_new(log, i)));
    CHECK_EQ(log->n, 0); /* nothing runs before the goroutine ends */
}

static void many_test(void *unused)
{
    struct log *log = calloc(1, sizeof *log);
    CHECK(log != NULL);
    log->done = make_chan(1);
    go(many, log);
    CHECK_EQ(recv_i64(log->done), 1000);
    int *want = malloc(1000 * sizeof *want);
    CHECK(want != NULL);
    for (int i = 0; i < 1000; i++)
        want[i] = 999 - i;
    check_log(log, want, 1000, body_id);
    free(want);
    goro_chan_release(log->done);
    free(log);
}

/* ---- the root goroutine exits ------------------------------------------------------------------ */

static atomic_int root_cleanup_ran;

static void root_cleanup(void *unused)
{
    atomic_store(&root_cleanup_ran, 1);
}

static void root_exits(void *unused)
{
    CHECK_OK(goro_defer(root_cleanup, NULL));
    goro_exit();
    atomic_store(&after_exit_ran, 1);
}

static void root_exit_test(void *unused)
{
    int st = goro_run(root_exits, NULL);
    printf("goro_run of a root that called goro_exit returned %d (%s)\n", st, status_name(st));
    CHECK_MSG(st <= 0 && strcmp(status_name(st), "?") != 0, "not a status: %d", st);
    CHECK(atomic_load(&root_cleanup_ran));
    CHECK(!atomic_load(&after_exit_ran));
}

/* Ending by goro_exit frees what the goroutine's start held, for goro_go and goro_run alike
   (and a normal return, for comparison): thousands of them leave the heap (glibc's count
   of bytes in use) where it was. */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void exit_at_once(void *arg)
{
    goro_exit();
}

static void return_at_once(void *arg)
{
}

static void run_exits(long n, goro_fn root)
{
    for (long i = 0; i < n; i++)
        CHECK_OK(goro_run(root, NULL));
}

static int64_t base_goroutines; /* alive before go_exits: the test's own */

static void go_exits(long n)
{
    goro_waitgroup *wg = make_wg(n);
    for (long i = 0; i < n; i++)
        go(exit_bare, wg);
    CHECK_OK(goro_wg_wait(wg));
    goro_wg_free(wg);
    /* The last ones may still be ending (their records go back to the pool then). */
    for (int i = 0; i < 500 && goro_num_goroutine() > base_goroutines; i++)
        goro_sleep(MS);
}

static void exits_free_everything(void *unused)
{
    /* 1,000, not more: every goro_run from this plain thread is two OS wake-ups, and under
       CPU hogs 30,000 of them took 44 s. */
    long n = scaled(1000, 200);
    static const char *what[] = { "goro_run roots ended by goro_exit",
                                  "goro_go goroutines ended by goro_exit",
                                  "goro_run roots returning normally" };
    long long leaked[3];
    base_goroutines = goro_num_goroutine();
    for (int kind = 0; kind < 3; kind++) {
        /* Round 0 warms caches and pools. Of the next three, the smallest growth counts: a
           leak grows the heap every round, while a cache filling up on a thread the scheduler
           brought in under load (CI: 16 bytes a goroutine once, at 5,000) does it once. */
        long long growth = LLONG_MAX;
        for (int round = 0; round < 4; round++) {
            size_t before = heap_in_use();
            if (kind == 1)
                go_exits(n);
            else
                run_exits(n, kind == 0 ? exit_at_once : return_at_once);
            long long g = (long long)heap_in_use() - (long long)before;
            if (round > 0 && g < growth)
                growth = g;
        }
        printf("%ld %s: heap grew by %lld bytes\n", n, what[kind], growth);
        leaked[kind] = growth;
    }
#ifndef GORO_TEST_SANITIZED /* sanitizers replace malloc: mallinfo2 means nothing there */
    for (int kind = 0; kind < 3; kind++)
        CHECK_MSG(leaked[kind] < 16 * n, "%s leak about %lld bytes each", what[kind],
                  leaked[kind] / n);
#else
    (void)leaked;
#endif
}

static void outside(void *unused)
{
    CHECK_EQ(goro_defer(record, NULL), GORO_EINVAL); /* refused, so never called */
    goro_exit(); /* goro.h: on a plain thread it does nothing and returns */
}

int main(void)
{
    STEP_GO(normal_end_test);
    STEP_GO(goro_exit_test);
    STEP_GO(exit_bare_test);
    STEP_GO(defers_in_cleanup_test);
    STEP_GO(many_test);
    STEP_THREAD(root_exit_test);
    STEP_THREAD(exits_free_everything);
    STEP_THREAD(outside);
    return 0;
}
