"""Contexts, ctx= on the blocking calls, and goro.Group (issue 16, Python's "Done when")."""
import asyncio
import signal
import sys
import threading
import time

import pytest

import goro
from goro.testing import no_leaks

# Generous: the machine is shared and noisy; a timer tick is well under this.
LATE = 0.5


def bounded():
    """A parent for groups whose members would wait for good if cancellation were broken:
    the test then fails with DeadlineExceeded instead of hanging."""
    return goro.with_timeout(30)


def ended(ctx):
    return ctx.err() is not None


# --- the context object ---------------------------------------------------------------------


def test_background_never_ends_and_cannot_be_cancelled():
    bg = goro.background()
    bg.cancel()
    assert bg.err() is None and goro.background().err() is None
    assert bg.deadline is None
    c = goro.with_cancel()
    assert c.err() is None  # made after the cancel above: the root still lives


def test_cancel_err_done_and_the_context_manager():
    c = goro.with_cancel()
    assert c.err() is None
    assert c.done() is c.done()
    assert c.done().try_recv() == (None, False)  # open, nothing in it
    c.cancel()
    c.cancel()  # again: nothing happens
    e = c.err()
    assert isinstance(e, goro.Cancelled) and not isinstance(e, goro.DeadlineExceeded)
    assert c.done().recv_ok(timeout=5) == (None, False)  # closed
    i, v, ok = goro.select(goro.recv(goro.Chan()), goro.recv(c.done()), timeout=5)
    assert (i, v, ok) == (1, None, False)
    with goro.with_cancel() as c2:
        assert c2.err() is None
    assert isinstance(c2.err(), goro.Cancelled)
    with pytest.raises(KeyError):  # the block's exception goes on; the context still ends
        with goro.with_cancel() as c3:
            raise KeyError("x")
    assert ended(c3)


def test_done_is_receive_only():
    c = goro.with_cancel()
    d = c.done()
    with pytest.raises(TypeError):
        d.send(1)
    with pytest.raises(TypeError):
        d.try_send(1)
    with pytest.raises(TypeError):
        d.close()
    with pytest.raises(TypeError):
        goro.select(goro.send(d, 1), default=True)
    assert c.err() is None and not d.closed  # none of those ended it


def test_exception_types():
    assert issubclass(goro.Cancelled, Exception)
    assert issubclass(goro.DeadlineExceeded, goro.Cancelled)
    assert issubclass(goro.DeadlineExceeded, TimeoutError)
    assert not issubclass(goro.Cancelled, TimeoutError)
    assert goro.DeadlineExceeded.__module__ == "goro"


def test_deadline_fires_within_a_timer_tick():
    t = time.monotonic()
    c = goro.with_timeout(0.05)
    assert c.deadline == pytest.approx(t + 0.05, abs=0.05)
    with pytest.raises(goro.DeadlineExceeded):
        goro.Chan().recv(ctx=c)
    took = time.monotonic() - t
    assert 0.05 <= took < 0.05 + LATE, took
    assert isinstance(c.err(), goro.DeadlineExceeded)
    # with_deadline takes a time.monotonic() value; one in the past has ended already.
    d = goro.with_deadline(time.monotonic() + 0.05)
    t = time.monotonic()
    with pytest.raises(goro.DeadlineExceeded):
        goro.sleep(30, ctx=d)
    assert 0.04 <= time.monotonic() - t < 0.05 + LATE
    assert isinstance(goro.with_deadline(time.monotonic() - 1).err(), goro.DeadlineExceeded)


def test_a_child_deadline_is_the_earlier_of_its_own_and_its_parents():
    p = goro.with_timeout(0.05)
    c = goro.with_timeout(60, parent=p)
    assert c.deadline == pytest.approx(p.deadline)
    with pytest.raises(goro.DeadlineExceeded):
        wg = goro.WaitGroup()
        wg.add(1)
        wg.wait(ctx=c)


