//! `goro.WaitGroup` and `goro.Mutex`, over the core's, for goroutines and threads alike.

use goro_core::sync::{Mutex as CoreMutex, WaitGroup as CoreWaitGroup};
use goro_core::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::{deadline, err, rt};

/// WaitGroup()
///
/// Waits for a collection of goroutines to finish, as Go's sync.WaitGroup.
#[pyclass(frozen, module = "goro", name = "WaitGroup")]
pub struct WaitGroup {
    wg: CoreWaitGroup,
}

#[pymethods]
impl WaitGroup {
    #[new]
    fn new() -> WaitGroup {
        WaitGroup {
            wg: CoreWaitGroup::new(),
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

    /// wait(timeout=None): waits until the counter is zero; TimeoutError if `timeout` seconds
    /// pass first.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let wg = &self.wg;
        rt::wait(py, deadline(timeout)?, |d| wg.wait_deadline(d))?.map_err(err)
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
    mu: CoreMutex,
}

#[pymethods]
impl Mutex {
    #[new]
    fn new() -> Mutex {
        Mutex {
            mu: CoreMutex::new(),
        }
    }

    /// lock(timeout=None): takes the lock, waiting while it is held; TimeoutError if
    /// `timeout` seconds pass first.
    #[pyo3(signature = (timeout=None))]
    fn lock(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let mu = &self.mu;
        rt::wait(py, deadline(timeout)?, |d| mu.lock_deadline(d))?.map_err(err)
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
        self.lock(py, None)
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
