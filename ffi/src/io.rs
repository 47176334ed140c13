//! I/O that parks the goroutine, not the thread (CONTRACT.md, the section of that name).
//!
//! goro_fd_wait and goro_fd_close are the contract's fixed names; the calls on top (read,
//! write, accept, connect, dial, listen) return a byte count or fd, or a negative status.
//! Errors of the system calls come back as values: `GORO_ESYS - errno`, never through errno
//! across a park (a goroutine may resume on another thread, whose errno is another variable).

use std::ffi::{c_char, c_int, c_void, CStr};

use goro_core::io::{self, IoError};

use crate::{code, deadline, ffi_boundary, status, GORO_EINTERNAL, GORO_EINVAL};

/// goro_fd_wait events: readable (also at end of file, hang-up or error).
pub const GORO_FD_READ: c_int = 1;
/// goro_fd_wait events: writable (also at hang-up or error).
pub const GORO_FD_WRITE: c_int = 2;
/// Base of the statuses that carry an OS error: an I/O call that fails with errno `e` returns
/// GORO_ESYS - e (ECONNREFUSED, 111, gives -1111). goro_os_errno() gives `e` back.
pub const GORO_ESYS: c_int = -1000;

fn io_code(e: IoError) -> c_int {
    match e {
        IoError::Goro(e) => code(e),
        IoError::Os(n) => GORO_ESYS - n.max(0),
    }
}

/// ---- I/O that parks the goroutine, not the thread ----------------------------------------
///
/// goro_fd_wait / goro_fd_close, and read, write, accept, connect, dial and listen built on
/// them. In a goroutine these park it while the fd is not ready (its OS thread runs other
/// goroutines; one netpoller, epoll, watches every fd); on a plain thread they block that
/// thread. They return a count, an fd or GORO_OK, else a negative status: the goro statuses,
/// or GORO_ESYS - errno for an OS error (goro_os_errno() reads it back). errno itself is never
/// the way an error is reported (a goroutine may resume on another thread). goro_read and
/// goro_write return ptrdiff_t, ssize_t's width, so a byte count and a status share one value.
///
/// Waits until `fd` is ready for any of `events` (GORO_FD_READ | GORO_FD_WRITE): a pipe,
/// socket, eventfd, tty: any fd epoll accepts; files epoll refuses (regular files) are ready at
/// once, as Go treats them. Several goroutines and threads may wait on one fd: all are woken
/// when it is ready. In a goroutine it parks (its thread runs others); on a plain thread it
/// blocks that thread. "Ready" means a read (write) will not block now; another reader may
/// still take the data first, so read with goro_read or a non-blocking read and wait again on
/// EAGAIN.
///
/// The fd is registered with the poller on first use and stays registered until goro_fd_close.
/// Close fds that goro waits on with goro_fd_close: after a plain close(2) a waiter is not
/// woken (the kernel tells epoll nothing), until its timeout or until the fd number is waited
/// on again (a new file under that number: the old waiters then get GORO_ECLOSED).
///
/// Errors: GORO_EAGAIN (timeout 0 and not ready), GORO_ETIMEDOUT, GORO_ECLOSED (goro_fd_close
/// ran on `fd` while it waited, or runs now), GORO_EINVAL (negative or closed fd, events not a
/// non-empty subset of READ | WRITE, an fd epoll refuses other than a regular file),
/// GORO_ENOMEM (the kernel gave no epoll instance).
#[no_mangle]
pub extern "C" fn goro_fd_wait(fd: c_int, events: c_int, timeout_ns: i64) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        if !(1..=3).contains(&events) {
            return GORO_EINVAL;
        }
        status(io::wait(fd, events as u32, deadline(timeout_ns)))
    })
}

/// Forgets `fd`, closes it (close(2)) and wakes every goroutine and thread waiting on it with
/// GORO_ECLOSED. Use it instead of close(2) for any fd goro has waited on. The number may be
/// handed out again by the OS at once; waits on the new file work as on any other.
/// Errors: GORO_EINVAL (negative fd, or close(2) failed: EBADF, EIO; the fd is gone either way).
#[no_mangle]
pub extern "C" fn goro_fd_close(fd: c_int) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, { status(io::close(fd)) })
}

/// Reads up to `n` bytes into `buf`, waiting (parking) until some are there: the byte count,
/// 0 at end of file, or a negative status. Sets O_NONBLOCK on `fd` at its first use.
/// Errors: GORO_EAGAIN (timeout 0, nothing there), GORO_ETIMEDOUT, GORO_ECLOSED, GORO_EINVAL
/// (bad fd, NULL buf with n > 0), GORO_ESYS - errno (ECONNRESET, EBADF, ...).
///
/// # Safety
/// `buf` is NULL (with n 0) or points at `n` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn goro_read(
    fd: c_int,
    buf: *mut c_void,
    n: usize,
    timeout_ns: i64,
) -> isize {
    ffi_boundary!(GORO_EINTERNAL as isize, {
        if buf.is_null() && n > 0 {
            return GORO_EINVAL as isize;
        }
        let mut empty = [0u8; 0];
        let b: &mut [u8] = if n == 0 {
            &mut empty
        } else {
            // SAFETY: the caller's contract: `n` writable bytes at `buf`.
            unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), n) }
        };
        match io::read(fd, b, deadline(timeout_ns)) {
            Ok(k) => k as isize,
            Err(e) => io_code(e) as isize,
        }
    })
}

