//! Stack overflow reports: a goroutine that runs into its guard gets "goroutine N: stack
//! overflow" on stderr and the process aborts, instead of silently corrupting a neighbour.
//!
//! The fault arrives as SIGSEGV on the overflowing stack itself, so the handler must run on an
//! alternate signal stack (SA_ONSTACK; every worker thread gets one). It finds the goroutine by
//! arithmetic from the slab bases, using only atomics (async-signal-safe), and for any other
//! fault hands over to whatever handler the host had installed before us.

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

/// Writes a description of the goroutine whose record is at the pointer ("goroutine 7
/// \"name\"") into the buffer and returns its length. Must be async-signal-safe.
pub type Describe = fn(*mut u8, &mut [u8]) -> usize;

static DESCRIBE: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();
static mut OLD_SEGV: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();
static mut OLD_BUS: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();
const ALT_STACK: usize = 64 * 1024;

/// Installs the SIGSEGV/SIGBUS handler once per process, and an alternate signal stack for
/// the calling thread (call it on every thread that runs goroutines).
pub fn install_overflow_handler(describe: Describe) {
    INSTALL.call_once(|| {
        DESCRIBE.store(describe as usize, Ordering::Release);
        // SAFETY: plain sigaction calls; OLD_* are written once here, before the handler can
        // run (it is installed by these very calls), and only read afterwards.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGSEGV, &sa, (&raw mut OLD_SEGV).cast());
            libc::sigaction(libc::SIGBUS, &sa, (&raw mut OLD_BUS).cast());
        }
    });
    ensure_alt_stack();
}

fn ensure_alt_stack() {
    // SAFETY: querying and setting this thread's alternate stack; the new stack is a fresh
    // mapping that lives as long as the thread (leaked: worker threads never exit).
    unsafe {
        let mut old: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(ptr::null(), &mut old) == 0 && old.ss_flags & libc::SS_DISABLE == 0 {
            return; // the host already gave this thread one
        }
        let mem = libc::mmap(
            ptr::null_mut(),
            ALT_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if mem == libc::MAP_FAILED {
            return;
        }
        let st = libc::stack_t {
            ss_sp: mem,
            ss_flags: 0,
            ss_size: ALT_STACK,
        };
        libc::sigaltstack(&st, ptr::null_mut());
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(g) = super::classes::guard_owner(addr) {
        let mut buf = [0u8; 256];
        let describe = DESCRIBE.load(Ordering::Acquire);
        let mut n = if describe != 0 && !g.is_null() {
            // SAFETY: DESCRIBE only ever holds a `Describe` function pointer.
            let f: Describe = unsafe { std::mem::transmute::<usize, Describe>(describe) };
            f(g, &mut buf[..200])
        } else {
            let s = b"goroutine";
            buf[..s.len()].copy_from_slice(s);
            s.len()
        };
        let tail = b": stack overflow\n";
        buf[n..n + tail.len()].copy_from_slice(tail);
        n += tail.len();
        // SAFETY: write(2) and abort(3) are async-signal-safe.
        unsafe {
            libc::write(2, buf.as_ptr().cast(), n);
            libc::abort();
        }
    }
    // Not ours: hand over to the previous handler.
    // SAFETY: OLD_* were filled in before this handler was installed.
    let old = unsafe {
        if sig == libc::SIGBUS {
            &*(&raw const OLD_BUS).cast::<libc::sigaction>()
        } else {
            &*(&raw const OLD_SEGV).cast::<libc::sigaction>()
        }
    };
    let h = old.sa_sigaction;
    if h == libc::SIG_DFL || h == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction runs again and the
        // kernel kills the process as it would have without us.
        // SAFETY: resetting a signal to its default disposition.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &sa, ptr::null_mut());
        }
    } else if old.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the host installed this as an SA_SIGINFO handler.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(h) };
        f(sig, info, ctx);
    } else {
        // SAFETY: the host installed this as a plain handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(h) };
        f(sig);
    }
}
