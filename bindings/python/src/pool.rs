//! `goro.Pool`: N Python goroutines draining a bounded queue of calls.
//!
//! The queue, its back-pressure and the count of unfinished jobs are the core's pool
//! (core pool.rs, `Pool::with_workers`); here the workers are Python goroutines and a job is a
//! Python call. A full queue makes `submit` wait (with the GIL released). A job's exception is
//! reported as a goroutine's (the hook), unless the job belongs to `map`, whose caller gets it
//! back from its result slot. `wait_async` awaits the count of unfinished jobs, a wait source.

use std::sync::Arc;

use goro_core::pool::PoolWorker;
use goro_core::sync::WaitGroup as CoreWaitGroup;
use goro_core::Deadline;
use parking_lot::Mutex;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::{deadline, err, goroutine, rt};

/// Where a `map` job leaves its result.
pub struct Slot {
    value: Mutex<Option<PyResult<Py<PyAny>>>>,
    done: CoreWaitGroup,
}

struct Job {
    f: Py<PyAny>,
    args: Py<PyTuple>,
    kwargs: Option<Py<PyDict>>,
    slot: Option<Arc<Slot>>,
}

/// Pool(workers=None, queue=None)
///
/// `workers` goroutines (default GOMAXPROCS) running submitted calls from a queue of `queue`
/// jobs (default 2 x workers). A context manager: leaving it closes the pool and waits.
#[pyclass(frozen, module = "goro", name = "Pool")]
pub struct Pool {
    pool: goro_core::pool::Pool<Job>,
}

fn worker_body(w: PoolWorker<Job>) -> rt::PyBody {
    Box::new(move |py| {
        let gid = goro_core::current_id();
        // Ends once the pool is closed and drained.
        while let Ok(Ok(Some(job))) = rt::blocking(py, || w.next(Deadline::Forever)) {
            let Job {
                f,
                args,
                kwargs,
                slot,
            } = job;
            // Bound, so that they are released here and now: a `Py` dropped outside a PyO3
            // call goes to PyO3's deferred pool (a lock, and a decref later, anywhere), since
            // a goroutine's body holds the GIL without PyO3's own count of it (rt.rs run_body).
            let (f, args, kwargs) = (
                f.into_bound(py),
                args.into_bound(py),
                kwargs.map(|k| k.into_bound(py)),
            );
            // No arguments (the common `submit(fn)`): a vectorcall, no argument tuple unpacked.
            let r = if args.is_empty() && kwargs.is_none() {
                f.call0()
            } else {
                f.call(&args, kwargs.as_ref())
            };
            drop((f, args, kwargs));
            match slot {
                Some(s) => {
                    *s.value.lock() = Some(r.map(Bound::unbind));
                    let _ = s.done.done();
                }
                None => {
                    if let Err(e) = r {
                        goroutine::report(py, gid, e);
                    }
                }
            }
            w.done();
        }
    })
}

impl Pool {
    fn submit_job(&self, py: Python<'_>, job: Job) -> PyResult<()> {
        // A job not queued comes back in the error and is dropped here, attached.
        rt::blocking(py, || self.pool.submit_deadline(job, Deadline::Forever))?
            .map_err(|(_, e)| err(e))
    }

    /// The count of unfinished jobs, as a wait source (asyncio's `wait_async`).
    pub(crate) fn pending(&self) -> Arc<CoreWaitGroup> {
        self.pool.pending().clone()
    }
}

#[pymethods]
impl Pool {
    #[new]
    #[pyo3(signature = (workers=None, queue=None))]
    fn new(py: Python<'_>, workers: Option<i64>, queue: Option<i64>) -> PyResult<Pool> {
        let workers = match workers {
            None => goro_core::sched::maxprocs(0),
            Some(w) if w < 1 => return Err(PyValueError::new_err("Pool: workers must be >= 1")),
            Some(w) => w as usize,
        };
        let queue = match queue {
            None => 2 * workers,
            Some(q) if q < 0 => return Err(PyValueError::new_err("Pool: queue must be >= 0")),
            Some(q) => q as usize,
        };
        let site = crate::trace::caller_site(py);
        let func =
            goro_core::trace::Func::Named(goro_core::trace::Frame::new("goro.Pool.worker", "", 0));
        let pool = goro_core::pool::Pool::with_workers(workers, queue, |i, w| {
            let name = Some(format!("pool worker {i}"));
            rt::spawn(name, func.clone(), site.clone(), worker_body(w)).map(|_| ())
        })
        .map_err(err)?;
        Ok(Pool { pool })
    }

