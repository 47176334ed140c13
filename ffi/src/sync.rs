//! WaitGroup and Mutex.
//!
//! Both are Arc-owned: every call takes a reference of its own for its duration, so that
//! goro_wg_free may follow goro_wg_wait at once even while the goroutine whose `done` released
//! the wait is still returning from it (and likewise goro_mutex_free after the last unlock).

use std::ffi::c_int;
use std::sync::Arc;

use goro_core::sync::{Mutex, WaitGroup};

use crate::{ffi_boundary, status, GORO_EAGAIN, GORO_EINTERNAL, GORO_EINVAL, GORO_OK};

/// Go's sync.WaitGroup. Opaque.
#[allow(dead_code)]
pub struct goro_waitgroup(WaitGroup);
/// Go's sync.Mutex, for goroutines and threads: lock parks a goroutine. Opaque.
pub struct goro_mutex(Mutex);

/// Runs `f` holding a reference of its own to the Arc behind `p`; None for NULL.
///
/// # Safety
/// `p` is NULL or a live handle made by Arc::into_raw.
pub(crate) unsafe fn with_arc<T, R>(p: *const T, f: impl FnOnce(&T) -> R) -> Option<R> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller's contract; the count goes up for our own reference.
    let own = unsafe {
        Arc::increment_strong_count(p);
        Arc::from_raw(p)
    };
    Some(f(&own))
}

/// # Safety
/// `p` is NULL or a live handle made by Arc::into_raw, given up by the caller.
pub(crate) unsafe fn free_arc<T>(p: *const T) {
    if !p.is_null() {
        // SAFETY: the caller's contract.
        unsafe { Arc::decrement_strong_count(p) };
    }
}

/// A new WaitGroup at zero; free it with goro_wg_free. NULL if out of memory.
#[no_mangle]
pub extern "C" fn goro_wg_new() -> *mut goro_waitgroup {
    ffi_boundary!(std::ptr::null_mut(), {
        Arc::into_raw(Arc::new(goro_waitgroup(WaitGroup::new()))).cast_mut()
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
        unsafe { with_arc(wg, |w| status(w.0.add(delta))) }.unwrap_or(GORO_EINVAL)
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
        unsafe { with_arc(wg, |w| status(w.0.wait())) }.unwrap_or(GORO_EINVAL)
    })
}

/// Frees the WaitGroup; safe as soon as goro_wg_wait has returned. NULL is fine.
///
/// # Safety
/// `wg` is NULL or a live WaitGroup, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn goro_wg_free(wg: *mut goro_waitgroup) {
    // SAFETY: the caller's contract.
    unsafe { free_arc(wg) }
}

/// A new unlocked mutex; free it with goro_mutex_free. NULL if out of memory.
#[no_mangle]
pub extern "C" fn goro_mutex_new() -> *mut goro_mutex {
    ffi_boundary!(std::ptr::null_mut(), {
        Arc::into_raw(Arc::new(goro_mutex(Mutex::new()))).cast_mut()
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
            with_arc(m, |m| {
                m.0.lock();
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
        unsafe { with_arc(m, |m| if m.0.try_lock() { GORO_OK } else { GORO_EAGAIN }) }
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
        unsafe { with_arc(m, |m| status(m.0.unlock())) }.unwrap_or(GORO_EINVAL)
    })
}

/// Frees the mutex; safe as soon as the last goro_mutex_unlock has returned. NULL is fine.
///
/// # Safety
/// `m` is NULL or a live mutex, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn goro_mutex_free(m: *mut goro_mutex) {
    // SAFETY: the caller's contract.
    unsafe { free_arc(m) }
}
