//! Contexts and error groups for Python: `goro.background()`, `with_cancel`, `with_timeout`,
//! `with_deadline`, the `ctx=` keyword of the blocking calls, and `goro.Group` (Go's context
//! and errgroup, over core context/).
//!
//! A blocking call given `ctx=` is one core wait with the context as one more case
//! (core `context::wait_ctx`, `Select::wait_ctx`, `sleep_ctx`): whichever completes first wins
//! the waiter's claim, so a context that ends first has consumed and delivered nothing, and a
//! value that won is never lost. It runs under `rt::blocking` like every other wait, so it
//! releases the GIL, parks a goroutine, and stays Ctrl-C-able on the main thread. The asyncio
//! forms do the same over the loop's wait: a Context is a wait source there (sync.rs
//! `source_of`), one more case of the select that _aio.py awaits.
//!
//! The end of a context raises `Cancelled` (an Exception: Go's context.Canceled is an error
//! value, and a group member re-raising it is ordinary) or `DeadlineExceeded`, which
//! subclasses both `Cancelled` (so `except goro.Cancelled` catches any end) and `TimeoutError`
//! (as asyncio.timeout and Trio's fail_after users expect). `ctx.done()` is a receive-only
//! goro.Chan that the core closes when the context ends (`close_on_end`), made once per
//! context object.
//!
//! Group: members are Python goroutines started by `g.go` once the core group gives them a
//! place (`join`, which waits while `limit` run). A member that raises records the exception
//! and cancels the group's context (`g.ctx`). Once the group has a reason to stop (a recorded
//! exception, or `g.cancel()`), a Cancelled/DeadlineExceeded that a member raises is the echo
//! of that stop, not news, and is dropped (errgroup returns only the first error; Trio does
//! not report the Cancelled of its own scope); other exceptions are all kept and raised at the
//! end: one as itself, several as an ExceptionGroup.
//!
//! Rejected: a Python-level group over WaitGroup, a channel of tokens and a list (a second
//! copy of core group.rs); a done() channel fed by a goroutine waiting on the context (one
//! parked goroutine per context, reported as a leak by the leak check for contexts that never
//! end); polling the context between short waits (late, and a second wait path).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use goro_core::context::{self as core_ctx, Context as CoreContext, Group as CoreGroup, Reason};
use goro_core::wait::{Case, Select, Source};
use goro_core::{Deadline, Error};
use pyo3::exceptions::{PyException, PyRuntimeError, PyTimeoutError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::chan::Chan;
use crate::goroutine::End;
use crate::{closed, err, rt, GoroutineExit};

pyo3::create_exception!(
    goro,
    Cancelled,
    PyException,
    "The context given to a call ended (cancelled, or its deadline passed) before the call \
     could complete; nothing was sent, received or taken."
);

/// goro.DeadlineExceeded(Cancelled, TimeoutError), made at import (two bases).
static DEADLINE_EXCEEDED: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn deadline_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DEADLINE_EXCEEDED
        .get_or_try_init(py, || {
            let bases = PyTuple::new(
                py,
                [
                    py.get_type::<Cancelled>().into_any(),
                    py.get_type::<PyTimeoutError>().into_any(),
                ],
            )?;
            let ns = PyDict::new(py);
            ns.set_item("__module__", "goro")?;
            ns.set_item(
                "__doc__",
                "The context's deadline passed before the call could complete (a Cancelled \
                 and a TimeoutError); nothing was sent, received or taken.",
            )?;
            let t = py
                .get_type::<PyType>()
                .call1(("DeadlineExceeded", bases, ns))?;
            Ok(t.cast_into::<PyType>()?.unbind())
        })
        .map(|t| t.bind(py))
}

/// The Python exception for a context's end.
pub(crate) fn ended_error(e: Error) -> PyErr {
    match e {
        Error::DeadlineExceeded => Python::attach(|py| match deadline_type(py) {
            Ok(t) => PyErr::from_type(t.clone(), "context deadline exceeded"),
            Err(e) => e,
        }),
        _ => Cancelled::new_err("context cancelled"),
    }
}

