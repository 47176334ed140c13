"""goro.monkey: make libraries written for the stdlib's socket module use goro.socket.

    import goro.monkey
    goro.monkey.patch_socket()      # early, before the libraries make their sockets
    import http.client              # its connections now park goroutines while they wait

Mechanism (gevent's monkey patching, for sockets only): replace the socket module's
attributes `socket`, `create_connection`, `create_server`, `socketpair` and
`fromfd` with goro.socket's. Libraries that look them up at call time follow: http.client
(socket.create_connection, read when a connection is made), urllib.request (through
http.client), socketserver and http.server (socket.socket when a server is made; run
serve_forever on a plain thread, or use goro.socket.GoroutineMixIn for a goroutine per request
without selector polling), smtplib, ftplib. The stdlib's own functions in the socket module
then make goro sockets too (their global `socket` is the patched name). Sockets made before the
patch stay the stdlib's; names imported before it (`from socket import socket`) too; ssl,
select and selectors are not patched.

`unpatch_socket()` puts the stdlib's back (sockets made meanwhile stay goro sockets).

Rejected: patching threading, time, select as gevent's patch_all does (goro's goroutines are
not greenlets: threads and time.sleep already work beside them).
"""

import socket as _std

from . import socket as _gsocket

__all__ = ["patch_socket", "unpatch_socket", "is_patched"]

_NAMES = ("socket", "create_connection", "create_server", "socketpair", "fromfd")
_saved = {}  # name -> the stdlib's object, while patched


def patch_socket():
    """Replaces the socket module's classes and constructors with goro.socket's (idempotent)."""
    if _saved:
        return
    for name in _NAMES:
        _saved[name] = getattr(_std, name)
        setattr(_std, name, getattr(_gsocket, name))


def unpatch_socket():
    """Puts the stdlib's socket module back as it was before patch_socket (idempotent)."""
    for name, obj in _saved.items():
        setattr(_std, name, obj)
    _saved.clear()


def is_patched():
    """Whether patch_socket is in force."""
    return bool(_saved)
