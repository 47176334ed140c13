/* Sockets through goro: goro_listen / goro_dial / goro_accept / goro_connect, TCP and Unix.
 *
 * - an echo over loopback TCP (by address and by "localhost", which goes through getaddrinfo
 *   inside goro_blocking_begin/end) and over a Unix socket, from goroutines;
 * - EOF after the peer shuts down its side; a peer that resets (SO_LINGER 0) gives
 *   GORO_ESYS - ECONNRESET on read and an error, not SIGPIPE, on write;
 * - accept and read time out; a refused dial gives GORO_ESYS - ECONNREFUSED;
 * - bad arguments: NULL, unknown networks, malformed addresses, a taken port, negative fds.
 */
#include "check.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

struct srv {
    int lfd;
    int conns;
    goro_waitgroup *wg;
};

static void echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[512];
    for (;;) {
        ptrdiff_t n = goro_read(fd, buf, sizeof buf, 10 * SEC);
        if (n <= 0) {
            CHECK_EQ(n, 0); /* EOF: the client shut down its side */
            break;
        }
        CHECK_EQ(goro_write(fd, buf, (size_t)n, 10 * SEC), n);
    }
    CHECK_OK(goro_fd_close(fd));
}

static void server(void *arg)
{
    struct srv *s = arg;
    for (int i = 0; i < s->conns; i++) {
        int c = goro_accept(s->lfd, 10 * SEC);
        CHECK_MSG(c >= 0, "accept: %d", c);
        CHECK_OK(goro_go(echo_conn, (void *)(intptr_t)c));
    }
    CHECK_OK(goro_wg_done(s->wg));
}

struct cli {
    const char *net, *addr;
    int rounds;
    goro_waitgroup *wg;
};

static void client(void *arg)
{
    struct cli *c = arg;
    int fd = goro_dial(c->net, c->addr, 10 * SEC);
    CHECK_MSG(fd >= 0, "dial %s %s: %d (errno %d)", c->net, c->addr, fd, goro_os_errno(fd));
    char out[64], in[64];
    for (int r = 0; r < c->rounds; r++) {
        memset(out, 'a' + r % 26, sizeof out);
        CHECK_EQ(goro_write(fd, out, sizeof out, 10 * SEC), sizeof out);
        size_t got = 0;
        while (got < sizeof in) {
            ptrdiff_t n = goro_read(fd, in + got, sizeof in - got, 10 * SEC);
            CHECK_MSG(n > 0, "read: %td", n);
            got += (size_t)n;
        }
        CHECK(memcmp(in, out, sizeof in) == 0);
    }
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    CHECK_EQ(goro_read(fd, in, sizeof in, 10 * SEC), 0); /* server closed after our EOF */
    CHECK_OK(goro_fd_close(fd));
    CHECK_OK(goro_wg_done(c->wg));
}

static void echo_over(const char *net, const char *listen_addr, const char *dial_fmt)
{
    int lfd = goro_listen(net, listen_addr, 0);
    CHECK_MSG(lfd >= 0, "listen %s %s: %d (errno %d)", net, listen_addr, lfd, goro_os_errno(lfd));
    char addr[128];
    if (strcmp(net, "unix") == 0) {
        snprintf(addr, sizeof addr, "%s", listen_addr);
    } else {
        int port = goro_local_port(lfd);
        CHECK(port > 0);
        snprintf(addr, sizeof addr, dial_fmt, port);
    }
    enum { CLIENTS = 8 };
    goro_waitgroup *wg = goro_wg_new();
    CHECK_OK(goro_wg_add(wg, CLIENTS + 1));
    struct srv s = { lfd, CLIENTS, wg };
    struct cli c = { net, addr, (int)scaled(200, 5), wg };
    CHECK_OK(goro_go(server, &s));
    for (int i = 0; i < CLIENTS; i++)
        CHECK_OK(goro_go(client, &c));
    CHECK_OK(goro_wg_wait(wg));
    goro_wg_free(wg);
    CHECK_OK(goro_fd_close(lfd));
}

