//! Every status that crosses from native code to JS, defined here and nowhere else; JS reads
//! the table at load (`statusCodes`, lib/native.js) and the core's wait reasons with it
//! (`waitReasons`, lib/trace.js), so neither is copied by hand.
//!
//! One vocabulary, the wait protocol's: `n >= 0` is "case `n >> 1` completed, ok = `n & 1`"
//! (a single operation is case 0; ok is false when it completed because its channel is
//! closed); negative values are `PENDING` (queued: the loop's dispatch reports it later) and
//! the core's `Error`s. A return value travels as is; a call that returns a value leaves its
//! status in the status cell: an Int32Array of one element per JS thread, which costs JS
//! almost nothing to read (a fresh [status, value] pair would cost an allocation per call).

use std::cell::Cell;

use goro_core::goroutine::WaitReason;
use goro_core::{Error, Outcome};
use napi::{JsTypedArray, Result};

/// Queued: the outcome comes through the loop's dispatch.
pub const PENDING: i32 = -1;

/// The core's errors, as JS sees them (named by the core's own names).
const ERRORS: [Error; 9] = [
    Error::WouldBlock,
    Error::Closed,
    Error::TimedOut,
    Error::Invalid,
    Error::NoMemory,
    Error::Shutdown,
    Error::Interrupted,
    Error::Cancelled,
    Error::DeadlineExceeded,
];

/// An error's code: -2 and down, in `ERRORS` order.
pub fn of_error(e: Error) -> i32 {
    let i = ERRORS.iter().position(|x| *x == e);
    debug_assert!(i.is_some(), "goro: {e:?} is missing from ERRORS");
    -2 - i.map_or(ERRORS.len() - 1, |i| i) as i32
}

/// A case that completed.
pub fn of_case(index: usize, ok: bool) -> i32 {
    (index as i32) * 2 + ok as i32
}

/// How a wait ended.
pub fn of_outcome(o: Outcome) -> i32 {
    match o {
        Outcome::Case { index, ok } => of_case(index, ok),
        Outcome::TimedOut => of_error(Error::TimedOut),
        Outcome::Interrupted => of_error(Error::Interrupted),
    }
}

/// A single operation's result: case 0, or the error.
pub fn of_result(r: std::result::Result<bool, Error>) -> i32 {
    r.map_or_else(of_error, |ok| of_case(0, ok))
}

/// The status table: `{ PENDING, WouldBlock, Closed, ... }`.
#[napi]
pub fn status_codes() -> std::collections::HashMap<String, i32> {
    let mut t: std::collections::HashMap<String, i32> = ERRORS
        .iter()
        .map(|&e| (format!("{e:?}"), of_error(e)))
        .collect();
    t.insert("PENDING".into(), PENDING);
    t
}

/// The core's wait reasons by name: `{ None: 0, ChanRecv: 1, ... }` (numbered without gaps,
/// as `WaitReason::from_u8` says; the first number it does not know ends the table).
#[napi]
pub fn wait_reasons() -> std::collections::HashMap<String, u32> {
    let mut t = std::collections::HashMap::from([(format!("{:?}", WaitReason::None), 0)]);
    for v in 1..=u8::MAX {
        let r = WaitReason::from_u8(v);
        if r == WaitReason::None {
            break;
        }
        t.insert(format!("{r:?}"), v as u32);
    }
    t
}

thread_local! {
    static CELL: Cell<*mut i32> = const { Cell::new(std::ptr::null_mut()) };
}

/// Registers this JS thread's status cell (lib/native.js keeps it alive).
#[napi]
pub fn set_status_cell(cell: JsTypedArray) -> Result<()> {
    let v = cell.into_value()?;
    let ab = v.arraybuffer.into_value()?;
    // SAFETY: the JS layer keeps the array alive for the life of this thread's env; its
    // backing store does not move (not resizable).
    let p = unsafe { ab.as_ptr().add(v.byte_offset) as *mut i32 };
    CELL.with(|c| c.set(p));
    Ok(())
}

pub fn set_status(s: i32) {
    CELL.with(|c| {
        let p = c.get();
        if !p.is_null() {
            // SAFETY: registered by set_status_cell on this thread, which is the one running.
            unsafe { *p = s };
        }
    });
}
