// errgroup: run tasks in a Group (Go's errgroup on AbortSignal). Each task gets the group's
// signal and passes it to its waits; the first error aborts the signal, so the others' waits
// end at once, and wait() rejects with that first error. `limit` bounds how many run at once.
const { Group, sleep } = require('goro');

async function main() {
  const g = new Group({ limit: 2 });
  const cancelled = [];
  const slow = async (signal) => {
    try { await sleep(5000, { signal }); } catch (e) { cancelled.push(e.name); throw e; }
  };
  await g.go(async (signal) => { await sleep(10, { signal }); throw new Error('fetch failed'); });
  await g.go(slow);
  await g.go(slow); // waits for a place: starts once the first task has failed
  let err = null;
  try { await g.wait(); } catch (e) { err = e; }
  console.log('first error:', err && err.message, '| cancelled:', cancelled.join(', '));
  if (!err || err.message !== 'fetch failed' || cancelled.length !== 2) process.exit(1);
}

main();
