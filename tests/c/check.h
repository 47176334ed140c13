/* check.h: the few helpers every goro C test shares.
 *
 * Assertions print file:line, the expression and both values, then abort(), so a failure
 * shows up in `ctest --output-on-failure` with a core-dump-able stack. There is no test
 * framework on purpose: each test is one small program, and a program that returns from
 * main() has passed.
 *
 * scale() shrinks iteration counts under slow checkers (sanitizers, valgrind): it reads
 * GORO_TEST_SCALE (a positive real, e.g. 0.1), falling back to GORO_TEST_DEFAULT_SCALE,
 * which CMake sets to 0.1 when GORO_SANITIZE is on. Only counts scale; timings never do.
 */
#ifndef GORO_TESTS_CHECK_H
#define GORO_TESTS_CHECK_H

/* pipe2, pthread_setaffinity_np, CPU_COUNT: tests include this header before any other. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <goro.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef GORO_TEST_DEFAULT_SCALE
#define GORO_TEST_DEFAULT_SCALE 1.0
#endif

#define TEST_UNUSED __attribute__((unused))

#ifdef GORO_TEST_ASAN
/* goro_chan_new must answer NULL for a buffer no machine has (contract_chan): under ASan
   malloc has to be allowed to say so instead of aborting. ASAN_OPTIONS still overrides. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
#endif

/* ---- assertions ---------------------------------------------------------------------- */

TEST_UNUSED static const char *status_name(long long s)
{
    switch (s) {
    case GORO_OK: return "GORO_OK";
    case GORO_ECLOSED: return "GORO_ECLOSED";
    case GORO_ETIMEDOUT: return "GORO_ETIMEDOUT";
    case GORO_EAGAIN: return "GORO_EAGAIN";
    case GORO_EINVAL: return "GORO_EINVAL";
    case GORO_ENOMEM: return "GORO_ENOMEM";
    case GORO_ESHUTDOWN: return "GORO_ESHUTDOWN";
#ifdef GORO_EINTR
    case GORO_EINTR: return "GORO_EINTR";
#endif
#ifdef GORO_EINTERNAL
    case GORO_EINTERNAL: return "GORO_EINTERNAL";
#endif
    default: return "?";
    }
}

#define TEST_FAIL(...)                                                                     \
    do {                                                                                   \
        fflush(stdout); /* what the test printed so far comes first */                     \
        fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);                              \
        fprintf(stderr, __VA_ARGS__);                                                      \
        fprintf(stderr, "\n");                                                             \
        fflush(stderr);                                                                    \
        abort();                                                                           \
    } while (0)

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond))                                                                       \
            TEST_FAIL("CHECK(%s)", #cond);                                                 \
    } while (0)

/* Like CHECK, with a printf-style explanation of the values involved. */
#define CHECK_MSG(cond, ...)                                                               \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fflush(stdout);                                                                \
            fprintf(stderr, "%s:%d: FAIL: CHECK(%s): ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
            fflush(stderr);                                                                \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* Integers of any width; each side is evaluated once. Values are printed in decimal, in
   hex, and, when they look like goro status codes, by name. */
#define CHECK_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long check_a_ = (long long)(a);                                               \
        long long check_b_ = (long long)(b);                                               \
        if (check_a_ != check_b_)                                                          \
            TEST_FAIL("CHECK_EQ(%s, %s): %lld (%#llx, %s) != %lld (%#llx, %s)", #a, #b,    \
                      check_a_, (unsigned long long)check_a_, status_name(check_a_),       \
                      check_b_, (unsigned long long)check_b_, status_name(check_b_));      \
    } while (0)

#define CHECK_NE(a, b)                                                                     \
    do {                                                                                   \
        long long check_a_ = (long long)(a);                                               \
        long long check_b_ = (long long)(b);                                               \
        if (check_a_ == check_b_)                                                          \
            TEST_FAIL("CHECK_NE(%s, %s): both %lld (%s)", #a, #b, check_a_,                \
                      status_name(check_a_));                                              \
    } while (0)

