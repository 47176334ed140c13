/* goro_fd_wait and goro_fd_close, rule by rule (CONTRACT.md, "I/O that parks the goroutine"):
 *
 * - GORO_OK when ready, GORO_EAGAIN for timeout 0 and not ready, GORO_ETIMEDOUT no earlier
 *   than the timeout, GORO_EINVAL for a negative, closed or huge fd and for bad events;
 * - regular files, /dev/null and directories (epoll refuses them) are ready at once;
 * - from a goroutine and from a plain thread alike, write readiness, both events at once;
 * - EOF (writer closed) and a hung-up pipe count as readable;
 * - goro_fd_close: GORO_EINVAL for a bad fd; a waiter gets GORO_ECLOSED; the fd number may be
 *   reused at once and waits on the new file work;
 * - the read and write calls on top: counts, EOF as 0, EAGAIN/ETIMEDOUT, bad arguments, and
 *   GORO_ESYS - errno with goro_os_errno.
 */
#include "check.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

static void basic_statuses(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(goro_fd_wait(p[0], GORO_FD_READ, 0), GORO_EAGAIN);
    int64_t t0 = now_ns();
    CHECK_EQ(goro_fd_wait(p[0], GORO_FD_READ, 20 * MS), GORO_ETIMEDOUT);
    CHECK_LE(20 * MS, now_ns() - t0);
    CHECK_OK(goro_fd_wait(p[1], GORO_FD_WRITE, 0));
    CHECK_OK(goro_fd_wait(p[1], GORO_FD_WRITE, -1));
    CHECK_EQ(goro_fd_wait(p[0], GORO_FD_READ | GORO_FD_WRITE, 0), GORO_EAGAIN);
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_OK(goro_fd_wait(p[0], GORO_FD_READ, 0));
    CHECK_OK(goro_fd_wait(p[0], GORO_FD_READ, -1));
    /* Still ready: nobody read. */
    CHECK_OK(goro_fd_wait(p[0], GORO_FD_READ, 10 * MS));
    char c;
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK_EQ(goro_fd_wait(p[0], GORO_FD_READ, 0), GORO_EAGAIN);

    /* Bad arguments. */
    CHECK_EQ(goro_fd_wait(-1, GORO_FD_READ, 0), GORO_EINVAL);
    CHECK_EQ(goro_fd_wait(-1, GORO_FD_READ, -1), GORO_EINVAL);
    CHECK_EQ(goro_fd_wait(p[0], 0, -1), GORO_EINVAL);
    CHECK_EQ(goro_fd_wait(p[0], 4, -1), GORO_EINVAL);
    CHECK_EQ(goro_fd_wait(p[0], -1, -1), GORO_EINVAL);
    CHECK_EQ(goro_fd_wait(1 << 30, GORO_FD_READ, -1), GORO_EINVAL);
    CHECK_EQ(goro_fd_wait(0x7fffffff, GORO_FD_READ, 0), GORO_EINVAL);
    CHECK_EQ(goro_fd_close(-1), GORO_EINVAL);
    CHECK_EQ(goro_fd_close(1 << 29), GORO_EINVAL);

    /* EOF is readable; so is a pipe with no writer. */
    CHECK_OK(goro_fd_close(p[1]));
    CHECK_OK(goro_fd_wait(p[0], GORO_FD_READ, -1));
    CHECK_OK(goro_fd_close(p[0]));
    /* A closed fd (nothing reused it yet: dup a high number and close it). */
    int hi = fcntl(0, F_DUPFD, 900);
    CHECK(hi >= 900);
    CHECK_EQ(close(hi), 0);
    CHECK_EQ(goro_fd_wait(hi, GORO_FD_READ, -1), GORO_EINVAL);
    CHECK_EQ(goro_fd_close(hi), GORO_EINVAL);
}