def test_bad_input():
    with pytest.raises(ValueError):
        goro.with_timeout(-1)
    with pytest.raises(ValueError):
        goro.with_timeout(float("nan"))
    with pytest.raises(ValueError):
        goro.with_deadline(float("nan"))
    with pytest.raises(TypeError):
        goro.with_timeout("soon")
    with pytest.raises(TypeError):
        goro.with_cancel(parent=3)
    with pytest.raises(TypeError):
        goro.Chan().recv(ctx="nope")
    with pytest.raises(TypeError):
        goro.sleep(1, ctx=object())
    with pytest.raises(TypeError):
        goro.Context()
    with pytest.raises(ValueError):
        goro.Group(limit=0)
    with pytest.raises(TypeError):
        goro.Group().go(3)


def test_cancelling_a_parent_cancels_grandchildren_and_their_waits():
    root = goro.with_cancel()
    child = goro.with_timeout(60, parent=root)
    grand = goro.with_cancel(parent=child)
    other = goro.with_cancel()  # not below root
    out = goro.Chan(10)

    def park(ctx):
        try:
            goro.Chan().recv(ctx=ctx)
        except goro.Cancelled as e:
            out.send(type(e).__name__)

    goro.go(park, grand)
    threading.Thread(target=park, args=(grand,)).start()
    goro.sleep(0.05)
    root.cancel()
    assert sorted([out.recv(timeout=10), out.recv(timeout=10)]) == ["Cancelled", "Cancelled"]
    assert isinstance(child.err(), goro.Cancelled) and isinstance(grand.err(), goro.Cancelled)
    assert other.err() is None
    # A child made of an ended parent has ended at once.
    assert isinstance(goro.with_cancel(parent=grand).err(), goro.Cancelled)


# --- ctx= on every blocking call --------------------------------------------------------------

# Each: (setup() -> state, call(state, ctx), check(state) that nothing was consumed/delivered).
def _recv_setup():
    return goro.Chan()


def _recv_check(ch):
    goro.go(ch.send, "kept")  # no receiver was left behind: this value reaches us
    assert ch.recv(timeout=10) == "kept"


def _send_check(ch):
    assert ch.try_recv() == (None, False)  # nothing was delivered
    assert len(ch) == 0


def _full_setup():
    ch = goro.Chan(1)
    ch.send("old")
    return ch


def _full_check(ch):
    assert ch.try_recv() == ("old", True) and ch.try_recv() == (None, False)


def _wg_setup():
    wg = goro.WaitGroup()
    wg.add(1)
    return wg


def _mu_setup():
    mu = goro.Mutex()
    mu.lock()
    return mu


def _mu_check(mu):
    mu.unlock()  # the cancelled lock did not take it: one unlock frees it
    assert not mu.locked
    assert mu.try_lock()
    mu.unlock()


OPS = {
    "recv": (_recv_setup, lambda ch, c: ch.recv(ctx=c), _recv_check),
    "recv_ok": (_recv_setup, lambda ch, c: ch.recv_ok(ctx=c), _recv_check),
    "send": (_recv_setup, lambda ch, c: ch.send("lost?", ctx=c), _send_check),
    "send_full": (_full_setup, lambda ch, c: ch.send("lost?", ctx=c), _full_check),
    "select": (
        lambda: (goro.Chan(), goro.Chan()),
        lambda ab, c: goro.select(goro.recv(ab[0]), goro.send(ab[1], "lost?"), ctx=c),
        lambda ab: (_recv_check(ab[0]), _send_check(ab[1])),
    ),
    "sleep": (lambda: None, lambda _, c: goro.sleep(60, ctx=c), lambda _: None),
    "wg_wait": (_wg_setup, lambda wg, c: wg.wait(ctx=c), lambda wg: wg.done()),
    "lock": (_mu_setup, lambda mu, c: mu.lock(ctx=c), _mu_check),
}


