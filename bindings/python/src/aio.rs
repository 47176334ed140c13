//! asyncio: channel operations that never block the event loop.
//!
//! `send_async`/`recv_async`/`async for` first try without waiting (python/goro/_aio.py).
//! When they must wait, `_async_start` queues a callback Waiter on the channel through the
//! core's `select_async`. The callback runs on whichever goro thread completes the operation,
//! with no GIL, so it only records the outcome, pushes the operation on its loop's `Bridge`
//! queue, and writes one byte to the bridge's pipe when the queue was empty (one wake per
//! batch). The loop watches the pipe (`add_reader`) and `drain` settles the futures.
//!
//! Cancellation: the awaiting coroutine calls `AsyncOp.cancel()`. True: the waiter was
//! claimed by us, nothing was consumed or delivered, CancelledError goes on. False: the
//! operation completed first; a received value is in our slot and is returned to the caller
//! (the cancellation is absorbed, as asyncio.wait_for does), so no value is ever lost.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use goro_core::select::{select_async, Case, Op, Pending, Started};
use goro_core::{Deadline, Outcome, Waiter};
use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyTimeoutError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::chan::Chan;
use crate::deadline;

/// One loop's wake-up pipe and queue of completed operations.
#[pyclass(frozen, module = "goro._goro", name = "_Bridge")]
pub struct Bridge {
    shared: Arc<BridgeShared>,
}

struct BridgeShared {
    rfd: i32,
    wfd: i32,
    /// Operations whose callback ran, not yet settled. Guarded by its lock.
    done: Mutex<Vec<Arc<OpState>>>,
}

impl Drop for BridgeShared {
    fn drop(&mut self) {
        // SAFETY: our own descriptors, closed once.
        unsafe {
            libc::close(self.rfd);
            libc::close(self.wfd);
        }
    }
}

