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
//! Map of the crate (DESIGN.md has the why), in layers, each naming only those below it
//! (core/tests/layering.rs fails on a cycle):
//! 1. `loom`, `handshake`, `reason`, `hooks`, `maxprocs`, `clock`: atomics, the park/ready
//!    handshake, wait reasons, the hook points upper layers listen on, CPU limits, the
//!    monotonic clock and deadlines;
//! 2. `park`: the Waiter every blocking operation waits through;
//! 3. `goroutine/`: the G record, spawn, park/ready, defer/exit; `stack/`: goroutine stacks
//!    carved from guarded slabs;
//! 4. `sched/`: workers (OS threads), run queues, stealing, idle parking, sysmon hand-off,
//!    the timer heap; it installs its functions into the goroutine layer when it starts;
//!    `netpoll/`: goroutine-aware I/O (epoll, a record per fd), which idle workers block in;
//! 5. `chan/`: channels as sources of a wait (state, try, register, close);
//! 6. `wait/`: the one wait protocol (try, register, unregister), the blocking and the
//!    event-loop waits, channel send and receive, the event-loop bridge, the typed select;
//! 7. `select`, `sync/` (WaitGroup, Mutex), `time/` (sleep, after, tickers), `pool`,
//!    `context/` (cancellation scopes with deadlines and the error group, as Go's context
//!    and errgroup); `io/`: read, write, accept, dial and listen that wait on the poller;
//! 8. `trace/`: dumps, profiles, leak reports; it hears of events through `hooks`.
//!
//! Lock order (never hold two of one kind except as said): channel locks, several only in
//! `select` and then in address order; then a WaitGroup's or Mutex's waiter list; then the
//! timer map; then the idle-worker list. An fd record's lock (`netpoll`) is taken alone. No lock
//! is ever held across a goroutine switch.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod chan;
pub mod clock;
pub mod context;
pub mod goroutine;
pub mod handshake;
mod hooks;
pub mod io;
mod loom;
pub mod maxprocs;
pub mod netpoll;
pub mod park;
pub mod pool;
pub mod reason;
pub mod sched;
pub mod select;
pub mod stack;
pub mod sync;
pub mod time;
pub mod trace;
pub mod wait;

pub use chan::{Chan, RawChan};
pub use goroutine::{current_id, defer, exit, num_goroutine, yield_now, Body, SpawnOpts};
pub use park::{Outcome, Waiter};
pub use select::{select, select_async};
pub use time::{now_ns, sleep, Deadline, Ticker};
pub use wait::{wait_async, Case, Op, Pending, Source, Started};

pub(crate) use sched::rand;

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
    /// The context the call was given was cancelled first (nothing was consumed or sent).
    Cancelled,
    /// The context the call was given passed its deadline first (nothing consumed or sent).
    DeadlineExceeded,
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
            Error::Cancelled => "context cancelled",
            Error::DeadlineExceeded => "context deadline exceeded",
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
    wait::block::run(Body::Rust(Box::new(f)), &SpawnOpts::default())
}
