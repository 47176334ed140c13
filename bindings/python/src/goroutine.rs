//! `go`, `run`, `defer`, `exit`, the exception hook, and the runtime knobs.
//!
//! A goroutine's body calls the callable; an exception that escapes it is handed to the hook
//! (`set_excepthook`), by default printed with its traceback to stderr. SystemExit is reported
//! like any other exception and never exits the process (pitfall 4: no PyErr_Print). `exit()`
//! raises `GoroutineExit`, which unwinds the goroutine's Python frames normally; the body takes
//! it silently. Deferred calls live in the goroutine's thread-state dict and run last
//! registered first when the body ends, however it ends.

use std::sync::Arc;

use goro_core::sync::WaitGroup;
use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::{err, rt, GoroutineExit};

static HOOK: Mutex<Option<Py<PyAny>>> = Mutex::new(None);

const DEFERS_KEY: &str = "goro.defers";

/// Hands an exception that escaped goroutine `gid` to the hook, or prints it.
pub fn report(py: Python<'_>, gid: u64, e: PyErr) {
    if e.is_instance_of::<GoroutineExit>(py) {
        return;
    }
    let hook = HOOK.lock().as_ref().map(|h| h.clone_ref(py));
    let value = e.into_value(py).into_bound(py).into_any();
    let r = match hook {
        Some(h) => h.bind(py).call1((gid, &value)).map(|_| ()),
        None => print_exception(py, gid, &value),
    };
    if let Err(e2) = r {
        // The hook failed: never lose the original.
        let _ = print_exception(py, gid, &value);
        let _ = print_exception(py, gid, e2.into_value(py).bind(py).as_any());
    }
}

fn print_exception(py: Python<'_>, gid: u64, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let stderr = py.import("sys")?.getattr("stderr")?;
    if stderr.is_none() {
        return Ok(());
    }
    let lines = py.import("traceback")?.call_method1(
        "format_exception",
        (value.get_type(), value, value.getattr("__traceback__")?),
    )?;
    let text: String = pyo3::types::PyString::new(py, "")
        .call_method1("join", (lines,))?
        .extract()?;
    stderr.call_method1(
        "write",
        (format!("goro: exception in goroutine {gid}:\n{text}"),),
    )?;
    Ok(())
}

/// Runs the deferred calls of the current goroutine, last first.
fn run_defers(py: Python<'_>, gid: u64) {
    loop {
        let next = (|| -> PyResult<Option<Bound<'_, PyAny>>> {
            let d = thread_dict(py)?;
            let Some(list) = d.get_item(DEFERS_KEY)? else {
                return Ok(None);
            };
            let list = list.cast_into::<PyList>()?;
            if list.len() == 0 {
                return Ok(None);
            }
            Ok(Some(list.call_method0("pop")?))
        })();
        match next {
            Ok(Some(item)) => {
                let r = (|| -> PyResult<()> {
                    let (f, args, kwargs): (
                        Bound<'_, PyAny>,
                        Bound<'_, PyTuple>,
                        Option<Bound<'_, PyDict>>,
                    ) = item.extract()?;
                    f.call(args, kwargs.as_ref())?;
                    Ok(())
                })();
                if let Err(e) = r {
                    report(py, gid, e);
                }
            }
            Ok(None) => return,
            Err(e) => {
                report(py, gid, e);
                return;
            }
        }
    }
}

fn thread_dict(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    // SAFETY: GIL held; returns a borrowed dict of the current thread state.
    let d = unsafe { pyo3::ffi::PyThreadState_GetDict() };
    if d.is_null() {
        return Err(PyRuntimeError::new_err("goro: no thread-state dict"));
    }
    // SAFETY: a borrowed, live dict.
    Ok(unsafe { Bound::from_borrowed_ptr(py, d) }.cast_into::<PyDict>()?)
}

/// What a goroutine does with its callable's result, once its deferred calls have run.
pub(crate) type End = Box<dyn for<'py> FnOnce(Python<'py>, PyResult<Py<PyAny>>) + Send>;

/// The body of `go(fn, *args, **kwargs)` and of the others that start a Python goroutine
/// (`run`, a Group's `go`): calls `fn`, runs the deferred calls, then `end` with the result,
/// so that whoever waits for the goroutine (run, a Group) sees its defers done.
pub(crate) fn call_body(
    f: Py<PyAny>,
    args: Py<PyTuple>,
    kwargs: Option<Py<PyDict>>,
    end: End,
) -> rt::PyBody {
    Box::new(move |py| {
        let gid = goro_core::current_id();
        let f = f.into_bound(py);
        let args = args.into_bound(py);
        let kwargs = kwargs.map(|k| k.into_bound(py));
        // The leak report's view of what this call holds (reach.rs): one reference each.
        let kw = kwargs.as_ref().map_or(std::ptr::null_mut(), |k| k.as_ptr());
        let held = crate::reach::CallGuard::enter(py, f.as_ptr(), args.as_ptr(), kw);
        let r = f.call(&args, kwargs.as_ref()).map(Bound::unbind);
        drop(held);
        drop((f, args, kwargs));
        run_defers(py, gid);
        end(py, r);
    })
}

/// `go`'s end: an exception is reported (goro.exit()'s is not: `report` skips it).
fn report_end() -> End {
    Box::new(|py, r| match r {
        // Bound, to release it now (see pool.rs worker_body: PyO3's deferred pool otherwise).
        Ok(v) => drop(v.into_bound(py)),
        Err(e) => report(py, goro_core::current_id(), e),
    })
}

struct RunResult {
    value: Mutex<Option<PyResult<Py<PyAny>>>>,
    done: WaitGroup,
}