static void refused_by_epoll(void)
{
    char path[] = "/tmp/goro_io_fd_wait_XXXXXX";
    int f = mkstemp(path);
    CHECK(f >= 0);
    unlink(path);
    CHECK_OK(goro_fd_wait(f, GORO_FD_READ, -1));
    CHECK_OK(goro_fd_wait(f, GORO_FD_WRITE, -1));
    CHECK_OK(goro_fd_wait(f, GORO_FD_READ | GORO_FD_WRITE, 0));
    CHECK_EQ(goro_write(f, "hello", 5, -1), 5);
    CHECK_EQ(lseek(f, 0, SEEK_SET), 0);
    char buf[8] = { 0 };
    CHECK_EQ(goro_read(f, buf, sizeof buf, -1), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(goro_read(f, buf, sizeof buf, -1), 0); /* EOF */
    CHECK_OK(goro_fd_close(f));

    int dn = open("/dev/null", O_RDWR);
    CHECK(dn >= 0);
    CHECK_OK(goro_fd_wait(dn, GORO_FD_READ, -1));
    CHECK_OK(goro_fd_close(dn));
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    CHECK(dir >= 0);
    CHECK_OK(goro_fd_wait(dir, GORO_FD_READ, 0));
    CHECK_OK(goro_fd_close(dir));
}

/* ---- from a goroutine -------------------------------------------------------------------- */

struct pair {
    int rd, wr;
    atomic_int stage;
    int result;
};

static void waiter_g(void *arg)
{
    struct pair *pp = arg;
    CHECK(goro_id() != 0);
    atomic_store(&pp->stage, 1);
    pp->result = goro_fd_wait(pp->rd, GORO_FD_READ, 5 * SEC);
    char c;
    CHECK_EQ(goro_read(pp->rd, &c, 1, 0), 1);
    CHECK_EQ(c, 'g');
    /* Timeouts from a goroutine. */
    CHECK_EQ(goro_fd_wait(pp->rd, GORO_FD_READ, 0), GORO_EAGAIN);
    int64_t t0 = now_ns();
    CHECK_EQ(goro_fd_wait(pp->rd, GORO_FD_READ, 10 * MS), GORO_ETIMEDOUT);
    CHECK_LE(10 * MS, now_ns() - t0);
    CHECK_EQ(goro_read(pp->rd, &c, 1, 0), GORO_EAGAIN);
    t0 = now_ns();
    CHECK_EQ(goro_read(pp->rd, &c, 1, 10 * MS), GORO_ETIMEDOUT);
    CHECK_LE(10 * MS, now_ns() - t0);
}

static void *late_writer(void *arg)
{
    struct pair *pp = arg;
    while (atomic_load(&pp->stage) == 0)
        os_sleep_ns(MS);
    os_sleep_ns(20 * MS);
    CHECK_EQ(write(pp->wr, "g", 1), 1);
    return NULL;
}

static void from_goroutine_real(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    struct pair pp = { .rd = p[0], .wr = p[1] };
    atomic_init(&pp.stage, 0);
    pp.result = 99;
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, late_writer, &pp), 0);
    CHECK_OK(goro_run(waiter_g, &pp));
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_OK(pp.result);
    CHECK_OK(goro_fd_close(p[0]));
    CHECK_OK(goro_fd_close(p[1]));
}

/* ---- a plain thread woken by a goroutine, write readiness, eventfd ---------------------- */

struct drain {
    int rd;
    goro_waitgroup *done;
};

static void fill_then_drain(void *arg)
{
    struct drain *d = arg;
    os_sleep_ns(20 * MS);
    char buf[4096];
    /* Drain everything the main thread stuffed in: its write wait must end. */
    while (goro_read(d->rd, buf, sizeof buf, 0) > 0) {
    }
    CHECK_OK(goro_wg_done(d->done));
}

