//! Contexts and error groups: Go's context and errgroup for C.

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use goro_core::context::{chan_ctx, Context, Group, Reason};
use goro_core::wait::{Case, Op};
use goro_core::{Deadline, Error};

use crate::chan::goro_chan;
use crate::handle::{borrow, into_handle, own, release, retain, Handle};
use crate::select::{goro_case, select_in};
use crate::sync::{goro_mutex, goro_waitgroup};
use crate::{code, deadline, ffi_boundary, GORO_ECLOSED, GORO_EINTERNAL, GORO_EINVAL, GORO_OK};

/// A cancellation scope with an optional deadline (Go's context.Context), reference counted.
/// Opaque.
#[allow(dead_code)] // only ever seen through pointers
pub struct goro_ctx(Context);

// SAFETY: every goro_ctx handle is made by `into_handle` from an Arc<Context>.
unsafe impl Handle for goro_ctx {
    type Inner = Context;
}

fn reason_code(r: Option<Reason>) -> c_int {
    match r {
        None => GORO_OK,
        Some(r) => code(r.error()),
    }
}

/// A reference to the root context, which never ends; release it like any other.
#[no_mangle]
pub extern "C" fn goro_ctx_background() -> *mut goro_ctx {
    ffi_boundary!(std::ptr::null_mut(), {
        into_handle(Arc::new(Context::background()))
    })
}

/// Makes a child of `parent`, with `f`; NULL for a NULL parent.
///
/// # Safety
/// `parent` is NULL or a live context.
unsafe fn child(parent: *mut goro_ctx, f: impl FnOnce(&Context) -> Context) -> *mut goro_ctx {
    ffi_boundary!(std::ptr::null_mut(), {
        // SAFETY: the caller's contract.
        match unsafe { borrow(parent) } {
            Some(p) => into_handle(Arc::new(f(&p))),
            None => std::ptr::null_mut(),
        }
    })
}

/// A child of `parent` that ends when goro_ctx_cancel is called on it or on an ancestor, or
/// when its parent ends. The caller releases it (releasing does not cancel it: cancel first
/// when it is no longer needed, as Go code defers cancel()). NULL for a NULL parent.
///
/// # Safety
/// `parent` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_ctx_with_cancel(parent: *mut goro_ctx) -> *mut goro_ctx {
    // SAFETY: forwarded contract.
    unsafe { child(parent, Context::with_cancel) }
}

/// A child of `parent` that also ends `ns` from now (GORO_EDEADLINE). NULL for a NULL parent.
///
/// # Safety
/// `parent` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_ctx_with_timeout(parent: *mut goro_ctx, ns: i64) -> *mut goro_ctx {
    // SAFETY: forwarded contract.
    unsafe { child(parent, |p| p.with_timeout(ns)) }
}

/// A child of `parent` that also ends at `deadline_ns` (CLOCK_MONOTONIC). NULL for a NULL
/// parent.
///
/// # Safety
/// `parent` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_ctx_with_deadline(
    parent: *mut goro_ctx,
    deadline_ns: i64,
) -> *mut goro_ctx {
    // SAFETY: forwarded contract.
    unsafe { child(parent, |p| p.with_deadline(deadline_ns)) }
}

/// Ends `c` and every context made from it as cancelled; waits on them return GORO_ECANCELED.
/// Cancelling again, or an ended context, does nothing. Errors: GORO_EINVAL (NULL).
///
/// # Safety
/// `c` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_ctx_cancel(c: *mut goro_ctx) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        match unsafe { borrow(c) } {
            Some(c) => {
                c.cancel();
                GORO_OK
            }
            None => GORO_EINVAL,
        }
    })
}

/// GORO_OK while `c` has not ended; GORO_ECANCELED or GORO_EDEADLINE once it has (Go's
/// ctx.Err()). GORO_EINVAL for NULL.
///
/// # Safety
/// `c` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_ctx_err(c: *mut goro_ctx) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { borrow(c) }.map_or(GORO_EINVAL, |c| reason_code(c.reason()))
}

