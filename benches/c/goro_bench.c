/* goro_bench: goro's standard workloads (shared BENCHMARKS.md, W1..W12) written in C against
 * goro's C API, the twin of benches/go/main.go: same workloads, same sizes, same output.
 * W2-ctx and W3-ctx (C only, no Go twin) are W2 and W3 through a never-cancelled context.
 *
 *     goro_bench -w W2 [-n N]
 *
 * Everything measured runs as goroutines inside goro_run(). Each workload times only its
 * measured part, verifies its result (counts, sums) and exits non-zero with a message on stderr
 * when it is wrong or when any goro call fails. On success it prints ONE line of JSON:
 *
 *     {"w":"W2","n":1000000,"value":286.1,"unit":"ns/rt","procs":2}
 *
 * GOMAXPROCS comes from the environment (goro honours it as Go does).
 *
 * Build: cc -O2 -I include benches/c/goro_bench.c -L target/release -lgoro \
 *            -Wl,-rpath,$PWD/target/release -o benches/out/goro_bench
 */
#define _GNU_SOURCE
#include <goro.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static void die(const char *fmt, ...) {
    va_list ap;
    fputs("goro_bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1); /* from any goroutine or thread: no atexit handlers under a running runtime */
}

#define CHECK(call)                                                                       \
    do {                                                                                  \
        int rc_ = (call);                                                                 \
        if (rc_ != GORO_OK)                                                               \
            die("%s:%d: %s returned %d (%s)", __FILE__, __LINE__, #call, rc_,             \
                goro_strerror(rc_));                                                      \
    } while (0)

static int64_t now_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) die("clock_gettime: %s", strerror(errno));
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static goro_chan *chan_new(size_t cap) {
    goro_chan *c = goro_chan_new(sizeof(int64_t), cap);
    if (c == NULL) die("goro_chan_new(%zu, %zu) returned NULL", sizeof(int64_t), cap);
    return c;
}

static void send_i64(goro_chan *c, int64_t v) { CHECK(goro_chan_send(c, &v)); }

/* recv_i64 returns true with a value, false once the channel is closed and drained. */
static bool recv_i64(goro_chan *c, int64_t *out) {
    bool ok = false;
    int rc = goro_chan_recv(c, out, &ok);
    if (rc == GORO_OK && ok) return true;
    if (rc == GORO_ECLOSED && !ok) {
        if (*out != 0) die("goro_chan_recv on a closed channel left %lld, not zero", (long long)*out);
        return false;
    }
    die("goro_chan_recv returned %d (%s) with ok=%d", rc, goro_strerror(rc), (int)ok);
    return false;
}

static void go(goro_fn fn, void *arg) { CHECK(goro_go(fn, arg)); }

static goro_waitgroup *wg_new(int64_t n) {
    goro_waitgroup *wg = goro_wg_new();
    if (wg == NULL) die("goro_wg_new returned NULL");
    if (n != 0) CHECK(goro_wg_add(wg, n));
    return wg;
}

/* triangle is 0 + 1 + ... + (n-1), the sum every workload that sends 0..n-1 must see. */
static int64_t triangle(int64_t n) { return n * (n - 1) / 2; }

/* span: the half-open share [lo, hi) of 0..n-1 given to worker i of k. */
static void span(int64_t n, int i, int k, int64_t *lo, int64_t *hi) {
    *lo = n * i / k;
    *hi = n * (i + 1) / k;
}

/* ---------------------------------------------------------------- results */

struct result {
    double value;
    const char *unit;
    int nextra;
    const char *key[6]; /* printed sorted: keep them in alphabetical order */
    double val[6];
};

static struct result result;

static void extra(const char *key, double v) {
    result.key[result.nextra] = key;
    result.val[result.nextra] = v;
    result.nextra++;
}

static double rate_m(int64_t n, int64_t ns) { return (double)n / ((double)ns / 1e9) / 1e6; }

/* ---------------------------------------------------------------- W1 */
/* Spawn n goroutines that each increment an atomic counter; wait for all with a WaitGroup. */

struct w1 {
    atomic_llong counter;
    goro_waitgroup *wg;
};

static void w1_fn(void *arg) {
    struct w1 *s = arg;
    atomic_fetch_add_explicit(&s->counter, 1, memory_order_relaxed);
    CHECK(goro_wg_done(s->wg));
}

static void w1(int64_t n) {
    struct w1 s;
    atomic_init(&s.counter, 0);
    s.wg = wg_new(0);
    int64_t start = now_ns();
    CHECK(goro_wg_add(s.wg, n));
    for (int64_t i = 0; i < n; i++) go(w1_fn, &s);
    CHECK(goro_wg_wait(s.wg));
    int64_t el = now_ns() - start;
    long long got = atomic_load(&s.counter);
    if (got != n) die("W1: counter is %lld, want %lld", got, (long long)n);
    goro_wg_free(s.wg);
    result.value = (double)el / (double)n;
    result.unit = "ns/goroutine";
}

/* ---------------------------------------------------------------- W2 */
/* Two goroutines, two unbuffered channels, n round trips. The partner echoes v+1. */

struct pair {
    goro_chan *ping, *pong;
};

