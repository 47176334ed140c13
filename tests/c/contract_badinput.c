/* CONTRACT.md, C: "Every function checks its handles: NULL gives GORO_EINVAL (or NULL),
 * never a crash", and the other bad arguments:
 *
 * - every channel, select, timer, sync and pool call with a NULL handle;
 * - a send with a NULL value on a channel whose element has a size;
 * - goro_go / goro_go_ex with a NULL fn; goro_go_ex with NULL opts (runs as goro_go) and
 *   with absurd stack sizes (a clear status: GORO_OK and the goroutine runs, or a
 *   negative GORO_E* code; SIZE_MAX can only be an error);
 * - goro_defer outside a goroutine, and with a NULL fn; goro_run with a NULL fn;
 * - goro_strerror: every code has its own non-empty message; unknown codes get one too;
 * - status codes: GORO_OK is 0, the errors are negative and distinct.
 */
#include "golike.h"

#include <limits.h>

/* The codes CONTRACT.md names, and the ones goro.h adds. */
static const int codes[] = {
    GORO_OK,     GORO_ECLOSED, GORO_ETIMEDOUT, GORO_EAGAIN,
    GORO_EINVAL, GORO_ENOMEM,  GORO_ESHUTDOWN,
#ifdef GORO_EINTR
    GORO_EINTR,
#endif
#ifdef GORO_EINTERNAL
    GORO_EINTERNAL,
#endif
};
enum { NCODES = sizeof codes / sizeof codes[0] };

static bool is_status(int st)
{
    for (int i = 0; i < NCODES; i++)
        if (codes[i] == st)
            return true;
    return false;
}

static void status_codes(void *unused)
{
    CHECK_EQ(GORO_OK, 0);
    for (int i = 1; i < NCODES; i++) {
        CHECK_MSG(codes[i] < 0, "%s is not negative", status_name(codes[i]));
        for (int j = 1; j < i; j++)
            CHECK_NE(codes[i], codes[j]);
    }
    const char *msgs[NCODES];
    for (int i = 0; i < NCODES; i++) {
        msgs[i] = goro_strerror(codes[i]);
        CHECK_MSG(msgs[i] != NULL && msgs[i][0] != '\0', "goro_strerror(%s)",
                  status_name(codes[i]));
        printf("goro_strerror(%s) = \"%s\"\n", status_name(codes[i]), msgs[i]);
        for (int j = 0; j < i; j++)
            CHECK_MSG(strcmp(msgs[i], msgs[j]) != 0, "%s and %s share the message \"%s\"",
                      status_name(codes[i]), status_name(codes[j]), msgs[i]);
    }
    static const int unknown[] = { -9999, 12345, INT_MIN, INT_MAX, 1 };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *m = goro_strerror(unknown[i]);
        CHECK_MSG(m != NULL && m[0] != '\0', "goro_strerror(%d)", unknown[i]);
        printf("goro_strerror(%d) = \"%s\"\n", unknown[i], m);
    }
}

static void null_channels(void *unused)
{
    int64_t v = 1;
    bool ok = true;
    CHECK_EQ(goro_chan_send(NULL, &v), GORO_EINVAL);
    CHECK_EQ(goro_chan_recv(NULL, &v, &ok), GORO_EINVAL);
    CHECK_EQ(goro_chan_try_send(NULL, &v), GORO_EINVAL);
    CHECK_EQ(goro_chan_try_recv(NULL, &v, &ok), GORO_EINVAL);
    CHECK_EQ(goro_chan_send_timeout(NULL, &v, 0), GORO_EINVAL);
    CHECK_EQ(goro_chan_send_timeout(NULL, &v, -1), GORO_EINVAL);
    CHECK_EQ(goro_chan_recv_timeout(NULL, &v, &ok, 0), GORO_EINVAL);
    CHECK_EQ(goro_chan_recv_timeout(NULL, &v, &ok, -1), GORO_EINVAL);
    CHECK_EQ(goro_chan_close(NULL), GORO_EINVAL);
    CHECK_EQ(goro_chan_len(NULL), 0);
    CHECK_EQ(goro_chan_cap(NULL), 0);
    CHECK(goro_chan_retain(NULL) == NULL);
    goro_chan_release(NULL);

    /* A value is needed when the element has a size, on every path. */
    goro_chan *c = make_chan(1);
    CHECK_EQ(goro_chan_send(c, NULL), GORO_EINVAL);
    CHECK_EQ(goro_chan_try_send(c, NULL), GORO_EINVAL);
    CHECK_EQ(goro_chan_send_timeout(c, NULL, 0), GORO_EINVAL);
    CHECK_EQ(goro_chan_send_timeout(c, NULL, MS), GORO_EINVAL);
    CHECK_EQ(goro_chan_len(c), 0); /* and nothing was sent */
    goro_chan_release(c);

    CHECK_EQ(goro_select(NULL, 2, 0), GORO_EINVAL);
    CHECK_EQ(goro_select(NULL, 1, -1), GORO_EINVAL);
}

