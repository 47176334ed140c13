/* goro.h, contexts and error groups (Go's context and errgroup):
 *
 * - a context ends once: cancelled (its own cancel or an ancestor's) or past its deadline;
 *   goro_ctx_err says which; cancelling a parent ends its grandchildren;
 * - a blocking call given a context returns GORO_ECANCELED / GORO_EDEADLINE when the context
 *   ends first, and then nothing was sent, received or taken: sends, receives, selects,
 *   sleeps, WaitGroup and mutex waits, from goroutines and plain threads;
 * - a context that has already ended makes such a call return at once;
 * - goro_ctx_done is a channel closed when the context ends, usable in goro_select;
 * - a group's first failing member cancels the others' context; goro_group_wait returns the
 *   first failure; a limit of N never runs N+1 members at once;
 * - 10,000 goroutines parked on one context all end when it is cancelled, and leave no leak.
 */
#include "golike.h"

static void basics(void *unused)
{
    goro_ctx *bg = goro_ctx_background();
    CHECK(bg != NULL);
    CHECK_OK(goro_ctx_err(bg));
    goro_ctx *c = goro_ctx_with_cancel(bg);
    goro_ctx *child = goro_ctx_with_cancel(c);
    goro_ctx *grandchild = goro_ctx_with_timeout(child, 3600 * 1000 * MS);
    CHECK_OK(goro_ctx_err(grandchild));
    CHECK_OK(goro_ctx_cancel(c));
    CHECK_EQ(goro_ctx_err(c), GORO_ECANCELED);
    CHECK_EQ(goro_ctx_err(child), GORO_ECANCELED);
    CHECK_EQ(goro_ctx_err(grandchild), GORO_ECANCELED);
    CHECK_OK(goro_ctx_cancel(c)); /* again: nothing happens */
    CHECK_OK(goro_ctx_err(bg));   /* the root never ends */
    /* A child of an ended context is born ended. */
    goro_ctx *late = goro_ctx_with_cancel(c);
    CHECK_EQ(goro_ctx_err(late), GORO_ECANCELED);
    CHECK(strcmp(goro_strerror(GORO_ECANCELED), goro_strerror(GORO_EDEADLINE)) != 0);
    goro_ctx_release(late);
    goro_ctx_release(grandchild);
    goro_ctx_release(child);
    goro_ctx_release(c);

    CHECK(goro_ctx_with_cancel(NULL) == NULL);
    CHECK(goro_ctx_with_timeout(NULL, 1) == NULL);
    CHECK(goro_ctx_done(NULL) == NULL);
    CHECK_EQ(goro_ctx_cancel(NULL), GORO_EINVAL);
    CHECK_EQ(goro_ctx_err(NULL), GORO_EINVAL);
    goro_chan *ch = make_chan(1);
    int64_t v = 1;
    CHECK_EQ(goro_chan_send_ctx(ch, &v, NULL), GORO_EINVAL);
    CHECK_EQ(goro_chan_recv_ctx(NULL, &v, NULL, bg), GORO_EINVAL);
    CHECK_EQ(goro_sleep_ctx(1, NULL), GORO_EINVAL);
    goro_ctx_release(NULL);
    goro_chan_release(ch);
    goro_ctx_release(bg);
}

/* An ended context makes every call fail at once, with nothing done; a live one lets a call
 * that can complete at once complete. */
static void ended_before_the_call(void *unused)
{
    goro_ctx *bg = goro_ctx_background();
    goro_ctx *c = goro_ctx_with_cancel(bg);
    goro_chan *ch = make_chan(1);
    int64_t v = 7, out = 0;
    CHECK_OK(goro_chan_send_ctx(ch, &v, c)); /* room: completes */
    CHECK_OK(goro_chan_recv_ctx(ch, &out, NULL, c));
    CHECK_EQ(out, 7);
    CHECK_OK(goro_ctx_cancel(c));
    int64_t t0 = now_ns();
    CHECK_EQ(goro_chan_send_ctx(ch, &v, c), GORO_ECANCELED);
    CHECK_EQ(goro_chan_len(ch), 0); /* nothing sent */
    send_i64(ch, 9);
    CHECK_EQ(goro_chan_recv_ctx(ch, &out, NULL, c), GORO_ECANCELED);
    CHECK_EQ(goro_chan_len(ch), 1); /* nothing taken */
    CHECK_EQ(goro_sleep_ctx(3600 * 1000 * MS, c), GORO_ECANCELED);
    goro_waitgroup *wg = goro_wg_new();
    CHECK_OK(goro_wg_add(wg, 1));
    CHECK_EQ(goro_wg_wait_ctx(wg, c), GORO_ECANCELED);
    goro_mutex *m = goro_mutex_new();
    CHECK_OK(goro_mutex_lock(m));
    CHECK_EQ(goro_mutex_lock_ctx(m, c), GORO_ECANCELED);
    CHECK(now_ns() - t0 < 1000 * MS); /* at once, not after any wait */
    CHECK_OK(goro_mutex_unlock(m));
    goro_mutex_free(m);
    CHECK_OK(goro_wg_done(wg));
    goro_wg_free(wg);
    goro_chan_release(ch);
    goro_ctx_release(c);
    goro_ctx_release(bg);
}