/// Go's ctx.Done(): a channel of no values (elem_size 0) that is closed when `c` ends, for
/// goro_select beside other cases. Borrowed: valid while `c` is (retain it to keep it longer).
/// NULL for NULL.
///
/// # Safety
/// `c` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_ctx_done(c: *mut goro_ctx) -> *mut goro_chan {
    ffi_boundary!(std::ptr::null_mut(), {
        // SAFETY: the caller's contract.
        match unsafe { borrow(c) } {
            Some(c) => Arc::as_ptr(c.done_chan().raw()).cast_mut().cast(),
            None => std::ptr::null_mut(),
        }
    })
}

/// Takes another reference to `c`; returns `c`. NULL is fine.
///
/// # Safety
/// `c` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_ctx_retain(c: *mut goro_ctx) -> *mut goro_ctx {
    // SAFETY: forwarded contract.
    unsafe { retain(c) };
    c
}

/// Drops a reference; NULL is fine. Releasing does not cancel.
///
/// # Safety
/// `c` is NULL or a live context whose reference the caller gives up.
#[no_mangle]
pub unsafe extern "C" fn goro_ctx_release(c: *mut goro_ctx) {
    // SAFETY: forwarded contract.
    unsafe { release(c) }
}

/// Waits on one case unless `ctx` ends first: the status, or GORO_ECANCELED/GORO_EDEADLINE.
///
/// # Safety
/// `ctx` is NULL or a live context; the case's pointers are valid as its call requires.
unsafe fn wait_one(case: Case<'_>, ctx: *mut goro_ctx, timeout_ns: i64) -> Result<bool, c_int> {
    // SAFETY: the caller's contract.
    let Some(ctx) = (unsafe { borrow(ctx) }) else {
        return Err(GORO_EINVAL);
    };
    // SAFETY: the caller's contract.
    match unsafe { goro_core::context::wait_ctx(&[case], deadline(timeout_ns), &ctx) } {
        Ok((_, ok)) => Ok(ok),
        Err(e) => Err(code(e)),
    }
}

/// goro_chan_send, unless `ctx` ends first: then GORO_ECANCELED or GORO_EDEADLINE, and
/// nothing was sent. A context that has already ended fails at once. Errors: GORO_ECLOSED,
/// GORO_EINVAL (NULL channel or context, NULL elem with elem_size > 0).
///
/// # Safety
/// As goro_chan_send; `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_send_ctx(
    c: *mut goro_chan,
    elem: *const c_void,
    ctx: *mut goro_ctx,
) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        let Some(ch) = (unsafe { borrow(c) }) else {
            return GORO_EINVAL;
        };
        if elem.is_null() && ch.elem_size() != 0 {
            return GORO_EINVAL;
        }
        // SAFETY: the caller's contract.
        let Some(ctx) = (unsafe { borrow(ctx) }) else {
            return GORO_EINVAL;
        };
        // SAFETY: `elem` holds elem_size bytes (the caller's contract).
        match unsafe { chan_ctx(&ch, Op::Send(elem.cast()), Deadline::Forever, &ctx) } {
            Ok(true) => GORO_OK,
            Ok(false) => GORO_ECLOSED,
            Err(e) => code(e),
        }
    })
}

