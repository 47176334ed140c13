//! `goro.Chan`: a channel of Python objects over the core's `Chan<Py<PyAny>>`.
//!
//! A value in flight is an owned reference that moves, never a copy: the sender's reference
//! becomes the receiver's, so no reference count changes on the way and no GIL is needed to
//! move it. A value that nobody receives is dropped with the channel (`Py::drop`: decref at
//! once when this thread is attached, else queued in PyO3's pool until one is).

use goro_core::{Deadline, Error};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::context::Context;
use crate::{closed, deadline, err, rt};

/// Chan(cap=0)
///
/// A channel of any Python objects, usable from goroutines, threads and asyncio at once.
/// `cap` 0 is unbuffered: a send completes only when a receiver takes the value.
#[pyclass(frozen, module = "goro", name = "Chan")]
pub struct Chan {
    pub(crate) ch: goro_core::Chan<Py<PyAny>>,
    /// A context's done() channel: only its context closes it (sends and close raise).
    recv_only: bool,
}

impl Chan {
    /// A Python channel over `ch`.
    pub(crate) fn of(ch: goro_core::Chan<Py<PyAny>>) -> Chan {
        Chan {
            ch,
            recv_only: false,
        }
    }

    /// A receive-only channel (a context's done()).
    pub(crate) fn receive_only(ch: goro_core::Chan<Py<PyAny>>) -> Chan {
        Chan {
            ch,
            recv_only: true,
        }
    }

    /// TypeError for a send or close on a receive-only channel.
    pub(crate) fn check_writable(&self) -> PyResult<()> {
        if self.recv_only {
            return Err(PyTypeError::new_err(
                "a context's done() channel is receive-only: it closes when the context ends",
            ));
        }
        Ok(())
    }

    fn recv_inner(
        &self,
        py: Python<'_>,
        d: Deadline,
        ctx: Option<&Context>,
    ) -> PyResult<Result<Option<Py<PyAny>>, Error>> {
        match ctx {
            None => rt::blocking(py, || self.ch.recv_deadline(d)),
            Some(c) => crate::context::recv(py, &self.ch, d, c),
        }
    }
}

#[pymethods]
impl Chan {
    #[new]
    #[pyo3(signature = (cap=0))]
    fn new(cap: i64) -> PyResult<Chan> {
        if cap < 0 {
            return Err(PyValueError::new_err("Chan: cap must be >= 0"));
        }
        let ch = goro_core::Chan::new(cap as usize)
            .ok_or_else(|| pyo3::exceptions::PyMemoryError::new_err("Chan: cap too large"))?;
        Ok(Chan::of(ch))
    }

    /// send(value, timeout=None, *, ctx=None)
    ///
    /// Sends, waiting while the channel is full (or, unbuffered, until a receiver takes it).
    /// Raises Closed on a closed channel, TimeoutError when `timeout` seconds pass first,
    /// Cancelled or DeadlineExceeded when `ctx` ends first (nothing delivered).
    #[pyo3(signature = (value, timeout=None, *, ctx=None))]
    fn send(
        &self,
        py: Python<'_>,
        value: Py<PyAny>,
        timeout: Option<f64>,
        ctx: Option<&Bound<'_, Context>>,
    ) -> PyResult<()> {
        self.check_writable()?;
        let d = deadline(timeout)?;
        if let Some(c) = ctx {
            return crate::context::send(py, &self.ch, value, d, c.get());
        }
        // An unsent value comes back in the error and is dropped here, attached.
        rt::blocking(py, || self.ch.send_deadline(value, d))?.map_err(|e| err(e.error))
    }

    /// recv(timeout=None, *, ctx=None) -> value
    ///
    /// Receives, waiting for a value. Raises Closed once the channel is closed and drained,
    /// TimeoutError when `timeout` seconds pass first, Cancelled or DeadlineExceeded when
    /// `ctx` ends first (nothing consumed).
    #[pyo3(signature = (timeout=None, *, ctx=None))]
    fn recv(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        ctx: Option<&Bound<'_, Context>>,
    ) -> PyResult<Py<PyAny>> {
        match self
            .recv_inner(py, deadline(timeout)?, ctx.map(Bound::get))?
            .map_err(err)?
        {
            Some(v) => Ok(v),
            None => Err(closed()),
        }
    }