/// Adds the exception types to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Cancelled", py.get_type::<Cancelled>())?;
    m.add("DeadlineExceeded", deadline_type(py)?)?;
    m.add_class::<Context>()?;
    m.add_class::<Group>()?;
    m.add_function(wrap_pyfunction!(background, m)?)?;
    m.add_function(wrap_pyfunction!(with_cancel, m)?)?;
    m.add_function(wrap_pyfunction!(with_timeout, m)?)?;
    m.add_function(wrap_pyfunction!(with_deadline, m)?)?;
    Ok(())
}

/// A context: made by goro.background(), with_cancel(), with_timeout(), with_deadline().
///
/// It ends once: when cancel() is called on it or an ancestor (Cancelled), or when its
/// deadline passes (DeadlineExceeded). Blocking calls given `ctx=` raise then. Used as a
/// context manager it is cancelled at the end of the block (Go's `defer cancel()`).
#[pyclass(frozen, module = "goro", name = "Context")]
pub struct Context {
    pub(crate) ctx: CoreContext,
    done: PyOnceLock<Py<Chan>>,
}

impl Context {
    fn of(ctx: CoreContext) -> Context {
        Context {
            ctx,
            done: PyOnceLock::new(),
        }
    }
}

fn parent_of(parent: Option<&Bound<'_, Context>>) -> CoreContext {
    parent.map_or_else(CoreContext::background, |p| p.get().ctx.clone())
}

/// Seconds (a float) to ns; ValueError for NaN or a negative value.
fn seconds_ns(s: f64, what: &str) -> PyResult<i64> {
    if s.is_nan() || s < 0.0 {
        return Err(PyValueError::new_err(format!(
            "{what}: seconds must be a number >= 0"
        )));
    }
    Ok((s * 1e9).min(i64::MAX as f64 / 2.0) as i64)
}

/// background() -> Context: the root context, which never ends (cancel() does nothing).
#[pyfunction]
fn background() -> Context {
    Context::of(CoreContext::background())
}

/// with_cancel(parent=None) -> Context: a child of `parent` (default background()) that ends
/// when cancel() is called on it, or when `parent` ends.
#[pyfunction]
#[pyo3(signature = (parent=None))]
fn with_cancel(parent: Option<&Bound<'_, Context>>) -> Context {
    Context::of(parent_of(parent).with_cancel())
}

/// with_timeout(seconds, parent=None) -> Context: with_cancel(parent) that also ends
/// (DeadlineExceeded) `seconds` from now. ValueError for a negative or NaN `seconds`.
#[pyfunction]
#[pyo3(signature = (seconds, parent=None))]
fn with_timeout(seconds: f64, parent: Option<&Bound<'_, Context>>) -> PyResult<Context> {
    let ns = seconds_ns(seconds, "with_timeout")?;
    Ok(Context::of(parent_of(parent).with_timeout(ns)))
}

/// with_deadline(deadline, parent=None) -> Context: with_cancel(parent) that also ends
/// (DeadlineExceeded) at `deadline`, a time.monotonic() value (at once if it has passed).
#[pyfunction]
#[pyo3(signature = (deadline, parent=None))]
fn with_deadline(deadline: f64, parent: Option<&Bound<'_, Context>>) -> PyResult<Context> {
    if deadline.is_nan() {
        return Err(PyValueError::new_err("with_deadline: NaN deadline"));
    }
    let ns = (deadline * 1e9).clamp(i64::MIN as f64 / 2.0, i64::MAX as f64 / 2.0) as i64;
    Ok(Context::of(parent_of(parent).with_deadline(ns)))
}

#[pymethods]
impl Context {
    /// cancel(): ends this context and every context made from it (Cancelled). Again, or on
    /// an ended context, it does nothing.
    fn cancel(&self) {
        self.ctx.cancel();
    }

    /// err() -> None while it has not ended, else the exception its calls raise: a Cancelled
    /// or a DeadlineExceeded (Go's ctx.Err()).
    fn err(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.ctx
            .reason()
            .map(|r| ended_error(r.error()).into_value(py).into_any())
    }

