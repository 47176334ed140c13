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
const { keepShape } = require('./shapes');

// What a single (non-select) wait resolves with.
const RECV = 0; // { value, ok }
const ITER = 1; // { value, done } (async iteration)
const SEND = 2; // undefined, or ClosedError
const LOCK = 3; // undefined (Mutex, WaitGroup)
const BYTES = 4; // flag: a native byte channel's wait, whose values are Buffers as they are

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

// Fields kept few: a waiter is made for every wait that does not complete at once.
class Waiter {
  constructor(mode, queue, value) {
    this.mode = mode;
    this.queue = queue; // the queue it sits in (local waits), to leave it on give-up
    this.value = value; // the value a send carries
    this.resolve = null;
    this.reject = null;
    this.done = false;
    this.nativeId = -1; // a native wait's id in the loop (lib/native.js)
    this.keep = null; // the Set that holds this native wait instead of `pending` (pendingNative)
    this.extra = null; // { timer, signal, onAbort } once armed
    this.sel = null; // the select this is a case of (lib/select.js), or null
    this.index = 0;
  }

  // Arms the timeout and the AbortSignal of `opts` (checked by checkOpts).
  arm(opts) {
    if (opts === null) return;
    const t = opts.timeout;
    const s = opts.signal;
    const hasT = t !== undefined && t !== null && t !== Infinity;
    const hasS = s !== undefined && s !== null;
    if (!hasT && !hasS) return;
    const x = (this.extra = { timer: null, signal: null, onAbort: null });
    if (hasT) x.timer = setTimeout(() => this.giveUp(new TimeoutError()), t);
    if (hasS) {
      x.signal = s;
      x.onAbort = () => this.giveUp(abortError(s));
      s.addEventListener('abort', x.onAbort, { once: true });
    }
  }

  disarm() {
    const x = this.extra;
    if (x === null) return;
    this.extra = null;
    if (x.timer !== null) clearTimeout(x.timer);
    if (x.onAbort !== null) x.signal.removeEventListener('abort', x.onAbort);
  }

  // Timeout or abort: gives up unless someone completed it first.
  giveUp(err) {
    if (this.done) return;
    if (this.nativeId >= 0) {
      if (!getLoop().cancel(this.nativeId)) return; // completed: dispatch settles it
      pending.delete(this.nativeId);
      if (this.keep !== null) this.keep.delete(this);
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
    if (this.extra !== null) this.disarm();
    switch (this.mode & 3) {
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
    if (this.keep !== null) this.keep.delete(this);
    const ok = (code & 1) === 1;
    this.complete(ok && (this.mode & BYTES) === 0 ? decodeValue(value) : value, ok);
  }
}

// A native wait that queued as `id` (status PENDING): its Promise, settled by dispatch or
// given up by o's timeout or signal; traced as `reason` when tracing is on. With `keep` (the
// Set of waits of a Mutex or WaitGroup no other thread can reach) the wait is held there and
// `pending` has only a WeakRef: if the thing becomes unreachable, nothing can ever settle the
// wait, which then goes with it, and leaks() sees that (lib/trace.js, `stuck`).
function pendingNative(id, mode, o, reason, keep = null) {
  const w = new Waiter(mode, null, undefined);
  // An executor closure, not one module function storing into variables: TurboFan inlines
  // a closure literal here, which measured faster (about 85 against 115 ns per wait).
  const p = new Promise((resolve, reject) => {
    w.resolve = resolve;
    w.reject = reject;
  });
  w.nativeId = id;
  if (keep === null) {
    pending.set(id, w);
  } else {
    w.keep = keep;
    keep.add(w);
    pending.set(id, new WeakRef(w));
  }
  if (o !== null) w.arm(o);
  return SW[0] === 0 ? p : traceWait(p, reason);
}

// A partner takes a waiter it found in a queue: true if it won it.
function claim(w) {
  if (w.sel !== null) return w.sel.claim(w);
  if (w.done) return false;
  w.done = true;
  return true;
}

const { decode: decodeValue } = require('./native');
const { SW, traceWait } = require('./trace');

// Keeps the Waiter map alive (lib/shapes.js).
keepShape(new Waiter(RECV, null, undefined));

module.exports = { Waiter, claim, checkOpts, abortError, pendingNative, RECV, ITER, SEND, LOCK, BYTES };
