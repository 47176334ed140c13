//! goro for Node: the native half. Goroutines never run JS; JS waits are Promises settled on
//! their own thread (wake.rs). Channels used inside one JS thread live entirely in JS
//! (lib/chan.js); this crate serves channels shared between threads or fed by goroutines.
//!
//! - `chan.rs`: NativeChan (JS values or fixed-size bytes); `sync.rs`: NativeSync (a core
//!   Mutex or WaitGroup); `shared.rs`: what they share across threads, holders, tokens;
//! - `wake.rs`: Loop, the per-thread wake path (callback Waiter -> core Bridge ->
//!   thread-safe function);
//! - `value.rs`: how a JS value travels (primitives as is, the rest v8-serialized);
//! - `status.rs`: every status code JS sees, the status cell, the wait-reason table;
//!   `runtime.rs`: gomaxprocs, numCpu, numGoroutine, feeders.

#[macro_use]
extern crate napi_derive;

pub mod chan;
pub mod runtime;
pub mod shared;
pub mod status;
pub mod sync;
pub mod trace;
pub mod value;
pub mod wake;

/// An error for JS: "goro: msg".
pub(crate) fn err(msg: impl std::fmt::Display) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("goro: {msg}"))
}

/// A bad argument from JS: "goro: msg".
pub(crate) fn invalid(msg: impl std::fmt::Display) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, format!("goro: {msg}"))
}
