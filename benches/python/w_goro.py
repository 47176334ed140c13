"""goro from Python: W1-W6, W8, W11 (goro.socket) and W13 (BENCHMARKS.md), one per process.

GORO_BENCH_SIDE says where the workload's own side runs (the consumer of W3, the player of
W2, the collector of W5, the submitter of W8, ...):
- "main" (the default, what a user's script does): on the main thread, as module-level code;
- "goroutine": in a goroutine (`goro.run`), as Go's main runs. The earlier tables measured
  only this, which flattered goro: no wait there is a hand-off between OS threads.
"""
import os

import goro

from common import (JOB_SUM, W11_ROUNDS, check, job_data, main, now, report, rss_bytes,
                    threads, w11_echo, w11_report, w11_rounds)

IN_GOROUTINE = os.environ.get("GORO_BENCH_SIDE", "main") == "goroutine"



def w1(n):
    wg = goro.WaitGroup()
    c = [0]

    def inc():
        c[0] += 1
        wg.done()

    t = now()
    wg.add(n)
    for _ in range(n):
        goro.go(inc)
    wg.wait()
    dt = now() - t
    check(c[0] == n, f"W1 count {c[0]} != {n}")
    report("W1", dt / n * 1e6, "us/task")


def w2(n):
    ping, pong = goro.Chan(), goro.Chan()

    def echo():
        for v in ping:
            pong.send(v)

    def player():
        s = 0
        for i in range(n):
            ping.send(i)
            s += pong.recv()
        ping.close()
        return s

    goro.go(echo)
    t = now()
    s = player()
    dt = now() - t
    check(s == n * (n - 1) // 2, "W2 sum")
    report("W2", dt / n * 1e6, "us/round trip")


def w3(n):
    ch = goro.Chan(1024)

    def prod():
        send = ch.send
        for i in range(n):
            send(i)
        ch.close()

    def cons():
        s = 0
        for v in ch:
            s += v
        return s

    t = now()
    goro.go(prod)
    s = cons()
    dt = now() - t
    check(s == n * (n - 1) // 2, "W3 sum")
    report("W3", n / dt / 1e6, "M msg/s")


def w4(n, p=4):
    ch = goro.Chan(128)
    wg, cwg = goro.WaitGroup(), goro.WaitGroup()
    sums = []
    per = n // p

    def prod(k):
        send = ch.send
        for i in range(k * per, (k + 1) * per):
            send(i)
        wg.done()

    def cons():
        s = 0
        for v in ch:
            s += v
        sums.append(s)
        cwg.done()

    t = now()
    wg.add(p)
    cwg.add(p)
    for k in range(p):
        goro.go(cons)
    for k in range(p):
        goro.go(prod, k)
    wg.wait()
    ch.close()
    cwg.wait()
    dt = now() - t
    m = per * p
    check(sum(sums) == m * (m - 1) // 2, "W4 sum")
    report("W4", m / dt / 1e6, "M msg/s")


def w5(n, k=4):
    chans = [goro.Chan(64) for _ in range(k)]
    per = n // k

    def prod(ch, base):
        send = ch.send
        for i in range(base, base + per):
            send(i)

    def cons():
        cases = [goro.recv(c) for c in chans]
        select = goro.select
        s = 0
        for _ in range(per * k):
            s += select(*cases)[1]
        return s

    t = now()
    for j, ch in enumerate(chans):
        goro.go(prod, ch, j * per)
    s = cons()
    dt = now() - t
    m = per * k
    check(s == m * (m - 1) // 2, "W5 sum")
    report("W5", m / dt / 1e6, "M msg/s")


def w6(n, variant="frame"):
    chans = [goro.Chan() for _ in range(n)]
    wg = goro.WaitGroup()
    wg.add(n)

    def body(ch):  # a Python frame parked in recv
        ch.recv()
        wg.done()

    import gc

    gc.collect()
    goro.go(lambda: None)
    goro.sleep(0.05)
    before = rss_bytes()
    t = now()
    if variant == "frame":
        for ch in chans:
            goro.go(body, ch)
    else:  # no Python frame: the goroutine calls the bound method directly
        for ch in chans:
            goro.go(ch.recv)
    spawn = now() - t
    while goro.num_goroutine() < n or not all(True for _ in ()):
        goro.sleep(0.01)
        if goro.num_goroutine() >= n:
            break
    goro.sleep(0.2)  # let every goroutine reach its park
    after = rss_bytes()
    for ch in chans:
        ch.send(1)
    if variant == "frame":
        wg.wait()
    else:
        while goro.num_goroutine() > 1:
            goro.sleep(0.01)
    report("W6", (after - before) / n / 1024, "KB/task", spawn_us=spawn / n * 1e6, variant=variant)


def w6_bare(n):
    w6(n, "bare")


def w8(n):
    workers = goro.gomaxprocs()
    data = job_data()
    results = goro.Chan(1024)
    total = [0]

    def job():
        results.send(sum(data))

    def collect():
        s = 0
        for _ in range(n):
            s += results.recv()
        total[0] = s

    t = now()
    done = goro.WaitGroup()
    done.add(1)
    goro.go(lambda: (collect(), done.done()))
    with goro.Pool(workers=workers, queue=1024) as pool:
        submit = pool.submit
        for _ in range(n):
            submit(job)
    done.wait()
    dt = now() - t
    check(total[0] == n * JOB_SUM, "W8 sum")
    report("W8", n / dt / 1e3, "k jobs/s")


def w13(n):
    """Issue 12's program: n goroutines each parked receiving on its own channel, woken one by
    one from this side, then joined. Reports ms in all, with the most OS threads seen."""
    chans = [goro.Chan() for _ in range(n)]
    wg = goro.WaitGroup()
    wg.add(n)

    def body(ch):
        ch.recv()
        wg.done()

    t = now()
    for ch in chans:
        goro.go(body, ch)
    peak = threads()
    for i, ch in enumerate(chans):
        ch.send(i)
        if i % 5000 == 0:
            peak = max(peak, threads())
    wg.wait()
    dt = now() - t
    peak = max(peak, threads())
    report("W13", dt * 1e3, "ms", peak_threads=peak)


def w11(n):
    """Loopback echo over goro.socket: a server goroutine per connection, n client goroutines;
    timed once all have connected."""
    from goro import socket as gsocket

    srv = gsocket.create_server(("127.0.0.1", 0), backlog=n)
    addr = srv.getsockname()
    connected, done, start, oks = goro.WaitGroup(), goro.WaitGroup(), goro.Chan(), []

    def serve():
        for _ in range(n):
            goro.go(w11_echo, srv.accept()[0])

    def client():
        with gsocket.create_connection(addr) as c:
            connected.done()
            start.recv_ok()
            oks.append(w11_rounds(c))
        done.done()

    connected.add(n)
    done.add(n)
    goro.go(serve)
    for _ in range(n):
        goro.go(client)
    connected.wait()
    peak = threads()
    t = now()
    start.close()
    done.wait()
    dt = now() - t
    peak = max(peak, threads())
    srv.close()
    check(sum(oks) == n * W11_ROUNDS, "W11 echoes")
    w11_report(n, dt, peak)


def in_goroutine(f):
    """GORO_BENCH_SIDE=goroutine: the workload's main runs as a goroutine, as Go's main does."""
    return lambda n: goro.run(f, n)


if __name__ == "__main__":
    table = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W6bare": w6_bare,
             "W8": w8, "W11": w11, "W13": w13}
    if IN_GOROUTINE:
        table = {k: f if k in ("W6", "W6bare") else in_goroutine(f) for k, f in table.items()}
    main(table)
