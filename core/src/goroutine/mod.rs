//! Goroutines: the record (G), how one starts, parks, is made ready and ends.
//!
//! The layer sits above the Waiter (`park`) and beside `stack`, below the scheduler: it knows
//! how to make a goroutine and switch it in and out, and reaches the scheduler only through
//! the table the scheduler installs (`scheduler.rs`), except to start the runtime (`spawn`).
//! The mechanisms, a file each:
//! - `record.rs`: the G record, field by field, with who may touch each; `Body`, `SpawnOpts`;
//! - `spawn.rs`: making a goroutine and handing it to the scheduler; `run`;
//! - `switch.rs`: park and ready (the handshake of `handshake.rs`), resume, yield;
//! - `exit.rs`: defer, exit, and freeing a finished goroutine;
//! - `readers.rs`: reading records from other threads, and retiring them safely;
//! - `origin.rs`: what a goroutine runs and where it was started (`Func`, `Site`, `Frame`);
//! - `panic.rs`: panic and stack overflow reports;
//! - `scheduler.rs`: the scheduler's table of functions.
//!
//! Wait reasons are in `crate::reason` (below the Waiter, which names them) and re-exported
//! here as `goroutine::WaitReason`.
//!
//! Rejected: one file for all of it (533 lines of seven mechanisms: what changed with what
//! was impossible to see), and the scheduler owning the record (it would tie the Waiter and
//! the stacks, which need the record, to the whole scheduler).

mod exit;
mod origin;
mod panic;
mod readers;
mod record;
mod scheduler;
mod spawn;
mod switch;

pub use crate::reason::WaitReason;
pub use exit::{defer, defer_c, exit};
pub(crate) use origin::func_of_key;
pub use origin::{Frame, Func, Site};
pub use panic::panic_message;
pub(crate) use panic::{describe_for_signal, report_panic};
pub(crate) use readers::for_each_g;
pub(crate) use record::next_id;
pub(crate) use record::GROUP_HOME;
pub use record::{num_goroutine, Body, CFn, GPtr, SpawnOpts, G, PIN_GROUPS};
pub(crate) use scheduler::{install_scheduler, Scheduler};
pub use spawn::spawn;
pub(crate) use spawn::spawn_then;
pub use switch::{current, current_id, yield_now};
pub(crate) use switch::{park, ready, resume, Ran};
