//! An error group, as golang.org/x/sync/errgroup: goroutines started in a group share a
//! context; the first one to fail cancels it (so the others' context-aware waits end), and
//! `wait` returns that first error once all have ended. An optional limit bounds how many run
//! at once: starting one more waits until one ends (errgroup's SetLimit).
//!
//! The group only keeps the books (a WaitGroup of running members, the first error, the limit
//! as a buffered channel of tokens); who starts the goroutine is the caller's choice
//! (`go_with`), so a binding starts its own kind (a Python goroutine with its thread state).
//! Every error is kept, in order, for bindings that report all of them (Python's
//! ExceptionGroup); `wait` returns the first.

use std::sync::Arc;

use parking_lot::Mutex;

use super::Context;
use crate::chan::Chan;
use crate::clock::Deadline;
use crate::goroutine::{self, Body, SpawnOpts};
use crate::sync::WaitGroup;
use crate::Error;

/// See the module doc. `E` is what a member fails with.
pub struct Group<E: Send + 'static> {
    shared: Arc<Shared<E>>,
}

struct Shared<E> {
    ctx: Context,
    /// Shared with waits on `ended` (an event loop's).
    running: Arc<WaitGroup>,
    /// Every error, first first.
    errors: Mutex<Vec<E>>,
    /// One token per running member when limited.
    limit: Option<Chan<()>>,
}

/// What a member's body gets: the group's context, and its slot to give back.
pub struct Member<E: Send + 'static> {
    shared: Arc<Shared<E>>,
}

impl<E: Send + 'static> Member<E> {
    /// The group's context: ends when any member fails, or the parent ends.
    pub fn context(&self) -> &Context {
        &self.shared.ctx
    }

    /// Ends the member with its result: an error is recorded and cancels the group.
    pub fn finish(self, r: Result<(), E>) {
        if let Err(e) = r {
            self.shared.errors.lock().push(e);
            self.shared.ctx.cancel();
        }
        // `self` drops here: its slot and its count go back (Drop), so a member whose body
        // panicked or never called `finish` still does not hold the group forever.
    }
}

impl<E: Send + 'static> Drop for Member<E> {
    fn drop(&mut self) {
        if let Some(l) = &self.shared.limit {
            let _ = l.try_recv();
        }
        let _ = self.shared.running.done();
    }
}

impl<E: Send + 'static> Group<E> {
    /// A group whose context is a child of `parent`; `limit` 0 means no limit.
    pub fn new(parent: &Context, limit: usize) -> Result<Group<E>, Error> {
        let limit = match limit {
            0 => None,
            n => Some(Chan::new(n).ok_or(Error::NoMemory)?),
        };
        Ok(Group {
            shared: Arc::new(Shared {
                ctx: parent.with_cancel(),
                running: Arc::new(WaitGroup::new()),
                errors: Mutex::new(Vec::new()),
                limit,
            }),
        })
    }

    /// The group's context.
    pub fn context(&self) -> &Context {
        &self.shared.ctx
    }

    /// Takes a member's place, waiting while `limit` members run; the caller starts its
    /// goroutine with the `Member` (see `go_with`). Err(Closed) never; Err(TimedOut) or
    /// Err(WouldBlock) only as `deadline` says.
    pub fn join(&self, deadline: Deadline) -> Result<Member<E>, Error> {
        if let Some(l) = &self.shared.limit {
            l.send_deadline((), deadline).map_err(|e| e.error)?;
        }
        if let Err(e) = self.shared.running.add(1) {
            if let Some(l) = &self.shared.limit {
                let _ = l.try_recv();
            }
            return Err(e);
        }
        Ok(Member {
            shared: self.shared.clone(),
        })
    }

    /// Starts `f` as a member through `spawn` (which starts a goroutine running its body),
    /// waiting while the group is full. A spawn that fails gives back the place.
    pub fn go_with(
        &self,
        f: impl FnOnce(&Context) -> Result<(), E> + Send + 'static,
        spawn: impl FnOnce(Box<dyn FnOnce() + Send>) -> Result<u64, Error>,
    ) -> Result<u64, Error> {
        let m = self.join(Deadline::Forever)?;
        spawn(Box::new(move || {
            let r = f(m.context());
            m.finish(r);
        }))
    }

    /// Starts `f` as a member on a plain goroutine.
    #[track_caller]
    pub fn go(
        &self,
        f: impl FnOnce(&Context) -> Result<(), E> + Send + 'static,
    ) -> Result<u64, Error> {
        let site = crate::goroutine::Site::Rust(std::panic::Location::caller());
        self.go_with(f, move |body| {
            let opts = SpawnOpts {
                site,
                ..Default::default()
            };
            goroutine::spawn(Body::Rust(body), &opts)
        })
    }

    /// Waits until every member has ended; the first error, if any (the group's context is
    /// cancelled then in any case, as errgroup's Wait does). May be called again.
    pub fn wait(&self) -> Result<(), E>
    where
        E: Clone,
    {
        let _ = self.shared.running.wait();
        self.shared.ctx.cancel();
        match self.shared.errors.lock().first() {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        }
    }

    /// `wait`, taking every error in the order they happened (for bindings that report them
    /// all); a later call gets only errors recorded since.
    pub fn wait_all(&self) -> Vec<E> {
        let _ = self.shared.running.wait();
        self.shared.ctx.cancel();
        self.take_errors()
    }

    /// `wait_all` until `deadline`: Err(WouldBlock), Err(TimedOut) or Err(Interrupted) (a
    /// Ctrl-C) leaves the errors and the context as they were.
    pub fn wait_all_deadline(&self, deadline: Deadline) -> Result<Vec<E>, Error> {
        self.shared.running.wait_deadline(deadline)?;
        self.shared.ctx.cancel();
        Ok(self.take_errors())
    }

    /// The errors recorded so far, without waiting (a binding whose group is dropped unwaited
    /// reports them).
    pub fn take_errors(&self) -> Vec<E> {
        std::mem::take(&mut *self.shared.errors.lock())
    }

    /// A source ready once no member runs (for an event loop's wait; then `wait_all_deadline`
    /// with NoWait takes the errors).
    pub fn ended(&self) -> Arc<dyn crate::wait::Source> {
        self.shared.running.clone()
    }

    /// Members running now.
    pub fn running(&self) -> i64 {
        self.shared.running.count()
    }
}
