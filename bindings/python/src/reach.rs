//! Which `goro.Chan` objects only goroutines can reach, from the interpreter's own view, for
//! the leak report (core trace/leak.rs `HostRef`).
//!
//! The everyday leak: `ch = goro.Chan(); goro.go(worker, ch)` and the starter forgets `ch`;
//! the worker blocks in `ch.recv()` for good. The core sees a channel whose Python object
//! holds a reference: "nobody in particular", reachable. This file finds the Chan objects
//! that are reachable only from what blocked goroutines themselves hold, and says so; the
//! core's fixed point then decides (an owner that is running, or waits on anything else,
//! keeps the channel reachable).
//!
//! The mechanism, with the GIL held and, from step 1b to the core's verdict, no Python code
//! run (trace.rs holds the GIL throughout; the eval loop only hands it over between
//! bytecodes, and the collector is off), so that no reference count or frame moves:
//! 1. Each Python goroutine registered its thread state and the references its own call holds
//!    (`Held`: the callable, the argument tuple and dict that goroutine.rs `call_body` keeps;
//!    while select waits, its case tuple, and the typed Select's clone of each case's channel,
//!    which become `HostRef`s owned by that goroutine alone). Only goroutines parked on a
//!    channel are looked at (the others' references simply stay external). Their *private*
//!    references are those, plus what their frames hold: for each frame of the thread state,
//!    its function (f_funcobj), its locals dict if any, and the `localsplus` slots (fast
//!    locals, cells, free variables, and the value stack: `ch` as the `self` of `ch.recv()`
//!    sits there while the call runs; PyO3's `&self` takes no reference of its own). CPython
//!    3.11+ does not traverse a thread-owned frame, so to its gc these look external. The
//!    slots are read from `_PyInterpreterFrame` at offsets fixed per minor version (checked
//!    against the frame object on every frame: `frame_obj` must point back to it and the code
//!    must match); the stack depth of a frame that is in a C call is not stored anywhere and
//!    comes from the bytecode (goro/_reach.py); a frame in an inlined Python call has it saved.
//!    That arithmetic is Python (step 1a: by code object and offset, from a first walk of the
//!    frames); then the goroutines parked on channels are taken again and their frames walked
//!    again with it (1b): a goroutine that ran meanwhile may have left its wait and stopped
//!    at the eval loop's check after a CALL, its arguments freed but its offset unchanged.
//! 2. CPython's own trick (gc's `subtract_refs`): over every object gc tracks (gc.get_objects),
//!    and every object they or the private references lead to, count the references each gets
//!    from the others (tp_traverse; a RecvCase or SendCase by its fields). An object whose
//!    reference count exceeds those plus the private ones is held from outside: a C static,
//!    a Rust holder (a Pool job, a timer, a value inside a channel), another thread's frames,
//!    the main thread, a running goroutine... It is a root; so is one whose count falls short
//!    (it does not add up), one a weak reference points at (whoever holds the weakref may
//!    take it back), and one that nothing reaches (garbage: a finalizer may yet use it).
//! 3. Everything reachable from a root is reachable. Every Chan object that is not is reached
//!    only from private references: its channel reference belongs to the goroutines whose
//!    private references lead to it (a `HostRef` with those owners).
//!
//! No false positives: whatever is not understood makes nothing private. A goroutine with a
//! generator frame, a frame object someone else holds, a frame whose layout does not check out, an instruction other than a call
//! or a `for` step, or a Python other than 3.11-3.13 on a 64-bit build contributes no private
//! references, so what it holds stays reachable. References held in C locals (a blocking
//! call made through functools.partial, map or list(), keyword arguments that PyObject_Call
//! unpacks into an array of its own) are not seen, so they count as external: the objects
//! stay reachable (a missed leak, never a false one).
//!
//! Rejected: gc.get_referrers per channel (it misses the frames' references, which are
//! exactly the ones that matter, and is quadratic); asking gc.collect (it cannot see a
//! thread-owned frame's slots either, and it frees what it finds instead of naming it);
//! reading value-stack slots up to co_stacksize (stale pointers above the top: a count that
//! could make a live goroutine look leaked); frame.f_locals (3.11/3.12 copy the locals into a
//! dict the frame keeps, which itself changes the counts, and it shows no stack).

