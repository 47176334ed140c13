//! Where a Python goroutine's frames live: a small root chunk for its thread state's data stack.
//!
//! CPython 3.11+ keeps a thread state's frames on a per-thread-state data stack, a chain of
//! chunks (`_PyStackChunk`: previous, size, top, then the frames). The first frame pushed on a
//! fresh thread state allocates a 16 KiB root chunk with `_PyObject_VirtualAlloc` (an mmap), of
//! which a parked goroutine touches one page: 4 KiB of RSS each, half of what a parked Python
//! goroutine costs (W6). So every goroutine's thread state gets, before its first frame, a root
//! chunk of `ROOT` bytes from malloc instead (dense: many per page). CPython treats it as any
//! root chunk: frames go from `data[1]` (push_chunk's "never pop the root" skip), and a frame
//! that does not fit chains a normal 16 KiB chunk (push_chunk), freed again when its first
//! frame pops. Two obligations follow: `clear_datastack` (thread-state delete) frees every
//! chunk with `_PyObject_VirtualFree`, so ours is unlinked first (`detach`; and where CPython
//! deletes a thread state we never got back, a parked-for-good goroutine's at finalization,
//! `ChunkCache`'s free leaves a root-sized block alone), and a loop that
//! calls across the root's edge would mmap and munmap a chunk per call, so `ChunkCache` keeps
//! a few freed 16 KiB chunks for the next push (an arena-allocator wrapper; see there).
//!
//! Field offsets. The binding is abi3, PyThreadState is opaque there, and its layout differs
//! per version: `datastack_chunk`, `_top`, `_limit` are three adjacent pointers at byte 296
//! (3.11) and 232 (3.12, 3.13), read from each version's cpython/pystate.h (offsetof on
//! x86-64; LP64 targets share it). At init we check them on the importing thread's own state,
//! which has run frames: chunk non-null, limit == chunk + chunk.size, chunk.data <= top <=
//! limit. Any other version, or a failed check (a debug build moves fields), leaves thread
//! states alone (the old 16 KiB behaviour).
//!
//! Rejected: the root on the goroutine's own C stack (a 1 KiB array in rt.rs `run_body`): free
//! only if the C frames plus the array stay within the stack's first page, and a parked
//! goroutine's C frames already fill 3-4 KiB of it; measured (W6, 3.11): 8.75 KB per parked
//! goroutine, as with CPython's own chunk, against 5.77 with the same 1 KiB from malloc (and
//! 5.27 with 512 bytes). A root as big as CPython's (16 KiB) in a slab: the density is the
//! saving, so the root must stay small. No `ChunkCache`: a loop of calls 4 frames deep across
//! the edge measured ~1.9 µs a frame (an mmap, a page fault and a munmap per call) against
//! ~50 ns with it.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use pyo3::ffi;
use pyo3::prelude::*;

/// Bytes of a goroutine's root chunk: its first two or three frames (a `body(ch): ch.recv()`
/// frame is ~120 bytes on 3.11) before CPython chains a 16 KiB chunk. Each byte here is a
/// byte of every parked goroutine; a goroutine parked deeper costs what it did before (one
/// page of a 16 KiB chunk).
pub const ROOT: usize = 512;

/// Byte offset of `datastack_chunk` in PyThreadState (`_top`, `_limit` follow); 0 = off.
static OFFSET: AtomicUsize = AtomicUsize::new(0);

/// CPython's `_PyStackChunk` (the same in 3.11-3.13).
#[repr(C)]
struct Chunk {
    previous: *mut Chunk,
    size: usize,
    top: usize,
    data: [*mut ffi::PyObject; 1],
}

/// The three fields of a thread state.
///
/// # Safety
/// `ts` is a live thread state and `OFFSET` was verified (non-zero).
unsafe fn fields(ts: *mut ffi::PyThreadState, off: usize) -> *mut [usize; 3] {
    // SAFETY: the caller's contract: the offset is inside the struct.
    unsafe { ts.cast::<u8>().add(off).cast() }
}

/// Called at import holding the GIL (see the module doc: which offset, and its check).
pub fn init(py: Python<'_>) {
    if std::env::var_os("GORO_PY_NO_ROOT_CHUNK").is_some() {
        return;
    }
    let v = py.version_info();
    let off = match (v.major, v.minor) {
        (3, 11) => 296,
        (3, 12) | (3, 13) => 232,
        _ => return,
    };
    // SAFETY: GIL held: our thread state is current and alive; the reads stay inside the
    // struct on every version listed (its size is above off + 24 in each), and the chunk is
    // only read once its pointer passed the alignment check.
    let ok = unsafe {
        let ts = ffi::PyThreadState_Get();
        let [chunk, top, limit] = *fields(ts, off);
        chunk != 0 && chunk % 16 == 0 && {
            let c = &*(chunk as *const Chunk);
            let data = std::ptr::addr_of!(c.data) as usize;
            c.size >= 4096 && limit == chunk + c.size && data <= top && top <= limit
        }
    };
    // Only with the wrapper in place: it is also what keeps a root from CPython's free.
    if ok && ChunkCache::install() {
        OFFSET.store(off, Relaxed);
    }
}

/// Whether thread states get our root chunk (for tests).
pub fn enabled() -> bool {
    OFFSET.load(Relaxed) != 0
}

