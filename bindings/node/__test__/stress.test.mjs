// Races between completion and give-up across threads: receives and selects that time out or
// are aborted while values arrive from another thread must never lose or double a value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Chan, select, recv, TimeoutError, AbortError } from '../index.mjs';
import { noLeaksAtEnd } from './fixtures/no_leaks.mjs';

noLeaksAtEnd();

const index = fileURLToPath(new URL('../index.js', import.meta.url));

test('timeouts and aborts racing cross-thread sends lose and double nothing', async () => {
  const N = 20000;
  const a = new Chan(0);
  const b = new Chan(4);
  const w = new Worker(`const g = require(${JSON.stringify(index)});
    const { workerData } = require('node:worker_threads');
    (async () => {
      const a = g.Chan.open(workerData.a), b = g.Chan.open(workerData.b);
      for (let i = 0; i < ${N}; i++) {
        // Alternate channels; a send that times out is retried: only a completed send counts.
        const ch = i % 2 ? a : b;
        for (;;) {
          try { await ch.send(i, { timeout: (i % 3) * 0.5 }); break; } catch (e) { if (e.name !== 'TimeoutError') throw e; }
        }
      }
      a.close(); b.close();
    })();`, { eval: true, workerData: { a: a.share(), b: b.share() } });
  const seen = new Uint8Array(N);
  let got = 0;
  let gaveUp = 0;
  let aOpen = true;
  let bOpen = true;
  let k = 0;
  while (aOpen || bOpen) {
    k++;
    const ac = new AbortController();
    let p;
    if (k % 3 === 0) {
      p = select([recv(aOpen ? a : null), recv(bOpen ? b : null)], { timeout: k % 2 });
    } else {
      const ch = (k % 2 && aOpen) || !bOpen ? a : b;
      // Always bounded: the worker may be blocked on the other channel meanwhile.
      p = ch.recv({ signal: ac.signal, timeout: 2 }).then((r) => ({ index: ch === a ? 0 : 1, ...r }));
      if (k % 5 === 0) setImmediate(() => ac.abort());
    }
    let r;
    try {
      r = await p;
    } catch (e) {
      assert.ok(e instanceof TimeoutError || e instanceof AbortError, String(e));
      gaveUp++;
      continue;
    }
    if (!r.ok) {
      if (r.index === 0) aOpen = false;
      else bOpen = false;
      continue;
    }
    assert.equal(seen[r.value], 0, `value ${r.value} received twice`);
    seen[r.value] = 1;
    got++;
  }
  await new Promise((res) => w.on('exit', res));
  assert.equal(got, N, `received ${got} of ${N}`);
  assert.ok(gaveUp > 0, 'some waits gave up (the race was exercised)');
});