use std::collections::HashMap;
use std::ffi::{c_int, c_void};

use goro_core::reason::WaitReason;
use goro_core::trace::leak::HostRef;
use goro_core::trace::registry::State;
use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::chan::Chan;
use crate::fasthash::AddrMap;
use crate::select::{RecvCase, SendCase};

extern "C" {
    // In every CPython since 3.9 (not all in pyo3's abi3 declarations), but the two GC
    // switches. GetFrame and GetBack return new references; IS_GC is a plain function.
    fn PyThreadState_GetFrame(ts: *mut ffi::PyThreadState) -> *mut ffi::PyFrameObject;
    fn PyFrame_GetBack(frame: *mut ffi::PyFrameObject) -> *mut ffi::PyFrameObject;
    fn PyFrame_GetCode(frame: *mut ffi::PyFrameObject) -> *mut ffi::PyObject;
    fn PyObject_IS_GC(o: *mut ffi::PyObject) -> c_int;
}

type GcSwitch = unsafe extern "C" fn() -> c_int;
/// PyGC_Disable and PyGC_Enable (CPython 3.10+: looked up at run time, as this abi3 module
/// also loads on 3.9). Each returns the previous state.
static GC_SWITCH: std::sync::OnceLock<Option<(GcSwitch, GcSwitch)>> = std::sync::OnceLock::new();

fn gc_switch() -> Option<(GcSwitch, GcSwitch)> {
    *GC_SWITCH.get_or_init(|| {
        let find = |name: &std::ffi::CStr| {
            // SAFETY: dlsym on the global namespace with a NUL-terminated name.
            let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            // SAFETY: the symbol, when present, has this signature (CPython 3.10+).
            (!p.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, GcSwitch>(p) })
        };
        Some((find(c"PyGC_Disable")?, find(c"PyGC_Enable")?))
    })
}

/// What one Python goroutine's own call holds (step 1 of the module doc).
#[derive(Clone)]
struct Held {
    /// Its thread state (valid while registered: goroutine.rs unregisters before the body
    /// clears it).
    ts: usize,
    /// The callable, argument tuple and keyword dict call_body holds, one reference each (0:
    /// none).
    call: [usize; 3],
    /// References held while a wait lasts (`TempGuard`), one per entry.
    temps: Vec<usize>,
    /// Channel references (RawChan addresses) the call holds in Rust, one per entry: the
    /// core's typed Select keeps a clone of each case's channel while it waits.
    chans: Vec<usize>,
    /// Set while a temporary is held (`TempGuard`): the builtin whose call made it, which the
    /// innermost frame must be calling straight from its bytecode (else nothing of this
    /// goroutine is trusted).
    callee: Option<usize>,
}

type HeldMap = crate::fasthash::FastMap<u64, Held>;

/// Python goroutines by id. Changed and read with the GIL held only.
static HELD: Mutex<Option<HeldMap>> = Mutex::new(None);

/// While alive: the calling goroutine's call holds one reference to `f`, `args` and `kwargs`
/// (call_body).
pub struct CallGuard(u64);

impl CallGuard {
    /// Registers the calling goroutine's call. GIL held (the `py` token), in the goroutine.
    pub fn enter(
        _py: Python<'_>,
        f: *mut ffi::PyObject,
        args: *mut ffi::PyObject,
        kwargs: *mut ffi::PyObject,
    ) -> CallGuard {
        let gid = goro_core::current_id();
        // SAFETY: attached (the token), so there is a current thread state: this goroutine's.
        let ts = unsafe { ffi::PyThreadState_Get() } as usize;
        HELD.lock().get_or_insert_with(HeldMap::default).insert(
            gid,
            Held {
                ts,
                call: [f as usize, args as usize, kwargs as usize],
                temps: Vec::new(),
                chans: Vec::new(),
                callee: None,
            },
        );
        CallGuard(gid)
    }
}

impl Drop for CallGuard {
    /// GIL held: call_body drops it attached, before it drops the references.
    fn drop(&mut self) {
        if let Some(m) = HELD.lock().as_mut() {
            m.remove(&self.0);
        }
    }
}

