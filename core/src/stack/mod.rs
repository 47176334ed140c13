//! Goroutine stacks: carved from large slabs, committed only as touched, guarded, pooled.
//!
//! A goroutine needs its own machine stack because C and Python code may block deep inside
//! their own call chains. A million of them must fit on a stock kernel, whose limit on memory
//! maps (`vm.max_map_count`, 65530) rules out one mapping per stack: a stack with an mprotect
//! guard costs two maps, so that design stops near 32,000 goroutines.
//!
//! Instead, stacks are slots in slabs: one anonymous `MAP_NORESERVE` mapping per slab of up to
//! 256 slots. Each slot is `[guard | stack]`, the stack growing down towards the guard:
//!
//! ```text
//!  slab base                                                           slab end
//!  | guard | stack ........ G | guard | stack ........ G | ...
//!    GUARD   <- grows down  ^ the goroutine record sits at the top of its own slot
//! ```
//!
//! Guards are installed with `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+): marked in the page
//! tables, they cost no map. Older kernels answer EINVAL, and we fall back to `mprotect`, which
//! splits the mapping (two maps per slot) and so limits how many goroutines fit.
//!
//! Pages are committed by the kernel when first touched, so a parked goroutine costs the pages
//! its frames reach (usually one). Freed slots go back to a LIFO free list so that the next
//! goroutine lands on a warm page. About once a second sysmon hands the memory of wholly free
//! slabs back to the kernel (one `MADV_DONTNEED` per slab; guards survive it) while more than a
//! warm reserve of slots is free, so churn does not pay for page faults over and over.
//!
//! Rejected: corosensei's default stacks (one mmap + mprotect each: the map limit), one huge
//! overcommitted reservation (charged against the commit limit without MAP_NORESERVE, and
//! refused under overcommit mode 2), segmented or copied stacks (C code holds pointers into
//! its stack).

mod overflow;
mod valgrind;

pub use overflow::install_overflow_handler;

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;

/// Bytes of guard below every stack. More than one page, so that a C function with a large
/// frame (compiled without stack-clash protection) cannot step over the guard into the next
/// slot. With MADV_GUARD_INSTALL a guard costs address space only.
const GUARD: usize = 64 * 1024;
/// Smallest and largest stack a goroutine may ask for (goro_go_ex, GORO_STACK_SIZE).
pub const MIN_STACK: usize = 16 * 1024;
/// Largest stack a goroutine may ask for.
pub const MAX_STACK: usize = 1 << 30;
/// Default usable stack: CONTRACT.md promises at least 256 KiB.
pub const DEFAULT_STACK: usize = 256 * 1024;
/// Slabs the overflow handler can look up; 16,384 slabs of 256 default slots is 4 M goroutines.
const MAX_SLABS: usize = 16 * 1024;
/// Address space per slab, aimed at; a slab holds at most 256 slots.
const SLAB_BYTES: usize = 128 << 20;
/// Free slots kept committed when `scavenge` hands wholly free slabs back to the kernel.
const WARM_SLOTS: usize = 4096;
const PAGE: usize = 4096;
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// A stack slot handed to a coroutine: `limit..base` is usable, and the guard lies below
/// `limit`. The top `header` bytes of the slot (above `base`) hold the goroutine record.
#[derive(Clone, Copy)]
pub struct SlotStack {
    base: usize,
    limit: usize,
    class: &'static SizeClass,
    slab: u32,
    index: u32,
}

// SAFETY: `base` is the top of a mapped, writable region 16-aligned (slot ends are page
// aligned and the header is a multiple of 16), `limit` is the bottom of the same slot's guard,
// which faults on any access (MADV_GUARD_INSTALL or mprotect PROT_NONE): the guard page
// corosensei's trait requires.
unsafe impl corosensei::stack::Stack for SlotStack {
    fn base(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.base).expect("stack base is non-zero")
    }
    fn limit(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.limit - GUARD).expect("stack limit is non-zero")
    }
}