    /// done() -> Chan: a receive-only channel closed when the context ends (Go's
    /// ctx.Done()), for goro.select(goro.recv(ctx.done()), ...). The same channel each call.
    fn done(&self, py: Python<'_>) -> PyResult<Py<Chan>> {
        self.done
            .get_or_try_init(py, || {
                let ch = goro_core::Chan::new(0).expect("an unbuffered channel");
                self.ctx.close_on_end(ch.raw());
                Py::new(py, Chan::receive_only(ch))
            })
            .map(|c| c.clone_ref(py))
    }

    /// The deadline as a time.monotonic() value, or None.
    #[getter]
    fn deadline(&self) -> Option<f64> {
        self.ctx.deadline().map(|ns| ns as f64 / 1e9)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Cancels the context; the block's exception (if any) goes on.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyAny>) -> bool {
        self.ctx.cancel();
        false
    }

    fn __repr__(&self) -> String {
        let state = match self.ctx.reason() {
            None => "live",
            Some(Reason::Cancelled) => "cancelled",
            Some(Reason::DeadlineExceeded) => "deadline exceeded",
        };
        match self.ctx.deadline() {
            Some(d) => format!(
                "<goro.Context {state} deadline={:.3}s>",
                (d - goro_core::now_ns()) as f64 / 1e9
            ),
            None => format!("<goro.Context {state}>"),
        }
    }
}

/// A channel send unless `ctx` ends first (Chan.send's `ctx=`).
pub(crate) fn send(
    py: Python<'_>,
    ch: &goro_core::Chan<Py<PyAny>>,
    value: Py<PyAny>,
    d: Deadline,
    ctx: &Context,
) -> PyResult<()> {
    let mut sel = Select::new();
    sel.send(Some(ch), value);
    // An unsent value comes back in `_unsent` and is dropped here, attached.
    let (r, _unsent) = rt::blocking(py, || sel.wait_ctx(d, &ctx.ctx))?;
    match r {
        Ok(s) if s.ok => Ok(()),
        Ok(_) => Err(closed()),
        Err(e) => Err(err(e)),
    }
}

/// A channel receive unless `ctx` ends first: as `Chan::recv_deadline` says it (Ok(None):
/// closed and drained).
pub(crate) fn recv(
    py: Python<'_>,
    ch: &goro_core::Chan<Py<PyAny>>,
    d: Deadline,
    ctx: &Context,
) -> PyResult<Result<Option<Py<PyAny>>, Error>> {
    let mut sel = Select::new();
    sel.recv(Some(ch));
    let (r, _) = rt::blocking(py, || sel.wait_ctx(d, &ctx.ctx))?;
    Ok(r.map(|s| s.value))
}

/// A wait on `src` (a WaitGroup reaching zero, a Mutex to take) unless `ctx` ends first.
pub(crate) fn wait_source(
    py: Python<'_>,
    src: &dyn Source,
    d: Deadline,
    ctx: &Context,
) -> PyResult<()> {
    // SAFETY: a source case carries no pointers.
    let r = rt::blocking(py, || unsafe {
        core_ctx::wait_ctx(&[Case::Source(src)], d, &ctx.ctx)
    })?;
    r.map(|_| ()).map_err(err)
}

/// goro.sleep's `ctx=`.
pub(crate) fn sleep(py: Python<'_>, ns: i64, ctx: &Context) -> PyResult<()> {
    rt::blocking(py, || core_ctx::sleep_ctx(ns, &ctx.ctx))?.map_err(err)
}

/// Group(limit=None, ctx=None)
///
/// An error group (Go's errgroup), used as `with goro.Group() as g: g.go(fn, *args)`: the
/// block's end waits for every goroutine started with g.go. The first exception one raises
/// cancels `g.ctx` (pass it to their blocking calls) and is raised at the end; several are
/// raised as an ExceptionGroup (Python 3.11+; before, the first). `limit` bounds how many run
/// at once: g.go waits while that many run. `ctx` is the parent of g.ctx.
#[pyclass(frozen, module = "goro", name = "Group")]
pub struct Group {
    group: CoreGroup<PyErr>,
    ctx: Py<Context>,
    /// The group has a reason to stop (an exception recorded, or cancel()): a Cancelled from
    /// a member is then its echo (module doc). Release/Acquire: set before the cancel that
    /// members observe.
    stopping: Arc<AtomicBool>,
    /// Waited for: no more members.
    ended: AtomicBool,
    /// Set when the Group object is dropped unwaited: members that fail afterwards report
    /// their exception (goroutine.rs `report`) instead of recording it for nobody. A member
    /// records under this lock, so the drop sees every exception recorded before it.
    orphaned: Arc<parking_lot::Mutex<bool>>,
}

