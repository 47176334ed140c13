//! Channels.

use std::ffi::{c_int, c_void};

use goro_core::{Deadline, RawChan};

use crate::handle::{self, borrow, into_handle, Handle};
use crate::{
    code, deadline, ffi_boundary, status, GORO_ECLOSED, GORO_EINTERNAL, GORO_EINVAL, GORO_OK,
};

/// A channel of fixed-size values (Go's chan), reference counted. Opaque.
#[allow(dead_code)] // only ever seen through pointers
pub struct goro_chan(RawChan);

// SAFETY: every goro_chan handle is made by `into_handle` from an Arc<RawChan>.
unsafe impl Handle for goro_chan {
    type Inner = RawChan;
}

/// A new channel of `cap` values of `elem_size` bytes each (cap 0: unbuffered; elem_size 0 is
/// allowed, for signals). Returns a reference the caller releases with goro_chan_release; NULL
/// when elem_size * cap overflows or the buffer cannot be allocated.
#[no_mangle]
pub extern "C" fn goro_chan_new(elem_size: usize, cap: usize) -> *mut goro_chan {
    ffi_boundary!(std::ptr::null_mut(), {
        match RawChan::new_shared(elem_size, cap, None) {
            Some(c) => into_handle(c),
            None => std::ptr::null_mut(),
        }
    })
}

/// Takes another reference to `c`; returns `c`. NULL is fine (returns NULL).
///
/// # Safety
/// `c` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_retain(c: *mut goro_chan) -> *mut goro_chan {
    // SAFETY: the caller's contract.
    unsafe { handle::retain(c) };
    c
}

/// Drops a reference; the last one frees the channel (values still buffered are discarded).
/// NULL is fine. Must not be called more times than references were taken.
///
/// # Safety
/// `c` is NULL or a live handle whose reference the caller gives up.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_release(c: *mut goro_chan) {
    // SAFETY: the caller gives up one reference taken by new/retain/after.
    unsafe { handle::release(c) };
}

unsafe fn send(c: *mut goro_chan, elem: *const c_void, d: Deadline) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller vouches for the handle.
        let Some(ch) = (unsafe { borrow(c) }) else {
            return GORO_EINVAL;
        };
        if elem.is_null() && ch.elem_size() != 0 {
            return GORO_EINVAL;
        }
        // SAFETY: `elem` holds elem_size bytes (the caller's contract).
        status(unsafe { ch.send(elem.cast(), d) })
    })
}

unsafe fn recv(c: *mut goro_chan, out: *mut c_void, ok: *mut bool, d: Deadline) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller vouches for the handle.
        let Some(ch) = (unsafe { borrow(c) }) else {
            return GORO_EINVAL;
        };
        // SAFETY: `out` is NULL or holds elem_size bytes (the caller's contract).
        let (st, got) = match unsafe { ch.recv(out.cast(), d) } {
            Ok(true) => (GORO_OK, true),
            Ok(false) => (GORO_ECLOSED, false),
            Err(e) => return code(e),
        };
        if !ok.is_null() {
            // SAFETY: the caller passes NULL or a writable bool.
            unsafe { *ok = got };
        }
        st
    })
}

/// Sends the elem_size bytes at `elem`, waiting while the channel is full (or, unbuffered,
/// until a receiver takes it). `elem` may be NULL only when elem_size is 0.
/// Errors: GORO_ECLOSED (closed before or while waiting: nothing was sent), GORO_EINVAL.
///
/// # Safety
/// `c` is NULL or a live handle; `elem` points at elem_size readable bytes.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_send(c: *mut goro_chan, elem: *const c_void) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { send(c, elem, Deadline::Forever) }
}

/// Receives into `out` (elem_size bytes; NULL drops the value), waiting while the channel is
/// empty. GORO_OK with *ok = true for a value; GORO_ECLOSED with *ok = false and `out`
/// zero-filled once the channel is closed and drained. `ok` may be NULL.
/// Errors: GORO_ECLOSED, GORO_EINVAL.
///
/// # Safety
/// `c` is NULL or a live handle; `out` is NULL or writable for elem_size bytes; `ok` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_recv(
    c: *mut goro_chan,
    out: *mut c_void,
    ok: *mut bool,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { recv(c, out, ok, Deadline::Forever) }
}

/// goro_chan_send without waiting. Errors: GORO_EAGAIN (it would block), GORO_ECLOSED,
/// GORO_EINVAL.
///
/// # Safety
/// As goro_chan_send.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_try_send(c: *mut goro_chan, elem: *const c_void) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { send(c, elem, Deadline::NoWait) }
}

/// goro_chan_recv without waiting. Errors: GORO_EAGAIN (nothing buffered, no sender waiting;
/// `out` and `ok` untouched), GORO_ECLOSED, GORO_EINVAL.
///
/// # Safety
/// As goro_chan_recv.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_try_recv(
    c: *mut goro_chan,
    out: *mut c_void,
    ok: *mut bool,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { recv(c, out, ok, Deadline::NoWait) }
}

/// goro_chan_send waiting at most `ns` (see the timeout convention at the top).
/// Errors: GORO_ETIMEDOUT, GORO_EAGAIN (ns == 0), GORO_ECLOSED, GORO_EINVAL.
///
/// # Safety
/// As goro_chan_send.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_send_timeout(
    c: *mut goro_chan,
    elem: *const c_void,
    ns: i64,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { send(c, elem, deadline(ns)) }
}

/// goro_chan_recv waiting at most `ns` (see the timeout convention at the top).
/// Errors: GORO_ETIMEDOUT, GORO_EAGAIN (ns == 0), GORO_ECLOSED, GORO_EINVAL.
///
/// # Safety
/// As goro_chan_recv.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_recv_timeout(
    c: *mut goro_chan,
    out: *mut c_void,
    ok: *mut bool,
    ns: i64,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { recv(c, out, ok, deadline(ns)) }
}

/// Closes the channel: waiting receivers get (zero value, ok = false), waiting senders
/// GORO_ECLOSED; buffered values can still be received. Errors: GORO_ECLOSED (already closed),
/// GORO_EINVAL.
///
/// # Safety
/// `c` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_close(c: *mut goro_chan) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller vouches for the handle.
        unsafe { borrow(c) }.map_or(GORO_EINVAL, |ch| status(ch.close()))
    })
}

/// Values buffered now; 0 for NULL.
///
/// # Safety
/// `c` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_len(c: *const goro_chan) -> usize {
    ffi_boundary!(0, {
        // SAFETY: a live handle (the caller's contract).
        unsafe { c.cast::<RawChan>().as_ref() }.map_or(0, |ch| ch.len())
    })
}

/// Capacity; 0 for NULL.
///
/// # Safety
/// `c` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_cap(c: *const goro_chan) -> usize {
    // SAFETY: a live handle (the caller's contract).
    unsafe { c.cast::<RawChan>().as_ref() }.map_or(0, |ch| ch.cap())
}
