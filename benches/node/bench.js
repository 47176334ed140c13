'use strict';
// W2, W3, W4, W5 and W8 (BENCHMARKS.md) from Node: goro against what Node users pick instead,
// in one thread (a plain promise channel) and across worker_threads (MessagePort
// postMessage, a hand-written postMessage pool, piscina). Systems run interleaved, run by
// run; each cell is the median; every run checks its result and a wrong one fails the run.
//
// usage: node --expose-gc bench.js [--quick] [--runs N] [--write FILE] [--only W3x,...]
//        node --expose-gc bench.js --child ID SYSTEM N   (one measurement; what the runs call)

const os = require('node:os');
const fs = require('node:fs');
const path = require('node:path');
const { Worker, MessageChannel } = require('node:worker_threads');
const { spawnSync } = require('node:child_process');
const goro = require('../../bindings/node/index.js');
const { PChan } = require('./promise_chan');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : quick ? 3 : 5;
const writeArg = args.indexOf('--write');
const WRITE = writeArg >= 0 ? args[writeArg + 1] : null;
const onlyArg = args.indexOf('--only');
const ONLY = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(',')) : null;
const S = quick ? 10 : 1; // --quick divides the sizes by 10
const PROCS = goro.gomaxprocs();
const JOB_FILE = path.join(__dirname, 'job.mjs');

const now = () => process.hrtime.bigint();
const secs = (t0) => Number(now() - t0) / 1e9;
function check(cond, what) {
  if (!cond) throw new Error(`wrong result: ${what}`);
}

// ---------- workers ----------
function startWorker(data, transferList) {
  const w = new Worker(path.join(__dirname, 'worker.js'), { workerData: data, transferList });
  const done = new Promise((resolve, reject) => {
    w.on('message', (m) => m === 'done' && resolve());
    w.on('error', reject);
    w.on('exit', (c) => (c !== 0 && !w.stopping ? reject(new Error(`worker exit ${c}`)) : resolve()));
  });
  const online = new Promise((r) => w.once('online', r));
  return { w, done, online, go: () => w.postMessage('go') };
}
async function startAll(ws) {
  await Promise.all(ws.map((x) => x.online));
}

// ---------- one thread ----------
async function w2Local(Ch, n) {
  const ping = new Ch(0);
  const pong = new Ch(0);
  const echo = (async () => {
    for (let i = 0; i < n; i++) {
      const { value } = await ping.recv();
      await pong.send(value + 1);
    }
  })();
  const t0 = now();
  for (let i = 0; i < n; i++) {
    await ping.send(i);
    const { value } = await pong.recv();
    check(value === i + 1, 'W2 echo');
  }
  const dt = secs(t0);
  await echo;
  return (dt / n) * 1e6;
}

async function w3Local(Ch, n) {
  const ch = new Ch(1024);
  const t0 = now();
  (async () => {
    for (let i = 0; i < n; i++) await ch.send(i);
    ch.close();
  })();
  let sum = 0;
  let cnt = 0;
  for (;;) {
    const r = await ch.recv();
    if (!r.ok) break;
    sum += r.value;
    cnt++;
  }
  const dt = secs(t0);
  check(cnt === n && sum === (n * (n - 1)) / 2, 'W3 count/sum');
  return n / dt / 1e6;
}

async function w4Local(Ch, n) {
  const ch = new Ch(128);
  const t0 = now();
  const producers = [];
  for (let p = 0; p < 4; p++) {
    producers.push((async () => {
      for (let i = p; i < n; i += 4) await ch.send(i);
    })());
  }
  Promise.all(producers).then(() => ch.close());
  const consumers = [];
  for (let c = 0; c < 4; c++) {
    consumers.push((async () => {
      let s = 0;
      let k = 0;
      for (;;) {
        const r = await ch.recv();
        if (!r.ok) return [k, s];
        s += r.value;
        k++;
      }
    })());
  }
  const res = await Promise.all(consumers);
  const dt = secs(t0);
  const cnt = res.reduce((a, r) => a + r[0], 0);
  const sum = res.reduce((a, r) => a + r[1], 0);
  check(cnt === n && sum === (n * (n - 1)) / 2, 'W4 count/sum');
  return n / dt / 1e6;
}

