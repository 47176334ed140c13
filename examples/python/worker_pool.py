"""Worker pool: a goro.Pool runs jobs on goroutines; map keeps the order."""
import goro

with goro.Pool(workers=4) as pool:
    squares = list(pool.map(lambda x: x * x, range(20)))
    done = goro.Chan(100)
    for i in range(100):
        pool.submit(done.send, i)  # waits while the queue is full
    pool.wait()
print("map:", squares[:5], "...; submitted jobs done:", len(done))
assert squares == [x * x for x in range(20)]
assert sorted(done.recv() for _ in range(100)) == list(range(100))
