"""goro.socket: the standard library's socket API, waiting the goro way.

    import goro
    from goro import socket as gsocket

    def echo(conn):
        with conn:
            while data := conn.recv(64):
                conn.sendall(data)

    def serve(srv):
        while True:
            conn, _ = srv.accept()      # parks this goroutine, not its OS thread
            goro.go(echo, conn)

    srv = gsocket.create_server(("127.0.0.1", 0))
    goro.go(serve, srv)

Mechanism (gevent's design, on goro's netpoller): `socket` subclasses the stdlib's
`socket.socket` and keeps the OS fd non-blocking (the C-level timeout stays 0). Every call is
the stdlib's own method, tried at once; on BlockingIOError it waits for readiness with one
native call (`_goro._fd_wait`, core's io::wait on the fd's wait source: a goroutine parks and
its worker runs others, a plain thread blocks; the GIL is released; Ctrl-C interrupts a wait on
the main thread), then tries again. The timeout (settimeout) is kept here and counted as the
stdlib counts it: per call, and for sendall over the whole call. close() is core's fd close,
which wakes every goroutine or thread waiting on the fd first: they raise OSError(EBADF), as a
call on a closed stdlib socket does (a stdlib recv blocked in another thread is not woken).

Name resolution (getaddrinfo, for connect or create_connection with a host name) stays the
stdlib's: it blocks the OS thread that calls it, and so the other Python goroutines of that
worker meanwhile (numeric addresses need no lookup). ssl is not covered: an SSLSocket built on
one of these is the stdlib's class and blocks its thread.

Rejected: wrapping a stdlib socket instead of subclassing (isinstance checks in libraries
fail); native recv/send (they would copy the stdlib's address and buffer handling, and drift);
waiting in Python with select/poll (a second wait path, and a blocked worker thread).
"""

import errno as _errno
import operator as _operator
import os as _os
import socket as _std
import types as _types
from time import monotonic as _monotonic

import _socket

from ._goro import _fd_close, _fd_wait

__all__ = ["socket", "SocketType", "create_connection", "create_server", "socketpair",
           "fromfd", "GoroutineMixIn", "timeout", "error"]

_stdsocket = _std.socket  # the class, taken before any patch (goro.monkey) replaces it
_ss = _socket.socket
error = _std.error
timeout = _std.timeout

# _fd_wait's events and results (io.rs)
_READ, _WRITE = 1, 2
_TIMED_OUT, _CLOSED = 1, 2


def _ebadf():
    return OSError(_errno.EBADF, _os.strerror(_errno.EBADF))


class socket(_stdsocket):
    """socket(family=-1, type=-1, proto=-1, fileno=None): the stdlib's socket.socket, whose
    blocking calls park the calling goroutine (or block a plain thread) until the fd is ready.
    """

    __slots__ = ("_timeout",)

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        _stdsocket.__init__(self, family, type, proto, fileno)
        self._timeout = _ss.gettimeout(self)  # the default timeout, as the stdlib takes it
        _ss.settimeout(self, 0.0)

    # -- timeouts: kept here; the OS fd stays non-blocking --

    def settimeout(self, value):
        # The stdlib's checks and messages, without touching the fd (a round trip through
        # the C-level timeout would make it blocking for a moment, under another thread).
        if value is not None:
            value = float(value if isinstance(value, float) else _operator.index(value))
            if value != value:
                raise ValueError("Invalid value NaN (not a number)")
            if value < 0:
                raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self):
        return self._timeout

    @property
    def timeout(self):
        return self._timeout

    def setblocking(self, flag):
        self.settimeout(None if flag else 0.0)

    def getblocking(self):
        return self._timeout != 0.0

    # -- the one wait --

    def _deadline(self):
        t = self._timeout
        return None if t is None else _monotonic() + t

    def _wait(self, events, deadline):
        """Waits until the fd is ready for `events` or `deadline` (monotonic s; None: never)."""
        left = None if deadline is None else max(0.0, deadline - _monotonic())
        r = _fd_wait(_ss.fileno(self), events, left)  # EBADF once closed
        if r == _TIMED_OUT:
            raise timeout("timed out")
        if r == _CLOSED:
            raise _ebadf()

    def _call(self, events, method, *args):
        """method(self, *args), waiting for `events` while it would block."""
        if self._timeout == 0.0:
            return method(self, *args)  # non-blocking mode: BlockingIOError as the stdlib's
        deadline = self._deadline()
        while True:
            try:
                return method(self, *args)
            except BlockingIOError:
                self._wait(events, deadline)

    # -- calls that may wait: the one-call ones are made below the class (_waiting) --

    def sendall(self, data, flags=0):
        if self._timeout == 0.0:
            return _ss.sendall(self, data, flags)
        deadline = self._deadline()  # the timeout bounds the whole call, as the stdlib's
        with memoryview(data) as view, view.cast("B") as b:
            sent, n = 0, len(b)
            while True:
                try:
                    sent += _ss.send(self, b[sent:], flags)
                except BlockingIOError:
                    self._wait(_WRITE, deadline)
                    continue
                if sent >= n:
                    return None

    def connect(self, address):
        if self._timeout == 0.0:
            return _ss.connect(self, address)
        deadline = self._deadline()
        while True:
            rc = _ss.connect_ex(self, address)
            if rc in (0, _errno.EISCONN):
                return None
            # EAGAIN (a full Unix-socket backlog) is raised, as the stdlib's connect does.
            if rc not in (_errno.EINPROGRESS, _errno.EALREADY):
                raise OSError(rc, _os.strerror(rc))
            self._wait(_WRITE, deadline)
            rc = _ss.getsockopt(self, _std.SOL_SOCKET, _std.SO_ERROR)
            if rc:
                raise OSError(rc, _os.strerror(rc))

    def connect_ex(self, address):
        try:
            self.connect(address)
        except timeout:
            return _errno.EAGAIN  # what the stdlib's connect_ex returns on a timeout
        except _std.gaierror:
            raise
        except OSError as e:
            if e.errno is None:
                raise
            return e.errno
        return 0

    def _sendfile_use_sendfile(self, file, offset=0, count=None):
        # The stdlib's os.sendfile path waits in a selector (a blocked worker): use send.
        raise _std._GiveupOnSendfile("goro.socket sends files with send()")

    # -- closing: core's fd close wakes the waiters first --

    def _real_close(self, _ss=_ss, _fd_close=_fd_close):
        # Called from close() and __exit__ once no makefile() object holds the socket.
        fd = _ss.detach(self)
        if fd >= 0:
            _fd_close(fd)

    def detach(self):
        """detach() -> fd, left in blocking mode if this socket was (timeout None)."""
        fd = _stdsocket.detach(self)
        if fd >= 0:
            _os.set_blocking(fd, self._timeout is None)
        return fd