/// Gives a fresh thread state (no data stack yet) the root chunk at `mem` (`ROOT` bytes, 16-byte
/// aligned, owned by the caller until `detach`). False (and nothing done) when off, or when the
/// thread state already has a data stack.
///
/// # Safety
/// `ts` is a live thread state no other thread uses now; `mem` outlives its use by `ts`.
pub unsafe fn install(ts: *mut ffi::PyThreadState, mem: *mut u8) -> bool {
    let off = OFFSET.load(Relaxed);
    if off == 0 || mem.is_null() {
        return false;
    }
    // SAFETY: verified offset, live thread state (the caller's contract).
    let f = unsafe { &mut *fields(ts, off) };
    if f[0] != 0 {
        return false;
    }
    let c = mem.cast::<Chunk>();
    // SAFETY: `mem` is ROOT bytes, aligned, ours.
    unsafe {
        c.write(Chunk {
            previous: std::ptr::null_mut(),
            size: ROOT,
            top: 0,
            data: [std::ptr::null_mut()],
        });
        // push_chunk's root skip: the first frame goes at data[1], so popping it never pops
        // the root.
        let first = std::ptr::addr_of_mut!((*c).data)
            .cast::<*mut ffi::PyObject>()
            .add(1);
        *f = [c as usize, first as usize, mem as usize + ROOT];
    }
    true
}

/// Unlinks the root chunk `mem` from `ts`'s data stack, so that deleting `ts` frees only
/// CPython's own chunks. Call with no frame left on `mem` (the goroutine's body returned).
///
/// # Safety
/// As `install`; `mem` was installed in `ts`.
pub unsafe fn detach(ts: *mut ffi::PyThreadState, mem: *mut u8) {
    let off = OFFSET.load(Relaxed);
    if off == 0 {
        return;
    }
    // SAFETY: verified offset, live thread state.
    let f = unsafe { &mut *fields(ts, off) };
    // With no frame left, CPython has popped (and freed) every chunk it chained: the current
    // one is ours. Were it not, the chain above ours is leaked: not cut, since a chunk CPython
    // made as a non-root one would then be the root and its first pop would crash.
    debug_assert_eq!(f[0], mem as usize);
    *f = [0, 0, 0];
}

/// A root chunk's memory from malloc (16-byte aligned on every glibc/musl target).
pub fn alloc_root() -> *mut u8 {
    if !enabled() {
        return std::ptr::null_mut();
    }
    // SAFETY: plain malloc; null is handled (install declines it).
    unsafe { libc::malloc(ROOT).cast() }
}

/// Frees what `alloc_root` gave (null is fine).
pub fn free_root(mem: *mut u8) {
    // SAFETY: from libc::malloc (or null).
    unsafe { libc::free(mem.cast()) };
}

extern "C" {
    // Not in the limited API; in every CPython since 3.4 with this layout and signature.
    fn PyObject_GetArenaAllocator(a: *mut ArenaAllocator);
    fn PyObject_SetArenaAllocator(a: *mut ArenaAllocator);
}

#[repr(C)]
#[derive(Clone, Copy)]
struct ArenaAllocator {
    ctx: *mut c_void,
    alloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
    free: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize)>,
}

// SAFETY: `ctx` is CPython's allocator context, which its functions take from any thread
// (pymalloc calls them under whichever GIL is held).
unsafe impl Send for ArenaAllocator {}

/// Keeps up to `CACHED` freed 16 KiB data-stack chunks for the next one asked for: a goroutine
/// whose frames cross its small root's edge in a loop would otherwise mmap and munmap a chunk
/// per call. It wraps CPython's arena allocator (`_PyObject_VirtualAlloc` and pymalloc's
/// arenas both go through it); every other size goes straight to the previous allocator, and
/// a cached chunk came from it too, so whoever frees what is consistent.
struct ChunkCache;

/// CPython's DATA_STACK_CHUNK_SIZE (3.11-3.13).
const CHUNK: usize = 16 * 1024;
const CACHED: usize = 8;

static PREV: parking_lot::Mutex<Option<ArenaAllocator>> = parking_lot::Mutex::new(None);
static FREE: parking_lot::Mutex<Vec<usize>> = parking_lot::Mutex::new(Vec::new());

impl ChunkCache {
    fn install() -> bool {
        let mut prev = PREV.lock();
        if prev.is_some() {
            return true;
        }
        let mut a = ArenaAllocator {
            ctx: std::ptr::null_mut(),
            alloc: None,
            free: None,
        };
        // SAFETY: plain getters/setters of a struct we own; GIL held (init).
        unsafe { PyObject_GetArenaAllocator(&mut a) };
        if a.alloc.is_none() || a.free.is_none() {
            return false;
        }
        *prev = Some(a);
        FREE.lock().reserve(CACHED);
        let mut ours = ArenaAllocator {
            ctx: std::ptr::null_mut(),
            alloc: Some(cache_alloc),
            free: Some(cache_free),
        };
        // SAFETY: as above.
        unsafe { PyObject_SetArenaAllocator(&mut ours) };
        true
    }
}

unsafe extern "C" fn cache_alloc(_: *mut c_void, size: usize) -> *mut c_void {
    if size == CHUNK {
        if let Some(p) = FREE.lock().pop() {
            return p as *mut c_void;
        }
    }
    let a = PREV.lock().expect("installed before use");
    // SAFETY: the previous allocator, called as CPython would.
    unsafe { (a.alloc.expect("checked at install"))(a.ctx, size) }
}

unsafe extern "C" fn cache_free(_: *mut c_void, p: *mut c_void, size: usize) {
    if size == ROOT {
        // One of our roots, still installed in a thread state that CPython deletes (a
        // goroutine parked for good, at finalization): malloc'd, so never the arena's munmap
        // (which would unmap its whole page were it page-aligned). Left to the process's end.
        return;
    }
    if size == CHUNK && !p.is_null() {
        let mut free = FREE.lock();
        if free.len() < CACHED {
            free.push(p as usize);
            return;
        }
    }
    let a = PREV.lock().expect("installed before use");
    // SAFETY: `p` came from the previous allocator with this size.
    unsafe { (a.free.expect("checked at install"))(a.ctx, p, size) }
}
