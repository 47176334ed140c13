//! The worker pool: N worker goroutines draining a bounded queue of jobs.
//!
//! `submit` is a channel send, so a full queue makes the submitter wait (back-pressure, shown
//! in dumps as "pool submit"); a WaitGroup counts jobs submitted and not yet finished, for
//! `wait`. A job that panics is reported, and its worker goes on.
//!
//! The pool is generic over its job type, and a binding may start the workers itself
//! (`with_workers`): a Python pool's workers are Python goroutines with thread states, whose
//! jobs are Python calls. Queue, back-pressure and accounting stay here, written once.

use std::sync::Arc;

use crate::chan::Chan;
use crate::clock::Deadline;
use crate::goroutine::{self, Body, SpawnOpts, WaitReason};
use crate::sync::WaitGroup;
use crate::Error;

/// A unit of work for the plain pool.
pub type Job = Box<dyn FnOnce() + Send>;

/// See the module doc.
pub struct Pool<J: Send + 'static = Job> {
    jobs: Chan<J>,
    pending: Arc<WaitGroup>,
    workers: usize,
}

/// What one worker of a pool holds: the queue to take jobs from, and the count to mark them
/// finished in. Handed to the function that starts the workers (`Pool::with_workers`).
pub struct PoolWorker<J: Send + 'static> {
    jobs: Chan<J>,
    pending: Arc<WaitGroup>,
}

impl<J: Send + 'static> PoolWorker<J> {
    /// The next job, waiting until `deadline`: Ok(None) once the pool is closed and drained.
    pub fn next(&self, deadline: Deadline) -> Result<Option<J>, Error> {
        self.jobs.recv_deadline(deadline)
    }

    /// Marks one job taken by `next` as finished (`Pool::wait` waits for these).
    pub fn done(&self) {
        let _ = self.pending.done();
    }
}

impl Pool<Job> {
    /// A pool of `workers` goroutines (0: GOMAXPROCS) with a queue of `queue_cap` jobs.
    pub fn new(workers: usize, queue_cap: usize) -> Result<Pool<Job>, Error> {
        Pool::with_workers(workers, queue_cap, |i, w| {
            let opts = SpawnOpts {
                name: Some(format!("pool worker {i}")),
                ..Default::default()
            };
            let body = move || {
                while let Ok(Some(job)) = w.next(Deadline::Forever) {
                    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
                        goroutine::report_panic(goroutine::current_id(), &p);
                    }
                    w.done();
                }
            };
            goroutine::spawn(Body::Rust(Box::new(body)), &opts).map(|_| ())
        })
    }
}

impl<J: Send + 'static> Pool<J> {
    /// A pool of `workers` (0: GOMAXPROCS) with a queue of `queue_cap` jobs, whose workers
    /// `start(i, worker)` starts: each runs `worker.next` until it gives None, calling
    /// `worker.done` after each job.
    pub fn with_workers(
        workers: usize,
        queue_cap: usize,
        mut start: impl FnMut(usize, PoolWorker<J>) -> Result<(), Error>,
    ) -> Result<Pool<J>, Error> {
        let workers = if workers == 0 {
            crate::sched::maxprocs(0)
        } else {
            workers
        };
        let jobs: Chan<J> = Chan::new(queue_cap).ok_or(Error::NoMemory)?;
        let pending = Arc::new(WaitGroup::new());
        for i in 0..workers {
            let w = PoolWorker {
                jobs: jobs.clone(),
                pending: pending.clone(),
            };
            if let Err(e) = start(i, w) {
                let _ = jobs.close(); // the workers already started end
                return Err(e);
            }
        }
        Ok(Pool {
            jobs,
            pending,
            workers,
        })
    }

    /// Workers in the pool.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Queues a job, waiting while the queue is full. Err(Closed) after `close`.
    pub fn submit(&self, job: J) -> Result<(), Error> {
        self.submit_deadline(job, Deadline::Forever)
            .map_err(|(_, e)| e)
    }

    /// Queues a job, waiting until the deadline; on failure the job is given back.
    pub fn submit_deadline(&self, job: J, deadline: Deadline) -> Result<(), (J, Error)> {
        if let Err(e) = self.pending.add(1) {
            return Err((job, e));
        }
        match self.jobs.send_as(job, deadline, WaitReason::PoolSubmit) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = self.pending.done();
                Err((e.value, e.error))
            }
        }
    }

    /// Waits until every job submitted so far has finished.
    pub fn wait(&self) -> Result<(), Error> {
        self.pending.wait()
    }

    /// Waits as `wait`, until `deadline`.
    pub fn wait_deadline(&self, deadline: Deadline) -> Result<(), Error> {
        self.pending.wait_deadline(deadline)
    }

    /// The count of unfinished jobs, as a source a wait can register with (event loops
    /// await `wait` through it).
    pub fn pending(&self) -> &Arc<WaitGroup> {
        &self.pending
    }

    /// The job queue (for a binding that reads its state, as `closed`).
    pub fn queue(&self) -> &Chan<J> {
        &self.jobs
    }

    /// Stops taking jobs; workers end once the queue is drained. Err(Closed) the second time.
    pub fn close(&self) -> Result<(), Error> {
        self.jobs.close()
    }
}

impl<J: Send + 'static> Drop for Pool<J> {
    fn drop(&mut self) {
        let _ = self.jobs.close();
    }
}
