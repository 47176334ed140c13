'use strict';
// Keeps one object of each hot class alive for the life of the process.
//
// V8 reaches the map (hidden class) a constructor's field stores end in only through weak
// transitions, and optimized code holds the maps it was compiled against weakly too. A full
// GC at a moment when no object of a class is alive (no wait pending, so no Waiter; the
// channels of a finished phase dropped) frees that map and deoptimizes every function
// compiled against it: send, recv, the queue, claim and complete then run unoptimized until
// they warm up again. Measured (benches/node, one thread, a full GC before each run): 28-30
// such deoptimizations in three W2 runs, and W2 at 0.65-0.8x the promise channel; with one
// object of each kept here, none, and 1.15-1.3x. An exemplar must be made by the class's own
// constructor so that it has the map the hot objects have.

const kept = [];

function keepShape(o) {
  kept.push(o);
  return o;
}

module.exports = { keepShape };
