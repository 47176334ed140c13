// Channels across worker_threads, channels fed by native goroutines, and exit behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Chan, select, recv, send, WaitGroup, Mutex } from '../index.mjs';
import { noLeaksAtEnd } from './fixtures/no_leaks.mjs';

noLeaksAtEnd();

const index = fileURLToPath(new URL('../index.js', import.meta.url));

function worker(body, workerData) {
  const src = `const g = require(${JSON.stringify(index)});
const { workerData, parentPort } = require('node:worker_threads');
(async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`;
  const w = new Worker(src, { eval: true, workerData });
  return new Promise((resolve, reject) => {
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
  });
}

test('a shared channel carries values between threads, structured-cloned, in order', async () => {
  const ch = new Chan(8);
  const back = new Chan(0);
  const done = worker(`
    const ch = g.Chan.open(workerData.ch), back = g.Chan.open(workerData.back);
    for (let i = 0; i < 2000; i++) await ch.send({ i, tag: 'x'.repeat(i % 5), m: new Map([[i, [i]]]) });
    ch.close();
    const r = await back.recv();
    await back.send(r.value * 2);
  `, { ch: ch.share(), back: back.share() });
  let n = 0;
  for await (const v of ch) {
    assert.equal(v.i, n);
    assert.deepEqual(v.m.get(n), [n]);
    n++;
  }
  assert.equal(n, 2000);
  await back.send(21);
  assert.deepEqual(await back.recv(), { value: 42, ok: true });
  await done;
});

test('many workers: 4 producers and the main thread and 2 workers consume; every value once', async () => {
  const ch = new Chan(16);
  const res = new Chan(0);
  const N = 3000;
  const jobs = [];
  for (let p = 0; p < 4; p++) {
    jobs.push(worker(`const ch = g.Chan.open(workerData.t);
      for (let i = workerData.p; i < ${N}; i += 4) await ch.send(i);`, { t: ch.share(), p }));
  }
  for (let c = 0; c < 2; c++) {
    jobs.push(worker(`const ch = g.Chan.open(workerData.t), res = g.Chan.open(workerData.r);
      let sum = 0, n = 0;
      for await (const v of ch) { sum += v; n++; }
      await res.send([n, sum]);`, { t: ch.share(), r: res.share() }));
  }
  let sum = 0;
  let n = 0;
  const mainConsumer = (async () => {
    for await (const v of ch) { sum += v; n++; }
  })();
  await Promise.all(jobs.slice(0, 4));
  ch.close();
  await mainConsumer;
  for (let c = 0; c < 2; c++) {
    const { value } = await res.recv();
    n += value[0];
    sum += value[1];
  }
  await Promise.all(jobs);
  assert.equal(n, N);
  assert.equal(sum, (N * (N - 1)) / 2);
});

test('select across threads: a worker sends on one of two shared channels', async () => {
  const a = new Chan(0);
  const b = new Chan(0);
  const local = new Chan(0);
  const done = worker(`const b = g.Chan.open(workerData);
    await b.send('from worker');`, b.share());
  a.share();
  const r = await select([recv(a), recv(b), recv(local)]);
  assert.deepEqual(r, { index: 1, value: 'from worker', ok: true });
  await done;
  const s = select([send(a, 1), send(local, 2)], { timeout: 20 });
  await assert.rejects(s, { name: 'TimeoutError' });
});

test('a worker that sends and exits at once still wakes the receiver', async () => {
  for (let round = 0; round < 5; round++) {
    const ch = new Chan(0);
    const other = new Chan(0);
    const r = ch.recv();
    const w = new Worker(`const g = require(${JSON.stringify(index)});
      const { workerData } = require('node:worker_threads');
      const ch = g.Chan.open(workerData.ch), other = g.Chan.open(workerData.other);
      // A native wait first, so this thread has a loop and owes its wakes (src/wake.rs).
      other.recv({ timeout: 1 }).catch(() => {
        if (!ch.trySend('bye')) process.exit(3);
        process.exit(0);
      });`,
    { eval: true, workerData: { ch: ch.share(), other: other.share() } });
    const code = new Promise((res) => w.on('exit', res));
    assert.deepEqual(await r, { value: 'bye', ok: true });
    assert.equal(await code, 0);
  }
});

test('objects sent to another thread are copies; the sender forgets them (no leak)', async () => {
  const { held } = createRequire(import.meta.url)('../lib/native.js');
  const ch = new Chan(16);
  const back = new Chan(0);
  const done = worker(`const ch = g.Chan.open(workerData.ch), back = g.Chan.open(workerData.back);
    let n = 0;
    for await (const o of ch) { o.seen = true; n += o.i >= 0 ? 1 : 0; }
    await back.send(n);`, { ch: ch.share(), back: back.share() });
  const before = held.size;
  const objs = [];
  for (let i = 0; i < 5000; i++) {
    const o = { i };
    if (i < 10) objs.push(o);
    await ch.send(o);
  }
  ch.close();
  assert.equal((await back.recv()).value, 5000);
  await done;
  assert.ok(objs.every((o) => o.seen === undefined), 'the worker mutated its copy only');
  await ch.send({ i: -1 }).catch(() => {}); // closed: forgotten at once
  assert.ok(held.size - before < 2048, `held grew to ${held.size}`);
});