impl std::fmt::Debug for SlotStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotStack({:#x}..{:#x})", self.limit, self.base)
    }
}

impl SlotStack {
    /// Where the goroutine record of this slot lives: `header` bytes at the top of the slot.
    pub fn header(&self) -> *mut u8 {
        self.base as *mut u8
    }

    /// Lowest usable address (just above the guard).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Highest usable address (the goroutine record sits just above it).
    pub fn base(&self) -> usize {
        self.base
    }

    /// Records which goroutine runs on this slot, for the overflow handler.
    pub fn set_owner(&self, g: *mut u8) {
        let slab = &self.class.slabs[self.slab as usize];
        let owners = slab.owners.load(Ordering::Acquire);
        // SAFETY: `owners` has one entry per slot of this slab, allocated before the slab was
        // published, and `index` is below the slab's slot count.
        unsafe { (*owners.add(self.index as usize)).store(g, Ordering::Release) };
    }

    /// Gives the slot back to its pool.
    pub fn free(self) {
        self.set_owner(ptr::null_mut());
        if DEFAULT_CLASS
            .get()
            .is_some_and(|d| std::ptr::eq(*d, self.class))
        {
            local_free(self.class, self)
        } else {
            self.class.free(self);
        }
    }
}

/// One slab: a mapping of `slots` slots of `slot_size` bytes each.
struct Slab {
    base: AtomicUsize,
    /// Goroutine record pointer per slot (null when free): read by the overflow handler, so
    /// it lives outside the slab, where MADV_DONTNEED cannot zero it.
    owners: AtomicPtr<AtomicPtr<u8>>,
    /// Free slots of this slab. Guarded by the class's free-list lock.
    free: AtomicU32,
    /// Released to the kernel by `scavenge` and not used since. Guarded by the same lock.
    cold: AtomicBool,
}

/// All stacks of one size: their slabs and a free list.
pub struct SizeClass {
    stack_size: usize,
    header: usize,
    slot_size: usize,
    slots_per_slab: usize,
    slabs: Box<[Slab]>,
    nslabs: AtomicUsize,
    /// Free slots, most recently freed last. Guarded by this lock: also the slab creation.
    free_list: Mutex<Vec<(u32, u32)>>,
}

static GUARD_MODE: AtomicU32 = AtomicU32::new(0); // 0 unknown, 1 madvise, 2 mprotect
static CLASSES: Mutex<Vec<&'static SizeClass>> = Mutex::new(Vec::new());
/// The same classes, readable without a lock (from the overflow signal handler).
static CLASS_LIST: [AtomicPtr<SizeClass>; MAX_CLASSES] =
    [const { AtomicPtr::new(ptr::null_mut()) }; MAX_CLASSES];
const MAX_CLASSES: usize = 64;
static DEFAULT_CLASS: OnceLock<&'static SizeClass> = OnceLock::new();

/// Errors from the stack allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// The stack size is outside `MIN_STACK..=MAX_STACK`.
    BadSize,
    /// The kernel refused the memory (address space, map count).
    NoMemory,
}

/// The stack size from `GORO_STACK_SIZE` (bytes, or with a K/M/G suffix), else the default.
pub fn default_stack_size() -> usize {
    static SIZE: OnceLock<usize> = OnceLock::new();
    *SIZE.get_or_init(|| match std::env::var("GORO_STACK_SIZE") {
        Ok(v) => match parse_size(&v) {
            Some(n) if (MIN_STACK..=MAX_STACK).contains(&n) => n,
            _ => {
                eprintln!(
                    "goro: ignoring GORO_STACK_SIZE={v:?}: want bytes between {MIN_STACK} and {MAX_STACK}, \
                     optionally with a K, M or G suffix"
                );
                DEFAULT_STACK
            }
        },
        Err(_) => DEFAULT_STACK,
    })
}

fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1 << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.trim().parse::<usize>().ok()?.checked_mul(mult)
}

/// Takes a stack of at least `size` usable bytes (0: the default) with `header` bytes above
/// it for the goroutine record.
pub fn alloc(size: usize, header: usize) -> Result<SlotStack, StackError> {
    let class = class_for(size, header)?;
    if DEFAULT_CLASS.get().is_some_and(|d| std::ptr::eq(*d, class)) {
        return local_alloc(class);
    }
    class.alloc()
}

/// Slots moved between a thread's cache and its class's free list at a time.
const BATCH: usize = 32;

/// Free slots of the default class held by one thread: most goroutines start and end without
/// touching the class's lock (which spawning and exiting workers would otherwise fight over).
struct LocalCache {
    slots: Vec<(u32, u32)>,
}

impl Drop for LocalCache {
    fn drop(&mut self) {
        // A thread that ends gives its slots back.
        if let Some(class) = DEFAULT_CLASS.get() {
            class.put_back(self.slots.drain(..));
        }
    }
}

thread_local! {
    static CACHE: std::cell::RefCell<LocalCache> =
        const { std::cell::RefCell::new(LocalCache { slots: Vec::new() }) };
}

/// Never inlined: a goroutine may move between threads (the TLS trap).
#[inline(never)]
fn local_alloc(class: &'static SizeClass) -> Result<SlotStack, StackError> {
    let got = CACHE.try_with(|c| {
        let mut c = c.borrow_mut();
        if c.slots.is_empty() {
            class.take_batch(&mut c.slots)?;
        }
        let (slab, index) = c.slots.pop().expect("a batch has at least one slot");
        if let Some(&(ns, ni)) = c.slots.last() {
            // The next slot handed out was most likely freed on another CPU: start pulling
            // its top lines (the goroutine record, the first frame) into this CPU's cache now,
            // so the next spawn does not stall on them (W1 in benches/).
            class.prefetch(class.slot(ns, ni).header());
        }
        Ok(class.slot(slab, index))
    });
    got.unwrap_or_else(|_| class.alloc())
}

/// Never inlined (the TLS trap).
#[inline(never)]
fn local_free(class: &'static SizeClass, s: SlotStack) {
    let kept = CACHE.try_with(|c| {
        let mut c = c.borrow_mut();
        c.slots.push((s.slab, s.index));
        if c.slots.len() >= 2 * BATCH {
            let n = c.slots.len();
            // Give back the oldest half: the most recently freed slots stay warm here.
            let old: Vec<_> = c.slots.drain(..n - BATCH).collect();
            class.put_back(old.into_iter());
        }
    });
    if kept.is_err() {
        class.free(s);
    }
}

fn class_for(size: usize, header: usize) -> Result<&'static SizeClass, StackError> {
    if size == 0 || size == default_stack_size() {
        if let Some(c) = DEFAULT_CLASS.get() {
            return Ok(c);
        }
    }
    let want = if size == 0 {
        default_stack_size()
    } else {
        size
    };
    if !(MIN_STACK..=MAX_STACK).contains(&want) {
        return Err(StackError::BadSize);
    }
    let stack_size = want.next_multiple_of(PAGE);
    let header = header.next_multiple_of(64);
    let mut classes = CLASSES.lock();
    let class = match classes
        .iter()
        .find(|c| c.stack_size == stack_size && c.header == header)
    {
        Some(c) => *c,
        None => {
            if classes.len() == MAX_CLASSES {
                return Err(StackError::BadSize);
            }
            let c: &'static SizeClass = Box::leak(Box::new(SizeClass::new(stack_size, header)));
            CLASS_LIST[classes.len()]
                .store(c as *const SizeClass as *mut SizeClass, Ordering::Release);
            classes.push(c);
            c
        }
    };
    if stack_size == default_stack_size().next_multiple_of(PAGE) {
        let _ = DEFAULT_CLASS.set(class);
    }
    Ok(class)
}