static void write_readiness(void)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
    char buf[4096];
    memset(buf, 'w', sizeof buf);
    while (write(p[1], buf, sizeof buf) > 0) {
    }
    CHECK_EQ(errno, EAGAIN);
    CHECK_EQ(goro_fd_wait(p[1], GORO_FD_WRITE, 0), GORO_EAGAIN);
    /* The drainer is joined before the fds close: still reading, it could read the number
     * reused by the eventfd below (and its stack args must outlive it). */
    struct drain d = { .rd = p[0], .done = goro_wg_new() };
    CHECK_OK(goro_wg_add(d.done, 1));
    CHECK_OK(goro_go(fill_then_drain, &d));
    CHECK_OK(goro_fd_wait(p[1], GORO_FD_WRITE, 5 * SEC));
    CHECK_OK(goro_wg_wait(d.done));
    goro_wg_free(d.done);
    CHECK_OK(goro_fd_close(p[0]));
    CHECK_OK(goro_fd_close(p[1]));

    int e = eventfd(0, EFD_NONBLOCK);
    CHECK(e >= 0);
    CHECK_EQ(goro_fd_wait(e, GORO_FD_READ, 0), GORO_EAGAIN);
    CHECK_OK(goro_fd_wait(e, GORO_FD_WRITE, 0));
    uint64_t one = 1;
    CHECK_EQ(write(e, &one, 8), 8);
    CHECK_OK(goro_fd_wait(e, GORO_FD_READ, -1));
    CHECK_OK(goro_fd_close(e));
}

/* ---- close while waiting; reuse of the number ------------------------------------------- */

struct closer {
    int fd;
    int result;
    goro_waitgroup *wg;
};

static void wait_closed_g(void *arg)
{
    struct closer *c = arg;
    c->result = goro_fd_wait(c->fd, GORO_FD_READ, 10 * SEC);
    CHECK_OK(goro_wg_done(c->wg));
}

static void close_wakes_and_reuse(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    goro_waitgroup *wg = goro_wg_new();
    struct closer c = { .fd = p[0], .result = 99, .wg = wg };
    CHECK_OK(goro_wg_add(wg, 1));
    CHECK_OK(goro_go(wait_closed_g, &c));
    os_sleep_ns(30 * MS);
    int64_t t0 = now_ns();
    CHECK_OK(goro_fd_close(p[0]));
    CHECK_OK(goro_wg_wait(wg));
    CHECK_LE(now_ns() - t0, 2 * SEC);
    CHECK_EQ(c.result, GORO_ECLOSED);
    goro_wg_free(wg);

    /* The number comes back for the next file at once; waits on it work. */
    int q[2];
    CHECK_EQ(pipe(q), 0);
    CHECK_EQ(goro_fd_wait(q[0], GORO_FD_READ, 0), GORO_EAGAIN);
    CHECK_EQ(write(q[1], "r", 1), 1);
    CHECK_OK(goro_fd_wait(q[0], GORO_FD_READ, -1));
    CHECK_OK(goro_fd_close(q[0]));
    CHECK_OK(goro_fd_close(q[1]));
    CHECK_OK(goro_fd_close(p[1]));
}

static void read_write_errors(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    char b[4];
    CHECK_EQ(goro_read(p[0], NULL, 4, 0), GORO_EINVAL);
    CHECK_EQ(goro_write(p[1], NULL, 4, 0), GORO_EINVAL);
    CHECK_EQ(goro_read(p[0], NULL, 0, 0), 0); /* as read(2) of 0 bytes */
    CHECK_EQ(goro_write(p[1], NULL, 0, 0), 0);
    CHECK_EQ(goro_read(-5, b, 4, 0), GORO_EINVAL);
    CHECK_EQ(goro_write(-5, b, 4, 0), GORO_EINVAL);
    /* Writing to the read end: EBADF from the kernel, as a value. */
    ptrdiff_t r = goro_write(p[0], "x", 1, 0);
    CHECK_EQ(r, GORO_ESYS - EBADF);
    CHECK_EQ(goro_os_errno(r), EBADF);
    CHECK_EQ(goro_os_errno(GORO_ETIMEDOUT), 0);
    CHECK_EQ(goro_os_errno(5), 0);
    CHECK(strstr(goro_strerror((int)r), "operating system") != NULL);
    CHECK_EQ(goro_write(p[1], "abc", 3, -1), 3);
    CHECK_EQ(goro_read(p[0], b, 4, -1), 3);
    CHECK_OK(goro_fd_close(p[1]));
    CHECK_EQ(goro_read(p[0], b, 4, -1), 0);
    CHECK_OK(goro_fd_close(p[0]));
}

