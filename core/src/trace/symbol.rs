//! Names for code addresses: the symbol tables and debug info of the executable and its
//! libraries (through the backtrace crate), cached, since reports name the same few
//! addresses many times.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::{Frame, Func, RawFrame};

/// By (address, outermost): a code address and a function's own address name different
/// frames when something is inlined there.
static CACHE: Mutex<Option<HashMap<(usize, bool), Frame>>> = Mutex::new(None);

/// Names the code at `addr`, an address inside a function: the innermost inlined frame there.
pub fn resolve(addr: usize) -> Frame {
    resolve_as(addr, false)
}

/// Names the function that starts at `addr` (a goroutine's function): the outermost frame at
/// its first instruction, not a call inlined there (a C body that begins with an inlined
/// helper would otherwise be named for the helper).
pub fn resolve_function(addr: usize) -> Frame {
    // The resolver takes addresses as return addresses, looked up one byte back: give it one
    // inside the function.
    resolve_as(addr + 1, true)
}

fn resolve_as(addr: usize, outermost: bool) -> Frame {
    let key = (addr, outermost);
    if let Some(f) = CACHE.lock().get_or_insert_with(HashMap::new).get(&key) {
        return f.clone();
    }
    let mut found: Option<Frame> = None;
    backtrace::resolve(addr as *mut std::ffi::c_void, |sym| {
        if found.is_some() && !outermost {
            return; // the innermost inlined frame came first: keep it
        }
        let name = sym
            .name()
            .map(|n| format!("{n:#}"))
            .unwrap_or_else(|| format!("{addr:#x}"));
        let file = sym
            .filename()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        found = Some(Frame::new(&name, &file, sym.lineno().unwrap_or(0)));
    });
    let f = found.unwrap_or_else(|| Frame::new(&format!("{addr:#x}"), "", 0));
    CACHE
        .lock()
        .get_or_insert_with(HashMap::new)
        .insert(key, f.clone());
    f
}

/// The frame of a goroutine's function.
pub fn func_frame(f: &Func) -> Option<Frame> {
    match f {
        Func::Unknown => None,
        Func::Addr(a) => Some(resolve_function(*a)),
        Func::Named(fr) => Some(fr.clone()),
    }
}

/// Names a recorded stack (the resolver looks return addresses up one byte back, in their
/// call instruction) and cuts the
/// runtime's own frames: those above the user's code (the wait inside goro) and below it (the
/// worker and coroutine start), so a profile's innermost frame is the user's function.
pub fn resolve_stack(raw: &[RawFrame]) -> Vec<Frame> {
    let named: Vec<Frame> = raw
        .iter()
        .map(|r| match r {
            RawFrame::Addr(pc) => resolve(*pc),
            RawFrame::Named(f) => f.clone(),
        })
        .collect();
    // The user's frames are one run: from the first that is not goro's, up to the next
    // that is (the goroutine's entry, or the start of the thread).
    named
        .into_iter()
        .skip_while(|f| is_runtime(&f.function))
        .take_while(|f| !is_runtime(&f.function))
        .collect()
}

/// Frames of goro itself, of Rust's runtime and of the unwinder, by name.
pub fn is_runtime(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "goro_core::",
        "goro::",
        "goro_ffi::",
        "backtrace::",
        "std::",
        "core::",
        "alloc::",
        "corosensei::",
        "parking_lot",
        "<alloc::",
        "<core::",
        "<std::",
        "<goro_core::",
        "__libc_start",
    ];
    const EXACT: &[&str] = &["_start", "start_thread", "clone", "__clone", "__clone3"];
    PREFIXES.iter().any(|p| name.starts_with(p))
        || EXACT.contains(&name)
        || is_c_api(name)
        || name.starts_with("0x")
}

/// goro's exported C functions (`goro_chan_recv`, ...): runtime frames too.
fn is_c_api(name: &str) -> bool {
    name.starts_with("goro_") && !name.contains("::")
}