/* ---- cancellation reaches every kind of wait ------------------------------------------------ */

enum kind { RECV, SEND, SELECT, SLEEP, WG_WAIT, MUTEX_LOCK, NKINDS };

struct waits {
    goro_ctx *ctx;
    goro_chan *empty;  /* receivers find nothing here */
    goro_chan *full;   /* senders find no room here */
    goro_waitgroup *wg;
    goro_mutex *m;
    atomic_int started, ended;
    atomic_int wrong;
};

struct waiter_arg {
    struct waits *w;
    enum kind kind;
};

static void one_wait(void *p)
{
    struct waiter_arg *a = p;
    struct waits *w = a->w;
    int64_t v = 42, out = -1;
    int st = GORO_OK;
    atomic_fetch_add(&w->started, 1);
    switch (a->kind) {
    case RECV:
        st = goro_chan_recv_ctx(w->empty, &out, NULL, w->ctx);
        if (out != -1)
            atomic_fetch_add(&w->wrong, 1); /* untouched when cancelled */
        break;
    case SEND:
        st = goro_chan_send_ctx(w->full, &v, w->ctx);
        break;
    case SELECT: {
        goro_case cs[2] = {
            { .chan = w->empty, .op = GORO_RECV, .elem = &out },
            { .chan = w->full, .op = GORO_SEND, .elem = &v },
        };
        st = goro_select_ctx(cs, 2, -1, w->ctx);
        if (out != -1)
            atomic_fetch_add(&w->wrong, 1);
        break;
    }
    case SLEEP:
        st = goro_sleep_ctx(3600 * 1000 * MS, w->ctx);
        break;
    case WG_WAIT:
        st = goro_wg_wait_ctx(w->wg, w->ctx);
        break;
    case MUTEX_LOCK:
        st = goro_mutex_lock_ctx(w->m, w->ctx);
        break;
    default:
        break;
    }
    if (st != GORO_ECANCELED)
        atomic_fetch_add(&w->wrong, 1);
    atomic_fetch_add(&w->ended, 1);
}

#define PER_KIND 20

/* Whether the canceller releases its context handle at once, as C code that ends a context
 * it made does (`goro_ctx_cancel(c); goro_ctx_release(c);`): the waits it ended are still
 * returning then, so each must hold its own reference while it waits (ASan and valgrind
 * see a wait that touches the freed context). */
static bool release_at_once;

static void cancel_reaches_every_wait(void *unused)
{
    goro_ctx *bg = goro_ctx_background();
    struct waits w = {
        .ctx = goro_ctx_with_cancel(bg),
        .empty = make_chan(0),
        .full = make_chan(1),
        .wg = goro_wg_new(),
        .m = goro_mutex_new(),
    };
    send_i64(w.full, 1); /* full now */
    CHECK_OK(goro_wg_add(w.wg, 1));
    CHECK_OK(goro_mutex_lock(w.m));
    static struct waiter_arg args[NKINDS * PER_KIND];
    int n = 0;
    for (int k = 0; k < NKINDS; k++)
        for (int i = 0; i < PER_KIND; i++, n++) {
            args[n] = (struct waiter_arg){ &w, (enum kind)k };
            spawn_on(i % 4 == 0 ? ON_THREAD : ON_GOROUTINE, one_wait, &args[n]);
        }
    while (atomic_load(&w.started) < n)
        goro_sleep(1 * MS);
    goro_sleep(30 * MS); /* parked, most of them */
    CHECK_EQ(atomic_load(&w.ended), 0);
    CHECK_OK(goro_ctx_cancel(w.ctx));
    if (release_at_once) {
        goro_ctx_release(w.ctx);
        w.ctx = NULL;
    }
    join_spawned_threads();
    while (atomic_load(&w.ended) < n)
        goro_sleep(1 * MS);
    CHECK_EQ(atomic_load(&w.wrong), 0);
    /* Nothing was consumed or delivered, and the mutex is still ours alone. */
    CHECK_EQ(goro_chan_len(w.full), 1);
    CHECK_EQ(recv_i64(w.full), 1);
    CHECK_EQ(goro_mutex_try_lock(w.m), GORO_EAGAIN);
    CHECK_OK(goro_mutex_unlock(w.m));
    CHECK_OK(goro_mutex_try_lock(w.m)); /* nobody was handed it */
    CHECK_OK(goro_mutex_unlock(w.m));
    CHECK_OK(goro_wg_done(w.wg));
    goro_mutex_free(w.m);
    goro_wg_free(w.wg);
    goro_chan_release(w.empty);
    goro_chan_release(w.full);
    goro_ctx_release(w.ctx); /* NULL when released at once: a no-op */
    goro_ctx_release(bg);
}

