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

const WORKER = path.join(__dirname, 'pool_worker.js');
const MAX_BATCH = 256;
const FAST_CAP = 512; // jobs in flight per worker while jobs are fast
const SLOW_MS = 0.5; // a worker whose jobs take longer than this gets one or two at a time

class Job {
  constructor(id, arg, resolve, reject, signal) {
    this.id = id;
    this.arg = arg;
    this.resolve = resolve;
    this.reject = reject;
    this.signal = signal;
    this.onAbort = null;
    this.worker = null; // the PoolWorker it was sent to
    this.settled = false;
  }
}

class PoolWorker {
  constructor(pool, index) {
    this.pool = pool;
    this.inflight = new Map(); // id -> Job
    this.avgMs = 0;
    this.w = new Worker(WORKER, { workerData: { url: pool.url } });
    this.w.on('message', (m) => pool._onResults(this, m));
    this.w.on('error', (e) => pool._onWorkerError(this, e));
    this.w.on('exit', (code) => pool._onWorkerExit(this, code));
    this.index = index;
    this.exited = false;
  }

  cap() {
    return this.avgMs > SLOW_MS ? 2 : FAST_CAP;
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
    this.nextId = 1;
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
    return new Promise((resolve, reject) => {
      const job = new Job(this.nextId++, arg, resolve, reject, signal);
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
    while (this.waiting.length > 0) {
      let best = null;
      for (const w of ws) {
        if (w.exited) continue;
        const room = w.cap() - w.inflight.size;
        if (room > 0 && (best === null || w.inflight.size < best.inflight.size)) best = w;
      }
      if (best === null) return;
      const room = best.cap() - best.inflight.size;
      const share = Math.ceil(this.waiting.length / ws.length);
      const n = Math.min(room, MAX_BATCH, Math.max(1, share));
      const ids = [];
      const args = [];
      const abortable = [];
      for (let k = 0; k < n && this.waiting.length > 0; k++) {
        const job = this.waiting.shift();
        if (job.settled) continue;
        job.worker = best;
        best.inflight.set(job.id, job);
        ids.push(job.id);
        args.push(job.arg);
        if (job.signal !== null) abortable.push(job.id);
      }
      if (ids.length === 0) continue;
      try {
        best.w.postMessage({ ids, args, abortable });
      } catch (e) {
        // An argument that cannot be cloned: fail those jobs, not the pool.
        for (const id of ids) this._settle(best.inflight.get(id), false, e);
      }
    }
  }

  _onResults(pw, m) {
    if (m.ms !== undefined) pw.avgMs = pw.avgMs === 0 ? m.ms : pw.avgMs * 0.7 + m.ms * 0.3;
    const { ids, oks, values } = m;
    for (let i = 0; i < ids.length; i++) {
      const job = pw.inflight.get(ids[i]);
      if (job === undefined) continue;
      this._settle(job, oks[i], values[i]);
    }
    this._flush();
  }

  _settle(job, ok, value) {
    if (job.worker !== null) job.worker.inflight.delete(job.id);
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
      job.worker.w.postMessage({ cancel: job.id });
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
    // The worker died (an error outside any job): its jobs fail with that error.
    for (const job of pw.inflight.values()) this._settle(job, false, err);
    pw.inflight.clear();
  }

  _onWorkerExit(pw, code) {
    pw.exited = true;
    for (const job of pw.inflight.values()) this._settle(job, false, new Error(`goro: pool worker exited with code ${code}`));
    pw.inflight.clear();
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
