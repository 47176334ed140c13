//! Runtime queries, and a native goroutine producer (for tests, examples and benches of the
//! "channel fed by goroutines" path).

use std::sync::Arc;

use goro_core::{Chan, Deadline};
use napi::{Env, JsBigInt, Result};

/// GOMAXPROCS: n > 0 sets it; returns the value before the call.
#[napi]
pub fn gomaxprocs(n: Option<i32>) -> u32 {
    goro_core::sched::maxprocs(n.unwrap_or(0) as i64) as u32
}

#[napi]
pub fn num_cpu() -> u32 {
    goro_core::maxprocs::num_cpu() as u32
}

/// Goroutines alive in the runtime (JS goroutines are counted by the JS layer).
#[napi]
pub fn num_goroutine() -> i64 {
    goro_core::num_goroutine()
}

/// Starts `producers` goroutines that send the little-endian u64s 0..n between them (each
/// value once) into a new byte channel of capacity `cap`, which the last one to finish
/// closes. Returns the channel's address (a goro_chan*, one reference for the caller to
/// adopt with NativeChan.fromAddress, which takes its own: so this reference is dropped when
/// the producers end).
#[napi]
pub fn spawn_producers(env: Env, n: i64, producers: u32, cap: u32) -> Result<JsBigInt> {
    let producers = producers.max(1) as i64;
    let c = Chan::<u64>::new(cap as usize).ok_or_else(|| crate::err("out of memory"))?;
    let raw = c.raw().clone();
    // A reference for the JS side to adopt; held until the producers are done, then dropped.
    let handle = Arc::into_raw(raw.clone()) as usize;
    let left = Arc::new(std::sync::atomic::AtomicI64::new(producers));
    for p in 0..producers {
        let c = c.clone();
        let left = left.clone();
        goro_core::go(move || {
            let mut i = p;
            while i < n {
                if c.send_deadline(i as u64, Deadline::Forever).is_err() {
                    break;
                }
                i += producers;
            }
            if left.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
                let _ = c.close();
                // SAFETY: the reference made above, dropped once.
                unsafe { Arc::decrement_strong_count(handle as *const goro_core::RawChan) };
            }
        })
        .map_err(crate::err)?;
    }
    env.create_bigint_from_u64(handle as u64)
}
