//! Select.

use std::ffi::{c_int, c_void};
use std::mem::ManuallyDrop;
use std::sync::Arc;

use goro_core::{Case, Op, RawChan};

use crate::chan::goro_chan;
use crate::handle::borrow;
use crate::{code, deadline, ffi_boundary, GORO_EINTERNAL, GORO_EINVAL};

/// Cases kept on the stack; more take an allocation.
const INLINE: usize = 8;

/// goro_case.op: send `elem`.
pub const GORO_SEND: c_int = 1;
/// goro_case.op: receive into `elem` (NULL drops the value).
pub const GORO_RECV: c_int = 2;
/// goro_case.op: wait until an fd is readable (as goro_fd_wait with GORO_FD_READ). `chan` is
/// NULL and `elem` points at an `int` holding the fd; `ok` is true when it is ready, false when
/// goro_fd_close ran on it. The usual shape: read with a cancel channel and a timeout.
pub const GORO_FD_READABLE: c_int = 3;
/// goro_case.op: wait until an fd is writable; as GORO_FD_READABLE.
pub const GORO_FD_WRITABLE: c_int = 4;

/// One case of goro_select.
#[repr(C)]
pub struct goro_case {
    /// The channel; NULL is never ready (as a nil channel in Go).
    pub chan: *mut goro_chan,
    /// GORO_SEND, GORO_RECV, GORO_FD_READABLE or GORO_FD_WRITABLE.
    pub op: c_int,
    /// The value to send, or where to receive (elem_size bytes of the channel).
    pub elem: *mut c_void,
    /// Set on the chosen case only: true for a value received or sent, false when it completed
    /// because its channel is closed.
    pub ok: bool,
}

/// Waits until one of `n` cases can complete, completes it, and returns its index. If several
/// are ready, one is chosen uniformly at random; cases not chosen are left untouched. A send
/// case on a closed channel completes with ok = false (it does not fail). `cases` may be NULL
/// when n is 0; zero cases (or only NULL channels) with a negative timeout block forever, as
/// Go's `select {}`. Cases may also wait for an fd (GORO_FD_READABLE, GORO_FD_WRITABLE): "this
/// socket has data, or this channel a value, or the timeout" is one call.
/// Errors: GORO_EAGAIN (timeout 0, nothing ready: Go's default), GORO_ETIMEDOUT, GORO_EINVAL
/// (NULL cases with n > 0, a bad op, a NULL elem for a send on a channel with elem_size > 0, an
/// fd case with a channel, a NULL elem or a bad fd).
///
/// # Safety
/// `cases` points at `n` goro_case; each non-NULL chan is a live handle and each elem is valid
/// for its channel's elem_size bytes.
#[no_mangle]
pub unsafe extern "C" fn goro_select(cases: *mut goro_case, n: usize, timeout_ns: i64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { select_in(cases, n, timeout_ns, None) }
}

/// goro_select and goro_select_ctx: checks and converts the cases, then waits (unless `ctx`
/// ends first).
///
/// # Safety
/// As goro_select.
pub(crate) unsafe fn select_in(
    cases: *mut goro_case,
    n: usize,
    timeout_ns: i64,
    ctx: Option<&goro_core::context::Context>,
) -> c_int {
    ffi_boundary!(GORO_EINTERNAL, {
        if cases.is_null() && n > 0 {
            return GORO_EINVAL;
        }
        let cs: &mut [goro_case] = if n == 0 {
            &mut []
        } else {
            // SAFETY: the caller's contract.
            unsafe { std::slice::from_raw_parts_mut(cases, n) }
        };
        // Borrowed references (no count change): a select that waits takes its own.
        let mut own_buf: [Option<ManuallyDrop<Arc<RawChan>>>; INLINE] = [const { None }; INLINE];
        let mut own_vec = Vec::new();
        let own: &mut [Option<ManuallyDrop<Arc<RawChan>>>] = if n <= INLINE {
            &mut own_buf[..n]
        } else {
            own_vec.resize_with(n, || None);
            &mut own_vec
        };
        // An fd case's source, made (and its fd registered) before the wait; kept until it ends.
        let mut fds: Vec<(usize, goro_core::io::FdSource)> = Vec::new();
        for (i, (c, o)) in cs.iter().zip(own.iter_mut()).enumerate() {
            match c.op {
                GORO_SEND | GORO_RECV => {
                    // SAFETY: the caller vouches for every non-NULL handle.
                    *o = unsafe { borrow(c.chan) };
                    let needs_elem = o.as_ref().is_some_and(|ch| ch.elem_size() != 0);
                    if c.op == GORO_SEND && c.elem.is_null() && needs_elem {
                        return GORO_EINVAL;
                    }
                }
                GORO_FD_READABLE | GORO_FD_WRITABLE => {
                    if !c.chan.is_null() || c.elem.is_null() {
                        return GORO_EINVAL;
                    }
                    // SAFETY: an fd case's elem points at an int (the caller's contract).
                    let fd = unsafe { *c.elem.cast::<c_int>() };
                    let events = if c.op == GORO_FD_READABLE {
                        goro_core::io::READ
                    } else {
                        goro_core::io::WRITE
                    };
                    match goro_core::io::source(fd, events) {
                        Ok(s) => fds.push((i, s)),
                        Err(e) => return code(e),
                    }
                }
                _ => return GORO_EINVAL,
            }
        }
        let placeholder = Case::Never;
        let mut cases_buf = [placeholder; INLINE];
        let mut cases_vec = Vec::new();
        let core_cases: &mut [Case<'_>] = if n <= INLINE {
            &mut cases_buf[..n]
        } else {
            cases_vec.resize(n, placeholder);
            &mut cases_vec
        };
        for ((c, o), k) in cs.iter().zip(own.iter()).zip(core_cases.iter_mut()) {
            *k = match c.op {
                GORO_SEND => Case::chan(o.as_deref(), Op::Send(c.elem.cast_const().cast())),
                GORO_RECV => Case::chan(o.as_deref(), Op::Recv(c.elem.cast())),
                _ => continue, // an fd case: below
            };
        }
        for (i, s) in &fds {
            core_cases[*i] = Case::Source(s);
        }
        let d = deadline(timeout_ns);
        // SAFETY: the caller vouches for every elem.
        let r = unsafe {
            match ctx {
                Some(c) => goro_core::context::wait_ctx(core_cases, d, c),
                None => goro_core::select(core_cases, d),
            }
        };
        match r {
            Ok((i, ok)) => {
                cs[i].ok = ok;
                i as c_int
            }
            Err(e) => code(e),
        }
    })
}
