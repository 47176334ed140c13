//! goro for Python: goroutines, channels and select on the goro runtime (CONTRACT.md, Python).
//!
//! Files: `rt` how Python waits and how thread states follow goroutines (read it first);
//! `datastack` the small root chunk a goroutine's frames start on;
//! `goroutine` go/run/defer/exit and exception reports; `chan` the channel; `select`;
//! `sync` WaitGroup and Mutex; `time` sleep/after/Ticker; `pool`; `aio` asyncio; `trace` dumps,
//! profiles, leak reports and counters; `context` contexts, `ctx=` and Group; `io` the fd wait
//! and close under goro.socket.

#![deny(unsafe_op_in_unsafe_fn)]

mod aio;
mod chan;
mod context;
mod datastack;
mod fasthash;
mod goroutine;
mod io;
mod pool;
mod reach;
mod rt;
mod select;
mod sync;
mod time;
mod trace;

use goro_core::{Deadline, Error};
use pyo3::create_exception;
use pyo3::exceptions::{
    PyBaseException, PyException, PyKeyboardInterrupt, PyMemoryError, PyRuntimeError,
    PyTimeoutError, PyValueError,
};
use pyo3::prelude::*;

create_exception!(
    goro,
    Closed,
    PyException,
    "The channel is closed (send, close), or closed and drained (recv)."
);
create_exception!(
    goro,
    GoroutineExit,
    PyBaseException,
    "Raised by goro.exit() to end the calling goroutine; taken silently at its top."
);

/// goro.Closed, for a closed channel.
pub(crate) fn closed() -> PyErr {
    Closed::new_err("channel closed")
}

/// Maps a core error to the Python exception CONTRACT.md names.
pub(crate) fn err(e: Error) -> PyErr {
    match e {
        Error::Closed => closed(),
        Error::TimedOut | Error::WouldBlock => PyTimeoutError::new_err("timed out"),
        Error::Invalid => PyRuntimeError::new_err("goro: invalid operation"),
        Error::NoMemory => PyMemoryError::new_err("goro: out of memory"),
        Error::Shutdown => rt::shutdown_error(),
        Error::Interrupted => PyKeyboardInterrupt::new_err("interrupted"),
        Error::Cancelled | Error::DeadlineExceeded => context::ended_error(e),
    }
}

/// `timeout=` seconds to a deadline: None waits forever, 0 does not wait.
pub(crate) fn deadline(timeout: Option<f64>) -> PyResult<Deadline> {
    match timeout {
        None => Ok(Deadline::Forever),
        Some(t) if t.is_nan() || t < 0.0 => Err(PyValueError::new_err(
            "timeout must be None or a number of seconds >= 0",
        )),
        Some(0.0) => Ok(Deadline::NoWait),
        Some(t) => {
            let ns = (t * 1e9).min(i64::MAX as f64 / 2.0) as i64;
            Ok(Deadline::At(goro_core::now_ns().saturating_add(ns.max(1))))
        }
    }
}

/// _shutdown(max_seconds): the atexit hook (see rt.rs).
#[pyfunction]
fn _shutdown(py: Python<'_>, max_seconds: f64) {
    rt::shutdown(
        py,
        (max_seconds.max(0.0) * 1000.0) as u64,
        py.get_type::<GoroutineExit>().as_ptr(),
    );
}

/// _set_main_thread(ident): the thread whose waits check for signals (threading.main_thread).
#[pyfunction]
fn _set_main_thread(ident: u64) {
    rt::set_main_thread(ident);
}

/// _gilstate_managed() -> bool: whether this CPython needs and got the GIL-state key fix.
#[pyfunction]
fn _gilstate_managed() -> bool {
    rt::gilstate_managed()
}

/// _root_chunk() -> bool: whether goroutines' frames start on our small root chunk (datastack.rs).
#[pyfunction]
fn _root_chunk() -> bool {
    datastack::enabled()
}

/// _live() -> int: goroutines holding a Python thread state now.
#[pyfunction]
fn _live() -> isize {
    rt::live()
}