static void echo_fn(void *arg) {
    struct pair *p = arg;
    int64_t v;
    while (recv_i64(p->ping, &v)) send_i64(p->pong, v + 1);
    CHECK(goro_chan_close(p->pong));
}

static void pair_close(struct pair *p) {
    int64_t v;
    CHECK(goro_chan_close(p->ping));
    if (recv_i64(p->pong, &v)) die("pong not closed, got %lld", (long long)v);
    goro_chan_release(p->ping);
    goro_chan_release(p->pong);
}

static void w2(int64_t n) {
    struct pair p = {chan_new(0), chan_new(0)};
    go(echo_fn, &p);
    int64_t start = now_ns();
    for (int64_t i = 0; i < n; i++) {
        int64_t v;
        send_i64(p.ping, i);
        if (!recv_i64(p.pong, &v) || v != i + 1)
            die("W2: round trip %lld came back as %lld", (long long)i, (long long)v);
    }
    int64_t el = now_ns() - start;
    pair_close(&p);
    result.value = (double)el / (double)n;
    result.unit = "ns/rt";
}

/* ---------------------------------------------------------------- W3, W4 */

struct producer {
    goro_chan *ch;
    int64_t lo, hi;
    goro_waitgroup *wg; /* done when finished, if not NULL */
    bool close;         /* close ch when finished */
};

static void producer_fn(void *arg) {
    struct producer *p = arg;
    for (int64_t v = p->lo; v < p->hi; v++) send_i64(p->ch, v);
    if (p->close) CHECK(goro_chan_close(p->ch));
    if (p->wg != NULL) CHECK(goro_wg_done(p->wg));
}

/* W3: one producer, one consumer, a channel of capacity 1024, n ints. */
static void w3(int64_t n) {
    goro_chan *ch = chan_new(1024);
    struct producer p = {ch, 0, n, NULL, true};
    int64_t start = now_ns();
    go(producer_fn, &p);
    int64_t count = 0, sum = 0, v;
    while (recv_i64(ch, &v)) {
        count++;
        sum += v;
    }
    int64_t el = now_ns() - start;
    if (count != n || sum != triangle(n))
        die("W3: received %lld values summing to %lld, want %lld summing to %lld",
            (long long)count, (long long)sum, (long long)n, (long long)triangle(n));
    goro_chan_release(ch);
    result.value = rate_m(n, el);
    result.unit = "M msg/s";
}

struct consumer {
    goro_chan *ch;
    goro_waitgroup *wg;
    atomic_llong *count, *sum;
};

static void consumer_fn(void *arg) {
    struct consumer *c = arg;
    int64_t cnt = 0, s = 0, v;
    while (recv_i64(c->ch, &v)) {
        cnt++;
        s += v;
    }
    atomic_fetch_add(c->count, cnt);
    atomic_fetch_add(c->sum, s);
    CHECK(goro_wg_done(c->wg));
}

/* W4: 4 producers, 4 consumers, one channel of capacity 128, n ints in all. */
static void w4(int64_t n) {
    enum { K = 4 };
    goro_chan *ch = chan_new(128);
    goro_waitgroup *prod = wg_new(0), *cons = wg_new(0);
    atomic_llong count, sum;
    atomic_init(&count, 0);
    atomic_init(&sum, 0);
    struct producer ps[K];
    struct consumer cs[K];
    int64_t start = now_ns();
    CHECK(goro_wg_add(prod, K));
    CHECK(goro_wg_add(cons, K));
    for (int i = 0; i < K; i++) {
        ps[i] = (struct producer){ch, 0, 0, prod, false};
        span(n, i, K, &ps[i].lo, &ps[i].hi);
        go(producer_fn, &ps[i]);
    }
    for (int i = 0; i < K; i++) {
        cs[i] = (struct consumer){ch, cons, &count, &sum};
        go(consumer_fn, &cs[i]);
    }
    CHECK(goro_wg_wait(prod));
    CHECK(goro_chan_close(ch));
    CHECK(goro_wg_wait(cons));
    int64_t el = now_ns() - start;
    long long c = atomic_load(&count), s = atomic_load(&sum);
    if (c != n || s != triangle(n))
        die("W4: received %lld values summing to %lld, want %lld summing to %lld", c, s,
            (long long)n, (long long)triangle(n));
    goro_wg_free(prod);
    goro_wg_free(cons);
    goro_chan_release(ch);
    result.value = rate_m(n, el);
    result.unit = "M msg/s";
}

/* ---------------------------------------------------------------- W5 */
/* One consumer selecting over 4 channels of capacity 64, each fed by its own producer. */

