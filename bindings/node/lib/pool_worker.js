'use strict';
// A Pool worker: loads the job module (ESM or CommonJS) and runs batches of jobs, answering
// each batch with one message. Jobs that return promises run concurrently; a job given an
// AbortSignal by its caller gets one as `{ signal }` in its second argument.

const { parentPort, workerData } = require('node:worker_threads');

const controllers = new Map(); // id -> AbortController, for abortable jobs in progress
const cancelled = new Set(); // ids cancelled before they started
let fn = null;
const ready = import(workerData.url).then((mod) => {
  let f = mod.default;
  if (typeof f !== 'function' && f && typeof f.default === 'function') f = f.default;
  if (typeof f !== 'function') throw new TypeError(`goro: ${workerData.url} has no default export function`);
  fn = f;
});

function runBatch(m) {
  const { ids, args, abortable } = m;
  const n = ids.length;
  const oks = new Array(n);
  const values = new Array(n);
  const waits = [];
  const abortableSet = abortable.length > 0 ? new Set(abortable) : null;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (cancelled.delete(id)) {
      oks[i] = false;
      values[i] = null;
      continue;
    }
    let ctx;
    if (abortableSet !== null && abortableSet.has(id)) {
      const ac = new AbortController();
      controllers.set(id, ac);
      ctx = { signal: ac.signal };
    }
    try {
      const r = fn(args[i], ctx);
      if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
        waits.push(Promise.resolve(r).then(
          (v) => { oks[i] = true; values[i] = v; },
          (e) => { oks[i] = false; values[i] = e; },
        ).finally(() => controllers.delete(id)));
      } else {
        oks[i] = true;
        values[i] = r;
        if (ctx !== undefined) controllers.delete(id);
      }
    } catch (e) {
      oks[i] = false;
      values[i] = e;
      if (ctx !== undefined) controllers.delete(id);
    }
  }
  const reply = () => {
    const ms = (performance.now() - t0) / n;
    try {
      parentPort.postMessage({ ids, oks, values, ms });
    } catch (e) {
      // A result that cannot be cloned: report that instead, per job.
      for (let i = 0; i < n; i++) {
        try {
          structuredClone(values[i]);
        } catch (err) {
          oks[i] = false;
          values[i] = err;
        }
      }
      parentPort.postMessage({ ids, oks, values, ms });
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
