//! `goro.select(*cases, timeout=None, default=False)` over `goro.recv(ch)` and
//! `goro.send(ch, v)` cases, as Go's select statement.
//!
//! Each case gets a one-pointer slot: a send case's slot holds a new reference to its value
//! (the channel takes it only if that case wins), a receive case's slot is written by the
//! partner. After the select, slots that were not consumed are dropped here, with the GIL.

use std::mem::MaybeUninit;

use goro_core::select::{Case, Op};
use goro_core::{Deadline, Error};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::chan::Chan;
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

/// A case resolved to what the core needs.
pub(crate) struct Prepared {
    pub chans: Vec<Option<Py<Chan>>>,
    /// Send: Some(value to send). Receive: None.
    pub sends: Vec<Option<Py<PyAny>>>,
}

pub(crate) fn prepare(py: Python<'_>, cases: &Bound<'_, PyTuple>) -> PyResult<Prepared> {
    let mut chans = Vec::with_capacity(cases.len());
    let mut sends = Vec::with_capacity(cases.len());
    for (i, c) in cases.iter().enumerate() {
        if let Ok(r) = c.cast::<RecvCase>() {
            chans.push(r.get().chan.as_ref().map(|c| c.clone_ref(py)));
            sends.push(None);
        } else if let Ok(s) = c.cast::<SendCase>() {
            let s = s.get();
            chans.push(s.chan.as_ref().map(|c| c.clone_ref(py)));
            sends.push(Some(s.value.clone_ref(py)));
        } else {
            return Err(PyTypeError::new_err(format!(
                "select: case {i} is not goro.recv(ch) or goro.send(ch, v) but {}",
                c.get_type().name()?
            )));
        }
    }
    Ok(Prepared { chans, sends })
}

/// One select attempt. `slots[i]` holds case i's pointer-size slot. On Ok((i, ok)): a receive
/// case with ok wrote slot i; a send case with ok gave slot i's reference to the channel.
///
/// # Safety
/// Send slots are initialized; all slots outlive the call.
pub(crate) unsafe fn select_once(
    p: &Prepared,
    raws: &[Option<std::sync::Arc<goro_core::RawChan>>],
    slots: &mut [MaybeUninit<Py<PyAny>>],
    d: Deadline,
) -> Result<(usize, bool), Error> {
    let cases: Vec<Case<'_>> = raws
        .iter()
        .zip(slots.iter_mut())
        .zip(p.sends.iter())
        .map(|((ch, slot), s)| {
            let op = if s.is_some() {
                Op::Send(slot.as_ptr().cast())
            } else {
                Op::Recv(slot.as_mut_ptr().cast())
            };
            Case::chan(ch.as_ref(), op)
        })
        .collect();
    // SAFETY: the caller's contract: each slot is one Py (8 bytes, the channels' elem size).
    unsafe { goro_core::select(&cases, d) }
}

/// select(*cases, timeout=None, default=False) -> (index, value, ok)
///
/// Waits until one case can proceed and does it; among ready cases one is chosen at random.
/// A None channel is never ready. With default=True and nothing ready: (-1, None, False).
/// With a timeout that runs out: TimeoutError, nothing sent or received.
#[pyfunction]
#[pyo3(signature = (*cases, timeout=None, default=false))]
pub fn select(
    py: Python<'_>,
    cases: Bound<'_, PyTuple>,
    timeout: Option<f64>,
    default: bool,
) -> PyResult<(isize, Py<PyAny>, bool)> {
    let p = prepare(py, &cases)?;
    let d = if default {
        Deadline::NoWait
    } else {
        deadline(timeout)?
    };
    let raws: Vec<_> = p
        .chans
        .iter()
        .map(|c| c.as_ref().map(|c| c.get().ch.raw().clone()))
        .collect();
    let mut slots: Vec<MaybeUninit<Py<PyAny>>> = p
        .sends
        .iter()
        .map(|s| match s {
            Some(v) => MaybeUninit::new(v.clone_ref(py)),
            None => MaybeUninit::uninit(),
        })
        .collect();
    // Raw pointers are not Send: pass the slots' address as an integer to the waiting side.
    let slots_addr = slots.as_mut_ptr() as usize;
    let n = slots.len();
    let pp = &p;
    let raws_ref = &raws;
    let r = if default {
        // SAFETY: slots as select_once requires.
        Ok(unsafe {
            select_once(
                pp,
                raws_ref,
                std::slice::from_raw_parts_mut(slots_addr as *mut _, n),
                Deadline::NoWait,
            )
        })
    } else {
        rt::wait(py, d, move |d| {
            // SAFETY: the slots live in our frame until this returns; send slots are
            // initialized and stay so until the send case completes (then we return).
            unsafe {
                select_once(
                    pp,
                    raws_ref,
                    std::slice::from_raw_parts_mut(slots_addr as *mut _, n),
                    d,
                )
            }
        })
    };
    // Whatever happened, settle the slots: what the channels did not take is ours to drop.
    let chosen = match &r {
        Ok(Ok((i, ok))) => Some((*i, *ok)),
        _ => None,
    };
    let mut value = py.None();
    for (i, (slot, s)) in slots.iter_mut().zip(p.sends.iter()).enumerate() {
        let won = chosen.filter(|c| c.0 == i);
        match (s.is_some(), won) {
            (true, Some((_, true))) => {} // the channel took our reference
            // SAFETY: a send slot not taken is still initialized and ours.
            (true, _) => unsafe { slot.assume_init_drop() },
            // SAFETY: the partner wrote a value into the winning receive slot.
            (false, Some((_, true))) => value = unsafe { slot.assume_init_read() },
            (false, _) => {}
        }
    }
    match r? {
        Ok((i, ok)) => Ok((i as isize, value, ok)),
        Err(Error::WouldBlock) if default => Ok((-1, py.None(), false)),
        Err(Error::TimedOut) if default => Ok((-1, py.None(), false)),
        Err(e) => Err(err(e)),
    }
}
