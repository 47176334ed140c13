/* Goroutine stacks (CONTRACT.md: at least 256 KiB usable by default, settable with the
 * environment variable GORO_STACK_SIZE and per goroutine with goro_go_ex):
 *
 * - a goroutine can use 240 KiB of stack by default (256 KiB less room for the runtime's
 *   own frames above the goroutine's first);
 * - with goro_go_ex stack_size = 1 MiB it can use 900 KiB;
 * - with GORO_STACK_SIZE = 4 MiB (in bytes) a goroutine can use 3 MiB;
 * - a goroutine recursing without bound kills the process with SIGABRT or SIGSEGV after
 *   printing "goroutine N: stack overflow" on stderr, N being its goro_id; so does one
 *   whose smaller stack (goro_go_ex 256 KiB, or GORO_STACK_SIZE = 256 KiB) cannot hold
 *   4 MiB, which shows the sizes are really applied.
 *
 * Each case runs in a child process (this program with a mode argument), since an
 * overflow ends the process. Stack use is measured, not guessed: the recursion goes on
 * until the distance from the goroutine's first frame reaches the target.
 * Under sanitizers the sanitizer's own signal handler reports the crash, so only "the
 * child died" is checked there.
 */
#include "golike.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

static char *stack_top;

/* Uses about 1 KiB per frame, touching both ends, so no guard page is ever skipped. */
__attribute__((noinline)) static long use_stack(size_t target)
{
    volatile char buf[1024];
    buf[0] = 1;
    buf[sizeof buf - 1] = 2;
    size_t used = (size_t)(stack_top - (char *)buf);
    long r = 0;
    if (used < target)
        r = use_stack(target);
    return r + buf[0] + buf[sizeof buf - 1]; /* not a tail call */
}

struct job {
    size_t target;
    goro_chan *done;
};

static void user(void *arg)
{
    struct job *j = arg;
    char top;
    stack_top = &top;
    fprintf(stderr, "test goroutine id=%llu uses %zu KiB of stack\n",
            (unsigned long long)goro_id(), j->target / KiB);
    fflush(stderr);
    long r = use_stack(j->target);
    CHECK(r > 0);
    send_i64(j->done, 1);
}

/* Runs a goroutine using `target` bytes of stack (opts may be NULL); returns if it fits. */
static int child_use(size_t target, size_t stack_size)
{
    struct job j = { target, NULL };
    j.done = goro_chan_new(sizeof(int64_t), 0);
    CHECK(j.done != NULL);
    if (stack_size) {
        goro_go_opts opts = { stack_size, "stack user", 0 };
        CHECK_OK(goro_go_ex(user, &j, &opts));
    } else {
        CHECK_OK(goro_go(user, &j));
    }
    CHECK_EQ(recv_i64(j.done), 1);
    fprintf(stderr, "ok\n");
    return 0;
}

static void forever_root(void *unused)
{
    char top;
    stack_top = &top;
    fprintf(stderr, "test goroutine id=%llu recurses without bound\n",
            (unsigned long long)goro_id());
    fflush(stderr);
    use_stack(SIZE_MAX);
}

static void overflow_child_goroutine(void *unused)
{
    goro_chan *never = goro_chan_new(0, 0);
    CHECK_OK(goro_go(forever_root, NULL));
    goro_chan_recv(never, NULL, NULL);
}

/* ---- the parent side ------------------------------------------------------------------------- */

static void expect_fits(const char *mode, char *const env[])
{
    struct child_result r;
    run_self(mode, env, &r);
    print_child(mode, &r);
    CHECK_MSG(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "child %s failed", mode);
    CHECK(strstr(r.err, "ok\n") != NULL);
}

/* Finds "goroutine <N>: stack overflow" in s, allowing the goroutine's name in quotes
   after N ("goroutine 7 \"worker\": stack overflow"); returns N, or 0 if absent. */
TEST_UNUSED static unsigned long long overflow_message(const char *s)
{
    for (const char *p = strstr(s, "goroutine "); p; p = strstr(p + 1, "goroutine ")) {
        char *end = NULL;
        unsigned long long n = strtoull(p + strlen("goroutine "), &end, 10);
        if (end == p + strlen("goroutine "))
            continue;
        if (strncmp(end, " \"", 2) == 0) { /* a name */
            const char *close = strchr(end + 2, '"');
            if (!close)
                continue;
            end = (char *)close + 1;
        }
        if (strncmp(end, ": stack overflow", 16) == 0)
            return n;
    }
    return 0;
}

static void expect_overflow(const char *mode, char *const env[])
{
    struct child_result r;
    run_self(mode, env, &r);
    print_child(mode, &r);
    CHECK_MSG(!(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0),
              "child %s should have died of a stack overflow", mode);
#ifndef GORO_TEST_SANITIZED
    CHECK_MSG(WIFSIGNALED(r.status) &&
                  (WTERMSIG(r.status) == SIGABRT || WTERMSIG(r.status) == SIGSEGV),
              "child %s: expected death by SIGABRT or SIGSEGV", mode);
    unsigned long long n = overflow_message(r.err);
    CHECK_MSG(n != 0, "child %s: no \"goroutine N: stack overflow\" on stderr", mode);
    const char *m = strstr(r.err, "test goroutine id=");
    CHECK(m != NULL);
    unsigned long long id = strtoull(m + strlen("test goroutine id="), NULL, 10);
    CHECK_MSG(n == id, "child %s: overflow reported for goroutine %llu, not %llu",
              mode, n, id);
#endif
}

static void parent(void *unused)
{
    char *plain[] = { "GORO_STACK_SIZE", NULL };
    expect_fits("use-240k", plain);
    expect_fits("use-900k-ex-1m", plain);
    char *big[] = { "GORO_STACK_SIZE=4194304", NULL };
    expect_fits("use-3m", big);

    expect_overflow("overflow", plain);
    expect_overflow("overflow-root", plain);
    expect_overflow("use-4m-ex-256k", plain);
    char *small[] = { "GORO_STACK_SIZE=262144", NULL };
    expect_overflow("use-4m", small);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        const char *m = argv[1];
        fprintf(stderr, "mode %s, GORO_STACK_SIZE=%s\n", m,
                getenv("GORO_STACK_SIZE") ? getenv("GORO_STACK_SIZE") : "(unset)");
        if (strcmp(m, "use-240k") == 0)
            return child_use(240 * KiB, 0);
        if (strcmp(m, "use-900k-ex-1m") == 0)
            return child_use(900 * KiB, 1 * MiB);
        if (strcmp(m, "use-3m") == 0)
            return child_use(3 * MiB, 0);
        if (strcmp(m, "use-4m") == 0)
            return child_use(4 * MiB, 0);
        if (strcmp(m, "use-4m-ex-256k") == 0)
            return child_use(4 * MiB, 256 * KiB);
        if (strcmp(m, "overflow") == 0) {
            CHECK_OK(goro_run(overflow_child_goroutine, NULL));
            return 0;
        }
        if (strcmp(m, "overflow-root") == 0) {
            CHECK_OK(goro_run(forever_root, NULL));
            return 0;
        }
        TEST_FAIL("unknown mode %s", m);
    }
    STEP_THREAD(parent);
    return 0;
}
