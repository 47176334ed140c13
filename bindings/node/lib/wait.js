'use strict';
// Waiters: a Promise that waits on a channel, a mutex or a WaitGroup, in Go's terms a sudog.
//
// A waiter sits in a queue (JS-local channel) or in the native loop's pending map (shared
// channel), never both. Whoever completes it first *claims* it (claim): a partner on the
// channel, its timeout, its AbortSignal, or for a select one of its other cases; losers leave
// it alone, so a wait completes exactly once and an aborted wait has consumed and delivered
// nothing. For a native wait, giving up means Loop.cancel: true = nothing happened; false =
// it completed first and the dispatch is on its way, which then settles it as usual.

const { ClosedError, AbortError, TimeoutError, typeError } = require('./errors');
const { getLoop, pending } = require('./native');

// What a single (non-select) wait resolves with.
const RECV = 0; // { value, ok }
const ITER = 1; // { value, done } (async iteration)
const SEND = 2; // undefined, or ClosedError
const LOCK = 3; // undefined (Mutex, WaitGroup)

function checkOpts(opts) {
  if (opts === undefined || opts === null) return null;
  if (typeof opts !== 'object') throw typeError('options must be an object like { signal, timeout }');
  const { signal, timeout } = opts;
  if (signal !== undefined && signal !== null &&
      (typeof signal !== 'object' || typeof signal.aborted !== 'boolean' ||
       typeof signal.addEventListener !== 'function')) {
    throw typeError('options.signal must be an AbortSignal');
  }
  if (timeout !== undefined && timeout !== null &&
      (typeof timeout !== 'number' || !(timeout >= 0))) {
    throw typeError('options.timeout must be a number of milliseconds >= 0');
  }
  return opts;
}

function abortError(signal) {
  return new AbortError(undefined, { cause: signal.reason });
}

class Waiter {
  constructor(mode, queue, value) {
    this.mode = mode;
    this.queue = queue; // the queue it sits in (local waits), to leave it on give-up
    this.value = value; // the value a send carries
    this.resolve = null;
    this.reject = null;
    this.done = false;
    this.nativeId = -1;
    this.bytes = false; // a native byte channel: values are Buffers, not serialized
    this.timer = null;
    this.signal = null;
    this.onAbort = null;
    this.sel = null; // the select this is a case of (lib/select.js), or null
    this.index = 0;
  }

  // Arms the timeout and the AbortSignal of `opts` (checked by checkOpts).
  arm(opts) {
    if (opts === null) return;
    const t = opts.timeout;
    if (t !== undefined && t !== null && t !== Infinity) {
      this.timer = setTimeout(() => this.giveUp(new TimeoutError()), t);
    }
    const s = opts.signal;
    if (s !== undefined && s !== null) {
      this.signal = s;
      this.onAbort = () => this.giveUp(abortError(s));
      s.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  disarm() {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.onAbort !== null) this.signal.removeEventListener('abort', this.onAbort);
  }

  // Timeout or abort: gives up unless someone completed it first.
  giveUp(err) {
    if (this.done) return;
    if (this.nativeId >= 0) {
      if (!getLoop().cancel(this.nativeId)) return; // completed: dispatch settles it
      pending.delete(this.nativeId);
    } else if (this.queue !== null) {
      this.queue.remove(this);
    }
    this.done = true;
    this.disarm();
    this.reject(err);
  }

  // Settles a claimed waiter.
  complete(value, ok) {
    if (this.sel !== null) {
      this.sel.finish(this.index, value, ok);
      return;
    }
    if (this.timer !== null || this.onAbort !== null) this.disarm();
    switch (this.mode) {
      case RECV: this.resolve({ value, ok }); break;
      case ITER: this.resolve(ok ? { value, done: false } : { value: undefined, done: true }); break;
      case SEND: if (ok) this.resolve(); else this.reject(new ClosedError()); break;
      default: this.resolve();
    }
  }

  // A native wait completed (lib/native.js dispatch); code = index * 2 + ok.
  nativeDone(code, value) {
    this.done = true;
    this.nativeId = -1;
    const ok = (code & 1) === 1;
    this.complete(ok && !this.bytes ? decodeValue(value) : value, ok);
  }
}

// A partner takes a waiter it found in a queue: true if it won it.
function claim(w) {
  if (w.sel !== null) return w.sel.claim(w);
  if (w.done) return false;
  w.done = true;
  return true;
}

const { decode: decodeValue } = require('./native');

module.exports = { Waiter, claim, checkOpts, abortError, RECV, ITER, SEND, LOCK };
