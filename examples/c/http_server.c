/* http_server.c: a tiny HTTP/1.1 server, one goroutine per connection, and its own client.
 *
 * Go's net/http in miniature: accept, then in a goroutine read the request head up to the
 * blank line, answer "Hello, <path>" with a Content-Length, and close (Connection: close).
 * Every read and write parks only its goroutine; a slow client (here: one that sends its
 * request in pieces, 5 ms apart) holds no thread while the others are served. The server
 * gives each request 2 s (a read timeout: GORO_ETIMEDOUT) before it drops the connection.
 *
 * The clients fetch /0 .. /99 at once and check status line and body; then the listener is
 * closed with goro_fd_close, which ends the accept loop with GORO_ECLOSED.
 */
#include "example.h"

enum { REQUESTS = 100 };

static int listener;
static goro_waitgroup *server_done;

/* Reads until the end of the request head; returns its length, or < 0. */
static ptrdiff_t read_head(int fd, char *buf, size_t cap) {
    size_t len = 0;
    while (len + 1 < cap) {
        ptrdiff_t n = goro_read(fd, buf + len, cap - 1 - len, MS(2000));
        if (n <= 0)
            return n < 0 ? n : -1;
        len += (size_t)n;
        buf[len] = 0;
        if (strstr(buf, "\r\n\r\n"))
            return (ptrdiff_t)len;
    }
    return -1; /* head too large */
}

static void serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    char req[2048], path[256] = "/", resp[512];
    if (read_head(fd, req, sizeof req) > 0) {
        if (sscanf(req, "GET %255s HTTP/1.", path) != 1)
            snprintf(path, sizeof path, "?");
        char body[300];
        int blen = snprintf(body, sizeof body, "Hello, %s\n", path);
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                         "Connection: close\r\n\r\n%s",
                         blen, body);
        goro_write(fd, resp, (size_t)n, MS(2000));
    }
    goro_fd_close(fd);
    goro_wg_done(server_done);
}

static void accept_loop(void *arg) {
    (void)arg;
    for (;;) {
        int c = goro_accept(listener, -1);
        if (c == GORO_ECLOSED)
            break;
        if (c < 0)
            continue;
        CHECK(goro_wg_add(server_done, 1));
        CHECK(goro_go(serve, (void *)(intptr_t)c));
    }
    goro_wg_done(server_done);
}

/* ---- client ---- */

static char address[64];
static goro_waitgroup *clients_done;
static _Atomic int good, bad;

static void get(void *arg) {
    int i = (int)(intptr_t)arg;
    int fd = goro_dial("tcp", address, MS(5000));
    if (fd < 0) { bad++; goro_wg_done(clients_done); return; }
    char req[128];
    int n = snprintf(req, sizeof req, "GET /%d HTTP/1.1\r\nHost: %s\r\n\r\n", i, address);
    if (i % 10 == 0) {
        /* A slow client: the request in three pieces. */
        int third = n / 3;
        goro_write(fd, req, (size_t)third, -1);
        goro_sleep(MS(5));
        goro_write(fd, req + third, (size_t)third, -1);
        goro_sleep(MS(5));
        goro_write(fd, req + 2 * third, (size_t)(n - 2 * third), -1);
    } else {
        goro_write(fd, req, (size_t)n, -1);
    }
    char resp[1024];
    size_t len = 0;
    for (;;) { /* Connection: close: the answer ends at EOF */
        ptrdiff_t r = goro_read(fd, resp + len, sizeof resp - 1 - len, MS(5000));
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    resp[len] = 0;
    char want[64];
    snprintf(want, sizeof want, "\r\n\r\nHello, /%d\n", i);
    if (strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0 && strstr(resp, want))
        good++;
    else
        bad++;
    goro_fd_close(fd);
    goro_wg_done(clients_done);
}

static void run(void *arg) {
    (void)arg;
    listener = goro_listen("tcp", "127.0.0.1:0", 0);
    CHECK(listener);
    snprintf(address, sizeof address, "127.0.0.1:%d", goro_local_port(listener));
    server_done = goro_wg_new();
    clients_done = goro_wg_new();
    CHECK(goro_wg_add(server_done, 1));
    CHECK(goro_go(accept_loop, NULL));
    int64_t start = now_ns();
    CHECK(goro_wg_add(clients_done, REQUESTS));
    for (int i = 0; i < REQUESTS; i++)
        CHECK(goro_go(get, (void *)(intptr_t)i));
    CHECK(goro_wg_wait(clients_done));
    printf("http_server: %d requests to http://%s/ in %.1f ms\n", REQUESTS, address,
           ms_since(start));
    CHECK(goro_fd_close(listener));
    CHECK(goro_wg_wait(server_done));
    goro_wg_free(server_done);
    goro_wg_free(clients_done);
}

int main(void) {
    CHECK(goro_run(run, NULL));
    EXPECT(good == REQUESTS && bad == 0, "%d good, %d bad answers", good, bad);
    return example_exit_code("http_server");
}