test('WaitGroup and Mutex shared with a worker: mutual exclusion across threads, a hand-off racing an abort is never lost', async () => {
  const wg = new WaitGroup();
  const mu = new Mutex();
  const box = new Int32Array(new SharedArrayBuffer(8)); // [inside, counter]
  wg.add(1);
  const done = worker(`
    const wg = g.WaitGroup.open(workerData.wg), mu = g.Mutex.open(workerData.mu);
    const box = workerData.box;
    for (let i = 0; i < 300; i++) {
      await mu.lock();
      if (Atomics.add(box, 0, 1) !== 0) throw new Error('two inside');
      box[1]++;
      await null;
      Atomics.sub(box, 0, 1);
      mu.unlock();
    }
    wg.done();
  `, { wg: wg.share(), mu: mu.share(), box });
  let got = 0;
  let aborted = 0;
  for (let i = 0; i < 300; i++) {
    const ac = new AbortController();
    setImmediate(() => ac.abort());
    try {
      await mu.lock({ signal: ac.signal });
    } catch (e) {
      assert.equal(e.name, 'AbortError');
      aborted++;
      continue;
    }
    assert.equal(Atomics.add(box, 0, 1), 0, 'two inside');
    box[1]++;
    Atomics.sub(box, 0, 1);
    got++;
    mu.unlock();
  }
  await wg.wait({ timeout: 20000 });
  await done;
  assert.equal(got + aborted, 300);
  assert.equal(box[1], 300 + got);
  assert.equal(mu.tryLock(), true, 'the mutex is free: no hand-off went to a waiter that gave up');
  mu.unlock();
  assert.throws(() => Mutex.open(wg.share()), TypeError, 'a WaitGroup token opens no Mutex');
  assert.throws(() => WaitGroup.open('goro-waitgroup:0'), TypeError);
});

test('a token opens once; bad tokens are TypeErrors', () => {
  const c = new Chan(1);
  const t = c.share();
  const d = Chan.open(t);
  assert.equal(d.capacity, 1);
  assert.throws(() => Chan.open(t), TypeError);
  assert.throws(() => Chan.open(42), /token/);
});

test('a C channel fed by native goroutines is consumed from JS as Buffers', async () => {
  const native = createRequire(import.meta.url)('../lib/native.js').native;
  const N = 20000;
  const addr = native.spawnProducers(N, 4, 64);
  const ch = Chan.fromNative(addr);
  let n = 0;
  let sum = 0n;
  for await (const buf of ch) {
    assert.equal(buf.length, 8);
    sum += buf.readBigUInt64LE(0);
    n++;
  }
  assert.equal(n, N);
  assert.equal(sum, BigInt((N * (N - 1)) / 2));
  assert.throws(() => Chan.fromNative(5), TypeError);
});

function runChild(code) {
  return spawnSync(process.execPath, ['-e', code], { timeout: 30000, encoding: 'utf8' });
}

test('exit with pending waits: idle local and shared channels do not hold the process', () => {
  // b is shared with a worker that opens it and ends: then no one else can reach b.
  const r = runChild(`const g = require(${JSON.stringify(index)});
    const { Worker } = require('node:worker_threads');
    const a = new g.Chan(); a.recv();
    const b = new g.Chan();
    const w = new Worker('require("node:worker_threads"); const g = require(' + JSON.stringify(${JSON.stringify(index)}) + '); g.Chan.open(require("node:worker_threads").workerData);', { eval: true, workerData: b.share() });
    b.recv();
    const c = new g.Chan(); g.select([g.recv(c), g.recv(b)]);
    w.on('exit', () => console.log('worker gone'));`);
  assert.equal(r.signal, null, 'child was killed: it hung');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /worker gone/);
});

test('a pending wait that a worker will settle keeps the process alive until it does', () => {
  const r = runChild(`const g = require(${JSON.stringify(index)});
    const { Worker } = require('node:worker_threads');
    const ch = new g.Chan();
    const w = new Worker(\`const g = require(${JSON.stringify(index)});
      const ch = g.Chan.open(require('node:worker_threads').workerData);
      setTimeout(() => ch.send('late'), 100);\`, { eval: true, workerData: ch.share() });
    w.unref();
    ch.recv().then((r) => console.log('got', r.value));`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /got late/);
});

test('a forgotten Ticker or after() does not hold the process; a waiting receiver does', () => {
  const idle = runChild(`const g = require(${JSON.stringify(index)});
    new g.Ticker(10); g.after(60000); console.log('end');`);
  assert.equal(idle.signal, null, 'child was killed: it hung');
  assert.equal(idle.status, 0, idle.stderr);
  const waiting = runChild(`const g = require(${JSON.stringify(index)});
    const t = new g.Ticker(10);
    (async () => { await t.C.recv(); const r = await g.select([g.recv(g.after(30))]); console.log('got', r.ok); t.stop(); })();`);
  assert.equal(waiting.status, 0, waiting.stderr);
  assert.match(waiting.stdout, /got true/);
});
