import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Group, Chan, WaitGroup, Mutex, select, recv, send, sleep, AbortError } from '../index.mjs';
import { noLeaksAtEnd } from './fixtures/no_leaks.mjs';

noLeaksAtEnd();

test('Group: the first rejection aborts siblings in recv, send, select, sleep, WaitGroup and Mutex waits; nothing is consumed', async () => {
  const g = new Group();
  const empty = new Chan();      // receivers find nothing here
  const full = new Chan(1);      // senders find no room here
  await full.send('kept');
  const wg = new WaitGroup();
  wg.add(1);
  const mu = new Mutex();
  await mu.lock();
  const aborted = [];
  const waits = {
    recv: (signal) => empty.recv({ signal }),
    send: (signal) => full.send('never', { signal }),
    select: (signal) => select([recv(empty), send(full, 'never')], { signal }),
    sleep: (signal) => sleep(3_600_000, { signal }),
    wg: (signal) => wg.wait({ signal }),
    mutex: (signal) => mu.lock({ signal }),
  };
  for (const [name, w] of Object.entries(waits)) {
    await g.go(async (signal) => {
      try {
        await w(signal);
      } catch (e) {
        if (e instanceof AbortError || e.name === 'AbortError') aborted.push(name);
        throw e;
      }
    });
  }
  const boom = new Error('boom');
  await g.go(async () => { await sleep(10); throw boom; });
  await assert.rejects(g.wait(), (e) => e === boom);
  assert.deepEqual(aborted.sort(), Object.keys(waits).sort());
  assert.equal(g.errors[0], boom);
  assert.equal(g.errors.length, 1 + Object.keys(waits).length);
  assert.ok(g.signal.aborted);
  // Nothing taken or delivered: the value is still there, nobody was handed the mutex.
  assert.deepEqual(full.tryRecv(), { value: 'kept', ok: true });
  assert.equal(empty.tryRecv(), null);
  assert.equal(mu.tryLock(), false);
  mu.unlock();
  assert.equal(mu.tryLock(), true);
  mu.unlock();
  wg.done();
});

test('Group: a limit of N never runs N+1, and wait counts functions still waiting for a place', async () => {
  const g = new Group({ limit: 3 });
  let now = 0;
  let max = 0;
  let ran = 0;
  for (let i = 0; i < 40; i++) {
    g.go(async () => {       // not awaited: wait() must still count these
      now++;
      max = Math.max(max, now);
      await sleep(1);
      now--;
      ran++;
    });
  }
  await g.wait();
  assert.equal(ran, 40);
  assert.ok(max <= 3, `${max} ran at once with a limit of 3`);
  assert.equal(max, 3);
  assert.ok(g.signal.aborted, 'wait aborts the signal, as errgroup cancels its context');
});

test('Group: a parent deadline (AbortSignal.timeout) aborts the group; an aborted parent aborts it at once', async () => {
  // AbortSignal.timeout's timer does not keep Node alive, nor does a receive nothing could
  // settle: hold the loop open as a real program's other work would.
  const keep = setTimeout(() => {}, 10_000);
  const g = new Group({ signal: AbortSignal.timeout(30) });
  const ch = new Chan();
  const t0 = Date.now();
  await g.go((signal) => ch.recv({ signal }));
  await assert.rejects(g.wait(), (e) => e.name === 'AbortError' || e.name === 'TimeoutError');
  assert.ok(Date.now() - t0 >= 25);
  clearTimeout(keep);
  const ctl = new AbortController();
  ctl.abort(new Error('stop'));
  const late = new Group({ signal: ctl.signal });
  assert.ok(late.signal.aborted);
  assert.equal(late.signal.reason.message, 'stop');
  // Several parents: AbortSignal.any.
  const a = new AbortController();
  const any = new Group({ signal: AbortSignal.any([a.signal, AbortSignal.timeout(3_600_000)]) });
  a.abort();
  assert.ok(any.signal.aborted);
});

test('Group: no failure resolves; bad arguments are TypeErrors', async () => {
  const g = new Group({ limit: 2 });
  let sum = 0;
  for (let i = 1; i <= 10; i++) await g.go(async (signal, k) => { assert.ok(!signal.aborted); sum += k; }, i);
  await g.wait();
  await g.wait(); // again
  assert.equal(sum, 55);
  assert.deepEqual(g.errors, []);
  assert.throws(() => new Group({ limit: -1 }), TypeError);
  assert.throws(() => new Group({ limit: 1.5 }), TypeError);
  assert.throws(() => new Group({ signal: {} }), TypeError);
  assert.throws(() => g.go('nope'), TypeError);
});
