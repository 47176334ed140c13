//! Why a goroutine waits: the `WaitReason` every wait names, and dumps print as Go's do.
//!
//! It sits at the bottom of the crate, below the Waiter (`park`) and the hooks, because every
//! layer names it: a wait says why it waits, the goroutine record keeps it, the block profile
//! samples by it, dumps print it. `crate::goroutine::WaitReason` is the usual path to it.
//!
//! Reasons are unique and descriptive (Go's gopark: "Do not re-use reasons, add new ones").
//!
//! Rejected: keeping it in `goroutine/` (then the Waiter and the hooks, which must sit below
//! the goroutine layer, could not name it), and a string per wait (a record stores one byte).

/// Why a goroutine is parked (shown in dumps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WaitReason {
    /// Not waiting.
    None = 0,
    /// `chan receive`
    ChanRecv,
    /// `chan send`
    ChanSend,
    /// `select`
    Select,
    /// `select (no cases)`
    SelectNoCases,
    /// `sleep`
    Sleep,
    /// `WaitGroup.Wait`
    WaitGroup,
    /// `sync.Mutex.Lock`
    Mutex,
    /// `pool submit`
    PoolSubmit,
    /// `goro_run`
    Run,
    /// `IO wait` (an fd, as Go's dumps say it)
    IoWait,
    // The same waits bound to a context (context::wait_ctx): dumps and leak reports say so.
    /// `chan receive (context)`
    ChanRecvCtx,
    /// `chan send (context)`
    ChanSendCtx,
    /// `select (context)`
    SelectCtx,
    /// `sleep (context)`
    SleepCtx,
    /// `sync.WaitGroup.Wait (context)`
    WaitGroupCtx,
    /// `sync.Mutex.Lock (context)`
    MutexCtx,
    /// `IO wait (context)`
    IoWaitCtx,
}

/// Each reason and its form bound to a context.
const WITH_CONTEXT: [(WaitReason, WaitReason); 7] = [
    (WaitReason::ChanRecv, WaitReason::ChanRecvCtx),
    (WaitReason::ChanSend, WaitReason::ChanSendCtx),
    (WaitReason::Select, WaitReason::SelectCtx),
    (WaitReason::Sleep, WaitReason::SleepCtx),
    (WaitReason::WaitGroup, WaitReason::WaitGroupCtx),
    (WaitReason::Mutex, WaitReason::MutexCtx),
    (WaitReason::IoWait, WaitReason::IoWaitCtx),
];

impl WaitReason {
    /// The reason stored as a byte in a record (None for a byte no reason has).
    pub fn from_u8(v: u8) -> WaitReason {
        if v <= WaitReason::IoWaitCtx as u8 {
            // SAFETY: WaitReason is repr(u8) and its variants are numbered 0..=IoWaitCtx
            // without gaps, so every byte up to `IoWaitCtx as u8` (checked just above) is one
            // of them.
            unsafe { std::mem::transmute::<u8, WaitReason>(v) }
        } else {
            WaitReason::None
        }
    }

    /// The same wait bound to a context (itself when it has no such form, or already is).
    /// A match, not a search of `WITH_CONTEXT`: the one-channel context wait asks at every
    /// park (the search cost W2-ctx 22 instructions a round trip); a test checks the two agree.
    #[inline]
    pub const fn with_context(self) -> WaitReason {
        match self {
            WaitReason::ChanRecv => WaitReason::ChanRecvCtx,
            WaitReason::ChanSend => WaitReason::ChanSendCtx,
            WaitReason::Select => WaitReason::SelectCtx,
            WaitReason::Sleep => WaitReason::SleepCtx,
            WaitReason::WaitGroup => WaitReason::WaitGroupCtx,
            WaitReason::Mutex => WaitReason::MutexCtx,
            WaitReason::IoWait => WaitReason::IoWaitCtx,
            other => other,
        }
    }

    /// The wait without its context (itself for a wait bound to none).
    pub fn without_context(self) -> WaitReason {
        WITH_CONTEXT
            .iter()
            .find(|p| p.1 == self)
            .map_or(self, |p| p.0)
    }

    /// As Go's dumps say it.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::None => "running",
            WaitReason::ChanRecv => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Sleep => "sleep",
            WaitReason::WaitGroup => "sync.WaitGroup.Wait",
            WaitReason::Mutex => "sync.Mutex.Lock",
            WaitReason::PoolSubmit => "pool submit",
            WaitReason::Run => "goro_run",
            WaitReason::IoWait => "IO wait",
            WaitReason::ChanRecvCtx => "chan receive (context)",
            WaitReason::ChanSendCtx => "chan send (context)",
            WaitReason::SelectCtx => "select (context)",
            WaitReason::SleepCtx => "sleep (context)",
            WaitReason::WaitGroupCtx => "sync.WaitGroup.Wait (context)",
            WaitReason::MutexCtx => "sync.Mutex.Lock (context)",
            WaitReason::IoWaitCtx => "IO wait (context)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_context_agrees_with_the_table() {
        for v in 0..=WaitReason::IoWaitCtx as u8 {
            let r = WaitReason::from_u8(v);
            let want = WITH_CONTEXT.iter().find(|p| p.0 == r).map_or(r, |p| p.1);
            assert_eq!(r.with_context(), want, "{r:?}");
            assert_eq!(
                r.with_context().without_context(),
                r.without_context(),
                "{r:?}"
            );
        }
    }
}