/// The goroutine record whose stack guard holds `addr`, searching every size class without
/// taking a lock (async-signal-safe).
fn guard_owner(addr: usize) -> Option<*mut u8> {
    for c in &CLASS_LIST {
        let c = c.load(Ordering::Acquire);
        if c.is_null() {
            break;
        }
        // SAFETY: classes are leaked and never freed.
        if let Some(g) = unsafe { &*c }.owner_of_guard(addr) {
            return Some(g);
        }
    }
    None
}

impl SizeClass {
    fn new(stack_size: usize, header: usize) -> SizeClass {
        let slot_size = GUARD + stack_size + header.next_multiple_of(PAGE);
        let slots_per_slab = (SLAB_BYTES / slot_size).clamp(1, 256);
        let slabs = (0..MAX_SLABS)
            .map(|_| Slab {
                base: AtomicUsize::new(0),
                owners: AtomicPtr::new(ptr::null_mut()),
                free: AtomicU32::new(0),
                cold: AtomicBool::new(false),
            })
            .collect();
        SizeClass {
            stack_size,
            header,
            slot_size,
            slots_per_slab,
            slabs,
            nslabs: AtomicUsize::new(0),
            free_list: Mutex::new(Vec::new()),
        }
    }

    fn slot(&self, slab: u32, index: u32) -> SlotStack {
        let base = self.slabs[slab as usize].base.load(Ordering::Acquire);
        let start = base + index as usize * self.slot_size;
        SlotStack {
            // The header sits at the very top of the slot: the record and the first frames
            // share the page that the goroutine touches first.
            base: start + self.slot_size - self.header,
            limit: start + GUARD,
            class: self_static(self),
            slab,
            index,
        }
    }

    fn alloc(&'static self) -> Result<SlotStack, StackError> {
        let mut free = self.free_list.lock();
        if free.is_empty() {
            self.grow(&mut free)?;
        }
        let (slab, index) = free.pop().expect("grow added slots");
        let sl = &self.slabs[slab as usize];
        sl.free.fetch_sub(1, Ordering::Relaxed);
        sl.cold.store(false, Ordering::Relaxed);
        drop(free);
        Ok(self.slot(slab, index))
    }

    /// Moves up to BATCH free slots into `into` (a thread's cache).
    fn take_batch(&self, into: &mut Vec<(u32, u32)>) -> Result<(), StackError> {
        let mut free = self.free_list.lock();
        if free.is_empty() {
            self.grow(&mut free)?;
        }
        for _ in 0..BATCH {
            let Some((slab, index)) = free.pop() else {
                break;
            };
            let sl = &self.slabs[slab as usize];
            sl.free.fetch_sub(1, Ordering::Relaxed);
            sl.cold.store(false, Ordering::Relaxed);
            into.push((slab, index));
        }
        // Hand out the most recently freed (warmest) slot first.
        into.reverse();
        Ok(())
    }

    /// Returns slots from a thread's cache to the free list.
    fn put_back(&self, slots: impl Iterator<Item = (u32, u32)>) {
        let mut free = self.free_list.lock();
        for (slab, index) in slots {
            self.slabs[slab as usize]
                .free
                .fetch_add(1, Ordering::Relaxed);
            free.push((slab, index));
        }
    }

    fn prefetch(&self, header: *mut u8) {
        #[cfg(target_arch = "x86_64")]
        for off in (0..self.header + 64).step_by(64) {
            // SAFETY: a prefetch has no side effects and never faults; the address lies in
            // the slot (the record and the 64 bytes below it, where the first frame goes).
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_ET0 }>(
                    header.wrapping_add(off).wrapping_sub(64).cast(),
                )
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = header;
    }

    fn free(&self, s: SlotStack) {
        let mut free = self.free_list.lock();
        self.slabs[s.slab as usize]
            .free
            .fetch_add(1, Ordering::Relaxed);
        free.push((s.slab, s.index));
    }

