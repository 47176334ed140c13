//! `Chan<T>`: a channel of Rust values over `RawChan`. Values move by copying their bytes
//! (a Rust move is a copy); a value that no one takes is dropped exactly once.

use std::marker::PhantomData;
use std::sync::Arc;

use super::{RawChan, ALIGN};
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
