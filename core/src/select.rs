//! Select over any mix of channel sends and receives (and any other `wait::Source`), as Go's
//! select: a wait with many cases. The protocol (random choice among ready cases, register
//! then re-check, exactly one case completes) is wait/mod.rs; this is its Go-shaped name.

pub use crate::wait::{wait_async as select_async, Case, Op, Pending, Started};

use crate::clock::Deadline;
use crate::Error;

/// Runs a select. Ok((index, ok)) for the case that completed (`ok` false when it completed
/// because its channel was closed); Err(WouldBlock) when `deadline` is NoWait and nothing is
/// ready; Err(TimedOut) when the deadline passed. No cases that can ever be ready, with no
/// deadline, blocks for good (`select {}`).
///
/// # Safety
/// Each channel case's pointer is valid for its channel's elem_size bytes (readable for a
/// send, writable for a receive, or null to drop a received value) until this returns.
pub unsafe fn select(cases: &[Case<'_>], deadline: Deadline) -> Result<(usize, bool), Error> {
    // SAFETY: the caller's contract.
    unsafe { crate::wait::wait(cases, deadline, None) }
}