static void w5(int64_t n) {
    enum { K = 4 };
    goro_chan *chs[K];
    struct producer ps[K];
    goro_case cases[K];
    int64_t vals[K], per[K] = {0};
    for (int i = 0; i < K; i++) {
        chs[i] = chan_new(64);
        ps[i] = (struct producer){chs[i], 0, 0, NULL, true};
        span(n, i, K, &ps[i].lo, &ps[i].hi);
        cases[i] = (goro_case){chs[i], GORO_RECV, &vals[i], false};
    }
    int64_t start = now_ns();
    for (int i = 0; i < K; i++) go(producer_fn, &ps[i]);
    int64_t count = 0, sum = 0;
    for (int open = K; open > 0;) {
        int idx = goro_select(cases, K, -1);
        if (idx < 0 || idx >= K) die("W5: goro_select returned %d (%s)", idx, goro_strerror(idx));
        if (!cases[idx].ok) { /* closed and drained: a nil channel from now on */
            if (vals[idx] != 0) die("W5: receive from closed channel %d gave %lld", idx, (long long)vals[idx]);
            cases[idx].chan = NULL;
            open--;
            continue;
        }
        per[idx]++;
        count++;
        sum += vals[idx];
    }
    int64_t el = now_ns() - start;
    if (count != n || sum != triangle(n))
        die("W5: received %lld values summing to %lld, want %lld summing to %lld",
            (long long)count, (long long)sum, (long long)n, (long long)triangle(n));
    for (int i = 0; i < K; i++) {
        if (per[i] != ps[i].hi - ps[i].lo)
            die("W5: channel %d delivered %lld values, want %lld", i, (long long)per[i],
                (long long)(ps[i].hi - ps[i].lo));
        goro_chan_release(chs[i]);
    }
    result.value = rate_m(n, el);
    result.unit = "M msg/s";
}

/* ---------------------------------------------------------------- W6, W9 */
/* n goroutines, each parked receiving on its own unbuffered channel. The growth of VmRSS from
 * before the first spawn to the moment all have started, divided by n, is the cost of one
 * parked goroutine (its channel included); the time from the first spawn until all have
 * started, divided by n, is the cost of one spawn. Then all are woken and joined. */

static int64_t vm_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) die("cannot open /proc/self/status: %s", strerror(errno));
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1) break;
    fclose(f);
    if (kb < 0) die("no VmRSS line in /proc/self/status");
    return (int64_t)kb * 1024;
}

/* Shared by all parked goroutines; each gets only its index, so that no per-goroutine harness
 * record is counted in the growth. */
static struct {
    goro_chan **chs;
    goro_waitgroup *ready, *done;
    atomic_llong sum;
} pk;

static void parked_fn(void *arg) {
    int64_t i = (int64_t)(intptr_t)arg, v;
    goro_chan *ch = pk.chs[i];
    CHECK(goro_wg_done(pk.ready));
    if (!recv_i64(ch, &v)) die("parked goroutine %lld: channel closed", (long long)i);
    atomic_fetch_add(&pk.sum, v);
    CHECK(goro_wg_done(pk.done));
}

static void parked(const char *name, int64_t n) {
    goro_chan *dummy = chan_new(0);
    pk.chs = malloc((size_t)n * sizeof *pk.chs);
    if (pk.chs == NULL) die("%s: out of memory", name);
    for (int64_t i = 0; i < n; i++) pk.chs[i] = dummy; /* touch every page now: not counted */
    pk.ready = wg_new(n);
    pk.done = wg_new(n);
    atomic_init(&pk.sum, 0);
    int64_t before = vm_rss();

    int64_t start = now_ns();
    for (int64_t i = 0; i < n; i++) {
        pk.chs[i] = chan_new(0);
        go(parked_fn, (void *)(intptr_t)i);
    }
    CHECK(goro_wg_wait(pk.ready));
    int64_t spawn_el = now_ns() - start;
    goro_yield();
    int64_t after = vm_rss();

    int64_t wake = now_ns();
    for (int64_t i = 0; i < n; i++) send_i64(pk.chs[i], i);
    CHECK(goro_wg_wait(pk.done));
    int64_t wake_el = now_ns() - wake;
    long long sum = atomic_load(&pk.sum);
    if (sum != triangle(n))
        die("%s: woken goroutines summed %lld, want %lld", name, sum, (long long)triangle(n));
    for (int64_t i = 0; i < n; i++) goro_chan_release(pk.chs[i]);
    goro_chan_release(dummy);
    free(pk.chs);
    goro_wg_free(pk.ready);
    goro_wg_free(pk.done);
    result.value = (double)(after - before) / (double)n;
    result.unit = "B/goroutine";
    extra("spawn_us", (double)spawn_el / 1e3 / (double)n);
    extra("wake_us", (double)wake_el / 1e3 / (double)n);
}

/* ---------------------------------------------------------------- W7 */
/* A ring of 503 goroutines joined by unbuffered channels; a token passed n hops. */

enum { RING = 503 };

struct ring_node {
    goro_chan *in, *out, *winner;
    goro_waitgroup *wg;
    int64_t id;
};

static void ring_fn(void *arg) {
    struct ring_node *r = arg;
    int64_t t;
    while (recv_i64(r->in, &t)) {
        if (t == 0) {
            send_i64(r->winner, r->id);
            break;
        }
        send_i64(r->out, t - 1);
    }
    CHECK(goro_wg_done(r->wg));
}

