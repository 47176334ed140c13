'use strict';
// A FIFO ring buffer (power-of-two capacity, grows by doubling): push and shift are O(1)
// and never resize the array in the steady state, which matters for a channel whose waiter
// queue goes 0 -> 1 -> 0 on every hand-off. Removing a given item (a waiter that gave up) is
// O(n), and rare.
//
// The array is made generic (HOLEY_ELEMENTS) at once: V8 would otherwise start it as an
// array of small integers and move it to another elements kind at the first value of another
// type, so that a buffer of numbers and a queue of waiters had arrays of different maps and
// push and shift, shared by both, went polymorphic and deoptimized ("wrong map") when a
// workload switched between them.

function slots(n) {
  const a = new Array(n);
  a.fill(undefined);
  return a;
}

class Queue {
  constructor() {
    this.items = slots(8);
    this.head = 0;
    this.length = 0;
  }
  push(x) {
    if (this.length === this.items.length) this._grow();
    this.items[(this.head + this.length) & (this.items.length - 1)] = x;
    this.length++;
  }
  shift() {
    if (this.length === 0) return undefined;
    const items = this.items;
    const x = items[this.head];
    items[this.head] = undefined;
    this.head = (this.head + 1) & (items.length - 1);
    this.length--;
    return x;
  }
  // The k-th item from the front (k < length).
  at(k) {
    return this.items[(this.head + k) & (this.items.length - 1)];
  }
  remove(x) {
    const mask = this.items.length - 1;
    for (let k = 0; k < this.length; k++) {
      if (this.items[(this.head + k) & mask] !== x) continue;
      for (let j = k; j < this.length - 1; j++) {
        this.items[(this.head + j) & mask] = this.items[(this.head + j + 1) & mask];
      }
      this.items[(this.head + this.length - 1) & mask] = undefined;
      this.length--;
      return true;
    }
    return false;
  }
  // Empties the queue; returns its items, oldest first.
  clear() {
    const out = new Array(this.length);
    for (let k = 0; k < this.length; k++) out[k] = this.at(k);
    this.items = slots(8);
    this.head = 0;
    this.length = 0;
    return out;
  }
  _grow() {
    const old = this.items;
    const items = slots(old.length * 2);
    for (let k = 0; k < this.length; k++) items[k] = old[(this.head + k) & (old.length - 1)];
    this.items = items;
    this.head = 0;
  }
}

module.exports = { Queue };
