// errgroup: run tasks as goroutines; the first error cancels the others through an
// AbortSignal, and is the one reported.
const { go, WaitGroup, sleep } = require('goro');

async function group(tasks) {
  const ac = new AbortController();
  const wg = new WaitGroup();
  let first = null;
  for (const task of tasks) {
    wg.add(1);
    go(async () => {
      try {
        await task(ac.signal);
      } catch (e) {
        if (first === null) {
          first = e;
          ac.abort(e);
        }
      } finally {
        wg.done();
      }
    });
  }
  await wg.wait();
  return first;
}

async function main() {
  const cancelled = [];
  const err = await group([
    async (signal) => { await sleep(10, { signal }); throw new Error('fetch failed'); },
    async (signal) => {
      try { await sleep(5000, { signal }); } catch (e) { cancelled.push(e.name); throw e; }
    },
    async (signal) => {
      try { await sleep(5000, { signal }); } catch (e) { cancelled.push(e.name); throw e; }
    },
  ]);
  console.log('first error:', err.message, '| cancelled:', cancelled.join(', '));
  if (err.message !== 'fetch failed' || cancelled.length !== 2) process.exit(1);
}

main();