static void w7(int64_t n) {
    static struct ring_node nodes[RING];
    goro_chan *chs[RING];
    goro_chan *winner = chan_new(1);
    goro_waitgroup *wg = wg_new(RING);
    for (int i = 0; i < RING; i++) chs[i] = chan_new(0);
    for (int i = 0; i < RING; i++) {
        nodes[i] = (struct ring_node){chs[i], chs[(i + 1) % RING], winner, wg, i};
        go(ring_fn, &nodes[i]);
    }
    int64_t start = now_ns(), id;
    send_i64(chs[0], n);
    if (!recv_i64(winner, &id)) die("W7: winner channel closed");
    int64_t el = now_ns() - start;
    if (id != n % RING) die("W7: token ran out at goroutine %lld, want %lld", (long long)id, (long long)(n % RING));
    for (int i = 0; i < RING; i++) CHECK(goro_chan_close(chs[i]));
    CHECK(goro_wg_wait(wg));
    for (int i = 0; i < RING; i++) goro_chan_release(chs[i]);
    goro_chan_release(winner);
    goro_wg_free(wg);
    result.value = (double)el / (double)n;
    result.unit = "ns/hop";
}

/* ---------------------------------------------------------------- W8 */
/* A pool of GOMAXPROCS worker goroutines draining n jobs from a job channel into a result
 * channel. Job j sums job_data[(j+k) % 1024] for k in 0..99. */

static int64_t job_data[1024];

static int64_t job(int64_t j) {
    int64_t s = 0;
    for (int64_t k = 0; k < 100; k++) s += job_data[(j + k) & 1023];
    return s;
}

struct pool {
    goro_chan *jobs, *results;
    goro_waitgroup *wg;
    int64_t n;
};

static void feeder_fn(void *arg) {
    struct pool *p = arg;
    for (int64_t j = 0; j < p->n; j++) send_i64(p->jobs, j);
    CHECK(goro_chan_close(p->jobs));
}

static void worker_fn(void *arg) {
    struct pool *p = arg;
    int64_t j;
    while (recv_i64(p->jobs, &j)) send_i64(p->results, job(j));
    CHECK(goro_wg_done(p->wg));
}

static void closer_fn(void *arg) {
    struct pool *p = arg;
    CHECK(goro_wg_wait(p->wg));
    CHECK(goro_chan_close(p->results));
}

static void w8(int64_t n) {
    for (int i = 0; i < 1024; i++) job_data[i] = (int64_t)i * 7 + 3;
    int64_t row_sum[1024], want = 0;
    for (int i = 0; i < 1024; i++) row_sum[i] = job(i);
    for (int64_t j = 0; j < n; j++) want += row_sum[j & 1023];

    int workers = goro_maxprocs(0);
    if (workers < 1) die("W8: goro_maxprocs(0) returned %d", workers);
    struct pool p = {chan_new(1024), chan_new(1024), wg_new(0), n};
    int64_t start = now_ns();
    go(feeder_fn, &p);
    CHECK(goro_wg_add(p.wg, workers));
    for (int w = 0; w < workers; w++) go(worker_fn, &p);
    go(closer_fn, &p);
    int64_t count = 0, sum = 0, r;
    while (recv_i64(p.results, &r)) {
        count++;
        sum += r;
    }
    int64_t el = now_ns() - start;
    if (count != n || sum != want)
        die("W8: %lld results summing to %lld, want %lld summing to %lld", (long long)count,
            (long long)sum, (long long)n, (long long)want);
    /* results is closed, so the closer's goro_wg_wait has returned: freeing the WaitGroup is
       safe (CONTRACT.md), and a call still returning holds its own channel reference. */
    goro_wg_free(p.wg);
    goro_chan_release(p.jobs);
    goro_chan_release(p.results);
    result.value = rate_m(n, el);
    result.unit = "M jobs/s";
    extra("workers", workers);
}

/* ---------------------------------------------------------------- W10 */
/* Two goroutines sit ms milliseconds in a plain blocking nanosleep() (not goro_sleep) while
 * two others ping-pong; the round trips they manage in that window, divided by those in an
 * equal window with no blockers, is the result (1.0 = the blockers did no harm). The window
 * with blockers starts when the later blocker enters its system call, as the blocker itself
 * records it: a pinger starved of a thread is charged for the whole starvation. */

struct blocker {
    int64_t window_ns;
    goro_chan *entered, *slept;
};

static void blocker_fn(void *arg) {
    struct blocker *b = arg;
    struct timespec ts = {b->window_ns / 1000000000, b->window_ns % 1000000000}, rem;
    int64_t t0 = now_ns();
    send_i64(b->entered, t0);
    while (nanosleep(&ts, &rem) != 0) {
        if (errno != EINTR) die("W10: nanosleep: %s", strerror(errno));
        ts = rem; /* a signal cut it short: sleep the rest */
    }
    send_i64(b->slept, now_ns() - t0);
}

/* ping_window runs round trips until the monotonic clock passes end; returns how many
 * completed before end. When first is not NULL it gets the time the first one completed. */
static int64_t ping_window(struct pair *p, int64_t end, int64_t *next, int64_t *first) {
    int64_t count = 0, v;
    for (;;) {
        send_i64(p->ping, *next);
        if (!recv_i64(p->pong, &v) || v != *next + 1)
            die("W10: round trip %lld came back as %lld", (long long)*next, (long long)v);
        ++*next;
        int64_t t = now_ns();
        if (first && count == 0) *first = t;
        if (t >= end) return count;
        count++;
    }
}

