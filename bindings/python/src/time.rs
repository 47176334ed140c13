//! `goro.sleep`, `goro.after`, `goro.Ticker`.
//!
//! Timers fire on a goro thread that holds no GIL and must not wait for it, so a timer does
//! not build the Python value itself: it starts a short Python goroutine that makes the value
//! (the firing time as `time.monotonic()` seconds, both CLOCK_MONOTONIC) and puts it on the
//! channel without waiting (a tick nobody took is dropped, as Go's ticker does).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use goro_core::time::{add_timer, cancel_timer, TimerKey, TimerTask};
use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyFloat;

use crate::chan::Chan;
use crate::rt;

fn to_ns(s: f64, what: &str) -> PyResult<i64> {
    if s.is_nan() {
        return Err(PyValueError::new_err(format!("{what}: NaN duration")));
    }
    Ok((s * 1e9).clamp(i64::MIN as f64, i64::MAX as f64) as i64)
}

/// sleep(seconds, *, ctx=None)
///
/// Parks a goroutine (its thread runs other goroutines); blocks a thread with the GIL
/// released (Ctrl-C interrupts it on the main thread). 0 or less yields. With `ctx`, raises
/// Cancelled or DeadlineExceeded when it ends first (at once if it has).
#[pyfunction]
#[pyo3(signature = (seconds, *, ctx=None))]
pub fn sleep(
    py: Python<'_>,
    seconds: f64,
    ctx: Option<&Bound<'_, crate::context::Context>>,
) -> PyResult<()> {
    let ns = to_ns(seconds, "sleep")?;
    match ctx {
        None => rt::sleep(py, ns),
        Some(c) => crate::context::sleep(py, ns, c.get()),
    }
}

/// Puts the firing time on `ch` from a fresh Python goroutine, without waiting.
fn deliver(ch: goro_core::Chan<Py<PyAny>>, now_ns: i64) {
    if rt::is_shutdown() {
        return;
    }
    let _ = rt::spawn(
        None,
        goro_core::trace::Func::Named(goro_core::trace::Frame::new("goro.timer.deliver", "", 0)),
        goro_core::trace::Site::Unknown,
        Box::new(move |py| {
            let v = PyFloat::new(py, now_ns as f64 / 1e9).into_any().unbind();
            let _ = ch.try_send(v); // full: the tick is dropped; its value decrefs here
        }),
    );
}

/// after(seconds) -> Chan
///
/// A channel (capacity 1) that receives the time (as time.monotonic()) once, no earlier than
/// `seconds` from now.
#[pyfunction]
pub fn after(py: Python<'_>, seconds: f64) -> PyResult<Py<Chan>> {
    let ns = to_ns(seconds, "after")?;
    let ch = goro_core::Chan::new(1).expect("one slot");
    let now = goro_core::now_ns();
    if ns <= 0 {
        let v = PyFloat::new(py, now as f64 / 1e9).into_any().unbind();
        let _ = ch.try_send(v);
    } else {
        let tx = ch.clone();
        add_timer(
            now.saturating_add(ns),
            TimerTask::Call(Box::new(move |t| {
                deliver(tx.clone(), t);
                None
            })),
        );
    }
    Py::new(py, Chan::of(ch))
}

/// Ticker(seconds)
///
/// Delivers the time (as time.monotonic()) on its channel `.C` (capacity 1) every period,
/// dropping ticks nobody took. `stop()` stops the ticks and leaves the channel open.
#[pyclass(frozen, module = "goro", name = "Ticker")]
pub struct Ticker {
    ch: Py<Chan>,
    stopped: Arc<AtomicBool>,
    key: Arc<Mutex<Option<TimerKey>>>,
}

#[pymethods]
impl Ticker {
    #[new]
    fn new(py: Python<'_>, seconds: f64) -> PyResult<Ticker> {
        let period = to_ns(seconds, "Ticker")?;
        if period <= 0 {
            return Err(PyValueError::new_err("Ticker: the period must be > 0"));
        }
        let ch = goro_core::Chan::new(1).expect("one slot");
        let stopped = Arc::new(AtomicBool::new(false));
        let key = Arc::new(Mutex::new(None));
        let (tx, st, k2) = (ch.clone(), stopped.clone(), key.clone());
        let mut next = goro_core::now_ns().saturating_add(period);
        let task = TimerTask::Call(Box::new(move |now| {
            if st.load(Ordering::Acquire) {
                return None;
            }
            if tx.is_empty() {
                deliver(tx.clone(), now);
            }
            // Next tick on the period grid, skipping any we are late for.
            next = next.saturating_add(period);
            if next <= now {
                next = now + period - (now - next) % period;
            }
            *k2.lock() = None;
            Some(next)
        }));
        *key.lock() = Some(add_timer(next, task));
        Ok(Ticker {
            ch: Py::new(py, Chan::of(ch))?,
            stopped,
            key,
        })
    }

    /// The channel the ticks arrive on.
    #[getter(C)]
    fn c(&self, py: Python<'_>) -> Py<Chan> {
        self.ch.clone_ref(py)
    }

    /// stop(): no more ticks; the channel stays open.
    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        if let Some(k) = self.key.lock().take() {
            cancel_timer(k);
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "<goro.Ticker{}>",
            if self.stopped.load(Ordering::Relaxed) {
                " stopped"
            } else {
                ""
            }
        )
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}
