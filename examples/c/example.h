/* example.h: the few helpers every goro C example shares. Not part of goro.
 *
 * CHECK(call)      a goro call that must not fail: on a negative status, print what failed
 *                  (with goro_strerror's words) and exit(1), from any goroutine or thread.
 * EXPECT(cond,...) a result the example verifies: on failure, print it and count it;
 *                  main returns example_exit_code() at the end (0 only if nothing failed).
 * now_ns(), MS(x)  CLOCK_MONOTONIC nanoseconds, the clock goro's timers use; x milliseconds.
 * example_exit_code(name) also fails an example that leaks goroutines (goro_leaks), beyond
 *                  example_leaks_allowed.
 */
#ifndef GORO_EXAMPLE_H
#define GORO_EXAMPLE_H

/* Before any system header: clock_gettime and mkstemp under -std=c11. Include this first. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <goro.h>

#define MS(x) ((int64_t)(x) * 1000000)

#define CHECK(call)                                                                   \
    do {                                                                              \
        int check_rc_ = (call);                                                       \
        if (check_rc_ < 0) {                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s (%d)\n", __FILE__, __LINE__, #call, \
                    goro_strerror(check_rc_), check_rc_);                             \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

static int example_failures;

#define EXPECT(cond, ...)                                                             \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            example_failures++;                                                       \
        }                                                                             \
    } while (0)

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline double ms_since(int64_t start_ns) { return (double)(now_ns() - start_ns) / 1e6; }

/* Goroutines an example leaks on purpose (find_leak); any other leak at the end fails it. */
static int example_leaks_allowed;

/* Print the verdict and give main its exit status. Also checks, as goleak.VerifyNone at the
   end of a Go test, that goro_leaks reports no leaked goroutine beyond those allowed. */
static inline int example_exit_code(const char *name) {
    fflush(stdout);
    int leaked = goro_leaks(-1);
    if (leaked > example_leaks_allowed) {
        fprintf(stderr, "%s: %d leaked goroutine(s):\n", name, leaked);
        goro_leaks(2);
        example_failures++;
    }
    if (example_failures) {
        fprintf(stderr, "%s: %d check(s) FAILED\n", name, example_failures);
        return 1;
    }
    printf("%s: OK\n", name);
    return 0;
}

#endif