    /// submit(fn, *args, **kwargs)
    ///
    /// Queues `fn(*args, **kwargs)`, waiting while the queue is full. Returns nothing; an
    /// exception in the call is reported as a goroutine's. Raises Closed after close().
    #[pyo3(signature = (fn_, /, *args, **kwargs))]
    fn submit(
        &self,
        py: Python<'_>,
        fn_: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        kwargs: Option<Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        if !fn_.is_callable() {
            return Err(PyTypeError::new_err("Pool.submit: fn must be callable"));
        }
        let job = Job {
            f: fn_.unbind(),
            args: args.unbind(),
            kwargs: kwargs.map(Bound::unbind),
            slot: None,
        };
        self.submit_job(py, job)
    }

    /// _submit_slot(fn, args) -> PoolResult: for map(); the result waits in the slot.
    fn _submit_slot(
        &self,
        py: Python<'_>,
        fn_: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<PoolResult> {
        let slot = Arc::new(Slot {
            value: Mutex::new(None),
            done: CoreWaitGroup::new(),
        });
        slot.done.add(1).map_err(err)?;
        let job = Job {
            f: fn_.unbind(),
            args: args.unbind(),
            kwargs: None,
            slot: Some(slot.clone()),
        };
        self.submit_job(py, job)?;
        Ok(PoolResult { slot })
    }

    /// map(fn, *iterables, timeout=None) -> iterator
    ///
    /// Yields fn(*items) for the items of the iterables, in order, as Executor.map; a call's
    /// exception is raised when its result is reached.
    #[pyo3(signature = (fn_, /, *iterables, timeout=None))]
    fn map<'py>(
        slf: Bound<'py, Self>,
        fn_: Bound<'py, PyAny>,
        iterables: Bound<'py, PyTuple>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !fn_.is_callable() {
            return Err(PyTypeError::new_err("Pool.map: fn must be callable"));
        }
        deadline(timeout)?;
        let py = slf.py();
        py.import("goro")?
            .getattr("_pool_map")?
            .call1((slf, fn_, iterables, timeout))
    }

    /// wait(timeout=None): waits until every job submitted so far has finished. May be
    /// called any number of times.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let d = deadline(timeout)?;
        rt::blocking(py, || self.pool.wait_deadline(d))?.map_err(err)
    }

    /// wait_async(timeout=None) (a coroutine): wait() without blocking the event loop.
    #[pyo3(signature = (timeout=None))]
    fn wait_async(slf: Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Bound<'_, PyAny>> {
        crate::aio::timed(slf, "wait_source", timeout)
    }

    /// close(): takes no more jobs; the workers end once the queue is drained. Calling it
    /// again does nothing.
    fn close(&self) {
        let _ = self.pool.close();
    }

    /// The number of workers.
    #[getter]
    fn workers(&self) -> usize {
        self.pool.workers()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.close();
        self.wait(py, None)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "<goro.Pool workers={} pending={}{}>",
            self.pool.workers(),
            self.pool.pending().count(),
            if self.pool.queue().raw().is_closed() {
                " closed"
            } else {
                ""
            }
        )
    }
}

/// The pending result of one `map` job.
#[pyclass(frozen, module = "goro")]
pub struct PoolResult {
    slot: Arc<Slot>,
}

#[pymethods]
impl PoolResult {
    /// result(timeout=None): waits for the call and returns its value or raises its
    /// exception.
    #[pyo3(signature = (timeout=None))]
    fn result(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let d = deadline(timeout)?;
        rt::blocking(py, || self.slot.done.wait_deadline(d))?.map_err(err)?;
        match self.slot.value.lock().take() {
            Some(r) => r,
            None => Err(pyo3::exceptions::PyRuntimeError::new_err(
                "PoolResult: result already taken",
            )),
        }
    }
}
