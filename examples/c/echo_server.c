/* echo_server.c: a TCP echo server with one goroutine per connection, and its own clients.
 *
 * Go's shape:
 *     ln, _ := net.Listen("tcp", "127.0.0.1:0")
 *     for { c, err := ln.Accept(); if err != nil { return }; go echo(c) }
 * In C with goro: goro_listen, goro_accept, goro_go per connection, goro_read / goro_write.
 * Each of these parks only its goroutine while the socket is not ready: 200 connections, each
 * waiting on its socket, share GOMAXPROCS threads (one netpoller, epoll, watches them all).
 *
 * Shutting down: goro_fd_close(listener) wakes the goroutine blocked in goro_accept with
 * GORO_ECLOSED, and the accept loop ends, as Go's Accept returns net.ErrClosed.
 * Errors are return values: a negative status, GORO_ESYS - errno for an OS error.
 */
#include "example.h"

#include <sys/socket.h>

enum { CLIENTS = 200, ROUNDS = 20, MSG = 64 };

struct server {
    int listener;
    goro_waitgroup *done; /* the accept loop and every connection goroutine */
};

static struct server srv;

static void echo(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[1024];
    for (;;) {
        ptrdiff_t n = goro_read(fd, buf, sizeof buf, -1);
        if (n <= 0) /* 0: the client closed its side; < 0: an error */
            break;
        if (goro_write(fd, buf, (size_t)n, -1) != n)
            break;
    }
    goro_fd_close(fd);
    goro_wg_done(srv.done);
}

static void accept_loop(void *arg) {
    (void)arg;
    for (;;) {
        int c = goro_accept(srv.listener, -1);
        if (c == GORO_ECLOSED) /* goro_fd_close(listener): time to stop */
            break;
        if (c < 0) {
            fprintf(stderr, "accept: %s (errno %d)\n", goro_strerror(c), goro_os_errno(c));
            continue;
        }
        CHECK(goro_wg_add(srv.done, 1));
        CHECK(goro_go(echo, (void *)(intptr_t)c));
    }
    goro_wg_done(srv.done);
}

/* ---- the clients ---- */

static char address[64];
static goro_waitgroup *clients_done;
static _Atomic long round_trips, client_errors;

static void client(void *arg) {
    int id = (int)(intptr_t)arg;
    int fd = goro_dial("tcp", address, MS(5000));
    if (fd < 0) {
        fprintf(stderr, "dial %s: %s (errno %d)\n", address, goro_strerror(fd), goro_os_errno(fd));
        client_errors++;
        goro_wg_done(clients_done);
        return;
    }
    char out[MSG], in[MSG];
    for (int r = 0; r < ROUNDS; r++) {
        snprintf(out, sizeof out, "client %d round %d", id, r);
        if (goro_write(fd, out, MSG, MS(5000)) != MSG) { client_errors++; break; }
        size_t got = 0;
        while (got < MSG) { /* TCP is a byte stream: a message may come back in pieces */
            ptrdiff_t n = goro_read(fd, in + got, MSG - got, MS(5000));
            if (n <= 0) { client_errors++; break; }
            got += (size_t)n;
        }
        if (got < MSG || memcmp(in, out, MSG) != 0) { client_errors++; break; }
        round_trips++;
    }
    goro_fd_close(fd);
    goro_wg_done(clients_done);
}

static void run(void *arg) {
    (void)arg;
    srv.listener = goro_listen("tcp", "127.0.0.1:0", 0); /* port 0: any free port */
    CHECK(srv.listener);
    snprintf(address, sizeof address, "127.0.0.1:%d", goro_local_port(srv.listener));
    srv.done = goro_wg_new();
    clients_done = goro_wg_new();
    CHECK(goro_wg_add(srv.done, 1));
    CHECK(goro_go(accept_loop, NULL));

    int64_t start = now_ns();
    CHECK(goro_wg_add(clients_done, CLIENTS));
    for (int i = 0; i < CLIENTS; i++)
        CHECK(goro_go(client, (void *)(intptr_t)i));
    CHECK(goro_wg_wait(clients_done));
    printf("echo_server: %d clients x %d round trips on %s in %.1f ms\n", CLIENTS, ROUNDS,
           address, ms_since(start));

    CHECK(goro_fd_close(srv.listener)); /* the accept loop sees GORO_ECLOSED */
    CHECK(goro_wg_wait(srv.done));      /* ... and every echo goroutine saw its EOF */
    goro_wg_free(srv.done);
    goro_wg_free(clients_done);
}

int main(void) {
    CHECK(goro_run(run, NULL));
    EXPECT(client_errors == 0, "%ld client errors", (long)client_errors);
    EXPECT(round_trips == CLIENTS * ROUNDS, "%ld round trips, want %d", (long)round_trips,
           CLIENTS * ROUNDS);
    return example_exit_code("echo_server");
}
