'use strict';
// goro for Node: channels, select, WaitGroup, Mutex, timers and a worker pool whose waits are
// Promises: nothing here ever blocks the event loop. See README.md and CONTRACT.md.

const { Chan } = require('./lib/chan');
const { select, recv, send } = require('./lib/select');
const { WaitGroup, Mutex } = require('./lib/sync');
const { sleep, after, Ticker } = require('./lib/time');
const { go, onGoroutineError, numGoroutine, gomaxprocs, numCpu } = require('./lib/go');
const { Pool } = require('./lib/pool');
const { ClosedError, AbortError, TimeoutError } = require('./lib/errors');

module.exports = {
  Chan, select, recv, send, WaitGroup, Mutex, Pool, sleep, after, Ticker,
  go, onGoroutineError, numGoroutine, gomaxprocs, numCpu,
  ClosedError, AbortError, TimeoutError,
};
