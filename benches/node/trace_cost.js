'use strict';
// What seeing inside costs when it is off: W2 and W3 (one thread, and across a Worker) with
// the JS layer as it was before tracing came in (git revision BEFORE, default the parent of
// the commit that added lib/trace.js) against the current one, tracing off; plus the current
// one with tracing on and with the block profile on, for information. Each measurement is a
// fresh process (one warm-up pass, then the timed one), variants interleaved run by run;
// medians. The native addon is the current one for every variant (the old JS never calls
// the new functions).
//
// usage: node trace_cost.js [--runs N] [--before REV] [--quick] [--only W2,W3] [--off-only] [--write FILE]
//   (a child: node trace_cost.js --child <goro dir> <variant> <workload> <n>)

const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { execFileSync } = require('node:child_process');

const REPO = path.join(__dirname, '..', '..');
const NODE_DIR = path.join(REPO, 'bindings', 'node');

// ---------------- child ----------------
async function child(dir, variant, workload, n) {
  const { Worker } = require('node:worker_threads');
  const goro = require(path.join(dir, 'index.js'));
  if (variant === 'tracing on') goro.enableTracing();
  if (variant === 'block profile on') goro.setBlockProfileRate(1);
  const now = () => process.hrtime.bigint();
  const check = (c, w) => { if (!c) throw new Error(`wrong result: ${w}`); };
  async function w2(n) {
    const ping = new goro.Chan(0);
    const pong = new goro.Chan(0);
    goro.go(async function echo() {
      for (let i = 0; i < n; i++) {
        const { value } = await ping.recv();
        await pong.send(value + 1);
      }
    });
    const t0 = now();
    for (let i = 0; i < n; i++) {
      await ping.send(i);
      const { value } = await pong.recv();
      check(value === i + 1, 'W2 echo');
    }
    return (Number(now() - t0) / 1e3) / n; // µs per round trip
  }
  async function w3(n) {
    const ch = new goro.Chan(1024);
    const t0 = now();
    goro.go(async function producer() {
      for (let i = 0; i < n; i++) await ch.send(i);
      ch.close();
    });
    let sum = 0;
    let cnt = 0;
    for (;;) {
      const r = await ch.recv();
      if (!r.ok) break;
      sum += r.value;
      cnt++;
    }
    const dt = Number(now() - t0) / 1e9;
    check(cnt === n && sum === (n * (n - 1)) / 2, 'W3 sum');
    return n / dt / 1e6; // M msg/s
  }
  const workerSrc = `
    const { workerData: d, parentPort } = require('node:worker_threads');
    const goro = require(d.dir + '/index.js');
    if (d.variant === 'tracing on') goro.enableTracing();
    parentPort.once('message', async () => {
      if (d.kind === 'echo') {
        const a = goro.Chan.open(d.ping); const b = goro.Chan.open(d.pong);
        for (let i = 0; i < d.n; i++) { const { value } = await a.recv(); await b.send(value + 1); }
      } else {
        const c = goro.Chan.open(d.ch);
        for (let i = 0; i < d.n; i++) await c.send(i);
        c.close();
      }
      parentPort.postMessage('done');
    });`;
  function startWorker(data) {
    const w = new Worker(workerSrc, { eval: true, workerData: { dir, variant, ...data } });
    const online = new Promise((r) => w.once('online', r));
    const exited = new Promise((r) => w.once('exit', r));
    return { w, online, exited };
  }
  async function w2x(n) {
    const ping = new goro.Chan(0);
    const pong = new goro.Chan(0);
    const x = startWorker({ kind: 'echo', ping: ping.share(), pong: pong.share(), n });
    await x.online;
    x.w.postMessage('go');
    const t0 = now();
    for (let i = 0; i < n; i++) {
      await ping.send(i);
      const { value } = await pong.recv();
      check(value === i + 1, 'W2x echo');
    }
    const us = (Number(now() - t0) / 1e3) / n;
    await x.exited;
    return us;
  }
  async function w3x(n) {
    const ch = new goro.Chan(1024);
    const x = startWorker({ kind: 'produce', ch: ch.share(), n });
    await x.online;
    const t0 = now();
    x.w.postMessage('go');
    let sum = 0;
    let cnt = 0;
    for await (const v of ch) {
      sum += v;
      cnt++;
    }
    const dt = Number(now() - t0) / 1e9;
    check(cnt === n && sum === (n * (n - 1)) / 2, 'W3x sum');
    await x.exited;
    return n / dt / 1e6;
  }
  const fn = { W2: w2, W3: w3, W2x: w2x, W3x: w3x }[workload];
  await fn(Math.max(1000, Math.floor(n / 10))); // warm-up
  const v = await fn(n);
  process.stdout.write(`${v}\n`);
  process.exit(0);
}

