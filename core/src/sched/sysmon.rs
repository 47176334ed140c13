//! Sysmon: the monitor thread, as Go's. It runs no goroutines. Its jobs:
//!
//! 1. Hand-off. A goroutine stuck in a foreign call (a blocking read, a C library, Python code
//!    holding the thread) keeps its worker from the scheduler. When a worker has not come back
//!    to schedule for a while, uses no CPU (so it is blocked, not computing), and goroutines
//!    wait in a queue, sysmon revokes its token and wakes another worker, which steals the
//!    stuck worker's queue. The stuck worker finds out when its goroutine switches out.
//!    `blocking_begin` does the same at once, up front. How long a worker has been in its
//!    goroutine is dated by the stamp it took when it resumed it (`MShared::run_start`), so the
//!    first look that finds it stuck can start judging; while it is judged with goroutines
//!    waiting, the next look comes BLOCKED_NS later, not at the back-off's pace (W10 in
//!    benches/: 20-30 ms without a round trip before, 8 ms median after; Go 3 ms). A goroutine
//!    that is computing is first asked to yield at its next goro call (cooperative
//!    preemption), and handed off only if it makes none for long: handing off a computing
//!    goroutine puts more threads than CPUs to work, which slows everyone.
//! 2. Scavenging: idle stack memory goes back to the kernel about once a second.
//! 3. Late timers: if every worker is busy, nobody reaches a schedule point to run due timers;
//!    sysmon runs those overdue by more than a millisecond.
//! 4. The netpoller: if no worker has polled for 10 ms (all busy), sysmon polls (poll.rs).
//! 5. A stranded run-next goroutine: one woken into a worker's run-next slot wakes no other
//!    worker (runq.rs `put`), since it runs there as soon as its waker blocks. If the waker
//!    computes on instead (the slot stays occupied and the worker's schedule count stands
//!    still for RUNNEXT_GRACE_NS), sysmon starts a spinner, which takes it (worker.rs `spin`).
//!
//! It polls every SYSMON_MIN_DELAY while it finds something to do, backing off to
//! SYSMON_MAX_DELAY when idle (`policy.rs` has the figures and their sources); a `poke`
//! interrupts a long sleep for a few close looks.
//!
//! Rejected: a poke that restarts the back-off from SYSMON_MIN_DELAY (what goro did until
//! session 12): in a busy program every wake with all tokens held pokes, so sysmon never
//! backed off (7,800 wakes a second in W3, W7 and W8, 5,800 per process in W11-10K), each
//! a context switch that takes a CPU from a worker once both are busy.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::Duration;

use super::policy::{
    BLOCKED_NS, COMPUTE_HANDOFF_NS, COMPUTING_CPU_SHARE, FIRST_LOOK_STUCK_NS, LATE_TIMER_NS,
    PREEMPT_NS, RUNNEXT_GRACE_NS, SCAVENGE_NS, SYSMON_DEEP, SYSMON_MAX_DELAY, SYSMON_MIN_DELAY,
    SYSMON_POKE_LOOKS, SYSMON_QUIET_LOOKS,
};
use super::{idle, sched, PH_REVOKED, PH_RUNNING};
use crate::clock::now_ns;

/// What sysmon last saw of a worker.
#[derive(Clone, Copy)]
struct Seen {
    /// Its schedule count.
    tick: u64,
    /// When that count was first seen.
    since: i64,
    /// When the worker says it resumed the goroutine it runs (`MShared::run_start`), but
    /// never before the look that last saw another count: an earlier estimate of `since`,
    /// known at the first look. Only to start judging sooner (job 1); time slices and the
    /// compute hand-off still count from `since`, since the stamp may be as old as a sysmon
    /// period when the worker had no reason to note the clock.
    started: i64,
    /// Its thread's CPU time at the last look (-1: none yet).
    cpu: i64,
    /// When that last look was.
    at: i64,
}