async function w5Goro(n) {
  const chans = [0, 1, 2, 3].map(() => new goro.Chan(64));
  const t0 = now();
  chans.forEach((c, p) => {
    (async () => {
      for (let i = p; i < n; i += 4) await c.send(i);
    })();
  });
  const cases = chans.map((c) => goro.recv(c));
  let sum = 0;
  for (let k = 0; k < n; k++) sum += (await goro.select(cases)).value;
  const dt = secs(t0);
  check(sum === (n * (n - 1)) / 2, 'W5 sum');
  return n / dt / 1e6;
}

// The promise channel has no select: race one pending recv per channel, re-arm the winner.
async function w5Race(n) {
  const chans = [0, 1, 2, 3].map(() => new PChan(64));
  const t0 = now();
  chans.forEach((c, p) => {
    (async () => {
      for (let i = p; i < n; i += 4) await c.send(i);
    })();
  });
  const arm = (i) => chans[i].recv().then((r) => [i, r.value]);
  const pend = chans.map((_, i) => arm(i));
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const [i, v] = await Promise.race(pend);
    sum += v;
    pend[i] = arm(i);
  }
  const dt = secs(t0);
  check(sum === (n * (n - 1)) / 2, 'W5 sum');
  return n / dt / 1e6;
}

// ---------- across worker threads ----------
async function w2GoroX(n) {
  const ping = new goro.Chan(0);
  const pong = new goro.Chan(0);
  const w = startWorker({ kind: 'goroEcho', ping: ping.share(), pong: pong.share(), n });
  await w.online;
  w.go();
  const t0 = now();
  for (let i = 0; i < n; i++) {
    await ping.send(i);
    const { value } = await pong.recv();
    check(value === i + 1, 'W2x echo');
  }
  const dt = secs(t0);
  await w.done;
  return (dt / n) * 1e6;
}

async function w2PortX(n) {
  const { port1, port2 } = new MessageChannel();
  const w = startWorker({ kind: 'portEcho', port: port2, n }, [port2]);
  await w.online;
  let resolveNext;
  port1.on('message', (v) => resolveNext(v));
  w.go();
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const p = new Promise((r) => { resolveNext = r; });
    port1.postMessage(i);
    check((await p) === i + 1, 'W2x echo');
  }
  const dt = secs(t0);
  await w.done;
  port1.close();
  return (dt / n) * 1e6;
}

// W3/W4 across threads: `producers` workers, consumers in the main thread.
async function produceGoroX(n, producers, cap, consumers) {
  const ch = new goro.Chan(cap);
  const ws = [];
  for (let p = 0; p < producers; p++) {
    ws.push(startWorker({ kind: 'goroProduce', ch: ch.share(), from: p, to: n, step: producers, close: false }));
  }
  await startAll(ws);
  const t0 = now();
  ws.forEach((w) => w.go());
  Promise.all(ws.map((w) => w.done)).then(() => ch.close());
  const res = await Promise.all(Array.from({ length: consumers }, async () => {
    let s = 0;
    let k = 0;
    for (;;) {
      const r = await ch.recv();
      if (!r.ok) return [k, s];
      s += r.value;
      k++;
    }
  }));
  const dt = secs(t0);
  const cnt = res.reduce((a, r) => a + r[0], 0);
  const sum = res.reduce((a, r) => a + r[1], 0);
  check(cnt === n && sum === (n * (n - 1)) / 2, 'count/sum');
  return n / dt / 1e6;
}

async function producePortX(n, producers) {
  const ws = [];
  const ports = [];
  for (let p = 0; p < producers; p++) {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    ws.push(startWorker({ kind: 'portProduce', port: port2, from: p, to: n, step: producers }, [port2]));
  }
  await startAll(ws);
  let sum = 0;
  let cnt = 0;
  let ended = 0;
  const all = new Promise((resolve) => {
    for (const port of ports) {
      port.on('message', (v) => {
        if (v < 0) {
          if (++ended === producers) resolve();
          return;
        }
        sum += v;
        cnt++;
      });
    }
  });
  const t0 = now();
  ws.forEach((w) => w.go());
  await all;
  const dt = secs(t0);
  ports.forEach((p) => p.close());
  check(cnt === n && sum === (n * (n - 1)) / 2, 'count/sum');
  return n / dt / 1e6;
}

