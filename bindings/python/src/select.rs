//! `goro.select(*cases, timeout=None, default=False)` over `goro.recv(ch)` and
//! `goro.send(ch, v)` cases, as Go's select statement.
//!
//! Up to `INLINE` cases without `ctx` (nearly every select) go on this call's stack, straight
//! to core's `wait::wait`: a buffer a case (a new reference in each send's, which the channel
//! takes only if that case wins), no allocation and no channel clone, since the case tuple
//! holds every case, and each case its channel, for the whole call. A select of 4 ready
//! cases on the main thread (3.11) went from 0.33 to 0.23 µs (medians of 5, interleaved; a
//! recv is 0.075): most of W5's consumer.
//! More cases, or a `ctx`, become the core's typed `Select<Py<PyAny>>` (core wait/typed.rs),
//! which owns the values in flight the same way (and `wait_ctx` adds the context's case).
//! Either way the winning receive's value and every value not sent are then returned or
//! dropped here, attached.

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

/// A case object as both select paths (and reach.rs) read it.
enum CaseOf<'a> {
    Recv(Option<&'a Py<Chan>>),
    /// The channel, and the value to send.
    Send(Option<&'a Py<Chan>>, &'a Py<PyAny>),
}

/// `c` as a RecvCase or SendCase, if it is one (borrowed for as long as `c` is: a tuple's
/// item, for as long as the tuple).
fn case_of<'a>(c: Borrowed<'a, '_, PyAny>) -> Option<CaseOf<'a>> {
    if let Ok(r) = c.cast::<RecvCase>() {
        Some(CaseOf::Recv(r.get().chan.as_ref()))
    } else if let Ok(s) = c.cast::<SendCase>() {
        let s = s.get();
        Some(CaseOf::Send(s.chan.as_ref(), &s.value))
    } else {
        None
    }
}

/// A send case's channel must take Python values (a C byte channel does not).
fn check_send(ch: Option<&Py<Chan>>) -> PyResult<()> {
    ch.map_or(Ok(()), |c| c.get().check_writable())
}

/// The error for case `i`, which is neither kind.
fn not_a_case(i: usize, c: &Bound<'_, PyAny>) -> PyErr {
    match c.get_type().name() {
        Ok(name) => PyTypeError::new_err(format!(
            "select: case {i} is not goro.recv(ch) or goro.send(ch, v) but {name}"
        )),
        Err(e) => e,
    }
}

/// What `rt::blocking_holding` holds for the leak report while a select waits in a goroutine
/// (reach.rs `TempGuard`): the select call, its case tuple, and with `clones` the channel
/// clones the typed Select made.
fn held<'a, 'py>(
    cases: &'a Bound<'py, PyTuple>,
    default: bool,
    clones: bool,
) -> Option<(*mut pyo3::ffi::PyObject, &'a Bound<'py, PyAny>, bool)> {
    SELECT_FN
        .get()
        .filter(|_| !default && rt::in_goroutine())
        .map(|f| (f.as_ptr(), cases.as_any(), clones))
}

/// The answer of a select whose wait gave `r` (index, value, ok).
fn answer(
    py: Python<'_>,
    r: Result<(usize, Option<Py<PyAny>>, bool), Error>,
    default: bool,
) -> PyResult<(isize, Py<PyAny>, bool)> {
    match r {
        Ok((i, v, ok)) => Ok((i as isize, v.unwrap_or_else(|| py.None()), ok)),
        Err(Error::WouldBlock) if default => Ok((-1, py.None(), false)),
        Err(e) => Err(err(e)),
    }
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
        match case_of(c.as_borrowed()) {
            Some(CaseOf::Recv(ch)) => {
                sel.recv(ch.map(|c| &c.get().ch));
            }
            Some(CaseOf::Send(ch, v)) => {
                check_send(ch)?;
                sel.send(ch.map(|c| &c.get().ch), v.clone_ref(py));
            }
            None => match sources.then(|| crate::sync::source_of(&c)).flatten() {
                Some(src) => {
                    sel.source(src);
                }
                None => return Err(not_a_case(i, &c)),
            },
        }
    }
    Ok(sel)
}

