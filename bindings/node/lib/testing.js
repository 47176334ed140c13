'use strict';
// goro/testing: fail a test that leaves goroutines behind, in the spirit of uber-go/goleak.
//
//   const { verifyNone } = require('goro/testing');
//   test('my test', verifyNone(async (t) => { ... }));
//
// or by hand (beforeEach / afterEach):
//
//   const snap = goroSnapshot();      // turns task tracking on, notes who is alive
//   ...
//   await checkLeaks(snap);           // throws a LeakError naming each one left
//
// "Left behind" = any goroutine (a go() task of any thread, or a native goroutine) that was
// not alive at the snapshot and still is at the end, after a grace period during which the
// check is retried (goroutines that are finishing get to finish). go() tasks are seen only
// while task tracking is on: the snapshot turns it on (and checkLeaks turns it off again).

const { api } = require('./trace');
const { typeError } = require('./errors');

class LeakError extends Error {
  constructor(message, leaked) {
    super(message);
    this.name = 'LeakError';
    this.leaked = leaked;
  }
}

function snapshot() {
  api.enableTracing();
  return { ids: new Set(api.goroutines().map((g) => g.id)), done: false };
}

function describe(g) {
  const state = g.state === 'waiting' ? `${g.waitingFor}, ${fmtMs(g.waitedMs)}` : g.state;
  let s = `goroutine ${g.id}${g.name ? ` "${g.name}"` : ''} [${state}]:\n${g.func}\n`;
  s += g.startedAt ? `created at ${g.startedAt}\n` : '(start site unknown: started while task tracking was off)\n';
  return s;
}

function fmtMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms)}ms`;
}

function checkOptions(opts) {
  if (opts === undefined || opts === null) return { grace: 500, ignore: null };
  if (typeof opts !== 'object') throw typeError('options must be an object like { grace, ignore }');
  const grace = opts.grace === undefined ? 500 : opts.grace;
  if (typeof grace !== 'number' || !(grace >= 0)) throw typeError('options.grace must be a number of ms >= 0');
  const ig = opts.ignore === undefined ? null : opts.ignore;
  if (ig !== null && typeof ig !== 'function') throw typeError('options.ignore must be a function (goroutine) => boolean');
  return { grace, ignore: ig };
}

// Goroutines alive now that `snap` did not see (and `ignore` does not excuse).
function newSince(snap, ignore) {
  return api.goroutines().filter((g) => !snap.ids.has(g.id) && (ignore === null || !ignore(g)));
}

// Resolves when every goroutine started since `snap` has ended, retrying for `grace` ms;
// else rejects with a LeakError whose message names each one and where it was started.
async function checkLeaks(snap, opts) {
  if (!snap || !(snap.ids instanceof Set)) throw typeError('checkLeaks(snapshot): pass what goroSnapshot() returned');
  const { grace, ignore } = checkOptions(opts);
  const deadline = Date.now() + grace;
  let left = newSince(snap, ignore);
  let delay = 1;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 50);
    left = newSince(snap, ignore);
  }
  if (!snap.done) {
    snap.done = true;
    api.disableTracing();
  }
  if (left.length > 0) {
    const text = `goro: ${left.length} goroutine(s) still alive at the end of the test:\n\n` +
      left.map(describe).join('\n');
    throw new LeakError(text, left);
  }
}

// Wraps a test function (node:test, mocha, ...): the test fails if goroutines it started are
// still alive at its end (after the grace period). `verifyNone(options)` returns a wrapper.
function verifyNone(fn, opts) {
  if (typeof fn !== 'function') {
    const o = fn;
    return (f) => verifyNone(f, o);
  }
  checkOptions(opts);
  return async function verified(...args) {
    const snap = snapshot();
    let failed = true;
    try {
      const r = await fn.apply(this, args);
      failed = false;
      await checkLeaks(snap, opts);
      return r;
    } finally {
      if (failed && !snap.done) {
        snap.done = true;
        api.disableTracing();
      }
    }
  };
}

module.exports = { verifyNone, checkLeaks, goroSnapshot: snapshot, LeakError };
