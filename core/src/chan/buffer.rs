//! The ring buffer of a buffered channel: `cap` slots of `elem_size` bytes.

use std::alloc::{self, Layout};
use std::ptr;

/// Slots are aligned for any element the typed layer allows (align <= 16).
pub(crate) const ALIGN: usize = 16;

pub(crate) struct Ring {
    data: *mut u8,
    layout: Option<Layout>,
    elem_size: usize,
    cap: usize,
    head: usize,
    len: usize,
}

impl Ring {
    /// None when `elem_size * cap` overflows or cannot be allocated.
    pub(crate) fn new(elem_size: usize, cap: usize) -> Option<Ring> {
        let bytes = elem_size.checked_mul(cap)?;
        let (data, layout) = if bytes == 0 {
            (ptr::NonNull::<u8>::dangling().as_ptr(), None)
        } else {
            let layout = Layout::from_size_align(bytes, ALIGN).ok()?;
            // SAFETY: the layout has a non-zero size.
            let p = unsafe { alloc::alloc(layout) };
            if p.is_null() {
                return None;
            }
            (p, Some(layout))
        };
        Some(Ring {
            data,
            layout,
            elem_size,
            cap,
            head: 0,
            len: 0,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == self.cap
    }

    fn slot(&self, i: usize) -> *mut u8 {
        // `i < cap`, so the offset stays inside the allocation (or is 0 for zero-size).
        self.data
            .wrapping_add(((self.head + i) % self.cap) * self.elem_size)
    }

    /// Copies `elem` in at the tail.
    ///
    /// # Safety
    /// Not full; `elem` points at `elem_size` readable bytes (or is anything for size 0).
    pub(crate) unsafe fn push(&mut self, elem: *const u8) {
        debug_assert!(self.len < self.cap);
        let dst = self.slot(self.len);
        // SAFETY: `dst` is a slot of our allocation; the caller vouches for `elem`.
        unsafe { copy_elem(elem, dst, self.elem_size) };
        self.len += 1;
    }

    /// Moves the head value out into `out` (dropped with `drop_elem` when `out` is null).
    ///
    /// # Safety
    /// Not empty; `out` is null or points at `elem_size` writable bytes.
    pub(crate) unsafe fn pop(&mut self, out: *mut u8, drop_elem: Option<unsafe fn(*mut u8)>) {
        debug_assert!(self.len > 0);
        let src = self.slot(0);
        if out.is_null() {
            if let Some(d) = drop_elem {
                // SAFETY: the slot holds a value that is being discarded.
                unsafe { d(src) };
            }
        } else {
            // SAFETY: as above.
            unsafe { copy_elem(src, out, self.elem_size) };
        }
        self.head = (self.head + 1) % self.cap;
        self.len -= 1;
    }

    /// Drops every value still buffered.
    pub(crate) fn clear(&mut self, drop_elem: Option<unsafe fn(*mut u8)>) {
        while self.len > 0 {
            // SAFETY: not empty; null out drops the value.
            unsafe { self.pop(ptr::null_mut(), drop_elem) };
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        if let Some(layout) = self.layout {
            // SAFETY: allocated in `new` with this layout.
            unsafe { alloc::dealloc(self.data, layout) };
        }
    }
}

/// Copies one element; a no-op for size 0 or a null side (the value is then dropped by the
/// caller's rules: C values need no drop).
///
/// # Safety
/// Non-null pointers point at `size` valid bytes that do not overlap.
#[inline]
pub(crate) unsafe fn copy_elem(src: *const u8, dst: *mut u8, size: usize) {
    if src.is_null() || dst.is_null() {
        return;
    }
    // SAFETY: the caller's contract. Common sizes are copied inline: a call to memcpy for
    // eight bytes would be most of a channel operation's critical section.
    unsafe {
        match size {
            0 => {}
            8 => dst
                .cast::<u64>()
                .write_unaligned(src.cast::<u64>().read_unaligned()),
            4 => dst
                .cast::<u32>()
                .write_unaligned(src.cast::<u32>().read_unaligned()),
            16 => dst
                .cast::<u128>()
                .write_unaligned(src.cast::<u128>().read_unaligned()),
            _ => ptr::copy_nonoverlapping(src, dst, size),
        }
    }
}

/// Zero-fills a receive buffer (a receive from a closed channel).
///
/// # Safety
/// `dst` is null or points at `size` writable bytes.
#[inline]
pub(crate) unsafe fn zero_elem(dst: *mut u8, size: usize) {
    if size != 0 && !dst.is_null() {
        // SAFETY: the caller's contract.
        unsafe { ptr::write_bytes(dst, 0, size) };
    }
}
