//! WaitGroup and Mutex.
//!
//! Every call takes a reference of its own for its duration (handle.rs `own`), so that
//! goro_wg_free may follow goro_wg_wait at once even while the goroutine whose `done` released
//! the wait is still returning from it (and likewise goro_mutex_free after the last unlock).

use std::ffi::c_int;
use std::sync::Arc;

use goro_core::sync::{Mutex, WaitGroup};

use crate::handle::{into_handle, own, release, Handle};
use crate::{ffi_boundary, status, GORO_EAGAIN, GORO_EINTERNAL, GORO_EINVAL, GORO_OK};

/// Go's sync.WaitGroup. Opaque.
#[allow(dead_code)]
pub struct goro_waitgroup(WaitGroup);
/// Go's sync.Mutex, for goroutines and threads: lock parks a goroutine. Opaque.
#[allow(dead_code)]
pub struct goro_mutex(Mutex);

// SAFETY: every goro_waitgroup handle is made by `into_handle` from an Arc<WaitGroup>.
unsafe impl Handle for goro_waitgroup {
    type Inner = WaitGroup;
}

// SAFETY: every goro_mutex handle is made by `into_handle` from an Arc<Mutex>.
unsafe impl Handle for goro_mutex {
    type Inner = Mutex;
}

/// A new WaitGroup at zero; free it with goro_wg_free. NULL if out of memory.
#[no_mangle]
pub extern "C" fn goro_wg_new() -> *mut goro_waitgroup {
    ffi_boundary!(std::ptr::null_mut(), {
        into_handle(Arc::new(WaitGroup::new()))
    })
}

/// Adds `delta` (may be negative) to the counter; at zero, every waiter is released.
/// Errors: GORO_EINVAL (NULL, or the counter would go below zero: it is left as it was).
///
/// # Safety
/// `wg` is NULL or a live WaitGroup.
#[no_mangle]
pub unsafe extern "C" fn goro_wg_add(wg: *mut goro_waitgroup, delta: i64) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        unsafe { own(wg).map(|w| status(w.add(delta))) }.unwrap_or(GORO_EINVAL)
    })
}

/// goro_wg_add(wg, -1).
///
/// # Safety
/// `wg` is NULL or a live WaitGroup.
#[no_mangle]
pub unsafe extern "C" fn goro_wg_done(wg: *mut goro_waitgroup) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { goro_wg_add(wg, -1) }
}

/// Waits until the counter is zero. Errors: GORO_EINVAL (NULL).
///
/// # Safety
/// `wg` is NULL or a live WaitGroup.
#[no_mangle]
pub unsafe extern "C" fn goro_wg_wait(wg: *mut goro_waitgroup) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        unsafe { own(wg).map(|w| status(w.wait())) }.unwrap_or(GORO_EINVAL)
    })
}

/// Frees the WaitGroup; safe as soon as goro_wg_wait has returned. NULL is fine.
///
/// # Safety
/// `wg` is NULL or a live WaitGroup, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn goro_wg_free(wg: *mut goro_waitgroup) {
    // SAFETY: the caller's contract.
    unsafe { release(wg) }
}

/// A new unlocked mutex; free it with goro_mutex_free. NULL if out of memory.
#[no_mangle]
pub extern "C" fn goro_mutex_new() -> *mut goro_mutex {
    ffi_boundary!(std::ptr::null_mut(), {
        into_handle(Arc::new(Mutex::new()))
    })
}

/// Locks, waiting as long as it takes; waiters are served first come, first served.
/// Errors: GORO_EINVAL (NULL).
///
/// # Safety
/// `m` is NULL or a live mutex.
#[no_mangle]
pub unsafe extern "C" fn goro_mutex_lock(m: *mut goro_mutex) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        unsafe {
            own(m).map(|m| {
                m.lock();
                GORO_OK
            })
        }
        .unwrap_or(GORO_EINVAL)
    })
}

/// Locks if free. Errors: GORO_EAGAIN (held), GORO_EINVAL (NULL).
///
/// # Safety
/// `m` is NULL or a live mutex.
#[no_mangle]
pub unsafe extern "C" fn goro_mutex_try_lock(m: *mut goro_mutex) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        unsafe { own(m).map(|m| if m.try_lock() { GORO_OK } else { GORO_EAGAIN }) }
            .unwrap_or(GORO_EINVAL)
    })
}

/// Unlocks; any goroutine or thread may unlock (as in Go). Errors: GORO_EINVAL (NULL, or not
/// locked).
///
/// # Safety
/// `m` is NULL or a live mutex.
#[no_mangle]
pub unsafe extern "C" fn goro_mutex_unlock(m: *mut goro_mutex) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        unsafe { own(m).map(|m| status(m.unlock())) }.unwrap_or(GORO_EINVAL)
    })
}

/// Frees the mutex; safe as soon as the last goro_mutex_unlock has returned. NULL is fine.
///
/// # Safety
/// `m` is NULL or a live mutex, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn goro_mutex_free(m: *mut goro_mutex) {
    // SAFETY: the caller's contract.
    unsafe { release(m) }
}