/* "This pipe has data, or this channel a value, or the timeout": one goro_select. */
struct fdsel {
    int fd;
    goro_chan *cancel;
    int index;
    bool ok;
    goro_waitgroup *wg;
};

static void select_fd_or_chan_g(void *arg)
{
    struct fdsel *s = arg;
    goro_case cs[2] = {
        { .chan = s->cancel, .op = GORO_RECV, .elem = NULL },
        { .chan = NULL, .op = GORO_FD_READABLE, .elem = &s->fd },
    };
    s->index = goro_select(cs, 2, 10 * SEC);
    s->ok = s->index >= 0 ? cs[s->index].ok : false;
    CHECK_OK(goro_wg_done(s->wg));
}

static void select_with_fds(void)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    goro_chan *cancel = goro_chan_new(0, 1);
    CHECK(cancel != NULL);
    goro_case cs[2] = {
        { .chan = cancel, .op = GORO_RECV, .elem = NULL },
        { .chan = NULL, .op = GORO_FD_READABLE, .elem = &p[0] },
    };
    /* Nothing yet: the timeout, and nothing consumed. */
    CHECK_EQ(goro_select(cs, 2, 20 * MS), GORO_ETIMEDOUT);
    CHECK_EQ(goro_select(cs, 2, 0), GORO_EAGAIN);
    /* The pipe gets a byte: the fd case, ok. */
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(goro_select(cs, 2, -1), 1);
    CHECK(cs[1].ok);
    char b;
    CHECK_EQ(read(p[0], &b, 1), 1);
    /* The channel first: its case. */
    CHECK_OK(goro_chan_send(cancel, NULL));
    CHECK_EQ(goro_select(cs, 2, -1), 0);
    /* Parked goroutines: woken by a write, by the channel, by goro_fd_close (ok false). */
    for (int how = 0; how < 3; how++) {
        goro_waitgroup *wg = goro_wg_new();
        struct fdsel s = { .fd = p[0], .cancel = cancel, .index = -99, .wg = wg };
        CHECK_OK(goro_wg_add(wg, 1));
        CHECK_OK(goro_go(select_fd_or_chan_g, &s));
        os_sleep_ns(30 * MS);
        if (how == 0) {
            CHECK_EQ(write(p[1], "y", 1), 1);
        } else if (how == 1) {
            CHECK_OK(goro_chan_send(cancel, NULL));
        } else {
            CHECK_OK(goro_fd_close(p[0]));
        }
        CHECK_OK(goro_wg_wait(wg));
        goro_wg_free(wg);
        if (how == 0) {
            CHECK_EQ(s.index, 1);
            CHECK(s.ok);
            CHECK_EQ(read(p[0], &b, 1), 1);
        } else if (how == 1) {
            CHECK_EQ(s.index, 0);
        } else {
            CHECK_EQ(s.index, 1);
            CHECK(!s.ok); /* closed by goro_fd_close */
        }
    }
    /* Bad fd cases. */
    int bad = -1;
    goro_case b1 = { .chan = NULL, .op = GORO_FD_READABLE, .elem = &bad };
    CHECK_EQ(goro_select(&b1, 1, 0), GORO_EINVAL);
    goro_case b2 = { .chan = NULL, .op = GORO_FD_WRITABLE, .elem = NULL };
    CHECK_EQ(goro_select(&b2, 1, 0), GORO_EINVAL);
    goro_case b3 = { .chan = cancel, .op = GORO_FD_READABLE, .elem = &p[1] };
    CHECK_EQ(goro_select(&b3, 1, 0), GORO_EINVAL);
    /* Writable: a pipe with room. */
    goro_case w = { .chan = NULL, .op = GORO_FD_WRITABLE, .elem = &p[1] };
    CHECK_EQ(goro_select(&w, 1, -1), 0);
    CHECK_OK(goro_fd_close(p[1]));
    goro_chan_release(cancel);
}

int main(void)
{
    basic_statuses();
    refused_by_epoll();
    from_goroutine_real();
    write_readiness();
    close_wakes_and_reuse();
    read_write_errors();
    select_with_fds();
    printf("io_fd_wait: ok\n");
    return 0;
}
