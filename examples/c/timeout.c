/* timeout.c: give up on a slow answer, two ways.
 *
 * 1. select with a timer case (Go: `select { case v := <-result: ...; case <-time.After(d): }`).
 *    goro_after(d) returns a channel that receives one int64_t, the CLOCK_MONOTONIC time it
 *    fired, no earlier than d after the call.
 * 2. goro_chan_recv_timeout(c, &v, &ok, d): the same thing for a single channel. It returns
 *    GORO_ETIMEDOUT when d runs out, and with d == 0 acts as try_recv (GORO_EAGAIN).
 * 3. A deadline for a whole piece of work (Go: `ctx, cancel := context.WithTimeout(ctx, d)`):
 *    goro_ctx_with_timeout(parent, d), passed to every call that may wait (*_ctx); each gives
 *    GORO_EDEADLINE once the deadline has passed, however many calls the work makes.
 *
 * The result channel has capacity 1, as in Go's `make(chan int, 1)`: an answer that comes
 * after the caller gave up still has room, so the late goroutine never blocks forever. It
 * holds its own reference to the channel, so the caller may release its own at any time.
 */
#include "example.h"

struct request {
    int64_t delay;
    goro_chan *result; /* this goroutine's own reference: it releases it */
};

static void answer_after_delay(void *arg) {
    struct request *r = arg;
    goro_sleep(r->delay);
    int v = 42;
    CHECK(goro_chan_send(r->result, &v)); /* capacity 1: never blocks */
    goro_chan_release(r->result);
    free(r);
}

/* Starts a goroutine that answers after `delay`. Returns a channel the caller releases. */
static goro_chan *ask(int64_t delay) {
    goro_chan *result = goro_chan_new(sizeof(int), 1);
    struct request *r = malloc(sizeof *r);
    if (!result || !r) { fprintf(stderr, "allocation failed\n"); exit(1); }
    *r = (struct request){.delay = delay, .result = goro_chan_retain(result)};
    CHECK(goro_go(answer_after_delay, r));
    return result;
}

/* select { case v := <-result: ...; case <-goro_after(timeout): ... }: returns the case index. */
static int select_with_timeout(int64_t delay, int64_t timeout, int *answer, int64_t *elapsed) {
    int64_t start = now_ns();
    goro_chan *result = ask(delay);
    goro_chan *timer = goro_after(timeout);
    if (!timer) { fprintf(stderr, "goro_after failed\n"); exit(1); }
    int64_t fired_at = 0;
    goro_case cases[2] = {
        {.chan = result, .op = GORO_RECV, .elem = answer},
        {.chan = timer, .op = GORO_RECV, .elem = &fired_at},
    };
    int i = goro_select(cases, 2, -1);
    CHECK(i);
    *elapsed = now_ns() - start;
    if (i == 1) {
        printf("  timer fired %.1f ms after the call\n", (double)(fired_at - start) / 1e6);
        EXPECT(fired_at - start >= timeout, "timer fired %.1f ms early",
               (double)(timeout - (fired_at - start)) / 1e6);
    }
    goro_chan_release(timer); /* whether it fired or not */
    goro_chan_release(result);
    return i;
}

int main(void) {
    int answer = 0;
    int64_t elapsed;

    printf("timeout: 1a. answer in 200 ms, timeout 50 ms (select + goro_after)\n");
    int i = select_with_timeout(MS(200), MS(50), &answer, &elapsed);
    printf("  -> %s after %.1f ms\n", i == 1 ? "timed out" : "answered", (double)elapsed / 1e6);
    EXPECT(i == 1, "expected the timeout case, got case %d", i);
    EXPECT(elapsed >= MS(50) && elapsed < MS(200), "took %.1f ms", (double)elapsed / 1e6);

    printf("timeout: 1b. answer in 10 ms, timeout 1 s\n");
    answer = 0;
    i = select_with_timeout(MS(10), MS(1000), &answer, &elapsed);
    printf("  -> %s %d after %.1f ms\n", i == 0 ? "answered" : "timed out", answer,
           (double)elapsed / 1e6);
    EXPECT(i == 0 && answer == 42, "case %d, answer %d", i, answer);

    printf("timeout: 2a. goro_chan_recv_timeout, nothing coming, 30 ms\n");
    goro_chan *quiet = goro_chan_new(sizeof(int), 0);
    if (!quiet) return 1;
    bool ok = true;
    int64_t start = now_ns();
    int rc = goro_chan_recv_timeout(quiet, &answer, &ok, MS(30));
    elapsed = now_ns() - start;
    printf("  -> %s after %.1f ms\n", goro_strerror(rc), (double)elapsed / 1e6);
    EXPECT(rc == GORO_ETIMEDOUT, "got %d", rc);
    EXPECT(elapsed >= MS(30), "gave up after only %.1f ms", (double)elapsed / 1e6);

    printf("timeout: 2b. timeout 0 does not wait\n");
    rc = goro_chan_recv_timeout(quiet, &answer, &ok, 0);
    printf("  -> %s\n", goro_strerror(rc));
    EXPECT(rc == GORO_EAGAIN, "got %d", rc);
    goro_chan_release(quiet);

    printf("timeout: 2c. answer in 10 ms, goro_chan_recv_timeout 1 s\n");
    goro_chan *result = ask(MS(10));
    answer = 0;
    start = now_ns();
    rc = goro_chan_recv_timeout(result, &answer, &ok, MS(1000));
    elapsed = now_ns() - start;
    printf("  -> %s, value %d, ok %d, after %.1f ms\n", goro_strerror(rc), answer, ok,
           (double)elapsed / 1e6);
    EXPECT(rc == GORO_OK && ok && answer == 42, "rc %d ok %d answer %d", rc, ok, answer);
    goro_chan_release(result);

    /* The first answer has 50 ms to spare (a loaded machine can be that late); a second
       can never come before the deadline (it takes 200 ms). */
    printf("timeout: 3. one 150 ms deadline for three 100 ms answers (goro_ctx_with_timeout)\n");
    goro_ctx *bg = goro_ctx_background();
    goro_ctx *ctx = goro_ctx_with_timeout(bg, MS(150));
    if (!bg || !ctx) return 1;
    int got = 0;
    start = now_ns();
    for (int k = 0; k < 3; k++) {
        goro_chan *r = ask(MS(100));
        rc = goro_chan_recv_ctx(r, &answer, &ok, ctx);
        goro_chan_release(r);
        if (rc != GORO_OK) break;
        got++;
    }
    elapsed = now_ns() - start;
    printf("  -> %d answers, then %s after %.1f ms\n", got, goro_strerror(rc),
           (double)elapsed / 1e6);
    EXPECT(got == 1 && rc == GORO_EDEADLINE, "%d answers, then %d", got, rc);
    EXPECT(elapsed >= MS(150) && elapsed < MS(1000), "took %.1f ms", (double)elapsed / 1e6);
    goro_ctx_cancel(ctx); /* as Go code defers cancel(): frees its timer early */
    goro_ctx_release(ctx);
    goro_ctx_release(bg);

    /* The 200 ms answer from 1a may still be on its way: let it finish so that nothing is
     * left running at exit (harmless either way: parked goroutines are abandoned at exit). */
    goro_sleep(MS(200));
    return example_exit_code("timeout");
}