static void w10(int64_t ms) {
    int64_t window = ms * 1000000;
    struct pair p = {chan_new(0), chan_new(0)};
    go(echo_fn, &p);
    int64_t next = 0;

    ping_window(&p, now_ns() + window / 10, &next, NULL); /* warm up */
    int64_t base = ping_window(&p, now_ns() + window, &next, NULL);

    struct blocker b = {window, chan_new(2), chan_new(2)};
    go(blocker_fn, &b);
    go(blocker_fn, &b);
    int64_t t0, t1, d;
    if (!recv_i64(b.entered, &t0) || !recv_i64(b.entered, &t1)) die("W10: entered closed");
    if (t1 < t0) t1 = t0;
    int64_t first = 0;
    int64_t blocked = ping_window(&p, t1 + window, &next, &first);
    for (int i = 0; i < 2; i++) {
        if (!recv_i64(b.slept, &d)) die("W10: slept closed");
        if (d < window) die("W10: a blocker slept only %lld ns, want %lld", (long long)d, (long long)window);
    }
    pair_close(&p);
    goro_chan_release(b.entered);
    goro_chan_release(b.slept);
    if (base <= 0) die("W10: no round trips at all in the window with no blockers");
    result.value = (double)blocked / (double)base;
    result.unit = "ratio";
    extra("rt_base", (double)base);
    extra("rt_blocked", (double)blocked);
    /* How long the pinger went without a round trip once both blockers were in: the
     * hand-off's latency, which the ratio only shows diluted by the window. */
    extra("starved_ms", (double)(first > t1 ? first - t1 : 0) / 1e6);
}

/* ---------------------------------------------------------------- W11, W12 */
/* W11: loopback TCP echo. n client connections, each a goroutine that writes 64 bytes and
 * reads them back, R times (R = max(10, 200,000 / n): 200,000 round trips in all); one server
 * goroutine per connection, in the same process (W11, W11-5K) or, for W11-10K, the clients in
 * a second process (this program again, as -w W11C) since open files are capped at 20,000
 * here. Timed from the start signal (every connection is up by then) until every client is
 * done: ns per round trip, all connections together. Also reported: the peak OS threads
 * (sampled every 2 ms, /proc/self/status Threads) and the peak RSS (VmHWM) of the server's
 * process.
 * W12: n goroutines each parked reading one byte from its own pipe; the threads while they
 * wait; then every pipe written: µs per wake (first write until all have read). */

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static int64_t proc_status(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) die("cannot open /proc/self/status: %s", strerror(errno));
    char line[256];
    long long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f) != NULL)
        if (!strncmp(line, key, kl) && sscanf(line + kl, " %lld", &v) == 1) break;
    fclose(f);
    if (v < 0) die("no %s line in /proc/self/status", key);
    return v;
}

static struct {
    atomic_int stop;
    atomic_llong peak;
    goro_waitgroup *done;
} sampler;

static void sampler_fn(void *arg) {
    (void)arg;
    while (!atomic_load(&sampler.stop)) {
        long long t = proc_status("Threads:");
        if (t > atomic_load(&sampler.peak)) atomic_store(&sampler.peak, t);
        CHECK(goro_sleep(2000000));
    }
    CHECK(goro_wg_done(sampler.done));
}

static void sampler_start(void) {
    atomic_store(&sampler.stop, 0);
    atomic_store(&sampler.peak, proc_status("Threads:"));
    sampler.done = wg_new(1);
    go(sampler_fn, NULL);
}

static int64_t sampler_stop(void) {
    atomic_store(&sampler.stop, 1);
    CHECK(goro_wg_wait(sampler.done));
    goro_wg_free(sampler.done);
    long long t = proc_status("Threads:");
    return t > atomic_load(&sampler.peak) ? t : atomic_load(&sampler.peak);
}

enum { W11_MSG = 64 };

static struct {
    int64_t rounds;
    goro_chan *start; /* closed to start every client at once */
    goro_waitgroup *clients, *servers;
    int listener;
    int64_t conns;
} w11s;

static void w11_server_fn(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[W11_MSG];
    for (;;) {
        ptrdiff_t n = goro_read(fd, buf, sizeof buf, -1);
        if (n == 0) break;
        if (n < 0) die("W11 server: goro_read: %s (errno %d)", goro_strerror((int)n), goro_os_errno(n));
        ptrdiff_t w = goro_write(fd, buf, (size_t)n, -1);
        if (w != n) die("W11 server: goro_write gave %td of %td", w, n);
    }
    CHECK(goro_fd_close(fd));
    CHECK(goro_wg_done(w11s.servers));
}

static void w11_accept_fn(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < w11s.conns; i++) {
        int c = goro_accept(w11s.listener, -1);
        if (c < 0) die("W11: goro_accept: %s (errno %d)", goro_strerror(c), goro_os_errno(c));
        go(w11_server_fn, (void *)(intptr_t)c);
    }
}

