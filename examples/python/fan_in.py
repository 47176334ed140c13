"""Fan-in: several producers, one consumer selecting over their channels until all close."""
import goro


def produce(name, n, out):
    for i in range(n):
        out.send((name, i))
    out.close()


chans = [goro.Chan(4) for _ in range(3)]
for k, ch in enumerate(chans):
    goro.go(produce, f"p{k}", 100, ch)

got = []
live = list(chans)
while any(c is not None for c in live):
    i, v, ok = goro.select(*(goro.recv(c) for c in live))
    if not ok:
        live[i] = None  # a closed channel: as Go's nil channel, never ready again
        continue
    got.append(v)
print("received", len(got), "values from", len(chans), "producers")
assert sorted(got) == sorted((f"p{k}", i) for k in range(3) for i in range(100))
