//! libgoro: the C ABI of the goro runtime. Only C-facing types and argument checks live here;
//! the work is done by goro-core. `include/goro.h` is generated from these doc comments.
//!
//! Every function body runs inside `ffi_boundary!`: a Rust panic never unwinds into C; it is
//! reported and turned into a status (or NULL / 0).

#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::{c_char, c_int};

use goro_core::Error;

// In the header's order, which is CONTRACT.md's (cbindgen follows declaration order; the
// blank lines keep rustfmt from sorting them): runtime and goroutines, channels, select,
// timers, sync, worker pool, contexts, seeing inside, I/O that parks the goroutine. build.rs
// puts a banner before each section.
mod handle;

mod runtime;

mod chan;

mod select;

mod time;

mod sync;

mod pool;

mod context;

mod trace;

mod io;

pub use chan::*;
pub use context::*;
pub use io::*;
pub use pool::*;
pub use runtime::*;
pub use select::*;
pub use sync::*;
pub use time::*;

/// Success.
pub const GORO_OK: c_int = 0;
/// The channel is closed (send on a closed channel, receive from a closed and drained one,
/// closing twice), or the pool is closed.
pub const GORO_ECLOSED: c_int = -1;
/// The timeout ran out.
pub const GORO_ETIMEDOUT: c_int = -2;
/// The operation would block and was asked not to (try_ forms, timeout 0).
pub const GORO_EAGAIN: c_int = -3;
/// A bad argument: a NULL handle or function, a bad size, a counter below zero, unlocking an
/// unlocked mutex, a call that needs a goroutine made outside one.
pub const GORO_EINVAL: c_int = -4;
/// Out of memory, address space or memory maps.
pub const GORO_ENOMEM: c_int = -5;
/// The host is shutting down (for example during Python interpreter finalization).
pub const GORO_ESHUTDOWN: c_int = -6;
/// The wait was interrupted (used by the language layers; C calls are not interrupted).
pub const GORO_EINTR: c_int = -7;
/// An internal error: a bug in goro, reported on stderr.
pub const GORO_EINTERNAL: c_int = -8;
/// The context the call was given was cancelled before the call could complete; nothing was
/// sent or received (see goro_ctx_with_cancel).
pub const GORO_ECANCELED: c_int = -9;
/// The context the call was given passed its deadline before the call could complete; nothing
/// was sent or received (see goro_ctx_with_timeout). Distinct from GORO_ETIMEDOUT, the call's
/// own timeout.
pub const GORO_EDEADLINE: c_int = -10;

/// The status code of a core error.
pub(crate) fn code(e: Error) -> c_int {
    match e {
        Error::Closed => GORO_ECLOSED,
        Error::TimedOut => GORO_ETIMEDOUT,
        Error::WouldBlock => GORO_EAGAIN,
        Error::Invalid => GORO_EINVAL,
        Error::NoMemory => GORO_ENOMEM,
        Error::Shutdown => GORO_ESHUTDOWN,
        Error::Interrupted => GORO_EINTR,
        Error::Cancelled => GORO_ECANCELED,
        Error::DeadlineExceeded => GORO_EDEADLINE,
    }
}

/// A status from a core result.
pub(crate) fn status(r: Result<(), Error>) -> c_int {
    match r {
        Ok(()) => GORO_OK,
        Err(e) => code(e),
    }
}

/// Runs a body with panics caught: a panic is reported and the fallback value returned.
macro_rules! ffi_boundary {
    ($fallback:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(p) => {
                $crate::report_internal_panic(&p);
                $fallback
            }
        }
    };
}
pub(crate) use ffi_boundary;

pub(crate) fn report_internal_panic(p: &Box<dyn std::any::Any + Send>) {
    let msg = goro_core::goroutine::panic_message(p);
    eprintln!("goro: internal error (please report): {msg}");
}

/// A static, NUL-terminated description of a status code ("channel closed", ...); never NULL.
#[no_mangle]
pub extern "C" fn goro_strerror(code: c_int) -> *const c_char {
    let s: &'static [u8] = match code {
        GORO_OK => b"success\0",
        GORO_ECLOSED => b"channel closed\0",
        GORO_ETIMEDOUT => b"timed out\0",
        GORO_EAGAIN => b"operation would block\0",
        GORO_EINVAL => b"invalid argument\0",
        GORO_ENOMEM => b"out of memory\0",
        GORO_ESHUTDOWN => b"runtime shutting down\0",
        GORO_EINTR => b"interrupted\0",
        GORO_EINTERNAL => b"internal error\0",
        GORO_ECANCELED => b"context cancelled\0",
        GORO_EDEADLINE => b"context deadline exceeded\0",
        c if c <= io::GORO_ESYS && c > io::GORO_ESYS - 4096 => {
            b"operating system error (goro_os_errno gives its errno)\0"
        }
        _ => b"unknown goro status code\0",
    };
    s.as_ptr().cast()
}

/// Converts a C timeout (ns; < 0 forever, 0 no wait) into a deadline.
pub(crate) fn deadline(ns: i64) -> goro_core::Deadline {
    goro_core::Deadline::from_timeout_ns(ns)
}
