//! Tells valgrind where goroutine stacks are (VALGRIND_STACK_REGISTER), so that memcheck
//! follows a switch onto a coroutine stack as a stack switch instead of reporting writes to
//! "another thread's stack"; and says whether we run under valgrind at all. Outside valgrind
//! a client request is a few no-op instructions.

/// valgrind.h: VG_USERREQ__STACK_REGISTER.
const STACK_REGISTER: usize = 0x1501;

/// valgrind.h: VG_USERREQ__RUNNING_ON_VALGRIND.
const RUNNING_ON_VALGRIND: usize = 0x1001;

/// Whether we run under valgrind (which knows no `process_madvise`: it answers ENOSYS and
/// prints a warning per call, so the batching calls are not tried there).
pub(crate) fn running() -> bool {
    client_request(0, [RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0]) != 0
}

/// Registers `start..end` as a stack. Returns valgrind's stack id (0 outside valgrind).
pub(crate) fn register_stack(start: usize, end: usize) -> usize {
    client_request(0, [STACK_REGISTER, start, end, 0, 0, 0])
}

#[cfg(target_arch = "x86_64")]
fn client_request(default: usize, args: [usize; 6]) -> usize {
    let result: usize;
    // SAFETY: valgrind's "special instruction" sequence for x86-64 (valgrind.h): four rotates
    // of rdi that add up to 128 bits (rdi ends unchanged) and `xchg rbx, rbx` (a no-op), with
    // rax pointing at the request and rdx carrying the default result. Natively it does
    // nothing; under valgrind, rdx receives the answer.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") default => result,
            in("rax") args.as_ptr(),
            inout("rdi") 0usize => _,
            options(nostack, preserves_flags),
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
fn client_request(default: usize, _args: [usize; 6]) -> usize {
    default
}
