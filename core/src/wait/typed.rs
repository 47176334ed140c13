//! A select over typed channels that owns its values: the cases' buffers live here, so no
//! caller handles raw element pointers, and every value not sent comes back to its caller.
//!
//! ```
//! use goro_core::{wait::Select, Chan, Deadline};
//! let a = Chan::<String>::new(1).unwrap();
//! let b = Chan::<String>::new(0).unwrap();
//! a.send("hi".into()).unwrap();
//! let mut sel = Select::new();
//! sel.recv(Some(&a));
//! sel.send(Some(&b), "unsent".to_string());
//! let (got, unsent) = sel.wait(Deadline::Forever);
//! let got = got.unwrap();
//! assert_eq!((got.index, got.value.as_deref()), (0, Some("hi")));
//! assert_eq!(unsent, vec![(1, "unsent".to_string())]);
//! ```
//!
//! The same select can wait for an event loop (`start_async`): the buffers then sit on the
//! heap until the loop's callback says the wait is over, and `AsyncSelect::finish` hands back
//! the result and the unsent values.

use std::mem::MaybeUninit;
use std::sync::Arc;

use crate::chan::Chan;
use crate::clock::Deadline;
use crate::park::{Outcome, Waiter};
use crate::wait::{self, Case, Op, Pending, Source, Started};
use crate::Error;

enum Kind<T> {
    Send(Chan<T>),
    Recv(Chan<T>),
    Source(Arc<dyn Source>),
    Never,
}

/// One case and its buffer: the value to send (initialised until sent), or room for one.
struct Slot<T> {
    kind: Kind<T>,
    value: MaybeUninit<T>,
    /// For a send: the value is still in `value` and ours.
    full: bool,
}

/// Values a select did not send, each with its case index.
pub type Unsent<T> = Vec<(usize, T)>;

/// What a finished select gives back: the case that completed (or the error), and every value
/// not sent, with its case index.
pub type Waited<T> = (Result<Selected<T>, Error>, Unsent<T>);

/// See the module doc.
pub struct Select<T> {
    slots: Vec<Slot<T>>,
}

/// The case that completed.
#[derive(Debug)]
pub struct Selected<T> {
    /// Its index, in the order the cases were added.
    pub index: usize,
    /// False when it completed because its channel is closed.
    pub ok: bool,
    /// The value received, for a receive that got one.
    pub value: Option<T>,
}

impl<T: Send> Default for Select<T> {
    fn default() -> Self {
        Select::new()
    }
}

impl<T: Send> Select<T> {
    /// A select with no cases yet.
    pub fn new() -> Select<T> {
        Select { slots: Vec::new() }
    }

    fn add(&mut self, kind: Kind<T>, value: Option<T>) -> usize {
        let full = value.is_some();
        self.slots.push(Slot {
            kind,
            value: value.map_or(MaybeUninit::uninit(), MaybeUninit::new),
            full,
        });
        self.slots.len() - 1
    }

    /// Adds a send of `v` on `ch` (None: never ready, and `v` comes back unsent). Its index.
    pub fn send(&mut self, ch: Option<&Chan<T>>, v: T) -> usize {
        self.add(ch.map_or(Kind::Never, |c| Kind::Send(c.clone())), Some(v))
    }

    /// Adds a receive on `ch` (None: never ready). Its index.
    pub fn recv(&mut self, ch: Option<&Chan<T>>) -> usize {
        self.add(ch.map_or(Kind::Never, |c| Kind::Recv(c.clone())), None)
    }

    /// Adds another source (a WaitGroup, a Mutex, an fd). Its index.
    pub fn source(&mut self, s: Arc<dyn Source>) -> usize {
        self.add(Kind::Source(s), None)
    }