impl BridgeShared {
    /// From the callback, on any thread, without the GIL.
    fn push(&self, op: Arc<OpState>) {
        let was_empty = {
            let mut q = self.done.lock();
            q.push(op);
            q.len() == 1
        };
        if was_empty {
            let b = 1u8;
            // SAFETY: writing one byte from a live buffer to our pipe; a full pipe (EAGAIN)
            // already holds a wake.
            unsafe { libc::write(self.wfd, (&b as *const u8).cast(), 1) };
        }
    }
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
        Ok(Bridge {
            shared: Arc::new(BridgeShared {
                rfd: fds[0],
                wfd: fds[1],
                done: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The descriptor the loop watches.
    #[getter]
    fn fd(&self) -> i32 {
        self.shared.rfd
    }

    /// Settles the futures of every completed operation (the loop's reader callback).
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        let mut buf = [0u8; 64];
        // SAFETY: reading into our buffer from our non-blocking pipe until it is empty.
        while unsafe { libc::read(self.shared.rfd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        let ops = std::mem::take(&mut *self.shared.done.lock());
        for op in ops {
            op.settle(py)?;
        }
        Ok(())
    }
}

/// An operation waiting for a loop. The slot is the case's element: the value to send, or
/// where a partner writes the received value.
struct OpState {
    is_send: bool,
    slot: UnsafeCell<MaybeUninit<Py<PyAny>>>,
    /// Set once the slot's content has been moved out or dropped (it is touched once).
    slot_used: AtomicBool,
    /// Set by the callback (any thread); read on the loop thread.
    outcome: Mutex<Option<Outcome>>,
    fut: Py<PyAny>,
}
// SAFETY: the slot is written by the completing partner before the callback runs, and read
// only after the wait has ended (callback ran, or a cancel won), once (`slot_used`).
unsafe impl Send for OpState {}
// SAFETY: as above.
unsafe impl Sync for OpState {}

impl OpState {
    /// Once the wait has ended with `out`: moves a received value out of the slot, or drops
    /// a value the channel did not take. Touches the slot at most once.
    fn settle_slot(&self, out: Outcome) -> Option<Py<PyAny>> {
        if self.slot_used.swap(true, Ordering::AcqRel) {
            return None;
        }
        let slot = self.slot.get();
        match (self.is_send, out) {
            // SAFETY: the partner wrote a value into our slot before claiming us.
            (false, Outcome::Case { ok: true, .. }) => Some(unsafe { (*slot).assume_init_read() }),
            (true, Outcome::Case { ok: true, .. }) => None, // the channel took it
            (true, _) => {
                // SAFETY: the channel did not take the value: still ours.
                unsafe { (*slot).assume_init_drop() };
                None
            }
            (false, _) => None,
        }
    }

    fn result(&self, py: Python<'_>, out: Outcome) -> PyResult<Py<PyAny>> {
        let v = self.settle_slot(out);
        match out {
            Outcome::Case { ok, .. } => {
                let v = v.unwrap_or_else(|| py.None());
                Ok((v, ok).into_pyobject(py)?.into_any().unbind())
            }
            Outcome::TimedOut => Err(PyTimeoutError::new_err("timed out")),
            Outcome::Interrupted => Err(pyo3::exceptions::PyRuntimeError::new_err("cancelled")),
        }
    }

    /// On the loop thread: sets the future unless it was cancelled (the awaiting coroutine
    /// then takes the value through AsyncOp.cancel() and result_now()).
    fn settle(&self, py: Python<'_>) -> PyResult<()> {
        let out = self.outcome.lock().expect("settled after the callback");
        let fut = self.fut.bind(py);
        if fut.call_method0("done")?.is_truthy()? {
            return Ok(());
        }
        match self.result(py, out) {
            Ok(v) => fut.call_method1("set_result", (v,))?,
            Err(e) => fut.call_method1("set_exception", (e.into_value(py),))?,
        };
        Ok(())
    }
}

/// The handle of a started operation, held by the awaiting coroutine.
#[pyclass(frozen, module = "goro._goro", name = "_AsyncOp")]
pub struct AsyncOp {
    state: Arc<OpState>,
    pending: Mutex<Option<Pending>>,
    /// Keeps the channel alive while we wait.
    _chan: Py<Chan>,
}

impl Drop for AsyncOp {
    fn drop(&mut self) {
        // Dropping the Pending cancels (if still waiting) and takes our entries off the
        // channel. Then whatever the slot holds is ours to drop.
        if let Some(p) = self.pending.lock().take() {
            if p.cancel() {
                drop(p);
                self.state.settle_slot(Outcome::Interrupted);
                return;
            }
        }
        let out = *self.state.outcome.lock();
        if let Some(out) = out {
            drop(self.state.settle_slot(out));
        }
    }
}

#[pymethods]
impl AsyncOp {
    /// cancel() -> bool: True if nothing happened (and now nothing will).
    fn cancel(&self) -> bool {
        let p = self.pending.lock().take();
        match p {
            Some(p) if p.cancel() => {
                drop(p);
                self.state.settle_slot(Outcome::Interrupted);
                true
            }
            Some(p) => {
                // Completed first: keep the Pending (its cleanup runs at our drop).
                *self.pending.lock() = Some(p);
                false
            }
            None => false,
        }
    }

    /// After a failed cancel: the outcome as the future would have had it.
    fn result_now(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // The callback may still be running on another thread: wait for its outcome.
        loop {
            let out = *self.state.outcome.lock();
            if let Some(out) = out {
                return self.state.result(py, out);
            }
            py.detach(std::thread::yield_now);
        }
    }

    /// Whether the operation has completed (for tests).
    #[getter]
    fn completed(&self) -> bool {
        self.state.outcome.lock().is_some()
    }
}

static TIMEOUT_EXC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// _async_start(ch, is_send, value, timeout, fut, bridge) -> _AsyncOp or None
///
/// Starts a waiting send or receive for a loop. Returns None when it completed at once (the
/// future is then already settled).
#[pyfunction]
#[pyo3(signature = (ch, is_send, value, timeout, fut, bridge))]
pub fn _async_start(
    py: Python<'_>,
    ch: Bound<'_, Chan>,
    is_send: bool,
    value: Option<Py<PyAny>>,
    timeout: Option<f64>,
    fut: Py<PyAny>,
    bridge: Bound<'_, Bridge>,
) -> PyResult<Option<AsyncOp>> {
    let _ = &TIMEOUT_EXC;
    let d = deadline(timeout)?;
    let d = if d == Deadline::NoWait {
        // Tried already without waiting: a zero timeout has run out.
        fut.bind(py).call_method1(
            "set_exception",
            (PyTimeoutError::new_err("timed out").into_value(py),),
        )?;
        return Ok(None);
    } else {
        d
    };
    let slot = match (is_send, value) {
        (true, Some(v)) => MaybeUninit::new(v),
        _ => MaybeUninit::uninit(),
    };
    let state = Arc::new(OpState {
        is_send,
        slot: UnsafeCell::new(slot),
        outcome: Mutex::new(None),
        slot_used: AtomicBool::new(false),
        fut,
    });
    let shared = bridge.get().shared.clone();
    let st = state.clone();
    let waiter = Waiter::callback(move |out| {
        *st.outcome.lock() = Some(out);
        shared.push(st.clone());
    });
    let raw = ch.get().ch.raw().clone();
    let p = state.slot.get() as *mut u8;
    let case = Case::chan(Some(&raw), if is_send { Op::Send(p) } else { Op::Recv(p) });
    // SAFETY: the slot lives in `state`, kept alive by the callback and by the AsyncOp (which
    // holds the Pending) until the wait ends.
    let started = unsafe { select_async(std::slice::from_ref(&case), d, &mut || waiter.clone()) };
    match started {
        Ok(Started::Done(i, ok)) => {
            let out = Outcome::Case { index: i, ok };
            *state.outcome.lock() = Some(out);
            state.settle(py)?;
            Ok(None)
        }
        Ok(Started::Pending(pending)) => Ok(Some(AsyncOp {
            state,
            pending: Mutex::new(Some(pending)),
            _chan: ch.unbind(),
        })),
        Err(e) => {
            state.settle_slot(Outcome::Interrupted);
            Err(crate::err(e))
        }
    }
}

static AIO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The coroutine for a channel's async method (python/goro/_aio.py does the work).
pub fn chan_op<'py>(
    py: Python<'py>,
    ch: &Bound<'py, PyAny>,
    value: Option<Py<PyAny>>,
    d: Deadline,
    anext: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let aio = AIO
        .get_or_try_init(py, || py.import("goro._aio").map(|m| m.into_any().unbind()))?
        .bind(py);
    let timeout: Option<f64> = match d {
        Deadline::Forever => None,
        Deadline::NoWait => Some(0.0),
        Deadline::At(t) => Some(((t - goro_core::now_ns()).max(1)) as f64 / 1e9),
    };
    match (value, anext) {
        (Some(v), _) => aio.call_method1("send", (ch, v, timeout)),
        (None, false) => aio.call_method1("recv", (ch, timeout)),
        (None, true) => aio.call_method1("anext", (ch,)),
    }
}
