//! `Chan<T>`: a channel of Rust values over `RawChan`. Values move by copying their bytes
//! (a Rust move is a copy); a value that no one takes is dropped exactly once.

use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::sync::Arc;
use std::time::Duration;

use super::{RawChan, ALIGN};
use crate::time::Deadline;
use crate::Error;

/// A channel of `T`, cloneable (every clone is the same channel), as Go's `chan T`.
///
/// ```
/// let ch = goro_core::Chan::<i32>::new(1).unwrap();
/// ch.send(7).unwrap();
/// assert_eq!(ch.recv(), Some(7));
/// ch.close().unwrap();
/// assert_eq!(ch.recv(), None);
/// ```
pub struct Chan<T> {
    raw: Arc<RawChan>,
    _t: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan {
            raw: self.raw.clone(),
            _t: PhantomData,
        }
    }
}

/// A value that was not sent, given back, with why.
#[derive(Debug, PartialEq, Eq)]
pub struct SendError<T> {
    /// The value, still the caller's.
    pub value: T,
    /// `Closed`, `WouldBlock`, `TimedOut` or `Interrupted`.
    pub error: Error,
}

unsafe fn drop_value<T>(p: *mut u8) {
    // SAFETY: the channel only calls this on a slot that holds a T it owns.
    unsafe { std::ptr::drop_in_place(p.cast::<T>()) };
}

impl<T: Send> Chan<T> {
    /// A channel with room for `cap` values (0: unbuffered). None if it cannot be allocated.
    pub fn new(cap: usize) -> Option<Chan<T>> {
        assert!(
            std::mem::align_of::<T>() <= ALIGN,
            "goro: channel values may be aligned to at most 16 bytes"
        );
        let drop = std::mem::needs_drop::<T>().then_some(drop_value::<T> as unsafe fn(*mut u8));
        let raw = RawChan::new_shared(std::mem::size_of::<T>(), cap, drop)?;
        Some(Chan {
            raw,
            _t: PhantomData,
        })
    }

    /// The byte-level channel underneath.
    pub fn raw(&self) -> &Arc<RawChan> {
        &self.raw
    }

    /// Sends, waiting as long as it takes. Fails only when the channel is closed.
    pub fn send(&self, v: T) -> Result<(), SendError<T>> {
        self.send_deadline(v, Deadline::Forever)
    }

    /// Sends if it can without waiting.
    pub fn try_send(&self, v: T) -> Result<(), SendError<T>> {
        self.send_deadline(v, Deadline::NoWait)
    }

    /// Sends, waiting at most `d`.
    pub fn send_timeout(&self, v: T, d: Duration) -> Result<(), SendError<T>> {
        self.send_deadline(v, Deadline::from_timeout(Some(d)))
    }

    /// Sends, waiting until `deadline`.
    pub fn send_deadline(&self, v: T, deadline: Deadline) -> Result<(), SendError<T>> {
        self.send_as(v, deadline, crate::goroutine::WaitReason::ChanSend)
    }

    /// `send_deadline`, shown in dumps as waiting for `reason`.
    pub(crate) fn send_as(
        &self,
        v: T,
        deadline: Deadline,
        reason: crate::goroutine::WaitReason,
    ) -> Result<(), SendError<T>> {
        let v = ManuallyDrop::new(v);
        let p = (&*v as *const T).cast::<u8>();
        // SAFETY: `p` points at a T that stays put until `send_as` returns; on success the
        // channel has taken it (we must not drop it), on failure it is still ours.
        match unsafe { self.raw.send_as(p, deadline, reason) } {
            Ok(()) => Ok(()),
            Err(error) => Err(SendError {
                value: ManuallyDrop::into_inner(v),
                error,
            }),
        }
    }

    /// Receives, waiting as long as it takes; None once the channel is closed and drained.
    pub fn recv(&self) -> Option<T> {
        self.recv_deadline(Deadline::Forever).ok().flatten()
    }

    /// Receives without waiting: Ok(Some(v)), Ok(None) once closed and drained, or
    /// Err(WouldBlock).
    pub fn try_recv(&self) -> Result<Option<T>, Error> {
        self.recv_deadline(Deadline::NoWait)
    }

    /// Receives, waiting at most `d`.
    pub fn recv_timeout(&self, d: Duration) -> Result<Option<T>, Error> {
        self.recv_deadline(Deadline::from_timeout(Some(d)))
    }

    /// Receives, waiting until `deadline`: Ok(Some(v)), Ok(None) once closed and drained.
    pub fn recv_deadline(&self, deadline: Deadline) -> Result<Option<T>, Error> {
        let mut slot = MaybeUninit::<T>::uninit();
        // SAFETY: `slot` has room for one T; on Ok(true) the channel wrote a T into it.
        match unsafe { self.raw.recv(slot.as_mut_ptr().cast(), deadline) } {
            // SAFETY: a value was written.
            Ok(true) => Ok(Some(unsafe { slot.assume_init() })),
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Closes the channel; Err(Closed) the second time.
    pub fn close(&self) -> Result<(), Error> {
        self.raw.close()
    }

    /// Values buffered now.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Capacity.
    pub fn cap(&self) -> usize {
        self.raw.cap()
    }
}

impl<T: Send> Iterator for Chan<T> {
    type Item = T;
    /// Receives until the channel is closed and drained, as Go's `for v := range ch`.
    fn next(&mut self) -> Option<T> {
        self.recv()
    }
}
