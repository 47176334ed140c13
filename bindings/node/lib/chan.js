'use strict';
// Chan: Go's channel for JS.
//
// Two modes, one surface:
// - local (the default): used inside one JS thread, the channel lives entirely in JS: a
//   buffer and FIFO queues of waiting receivers and senders, with Go's rules (unbuffered
//   hand-off, senders served in order, close wakes all). A native call costs about as much as
//   a whole JS round trip (DESIGN.md), so none is made, and values pass as they are.
// - native: after share() (or when opened from a token or a C handle) the channel is a core
//   channel; waits go through this thread's Loop (lib/native.js, src/wake.rs) and values are
//   structured-cloned as they cross threads.
// The switch (share) moves the buffered values into the native channel and restarts every
// waiting receiver, sender and select natively: nothing was consumed by them yet, so
// restarting changes nothing they can observe.

const { ClosedError, typeError } = require('./errors');
const { Queue } = require('./queue');
const { keepShape } = require('./shapes');
const { Waiter, claim, checkOpts, abortError, pendingNative, RECV, ITER, SEND, BYTES } = require('./wait');
const { native, S, status, pending, getLoop, spin, newId, encode, decode, abandon } = require('./native');

const { chanTrySend, chanTryRecv } = native;

const WOULD_BLOCK = S.WouldBlock;
const { SW, traceWait, R_RECV, R_SEND } = require('./trace');

const RESOLVED = Promise.resolve();
// What _tryRecvLocal answers when it has no value to give.
const EMPTY = Symbol('empty');
const DRAINED = Symbol('drained');
const MAX_CAP = 0x7fffffff;

class Chan {
  constructor(cap = 0) {
    if (!Number.isInteger(cap) || cap < 0 || cap > MAX_CAP) {
      throw typeError(`Chan capacity must be an integer >= 0, got ${String(cap)}`);
    }
    this._cap = cap;
    this._buf = new Queue();
    this._recvq = new Queue();
    this._sendq = new Queue();
    this._closed = false;
    this._nc = null; // the NativeChan once shared
    this._nx = null; // its fast() External, for the hot calls (src/chan.rs, Fast)
    this._bytes = false; // a C channel of bytes: values are Buffers
    this._onRecvWait = null; // called when a receiver starts waiting (lib/time.js keep-alive)
  }

  get capacity() {
    return this._nc !== null ? this._nc.capacity : this._cap;
  }

  get length() {
    return this._nc !== null ? this._nc.length : this._buf.length;
  }

  // ---- local mode: the mechanics (also used by select) ----

  // Sends without waiting, answering as native calls do (lib/native.js S): 1 sent, 0 closed,
  // WOULD_BLOCK.
  _trySendLocal(v) {
    if (this._closed) return 0;
    const rq = this._recvq;
    while (rq.length > 0) {
      const w = rq.shift();
      if (typeof w === 'function') {
        w({ value: v, ok: true }); // a plain receive (see PlainSend)
        return 1;
      }
      if (claim(w)) {
        w.complete(v, true);
        return 1;
      }
    }
    if (this._buf.length < this._cap) {
      this._buf.push(v);
      return 1;
    }
    return WOULD_BLOCK;
  }

  // Receives without waiting: the value, EMPTY if it would wait, or DRAINED once closed and
  // drained. (Sentinels, not a result object or fields set on the channel: the hot path
  // allocates nothing it does not hand to the caller.)
  _tryRecvLocal() {
    const sq = this._sendq;
    if (this._buf.length > 0) {
      const v = this._buf.shift();
      // A slot is free: the first waiting sender's value moves into it (senders in order).
      while (sq.length > 0) {
        const w = sq.shift();
        if (w instanceof PlainSend) {
          this._buf.push(w.value);
          w.resolve();
          break;
        }
        if (claim(w)) {
          this._buf.push(w.value);
          w.complete(undefined, true);
          break;
        }
      }
      return v;
    }
    while (sq.length > 0) {
      const w = sq.shift();
      if (w instanceof PlainSend) {
        w.resolve();
        return w.value;
      }
      if (claim(w)) {
        const v = w.value;
        w.complete(undefined, true);
        return v;
      }
    }
    return this._closed ? DRAINED : EMPTY;
  }

  // ---- the surface ----

