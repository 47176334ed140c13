//! Seeing inside: goroutine dumps, pprof profiles, leak reports, the debug endpoint and the
//! runtime counters.

use std::ffi::{c_char, c_int, CStr};

use goro_core::trace;

use crate::{code, ffi_boundary, GORO_EINTERNAL, GORO_EINVAL, GORO_OK};

/// Writes all of `data` to `fd` (retrying short writes and EINTR); GORO_EINVAL on a bad fd or
/// a write error.
fn write_all(fd: c_int, mut data: &[u8]) -> c_int {
    if fd < 0 {
        return GORO_EINVAL;
    }
    while !data.is_empty() {
        // SAFETY: writes from our own buffer.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return GORO_EINVAL;
        }
        data = &data[n as usize..];
    }
    GORO_OK
}

/// Writes every goroutine to `fd` as Go prints them on SIGQUIT: id, name, state, what it
/// waits on and for how long, its function, where it waits (when GORO_TRACEBACK=1 is set, or
/// goro_set_traceback(1) was called) and where it was started. GORO_EINVAL for a bad fd.
/// Also on a signal: set GORO_DUMP_SIGNAL=SIGUSR1 (or SIGQUIT, ...) before the runtime starts.
#[no_mangle]
pub extern "C" fn goro_dump(fd: c_int) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        write_all(fd, trace::dump::dump_text().as_bytes())
    })
}

/// goro_dump into a buffer: writes at most `cap` bytes of the dump, NUL-terminated when
/// `cap` > 0, and returns the dump's full length (as snprintf: call again with a bigger
/// buffer when the result is >= cap). `buf` may be NULL when `cap` is 0.
///
/// # Safety
/// `buf` points at `cap` writable bytes (or cap is 0).
#[no_mangle]
pub unsafe extern "C" fn goro_dump_to(buf: *mut c_char, cap: usize) -> usize {
    ffi_boundary!(0, {
        let text = trace::dump::dump_text();
        if cap > 0 && !buf.is_null() {
            let n = text.len().min(cap - 1);
            // SAFETY: the caller's contract: `cap` writable bytes; n + 1 <= cap.
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
                *buf.add(n) = 0;
            }
        }
        text.len()
    })
}

/// Writes a profile to `fd` in pprof's format (gzipped protobuf; `go tool pprof` reads it):
/// "goroutine" (goroutines by stack), "goroutineleak" (the leaked goroutines of goro_leaks, by
/// stack, as Go 1.26's goroutineleak profile), "block" (contentions and delay at channel, select,
/// WaitGroup, Mutex and pool waits, since goro_set_block_profile_rate), "mutex" (contended
/// goro_mutex waits, since goro_set_mutex_profile_fraction), "cpu" (the last CPU profile
/// stopped). GORO_EINVAL for an unknown kind or a bad fd; GORO_EAGAIN for "cpu" before any
/// CPU profile was stopped.
///
/// # Safety
/// `kind` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn goro_profile_write(kind: *const c_char, fd: c_int) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        if kind.is_null() {
            return GORO_EINVAL;
        }
        // SAFETY: the caller's contract.
        let kind = unsafe { CStr::from_ptr(kind) }.to_string_lossy();
        match trace::profile(&kind) {
            Ok(p) => write_all(fd, &p),
            Err(e) => code(e),
        }
    })
}

/// As Go's runtime.SetBlockProfileRate: sample about one blocking event per `ns` nanoseconds
/// spent blocked (1: every event); 0 or less turns the block profile off. Off, a wait costs
/// one load more.
#[no_mangle]
pub extern "C" fn goro_set_block_profile_rate(ns: i64) {
    ffi_boundary!((), { trace::block::set_block_profile_rate(ns) })
}

/// As Go's runtime.SetMutexProfileFraction: sample one in `n` contended goro_mutex waits;
/// 0 turns it off; n < 0 only reads. Returns the fraction before the call.
#[no_mangle]
pub extern "C" fn goro_set_mutex_profile_fraction(n: c_int) -> c_int {
    ffi_boundary!(0, {
        trace::block::set_mutex_profile_fraction(n as i64) as c_int
    })
}

/// Records where each goroutine waits, for goro_dump (costs a stack walk at each wait);
/// GORO_TRACEBACK=1 turns it on from the start.
#[no_mangle]
pub extern "C" fn goro_set_traceback(on: bool) {
    ffi_boundary!((), { trace::block::set_traceback(on) })
}

