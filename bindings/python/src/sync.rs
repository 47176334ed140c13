//! `goro.WaitGroup` and `goro.Mutex`, over the core's, for goroutines, threads and asyncio
//! alike. Both are core wait sources (core wait/mod.rs `Source`), so asyncio awaits them as
//! one-case waits (aio.rs): `await wg.wait_async()`, `await mu.lock_async()`, `async with mu`.

use std::sync::Arc;

use goro_core::sync::{Mutex as CoreMutex, WaitGroup as CoreWaitGroup};
use goro_core::wait::Source;
use goro_core::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::context::Context;
use crate::{deadline, err, rt};

/// WaitGroup()
///
/// Waits for a collection of goroutines to finish, as Go's sync.WaitGroup.
#[pyclass(frozen, module = "goro", name = "WaitGroup")]
pub struct WaitGroup {
    wg: Arc<CoreWaitGroup>,
}

/// The wait source behind a WaitGroup, Mutex or Pool object (asyncio waits on these).
pub(crate) fn source_of(o: &Bound<'_, PyAny>) -> Option<Arc<dyn Source>> {
    if let Ok(w) = o.cast::<WaitGroup>() {
        return Some(w.get().wg.clone());
    }
    if let Ok(m) = o.cast::<Mutex>() {
        return Some(m.get().mu.clone());
    }
    if let Ok(g) = o.cast::<crate::context::Group>() {
        return Some(g.get().ended());
    }
    if let Ok(c) = o.cast::<Context>() {
        return Some(Arc::new(c.get().ctx.clone()));
    }
    o.cast::<crate::pool::Pool>()
        .ok()
        .map(|p| p.get().pending() as Arc<dyn Source>)
}

#[pymethods]
impl WaitGroup {
    #[new]
    fn new() -> WaitGroup {
        WaitGroup {
            wg: Arc::new(CoreWaitGroup::new()),
        }
    }

    /// add(n=1): adds n (may be negative). RuntimeError if the counter would go below zero.
    #[pyo3(signature = (n=1))]
    fn add(&self, n: i64) -> PyResult<()> {
        self.wg
            .add(n)
            .map_err(|_| PyRuntimeError::new_err("WaitGroup: negative counter"))
    }

    /// done(): add(-1).
    fn done(&self) -> PyResult<()> {
        self.add(-1)
    }

    /// wait(timeout=None, *, ctx=None): waits until the counter is zero; TimeoutError if
    /// `timeout` seconds pass first, Cancelled or DeadlineExceeded if `ctx` ends first.
    #[pyo3(signature = (timeout=None, *, ctx=None))]
    fn wait(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        ctx: Option<&Bound<'_, Context>>,
    ) -> PyResult<()> {
        let d = deadline(timeout)?;
        match ctx {
            None => rt::blocking(py, || self.wg.wait_deadline(d))?.map_err(err),
            Some(c) => crate::context::wait_source(py, &*self.wg, d, c.get()),
        }
    }

    /// wait_async(timeout=None, *, ctx=None) (a coroutine): waits without blocking the event
    /// loop.
    #[pyo3(signature = (timeout=None, *, ctx=None))]
    fn wait_async<'py>(
        slf: Bound<'py, Self>,
        timeout: Option<f64>,
        ctx: Option<Bound<'py, Context>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        deadline(timeout)?;
        crate::aio::call(slf.py(), "wait_source", (slf, timeout, ctx))
    }

    /// The counter now.
    #[getter]
    fn count(&self) -> i64 {
        self.wg.count()
    }

    fn __repr__(&self) -> String {
        format!("<goro.WaitGroup count={}>", self.wg.count())
    }
}

/// Mutex()
///
/// A mutual exclusion lock for goroutines and threads, as Go's sync.Mutex: not reentrant, and
/// any goroutine or thread may unlock it. A context manager (`with mu:`).
#[pyclass(frozen, module = "goro", name = "Mutex")]
pub struct Mutex {
    mu: Arc<CoreMutex>,
}

#[pymethods]
impl Mutex {
    #[new]
    fn new() -> Mutex {
        Mutex {
            mu: Arc::new(CoreMutex::new()),
        }
    }

    /// lock(timeout=None, *, ctx=None): takes the lock, waiting while it is held;
    /// TimeoutError if `timeout` seconds pass first, Cancelled or DeadlineExceeded if `ctx`
    /// ends first (the lock not taken).
    #[pyo3(signature = (timeout=None, *, ctx=None))]
    fn lock(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        ctx: Option<&Bound<'_, Context>>,
    ) -> PyResult<()> {
        let d = deadline(timeout)?;
        match ctx {
            None => rt::blocking(py, || self.mu.lock_deadline(d))?.map_err(err),
            Some(c) => crate::context::wait_source(py, &*self.mu, d, c.get()),
        }
    }

    /// lock_async(timeout=None) (a coroutine): takes the lock without blocking the event
    /// loop. A cancelled await leaves the lock as it was (a lock handed over as the await was
    /// cancelled is unlocked again, for the next waiter).
    #[pyo3(signature = (timeout=None, *, ctx=None))]
    fn lock_async<'py>(
        slf: Bound<'py, Self>,
        timeout: Option<f64>,
        ctx: Option<Bound<'py, Context>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        deadline(timeout)?;
        crate::aio::call(slf.py(), "lock", (slf, timeout, ctx))
    }

    fn __aenter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, PyAny>> {
        crate::aio::call(slf.py(), "lock", (slf, None::<f64>))
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        slf: Bound<'py, Self>,
        _exc: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::aio::call(slf.py(), "unlock", (slf,))
    }

    /// try_lock() -> bool: takes the lock if it is free.
    fn try_lock(&self) -> bool {
        self.mu.try_lock()
    }

    /// unlock(): RuntimeError if it is not locked.
    fn unlock(&self) -> PyResult<()> {
        self.mu.unlock().map_err(|e| match e {
            Error::Invalid => PyRuntimeError::new_err("Mutex: unlock of unlocked mutex"),
            e => err(e),
        })
    }

    /// Whether it is locked now.
    #[getter]
    fn locked(&self) -> bool {
        self.mu.is_locked()
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<()> {
        self.lock(py, None, None)
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.unlock()?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "<goro.Mutex {}>",
            if self.mu.is_locked() {
                "locked"
            } else {
                "unlocked"
            }
        )
    }
}