// ---------------- one thread, warm, in one process ----------------
// Fresh processes measure W2/W3 partly before the JIT is done; here both JS layers run in one
// process (they share the addon; the one-thread paths make no native call), alternating, 25
// rounds, the first 5 dropped as warm-up. Prints JSON medians (ns per round trip / message).
async function inproc(beforeDir, rounds) {
  const A = require(path.join(beforeDir, 'index.js'));
  const B = require(path.join(NODE_DIR, 'index.js'));
  const now = () => process.hrtime.bigint();
  async function w2(goro, n) {
    const ping = new goro.Chan(0);
    const pong = new goro.Chan(0);
    (async () => {
      for (let i = 0; i < n; i++) {
        const { value } = await ping.recv();
        await pong.send(value + 1);
      }
    })();
    const t0 = now();
    for (let i = 0; i < n; i++) {
      await ping.send(i);
      await pong.recv();
    }
    return Number(now() - t0) / n;
  }
  async function w3(goro, n) {
    const ch = new goro.Chan(1024);
    const t0 = now();
    (async () => {
      for (let i = 0; i < n; i++) await ch.send(i);
      ch.close();
    })();
    for (;;) {
      const r = await ch.recv();
      if (!r.ok) break;
    }
    return Number(now() - t0) / n;
  }
  const res = { W2: [[], []], W3: [[], []] };
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first.
    const order = r % 2 === 0 ? [[A, 0], [B, 1]] : [[B, 1], [A, 0]];
    for (const [g, k] of order) res.W2[k].push(await w2(g, 100000));
    for (const [g, k] of order) res.W3[k].push(await w3(g, 500000));
  }
  const out = {};
  for (const [w, [a, b]] of Object.entries(res)) out[w] = [median(a.slice(5)), median(b.slice(5))];
  process.stdout.write(JSON.stringify(out) + '\n');
}

