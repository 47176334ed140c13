//! Panic reports: a panic that escapes a goroutine's Rust body or cleanup is printed and the
//! runtime goes on; a stack overflow is reported with the goroutine's id and name.
//!
//! The overflow description runs inside a SIGSEGV handler on the alternate signal stack, so it
//! allocates nothing and takes no lock: it formats into the handler's own buffer.
//!
//! Rejected: letting a panic unwind into the worker (it would kill the worker thread and every
//! goroutine queued on it), and aborting the process on a goroutine panic (DESIGN.md: an
//! exception in a goroutine is reported and the runtime goes on).

use super::G;

/// Prints a panic that escaped a goroutine; the runtime goes on.
pub(crate) fn report_panic(id: u64, p: &Box<dyn std::any::Any + Send>) {
    eprintln!("goro: goroutine {id} panicked: {}", panic_message(p));
}

/// The message of a panic payload (a `&str` or `String`), for reports.
pub fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

/// Describes a goroutine for the stack overflow report (async-signal-safe: no allocation).
pub(crate) fn describe_for_signal(g: *mut u8, buf: &mut [u8]) -> usize {
    // SAFETY: the overflow handler passes the record of the goroutine whose guard was hit: the
    // goroutine running on the faulting thread, which is alive (it is still running).
    let g = unsafe { &*(g as *const G) };
    let mut w = SliceWriter { buf, len: 0 };
    use std::fmt::Write;
    let _ = match &g.name {
        Some(n) => write!(w, "goroutine {} \"{}\"", g.id, n),
        None => write!(w, "goroutine {}", g.id),
    };
    w.len
}

/// Formats into a fixed buffer, cutting what does not fit.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl std::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
