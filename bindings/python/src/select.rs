//! `goro.select(*cases, timeout=None, default=False)` over `goro.recv(ch)` and
//! `goro.send(ch, v)` cases, as Go's select statement.
//!
//! The cases become the core's typed `Select<Py<PyAny>>` (core wait/typed.rs), which owns the
//! values in flight: the winning receive's value comes out of it, every value not sent comes
//! back from it, and both are then dropped or returned here, attached.

use goro_core::wait::Select;
use goro_core::{Deadline, Error};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::chan::Chan;
use crate::context::Context;
use crate::{deadline, err, rt};

/// recv(ch) -> a receive case for select. `ch` may be None (never ready).
#[pyclass(frozen, module = "goro", name = "RecvCase")]
pub struct RecvCase {
    pub(crate) chan: Option<Py<Chan>>,
}

/// send(ch, value) -> a send case for select. `ch` may be None (never ready).
#[pyclass(frozen, module = "goro", name = "SendCase")]
pub struct SendCase {
    pub(crate) chan: Option<Py<Chan>>,
    pub(crate) value: Py<PyAny>,
}

#[pymethods]
impl RecvCase {
    fn __repr__(&self) -> &'static str {
        "<goro.recv case>"
    }
    /// The channel (or None).
    #[getter]
    fn chan(&self, py: Python<'_>) -> Option<Py<Chan>> {
        self.chan.as_ref().map(|c| c.clone_ref(py))
    }
}

#[pymethods]
impl SendCase {
    fn __repr__(&self) -> &'static str {
        "<goro.send case>"
    }
    /// The channel (or None).
    #[getter]
    fn chan(&self, py: Python<'_>) -> Option<Py<Chan>> {
        self.chan.as_ref().map(|c| c.clone_ref(py))
    }
}

/// recv(ch) -> RecvCase
///
/// A receive case for select(): when chosen, select returns (index, value, True), or
/// (index, None, False) if the channel is closed and drained.
#[pyfunction]
pub fn recv(ch: Option<Py<Chan>>) -> RecvCase {
    RecvCase { chan: ch }
}

/// send(ch, value) -> SendCase
///
/// A send case for select(): when chosen, select returns (index, None, True), or
/// (index, None, False) if the channel is closed.
#[pyfunction]
pub fn send(ch: Option<Py<Chan>>, value: Py<PyAny>) -> SendCase {
    SendCase { chan: ch, value }
}

/// The core's typed select for `cases`: each send case gets a new reference to its value,
/// which the channel takes only if that case wins (else it comes back unsent). With
/// `sources`, WaitGroup, Mutex and Pool objects are cases too (the asyncio waits).
pub(crate) fn build(
    py: Python<'_>,
    cases: &Bound<'_, PyTuple>,
    sources: bool,
) -> PyResult<Select<Py<PyAny>>> {
    let mut sel = Select::new();
    for (i, c) in cases.iter().enumerate() {
        if let Ok(r) = c.cast::<RecvCase>() {
            sel.recv(r.get().chan.as_ref().map(|c| &c.get().ch));
        } else if let Ok(s) = c.cast::<SendCase>() {
            let s = s.get();
            if let Some(c) = &s.chan {
                c.get().check_writable()?;
            }
            sel.send(s.chan.as_ref().map(|c| &c.get().ch), s.value.clone_ref(py));
        } else if let Some(src) = sources.then(|| crate::sync::source_of(&c)).flatten() {
            sel.source(src);
        } else {
            return Err(PyTypeError::new_err(format!(
                "select: case {i} is not goro.recv(ch) or goro.send(ch, v) but {}",
                c.get_type().name()?
            )));
        }
    }
    Ok(sel)
}

/// The builtin `goro.select` (set at import), which reach.rs checks the waiting frame calls.
pub(crate) static SELECT_FN: std::sync::OnceLock<Py<PyAny>> = std::sync::OnceLock::new();

/// The channel of a RecvCase or SendCase, as reach.rs names channels.
pub(crate) fn case_chan(c: &Bound<'_, PyAny>) -> Option<usize> {
    let ch = if let Ok(r) = c.cast::<RecvCase>() {
        r.get()
            .chan
            .as_ref()
            .map(|c| crate::reach::chan_addr(c.get()))
    } else if let Ok(s) = c.cast::<SendCase>() {
        s.get()
            .chan
            .as_ref()
            .map(|c| crate::reach::chan_addr(c.get()))
    } else {
        None
    };
    ch
}

/// select(*cases, timeout=None, default=False) -> (index, value, ok)
///
/// Waits until one case can proceed and does it; among ready cases one is chosen at random.
/// A None channel is never ready. With default=True and nothing ready: (-1, None, False).
/// With a timeout that runs out: TimeoutError, nothing sent or received.
///
/// With `ctx`: Cancelled or DeadlineExceeded when it ends first (at once if it has), nothing
/// sent or received.
#[pyfunction]
#[pyo3(signature = (*cases, timeout=None, default=false, ctx=None))]
pub fn select(
    py: Python<'_>,
    cases: Bound<'_, PyTuple>,
    timeout: Option<f64>,
    default: bool,
    ctx: Option<&Bound<'_, Context>>,
) -> PyResult<(isize, Py<PyAny>, bool)> {
    let sel = build(py, &cases, false)?;
    let d = if default {
        Deadline::NoWait
    } else {
        deadline(timeout)?
    };
    // Values not sent come back in `_unsent` and are dropped here, attached.
    let (r, _unsent) = match ctx {
        // While it waits, `cases` and the Select's channel clones are this call's own (the
        // leak report's view, reach.rs).
        None => {
            let held = SELECT_FN
                .get()
                .filter(|_| !default && rt::in_goroutine())
                .map(|f| (f.as_ptr(), cases.as_any()));
            rt::blocking_holding(py, held, || sel.wait(d))?
        }
        Some(c) => rt::blocking(py, || sel.wait_ctx(d, &c.get().ctx))?,
    };
    match r {
        Ok(s) => Ok((s.index as isize, s.value.unwrap_or_else(|| py.None()), s.ok)),
        Err(Error::WouldBlock) if default => Ok((-1, py.None(), false)),
        Err(e) => Err(err(e)),
    }
}
