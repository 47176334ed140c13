//! Hook points: events the low layers report to the layers above them (`trace`) without
//! naming them. A low layer calls a function here; what happens then is up to whoever
//! installed the hook, or is kept here for them to read.
//!
//! The API, and who calls it:
//! - `chan_created(&Arc<T>)`: by the channel code, once for every shared channel it makes
//!   (`RawChan::new_shared`). The channel is listed weakly; `live_chans()` gives the leak
//!   report (`trace::leak`) every channel still alive.
//! - `waits_watched()`, `wait_begin()`, `wait_end(reason, begun)`: by `Waiter::wait`, around
//!   every wait: `if waits_watched() { let t = wait_begin(); ...wait...; wait_end(reason, t) }`.
//!   `waits_watched` is one relaxed load; the other two call what `trace::block` installed
//!   (the block and mutex profiles, where goroutines wait) with `install_wait_hooks`, and it
//!   turns the watch on and off through `watch_bits()`.
//!
//! This module names nothing above `reason` and `loom`, so every layer may call it.
//!
//! Rejected: channels and the Waiter calling `trace` (a module cycle: trace reads channels
//! and goroutines); a list of subscribers per event (one profiler is all there is, and a
//! list costs a lock or an RCU scheme on every wait); installing the channel hook from trace
//! at start (a channel made before trace starts, as most are, would be missing from leak
//! reports: the list itself has to live here, below the channels).

mod chans;
mod waits;

pub(crate) use chans::{chan_created, live_chans};
#[allow(unused_imports)] // wait_begin, wait_end: see hooks/waits.rs
pub(crate) use waits::{
    install_wait_hooks, wait_begin, wait_end, waits_watched, watch_bits, WaitHooks,
};