impl Drop for Group {
    /// Never silently lost: exceptions recorded but never raised (the group was not waited
    /// for) are reported as a goroutine's are.
    fn drop(&mut self) {
        *self.orphaned.lock() = true;
        let errs = self.group.take_errors();
        if !errs.is_empty() {
            Python::attach(|py| {
                for e in errs {
                    crate::goroutine::report(py, 0, e);
                }
            });
        }
    }
}

impl Group {
    /// The source an event loop waits on: ready once no member runs.
    pub(crate) fn ended(&self) -> Arc<dyn Source> {
        self.group.ended()
    }

    /// Waits until `d` for the members, then raises what they raised, with `body` (the
    /// with-block's own exception) first. Ok(None): members still run (`d` passed). Ok(false):
    /// nothing to raise beyond `body`.
    fn finish(
        &self,
        py: Python<'_>,
        d: Deadline,
        body: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Option<bool>> {
        if body.is_some() {
            self.cancel();
        }
        let errs = match rt::blocking(py, || self.group.wait_all_deadline(d)) {
            Err(e) => {
                // Ctrl-C while waiting: the members are told to stop; the interrupt goes on.
                self.cancel();
                return Err(e);
            }
            Ok(Err(Error::WouldBlock | Error::TimedOut)) => return Ok(None),
            Ok(Err(e)) => return Err(err(e)),
            Ok(Ok(errs)) => errs,
        };
        self.ended.store(true, Ordering::Release);
        let has_body = body.is_some();
        let mut excs: Vec<Bound<'_, PyAny>> = body.into_iter().collect();
        excs.extend(
            errs.into_iter()
                .map(|e| e.into_value(py).into_bound(py).into_any()),
        );
        match excs.len() {
            0 => Ok(Some(false)),
            1 if has_body => Ok(Some(false)),
            1 => Err(PyErr::from_value(excs.remove(0))),
            n => {
                let builtins = py.import("builtins")?;
                match builtins.getattr("BaseExceptionGroup") {
                    Ok(eg) => {
                        let e = eg.call1((format!("goro.Group: {n} exceptions"), excs))?;
                        Err(PyErr::from_value(e))
                    }
                    // Python < 3.11: the first, as errgroup returns.
                    Err(_) => Err(PyErr::from_value(excs.remove(0))),
                }
            }
        }
    }
}

#[pymethods]
impl Group {
    #[new]
    #[pyo3(signature = (limit=None, ctx=None))]
    fn new(
        py: Python<'_>,
        limit: Option<i64>,
        ctx: Option<&Bound<'_, Context>>,
    ) -> PyResult<Group> {
        let limit = match limit {
            None => 0,
            Some(n) if n >= 1 => n as usize,
            Some(_) => return Err(PyValueError::new_err("Group: limit must be None or >= 1")),
        };
        let group = CoreGroup::new(&parent_of(ctx), limit).map_err(err)?;
        let ctx = Py::new(py, Context::of(group.context().clone()))?;
        Ok(Group {
            group,
            ctx,
            stopping: Arc::new(AtomicBool::new(false)),
            ended: AtomicBool::new(false),
            orphaned: Arc::new(parking_lot::Mutex::new(false)),
        })
    }