/// While alive: the calling goroutine's call of builtin `callee` holds every reference of
/// `args`, its argument tuple (select's cases), and, with `clones`, one to each of their
/// channels (the typed Select's clones). Taken and dropped attached, in the goroutine (a
/// goroutine outside `call_body` registers nothing).
///
/// Why every reference: this module is abi3, so PyO3 makes its builtins METH_VARARGS, and
/// a CALL from bytecode reaches them through _PyObject_MakeTpCall, which builds a fresh tuple
/// from the stack; PyO3 adds its own references to it; nothing else has seen it. That holds
/// only for that path, so the analysis checks it: the innermost frame must be at a CALL whose
/// callable is `callee` (a `select(*t)`, a call from C code, passes a tuple others may hold).
pub struct TempGuard(u64, usize, usize, Vec<usize>);

impl TempGuard {
    pub fn hold(
        callee: *mut ffi::PyObject,
        args: &Bound<'_, PyAny>,
        clones: bool,
    ) -> Option<TempGuard> {
        let chans: Vec<usize> = if clones {
            args.try_iter()
                .ok()?
                .filter_map(|c| crate::select::case_chan(&c.ok()?))
                .collect()
        } else {
            Vec::new()
        };
        let args = args.as_ptr();
        let gid = goro_core::current_id();
        let mut m = HELD.lock();
        let h = m.as_mut()?.get_mut(&gid)?;
        if h.callee.is_some() {
            return None; // one at a time (a wait inside a wait cannot happen)
        }
        // SAFETY: a live object (the caller holds it); attached.
        let n = unsafe { ffi::Py_REFCNT(args) }.max(0) as usize;
        h.temps.extend(std::iter::repeat_n(args as usize, n));
        h.chans.extend(chans.iter().copied());
        h.callee = Some(callee as usize);
        Some(TempGuard(gid, args as usize, n, chans))
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(h) = HELD.lock().as_mut().and_then(|m| m.get_mut(&self.0)) {
            for _ in 0..self.2 {
                if let Some(i) = h.temps.iter().rposition(|&p| p == self.1) {
                    h.temps.swap_remove(i);
                }
            }
            for c in &self.3 {
                if let Some(i) = h.chans.iter().rposition(|p| p == c) {
                    h.chans.swap_remove(i);
                }
            }
            h.callee = None;
        }
    }
}

/// `_PyInterpreterFrame` and `PyFrameObject` offsets of one CPython minor version (64-bit;
/// Include/internal/pycore_frame.h of 3.11, 3.12, 3.13).
struct Layout {
    func: usize,
    locals: usize,
    code: usize,
    frame_obj: usize,
    previous: usize,
    stacktop: usize,
    owner: usize,
    /// 3.11: `is_entry` (this frame was entered from C: its caller is in a C call).
    is_entry: Option<usize>,
    localsplus: usize,
    /// 3.12+: FRAME_OWNED_BY_CSTACK, the shim between a C caller and the frames it runs.
    cstack: Option<u8>,
}

/// PyFrameObject.f_frame: after PyObject_HEAD and f_back, in 3.11-3.13.
const F_FRAME: usize = 24;
/// FRAME_OWNED_BY_THREAD, in 3.11-3.13.
const OWNED_BY_THREAD: u8 = 0;

fn layout(py: Python<'_>) -> Option<Layout> {
    if cfg!(not(target_pointer_width = "64")) {
        return None;
    }
    let v = py.version_info();
    match (v.major, v.minor) {
        (3, 11) => Some(Layout {
            func: 0,
            locals: 24,
            code: 32,
            frame_obj: 40,
            previous: 48,
            stacktop: 64,
            owner: 69,
            is_entry: Some(68),
            localsplus: 72,
            cstack: None,
        }),
        (3, 12) | (3, 13) => Some(Layout {
            code: 0,
            previous: 8,
            func: 16,
            locals: 40,
            frame_obj: 48,
            stacktop: 64,
            owner: 70,
            is_entry: None,
            localsplus: 72,
            cstack: Some(3),
        }),
        _ => None,
    }
}