/// The builtin `goro.select` (set at import), which reach.rs checks the waiting frame calls.
pub(crate) static SELECT_FN: std::sync::OnceLock<Py<PyAny>> = std::sync::OnceLock::new();

/// The channel of a RecvCase or SendCase, as reach.rs names channels.
pub(crate) fn case_chan(c: &Bound<'_, PyAny>) -> Option<usize> {
    match case_of(c.as_borrowed())? {
        CaseOf::Recv(ch) | CaseOf::Send(ch, _) => ch.map(|c| crate::reach::chan_addr(c.get())),
    }
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
    let d = if default {
        Deadline::NoWait
    } else {
        deadline(timeout)?
    };
    if ctx.is_none() && cases.len() <= INLINE {
        return select_inline(py, &cases, d, default);
    }
    let sel = build(py, &cases, false)?;
    // Values not sent come back in `_unsent` and are dropped here, attached.
    let (r, _unsent) = match ctx {
        // While it waits, `cases` and the Select's channel clones are this call's own (the
        // leak report's view, reach.rs).
        None => rt::blocking_holding(py, held(&cases, default, true), || sel.wait(d))?,
        Some(c) => rt::blocking(py, || sel.wait_ctx(d, &c.get().ctx))?,
    };
    answer(py, r.map(|s| (s.index, s.value, s.ok)), default)
}

/// Cases of a select served on the stack (core wait's own inline bound).
const INLINE: usize = 8;

/// Most selects: a few channel cases and no `ctx`. Their cases go on the stack, straight to
/// core's `wait::wait`, as the typed `Select` would give them (one buffer a case, a new
/// reference in each send buffer) but without its two allocations and a channel clone a
/// case: `cases` holds every case object, and each its channel, for the whole call.
fn select_inline(
    py: Python<'_>,
    cases: &Bound<'_, PyTuple>,
    d: Deadline,
    default: bool,
) -> PyResult<(isize, Py<PyAny>, bool)> {
    use goro_core::wait::{Case, Op};
    use std::mem::MaybeUninit;
    let n = cases.len();
    let mut bufs: [MaybeUninit<Py<PyAny>>; INLINE] = [const { MaybeUninit::uninit() }; INLINE];
    // Send buffers that hold a value of ours (dropped below unless the channel took it).
    let mut full = [false; INLINE];
    let mut ops = [Case::Never; INLINE];
    let mut fail = None;
    // Each case object borrowed from `cases`, which holds it (and it its channel) for the
    // whole call.
    for (i, c) in cases.iter_borrowed().enumerate() {
        match case_of(c) {
            Some(CaseOf::Recv(ch)) => {
                let op = Op::Recv(bufs[i].as_mut_ptr().cast());
                ops[i] = Case::chan(ch.map(|c| c.get().ch.raw()), op);
            }
            Some(CaseOf::Send(ch, v)) => {
                if let Err(e) = check_send(ch) {
                    fail = Some(e);
                    break;
                }
                bufs[i].write(v.clone_ref(py));
                full[i] = true;
                let op = Op::Send(bufs[i].as_ptr().cast());
                ops[i] = Case::chan(ch.map(|c| c.get().ch.raw()), op);
            }
            None => {
                fail = Some(not_a_case(i, &c));
                break;
            }
        }
    }
    let r = match fail {
        Some(e) => Err(e),
        // SAFETY: every channel is held by its case object, which `cases` holds, and every
        // buffer lives on this frame until the wait returns.
        None => rt::blocking_holding(py, held(cases, default, false), || unsafe {
            goro_core::wait::wait(&ops[..n], d, None)
        }),
    };
    let mut value = None;
    if let Ok(Ok((i, ok))) = &r {
        match ops[*i] {
            Case::Chan(_, Op::Send(_)) if *ok => full[*i] = false, // the channel took it
            Case::Chan(_, Op::Recv(_)) if *ok => {
                // SAFETY: a receive that completed with ok wrote a value into its buffer.
                value = Some(unsafe { bufs[*i].assume_init_read() })
            }
            _ => {}
        }
    }
    for i in 0..n {
        if full[i] {
            // SAFETY: written above and not taken by a channel; attached.
            unsafe { bufs[i].assume_init_drop() };
        }
    }
    answer(py, r?.map(|(i, ok)| (i, value, ok)), default)
}