    /// recv_ok(timeout=None, *, ctx=None) -> (value, ok)
    ///
    /// As Go's `v, ok := <-ch`: (value, True), or (None, False) once closed and drained.
    #[pyo3(signature = (timeout=None, *, ctx=None))]
    fn recv_ok(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        ctx: Option<&Bound<'_, Context>>,
    ) -> PyResult<(Py<PyAny>, bool)> {
        match self
            .recv_inner(py, deadline(timeout)?, ctx.map(Bound::get))?
            .map_err(err)?
        {
            Some(v) => Ok((v, true)),
            None => Ok((py.None(), false)),
        }
    }

    /// try_send(value) -> bool
    ///
    /// Sends if it can without waiting: True if sent, False if it would block. Raises Closed
    /// on a closed channel.
    fn try_send(&self, value: Py<PyAny>) -> PyResult<bool> {
        self.check_writable()?;
        match self.ch.try_send(value) {
            Ok(()) => Ok(true),
            Err(e) if e.error == Error::WouldBlock => Ok(false),
            Err(e) => Err(err(e.error)),
        }
    }

    /// try_recv() -> (value, ok)
    ///
    /// Receives if it can without waiting: (value, True), or (None, False) if it would block.
    /// Raises Closed once the channel is closed and drained.
    fn try_recv(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, bool)> {
        match self.ch.try_recv() {
            Ok(Some(v)) => Ok((v, true)),
            Ok(None) => Err(closed()),
            Err(Error::WouldBlock) => Ok((py.None(), false)),
            Err(e) => Err(err(e)),
        }
    }

    /// close()
    ///
    /// Closes the channel: waiting receivers get Closed (after the buffer drains), waiting
    /// senders get Closed. Raises Closed the second time.
    fn close(&self) -> PyResult<()> {
        self.check_writable()?;
        self.ch.close().map_err(err)
    }

    /// The capacity.
    #[getter]
    fn cap(&self) -> usize {
        self.ch.cap()
    }

    /// Whether close() has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.ch.raw().is_closed()
    }

    fn __len__(&self) -> usize {
        self.ch.len()
    }

    fn __bool__(&self) -> bool {
        true // a channel is truthy even when empty (unlike a container)
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Receives until the channel is closed and drained.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.recv_inner(py, Deadline::Forever, None)?.map_err(err)
    }

    fn __repr__(&self) -> String {
        format!(
            "<goro.Chan cap={} len={}{}>",
            self.ch.cap(),
            self.ch.len(),
            if self.ch.raw().is_closed() {
                " closed"
            } else {
                ""
            }
        )
    }

    /// `Chan[int]` in annotations.
    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, _item: &Bound<'_, PyAny>) -> Py<PyType> {
        cls.clone().unbind()
    }

    /// send_async(value, timeout=None) (a coroutine)
    ///
    /// Sends without blocking the event loop. A cancelled await delivers nothing; so does
    /// the end of `ctx` (Cancelled or DeadlineExceeded).
    #[pyo3(signature = (value, timeout=None, *, ctx=None))]
    fn send_async<'py>(
        slf: Bound<'py, Self>,
        value: Py<PyAny>,
        timeout: Option<f64>,
        ctx: Option<Bound<'py, Context>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        slf.get().check_writable()?;
        deadline(timeout)?;
        crate::aio::call(slf.py(), "send", (slf, value, timeout, ctx))
    }

    /// recv_async(timeout=None) -> value (a coroutine)
    ///
    /// Receives without blocking the event loop; raises Closed once closed and drained. A
    /// cancelled await consumes nothing; so does the end of `ctx` (Cancelled or
    /// DeadlineExceeded).
    #[pyo3(signature = (timeout=None, *, ctx=None))]
    fn recv_async<'py>(
        slf: Bound<'py, Self>,
        timeout: Option<f64>,
        ctx: Option<Bound<'py, Context>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        deadline(timeout)?;
        crate::aio::call(slf.py(), "recv", (slf, timeout, ctx))
    }

    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// `async for v in ch`: receives until closed and drained.
    fn __anext__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, PyAny>> {
        crate::aio::call(slf.py(), "anext", (slf,))
    }
}
