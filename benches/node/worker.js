'use strict';
// The worker side of the cross-thread workloads. workerData.kind picks the part. A part
// starts on the 'go' message, so worker start-up is not timed, and says 'done' at the end.

const { parentPort, workerData } = require('node:worker_threads');
const goro = require('../../bindings/node/index.js');

function job(from) {
  let s = 0;
  for (let i = 0; i < 100; i++) s += from + i;
  return s;
}

const parts = {
  // W2: echo v+1 over two unbuffered channels / a port.
  async goroEcho({ ping, pong, n }) {
    const a = goro.Chan.open(ping);
    const b = goro.Chan.open(pong);
    for (let i = 0; i < n; i++) {
      const { value } = await a.recv();
      await b.send(value + 1);
    }
  },
  portEcho({ port, n }) {
    return new Promise((resolve) => {
      let k = 0;
      port.on('message', (v) => {
        port.postMessage(v + 1);
        if (++k === n) resolve();
      });
    });
  },
  // W3, W4, W5: send from, from+step, ... below to.
  async goroProduce({ ch, from, to, step, close }) {
    const c = goro.Chan.open(ch);
    for (let i = from; i < to; i += step) if (!c.trySend(i)) await c.send(i);
    if (close) c.close();
  },
  portProduce({ port, from, to, step }) {
    for (let i = from; i < to; i += step) port.postMessage(i);
    port.postMessage(-1);
  },
};

if (workerData.kind === 'handPool') {
  // W8 by hand: one postMessage per job and one per result.
  parentPort.on('message', (m) => parentPort.postMessage([m[0], job(m[1])]));
} else {
  parentPort.once('message', () => {
    Promise.resolve(parts[workerData.kind](workerData)).then(
      () => parentPort.postMessage('done'),
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  });
}
