//! Seeing inside, from Python: the core's dumps, pprof profiles, leak reports, debug endpoint
//! and counters (core/src/trace), plus what only this layer knows:
//! - which `goro.Chan` objects only blocked goroutines reach (reach.rs), handed to the core's
//!   leak analysis by leaks(), leak_report(), dump() and the goroutineleak profile, with the
//!   GIL held from the census to the verdict;
//! - what a goroutine runs (`func_of`: the callable's module-qualified name and where it is
//!   defined) and where `go()` was called (`caller_site`: the calling Python frame);
//! - the Python frames of code about to wait (`wait_frames`), handed to the core before a
//!   blocking call when, and only when, `block::wants_frames()` says something wants them
//!   (a block or mutex profile, or tracebacks): profiling off costs one relaxed load per wait
//!   that actually waits (rt.rs `blocking`, `WaitFrames`).
//!
//! Names are cached per code object (the cache keeps the code object alive so that its address
//! is not reused), lines per code object and instruction offset: a spawn pays one attribute
//! read and two lookups.

use goro_core::trace::{self, block, Frame, Func, Site};
use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use pyo3::{ffi, intern};

extern "C" {
    // In every CPython since 3.9 (stable ABI from 3.10/3.11 on); pyo3 declares them only for
    // newer limited APIs. Both return new references.
    fn PyFrame_GetCode(frame: *mut ffi::PyFrameObject) -> *mut ffi::PyObject;
    fn PyFrame_GetBack(frame: *mut ffi::PyFrameObject) -> *mut ffi::PyFrameObject;
}

/// Python frames kept per wait (innermost first), as the core keeps native ones.
const MAX_FRAMES: usize = 32;
/// Code objects named at most (then names are computed each time, uncached).
const MAX_CODES: usize = 8192;

/// A code object's name: its function ("module.qualname"), file and first line.
struct CodeName {
    _code: Py<PyAny>,
    frame: Frame,
    /// (instruction offset, line) seen so far: CPython finds a line by scanning the code's
    /// line table, which was most of naming a spawn site.
    lines: Vec<(i32, u32)>,
}

/// Line numbers remembered per code object.
const MAX_LINES: usize = 32;

type GetLasti = unsafe extern "C" fn(*mut ffi::PyFrameObject) -> std::ffi::c_int;
/// PyFrame_GetLasti (CPython 3.11+), looked up at run time (this is an abi3-py39 module).
static GET_LASTI: std::sync::OnceLock<Option<GetLasti>> = std::sync::OnceLock::new();

pub(crate) fn lasti(f: *mut ffi::PyFrameObject) -> Option<i32> {
    let get = GET_LASTI.get_or_init(|| {
        // SAFETY: dlsym on the global namespace with a NUL-terminated name.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"PyFrame_GetLasti".as_ptr()) };
        // SAFETY: the symbol, when present, has this signature (CPython 3.11+).
        (!p.is_null()).then(|| unsafe { std::mem::transmute::<*mut std::ffi::c_void, GetLasti>(p) })
    });
    // SAFETY: a live frame; the GIL is held.
    get.map(|g| unsafe { g(f) }).filter(|&i| i >= 0)
}

use crate::fasthash::AddrMap;

static CODES: Mutex<Option<AddrMap<CodeName>>> = Mutex::new(None);

fn cached(code: *mut ffi::PyObject) -> Option<Frame> {
    CODES
        .lock()
        .as_ref()
        .and_then(|m| m.get(&(code as usize)).map(|c| c.frame.clone()))
}

