"""asyncio and goroutines on one channel: goroutines produce, a coroutine consumes."""
import asyncio

import goro


def producer(ch, k):
    for i in range(100):
        ch.send((k, i))


async def main():
    ch = goro.Chan(8)
    wg = goro.WaitGroup()
    for k in range(3):
        wg.add(1)
        goro.go(lambda k=k: (producer(ch, k), wg.done()))
    goro.go(lambda: (wg.wait(), ch.close()))
    got = [v async for v in ch]  # never blocks the event loop
    try:
        await asyncio.wait_for(goro.Chan().recv_async(), 0.05)
    except asyncio.TimeoutError:
        pass  # cancelled: nothing consumed
    return got


got = asyncio.run(main())
print("asyncio received", len(got), "values from goroutines")
assert sorted(got) == sorted((k, i) for k in range(3) for i in range(100))
