#!/usr/bin/env bash
# CI for the Node binding, from a clean checkout on a fresh machine (needs node >= 18, npm and
# cargo on PATH; installs nothing globally):
#   1. npm ci in bindings/node: installs @napi-rs/cli locally and builds the addon (cargo);
#   2. node --test: the contract, select, sync, timers, workers, exit, Pool, seeing inside
#      (profiles read with `go tool pprof` when go is installed, else those checks skip);
#   3. examples/node/run_all.sh;
#   4. packaging: npm pack (prepack vendors core), install the tarball into an empty folder
#      under /tmp (builds from source there) and run a smoke test against it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

echo "== goro node: npm ci (builds the addon)"
npm ci --no-audit --no-fund --loglevel=error

echo "== goro node: node --test"
node --test __test__/

echo "== goro node: examples"
"$repo/examples/node/run_all.sh"

echo "== goro node: npm pack, install the tarball outside the repo, smoke test"
tmp="$(mktemp -d /tmp/goro-node-pack.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
npm pack --pack-destination "$tmp" --loglevel=error >/dev/null
tarball="$(ls "$tmp"/goro-*.tgz)"
git -C "$repo" diff --quiet -- bindings/node/Cargo.toml || { echo "postpack left Cargo.toml changed"; exit 1; }
mkdir "$tmp/app"
cd "$tmp/app"
npm init -y >/dev/null
# A target dir of its own under the app, so the build really happens from the tarball.
CARGO_TARGET_DIR="$tmp/app/target" npm install --no-audit --no-fund --loglevel=error "$tarball"
cat > smoke.mjs <<'JS'
import { Chan, select, recv, send, Pool, numCpu } from 'goro';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
const goro = createRequire(import.meta.url)('goro');
if (goro.Chan !== Chan) throw new Error('CommonJS and ESM entries differ');
const ch = new Chan(1);
await ch.send(42);
const r = await select([recv(ch), send(null, 0)]);
if (r.value !== 42) throw new Error('select');
const shared = new Chan();
const w = new Worker(`const { Chan } = require('goro'); const { workerData } = require('node:worker_threads');
  Chan.open(workerData).send({ hello: 'from a worker' });`, { eval: true, workerData: shared.share() });
const { value } = await shared.recv();
if (value.hello !== 'from a worker') throw new Error('worker');
await new Promise((res) => w.on('exit', res));
if (!(numCpu() >= 1)) throw new Error('numCpu');
// Seeing inside, and the goro/testing entry point, from the installed package.
const { verifyNone } = await import('goro/testing');
await verifyNone(async () => {})();
if (goro.profile('goroutine')[0] !== 0x1f) throw new Error('profile');
if (typeof goro.dump() !== 'string' || typeof goro.counters().switches !== 'number') throw new Error('dump/counters');
console.log('smoke test passed: installed from', import.meta.resolve('goro'));
JS
node smoke.mjs
echo "goro node CI: all passed"
