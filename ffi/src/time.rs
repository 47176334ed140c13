//! Timers.

use goro_core::Ticker;

use crate::chan::goro_chan;
use crate::ffi_boundary;
use crate::handle::{from_box, into_box, into_handle};

/// A channel that receives one int64_t (CLOCK_MONOTONIC ns at the moment it fires) no earlier
/// than `ns` from now (at once when ns <= 0). Capacity 1. Returns a reference the caller
/// releases; a timer nobody receives from leaks nothing once released and fired.
#[no_mangle]
pub extern "C" fn goro_after(ns: i64) -> *mut goro_chan {
    ffi_boundary!(std::ptr::null_mut(), {
        into_handle(goro_core::time::after_ns(ns).raw().clone())
    })
}

/// Delivers the time (int64_t, CLOCK_MONOTONIC ns) every `period_ns` on a channel of capacity
/// 1, dropping ticks nobody took (as Go's). NULL when period_ns <= 0.
pub struct goro_ticker(Ticker);

/// A new ticker; NULL when period_ns <= 0. Stop it with goro_ticker_stop.
#[no_mangle]
pub extern "C" fn goro_ticker_new(period_ns: i64) -> *mut goro_ticker {
    ffi_boundary!(std::ptr::null_mut(), {
        match Ticker::new_ns(period_ns) {
            Some(t) => into_box(goro_ticker(t)),
            None => std::ptr::null_mut(),
        }
    })
}

/// The ticker's channel, borrowed: valid until goro_ticker_stop, unless retained with
/// goro_chan_retain. NULL for NULL.
///
/// # Safety
/// `t` is NULL or a live ticker.
#[no_mangle]
pub unsafe extern "C" fn goro_ticker_chan(t: *mut goro_ticker) -> *mut goro_chan {
    // SAFETY: the caller's contract.
    match unsafe { t.as_ref() } {
        Some(t) => std::sync::Arc::as_ptr(t.0.chan().raw()).cast_mut().cast(),
        None => std::ptr::null_mut(),
    }
}

/// Stops the ticks and frees the ticker, dropping its reference to the channel: a caller that
/// retained the channel keeps it, open. NULL is fine.
///
/// # Safety
/// `t` is NULL or a live ticker, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn goro_ticker_stop(t: *mut goro_ticker) {
    // SAFETY: made by goro_ticker_new (into_box); the caller gives it up.
    if let Some(t) = unsafe { from_box(t) } {
        ffi_boundary!((), { t.0.stop() });
    }
}
