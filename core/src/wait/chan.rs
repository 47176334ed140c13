//! The channel operations that wait: a send or receive is the wait protocol (mod.rs) applied
//! to one channel case (`wait_chan`, its one-lock form). They are `RawChan`'s and `Chan<T>`'s
//! methods, written here because they are built on the protocol, which is built on the
//! channel's own steps (chan/): the layering stays one way.

use std::mem::{ManuallyDrop, MaybeUninit};
use std::sync::Arc;
use std::time::Duration;

use crate::chan::{Chan, Op, RawChan, SendError};
use crate::clock::Deadline;
use crate::reason::WaitReason;
use crate::Error;

impl RawChan {
    /// Sends the value at `elem` (copied in), waiting until `deadline`.
    /// On `Err`, the value was not sent (and remains the caller's).
    ///
    /// # Safety
    /// `elem` points at `elem_size` readable bytes (may be null when the size is 0), valid
    /// until this returns.
    /// An operation that waits keeps its own reference to the channel (taken under the lock,
    /// before it queues), so the last handle may be released while it waits; one that
    /// completes at once touches no reference count.
    pub unsafe fn send(self: &Arc<Self>, elem: *const u8, deadline: Deadline) -> Result<(), Error> {
        // SAFETY: the caller's contract.
        unsafe { self.send_as(elem, deadline, WaitReason::ChanSend) }
    }

    /// `send`, shown in dumps as waiting for `reason` (a pool submit is a channel send).
    ///
    /// # Safety
    /// As `send`.
    pub(crate) unsafe fn send_as(
        self: &Arc<Self>,
        elem: *const u8,
        deadline: Deadline,
        reason: WaitReason,
    ) -> Result<(), Error> {
        // SAFETY: the caller's contract.
        match unsafe { super::wait_chan(self, Op::Send(elem), deadline, reason) } {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Closed),
            Err(e) => Err(e),
        }
    }

    /// Receives into `out` (null drops the value), waiting until `deadline`. Ok(true) for a
    /// value; Ok(false) when the channel is closed and drained (`out` zero-filled).
    ///
    /// # Safety
    /// `out` is null or points at `elem_size` writable bytes, valid until this returns.
    /// Waiting keeps a reference of its own, as `send` does.
    pub unsafe fn recv(self: &Arc<Self>, out: *mut u8, deadline: Deadline) -> Result<bool, Error> {
        // SAFETY: the caller's contract.
        unsafe { super::wait_chan(self, Op::Recv(out), deadline, WaitReason::ChanRecv) }
    }
}

impl<T: Send> Chan<T> {
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
        self.send_as(v, deadline, crate::reason::WaitReason::ChanSend)
    }

    /// `send_deadline`, shown in dumps as waiting for `reason`.
    pub(crate) fn send_as(
        &self,
        v: T,
        deadline: Deadline,
        reason: crate::reason::WaitReason,
    ) -> Result<(), SendError<T>> {
        let v = ManuallyDrop::new(v);
        let p = (&*v as *const T).cast::<u8>();
        // SAFETY: `p` points at a T that stays put until `send_as` returns; on success the
        // channel has taken it (we must not drop it), on failure it is still ours.
        match unsafe { self.raw().send_as(p, deadline, reason) } {
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
        match unsafe { self.raw().recv(slot.as_mut_ptr().cast(), deadline) } {
            // SAFETY: a value was written.
            Ok(true) => Ok(Some(unsafe { slot.assume_init() })),
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl<T: Send> Iterator for Chan<T> {
    type Item = T;
    /// Receives until the channel is closed and drained, as Go's `for v := range ch`.
    fn next(&mut self) -> Option<T> {
        self.recv()
    }
}
