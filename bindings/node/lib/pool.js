'use strict';
// Pool: jobs on worker_threads running a file's default export, as piscina does.
//
// Why batches: one postMessage costs microseconds, so a pool that posts one message per job
// (piscina, a hand-written pool) is capped by that cost, not by the jobs. Here run() only
// queues the job in JS; a flush at the end of the current microtask sends each worker one
// message holding many jobs, and each worker answers with one message holding many results.
// Each worker has a cap on jobs in flight, small when its jobs are slow (measured), so slow
// jobs still spread over the workers and fast jobs travel in large batches.
//
// Back-pressure: at most `workers + queue` jobs are admitted (waiting or in flight); run()
// beyond that waits, first come first served, before its job is queued.
// Abort: a job not yet sent to a worker is dropped; one already sent is cancelled in its
// worker (the signal passed to the job fires) and its result, if any, is dropped. The worker
// lives on and runs its other jobs.

const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { Worker } = require('node:worker_threads');
const { Queue } = require('./queue');
const { ClosedError, typeError } = require('./errors');
const { checkOpts, abortError } = require('./wait');
const { gomaxprocs } = require('./go');
const { SW, traceWait, R_POOL } = require('./trace');

const WORKER = path.join(__dirname, 'pool_worker.js');
const MAX_BATCH = 256; // also the stride of job keys (batch * MAX_BATCH + index)
const FAST_CAP = 512; // jobs in flight per worker while jobs are fast
const SLOW_MS = 0.5; // a worker whose jobs take longer than this gets one or two at a time

class Job {
  constructor(arg, resolve, reject, signal) {
    this.arg = arg;
    this.resolve = resolve;
    this.reject = reject;
    this.signal = signal;
    this.onAbort = null;
    this.worker = null; // the PoolWorker it was sent to, and where in which batch
    this.key = 0;
    this.settled = false;
  }
}

// Results come back batch by batch, in the order the batches were sent: each worker keeps a
// FIFO of the batches it holds, so no job needs an id on the wire.
class PoolWorker {
  constructor(pool, index) {
    this.pool = pool;
    this.index = index;
    this.batches = new Queue(); // arrays of Jobs, oldest first
    this.inflight = 0; // jobs in those batches (cancelled ones too, until their batch returns)
    this.sent = 0; // batches sent, numbering them as the worker does
    this.avgMs = 0;
    this.exited = false;
    this.w = new Worker(WORKER, { workerData: { url: pool.url } });
    this.w.on('message', (m) => pool._onResults(this, m));
    this.w.on('error', (e) => pool._onWorkerError(this, e));
    this.w.on('exit', (code) => pool._onWorkerExit(this, code));
  }

  cap() {
    return this.avgMs > SLOW_MS ? 2 : FAST_CAP;
  }

  // Fails every job it holds (the worker died).
  failAll(err) {
    for (const jobs of this.batches.clear()) for (const job of jobs) this.pool._settle(job, false, err);
    this.inflight = 0;
  }
}

class Pool {
  constructor(opts) {
    if (opts === null || typeof opts !== 'object') throw typeError('new Pool({ filename, workers, queue }): options must be an object');
    let { filename, workers, queue } = opts;
    if (filename instanceof URL) filename = filename.href;
    if (typeof filename !== 'string' || filename === '') throw typeError('new Pool: filename must be a path or file URL of the worker module');
    if (workers === undefined || workers === null) workers = gomaxprocs();
    if (!Number.isInteger(workers) || workers < 1) throw typeError(`new Pool: workers must be an integer >= 1, got ${String(workers)}`);
    if (queue === undefined || queue === null) queue = 1024;
    if (!Number.isInteger(queue) || queue < 0) throw typeError(`new Pool: queue must be an integer >= 0, got ${String(queue)}`);
    this.url = filename.startsWith('file:') ? filename : pathToFileURL(path.resolve(filename)).href;
    this.limit = workers + queue;
    this.admitted = 0;
    this.blocked = new Queue(); // run() calls waiting for room: [arg, opts, resolve, reject]
    this.waiting = new Queue(); // admitted jobs not yet sent to a worker
    this.flushQueued = false;
    this.closed = false;
    this.closing = null;
    this.idle = [];
    this.workers = [];
    for (let i = 0; i < workers; i++) this.workers.push(new PoolWorker(this, i));
  }