@pytest.mark.parametrize("op", sorted(OPS))
def test_cancel_ends_a_parked_call_in_goroutines_threads_and_main(op):
    setup, call, check = OPS[op]
    state = setup()
    c = goro.with_cancel()
    out = goro.Chan(10)

    def one():
        t = time.monotonic()
        try:
            call(state, c)
            out.send("completed?!")
        except goro.Cancelled:
            out.send(time.monotonic() - t)

    for _ in range(3):
        goro.go(one)
    th = threading.Thread(target=one)
    th.start()
    threading.Timer(0.1, c.cancel).start()
    one()  # the main thread too
    got = [out.recv(timeout=10) for _ in range(5)]
    th.join(10)
    assert all(isinstance(g, float) for g in got), got
    check(state)


@pytest.mark.parametrize("op", sorted(OPS))
def test_a_context_ended_before_the_call_makes_it_return_at_once(op):
    setup, call, check = OPS[op]
    state = setup()
    c = goro.with_cancel()
    c.cancel()
    t = time.monotonic()
    with pytest.raises(goro.Cancelled):
        call(state, c)
    assert time.monotonic() - t < LATE
    check(state)


def test_an_ended_context_wins_even_over_a_ready_operation():
    """The context is checked first, as Go's code checks ctx.Err() first: a ready value
    stays where it was."""
    c = goro.with_cancel()
    c.cancel()
    ch = goro.Chan(1)
    ch.send("stays")
    with pytest.raises(goro.Cancelled):
        ch.recv(ctx=c)
    with pytest.raises(goro.Cancelled):
        goro.select(goro.recv(ch), default=True, ctx=c)
    mu = goro.Mutex()
    with pytest.raises(goro.Cancelled):
        mu.lock(ctx=c)
    assert not mu.locked
    assert ch.recv(timeout=1) == "stays"


def test_a_live_context_changes_nothing():
    c = goro.with_cancel()
    ch = goro.Chan(1)
    ch.send(1, ctx=c)
    assert ch.recv(ctx=c) == 1
    goro.go(ch.send, 2)
    assert goro.select(goro.recv(ch), ctx=c, timeout=10) == (0, 2, True)
    with pytest.raises(TimeoutError) as ei:  # timeout= still raises the plain TimeoutError
        ch.recv(timeout=0.01, ctx=c)
    assert not isinstance(ei.value, goro.Cancelled)
    ch.close()
    with pytest.raises(goro.Closed):
        ch.recv(ctx=c)
    assert ch.recv_ok(ctx=c) == (None, False)
    with pytest.raises(goro.Closed):
        ch.send(3, ctx=c)
    goro.sleep(0.001, ctx=c)
    goro.sleep(-1, ctx=c)
    assert c.err() is None


def test_values_racing_a_cancel_are_never_lost_or_doubled():
    for _ in range(200):
        c = goro.with_cancel()
        ch = goro.Chan()
        sent, got, done = [], [], goro.WaitGroup()
        done.add(2)

        def sender():
            try:
                ch.send("v", ctx=c)
                sent.append("v")
            except goro.Cancelled:
                pass
            done.done()

        def receiver():
            try:
                got.append(ch.recv(ctx=c))
            except goro.Cancelled:
                pass
            done.done()

        goro.go(sender)
        goro.go(receiver)
        c.cancel()
        done.wait(timeout=10)
        assert sent == got


# --- Group ----------------------------------------------------------------------------------


