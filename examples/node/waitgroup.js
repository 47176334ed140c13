// WaitGroup and Mutex: ten goroutines update a shared total under a lock.
const { go, WaitGroup, Mutex, sleep, numGoroutine } = require('goro');

async function main() {
  const wg = new WaitGroup();
  const mu = new Mutex();
  let total = 0;
  for (let i = 1; i <= 10; i++) {
    wg.add(1);
    go(async () => {
      await mu.lock();
      try {
        const t = total;
        await sleep(1); // a suspension inside the critical section
        total = t + i;
      } finally {
        mu.unlock();
      }
      wg.done();
    });
  }
  console.log('goroutines running:', numGoroutine() >= 10);
  await wg.wait();
  console.log('total =', total);
  if (total !== 55) process.exit(1);
}

main();