/// Reads a `T` at `base + off`.
///
/// # Safety
/// `base + off` must be inside a live, readable object.
unsafe fn at<T: Copy>(base: usize, off: usize) -> T {
    // SAFETY: the caller's contract.
    unsafe { std::ptr::read_unaligned((base + off) as *const T) }
}

/// One frame of a goroutine, as `frames` found it.
struct FrameAt {
    /// Its `_PyInterpreterFrame`: valid only until Python code runs again.
    raw: usize,
    code: Py<PyAny>,
    lasti: i32,
    /// Its stack depth is saved (`stacktop`, localsplus slots included): an inlined call.
    saved: Option<i32>,
    innermost: bool,
}

/// The frames of goroutine `held`, innermost first, or None when any is not understood. No
/// Python code runs here; what it returns about memory (`raw`) holds until some does.
fn frames(py: Python<'_>, lay: &Layout, held: &Held) -> Option<Vec<FrameAt>> {
    let mut out = Vec::new();
    // SAFETY: a registered thread state is alive (see Held::ts); the GIL is held, as
    // sys._current_frames needs for other threads' states. A new reference or NULL.
    let top = unsafe { PyThreadState_GetFrame(held.ts as *mut ffi::PyThreadState) };
    if top.is_null() {
        return Some(out); // no Python frame: only what its call holds
    }
    // SAFETY: an owned reference.
    let mut fo = unsafe { Bound::from_owned_ptr(py, top.cast::<ffi::PyObject>()) };
    // SAFETY: a frame object: f_frame is at F_FRAME (checked below through frame_obj).
    let mut raw: usize = unsafe { at(fo.as_ptr() as usize, F_FRAME) };
    let mut innermost = true;
    let mut in_c = false;
    loop {
        // SAFETY: `raw` is the frame object's f_frame, a live interpreter frame; the reads
        // are within its fixed part, and each is checked before the next one is trusted.
        unsafe {
            if raw == 0 || at::<usize>(raw, lay.frame_obj) != fo.as_ptr() as usize {
                return None;
            }
            // The frame object: the interpreter frame's reference and ours. Anyone else (a
            // traceback, a stored sys._getframe(), a debugger) can read its locals, which
            // its traversal does not show: then nothing of this goroutine is trusted.
            if ffi::Py_REFCNT(fo.as_ptr()) != 2 {
                return None;
            }
            let code = Bound::from_owned_ptr_or_opt(py, PyFrame_GetCode(fo.as_ptr().cast()))?;
            if at::<usize>(raw, lay.code) != code.as_ptr() as usize {
                return None;
            }
            if at::<u8>(raw, lay.owner) != OWNED_BY_THREAD {
                return None; // a generator's frame or a frame object's: not traversed alike
            }
            let stacktop: i32 = at(raw, lay.stacktop);
            // 3.11 keeps a stale stacktop while a frame runs: only trust it when its callee
            // was entered inline (not is_entry). 3.12+ sets -1 while a frame runs.
            let saved = (!innermost && !in_c && stacktop >= 0).then_some(stacktop);
            out.push(FrameAt {
                raw,
                code: code.unbind(),
                lasti: crate::trace::lasti(fo.as_ptr().cast())?,
                saved,
                innermost,
            });
            in_c = match lay.is_entry {
                Some(off) => at::<u8>(raw, off) != 0,
                None => false,
            };
            let mut prev: usize = at(raw, lay.previous);
            while prev != 0 && Some(at::<u8>(prev, lay.owner)) == lay.cstack {
                in_c = true;
                prev = at(prev, lay.previous);
            }
            if prev == 0 {
                return Some(out);
            }
            let back = Bound::from_owned_ptr_or_opt(
                py,
                PyFrame_GetBack(fo.as_ptr().cast()).cast::<ffi::PyObject>(),
            )?;
            fo = back;
            raw = at(fo.as_ptr() as usize, F_FRAME);
            if raw != prev {
                return None; // a frame the frame objects skip: not understood
            }
        }
        innermost = false;
    }
}

/// The key of a frame's shape: its code object, offset, whether its depth must be worked out.
fn shape_key(f: &FrameAt) -> (usize, i32, bool) {
    (f.code.as_ptr() as usize, f.lasti, f.saved.is_none())
}

