//! Size classes: one `SizeClass` per (stack size, header size) asked for, leaked, and listed
//! twice: under a lock for lookups by size, and in a fixed array of atomics for readers that
//! may take no lock (the overflow signal handler, the registry walk, the scavenger).
//!
//! The default class (GORO_STACK_SIZE, or 256 KiB) is remembered apart, so that the hot path
//! (`alloc(0, ..)`) finds it with one load and no lock.
//!
//! Rejected: a map from size to class behind a RwLock (a signal handler may not take it), and
//! rounding every request up to a power of two (a 1 MiB and a 1.5 MiB stack would share
//! slots of 2 MiB, wasting address space the map budget is counted in).

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;

use super::config::{default_stack_size, MAX_STACK, MIN_STACK, PAGE};
use super::slab::SizeClass;
use super::StackError;

/// Most size classes: a program asking for more distinct stack sizes gets BadSize.
const MAX_CLASSES: usize = 64;

static CLASSES: Mutex<Vec<&'static SizeClass>> = Mutex::new(Vec::new());
/// The same classes, readable without a lock (from the overflow signal handler). Filled in
/// order under `CLASSES`'s lock; an entry once set never changes.
static CLASS_LIST: [AtomicPtr<SizeClass>; MAX_CLASSES] =
    [const { AtomicPtr::new(ptr::null_mut()) }; MAX_CLASSES];
static DEFAULT_CLASS: OnceLock<&'static SizeClass> = OnceLock::new();

/// Whether `class` is the default class (the one threads cache slots of).
pub(super) fn is_default(class: &SizeClass) -> bool {
    DEFAULT_CLASS.get().is_some_and(|d| ptr::eq(*d, class))
}

/// The default class, once some stack of the default size was asked for.
pub(super) fn default_class() -> Option<&'static SizeClass> {
    DEFAULT_CLASS.get().copied()
}

/// The class for stacks of `size` usable bytes (0: the default) under `header` bytes.
pub(super) fn class_for(size: usize, header: usize) -> Result<&'static SizeClass, StackError> {
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
            // Release: pairs with the Acquire loads in `classes()`, so a lock-free reader that
            // sees the pointer sees the class fully built.
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

/// Every size class so far, without a lock.
pub(super) fn classes() -> impl Iterator<Item = &'static SizeClass> {
    CLASS_LIST
        .iter()
        .map(|c| c.load(Ordering::Acquire))
        .take_while(|c| !c.is_null())
        // SAFETY: classes are leaked in `class_for` and never freed; a non-null entry was
        // stored (Release) only after its class was fully built.
        .map(|c| unsafe { &*c })
}

/// The goroutine record whose stack guard holds `addr`, searching every size class without
/// taking a lock (async-signal-safe).
pub(super) fn guard_owner(addr: usize) -> Option<*mut u8> {
    classes().find_map(|c| c.owner_of_guard(addr))
}