static void w11_client_fn(void *arg) {
    int fd = (int)(intptr_t)arg;
    int64_t v;
    if (recv_i64(w11s.start, &v)) die("W11: the start channel carried a value");
    char out[W11_MSG], in[W11_MSG];
    for (int64_t r = 0; r < w11s.rounds; r++) {
        memset(out, (int)('a' + (fd + r) % 26), sizeof out);
        if (goro_write(fd, out, sizeof out, -1) != W11_MSG) die("W11 client: short write");
        size_t got = 0;
        while (got < sizeof in) {
            ptrdiff_t n = goro_read(fd, in + got, sizeof in - got, -1);
            if (n <= 0) die("W11 client: goro_read gave %td (errno %d)", n, goro_os_errno(n));
            got += (size_t)n;
        }
        if (memcmp(in, out, sizeof in) != 0) die("W11 client: the echo differs");
    }
    CHECK(goro_fd_close(fd));
    CHECK(goro_wg_done(w11s.clients));
}

static int64_t w11_rounds(int64_t n) { return n >= 20000 ? 10 : (200000 / n < 10 ? 10 : 200000 / n); }

/* Dials n connections to port, runs the clients; returns the measured ns. */
static int64_t w11_clients(int64_t n, int port) {
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    w11s.rounds = w11_rounds(n);
    w11s.start = chan_new(0);
    w11s.clients = wg_new(n);
    for (int64_t i = 0; i < n; i++) {
        int fd = goro_dial("tcp", addr, 10000000000LL);
        if (fd < 0) die("W11: goro_dial %s (connection %lld): %s (errno %d)", addr, (long long)i, goro_strerror(fd), goro_os_errno(fd));
        go(w11_client_fn, (void *)(intptr_t)fd);
    }
    int64_t t0 = now_ns();
    CHECK(goro_chan_close(w11s.start));
    CHECK(goro_wg_wait(w11s.clients));
    int64_t el = now_ns() - t0;
    goro_chan_release(w11s.start);
    goro_wg_free(w11s.clients);
    return el;
}

static void w11_listen(int64_t n) {
    w11s.listener = goro_listen("tcp", "127.0.0.1:0", 0);
    if (w11s.listener < 0) die("W11: goro_listen: %s", goro_strerror(w11s.listener));
    w11s.conns = n;
    w11s.servers = wg_new(n);
    go(w11_accept_fn, NULL);
}

static void w11_finish(int64_t el, int64_t n, int64_t peak) {
    CHECK(goro_wg_wait(w11s.servers));
    goro_wg_free(w11s.servers);
    CHECK(goro_fd_close(w11s.listener));
    result.value = (double)el / (double)(n * w11s.rounds);
    result.unit = "ns/rt";
    extra("rounds", (double)w11s.rounds);
    extra("rss_mib", (double)proc_status("VmHWM:") / 1024.0);
    extra("threads", (double)peak);
}

static void w11(int64_t n) {
    sampler_start();
    w11_listen(n);
    int64_t el = w11_clients(n, goro_local_port(w11s.listener));
    w11_finish(el, n, sampler_stop());
}

/* W11C: the client half of W11-10K, in its own process; the port comes in GORO_BENCH_PORT. */
static void w11c(int64_t n) {
    const char *p = getenv("GORO_BENCH_PORT");
    if (p == NULL) die("W11C: GORO_BENCH_PORT is not set");
    sampler_start();
    int64_t el = w11_clients(n, atoi(p));
    int64_t peak = sampler_stop();
    result.value = (double)el / (double)(n * w11s.rounds);
    result.unit = "ns/rt";
    extra("rounds", (double)w11s.rounds);
    extra("rss_mib", (double)proc_status("VmHWM:") / 1024.0);
    extra("threads", (double)peak);
}

static double json_field(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(json, pat);
    if (at == NULL) die("W11-10K: no %s in the client's output: %s", key, json);
    return strtod(at + strlen(pat), NULL);
}

static void w11_two_procs(int64_t n) {
    sampler_start();
    w11_listen(n);
    int port = goro_local_port(w11s.listener);
    int out[2];
    if (pipe(out) != 0) die("pipe: %s", strerror(errno));
    char nbuf[32], pbuf[64];
    snprintf(nbuf, sizeof nbuf, "%lld", (long long)n);
    snprintf(pbuf, sizeof pbuf, "%d", port);
    setenv("GORO_BENCH_PORT", pbuf, 1);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char *argv[] = {"goro_bench", "-w", "W11C", "-n", nbuf, NULL};
    pid_t pid;
    /* The runtime blocks SIGCHLD nowhere; a plain posix_spawn is fine from a goroutine. */
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    if (rc != 0) die("posix_spawn: %s", strerror(rc));
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    char json[1024];
    size_t len = 0;
    for (;;) { /* parks until the client process writes its result and exits */
        ptrdiff_t r = goro_read(out[0], json + len, sizeof json - 1 - len, -1);
        if (r <= 0) break;
        len += (size_t)r;
    }
    json[len] = 0;
    CHECK(goro_fd_close(out[0]));
    int st;
    goro_blocking_begin();
    pid_t w = waitpid(pid, &st, 0);
    goro_blocking_end();
    if (w != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) die("W11-10K: the client process failed");
    int64_t peak = sampler_stop();
    w11s.rounds = (int64_t)json_field(json, "rounds");
    double ns_rt = json_field(json, "value");
    w11_finish((int64_t)(ns_rt * (double)(n * w11s.rounds)), n, peak);
    result.value = ns_rt;
    extra("client_threads", json_field(json, "threads"));
}

