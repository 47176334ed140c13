//! asyncio: waits that never block the event loop (channels, select, WaitGroup, Mutex, Pool).
//!
//! python/goro/_aio.py first tries without waiting. When a wait is needed, `_async_start`
//! builds the core's typed select over the cases (select.rs `build`: channel cases and wait
//! sources alike) and starts it for the loop (core `Select::start_async`), with waiters from
//! the loop's core `Bridge` (core wait/bridge.rs): whichever goro thread completes the wait
//! queues it there, with no GIL, and the first completion of a batch writes one byte to the
//! loop's pipe (the bridge's notify). The loop watches the pipe (`add_reader`); `drain` reads
//! it empty first, then takes the batch (so a completion after the take writes again), and
//! settles each future with `(index, value, ok)`, which _aio.py shapes per operation.
//!
//! Cancellation: the awaiting coroutine calls `AsyncOp.cancel()`. True: our claim won,
//! nothing was consumed or delivered (the unsent values come back from the core and are
//! dropped), CancelledError goes on. False: the wait completed first; `result_now()` waits for
//! its completion to come through the bridge and returns the result, which _aio.py hands to
//! the caller (a value) or undoes (a mutex handed over is unlocked), so nothing is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use goro_core::wait::bridge::Bridge as CoreBridge;
use goro_core::wait::{AsyncSelect, AsyncStarted, Selected};
use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

use crate::{deadline, err};

/// The loop's pipe: the bridge writes a byte to `wfd` to wake the loop, which watches `rfd`.
struct Pipe {
    rfd: i32,
    wfd: i32,
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // SAFETY: our own descriptors, closed once.
        unsafe {
            libc::close(self.rfd);
            libc::close(self.wfd);
        }
    }
}

/// One loop's bridge: its pipe and the core's queue of completed waits.
#[pyclass(frozen, module = "goro._goro", name = "_Bridge")]
pub struct Bridge {
    pipe: Arc<Pipe>,
    core: Arc<CoreBridge<Arc<Wait>>>,
}

#[pymethods]
impl Bridge {
    #[new]
    fn new() -> PyResult<Bridge> {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 fills the array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(PyOSError::new_err("goro: pipe2 failed"));
        }
        let pipe = Arc::new(Pipe {
            rfd: fds[0],
            wfd: fds[1],
        });
        let p = pipe.clone();
        let core = CoreBridge::new(move || {
            let b = 1u8;
            // SAFETY: one byte from a live buffer to our pipe, which `p` keeps open; a full
            // pipe (EAGAIN) already holds a wake.
            unsafe { libc::write(p.wfd, (&b as *const u8).cast(), 1) };
        });
        Ok(Bridge { pipe, core })
    }

    /// The descriptor the loop watches.
    #[getter]
    fn fd(&self) -> i32 {
        self.pipe.rfd
    }

    /// Settles the futures of every completed wait (the loop's reader callback).
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        let mut buf = [0u8; 64];
        // SAFETY: reading into our buffer from our non-blocking pipe until it is empty.
        while unsafe { libc::read(self.pipe.rfd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        // Every wait of the batch is settled, whatever one of them raises.
        let mut first = Ok(());
        for (w, _) in self.core.drain() {
            w.arrived.store(true, Ordering::Release);
            first = first.and(w.settle(py));
        }
        first
    }
}

/// One wait of a loop: the bridge's token for it.
struct Wait {
    /// Until settled: afterwards only the coroutine holds it (the future's exception holds the
    /// coroutine's frame, which holds our `AsyncOp`, which the GC cannot see through).
    fut: Mutex<Option<Py<PyAny>>>,
    /// The started select, until it is finished or cancelled. Loop thread only (the lock is
    /// for the type system: the bridge's callback never touches it).
    sel: Mutex<Option<AsyncSelect<Py<PyAny>>>>,
    /// Its completion came through the bridge (so `finish` may read the buffers). Loop thread.
    arrived: AtomicBool,
}

impl Wait {
    /// The result, once arrived: `(index, value, ok)`, or the error. Unsent values drop here.
    fn finish(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let done = self.sel.lock().take().and_then(|mut s| s.finish());
        let Some((r, _unsent)) = done else {
            return Err(PyRuntimeError::new_err("goro: wait already settled"));
        };
        result(py, r.map_err(err))
    }

    /// On the loop thread: sets the future, unless it was cancelled (the awaiting coroutine
    /// then takes the result through `AsyncOp.cancel()` and `result_now()`).
    fn settle(&self, py: Python<'_>) -> PyResult<()> {
        let Some(fut) = self.fut.lock().take() else {
            // Its _AsyncOp is gone (see its drop): free the buffers, now that it is safe.
            let _ = self.finish(py);
            return Ok(());
        };
        let fut = fut.bind(py);
        if fut.call_method0("done")?.is_truthy()? {
            return Ok(());
        }
        settle_future(fut, self.finish(py))
    }
}