/// The private references of goroutine `held` (the module doc, step 1) from its `frames`
/// with their shapes, or None when any is not understood. Only while no Python code has run
/// since `frames`.
fn private_refs(
    lay: &Layout,
    held: &Held,
    frames: &[FrameAt],
    shapes: &HashMap<(usize, i32, bool), Option<Shape>>,
) -> Option<Vec<usize>> {
    let mut out: Vec<usize> = held.call.iter().copied().filter(|&p| p != 0).collect();
    out.extend(held.temps.iter().copied());
    for f in frames {
        let (n, depth, stacksize, pair) = shapes.get(&shape_key(f)).copied().flatten()?;
        let depth = match f.saved {
            Some(top) => top as i64 - n,
            None => depth,
        };
        if n < 0 || depth < 0 || depth > stacksize {
            return None;
        }
        let raw = f.raw;
        // SAFETY: `raw` is a live interpreter frame (no Python code ran since `frames`), its
        // localsplus has n + depth live slots (the shape), and the fixed part the layout.
        unsafe {
            if let (true, Some(callee)) = (f.innermost, held.callee) {
                // The two slots below the arguments: the callable and NULL (either order,
                // by version; _reach.py says where they are).
                if pair < 0 || pair + 1 >= depth {
                    return None;
                }
                let slot = |i: i64| at::<usize>(raw, lay.localsplus + 8 * (n + i) as usize);
                let (a, b) = (slot(pair), slot(pair + 1));
                if !((a == callee && b == 0) || (a == 0 && b == callee)) {
                    return None;
                }
            }
            for off in [lay.func, lay.locals] {
                let p: usize = at(raw, off);
                if p != 0 {
                    out.push(p);
                }
            }
            for i in 0..(n + depth) as usize {
                let p: usize = at(raw, lay.localsplus + 8 * i);
                if p != 0 {
                    out.push(p);
                }
            }
        }
    }
    Some(out)
}

/// What goro/_reach.py's frame_shape says of a frame: (localsplus slots, stack depth or -1,
/// co_stacksize, the callable's slot or -1).
type Shape = (i64, i64, i64, i64);

/// One object the count sees (step 2).
struct Node {
    p: usize,
    /// References from gc.get_objects' list (1 for a tracked object).
    listed: i64,
    /// A weak reference points at it: whoever holds that may take it back (a root).
    weak: bool,
    /// References from the other nodes, as their traversal shows them.
    internal: i64,
    /// References from goroutines' private state.
    private: i64,
}

/// The census: nodes, and each node's edges as one slice of `edges` (`start[i]..start[i+1]`:
/// nodes are traversed in index order, so each one's edges are contiguous).
struct Graph {
    nodes: Vec<Node>,
    index: AddrMap<u32>,
    edges: Vec<u32>,
    start: Vec<u32>,
}

impl Graph {
    fn out(&self, k: usize) -> &[u32] {
        &self.edges[self.start[k] as usize..self.start[k + 1] as usize]
    }
}

impl Graph {
    fn node(&mut self, p: usize) -> u32 {
        if let Some(&i) = self.index.get(&p) {
            return i;
        }
        let i = self.nodes.len() as u32;
        self.nodes.push(Node {
            p,
            listed: 0,
            weak: false,
            internal: 0,
            private: 0,
        });
        self.index.insert(p, i);
        i
    }
}

unsafe extern "C" fn visit(o: *mut ffi::PyObject, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Vec `referents` passes, alive for the traversal.
    let v = unsafe { &mut *arg.cast::<Vec<usize>>() };
    if !o.is_null() {
        v.push(o as usize);
    }
    0
}

/// tp_traverse by type (the census meets a few hundred types, a million times).
type TraverseCache = AddrMap<Option<ffi::traverseproc>>;

