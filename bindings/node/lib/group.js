'use strict';
// Group: Go's errgroup for Node, on AbortSignal (Node's own "context").
//
//     const g = new Group({ limit: 4, signal: AbortSignal.timeout(5000) });
//     for (const url of urls) await g.go(fetchOne, url);   // fetchOne(signal, url)
//     await g.wait();                                      // the first error, if any
//
// Each function gets the group's signal as its first argument and passes it to every wait
// (`ch.recv({ signal })`, `select(cases, { signal })`, `sleep(ms, { signal })`,
// `wg.wait({ signal })`, `mu.lock({ signal })`, fetch, ...): the first rejection aborts the
// signal, so the others' waits reject with an AbortError at once, with nothing consumed or
// delivered (every goro wait promises that). A parent signal (a deadline from
// `AbortSignal.timeout`, several from `AbortSignal.any`) aborts the group too.
//
// `limit` bounds how many functions run at once: `go` waits for a place (errgroup's
// SetLimit); `await` it to hold back the producer, or not: `wait` counts a function from the
// moment `go` is called. `wait` resolves once every function has settled, then aborts the
// signal (as errgroup's Wait cancels its context) and rejects with the first error; `errors`
// lists them all, first first.

const { typeError } = require('./errors');

class Group {
  #ctl = new AbortController();
  #limit;
  #running = 0;
  #outstanding = 0;
  #slots = [];   // resolvers of `go` calls waiting for a place
  #idle = [];    // resolvers of `wait` calls waiting for #outstanding to reach 0
  #errors = [];

  constructor(opts) {
    const o = opts === undefined || opts === null ? {} : opts;
    if (typeof o !== 'object') throw typeError('new Group(opts): opts must be an object');
    const limit = o.limit === undefined ? 0 : o.limit;
    if (!Number.isInteger(limit) || limit < 0) {
      throw typeError(`new Group({ limit }): limit must be an integer >= 0, got ${String(limit)}`);
    }
    this.#limit = limit;
    const parent = o.signal;
    if (parent !== undefined && !(parent instanceof AbortSignal)) {
      throw typeError('new Group({ signal }): signal must be an AbortSignal');
    }
    if (parent) {
      if (parent.aborted) this.#ctl.abort(parent.reason);
      else parent.addEventListener('abort', () => this.#ctl.abort(parent.reason), { once: true });
    }
  }

  /** The group's signal: aborted by the first rejection, by the parent, or by `wait`. */
  get signal() { return this.#ctl.signal; }

  /** Every rejection so far, first first. */
  get errors() { return this.#errors.slice(); }

  /** Functions started and not yet settled. */
  get running() { return this.#running; }

  /** Starts fn(signal, ...args), first waiting while `limit` run; resolves once it started. */
  go(fn, ...args) {
    if (typeof fn !== 'function') throw typeError(`Group.go(fn, ...args): fn must be a function, got ${typeof fn}`);
    this.#outstanding++;
    if (this.#limit === 0 || this.#running < this.#limit) {
      this.#start(fn, args);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#slots.push(() => { this.#start(fn, args); resolve(); });
    });
  }

  #start(fn, args) {
    this.#running++;
    const signal = this.#ctl.signal;
    Promise.resolve()
      .then(() => fn(signal, ...args))
      .then(undefined, (err) => {
        this.#errors.push(err);
        this.#ctl.abort(err);
      })
      .then(() => {
        this.#running--;
        this.#outstanding--;
        const next = this.#slots.shift();
        if (next !== undefined) next();
        if (this.#outstanding === 0) {
          const idle = this.#idle;
          this.#idle = [];
          for (const r of idle) r();
        }
      });
  }

  /** Resolves once every function has settled; rejects with the first error. */
  async wait() {
    if (this.#outstanding > 0) await new Promise((resolve) => { this.#idle.push(resolve); });
    if (!this.#ctl.signal.aborted) this.#ctl.abort();
    if (this.#errors.length > 0) throw this.#errors[0];
  }
}

module.exports = { Group };
