// A Pool running jobs on worker_threads: results in order, back-pressure, and one job
// cancelled by its AbortSignal while the others finish.
const path = require('node:path');
const { Pool } = require('goro');

async function main() {
  const pool = new Pool({ filename: path.join(__dirname, 'primes_job.mjs'), queue: 8 });
  const ranges = Array.from({ length: 20 }, (_, i) => [i * 10_000, (i + 1) * 10_000]);
  const counts = await Promise.all(ranges.map((r) => pool.run(r)));
  const total = counts.reduce((a, b) => a + b, 0);
  console.log('primes below 200,000:', total);

  const ac = new AbortController();
  const slow = pool.run([0, 50_000_000], { signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  try {
    await slow;
  } catch (e) {
    console.log('the slow job:', e.name);
  }
  console.log('the pool still works:', await pool.run([0, 100]));
  await pool.close();
  if (total !== 17984) process.exit(1);
}

main();