/// The objects `p` holds references to, as its type's traversal (or our own classes'
/// fields) shows them.
fn referents(
    py: Python<'_>,
    p: usize,
    types: &[usize; 3],
    slots: &mut TraverseCache,
    out: &mut Vec<usize>,
) {
    let o = p as *mut ffi::PyObject;
    // SAFETY: a live object (held by the list, a node or a private reference).
    let ty = unsafe { ffi::Py_TYPE(o) } as usize;
    if ty == types[1] || ty == types[2] {
        // SAFETY: exactly our class (not subclassable), borrowed for this call.
        let b = unsafe { Bound::from_borrowed_ptr(py, o) };
        if let Ok(r) = b.cast::<RecvCase>() {
            out.extend(r.get().chan.as_ref().map(|c| c.as_ptr() as usize));
        } else if let Ok(s) = b.cast::<SendCase>() {
            let s = s.get();
            out.extend(s.chan.as_ref().map(|c| c.as_ptr() as usize));
            out.push(s.value.as_ptr() as usize);
        }
        return;
    }
    // SAFETY: as above; IS_GC reads the type's flags (and tp_is_gc).
    if unsafe { PyObject_IS_GC(o) } == 0 {
        return;
    }
    let t = *slots.entry(ty).or_insert_with(|| {
        // SAFETY: any type's slot can be read on 3.10+ (we run on 3.11+).
        let t = unsafe { ffi::PyType_GetSlot(ty as *mut ffi::PyTypeObject, ffi::Py_tp_traverse) };
        // SAFETY: the tp_traverse slot has this signature; traversal runs no Python code.
        (!t.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, ffi::traverseproc>(t) })
    });
    let Some(t) = t else {
        return;
    };
    // SAFETY: a live object and a visit function that only records.
    unsafe { t(o, visit, (out as *mut Vec<usize>).cast()) };
}

/// The goroutines parked on channel waits now (registry states).
fn parked_on_channels() -> std::collections::HashSet<u64> {
    goro_core::trace::registry::snapshot()
        .into_iter()
        .filter(|g| {
            matches!(
                g.state,
                State::Waiting(
                    WaitReason::ChanRecv | WaitReason::ChanSend | WaitReason::Select,
                    _
                )
            )
        })
        .map(|g| g.id)
        .collect()
}

/// The references of `goro.Chan` objects that only goroutines reach (the module doc), for
/// `trace::leak::find_with`. Empty when not supported here or when anything fails. Call with
/// the GIL held, and keep holding it until the core analysis is done.
pub fn host_refs(py: Python<'_>) -> Vec<HostRef> {
    analyse(py).unwrap_or_default()
}

/// The channel (RawChan address) under a `goro.Chan`, for `TempGuard::hold`.
pub fn chan_addr(c: &Chan) -> usize {
    std::sync::Arc::as_ptr(c.ch.raw()) as usize
}