    /// Gives the pages of wholly free slabs back to the kernel while more than WARM_SLOTS
    /// slots are free. Their slots stay on the free list (cold now); guards survive
    /// MADV_DONTNEED. Returns the slabs released.
    fn scavenge(&self) -> usize {
        // Slab free counts change only under this lock, so a slab counted wholly free here
        // has no slot in use, and none can be handed out until we are done.
        let free = self.free_list.lock();
        let mut spare = free.len().saturating_sub(WARM_SLOTS);
        let mut released = 0;
        let n = self.nslabs.load(Ordering::Acquire);
        for slab in &self.slabs[..n] {
            if spare < self.slots_per_slab {
                break;
            }
            if slab.free.load(Ordering::Relaxed) as usize != self.slots_per_slab
                || slab.cold.swap(true, Ordering::Relaxed)
            {
                continue;
            }
            let base = slab.base.load(Ordering::Acquire);
            // SAFETY: exactly this slab's mapping, with no slot in use (see above).
            unsafe {
                libc::madvise(
                    base as *mut libc::c_void,
                    self.slots_per_slab * self.slot_size,
                    libc::MADV_DONTNEED,
                );
            }
            spare -= self.slots_per_slab;
            released += 1;
        }
        released
    }

    /// Maps a new slab and adds its slots to `free`. Called with the free-list lock held.
    fn grow(&self, free: &mut Vec<(u32, u32)>) -> Result<(), StackError> {
        let idx = self.nslabs.load(Ordering::Relaxed);
        if idx >= MAX_SLABS {
            return Err(StackError::NoMemory);
        }
        let len = self.slots_per_slab * self.slot_size;
        // SAFETY: a fresh anonymous mapping; no existing memory is affected.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(StackError::NoMemory);
        }
        let base = base as usize;
        for i in 0..self.slots_per_slab {
            let start = base + i * self.slot_size;
            valgrind::register_stack(start + GUARD, start + self.slot_size);
            if let Err(e) = install_guard(start) {
                // SAFETY: unmapping the slab we just mapped; nothing refers to it yet.
                unsafe { libc::munmap(base as *mut libc::c_void, len) };
                return Err(e);
            }
        }
        let owners: Box<[AtomicPtr<u8>]> = (0..self.slots_per_slab)
            .map(|_| AtomicPtr::new(ptr::null_mut()))
            .collect();
        let slab = &self.slabs[idx];
        slab.owners
            .store(Box::leak(owners).as_mut_ptr(), Ordering::Release);
        slab.free
            .store(self.slots_per_slab as u32, Ordering::Relaxed);
        slab.base.store(base, Ordering::Release);
        self.nslabs.store(idx + 1, Ordering::Release);
        // Push in reverse so the lowest slot is handed out first.
        for i in (0..self.slots_per_slab).rev() {
            free.push((idx as u32, i as u32));
        }
        Ok(())
    }

    /// The goroutine record whose guard contains `addr`, if any (for the overflow handler).
    fn owner_of_guard(&self, addr: usize) -> Option<*mut u8> {
        let n = self.nslabs.load(Ordering::Acquire);
        let len = self.slots_per_slab * self.slot_size;
        for slab in &self.slabs[..n] {
            let base = slab.base.load(Ordering::Acquire);
            if addr >= base && addr < base + len {
                let index = (addr - base) / self.slot_size;
                if (addr - base) % self.slot_size >= GUARD {
                    return None;
                }
                let owners = slab.owners.load(Ordering::Acquire);
                // SAFETY: `index` < slots_per_slab, the length of `owners`.
                return Some(unsafe { (*owners.add(index)).load(Ordering::Acquire) });
            }
        }
        None
    }
}

fn self_static(c: &SizeClass) -> &'static SizeClass {
    // SAFETY: every SizeClass is leaked in `class_for` and never freed.
    unsafe { &*(c as *const SizeClass) }
}

