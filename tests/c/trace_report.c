/* Seeing inside: the goroutine dump, the leak report, the counters and the pprof profiles.
 *
 * Sets up goroutines whose places are known: five parked on a channel main still holds
 * (waits_on_reachable, waiting in receive_one: tracebacks are on, so that frame tops the
 * goroutine profile), one parked on a channel whose last handle main released
 * (leaky_receiver), one receiving values that come slowly (blocked_receiver, which should top
 * the block profile) and four fighting over one mutex (mutex_contender, top of the mutex
 * profile). Then checks the text reports here, and writes goroutine.pb.gz, block.pb.gz,
 * mutex.pb.gz and cpu.pb.gz into the folder given as argv[1] (if any) for trace_pprof.sh,
 * which reads them with `go tool pprof -top`.
 */
#include "check.h"

#include <fcntl.h>
#include <sys/stat.h>

/* The block profile counts mutex waits too (as Go's does): the receiver's 30 x 15 ms must
   outweigh the contenders' 4 x 10 locks, each waiting for up to three 100 us holds even when
   a loaded machine makes every sleep a few ms late (at 50 locks each and 8 ms gaps it did
   not: trace_pprof found mutex_contender on top). */
enum { REACHABLE = 5, CONTENDERS = 4, SLOW_VALUES = 30, SLOW_GAP_MS = 15, LOCKS_EACH = 10 };

/* Finished goroutines: main polls it with a plain sleep, so that its own waiting stays out
   of the block profile. */
static atomic_int finished;


/* A frame between the goroutine's function and the wait, for the dump's stack. */
__attribute__((noinline)) static void receive_one(goro_chan *c)
{
    int v;
    goro_chan_recv(c, &v, NULL); /* until main closes c */
    __asm__ volatile(""); /* not a tail call: keep this frame */
}

static void waits_on_reachable(void *arg)
{
    receive_one(arg);
    __asm__ volatile("");
}

static void leaky_receiver(void *arg)
{
    goro_chan *c = arg;
    int v;
    bool ok;
    /* Nobody will ever send: main released the last handle. (Not the same code as
       waits_on_reachable, or the compiler may fold the two functions into one.) */
    CHECK_EQ(goro_chan_recv(c, &v, &ok), GORO_OK);
}

static void slow_sender(void *arg)
{
    goro_chan *c = arg;
    for (int i = 0; i < SLOW_VALUES; i++) {
        goro_sleep(SLOW_GAP_MS * 1000 * 1000);
        CHECK_OK(goro_chan_send(c, &i));
    }
}

static void blocked_receiver(void *arg)
{
    goro_chan *c = arg;
    for (int i = 0; i < SLOW_VALUES; i++) {
        int v;
        CHECK_OK(goro_chan_recv(c, &v, NULL));
        CHECK_EQ(v, i);
    }
    atomic_fetch_add(&finished, 1);
}

static goro_mutex *mu;

static void mutex_contender(void *arg)
{
    for (int i = 0; i < LOCKS_EACH; i++) {
        CHECK_OK(goro_mutex_lock(mu));
        goro_sleep(100 * 1000); /* hold it: the others wait */
        CHECK_OK(goro_mutex_unlock(mu));
    }
    atomic_fetch_add(&finished, 1);
}

static volatile uint64_t burn_sink;

static void cpu_burner(void *arg)
{
    int64_t until = *(int64_t *)arg;
    struct timespec ts;
    for (;;) {
        for (int i = 0; i < 100000; i++)
            burn_sink += (uint64_t)i * 2654435761u;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec >= until)
            break;
    }
    atomic_fetch_add(&finished, 1);
}

/* Runs `write(fd)` into a temporary file and returns its contents (malloc'd). */
static void write_profile(const char *dir, const char *kind)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.pb.gz", dir, kind);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_OK(goro_profile_write(kind, fd));
    close(fd);
}