static void cancel_then_release_at_once(void *unused)
{
    release_at_once = true;
    cancel_reaches_every_wait(unused);
    release_at_once = false;
}

/* ---- deadlines and the done channel ---------------------------------------------------------- */

static void deadline_and_done(void *unused)
{
    goro_ctx *bg = goro_ctx_background();
    /* The timeout counts from the context's making (as Go's WithTimeout): time from before. */
    int64_t t0 = now_ns();
    goro_ctx *c = goro_ctx_with_timeout(bg, 30 * MS);
    goro_chan *never = make_chan(0);
    int64_t out = -1;
    CHECK_EQ(goro_chan_recv_ctx(never, &out, NULL, c), GORO_EDEADLINE);
    int64_t took = now_ns() - t0;
    CHECK_MSG(took >= 30 * MS, "deadline fired early: %lld ns", (long long)took);
    CHECK_MSG(took < 5000 * MS, "deadline fired late: %lld ns", (long long)took);
    CHECK_EQ(out, -1);
    CHECK_EQ(goro_ctx_err(c), GORO_EDEADLINE);

    /* A child cannot outlive its parent's deadline; the done channel closes at the end. */
    goro_ctx *parent = goro_ctx_with_timeout(bg, 20 * MS);
    goro_ctx *kid = goro_ctx_with_timeout(parent, 3600 * 1000 * MS);
    goro_case cs[2] = {
        { .chan = never, .op = GORO_RECV, .elem = &out },
        { .chan = goro_ctx_done(kid), .op = GORO_RECV, .elem = NULL },
    };
    CHECK_EQ(goro_select(cs, 2, -1), 1);
    CHECK(!cs[1].ok); /* closed */
    CHECK_EQ(goro_ctx_err(kid), GORO_EDEADLINE);
    /* The call's own timeout is not the context's deadline. */
    goro_ctx *live = goro_ctx_with_cancel(bg);
    goro_case one = { .chan = never, .op = GORO_RECV, .elem = &out };
    CHECK_EQ(goro_select_ctx(&one, 1, 5 * MS, live), GORO_ETIMEDOUT);
    goro_ctx_cancel(live);
    goro_ctx_release(live);
    goro_ctx_release(kid);
    goro_ctx_release(parent);
    goro_chan_release(never);
    goro_ctx_release(c);
    goro_ctx_release(bg);
}

/* ---- groups ---------------------------------------------------------------------------------- */

struct grp {
    goro_chan *never;
    atomic_int running, max_running, cancelled, ran;
};

static int member_waits(goro_ctx *ctx, void *p)
{
    struct grp *g = p;
    atomic_fetch_add(&g->ran, 1);
    int64_t out;
    int st = goro_chan_recv_ctx(g->never, &out, NULL, ctx);
    if (st == GORO_ECANCELED)
        atomic_fetch_add(&g->cancelled, 1);
    return GORO_OK;
}

static int member_fails(goro_ctx *ctx, void *p)
{
    struct grp *g = p;
    goro_sleep(10 * MS);
    atomic_fetch_add(&g->ran, 1);
    return 1234;
}

