'use strict';
// WaitGroup and Mutex for one JS thread. Their waits are Promises with { signal, timeout },
// like a channel's; misuse that Go punishes with a panic throws an Error.

const { Queue } = require('./queue');
const { Waiter, claim, checkOpts, abortError, LOCK } = require('./wait');
const { typeError } = require('./errors');
const { SW, traceWait, R_WAITGROUP, R_MUTEX } = require('./trace');

const RESOLVED = Promise.resolve();

class WaitGroup {
  constructor() {
    this._n = 0;
    this._waiters = new Queue();
  }

  add(n = 1) {
    if (!Number.isInteger(n)) throw typeError(`WaitGroup.add(n): n must be an integer, got ${String(n)}`);
    if (this._n + n < 0) throw new Error('goro: negative WaitGroup counter');
    this._n += n;
    if (this._n === 0) {
      for (const w of this._waiters.clear()) if (claim(w)) w.complete(undefined, true);
    }
  }

  done() {
    this.add(-1);
  }

  wait(opts) {
    const o = checkOpts(opts);
    if (this._n === 0) return RESOLVED;
    return queueWaiter(this._waiters, o, R_WAITGROUP);
  }
}

// Queues a waiter on `waiters` (a WaitGroup's or a Mutex's): a Promise settled when it is
// woken, or rejected by its signal or timeout; traced as `reason` when tracing is on.
function queueWaiter(waiters, o, reason) {
  if (o !== null && o.signal && o.signal.aborted) return Promise.reject(abortError(o.signal));
  const p = new Promise((resolve, reject) => {
    const w = new Waiter(LOCK, waiters, undefined);
    w.resolve = resolve;
    w.reject = reject;
    waiters.push(w);
    w.arm(o);
  });
  return SW[0] === 0 ? p : traceWait(p, reason);
}

class Mutex {
  constructor() {
    this._locked = false;
    this._waiters = new Queue();
  }

  tryLock() {
    if (this._locked) return false;
    this._locked = true;
    return true;
  }

  lock(opts) {
    const o = checkOpts(opts);
    if (!this._locked) {
      this._locked = true;
      return RESOLVED;
    }
    return queueWaiter(this._waiters, o, R_MUTEX);
  }

  // Hands the lock straight to the first waiter (FIFO, no barging).
  unlock() {
    if (!this._locked) throw new Error('goro: unlock of unlocked mutex');
    while (this._waiters.length > 0) {
      const w = this._waiters.shift();
      if (claim(w)) {
        w.complete(undefined, true);
        return;
      }
    }
    this._locked = false;
  }
}

module.exports = { WaitGroup, Mutex };