// W5 across threads: select over 4 channels of capacity 64, each fed by its own worker.
async function w5GoroX(n) {
  const chans = [0, 1, 2, 3].map(() => new goro.Chan(64));
  const ws = chans.map((c, p) => startWorker({ kind: 'goroProduce', ch: c.share(), from: p, to: n, step: 4, close: false }));
  await startAll(ws);
  const cases = chans.map((c) => goro.recv(c));
  const t0 = now();
  ws.forEach((w) => w.go());
  let sum = 0;
  for (let k = 0; k < n; k++) sum += (await goro.select(cases)).value;
  const dt = secs(t0);
  await Promise.all(ws.map((w) => w.done));
  check(sum === (n * (n - 1)) / 2, 'W5x sum');
  return n / dt / 1e6;
}

// ---------- W8: pools ----------
function expectSum(n) {
  // sum over from of (100 * from + 4950)
  return 100 * ((n * (n - 1)) / 2) + 4950 * n;
}

async function w8Goro(n) {
  const pool = new goro.Pool({ filename: JOB_FILE, workers: PROCS });
  await Promise.all(Array.from({ length: PROCS * 4 }, (_, i) => pool.run(i)));
  const t0 = now();
  const rs = new Array(n);
  for (let i = 0; i < n; i++) rs[i] = pool.run(i);
  const got = await Promise.all(rs);
  const dt = secs(t0);
  await pool.close();
  check(got.reduce((a, b) => a + b, 0) === expectSum(n), 'W8 sum');
  return n / dt / 1e3;
}

async function w8Hand(n) {
  const ws = Array.from({ length: PROCS }, () => startWorker({ kind: 'handPool' }));
  await startAll(ws);
  const resolvers = new Map();
  const load = new Array(PROCS).fill(0);
  ws.forEach((w, k) => w.w.on('message', (m) => {
    load[k]--;
    const r = resolvers.get(m[0]);
    resolvers.delete(m[0]);
    r(m[1]);
  }));
  const run = (id, from) => new Promise((resolve) => {
    let k = 0;
    for (let j = 1; j < PROCS; j++) if (load[j] < load[k]) k = j;
    load[k]++;
    resolvers.set(id, resolve);
    ws[k].w.postMessage([id, from]);
  });
  const t0 = now();
  const rs = new Array(n);
  for (let i = 0; i < n; i++) rs[i] = run(i, i);
  const got = await Promise.all(rs);
  const dt = secs(t0);
  ws.forEach((w) => { w.w.stopping = true; });
  await Promise.all(ws.map((w) => w.w.terminate()));
  check(got.reduce((a, b) => a + b, 0) === expectSum(n), 'W8 sum');
  return n / dt / 1e3;
}

async function w8Piscina(n) {
  const { Piscina } = require('piscina');
  const pool = new Piscina({ filename: JOB_FILE, minThreads: PROCS, maxThreads: PROCS });
  await Promise.all(Array.from({ length: PROCS * 4 }, (_, i) => pool.run(i)));
  const t0 = now();
  const rs = new Array(n);
  for (let i = 0; i < n; i++) rs[i] = pool.run(i);
  const got = await Promise.all(rs);
  const dt = secs(t0);
  await pool.destroy();
  check(got.reduce((a, b) => a + b, 0) === expectSum(n), 'W8 sum');
  return n / dt / 1e3;
}

// ---------- the table ----------
const W = [
  { id: 'W2', where: 'one thread', n: 100000, unit: 'µs/round trip', lower: true,
    sys: { goro: (n) => w2Local(goro.Chan, n), 'promise chan': (n) => w2Local(PChan, n) } },
  { id: 'W3', where: 'one thread', n: 1000000, unit: 'M msg/s',
    sys: { goro: (n) => w3Local(goro.Chan, n), 'promise chan': (n) => w3Local(PChan, n) } },
  { id: 'W4', where: 'one thread', n: 400000, unit: 'M msg/s',
    sys: { goro: (n) => w4Local(goro.Chan, n), 'promise chan': (n) => w4Local(PChan, n) } },
  { id: 'W5', where: 'one thread', n: 400000, unit: 'M msg/s',
    sys: { goro: w5Goro, 'promise chan + Promise.race': w5Race } },
  { id: 'W2x', where: 'main <-> 1 worker', n: 20000, unit: 'µs/round trip', lower: true,
    sys: { goro: w2GoroX, MessagePort: w2PortX } },
  { id: 'W3x', where: '1 worker -> main', n: 1000000, unit: 'M msg/s',
    sys: { goro: (n) => produceGoroX(n, 1, 1024, 1), MessagePort: (n) => producePortX(n, 1) } },
  { id: 'W4x', where: '4 workers -> main (4 consumers)', n: 400000, unit: 'M msg/s',
    sys: { goro: (n) => produceGoroX(n, 4, 128, 4), MessagePort: (n) => producePortX(n, 4) } },
  { id: 'W5x', where: '4 workers -> main select', n: 400000, unit: 'M msg/s',
    sys: { goro: w5GoroX, 'MessagePort x4': (n) => producePortX(n, 4) } },
  { id: 'W8', where: `pool of ${PROCS} workers`, n: 100000, unit: 'k jobs/s',
    sys: { 'goro Pool': w8Goro, 'postMessage pool': w8Hand, piscina: w8Piscina } },
];