  send(v, opts) {
    const o = opts === undefined ? null : checkOpts(opts);
    if (this._nc !== null) return this._sendNative(v, o);
    if (o !== null && o.signal && o.signal.aborted) return Promise.reject(abortError(o.signal));
    const r = this._trySendLocal(v);
    if (r === 1) return RESOLVED;
    if (r === 0) return Promise.reject(new ClosedError());
    if (o === null) {
      const w = new PlainSend(v);
      const p = new Promise((resolve, reject) => {
        w.resolve = resolve;
        w.reject = reject;
      });
      this._sendq.push(w);
      return SW[0] === 0 ? p : traceWait(p, R_SEND);
    }
    const w = new Waiter(SEND, this._sendq, v);
    const p = new Promise((resolve, reject) => {
      w.resolve = resolve;
      w.reject = reject;
    });
    this._sendq.push(w);
    if (o !== null) w.arm(o);
    return SW[0] === 0 ? p : traceWait(p, R_SEND);
  }

  recv(opts) {
    return this._recv(opts === undefined ? null : checkOpts(opts), RECV);
  }

  _recv(o, mode) {
    if (this._nc !== null) return this._recvNative(o, mode);
    if (o !== null && o.signal && o.signal.aborted) return Promise.reject(abortError(o.signal));
    const v = this._tryRecvLocal();
    if (v !== EMPTY) {
      const ok = v !== DRAINED;
      if (mode === RECV) return Promise.resolve({ value: ok ? v : undefined, ok });
      return Promise.resolve(ok ? { value: v, done: false } : { value: undefined, done: true });
    }
    if (this._onRecvWait !== null) this._onRecvWait();
    if (o === null && mode === RECV) {
      const q = this._recvq;
      const p = new Promise((resolve) => {
        q.push(resolve); // a plain receive waits as its resolve function alone (see PlainSend)
      });
      return SW[0] === 0 ? p : traceWait(p, R_RECV);
    }
    const w = new Waiter(mode, this._recvq, undefined);
    const p = new Promise((resolve, reject) => {
      w.resolve = resolve;
      w.reject = reject;
    });
    this._recvq.push(w);
    if (o !== null) w.arm(o);
    return SW[0] === 0 ? p : traceWait(p, R_RECV);
  }

  trySend(v) {
    let r;
    if (this._nc !== null) {
      const enc = this._enc(v);
      r = chanTrySend(this._nx, enc);
      if (r !== 1) abandon(enc);
    } else {
      r = this._trySendLocal(v);
    }
    if (r === 0) throw new ClosedError();
    return r === 1;
  }

  tryRecv() {
    if (this._nc !== null) {
      const v = chanTryRecv(this._nx);
      const s = status[0];
      if (s === WOULD_BLOCK) return null;
      return s === 1 ? { value: this._dec(v), ok: true } : { value: undefined, ok: false };
    }
    const v = this._tryRecvLocal();
    if (v === EMPTY) return null;
    return v === DRAINED ? { value: undefined, ok: false } : { value: v, ok: true };
  }

  close() {
    if (this._nc !== null) {
      if (this._nc.close() === 0) throw new ClosedError('goro: close of closed channel');
      return;
    }
    if (this._closed) throw new ClosedError('goro: close of closed channel');
    this._closed = true;
    // Every waiter wakes: receivers with ok = false, senders with ClosedError.
    for (const w of this._recvq.clear()) {
      if (typeof w === 'function') w({ value: undefined, ok: false });
      else if (claim(w)) w.complete(undefined, false);
    }
    for (const w of this._sendq.clear()) {
      if (w instanceof PlainSend) w.reject(new ClosedError());
      else if (claim(w)) w.complete(undefined, false);
    }
  }

