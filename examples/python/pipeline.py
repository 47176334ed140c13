"""Pipeline: generate -> square -> sum, each stage a goroutine joined by channels."""
import goro


def gen(n, out):
    for i in range(1, n + 1):
        out.send(i)
    out.close()


def square(inp, out):
    for v in inp:  # until closed
        out.send(v * v)
    out.close()


a, b = goro.Chan(16), goro.Chan(16)
goro.go(gen, 1000, a)
goro.go(square, a, b)
total = sum(b)
print("sum of squares 1..1000 =", total)
assert total == sum(i * i for i in range(1, 1001))
