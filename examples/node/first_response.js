// First response: ask three replicas, take the first answer, abort the rest (Go's
// "replicated search" with errgroup and a context). Each replica is a Group function that
// "works" in a sleep and answers with a send, both on the group's signal; aborting the
// parent signal after the first answer ends the slow ones at once, parked in the sleep or the
// send, and none of their answers is delivered.
const { Chan, Group, sleep, AbortError } = require('goro');

async function main() {
  const answers = new Chan();
  const parent = new AbortController();
  const g = new Group({ signal: parent.signal });
  const replica = async (signal, name, ms) => {
    await sleep(ms, { signal }); // the work
    await answers.send(name, { signal }); // only the first is received
  };
  const t0 = Date.now();
  await g.go(replica, 'slow', 2000);
  await g.go(replica, 'fast', 20);
  await g.go(replica, 'medium', 500);
  const first = await answers.recv({ timeout: 5000 });
  const took = Date.now() - t0;
  parent.abort(); // the others stop now
  let err = null;
  try { await g.wait(); } catch (e) { err = e; }
  const all = Date.now() - t0;
  console.log(`first answer from ${first.value} after ${took} ms; all replicas returned after ` +
              `${all} ms (${err && err.name})`);
  const late = answers.tryRecv();
  if (first.value !== 'fast' || all > 1500 || !(err instanceof AbortError) || late !== null) {
    console.error('FAIL', { first, all, err, late });
    process.exit(1);
  }
}

main();
