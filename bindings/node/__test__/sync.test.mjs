import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WaitGroup, Mutex, sleep, after, Ticker, go, onGoroutineError, numGoroutine, gomaxprocs, numCpu,
  TimeoutError, AbortError,
} from '../index.mjs';
import { noLeaksAtEnd } from './fixtures/no_leaks.mjs';

noLeaksAtEnd();

test('WaitGroup: wait resolves when the counter reaches zero; below zero throws', async () => {
  const wg = new WaitGroup();
  await wg.wait();
  let done = 0;
  wg.add(3);
  for (let i = 0; i < 3; i++) go(async () => { await sleep(5); done++; wg.done(); });
  await wg.wait();
  assert.equal(done, 3);
  assert.throws(() => wg.done(), /negative WaitGroup counter/);
  wg.add(1);
  await assert.rejects(wg.wait({ timeout: 10 }), TimeoutError);
  wg.done();
  assert.throws(() => wg.add('x'), TypeError);
});

test('Mutex: mutual exclusion in FIFO order; tryLock; unlock of unlocked throws', async () => {
  const m = new Mutex();
  const order = [];
  let inside = 0;
  const worker = async (id) => {
    await m.lock();
    inside++;
    assert.equal(inside, 1);
    order.push(id);
    await sleep(1);
    inside--;
    m.unlock();
  };
  await Promise.all([worker(1), worker(2), worker(3)]);
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(m.tryLock(), true);
  assert.equal(m.tryLock(), false);
  const ac = new AbortController();
  const p = m.lock({ signal: ac.signal });
  ac.abort();
  await assert.rejects(p, AbortError);
  m.unlock();
  assert.throws(() => m.unlock(), /unlock of unlocked mutex/);
});

test('Mutex: a lock handed over as the waiter aborts is never lost; an abort before takes nothing', async () => {
  const m = new Mutex();
  await m.lock();
  const ac = new AbortController();
  const late = m.lock({ signal: ac.signal });
  m.unlock(); // hands the lock to `late` now; its promise settles on a later turn
  ac.abort(); // too late: `late` holds the lock
  await late;
  assert.equal(m.tryLock(), false);
  m.unlock();
  assert.equal(m.tryLock(), true);
  m.unlock();

  await m.lock();
  const ac2 = new AbortController();
  const early = m.lock({ signal: ac2.signal });
  const next = m.lock();
  ac2.abort();
  await assert.rejects(early, AbortError);
  m.unlock(); // to `next`, not to the aborted waiter
  await next;
  await assert.rejects(m.lock({ timeout: 5 }), TimeoutError);
  m.unlock();
  assert.equal(m.tryLock(), true, 'nothing was handed to the waiters that gave up');
  m.unlock();
  assert.throws(() => m.unlock(), /unlock of unlocked mutex/);
});

test('WaitGroup: many waiters; an aborted wait takes nothing; reusable after zero', async () => {
  const wg = new WaitGroup();
  wg.add(2);
  const ac = new AbortController();
  const aborted = wg.wait({ signal: ac.signal });
  const waits = [wg.wait(), wg.wait(), wg.wait({ timeout: 10000 })];
  ac.abort();
  await assert.rejects(aborted, AbortError);
  wg.done();
  wg.done();
  await Promise.all(waits);
  wg.add(1);
  const again = wg.wait();
  setTimeout(() => wg.done(), 5);
  await again;
  assert.throws(() => wg.add(-1), /negative WaitGroup counter/);
  await wg.wait();
});

test('sleep, after, Ticker', async () => {
  const t0 = Date.now();
  await sleep(20);
  assert.ok(Date.now() - t0 >= 19);
  const a = after(10);
  const r = await a.recv();
  assert.equal(r.ok, true);
  assert.equal(typeof r.value, 'number');
  const t = new Ticker(5);
  await t.C.recv();
  await t.C.recv();
  await sleep(30); // ticks no one took are dropped: at most one waits
  assert.ok(t.C.length <= 1);
  t.stop();
  const ac = new AbortController();
  const s = sleep(1000, { signal: ac.signal });
  ac.abort();
  await assert.rejects(s, { name: 'AbortError' });
  assert.throws(() => new Ticker(0), TypeError);
  assert.throws(() => sleep('1'), TypeError);
});

test('go: counted in numGoroutine; a throw goes to the hook, never an unhandled rejection', async () => {
  let unhandled = 0;
  const onUnhandled = () => unhandled++;
  process.on('unhandledRejection', onUnhandled);
  const errors = [];
  onGoroutineError((e) => errors.push(e.message));
  const before = numGoroutine();
  let release;
  const gate = new Promise((r) => { release = r; });
  go(async () => { await gate; });
  go(async () => { throw new Error('boom'); });
  go(() => { throw new Error('sync boom'); });
  await sleep(5);
  assert.equal(numGoroutine(), before + 1);
  release();
  await sleep(5);
  assert.equal(numGoroutine(), before);
  assert.deepEqual(errors.sort(), ['boom', 'sync boom']);
  assert.equal(unhandled, 0);
  onGoroutineError(null);
  process.off('unhandledRejection', onUnhandled);
  assert.throws(() => go(42), /fn must be a function/);
});

test('gomaxprocs and numCpu', () => {
  const n = numCpu();
  assert.ok(n >= 1);
  const before = gomaxprocs();
  assert.ok(before >= 1);
  assert.equal(gomaxprocs(1), before);
  assert.equal(gomaxprocs(before), 1);
  assert.equal(gomaxprocs(), before);
});
