//! Every tuning number of the scheduler, with what set it. Mechanism files (`runq.rs`,
//! `idle.rs`, `worker.rs`, `sysmon.rs`) name these and hold no figures of their own.
//!
//! Each entry says where its value came from: a workload of benches/ (BENCHMARKS.md) measured
//! on these machines, the commit that measured it (`git show <hash>` has the figures), or Go's
//! runtime (src/runtime/proc.go) when goro took Go's value unmeasured. A number marked "not
//! measured" is a candidate for benches/ab, not a finding.
//!
//! Elsewhere, outside the scheduler: the stack allocator's numbers are in `stack/config.rs`;
//! the channel lock's backoff (at most 2^5 = 32 pauses between looks, 200 rounds before
//! yielding) is in `chan/lock.rs`, set by commit 27f879b (W4 +22-29% at P=2 against 8
//! pauses, W3 +5%, W5 +11%, W2 and W8 even), and belongs here once that file can move.
//!
//! Rejected: tuning numbers as runtime knobs (environment variables): nobody could tell which
//! combination a bug report ran with, and Go exposes none of these either.

use std::time::Duration;

// ---- Waiting threads (wait/block.rs) ----

/// How long a plain OS thread (a C main thread, Python's main thread) waiting on a goro
/// operation looks at its waiter before it sleeps. Its partner is usually a goroutine that
/// answers within microseconds, and sleeping costs a futex wake of ~35 µs on these machines
/// (BENCHMARKS.md): the same reason workers spin (SPIN_NS). Set with benches/python W2 with
/// the player on the main thread: 43 µs per round trip without it.
pub(crate) const THREAD_WAIT_SPIN_NS: i64 = 50_000;

/// The longest a thread waiting for Python's GIL spins before it sleeps in CPython's own
/// wait (wait/block.rs `AdaptiveSpin`; it starts at THREAD_WAIT_SPIN_NS and adapts). Below
/// CPython's switch interval (5 ms), since a spinner does not ask the holder to let go.
/// Set with benches/python W3 and W8 from the main thread, whose holders keep the GIL for
/// 100-700 µs a batch (figures in the commit that set it).
pub const GIL_SPIN_MAX_NS: i64 = 2_000_000;

// ---- Finding work (worker.rs, runq.rs) ----

/// Every this many schedules a worker looks at the global queue before its own, so queued
/// goroutines cannot starve behind two that keep waking each other. Go's value (proc.go,
/// findRunnable: `pp.schedtick%61 == 0`); goro took it with the first scheduler (5e3529d),
/// not measured here.
pub(crate) const GLOBAL_QUEUE_EVERY: u64 = 61;

/// A worker with no timers pending reads the clock every STAMP_EVERY-th schedule, for the
/// stamp a park takes (clock.rs `recent_ns`): so a busy worker's stamp is a few microseconds
/// old (64 hops of W7: about 7 µs) at a clock read's cost spread over 64 schedules, where one
/// at every park cost 8-9% of a hop. Not tuned beyond that.
pub(crate) const STAMP_EVERY: u64 = 64;

/// How long a worker with nothing to do keeps looking before it sleeps. Waking a sleeping
/// thread costs ~35 µs on these machines (BENCHMARKS.md), so a hand-off between workers is
/// only fast if the receiver is still spinning; W2 and W3 in benches/ set this figure (first
/// scheduler, 5e3529d).
pub(crate) const SPIN_NS: i64 = 50_000;

/// `spin_loop` hints between two looks of a spinning worker at the other queues: a pause so
/// that spinners do not hammer the victims' queue lines. Not measured: picked with the first
/// scheduler (5e3529d); at a few ns per hint it keeps a look every few hundred ns.
pub(crate) const SPIN_PAUSES: u32 = 64;

/// Whether `spinners` spinning workers are already enough for `busy` workers holding a token:
/// at most half spin, so spinning cannot eat the CPUs that have work. Go's rule (proc.go,
/// findRunnable: `2*sched.nmspinning.Load() >= gomaxprocs-sched.npidle.Load()`), not measured
/// here.
#[inline]
pub(crate) fn enough_spinners(spinners: usize, busy: usize) -> bool {
    2 * spinners >= busy.max(1)
}

