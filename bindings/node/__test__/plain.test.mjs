// The plain waits of a JS-local channel (lib/chan.js PlainSend): a recv() or send(v) without
// options parks as its resolve function alone (a receive) or a small PlainSend (a send),
// next to Waiters (waits with a signal or timeout, async iteration) and select entries in
// the same queues. Values are never lost, FIFO order holds across the kinds, close wakes
// every kind, an aborted wait between plain ones consumes nothing, and share() restarts the
// plain ones natively.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chan, ClosedError, AbortError, select, recv, send } from '../index.mjs';

const tick = () => new Promise((r) => setImmediate(r));

test('receivers of every kind in one queue are served in order; an aborted one takes nothing', async () => {
  const c = new Chan(0);
  const ac = new AbortController();
  const it = c[Symbol.asyncIterator]();
  const got = [];
  const waits = [
    c.recv().then((r) => got.push(['plain1', r.value])),
    c.recv({ signal: ac.signal }).then(() => got.push(['aborted']), (e) => got.push(['abort', e instanceof AbortError])),
    c.recv({ timeout: 60_000 }).then((r) => got.push(['timed', r.value])),
    it.next().then((r) => got.push(['iter', r.value])),
    select([recv(c)]).then((r) => got.push(['select', r.value])),
    c.recv().then((r) => got.push(['plain2', r.value])),
  ];
  await tick();
  ac.abort();
  await tick();
  for (let v = 1; v <= 5; v++) await c.send(v);
  await Promise.all(waits);
  assert.deepEqual(got, [['abort', true], ['plain1', 1], ['timed', 2], ['iter', 3], ['select', 4], ['plain2', 5]]);
  assert.equal(c.tryRecv(), null);
});

test('senders of every kind in one queue deliver in order; an aborted one delivers nothing', async () => {
  for (const cap of [0, 2]) {
    const c = new Chan(cap);
    for (let k = 0; k < cap; k++) await c.send(`buf${k}`);
    const ac = new AbortController();
    const sends = [
      c.send('plain1'),
      c.send('aborted', { signal: ac.signal }).catch((e) => assert.ok(e instanceof AbortError)),
      c.send('timed', { timeout: 60_000 }),
      select([send(c, 'select')]),
      c.send('plain2'),
    ];
    await tick();
    ac.abort();
    await tick();
    const got = [];
    for (let k = 0; k < cap + 4; k++) got.push((await c.recv()).value);
    await Promise.all(sends);
    const bufs = Array.from({ length: cap }, (_, k) => `buf${k}`);
    assert.deepEqual(got, [...bufs, 'plain1', 'timed', 'select', 'plain2'], `cap ${cap}`);
    assert.equal(c.tryRecv(), null);
  }
});

test('close wakes plain receivers with ok=false and plain senders with ClosedError', async () => {
  const r = new Chan(0);
  const rs = [r.recv(), r.recv({ timeout: 60_000 }), r.recv()];
  await tick();
  r.close();
  assert.deepEqual(await Promise.all(rs), Array(3).fill({ value: undefined, ok: false }));
  const s = new Chan(1);
  await s.send('kept');
  const ss = [s.send(1), s.send(2, { timeout: 60_000 }), s.send(3)].map((p) => p.then(() => 'sent', (e) => e instanceof ClosedError));
  await tick();
  s.close();
  assert.deepEqual(await Promise.all(ss), [true, true, true]);
  assert.deepEqual(await s.recv(), { value: 'kept', ok: true });
  assert.deepEqual(await s.recv(), { value: undefined, ok: false });
});

test('share() restarts plain waits natively: no value lost, none twice', async () => {
  const a = new Chan(0);
  const rs = [a.recv(), a.recv({ timeout: 60_000 }), a.recv()];
  const b = new Chan(1);
  await b.send(0);
  const ss = [b.send(1), b.send(2)];
  await tick();
  a.share();
  b.share();
  for (const v of ['x', 'y', 'z']) await a.send(v);
  assert.deepEqual((await Promise.all(rs)).map((r) => r.value).sort(), ['x', 'y', 'z']);
  const got = [];
  for (let k = 0; k < 3; k++) got.push((await b.recv()).value);
  await Promise.all(ss);
  assert.deepEqual(got.sort(), [0, 1, 2]);
  assert.equal(b.tryRecv(), null);
});

test('a busy hand-off of plain waits loses nothing and keeps each producer in order', async () => {
  for (const cap of [0, 1, 16]) {
    const c = new Chan(cap);
    const n = 2000;
    const producers = [0, 1, 2].map((p) => (async () => {
      for (let i = 0; i < n; i++) await c.send([p, i]);
    })());
    Promise.all(producers).then(() => c.close());
    const seen = [[], [], []];
    await Promise.all([0, 1].map(async () => {
      for (;;) {
        const { value, ok } = await c.recv();
        if (!ok) return;
        seen[value[0]].push(value[1]);
      }
    }));
    for (const s of seen) {
      assert.equal(s.length, n, `cap ${cap}`);
      // Two consumers may interleave their pushes, but a producer's values reach the channel
      // in order: sorted, they are 0..n-1 once each.
      assert.deepEqual([...s].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
    }
  }
});
