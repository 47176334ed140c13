'use strict';
// sleep, after and Ticker on Node's timers. Values delivered are Date.now() at the tick.

const { Chan } = require('./chan');
const { checkOpts, abortError } = require('./wait');
const { typeError } = require('./errors');

function checkMs(ms, what) {
  if (typeof ms !== 'number' || Number.isNaN(ms)) throw typeError(`${what}: ms must be a number, got ${typeof ms}`);
}

function sleep(ms, opts) {
  checkMs(ms, 'sleep(ms)');
  const o = checkOpts(opts);
  const signal = o !== null ? o.signal : undefined;
  if (signal && signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
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
}

// A channel that receives Date.now() once, after ms.
function after(ms) {
  checkMs(ms, 'after(ms)');
  const c = new Chan(1);
  setTimeout(() => c.trySend(Date.now()), Math.max(0, ms));
  return c;
}

// A channel C that receives Date.now() every period; ticks no one took are dropped (cap 1).
class Ticker {
  constructor(ms) {
    checkMs(ms, 'new Ticker(ms)');
    if (!(ms > 0)) throw typeError(`new Ticker(ms): ms must be > 0, got ${ms}`);
    this.C = new Chan(1);
    this._t = setInterval(() => {
      this.C.trySend(Date.now());
    }, ms);
  }

  // Stops the ticks; C stays open, as Go's.
  stop() {
    clearInterval(this._t);
  }
}

module.exports = { sleep, after, Ticker };
