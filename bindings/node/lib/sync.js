'use strict';
// WaitGroup and Mutex: the core's (src/sync.rs), whose waits go through this thread's Loop as
// a channel's do (Promises with { signal, timeout }; nothing taken on abort). Misuse that Go
// punishes with a panic throws an Error.
//
// The fast path: a native call costs about as much as a whole uncontended lock and unlock in
// JS (DESIGN.md), so while only this thread uses one (never shared) and nobody waits on it,
// its state is kept here (`_n`, `_locked`) and the native one stays idle. The first wait that
// has to queue moves the state into the native one (`_toNative`), which is then the truth;
// once it is idle again (a WaitGroup back at zero, a Mutex unlocked with nobody to hand it
// to) and it was never shared, the state comes back here. share() moves it for good: a
// token for postMessage, opened in a Worker with WaitGroup.open / Mutex.open.

const { checkOpts, abortError, pendingNative, LOCK } = require('./wait');
const { typeError } = require('./errors');
const { native, S, status, pending, getLoop, newId } = require('./native');
const { R_WAITGROUP, R_MUTEX } = require('./trace');
const { keepShape } = require('./shapes');

const RESOLVED = Promise.resolve();

// A wait on the native Mutex or WaitGroup of `t`; while t is not shared its waits are held
// by t alone (see pendingNative).
function nativeWait(t, o, reason) {
  if (o !== null && o.signal && o.signal.aborted) return Promise.reject(abortError(o.signal));
  const id = newId();
  getLoop().wait(id, t._ns);
  if (status[0] >= 0) return RESOLVED;
  return pendingNative(id, LOCK, o, reason, t._shared ? null : (t._waits ??= new Set()));
}

// What WaitGroup and Mutex have in common: the native one, and whose truth it is.
class Native {
  constructor() {
    this._ns = null; // the NativeSync, once made
    this._native = false; // the native one is the truth
    this._shared = false;
    this._waits = null; // a Set of its native waits while not shared (nativeWait)
  }

  // Shared from now on: a Worker may settle its waits, which `pending` must then hold.
  share() {
    this._toNative();
    this._shared = true;
    for (const w of this._waits || []) {
      w.keep = null;
      pending.set(w.nativeId, w);
    }
    this._waits = null;
    return this._ns.share();
  }
}

// t, a new WaitGroup or Mutex, as the handle of the one `token` carries (WaitGroup.open).
function open(t, token, kind) {
  const what = t.constructor.name;
  if (typeof token !== 'string') throw typeError(`${what}.open needs a token made by share()`);
  try {
    t._ns = native.NativeSync.open(token, kind);
  } catch (e) {
    throw typeError(`${what}.open: unknown or already used token`);
  }
  t._native = t._shared = true;
  return t;
}

class WaitGroup extends Native {
  constructor() {
    super();
    this._n = 0; // the counter while local
  }

  add(n = 1) {
    if (!Number.isInteger(n)) throw typeError(`WaitGroup.add(n): n must be an integer, got ${String(n)}`);
    if (!this._native) {
      if (this._n + n < 0) throw new Error('goro: negative WaitGroup counter');
      this._n += n;
      return;
    }
    const c = this._ns.add(n);
    if (c === S.Invalid) throw new Error('goro: negative WaitGroup counter');
    if (c === 0 && !this._shared) this._native = false;
  }

  done() {
    this.add(-1);
  }

  wait(opts) {
    const o = checkOpts(opts);
    if (!this._native) {
      if (this._n === 0) return RESOLVED;
      this._toNative();
    }
    return nativeWait(this, o, R_WAITGROUP);
  }

  static open(token) {
    return open(new WaitGroup(), token, 'waitgroup');
  }

  _toNative() {
    if (this._native) return;
    if (this._ns === null) this._ns = native.NativeSync.newWaitGroup();
    this._ns.add(this._n);
    this._n = 0;
    this._native = true;
  }
}

class Mutex extends Native {
  constructor() {
    super();
    this._locked = false; // the state while local
  }

  tryLock() {
    if (this._native) return this._ns.tryLock();
    if (this._locked) return false;
    this._locked = true;
    return true;
  }

  lock(opts) {
    const o = checkOpts(opts);
    if (!this._native) {
      if (!this._locked) {
        this._locked = true;
        return RESOLVED;
      }
      this._toNative();
    } else if (this._ns.tryLock()) {
      return RESOLVED; // the plain try first: it costs less than starting a wait
    }
    return nativeWait(this, o, R_MUTEX);
  }

  // Hands the lock straight to the first waiter (FIFO, no barging: the core's Mutex).
  unlock() {
    if (!this._native) {
      if (!this._locked) throw new Error('goro: unlock of unlocked mutex');
      this._locked = false;
      return;
    }
    const r = this._ns.unlock();
    if (r === S.Invalid) throw new Error('goro: unlock of unlocked mutex');
    if (r === 1 && !this._shared) this._native = false;
  }

  static open(token) {
    return open(new Mutex(), token, 'mutex');
  }

  _toNative() {
    if (this._native) return;
    if (this._ns === null) this._ns = native.NativeSync.newMutex();
    // Idle natively (see the top): taking it cannot fail.
    if (this._locked) this._ns.tryLock();
    this._locked = false;
    this._native = true;
  }
}

// Keeps their maps alive (lib/shapes.js).
keepShape(new WaitGroup());
keepShape(new Mutex());

module.exports = { WaitGroup, Mutex };
