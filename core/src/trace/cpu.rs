//! The CPU profile: where goroutines spend CPU time, by their stacks (their functions). No
//! signals are used, so the host's own SIGPROF and timer handlers are left alone: a thread of
//! the profiler's own wakes `hz` times a second, reads each worker thread's CPU clock, and
//! charges the CPU the worker used since the last tick to the goroutine running on it at
//! that moment (or to the scheduler when none is), as a statistical profiler does. Off, it
//! costs nothing: workers always publish what the goroutine they run runs (one store a
//! switch, as a number: the sampler never touches a goroutine's record).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::Frame;
use crate::Error;

struct Running {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u8>>,
}

static RUNNING: Mutex<Option<Running>> = Mutex::new(None);
static LAST: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// Starts profiling at `hz` samples a second (1..=1000; 100 is usual). Err(Invalid) for a bad
/// rate, Err(WouldBlock) when one already runs.
pub fn start(hz: i32) -> Result<(), Error> {
    if !(1..=1000).contains(&hz) {
        return Err(Error::Invalid);
    }
    let mut r = RUNNING.lock();
    if r.is_some() {
        return Err(Error::WouldBlock);
    }
    crate::sched::init();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let thread = std::thread::Builder::new()
        .name("goro-cpu-profile".into())
        .spawn(move || sample(hz, &s))
        .map_err(|_| Error::NoMemory)?;
    *r = Some(Running { stop, thread });
    Ok(())
}

/// Stops profiling; `last_profile` then gives it. Err(Invalid) if none runs.
pub fn stop() -> Result<(), Error> {
    let r = RUNNING.lock().take().ok_or(Error::Invalid)?;
    r.stop.store(true, Ordering::Relaxed);
    let p = r.thread.join().map_err(|_| Error::Invalid)?;
    *LAST.lock() = Some(p);
    Ok(())
}

/// The profile of the last `start`..`stop`, gzipped pprof.
pub fn last_profile() -> Option<Vec<u8>> {
    LAST.lock().clone()
}

/// Profiles for `d` and returns the profile (the debug endpoint's /debug/pprof/profile).
pub fn profile_for(d: Duration, hz: i32) -> Result<Vec<u8>, Error> {
    start(hz)?;
    std::thread::sleep(d);
    stop()?;
    last_profile().ok_or(Error::Invalid)
}

fn sample(hz: i32, stop: &AtomicBool) -> Vec<u8> {
    let period = 1_000_000_000 / hz as i64;
    let begin = crate::now_ns();
    let mut last: HashMap<usize, i64> = HashMap::new();
    let mut by_stack: HashMap<Vec<Frame>, (i64, i64)> = HashMap::new();
    let scheduler = vec![Frame::new("goro.scheduler", "", 0)];
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_nanos(period as u64));
        let s = crate::sched::sched();
        for m in (0..s.nworkers()).filter_map(|id| s.worker(id)) {
            let clock = m.cpu_clock.load(Ordering::Acquire);
            let running = m.running.load(Ordering::Relaxed);
            let Some(now) = crate::sched::sysmon::thread_cpu_ns(clock) else {
                continue;
            };
            let used = last.insert(m.id, now).map_or(0, |prev| now - prev);
            if used <= 0 {
                continue;
            }
            let stack = match super::func_of_key(running) {
                Some(f) => vec![f],
                None => scheduler.clone(),
            };
            let e = by_stack.entry(stack).or_default();
            e.0 += 1;
            e.1 += used;
        }
    }
    let mut b = super::pprof::Builder::new(
        &[("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        period,
    );
    b.set_duration(crate::now_ns() - begin);
    for (stack, (n, ns)) in by_stack {
        b.add(&stack, &[n, ns], &[]);
    }
    b.finish()
}
