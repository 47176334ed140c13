/* pipeline.c: three stages joined by channels: generate -> square -> sum.
 *
 * The Go it mirrors (https://go.dev/blog/pipelines):
 *
 *     func gen(n int) <-chan int       { out := make(chan int); go func() { for i := 1; i <= n; i++ { out <- i }; close(out) }(); return out }
 *     func sq(in <-chan int) <-chan int { out := make(chan int); go func() { for v := range in { out <- v * v }; close(out) }(); return out }
 *     for v := range sq(gen(n)) { sum += v }
 *
 * "range" in C: receive until the call returns GORO_ECLOSED, which a closed channel gives
 * once its buffered values are drained. Each stage closes its output when its input ends,
 * so the end of the data flows down the pipeline like the data itself.
 *
 * Handles are reference counted: each goroutine gets its own reference (goro_chan_retain)
 * and releases it when it returns, so no stage needs to know who else still uses a channel.
 */
#include "example.h"

#define N 100

struct stage {
    goro_chan *in;  /* owned reference, or NULL for the first stage */
    goro_chan *out; /* owned reference */
};

/* Each stage copies its handles out of *arg first: once it closes its output, main may
 * finish and its stack (where the struct stage lives) is gone. */
static void generate(void *arg) {
    goro_chan *out = ((struct stage *)arg)->out;
    for (long i = 1; i <= N; i++) CHECK(goro_chan_send(out, &i));
    CHECK(goro_chan_close(out));
    goro_chan_release(out);
}

static void square(void *arg) {
    goro_chan *in = ((struct stage *)arg)->in, *out = ((struct stage *)arg)->out;
    long v;
    int rc;
    while ((rc = goro_chan_recv(in, &v, NULL)) == GORO_OK) { /* for v := range in */
        long sq = v * v;
        CHECK(goro_chan_send(out, &sq));
    }
    if (rc != GORO_ECLOSED) CHECK(rc);
    CHECK(goro_chan_close(out));
    goro_chan_release(in);
    goro_chan_release(out);
}

int main(void) {
    /* numbers: unbuffered, each send waits for square; squares: a buffer of 8 lets square run ahead. */
    goro_chan *numbers = goro_chan_new(sizeof(long), 0);
    goro_chan *squares = goro_chan_new(sizeof(long), 8);
    if (!numbers || !squares) { fprintf(stderr, "goro_chan_new failed\n"); return 1; }

    struct stage gen_stage = {.in = NULL, .out = goro_chan_retain(numbers)};
    struct stage sq_stage = {.in = goro_chan_retain(numbers), .out = goro_chan_retain(squares)};
    printf("pipeline: generate 1..%d -> square -> sum\n", N);
    CHECK(goro_go(generate, &gen_stage));
    CHECK(goro_go(square, &sq_stage));
    goro_chan_release(numbers); /* main never touches it; the two stages hold their own */

    long v, sum = 0, count = 0;
    int rc;
    bool ok;
    while ((rc = goro_chan_recv(squares, &v, &ok)) == GORO_OK) {
        if (count < 5 || count == N - 1) printf("  received %ld\n", v);
        if (count == 5) printf("  ...\n");
        sum += v;
        count++;
    }
    long expected = (long)N * (N + 1) * (2 * N + 1) / 6;
    printf("pipeline: channel closed after %ld values (recv -> %s, ok = %d, value zeroed to %ld)\n",
           count, goro_strerror(rc), ok, v);
    printf("pipeline: sum of squares 1..%d = %ld (expected %ld)\n", N, sum, expected);

    EXPECT(rc == GORO_ECLOSED && !ok && v == 0, "end of range: rc %d ok %d v %ld", rc, ok, v);
    EXPECT(count == N, "received %ld values", count);
    EXPECT(sum == expected, "sum %ld", sum);
    /* A closed, drained channel answers at once, every time. */
    EXPECT(goro_chan_recv(squares, &v, NULL) == GORO_ECLOSED, "second receive after close");

    goro_chan_release(squares);
    return example_exit_code("pipeline");
}