/// Starts the CPU profile: `hz` times a second (1-1000; 100 is usual), the CPU time each
/// worker thread used is charged to the goroutine it runs. No signals are used, so the
/// host's own SIGPROF handlers are untouched. GORO_EINVAL for a bad rate, GORO_EAGAIN when a
/// CPU profile is already running.
#[no_mangle]
pub extern "C" fn goro_cpu_profile_start(hz: c_int) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        match trace::cpu::start(hz) {
            Ok(()) => GORO_OK,
            Err(e) => code(e),
        }
    })
}

/// Stops the CPU profile; goro_profile_write("cpu", fd) then writes it. GORO_EINVAL when none
/// is running.
#[no_mangle]
pub extern "C" fn goro_cpu_profile_stop() -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        match trace::cpu::stop() {
            Ok(()) => GORO_OK,
            Err(e) => code(e),
        }
    })
}

/// Serves Go's /debug/pprof/ paths over HTTP on `addr` (for example "127.0.0.1:6060"; port 0
/// picks a free one): goroutine (?debug=1 and 2 give text), block, mutex,
/// profile?seconds=N, goroutineleak (?debug=1: the leak report as text), and
/// /debug/goro/leaks. Meant for loopback: anyone who can connect can
/// read the dumps. Returns the port bound (> 0), or GORO_EINVAL for an address that cannot be
/// parsed or bound. A second call returns the first server's port.
///
/// # Safety
/// `addr` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn goro_debug_serve(addr: *const c_char) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        if addr.is_null() {
            return GORO_EINVAL;
        }
        // SAFETY: the caller's contract.
        let addr = unsafe { CStr::from_ptr(addr) }.to_string_lossy();
        match trace::http::serve(&addr) {
            Ok(bound) => bound
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<c_int>().ok())
                .unwrap_or(GORO_EINVAL),
            Err(e) => code(e),
        }
    })
}

/// Reports leaked goroutines to `fd` (fd < 0: count only) and returns how many: goroutines
/// blocked, with no deadline, on channels that only leaked goroutines can reach (see "Who
/// owns a reference" at the top), each with its function and where it was started, as
/// goro_dump shows them. The goroutineleak profile (goro_profile_write) lists the same
/// goroutines. GORO_EINVAL for a write error.
///
/// Never a false positive for programs that follow the ownership rule: whatever the runtime
/// cannot see (a handle in a struct, a goroutine waiting on a WaitGroup, Mutex, context, fd
/// or deadline) counts as reachable, so such waits are not reported; goro_leaks_ex also
/// reports goroutines blocked longer than a threshold, which catches those.
#[no_mangle]
pub extern "C" fn goro_leaks(fd: c_int) -> c_int {
    goro_leaks_ex(fd, 0)
}

/// goro_leaks, also counting goroutines blocked for at least `blocked_ns` nanoseconds (0:
/// only unreachable ones).
#[no_mangle]
pub extern "C" fn goro_leaks_ex(fd: c_int, blocked_ns: i64) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        let leaks = trace::leak::find(blocked_ns);
        if fd >= 0 && !leaks.is_empty() {
            let r = write_all(fd, trace::dump::leaks_text(&leaks).as_bytes());
            if r != GORO_OK {
                return r;
            }
        }
        leaks.len() as c_int
    })
}

/// Runtime counters (goro_read_counters).
#[repr(C)]
#[derive(Default)]
pub struct goro_counters {
    /// Goroutines alive.
    pub goroutines: i64,
    /// Worker threads created so far.
    pub workers: u64,
    /// Workers holding a GOMAXPROCS token now.
    pub active_workers: u64,
    /// Spare threads lent by the monitor when a worker was stuck in a foreign call.
    pub handoffs: u64,
    /// Goroutine switches (resumes by a worker).
    pub switches: u64,
    /// Times a goroutine parked.
    pub parks: u64,
    /// Address space reserved for goroutine stacks, in bytes (committed only as touched).
    pub stack_reserved_bytes: u64,
    /// Pending timers.
    pub timers: u64,
}

/// Reads the runtime counters into `*out`. GORO_EINVAL if out is NULL.
///
/// # Safety
/// `out` is NULL or points at a goro_counters.
#[no_mangle]
pub unsafe extern "C" fn goro_read_counters(out: *mut goro_counters) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        if out.is_null() {
            return GORO_EINVAL;
        }
        let c = trace::counters();
        let s = goro_counters {
            goroutines: c.goroutines,
            workers: c.workers as u64,
            active_workers: c.active_workers as u64,
            handoffs: c.handoffs,
            switches: c.switches,
            parks: c.parks,
            stack_reserved_bytes: c.stack_reserved_bytes as u64,
            timers: c.timers as u64,
        };
        // SAFETY: the caller's contract.
        unsafe { out.write(s) };
        GORO_OK
    })
}
