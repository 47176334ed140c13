// ESM entry: the same objects as the CommonJS entry.
import { createRequire } from 'node:module';

const goro = createRequire(import.meta.url)('./index.js');

export const {
  Chan, select, recv, send, WaitGroup, Mutex, Pool, sleep, after, Ticker,
  go, onGoroutineError, numGoroutine, gomaxprocs, numCpu,
  ClosedError, AbortError, TimeoutError,
} = goro;
export default goro;