static void null_others(void *unused)
{
    CHECK(goro_ticker_chan(NULL) == NULL);
    goro_ticker_stop(NULL);
    CHECK_EQ(goro_wg_add(NULL, 1), GORO_EINVAL);
    CHECK_EQ(goro_wg_done(NULL), GORO_EINVAL);
    CHECK_EQ(goro_wg_wait(NULL), GORO_EINVAL);
    goro_wg_free(NULL);
    CHECK_EQ(goro_mutex_lock(NULL), GORO_EINVAL);
    CHECK_EQ(goro_mutex_try_lock(NULL), GORO_EINVAL);
    CHECK_EQ(goro_mutex_unlock(NULL), GORO_EINVAL);
    goro_mutex_free(NULL);
    CHECK_EQ(goro_pool_submit(NULL, NULL, NULL), GORO_EINVAL);
    CHECK_EQ(goro_pool_wait(NULL), GORO_EINVAL);
    goro_pool_free(NULL);
}

/* ---- goroutines ------------------------------------------------------------------------------------- */

static atomic_int ran;

static void mark_ran(void *arg)
{
    atomic_fetch_add(&ran, 1);
    if (arg)
        CHECK_OK(goro_wg_done(arg));
}

static void nothing(void *arg)
{
}

static void wait_ran(int n)
{
    int64_t deadline = now_ns() + 10 * SEC;
    while (atomic_load(&ran) < n) {
        CHECK_MSG(now_ns() < deadline, "goroutine never ran");
        goro_sleep(MS);
    }
}

static void goroutines(void *unused)
{
    CHECK_EQ(goro_go(NULL, NULL), GORO_EINVAL);
    CHECK_EQ(goro_go_ex(NULL, NULL, NULL), GORO_EINVAL);
    goro_go_opts opts = { 0, "x", 0 };
    CHECK_EQ(goro_go_ex(NULL, NULL, &opts), GORO_EINVAL);

    /* NULL opts: as goro_go. Zeroed opts: defaults. */
    atomic_store(&ran, 0);
    CHECK_OK(goro_go_ex(mark_ran, NULL, NULL));
    wait_ran(1);
    goro_go_opts zero = { 0, NULL, 0 };
    CHECK_OK(goro_go_ex(mark_ran, NULL, &zero));
    wait_ran(2);

    /* Absurd stack sizes give a clear answer, never a crash. */
    static const size_t sizes[] = { 1, 100, 4096, (size_t)1 << 40, SIZE_MAX / 2, SIZE_MAX };
    int expect = 2;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        goro_go_opts o = { sizes[i], "absurd", 0 };
        int st = goro_go_ex(mark_ran, NULL, &o);
        printf("goro_go_ex(stack_size = %zu) = %d (%s)\n", sizes[i], st, status_name(st));
        CHECK_MSG(is_status(st), "goro_go_ex(stack_size = %zu) = %d, not a status code",
                  sizes[i], st);
        if (sizes[i] == SIZE_MAX)
            CHECK_MSG(st < 0, "a stack of SIZE_MAX bytes cannot exist");
        if (st == GORO_OK)
            wait_ran(++expect);
    }
    /* Unknown flags. */
    goro_go_opts weird = { 0, NULL, 0x80000000u };
    int st = goro_go_ex(nothing, NULL, &weird);
    CHECK_MSG(st == GORO_OK || st == GORO_EINVAL, "unknown flags: %s", status_name(st));
}

static void defer_outside(void *unused)
{
    /* A plain thread is not a goroutine: nothing would ever run the cleanup. */
    CHECK_EQ(goro_defer(nothing, NULL), GORO_EINVAL);
    CHECK_EQ(goro_defer(NULL, NULL), GORO_EINVAL);
    CHECK_EQ(goro_id(), 0);
}

static void defer_null_fn(void *unused)
{
    CHECK_EQ(goro_defer(NULL, NULL), GORO_EINVAL);
}

static void run_null(void *unused)
{
    CHECK_EQ(goro_run(NULL, NULL), GORO_EINVAL);
}

int main(void)
{
    STEP_THREAD(status_codes);
    STEP_THREAD(null_channels);
    STEP_GO(null_channels);
    STEP_THREAD(null_others);
    STEP_GO(goroutines);
    STEP_THREAD(goroutines);
    STEP_THREAD(defer_outside);
    STEP_GO(defer_null_fn);
    STEP_THREAD(run_null);
    return 0;
}
