// Fan-in with select: three producers at different speeds, one consumer, a quit channel.
const { go, Chan, select, recv, sleep, after } = require('goro');

function producer(name, every, count) {
  const out = new Chan();
  go(async () => {
    for (let i = 0; i < count; i++) {
      await sleep(every);
      await out.send(`${name}#${i}`);
    }
    out.close();
  });
  return out;
}

async function main() {
  let chans = [producer('fast', 2, 10), producer('mid', 5, 5), producer('slow', 11, 3)];
  const got = [];
  const deadline = after(20000); // generous: this is a correctness check, not a timing one
  // A closed channel is set to null: a null channel is never ready, as a nil channel in Go.
  while (chans.some((c) => c !== null)) {
    const cases = [...chans.map((c) => recv(c)), recv(deadline)];
    const { index, value, ok } = await select(cases);
    if (index === chans.length) throw new Error('took too long');
    if (!ok) chans[index] = null;
    else got.push(value);
  }
  console.log(`received ${got.length} messages:`, got.slice(0, 5).join(' '), '...');
  if (got.length !== 18) process.exit(1);
}

main();
