// A channel shared with worker_threads: two workers produce, the main thread consumes.
// Values crossing threads are copied with structured-clone meaning.
const { Worker } = require('node:worker_threads');
const { Chan, WaitGroup } = require('goro');

const producer = `
const { workerData } = require('node:worker_threads');
const { Chan } = require('goro');
(async () => {
  const ch = Chan.open(workerData.token);
  for (let i = 0; i < 1000; i++) await ch.send({ from: workerData.id, i, at: new Date() });
})();
`;

async function main() {
  const ch = new Chan(64);
  const wg = new WaitGroup();
  for (let id = 0; id < 2; id++) {
    wg.add(1);
    const w = new Worker(producer, { eval: true, workerData: { token: ch.share(), id } });
    w.on('exit', () => wg.done());
  }
  wg.wait().then(() => ch.close());
  const perWorker = [0, 0];
  for await (const msg of ch) {
    if (!(msg.at instanceof Date)) throw new Error('not cloned as a Date');
    perWorker[msg.from]++;
  }
  console.log('messages per worker:', perWorker.join(', '));
  if (perWorker[0] !== 1000 || perWorker[1] !== 1000) process.exit(1);
}

main();
