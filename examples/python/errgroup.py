"""errgroup: run tasks, collect the first error, cancel the rest through a closed channel."""
import goro


class Group:
    def __init__(self):
        self.wg = goro.WaitGroup()
        self.errors = goro.Chan(1)
        self.cancel = goro.Chan()  # closed on the first error: everyone can see it

    def go(self, fn, *args):
        self.wg.add(1)

        def run():
            goro.defer(self.wg.done)
            try:
                fn(self.cancel, *args)
            except Exception as e:
                if self.errors.try_send(e):
                    self.cancel.close()

        goro.go(run)

    def wait(self):
        self.wg.wait()
        v, ok = self.errors.try_recv()
        return v if ok else None


def task(cancel, i):
    if i == 3:
        raise ValueError(f"task {i} failed")
    # wait for either our work (a timer) or the cancellation
    idx, _, _ = goro.select(goro.recv(goro.after(5)), goro.recv(cancel))
    assert idx == 1, "cancellation should arrive long before the timer"


g = Group()
for i in range(6):
    g.go(task, i)
err = g.wait()
print("first error:", err)
assert isinstance(err, ValueError) and "task 3" in str(err)
