'use strict';
// goro for Node: channels, select, WaitGroup, Mutex, timers and a worker pool whose waits are
// Promises: nothing here ever blocks the event loop. See README.md and CONTRACT.md.

const { Chan } = require('./lib/chan');
const { select, recv, send } = require('./lib/select');
const { WaitGroup, Mutex } = require('./lib/sync');
const { sleep, after, Ticker } = require('./lib/time');
const { go, onGoroutineError, numGoroutine, gomaxprocs, numCpu } = require('./lib/go');
const { Pool } = require('./lib/pool');
const { Group } = require('./lib/group');
const { ClosedError, AbortError, TimeoutError } = require('./lib/errors');
const { api: trace } = require('./lib/trace');

module.exports = {
  Chan, select, recv, send, WaitGroup, Mutex, Pool, Group, sleep, after, Ticker,
  go, onGoroutineError, numGoroutine, gomaxprocs, numCpu,
  ClosedError, AbortError, TimeoutError,
  // Seeing inside (lib/trace.js): dumps, pprof profiles, leaks, the debug endpoint, counters.
  dump: trace.dump, profile: trace.profile, writeProfile: trace.writeProfile,
  setBlockProfileRate: trace.setBlockProfileRate, setMutexProfileFraction: trace.setMutexProfileFraction,
  setTraceback: trace.setTraceback, startCpuProfile: trace.startCpuProfile, stopCpuProfile: trace.stopCpuProfile,
  debugServe: trace.debugServe, leaks: trace.leaks, leakReport: trace.leakReport,
  goroutines: trace.goroutines, counters: trace.counters,
  enableTracing: trace.enableTracing, disableTracing: trace.disableTracing, tracing: trace.tracing,
};
// goro.testing: the leak checker (also require('goro/testing')), loaded on first use.
Object.defineProperty(module.exports, 'testing', { enumerable: true, get: () => require('./lib/testing') });