static void reset_and_timeouts(void)
{
    int lfd = goro_listen("tcp", "127.0.0.1:0", 0);
    CHECK(lfd >= 0);
    int port = goro_local_port(lfd);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);

    /* accept times out; timeout 0 says EAGAIN. */
    CHECK_EQ(goro_accept(lfd, 0), GORO_EAGAIN);
    int64_t t0 = now_ns();
    CHECK_EQ(goro_accept(lfd, 20 * MS), GORO_ETIMEDOUT);
    CHECK_LE(20 * MS, now_ns() - t0);

    int c = goro_dial("tcp", addr, 5 * SEC);
    CHECK(c >= 0);
    int s = goro_accept(lfd, 5 * SEC);
    CHECK(s >= 0);
    /* read times out with nothing sent */
    char b[16];
    CHECK_EQ(goro_read(c, b, sizeof b, 0), GORO_EAGAIN);
    CHECK_EQ(goro_read(c, b, sizeof b, 20 * MS), GORO_ETIMEDOUT);
    /* the server resets: linger 0 then close */
    struct linger lg = { 1, 0 };
    CHECK_EQ(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    CHECK_OK(goro_fd_close(s));
    ptrdiff_t r = goro_read(c, b, sizeof b, 5 * SEC);
    CHECK_EQ(r, GORO_ESYS - ECONNRESET);
    CHECK_EQ(goro_os_errno(r), ECONNRESET);
    /* Writing after the reset: an error value, and no SIGPIPE kills us. */
    ptrdiff_t w = 0;
    for (int i = 0; i < 4 && w >= 0; i++)
        w = goro_write(c, "xxxx", 4, 5 * SEC);
    CHECK(w < 0);
    CHECK(goro_os_errno(w) == EPIPE || goro_os_errno(w) == ECONNRESET);
    CHECK_OK(goro_fd_close(c));

    /* Refused: a port nobody listens on (ours, once closed). */
    CHECK_OK(goro_fd_close(lfd));
    int d = goro_dial("tcp", addr, 5 * SEC);
    CHECK_EQ(d, GORO_ESYS - ECONNREFUSED);

    /* goro_connect on a socket of our own, by sockaddr. */
    lfd = goro_listen("tcp4", "127.0.0.1:0", 16);
    CHECK(lfd >= 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)goro_local_port(lfd)) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    CHECK_OK(goro_connect(fd, &sin, sizeof sin, 5 * SEC));
    int a = goro_accept(lfd, 5 * SEC);
    CHECK(a >= 0);
    CHECK_EQ(goro_write(fd, "hi", 2, -1), 2);
    CHECK_EQ(goro_read(a, b, sizeof b, -1), 2);
    CHECK_EQ(goro_connect(fd, NULL, 0, 0), GORO_EINVAL);
    CHECK_OK(goro_fd_close(a));
    CHECK_OK(goro_fd_close(fd));
    CHECK_OK(goro_fd_close(lfd));
}

static void bad_arguments(void)
{
    CHECK_EQ(goro_listen(NULL, ":0", 0), GORO_EINVAL);
    CHECK_EQ(goro_listen("tcp", NULL, 0), GORO_EINVAL);
    CHECK_EQ(goro_listen("udp", ":0", 0), GORO_EINVAL);
    CHECK_EQ(goro_listen("tcp", "noport", 0), GORO_EINVAL);
    CHECK_EQ(goro_listen("tcp", "127.0.0.1:", 0), GORO_EINVAL);
    CHECK(goro_listen("tcp", "127.0.0.1:notaport", 0) < 0);
    CHECK_EQ(goro_dial(NULL, NULL, 0), GORO_EINVAL);
    CHECK_EQ(goro_dial("sctp", "1.2.3.4:5", 0), GORO_EINVAL);
    CHECK_EQ(goro_dial("unix", "", 0), GORO_EINVAL);
    char longpath[200];
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    CHECK_EQ(goro_dial("unix", longpath, 0), GORO_EINVAL);
    CHECK(goro_dial("unix", "/nonexistent/goro.sock", SEC) < 0);
    CHECK(goro_dial("tcp", "no-such-host.invalid:80", SEC) < 0);
    CHECK_EQ(goro_accept(-1, 0), GORO_EINVAL);
    CHECK(goro_local_port(-1) < 0);
    /* a taken port */
    int lfd = goro_listen("tcp", "127.0.0.1:0", 0);
    CHECK(lfd >= 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", goro_local_port(lfd));
    int again = goro_listen("tcp", addr, 0);
    CHECK_EQ(again, GORO_ESYS - EADDRINUSE);
    /* accept on a socket that does not listen */
    int c = goro_dial("tcp", addr, SEC);
    CHECK(c >= 0);
    CHECK(goro_accept(c, 0) < 0);
    CHECK_OK(goro_fd_close(c));
    CHECK_OK(goro_fd_close(lfd));
}

static void all(void *arg)
{
    (void)arg;
    echo_over("tcp", "127.0.0.1:0", "127.0.0.1:%d");
    echo_over("tcp", "localhost:0", "localhost:%d");
    char path[64];
    snprintf(path, sizeof path, "/tmp/goro_io_tcp_%d.sock", (int)getpid());
    unlink(path);
    echo_over("unix", path, NULL);
    unlink(path);
    reset_and_timeouts();
    bad_arguments();
}

int main(void)
{
    CHECK_OK(goro_run(all, NULL));
    /* The same calls from a plain thread block it instead of parking. */
    reset_and_timeouts();
    bad_arguments();
    printf("io_tcp: ok\n");
    return 0;
}