/// go(fn, *args, **kwargs) -> int
///
/// Starts `fn(*args, **kwargs)` as a goroutine and returns its id. An exception that escapes
/// it is reported (see `set_excepthook`); it never stops the program.
#[pyfunction]
#[pyo3(signature = (fn_, /, *args, **kwargs))]
pub fn go(
    fn_: Bound<'_, PyAny>,
    args: Bound<'_, PyTuple>,
    kwargs: Option<Bound<'_, PyDict>>,
) -> PyResult<u64> {
    if !fn_.is_callable() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "goro.go: the first argument must be callable",
        ));
    }
    if rt::is_shutdown() {
        return Err(rt::shutdown_error());
    }
    let py = fn_.py();
    let func = crate::trace::func_of(&fn_);
    let site = crate::trace::caller_site(py);
    let body = call_body(
        fn_.unbind(),
        args.unbind(),
        kwargs.map(Bound::unbind),
        report_end(),
    );
    rt::spawn(None, func, site, body).map_err(err)
}

/// run(fn, *args, **kwargs) -> result
///
/// Runs `fn` as a goroutine, blocks until it returns, and returns its result (an exception
/// it raised is raised here).
#[pyfunction]
#[pyo3(signature = (fn_, /, *args, **kwargs))]
pub fn run(
    py: Python<'_>,
    fn_: Bound<'_, PyAny>,
    args: Bound<'_, PyTuple>,
    kwargs: Option<Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    if !fn_.is_callable() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "goro.run: the first argument must be callable",
        ));
    }
    let res = Arc::new(RunResult {
        value: Mutex::new(None),
        done: WaitGroup::new(),
    });
    res.done.add(1).map_err(err)?;
    let func = crate::trace::func_of(&fn_);
    let site = crate::trace::caller_site(py);
    let res2 = res.clone();
    let end: End = Box::new(move |py, r| {
        match r {
            Err(e) if e.is_instance_of::<GoroutineExit>(py) => {}
            r => *res2.value.lock() = Some(r),
        }
        let _ = res2.done.done();
    });
    let body = call_body(fn_.unbind(), args.unbind(), kwargs.map(Bound::unbind), end);
    rt::spawn(None, func, site, body).map_err(err)?;
    rt::blocking(py, || res.done.wait())?.map_err(err)?;
    let v = res.value.lock().take();
    match v {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(e),
        None => Ok(py.None()),
    }
}

/// defer(fn, *args, **kwargs)
///
/// Inside a goroutine: calls `fn(*args, **kwargs)` when the goroutine ends, however it ends;
/// the last registered runs first. RuntimeError outside a goroutine.
#[pyfunction]
#[pyo3(signature = (fn_, /, *args, **kwargs))]
pub fn defer(
    py: Python<'_>,
    fn_: Bound<'_, PyAny>,
    args: Bound<'_, PyTuple>,
    kwargs: Option<Bound<'_, PyDict>>,
) -> PyResult<()> {
    if !rt::in_goroutine() {
        return Err(PyRuntimeError::new_err(
            "goro.defer: only inside a goroutine",
        ));
    }
    if !fn_.is_callable() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "goro.defer: the first argument must be callable",
        ));
    }
    let d = thread_dict(py)?;
    let list = match d.get_item(DEFERS_KEY)? {
        Some(l) => l.cast_into::<PyList>()?,
        None => {
            let l = PyList::empty(py);
            d.set_item(DEFERS_KEY, &l)?;
            l
        }
    };
    list.append((fn_, args, kwargs))?;
    Ok(())
}

/// exit()
///
/// Ends the calling goroutine: unwinds its frames (finally blocks run) by raising
/// GoroutineExit, then its deferred calls run. RuntimeError outside a goroutine.
#[pyfunction]
pub fn exit() -> PyResult<()> {
    if !rt::in_goroutine() {
        return Err(PyRuntimeError::new_err(
            "goro.exit: only inside a goroutine",
        ));
    }
    Err(GoroutineExit::new_err(()))
}

/// set_excepthook(fn)
///
/// `fn(goroutine_id, exception)` takes over reporting exceptions that escape goroutines and
/// pool jobs; None restores the default (traceback to stderr).
#[pyfunction]
pub fn set_excepthook(hook: Option<Bound<'_, PyAny>>) -> PyResult<()> {
    if let Some(h) = &hook {
        if !h.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "goro.set_excepthook: a callable or None",
            ));
        }
    }
    *HOOK.lock() = hook.map(Bound::unbind);
    Ok(())
}

/// yield_()
///
/// Lets other goroutines run (in a goroutine); lets other threads run (on a thread).
#[pyfunction]
#[pyo3(name = "yield_")]
pub fn yield_now(py: Python<'_>) {
    rt::detached(py, goro_core::yield_now);
}

/// gomaxprocs(n=None) -> int
///
/// Sets the number of OS threads running goroutines when `n` is given; returns the value
/// before the call.
#[pyfunction]
#[pyo3(signature = (n=None))]
pub fn gomaxprocs(n: Option<i64>) -> PyResult<usize> {
    match n {
        None => Ok(goro_core::sched::maxprocs(0)),
        Some(n) if n < 1 => Err(PyValueError::new_err("gomaxprocs: n must be >= 1")),
        Some(n) => Ok(goro_core::sched::maxprocs(n)),
    }
}

/// num_cpu() -> int: the CPUs this process may use (affinity and cgroup quota).
#[pyfunction]
pub fn num_cpu() -> usize {
    goro_core::maxprocs::num_cpu()
}

/// num_goroutine() -> int: goroutines alive now.
#[pyfunction]
pub fn num_goroutine() -> i64 {
    goro_core::num_goroutine()
}

/// goroutine_id() -> int: the running goroutine's id, 0 on a plain thread.
#[pyfunction]
pub fn goroutine_id() -> u64 {
    goro_core::current_id()
}
