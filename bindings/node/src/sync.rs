//! `NativeSync`: a core Mutex or WaitGroup (core/src/sync) seen from JS. Waiting for one is
//! a wait on its `Source` through this thread's Loop (wake.rs, `Loop::wait`), as for a
//! channel; the rest is a call each. lib/sync.js keeps an uncontended fast path of its own
//! and comes here once a wait has to queue or the thing is shared with a Worker.

use std::sync::Arc;

use goro_core::sync::{Mutex, WaitGroup};
use napi::Result;

use crate::shared::{Res, Shared};
use crate::status::{of_case, of_error};

#[napi]
pub struct NativeSync {
    pub(crate) shared: Arc<Shared>,
}

impl Drop for NativeSync {
    fn drop(&mut self) {
        self.shared.release();
    }
}

impl NativeSync {
    fn mutex(&self) -> &Mutex {
        let Res::Mutex(m) = &self.shared.res else {
            unreachable!("lib/sync.js calls Mutex methods on Mutexes only")
        };
        m
    }
}

#[napi]
impl NativeSync {
    /// An unlocked Mutex.
    #[napi(factory)]
    pub fn new_mutex() -> NativeSync {
        NativeSync {
            shared: Shared::new(Res::Mutex(Arc::new(Mutex::new()))),
        }
    }

    /// A WaitGroup at zero.
    #[napi(factory)]
    pub fn new_wait_group() -> NativeSync {
        NativeSync {
            shared: Shared::new(Res::WaitGroup(Arc::new(WaitGroup::new()))),
        }
    }

    /// A one-use token for postMessage; the thing stays alive until it is opened.
    #[napi]
    pub fn share(&self) -> String {
        let kind = match self.shared.res {
            Res::Mutex(_) => "mutex",
            _ => "waitgroup",
        };
        self.shared.share(kind)
    }

    /// Opens a token of `kind` ("mutex", "waitgroup") made by `share`, once.
    #[napi(factory)]
    pub fn open(token: String, kind: String) -> Result<NativeSync> {
        Ok(NativeSync {
            shared: Shared::open(&token, &kind)?,
        })
    }

    #[napi]
    pub fn try_lock(&self) -> bool {
        self.mutex().try_lock()
    }

    /// Unlocks: 1 if that left it free, 0 if it went to a waiter, Invalid if not locked.
    /// (Free or not is a fact only while no other thread holds it: lib/sync.js asks only then.)
    #[napi]
    pub fn unlock(&self) -> i32 {
        let m = self.mutex();
        match m.unlock() {
            Ok(()) => of_case(0, !m.is_locked()),
            Err(e) => of_error(e),
        }
    }

    /// Adds `delta`: the counter after (a fact only while no other thread holds it), or
    /// Invalid (below zero: nothing changed).
    #[napi]
    pub fn add(&self, delta: i64) -> i64 {
        let Res::WaitGroup(wg) = &self.shared.res else {
            unreachable!("lib/sync.js adds to WaitGroups only")
        };
        match wg.add(delta) {
            Ok(()) => wg.count(),
            Err(e) => of_error(e).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goro_core::Error;

    #[test]
    fn mutex_and_waitgroup_statuses() {
        let m = NativeSync::new_mutex();
        assert!(m.try_lock() && !m.try_lock());
        assert_eq!(m.unlock(), of_case(0, true));
        assert_eq!(m.unlock(), of_error(Error::Invalid));
        let w = NativeSync::new_wait_group();
        assert_eq!((w.add(2), w.add(-1)), (2, 1));
        assert_eq!(w.add(-2), of_error(Error::Invalid).into());
        let t = w.share();
        assert!(NativeSync::open(t.clone(), "mutex".into()).is_err());
        assert_eq!(NativeSync::open(t, "waitgroup".into()).unwrap().add(-1), 0);
    }
}
