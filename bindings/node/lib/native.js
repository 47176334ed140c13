'use strict';
// Loads the addon and keeps this JS thread's wake path (one Loop, made on first need).
// Native completions arrive through Loop's dispatch as [id, code, value, ...]; each id maps
// to the waiter that started it (lib/chan.js, lib/select.js).

const path = require('node:path');
const fs = require('node:fs');
const v8 = require('node:v8');

function load() {
  const root = path.join(__dirname, '..');
  const names = fs.readdirSync(root).filter((f) => /^goro\..*\.node$/.test(f));
  const arch = `${process.platform}-${process.arch}`;
  const pick = names.find((n) => n.includes(arch)) || names[0];
  if (!pick) {
    throw new Error(`goro: the native addon is not built (no goro.*.node in ${root}); run npm install`);
  }
  return require(path.join(root, pick));
}

const native = load();

// Status codes, from the one table (src/status.rs): n >= 0 is "case n >> 1 completed, ok =
// n & 1" (a single operation is case 0; ok false: its channel is closed); negatives are
// PENDING (dispatch reports it later) and the core's errors (WouldBlock, Invalid, ...).
// The JS-local channels (lib/chan.js) answer in the same codes.
const S = Object.freeze(native.statusCodes());

// The status cell: native calls that return a value leave its status here.
const status = new Int32Array(1);
native.setStatusCell(status);

const pending = new Map(); // id -> waiter with .nativeDone(code, value), or a WeakRef to one
let nextId = 1;
let loop = null;

function dispatch(flat) {
  for (let i = 0; i < flat.length; i += 3) {
    const id = flat[i];
    let w = pending.get(id);
    if (w === undefined) continue;
    pending.delete(id);
    if (w instanceof WeakRef && (w = w.deref()) === undefined) continue;
    w.nativeDone(flat[i + 1], flat[i + 2]);
  }
}

function getLoop() {
  if (loop === null) loop = new native.Loop(dispatch);
  return loop;
}

// How long a JS thread spins (yielding its CPU each turn) for a channel wait that another
// thread can settle, before its event loop sleeps (src/wake.rs, Loop::spin); none with one
// CPU, where the partner needs this CPU to answer. 20 µs, about two thread wakes: benches/node
// W2x on 2 loaded vCPUs measured 25.6 µs per round trip without spinning, 10.9 with 20 µs,
// 13.3 with 50, 17.7 with 100 (2026-12-06, RESULTS.md).
const SPIN_US = native.numCpu() > 1 ? 20 : 0;

// Called right after a single channel wait `id` went PENDING (its waiter already in
// `pending`): it may settle it, and any other wait that completed meanwhile, at once. A
// select does not spin: with W5x's four producer Workers on two CPUs a waiting select means
// the producers have no CPU, and spinning there measured slower (0.64 against 0.83 M msg/s).
// Rejected: backing off after a miss (skip the next 1, 3, 7, ... waits): in W2x one miss
// made the partner's next spin miss too, 19-24 µs per round trip against 12 without it.
function spin(id) {
  if (SPIN_US === 0) return;
  const flat = loop.spin(id, SPIN_US);
  if (flat !== null && flat !== undefined) dispatch(flat);
}

function newId() {
  const id = nextId;
  nextId = nextId >= 0x7fffffff ? 1 : nextId + 1;
  return id;
}

// Values on native channels: primitives as they are; an object as [bytes, key], where bytes
// is its structured clone (for a receiver in another thread) and key names it in `held`
// (a receiver in this thread gets the object itself). src/value.rs has the whole story.
const held = new Map(); // key -> object sent from this thread, not yet received or forgotten
let nextKey = 1;
let sweepAt = 1024;

function encode(v) {
  switch (typeof v) {
    case 'number':
    case 'string':
    case 'boolean':
    case 'undefined':
      return v;
    default: {
      if (v === null) return null;
      const bytes = v8.serialize(v);
      const key = nextKey;
      nextKey = nextKey >= 0xffffffff ? 1 : nextKey + 1;
      held.set(key, v);
      if (held.size >= sweepAt) sweep();
      return [bytes, key];
    }
  }
}

// Drops the objects whose messages ended in another thread (or were dropped).
function sweep() {
  for (const k of native.takeForgotten()) held.delete(k);
  sweepAt = Math.max(1024, held.size * 2);
}

// A value encode() made that will not be sent after all.
function abandon(enc) {
  if (Array.isArray(enc)) held.delete(enc[1]);
}

function decode(v) {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    // Sent from this thread: the object itself.
    const o = held.get(v[0]);
    held.delete(v[0]);
    return o;
  }
  return v8.deserialize(v);
}

module.exports = { native, S, status, pending, getLoop, spin, newId, encode, decode, abandon, held };
