"""gevent (greenlets, one thread, gevent.queue): W1-W6, W8, W11 (gevent.socket), W13."""
import gevent
from gevent.queue import Channel, Queue

from common import (JOB_SUM, W11_ROUNDS, check, job_data, main, now, report, rss_bytes,
                    threads, w11_echo, w11_report, w11_rounds)


def w1(n):
    c = [0]

    def inc():
        c[0] += 1

    t = now()
    gs = [gevent.spawn(inc) for _ in range(n)]
    gevent.joinall(gs)
    dt = now() - t
    check(c[0] == n, "W1 count")
    report("W1", dt / n * 1e6, "us/task")


def w2(n):
    ping, pong = Channel(), Channel()

    def echo():
        while True:
            v = ping.get()
            if v is None:
                return
            pong.put(v)

    e = gevent.spawn(echo)
    t = now()
    s = 0
    for i in range(n):
        ping.put(i)
        s += pong.get()
    dt = now() - t
    ping.put(None)
    e.join()
    check(s == n * (n - 1) // 2, "W2 sum")
    report("W2", dt / n * 1e6, "us/round trip")


def _mpmc(n, p, cap):
    q = Queue(cap)
    per = n // p
    sums = []

    def prod(k):
        for i in range(k * per, (k + 1) * per):
            q.put(i)

    def cons():
        s = 0
        while True:
            v = q.get()
            if v is None:
                break
            s += v
        sums.append(s)

    t = now()
    cs = [gevent.spawn(cons) for _ in range(p)]
    ps = [gevent.spawn(prod, k) for k in range(p)]
    gevent.joinall(ps)
    for _ in cs:
        q.put(None)
    gevent.joinall(cs)
    dt = now() - t
    m = per * p
    check(sum(sums) == m * (m - 1) // 2, "sum")
    return m / dt / 1e6


def w3(n):
    report("W3", _mpmc(n, 1, 1024), "M msg/s")


def w4(n):
    report("W4", _mpmc(n, 4, 128), "M msg/s")


def w5(n, k=4):
    """No select on gevent queues: a forwarder greenlet per source queue into one queue."""
    srcs = [Queue(64) for _ in range(k)]
    merged = Queue(64)
    per = n // k

    def prod(q, base):
        for i in range(base, base + per):
            q.put(i)

    def fwd(q):
        for _ in range(per):
            merged.put(q.get())

    t = now()
    gs = [gevent.spawn(prod, q, j * per) for j, q in enumerate(srcs)]
    gs += [gevent.spawn(fwd, q) for q in srcs]
    s = 0
    for _ in range(per * k):
        s += merged.get()
    dt = now() - t
    gevent.joinall(gs)
    m = per * k
    check(s == m * (m - 1) // 2, "W5 sum")
    report("W5", m / dt / 1e6, "M msg/s")


def w6(n):
    qs = [Channel() for _ in range(n)]
    before = rss_bytes()
    t = now()
    gs = [gevent.spawn(q.get) for q in qs]
    spawn = now() - t
    gevent.sleep(0.2)
    after = rss_bytes()
    for q in qs:
        q.put(1)
    gevent.joinall(gs)
    report("W6", (after - before) / n / 1024, "KB/task", spawn_us=spawn / n * 1e6)


def w8(n):
    data = job_data()
    q, res = Queue(1024), Queue(1024)

    def worker():
        while True:
            j = q.get()
            if j is None:
                return
            res.put(sum(data))

    def collect():
        s = 0
        for _ in range(n):
            s += res.get()
        return s

    t = now()
    ws = [gevent.spawn(worker) for _ in range(2)]
    c = gevent.spawn(collect)
    for i in range(n):
        q.put(i)
    s = c.get()
    dt = now() - t
    for _ in ws:
        q.put(None)
    check(s == n * JOB_SUM, "W8 sum")
    report("W8", n / dt / 1e3, "k jobs/s")


def w13(n):
    """n tasks each parked on its own queue, woken one by one from main, then joined."""
    chans = [Channel() for _ in range(n)]
    t = now()
    gs = [gevent.spawn(c.get) for c in chans]
    gevent.sleep(0)
    for i, c in enumerate(chans):
        c.put(i)
    gevent.joinall(gs)
    dt = now() - t
    report("W13", dt * 1e3, "ms", peak_threads=threads())


def w11(n):
    """Loopback echo over gevent.socket: a greenlet per connection each side."""
    from gevent import socket as gsocket
    from gevent.event import Event

    srv = gsocket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(n)
    addr = srv.getsockname()
    start, all_in, oks, count = Event(), Event(), [], [0]

    def serve():
        for _ in range(n):
            gevent.spawn(w11_echo, srv.accept()[0])

    def client():
        with gsocket.create_connection(addr) as c:
            count[0] += 1
            if count[0] == n:
                all_in.set()
            start.wait()
            oks.append(w11_rounds(c))

    gevent.spawn(serve)
    gs = [gevent.spawn(client) for _ in range(n)]
    all_in.wait()
    t = now()
    start.set()
    gevent.joinall(gs)
    dt = now() - t
    srv.close()
    check(sum(oks) == n * W11_ROUNDS, "W11 echoes")
    w11_report(n, dt, threads())


if __name__ == "__main__":
    main({"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W8": w8, "W11": w11,
          "W13": w13})
