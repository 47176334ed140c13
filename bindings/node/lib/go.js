'use strict';
// go(fn, ...args): an async function run as a tracked goroutine. Its throw is reported (to
// stderr, or to the hook set with onGoroutineError) and never becomes an unhandled rejection.

const { native } = require('./native');
const { typeError } = require('./errors');
const { SW, runTraced } = require('./trace');

let running = 0;
let hook = null;

function report(err) {
  if (hook !== null) {
    try {
      hook(err);
      return;
    } catch (e) {
      err = e;
    }
  }
  process.stderr.write(`goro: goroutine failed: ${err && err.stack ? err.stack : String(err)}\n`);
}

function go(fn, ...args) {
  if (typeof fn !== 'function') throw typeError(`go(fn, ...args): fn must be a function, got ${typeof fn}`);
  running++;
  // Tracing on (lib/trace.js): a registered task, visible in dumps, profiles and leak reports.
  (SW[0] === 0 ? Promise.resolve().then(() => fn(...args)) : runTraced(fn, args, go))
    .then(
      () => { running--; },
      (err) => { running--; report(err); },
    );
}

function onGoroutineError(fn) {
  if (fn !== null && typeof fn !== 'function') throw typeError('onGoroutineError(fn): fn must be a function or null');
  hook = fn;
}

// Goroutines alive: native ones in the runtime plus JS ones started by go() in this thread.
function numGoroutine() {
  return Number(native.numGoroutine()) + running;
}

function gomaxprocs(n) {
  if (n !== undefined && n !== null && (!Number.isInteger(n))) throw typeError('gomaxprocs(n): n must be an integer');
  return native.gomaxprocs(n === undefined || n === null ? 0 : n);
}

function numCpu() {
  return native.numCpu();
}

// go() tasks of this thread not yet finished.
function runningTasks() {
  return running;
}

module.exports = { runningTasks, go, onGoroutineError, numGoroutine, gomaxprocs, numCpu };
