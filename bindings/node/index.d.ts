// TypeScript declarations for goro (CONTRACT.md, Node section). Durations are milliseconds.

/** Options every wait takes. */
export interface WaitOptions {
  /** Abort the wait: the promise rejects with an AbortError; nothing is consumed or delivered. */
  signal?: AbortSignal;
  /** Give up after this many ms: the promise rejects with a TimeoutError. */
  timeout?: number;
}

export interface RecvResult<T> {
  value: T | undefined;
  /** false once the channel is closed and drained (value is then undefined). */
  ok: boolean;
}

/** A channel, as Go's `chan T`. Within one thread values pass as they are; across threads
 * (after share()/open()) they are structured-cloned. */
export declare class Chan<T = any> implements AsyncIterable<T> {
  /** cap 0 (default): unbuffered. */
  constructor(cap?: number);
  /** Resolves once the value is taken (unbuffered) or buffered; rejects ClosedError if closed. */
  send(value: T, options?: WaitOptions): Promise<void>;
  /** Resolves { value, ok: true }, or { value: undefined, ok: false } once closed and drained. */
  recv(options?: WaitOptions): Promise<RecvResult<T>>;
  /** true if sent, false if it would block; throws ClosedError on a closed channel. */
  trySend(value: T): boolean;
  /** { value, ok: true }; null if it would block; { value: undefined, ok: false } once closed and drained. */
  tryRecv(): RecvResult<T> | null;
  /** Throws ClosedError the second time. */
  close(): void;
  readonly length: number;
  readonly capacity: number;
  [Symbol.asyncIterator](): AsyncIterator<T>;
  /** A one-use token to postMessage to a worker_threads Worker, which calls Chan.open(token).
   * Keeps the channel alive until opened. */
  share(): string;
  static open<T = any>(token: string): Chan<T>;
  /** Adopts a C goro_chan* of this runtime (its address); values are Buffers of its element size. */
  static fromNative(address: bigint): Chan<Uint8Array>; // Buffers (Uint8Array) of its element size
}

export interface SelectCase<T = any> {
  readonly chan: Chan<T> | null;
  readonly send: boolean;
  readonly value: T | undefined;
}

/** A receive case; a null channel is never ready. Reusable across selects. */
export declare function recv<T>(ch: Chan<T> | null): SelectCase<T>;
/** A send case; completes with ok = false on a closed channel. Reusable across selects. */
export declare function send<T>(ch: Chan<T> | null, value: T): SelectCase<T>;

export interface SelectOptions extends WaitOptions {
  /** Never wait: resolve { index: -1 } when no case is ready. */
  default?: boolean;
}

export interface SelectResult {
  /** The case that completed, or -1 for default. */
  index: number;
  /** The received value (receive cases). */
  value: any;
  ok: boolean;
}

/** Waits for the first case that can complete; among ready cases one is chosen at random. */
export declare function select(cases: SelectCase[], options?: SelectOptions): Promise<SelectResult>;

export declare class WaitGroup {
  /** Throws when the counter would go below zero. */
  add(n?: number): void;
  done(): void;
  wait(options?: WaitOptions): Promise<void>;
}

export declare class Mutex {
  lock(options?: WaitOptions): Promise<void>;
  /** Throws when not locked. */
  unlock(): void;
  tryLock(): boolean;
}

export interface PoolOptions {
  /** Path or file URL of a module (ESM or CommonJS) whose default export is the job function. */
  filename: string | URL;
  /** Worker threads; default gomaxprocs(). */
  workers?: number;
  /** Jobs that may wait beyond one per worker before run() waits; default 1024. */
  queue?: number;
}

/** Jobs on worker_threads. The job function is called as fn(arg, ctx), where ctx is
 * { signal } when the caller passed a signal. */
export declare class Pool {
  constructor(options: PoolOptions);
  /** Resolves with the job's result; waits while the queue is full; an abort cancels the job
   * (queued or running) without killing its worker. Rejects ClosedError after close(). */
  run<R = any>(arg?: any, options?: { signal?: AbortSignal }): Promise<R>;
  /** Waits for every job, then ends the workers. */
  close(): Promise<void>;
}

export declare function sleep(ms: number, options?: { signal?: AbortSignal }): Promise<void>;
/** A channel that receives Date.now() once, after ms. */
export declare function after(ms: number): Chan<number>;
/** C receives Date.now() every period; ticks no one took are dropped. stop() leaves C open. */
export declare class Ticker {
  constructor(ms: number);
  readonly C: Chan<number>;
  stop(): void;
}

/** Runs an async function as a tracked goroutine; a throw is reported, never an unhandled rejection. */
export declare function go<A extends any[]>(fn: (...args: A) => unknown, ...args: A): void;
/** Takes over the report of goroutine errors (null: back to stderr). */
export declare function onGoroutineError(fn: ((err: unknown) => void) | null): void;
/** n > 0 sets GOMAXPROCS; returns the value before the call. */
export declare function gomaxprocs(n?: number): number;
export declare function numCpu(): number;
/** Goroutines alive: the runtime's plus go() ones of this thread. */
export declare function numGoroutine(): number;

export declare class ClosedError extends Error { name: 'ClosedError'; }
export declare class AbortError extends Error { name: 'AbortError'; }
export declare class TimeoutError extends Error { name: 'TimeoutError'; }
