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

/** The runtime's WaitGroup: usable across worker_threads after share()/open(). */
export declare class WaitGroup {
  /** Throws when the counter would go below zero. */
  add(n?: number): void;
  done(): void;
  wait(options?: WaitOptions): Promise<void>;
  /** A one-use token to postMessage to a Worker, which calls WaitGroup.open(token). */
  share(): string;
  static open(token: string): WaitGroup;
}

/** The runtime's Mutex (FIFO hand-off, no owner, as Go's): usable across worker_threads after
 * share()/open(). A lock whose abort or timeout comes after the hand-off resolves: it holds the
 * mutex. */
export declare class Mutex {
  lock(options?: WaitOptions): Promise<void>;
  /** Throws when not locked. */
  unlock(): void;
  tryLock(): boolean;
  /** A one-use token to postMessage to a Worker, which calls Mutex.open(token). */
  share(): string;
  static open(token: string): Mutex;
}

export interface PoolOptions {
  /** Path or file URL of a module (ESM or CommonJS) whose default export is the job function. */
  filename: string | URL;
  /** Worker threads; default gomaxprocs(). */
  workers?: number;
  /** Jobs that may wait beyond one per worker before run() waits; default 1024. */
  queue?: number;
}

/** Options of a Group. */
export interface GroupOptions {
  /** At most this many functions run at once; `go` waits for a place (0, the default: no limit). */
  limit?: number;
  /** A parent: its abort (a deadline from AbortSignal.timeout, ...) aborts the group. */
  signal?: AbortSignal;
}

/** Go's errgroup on AbortSignal: every function gets the group's signal; the first rejection
 * aborts it, so the others' waits end with an AbortError; `wait` rejects with that first error. */
export declare class Group {
  constructor(opts?: GroupOptions);
  /** Aborted by the first rejection, by the parent signal, or once `wait` has returned. */
  readonly signal: AbortSignal;
  /** Every rejection so far, first first. */
  readonly errors: unknown[];
  /** Functions started and not yet settled. */
  readonly running: number;
  /** Starts fn(signal, ...args), first waiting while `limit` functions run; resolves once started. */
  go<A extends unknown[]>(fn: (signal: AbortSignal, ...args: A) => unknown, ...args: A): Promise<void>;
  /** Resolves once every function has settled; rejects with the first error. */
  wait(): Promise<void>;
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

// ---- Seeing inside ----

/** Every goroutine (native ones, and go() tasks while tracing is on), as Go's SIGQUIT dump:
 * id, state, what it waits on and for how long, its function, where it was started. */
export declare function dump(): string;
export type ProfileKind = 'goroutine' | 'goroutineleak' | 'block' | 'mutex' | 'cpu';
/** A pprof profile (gzipped protobuf) that `go tool pprof` reads. "cpu": the last one stopped. */
export declare function profile(kind: ProfileKind): Buffer;
/** Writes profile(kind) to a file; returns its size in bytes. */
export declare function writeProfile(kind: ProfileKind, path: string): number;
/** As runtime.SetBlockProfileRate: sample one wait per `ns` of waiting (1 = every wait); 0 = off. */
export declare function setBlockProfileRate(ns: number): void;
/** As runtime.SetMutexProfileFraction: sample one in n contended Mutex waits; 0 = off; a
 * negative n only reads. Returns the fraction before the call. */
export declare function setMutexProfileFraction(n: number): number;
/** Records where native goroutines wait, for dumps (GORO_TRACEBACK=1); also turns tracing on. */
export declare function setTraceback(on: boolean): void;
/** Starts the CPU profile of native goroutines (JS CPU: use node --cpu-prof). */
export declare function startCpuProfile(hz?: number): void;
export declare function stopCpuProfile(): Buffer;
/** Serves Go's /debug/pprof/ paths (and /debug/goro/leaks) on addr ("127.0.0.1:6060", or a
 * port on loopback; 0 picks one). Returns the port. Turns tracing on. */
export declare function debugServe(addr?: string | number): number;

export interface GoroutineInfo {
  id: number;
  name: string | null;
  state: 'running' | 'runnable' | 'waiting';
  /** "chan receive", "chan send", "select", "sleep", "sync.WaitGroup.Wait", "sync.Mutex.Lock", "pool submit", ... */
  waitingFor: string | null;
  waitedMs: number;
  /** The function it runs (a go() task: fn.name, or "(anonymous)"). */
  func: string;
  /** "file:line" that started it, when known. */
  startedAt: string | null;
  /** 'task': a go() task of some JS thread; 'goroutine': a native goroutine. */
  kind: 'task' | 'goroutine';
  /** Waits on something nothing else can reach (leaks() only). */
  unreachable: boolean;
}
export interface LeakOptions {
  /** Also report goroutines blocked at least this many ms. */
  blockedLongerThan?: number;
}
/** Leaked goroutines: native ones blocked on channels nothing else can reach, go() tasks
 * whose wait the garbage collector has collected (nothing can settle it), and (with
 * blockedLongerThan) any blocked at least that long. */
export declare function leaks(options?: LeakOptions): GoroutineInfo[];
/** leaks() as a text report, each with its function and where it was started. */
export declare function leakReport(options?: LeakOptions): string;
/** Every goroutine now. */
export declare function goroutines(): GoroutineInfo[];
export interface Counters {
  goroutines: number; workers: number; activeWorkers: number; handoffs: number;
  switches: number; parks: number; steals: number; stackReservedBytes: number; timers: number;
  /** go() tasks of this thread not yet finished. */
  jsTasks: number;
}
export declare function counters(): Counters;
/** Tracing: go() tasks are registered (function, start site) and their waits tracked. Off by
 * default (it costs a few µs per go()); enable/disable calls nest. GORO_TRACE=1 turns it on. */
export declare function enableTracing(): void;
export declare function disableTracing(): void;
export declare function tracing(): boolean;
export declare const testing: typeof import('./testing');
