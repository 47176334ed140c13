// A Ticker and after(): tick every 20 ms until a 110 ms deadline, then stop.
const { Ticker, after, select, recv } = require('goro');

async function main() {
  const t = new Ticker(20);
  const done = after(110);
  let ticks = 0;
  for (;;) {
    const { index } = await select([recv(t.C), recv(done)]);
    if (index === 1) break;
    ticks++;
  }
  t.stop();
  console.log(`${ticks} ticks before the deadline`);
  if (ticks < 3 || ticks > 6) process.exit(1);
}

main();
