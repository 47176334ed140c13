'use strict';
// select over receive and send cases, as Go's select:
// 1. poll the cases in a random order: the first ready one completes (a native case is polled
//    by a non-blocking native select of that case alone; when every case is native, one
//    native select polls them all in random order itself);
// 2. if none was ready: with `default` resolve index -1; else queue an entry on every local
//    channel and one native select_async for the native ones, all sharing one Select, and wait
//    for the first to claim it (lib/wait.js). A local partner that claims it cancels the
//    native part first; if that cancel loses, the native case won and the partner moves on.

const { typeError, TimeoutError } = require('./errors');
const { Waiter, checkOpts, abortError } = require('./wait');
const { native, S, status, pending, getLoop, newId } = require('./native');
const { Chan, EMPTY, DRAINED } = require('./chan');
const { SW, traceWait, R_SELECT } = require('./trace');
const { keepShape } = require('./shapes');

const { setPollRecv } = native;

class Case {
  constructor(chan, send, value) {
    this.chan = chan;
    this.send = send;
    this.value = value;
  }
}

function checkChan(ch, what) {
  if (ch !== null && !(ch instanceof Chan)) {
    throw typeError(`${what}(ch): ch must be a Chan or null, got ${describe(ch)}`);
  }
}

function describe(x) {
  return x === undefined ? 'undefined' : typeof x === 'object' ? (x.constructor ? x.constructor.name : 'object') : typeof x;
}

// A receive case; its result value is the received value.
function recv(ch) {
  checkChan(ch, 'recv');
  return new Case(ch, false, undefined);
}

// A send case of v.
function send(ch, v) {
  checkChan(ch, 'send');
  return new Case(ch, true, v);
}

class Select extends Waiter {
  constructor(cases, resolve, reject) {
    super(0, null, undefined);
    this.cases = cases;
    this.resolve = resolve;
    this.reject = reject;
    this.entries = [];
    this.nativeIdx = null; // native case k -> index in cases
  }

  // A local partner found entry w: true if it won the whole select.
  claim(w) {
    if (this.done) return false;
    if (this.nativeId >= 0) {
      if (!getLoop().cancel(this.nativeId)) return false;
      pending.delete(this.nativeId);
      this.nativeId = -1;
    }
    this.done = true;
    this.leave(w);
    this.disarm();
    return true;
  }

  finish(index, value, ok) {
    this.resolve({ index, value, ok });
  }

  nativeDone(code, value) {
    this.done = true;
    this.nativeId = -1;
    this.leave(null);
    this.disarm();
    const index = this.nativeIdx[code >> 1];
    const ok = (code & 1) === 1;
    const c = this.cases[index];
    this.resolve({ index, value: ok && !c.send ? c.chan._dec(value) : undefined, ok });
  }

  giveUp(err) {
    if (this.done) return;
    if (this.nativeId >= 0) {
      if (!getLoop().cancel(this.nativeId)) return;
      pending.delete(this.nativeId);
      this.nativeId = -1;
    }
    this.done = true;
    this.leave(null);
    this.disarm();
    this.reject(err);
  }

  // Takes our entries off every local queue (but `except`, already taken off by its partner).
  leave(except) {
    for (const e of this.entries) if (e !== except) e.queue.remove(e);
    this.entries.length = 0;
  }

  // One of our channels went native while we waited: start over (nothing was consumed).
  restart() {
    if (this.done) return;
    if (this.nativeId >= 0) {
      if (!getLoop().cancel(this.nativeId)) return;
      pending.delete(this.nativeId);
      this.nativeId = -1;
    }
    this.leave(null);
    const r = poll(this.cases);
    if (r !== null) {
      this.done = true;
      this.disarm();
      this.resolve(r);
    } else {
      enqueue(this);
    }
  }
}

// Step 1. Returns a result, or null when nothing is ready.
function poll(cases) {
  const n = cases.length;
  let natives = 0;
  let locals = 0;
  for (let i = 0; i < n; i++) {
    const ch = cases[i].chan;
    if (ch !== null) {
      if (ch._nc !== null) natives++;
      else locals++;
    }
  }
  // All native: one native poll, which picks at random itself.
  if (locals === 0) return natives > 0 ? nativeSelect(null, cases, false, -1) : null;
  const order = new Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const c = cases[i];
    const ch = c.chan;
    if (ch === null) continue;
    if (ch._nc !== null) {
      // Mixed: poll this native case alone, in its random turn, so the choice stays uniform.
      const r = nativeSelect(null, cases, false, i);
      if (r !== null) return r;
      continue;
    }
    if (c.send) {
      const r = ch._trySendLocal(c.value);
      if (r >= 0) return { index: i, value: undefined, ok: r === 1 };
    } else {
      const v = ch._tryRecvLocal();
      if (v === DRAINED) return { index: i, value: undefined, ok: false };
      if (v !== EMPTY) return { index: i, value: v, ok: true };
    }
  }
  return null;
}