// ---------------- parent ----------------
function makeBefore(rev) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'goro-node-before-'));
  fs.mkdirSync(path.join(dir, 'lib'));
  const files = execFileSync('git', ['-C', REPO, 'ls-tree', '--name-only', `${rev}:bindings/node/lib`], { encoding: 'utf8' })
    .split('\n').filter(Boolean);
  for (const f of files) {
    fs.writeFileSync(path.join(dir, 'lib', f), execFileSync('git', ['-C', REPO, 'show', `${rev}:bindings/node/lib/${f}`]));
  }
  fs.writeFileSync(path.join(dir, 'index.js'), execFileSync('git', ['-C', REPO, 'show', `${rev}:bindings/node/index.js`]));
  for (const f of fs.readdirSync(NODE_DIR).filter((f) => /^goro\..*\.node$/.test(f))) {
    fs.symlinkSync(path.join(NODE_DIR, f), path.join(dir, f));
  }
  return dir;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main() {
  const args = process.argv.slice(2);
  const runsArg = args.indexOf('--runs');
  const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : 7;
  const quick = args.includes('--quick');
  const writeArg = args.indexOf('--write');
  const WRITE = writeArg >= 0 ? args[writeArg + 1] : null;
  const beforeArg = args.indexOf('--before');
  const rev = beforeArg >= 0 ? args[beforeArg + 1]
    : execFileSync('git', ['-C', REPO, 'log', '--format=%H', '--diff-filter=A', '--', 'bindings/node/lib/trace.js'], { encoding: 'utf8' }).trim().split('\n').pop() + '^';
  const revHash = execFileSync('git', ['-C', REPO, 'rev-parse', rev], { encoding: 'utf8' }).trim();
  const before = makeBefore(revHash);
  const S = quick ? 10 : 1;
  const W = [
    { id: 'W2', n: 100000 / S, unit: 'µs/round trip', lower: true },
    { id: 'W3', n: 1000000 / S, unit: 'M msg/s', lower: false },
    { id: 'W2x', n: 20000 / S, unit: 'µs/round trip', lower: true },
    { id: 'W3x', n: 1000000 / S, unit: 'M msg/s', lower: false },
  ];
  let V = [['before', before], ['after (off)', NODE_DIR], ['tracing on', NODE_DIR], ['block profile on', NODE_DIR]];
  if (args.includes('--off-only')) V = V.slice(0, 2);
  const onlyArg = args.indexOf('--only');
  if (onlyArg >= 0) {
    const only = new Set(args[onlyArg + 1].split(','));
    for (let i = W.length - 1; i >= 0; i--) if (!only.has(W[i].id)) W.splice(i, 1);
  }
  const res = new Map();
  for (let r = 0; r < RUNS; r++) {
    for (const w of W) {
      for (const [name, dir] of V) {
        const out = execFileSync(process.execPath, [__filename, '--child', dir, name, w.id, String(w.n)], { encoding: 'utf8' });
        const v = Number(out.trim());
        const k = `${w.id}|${name}`;
        if (!res.has(k)) res.set(k, []);
        res.get(k).push(v);
        process.stderr.write(`run ${r + 1}/${RUNS} ${w.id} ${name}: ${v.toFixed(3)} ${w.unit}\n`);
      }
    }
  }
  const warm = JSON.parse(execFileSync(process.execPath, [__filename, '--inproc', before, '25'], { encoding: 'utf8' }));
  const lines = [];
  lines.push(`One thread, warm (both layers in one process, alternating, 20 rounds after 5 warm-up): ` +
    `W2 before ${warm.W2[0].toFixed(0)} ns/round trip, after ${warm.W2[1].toFixed(0)} (after/before ${(warm.W2[1] / warm.W2[0]).toFixed(3)}); ` +
    `W3 before ${warm.W3[0].toFixed(1)} ns/msg, after ${warm.W3[1].toFixed(1)} (after/before ${(warm.W3[1] / warm.W3[0]).toFixed(3)}).`);
  lines.push('');
  lines.push(`Node ${process.version}, ${os.cpus().length} CPUs, before = ${revHash.slice(0, 12)}, ${RUNS} runs interleaved (a process each), medians; ${new Date().toISOString()}`);
  lines.push('');
  lines.push(`| workload | unit | ${V.map(([n]) => n).join(' | ')} | after / before |`);
  lines.push(`|---|---|${V.map(() => '---').join('|')}|---|`);
  for (const w of W) {
    const meds = V.map(([n]) => median(res.get(`${w.id}|${n}`)));
    const ratio = w.lower ? meds[0] / meds[1] : meds[1] / meds[0];
    lines.push(`| ${w.id} | ${w.unit} | ${meds.map((m) => m.toFixed(3)).join(' | ')} | ${ratio.toFixed(3)} (>1: after is faster) |`);
  }
  fs.rmSync(before, { recursive: true, force: true });
  console.log(lines.join('\n'));
  if (WRITE) fs.appendFileSync(WRITE, `\n## ${new Date().toISOString().slice(0, 10)}: trace_cost.js ${args.join(' ')}\n\n${lines.join('\n')}\n`);
}

if (process.argv[2] === '--inproc') {
  inproc(process.argv[3], Number(process.argv[4])).then(() => process.exit(0), (e) => {
    console.error(e);
    process.exit(1);
  });
} else if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], process.argv[5], Number(process.argv[6])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main();
}