#[pymodule]
fn _goro(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    rt::init(py);
    datastack::init(py);
    goro_core::trace::leak::set_host_view(trace::host_view);
    m.add("Closed", py.get_type::<Closed>())?;
    m.add("GoroutineExit", py.get_type::<GoroutineExit>())?;
    m.add_class::<chan::Chan>()?;
    m.add_class::<select::RecvCase>()?;
    m.add_class::<select::SendCase>()?;
    m.add_class::<sync::WaitGroup>()?;
    m.add_class::<sync::Mutex>()?;
    m.add_class::<time::Ticker>()?;
    m.add_class::<pool::Pool>()?;
    m.add_class::<pool::PoolResult>()?;
    m.add_class::<aio::Bridge>()?;
    m.add_class::<aio::AsyncOp>()?;
    m.add_function(wrap_pyfunction!(goroutine::go, m)?)?;
    m.add_function(wrap_pyfunction!(goroutine::run, m)?)?;
    m.add_function(wrap_pyfunction!(goroutine::defer, m)?)?;
    m.add_function(wrap_pyfunction!(goroutine::exit, m)?)?;
    m.add_function(wrap_pyfunction!(goroutine::set_excepthook, m)?)?;
    m.add_function(wrap_pyfunction!(goroutine::yield_now, m)?)?;
    m.add_function(wrap_pyfunction!(goroutine::gomaxprocs, m)?)?;
    m.add_function(wrap_pyfunction!(goroutine::num_cpu, m)?)?;
    m.add_function(wrap_pyfunction!(goroutine::num_goroutine, m)?)?;
    m.add_function(wrap_pyfunction!(goroutine::goroutine_id, m)?)?;
    let sel = wrap_pyfunction!(select::select, m)?;
    let _ = select::SELECT_FN.set(sel.clone().into_any().unbind());
    m.add_function(sel)?;
    m.add_function(wrap_pyfunction!(select::recv, m)?)?;
    m.add_function(wrap_pyfunction!(select::send, m)?)?;
    m.add_function(wrap_pyfunction!(time::sleep, m)?)?;
    m.add_function(wrap_pyfunction!(time::after, m)?)?;
    m.add_function(wrap_pyfunction!(aio::_async_start, m)?)?;
    m.add_function(wrap_pyfunction!(trace::dump, m)?)?;
    m.add_function(wrap_pyfunction!(trace::profile, m)?)?;
    m.add_function(wrap_pyfunction!(trace::set_block_profile_rate, m)?)?;
    m.add_function(wrap_pyfunction!(trace::set_mutex_profile_fraction, m)?)?;
    m.add_function(wrap_pyfunction!(trace::set_traceback, m)?)?;
    m.add_function(wrap_pyfunction!(trace::start_cpu_profile, m)?)?;
    m.add_function(wrap_pyfunction!(trace::stop_cpu_profile, m)?)?;
    m.add_function(wrap_pyfunction!(trace::debug_serve, m)?)?;
    m.add_function(wrap_pyfunction!(trace::_goroutines, m)?)?;
    m.add_function(wrap_pyfunction!(trace::_leaks, m)?)?;
    m.add_function(wrap_pyfunction!(trace::leak_report, m)?)?;
    m.add_function(wrap_pyfunction!(trace::counters, m)?)?;
    m.add_function(wrap_pyfunction!(_shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(_set_main_thread, m)?)?;
    m.add_function(wrap_pyfunction!(_gilstate_managed, m)?)?;
    m.add_function(wrap_pyfunction!(_live, m)?)?;
    m.add_function(wrap_pyfunction!(_root_chunk, m)?)?;
    // Contexts, ctx= and Group (context.rs).
    context::register(m)?;
    add_io(m)
}

/// goro.socket's native side (io.rs).
fn add_io(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(io::_fd_wait, m)?)?;
    m.add_function(wrap_pyfunction!(io::_fd_close, m)?)?;
    Ok(())
}
