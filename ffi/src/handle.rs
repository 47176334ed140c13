//! C handles: how the library hands its objects to C and takes them back, written once.
//!
//! Every shared object (channel, WaitGroup, mutex, pool) is an `Arc` of its core type, and its
//! handle is that Arc's pointer (`Arc::into_raw`) cast to an opaque C type named for it
//! (`goro_chan` for `RawChan`, and so on: `Handle` pairs them). So a handle is one reference;
//! `retain` and `release` add and drop one, and other layers that are handed a C handle (the
//! Node addon's `Chan.fromNative`) read it the same way. A call uses a handle in one of two
//! ways:
//! - `borrow`: the caller's reference keeps the object alive for the call, and no count
//!   changes (channels: an operation that waits takes its own reference first, in the core);
//! - `own`: the call takes a reference of its own, so that the handle may be freed while the
//!   call is still on its way out (goro_wg_free may follow goro_wg_wait at once, even while
//!   the goroutine whose `done` released the wait is still returning from it).
//!
//! An object C owns alone (a ticker) is a `Box`: `into_box` and `from_box`.

use std::mem::ManuallyDrop;
use std::sync::Arc;

/// An opaque C handle type and the core type its pointer is an `Arc` of.
///
/// # Safety
/// Implement only for the opaque types of this crate whose handles are made by `into_handle`
/// from an `Arc<Self::Inner>`, and by nothing else.
pub(crate) unsafe trait Handle {
    /// The core type behind the handle.
    type Inner: Send + Sync;
}

/// Hands a new reference to C.
pub(crate) fn into_handle<H: Handle>(v: Arc<H::Inner>) -> *mut H {
    Arc::into_raw(v).cast_mut().cast()
}

/// The object behind `p` without touching its count; None for NULL.
///
/// # Safety
/// `p` is NULL or a live handle, live for as long as the result is used.
pub(crate) unsafe fn borrow<H: Handle>(p: *const H) -> Option<ManuallyDrop<Arc<H::Inner>>> {
    // SAFETY: a live handle is an Arc's pointer (the trait's contract); ManuallyDrop keeps the
    // count unchanged when the borrow ends.
    (!p.is_null()).then(|| ManuallyDrop::new(unsafe { Arc::from_raw(p.cast::<H::Inner>()) }))
}

/// A reference of the caller's own to the object behind `p`; None for NULL.
///
/// # Safety
/// `p` is NULL or a live handle.
pub(crate) unsafe fn own<H: Handle>(p: *const H) -> Option<Arc<H::Inner>> {
    // SAFETY: as `borrow`; the clone is counted, so it outlives the caller's handle.
    unsafe { borrow(p) }.map(|a| Arc::clone(&a))
}

/// Takes another reference for C.
///
/// # Safety
/// `p` is NULL or a live handle.
pub(crate) unsafe fn retain<H: Handle>(p: *const H) {
    if !p.is_null() {
        // SAFETY: a live handle is an Arc's pointer (the trait's contract).
        unsafe { Arc::increment_strong_count(p.cast::<H::Inner>()) };
    }
}

/// Drops the reference C gives up; the last one frees the object.
///
/// # Safety
/// `p` is NULL or a live handle whose reference the caller gives up.
pub(crate) unsafe fn release<H: Handle>(p: *const H) {
    if !p.is_null() {
        // SAFETY: the caller gives up one reference made by `into_handle` or `retain`.
        unsafe { Arc::decrement_strong_count(p.cast::<H::Inner>()) };
    }
}

/// Hands an object to C alone.
pub(crate) fn into_box<T>(v: T) -> *mut T {
    Box::into_raw(Box::new(v))
}

/// Takes back an object handed out by `into_box`; None for NULL.
///
/// # Safety
/// `p` is NULL or came from `into_box` and is given up by the caller.
pub(crate) unsafe fn from_box<T>(p: *mut T) -> Option<Box<T>> {
    // SAFETY: the caller's contract.
    (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
}
