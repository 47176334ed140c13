'use strict';
// A FIFO with O(1) push and shift (an array with a moving head, compacted now and then),
// and removal of a given item (a waiter that gave up), which is rare.

class Queue {
  constructor() {
    this.items = [];
    this.head = 0;
  }
  get length() {
    return this.items.length - this.head;
  }
  push(x) {
    this.items.push(x);
  }
  shift() {
    const items = this.items;
    if (this.head >= items.length) return undefined;
    const x = items[this.head];
    items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    } else if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
    }
    return x;
  }
  remove(x) {
    const i = this.items.indexOf(x, this.head);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }
  clear() {
    const out = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return out;
  }
}

module.exports = { Queue };