/// goro_chan_recv, unless `ctx` ends first: then GORO_ECANCELED or GORO_EDEADLINE, nothing
/// was received and `out` and `ok` are untouched.
///
/// # Safety
/// As goro_chan_recv; `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_recv_ctx(
    c: *mut goro_chan,
    out: *mut c_void,
    ok: *mut bool,
    ctx: *mut goro_ctx,
) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        let Some(ch) = (unsafe { borrow(c) }) else {
            return GORO_EINVAL;
        };
        // SAFETY: the caller's contract.
        let Some(ctx) = (unsafe { borrow(ctx) }) else {
            return GORO_EINVAL;
        };
        // SAFETY: `out` is NULL or holds elem_size bytes (the caller's contract).
        let (st, got) =
            match unsafe { chan_ctx(&ch, Op::Recv(out.cast()), Deadline::Forever, &ctx) } {
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

/// goro_select, unless `ctx` ends first: then GORO_ECANCELED or GORO_EDEADLINE and no case
/// completed.
///
/// # Safety
/// As goro_select; `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_select_ctx(
    cases: *mut goro_case,
    n: usize,
    timeout_ns: i64,
    ctx: *mut goro_ctx,
) -> c_int {
    // SAFETY: the caller's contract.
    let Some(c) = (unsafe { borrow(ctx) }) else {
        return GORO_EINVAL;
    };
    // SAFETY: forwarded contract.
    unsafe { select_in(cases, n, timeout_ns, Some(&c)) }
}

/// goro_sleep, unless `ctx` ends first (GORO_ECANCELED or GORO_EDEADLINE).
///
/// # Safety
/// `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_sleep_ctx(ns: i64, ctx: *mut goro_ctx) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        match unsafe { borrow(ctx) } {
            Some(c) => crate::status(goro_core::context::sleep_ctx(ns, &c)),
            None => GORO_EINVAL,
        }
    })
}

/// goro_wg_wait, unless `ctx` ends first (GORO_ECANCELED or GORO_EDEADLINE).
///
/// # Safety
/// `wg` is NULL or a live WaitGroup; `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_wg_wait_ctx(wg: *mut goro_waitgroup, ctx: *mut goro_ctx) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { source_ctx(wg, ctx) }
}

/// Waits on the source behind handle `h` (a WaitGroup, a mutex) unless `ctx` ends first.
///
/// # Safety
/// `h` is NULL or a live handle; `ctx` is NULL or a live context.
unsafe fn source_ctx<H: Handle>(h: *mut H, ctx: *mut goro_ctx) -> c_int
where
    H::Inner: goro_core::wait::Source,
{
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract; our own reference for the wait.
        let Some(s) = (unsafe { own(h) }) else {
            return GORO_EINVAL;
        };
        // SAFETY: the caller's contract; a source case carries no pointers.
        match unsafe { wait_one(Case::Source(&*s), ctx, -1) } {
            Ok(_) => GORO_OK,
            Err(st) => st,
        }
    })
}

/// goro_mutex_lock, unless `ctx` ends first: then GORO_ECANCELED or GORO_EDEADLINE and the
/// mutex was not taken.
///
/// # Safety
/// `m` is NULL or a live mutex; `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_mutex_lock_ctx(m: *mut goro_mutex, ctx: *mut goro_ctx) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { source_ctx(m, ctx) }
}

/// A member of an error group: `fn(ctx, arg)` returns GORO_OK (0) or an error status of its
/// choosing (any nonzero int); `ctx` is the group's context, borrowed for the call.
pub type goro_group_fn =
    Option<unsafe extern "C" fn(ctx: *mut goro_ctx, arg: *mut c_void) -> c_int>;

/// An error group (golang.org/x/sync/errgroup): goroutines started in it share a context
/// that the first failing one cancels; goro_group_wait returns the first failure. Opaque.
pub struct goro_group {
    group: Group<c_int>,
    /// The group's context as a C handle, handed to every member.
    ctx: *mut goro_ctx,
}

// SAFETY: `ctx` is an Arc handle (thread-safe); it is released once, in Drop.
unsafe impl Send for goro_group {}
// SAFETY: as for Send.
unsafe impl Sync for goro_group {}

impl Drop for goro_group {
    fn drop(&mut self) {
        // SAFETY: made by into_handle in goro_group_new; given up once, here.
        unsafe { release(self.ctx) };
    }
}

// SAFETY: every goro_group handle is made by `into_handle` from an Arc<goro_group>.
unsafe impl Handle for goro_group {
    type Inner = goro_group;
}