/// Names `code` (a code object), with `module` and `qualname` given by the caller on a miss.
fn code_frame(
    code: &Bound<'_, PyAny>,
    name: impl FnOnce() -> (Option<String>, Option<String>),
) -> Frame {
    if let Some(f) = cached(code.as_ptr()) {
        return f;
    }
    let (module, qualname) = name();
    let qualname = qualname
        .or_else(|| {
            code.getattr(intern!(code.py(), "co_qualname"))
                .ok()?
                .extract()
                .ok()
        })
        .or_else(|| {
            code.getattr(intern!(code.py(), "co_name"))
                .ok()?
                .extract()
                .ok()
        })
        .unwrap_or_else(|| "<unknown>".into());
    let function = match module {
        Some(m) if !m.is_empty() => format!("{m}.{qualname}"),
        _ => qualname,
    };
    let file: String = code
        .getattr(intern!(code.py(), "co_filename"))
        .and_then(|f| f.extract())
        .unwrap_or_default();
    let line: u32 = code
        .getattr(intern!(code.py(), "co_firstlineno"))
        .and_then(|f| f.extract())
        .unwrap_or(0);
    let frame = Frame::new(&function, &file, line);
    let mut m = CODES.lock();
    let m = m.get_or_insert_with(AddrMap::default);
    if m.len() < MAX_CODES {
        m.insert(
            code.as_ptr() as usize,
            CodeName {
                _code: code.clone().unbind(),
                frame: frame.clone(),
                lines: Vec::new(),
            },
        );
    }
    frame
}

fn str_attr(o: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> Option<String> {
    o.getattr(name).ok()?.extract().ok()
}

/// The code object of a Python frame (new reference).
fn frame_code<'py>(py: Python<'py>, f: *mut ffi::PyFrameObject) -> Option<Bound<'py, PyAny>> {
    // SAFETY: `f` is a live frame object we hold a reference to; a new reference or NULL.
    let c = unsafe { PyFrame_GetCode(f) };
    // SAFETY: an owned reference (or NULL).
    unsafe { Bound::from_owned_ptr_or_opt(py, c) }
}

/// The function of frame `f` as profiles show it, at its current line.
fn frame_of(py: Python<'_>, f: *mut ffi::PyFrameObject) -> Option<Frame> {
    let code = frame_code(py, f)?;
    let key = code.as_ptr() as usize;
    let at = lasti(f);
    if let Some(at) = at {
        if let Some(c) = CODES.lock().as_ref().and_then(|m| m.get(&key)) {
            if let Some(&(_, line)) = c.lines.iter().find(|l| l.0 == at) {
                let mut fr = c.frame.clone();
                fr.line = line;
                return Some(fr);
            }
        }
    }
    let mut fr = code_frame(&code, || {
        // SAFETY: a live frame object, borrowed for this call.
        let frame = unsafe { Bound::from_borrowed_ptr(py, f.cast()) };
        let module = frame
            .getattr(intern!(py, "f_globals"))
            .ok()
            .and_then(|g| g.get_item(intern!(py, "__name__")).ok())
            .and_then(|n| n.extract().ok());
        (module, None)
    });
    // SAFETY: a live frame; the GIL is held.
    fr.line = unsafe { ffi::PyFrame_GetLineNumber(f) }.max(0) as u32;
    if let Some(at) = at {
        // Only for cached code objects: they are kept alive, so the key stays theirs.
        if let Some(c) = CODES.lock().as_mut().and_then(|m| m.get_mut(&key)) {
            if c.lines.len() < MAX_LINES {
                c.lines.push((at, fr.line));
            }
        }
    }
    Some(fr)
}

/// The Python frames of the calling code, innermost first (at most MAX_FRAMES).
pub fn wait_frames(py: Python<'_>) -> Vec<Frame> {
    let mut out = Vec::new();
    // SAFETY: GIL held; a borrowed frame (or NULL): take a reference of our own.
    let mut f = unsafe { ffi::PyEval_GetFrame() };
    if f.is_null() {
        return out;
    }
    // SAFETY: a live object.
    unsafe { ffi::Py_IncRef(f.cast()) };
    while !f.is_null() && out.len() < MAX_FRAMES {
        if let Some(fr) = frame_of(py, f) {
            out.push(fr);
        }
        // SAFETY: we own a reference to `f`; GetBack returns a new one (or NULL).
        let back = unsafe { PyFrame_GetBack(f) };
        // SAFETY: drops our reference.
        unsafe { ffi::Py_DecRef(f.cast()) };
        f = back;
    }
    if !f.is_null() {
        // SAFETY: drops our reference.
        unsafe { ffi::Py_DecRef(f.cast()) };
    }
    out
}

/// Before a blocking call that must wait: hands the calling Python frames to the core when
/// anything wants them (one relaxed load when nothing does). Dropped after the wait: a
/// goroutine running again shows its function, not where it last waited.
pub struct WaitFrames(bool);