/// How long a worker may go without scheduling before a spinning worker takes the goroutine
/// in its run-next slot.
///
/// A goroutine woken by a channel operation waits in its waker's run-next slot, to run on
/// the same worker when the waker blocks. For a producer and a consumer on a buffered
/// channel, "when the waker blocks" is when the buffer is full: a thousand sends, some tens
/// of microseconds. Taking the consumer sooner (1 µs, or Go's 3 µs) splits the pair across
/// two CPUs, where every operation fights over the channel's cache lines: W3 in benches/
/// runs at about half the speed (22 against 40-48 M msg/s here; commit bee749e: W3 15.7 ->
/// 42.4 M msg/s at P=2, W4 19.5 -> 21.3, W2/W7 within noise). What a longer grace costs is
/// latency, not throughput: a woken goroutine whose waker keeps computing without blocking
/// starts up to this much later on another worker (once per wake; in a pipeline whose
/// consumer keeps up, it is woken rarely). Kept below SPIN_NS, so a spinning worker still
/// takes it before it gives up and sleeps. Such a wake starts no spinner (runq.rs `put`):
/// sysmon starts one once the slot has waited this long (sysmon.rs, job 5).
pub(crate) const RUNNEXT_GRACE_NS: i64 = 30_000;
const _: () = assert!(RUNNEXT_GRACE_NS < SPIN_NS);

// ---- Sysmon (sysmon.rs) ----

/// A worker stuck this long in one goroutine is looked at. One that uses no CPU meanwhile is
/// blocked in a foreign call: its token goes to another worker at the next look (Go retakes a
/// P in a syscall after 20 µs-10 ms; W10 in benches/ checks the hand-off; commit 44ff78a).
pub(crate) const BLOCKED_NS: i64 = 50_000;

/// How long a worker's own stamp must say it has run its goroutine (`MShared::run_start`)
/// for sysmon to begin judging it at the first look that sees it stuck, instead of the next
/// (at least BLOCKED_NS later, but 10 ms once sysmon has backed off in a busy program). Far
/// above the stamp's staleness (clock.rs RECENT_GRAIN_NS, 100 µs) and any run between two
/// switches of a goroutine that talks to others. W10 in benches/ (session 13): no round trip
/// for the first 20-30 ms of the window before, 0-7 ms after.
pub(crate) const FIRST_LOOK_STUCK_NS: i64 = 1_000_000;

/// A stuck worker whose thread used more than 1/COMPUTING_CPU_SHARE of the wall time since
/// the last look is computing, not blocked. Set with the CPU-time test itself (44ff78a): a
/// thread preempted by the OS (or its virtual CPU by the host) still shows well over a
/// quarter, a thread in a blocking call almost none.
pub(crate) const COMPUTING_CPU_SHARE: i64 = 4;

/// One computing this long is asked to yield at its next goro call (Go's 10 ms time slice,
/// proc.go forcePreemptNS; 44ff78a).
pub(crate) const PREEMPT_NS: i64 = 10_000_000;

/// One computing this long without a goro call gets its token handed off anyway, so queued
/// goroutines run (at the cost of one more thread than GOMAXPROCS for a while). Five time
/// slices: not measured beyond the tests of 44ff78a (core/tests/preempt.rs).
pub(crate) const COMPUTE_HANDOFF_NS: i64 = 50_000_000;

/// Sysmon runs due timers itself only when they are overdue by more than this (every worker
/// busy, none reaching a schedule point). First scheduler (5e3529d), not measured.
pub(crate) const LATE_TIMER_NS: i64 = 1_000_000;

/// How often idle stack memory is given back (`stack::scavenge`). Set when scavenging moved
/// to sysmon (63447c8): about Go's background scavenger's pace, not measured.
pub(crate) const SCAVENGE_NS: i64 = 1_000_000_000;

/// Sysmon's poll period while it finds something to do, and the most it backs off to when
/// idle: Go's sysmon figures (proc.go: `usleep(delay)`, 20 µs up to 10 ms); they bound
/// hand-off latency without burning a CPU on an idle process.
pub(crate) const SYSMON_MIN_DELAY: Duration = Duration::from_micros(20);
/// See SYSMON_MIN_DELAY.
pub(crate) const SYSMON_MAX_DELAY: Duration = Duration::from_millis(10);

/// Looks that found nothing to do before sysmon starts doubling its delay (Go's sysmon:
/// `if idle > 50 { delay *= 2 }`).
pub(crate) const SYSMON_QUIET_LOOKS: u32 = 50;

/// Sysmon sleeps at least this long count as deep: a waker with no token to give may then
/// `poke` it awake (06b6f10, with the poke; not measured).
pub(crate) const SYSMON_DEEP: Duration = Duration::from_millis(1);

/// Close looks (SYSMON_MIN_DELAY apart) a poke buys before sysmon's back-off goes on: enough
/// to judge a worker that got stuck just now (sysmon.rs needs two looks BLOCKED_NS apart, or
/// RUNNEXT_GRACE_NS for a stranded run-next goroutine). Not measured beyond that.
pub(crate) const SYSMON_POKE_LOOKS: u32 = 6;
