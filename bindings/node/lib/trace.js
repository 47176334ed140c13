'use strict';
// Seeing inside: goroutine dumps, pprof profiles, leak reports, the debug endpoint and the
// runtime counters (the core's, core/src/trace), plus what only this layer knows: its go()
// tasks and the waits of JS code.
//
// Cost when off: every wait that does not complete at once checks one Int32Array cell
// (`SW[0]`, shared by every JS thread: src/trace.rs) and does nothing more while it is 0;
// go() checks the same cell. The cell turns non-zero when something asks for it:
// - task tracking (enableTracing(), debugServe(), the testing helper, GORO_TRACE=1 or
//   GORO_TRACEBACK=1 in the environment): go() tasks are registered as goroutines (with
//   their function name and the file:line that called go()), and a goro wait inside one sets
//   its wait state, found through an AsyncLocalStorage made on first need;
// - a block profile rate or a mutex fraction: waits capture their JS stack when they start
//   and report their delay to the profile when they settle (task or not).
// Registering a task costs a few microseconds (a native object, a stack capture), and an
// AsyncLocalStorage makes every promise a little dearer (Node < 22): that is why it is off
// until asked for.

const fs = require('node:fs');
const path = require('node:path');
const { native } = require('./native');
const { typeError } = require('./errors');

const SW = native.traceSwitch();
const TASKS = 1;
const BLOCK = 2;
const MUTEX = 4;

// Wait reasons: the core's WaitReason numbers, by its names (src/status.rs exports them).
const R = native.waitReasons();
const R_NONE = R.None;
const R_RECV = R.ChanRecv;
const R_SEND = R.ChanSend;
const R_SELECT = R.Select;
const R_SLEEP = R.Sleep;
const R_WAITGROUP = R.WaitGroup;
const R_MUTEX = R.Mutex;
const R_POOL = R.PoolSubmit;

const LIB_DIR = __dirname + path.sep;
const INDEX_JS = path.join(__dirname, '..', 'index');

let als = null; // this thread's AsyncLocalStorage: the go() task running now
let tracingUsers = 0; // enableTracing() calls not yet undone, in this thread

function getAls() {
  if (als === null) {
    const { AsyncLocalStorage } = require('node:async_hooks');
    als = new AsyncLocalStorage();
  }
  return als;
}

// ---- JS stacks ----

function ownFrame(file) {
  return file === null || file === undefined || file.startsWith(LIB_DIR) ||
    file.startsWith(INDEX_JS) || file.startsWith('node:');
}

// The JS frames of the caller (innermost first), goro's own frames left out.
function callSites(limit, skip) {
  const prep = Error.prepareStackTrace;
  const lim = Error.stackTraceLimit;
  Error.prepareStackTrace = (_, cs) => cs;
  Error.stackTraceLimit = limit;
  const o = {};
  Error.captureStackTrace(o, skip);
  const cs = o.stack;
  Error.prepareStackTrace = prep;
  Error.stackTraceLimit = lim;
  return Array.isArray(cs) ? cs : [];
}

function funcName(c) {
  const n = c.getFunctionName();
  if (n) return n;
  const m = c.getMethodName();
  if (m) return m;
  return '(anonymous)';
}

function fileOf(c) {
  let f = c.getFileName() || c.getScriptNameOrSourceURL() || '';
  if (f.startsWith('file://')) {
    try {
      f = require('node:url').fileURLToPath(f);
    } catch (_) { /* keep the URL */ }
  }
  return f;
}

// Where go() was called: the first frame outside goro.
function startSite(skip) {
  // Usually the very first frame (go() called from user code): capture few frames first.
  for (const limit of [2, 16]) {
    for (const c of callSites(limit, skip)) {
      const f = fileOf(c);
      if (!ownFrame(f)) return [f, c.getLineNumber() || 0];
    }
  }
  return [null, null];
}

// ---- tasks ----

class TaskRef {
  constructor(id) {
    this.id = id; // its goroutine id (src/trace.rs task_start)
    this.waits = 0; // waits in flight (Promise.all over several)
    this.seq = 0; // waits started so far (the last one is the one watched)
    this.ended = false;
  }
}

// Tasks stuck for good: the garbage collector took a promise one of them was waiting on, so
// nothing can ever settle that wait (its channel, mutex or WaitGroup became unreachable).
// This is the JS side of the core's "blocked on channels nothing else can reach": found once
// V8 has collected the wait (any GC; leaks() does not force one).
const stuck = new Map(); // id -> TaskRef
let stuckRegistry = null;

