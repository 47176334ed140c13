//! Runtime and goroutines.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

use goro_core::goroutine::{self, Body, SpawnOpts};
use goro_core::trace::Site;

use crate::{code, ffi_boundary, status, GORO_EINTERNAL, GORO_EINVAL, GORO_OK};

/// A goroutine body, deferred cleanup or pool job: called with the `arg` given alongside it.
pub type goro_fn = Option<unsafe extern "C" fn(arg: *mut c_void)>;

/// goro_go_ex flag: never move this goroutine to another OS thread (thread-local state, thread
/// ids and thread-bound locks then stay valid across goro calls).
pub const GORO_PINNED: c_uint = 1;

/// Options for goro_go_ex; a zeroed struct means the defaults.
#[repr(C)]
pub struct goro_go_opts {
    /// Usable stack bytes: 0 for the default (GORO_STACK_SIZE, else 256 KiB); otherwise
    /// between 16 KiB and 1 GiB (rounded up to a page), else GORO_EINVAL. Memory is reserved,
    /// and committed only as the stack is touched.
    pub stack_size: usize,
    /// A name shown in goroutine dumps and stack overflow reports; copied; may be NULL.
    pub name: *const c_char,
    /// GORO_PINNED, or 0.
    pub flags: c_uint,
}

/// Sets GOMAXPROCS when n > 0 (capped at 1024); n < 1 only reads. Returns the value before the
/// call. Lowering it takes effect as running goroutines reach their next goro call.
#[no_mangle]
pub extern "C" fn goro_maxprocs(n: c_int) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        goro_core::sched::maxprocs(n as i64) as c_int
    })
}

/// The CPUs this process may use: the affinity mask, capped by a cgroup v1 or v2 CPU quota
/// (rounded up, at least 1). The default GOMAXPROCS.
#[no_mangle]
pub extern "C" fn goro_num_cpu() -> c_int {
    ffi_boundary!(1, { goro_core::maxprocs::num_cpu() as c_int })
}

/// Goroutines alive now.
#[no_mangle]
pub extern "C" fn goro_num_goroutine() -> i64 {
    ffi_boundary!(0, { goro_core::num_goroutine() })
}

fn c_body(f: goro_fn, arg: *mut c_void) -> Option<Body> {
    f.map(|f| Body::C(f, arg))
}

/// Starts `fn(arg)` as a goroutine. GORO_EINVAL if fn is NULL; GORO_ENOMEM if no stack could be
/// had. Safe to call from any thread.
///
/// # Safety
/// `fn(arg)` may be called on any thread (as with pthread_create); `arg` is passed through.
#[no_mangle]
pub unsafe extern "C" fn goro_go(func: goro_fn, arg: *mut c_void) -> c_int {
    // SAFETY: NULL options are allowed; the caller vouches for fn(arg).
    unsafe { goro_go_ex(func, arg, std::ptr::null()) }
}

/// goro_go, recording where it was called (`file` a string literal, as `__FILE__`) for dumps,
/// profiles and leak reports. The goro_go macro calls it.
///
/// # Safety
/// As goro_go; `file` is NULL or a NUL-terminated string that lives for the whole program.
#[no_mangle]
pub unsafe extern "C" fn goro_go_at(
    func: goro_fn,
    arg: *mut c_void,
    file: *const c_char,
    line: c_int,
) -> c_int {
    // SAFETY: NULL options are allowed; the caller vouches for fn(arg) and `file`.
    unsafe { goro_go_ex_at(func, arg, std::ptr::null(), file, line) }
}

/// goro_go_ex, recording where it was called; the goro_go_ex macro calls it.
///
/// # Safety
/// As goro_go_ex; `file` is NULL or a string that lives as long as the process (a literal).
#[no_mangle]
pub unsafe extern "C" fn goro_go_ex_at(
    func: goro_fn,
    arg: *mut c_void,
    opts: *const goro_go_opts,
    file: *const c_char,
    line: c_int,
) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        let Some(body) = c_body(func, arg) else {
            return GORO_EINVAL;
        };
        // SAFETY: the caller passes NULL or a valid goro_go_opts.
        match unsafe { spawn_opts(opts) } {
            Some(mut o) => {
                o.site = Site::C(file, line.max(0) as u32);
                match goroutine::spawn(body, &o) {
                    Ok(_) => GORO_OK,
                    Err(e) => code(e),
                }
            }
            None => GORO_EINVAL,
        }
    })
}