  // Runs fn(arg) in a worker; resolves with its result. Waits while the pool is full.
  run(arg, opts) {
    const o = checkOpts(opts);
    const signal = o !== null && o.signal ? o.signal : null;
    if (this.closed) return Promise.reject(new ClosedError('goro: pool closed'));
    if (signal !== null && signal.aborted) return Promise.reject(abortError(signal));
    const p = new Promise((resolve, reject) => {
      const job = new Job(arg, resolve, reject, signal);
      if (signal !== null) {
        job.onAbort = () => this._abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      if (this.admitted < this.limit && this.blocked.length === 0) {
        this._admit(job);
      } else {
        this.blocked.push(job);
      }
    });
    return SW[0] === 0 ? p : traceWait(p, R_POOL);
  }

  _admit(job) {
    this.admitted++;
    this.waiting.push(job);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this._flush());
    }
  }

  // Sends waiting jobs to the workers with room, least loaded first, in batches.
  _flush() {
    this.flushQueued = false;
    const ws = this.workers;
    // Batch size from the whole backlog (waiting and blocked run() calls): a few jobs are
    // spread over the workers, a long backlog goes in batches of MAX_BATCH.
    const share = Math.ceil((this.waiting.length + this.blocked.length) / ws.length);
    while (this.waiting.length > 0) {
      let best = null;
      for (const w of ws) {
        if (w.exited || w.inflight >= w.cap()) continue;
        if (best === null || w.inflight < best.inflight) best = w;
      }
      if (best === null) return;
      const n = Math.min(best.cap() - best.inflight, MAX_BATCH, Math.max(1, share));
      const seq = best.sent;
      const jobs = [];
      const args = [];
      let abortable = null;
      while (jobs.length < n && this.waiting.length > 0) {
        const job = this.waiting.shift();
        if (job.settled) continue;
        job.worker = best;
        job.key = seq * MAX_BATCH + jobs.length;
        if (job.signal !== null) (abortable || (abortable = [])).push(jobs.length);
        jobs.push(job);
        args.push(job.arg);
      }
      if (jobs.length === 0) continue;
      try {
        best.w.postMessage({ args, abortable });
      } catch (e) {
        // An argument that cannot be cloned: fail those jobs, not the pool.
        for (const job of jobs) this._settle(job, false, e);
        continue;
      }
      best.sent++;
      best.inflight += jobs.length;
      best.batches.push(jobs);
    }
  }

  _onResults(pw, m) {
    if (m.ms !== undefined) pw.avgMs = pw.avgMs === 0 ? m.ms : pw.avgMs * 0.7 + m.ms * 0.3;
    const jobs = pw.batches.shift();
    if (jobs === undefined) return;
    pw.inflight -= jobs.length;
    const { oks, values } = m;
    for (let i = 0; i < jobs.length; i++) this._settle(jobs[i], oks === null || oks[i], values[i]);
    this._flush();
  }

  _settle(job, ok, value) {
    if (job.settled) return;
    job.settled = true;
    if (job.onAbort !== null) job.signal.removeEventListener('abort', job.onAbort);
    this._release();
    if (ok) job.resolve(value);
    else job.reject(value);
  }

  // A job left: admit the next blocked run().
  _release() {
    this.admitted--;
    while (this.admitted < this.limit && this.blocked.length > 0) {
      const job = this.blocked.shift();
      if (!job.settled) this._admit(job);
    }
    if (this.admitted === 0 && this.closing !== null) this.closing();
  }

  _abort(job) {
    if (job.settled) return;
    job.settled = true;
    if (job.worker !== null) {
      // Sent: cancel it there; its result is dropped when it comes (inflight keeps the slot
      // until then, so a cancelled job still counts toward the worker's load).
      job.worker.w.postMessage({ cancel: job.key });
      this._release();
    } else if (this.blocked.remove(job)) {
      // never admitted
    } else {
      this.waiting.remove(job);
      this._release();
    }
    job.reject(abortError(job.signal));
  }

  _onWorkerError(pw, err) {
    // The worker is dying (an error outside any job): its jobs fail with that error, and no
    // job goes to it any more.
    this._replace(pw, err);
  }

  _onWorkerExit(pw, code) {
    this._replace(pw, new Error(`goro: pool worker exited with code ${code}`));
  }

  _replace(pw, err) {
    if (pw.exited) return;
    pw.exited = true;
    pw.failAll(err);
    if (!this.closed) {
      this.workers[pw.index] = new PoolWorker(this, pw.index);
      this._flush();
    }
  }

  // Waits for every job to finish, then ends the workers. run() after close rejects.
  async close() {
    this.closed = true;
    if (this.admitted > 0 || this.blocked.length > 0) {
      await new Promise((resolve) => { this.closing = resolve; });
    }
    await Promise.all(this.workers.map((pw) => (pw.exited ? null : pw.w.terminate())));
  }
}

module.exports = { Pool };
