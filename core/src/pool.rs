//! The worker pool: N worker goroutines draining a bounded queue of jobs.
//!
//! `submit` is a channel send, so a full queue makes the submitter wait (back-pressure);
//! a WaitGroup counts jobs submitted and not yet finished, for `wait`. A job that panics is
//! reported, and its worker goes on.

use std::sync::Arc;

use crate::chan::Chan;
use crate::goroutine::{self, Body, SpawnOpts};
use crate::sync::WaitGroup;
use crate::time::Deadline;
use crate::Error;

/// A unit of work.
pub type Job = Box<dyn FnOnce() + Send>;

/// See the module doc.
pub struct Pool {
    jobs: Chan<Job>,
    pending: Arc<WaitGroup>,
    workers: usize,
}

impl Pool {
    /// A pool of `workers` goroutines (0: GOMAXPROCS) with a queue of `queue_cap` jobs.
    pub fn new(workers: usize, queue_cap: usize) -> Result<Pool, Error> {
        let workers = if workers == 0 {
            crate::sched::maxprocs(0)
        } else {
            workers
        };
        let jobs: Chan<Job> = Chan::new(queue_cap).ok_or(Error::NoMemory)?;
        let pending = Arc::new(WaitGroup::new());
        for i in 0..workers {
            let (rx, pending) = (jobs.clone(), pending.clone());
            let opts = SpawnOpts {
                name: Some(format!("pool worker {i}")),
                ..Default::default()
            };
            goroutine::spawn(
                Body::Rust(Box::new(move || {
                    while let Some(job) = rx.recv() {
                        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                        {
                            goroutine::report_panic(goroutine::current_id(), &p);
                        }
                        let _ = pending.done();
                    }
                })),
                &opts,
            )?;
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
    pub fn submit(&self, job: Job) -> Result<(), Error> {
        self.submit_deadline(job, Deadline::Forever)
            .map_err(|(_, e)| e)
    }

    /// Queues a job, waiting until the deadline; on failure the job is given back.
    pub fn submit_deadline(&self, job: Job, deadline: Deadline) -> Result<(), (Job, Error)> {
        if let Err(e) = self.pending.add(1) {
            return Err((job, e));
        }
        match self.jobs.send_deadline(job, deadline) {
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

    /// Stops taking jobs; workers end once the queue is drained. Err(Closed) the second time.
    pub fn close(&self) -> Result<(), Error> {
        self.jobs.close()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _ = self.jobs.close();
    }
}
