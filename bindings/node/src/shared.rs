//! What JS handles in several threads share: a core channel, Mutex or WaitGroup (`Res`),
//! counted by its holders, and the one-use tokens that carry it to a Worker.
//!
//! Holders are JS handles (in any thread) plus unopened tokens. A wait that only its own
//! handle could settle (nobody else holds the thing) must not keep Node alive, so the loops
//! (wake.rs) ask `hopeful` when a wait starts, and the loops waiting on a thing hear when it
//! loses a holder (a Worker exits and its handles are finalized) and ask again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use goro_core::sync::{Mutex as GoMutex, WaitGroup};
use goro_core::{Chan, RawChan};

use crate::value::Msg;

/// What one element of a channel is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// JS values (value.rs).
    Msg,
    /// Fixed-size bytes: a C `goro_chan*` fed by native goroutines.
    Bytes(usize),
}

/// The shared thing.
pub enum Res {
    /// A channel of JS values.
    Msg(Chan<Msg>),
    /// A C channel of n-byte elements.
    Bytes(Arc<RawChan>, usize),
    Mutex(Arc<GoMutex>),
    WaitGroup(Arc<WaitGroup>),
}

/// See the module doc; shared by every JS handle in every thread.
pub struct Shared {
    pub res: Res,
    holders: AtomicUsize,
    /// Loops with waits on this, told when `holders` drops (wake.rs, keep-alive).
    pub(crate) watchers: Mutex<Vec<Weak<dyn Watch>>>,
}

/// A loop that wants to hear when something loses holders.
pub trait Watch: Send + Sync {
    fn holders_dropped(&self);
}

impl Shared {
    /// A new thing with its first holder.
    pub fn new(res: Res) -> Arc<Shared> {
        Arc::new(Shared {
            res,
            holders: AtomicUsize::new(1),
            watchers: Mutex::new(Vec::new()),
        })
    }

    /// A channel's raw channel (None for a Mutex or WaitGroup).
    pub fn raw(&self) -> Option<&Arc<RawChan>> {
        match &self.res {
            Res::Msg(c) => Some(c.raw()),
            Res::Bytes(raw, _) => Some(raw),
            _ => None,
        }
    }

    /// A channel of JS values, typed.
    pub fn msg(&self) -> Option<&Chan<Msg>> {
        match &self.res {
            Res::Msg(c) => Some(c),
            _ => None,
        }
    }

    /// A channel's element (JS values for anything else).
    pub fn elem(&self) -> Elem {
        match self.res {
            Res::Bytes(_, n) => Elem::Bytes(n),
            _ => Elem::Msg,
        }
    }

    /// Whether someone other than one handle may still use it: another handle or a token;
    /// for a C channel, C code we cannot see, so always.
    pub fn hopeful(&self) -> bool {
        matches!(self.res, Res::Bytes(..)) || self.holders.load(Ordering::Acquire) > 1
    }

    fn hold(self: &Arc<Self>) -> Arc<Self> {
        self.holders.fetch_add(1, Ordering::AcqRel);
        self.clone()
    }

    /// A handle is gone (its finalizer).
    pub fn release(&self) {
        if self.holders.fetch_sub(1, Ordering::AcqRel) <= 2 {
            let ws: Vec<_> = self.watchers.lock().unwrap().drain(..).collect();
            for w in ws.iter().filter_map(Weak::upgrade) {
                w.holders_dropped();
            }
        }
    }

    /// A one-use token for postMessage, "goro-<kind>:<id>"; it holds the thing until opened.
    pub fn share(self: &Arc<Self>, kind: &str) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let token = format!("goro-{kind}:{}", NEXT.fetch_add(1, Ordering::Relaxed));
        tokens().lock().unwrap().insert(token.clone(), self.hold());
        token
    }

    /// Opens a token of `kind` made by `share` (in any thread); its hold passes to the new
    /// handle.
    pub fn open(token: &str, kind: &str) -> napi::Result<Arc<Shared>> {
        let mine = token
            .strip_prefix("goro-")
            .and_then(|t| t.strip_prefix(kind));
        let found = match mine {
            Some(rest) if rest.starts_with(':') => tokens().lock().unwrap().remove(token),
            _ => None,
        };
        found.ok_or_else(|| crate::invalid("open: unknown or already used token"))
    }
}

fn tokens() -> &'static Mutex<HashMap<String, Arc<Shared>>> {
    static T: OnceLock<Mutex<HashMap<String, Arc<Shared>>>> = OnceLock::new();
    T.get_or_init(Default::default)
}