function watchWait(p, t) {
  if (stuckRegistry === null) {
    stuckRegistry = new FinalizationRegistry(({ task, seq }) => {
      if (task.waits > 0 && task.seq === seq && !task.ended) stuck.set(task.id, task);
    });
  }
  t.seq++;
  stuckRegistry.register(p, { task: t, seq: t.seq });
}

// go() when SW[0] !== 0: fn runs as a registered task. Returns the promise of its end.
function runTraced(fn, args, skip) {
  const [file, line] = startSite(skip);
  const name = typeof fn.name === 'string' && fn.name !== '' ? fn.name : '(anonymous)';
  const t = new TaskRef(native.taskStart(name, file, line));
  const a = getAls();
  return Promise.resolve()
    .then(() => a.run(t, fn, ...args))
    .finally(() => {
      t.ended = true;
      stuck.delete(t.id);
      native.taskEnd(t.id);
    });
}

// ---- waits ----

// A wait that did not complete at once, when SW[0] !== 0: marks the task (if any) as waiting
// for `reason`, and when a profile wants them captures the stack now and reports the delay
// when `p` settles. Returns the promise to hand the caller.
function traceWait(p, reason) {
  const sw = SW[0];
  const t = (sw & TASKS) !== 0 && als !== null ? als.getStore() : undefined;
  const mutex = reason === R_MUTEX;
  let wantFrames = reason !== R_SLEEP && reason !== R_POOL &&
    ((sw & BLOCK) !== 0 || (mutex && (sw & MUTEX) !== 0));
  if (t === undefined && !wantFrames) return p;
  if (t !== undefined) {
    t.waits++;
    native.taskWait(t.id, reason);
    if (reason !== R_SLEEP) watchWait(p, t);
  }
  let funcs = null;
  let files = null;
  let lines = null;
  if (wantFrames) {
    funcs = [];
    files = [];
    lines = [];
    for (const c of callSites(32, traceWait)) {
      const f = fileOf(c);
      if (ownFrame(f)) continue;
      funcs.push(funcName(c));
      files.push(f);
      lines.push(c.getLineNumber() || 0);
    }
    if (funcs.length === 0) wantFrames = false;
  }
  const t0 = wantFrames ? performance.now() : 0;
  const end = () => {
    if (t !== undefined && --t.waits === 0) native.taskWait(t.id, R_NONE);
    if (funcs !== null && funcs.length > 0) native.recordWait(funcs, files, lines, performance.now() - t0, mutex);
  };
  return p.then((v) => {
    end();
    return v;
  }, (e) => {
    end();
    throw e;
  });
}

// ---- the API ----

function enableTracing() {
  tracingUsers++;
  native.traceTasks(true);
}

function disableTracing() {
  if (tracingUsers > 0) tracingUsers--;
  if (tracingUsers === 0) {
    native.traceTasks(false);
    // Drops the promise hooks the AsyncLocalStorage put in (Node < 22): off costs nothing
    // again. Tasks still running are no longer followed (their wait states freeze).
    if (als !== null) als.disable();
  }
}

function tracing() {
  return (SW[0] & TASKS) !== 0;
}

function dump() {
  return native.dump();
}

const KINDS = ['goroutine', 'goroutineleak', 'block', 'mutex', 'cpu'];

function profile(kind) {
  if (!KINDS.includes(kind)) throw typeError(`profile(kind): kind must be one of ${KINDS.join(', ')}, got ${String(kind)}`);
  // goroutineleak: the core's leaked goroutines and this thread's go() tasks whose wait the
  // GC took (`stuck`), as leaks() lists them.
  if (kind === 'goroutineleak') return native.profileLeaks([...stuck.keys()]);
  return native.profile(kind);
}

function writeProfile(kind, file) {
  const b = profile(kind);
  fs.writeFileSync(file, b);
  return b.length;
}

function setBlockProfileRate(ns) {
  if (typeof ns !== 'number' || Number.isNaN(ns)) throw typeError('setBlockProfileRate(ns): ns must be a number');
  native.setBlockProfileRate(Math.trunc(ns));
}

function setMutexProfileFraction(n) {
  if (!Number.isInteger(n)) throw typeError('setMutexProfileFraction(n): n must be an integer');
  return native.setMutexProfileFraction(n);
}

