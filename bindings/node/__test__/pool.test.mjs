import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, gomaxprocs } from '../index.mjs';
import { noLeaksAtEnd } from './fixtures/no_leaks.mjs';

noLeaksAtEnd();

const esm = new URL('./fixtures/job.mjs', import.meta.url);
const cjs = new URL('./fixtures/job.cjs', import.meta.url).pathname;

test('Pool runs the default export of an ESM file on worker threads', async () => {
  const pool = new Pool({ filename: esm, workers: 2 });
  const N = 5000;
  const rs = [];
  for (let i = 0; i < N; i++) rs.push(pool.run({ kind: 'sum', from: i, n: 100 }));
  const got = await Promise.all(rs);
  for (let i = 0; i < N; i++) assert.equal(got[i], 100 * i + 4950);
  assert.deepEqual(await pool.run({ kind: 'echo', value: { m: new Map([[1, 'a']]) } }), { m: new Map([[1, 'a']]) });
  const ids = new Set(await Promise.all(Array.from({ length: 20 }, () => pool.run({ kind: 'thread' }))));
  assert.ok(ids.size >= 1 && !ids.has(0));
  await pool.close();
  await assert.rejects(pool.run({ kind: 'echo', value: 1 }), { name: 'ClosedError' });
});

test('Pool: CommonJS module, default workers = gomaxprocs', async () => {
  const pool = new Pool({ filename: cjs });
  assert.equal(pool.workers.length, gomaxprocs());
  assert.equal(await pool.run(21), 42);
  await pool.close();
});

test('Pool: a throwing job rejects its run only; the worker keeps going', async () => {
  const pool = new Pool({ filename: esm, workers: 1 });
  await assert.rejects(pool.run({ kind: 'throw', msg: 'x' }), { name: 'RangeError', message: 'job failed: x' });
  assert.equal(await pool.run({ kind: 'echo', value: 5 }), 5);
  await pool.close();
});

test('Pool: back-pressure: at most workers + queue jobs admitted; run waits', async () => {
  const pool = new Pool({ filename: esm, workers: 1, queue: 2 });
  const rs = [];
  for (let i = 0; i < 6; i++) rs.push(pool.run({ kind: 'sleep', ms: 30 }));
  // Admission is decided inside run(), synchronously: no timing involved.
  assert.equal(pool.admitted, 3);
  assert.equal(pool.blocked.length, 3);
  assert.deepEqual(await Promise.all(rs), Array(6).fill('slept'));
  await pool.close();
});

test('Pool: abort cancels a queued job and a running job without killing the worker', async () => {
  const pool = new Pool({ filename: esm, workers: 1, queue: 10 });
  const slow = pool.run({ kind: 'sleep', ms: 200 });
  const ac1 = new AbortController();
  const running = pool.run({ kind: 'sleep', ms: 5000 }, { signal: ac1.signal });
  const ac2 = new AbortController();
  const queued = pool.run({ kind: 'echo', value: 'never' }, { signal: ac2.signal });
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 20));
  ac1.abort();
  ac2.abort();
  await assert.rejects(running, { name: 'AbortError' });
  await assert.rejects(queued, { name: 'AbortError' });
  assert.equal(await slow, 'slept');
  assert.equal(await pool.run({ kind: 'echo', value: 'after' }), 'after');
  await assert.rejects(pool.run(1, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  const thread = await pool.run({ kind: 'thread' });
  assert.equal(pool.workers[0].w.threadId, thread); // same worker, not restarted
  await pool.close();
  assert.ok(Date.now() - t0 < 4500, 'the aborted 5 s job was cancelled in its worker');
});

test('Pool: bad arguments are TypeErrors', () => {
  assert.throws(() => new Pool(), TypeError);
  assert.throws(() => new Pool({}), /filename/);
  assert.throws(() => new Pool({ filename: esm, workers: 0 }), /workers/);
  assert.throws(() => new Pool({ filename: esm, queue: -1 }), /queue/);
});

test('Pool: a crashed worker fails its jobs and is replaced; bad args and results reject', async () => {
  const pool = new Pool({ filename: new URL('./fixtures/crash.mjs', import.meta.url), workers: 1 });
  assert.equal(await pool.run(1), 1);
  // The job fails with the worker's error (or its exit, where a test runner catches the throw).
  await assert.rejects(pool.run('crash'), /worker crashed|worker exited with code 1/);
  assert.equal(await pool.run(2), 2); // a new worker took over
  await assert.rejects(pool.run(() => 0), { name: 'DataCloneError' });
  await assert.rejects(pool.run('fn'), { name: 'TypeError', message: /could not be cloned/ });
  assert.equal(await pool.run(3), 3);
  await pool.close();
});

test('Pool: close waits for queued and blocked jobs', async () => {
  const pool = new Pool({ filename: esm, workers: 1, queue: 1 });
  const rs = [1, 2, 3, 4].map((v) => pool.run({ kind: 'echo', value: v }));
  await pool.close();
  assert.deepEqual(await Promise.all(rs), [1, 2, 3, 4]);
});
