/* goro_id and goro_num_goroutine:
 *
 * - goro_id is 0 on a plain OS thread (before and after the runtime started, on the main
 *   thread and on new ones), non-zero in a goroutine, the same all through one goroutine's
 *   life (across yields, sleeps and blocking, wherever it runs), and unique among
 *   goroutines, alive at once or not;
 * - goro_num_goroutine counts the goroutines alive now: 0 before any, the root of goro_run
 *   included, up by exactly the number started and blocked, back down once they end.
 */
#include "golike.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void id_zero_here(void *unused)
{
    CHECK_EQ(goro_id(), 0);
}

struct ids {
    uint64_t *ids;
    goro_chan *gate;
    goro_waitgroup *wg;
    atomic_long next;
};

static void record_id(void *arg)
{
    struct ids *s = arg;
    uint64_t id = goro_id();
    CHECK(id != 0);
    goro_yield();
    CHECK_EQ(goro_id(), id);
    if (s->gate) {
        CHECK_EQ(goro_chan_recv(s->gate, NULL, NULL), GORO_ECLOSED); /* blocks until closed */
        CHECK_EQ(goro_id(), id);
        goro_sleep(MS);
        CHECK_EQ(goro_id(), id);
    }
    s->ids[atomic_fetch_add(&s->next, 1)] = id;
    CHECK_OK(goro_wg_done(s->wg));
}

static void unique_ids(void *unused)
{
    uint64_t me = goro_id();
    CHECK(me != 0);
    long n = scaled(2000, 100);
    /* Half alive at once (blocked on a gate), half one after another (ids of ended
       goroutines must not be handed out again). */
    uint64_t *all = calloc((size_t)(2 * n + 1), sizeof *all);
    CHECK(all != NULL);
    struct ids s = { all, make_chan_sized(0, 0), make_wg(n), 0 };
    for (long i = 0; i < n; i++)
        go(record_id, &s);
    goro_sleep(5 * MS);
    CHECK_OK(goro_chan_close(s.gate));
    CHECK_OK(goro_wg_wait(s.wg));
    goro_wg_free(s.wg);
    goro_chan_release(s.gate);
    s.gate = NULL;
    for (long i = 0; i < n; i++) {
        s.wg = make_wg(1);
        go(record_id, &s);
        CHECK_OK(goro_wg_wait(s.wg));
        goro_wg_free(s.wg);
    }
    all[2 * n] = me;
    qsort(all, (size_t)(2 * n + 1), sizeof *all, cmp_u64);
    for (long i = 1; i <= 2 * n; i++)
        CHECK_MSG(all[i] != all[i - 1], "goro_id %llu given twice",
                  (unsigned long long)all[i]);
    CHECK(all[0] != 0);
    free(all);
}

/* ---- goro_num_goroutine ---------------------------------------------------------------------- */

static void park_on(void *gate)
{
    CHECK_EQ(goro_chan_recv(gate, NULL, NULL), GORO_ECLOSED);
}

static void wait_count(int64_t want)
{
    int64_t deadline = now_ns() + 10 * SEC;
    while (goro_num_goroutine() != want) {
        CHECK_MSG(now_ns() < deadline, "goro_num_goroutine() = %lld, want %lld",
                  (long long)goro_num_goroutine(), (long long)want);
        goro_sleep(MS);
    }
}

static void counts(void *unused)
{
    /* Quiet first: goroutines of earlier steps may still be returning, and a goro_run
       that returned may still be counting its root for a moment. */
    int64_t base = goro_id() ? 1 : 0;
    wait_count(base);
    goro_chan *gate = make_chan_sized(0, 0);
    for (int i = 0; i < 100; i++)
        go(park_on, gate);
    CHECK_EQ(goro_num_goroutine(), base + 100);
    CHECK_OK(goro_chan_close(gate));
    wait_count(base);
    goro_chan_release(gate);
}

static void root_counts(void *arg)
{
    CHECK_EQ(goro_num_goroutine(), 1);
}

int main(void)
{
    /* Before the runtime has started. */
    CHECK_EQ(goro_id(), 0);
    CHECK_EQ(goro_num_goroutine(), 0);

    STEP_GO(root_counts);
    STEP_GO(unique_ids);
    STEP_GO(counts);
    STEP_THREAD(counts);
    /* After: still 0 on the main thread and on a fresh thread. */
    STEP_THREAD(id_zero_here);
    thread_join(thread_go(id_zero_here, NULL));
    return 0;
}
