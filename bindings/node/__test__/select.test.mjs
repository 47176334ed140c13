import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chan, select, recv, send, TimeoutError, AbortError } from '../index.mjs';
import { noLeaksAtEnd } from './fixtures/no_leaks.mjs';

noLeaksAtEnd();

const tick = () => new Promise((r) => setImmediate(r));

for (const mode of ['local', 'shared', 'mixed']) {
  const make = (cap, i = 0) => {
    const c = new Chan(cap);
    if (mode === 'shared' || (mode === 'mixed' && i % 2 === 1)) c.share();
    return c;
  };

  test(`select (${mode}): default gives index -1 and touches nothing`, async () => {
    const a = make(1, 0);
    const b = make(0, 1);
    assert.deepEqual(await select([recv(a), send(b, 1)], { default: true }), { index: -1, value: undefined, ok: false });
    assert.equal(b.tryRecv(), null);
  });

  test(`select (${mode}): a ready receive, a ready send`, async () => {
    const a = make(1, 0);
    const b = make(1, 1);
    await a.send('v');
    await b.send('full');
    assert.deepEqual(await select([recv(a), send(b, 2)]), { index: 0, value: 'v', ok: true });
    assert.deepEqual(await select([recv(a), send(a, 'w')]), { index: 1, value: undefined, ok: true });
    assert.equal((await a.recv()).value, 'w');
  });

  test(`select (${mode}): waits, then the first partner wins; the other case is left untouched`, async () => {
    const a = make(0, 0);
    const b = make(0, 1);
    const p = select([recv(a), recv(b)]);
    await tick();
    await b.send('from b');
    assert.deepEqual(await p, { index: 1, value: 'from b', ok: true });
    // a's entry is gone: a send on a waits for a new receiver
    assert.equal(a.trySend(1), false);
  });

  test(`select (${mode}): a waiting send case completes when a receiver comes`, async () => {
    const a = make(0, 0);
    const b = make(0, 1);
    const p = select([send(a, 'to a'), send(b, 'to b')]);
    await tick();
    assert.deepEqual(await b.recv(), { value: 'to b', ok: true });
    assert.deepEqual(await p, { index: 1, value: undefined, ok: true });
    assert.equal(a.tryRecv(), null);
  });

  test(`select (${mode}): null channel never ready; timeout rejects TimeoutError`, async () => {
    const a = make(0, 1);
    assert.deepEqual(await select([recv(null), send(null, 1)], { default: true }), { index: -1, value: undefined, ok: false });
    await assert.rejects(select([recv(null), recv(a)], { timeout: 20 }), TimeoutError);
    assert.equal(a.trySend(1), false); // no entry left behind
  });

  test(`select (${mode}): abort consumes nothing`, async () => {
    const a = make(1, 0);
    const b = make(1, 1);
    const ac = new AbortController();
    const p = select([recv(a), recv(b)], { signal: ac.signal });
    await tick();
    ac.abort();
    await assert.rejects(p, AbortError);
    await a.send(1);
    await b.send(2);
    assert.equal(a.length + b.length, 2);
  });

  test(`select (${mode}): send case on a closed channel completes with ok=false; closed recv ok=false`, async () => {
    const a = make(0, 0);
    a.close();
    assert.deepEqual(await select([send(a, 1)]), { index: 0, value: undefined, ok: false });
    assert.deepEqual(await select([recv(a)]), { index: 0, value: undefined, ok: false });
    const b = make(0, 1);
    const p = select([recv(b)]);
    await tick();
    b.close();
    assert.deepEqual(await p, { index: 0, value: undefined, ok: false });
  });

  test(`select (${mode}): among ready cases the choice is uniformly random; cases are reusable`, async () => {
    const a = make(1000, 0);
    const b = make(1000, 1);
    const cases = [recv(a), recv(b)];
    const counts = [0, 0];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 250; i++) {
        await a.send(i);
        await b.send(i);
      }
      for (let i = 0; i < 250; i++) counts[(await select(cases)).index]++;
      while (a.tryRecv() && a.length > 0);
      while (b.tryRecv() && b.length > 0);
      while (a.tryRecv()); while (b.tryRecv());
    }
    // 1000 fair coin flips: 420..580 holds with probability > 1 - 1e-6.
    assert.ok(counts[0] > 420 && counts[0] < 580, `counts ${counts}`);
  });
}

test('select: bad arguments are TypeErrors', () => {
  assert.throws(() => select('x'), TypeError);
  assert.throws(() => select([{ chan: null }]), /recv\(ch\) or send\(ch, v\)/);
  assert.throws(() => recv({}), /must be a Chan or null/);
  assert.throws(() => select([], { default: 'yes' }), TypeError);
});

// A receive-only select over shared channels polls each channel on its own, in a random
// order, before the core's select (src/wake.rs ChanSet.poll_recv): uniform among the ready
// ones whatever their positions, a closed one counts as ready, order kept per channel.
test('select (shared, receive only): uniform among scattered ready cases; closed is ready; FIFO per channel', async () => {
  const chans = [0, 1, 2, 3].map(() => new Chan(2000));
  for (const c of chans) c.share();
  const cases = chans.map((c) => recv(c));
  for (let i = 0; i < 1000; i++) {
    await chans[1].send(i);
    await chans[3].send(i);
  }
  const counts = [0, 0, 0, 0];
  const next = [0, 0, 0, 0];
  for (let k = 0; k < 1000; k++) {
    const r = await select(cases);
    assert.ok(r.ok);
    assert.equal(r.value, next[r.index]++);
    counts[r.index]++;
  }
  assert.equal(counts[0] + counts[2], 0);
  // 1000 fair coin flips: 420..580 holds with probability > 1 - 1e-6.
  assert.ok(counts[1] > 420 && counts[1] < 580, `counts ${counts}`);
  while (chans[1].tryRecv()?.ok);
  while (chans[3].tryRecv()?.ok);
  chans[2].close();
  assert.deepEqual(await select(cases), { index: 2, value: undefined, ok: false });
  await chans[0].send('v');
  const seen = new Set();
  for (let k = 0; k < 200; k++) {
    const r = await select(cases);
    seen.add(r.index);
    if (r.index === 0) {
      assert.deepEqual(r, { index: 0, value: 'v', ok: true });
      await chans[0].send('v');
    } else {
      assert.deepEqual(r, { index: 2, value: undefined, ok: false });
    }
  }
  assert.deepEqual([...seen].sort(), [0, 2]);
  for (const c of [chans[0], chans[1], chans[3]]) c.close();
});
