// Finding a leaked goroutine and a slow channel with goro's seeing-inside tools.
//
// fetchWithTimeout has a classic Go bug: its worker sends the result on an *unbuffered*
// channel, so when the timeout wins nobody ever receives and the worker waits forever. The
// leak checker (goro/testing, as uber-go/goleak) names it and the line that started it. Then
// a pipeline whose consumer mostly waits on a slow producer: the block profile (read with
// `go tool pprof -top`, when Go is installed) puts the consumer on top.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const goro = require('goro');
const { go, Chan, select, recv, after, sleep } = goro;
const { goroSnapshot, checkLeaks } = require('goro/testing');

async function fetchWorker(results, ms) {
  await sleep(ms); // the "request"
  await results.send(`result after ${ms}ms`); // blocks forever once the caller gave up
}

async function fetchWithTimeout(ms, timeout) {
  const results = new Chan(); // the bug: new Chan(1) would let the worker finish
  go(fetchWorker, results, ms);
  const r = await select([recv(results), recv(after(timeout))]);
  return r.index === 0 ? r.value : 'timed out';
}

async function slowProducer(out, n) {
  for (let i = 0; i < n; i++) {
    await sleep(4); // slow work
    await out.send(i);
  }
  out.close();
}

async function consumer(inp) {
  let n = 0;
  for await (const _ of inp) n++;
  return n;
}

function pprofTop(file) {
  const goBin = ['/usr/local/go/bin/go', 'go'].find((g) => {
    try {
      execFileSync(g, ['version'], { stdio: 'ignore' });
      return true;
    } catch (_) {
      return false;
    }
  });
  if (!goBin) return null;
  const out = execFileSync(goBin, ['tool', 'pprof', '-top', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = out.split('\n');
  const k = lines.findIndex((l) => l.includes('flat%'));
  return { out: lines.slice(k, k + 4).join('\n'), top: lines[k + 1].trim().split(/\s+/).pop() };
}

async function main() {
  // 1. The leak, found as a test would find it.
  const snap = goroSnapshot(); // turns tracing on: go() tasks are registered from now on
  console.log(await fetchWithTimeout(5, 200)); // fine
  console.log(await fetchWithTimeout(50, 10)); // times out: its worker leaks
  let leak = null;
  try {
    await checkLeaks(snap, { grace: 200 });
  } catch (e) {
    leak = e;
    console.log(e.message);
  }
  if (!leak || leak.leaked.length !== 1 || leak.leaked[0].func !== 'fetchWorker') throw new Error('expected one leaked fetchWorker');
  // The same from leaks(), as structured data.
  const [l] = goro.leaks({ blockedLongerThan: 50 }).filter((g) => g.func === 'fetchWorker');
  console.log(`leaks(): ${l.func} ${l.state} (${l.waitingFor}) for ${Math.round(l.waitedMs)}ms, started at ${path.basename(l.startedAt)}`);

  // 2. The slow channel: the block profile.
  goro.setBlockProfileRate(1);
  const ch = new Chan();
  go(slowProducer, ch, 40);
  const n = await consumer(ch);
  goro.setBlockProfileRate(0);
  const file = path.join(os.tmpdir(), `goro-find-leak-block-${process.pid}.pb.gz`);
  goro.writeProfile('block', file);
  console.log(`consumed ${n} values; block profile in ${file}`);
  const top = pprofTop(file);
  if (top) {
    console.log(top.out);
    if (top.top !== 'consumer') throw new Error(`expected consumer on top of the block profile, got ${top.top}`);
  } else {
    console.log('(go is not installed: read it with `go tool pprof -top` elsewhere)');
  }
  fs.rmSync(file, { force: true });
  console.log(`found the leak (fetchWorker) and the slow channel (${top ? top.top : 'consumer'})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