fn analyse(py: Python<'_>) -> PyResult<Vec<HostRef>> {
    let Some(lay) = layout(py) else {
        return Ok(Vec::new());
    };
    let me = goro_core::current_id();
    // Only goroutines parked on channels can be leaked; leaving the others out only leaves
    // their references external (roots), and spares the census when none is parked.
    let parked = parked_on_channels();
    let snapshot = |parked: &std::collections::HashSet<u64>| -> Vec<(u64, Held)> {
        match HELD.lock().as_ref() {
            Some(m) => m
                .iter()
                .filter(|(&g, _)| g != me && parked.contains(&g))
                .map(|(&g, h)| (g, h.clone()))
                .collect(),
            None => Vec::new(),
        }
    };
    // Step 1a, the bytecode arithmetic (goro/_reach.py), for every frame: it runs Python, so
    // the eval loop may hand the GIL to someone else meanwhile, and nothing it sees is kept
    // but the shapes, by code object (kept alive: an address is not reused) and offset.
    let frame_shape = py.import("goro._reach")?.getattr("frame_shape")?;
    let get_objects = py.import("gc")?.getattr("get_objects")?;
    let mut shapes: HashMap<(usize, i32, bool), Option<Shape>> = HashMap::new();
    let mut codes: Vec<Py<PyAny>> = Vec::new();
    let gids: Vec<u64> = snapshot(&parked).into_iter().map(|(g, _)| g).collect();
    for gid in gids {
        // Looked up again each time: a goroutine may have ended (its thread state gone)
        // while the Python below ran for the one before.
        let Some(h) = HELD.lock().as_ref().and_then(|m| m.get(&gid).cloned()) else {
            continue;
        };
        // The frames first (no Python code), then the arithmetic for each (Python: the
        // frames may change meanwhile, so nothing of them but their code objects is used).
        let Some(fs) = frames(py, &lay, &h) else {
            continue;
        };
        for f in &fs {
            let key = shape_key(f);
            if shapes.contains_key(&key) {
                continue;
            }
            let got = frame_shape
                .call1((f.code.bind(py), f.lasti, key.2))
                .ok()
                .and_then(|g| g.extract::<Option<Shape>>().ok())
                .flatten();
            shapes.insert(key, got);
            codes.push(f.code.clone_ref(py));
        }
    }
    // From here to the core's verdict no Python code runs (so the GIL stays ours): no more
    // calls into Python, and no collection (its finalizers would run Python).
    let Some((disable, enable)) = gc_switch() else {
        return Ok(Vec::new());
    };
    // SAFETY: attached; restored below.
    let gc_was = unsafe { disable() };
    let weakref = py.import("weakref")?;
    let weak_types: Vec<Bound<'_, PyAny>> = ["ReferenceType", "ProxyType", "CallableProxyType"]
        .iter()
        .map(|t| weakref.getattr(*t))
        .collect::<PyResult<_>>()?;
    // Parked again, and the goroutines with it, now that no Python code runs until the end:
    // one that woke while the arithmetic ran may have left its wait and stopped, at the eval
    // loop's check at the end of the CALL, with the arguments gone but the offset unchanged;
    // one parked now is inside its blocking call, as its frames show (it parks only after it
    // let go of the GIL in that call, and cannot run Python again before we let go).
    let parked = parked_on_channels();
    let r = census(
        py,
        &lay,
        snapshot(&parked),
        &shapes,
        &get_objects,
        &weak_types,
    );
    if gc_was != 0 {
        // SAFETY: attached.
        unsafe { enable() };
    }
    drop(codes);
    r
}

