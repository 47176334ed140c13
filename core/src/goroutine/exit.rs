//! Defer and exit: a goroutine's cleanups, run last registered first when its body returns or
//! it calls `exit`, and the end of its record and stack.
//!
//! A cleanup is called outside any borrow of the record, so it may itself register cleanups or
//! call `exit`. A panic in a Rust cleanup is reported and the next cleanup still runs, as Go's
//! deferred calls still run when one panics.
//!
//! Rejected: unwinding to implement `exit` (C frames cannot be unwound through, and Python's
//! must not be); exit abandons the frames above it instead, as `longjmp` would, after running
//! the cleanups, and the worker resets the coroutine.

use std::ffi::c_void;
use std::sync::atomic::Ordering;

use super::panic::report_panic;
use super::readers::retire;
use super::record::{Defer, Switch, LIVE};
use super::switch::{current, switch_out};
use super::{CFn, GPtr};
use crate::Error;

/// Registers a C cleanup for the running goroutine.
pub fn defer_c(f: CFn, arg: *mut c_void) -> Result<(), Error> {
    push(Defer::C(f, arg))
}

/// Registers a Rust cleanup for the running goroutine.
pub fn defer(f: impl FnOnce() + Send + 'static) -> Result<(), Error> {
    push(Defer::Rust(Box::new(f)))
}

fn push(d: Defer) -> Result<(), Error> {
    let g = current().ok_or(Error::Invalid)?;
    // SAFETY: owner only: `current()` is the goroutine running this code, the only one that
    // touches its own cleanups, and the borrow ends with the push.
    unsafe { (*g.get().defers.get()).push(d) };
    Ok(())
}

/// Runs the cleanups of `g`, last registered first. The goroutine itself only.
pub(super) fn run_defers(g: GPtr) {
    loop {
        // SAFETY: owner only: we are this goroutine. The borrow ends before the call, so a
        // cleanup may itself call goro_defer or goro_exit.
        let d = unsafe { (*g.get().defers.get()).pop() };
        match d {
            None => break,
            // SAFETY: registered by goro_defer, whose caller vouched that `f(arg)` may be
            // called on any thread once the goroutine ends.
            Some(Defer::C(f, arg)) => unsafe { f(arg) },
            Some(Defer::Rust(f)) => {
                if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                    report_panic(g.get().id, &p);
                }
            }
        }
    }
}

/// Runs the deferred cleanups and ends the running goroutine; returns at once on a plain
/// thread. Frames above this call are abandoned without running their destructors, as a C
/// `longjmp` would: Rust callers should return instead.
pub fn exit() {
    let Some(g) = current() else { return };
    run_defers(g);
    switch_out(g, Switch::Exit);
    unreachable!("an exited goroutine was resumed");
}

/// Frees a finished goroutine's record and stack. Its worker only, after the coroutine
/// returned or was reset.
pub(super) fn finish(g: GPtr) {
    let gp = g.0.as_ptr();
    // SAFETY: the coroutine is done (returned or reset), so nothing runs on its stack; from
    // here on this worker alone owns the record, and reads the coroutine out exactly once.
    let coro = unsafe { (*(*gp).coro.get()).assume_init_read() };
    let slot = coro.into_stack();
    // SAFETY: the record is still alive: it is dropped only below.
    let gr = unsafe { &*gp };
    retire(gr);
    // SAFETY: `retire` waited out every reader, and the record is ours alone: drop its own
    // fields (name, cleanups, cached waiter) before the slot that holds it is reused.
    unsafe { std::ptr::drop_in_place(gp) };
    slot.free();
    LIVE.fetch_sub(1, Ordering::Relaxed);
}