/* a <= b, for "no earlier than" and "at most" checks. */
#define CHECK_LE(a, b)                                                                     \
    do {                                                                                   \
        long long check_a_ = (long long)(a);                                               \
        long long check_b_ = (long long)(b);                                               \
        if (!(check_a_ <= check_b_))                                                       \
            TEST_FAIL("CHECK_LE(%s, %s): %lld > %lld", #a, #b, check_a_, check_b_);        \
    } while (0)

#define CHECK_OK(expr) CHECK_EQ((expr), GORO_OK)

/* ---- scale ----------------------------------------------------------------------------- */

TEST_UNUSED static double scale(void)
{
    static double cached = 0.0;
    if (cached > 0.0)
        return cached;
    double s = GORO_TEST_DEFAULT_SCALE;
    const char *env = getenv("GORO_TEST_SCALE");
    if (env && *env) {
        char *end = NULL;
        double v = strtod(env, &end);
        if (end != env && v > 0.0)
            s = v;
    }
    cached = s;
    return s;
}

/* n scaled, never below `floor_n` (a loop that must still mean something). */
TEST_UNUSED static long scaled(long n, long floor_n)
{
    double v = (double)n * scale();
    long r = (long)v;
    return r < floor_n ? floor_n : r;
}

/* ---- time ------------------------------------------------------------------------------ */

#define MS (1000000LL)
#define US (1000LL)
#define SEC (1000000000LL)

TEST_UNUSED static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

/* Blocks the OS thread (not a goro call): used where a test wants a plain syscall. */
TEST_UNUSED static void os_sleep_ns(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / SEC), (long)(ns % SEC) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- seeded randomness -------------------------------------------------------------------
   Every test that makes random choices prints its seed; GORO_TEST_SEED replays one. */

TEST_UNUSED static uint64_t test_seed(const char *test_name)
{
    uint64_t seed;
    const char *env = getenv("GORO_TEST_SEED");
    if (env && *env)
        seed = strtoull(env, NULL, 0);
    else
        seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    printf("%s: seed %" PRIu64 " (replay with GORO_TEST_SEED=%" PRIu64 ")\n", test_name, seed,
           seed);
    fflush(stdout);
    return seed;
}

/* splitmix64: one 64-bit word of state, good enough to drive interleavings. */
TEST_UNUSED static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

TEST_UNUSED static uint64_t rng_below(uint64_t *state, uint64_t n)
{
    return n ? rng_next(state) % n : 0;
}

/* ---- reports ----------------------------------------------------------------------------- */

/* What a reporting call (goro_leaks, goro_dump) writes to an fd, as a malloc'd C string; the
   call's own result goes to *result. */
TEST_UNUSED static char *check_capture(int (*write)(int fd), int *result)
{
    char path[] = "/tmp/goro-check-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    *result = write(fd);
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    CHECK(buf != NULL);
    CHECK_EQ(pread(fd, buf, (size_t)n, 0), (ssize_t)n);
    close(fd);
    return buf;
}

/* ---- no leaked goroutines at exit --------------------------------------------------- */

/* Every test program checks, when it exits normally (returns from main or calls exit), that
   goro_leaks reports no more leaked goroutines than it allowed with check_allow_leaks (none
   by default), as goleak.VerifyNone at the end of a Go test binary; otherwise it prints the
   report and exits with status 1. A failed CHECK aborts and skips this. goro_leaks never
   reports a goroutine that can still run, so a program that leaks nothing passes. */
static int check_leaks_allowed_ TEST_UNUSED = 0;

/* Allows `n` leaked goroutines at exit (a test that leaks on purpose). */
TEST_UNUSED static void check_allow_leaks(int n)
{
    check_leaks_allowed_ = n;
}

static void check_leaks_at_exit_(void)
{
    int n = goro_leaks(-1);
    if (n > check_leaks_allowed_) {
        fflush(stdout);
        fprintf(stderr, "FAIL: %d leaked goroutine(s) at exit (%d allowed):\n", n,
                check_leaks_allowed_);
        goro_leaks(STDERR_FILENO);
        fflush(stderr);
        _exit(1);
    }
}

__attribute__((constructor)) static void check_leaks_install_(void)
{
    atexit(check_leaks_at_exit_);
}

#endif /* GORO_TESTS_CHECK_H */