impl WaitFrames {
    #[inline]
    pub fn give(py: Python<'_>) -> WaitFrames {
        if !block::wants_frames() {
            return WaitFrames(false);
        }
        block::set_wait_frames(wait_frames(py));
        WaitFrames(true)
    }
}

impl Drop for WaitFrames {
    #[inline]
    fn drop(&mut self) {
        if self.0 {
            block::set_wait_frames(Vec::new());
        }
    }
}

/// Where the calling Python code is (the caller of a builtin such as `goro.go`).
pub fn caller_site(py: Python<'_>) -> Site {
    // SAFETY: GIL held; a borrowed frame (or NULL), used before any Python code runs.
    let f = unsafe { ffi::PyEval_GetFrame() };
    if f.is_null() {
        return Site::Unknown;
    }
    match frame_of(py, f) {
        Some(fr) => Site::Host(fr.file, fr.line),
        None => Site::Unknown,
    }
}

/// What `go(fn)` runs, for dumps and profiles: a function's module-qualified name and where it
/// is defined; bound methods by their function, functools.partial by the function it wraps,
/// callable objects by their `__call__`, builtins by their qualified name.
pub fn func_of(f: &Bound<'_, PyAny>) -> Func {
    Func::Named(name_callable(f, 0))
}

/// How callables of one type are named, learnt from the first one seen (so that naming never
/// raises and clears an AttributeError per spawn).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Has `__code__`: functions, lambdas, bound methods.
    Code,
    /// functools.partial and look-alikes (`func` and `args`).
    Partial,
    /// Has `__qualname__`: builtin functions and methods, classes.
    Qualified,
    /// An object whose class defines `__call__`.
    Object,
}

/// Callable kinds by address, each with the callable itself (kept alive so that its address
/// is not reused).
type KindCache = AddrMap<(Py<PyAny>, Kind)>;
static KINDS: Mutex<Option<KindCache>> = Mutex::new(None);

fn name_callable(f: &Bound<'_, PyAny>, depth: u32) -> Frame {
    let ty = f.get_type();
    let known = KINDS
        .lock()
        .as_ref()
        .and_then(|m| m.get(&(ty.as_ptr() as usize)).map(|e| e.1));
    if let Some(kind) = known {
        if let Some(fr) = name_as(f, kind, depth) {
            return fr;
        }
    }
    for kind in [Kind::Code, Kind::Partial, Kind::Qualified, Kind::Object] {
        if let Some(fr) = name_as(f, kind, depth) {
            if known.is_none() {
                let mut m = KINDS.lock();
                let m = m.get_or_insert_with(AddrMap::default);
                if m.len() < MAX_CODES {
                    m.insert(ty.as_ptr() as usize, (ty.clone().into_any().unbind(), kind));
                }
            }
            return fr;
        }
    }
    let module = str_attr(ty.as_any(), intern!(f.py(), "__module__")).unwrap_or_default();
    let q = str_attr(ty.as_any(), intern!(f.py(), "__qualname__"))
        .unwrap_or_else(|| "<callable>".into());
    Frame::new(&format!("{module}.{q}"), "", 0)
}

fn name_as(f: &Bound<'_, PyAny>, kind: Kind, depth: u32) -> Option<Frame> {
    let py = f.py();
    match kind {
        // Python functions, lambdas and bound methods (which forward attribute reads).
        Kind::Code => {
            let code = f.getattr(intern!(py, "__code__")).ok()?;
            Some(code_frame(&code, || {
                (
                    str_attr(f, intern!(py, "__module__")),
                    str_attr(f, intern!(py, "__qualname__")),
                )
            }))
        }
        // functools.partial: the function it wraps.
        Kind::Partial if depth < 4 => {
            let inner = f.getattr(intern!(py, "func")).ok()?;
            (inner.is_callable() && f.hasattr(intern!(py, "args")).unwrap_or(false))
                .then(|| name_callable(&inner, depth + 1))
        }
        // Builtin functions and methods (`ch.recv` is "goro.Chan.recv"), classes.
        Kind::Qualified => {
            let q = str_attr(f, intern!(py, "__qualname__"))?;
            let module = str_attr(f, intern!(py, "__module__")).or_else(|| {
                let s = f.getattr(intern!(py, "__self__")).ok()?;
                str_attr(s.get_type().as_any(), intern!(py, "__module__"))
            });
            Some(Frame::new(
                &match module {
                    Some(m) => format!("{m}.{q}"),
                    None => q,
                },
                "",
                0,
            ))
        }
        // A callable object: its class's __call__.
        Kind::Object if depth < 4 => {
            let call = f.get_type().getattr(intern!(py, "__call__")).ok()?;
            call.hasattr(intern!(py, "__code__"))
                .unwrap_or(false)
                .then(|| name_callable(&call, depth + 1))
        }
        _ => None,
    }
}

