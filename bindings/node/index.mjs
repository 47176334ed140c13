// ESM entry: the same objects as the CommonJS entry.
import { createRequire } from 'node:module';

const goro = createRequire(import.meta.url)('./index.js');

export const {
  Chan, select, recv, send, WaitGroup, Mutex, Pool, Group, sleep, after, Ticker,
  go, onGoroutineError, numGoroutine, gomaxprocs, numCpu,
  ClosedError, AbortError, TimeoutError,
  dump, profile, writeProfile, setBlockProfileRate, setMutexProfileFraction, setTraceback,
  startCpuProfile, stopCpuProfile, debugServe, leaks, leakReport, goroutines, counters,
  enableTracing, disableTracing, tracing, testing,
} = goro;
export default goro;