  [Symbol.asyncIterator]() {
    return {
      next: () => this._recv(null, ITER),
      return: () => Promise.resolve({ value: undefined, done: true }),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  // ---- crossing threads ----

  // A one-use token to postMessage to a Worker, which opens it with Chan.open(token). From
  // now on this channel is native (see the top of the file).
  share() {
    if (this._nc === null) this._toNative(new native.NativeChan(this._cap));
    return this._nc.share();
  }

  static open(token) {
    if (typeof token !== 'string') throw typeError('Chan.open needs a token made by ch.share()');
    let nc;
    try {
      nc = native.NativeChan.open(token);
    } catch (e) {
      throw typeError('Chan.open: unknown or already used token');
    }
    return Chan._wrap(nc);
  }

  // Adopts a C goro_chan* of this runtime (its address as a BigInt); values are Buffers of
  // the channel's element size, both ways.
  static fromNative(address) {
    if (typeof address !== 'bigint') throw typeError('Chan.fromNative needs a BigInt address');
    const c = Chan._wrap(native.NativeChan.fromAddress(address));
    c._bytes = true;
    return c;
  }

  static _wrap(nc) {
    const c = new Chan(0);
    c._nc = nc;
    c._nx = nc.fast();
    c._bytes = nc.elemSize >= 0;
    return c;
  }

  _enc(v) {
    if (!this._bytes) return encode(v);
    if (Buffer.isBuffer(v)) return v;
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    throw typeError(`this channel carries Buffers of ${this._nc.elemSize} bytes`);
  }

  _dec(v) {
    return this._bytes ? v : decode(v);
  }

  _sendNative(v, o) {
    if (o !== null && o.signal && o.signal.aborted) return Promise.reject(abortError(o.signal));
    const enc = this._enc(v);
    // The plain try first: it costs less than starting a wait (no waiter, no slot).
    const r = chanTrySend(this._nx, enc);
    if (r === 1) return RESOLVED;
    if (r === 0) {
      abandon(enc);
      return Promise.reject(new ClosedError());
    }
    const id = newId();
    getLoop().send(id, this._nc, enc);
    const s = status[0];
    if (s >= 0) return (s & 1) === 1 ? RESOLVED : Promise.reject(new ClosedError());
    return this._pendingNative(id, SEND, o);
  }

  _recvNative(o, mode) {
    if (o !== null && o.signal && o.signal.aborted) return Promise.reject(abortError(o.signal));
    // The plain try first (see _sendNative).
    let v = chanTryRecv(this._nx);
    let s = status[0];
    if (s === 1) {
      v = this._dec(v);
      return Promise.resolve(mode === RECV ? { value: v, ok: true } : { value: v, done: false });
    }
    const id = newId();
    if (s === WOULD_BLOCK) {
      v = getLoop().recv(id, this._nc);
      s = status[0];
    }
    if (s >= 0) {
      const ok = (s & 1) === 1;
      const value = ok ? this._dec(v) : undefined;
      if (mode === RECV) return Promise.resolve({ value, ok });
      return Promise.resolve(ok ? { value, done: false } : { value: undefined, done: true });
    }
    return this._pendingNative(id, mode, o);
  }

  _pendingNative(id, mode, o) {
    const p = pendingNative(id, this._bytes ? mode | BYTES : mode, o, mode === SEND ? R_SEND : R_RECV);
    spin(id);
    return p;
  }

  // local -> native; see the top of the file.
  _toNative(nc) {
    const nx = nc.fast();
    while (this._buf.length > 0) chanTrySend(nx, encode(this._buf.shift()));
    if (this._closed) nc.close();
    const waiting = this._recvq.clear().concat(this._sendq.clear()).map(asWaiter);
    this._nc = nc;
    this._nx = nx;
    const sels = new Set();
    for (const w of waiting) {
      if (w.done) continue;
      if (w.sel !== null) {
        sels.add(w.sel);
        continue;
      }
      // Restart the single wait natively, keeping its promise, timer and signal.
      const id = newId();
      const loop = getLoop();
      const v = w.mode === SEND ? loop.send(id, nc, encode(w.value)) : loop.recv(id, nc);
      const s = status[0];
      w.queue = null;
      if (s >= 0) {
        w.done = true;
        w.complete((s & 1) === 1 ? decode(v) : undefined, (s & 1) === 1);
      } else {
        w.nativeId = id;
        pending.set(id, w);
      }
    }
    for (const s of sels) s.restart();
  }
}

// A plain wait in a local queue: a receive is its resolve function alone, a send a PlainSend.
// Made for a wait without options outside a select (the everyday `await ch.recv()` and
// `await ch.send(v)`): nothing but a partner on the channel or close() can complete it (no
// timeout, no signal, no other case), so it needs no claim, no give-up and no waiter; the
// partner that takes it off the queue completes it. (A Waiter has eleven fields; this halves
// what a park allocates, measured in RESULTS.md.)
class PlainSend {
  constructor(value) {
    this.value = value;
    this.resolve = null;
    this.reject = null;
  }
}

// A queue entry as a Waiter (the switch to native restarts every wait as one).
function asWaiter(x) {
  if (typeof x === 'function') {
    const w = new Waiter(RECV, null, undefined);
    w.resolve = x;
    return w;
  }
  if (x instanceof PlainSend) {
    const w = new Waiter(SEND, null, x.value);
    w.resolve = x.resolve;
    w.reject = x.reject;
    return w;
  }
  return x;
}

function hasLive(q) {
  for (let k = 0; k < q.length; k++) {
    const w = q.at(k);
    if (typeof w === 'function' || w instanceof PlainSend) return true;
    if (w.sel !== null ? !w.sel.done : !w.done) return true;
  }
  return false;
}

// Keeps the maps of Chan, Queue and the addon's NativeChan and ChanSet alive (lib/shapes.js).
keepShape(new Chan(0));
keepShape(new PlainSend(undefined));
keepShape(new native.NativeChan(0));
keepShape(new native.ChanSet([]));

module.exports = { Chan, hasLive, EMPTY, DRAINED };
