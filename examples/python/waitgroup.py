"""WaitGroup: start ten goroutines, wait for all of them."""
import goro

wg = goro.WaitGroup()
results = [0] * 10


def work(i):
    goro.defer(wg.done)  # runs however the goroutine ends
    goro.sleep(0.001 * i)
    results[i] = i * i


for i in range(10):
    wg.add(1)
    goro.go(work, i)
wg.wait()
print("squares:", results)
assert results == [i * i for i in range(10)]
