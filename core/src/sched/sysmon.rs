//! Sysmon: the monitor thread, as Go's. It runs no goroutines. Two jobs:
//!
//! 1. Hand-off. A goroutine stuck in a foreign call (a blocking read, a C library, Python code
//!    holding the thread) keeps its worker from the scheduler. When a worker has not come back
//!    to schedule for HANDOFF_NS while goroutines wait in a queue, sysmon revokes its token and
//!    wakes another worker, which steals the stuck worker's queue. The stuck worker finds out
//!    when its goroutine switches out. `blocking_begin` does the same at once, up front.
//! 2. Scavenging: idle stack memory goes back to the kernel about once a second.
//! 3. Late timers: if every worker is busy, nobody reaches a schedule point to run due timers;
//!    sysmon runs those overdue by more than a millisecond.
//!
//! It polls every 20 µs while it finds something to do, backing off to 10 ms when idle (Go's
//! figures: they bound hand-off latency without burning a CPU on an idle process).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{idle, sched, PH_REVOKED, PH_RUNNING};
use crate::time::now_ns;

/// How long a worker may run one goroutine, while others wait, before its token is handed to
/// another worker. Go retakes a P in a syscall after 20 µs-10 ms; W10 in benches/ checks it.
const HANDOFF_NS: i64 = 1_000_000;
/// How often idle stack memory is given back.
const SCAVENGE_NS: i64 = 1_000_000_000;
const MIN_DELAY: Duration = Duration::from_micros(20);
const MAX_DELAY: Duration = Duration::from_millis(10);

pub(crate) fn start() {
    std::thread::Builder::new()
        .name("goro-sysmon".into())
        .stack_size(256 * 1024)
        .spawn(run)
        .expect("goro: cannot start the sysmon thread");
}

fn run() {
    let s = sched();
    let mut delay = MIN_DELAY;
    let mut quiet = 0u32;
    // Per worker: the schedule count last seen and when it was first seen.
    let mut seen: HashMap<usize, (u64, i64)> = HashMap::new();
    let mut last_scavenge = now_ns();
    loop {
        std::thread::sleep(delay);
        let now = now_ns();
        if now - last_scavenge > SCAVENGE_NS {
            crate::stack::scavenge();
            last_scavenge = now;
        }
        let mut acted = false;
        if s.timers.next() <= now - 1_000_000 {
            s.timers.run_due(now);
            acted = true;
        }
        for id in 0..s.nworkers() {
            let Some(m) = s.worker(id) else { continue };
            let tick = m.tick.load(Ordering::Acquire);
            let entry = seen.entry(id).or_insert((tick, now));
            if entry.0 != tick {
                *entry = (tick, now);
                continue;
            }
            if m.phase.load(Ordering::Acquire) == PH_RUNNING
                && now - entry.1 >= HANDOFF_NS
                && s.work_queued()
                && m.phase
                    .compare_exchange(PH_RUNNING, PH_REVOKED, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                s.release_token();
                s.handoffs.fetch_add(1, Ordering::Relaxed);
                idle::wakep();
                acted = true;
            }
        }
        if acted {
            delay = MIN_DELAY;
            quiet = 0;
        } else {
            quiet += 1;
            if quiet > 50 {
                delay = (delay * 2).min(MAX_DELAY);
            }
        }
    }
}
