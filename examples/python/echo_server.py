"""A TCP echo server with one goroutine per connection, and 200 client goroutines loading it.

Every accept, recv and send parks its goroutine (goro.socket), so 400 sockets need no OS
thread each: the count printed stays near GOMAXPROCS.
"""
import os
import time

import goro
from goro import socket as gsocket

CONNS, ROUNDS, MSG = 200, 50, b"x" * 64


def os_threads():
    return len(os.listdir("/proc/self/task"))


def echo(conn):
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)


def serve(srv):
    while True:
        try:
            conn, _ = srv.accept()
        except OSError:  # the listener was closed: stop
            return
        goro.go(echo, conn)


def client(addr, wg, peak):
    with gsocket.create_connection(addr, timeout=30) as c:
        for _ in range(ROUNDS):
            c.sendall(MSG)
            got = b""
            while len(got) < len(MSG):
                got += c.recv(len(MSG) - len(got))
            assert got == MSG
        peak[0] = max(peak[0], os_threads())
    wg.done()


srv = gsocket.create_server(("127.0.0.1", 0), backlog=CONNS)
goro.go(serve, srv)
wg, peak = goro.WaitGroup(), [os_threads()]
lent = goro.counters()["handoffs"]
t = time.monotonic()
wg.add(CONNS)
for _ in range(CONNS):
    goro.go(client, srv.getsockname(), wg, peak)
wg.wait(timeout=60)
dt = time.monotonic() - t
lent = goro.counters()["handoffs"] - lent
srv.close()
n = CONNS * ROUNDS
print("%d round trips of %d bytes over %d connections in %.2f s (%.1f us each); "
      "OS threads at most %d (GOMAXPROCS %d)" % (n, len(MSG), CONNS, dt, dt / n * 1e6,
                                                   peak[0], goro.gomaxprocs()))
# as hello_100k.py: workers, sysmon, the main thread, and any spare the monitor lent
assert peak[0] <= goro.gomaxprocs() + 6 + lent, (peak[0], lent)