struct CMember(
    unsafe extern "C" fn(*mut goro_ctx, *mut c_void) -> c_int,
    *mut c_void,
);
// SAFETY: the caller of goro_group_go vouches that the member may run on any thread (as with
// goro_go).
unsafe impl Send for CMember {}

/// A group whose context is a child of `parent`, running at most `limit` members at once (0:
/// no limit). NULL for a NULL parent or no memory.
///
/// # Safety
/// `parent` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn goro_group_new(parent: *mut goro_ctx, limit: usize) -> *mut goro_group {
    ffi_boundary!(std::ptr::null_mut(), {
        // SAFETY: the caller's contract.
        let Some(p) = (unsafe { borrow(parent) }) else {
            return std::ptr::null_mut();
        };
        let Ok(group) = Group::new(&p, limit) else {
            return std::ptr::null_mut();
        };
        let ctx = into_handle::<goro_ctx>(Arc::new(group.context().clone()));
        into_handle(Arc::new(goro_group { group, ctx }))
    })
}

/// Starts `fn(ctx, arg)` as a goroutine in the group, first waiting while `limit` members run.
/// A nonzero return cancels the group's context. Errors: GORO_EINVAL (NULL group or fn),
/// GORO_ENOMEM.
///
/// # Safety
/// `g` is NULL or a live group; `fn` may run on any thread with `arg`.
#[no_mangle]
pub unsafe extern "C" fn goro_group_go(
    g: *mut goro_group,
    func: goro_group_fn,
    arg: *mut c_void,
) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        let Some(f) = func else { return GORO_EINVAL };
        // SAFETY: the caller's contract; the member keeps the group (and so its context
        // handle) alive while it runs.
        let Some(grp): Option<Arc<goro_group>> = (unsafe { own(g) }) else {
            return GORO_EINVAL;
        };
        let member = CMember(f, arg);
        let keep = grp.clone();
        let body = move |_: &Context| -> Result<(), c_int> {
            let m = member;
            // SAFETY: the submitter's contract; `keep` holds the context handle.
            match unsafe { (m.0)(keep.ctx, m.1) } {
                0 => Ok(()),
                st => Err(st),
            }
        };
        let opts = goro_core::SpawnOpts {
            func: goro_core::trace::Func::Addr(f as usize),
            ..Default::default()
        };
        let r = grp.group.go_with(body, |b| {
            goro_core::goroutine::spawn(goro_core::Body::Rust(b), &opts)
        });
        match r {
            Ok(_) => GORO_OK,
            Err(Error::NoMemory) => crate::GORO_ENOMEM,
            Err(e) => code(e),
        }
    })
}

/// The group's context (borrowed: valid while the group is), to pass to calls that take one.
/// NULL for NULL.
///
/// # Safety
/// `g` is NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn goro_group_ctx(g: *mut goro_group) -> *mut goro_ctx {
    // SAFETY: the caller's contract.
    unsafe { borrow(g) }.map_or(std::ptr::null_mut(), |g| g.ctx)
}

/// Waits until every member has returned, cancels the group's context, and returns the first
/// nonzero status a member returned (GORO_OK if none). May be called again. GORO_EINVAL for
/// NULL.
///
/// # Safety
/// `g` is NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn goro_group_wait(g: *mut goro_group) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        // SAFETY: the caller's contract.
        match unsafe { own(g) } {
            Some(g) => match g.group.wait() {
                Ok(()) => GORO_OK,
                Err(st) => st,
            },
            None => GORO_EINVAL,
        }
    })
}

/// Waits for every member (as goro_group_wait), then frees the group. NULL is fine.
///
/// # Safety
/// `g` is NULL or a live group, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn goro_group_free(g: *mut goro_group) {
    ffi_boundary!((), {
        // SAFETY: the caller's contract.
        if let Some(grp) = unsafe { own(g) } {
            let _ = grp.group.wait();
        }
        // SAFETY: the caller gives up its reference.
        unsafe { release(g) };
    })
}
