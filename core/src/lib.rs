//! goro-core: goroutines, channels and select for C, Python and Node, in one Rust runtime.
//!
//! ```
//! use goro_core::{go, Chan};
//! let ch = Chan::<u64>::new(0).unwrap();
//! let tx = ch.clone();
//! go(move || { tx.send(42).unwrap(); }).unwrap();
//! assert_eq!(ch.recv(), Some(42));
//! ```
//!
//! Map of the crate (DESIGN.md has the why):
//! - `sched/`: workers (OS threads), run queues, stealing, idle parking, sysmon hand-off;
//! - `stack/`: goroutine stacks carved from guarded slabs; `goroutine`: the G record,
//!   park/ready; `park`: the Waiter every blocking operation waits through;
//! - `chan/`, `select`: channels and select; `time/`: timers, sleep, after, tickers;
//! - `netpoll/`: goroutine-aware I/O (epoll, a record per fd), joined to `sched/`;
//! - `sync/`: WaitGroup and Mutex; `pool`: the worker pool; `maxprocs`: CPU limits.
//!
//! Lock order (never hold two of one kind except as said): channel locks, several only in
//! `select` and then in address order; then a WaitGroup's or Mutex's waiter list; then the
//! timer map; then the idle-worker list. An fd record's lock (`netpoll`) is taken alone. No lock
//! is ever held across a goroutine switch.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod chan;
pub mod goroutine;
pub mod handshake;
mod loom;
pub mod maxprocs;
pub mod netpoll;
pub mod park;
pub mod pool;
pub mod sched;
pub mod select;
pub mod stack;
pub mod sync;
pub mod time;
pub mod trace;

pub use chan::{Chan, RawChan};
pub use goroutine::{current_id, defer, exit, num_goroutine, yield_now, Body, SpawnOpts};
pub use park::{Outcome, Waiter};
pub use select::{select, select_async, Case, Op, Pending, Started};
pub use time::{now_ns, sleep, Deadline, Ticker};

/// Errors of blocking operations, as the C status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The channel (or pool) is closed.
    Closed,
    /// The deadline passed.
    TimedOut,
    /// It would have to wait, and was asked not to.
    WouldBlock,
    /// A bad argument, or misuse Go would panic on (a counter below zero, unlocking an
    /// unlocked mutex).
    Invalid,
    /// Out of memory (or address space, or map count).
    NoMemory,
    /// The host is shutting down.
    Shutdown,
    /// The wait was interrupted (a signal, a cancelled future).
    Interrupted,
}

impl Error {
    pub(crate) fn from_outcome(o: Outcome) -> Error {
        match o {
            Outcome::TimedOut => Error::TimedOut,
            Outcome::Interrupted => Error::Interrupted,
            Outcome::Case { .. } => unreachable!("a completed case is not an error"),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::Closed => "channel closed",
            Error::TimedOut => "timed out",
            Error::WouldBlock => "operation would block",
            Error::Invalid => "invalid argument",
            Error::NoMemory => "out of memory",
            Error::Shutdown => "runtime shutting down",
            Error::Interrupted => "interrupted",
        })
    }
}

impl std::error::Error for Error {}

/// Starts a goroutine running `f`.
#[track_caller]
pub fn go(f: impl FnOnce() + Send + 'static) -> Result<u64, Error> {
    goroutine::spawn(Body::Rust(Box::new(f)), &SpawnOpts::default())
}

/// Runs `f` as a goroutine and blocks until it has ended.
#[track_caller]
pub fn run(f: impl FnOnce() + Send + 'static) -> Result<(), Error> {
    goroutine::run(Body::Rust(Box::new(f)), &SpawnOpts::default())
}

/// Cheap randomness: the worker's own generator on a worker, a thread-local one elsewhere.
/// Never inlined (the TLS trap).
#[inline(never)]
pub(crate) fn rand() -> u64 {
    if let Some(m) = sched::current_m() {
        return m.rand();
    }
    thread_local! {
        static RNG: std::cell::Cell<u64> = std::cell::Cell::new(0);
    }
    RNG.with(|r| {
        let mut x = r.get();
        if x == 0 {
            x = (r as *const _ as u64) ^ time::now_ns() as u64 | 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}
