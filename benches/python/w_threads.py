"""OS threads + queue.Queue (ThreadPoolExecutor for W8, blocking sockets for W11): W1-W6, W8,
W11, W13."""
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from common import (JOB_SUM, W11_ROUNDS, check, job_data, main, now, report, rss_bytes,
                    threads, w11_echo, w11_report, w11_rounds)

threading.stack_size(256 * 1024)  # as goro's goroutine stacks; keeps W6 honest for threads


def w1(n):
    c = [0]
    lock = threading.Lock()

    def inc():
        with lock:
            c[0] += 1

    t = now()
    ts = [threading.Thread(target=inc) for _ in range(n)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    dt = now() - t
    check(c[0] == n, "W1 count")
    report("W1", dt / n * 1e6, "us/task")


def w2(n):
    ping, pong = queue.Queue(1), queue.Queue(1)

    def echo():
        while True:
            v = ping.get()
            if v is None:
                return
            pong.put(v)

    th = threading.Thread(target=echo)
    th.start()
    t = now()
    s = 0
    for i in range(n):
        ping.put(i)
        s += pong.get()
    dt = now() - t
    ping.put(None)
    th.join()
    check(s == n * (n - 1) // 2, "W2 sum")
    report("W2", dt / n * 1e6, "us/round trip")


def _mpmc(n, p, cap):
    q = queue.Queue(cap)
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
    cs = [threading.Thread(target=cons) for _ in range(p)]
    ps = [threading.Thread(target=prod, args=(k,)) for k in range(p)]
    for th in cs + ps:
        th.start()
    for th in ps:
        th.join()
    for _ in cs:
        q.put(None)
    for th in cs:
        th.join()
    dt = now() - t
    m = per * p
    check(sum(sums) == m * (m - 1) // 2, "sum")
    return m / dt / 1e6


def w3(n):
    report("W3", _mpmc(n, 1, 1024), "M msg/s")


def w4(n):
    report("W4", _mpmc(n, 4, 128), "M msg/s")


def w5(n, k=4):
    """No select on queues: each source queue gets a forwarder thread into one merged queue."""
    srcs = [queue.Queue(64) for _ in range(k)]
    merged = queue.Queue(64)
    per = n // k

    def prod(q, base):
        for i in range(base, base + per):
            q.put(i)

    def fwd(q):
        for _ in range(per):
            merged.put(q.get())

    t = now()
    ths = [threading.Thread(target=prod, args=(q, j * per)) for j, q in enumerate(srcs)]
    ths += [threading.Thread(target=fwd, args=(q,)) for q in srcs]
    for th in ths:
        th.start()
    s = 0
    for _ in range(per * k):
        s += merged.get()
    dt = now() - t
    for th in ths:
        th.join()
    m = per * k
    check(s == m * (m - 1) // 2, "W5 sum")
    report("W5", m / dt / 1e6, "M msg/s")


def w6(n):
    qs = [queue.Queue() for _ in range(n)]
    before = rss_bytes()
    t = now()
    ts = [threading.Thread(target=q.get) for q in qs]
    for th in ts:
        th.start()
    spawn = now() - t
    import time

    time.sleep(0.2)
    after = rss_bytes()
    for q in qs:
        q.put(1)
    for th in ts:
        th.join()
    report("W6", (after - before) / n / 1024, "KB/task", spawn_us=spawn / n * 1e6)


def w8(n):
    data = job_data()

    def job():
        return sum(data)

    import os

    workers = int(os.environ.get("GOMAXPROCS", "2"))
    t = now()
    with ThreadPoolExecutor(max_workers=workers) as ex:
        futs = [ex.submit(job) for _ in range(n)]
        s = sum(f.result() for f in futs)
    dt = now() - t
    check(s == n * JOB_SUM, "W8 sum")
    report("W8", n / dt / 1e3, "k jobs/s")


def w13(n):
    """n tasks each parked on its own queue, woken one by one from main, then joined."""
    qs = [queue.Queue(1) for _ in range(n)]
    t = now()
    ths = [threading.Thread(target=q.get) for q in qs]
    for th in ths:
        th.start()
    peak = threads()
    for i, q in enumerate(qs):
        q.put(i)
    for th in ths:
        th.join()
    dt = now() - t
    report("W13", dt * 1e3, "ms", peak_threads=peak)


def w11(n):
    """Loopback echo over blocking stdlib sockets: a thread per connection each side."""
    import socket

    srv = socket.create_server(("127.0.0.1", 0), backlog=n)
    addr = srv.getsockname()
    connected, start, oks = threading.Barrier(n + 1), threading.Event(), []

    def serve():
        for _ in range(n):
            threading.Thread(target=w11_echo, args=(srv.accept()[0],), daemon=True).start()

    def client():
        with socket.create_connection(addr) as c:
            connected.wait()
            start.wait()
            oks.append(w11_rounds(c))

    threading.Thread(target=serve, daemon=True).start()
    ths = [threading.Thread(target=client) for _ in range(n)]
    for th in ths:
        th.start()
    connected.wait()
    peak = threads()
    t = now()
    start.set()
    for th in ths:
        th.join()
    dt = now() - t
    srv.close()
    check(sum(oks) == n * W11_ROUNDS, "W11 echoes")
    w11_report(n, dt, peak)


if __name__ == "__main__":
    main({"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W8": w8, "W11": w11,
          "W13": w13})
