'use strict';
// The baseline "plain promise channel": what a Node user writes in twenty lines. A buffer, a
// queue of waiting receivers and one of waiting senders; no select, no abort, no close rules
// beyond the minimum.

class PChan {
  constructor(cap = 0) {
    this.cap = cap;
    this.buf = [];
    this.bufHead = 0;
    this.recvq = [];
    this.sendq = []; // [value, resolve]
    this.closed = false;
  }
  send(v) {
    if (this.recvq.length > 0) {
      this.recvq.shift()({ value: v, ok: true });
      return Promise.resolve();
    }
    if (this.buf.length - this.bufHead < this.cap) {
      this.buf.push(v);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.sendq.push([v, resolve]));
  }
  recv() {
    if (this.buf.length > this.bufHead) {
      const v = this.buf[this.bufHead++];
      if (this.bufHead > 1024 && this.bufHead * 2 > this.buf.length) {
        this.buf = this.buf.slice(this.bufHead);
        this.bufHead = 0;
      }
      if (this.sendq.length > 0) {
        const [sv, resolve] = this.sendq.shift();
        this.buf.push(sv);
        resolve();
      }
      return Promise.resolve({ value: v, ok: true });
    }
    if (this.sendq.length > 0) {
      const [sv, resolve] = this.sendq.shift();
      resolve();
      return Promise.resolve({ value: sv, ok: true });
    }
    if (this.closed) return Promise.resolve({ value: undefined, ok: false });
    return new Promise((resolve) => this.recvq.push(resolve));
  }
  close() {
    this.closed = true;
    for (const r of this.recvq) r({ value: undefined, ok: false });
    this.recvq = [];
  }
}

module.exports = { PChan };
