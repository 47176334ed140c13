//! The CPU profile: the CPU time each goroutine uses, by its stack (its function). No signals
//! are used, so the host's own SIGPROF and timer handlers are left alone: while the profile
//! runs, a worker reads its thread's CPU clock when it resumes a goroutine and when the
//! goroutine switches out, and charges the difference to the goroutine. Off, a switch pays
//! one relaxed load.
//!
//! The time a worker spends outside goroutines (scheduling, spinning for work) is not shown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_utils::CachePadded;
use parking_lot::Mutex;

use super::{dump, registry, Frame};
use crate::goroutine::G;
use crate::Error;

/// Read at every switch: on a cache line of its own, or a neighbour's writes would make each
/// read a miss (measured: 20 ns a round trip on W2).
static ON: CachePadded<AtomicBool> = CachePadded::new(AtomicBool::new(false));

struct Profile {
    period: i64,
    start: i64,
    /// CPU of goroutines that finished while it ran, by stack.
    finished: HashMap<Vec<Frame>, i64>,
}

static RUNNING: Mutex<Option<Profile>> = Mutex::new(None);
static LAST: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// Whether the CPU profile runs.
#[inline]
pub(crate) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// The calling thread's CPU time (ns).
pub(crate) fn thread_cpu_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: reads a clock into a timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64
}

/// Starts profiling; `hz` (1..=1000) sets the sample period the profile reports, as Go's
/// SetCPUProfileRate. Err(Invalid) for a bad rate, Err(WouldBlock) when one already runs.
pub fn start(hz: i32) -> Result<(), Error> {
    if !(1..=1000).contains(&hz) {
        return Err(Error::Invalid);
    }
    let mut r = RUNNING.lock();
    if r.is_some() {
        return Err(Error::WouldBlock);
    }
    crate::sched::init();
    registry::for_each_g(|g| g.cpu_ns.store(0, Ordering::Relaxed));
    *r = Some(Profile {
        period: 1_000_000_000 / hz as i64,
        start: crate::now_ns(),
        finished: HashMap::new(),
    });
    ON.store(true, Ordering::Relaxed);
    Ok(())
}

/// Charges the CPU time since `before` to `g`, which just switched out (worker side).
pub(crate) fn charge(g: &G, before: i64) {
    g.cpu_ns
        .fetch_add((thread_cpu_ns() - before).max(0), Ordering::Relaxed);
}

/// A goroutine is finishing: keep what it used (worker side, its record still alive).
pub(crate) fn finished(g: &G) {
    if !on() {
        return;
    }
    let used = g.cpu_ns.load(Ordering::Relaxed);
    if used > 0 {
        if let Some(p) = RUNNING.lock().as_mut() {
            *p.finished.entry(dump::stack_of(&g.info())).or_default() += used;
        }
    }
}

/// Stops profiling; `last_profile` then gives it. Err(Invalid) if none runs.
pub fn stop() -> Result<(), Error> {
    let mut r = RUNNING.lock();
    let mut p = r.take().ok_or(Error::Invalid)?;
    ON.store(false, Ordering::Relaxed);
    let mut by_stack = std::mem::take(&mut p.finished);
    registry::for_each_g(|g| {
        let used = g.cpu_ns.load(Ordering::Relaxed);
        if used > 0 {
            *by_stack.entry(dump::stack_of(&g.info())).or_default() += used;
        }
    });
    let mut b = super::pprof::Builder::new(
        &[("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        p.period,
    );
    b.set_duration(crate::now_ns() - p.start);
    for (stack, ns) in by_stack {
        b.add(&stack, &[(ns + p.period / 2) / p.period, ns], &[]);
    }
    *LAST.lock() = Some(b.finish());
    Ok(())
}

/// The profile of the last `start`..`stop`, gzipped pprof.
pub fn last_profile() -> Option<Vec<u8>> {
    LAST.lock().clone()
}

/// Profiles for `d` and returns the profile (the debug endpoint's /debug/pprof/profile).
pub fn profile_for(d: std::time::Duration, hz: i32) -> Result<Vec<u8>, Error> {
    start(hz)?;
    std::thread::sleep(d);
    stop()?;
    last_profile().ok_or(Error::Invalid)
}
