//! The two native calls under `goro.socket` (python/goro/socket.py): wait for an fd, close it.
//!
//! Mechanism: the socket module keeps its OS fd non-blocking and makes every system call
//! itself (the stdlib's own `_socket` methods); only on BlockingIOError does it call
//! `_fd_wait`, one wait of core's wait protocol on the fd's source (core io::wait): it parks a
//! goroutine, blocks a plain thread, runs under `rt::blocking` (GIL released, Ctrl-C on the
//! main thread) and honours the deadline with the ordinary timers. `_fd_close` is core's fd
//! close: every waiter on the fd wakes with "closed" before the fd is closed.
//!
//! Rejected: native recv/send (core io::read/write) behind a Python socket class: the stdlib's
//! methods already handle addresses, flags, buffers and errors exactly as users expect, and a
//! copy of them would drift; a wait loop in Python over select/poll (a second wait path, and a
//! blocked worker thread); gevent's own hub (one more scheduler beside goro's).

use goro_core::{io, Error};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

use crate::{deadline, err, rt};

/// `_fd_wait` results that are not errors (socket.py turns them into the stdlib's).
const READY: i32 = 0;
const TIMED_OUT: i32 = 1;
const CLOSED: i32 = 2;

fn ebadf() -> PyErr {
    PyOSError::new_err((libc::EBADF, "Bad file descriptor"))
}

/// _fd_wait(fd, events, timeout=None) -> 0 ready, 1 timed out, 2 closed while it waited.
/// events: 1 read, 2 write (either wakes it). OSError(EBADF) for an fd that is not open.
///
/// The caller reads the fd number and this call registers the wait while holding the GIL
/// (`rt::blocking` releases it only once the wait is queued), and socket.py's close forgets
/// the number under the GIL before `_fd_close`: so a wait is either queued before the close
/// (and woken by it) or sees the socket closed; it never queues on a number reused meanwhile.
#[pyfunction]
#[pyo3(signature = (fd, events, timeout=None))]
pub fn _fd_wait(py: Python<'_>, fd: i32, events: u32, timeout: Option<f64>) -> PyResult<i32> {
    if events == 0 || events & !(io::READ | io::WRITE) != 0 {
        return Err(PyValueError::new_err(
            "events must be 1 (read), 2 (write) or 3",
        ));
    }
    if fd < 0 {
        return Err(ebadf());
    }
    let d = deadline(timeout)?;
    match rt::blocking(py, || io::wait(fd, events, d))? {
        Ok(()) => Ok(READY),
        Err(Error::TimedOut | Error::WouldBlock) => Ok(TIMED_OUT),
        Err(Error::Closed) => Ok(CLOSED),
        Err(Error::Invalid) => Err(ebadf()),
        Err(e) => Err(err(e)),
    }
}

/// _fd_close(fd): wakes every goroutine or thread waiting on fd (their `_fd_wait` returns 2),
/// then closes it. OSError(EBADF) if it was not open. The GIL is released around it, as the
/// stdlib's close does (close(2) of a lingering socket may block).
#[pyfunction]
pub fn _fd_close(py: Python<'_>, fd: i32) -> PyResult<()> {
    rt::detached(py, || io::close(fd)).map_err(|_| ebadf())
}
