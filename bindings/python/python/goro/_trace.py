"""Seeing inside: goroutine listings, leak reports and profile files (the rest is in _goro)."""

from . import _goro


class Goroutine:
    """One goroutine at one moment, as goro.goroutines() and goro.leaks() give it.

    id           the goroutine id (goro.goroutine_id() inside it)
    name         its name, or None (Pool workers are named)
    state        "running", "runnable" or "waiting"
    waiting_for  what it waits on when waiting: "chan receive", "chan send", "select",
                 "sleep", "sync.WaitGroup.Wait", "sync.Mutex.Lock", ...; else None
    waited       seconds it has waited so far (None unless waiting)
    func         the function it runs: "module.qualname" for Python callables
    func_file, func_line   where that function is defined ("" and 0 when not Python)
    started_at   "file:line" where goro.go (or run, Pool) was called, or None
    stack        [(function, file, line)], innermost first: where it waits when the Python
                 frames were recorded (a block/mutex profile or set_traceback on), else its
                 function alone
    unreachable  (leaks only) blocked on channels nothing else can reach: it can never run
                 again (leaks() explains the rule); False for one only blocked for long
    """

    __slots__ = ("id", "name", "state", "waiting_for", "waited", "func", "func_file",
                 "func_line", "started_at", "stack", "unreachable")

    def __init__(self, row):
        (self.id, self.name, self.state, self.waiting_for, self.waited, self.func,
         self.func_file, self.func_line, started_file, started_line, self.stack,
         self.unreachable) = row
        self.started_at = None if started_file is None else f"{started_file}:{started_line}"

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self):
        w = f" {self.waiting_for} {self.waited:.3f}s" if self.waiting_for else ""
        at = f" started at {self.started_at}" if self.started_at else ""
        return f"<goro.Goroutine {self.id} {self.func} [{self.state}{w}]{at}>"

    def __str__(self):
        """As a Go traceback shows it: header, frames, "created at"."""
        name = f' "{self.name}"' if self.name else ""
        if self.waiting_for:
            state = f"{self.waiting_for}, {_duration(self.waited)}"
        else:
            state = self.state
        lines = [f"goroutine {self.id}{name} [{state}]:"]
        for fn, file, line in self.stack:
            lines.append(fn)
            if file:
                lines.append(f"\t{file}:{line}")
        if self.started_at:
            lines.append(f"created at {self.started_at}")
        return "\n".join(lines)


def _duration(s):
    if s >= 60:
        return f"{int(s // 60)} minutes"
    if s >= 1:
        return f"{s:.1f}s"
    return f"{int(s * 1000)}ms"


def goroutines():
    """Every goroutine alive now, by id (a list of goro.Goroutine)."""
    return [Goroutine(r) for r in _goro._goroutines()]


def leaks(blocked_longer_than=None):
    """Leaked goroutines (a list of goro.Goroutine): those blocked on channels that nothing
    else can reach any more (unreachable=True), and, when `blocked_longer_than` (seconds) is
    given, those blocked for at least that long.

    Go's rule: a goroutine is leaked when everything it waits on can be reached only from
    goroutines that are themselves leaked. A goro.Chan reachable only from the frames and
    arguments of goroutines blocked on channels (directly, or through lists, dicts, objects,
    closures, select cases) counts as theirs; anything else holding it (a global, the main
    thread, a running goroutine, another thread, a Pool, a timer, C code) keeps it reachable.
    CPython 3.11-3.13 only; a goroutine the analysis does not understand (a generator frame,
    keyword arguments, a call made through C code) counts as reachable: a leak may be missed,
    never invented. goro.testing finds goroutines a test left behind."""
    return [Goroutine(r) for r in _goro._leaks(blocked_longer_than)]


def write_profile(kind, path):
    """Writes goro.profile(kind) to `path` (a str or os.PathLike), for `go tool pprof`."""
    data = _goro.profile(kind)
    with open(path, "wb") as f:
        f.write(data)