static struct {
    int (*fds)[2];
    goro_waitgroup *parked, *done;
    atomic_llong got;
} w12s;

static void w12_fn(void *arg) {
    int64_t i = (int64_t)(intptr_t)arg;
    CHECK(goro_wg_done(w12s.parked));
    char c;
    ptrdiff_t r = goro_read(w12s.fds[i][0], &c, 1, -1);
    if (r != 1) die("W12: goro_read gave %td", r);
    atomic_fetch_add(&w12s.got, (long long)(unsigned char)c);
    CHECK(goro_wg_done(w12s.done));
}

static void w12(int64_t n) {
    w12s.fds = calloc((size_t)n, sizeof *w12s.fds);
    if (w12s.fds == NULL) die("W12: out of memory");
    w12s.parked = wg_new(n);
    w12s.done = wg_new(n);
    atomic_store(&w12s.got, 0);
    for (int64_t i = 0; i < n; i++) {
        if (pipe(w12s.fds[i]) != 0) die("W12: pipe %lld: %s", (long long)i, strerror(errno));
        go(w12_fn, (void *)(intptr_t)i);
    }
    CHECK(goro_wg_wait(w12s.parked));
    CHECK(goro_sleep(100000000)); /* let every reader reach its wait */
    int64_t threads = proc_status("Threads:");
    long long want = 0;
    int64_t t0 = now_ns();
    for (int64_t i = 0; i < n; i++) {
        char c = (char)(1 + i % 100);
        want += c;
        if (write(w12s.fds[i][1], &c, 1) != 1) die("W12: write: %s", strerror(errno));
    }
    CHECK(goro_wg_wait(w12s.done));
    int64_t el = now_ns() - t0;
    if (atomic_load(&w12s.got) != want) die("W12: read %lld, want %lld", (long long)atomic_load(&w12s.got), want);
    for (int64_t i = 0; i < n; i++) {
        CHECK(goro_fd_close(w12s.fds[i][0]));
        CHECK(goro_fd_close(w12s.fds[i][1]));
    }
    goro_wg_free(w12s.parked);
    goro_wg_free(w12s.done);
    free(w12s.fds);
    result.value = (double)el / (double)n / 1000.0;
    result.unit = "us/wake";
    extra("threads", (double)threads);
}

/* ---------------------------------------------------------------- W2-ctx, W3-ctx */

/* The cost of a context that is never cancelled (issue 16: "within 10% of the same
 * operation without one"): W2 and W3 again, every send and receive through
 * goro_chan_send_ctx / goro_chan_recv_ctx on a cancellable child of the background context
 * (as an errgroup's members use), which nobody cancels. Compare with W2 and W3 in one run. */

static goro_ctx *live_ctx(void) {
    goro_ctx *bg = goro_ctx_background();
    goro_ctx *c = goro_ctx_with_cancel(bg);
    goro_ctx_release(bg);
    if (c == NULL) die("goro_ctx_with_cancel returned NULL");
    return c;
}

struct ctx_pair {
    goro_chan *ping, *pong;
    goro_ctx *ctx;
};

static void send_ctx_i64(goro_chan *c, int64_t v, goro_ctx *ctx) {
    CHECK(goro_chan_send_ctx(c, &v, ctx));
}

/* As recv_i64, through the context. */
static bool recv_ctx_i64(goro_chan *c, int64_t *out, goro_ctx *ctx) {
    bool ok = false;
    int rc = goro_chan_recv_ctx(c, out, &ok, ctx);
    if (rc == GORO_OK && ok) return true;
    if (rc == GORO_ECLOSED && !ok) return false;
    die("goro_chan_recv_ctx returned %d (%s) with ok=%d", rc, goro_strerror(rc), (int)ok);
    return false;
}

static void echo_ctx_fn(void *arg) {
    struct ctx_pair *p = arg;
    int64_t v;
    while (recv_ctx_i64(p->ping, &v, p->ctx)) send_ctx_i64(p->pong, v + 1, p->ctx);
    CHECK(goro_chan_close(p->pong));
}

static void w2_ctx(int64_t n) {
    struct ctx_pair p = {chan_new(0), chan_new(0), live_ctx()};
    go(echo_ctx_fn, &p);
    int64_t start = now_ns();
    for (int64_t i = 0; i < n; i++) {
        int64_t v;
        send_ctx_i64(p.ping, i, p.ctx);
        if (!recv_ctx_i64(p.pong, &v, p.ctx) || v != i + 1)
            die("W2-ctx: round trip %lld came back as %lld", (long long)i, (long long)v);
    }
    int64_t el = now_ns() - start;
    struct pair q = {p.ping, p.pong};
    pair_close(&q);
    if (goro_ctx_err(p.ctx) != GORO_OK) die("W2-ctx: the context ended");
    goro_ctx_release(p.ctx);
    result.value = (double)el / (double)n;
    result.unit = "ns/rt";
}

struct ctx_producer {
    goro_chan *ch;
    int64_t n;
    goro_ctx *ctx;
};