// ---- the Python API -------------------------------------------------------------------------

// Reports run with the GIL released (rt::detached: in a goroutine, the shutdown gate and the
// GIL-state key follow the detach, as for any wait).

/// dump() -> str: every goroutine as Go prints them on SIGQUIT.
#[pyfunction]
pub fn dump() -> String {
    // Attached: the leaked marks count Python's references (`host_view`), with the GIL held
    // from the census to the verdict.
    trace::dump::dump_text()
}

/// profile(kind) -> bytes: "goroutine", "goroutineleak", "block", "mutex" or "cpu", gzipped
/// pprof.
#[pyfunction]
pub fn profile<'py>(py: Python<'py>, kind: &str) -> PyResult<Bound<'py, PyBytes>> {
    let k = kind.to_string();
    let got = if kind == "goroutineleak" {
        // With the GIL held from the census to the verdict (`host_view`).
        Ok(trace::goroutineleak_profile(&[]))
    } else {
        crate::rt::detached(py, move || trace::profile(&k))
    };
    match got {
        Ok(b) => Ok(PyBytes::new(py, &b)),
        Err(goro_core::Error::WouldBlock) => Err(PyRuntimeError::new_err(
            "goro.profile('cpu'): no CPU profile yet (start_cpu_profile, then stop_cpu_profile)",
        )),
        Err(_) => Err(PyValueError::new_err(format!(
            "goro.profile: unknown kind {kind:?} (goroutine, goroutineleak, block, mutex, cpu)"
        ))),
    }
}

/// set_block_profile_rate(ns): as Go's runtime.SetBlockProfileRate.
#[pyfunction]
pub fn set_block_profile_rate(ns: i64) {
    block::set_block_profile_rate(ns);
}

/// set_mutex_profile_fraction(n) -> int: as Go's runtime.SetMutexProfileFraction.
#[pyfunction]
pub fn set_mutex_profile_fraction(n: i64) -> i64 {
    block::set_mutex_profile_fraction(n)
}

/// set_traceback(on): record the Python frames where each goroutine waits, for dumps.
#[pyfunction]
pub fn set_traceback(on: bool) {
    block::set_traceback(on);
}

/// start_cpu_profile(hz=100)
#[pyfunction]
#[pyo3(signature = (hz=100))]
pub fn start_cpu_profile(hz: i32) -> PyResult<()> {
    trace::cpu::start(hz).map_err(|e| match e {
        goro_core::Error::WouldBlock => PyRuntimeError::new_err("a CPU profile is already running"),
        goro_core::Error::Invalid => {
            PyValueError::new_err(format!("start_cpu_profile: hz must be 1..1000, got {hz}"))
        }
        e => crate::err(e),
    })
}

/// stop_cpu_profile() -> bytes
#[pyfunction]
pub fn stop_cpu_profile(py: Python<'_>) -> PyResult<Bound<'_, PyBytes>> {
    crate::rt::detached(py, trace::cpu::stop)
        .map_err(|_| PyRuntimeError::new_err("stop_cpu_profile: no CPU profile is running"))?;
    let b = trace::cpu::last_profile()
        .ok_or_else(|| PyRuntimeError::new_err("stop_cpu_profile: no CPU profile"))?;
    Ok(PyBytes::new(py, &b))
}

/// debug_serve(addr="127.0.0.1:0") -> int (the port)
#[pyfunction]
#[pyo3(signature = (addr="127.0.0.1:0"))]
pub fn debug_serve(py: Python<'_>, addr: &str) -> PyResult<u16> {
    let a = addr.to_string();
    let bound = crate::rt::detached(py, move || trace::http::serve(&a))
        .map_err(|_| PyOSError::new_err(format!("debug_serve: cannot listen on {addr:?}")))?;
    bound
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| PyOSError::new_err(format!("debug_serve: bound {bound:?}")))
}

