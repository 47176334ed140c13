//! The worker pool.

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use goro_core::pool::Pool;

use crate::handle::{into_handle, own, release, Handle};
use crate::runtime::goro_fn;
use crate::{ffi_boundary, status, GORO_EINTERNAL, GORO_EINVAL};

/// A fixed set of worker goroutines draining a bounded queue of jobs. Opaque.
#[allow(dead_code)] // only ever seen through pointers
pub struct goro_pool(Pool);

// SAFETY: every goro_pool handle is made by `into_handle` from an Arc<Pool>.
unsafe impl Handle for goro_pool {
    type Inner = Pool;
}

struct CJob(unsafe extern "C" fn(*mut c_void), *mut c_void);
// SAFETY: the submitter vouches that the job may run on any thread (as with goro_go).
unsafe impl Send for CJob {}

/// A pool of `workers` goroutines (0: GOMAXPROCS) whose queue holds `queue_cap` jobs (0: a
/// submit waits until a worker takes the job). NULL if out of memory.
#[no_mangle]
pub extern "C" fn goro_pool_new(workers: usize, queue_cap: usize) -> *mut goro_pool {
    ffi_boundary!(std::ptr::null_mut(), {
        match Pool::new(workers, queue_cap) {
            Ok(p) => into_handle(Arc::new(p)),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// Queues `fn(arg)`, waiting while the queue is full (back-pressure).
/// Errors: GORO_EINVAL (NULL pool or fn), GORO_ECLOSED (the pool is being freed).
///
/// # Safety
/// `p` is NULL or a live pool.
#[no_mangle]
pub unsafe extern "C" fn goro_pool_submit(
    p: *mut goro_pool,
    func: goro_fn,
    arg: *mut c_void,
) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        let Some(f) = func else { return GORO_EINVAL };
        let job = CJob(f, arg);
        let run = Box::new(move || {
            let job = job;
            // SAFETY: the submitter's contract.
            unsafe { (job.0)(job.1) }
        });
        // SAFETY: the caller's contract.
        unsafe { own(p).map(|p| status(p.submit(run))) }.unwrap_or(GORO_EINVAL)
    })
}

/// Waits until every job submitted so far has finished. May be called any number of times.
/// Errors: GORO_EINVAL (NULL).
///
/// # Safety
/// `p` is NULL or a live pool.
#[no_mangle]
pub unsafe extern "C" fn goro_pool_wait(p: *mut goro_pool) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        unsafe { own(p).map(|p| status(p.wait())) }.unwrap_or(GORO_EINVAL)
    })
}

/// Waits for every submitted job, stops the workers and frees the pool. NULL is fine.
///
/// # Safety
/// `p` is NULL or a live pool, not used afterwards (no submit may be running meanwhile).
#[no_mangle]
pub unsafe extern "C" fn goro_pool_free(p: *mut goro_pool) {
    ffi_boundary!((), {
        // SAFETY: the caller's contract.
        unsafe {
            if let Some(p) = own(p) {
                let _ = p.wait();
                let _ = p.close();
            }
            release(p);
        }
    })
}
