"""Shared by the per-system benchmark programs: timing, RSS, verification, output."""
import json
import os
import sys
import time

now = time.perf_counter


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_mb():
    """The most resident memory this process has had (VmHWM), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# W11 (loopback echo): each of n connections sends W11_MSG and reads it back W11_ROUNDS times,
# all connections at once, after all have connected; ns per round trip, all together.
W11_MSG = b"m" * 64
W11_ROUNDS = 20


def w11_echo(c):
    """A W11 server connection: echo until EOF (any socket with the stdlib's API)."""
    with c:
        while d := c.recv(4096):
            c.sendall(d)


def w11_rounds(c):
    """A W11 client's round trips; returns how many echoes came back right."""
    m, k = len(W11_MSG), 0
    for _ in range(W11_ROUNDS):
        c.sendall(W11_MSG)
        got = c.recv(m)
        while len(got) < m:
            got += c.recv(m - len(got))
        k += got == W11_MSG
    return k


def w11_report(n, dt, peak):
    report("W11", dt / (n * W11_ROUNDS) * 1e9, "ns/round trip", peak_threads=peak,
           peak_rss_mb=peak_rss_mb())


def threads():
    """OS threads of this process now."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def job_data():
    return list(range(100))


JOB_SUM = sum(range(100))


def check(cond, what):
    if not cond:
        print(json.dumps({"ok": False, "error": what}))
        sys.exit(1)


def report(w, value, unit, **extra):
    print(json.dumps({"ok": True, "w": w, "value": value, "unit": unit, **extra}), flush=True)


def main(table):
    w, n = sys.argv[1], int(sys.argv[2])
    table[w](n)