/// Whether the thread is running or runnable ('R' in /proc), as opposed to sleeping in the
/// kernel (a blocking call). Read only for a worker that already looks blocked.
fn thread_runnable(tid: i32) -> bool {
    if tid <= 0 {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
        return false;
    };
    // "tid (comm) S ...": the state follows the last ')' (comm may hold spaces or parens).
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].trim_start().chars().next())
        == Some('R')
}

/// A thread's CPU time (ns) through its clock id; None once the thread is gone. Also read by
/// the CPU profile (trace/cpu.rs).
pub(crate) fn thread_cpu_ns(clock: i64) -> Option<i64> {
    crate::clock::clock_ns(libc::clockid_t::try_from(clock).ok()?)
}

static THREAD: OnceLock<std::thread::Thread> = OnceLock::new();
/// Set while sysmon sleeps long (backed off): a waker with no token to give may then `poke` it.
static DEEP_SLEEP: AtomicBool = AtomicBool::new(false);

pub(crate) fn start() {
    let t = std::thread::Builder::new()
        .name("goro-sysmon".into())
        .stack_size(256 * 1024)
        .spawn(run)
        .expect("goro: cannot start the sysmon thread");
    let _ = THREAD.set(t.thread().clone());
}

/// A goroutine became runnable but every token is held (or it waits alone in a run-next
/// slot, runq.rs `put`): if sysmon is backed off, have it look now, so a worker blocked in a
/// foreign call is handed off in microseconds, not after its 10 ms sleep. A poke buys a few
/// close looks; when they find nothing, the next deep sleep ignores pokes (`run`), so a busy
/// program, whose wakers poke all the time, wakes sysmon about once per SYSMON_MAX_DELAY, as
/// Go's sysmon sleeps, and not every SYSMON_MIN_DELAY (W11-10K, two busy processes on two
/// CPUs: 48,600 sysmon sleeps and 102,000 context switches before, 13,700 and 44,600 after;
/// benches/RESULTS.md, session 12).
pub(crate) fn poke() {
    if DEEP_SLEEP.load(Ordering::Relaxed) && DEEP_SLEEP.swap(false, Ordering::AcqRel) {
        if let Some(t) = THREAD.get() {
            t.unpark();
        }
    }
}