// A native select over the native cases; with `sel`, one that may wait (registered as
// sel's native part), else a non-blocking one; `only` >= 0 limits it to that case. Returns a
// result if it completed at once.
function nativeSelect(sel, cases, wait, only) {
  const set = chanSet(cases, only);
  const idx = set.idx;
  if (!wait && set.recvOnly) {
    // The fast path: a poll of receives only (setPollRecv, src/wake.rs).
    const v = setPollRecv(set.fast);
    const s = status[0];
    if (s < 0) return null;
    const index = idx[s >> 1];
    const ok = (s & 1) === 1;
    return { index, value: ok ? cases[index].chan._dec(v) : undefined, ok };
  }
  let mask = 0;
  let values = null;
  for (let k = 0; k < idx.length; k++) {
    const c = cases[idx[k]];
    if (c.send) {
      mask |= 1 << k;
      if (values === null) values = new Array(idx.length);
      values[k] = c.chan._enc(c.value);
    }
  }
  const id = newId();
  const v = getLoop().select(id, set.native, mask, values, wait);
  const s = status[0];
  if (s >= 0) {
    const index = idx[s >> 1];
    const ok = (s & 1) === 1;
    const c = cases[index];
    return { index, value: ok && !c.send ? c.chan._dec(v) : undefined, ok };
  }
  if (s === S.PENDING && sel !== null) {
    sel.nativeId = id;
    sel.nativeIdx = idx;
    pending.set(id, sel);
  }
  return null;
}

// The native ChanSet of a select's native cases, cached per cases array (and per `only`)
// while the array holds the same cases on the same channels: a loop selecting over one
// array pays for the set once.
const setCache = new WeakMap();
function chanSet(cases, only) {
  let byOnly = setCache.get(cases);
  if (byOnly === undefined) {
    byOnly = new Map();
    setCache.set(cases, byOnly);
  }
  const hit = byOnly.get(only);
  if (hit !== undefined && hit.n === cases.length) {
    let same = true;
    for (let k = 0; k < hit.idx.length; k++) {
      const c = cases[hit.idx[k]];
      if (c !== hit.cases[k] || c.chan === null || c.chan._nc !== hit.ncs[k]) {
        same = false;
        break;
      }
    }
    if (same && (only >= 0 || countNative(cases) === hit.idx.length)) return hit;
  }
  const idx = [];
  const ncs = [];
  const cs = [];
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    if (c.chan === null || c.chan._nc === null || (only >= 0 && i !== only)) continue;
    idx.push(i);
    ncs.push(c.chan._nc);
    cs.push(c);
  }
  const recvOnly = cs.every((c) => !c.send && !c.chan._bytes);
  const nset = new native.ChanSet(ncs);
  const set = { n: cases.length, idx, ncs, cases: cs, recvOnly, native: nset, fast: recvOnly ? nset.fast() : null };
  byOnly.set(only, set);
  return set;
}

function countNative(cases) {
  let n = 0;
  for (const c of cases) if (c.chan !== null && c.chan._nc !== null) n++;
  return n;
}

// Step 2: queue the select everywhere.
function enqueue(sel) {
  const cases = sel.cases;
  let natives = 0;
  for (const c of cases) if (c.chan !== null && c.chan._nc !== null) natives++;
  if (natives > 0) {
    const r = nativeSelect(sel, cases, true, -1);
    if (r !== null) {
      sel.done = true;
      sel.disarm();
      sel.resolve(r);
      return;
    }
  }
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    const ch = c.chan;
    if (ch === null || ch._nc !== null) continue;
    const q = c.send ? ch._sendq : ch._recvq;
    if (!c.send && ch._onRecvWait !== null) ch._onRecvWait();
    const e = new Waiter(0, q, c.value);
    e.sel = sel;
    e.index = i;
    q.push(e);
    sel.entries.push(e);
  }
}

function select(cases, opts) {
  if (!Array.isArray(cases)) throw typeError('select(cases, opts): cases must be an array of recv(ch) / send(ch, v)');
  for (const c of cases) {
    if (!(c instanceof Case)) throw typeError(`select: each case must be made by recv(ch) or send(ch, v), got ${describe(c)}`);
  }
  const o = checkOpts(opts);
  const dflt = o !== null && o.default === true;
  if (o !== null && o.default !== undefined && typeof o.default !== 'boolean') {
    throw typeError('select: options.default must be a boolean');
  }
  if (o !== null && o.signal && o.signal.aborted) return Promise.reject(abortError(o.signal));
  const r = poll(cases);
  if (r !== null) return Promise.resolve(r);
  if (dflt) return Promise.resolve({ index: -1, value: undefined, ok: false });
  if (o !== null && o.timeout === 0) return Promise.reject(new TimeoutError());
  const p = new Promise((resolve, reject) => {
    const sel = new Select(cases, resolve, reject);
    enqueue(sel);
    if (!sel.done) sel.arm(o);
  });
  return SW[0] === 0 ? p : traceWait(p, R_SELECT);
}

// Keeps their maps alive (lib/shapes.js).
keepShape(new Case(null, false, undefined));
keepShape(new Select([], null, null));

module.exports = { select, recv, send, Case };
