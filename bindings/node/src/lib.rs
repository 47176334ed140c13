//! goro for Node: the native half. Goroutines never run JS; JS waits are Promises settled on
//! their own thread (wake.rs). Channels used inside one JS thread live entirely in JS
//! (lib/chan.js); this crate serves channels shared between threads or fed by goroutines.
//!
//! - `chan.rs`: NativeChan (JS values or fixed-size bytes), share/open tokens;
//! - `wake.rs`: Loop, the per-thread wake path (callback Waiter -> thread-safe function);
//! - `value.rs`: how a JS value travels (primitives as is, the rest v8-serialized);
//! - `status.rs`: the status cell; `runtime.rs`: gomaxprocs, numCpu, numGoroutine, feeders.

#[macro_use]
extern crate napi_derive;

pub mod chan;
pub mod runtime;
pub mod status;
pub mod trace;
pub mod value;
pub mod wake;