    /// Cases added.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no case was added.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn cases(&mut self) -> Vec<Case<'_>> {
        self.slots
            .iter_mut()
            .map(|s| match &s.kind {
                Kind::Send(c) => Case::Chan(c.raw(), Op::Send(s.value.as_ptr().cast())),
                Kind::Recv(c) => Case::Chan(c.raw(), Op::Recv(s.value.as_mut_ptr().cast())),
                Kind::Source(src) => Case::Source(&**src),
                Kind::Never => Case::Never,
            })
            .collect()
    }

    /// Waits (as `wait::wait`) and returns the result with every value not sent.
    pub fn wait(self, deadline: Deadline) -> Waited<T> {
        // SAFETY: `wait_with` hands us cases whose pointers stay valid during the call.
        self.wait_with(|cases| unsafe { wait::wait(cases, deadline, None) })
    }

    /// Waits through `how` (`wait::wait`, or a wait that adds a case of its own, as
    /// context::wait_ctx) over the cases, then settles the buffers. `how` gets cases whose
    /// pointers are valid until it returns (each send buffer holds a T, each receive buffer
    /// has room) and must complete at most one of them, reporting which.
    pub(crate) fn wait_with(
        mut self,
        how: impl FnOnce(&[Case<'_>]) -> Result<(usize, bool), Error>,
    ) -> Waited<T> {
        let cases = self.cases();
        // Every pointer is into `self.slots`, which is neither moved nor dropped until `how`
        // returns.
        let r = how(&cases);
        drop(cases);
        self.finish(r)
    }

    /// Settles the buffers after the wait ended with `r`.
    fn finish(mut self, r: Result<(usize, bool), Error>) -> Waited<T> {
        let sel = r.map(|(index, ok)| {
            let slot = &mut self.slots[index];
            let value = match slot.kind {
                Kind::Send(_) if ok => {
                    slot.full = false; // the channel took it
                    None
                }
                // SAFETY: a receive that completed with ok wrote a T into its buffer.
                Kind::Recv(_) if ok => Some(unsafe { slot.value.assume_init_read() }),
                _ => None,
            };
            Selected { index, ok, value }
        });
        let unsent = self
            .slots
            .iter_mut()
            .enumerate()
            .filter(|(_, s)| s.full)
            .map(|(i, s)| {
                s.full = false;
                // SAFETY: `full`: the value is initialised and still ours; taken once.
                (i, unsafe { s.value.assume_init_read() })
            })
            .collect();
        (sel, unsent)
    }

    /// Starts the select for an event loop (as `wait::wait_async`): Done at once, or Pending
    /// with the buffers kept on the heap until `AsyncSelect::finish`.
    pub fn start_async(
        self,
        deadline: Deadline,
        make_waiter: &mut dyn FnMut() -> Arc<Waiter>,
    ) -> Result<AsyncStarted<T>, (Error, Unsent<T>)> {
        let mut boxed = Box::new(self);
        let cases = boxed.cases();
        // SAFETY: the buffers are in the boxed slots, which stay put (the Vec is not resized
        // again) until `AsyncSelect::finish` or its drop, both after the Pending is dropped.
        let r = unsafe { wait::wait_async(&cases, deadline, make_waiter) };
        drop(cases);
        match r {
            Ok(Started::Done(i, ok)) => {
                let (sel, unsent) = boxed.finish(Ok((i, ok)));
                Ok(AsyncStarted::Done(sel.expect("a completed case"), unsent))
            }
            Ok(Started::Pending(p)) => Ok(AsyncStarted::Pending(AsyncSelect {
                pending: Some(p),
                select: Some(boxed),
            })),
            Err(e) => {
                let (_, unsent) = boxed.finish(Err(e));
                Err((e, unsent))
            }
        }
    }
}

impl<T> Drop for Select<T> {
    fn drop(&mut self) {
        for s in &mut self.slots {
            if s.full {
                // SAFETY: `full`: an initialised value nobody took.
                unsafe { s.value.assume_init_drop() };
            }
        }
    }
}

/// How `start_async` began.
pub enum AsyncStarted<T> {
    /// A case completed at once.
    Done(Selected<T>, Vec<(usize, T)>),
    /// Registered: the loop's callback will say when to `finish`.
    Pending(AsyncSelect<T>),
}

/// A typed select waiting for an event loop.
pub struct AsyncSelect<T> {
    /// Dropped before `select`: the registrations go before the buffers they point into.
    pending: Option<Pending>,
    select: Option<Box<Select<T>>>,
}

impl<T: Send> AsyncSelect<T> {
    /// Gives up the wait: true if nothing happened (then `finish` gives Err(Interrupted) and
    /// every value back).
    pub fn cancel(&self) -> bool {
        self.pending.as_ref().is_some_and(|p| p.cancel())
    }

    /// How it ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.pending.as_ref().and_then(|p| p.outcome())
    }

    /// The result and the unsent values, once the wait has ended (its callback ran, or
    /// `cancel` returned true). None while it is still pending.
    pub fn finish(&mut self) -> Option<Waited<T>> {
        let out = self.outcome()?;
        drop(self.pending.take());
        let sel = self.select.take()?;
        Some(match out {
            Outcome::Case { index, ok } => sel.finish(Ok((index, ok))),
            other => sel.finish(Err(Error::from_outcome(other))),
        })
    }
}

impl<T> Drop for AsyncSelect<T> {
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            let cancelled = p.cancel();
            let out = p.outcome();
            // Dropped first: its unregister takes each channel's lock, so a partner that won
            // the claim has finished copying into (or out of) the buffers before we look.
            drop(p);
            if let (false, Some(Outcome::Case { index, ok: true }), Some(sel)) =
                (cancelled, out, self.select.as_mut())
            {
                // Completed, never finished: let `Select`'s drop see what the channel took.
                let slot = &mut sel.slots[index];
                match slot.kind {
                    Kind::Send(_) => slot.full = false,
                    // SAFETY: a receive that completed wrote a T, and its writer is done
                    // (above): drop it.
                    Kind::Recv(_) => unsafe { slot.value.assume_init_drop() },
                    _ => {}
                }
            }
        }
    }
}