fn run() {
    let s = sched();
    let mut delay = SYSMON_MIN_DELAY;
    let mut quiet = 0u32;
    // Per worker: the schedule count last seen and when it was first seen.
    let mut seen: HashMap<usize, Seen> = HashMap::new();
    let mut last_scavenge = now_ns();
    // A poke buys a burst of close looks, then the back-off it interrupted goes on. A burst
    // that found nothing to do (a false alarm: in a busy program every waker that finds all
    // tokens held pokes) makes the next deep sleep deaf to pokes, so that they cannot keep
    // sysmon looking every SYSMON_MIN_DELAY for nothing.
    let mut burst = 0u32;
    let mut burst_acted = false;
    let mut deaf = false;
    // A worker that looks blocked while goroutines wait, not yet judged: look again in
    // BLOCKED_NS, not at the back-off's pace (see `judging` below).
    let mut judging = false;
    loop {
        let d = if judging {
            Duration::from_nanos(BLOCKED_NS as u64)
        } else if burst > 0 {
            SYSMON_MIN_DELAY
        } else {
            delay
        };
        judging = false;
        if d < SYSMON_DEEP {
            std::thread::sleep(d);
        } else if deaf {
            deaf = false;
            std::thread::sleep(d);
        } else {
            DEEP_SLEEP.store(true, Ordering::Release);
            std::thread::park_timeout(d);
            if !DEEP_SLEEP.swap(false, Ordering::AcqRel) {
                // Poked (or a spurious wake).
                burst = SYSMON_POKE_LOOKS;
                burst_acted = false;
            }
        }
        let now = crate::clock::note_now(now_ns()); // the stamp parks take (clock.rs)
        if now - last_scavenge > SCAVENGE_NS {
            crate::stack::scavenge();
            last_scavenge = now;
        }
        let mut acted = false;
        if s.timers.next() <= now - LATE_TIMER_NS {
            s.timers.run_due(now);
            acted = true;
        }
        // 4. The netpoller, when no worker has polled for long (sched/poll.rs step 4).
        if super::poll::sysmon_poll(now) {
            acted = true;
        }
        for id in 0..s.nworkers() {
            let Some(m) = s.worker(id) else { continue };
            let tick = m.tick.load(Ordering::Acquire);
            let run_start = m.run_start.load(Ordering::Relaxed);
            // A worker not seen before counts as moved (a count it cannot have, no look yet).
            let e = seen.entry(id).or_insert(Seen {
                tick: tick.wrapping_add(1),
                since: now,
                started: now,
                cpu: -1,
                at: 0,
            });
            if e.tick != tick {
                *e = Seen {
                    tick,
                    since: now,
                    started: run_start.max(e.at).min(now),
                    cpu: -1,
                    at: now,
                };
            }
            // 5. Its run-next goroutine waits behind one that does not block: start a spinner
            // to take it. With every token held nobody could (a blocked holder is job 1's), and
            // counting that as work done would keep sysmon looking closely in any busy program.
            if now - e.since >= RUNNEXT_GRACE_NS
                && !m.runnext.is_empty()
                && s.active.load(Ordering::Relaxed) < s.maxprocs.load(Ordering::Relaxed)
            {
                idle::wakep();
                acted = true;
            }
            // Stuck long enough to judge: seen so across looks, or so by the worker's stamp,
            // trusted past a bound above its staleness (RECENT_GRAIN_NS) that no goroutine
            // switching at a normal pace reaches (else a busy ping-pong would keep sysmon
            // judging every BLOCKED_NS).
            let stuck = now - e.since >= BLOCKED_NS || now - e.started >= FIRST_LOOK_STUCK_NS;
            if m.phase.load(Ordering::Acquire) != PH_RUNNING || !stuck {
                continue;
            }
            // Blocked in a foreign call, or computing? Compare its thread's CPU time with the
            // wall time since the last look: a thread in a blocking call uses (almost) none,
            // while a computing one that the OS preempted now and then still uses plenty.
            let cpu = thread_cpu_ns(m.cpu_clock.load(Ordering::Acquire));
            let judged = match (cpu, e.cpu) {
                // Little CPU used: blocked, unless the thread is runnable and merely waiting
                // for a CPU (preempted by the OS, or its virtual CPU by the host).
                (Some(c), p) if p >= 0 && now - e.at >= BLOCKED_NS => Some(
                    (c - p) * COMPUTING_CPU_SHARE > now - e.at
                        || thread_runnable(m.tid.load(Ordering::Relaxed)),
                ),
                (Some(_), p) if p >= 0 => None, // too short a window to judge yet
                _ => {
                    // First look: decide next time.
                    e.cpu = cpu.unwrap_or(-1);
                    e.at = now;
                    None
                }
            };
            let Some(computing) = judged else {
                // Not judged yet: look again soon if goroutines wait. At the back-off's pace
                // (10 ms in a busy program) a hand-off took two to three looks, 20-30 ms (W10
                // in benches/: no round trip at all for the first 20-30 ms of its 300 ms
                // window; session 13).
                judging |= s.work_queued();
                continue;
            };
            e.cpu = cpu.unwrap_or(-1);
            e.at = now;
            let ran = now - e.since;
            if computing && ran >= PREEMPT_NS && super::request_preempt(m) {
                acted = true;
            }
            let hand_off = if computing {
                ran >= COMPUTE_HANDOFF_NS
            } else {
                true
            };
            if hand_off
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
        if burst > 0 {
            burst -= 1;
            burst_acted |= acted;
            deaf = burst == 0 && !burst_acted;
        }
        if acted {
            delay = SYSMON_MIN_DELAY;
            quiet = 0;
        } else if burst == 0 {
            quiet += 1;
            if quiet > SYSMON_QUIET_LOOKS {
                delay = (delay * 2).min(SYSMON_MAX_DELAY);
            }
        }
    }
}