/// Steps 1b to 3 (the module doc), with no Python code run: the frames again, with the
/// shapes step 1a found (a frame that changed since is not understood), then the census.
fn census(
    py: Python<'_>,
    lay: &Layout,
    held: Vec<(u64, Held)>,
    shapes: &HashMap<(usize, i32, bool), Option<Shape>>,
    get_objects: &Bound<'_, PyAny>,
    weak_types: &[Bound<'_, PyAny>],
) -> PyResult<Vec<HostRef>> {
    // The channel references goroutines' calls hold in Rust are theirs, whatever their frames.
    let mut out: Vec<HostRef> = Vec::new();
    for (g, h) in &held {
        out.extend(h.chans.iter().map(|&c| HostRef {
            chan: c,
            owners: vec![*g],
        }));
    }
    let mut private: Vec<(u64, Vec<usize>)> = Vec::new();
    for (g, h) in &held {
        let refs = frames(py, lay, h).and_then(|fs| private_refs(lay, h, &fs, shapes));
        if let Some(refs) = refs {
            private.push((*g, refs));
        }
    }
    if private.is_empty() {
        return Ok(out);
    }
    let types = [
        py.get_type::<Chan>().as_ptr() as usize,
        py.get_type::<RecvCase>().as_ptr() as usize,
        py.get_type::<SendCase>().as_ptr() as usize,
    ];
    // Step 2 (traversals are C code; the collector is off).
    let objs = get_objects.call0()?; // gc's own C function, fetched before
    let list = objs.cast::<PyList>()?;
    let mut g = Graph {
        nodes: Vec::with_capacity(list.len() + 1024),
        index: HashMap::with_capacity_and_hasher(list.len() + 1024, Default::default()),
        edges: Vec::with_capacity(4 * list.len()),
        start: Vec::with_capacity(list.len() + 1025),
    };
    for i in 0..list.len() {
        // SAFETY: i < len; a borrowed item of a list nobody else can change (GIL held, no
        // Python code runs).
        let p = unsafe { ffi::PyList_GetItem(list.as_ptr(), i as ffi::Py_ssize_t) } as usize;
        if p != 0 && p != list.as_ptr() as usize {
            let n = g.node(p);
            g.nodes[n as usize].listed += 1;
            // SAFETY: a live object; its type, a live type object.
            let ty = unsafe { ffi::Py_TYPE(p as *mut ffi::PyObject) };
            // SAFETY: type objects (IsSubtype only reads their MROs).
            let weak = weak_types
                .iter()
                .any(|w| unsafe { ffi::PyType_IsSubtype(ty, w.as_ptr().cast()) != 0 });
            if weak {
                // SAFETY: a weakref object: wr_object follows PyObject_HEAD in 3.11-3.13
                // (Py_None once the referent is gone).
                let target: usize = unsafe { at(p, 16) };
                if target != 0 && target != py.None().as_ptr() as usize {
                    let t = g.node(target);
                    g.nodes[t as usize].weak = true;
                }
            }
        }
    }
    let mut starts: Vec<Vec<u32>> = Vec::with_capacity(private.len());
    for (_, refs) in &private {
        let mut s = Vec::with_capacity(refs.len());
        for &p in refs {
            let n = g.node(p);
            g.nodes[n as usize].private += 1;
            s.push(n);
        }
        starts.push(s);
    }
    let mut buf = Vec::new();
    let mut slots = TraverseCache::default();
    let mut i = 0;
    while i < g.nodes.len() {
        g.start.push(g.edges.len() as u32);
        buf.clear();
        referents(py, g.nodes[i].p, &types, &mut slots, &mut buf);
        for &r in &buf {
            let n = g.node(r);
            g.nodes[n as usize].internal += 1;
            g.edges.push(n);
        }
        i += 1;
    }
    g.start.push(g.edges.len() as u32);
    let len = g.nodes.len();
    let mut reach = vec![false; len];
    let mut stack: Vec<u32> = Vec::new();
    for (k, n) in g.nodes.iter().enumerate() {
        // SAFETY: a live object.
        let refcnt = unsafe { ffi::Py_REFCNT(n.p as *mut ffi::PyObject) } as i64;
        if n.weak || refcnt - n.listed - n.internal - n.private != 0 {
            reach[k] = true;
            stack.push(k as u32);
        }
    }
    let mark = |reach: &mut Vec<bool>, stack: &mut Vec<u32>| {
        while let Some(k) = stack.pop() {
            for &e in g.out(k as usize) {
                if !reach[e as usize] {
                    reach[e as usize] = true;
                    stack.push(e);
                }
            }
        }
    };
    mark(&mut reach, &mut stack);
    // Step 3: each goroutine's private region, short of what roots reach.
    let mut seen: Vec<u32> = vec![u32::MAX; len];
    let mut owners: HashMap<u32, Vec<u64>> = HashMap::new();
    for (gi, s) in starts.iter().enumerate() {
        let gid = private[gi].0;
        let mut work: Vec<u32> = s.clone();
        while let Some(k) = work.pop() {
            let ku = k as usize;
            if reach[ku] || seen[ku] == gi as u32 {
                continue;
            }
            seen[ku] = gi as u32;
            // SAFETY: a live object.
            if unsafe { ffi::Py_TYPE(g.nodes[ku].p as *mut ffi::PyObject) } as usize == types[0] {
                owners.entry(k).or_default().push(gid);
            }
            work.extend(g.out(ku).iter().copied());
        }
    }
    // Garbage (in nobody's region, reached by no root): a finalizer may still use it.
    for k in 0..len {
        if !reach[k] && seen[k] == u32::MAX {
            reach[k] = true;
            stack.push(k as u32);
        }
    }
    mark(&mut reach, &mut stack);
    for (k, gids) in owners {
        if reach[k as usize] {
            continue;
        }
        // SAFETY: exactly our Chan class (checked above), alive, borrowed for this call.
        let b =
            unsafe { Bound::from_borrowed_ptr(py, g.nodes[k as usize].p as *mut ffi::PyObject) };
        let c = b.cast::<Chan>()?;
        out.push(HostRef {
            chan: std::sync::Arc::as_ptr(c.get().ch.raw()) as usize,
            owners: gids,
        });
    }
    drop(objs);
    Ok(out)
}