def test_the_first_error_cancels_parked_siblings_and_none_consumes_or_delivers(hook):
    inbox, outbox, buffered = goro.Chan(), goro.Chan(), goro.Chan(2)
    wg = goro.WaitGroup()
    wg.add(1)
    parked = goro.WaitGroup()
    ends = goro.Chan(100)

    def sibling(what):
        c = g.ctx
        parked.done()
        try:
            if what == "recv":
                inbox.recv(ctx=c)
            elif what == "send":
                outbox.send("lost?", ctx=c)
            elif what == "buffered":
                buffered.recv(ctx=c)
            elif what == "select":
                goro.select(goro.recv(inbox), goro.send(outbox, "lost?"), ctx=c)
            elif what == "sleep":
                goro.sleep(60, ctx=c)
            elif what == "wait":
                wg.wait(ctx=c)
        except goro.Cancelled:
            ends.send(what)
            raise  # a sibling that re-raises: the echo is not an error

    def fails():
        parked.wait(ctx=g.ctx)
        goro.sleep(0.05)
        raise ValueError("first")

    kinds = ["recv", "send", "buffered", "select", "sleep", "wait"]
    t = time.monotonic()
    with pytest.raises(ValueError, match="first"):
        with goro.Group(ctx=bounded()) as g:
            for k in kinds * 3:
                parked.add(1)
                g.go(sibling, k)
            g.go(fails)
    assert time.monotonic() - t < 10
    assert sorted(ends.recv(timeout=1) for _ in kinds * 3) == sorted(kinds * 3)
    assert isinstance(g.ctx.err(), goro.Cancelled)
    # Nothing consumed or delivered: no receiver left on inbox, no value on outbox.
    assert not inbox.try_send(1)
    assert outbox.try_recv() == (None, False)
    buffered.send("a")
    buffered.send("b")
    assert [buffered.recv(), buffered.recv()] == ["a", "b"]
    assert hook == []  # raised at the end, not reported
    assert g.running == 0


def test_several_errors_raise_an_exception_group():
    if sys.version_info < (3, 11):
        pytest.skip("ExceptionGroup is 3.11+")
    both = goro.WaitGroup()
    both.add(2)

    def raiser(exc):
        both.done()
        both.wait(timeout=10)  # both started before either raises (no ctx: not cancelled)
        raise exc

    with pytest.raises(ExceptionGroup) as ei:  # noqa: F821 (3.11+)
        with goro.Group() as g:
            g.go(raiser, ValueError("a"))
            g.go(raiser, KeyError("b"))
    assert sorted(type(e).__name__ for e in ei.value.exceptions) == ["KeyError", "ValueError"]


def test_a_limit_of_n_never_runs_n_plus_one():
    n = 3
    mu = goro.Mutex()
    now, most = [0], [0]

    def member():
        with mu:
            now[0] += 1
            most[0] = max(most[0], now[0])
        goro.sleep(0.005)
        with mu:
            now[0] -= 1

    with goro.Group(limit=n) as g:
        for _ in range(40):
            g.go(member)
            assert g.running <= n
    assert most[0] == n, most


def test_go_waits_while_the_group_is_full():
    release = goro.Chan()
    with goro.Group(limit=1) as g:
        g.go(release.recv)
        threading.Timer(0.1, release.send, ("go",)).start()
        t = time.monotonic()
        g.go(lambda: None)  # waits for the first member to end
        assert time.monotonic() - t >= 0.08


def test_ten_thousand_goroutines_cancelled_at_once_all_end_and_leak_nothing():
    n = 10_000
    started, ends = [], []
    ch = goro.Chan()

    def member():
        started.append(1)
        try:
            ch.recv(ctx=g.ctx)
        except goro.Cancelled:
            ends.append(1)
            raise

    with no_leaks(timeout=30):
        t = time.monotonic()
        with goro.Group(ctx=goro.with_timeout(120)) as g:
            for _ in range(n):
                g.go(member)
            while len(started) < n and time.monotonic() - t < 60:
                goro.sleep(0.01)
            g.cancel()
        assert g.running == 0
    assert len(ends) == n
    assert not ch.try_send(1)  # no receiver left behind