    /// go(fn, *args, **kwargs) -> int
    ///
    /// Starts `fn(*args, **kwargs)` as a goroutine in the group (waiting while `limit` run)
    /// and returns its id. RuntimeError once the group has been waited for.
    #[pyo3(signature = (fn_, /, *args, **kwargs))]
    fn go(
        &self,
        py: Python<'_>,
        fn_: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        kwargs: Option<Bound<'_, PyDict>>,
    ) -> PyResult<u64> {
        if self.ended.load(Ordering::Acquire) {
            return Err(PyRuntimeError::new_err(
                "goro.Group: go() after the group was waited for",
            ));
        }
        if !fn_.is_callable() {
            return Err(PyTypeError::new_err(
                "Group.go: the first argument must be callable",
            ));
        }
        if rt::is_shutdown() {
            return Err(rt::shutdown_error());
        }
        let member = rt::blocking(py, || self.group.join(Deadline::Forever))?.map_err(err)?;
        let stopping = self.stopping.clone();
        let orphaned = self.orphaned.clone();
        let end: End = Box::new(move |py, r| {
            let r = match r {
                Ok(v) => {
                    drop(v.into_bound(py)); // released now (pool.rs worker_body)
                    Ok(())
                }
                Err(e) if e.is_instance_of::<GoroutineExit>(py) => Ok(()),
                // The echo of a stop already decided (module doc).
                Err(e) if e.is_instance_of::<Cancelled>(py) && stopping.load(Ordering::Acquire) => {
                    Ok(())
                }
                Err(e) => {
                    stopping.store(true, Ordering::Release);
                    Err(e)
                }
            };
            // Gives back the place (and the count) here, after the defers ran.
            let orphan = orphaned.lock();
            match r {
                Err(e) if *orphan => {
                    drop(orphan);
                    drop(member);
                    crate::goroutine::report(py, goro_core::current_id(), e);
                }
                r => member.finish(r),
            }
        });
        let func = crate::trace::func_of(&fn_);
        let site = crate::trace::caller_site(py);
        let body = crate::goroutine::call_body(
            fn_.unbind(),
            args.unbind(),
            kwargs.map(Bound::unbind),
            end,
        );
        // A spawn that fails drops the body, and with it the member's place.
        rt::spawn(None, func, site, body).map_err(err)
    }

    /// The group's context: ends when a member raises, cancel() is called, the group is
    /// waited for, or the parent ends.
    #[getter]
    fn ctx(&self, py: Python<'_>) -> Py<Context> {
        self.ctx.clone_ref(py)
    }

    /// cancel(): cancels g.ctx; the Cancelled the members raise then is not an error.
    fn cancel(&self) {
        self.stopping.store(true, Ordering::Release);
        self.group.context().cancel();
    }

    /// wait(): waits for every member, then raises what they raised (see the class doc).
    fn wait(&self, py: Python<'_>) -> PyResult<()> {
        self.finish(py, Deadline::Forever, None).map(|_| ())
    }

    /// _finish_nowait(exc) -> None while members run, else what __exit__ returns (for asyncio).
    fn _finish_nowait(
        &self,
        py: Python<'_>,
        exc: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Option<bool>> {
        self.finish(py, Deadline::NoWait, exc.filter(|e| !e.is_none()))
    }

    /// wait_async() (a coroutine): wait() without blocking the event loop. Cancelling the
    /// awaiting task cancels g.ctx.
    fn wait_async(slf: Bound<'_, Self>) -> PyResult<Bound<'_, PyAny>> {
        crate::aio::call(slf.py(), "group_end", (slf, None::<Py<PyAny>>))
    }

    /// Goroutines of the group running now.
    #[getter]
    fn running(&self) -> i64 {
        self.group.running()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Waits for the members (after cancelling g.ctx if the block raised).
    #[pyo3(signature = (_ty=None, exc=None, _tb=None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        _ty: Option<Bound<'_, PyAny>>,
        exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let exc = exc.filter(|e| !e.is_none());
        Ok(self.finish(py, Deadline::Forever, exc)?.unwrap_or(false))
    }

    fn __aenter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, PyAny>> {
        crate::aio::call(slf.py(), "ready", (slf,))
    }

    #[pyo3(signature = (_ty=None, exc=None, _tb=None))]
    fn __aexit__<'py>(
        slf: Bound<'py, Self>,
        _ty: Option<Bound<'py, PyAny>>,
        exc: Option<Bound<'py, PyAny>>,
        _tb: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::aio::call(slf.py(), "group_end", (slf, exc))
    }

    fn __repr__(&self) -> String {
        format!("<goro.Group running={}>", self.group.running())
    }
}
