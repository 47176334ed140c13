'use strict';
// The errors of the contract, told apart by `name` (and instanceof).

class ClosedError extends Error {
  constructor(message = 'goro: channel closed') {
    super(message);
    this.name = 'ClosedError';
  }
}

class AbortError extends Error {
  constructor(message = 'goro: the operation was aborted', options) {
    super(message, options);
    this.name = 'AbortError';
  }
}

class TimeoutError extends Error {
  constructor(message = 'goro: the operation timed out') {
    super(message);
    this.name = 'TimeoutError';
  }
}

function typeError(msg) {
  return new TypeError('goro: ' + msg);
}

module.exports = { ClosedError, AbortError, TimeoutError, typeError };
