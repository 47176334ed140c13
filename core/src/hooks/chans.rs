//! The channel census: every shared channel, listed weakly when it is made, for the leak
//! report (`trace::leak`) to find channels that only their own waiters still hold.
//!
//! Sixteen shards by address, so that goroutines making channels on different CPUs seldom
//! meet on one lock. Dropped channels leave a dead `Weak` (its allocation, not its buffer):
//! a shard is swept when it has doubled since its last sweep, amortized O(1) per channel.
//!
//! Entries are `Weak<dyn Any>`: this module sits below the channels and cannot name their
//! type; the reader downcasts.
//!
//! Rejected: a strong list (it would keep every channel alive and make every channel look
//! reachable), and an intrusive list through the channels (unlinking on drop would take the
//! shard lock on every channel's drop as well as its creation).

use std::any::Any;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

const SHARDS: usize = 16;

struct Shard {
    chans: Vec<Weak<dyn Any + Send + Sync>>,
    /// Live entries after the last sweep: sweep again when the list has doubled since.
    swept: usize,
}

static CHANS: [Mutex<Shard>; SHARDS] = [const {
    Mutex::new(Shard {
        chans: Vec::new(),
        swept: 0,
    })
}; SHARDS];

/// Lists a new channel (weakly: the list never keeps one alive). Called by the channel code
/// for every shared channel it makes.
pub(crate) fn chan_created<T: Any + Send + Sync>(c: &Arc<T>) {
    let ix = (Arc::as_ptr(c) as *const () as usize >> 6) % SHARDS;
    let weak: Weak<T> = Arc::downgrade(c);
    let weak: Weak<dyn Any + Send + Sync> = weak;
    let mut s = CHANS[ix].lock();
    s.chans.push(weak);
    if s.chans.len() > 2 * s.swept + 64 {
        s.chans.retain(|w| w.strong_count() > 0);
        s.swept = s.chans.len();
    }
}

/// Every listed channel still alive (each one strong reference more while the caller holds
/// the result).
pub(crate) fn live_chans() -> Vec<Arc<dyn Any + Send + Sync>> {
    let mut live = Vec::new();
    for s in &CHANS {
        live.extend(s.lock().chans.iter().filter_map(Weak::upgrade));
    }
    live
}
