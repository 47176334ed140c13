// The job of worker_pool.js: count the primes in [from, to). Checks its signal now and then.
export default async function countPrimes([from, to], ctx) {
  let count = 0;
  for (let n = Math.max(2, from); n < to; n++) {
    if (n % 100_000 === 0) {
      await new Promise((r) => setImmediate(r)); // let an abort message in
      if (ctx && ctx.signal.aborted) throw ctx.signal.reason;
    }
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}