/// goro_go with options (opts may be NULL: the defaults). GORO_EINVAL for a NULL fn, a stack
/// size out of range, or unknown flags.
///
/// # Safety
/// `opts` is NULL or points at a goro_go_opts whose `name` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn goro_go_ex(
    func: goro_fn,
    arg: *mut c_void,
    opts: *const goro_go_opts,
) -> c_int {
    // SAFETY: the caller's contract; no call site known.
    unsafe { goro_go_ex_at(func, arg, opts, std::ptr::null(), 0) }
}

/// # Safety
/// As goro_go_ex.
unsafe fn spawn_opts(opts: *const goro_go_opts) -> Option<SpawnOpts> {
    // SAFETY: the caller's contract.
    let Some(o) = (unsafe { opts.as_ref() }) else {
        return Some(SpawnOpts::default());
    };
    if o.flags & !GORO_PINNED != 0 {
        return None;
    }
    let name = if o.name.is_null() {
        None
    } else {
        // SAFETY: the caller's contract: a NUL-terminated string.
        Some(
            unsafe { CStr::from_ptr(o.name) }
                .to_string_lossy()
                .into_owned(),
        )
    };
    Some(SpawnOpts {
        stack_size: o.stack_size,
        name,
        pinned: o.flags & GORO_PINNED != 0,
        ..SpawnOpts::default()
    })
}

/// Runs `fn(arg)` as a goroutine and blocks the calling thread (or parks the calling goroutine)
/// until it has returned or called goro_exit. May be called any number of times, from any
/// threads at once. GORO_EINVAL if fn is NULL.
#[no_mangle]
pub extern "C" fn goro_run(func: goro_fn, arg: *mut c_void) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        let Some(body) = c_body(func, arg) else {
            return GORO_EINVAL;
        };
        status(goro_core::wait::block::run(body, &SpawnOpts::default()))
    })
}

/// The running goroutine's id (unique, from 1), or 0 on a plain OS thread.
#[no_mangle]
pub extern "C" fn goro_id() -> u64 {
    ffi_boundary!(0, { goro_core::current_id() })
}

/// Lets other goroutines run, then continues (Go's runtime.Gosched). On a plain thread it
/// yields the OS thread.
#[no_mangle]
pub extern "C" fn goro_yield() {
    ffi_boundary!((), { goro_core::yield_now() })
}

/// Sleeps at least `ns` nanoseconds (returns at once when ns <= 0): parks a goroutine, blocks
/// a plain thread. Returns GORO_OK.
#[no_mangle]
pub extern "C" fn goro_sleep(ns: i64) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        goro_core::time::sleep_ns(ns);
        GORO_OK
    })
}

/// Registers `fn(arg)` to run when the calling goroutine ends (by returning or goro_exit),
/// last registered first. GORO_EINVAL outside a goroutine or for a NULL fn.
#[no_mangle]
pub extern "C" fn goro_defer(func: goro_fn, arg: *mut c_void) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        let Some(f) = func else { return GORO_EINVAL };
        status(goroutine::defer_c(f, arg))
    })
}

/// Runs the calling goroutine's deferred cleanups and ends it; never returns in a goroutine.
/// The frames above it are abandoned as by longjmp (no C cleanup of theirs runs). On a plain
/// thread it does nothing and returns.
#[no_mangle]
pub extern "C" fn goro_exit() {
    goroutine::exit()
}

/// Announces that the calling goroutine is about to block its OS thread for long (a blocking
/// read, a foreign library call): the runtime hands its other goroutines to another thread at
/// once. Pair with goro_blocking_end. No-op on a plain thread.
#[no_mangle]
pub extern "C" fn goro_blocking_begin() {
    ffi_boundary!((), { goro_core::sched::blocking_begin() })
}

/// Ends a goro_blocking_begin section.
#[no_mangle]
pub extern "C" fn goro_blocking_end() {
    ffi_boundary!((), { goro_core::sched::blocking_end() })
}
