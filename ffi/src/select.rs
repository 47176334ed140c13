//! Select.

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use goro_core::{Case, Op, RawChan};

use crate::chan::goro_chan;
use crate::{code, deadline, ffi_boundary, GORO_EINTERNAL, GORO_EINVAL};

/// goro_case.op: send `elem`.
pub const GORO_SEND: c_int = 1;
/// goro_case.op: receive into `elem` (NULL drops the value).
pub const GORO_RECV: c_int = 2;

/// One case of goro_select.
#[repr(C)]
pub struct goro_case {
    /// The channel; NULL is never ready (as a nil channel in Go).
    pub chan: *mut goro_chan,
    /// GORO_SEND or GORO_RECV.
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
/// Go's `select {}`.
/// Errors: GORO_EAGAIN (timeout 0, nothing ready: Go's default), GORO_ETIMEDOUT, GORO_EINVAL
/// (NULL cases with n > 0, a bad op, a NULL elem for a send on a channel with elem_size > 0).
///
/// # Safety
/// `cases` points at `n` goro_case; each non-NULL chan is a live handle and each elem is valid
/// for its channel's elem_size bytes.
#[no_mangle]
pub unsafe extern "C" fn goro_select(cases: *mut goro_case, n: usize, timeout_ns: i64) -> c_int {
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
        // Our own reference to every channel for the duration.
        let mut own: Vec<Option<Arc<RawChan>>> = Vec::with_capacity(n);
        for c in cs.iter() {
            if c.op != GORO_SEND && c.op != GORO_RECV {
                return GORO_EINVAL;
            }
            if c.chan.is_null() {
                own.push(None);
                continue;
            }
            // SAFETY: a live handle; we take a counted reference of our own.
            let ch = unsafe {
                let p = c.chan.cast::<RawChan>();
                Arc::increment_strong_count(p);
                Arc::from_raw(p)
            };
            if c.op == GORO_SEND && c.elem.is_null() && ch.elem_size() != 0 {
                return GORO_EINVAL;
            }
            own.push(Some(ch));
        }
        let core_cases: Vec<Case<'_>> = cs
            .iter()
            .zip(own.iter())
            .map(|(c, o)| Case {
                chan: o.as_deref(),
                op: if c.op == GORO_SEND {
                    Op::Send(c.elem.cast_const().cast())
                } else {
                    Op::Recv(c.elem.cast())
                },
            })
            .collect();
        // SAFETY: the caller vouches for every elem.
        let r = unsafe { goro_core::select(&core_cases, deadline(timeout_ns)) };
        drop(core_cases);
        match r {
            Ok((i, ok)) => {
                cs[i].ok = ok;
                i as c_int
            }
            Err(e) => code(e),
        }
    })
}
