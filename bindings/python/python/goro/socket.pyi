"""Type stubs for goro.socket: the stdlib's socket API whose waits park goroutines."""

import socket as _std
from typing import Any, Optional, Tuple

error = _std.error
timeout = _std.timeout

class socket(_std.socket):
    """The stdlib's socket.socket; blocking calls park the goroutine (block a plain thread)."""
    def __init__(
        self, family: int = ..., type: int = ..., proto: int = ..., fileno: Optional[int] = ...
    ) -> None: ...
    def accept(self) -> Tuple["socket", Any]: ...
    def dup(self) -> "socket": ...

SocketType = socket

def create_connection(
    address: Tuple[str, int],
    timeout: Optional[float] = ...,
    source_address: Optional[Tuple[str, int]] = ...,
    *,
    all_errors: bool = ...,
) -> socket: ...
def create_server(
    address: Tuple[str, int],
    *,
    family: int = ...,
    backlog: Optional[int] = ...,
    reuse_port: bool = ...,
    dualstack_ipv6: bool = ...,
) -> socket: ...
def socketpair(
    family: Optional[int] = ..., type: int = ..., proto: int = ...
) -> Tuple[socket, socket]: ...
def fromfd(fd: int, family: int, type: int, proto: int = ...) -> socket: ...

class GoroutineMixIn:
    """socketserver mix-in: a goroutine per request; shutdown() closes the listener."""
    def process_request(self, request: Any, client_address: Any) -> None: ...
    def serve_forever(self, poll_interval: Optional[float] = ...) -> None: ...
    def shutdown(self) -> None: ...
