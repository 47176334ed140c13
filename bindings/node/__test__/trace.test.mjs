// Seeing inside from Node: pprof profiles read by `go tool pprof`, the dump, leaks and the
// testing helper, counters, the debug endpoint. Tracing is process-wide: each test turns on
// what it needs and turns it off again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import {
  go, Chan, WaitGroup, Mutex, select, recv, send, sleep, dump, profile, leaks, leakReport,
  counters, goroutines, debugServe, enableTracing, disableTracing, tracing, setTraceback,
  setBlockProfileRate, setMutexProfileFraction, startCpuProfile, stopCpuProfile,
} from '../index.mjs';
import { verifyNone, checkLeaks, goroSnapshot, LeakError } from '../lib/testing.js';

const require = createRequire(import.meta.url);
const { native } = require('../lib/native.js');
const here = path.dirname(fileURLToPath(import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);

// The line of the first line in this file containing `marker` (for "created at" checks).
function lineOf(marker) {
  const lines = fs.readFileSync(THIS_FILE, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(marker) && !l.includes('lineOf('));
  assert.ok(i >= 0, marker);
  return i + 1;
}

function findGo() {
  for (const p of [process.env.GO, '/usr/local/go/bin/go']) if (p && fs.existsSync(p)) return p;
  const r = spawnSync('go', ['version']);
  return r.status === 0 ? 'go' : null;
}
const GO = findGo();

// The first function row of `go tool pprof -top` (as tests/c/trace_pprof.sh reads it).
function pprofTop(file) {
  const out = execFileSync(GO, ['tool', 'pprof', '-top', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = out.split('\n');
  const k = lines.findIndex((l) => l.includes('flat%'));
  assert.ok(k >= 0, out);
  const row = lines[k + 1].trim().split(/\s+/);
  return { top: row[row.length - 1], out };
}

test('a Node program writes goroutine, block and mutex profiles that go tool pprof reads, its functions on top', { skip: GO === null && 'go is not installed (looked for $GO, /usr/local/go/bin/go, go on PATH)' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'goro-node-pprof-'));
  try {
    const link = path.join(dir, 'node_modules');
    fs.mkdirSync(link);
    fs.symlinkSync(path.join(here, '..'), path.join(link, 'goro'));
    fs.copyFileSync(path.join(here, 'fixtures', 'trace_program.mjs'), path.join(dir, 'prog.mjs'));
    const r = spawnSync(process.execPath, [path.join(dir, 'prog.mjs'), dir], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    for (const [kind, want] of [['goroutine', 'receiveOne'], ['block', 'blockedReceiver'], ['mutex', 'mutexContender']]) {
      const { top, out } = pprofTop(path.join(dir, `${kind}.pb.gz`));
      assert.equal(top, want, `top of ${kind}:\n${out}`);
      if (kind === 'block') assert.match(out, /plainAwaiter/, 'plain async code is in the block profile');
      if (kind === 'block') assert.doesNotMatch(out, /receiveOne|slowSender/, 'sleep and waits still going are not');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('dump shows go() tasks with their state, how long they wait, their function and start site', async () => {
  enableTracing();
  try {
    const c = new Chan();
    const full = new Chan();
    const other = new Chan();
    const wg = new WaitGroup();
    wg.add(1);
    const mu = new Mutex();
    await mu.lock();
    async function inRecv() { await c.recv(); }
    async function inSend() { await full.send(1); }
    async function inSelect() { await select([recv(other), send(other, 1)]); }
    async function inSleep() { await sleep(300); }
    async function inWait() { await wg.wait(); }
    async function inLock() { await mu.lock(); mu.unlock(); }
    go(inRecv); go(inSend); go(inSelect); go(inSleep); go(inWait); go(inLock); // dump-site
    await sleep(30);
    const d = dump();
    const line = lineOf('// dump-site');
    for (const [fn, state] of [['inRecv', 'chan receive'], ['inSend', 'chan send'], ['inSelect', 'select'],
      ['inSleep', 'sleep'], ['inWait', 'sync.WaitGroup.Wait'], ['inLock', 'sync.Mutex.Lock']]) {
      const re = new RegExp(`goroutine \\d+ \\[${state.replace(/\./g, '\\.')}, (\\d+)ms\\]:\\n${fn}\\ncreated at ${THIS_FILE.replace(/[.\\/]/g, '\\$&')}:${line}\\n`);
      const m = d.match(re);
      assert.ok(m, `${fn} [${state}] not in the dump:\n${d}`);
      assert.ok(Number(m[1]) >= 10, `${fn} waited ${m[1]}ms`);
    }
    // Clean up: everyone finishes.
    c.close(); other.close(); await full.recv(); wg.done(); mu.unlock();
    await sleep(320);
    assert.doesNotMatch(dump(), /inRecv|inSend|inSelect|inSleep|inWait|inLock/);
  } finally {
    disableTracing();
  }
});

test('leaks names a go() task blocked on a channel nobody sends to, and where it started; not the finished ones', async () => {
  enableTracing();
  const forgotten = new Chan();
  try {
    async function leakyReceiver(c) { await c.recv(); }
    async function finishes() { await sleep(1); }
    go(finishes);
    go(leakyReceiver, forgotten); // leak-site
    go(finishes);
    await sleep(60);
    const ls = leaks({ blockedLongerThan: 40 });
    const mine = ls.filter((l) => l.func === 'leakyReceiver');
    assert.equal(mine.length, 1, JSON.stringify(ls));
    assert.equal(mine[0].state, 'waiting');
    assert.equal(mine[0].waitingFor, 'chan receive');
    assert.equal(mine[0].kind, 'task');
    assert.equal(mine[0].startedAt, `${THIS_FILE}:${lineOf('// leak-site')}`);
    assert.ok(!ls.some((l) => l.func === 'finishes'));
    const text = leakReport({ blockedLongerThan: 40 });
    assert.match(text, /leakyReceiver\ncreated at .*trace\.test\.mjs:\d+/);
    assert.doesNotMatch(text, /finishes/);
    assert.equal(leaks({ blockedLongerThan: 10000 }).filter((l) => l.func === 'leakyReceiver').length, 0);
    assert.throws(() => leaks({ blockedLongerThan: -1 }), TypeError);
  } finally {
    forgotten.close();
    disableTracing();
  }
});

test('leaks() with no threshold names a go() task whose channel the GC collected, and not one on a live channel', () => {
  const src = `const g = require(${JSON.stringify(path.join(here, '..', 'index.js'))});
    g.enableTracing();
    const kept = new g.Chan();
    async function forgottenReceiver(c) { await c.recv(); }
    async function keptReceiver(c) { await c.recv(); }
    (function start() { g.go(forgottenReceiver, new g.Chan()); })();
    g.go(keptReceiver, kept);
    setTimeout(async () => {
      global.gc();
      await new Promise((r) => setTimeout(r, 10));
      process.stdout.write(JSON.stringify({ leaks: g.leaks(), report: g.leakReport() }));
      kept.close();
    }, 20);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', src], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { leaks: ls, report } = JSON.parse(r.stdout);
  assert.deepEqual(ls.map((l) => [l.func, l.unreachable, l.waitingFor, l.startedAt]),
    [['forgottenReceiver', true, 'chan receive', '[eval]:6']]);
  assert.match(report, /leaked go\(\) task.*\n\ngoroutine \d+ \[chan receive, \d+ms\]:\nforgottenReceiver\ncreated at \[eval\]:6\n/);
  assert.doesNotMatch(report, /keptReceiver/);
});

test('the everyday leak (issue 13): one go() task on a channel its starter dropped is in leaks() and the goroutineleak profile, 50 on a channel main holds are not', { skip: GO === null && 'go is not installed' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'goro-node-leak-'));
  try {
    const file = path.join(dir, 'goroutineleak.pb.gz');
    const src = `const g = require(${JSON.stringify(path.join(here, '..', 'index.js'))});
      g.enableTracing();
      const kept = new g.Chan();
      async function forgottenSender(c) { await c.send(1); }
      async function keptReceiver(c) { await c.recv(); }
      (function start() { g.go(forgottenSender, new g.Chan()); })();
      for (let i = 0; i < 50; i++) g.go(keptReceiver, kept);
      setTimeout(async () => {
        global.gc();
        await new Promise((r) => setTimeout(r, 10));
        g.writeProfile('goroutineleak', ${JSON.stringify(file)});
        process.stdout.write(JSON.stringify(g.leaks().map((l) => l.func)));
        kept.close();
      }, 20);`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', src], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['forgottenSender']);
    const { top, out } = pprofTop(file);
    assert.equal(top, 'forgottenSender', out);
    assert.match(out, /of 1 total/, out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('leaks() names go() tasks waiting on a Mutex or WaitGroup the GC collected', () => {
  const src = `const g = require(${JSON.stringify(path.join(here, '..', 'index.js'))});
    g.enableTracing();
    async function lockedOut(m) { await m.lock(); }
    async function waitsForever(wg) { await wg.wait(); }
    (function start() {
      const m = new g.Mutex(); m.tryLock(); g.go(lockedOut, m);
      const wg = new g.WaitGroup(); wg.add(1); g.go(waitsForever, wg);
    })();
    setTimeout(async () => {
      global.gc();
      await new Promise((r) => setTimeout(r, 10));
      process.stdout.write(JSON.stringify(g.leaks().map((l) => [l.func, l.unreachable, l.waitingFor])));
    }, 20);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', src], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [['lockedOut', true, 'sync.Mutex.Lock'], ['waitsForever', true, 'sync.WaitGroup.Wait']]);
});

test('verifyNone fails a test that leaves a go() task behind, naming it and its start line', async () => {
  const forgotten = new Chan();
  async function leakyReceiver() { await forgotten.recv(); }
  async function quick() { await sleep(5); }
  const leakyTest = verifyNone(async () => {
    go(quick);
    go(leakyReceiver); // verify-site
  }, { grace: 300 });
  const err = await leakyTest().then(() => null, (e) => e);
  assert.ok(err instanceof LeakError, String(err));
  assert.equal(err.leaked.length, 1, err.message);
  assert.equal(err.leaked[0].func, 'leakyReceiver');
  assert.match(err.message, new RegExp(`leakyReceiver\\ncreated at .*trace\\.test\\.mjs:${lineOf('// verify-site')}\\n`));
  assert.doesNotMatch(err.message, /quick/);
  assert.equal(tracing(), false, 'tracing is off again');
  forgotten.close();

  // A test whose goroutines all end (within the grace period) passes, and returns its value.
  const okTest = verifyNone(async () => {
    const c = new Chan();
    go(async function sender() { await sleep(20); await c.send(1); });
    go(async function late() { await sleep(50); });
    assert.equal((await c.recv()).value, 1);
    return 7;
  });
  assert.equal(await okTest(), 7);
  assert.equal(tracing(), false);
});

test('verifyNone sees native goroutines too', async () => {
  let ch = null;
  const err = await verifyNone(async () => {
    // Producers of a native channel nobody drains block on send.
    ch = Chan.fromNative(native.spawnProducers(1000, 2, 4));
  }, { grace: 50 })().then(() => null, (e) => e);
  assert.ok(err instanceof LeakError);
  assert.ok(err.leaked.some((g) => g.kind === 'goroutine' && g.waitingFor === 'chan send'), err.message);
  // Drain: they end.
  let n = 0;
  for await (const _ of ch) n++;
  assert.equal(n, 1000);
});

test('checkLeaks by hand, e.g. from beforeEach/afterEach', async () => {
  const snap = goroSnapshot();
  assert.equal(tracing(), true);
  const c = new Chan();
  go(async function stuck() { await c.recv(); });
  await assert.rejects(checkLeaks(snap, { grace: 20 }), (e) => e instanceof LeakError && /stuck/.test(e.message));
  c.close();
  const snap2 = goroSnapshot();
  go(async function fine() { await sleep(10); });
  await checkLeaks(snap2);
  assert.equal(tracing(), false);
});

test('counters', async () => {
  const c0 = counters();
  for (const k of ['goroutines', 'workers', 'activeWorkers', 'handoffs', 'switches', 'parks', 'steals', 'stackReservedBytes', 'timers', 'jsTasks']) {
    assert.equal(typeof c0[k], 'number', k);
  }
  const ch = Chan.fromNative(native.spawnProducers(2000, 2, 4));
  let n = 0;
  for await (const _ of ch) n++;
  assert.equal(n, 2000);
  const c1 = counters();
  assert.ok(c1.switches > c0.switches, `${c0.switches} -> ${c1.switches}`);
  assert.ok(c1.workers >= 1);
  let release;
  go(() => new Promise((r) => { release = r; }));
  assert.equal(counters().jsTasks, c1.jsTasks + 1);
  await sleep(1);
  release();
});

test('debugServe answers /debug/pprof/goroutine?debug=2 with the dump, and serves pprof profiles', async () => {
  const port = debugServe('127.0.0.1:0');
  assert.ok(port > 0);
  assert.equal(debugServe(), port, 'a second call returns the first server');
  const c = new Chan();
  go(async function servedWaiter() { await c.recv(); });
  await sleep(20);
  const get = (p) => new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${port}${p}`, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }));
    }).on('error', reject);
  });
  const r = await get('/debug/pprof/goroutine?debug=2');
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /goroutine \d+ \[chan receive, \d+ms\]:\nservedWaiter\ncreated at /);
  const g = await get('/debug/pprof/goroutine');
  assert.equal(g.status, 200);
  assert.equal(g.body[0], 0x1f, 'gzip');
  assert.equal((await get('/debug/goro/leaks')).status, 200);
  if (GO !== null) {
    const f = path.join(os.tmpdir(), `goro-node-served-${process.pid}.pb.gz`);
    fs.writeFileSync(f, g.body);
    try {
      assert.equal(pprofTop(f).top, 'servedWaiter');
    } finally {
      fs.rmSync(f, { force: true });
    }
  }
  c.close();
  disableTracing(); // debugServe turned it on
});

test('profile kinds, rates and the CPU profile', () => {
  assert.throws(() => profile('heap'), TypeError);
  assert.equal(profile('goroutine')[0], 0x1f);
  assert.equal(setMutexProfileFraction(3), 0);
  assert.equal(setMutexProfileFraction(-1), 3);
  assert.equal(setMutexProfileFraction(0), 3);
  setBlockProfileRate(0);
  assert.equal(native.traceSwitch()[0] & 6, 0, 'profiles off: the switch is clear');
  startCpuProfile(100);
  assert.throws(() => startCpuProfile(100), /already running/);
  const cpu = stopCpuProfile();
  assert.equal(cpu[0], 0x1f);
  assert.throws(() => stopCpuProfile(), /no CPU profile is running/);
  assert.equal(profile('cpu')[0], 0x1f);
});

test('a Worker\'s waits reach the block profile the main thread turned on (one switch for all threads)', { skip: GO === null && 'go is not installed' }, async () => {
  const { Worker } = await import('node:worker_threads');
  setBlockProfileRate(1);
  try {
    const w = new Worker(`
      const { Chan, go, sleep } = require(${JSON.stringify(path.join(here, '..', 'index.js'))});
      const c = new Chan();
      go(async function feeder() { for (let i = 0; i < 5; i++) { await sleep(10); await c.send(i); } });
      (async function workerReceiver() {
        for (let i = 0; i < 5; i++) await c.recv();
        require('node:worker_threads').parentPort.postMessage('done');
      })();`, { eval: true });
    await new Promise((resolve, reject) => { w.on('message', resolve); w.on('error', reject); });
    await w.terminate();
  } finally {
    setBlockProfileRate(0);
  }
  const f = path.join(os.tmpdir(), `goro-node-worker-block-${process.pid}.pb.gz`);
  fs.writeFileSync(f, profile('block'));
  try {
    const { out } = pprofTop(f);
    assert.match(out, /workerReceiver/);
  } finally {
    fs.rmSync(f, { force: true });
  }
});

test('a go() task waiting on Pool.run shows as [pool submit]', async () => {
  const { Pool } = await import('../index.mjs');
  const pool = new Pool({ filename: path.join(here, 'fixtures', 'job.mjs'), workers: 1 });
  enableTracing();
  try {
    go(async function inPool() { await pool.run({ kind: 'sleep', ms: 300 }); });
    await sleep(100);
    assert.match(dump(), /goroutine \d+ \[pool submit, \d+ms\]:\ninPool\ncreated at /);
  } finally {
    disableTracing();
    await pool.close();
  }
});

test('GORO_TRACE=1 in the environment turns tracing on from the start', () => {
  const src = `const g = require(${JSON.stringify(path.join(here, '..', 'index.js'))});
    const c = new g.Chan();
    g.go(async function envTraced() { await c.recv(); });
    setTimeout(() => { process.stdout.write(g.dump()); c.close(); }, 20);`;
  const r = spawnSync(process.execPath, ['-e', src], { encoding: 'utf8', env: { ...process.env, GORO_TRACE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /goroutine \d+ \[chan receive, \d+ms\]:\nenvTraced\ncreated at \[eval\]:3\n/);
  const off = spawnSync(process.execPath, ['-e', src], { encoding: 'utf8', env: { ...process.env, GORO_TRACE: '' } });
  assert.equal(off.status, 0, off.stderr);
  assert.doesNotMatch(off.stdout, /envTraced/);
});

test('setTraceback turns tracing on and off', () => {
  assert.equal(tracing(), false);
  setTraceback(true);
  assert.equal(tracing(), true);
  setTraceback(false);
  assert.equal(tracing(), false);
});

test('off by default: go() registers nothing and waits leave no trace', async () => {
  assert.equal(tracing(), false);
  assert.equal(native.traceSwitch()[0], 0);
  const before = goroutines().filter((g) => g.kind === 'task').length;
  const c = new Chan();
  go(async function untracked() { await c.recv(); });
  await sleep(5);
  assert.equal(goroutines().filter((g) => g.kind === 'task').length, before);
  c.close();
});
