'use strict';
// A Pool worker: loads the job module (ESM or CommonJS) and runs batches of jobs, answering
// each batch with one message. Jobs that return promises run concurrently; a job given an
// AbortSignal by its caller gets one as `{ signal }` in its second argument.

const { parentPort, workerData } = require('node:worker_threads');

const MAX_BATCH = 256; // as lib/pool.js: a job's key is batch * MAX_BATCH + index
const controllers = new Map(); // key -> AbortController, for abortable jobs in progress
const cancelled = new Set(); // keys cancelled before they started
let batches = 0; // batches received, numbered as the pool numbers them
let fn = null;
const ready = import(workerData.url).then((mod) => {
  let f = mod.default;
  if (typeof f !== 'function' && f && typeof f.default === 'function') f = f.default;
  if (typeof f !== 'function') throw new TypeError(`goro: ${workerData.url} has no default export function`);
  fn = f;
});

function runBatch(m) {
  const { args, abortable } = m;
  const seq = batches++;
  const n = args.length;
  let oks = null; // null: every job succeeded
  const values = new Array(n);
  const waits = [];
  const fail = (i, e) => {
    if (oks === null) oks = new Array(n).fill(true);
    oks[i] = false;
    values[i] = e;
  };
  const abortableSet = abortable !== null ? new Set(abortable) : null;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const key = seq * MAX_BATCH + i;
    if (cancelled.size > 0 && cancelled.delete(key)) {
      fail(i, null);
      continue;
    }
    let ctx;
    if (abortableSet !== null && abortableSet.has(i)) {
      const ac = new AbortController();
      controllers.set(key, ac);
      ctx = { signal: ac.signal };
    }
    try {
      const r = fn(args[i], ctx);
      if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
        waits.push(Promise.resolve(r).then(
          (v) => { values[i] = v; },
          (e) => fail(i, e),
        ).finally(() => controllers.delete(key)));
      } else {
        values[i] = r;
        if (ctx !== undefined) controllers.delete(key);
      }
    } catch (e) {
      fail(i, e);
      if (ctx !== undefined) controllers.delete(key);
    }
  }
  const reply = () => {
    const ms = (performance.now() - t0) / n;
    try {
      parentPort.postMessage({ oks, values, ms });
    } catch (e) {
      // A result that cannot be cloned: report that instead, per job.
      for (let i = 0; i < n; i++) {
        try {
          structuredClone(values[i]);
        } catch (err) {
          // (a DOMException would arrive as a bare object: send a TypeError instead)
          fail(i, new TypeError(`goro: the job's result could not be cloned: ${err.message}`));
        }
      }
      parentPort.postMessage({ oks, values, ms });
    }
  };
  if (waits.length === 0) reply();
  else Promise.all(waits).then(reply);
}

parentPort.on('message', (m) => {
  if (m.cancel !== undefined) {
    const ac = controllers.get(m.cancel);
    if (ac !== undefined) ac.abort();
    else if (fn === null) cancelled.add(m.cancel); // not started yet; else it has finished
    return;
  }
  if (fn !== null) runBatch(m);
  else ready.then(() => runBatch(m));
});
