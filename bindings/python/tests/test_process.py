"""Whole-process behaviour, each in a fresh interpreter: Ctrl-C, shutdown, C extensions that
take the GIL their own way (PyGILState_Ensure), -X dev."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest


def spawn(code, *extra):
    return subprocess.Popen(
        [sys.executable, *extra, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


BLOCKERS = {
    "recv": "goro.Chan().recv()",
    "send": "goro.Chan().send(1)",
    "select": "goro.select(goro.recv(goro.Chan()), goro.recv(None))",
    "wait": "wg = goro.WaitGroup(); wg.add(1); wg.wait()",
    "lock": "mu = goro.Mutex(); mu.lock(); mu.lock()",
    "sleep": "goro.sleep(60)",
    "run": "goro.run(goro.Chan().recv)",
    "iter": "list(goro.Chan())",
    "submit": "p = goro.Pool(1, queue=0); p.submit(goro.sleep, 60); p.submit(goro.sleep, 60)",
    "pool_wait": "p = goro.Pool(1); p.submit(goro.sleep, 60); p.wait()",
    "select_send": "goro.select(goro.send(goro.Chan(), 1), goro.send(None, 2))",
    "empty_select": "goro.select()",
}


@pytest.mark.parametrize("what", sorted(BLOCKERS))
def test_ctrl_c_interrupts_a_blocked_main_thread(what):
    p = spawn(
        f"""
        import goro, time
        for _ in range(100):
            goro.go(goro.Chan().recv)   # parked goroutines must not matter
        print("blocking", flush=True)
        t = time.monotonic()
        try:
            {BLOCKERS[what]}
        except KeyboardInterrupt:
            print("interrupted after %.3f" % (time.monotonic() - t), flush=True)
        """
    )
    assert p.stdout.readline().strip() == "blocking"
    time.sleep(0.2)
    t = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=20)
    assert time.monotonic() - t < 2.0
    assert p.returncode == 0, err
    assert "interrupted after" in out, (out, err)


def test_exit_with_parked_and_busy_goroutines():
    p = spawn(
        """
        import atexit, sys
        wake = []
        def _wake():                          # registered before goro's exit hook, so it
            try:                              # runs after it: the sleepers wake during
                wake[0].close()               # shutdown (a timer raced a loaded machine)
            except Exception as e:
                print("close at exit:", e, file=sys.stderr)
        atexit.register(_wake)
        import goro, threading
        ch = goro.Chan()
        wake.append(goro.Chan())
        for _ in range(2000):
            goro.go(ch.recv)                  # parked for good
        def busy():
            while True:
                pass
        goro.go(busy)                         # never parks
        def sleeper():
            wake[0].recv_ok()                 # wakes during shutdown
            print("must not print")
        for _ in range(50):
            goro.go(sleeper)
        t = threading.Thread(target=ch.recv, daemon=True)
        t.start()                             # a daemon thread blocked in goro
        goro.sleep(0.02)
        print("bye", flush=True)
        """
    )
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert out.strip() == "bye"
    assert "Fatal" not in err and "panick" not in err, err


def test_exit_while_goroutines_are_waking():
    code = """
        import goro
        ch = goro.Chan(1000)
        def echo():
            for v in ch:
                ch.try_send(v)
        for _ in range(50):
            goro.go(echo)
        for i in range(100):
            ch.send(i)
        goro.sleep(0.01)
        print("bye", flush=True)
        """
    for _ in range(3):
        p = spawn(code)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert out.strip() == "bye"


def test_sys_exit_from_main_with_goroutines_running():
    p = spawn(
        """
        import goro, sys
        out = goro.Chan(10)
        def loop():
            while True:
                out.send(1)
        goro.go(loop)
        out.recv()
        sys.exit(5)
        """
    )
    out, err = p.communicate(timeout=30)
    assert p.returncode == 5, err


GILSTATE = """
import ctypes, sys, goro

# PyGILState_Ensure from inside a goroutine, the way C extensions take the GIL.
api = ctypes.pythonapi
api.PyGILState_Ensure.restype = ctypes.c_int
api.PyGILState_Release.argtypes = [ctypes.c_int]
api.PyGILState_Check.restype = ctypes.c_int

def direct(out):
    s = api.PyGILState_Ensure()
    ok = api.PyGILState_Check()
    api.PyGILState_Release(s)
    goro.sleep(0.001)
    s = api.PyGILState_Ensure()
    api.PyGILState_Release(s)
    out.send(ok)

# A ctypes callback: C (qsort) calls back into Python with the GIL released, so the callback
# takes it with PyGILState_Ensure; it even parks inside the callback.
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
def cmp(a, b):
    goro.sleep(0.0005)
    return a[0] - b[0]
cmp_c = CMP(cmp)
libc = ctypes.CDLL(None)

def callback(out):
    arr = (ctypes.c_int * 8)(5, 3, 8, 1, 4, 2, 7, 6)
    libc.qsort(arr, 8, ctypes.sizeof(ctypes.c_int), cmp_c)
    out.send(list(arr))

out = goro.Chan(100)
for _ in range(20):
    goro.go(direct, out)
    goro.go(callback, out)
res = [out.recv(timeout=30) for _ in range(40)]
assert res.count(1) == 20, res
assert res.count([1, 2, 3, 4, 5, 6, 7, 8]) == 20, res
print("ok", goro._goro._gilstate_managed())
"""


@pytest.mark.parametrize("dev", [False, True])
def test_pygilstate_ensure_and_ctypes_callbacks_in_goroutines(dev):
    p = spawn(GILSTATE, *(["-X", "dev"] if dev else []))
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert out.startswith("ok"), (out, err)
    if sys.version_info < (3, 12):
        assert out.strip() == "ok True"  # the GIL-state key is managed here


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ binds the key itself")
def test_without_the_gilstate_fix_dev_mode_aborts():
    """The control for the test above: the same program fails without the fix."""
    env = dict(os.environ, GORO_PY_NO_GILSTATE_FIX="1")
    p = subprocess.Popen([sys.executable, "-X", "dev", "-c", GILSTATE], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:  # a deadlock is the other way it fails
        p.kill()
        p.communicate()
        return
    assert p.returncode != 0, (out, err)


def test_threads_goroutines_and_asyncio_at_once():
    p = spawn(
        """
        import asyncio, threading, goro
        ch, res = goro.Chan(16), goro.Chan(2000)
        N = 300
        def gprod(k):
            for i in range(N):
                ch.send(("g", k, i))
        def tprod(k):
            for i in range(N):
                ch.send(("t", k, i))
        async def aprod(k):
            for i in range(N):
                await ch.send_async(("a", k, i))
        async def acons(n):
            got = []
            for _ in range(n):
                got.append(await ch.recv_async())
            return got
        async def main():
            for k in range(2):
                goro.go(gprod, k)
                threading.Thread(target=tprod, args=(k,)).start()
            got = []
            def tcons(n):
                for _ in range(n):
                    res.send(ch.recv())
            threading.Thread(target=tcons, args=(600,)).start()
            for _ in range(2):
                goro.go(lambda: [res.send(ch.recv()) for _ in range(300)])
            r = await asyncio.gather(aprod(0), aprod(1), acons(600))
            got = r[2]
            while len(got) < 1800:
                v, ok = res.try_recv()
                if ok:
                    got.append(v)
                else:
                    await asyncio.sleep(0.001)
            return got
        got = asyncio.run(main())
        assert len(got) == 1800 == len(set(got)), len(got)
        print("ok")
        """
    )
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert out.strip() == "ok"