int main(int argc, char **argv)
{
    goro_set_traceback(true); /* where each goroutine waits, for the dump */
    goro_set_block_profile_rate(1);
    CHECK_EQ(goro_set_mutex_profile_fraction(1), 0);
    CHECK_EQ(goro_profile_write("nonsense", 1), GORO_EINVAL);
    CHECK_EQ(goro_profile_write(NULL, 1), GORO_EINVAL);
    CHECK_EQ(goro_dump(-1), GORO_EINVAL);
    CHECK_EQ(goro_read_counters(NULL), GORO_EINVAL);

    mu = goro_mutex_new();

    goro_chan *reachable = goro_chan_new(sizeof(int), 0);
    for (int i = 0; i < REACHABLE; i++)
        CHECK_OK(goro_go(waits_on_reachable, reachable));

    goro_chan *lost = goro_chan_new(sizeof(int), 0);
    CHECK_OK(goro_go(leaky_receiver, lost)); /* the line the leak report must name */
    int leak_line = __LINE__ - 1;

    goro_chan *slow = goro_chan_new(sizeof(int), 0);
    CHECK_OK(goro_go(slow_sender, slow));
    CHECK_OK(goro_go(blocked_receiver, slow));
    for (int i = 0; i < CONTENDERS; i++)
        CHECK_OK(goro_go(mutex_contender, NULL));
    while (atomic_load(&finished) < 1 + CONTENDERS)
        usleep(1000);

    /* The CPU profile, over a goroutine that computes for 150 ms. */
    CHECK_OK(goro_cpu_profile_start(200));
    CHECK_EQ(goro_cpu_profile_start(200), GORO_EAGAIN);
    int64_t burn_until = now_ns() + 150 * 1000 * 1000;
    CHECK_OK(goro_go(cpu_burner, &burn_until));
    while (atomic_load(&finished) < 1 + CONTENDERS + 1)
        usleep(1000);
    CHECK_OK(goro_cpu_profile_stop());
    CHECK_EQ(goro_cpu_profile_stop(), GORO_EINVAL);

    /* Wait until only the parked ones are left (the others may still be returning). */
    for (int i = 0; i < 2000 && goro_num_goroutine() > REACHABLE + 1; i++)
        usleep(1000);
    CHECK_EQ(goro_num_goroutine(), REACHABLE + 1);
    usleep(20 * 1000);
    goro_chan_release(lost); /* now only leaky_receiver's own wait holds it */

    /* The leak report names leaky_receiver and where it was started, and nothing else. */
    int leaks = -1;
    char *report = check_capture(goro_leaks, &leaks);
    printf("--- goro_leaks ---\n%s", report);
    CHECK_EQ(leaks, 1);
    CHECK(strstr(report, "leaky_receiver") != NULL);
    CHECK(strstr(report, "chan receive") != NULL);
    char site[64];
    snprintf(site, sizeof site, "trace_report.c:%d", leak_line);
    CHECK_MSG(strstr(report, site) != NULL, "the report should name %s", site);
    CHECK(strstr(report, "waits_on_reachable") == NULL);
    free(report);
    CHECK_EQ(goro_leaks(-1), 1);
    check_allow_leaks(1); /* leaky_receiver, on purpose */

    /* The dump shows every goroutine with its state and function. */
    int r = -1;
    char *dump = check_capture(goro_dump, &r);
    CHECK_OK(r);
    printf("--- goro_dump (head) ---\n%.600s\n", dump);
    CHECK(strstr(dump, "waits_on_reachable") != NULL);
    CHECK(strstr(dump, "leaky_receiver") != NULL);
    CHECK(strstr(dump, "[chan receive, ") != NULL);
    CHECK(strstr(dump, "created at ") != NULL);
    /* With tracebacks on, the dump shows where they wait: receive_one, called by
       waits_on_reachable. */
    const char *frame = strstr(dump, "receive_one\n");
    CHECK_MSG(frame != NULL, "no receive_one frame in the dump");
    CHECK(strstr(frame, "waits_on_reachable\n") != NULL);
    /* The same into a buffer, snprintf-style. */
    size_t need = goro_dump_to(NULL, 0);
    CHECK(need > 100);
    char small[16];
    CHECK(goro_dump_to(small, sizeof small) >= need - 200); /* goroutines may have moved on */
    CHECK_EQ(strlen(small), sizeof small - 1);
    CHECK(strncmp(small, "goroutine ", 10) == 0);
    free(dump);

    goro_counters c;
    CHECK_OK(goro_read_counters(&c));
    CHECK(c.goroutines >= REACHABLE + 1);
    CHECK(c.workers >= 1);
    CHECK(c.switches > 0);
    CHECK(c.parks > 0);
    CHECK(c.stack_reserved_bytes > 0);

    int port = goro_debug_serve("127.0.0.1:0");
    CHECK(port > 0);
    CHECK_EQ(goro_debug_serve(NULL), GORO_EINVAL);

    if (argc > 1) {
        mkdir(argv[1], 0755);
        write_profile(argv[1], "goroutine");
        write_profile(argv[1], "block");
        write_profile(argv[1], "mutex");
        write_profile(argv[1], "cpu");
        char path[512];
        snprintf(path, sizeof path, "%s/port", argv[1]);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fprintf(f, "%d\n", port);
        fclose(f);
        /* trace_pprof.sh asks the debug endpoint too: serve until it is done (it kills us),
           with the goroutines above still parked. */
        const char *serve = getenv("TRACE_SERVE_SECONDS");
        if (serve != NULL) {
            /* A signal (GORO_DUMP_SIGNAL) cuts a sleep short: sleep to the deadline. */
            int64_t until = now_ns() + (int64_t)atoi(serve) * 1000000000;
            while (now_ns() < until)
                usleep(10 * 1000);
        }
    }

    CHECK_OK(goro_chan_close(reachable));
    goro_chan_release(reachable);
    goro_chan_release(slow);
    goro_mutex_free(mu);
    return 0;
}
