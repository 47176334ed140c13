// A Ticker and after(): take three ticks of 20 ms, stop the ticker, then a select shows the
// stopped ticker's channel stays quiet while after() fires.
const { Ticker, after, select, recv } = require('goro');

async function main() {
  const t = new Ticker(20);
  const t0 = Date.now();
  for (let i = 0; i < 3; i++) await t.C.recv();
  const elapsed = Date.now() - t0;
  t.stop();
  t.C.tryRecv(); // a tick that came before stop() may still be buffered (capacity 1)
  const { index } = await select([recv(t.C), recv(after(50))]);
  console.log(`3 ticks in ${elapsed} ms; after stop(), the select chose ${index === 1 ? 'after()' : 'the ticker'}`);
  if (elapsed < 55 || index !== 1) process.exit(1);
}

main();