fn result(py: Python<'_>, r: PyResult<Selected<Py<PyAny>>>) -> PyResult<Py<PyAny>> {
    let s = r?;
    let v = s.value.unwrap_or_else(|| py.None());
    Ok((s.index, v, s.ok).into_pyobject(py)?.into_any().unbind())
}

fn settle_future(fut: &Bound<'_, PyAny>, r: PyResult<Py<PyAny>>) -> PyResult<()> {
    match r {
        Ok(v) => fut.call_method1("set_result", (v,))?,
        Err(e) => fut.call_method1("set_exception", (e.into_value(fut.py()),))?,
    };
    Ok(())
}

/// The handle of a started wait, held by the awaiting coroutine.
#[pyclass(frozen, module = "goro._goro", name = "_AsyncOp")]
pub struct AsyncOp {
    wait: Arc<Wait>,
    bridge: Py<Bridge>,
}

impl Drop for AsyncOp {
    fn drop(&mut self) {
        // Breaks the cycle wait -> select -> waiter -> callback -> wait. A wait still pending
        // is cancelled and its registrations taken back by the drop. One that completed but
        // has not come through the bridge yet may still be written by its partner (a claim
        // comes before the copy): the bridge's drain frees it (`settle`, with no future).
        let mut sel = self.wait.sel.lock();
        if self.wait.arrived.load(Ordering::Acquire) || sel.as_ref().is_none_or(|s| s.cancel()) {
            drop(sel.take());
        } else {
            drop(sel);
            drop(self.wait.fut.lock().take());
        }
    }
}

#[pymethods]
impl AsyncOp {
    /// cancel() -> bool: True if nothing happened (and now nothing will).
    fn cancel(&self) -> bool {
        let mut g = self.wait.sel.lock();
        if g.as_ref().is_some_and(|s| s.cancel()) {
            drop(g.take()); // every value back, dropped attached
            drop(self.wait.fut.lock().take());
            return true;
        }
        false
    }

    /// After a failed cancel: the result as the future would have had it.
    fn result_now(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // The completion may still be on its way through the bridge: drain until it arrives.
        while !self.wait.arrived.load(Ordering::Acquire) {
            self.bridge.get().drain(py)?;
            if !self.wait.arrived.load(Ordering::Acquire) {
                py.detach(std::thread::yield_now);
            }
        }
        self.wait.finish(py)
    }
}

/// _async_start(cases, timeout, fut, bridge) -> _AsyncOp or None
///
/// Starts a wait over `cases` (recv/send cases, WaitGroup, Mutex, Pool) for a loop. Returns
/// None when it completed at once (the future is then already settled).
#[pyfunction]
pub fn _async_start(
    py: Python<'_>,
    cases: Bound<'_, PyTuple>,
    timeout: Option<f64>,
    fut: Py<PyAny>,
    bridge: Bound<'_, Bridge>,
) -> PyResult<Option<AsyncOp>> {
    let d = deadline(timeout)?;
    let sel = crate::select::build(py, &cases, true)?;
    let wait = Arc::new(Wait {
        fut: Mutex::new(Some(fut.clone_ref(py))),
        sel: Mutex::new(None),
        arrived: AtomicBool::new(false),
    });
    let core = &bridge.get().core;
    match sel.start_async(d, &mut || core.waiter(wait.clone())) {
        Ok(AsyncStarted::Done(s, _unsent)) => {
            settle_future(fut.bind(py), result(py, Ok(s)))?;
            Ok(None)
        }
        Ok(AsyncStarted::Pending(p)) => {
            // The completion is drained on this thread, so it cannot be settled before this.
            *wait.sel.lock() = Some(p);
            Ok(Some(AsyncOp {
                wait,
                bridge: bridge.unbind(),
            }))
        }
        Err((e, _unsent)) => {
            settle_future(fut.bind(py), Err(err(e)))?;
            Ok(None)
        }
    }
}

static AIO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `goro._aio.<name>(obj, timeout)`, the coroutine of `obj`'s async method; checks `timeout`.
pub fn timed<'py, T>(
    obj: Bound<'py, T>,
    name: &str,
    timeout: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    deadline(timeout)?;
    call(obj.py(), name, (obj.into_any(), timeout))
}

/// Calls `goro._aio.<name>(*args)`: the coroutines of the async methods.
pub fn call<'py>(
    py: Python<'py>,
    name: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    AIO.get_or_try_init(py, || py.import("goro._aio").map(|m| m.into_any().unbind()))?
        .bind(py)
        .call_method1(name, args)
}
