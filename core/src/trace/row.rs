//! One goroutine as a host language hands it out (Python's `goro.goroutines()` and
//! `goro.leaks()`, Node's `goroutines()` and `leaks()`): its state split into fields, its
//! function and start site resolved, its stack resolved when asked for. Bindings only
//! translate a `Row` into their own objects, so a field means the same in both.
//!
//! Rejected: handing `GoroutineInfo` out and letting each binding flatten it (what they did:
//! two copies of the state match and of the function lookup, already drifting, one printing
//! the wait reason as the state and the other beside it).

use super::dump::stack_of;
use super::registry::{self, GoroutineInfo, State};
use super::symbol::func_frame;
use super::Frame;

/// A goroutine, flattened.
#[derive(Clone, Debug)]
pub struct Row {
    /// Its id.
    pub id: u64,
    /// Its name, if given.
    pub name: Option<String>,
    /// "running", "runnable" or "waiting".
    pub state: &'static str,
    /// What it waits for ("chan receive", ...) when waiting.
    pub waiting_for: Option<&'static str>,
    /// How long it has waited, in ns (0 when not waiting).
    pub waited_ns: i64,
    /// The function it runs ("(unknown)" when nothing names it).
    pub func: Frame,
    /// Where it was started (file, line), if known.
    pub started_at: Option<(String, u32)>,
    /// Where it waits, innermost first (empty unless asked for, see `rows`).
    pub stack: Vec<Frame>,
    /// Blocked on channels nothing else can reach (leak rows only).
    pub unreachable: bool,
    /// A JS task of the Node layer (no native stack).
    pub task: bool,
}

impl Row {
    fn of(g: &GoroutineInfo, now: i64, unreachable: bool, stack: bool) -> Row {
        let (state, waiting_for, waited_ns) = match &g.state {
            State::Running => ("running", None, 0),
            State::Runnable => ("runnable", None, 0),
            State::Waiting(r, since) => ("waiting", Some(r.as_str()), (now - since).max(0)),
        };
        Row {
            id: g.id,
            name: g.name.clone(),
            state,
            waiting_for,
            waited_ns,
            func: func_frame(&g.func).unwrap_or_else(|| Frame::new("(unknown)", "", 0)),
            started_at: g.site.file_line(),
            stack: if stack { stack_of(g) } else { Vec::new() },
            unreachable,
            task: g.task,
        }
    }

    /// "file:line" where it was started, if known.
    pub fn started_text(&self) -> Option<String> {
        self.started_at.as_ref().map(|(f, l)| format!("{f}:{l}"))
    }
}

/// Every goroutine now, with stacks resolved when `stacks` (that names every native frame:
/// dearer than the rest together).
pub fn rows(stacks: bool) -> Vec<Row> {
    let now = crate::now_ns();
    registry::snapshot()
        .iter()
        .map(|g| Row::of(g, now, false, stacks))
        .collect()
}

/// The leaks `leak::find(threshold_ns)` reports, as rows.
pub fn leak_rows(threshold_ns: i64, stacks: bool) -> Vec<Row> {
    let leaks = super::leak::find(threshold_ns);
    let now = crate::now_ns();
    leaks
        .iter()
        .map(|l| Row::of(&l.goroutine, now, l.unreachable, stacks))
        .collect()
}