/// Writes all `n` bytes of `buf`, waiting (parking) while the fd is full. Returns `n`; fewer
/// when the timeout ran out or an error came after some bytes were written (as Go's Write
/// returns n with an error); a negative status when none were. Sockets are written with
/// MSG_NOSIGNAL (a reset peer gives GORO_ESYS - EPIPE); a pipe whose reader is gone raises
/// SIGPIPE as write(2) does (ignore SIGPIPE to get the status instead).
/// Errors: as goro_read.
///
/// # Safety
/// `buf` is NULL (with n 0) or points at `n` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn goro_write(
    fd: c_int,
    buf: *const c_void,
    n: usize,
    timeout_ns: i64,
) -> isize {
    ffi_boundary!(GORO_EINTERNAL as isize, {
        if buf.is_null() && n > 0 {
            return GORO_EINVAL as isize;
        }
        let b: &[u8] = if n == 0 {
            &[]
        } else {
            // SAFETY: the caller's contract: `n` readable bytes at `buf`.
            unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), n) }
        };
        match io::write(fd, b, deadline(timeout_ns)) {
            (k, None) => k as isize,
            (0, Some(e)) if n > 0 => io_code(e) as isize,
            (k, _) => k as isize,
        }
    })
}

/// Accepts a connection on listening socket `fd`, waiting for one: a new fd (non-blocking,
/// close-on-exec; TCP_NODELAY for TCP) or a negative status. Errors: as goro_read.
#[no_mangle]
pub extern "C" fn goro_accept(fd: c_int, timeout_ns: i64) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        match io::accept(fd, deadline(timeout_ns)) {
            Ok(c) => c,
            Err(e) => io_code(e),
        }
    })
}

/// Connects socket `fd` to `addr` (a struct sockaddr_in, sockaddr_in6 or sockaddr_un of
/// `addrlen` bytes), waiting until connected. Errors: as goro_read (a refused connection gives
/// GORO_ESYS - ECONNREFUSED; GORO_EAGAIN with timeout 0 leaves the connection in progress).
///
/// # Safety
/// `addr` points at `addrlen` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn goro_connect(
    fd: c_int,
    addr: *const c_void,
    addrlen: u32,
    timeout_ns: i64,
) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        if addr.is_null() || addrlen == 0 {
            return GORO_EINVAL;
        }
        // SAFETY: the caller's contract.
        let r = unsafe { io::connect(fd, addr.cast(), addrlen, deadline(timeout_ns)) };
        match r {
            Ok(()) => 0,
            Err(e) => io_code(e),
        }
    })
}

fn str_arg<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the callers' contract: a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// Connects to `address` on `network`: "tcp", "tcp4", "tcp6" with "host:port" ("[::1]:80"),
/// or "unix" with a socket path; each address the name resolves to is tried in turn until one
/// connects or the timeout runs out. Returns a connected fd (non-blocking, close-on-exec;
/// TCP_NODELAY for TCP) or a negative status. The name lookup (getaddrinfo) blocks its thread:
/// it runs between goro_blocking_begin and goro_blocking_end, so the caller's worker hands its
/// other goroutines to another thread meanwhile. A name that does not resolve gives
/// GORO_ESYS - EHOSTUNREACH. Errors: as goro_read; GORO_EINVAL for NULL or malformed strings.
///
/// # Safety
/// `network` and `address` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn goro_dial(
    network: *const c_char,
    address: *const c_char,
    timeout_ns: i64,
) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        let (Some(net), Some(addr)) = (str_arg(network), str_arg(address)) else {
            return GORO_EINVAL;
        };
        match io::dial(net, addr, deadline(timeout_ns)) {
            Ok(fd) => fd,
            Err(e) => io_code(e),
        }
    })
}

/// Listens on `address` on `network`: "tcp", "tcp4", "tcp6" with "host:port" (":port" or
/// "0.0.0.0:port" for every address; port 0 picks a free one: see goro_local_port), or "unix"
/// with a path that must not exist yet. `backlog` <= 0 means SOMAXCONN. Returns the listening
/// fd (non-blocking, close-on-exec; SO_REUSEADDR for TCP) or a negative status; accept with
/// goro_accept, close with goro_fd_close. Name lookup as goro_dial. Errors: as goro_dial
/// (GORO_ESYS - EADDRINUSE when taken).
///
/// # Safety
/// `network` and `address` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn goro_listen(
    network: *const c_char,
    address: *const c_char,
    backlog: c_int,
) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        let (Some(net), Some(addr)) = (str_arg(network), str_arg(address)) else {
            return GORO_EINVAL;
        };
        match io::listen(net, addr, backlog) {
            Ok(fd) => fd,
            Err(e) => io_code(e),
        }
    })
}

/// The local port of a TCP socket (after goro_listen on port 0), or a negative status
/// (GORO_EINVAL for a socket that is not TCP, GORO_ESYS - errno for a bad fd).
#[no_mangle]
pub extern "C" fn goro_local_port(fd: c_int) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        match io::local_port(fd) {
            Ok(p) => p as c_int,
            Err(e) => io_code(e),
        }
    })
}

/// The OS error number inside a status returned by an I/O call (GORO_ESYS - errno), or 0 for
/// any other status.
#[no_mangle]
pub extern "C" fn goro_os_errno(status: i64) -> c_int {
    if status <= GORO_ESYS as i64 && status > GORO_ESYS as i64 - 4096 {
        (GORO_ESYS as i64 - status) as c_int
    } else {
        0
    }
}