fn install_guard(addr: usize) -> Result<(), StackError> {
    if GUARD_MODE.load(Ordering::Relaxed) != 2 {
        // SAFETY: `addr..addr+GUARD` lies in a mapping we own and nothing uses it yet.
        let r = unsafe { libc::madvise(addr as *mut libc::c_void, GUARD, MADV_GUARD_INSTALL) };
        if r == 0 {
            GUARD_MODE.store(1, Ordering::Relaxed);
            return Ok(());
        }
        // EINVAL: a kernel older than 6.13. Fall back for good.
        GUARD_MODE.store(2, Ordering::Relaxed);
    }
    // SAFETY: as above; PROT_NONE on our own unused range.
    let r = unsafe { libc::mprotect(addr as *mut libc::c_void, GUARD, libc::PROT_NONE) };
    if r == 0 {
        Ok(())
    } else {
        Err(StackError::NoMemory)
    }
}

/// Calls `f` with every slot's owner (a goroutine record set by `SlotStack::set_owner`).
pub fn for_each_owner(mut f: impl FnMut(*mut u8)) {
    for c in classes() {
        for slab in &c.slabs[..c.nslabs.load(Ordering::Acquire)] {
            let owners = slab.owners.load(Ordering::Acquire);
            if owners.is_null() {
                continue;
            }
            for i in 0..c.slots_per_slab {
                // SAFETY: `owners` has slots_per_slab entries, allocated before the slab was
                // published and never freed.
                let g = unsafe { (*owners.add(i)).load(Ordering::Acquire) };
                if !g.is_null() {
                    f(g);
                }
            }
        }
    }
}

/// Address space reserved for stacks, in bytes (memory is committed only as stacks are
/// touched, and given back by `scavenge`).
pub fn reserved_bytes() -> usize {
    classes()
        .map(|c| c.nslabs.load(Ordering::Relaxed) * c.slots_per_slab * c.slot_size)
        .sum()
}

/// Every size class so far, without a lock.
fn classes() -> impl Iterator<Item = &'static SizeClass> {
    CLASS_LIST
        .iter()
        .map(|c| c.load(Ordering::Acquire))
        .take_while(|c| !c.is_null())
        // SAFETY: classes are leaked and never freed.
        .map(|c| unsafe { &*c })
}

/// Returns idle stack memory to the kernel (sysmon calls it about once a second, as Go's
/// scavenger works in the background): wholly free slabs beyond a warm reserve of slots.
pub fn scavenge() -> usize {
    classes().map(SizeClass::scavenge).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("512K"), Some(512 << 10));
        assert_eq!(parse_size("2m"), Some(2 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn slots_are_usable_guarded_and_reused() {
        let a = alloc(0, 256).unwrap();
        assert!(a.base() - a.limit() >= DEFAULT_STACK);
        assert_eq!(a.base() % 16, 0);
        // The whole usable range is writable.
        // SAFETY: inside the slot's usable range.
        unsafe {
            ptr::write_volatile(a.limit() as *mut u8, 1);
            ptr::write_volatile((a.base() - 1) as *mut u8, 1);
        }
        let class = a.class;
        assert!(class.owner_of_guard(a.limit() - 1).is_some());
        assert!(class.owner_of_guard(a.limit()).is_none());
        let (slab, index) = (a.slab, a.index);
        a.free();
        let b = alloc(0, 256).unwrap();
        assert_eq!(
            (b.slab, b.index),
            (slab, index),
            "LIFO reuse keeps pages warm"
        );
        b.free();
    }

    #[test]
    fn rejects_bad_sizes() {
        assert_eq!(alloc(1, 64).unwrap_err(), StackError::BadSize);
        assert_eq!(alloc(MAX_STACK + 1, 64).unwrap_err(), StackError::BadSize);
        let s = alloc(MIN_STACK, 64).unwrap();
        assert!(s.base() - s.limit() >= MIN_STACK);
        s.free();
    }
}