function setTraceback(on) {
  native.setTraceback(Boolean(on));
  if (on) enableTracing();
  else disableTracing();
}

function startCpuProfile(hz = 100) {
  if (!Number.isInteger(hz)) throw typeError('startCpuProfile(hz): hz must be an integer');
  native.startCpuProfile(hz);
}

function stopCpuProfile() {
  return native.stopCpuProfile();
}

let serving = null;
function debugServe(addr = '127.0.0.1:0') {
  if (typeof addr === 'number') addr = `127.0.0.1:${addr}`;
  if (typeof addr !== 'string') throw typeError('debugServe(addr): addr must be a string like "127.0.0.1:6060" or a port');
  const bound = native.debugServe(addr);
  if (serving === null) {
    serving = bound;
    enableTracing();
  }
  return Number(bound.slice(bound.lastIndexOf(':') + 1));
}

function shape(g) {
  const waiting = g.state !== 'running' && g.state !== 'runnable';
  return {
    id: g.id,
    name: g.name === undefined ? null : g.name,
    state: waiting ? 'waiting' : g.state,
    waitingFor: waiting ? g.state : null,
    waitedMs: g.waitedMs,
    func: g.func,
    startedAt: g.startedAt === undefined ? null : g.startedAt,
    kind: g.task ? 'task' : 'goroutine',
    unreachable: g.unreachable,
  };
}

function thresholdOf(opts, what) {
  if (opts === undefined || opts === null) return 0;
  if (typeof opts !== 'object') throw typeError(`${what}: options must be an object like { blockedLongerThan: ms }`);
  const t = opts.blockedLongerThan;
  if (t === undefined || t === null) return 0;
  if (typeof t !== 'number' || !(t >= 0)) throw typeError(`${what}: blockedLongerThan must be a number of ms >= 0`);
  return t;
}

// Goroutines leaked: native ones blocked on channels nothing else can reach, go() tasks of
// this thread whose wait the GC collected (`stuck`), and (with blockedLongerThan) any blocked
// at least that long.
function leaks(opts) {
  const out = native.leaks(thresholdOf(opts, 'leaks')).map(shape);
  const js = stuckTasks();
  for (const g of js) {
    const k = out.findIndex((l) => l.id === g.id);
    if (k >= 0) out[k] = g;
    else out.push(g);
  }
  return out.sort((a, b) => a.id - b.id);
}

// Registered tasks of this thread whose wait the GC proved endless (see `stuck`).
function stuckTasks() {
  if (stuck.size === 0) return [];
  const out = [];
  for (const g of native.goroutines()) {
    if (g.task && stuck.has(g.id)) {
      g.unreachable = true;
      out.push(shape(g));
    }
  }
  return out;
}

function leakReport(opts) {
  const text = native.leakReport(thresholdOf(opts, 'leakReport'));
  const js = stuckTasks();
  if (js.length === 0) return text;
  let head = `goro: ${js.length} leaked go() task(s): waiting on something nothing else can reach (collected)\n\n`;
  for (const g of js) {
    const waited = g.waitedMs >= 1000 ? `${(g.waitedMs / 1000).toFixed(1)}s` : `${Math.floor(g.waitedMs)}ms`;
    head += `goroutine ${g.id} [${g.waitingFor || g.state}, ${waited}]:\n${g.func}\n`;
    if (g.startedAt) head += `created at ${g.startedAt}\n`;
    head += '\n';
  }
  return head + text;
}

// Every goroutine now: native goroutines and registered go() tasks, of every thread.
function goroutines() {
  return native.goroutines().map(shape);
}

function counters() {
  const c = native.counters();
  c.jsTasks = require('./go').runningTasks();
  return c;
}

// The environment, read once at load.
if (process.env.GORO_TRACE && process.env.GORO_TRACE !== '0') enableTracing();
else if (native.traceCoreEnabled() && process.env.GORO_TRACEBACK) enableTracing();

module.exports = {
  SW, runTraced, traceWait,
  R_RECV, R_SEND, R_SELECT, R_SLEEP, R_WAITGROUP, R_MUTEX, R_POOL,
  api: {
    dump, profile, writeProfile, setBlockProfileRate, setMutexProfileFraction, setTraceback,
    startCpuProfile, stopCpuProfile, debugServe, leaks, leakReport, goroutines, counters,
    enableTracing, disableTracing, tracing,
  },
};
