//! Seeing inside: goroutine dumps, pprof profiles (goroutine, block, mutex, CPU), leak reports
//! and counters. Everything here is off the fast paths: with profiling off, a wait pays one
//! relaxed load (`hooks::waits_watched`), a switch one store (what the worker runs, for the
//! CPU profile), a spawn nothing, and an exit one store and one load (the reader handshake
//! of `goroutine/readers.rs`).
//!
//! Trace is the top layer: it reads goroutines, channels, stacks and the scheduler, and none
//! of them names it. It hears of events through `crate::hooks` (channels made, waits begun
//! and ended); the scheduler calls `init_from_env` when the runtime starts.
//!
//! Files: `registry.rs` every live goroutine (and Node's JS tasks), `symbol.rs` addresses to
//! names, `cpu.rs` the CPU profile, `block.rs` the block and mutex profiles, `pprof.rs` the
//! protobuf encoding, `dump.rs` the text dump, `leak.rs` the leak report, `row.rs` a goroutine as the
//! bindings hand it out, `http.rs` the debug endpoint.

pub mod block;
pub mod cpu;
pub mod dump;
pub mod http;
pub mod leak;
pub mod pprof;
pub mod registry;
pub mod row;
pub mod symbol;

pub use crate::goroutine::{Frame, Func, Site};

/// A frame not yet resolved: native return addresses are named only when a report is made.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RawFrame {
    /// A code address in this process.
    Addr(usize),
    /// Already named (host-language frames).
    Named(Frame),
}

/// The frame a goroutine's `func_key` stands for (None for 0: no goroutine).
pub(crate) fn func_of_key(k: usize) -> Option<Frame> {
    crate::goroutine::func_of_key(k).map(|f| match f {
        Func::Unknown => Frame::new("(unknown goroutine)", "", 0),
        Func::Named(fr) => fr,
        Func::Addr(a) => symbol::resolve_function(a),
    })
}

/// Runtime counters (see `counters`).
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Goroutines alive (JS tasks of the Node layer not included).
    pub goroutines: i64,
    /// Worker threads created so far.
    pub workers: usize,
    /// Workers holding a GOMAXPROCS token now.
    pub active_workers: usize,
    /// Spare threads lent by sysmon when a worker was stuck in a foreign call.
    pub handoffs: u64,
    /// Goroutine switches (each time a worker resumed a goroutine).
    pub switches: u64,
    /// Times a goroutine parked.
    pub parks: u64,
    /// Goroutines taken from another worker's queue.
    pub steals: u64,
    /// Bytes of address space reserved for goroutine stacks (committed only as touched).
    pub stack_reserved_bytes: usize,
    /// Pending timers.
    pub timers: usize,
}

/// Reads the runtime counters.
pub fn counters() -> Counters {
    let s = crate::sched::stats();
    Counters {
        goroutines: crate::num_goroutine(),
        workers: s.workers,
        active_workers: s.active,
        handoffs: s.handoffs,
        switches: s.switches,
        parks: s.parks,
        steals: s.steals,
        stack_reserved_bytes: crate::stack::reserved_bytes(),
        timers: s.timers,
    }
}

/// Reads the environment once, at start: GORO_TRACEBACK=1 records where goroutines wait (for
/// dumps), GORO_DUMP_SIGNAL=SIGUSR1 (or SIGQUIT, or a number) prints a dump to stderr on that
/// signal, GORO_DEBUG_ADDR=127.0.0.1:6060 starts the debug endpoint.
pub(crate) fn init_from_env() {
    block::init_from_env();
    if let Ok(sig) = std::env::var("GORO_DUMP_SIGNAL") {
        if let Err(e) = dump::on_signal(&sig) {
            eprintln!("goro: GORO_DUMP_SIGNAL={sig}: {e}");
        }
    }
    if let Ok(addr) = std::env::var("GORO_DEBUG_ADDR") {
        match http::serve(&addr) {
            Ok(a) => eprintln!("goro: debug endpoint on http://{a}/debug/pprof/"),
            Err(e) => eprintln!("goro: GORO_DEBUG_ADDR={addr}: {e}"),
        }
    }
}

/// A profile in pprof's format (gzipped protobuf), as Go writes it: "goroutine" (count by
/// stack), "goroutineleak" (the same, of the leaked goroutines: leak.rs), "block" and
/// "mutex" (contentions and delay by stack, since their rate was set),
/// "cpu" (the last CPU profile stopped). Err(Invalid) for another kind, Err(WouldBlock) for
/// "cpu" before any CPU profile was stopped.
pub fn profile(kind: &str) -> Result<Vec<u8>, crate::Error> {
    match kind {
        "goroutine" => Ok(goroutine_profile(registry::snapshot())),
        "goroutineleak" => Ok(goroutineleak_profile(&[])),
        "block" => Ok(contention_profile(&block::BLOCK_PROFILE)),
        "mutex" => Ok(contention_profile(&block::MUTEX_PROFILE)),
        "cpu" => cpu::last_profile().ok_or(crate::Error::WouldBlock),
        _ => Err(crate::Error::Invalid),
    }
}

/// The goroutineleak profile: the goroutines `leak::leaked` finds, and the host's own
/// goroutines with ids in `also` (Node's go() tasks whose wait its garbage collector took).
pub fn goroutineleak_profile(also: &[u64]) -> Vec<u8> {
    let mut gs = leak::leaked();
    if !also.is_empty() {
        let found: Vec<u64> = gs.iter().map(|g| g.id).collect();
        gs.extend(
            registry::snapshot()
                .into_iter()
                .filter(|g| also.contains(&g.id) && !found.contains(&g.id)),
        );
    }
    goroutine_profile(gs)
}

/// The goroutine profile of `gs` (every goroutine, or the leaked ones: Go's goroutineleak
/// profile has the goroutine profile's form).
fn goroutine_profile(gs: Vec<registry::GoroutineInfo>) -> Vec<u8> {
    let now = now_ns();
    let mut groups: std::collections::HashMap<(Vec<Frame>, String), i64> =
        std::collections::HashMap::new();
    for g in gs {
        let state = match &g.state {
            registry::State::Waiting(r, _) => r.as_str().to_string(),
            _ => dump::state_text(&g, now),
        };
        *groups.entry((dump::stack_of(&g), state)).or_default() += 1;
    }
    let mut b = pprof::Builder::new(&[("goroutine", "count")], ("goroutine", "count"), 1);
    for ((stack, state), n) in groups {
        b.add(&stack, &[n], &[("state", &state)]);
    }
    b.finish()
}

fn contention_profile(c: &block::Contention) -> Vec<u8> {
    let mut b = pprof::Builder::new(
        &[("contentions", "count"), ("delay", "nanoseconds")],
        ("contentions", "count"),
        1,
    );
    let mut merged: std::collections::HashMap<Vec<Frame>, (i64, i64)> =
        std::collections::HashMap::new();
    for (raw, n, delay) in c.samples() {
        let e = merged.entry(symbol::resolve_stack(&raw)).or_default();
        e.0 += n;
        e.1 += delay;
    }
    for (stack, (n, delay)) in merged {
        b.add(&stack, &[n, delay], &[]);
    }
    b.finish()
}

use crate::now_ns;
