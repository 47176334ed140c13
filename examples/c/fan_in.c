/* fan_in.c: a slice of channels, one producer goroutine per channel, collected in one loop.
 *
 * The Go it mirrors (merge with select; a nil channel is never ready):
 *
 *     chans := make([]chan int, n)
 *     for i := range chans { chans[i] = make(chan int); go produce(i, chans[i]) }
 *     for open := n; open > 0; {
 *         // select over every chans[i]; on `v, ok := <-chans[i]` with !ok: chans[i] = nil; open--
 *     }
 *
 * goro_select takes an array of cases, so "select over a slice" is just that array. When a
 * producer closes its channel, its case's channel becomes NULL: never ready again, exactly as
 * Go's nil channel, so the loop keeps waiting only on the producers still running.
 */
#include "example.h"

#define PRODUCERS 5
#define PER_PRODUCER 4

struct producer {
    int id;
    goro_chan *out; /* borrowed: main keeps the channel alive until everything is done */
};

static void produce(void *arg) {
    struct producer *p = arg;
    for (int k = 0; k < PER_PRODUCER; k++) {
        /* An uneven pace per producer, so the streams interleave. */
        goro_sleep(MS(1 + (p->id * 7 + k * 3) % 5));
        int v = p->id * 100 + k; /* the value says who sent it and in which order */
        CHECK(goro_chan_send(p->out, &v));
    }
    CHECK(goro_chan_close(p->out)); /* "no more values": the receiver sees ok = false */
}

int main(void) {
    goro_chan *chans[PRODUCERS];
    struct producer producers[PRODUCERS];
    goro_case cases[PRODUCERS];
    int values[PRODUCERS];           /* cases[i] receives into values[i] */
    int received[PRODUCERS] = {0};   /* how many values came from producer i */

    printf("fan_in: %d producers, each with its own unbuffered channel\n", PRODUCERS);
    for (int i = 0; i < PRODUCERS; i++) {
        chans[i] = goro_chan_new(sizeof(int), 0);
        if (!chans[i]) { fprintf(stderr, "goro_chan_new failed\n"); return 1; }
        producers[i] = (struct producer){.id = i, .out = chans[i]};
        cases[i] = (goro_case){.chan = chans[i], .op = GORO_RECV, .elem = &values[i]};
        CHECK(goro_go(produce, &producers[i]));
    }

    int open = PRODUCERS, total = 0;
    while (open > 0) {
        int i = goro_select(cases, PRODUCERS, -1); /* -1: wait as long as it takes */
        CHECK(i);
        if (!cases[i].ok) {
            printf("  channel %d closed\n", i);
            cases[i].chan = NULL; /* nil channel: never selected again */
            open--;
            continue;
        }
        printf("  channel %d -> %d\n", i, values[i]);
        EXPECT(values[i] / 100 == i, "value %d arrived on channel %d", values[i], i);
        EXPECT(values[i] % 100 == received[i], "producer %d out of order: %d", i, values[i]);
        received[i]++;
        total++;
    }

    printf("fan_in: collected %d values from %d channels\n", total, PRODUCERS);
    EXPECT(total == PRODUCERS * PER_PRODUCER, "collected %d values", total);
    for (int i = 0; i < PRODUCERS; i++) {
        EXPECT(received[i] == PER_PRODUCER, "producer %d delivered %d", i, received[i]);
        goro_chan_release(chans[i]);
    }
    return example_exit_code("fan_in");
}