/// One goroutine as a tuple for goro._trace.Goroutine: (id, name, state, waiting_for,
/// waited_seconds, func, func_file, func_line, started_file, started_line, stack,
/// unreachable), from core's row (trace/row.rs).
type Row = (
    u64,
    Option<String>,
    &'static str,
    Option<&'static str>,
    Option<f64>,
    String,
    String,
    u32,
    Option<String>,
    Option<u32>,
    Vec<(String, String, u32)>,
    bool,
);

fn tuple(r: trace::row::Row) -> Row {
    let frame = |f: &Frame| (f.function.to_string(), f.file.to_string(), f.line);
    let (func, func_file, func_line) = frame(&r.func);
    let (started_file, started_line) = r
        .started_at
        .map_or((None, None), |(f, l)| (Some(f), Some(l)));
    (
        r.id,
        r.name,
        r.state,
        r.waiting_for,
        r.waiting_for.map(|_| r.waited_ns as f64 / 1e9),
        func,
        func_file,
        func_line,
        started_file,
        started_line,
        r.stack.iter().map(frame).collect(),
        r.unreachable,
    )
}

/// _goroutines() -> [row]: every goroutine now.
#[pyfunction]
pub fn _goroutines(py: Python<'_>) -> Vec<Row> {
    crate::rt::detached(py, || {
        trace::row::rows(true).into_iter().map(tuple).collect()
    })
}

fn threshold_ns(seconds: Option<f64>) -> PyResult<i64> {
    match seconds {
        None => Ok(0),
        Some(s) if s.is_nan() || s < 0.0 => Err(PyValueError::new_err(
            "blocked_longer_than must be None or seconds >= 0",
        )),
        Some(s) => Ok(((s * 1e9) as i64).max(1)),
    }
}

/// _leaks(blocked_longer_than=None) -> [row]
#[pyfunction]
#[pyo3(signature = (blocked_longer_than=None))]
pub fn _leaks(blocked_longer_than: Option<f64>) -> PyResult<Vec<Row>> {
    let t = threshold_ns(blocked_longer_than)?;
    Ok(trace::row::leak_rows(t, true)
        .into_iter()
        .map(tuple)
        .collect())
}

/// What the interpreter knows of its channels (reach.rs), for every leak analysis the core
/// runs (core trace/leak.rs `HostView`): from Python's own calls, and from C's goro_leaks, the
/// debug endpoint and signal dumps too, which attach to the interpreter for it. The GIL is
/// held from the census to the verdict, so no Python code changes the references in between
/// (holding it while the core takes its locks is safe: rt.rs module doc). Once the interpreter
/// is shutting down (or before it is up), nothing is known: no host references.
pub fn host_view(verdict: &mut dyn FnMut(&[trace::leak::HostRef])) {
    // SAFETY: Py_IsInitialized may be called at any time.
    if crate::rt::is_shutdown() || unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
        return verdict(&[]);
    }
    Python::attach(|py| {
        let host = crate::reach::host_refs(py);
        verdict(&host)
    })
}

/// leak_report(blocked_longer_than=None) -> str
#[pyfunction]
#[pyo3(signature = (blocked_longer_than=None))]
pub fn leak_report(blocked_longer_than: Option<f64>) -> PyResult<String> {
    let t = threshold_ns(blocked_longer_than)?;
    Ok(trace::dump::leaks_text(&trace::leak::find(t)))
}

/// counters() -> dict
#[pyfunction]
pub fn counters(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let c = trace::counters();
    let d = PyDict::new(py);
    d.set_item("goroutines", c.goroutines)?;
    d.set_item("workers", c.workers)?;
    d.set_item("active_workers", c.active_workers)?;
    d.set_item("handoffs", c.handoffs)?;
    d.set_item("switches", c.switches)?;
    d.set_item("parks", c.parks)?;
    d.set_item("steals", c.steals)?;
    d.set_item("stack_reserved_bytes", c.stack_reserved_bytes)?;
    d.set_item("timers", c.timers)?;
    Ok(d)
}
