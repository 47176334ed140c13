/* GOMAXPROCS and the CPU count:
 *
 * - goro_num_cpu() >= 1 and no more than the CPUs in this process's affinity mask;
 * - by default goro_maxprocs equals goro_num_cpu (checked in a child without GOMAXPROCS
 *   in its environment); the environment variable GOMAXPROCS overrides it;
 * - goro_num_cpu follows the affinity mask: a child pinned to one CPU sees 1, and so does
 *   its default GOMAXPROCS;
 * - goro_maxprocs(n) with n > 0 sets it and returns the value before the call; n < 1 only
 *   reads; the setting can change while goroutines run, from a goroutine or a thread,
 *   and work goes on at each setting.
 *
 * Children are this program run again with a mode argument; they print what they saw to
 * stderr and exit 0 when their checks pass.
 */
#include "golike.h"

#include <sched.h>

static int affinity_cpus(void)
{
    cpu_set_t set;
    CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
    return CPU_COUNT(&set);
}

/* ---- child modes -------------------------------------------------------------------------- */

static int child_default(void)
{
    int ncpu = goro_num_cpu(), procs = goro_maxprocs(0);
    fprintf(stderr, "child: num_cpu %d maxprocs %d affinity %d\n", ncpu, procs, affinity_cpus());
    CHECK_EQ(procs, ncpu);
    return 0;
}

static int child_env(void)
{
    int procs = goro_maxprocs(0);
    fprintf(stderr, "child: GOMAXPROCS=%s maxprocs %d\n", getenv("GOMAXPROCS"), procs);
    CHECK_EQ(procs, 3);
    return 0;
}

static int child_one_cpu(void)
{
    /* Before the first goro call: the runtime reads the mask when it starts. */
    cpu_set_t all, one;
    CHECK_EQ(sched_getaffinity(0, sizeof all, &all), 0);
    CPU_ZERO(&one);
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (CPU_ISSET(i, &all)) {
            CPU_SET(i, &one);
            break;
        }
    }
    CHECK_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    int ncpu = goro_num_cpu(), procs = goro_maxprocs(0);
    fprintf(stderr, "child: pinned to one CPU: num_cpu %d maxprocs %d\n", ncpu, procs);
    CHECK_EQ(ncpu, 1);
    CHECK_EQ(procs, 1);
    return 0;
}

static void expect_child(const char *mode, char *const env[])
{
    struct child_result r;
    run_self(mode, env, &r);
    print_child(mode, &r);
    CHECK_MSG(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "child %s failed", mode);
}

/* ---- in this process ------------------------------------------------------------------------ */

static void cpu_count(void *unused)
{
    int ncpu = goro_num_cpu(), aff = affinity_cpus();
    printf("goro_num_cpu %d, affinity mask %d CPUs\n", ncpu, aff);
    CHECK(ncpu >= 1);
    CHECK_LE(ncpu, aff);
}

static void children(void *unused)
{
    char *unset[] = { "GOMAXPROCS", NULL };
    expect_child("default", unset);
    char *three[] = { "GOMAXPROCS=3", NULL };
    expect_child("env", three);
    if (affinity_cpus() > 1)
        expect_child("one-cpu", unset);
    else
        printf("one CPU already: one-cpu child skipped\n");
}

struct pingpong {
    goro_chan *ping, *pong;
    long rounds;
};

static void ponger(void *arg)
{
    /* A copy: the caller's frame may be gone once the last answer is taken. */
    struct pingpong p = *(struct pingpong *)arg;
    for (long i = 0; i < p.rounds; i++)
        send_i64(p.pong, recv_i64(p.ping) + 1);
}

/* 500 round trips: from a plain thread each is two OS wake-ups (10,000 took 12.7 s under CPU
   hogs). */
static void work_goes_on(void)
{
    struct pingpong p = { make_chan(0), make_chan(0), 500 };
    go(ponger, &p);
    for (long i = 0; i < p.rounds; i++) {
        send_i64(p.ping, i);
        CHECK_EQ(recv_i64(p.pong), i + 1);
    }
    goro_chan_release(p.ping);
    goro_chan_release(p.pong);
}

static void read_set_restore(void *unused)
{
    int orig = goro_maxprocs(0);
    CHECK(orig >= 1);
    CHECK_EQ(goro_maxprocs(-1), orig); /* n < 1 only reads */
    CHECK_EQ(goro_maxprocs(0), orig);
    CHECK_EQ(goro_maxprocs(-1000), orig);

    static const int settings[] = { 1, 3, 2, 8, 1 };
    int prev = orig;
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        CHECK_EQ(goro_maxprocs(settings[i]), prev);
        CHECK_EQ(goro_maxprocs(0), settings[i]);
        work_goes_on();
        prev = settings[i];
    }
    CHECK_EQ(goro_maxprocs(orig), prev);
    CHECK_EQ(goro_maxprocs(0), orig);
}

/* Changing the setting while other goroutines are busy: nothing is lost or stuck. */
struct churn {
    atomic_int stop;
    goro_waitgroup *wg;
};

static void busy_pingpong(void *arg)
{
    struct churn *c = arg;
    while (!atomic_load(&c->stop))
        work_goes_on();
    CHECK_OK(goro_wg_done(c->wg));
}

static void change_while_running(void *unused)
{
    int orig = goro_maxprocs(0);
    struct churn c = { 0, make_wg(4) };
    for (int i = 0; i < 4; i++)
        go(busy_pingpong, &c);
    for (int i = 0; i < 40; i++) {
        goro_maxprocs(1 + i % 4);
        goro_sleep(2 * MS);
    }
    atomic_store(&c.stop, 1);
    goro_maxprocs(orig);
    CHECK_OK(goro_wg_wait(c.wg));
    goro_wg_free(c.wg);
    CHECK_EQ(goro_maxprocs(0), orig);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "default") == 0)
            return child_default();
        if (strcmp(argv[1], "env") == 0)
            return child_env();
        if (strcmp(argv[1], "one-cpu") == 0)
            return child_one_cpu();
        TEST_FAIL("unknown mode %s", argv[1]);
    }
    STEP_THREAD(cpu_count);
    STEP_THREAD(children);
    STEP_GO(read_set_restore);
    STEP_THREAD(read_set_restore);
    STEP_GO(change_while_running);
    return 0;
}