static void first_error_cancels_the_group(void *unused)
{
    goro_ctx *bg = goro_ctx_background();
    struct grp g = { .never = make_chan(0) };
    goro_group *grp = goro_group_new(bg, 0);
    CHECK(grp != NULL);
    for (int i = 0; i < 10; i++)
        CHECK_OK(goro_group_go(grp, member_waits, &g));
    CHECK_OK(goro_group_go(grp, member_fails, &g));
    CHECK_EQ(goro_group_wait(grp), 1234);
    CHECK_EQ(goro_group_wait(grp), 1234); /* again: the same */
    CHECK_EQ(atomic_load(&g.ran), 11);
    CHECK_EQ(atomic_load(&g.cancelled), 10);
    CHECK_EQ(goro_ctx_err(goro_group_ctx(grp)), GORO_ECANCELED);
    CHECK_OK(goro_ctx_err(bg));
    goro_group_free(grp);

    /* No failure: wait gives GORO_OK and cancels the group's context. */
    grp = goro_group_new(bg, 0);
    CHECK_OK(goro_group_wait(grp));
    CHECK_EQ(goro_ctx_err(goro_group_ctx(grp)), GORO_ECANCELED);
    CHECK_EQ(goro_group_go(grp, NULL, NULL), GORO_EINVAL);
    goro_group_free(grp);
    CHECK(goro_group_new(NULL, 0) == NULL);
    CHECK_EQ(goro_group_wait(NULL), GORO_EINVAL);
    goro_group_free(NULL);
    goro_chan_release(g.never);
    goro_ctx_release(bg);
}

static int member_counts(goro_ctx *ctx, void *p)
{
    struct grp *g = p;
    int now = atomic_fetch_add(&g->running, 1) + 1;
    int max = atomic_load(&g->max_running);
    while (now > max && !atomic_compare_exchange_weak(&g->max_running, &max, now)) {
    }
    goro_sleep(1 * MS);
    atomic_fetch_sub(&g->running, 1);
    atomic_fetch_add(&g->ran, 1);
    return GORO_OK;
}

static void limit_is_never_exceeded(void *unused)
{
    goro_ctx *bg = goro_ctx_background();
    struct grp g = { 0 };
    goro_group *grp = goro_group_new(bg, 3);
    for (int i = 0; i < 60; i++)
        CHECK_OK(goro_group_go(grp, member_counts, &g));
    CHECK_OK(goro_group_wait(grp));
    CHECK_EQ(atomic_load(&g.ran), 60);
    CHECK_MSG(atomic_load(&g.max_running) <= 3, "%d members ran at once with a limit of 3",
              atomic_load(&g.max_running));
    goro_group_free(grp);
    goro_ctx_release(bg);
}

/* ---- many at once ---------------------------------------------------------------------------- */

#define MANY 10000

struct many {
    goro_ctx *ctx;
    goro_chan *never;
    goro_waitgroup *done;
    atomic_int wrong;
};

static void park_on_ctx(void *p)
{
    struct many *m = p;
    int64_t out;
    if (goro_chan_recv_ctx(m->never, &out, NULL, m->ctx) != GORO_ECANCELED)
        atomic_fetch_add(&m->wrong, 1);
    CHECK_OK(goro_wg_done(m->done));
}

static void ten_thousand_cancelled_at_once(void *unused)
{
    goro_ctx *bg = goro_ctx_background();
    goro_ctx *parent = goro_ctx_with_cancel(bg);
    struct many m = {
        .ctx = goro_ctx_with_cancel(parent),
        .never = make_chan(0),
        .done = goro_wg_new(),
    };
    CHECK_OK(goro_wg_add(m.done, MANY));
    for (int i = 0; i < MANY; i++)
        go(park_on_ctx, &m);
    goro_sleep(50 * MS);
    CHECK_OK(goro_ctx_cancel(parent)); /* through the child */
    CHECK_OK(goro_wg_wait(m.done));
    CHECK_EQ(atomic_load(&m.wrong), 0);
    CHECK_EQ(goro_chan_len(m.never), 0);
    int leaked = goro_leaks(-1);
    CHECK_MSG(leaked == 0, "%d goroutines reported leaked after the cancel", leaked);
    goro_wg_free(m.done);
    goro_chan_release(m.never);
    goro_ctx_release(m.ctx);
    goro_ctx_release(parent);
    goro_ctx_release(bg);
}

int main(void)
{
    STEP_GO(basics);
    STEP_THREAD(basics);
    STEP_GO(ended_before_the_call);
    STEP_THREAD(ended_before_the_call);
    STEP_GO(cancel_reaches_every_wait);
    STEP_THREAD(cancel_reaches_every_wait);
    STEP_GO(cancel_then_release_at_once);
    STEP_GO(deadline_and_done);
    STEP_THREAD(deadline_and_done);
    STEP_GO(first_error_cancels_the_group);
    STEP_THREAD(first_error_cancels_the_group);
    STEP_GO(limit_is_never_exceeded);
    STEP_GO(ten_thousand_cancelled_at_once);
    return 0;
}
