//! The status cell: an Int32Array of one element per JS thread, written by native calls that
//! return a value and a status (tryRecv, select). Reading a typed array costs JS almost
//! nothing; returning a fresh [status, value] pair would cost an allocation per call.

use std::cell::Cell;

use napi::{JsTypedArray, Result};

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
            // SAFETY: registered by set_status_cell on this thread.
            unsafe { *p = s };
        }
    });
}
