//! Channels.

use std::ffi::{c_int, c_void};

use goro_core::goroutine::{self, Body, SpawnOpts};
use goro_core::trace::{Func, Site};
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

/// Takes another reference to `c`; returns `c`. NULL is fine (returns NULL). The reference
/// belongs to nobody in particular (see "Who owns a reference" above): retaining for a
/// goroutine about to be started with goro_go is the usual use.
///
/// # Safety
/// `c` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_retain(c: *mut goro_chan) -> *mut goro_chan {
    // SAFETY: the caller's contract.
    unsafe { handle::retain(c) };
    c
}

/// goro_chan_retain for the calling goroutine alone: the new reference is its own (leak
/// reports then know that it keeps nothing alive while this goroutine is blocked). The
/// goroutine releases it itself and never hands it on. On a plain thread, as
/// goro_chan_retain. Returns `c`; NULL is fine.
///
/// # Safety
/// `c` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_retain_own(c: *mut goro_chan) -> *mut goro_chan {
    // SAFETY: the caller's contract.
    unsafe { handle::retain(c) };
    let me = goro_core::current_id();
    // SAFETY: the caller's contract; the reference just taken keeps it alive.
    if let (Some(ch), true) = (unsafe { borrow(c) }, me != 0) {
        ch.own(me); // after the retain (chan/owners.rs)
    }
    c
}

/// Drops a reference; the last one frees the channel (values still buffered are discarded).
/// NULL is fine. Must not be called more times than references were taken. Called by a
/// goroutine that owns references to `c` (goro_go_owning, goro_chan_retain_own), it drops
/// one of those.
///
/// # Safety
/// `c` is NULL or a live handle whose reference the caller gives up.
#[no_mangle]
pub unsafe extern "C" fn goro_chan_release(c: *mut goro_chan) {
    let me = goro_core::current_id();
    if me != 0 {
        // SAFETY: the caller's reference keeps it alive until the release below.
        if let Some(ch) = unsafe { borrow(c) } {
            ch.disown(me); // before the release (chan/owners.rs)
        }
    }
    // SAFETY: the caller gives up one reference taken by new/retain/after.
    unsafe { handle::release(c) };
}

/// What goro_go_owning hands to its goroutine: the body and the references it gets.
struct Owning {
    func: unsafe extern "C" fn(*mut c_void),
    arg: *mut c_void,
    chans: Vec<*mut goro_chan>,
}

// SAFETY: the caller of goro_go_owning vouches that fn(arg) may run on any thread (as for
// goro_go), and the handles are references it hands over, usable from any thread.
unsafe impl Send for Owning {}

/// Starts `fn(arg)` as a goroutine, as goro_go does, and hands it one reference to each of
/// `chans[0..n]`: references the caller took (goro_chan_new, goro_chan_retain, or its own) and
/// gives up. They belong to the new goroutine (see "Who owns a reference" above), which releases each
/// with goro_chan_release when it is done and never hands them on. `chans` may be NULL when
/// n is 0. GORO_EINVAL for a NULL fn or a NULL in `chans`, GORO_ENOMEM if no stack could be
/// had; on an error the references stay the caller's.
///
/// # Safety
/// As goro_go; `chans` points at `n` live handles, each a reference the caller gives up.
#[no_mangle]
pub unsafe extern "C" fn goro_go_owning(
    func: crate::goro_fn,
    arg: *mut c_void,
    chans: *const *mut goro_chan,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract; no call site known.
    unsafe { goro_go_owning_at(func, arg, chans, n, std::ptr::null(), 0) }
}

/// goro_go_owning, recording where it was called (as goro_go_at); the goro_go_owning macro
/// calls it.
///
/// # Safety
/// As goro_go_owning; `file` is NULL or a string that lives as long as the process.
#[no_mangle]
pub unsafe extern "C" fn goro_go_owning_at(
    func: crate::goro_fn,
    arg: *mut c_void,
    chans: *const *mut goro_chan,
    n: usize,
    file: *const std::ffi::c_char,
    line: c_int,
) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        let Some(f) = func else {
            return GORO_EINVAL;
        };
        let list: Vec<*mut goro_chan> = match (chans.is_null(), n) {
            (_, 0) => Vec::new(),
            (true, _) => return GORO_EINVAL,
            // SAFETY: the caller's contract: `n` handles at `chans`.
            (false, _) => unsafe { std::slice::from_raw_parts(chans, n) }.to_vec(),
        };
        if list.iter().any(|c| c.is_null()) {
            return GORO_EINVAL;
        }
        // A reference the caller owned itself leaves it (chan/owners.rs: disowning is never
        // wrong, it only makes the reference nobody's until the new goroutine takes it).
        let me = goro_core::current_id();
        let disowned: Vec<bool> = list
            .iter()
            // SAFETY: the caller's contract: live handles.
            .map(|&c| me != 0 && unsafe { borrow(c) }.is_some_and(|ch| ch.disown(me)))
            .collect();
        let job = Owning {
            func: f,
            arg,
            chans: list,
        };
        // The references are nobody's in particular until the goroutine runs and takes them
        // as its own: an attribution made here could come after the goroutine released them.
        let kept = job.chans.clone();
        let body = Body::Rust(Box::new(move || {
            let job = job;
            let me = goro_core::current_id();
            for &c in &job.chans {
                // SAFETY: a reference handed over by the caller keeps it alive.
                if let Some(ch) = unsafe { borrow(c) } {
                    ch.own(me);
                }
            }
            // SAFETY: the caller of goro_go_owning vouches for fn(arg).
            unsafe { (job.func)(job.arg) }
        }));
        let opts = SpawnOpts {
            func: Func::Addr(f as usize),
            site: Site::C(file, line.max(0) as u32),
            ..SpawnOpts::default()
        };
        match goroutine::spawn(body, &opts) {
            Ok(_) => GORO_OK,
            Err(e) => {
                // The references stay the caller's, as they were.
                for (&c, _) in kept.iter().zip(&disowned).filter(|(_, &d)| d) {
                    // SAFETY: the caller's references keep them alive.
                    if let Some(ch) = unsafe { borrow(c) } {
                        ch.own(me);
                    }
                }
                code(e)
            }
        }
    })
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
