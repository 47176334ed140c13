"""asyncio (one thread, asyncio.Queue): W1-W6, W8, W11 (streams), W13."""
import asyncio

from common import (JOB_SUM, W11_MSG, W11_ROUNDS, check, job_data, main, now, report,
                    rss_bytes, threads, w11_report)


def w1(n):
    async def run():
        c = [0]

        async def inc():
            c[0] += 1

        t = now()
        ts = [asyncio.ensure_future(inc()) for _ in range(n)]
        await asyncio.gather(*ts)
        dt = now() - t
        check(c[0] == n, "W1 count")
        report("W1", dt / n * 1e6, "us/task")

    asyncio.run(run())


def w2(n):
    async def run():
        ping, pong = asyncio.Queue(1), asyncio.Queue(1)

        async def echo():
            while True:
                v = await ping.get()
                if v is None:
                    return
                await pong.put(v)

        e = asyncio.ensure_future(echo())
        t = now()
        s = 0
        for i in range(n):
            await ping.put(i)
            s += await pong.get()
        dt = now() - t
        await ping.put(None)
        await e
        check(s == n * (n - 1) // 2, "W2 sum")
        report("W2", dt / n * 1e6, "us/round trip")

    asyncio.run(run())


def _mpmc(n, p, cap):
    async def run():
        q = asyncio.Queue(cap)
        per = n // p
        sums = []

        async def prod(k):
            for i in range(k * per, (k + 1) * per):
                await q.put(i)

        async def cons():
            s = 0
            while True:
                v = await q.get()
                if v is None:
                    break
                s += v
            sums.append(s)

        t = now()
        cs = [asyncio.ensure_future(cons()) for _ in range(p)]
        await asyncio.gather(*(prod(k) for k in range(p)))
        for _ in cs:
            await q.put(None)
        await asyncio.gather(*cs)
        dt = now() - t
        m = per * p
        check(sum(sums) == m * (m - 1) // 2, "sum")
        return m / dt / 1e6

    return asyncio.run(run())


def w3(n):
    report("W3", _mpmc(n, 1, 1024), "M msg/s")


def w4(n):
    report("W4", _mpmc(n, 4, 128), "M msg/s")


def w5(n, k=4):
    """Select with asyncio.wait(FIRST_COMPLETED) over one pending get per queue."""

    async def run():
        qs = [asyncio.Queue(64) for _ in range(k)]
        per = n // k

        async def prod(q, base):
            for i in range(base, base + per):
                await q.put(i)

        t = now()
        ps = [asyncio.ensure_future(prod(q, j * per)) for j, q in enumerate(qs)]
        gets = {asyncio.ensure_future(q.get()): q for q in qs}
        s, got = 0, 0
        while got < per * k:
            done, _ = await asyncio.wait(gets, return_when=asyncio.FIRST_COMPLETED)
            for f in done:
                q = gets.pop(f)
                s += f.result()
                got += 1
                if got + len(gets) < per * k:
                    gets[asyncio.ensure_future(q.get())] = q
        dt = now() - t
        await asyncio.gather(*ps)
        m = per * k
        check(s == m * (m - 1) // 2, "W5 sum")
        report("W5", m / dt / 1e6, "M msg/s")

    asyncio.run(run())


def w6(n):
    async def run():
        loop = asyncio.get_running_loop()
        futs = [loop.create_future() for _ in range(n)]

        async def wait(f):
            await f

        before = rss_bytes()
        t = now()
        ts = [asyncio.ensure_future(wait(f)) for f in futs]
        spawn = now() - t
        await asyncio.sleep(0.2)
        after = rss_bytes()
        for f in futs:
            f.set_result(1)
        await asyncio.gather(*ts)
        report("W6", (after - before) / n / 1024, "KB/task", spawn_us=spawn / n * 1e6)

    asyncio.run(run())


def w8(n):
    data = job_data()

    async def run():
        q, res = asyncio.Queue(1024), asyncio.Queue(1024)

        async def worker():
            while True:
                j = await q.get()
                if j is None:
                    return
                await res.put(sum(data))

        async def collect():
            s = 0
            for _ in range(n):
                s += await res.get()
            return s

        t = now()
        ws = [asyncio.ensure_future(worker()) for _ in range(2)]
        c = asyncio.ensure_future(collect())
        for i in range(n):
            await q.put(i)
        s = await c
        dt = now() - t
        for _ in ws:
            await q.put(None)
        check(s == n * JOB_SUM, "W8 sum")
        report("W8", n / dt / 1e3, "k jobs/s")

    asyncio.run(run())


def w13(n):
    """n tasks each parked on its own queue, woken one by one from main, then joined."""

    async def run():
        qs = [asyncio.Queue(1) for _ in range(n)]

        async def body(q):
            await q.get()

        t = now()
        tasks = [asyncio.ensure_future(body(q)) for q in qs]
        await asyncio.sleep(0)  # each reaches its wait, as goroutines do before their wake
        for i, q in enumerate(qs):
            q.put_nowait(i)
        await asyncio.gather(*tasks)
        dt = now() - t
        report("W13", dt * 1e3, "ms", peak_threads=threads())

    asyncio.run(run())


def w11(n):
    """Loopback echo over asyncio streams: a handler task per connection, n client tasks."""

    async def run():
        async def handle(r, w):
            while d := await r.read(4096):
                w.write(d)
                await w.drain()
            w.close()

        srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=n)
        addr = srv.sockets[0].getsockname()
        conns = await asyncio.gather(*(asyncio.open_connection(*addr) for _ in range(n)))

        async def talk(r, w):
            k = 0
            for _ in range(W11_ROUNDS):
                w.write(W11_MSG)
                await w.drain()
                k += await r.readexactly(len(W11_MSG)) == W11_MSG
            w.close()
            return k

        t = now()
        oks = await asyncio.gather(*(talk(r, w) for r, w in conns))
        dt = now() - t
        srv.close()
        check(sum(oks) == n * W11_ROUNDS, "W11 echoes")
        w11_report(n, dt, threads())

    asyncio.run(run())


if __name__ == "__main__":
    main({"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W8": w8, "W11": w11,
          "W13": w13})