def test_cancel_and_a_parent_deadline():
    # g.cancel(): the members' Cancelled is not an error.
    with goro.Group(ctx=bounded()) as g:
        g.go(goro.sleep, 60, ctx=g.ctx)
        g.go(goro.sleep, 60, ctx=g.ctx)
        g.cancel()
    # A parent's deadline: raised once, as itself (the rest is its echo).
    t = time.monotonic()
    with pytest.raises(goro.DeadlineExceeded):
        with goro.Group(ctx=goro.with_timeout(0.05)) as g:
            for _ in range(5):
                g.go(lambda: goro.sleep(60, ctx=g.ctx))
    assert time.monotonic() - t < 0.05 + LATE


def test_the_blocks_own_exception_cancels_the_members_and_goes_on():
    with pytest.raises(KeyError):
        with goro.Group(ctx=bounded()) as g:
            g.go(lambda: goro.Chan().recv(ctx=g.ctx))
            raise KeyError("body")
    assert isinstance(g.ctx.err(), goro.Cancelled) and g.running == 0
    with pytest.raises(RuntimeError):
        g.go(lambda: None)  # waited for already


def test_group_from_a_plain_thread_and_exit_and_defer(hook):
    out = []

    def member(i):
        goro.defer(out.append, ("defer", i))
        if i == 0:
            goro.exit()  # not an error
        out.append(i)

    def body():
        with goro.Group(limit=2) as g:
            for i in range(4):
                g.go(member, i)
        out.append("done")

    th = threading.Thread(target=body)
    th.start()
    th.join(10)
    assert out[-1] == "done"
    assert sorted(x for x in out if isinstance(x, int)) == [1, 2, 3]
    assert sorted(x[1] for x in out if isinstance(x, tuple)) == [0, 1, 2, 3]
    assert hook == []


def test_group_wait_async_and_async_with():
    async def main():
        ch = goro.Chan()
        g = goro.Group()
        g.go(lambda: ch.send("hi"))
        assert await ch.recv_async() == "hi"
        await g.wait_async()

        with pytest.raises(ValueError):
            async with goro.Group(ctx=bounded()) as g2:
                g2.go(lambda: goro.sleep(60, ctx=g2.ctx))
                g2.go(lambda: (_ for _ in ()).throw(ValueError("x")))

        # Cancelling the awaiting task cancels the group's context.
        g3 = goro.Group(ctx=bounded())
        g3.go(lambda: goro.Chan().recv(ctx=g3.ctx))
        task = asyncio.ensure_future(g3.wait_async())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert isinstance(g3.ctx.err(), goro.Cancelled)
        t = time.monotonic()
        while g3.running and time.monotonic() - t < 10:
            await asyncio.sleep(0.01)
        assert g3.running == 0

    asyncio.run(main())


def test_ctrl_c_still_interrupts_ctx_waits_and_a_group_on_the_main_thread(py):
    import subprocess
    import textwrap

    code = textwrap.dedent(
        """
        import goro, time
        c = goro.with_cancel()
        print("blocking", flush=True)
        t = time.monotonic()
        try:
            goro.Chan().recv(ctx=c)
        except KeyboardInterrupt:
            print("recv interrupted", flush=True)
        try:
            with goro.Group() as g:
                g.go(goro.sleep, 60, ctx=g.ctx)
                print("group", flush=True)
        except KeyboardInterrupt:
            print("group interrupted", type(g.ctx.err()).__name__, flush=True)
        """
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert p.stdout.readline().strip() == "blocking"
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    assert p.stdout.readline().strip() == "recv interrupted"
    assert p.stdout.readline().strip() == "group"
    time.sleep(0.2)
    t = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=20)
    assert time.monotonic() - t < 5
    assert "group interrupted Cancelled" in out, (out, err)
    assert p.returncode == 0, err


def test_a_group_dropped_unwaited_reports_its_exceptions(hook):
    import gc

    def fail(msg):
        raise ValueError(msg)

    g = goro.Group()
    g.go(fail, "recorded")
    t = time.monotonic()
    while g.running and time.monotonic() - t < 10:
        goro.sleep(0.01)
    release = goro.Chan()
    g.go(lambda: (release.recv(timeout=10), fail("after the drop")))
    del g
    gc.collect()
    release.send("go", timeout=10)
    t = time.monotonic()
    while len(hook) < 2 and time.monotonic() - t < 10:
        goro.sleep(0.01)
    assert sorted(str(e) for _, e in hook) == ["after the drop", "recorded"]