def _waiting(name, events):
    """The stdlib's method `name`, waiting for `events` while it would block."""
    method = getattr(_ss, name)

    def call(self, *args):
        return self._call(events, method, *args)

    call.__name__, call.__qualname__, call.__doc__ = name, "socket." + name, method.__doc__
    return call


for _name, _events in (("_accept", _READ), ("recv", _READ), ("recv_into", _READ),
                       ("recvfrom", _READ), ("recvfrom_into", _READ), ("recvmsg", _READ),
                       ("send", _WRITE), ("sendto", _WRITE), ("sendmsg", _WRITE)):
    if hasattr(_ss, _name):  # recvmsg and sendmsg are not on every platform
        setattr(socket, _name, _waiting(_name, _events))

SocketType = socket


# The stdlib's own functions, re-bound to a namespace in which `socket` is the class above:
# their behaviour (address families, dual-stack, all_errors, the accept rules) without a copy
# of them that would drift.
_NS = dict(vars(_std), socket=socket)


def _rebind(fn):
    g = _types.FunctionType(fn.__code__, _NS, fn.__name__, fn.__defaults__, fn.__closure__)
    g.__kwdefaults__ = fn.__kwdefaults__
    g.__doc__ = fn.__doc__
    g.__module__ = __name__
    g.__qualname__ = fn.__qualname__.replace(_stdsocket.__qualname__, "socket")
    return g


socket.accept = _rebind(_stdsocket.accept)
create_connection = _rebind(_std.create_connection)
create_server = _rebind(_std.create_server)
socketpair = _rebind(_std.socketpair)
fromfd = _rebind(_std.fromfd)


class GoroutineMixIn:
    """socketserver mix-in: a goroutine per request, as ThreadingMixIn gives a thread.

        class Server(goro.socket.GoroutineMixIn, http.server.HTTPServer): pass

    serve_forever() accepts in a loop in the calling goroutine or thread (no selector polling:
    a selector would block the worker); shutdown() or server_close(), from any goroutine or
    thread, closes the listening socket, which wakes the loop and ends it. The server's socket
    must be a goro socket (build the server after goro.monkey.patch_socket()).
    """

    def process_request(self, request, client_address):
        from . import go

        go(self._goroutine_request, request, client_address)

    def _goroutine_request(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def serve_forever(self, poll_interval=None):
        while True:
            try:
                request, client_address = self.get_request()
            except OSError:
                if self.socket.fileno() < 0:
                    return  # closed by shutdown() or server_close()
                # A failed accept (ECONNABORTED, EMFILE): go on after a pause, as Go's
                # net/http Server does (an fd shortage would otherwise spin).
                from . import sleep

                sleep(0.005)
                continue
            if self.verify_request(request, client_address):
                self.process_request(request, client_address)
            else:
                self.shutdown_request(request)

    def shutdown(self):
        self.socket.close()
