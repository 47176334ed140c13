//! Where a goroutine comes from: what it runs (`Func`), where it was started (`Site`), and
//! `func_key`, the same function as a plain number a worker publishes while it runs it.
//!
//! These are the record's own data: spawn fills them in, dumps and profiles (`trace/`) read
//! them, and `trace` re-exports the types under their old paths (`trace::Frame`, ...). A
//! host function is interned once and never freed, so a key stays valid after its goroutine
//! is gone: the CPU profiler may read a key from a worker long after the record died.
//!
//! Rejected: a key that points at the record (the sampler would touch freed memory), and a
//! fresh allocation per spawn for host frames (Python spawns the same function many times).

use std::ffi::{c_char, CStr};
use std::sync::Arc;

/// One frame of a stack as profiles show it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame {
    /// Function name (a C symbol, a Python qualified name, a JS function name).
    pub function: Arc<str>,
    /// Source file, or "" when unknown.
    pub file: Arc<str>,
    /// Line, or 0 when unknown.
    pub line: u32,
}

impl Frame {
    /// A frame from its parts.
    pub fn new(function: &str, file: &str, line: u32) -> Frame {
        Frame {
            function: function.into(),
            file: file.into(),
            line,
        }
    }
}

/// What a goroutine runs, for dumps and profiles.
#[derive(Clone, Debug, Default)]
pub enum Func {
    /// Not known.
    #[default]
    Unknown,
    /// A C function: named at report time (dladdr, then the symbol tables).
    Addr(usize),
    /// A host-language function (Python qualified name, JS name) and where it is defined.
    Named(Frame),
}

/// Where a goroutine was started.
#[derive(Clone, Debug, Default)]
pub enum Site {
    /// Not known.
    #[default]
    Unknown,
    /// A Rust call site (`#[track_caller]`).
    Rust(&'static std::panic::Location<'static>),
    /// A C call site from the `goro_go` macros: `__FILE__` (a string literal, never freed)
    /// and `__LINE__`.
    C(*const c_char, u32),
    /// A host-language call site (Python, JS).
    Host(Arc<str>, u32),
}
// SAFETY: a C site's file is a string literal (the `goro_go` macros pass `__FILE__`):
// immutable and alive for the whole process, so any thread may read it.
unsafe impl Send for Site {}
// SAFETY: Site has no interior mutability, and its one pointer (a C site's file) is an
// immutable string literal that lives for the whole process.
unsafe impl Sync for Site {}

impl Site {
    /// (file, line), if known.
    pub fn file_line(&self) -> Option<(String, u32)> {
        match self {
            Site::Unknown => None,
            Site::Rust(l) => Some((l.file().to_string(), l.line())),
            Site::C(f, line) if !f.is_null() => {
                // SAFETY: a non-null C site file is a NUL-terminated `__FILE__` literal (see
                // the Send impl), alive for the whole process.
                let file = unsafe { CStr::from_ptr(*f) }.to_string_lossy().into_owned();
                Some((file, *line))
            }
            Site::C(..) => None,
            Site::Host(f, line) => Some((f.to_string(), *line)),
        }
    }
}

/// Host functions named so far, never freed: a goroutine's function as a plain number
/// (`func_key`) must stay valid after the goroutine is gone.
static INTERNED: parking_lot::Mutex<Option<std::collections::HashMap<Frame, &'static Frame>>> =
    parking_lot::Mutex::new(None);

/// A goroutine's function as a number that workers publish while it runs (for the CPU
/// profile): a C function's address shifted left, an interned host frame's address with the
/// low bit set, 2 for unknown. 0 means "no goroutine".
pub(crate) fn func_key(f: &Func) -> usize {
    match f {
        Func::Unknown => 2,
        Func::Addr(a) => a << 1,
        Func::Named(fr) => {
            let mut t = INTERNED.lock();
            let map = t.get_or_insert_with(Default::default);
            let p: &'static Frame = match map.get(fr) {
                Some(p) => p,
                None => {
                    let p: &'static Frame = Box::leak(Box::new(fr.clone()));
                    map.insert(fr.clone(), p);
                    p
                }
            };
            p as *const Frame as usize | 1
        }
    }
}

/// The function a `func_key` stands for (None for 0, "no goroutine").
pub(crate) fn func_of_key(k: usize) -> Option<Func> {
    match k {
        0 => None,
        2 => Some(Func::Unknown),
        // SAFETY: an odd key other than those above is an interned frame's address with the
        // low bit set (`func_key`), and interned frames are leaked and never freed.
        k if k & 1 == 1 => Some(Func::Named(unsafe { &*((k & !1) as *const Frame) }.clone())),
        k => Some(Func::Addr(k >> 1)),
    }
}
