// 100,000 goroutines, each says hello on a channel; main counts them. (examples/c/hello_100k.c)
const { go, Chan, WaitGroup } = require('goro');

async function main() {
  const n = 100_000;
  const hellos = new Chan(1024);
  const wg = new WaitGroup();
  wg.add(n);
  for (let i = 0; i < n; i++) {
    go(async (id) => {
      await hellos.send(id);
      wg.done();
    }, i);
  }
  go(async () => {
    await wg.wait();
    hellos.close();
  });
  let count = 0;
  for await (const _ of hellos) count++;
  console.log(`${count} goroutines said hello`);
  if (count !== n) process.exit(1);
}

main();