// A full collection, when node runs with --expose-gc (./run passes it).
function settleHeap() {
  if (typeof global.gc === 'function') global.gc();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(x) {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}

// One measurement in this process: an untimed pass of the same size (so the system runs
// JIT-warm, as in a program that has run for a while), a full GC, then the timed run; prints
// {"value": ...}. (A tenth-size pass measured the same here: one-thread W2 0.50-0.60 µs a
// round trip either way, against 0.33-0.41 in one process after other workloads had grown
// the heap; RESULTS.md, 2026-12-07 15:15.)
async function child(id, name, n) {
  const w = W.find((x) => x.id === id);
  const fn = w && w.sys[name];
  if (!fn) throw new Error(`no workload ${id} / system ${name}`);
  await fn(n);
  settleHeap();
  const v = await fn(n);
  process.stdout.write(`${JSON.stringify({ value: v })}\n`);
}

// Each measurement is a process of its own (`--child`), as a user's program is, and as
// benches/python runs its workloads. Earlier tables ran everything in one process, so each
// row ran in the heap the rows before it left: one-thread W2 after the Pools of W8's warm-up
// (V8's young generation grown to 16 MB) measured goro 0.55 against the promise channel's
// 0.52 µs, where each alone measured 0.33 against 0.40 (RESULTS.md, 2026-12-07 13:55).
function measure(id, name, n) {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--child', id, name, String(n)], {
    encoding: 'utf8',
    timeout: 600e3,
  });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) {
    throw new Error(`${id} ${name} failed (exit ${r.status}, ${r.signal || 'no signal'}): ${(r.stderr || '').trim()}`);
  }
  return JSON.parse(line).value;
}

async function main() {
  const childArg = args.indexOf('--child');
  if (childArg >= 0) {
    await child(args[childArg + 1], args[childArg + 2], Number(args[childArg + 3]));
    return;
  }
  const ws = W.filter((w) => ONLY === null || ONLY.has(w.id));
  const results = new Map(); // id -> name -> [values]
  for (const w of ws) results.set(w.id, new Map(Object.keys(w.sys).map((k) => [k, []])));
  for (let run = 0; run < RUNS; run++) {
    for (const w of ws) {
      const n = Math.max(1000, Math.floor(w.n / S));
      for (const name of Object.keys(w.sys)) {
        const v = measure(w.id, name, n);
        results.get(w.id).get(name).push(v);
        process.stderr.write(`run ${run + 1}/${RUNS} ${w.id} ${name}: ${fmt(v)} ${w.unit}\n`);
      }
    }
  }
  const lines = [];
  lines.push(`Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0].model}), GOMAXPROCS ${PROCS}, ` +
    `${RUNS} runs interleaved, a process per measurement, medians${quick ? ', --quick (sizes / 10)' : ''}; ${new Date().toISOString()}`);
  lines.push('');
  lines.push('| workload | where | n | unit | goro | best other | other | goro ahead by |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const w of ws) {
    const med = [...results.get(w.id)].map(([k, v]) => [k, median(v)]);
    const [gname, g] = med[0];
    const others = med.slice(1).sort((a, b) => (w.lower ? a[1] - b[1] : b[1] - a[1]));
    const [bname, b] = others[0];
    const ahead = w.lower ? b / g : g / b;
    const n = Math.max(1000, Math.floor(w.n / S));
    lines.push(`| ${w.id} | ${w.where} | ${n.toLocaleString('en')} | ${w.unit} | ${fmt(g)} (${gname}) | ${fmt(b)} | ` +
      `${others.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')} | ${ahead.toFixed(2)}x |`);
  }
  const table = lines.join('\n');
  console.log(table);
  if (WRITE) {
    fs.appendFileSync(WRITE, `\n## ${new Date().toISOString().slice(0, 10)}: benches/node/run ${args.join(' ')}\n\n${table}\n`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