static void producer_ctx_fn(void *arg) {
    struct ctx_producer *p = arg;
    for (int64_t v = 0; v < p->n; v++) send_ctx_i64(p->ch, v, p->ctx);
    CHECK(goro_chan_close(p->ch));
}

static void w3_ctx(int64_t n) {
    goro_chan *ch = chan_new(1024);
    struct ctx_producer p = {ch, n, live_ctx()};
    int64_t start = now_ns();
    go(producer_ctx_fn, &p);
    int64_t count = 0, sum = 0, v;
    while (recv_ctx_i64(ch, &v, p.ctx)) {
        count++;
        sum += v;
    }
    int64_t el = now_ns() - start;
    if (count != n || sum != triangle(n))
        die("W3-ctx: received %lld values summing to %lld, want %lld summing to %lld",
            (long long)count, (long long)sum, (long long)n, (long long)triangle(n));
    if (goro_ctx_err(p.ctx) != GORO_OK) die("W3-ctx: the context ended");
    goro_ctx_release(p.ctx);
    goro_chan_release(ch);
    result.value = rate_m(n, el);
    result.unit = "M msg/s";
}

/* ---------------------------------------------------------------- main */

static const struct {
    const char *name;
    int64_t n; /* the standard size (W10: window in ms) */
} workloads[] = {
    {"W1", 1000000}, {"W2", 1000000}, {"W3", 10000000}, {"W4", 4000000}, {"W5", 4000000},
    {"W6", 100000},  {"W7", 10000000}, {"W8", 4000000}, {"W9", 1000000}, {"W10", 300},
    {"W11", 1000},   {"W11-5K", 5000}, {"W11-10K", 10000}, {"W11C", 10000}, {"W12", 5000},
    {"W2-ctx", 1000000}, {"W3-ctx", 10000000},
};

struct args {
    const char *name;
    int64_t n;
};

static void bench_main(void *arg) {
    struct args *a = arg;
    if (goro_id() == 0) die("bench_main is not running as a goroutine (goro_id() == 0)");
    const char *w = a->name;
    if (!strcmp(w, "W1")) w1(a->n);
    else if (!strcmp(w, "W2")) w2(a->n);
    else if (!strcmp(w, "W3")) w3(a->n);
    else if (!strcmp(w, "W4")) w4(a->n);
    else if (!strcmp(w, "W5")) w5(a->n);
    else if (!strcmp(w, "W6") || !strcmp(w, "W9")) parked(w, a->n);
    else if (!strcmp(w, "W7")) w7(a->n);
    else if (!strcmp(w, "W8")) w8(a->n);
    else if (!strcmp(w, "W10")) w10(a->n);
    else if (!strcmp(w, "W11") || !strcmp(w, "W11-5K")) w11(a->n);
    else if (!strcmp(w, "W11-10K")) w11_two_procs(a->n);
    else if (!strcmp(w, "W11C")) w11c(a->n);
    else if (!strcmp(w, "W12")) w12(a->n);
    else if (!strcmp(w, "W2-ctx")) w2_ctx(a->n);
    else if (!strcmp(w, "W3-ctx")) w3_ctx(a->n);
    else die("unknown workload %s", w);
}

static void usage(void) { die("usage: goro_bench -w W1..W12 [-n N] [-p]"); }

/* -p: run with every profile on, as a service being profiled would: the block profile
   sampling one event per 10 µs of waiting, the mutex profile one contention in 10, and
   the CPU profile at 100 Hz (benches/run --profiling compares it with -p off). */
static void profiling_on(void) {
    goro_set_block_profile_rate(10000);
    goro_set_mutex_profile_fraction(10);
    CHECK(goro_cpu_profile_start(100));
}

int main(int argc, char **argv) {
    struct args a = {NULL, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-w") && i + 1 < argc) {
            const char *w = argv[++i];
            for (size_t k = 0; k < sizeof workloads / sizeof workloads[0]; k++)
                if (!strcasecmp(w, workloads[k].name)) {
                    a.name = workloads[k].name;
                    if (a.n == 0) a.n = workloads[k].n;
                }
            if (a.name == NULL) usage();
        } else if (!strcmp(argv[i], "-p")) {
            profiling_on();
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            char *end;
            long long v = strtoll(argv[++i], &end, 10);
            if (*end != '\0' || v < 1) die("-n must be a positive integer, got %s", argv[i]);
            a.n = v;
        } else {
            usage();
        }
    }
    if (a.name == NULL) usage();
    if (a.n == 0)
        for (size_t k = 0; k < sizeof workloads / sizeof workloads[0]; k++)
            if (a.name == workloads[k].name) a.n = workloads[k].n;

    CHECK(goro_run(bench_main, &a));
    if (result.unit == NULL) die("%s produced no result", a.name);

    printf("{\"w\":\"%s\",\"n\":%lld,\"value\":%.6g,\"unit\":\"%s\",\"procs\":%d", a.name,
           (long long)a.n, result.value, result.unit, goro_maxprocs(0));
    for (int i = 0; i < result.nextra; i++) printf(",\"%s\":%.6g", result.key[i], result.val[i]);
    printf("}\n");
    if (fflush(stdout) != 0) die("stdout: %s", strerror(errno));
    return 0;
}
