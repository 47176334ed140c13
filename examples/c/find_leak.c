/* find_leak.c: finding a leaked goroutine and a slow channel, as a Go user would with
 * goleak and `go tool pprof`.
 *
 * The bug: `first_response` asks three mirrors and takes the first answer, but the channel
 * it gives them is unbuffered, so the two slower mirrors block forever on their send once
 * nobody receives (the classic Go leak; the fix is a buffer of 3). Each asker holds a
 * reference to the channel of its own (handed to it with goro_go_owning), as a careful C
 * program does; goro_leaks still names them, with the line that started them, because only
 * leaked goroutines hold the channel (Go's rule, goro.h "Who owns a reference"). The slow part: `consumer` waits on a channel fed by a
 * slow producer; the block profile shows where the time goes.
 *
 *     ./find_leak /tmp/prof     # writes block, goroutine and goroutineleak .pb.gz there
 *     go tool pprof -top /tmp/prof/block.pb.gz
 *     go tool pprof -top /tmp/prof/goroutineleak.pb.gz     # names ask_mirror
 *
 * The same, live: GORO_DEBUG_ADDR=127.0.0.1:6060 ./find_leak, then
 * `go tool pprof http://127.0.0.1:6060/debug/pprof/goroutineleak` or
 * `curl 127.0.0.1:6060/debug/pprof/goroutine?debug=2` while it runs.
 */
#include "example.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

struct ask {
    int mirror;
    goro_chan *answers; /* a reference of the asker's own (goro_go_owning) */
};

static void ask_mirror(void *arg) {
    struct ask *a = arg;
    goro_sleep(MS(1 + 5 * a->mirror)); /* mirror 0 is the fastest */
    int answer = 100 + a->mirror;
    goro_chan_send(a->answers, &answer); /* the slower ones block here forever */
    goro_chan_release(a->answers);
}

static struct ask asks[3];

/* Returns the first answer; leaks the other two askers (the bug this example finds). */
static int first_response(void) {
    goro_chan *answers = goro_chan_new(sizeof(int), 0); /* BUG: should have room for 3 */
    for (int i = 0; i < 3; i++) {
        /* Each asker gets a reference of its own: it holds the channel while it blocks, which
           is why only Go's rule (goro.h, "Who owns a reference") finds this leak. */
        asks[i] = (struct ask){i, goro_chan_retain(answers)};
        CHECK(goro_go_owning(ask_mirror, &asks[i], &asks[i].answers, 1));
    }
    int first = 0;
    CHECK(goro_chan_recv(answers, &first, NULL));
    goro_sleep(MS(30));            /* the slower mirrors are now blocked in their send */
    goro_chan_release(answers);    /* ... on a channel only they still hold */
    return first;
}

static void producer(void *arg) {
    goro_chan *c = arg;
    for (int i = 0; i < 10; i++) {
        goro_sleep(MS(3)); /* slow */
        CHECK(goro_chan_send(c, &i));
    }
    CHECK(goro_chan_close(c));
}

static void consumer(void *arg) {
    goro_chan *c = arg;
    int v, sum = 0;
    while (goro_chan_recv(c, &v, NULL) == GORO_OK) /* waits ~3 ms per value: the block profile shows it */
        sum += v;
    EXPECT(sum == 45, "sum %d", sum);
}

static void write_profile(const char *dir, const char *kind) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.pb.gz", dir, kind);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    CHECK(goro_profile_write(kind, fd));
    close(fd);
    printf("wrote %s: go tool pprof -top %s\n", path, path);
}

static void run(void *arg) {
    const char *dir = arg;
    goro_set_block_profile_rate(1); /* as runtime.SetBlockProfileRate(1): every wait */

    int first = first_response();
    EXPECT(first == 100, "first answer %d", first);

    goro_chan *c = goro_chan_new(sizeof(int), 0);
    CHECK(goro_go(producer, c));
    CHECK(goro_run(consumer, c)); /* runs it and waits for it */
    goro_chan_release(c);

    /* As goleak.VerifyNone at the end of a test: who is still here, and why? */
    printf("--- goro_leaks:\n");
    fflush(stdout);
    int leaked = goro_leaks(STDOUT_FILENO);
    EXPECT(leaked == 2, "expected the two slower mirrors to leak, found %d", leaked);
    example_leaks_allowed = 2; /* they stay leaked: that is the bug shown here */

    if (dir) {
        mkdir(dir, 0755);
        write_profile(dir, "block");
        write_profile(dir, "goroutine");
        write_profile(dir, "goroutineleak"); /* as Go 1.26's: the two ask_mirror goroutines */
    }
}

int main(int argc, char **argv) {
    CHECK(goro_run(run, argc > 1 ? argv[1] : NULL));
    return example_exit_code("find_leak");
}
