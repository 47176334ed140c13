// The channel contract (CONTRACT.md, Node), run twice: on a JS-local channel and on a shared
// (native) one, which must behave the same within one thread.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Chan, ClosedError, AbortError, TimeoutError } from '../index.mjs';

const tick = () => new Promise((r) => setImmediate(r));

for (const mode of ['local', 'shared']) {
  const make = (cap) => {
    const c = new Chan(cap);
    if (mode === 'shared') c.share();
    return c;
  };

  describe(`Chan (${mode})`, () => {
    test('unbuffered: a send completes only when a receiver takes the value', async () => {
      const c = make(0);
      let sent = false;
      const p = c.send(1).then(() => { sent = true; });
      await tick();
      assert.equal(sent, false);
      assert.deepEqual(await c.recv(), { value: 1, ok: true });
      await p;
      assert.equal(sent, true);
    });

    test('buffered: FIFO, length, capacity, trySend/tryRecv', async () => {
      const c = make(3);
      assert.equal(c.capacity, 3);
      assert.equal(c.trySend('a'), true);
      await c.send('b');
      assert.equal(c.trySend('c'), true);
      assert.equal(c.trySend('d'), false);
      assert.equal(c.length, 3);
      assert.deepEqual(c.tryRecv(), { value: 'a', ok: true });
      assert.deepEqual(await c.recv(), { value: 'b', ok: true });
      assert.deepEqual(c.tryRecv(), { value: 'c', ok: true });
      assert.equal(c.tryRecv(), null);
      assert.equal(c.length, 0);
    });

    test('waiting senders are served in order', async () => {
      const c = make(1);
      await c.send(0);
      const ps = [1, 2, 3].map((i) => c.send(i));
      const got = [];
      for (let i = 0; i < 4; i++) got.push((await c.recv()).value);
      await Promise.all(ps);
      assert.deepEqual(got, [0, 1, 2, 3]);
    });

    test('waiting receivers are served in order', async () => {
      const c = make(0);
      const rs = [c.recv(), c.recv(), c.recv()];
      await tick();
      for (const v of ['x', 'y', 'z']) await c.send(v);
      assert.deepEqual((await Promise.all(rs)).map((r) => r.value), ['x', 'y', 'z']);
    });

    test('close: drains, then ok=false; send and second close throw ClosedError', async () => {
      const c = make(2);
      await c.send(1);
      const waitingRecv = make(0);
      const r = waitingRecv.recv();
      waitingRecv.close();
      assert.deepEqual(await r, { value: undefined, ok: false });
      c.close();
      await assert.rejects(c.send(2), { name: 'ClosedError' });
      assert.throws(() => c.trySend(2), ClosedError);
      assert.throws(() => c.close(), { name: 'ClosedError' });
      assert.deepEqual(await c.recv(), { value: 1, ok: true });
      assert.deepEqual(await c.recv(), { value: undefined, ok: false });
      assert.deepEqual(c.tryRecv(), { value: undefined, ok: false });
    });

    test('close wakes waiting senders with ClosedError', async () => {
      const c = make(0);
      const p = c.send(1);
      await tick();
      c.close();
      await assert.rejects(p, ClosedError);
    });

    test('for await receives until closed', async () => {
      const c = make(4);
      (async () => {
        for (let i = 0; i < 10; i++) await c.send(i);
        c.close();
      })();
      const got = [];
      for await (const v of c) got.push(v);
      assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    test('an aborted recv consumes nothing', async () => {
      const c = make(0);
      const ac = new AbortController();
      const r1 = c.recv({ signal: ac.signal });
      const r2 = c.recv();
      await tick();
      ac.abort();
      await assert.rejects(r1, AbortError);
      await c.send(7);
      assert.deepEqual(await r2, { value: 7, ok: true });
    });

    test('an aborted send delivers nothing', async () => {
      const c = make(0);
      const ac = new AbortController();
      const s = c.send('lost', { signal: ac.signal });
      await tick();
      ac.abort();
      await assert.rejects(s, { name: 'AbortError' });
      assert.equal(c.tryRecv(), null);
      const s2 = c.send('kept');
      assert.deepEqual(await c.recv(), { value: 'kept', ok: true });
      await s2;
    });

    test('an already aborted signal rejects at once', async () => {
      const c = make(1);
      await assert.rejects(c.send(1, { signal: AbortSignal.abort() }), AbortError);
      assert.equal(c.length, 0);
    });

    test('timeout rejects with TimeoutError and consumes nothing', async () => {
      const c = make(0);
      const t0 = Date.now();
      await assert.rejects(c.recv({ timeout: 30 }), TimeoutError);
      assert.ok(Date.now() - t0 >= 25);
      await assert.rejects(c.send(1, { timeout: 10 }), { name: 'TimeoutError' });
      assert.equal(c.tryRecv(), null);
    });

    test('values: within one thread the value itself is passed', async () => {
      const c = make(1);
      const o = { a: [1, 2] };
      await c.send(o);
      const { value } = await c.recv();
      assert.equal(value, o); // the same object, on a shared channel too (same thread)
      await c.send(o);
      assert.equal(c.tryRecv().value, o);
      for (const v of [0, -1.5, 'str', true, false, null, undefined, 10n, new Map([[1, 2]])]) {
        await c.send(v);
        assert.deepEqual((await c.recv()).value, v);
      }
    });

    test('bad arguments throw TypeError with a clear message', () => {
      const c = make(0);
      assert.throws(() => new Chan(-1), /capacity must be an integer/);
      assert.throws(() => new Chan(1.5), TypeError);
      assert.throws(() => c.recv({ timeout: -1 }), /timeout/);
      assert.throws(() => c.send(1, { signal: {} }), /AbortSignal/);
      assert.throws(() => c.recv(5), TypeError);
    });
  });
}

test('share() while receivers, senders and selects wait moves them to the native channel', async () => {
  const { select, recv } = await import('../index.mjs');
  const a = new Chan(0);
  const b = new Chan(2);
  await b.send(1);
  await b.send(2);
  const r = a.recv();
  const s = b.send(3);
  const other = new Chan(0);
  const sel = select([recv(other), recv(a)]);
  await tick();
  a.share();
  b.share();
  await a.send('x');
  await a.send('y');
  const got = [(await r).value, (await sel).value].sort();
  assert.deepEqual(got, ['x', 'y']);
  assert.deepEqual([(await b.recv()).value, (await b.recv()).value, (await b.recv()).value], [1, 2, 3]);
  await s;
});
