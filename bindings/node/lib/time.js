'use strict';
// sleep, after and Ticker on Node's timers. Values delivered are Date.now() at the tick.
//
// Keep-alive: sleep's timer is a pending wait, so it keeps Node alive. The timers behind
// after() and Ticker are unref'd: they keep Node alive only while someone waits to receive
// from their channel (the channel tells us when a receiver starts waiting), so a forgotten
// ticker, as an idle channel, never holds the process open.

const { Chan, hasLive } = require('./chan');
const { checkOpts, abortError } = require('./wait');
const { typeError } = require('./errors');
const { SW, traceWait, R_SLEEP } = require('./trace');

function checkMs(ms, what) {
  if (typeof ms !== 'number' || Number.isNaN(ms)) throw typeError(`${what}: ms must be a number, got ${typeof ms}`);
}

function sleep(ms, opts) {
  checkMs(ms, 'sleep(ms)');
  const o = checkOpts(opts);
  const signal = o !== null ? o.signal : undefined;
  if (signal && signal.aborted) return Promise.reject(abortError(signal));
  const p = new Promise((resolve, reject) => {
    let onAbort = null;
    const t = setTimeout(() => {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    if (signal) {
      onAbort = () => {
        clearTimeout(t);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return SW[0] === 0 ? p : traceWait(p, R_SLEEP);
}

// A channel that receives Date.now() once, after ms.
function after(ms) {
  checkMs(ms, 'after(ms)');
  const c = new Chan(1);
  const t = setTimeout(() => {
    c._onRecvWait = null;
    c.trySend(Date.now());
  }, Math.max(0, ms));
  t.unref();
  c._onRecvWait = () => t.ref();
  return c;
}

// A channel C that receives Date.now() every period; ticks no one took are dropped (cap 1).
class Ticker {
  constructor(ms) {
    checkMs(ms, 'new Ticker(ms)');
    if (!(ms > 0)) throw typeError(`new Ticker(ms): ms must be > 0, got ${ms}`);
    const c = (this.C = new Chan(1));
    const t = (this._t = setInterval(() => {
      c.trySend(Date.now());
      if (!hasLive(c._recvq)) t.unref();
    }, ms));
    t.unref();
    c._onRecvWait = () => t.ref();
  }

  // Stops the ticks; C stays open, as Go's.
  stop() {
    clearInterval(this._t);
    this.C._onRecvWait = null;
  }
}

module.exports = { sleep, after, Ticker };