def test_the_blocks_exception_and_a_members_are_raised_together():
    if sys.version_info < (3, 11):
        pytest.skip("ExceptionGroup is 3.11+")
    started = goro.WaitGroup()
    started.add(1)

    def member():
        started.done()
        raise ValueError("member")

    with pytest.raises(ExceptionGroup) as ei:  # noqa: F821 (3.11+)
        with goro.Group(ctx=bounded()) as g:
            g.go(member)
            started.wait(timeout=10)
            goro.sleep(0.05)  # the member has raised
            raise KeyError("body")
    assert [type(e) for e in ei.value.exceptions] == [KeyError, ValueError]


def test_asyncio_forms_take_ctx():
    async def main():
        loop = asyncio.get_running_loop()
        # A context that ends while the await waits: Cancelled, nothing consumed or delivered.
        ch = goro.Chan()
        c = goro.with_cancel()
        loop.call_later(0.05, c.cancel)
        with pytest.raises(goro.Cancelled):
            await ch.recv_async(ctx=c)
        assert not ch.try_send(1)  # no receiver left behind
        c = goro.with_timeout(0.05)
        with pytest.raises(goro.DeadlineExceeded):
            await ch.send_async("lost?", ctx=c)
        assert ch.try_recv() == (None, False)
        # Ended before the call: at once, even with a value ready.
        full = goro.Chan(1)
        full.send("stays")
        with pytest.raises(goro.Cancelled):
            await full.recv_async(ctx=_cancelled())
        assert full.try_recv() == ("stays", True)
        with pytest.raises(goro.DeadlineExceeded):
            await goro.select_async(goro.recv(ch), goro.send(ch, 1), ctx=goro.with_timeout(0.02))
        wg = goro.WaitGroup()
        wg.add(1)
        with pytest.raises(goro.DeadlineExceeded):
            await wg.wait_async(ctx=goro.with_timeout(0.02))
        mu = goro.Mutex()
        mu.lock()
        with pytest.raises(goro.DeadlineExceeded):
            await mu.lock_async(ctx=goro.with_timeout(0.02))
        mu.unlock()
        assert not mu.locked  # the cancelled lock did not take it
        # A live context changes nothing; a value that arrives is received.
        live = goro.with_cancel()
        goro.go(lambda: (goro.sleep(0.02), ch.send("v")))
        assert await ch.recv_async(ctx=live) == "v"
        await mu.lock_async(ctx=live)
        mu.unlock()
        # Cancelling the task still raises CancelledError, and consumes nothing.
        task = asyncio.ensure_future(ch.recv_async(ctx=live))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not ch.try_send(1)
        with pytest.raises(TypeError):
            await ch.recv_async(ctx="nope")

    asyncio.run(main())


def _cancelled():
    c = goro.with_cancel()
    c.cancel()
    return c


def test_asyncio_ctx_wait_racing_a_task_cancel_loses_no_value():
    async def main():
        live = goro.with_cancel()
        sent, got = [], []
        for i in range(100):
            ch = goro.Chan()
            done = goro.WaitGroup()
            done.add(1)

            def sender(i=i, ch=ch, done=done):
                try:
                    ch.send(i, timeout=0.05)
                    sent.append(i)
                except TimeoutError:
                    pass
                done.done()

            task = asyncio.ensure_future(ch.recv_async(ctx=live))
            await asyncio.sleep(0)
            goro.go(sender)
            await asyncio.sleep(0.001 * (i % 3))
            task.cancel()
            try:
                got.append(await task)
            except asyncio.CancelledError:
                pass
            await done.wait_async(timeout=10)
        assert sent == got

    asyncio.run(main())
