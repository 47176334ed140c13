/*
 * goro.h: goroutines, channels and select for C, from the goro runtime (libgoro).
 * Generated from ffi/src by cbindgen: edit the Rust doc comments, not this file.
 *
 * Conventions (every function follows them; each function says only what differs):
 *
 * - Status codes: functions returning int return GORO_OK (0) or a negative GORO_E* code;
 *   goro_strerror() names each. Output arguments are written only as each function says.
 * - Durations are int64_t nanoseconds. A timeout < 0 waits forever; 0 does not wait (the call
 *   then acts as its try_ form and returns GORO_EAGAIN); > 0 gives GORO_ETIMEDOUT when it runs
 *   out, with nothing sent or received.
 * - Blocking calls work everywhere: in a goroutine they park it (its OS thread runs other
 *   goroutines meanwhile); on a plain thread (main, a pthread) they block that thread.
 * - Handles are checked: a NULL handle gives GORO_EINVAL (or NULL, or 0), never a crash.
 *   Channels are reference counted (goro_chan_retain / goro_chan_release); an operation in
 *   progress holds its own reference, so releasing a handle while another goroutine is blocked
 *   on it is safe. Using a handle after its last release is a use-after-free, which cannot be
 *   detected. Buffers passed for values must hold elem_size bytes: that cannot be checked.
 * - Who owns a reference (for leak reports, goro_leaks): a channel reference belongs to a
 *   goroutine when it was handed to that goroutine at its start (goro_go_owning) or taken by
 *   it for itself (goro_chan_retain_own); a goroutine's goro_chan_release drops one of its
 *   own first. Every other reference (goro_chan_new, goro_chan_retain, goro_after, held by a
 *   thread, a struct, another goroutine) belongs to nobody in particular and keeps the
 *   channel reachable. A goroutine is reported leaked when every channel it is blocked on
 *   (a receive, send or select with no deadline) is reachable only through references owned
 *   by goroutines that are themselves leaked, as Go's goroutine leak profile reports it. The
 *   rule that keeps the report free of false positives: an owned reference is used and
 *   released by its owner only; to let another goroutine or thread use the channel, retain
 *   a reference for it (goro_chan_retain), never lend it your own. Programs that never call
 *   the owning functions get a report as before: goroutines on channels that no handle at
 *   all reaches any more.
 * - Threads: a goroutine may resume on another OS thread after any call that can block or
 *   yield (unless started with GORO_PINNED). Do not keep, across such a call, anything tied to
 *   the OS thread: addresses of thread-local variables (including errno: read it right after
 *   the call that set it), thread ids, or locks that must be released by the thread that took
 *   them (pthread mutexes). A goroutine about to block its thread in a foreign call may say so
 *   with goro_blocking_begin()/goro_blocking_end(); without it, the runtime notices after ~1 ms.
 * - The runtime starts on first use and lives until the process exits. GOMAXPROCS (the
 *   environment variable, as in Go) sets the number of threads running goroutines; the default
 *   is the CPUs this process may use (affinity mask, cgroup CPU quota). GORO_STACK_SIZE sets
 *   the default goroutine stack (bytes, or with a K/M/G suffix; default 256K).
 */

#ifndef GORO_H
#define GORO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


/* ==== Status codes and flags ============================================================== */

/*
 Success.
 */
#define GORO_OK 0

/*
 The channel is closed (send on a closed channel, receive from a closed and drained one,
 closing twice), or the pool is closed.
 */
#define GORO_ECLOSED -1

/*
 The timeout ran out.
 */
#define GORO_ETIMEDOUT -2

/*
 The operation would block and was asked not to (try_ forms, timeout 0).
 */
#define GORO_EAGAIN -3

/*
 A bad argument: a NULL handle or function, a bad size, a counter below zero, unlocking an
 unlocked mutex, a call that needs a goroutine made outside one.
 */
#define GORO_EINVAL -4

/*
 Out of memory, address space or memory maps.
 */
#define GORO_ENOMEM -5

/*
 The host is shutting down (for example during Python interpreter finalization).
 */
#define GORO_ESHUTDOWN -6

/*
 The wait was interrupted (used by the language layers; C calls are not interrupted).
 */
#define GORO_EINTR -7

/*
 An internal error: a bug in goro, reported on stderr.
 */
#define GORO_EINTERNAL -8

/*
 The context the call was given was cancelled before the call could complete; nothing was
 sent or received (see goro_ctx_with_cancel).
 */
#define GORO_ECANCELED -9

/*
 The context the call was given passed its deadline before the call could complete; nothing
 was sent or received (see goro_ctx_with_timeout). Distinct from GORO_ETIMEDOUT, the call's
 own timeout.
 */
#define GORO_EDEADLINE -10

/*
 goro_go_ex flag: never move this goroutine to another OS thread (thread-local state, thread
 ids and thread-bound locks then stay valid across goro calls).
 */
#define GORO_PINNED 1

/*
 goro_case.op: send `elem`.
 */
#define GORO_SEND 1

/*
 goro_case.op: receive into `elem` (NULL drops the value).
 */
#define GORO_RECV 2

/*
 goro_case.op: wait until an fd is readable (as goro_fd_wait with GORO_FD_READ). `chan` is
 NULL and `elem` points at an `int` holding the fd; `ok` is true when it is ready, false when
 goro_fd_close ran on it. The usual shape: read with a cancel channel and a timeout.
 */
#define GORO_FD_READABLE 3

/*
 goro_case.op: wait until an fd is writable; as GORO_FD_READABLE.
 */
#define GORO_FD_WRITABLE 4

/*
 goro_fd_wait events: readable (also at end of file, hang-up or error).
 */
#define GORO_FD_READ 1

/*
 goro_fd_wait events: writable (also at hang-up or error).
 */
#define GORO_FD_WRITE 2

/*
 Base of the statuses that carry an OS error: an I/O call that fails with errno `e` returns
 GORO_ESYS - e (ECONNREFUSED, 111, gives -1111). goro_os_errno() gives `e` back.
 */
#define GORO_ESYS -1000

/* ==== Handles and types =================================================================== */

/*
 A channel of fixed-size values (Go's chan), reference counted. Opaque.
 */
typedef struct goro_chan goro_chan;

/*
 A cancellation scope with an optional deadline (Go's context.Context), reference counted.
 Opaque.
 */
typedef struct goro_ctx goro_ctx;

/*
 An error group (golang.org/x/sync/errgroup): goroutines started in it share a context
 that the first failing one cancels; goro_group_wait returns the first failure. Opaque.
 */
typedef struct goro_group goro_group;

/*
 Go's sync.Mutex, for goroutines and threads: lock parks a goroutine. Opaque.
 */
typedef struct goro_mutex goro_mutex;

/*
 A fixed set of worker goroutines draining a bounded queue of jobs. Opaque.
 */
typedef struct goro_pool goro_pool;

/*
 Delivers the time (int64_t, CLOCK_MONOTONIC ns) every `period_ns` on a channel of capacity
 1, dropping ticks nobody took (as Go's). NULL when period_ns <= 0.
 */
typedef struct goro_ticker goro_ticker;

/*
 Go's sync.WaitGroup. Opaque.
 */
typedef struct goro_waitgroup goro_waitgroup;

/*
 A goroutine body, deferred cleanup or pool job: called with the `arg` given alongside it.
 */
typedef void (*goro_fn)(void *arg);

/*
 Options for goro_go_ex; a zeroed struct means the defaults.
 */
typedef struct {
  /*
   Usable stack bytes: 0 for the default (GORO_STACK_SIZE, else 256 KiB); otherwise
   between 16 KiB and 1 GiB (rounded up to a page), else GORO_EINVAL. Memory is reserved,
   and committed only as the stack is touched.
   */
  size_t stack_size;
  /*
   A name shown in goroutine dumps and stack overflow reports; copied; may be NULL.
   */
  const char *name;
  /*
   GORO_PINNED, or 0.
   */
  unsigned int flags;
} goro_go_opts;

/*
 One case of goro_select.
 */
typedef struct {
  /*
   The channel; NULL is never ready (as a nil channel in Go).
   */
  goro_chan *chan;
  /*
   GORO_SEND, GORO_RECV, GORO_FD_READABLE or GORO_FD_WRITABLE.
   */
  int op;
  /*
   The value to send, or where to receive (elem_size bytes of the channel).
   */
  void *elem;
  /*
   Set on the chosen case only: true for a value received or sent, false when it completed
   because its channel is closed.
   */
  bool ok;
} goro_case;

/*
 A member of an error group: `fn(ctx, arg)` returns GORO_OK (0) or an error status of its
 choosing (any nonzero int); `ctx` is the group's context, borrowed for the call.
 */
typedef int (*goro_group_fn)(goro_ctx *ctx, void *arg);

/*
 Runtime counters (goro_read_counters).
 */
typedef struct {
  /*
   Goroutines alive.
   */
  int64_t goroutines;
  /*
   Worker threads created so far.
   */
  uint64_t workers;
  /*
   Workers holding a GOMAXPROCS token now.
   */
  uint64_t active_workers;
  /*
   Spare threads lent by the monitor when a worker was stuck in a foreign call.
   */
  uint64_t handoffs;
  /*
   Goroutine switches (resumes by a worker).
   */
  uint64_t switches;
  /*
   Times a goroutine parked.
   */
  uint64_t parks;
  /*
   Address space reserved for goroutine stacks, in bytes (committed only as touched).
   */
  uint64_t stack_reserved_bytes;
  /*
   Pending timers.
   */
  uint64_t timers;
} goro_counters;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/*
 A static, NUL-terminated description of a status code ("channel closed", ...); never NULL.
 */
const char *goro_strerror(int code);

/* ==== Runtime and goroutines ============================================================== */

/*
 Sets GOMAXPROCS when n > 0 (capped at 1024); n < 1 only reads. Returns the value before the
 call. Lowering it takes effect as running goroutines reach their next goro call.
 */
int goro_maxprocs(int n);

/*
 The CPUs this process may use: the affinity mask, capped by a cgroup v1 or v2 CPU quota
 (rounded up, at least 1). The default GOMAXPROCS.
 */
int goro_num_cpu(void);

/*
 Goroutines alive now.
 */
int64_t goro_num_goroutine(void);

/*
 Starts `fn(arg)` as a goroutine. GORO_EINVAL if fn is NULL; GORO_ENOMEM if no stack could be
 had. Safe to call from any thread.

 # Safety
 `fn(arg)` may be called on any thread (as with pthread_create); `arg` is passed through.
 */
int goro_go(goro_fn func, void *arg);

/*
 goro_go, recording where it was called (`file` a string literal, as `__FILE__`) for dumps,
 profiles and leak reports. The goro_go macro calls it.

 # Safety
 As goro_go; `file` is NULL or a NUL-terminated string that lives for the whole program.
 */
int goro_go_at(goro_fn func, void *arg, const char *file, int line);

/*
 goro_go_ex, recording where it was called; the goro_go_ex macro calls it.

 # Safety
 As goro_go_ex; `file` is NULL or a string that lives as long as the process (a literal).
 */
int goro_go_ex_at(goro_fn func, void *arg, const goro_go_opts *opts, const char *file, int line);

/*
 goro_go with options (opts may be NULL: the defaults). GORO_EINVAL for a NULL fn, a stack
 size out of range, or unknown flags.

 # Safety
 `opts` is NULL or points at a goro_go_opts whose `name` is NULL or a C string.
 */
int goro_go_ex(goro_fn func, void *arg, const goro_go_opts *opts);

/*
 Runs `fn(arg)` as a goroutine and blocks the calling thread (or parks the calling goroutine)
 until it has returned or called goro_exit. May be called any number of times, from any
 threads at once. GORO_EINVAL if fn is NULL.
 */
int goro_run(goro_fn func, void *arg);

/*
 The running goroutine's id (unique, from 1), or 0 on a plain OS thread.
 */
uint64_t goro_id(void);

/*
 Lets other goroutines run, then continues (Go's runtime.Gosched). On a plain thread it
 yields the OS thread.
 */
void goro_yield(void);

/*
 Sleeps at least `ns` nanoseconds (returns at once when ns <= 0): parks a goroutine, blocks
 a plain thread. Returns GORO_OK.
 */
int goro_sleep(int64_t ns);

/*
 Registers `fn(arg)` to run when the calling goroutine ends (by returning or goro_exit),
 last registered first. GORO_EINVAL outside a goroutine or for a NULL fn.
 */
int goro_defer(goro_fn func, void *arg);

/*
 Runs the calling goroutine's deferred cleanups and ends it; never returns in a goroutine.
 The frames above it are abandoned as by longjmp (no C cleanup of theirs runs). On a plain
 thread it does nothing and returns.
 */
void goro_exit(void);

/*
 Announces that the calling goroutine is about to block its OS thread for long (a blocking
 read, a foreign library call): the runtime hands its other goroutines to another thread at
 once. Pair with goro_blocking_end. No-op on a plain thread.
 */
void goro_blocking_begin(void);

/*
 Ends a goro_blocking_begin section.
 */
void goro_blocking_end(void);

/* ==== Channels ============================================================================ */

/*
 A new channel of `cap` values of `elem_size` bytes each (cap 0: unbuffered; elem_size 0 is
 allowed, for signals). Returns a reference the caller releases with goro_chan_release; NULL
 when elem_size * cap overflows or the buffer cannot be allocated.
 */
goro_chan *goro_chan_new(size_t elem_size, size_t cap);

/*
 Takes another reference to `c`; returns `c`. NULL is fine (returns NULL). The reference
 belongs to nobody in particular (see "Who owns a reference" above): retaining for a
 goroutine about to be started with goro_go is the usual use.

 # Safety
 `c` is NULL or a live handle.
 */
goro_chan *goro_chan_retain(goro_chan *c);

/*
 goro_chan_retain for the calling goroutine alone: the new reference is its own (leak
 reports then know that it keeps nothing alive while this goroutine is blocked). The
 goroutine releases it itself and never hands it on. On a plain thread, as
 goro_chan_retain. Returns `c`; NULL is fine.

 # Safety
 `c` is NULL or a live handle.
 */
goro_chan *goro_chan_retain_own(goro_chan *c);

/*
 Drops a reference; the last one frees the channel (values still buffered are discarded).
 NULL is fine. Must not be called more times than references were taken. Called by a
 goroutine that owns references to `c` (goro_go_owning, goro_chan_retain_own), it drops
 one of those.

 # Safety
 `c` is NULL or a live handle whose reference the caller gives up.
 */
void goro_chan_release(goro_chan *c);

/*
 Starts `fn(arg)` as a goroutine, as goro_go does, and hands it one reference to each of
 `chans[0..n]`: references the caller took (goro_chan_new, goro_chan_retain, or its own) and
 gives up. They belong to the new goroutine (see "Who owns a reference" above), which releases each
 with goro_chan_release when it is done and never hands them on. `chans` may be NULL when
 n is 0. GORO_EINVAL for a NULL fn or a NULL in `chans`, GORO_ENOMEM if no stack could be
 had; on an error the references stay the caller's.

 # Safety
 As goro_go; `chans` points at `n` live handles, each a reference the caller gives up.
 */
int goro_go_owning(goro_fn func, void *arg, goro_chan *const *chans, size_t n);

/*
 goro_go_owning, recording where it was called (as goro_go_at); the goro_go_owning macro
 calls it.

 # Safety
 As goro_go_owning; `file` is NULL or a string that lives as long as the process.
 */
int goro_go_owning_at(goro_fn func,
                      void *arg,
                      goro_chan *const *chans,
                      size_t n,
                      const char *file,
                      int line);

/*
 Sends the elem_size bytes at `elem`, waiting while the channel is full (or, unbuffered,
 until a receiver takes it). `elem` may be NULL only when elem_size is 0.
 Errors: GORO_ECLOSED (closed before or while waiting: nothing was sent), GORO_EINVAL.

 # Safety
 `c` is NULL or a live handle; `elem` points at elem_size readable bytes.
 */
int goro_chan_send(goro_chan *c, const void *elem);

/*
 Receives into `out` (elem_size bytes; NULL drops the value), waiting while the channel is
 empty. GORO_OK with *ok = true for a value; GORO_ECLOSED with *ok = false and `out`
 zero-filled once the channel is closed and drained. `ok` may be NULL.
 Errors: GORO_ECLOSED, GORO_EINVAL.

 # Safety
 `c` is NULL or a live handle; `out` is NULL or writable for elem_size bytes; `ok` is NULL
 or writable.
 */
int goro_chan_recv(goro_chan *c, void *out, bool *ok);

/*
 goro_chan_send without waiting. Errors: GORO_EAGAIN (it would block), GORO_ECLOSED,
 GORO_EINVAL.

 # Safety
 As goro_chan_send.
 */
int goro_chan_try_send(goro_chan *c, const void *elem);

/*
 goro_chan_recv without waiting. Errors: GORO_EAGAIN (nothing buffered, no sender waiting;
 `out` and `ok` untouched), GORO_ECLOSED, GORO_EINVAL.

 # Safety
 As goro_chan_recv.
 */
int goro_chan_try_recv(goro_chan *c, void *out, bool *ok);

/*
 goro_chan_send waiting at most `ns` (see the timeout convention at the top).
 Errors: GORO_ETIMEDOUT, GORO_EAGAIN (ns == 0), GORO_ECLOSED, GORO_EINVAL.

 # Safety
 As goro_chan_send.
 */
int goro_chan_send_timeout(goro_chan *c, const void *elem, int64_t ns);

/*
 goro_chan_recv waiting at most `ns` (see the timeout convention at the top).
 Errors: GORO_ETIMEDOUT, GORO_EAGAIN (ns == 0), GORO_ECLOSED, GORO_EINVAL.

 # Safety
 As goro_chan_recv.
 */
int goro_chan_recv_timeout(goro_chan *c, void *out, bool *ok, int64_t ns);

/*
 Closes the channel: waiting receivers get (zero value, ok = false), waiting senders
 GORO_ECLOSED; buffered values can still be received. Errors: GORO_ECLOSED (already closed),
 GORO_EINVAL.

 # Safety
 `c` is NULL or a live handle.
 */
int goro_chan_close(goro_chan *c);

/*
 Values buffered now; 0 for NULL.

 # Safety
 `c` is NULL or a live handle.
 */
size_t goro_chan_len(const goro_chan *c);

/*
 Capacity; 0 for NULL.

 # Safety
 `c` is NULL or a live handle.
 */
size_t goro_chan_cap(const goro_chan *c);

/* ==== Select ============================================================================== */

/*
 Waits until one of `n` cases can complete, completes it, and returns its index. If several
 are ready, one is chosen uniformly at random; cases not chosen are left untouched. A send
 case on a closed channel completes with ok = false (it does not fail). `cases` may be NULL
 when n is 0; zero cases (or only NULL channels) with a negative timeout block forever, as
 Go's `select {}`. Cases may also wait for an fd (GORO_FD_READABLE, GORO_FD_WRITABLE): "this
 socket has data, or this channel a value, or the timeout" is one call.
 Errors: GORO_EAGAIN (timeout 0, nothing ready: Go's default), GORO_ETIMEDOUT, GORO_EINVAL
 (NULL cases with n > 0, a bad op, a NULL elem for a send on a channel with elem_size > 0, an
 fd case with a channel, a NULL elem or a bad fd).

 # Safety
 `cases` points at `n` goro_case; each non-NULL chan is a live handle and each elem is valid
 for its channel's elem_size bytes.
 */
int goro_select(goro_case *cases, size_t n, int64_t timeout_ns);

/* ==== Timers ============================================================================== */

/*
 A channel that receives one int64_t (CLOCK_MONOTONIC ns at the moment it fires) no earlier
 than `ns` from now (at once when ns <= 0). Capacity 1. Returns a reference the caller
 releases; a timer nobody receives from leaks nothing once released and fired.
 */
goro_chan *goro_after(int64_t ns);

/*
 A new ticker; NULL when period_ns <= 0. Stop it with goro_ticker_stop.
 */
goro_ticker *goro_ticker_new(int64_t period_ns);

/*
 The ticker's channel, borrowed: valid until goro_ticker_stop, unless retained with
 goro_chan_retain. NULL for NULL.

 # Safety
 `t` is NULL or a live ticker.
 */
goro_chan *goro_ticker_chan(goro_ticker *t);

/*
 Stops the ticks and frees the ticker, dropping its reference to the channel: a caller that
 retained the channel keeps it, open. NULL is fine.

 # Safety
 `t` is NULL or a live ticker, not used afterwards.
 */
void goro_ticker_stop(goro_ticker *t);

/* ==== Sync: WaitGroup and Mutex =========================================================== */

/*
 A new WaitGroup at zero; free it with goro_wg_free. NULL if out of memory.
 */
goro_waitgroup *goro_wg_new(void);

/*
 Adds `delta` (may be negative) to the counter; at zero, every waiter is released.
 Errors: GORO_EINVAL (NULL, or the counter would go below zero: it is left as it was).

 # Safety
 `wg` is NULL or a live WaitGroup.
 */
int goro_wg_add(goro_waitgroup *wg, int64_t delta);

/*
 goro_wg_add(wg, -1).

 # Safety
 `wg` is NULL or a live WaitGroup.
 */
int goro_wg_done(goro_waitgroup *wg);

/*
 Waits until the counter is zero. Errors: GORO_EINVAL (NULL).

 # Safety
 `wg` is NULL or a live WaitGroup.
 */
int goro_wg_wait(goro_waitgroup *wg);

/*
 Frees the WaitGroup; safe as soon as goro_wg_wait has returned. NULL is fine.

 # Safety
 `wg` is NULL or a live WaitGroup, not used afterwards.
 */
void goro_wg_free(goro_waitgroup *wg);

/*
 A new unlocked mutex; free it with goro_mutex_free. NULL if out of memory.
 */
goro_mutex *goro_mutex_new(void);

/*
 Locks, waiting as long as it takes; waiters are served first come, first served.
 Errors: GORO_EINVAL (NULL).

 # Safety
 `m` is NULL or a live mutex.
 */
int goro_mutex_lock(goro_mutex *m);

/*
 Locks if free. Errors: GORO_EAGAIN (held), GORO_EINVAL (NULL).

 # Safety
 `m` is NULL or a live mutex.
 */
int goro_mutex_try_lock(goro_mutex *m);

/*
 Unlocks; any goroutine or thread may unlock (as in Go). Errors: GORO_EINVAL (NULL, or not
 locked).

 # Safety
 `m` is NULL or a live mutex.
 */
int goro_mutex_unlock(goro_mutex *m);

/*
 Frees the mutex; safe as soon as the last goro_mutex_unlock has returned. NULL is fine.

 # Safety
 `m` is NULL or a live mutex, not used afterwards.
 */
void goro_mutex_free(goro_mutex *m);

/* ==== Worker pool ========================================================================= */

/*
 A pool of `workers` goroutines (0: GOMAXPROCS) whose queue holds `queue_cap` jobs (0: a
 submit waits until a worker takes the job). NULL if out of memory.
 */
goro_pool *goro_pool_new(size_t workers, size_t queue_cap);

/*
 Queues `fn(arg)`, waiting while the queue is full (back-pressure).
 Errors: GORO_EINVAL (NULL pool or fn), GORO_ECLOSED (the pool is being freed).

 # Safety
 `p` is NULL or a live pool.
 */
int goro_pool_submit(goro_pool *p, goro_fn func, void *arg);

/*
 Waits until every job submitted so far has finished. May be called any number of times.
 Errors: GORO_EINVAL (NULL).

 # Safety
 `p` is NULL or a live pool.
 */
int goro_pool_wait(goro_pool *p);

/*
 Waits for every submitted job, stops the workers and frees the pool. NULL is fine.

 # Safety
 `p` is NULL or a live pool, not used afterwards (no submit may be running meanwhile).
 */
void goro_pool_free(goro_pool *p);

/* ==== Contexts and error groups =========================================================== */

/*
 A reference to the root context, which never ends; release it like any other.
 */
goro_ctx *goro_ctx_background(void);

/*
 A child of `parent` that ends when goro_ctx_cancel is called on it or on an ancestor, or
 when its parent ends. The caller releases it (releasing does not cancel it: cancel first
 when it is no longer needed, as Go code defers cancel()). NULL for a NULL parent.

 # Safety
 `parent` is NULL or a live context.
 */
goro_ctx *goro_ctx_with_cancel(goro_ctx *parent);

/*
 A child of `parent` that also ends `ns` from now (GORO_EDEADLINE). NULL for a NULL parent.

 # Safety
 `parent` is NULL or a live context.
 */
goro_ctx *goro_ctx_with_timeout(goro_ctx *parent, int64_t ns);

/*
 A child of `parent` that also ends at `deadline_ns` (CLOCK_MONOTONIC). NULL for a NULL
 parent.

 # Safety
 `parent` is NULL or a live context.
 */
goro_ctx *goro_ctx_with_deadline(goro_ctx *parent, int64_t deadline_ns);

/*
 Ends `c` and every context made from it as cancelled; waits on them return GORO_ECANCELED.
 Cancelling again, or an ended context, does nothing. Errors: GORO_EINVAL (NULL).

 # Safety
 `c` is NULL or a live context.
 */
int goro_ctx_cancel(goro_ctx *c);

/*
 GORO_OK while `c` has not ended; GORO_ECANCELED or GORO_EDEADLINE once it has (Go's
 ctx.Err()). GORO_EINVAL for NULL.

 # Safety
 `c` is NULL or a live context.
 */
int goro_ctx_err(goro_ctx *c);

/*
 Go's ctx.Done(): a channel of no values (elem_size 0) that is closed when `c` ends, for
 goro_select beside other cases. Borrowed: valid while `c` is (retain it to keep it longer).
 NULL for NULL.

 # Safety
 `c` is NULL or a live context.
 */
goro_chan *goro_ctx_done(goro_ctx *c);

/*
 Takes another reference to `c`; returns `c`. NULL is fine.

 # Safety
 `c` is NULL or a live context.
 */
goro_ctx *goro_ctx_retain(goro_ctx *c);

/*
 Drops a reference; NULL is fine. Releasing does not cancel.

 # Safety
 `c` is NULL or a live context whose reference the caller gives up.
 */
void goro_ctx_release(goro_ctx *c);

/*
 goro_chan_send, unless `ctx` ends first: then GORO_ECANCELED or GORO_EDEADLINE, and
 nothing was sent. A context that has already ended fails at once. Errors: GORO_ECLOSED,
 GORO_EINVAL (NULL channel or context, NULL elem with elem_size > 0).

 # Safety
 As goro_chan_send; `ctx` is NULL or a live context.
 */
int goro_chan_send_ctx(goro_chan *c, const void *elem, goro_ctx *ctx);

/*
 goro_chan_recv, unless `ctx` ends first: then GORO_ECANCELED or GORO_EDEADLINE, nothing
 was received and `out` and `ok` are untouched.

 # Safety
 As goro_chan_recv; `ctx` is NULL or a live context.
 */
int goro_chan_recv_ctx(goro_chan *c, void *out, bool *ok, goro_ctx *ctx);

/*
 goro_select, unless `ctx` ends first: then GORO_ECANCELED or GORO_EDEADLINE and no case
 completed.

 # Safety
 As goro_select; `ctx` is NULL or a live context.
 */
int goro_select_ctx(goro_case *cases, size_t n, int64_t timeout_ns, goro_ctx *ctx);

/*
 goro_sleep, unless `ctx` ends first (GORO_ECANCELED or GORO_EDEADLINE).

 # Safety
 `ctx` is NULL or a live context.
 */
int goro_sleep_ctx(int64_t ns, goro_ctx *ctx);

/*
 goro_wg_wait, unless `ctx` ends first (GORO_ECANCELED or GORO_EDEADLINE).

 # Safety
 `wg` is NULL or a live WaitGroup; `ctx` is NULL or a live context.
 */
int goro_wg_wait_ctx(goro_waitgroup *wg, goro_ctx *ctx);

/*
 goro_mutex_lock, unless `ctx` ends first: then GORO_ECANCELED or GORO_EDEADLINE and the
 mutex was not taken.

 # Safety
 `m` is NULL or a live mutex; `ctx` is NULL or a live context.
 */
int goro_mutex_lock_ctx(goro_mutex *m, goro_ctx *ctx);

/*
 A group whose context is a child of `parent`, running at most `limit` members at once (0:
 no limit). NULL for a NULL parent or no memory.

 # Safety
 `parent` is NULL or a live context.
 */
goro_group *goro_group_new(goro_ctx *parent, size_t limit);

/*
 Starts `fn(ctx, arg)` as a goroutine in the group, first waiting while `limit` members run.
 A nonzero return cancels the group's context. Errors: GORO_EINVAL (NULL group or fn),
 GORO_ENOMEM.

 # Safety
 `g` is NULL or a live group; `fn` may run on any thread with `arg`.
 */
int goro_group_go(goro_group *g, goro_group_fn func, void *arg);

/*
 The group's context (borrowed: valid while the group is), to pass to calls that take one.
 NULL for NULL.

 # Safety
 `g` is NULL or a live group.
 */
goro_ctx *goro_group_ctx(goro_group *g);

/*
 Waits until every member has returned, cancels the group's context, and returns the first
 nonzero status a member returned (GORO_OK if none). May be called again. GORO_EINVAL for
 NULL.

 # Safety
 `g` is NULL or a live group.
 */
int goro_group_wait(goro_group *g);

/*
 Waits for every member (as goro_group_wait), then frees the group. NULL is fine.

 # Safety
 `g` is NULL or a live group, not used afterwards.
 */
void goro_group_free(goro_group *g);

/*
 Writes every goroutine to `fd` as Go prints them on SIGQUIT: id, name, state, what it
 waits on and for how long, its function, where it waits (when GORO_TRACEBACK=1 is set, or
 goro_set_traceback(1) was called) and where it was started. GORO_EINVAL for a bad fd.
 Also on a signal: set GORO_DUMP_SIGNAL=SIGUSR1 (or SIGQUIT, ...) before the runtime starts.
 */
int goro_dump(int fd);

/*
 goro_dump into a buffer: writes at most `cap` bytes of the dump, NUL-terminated when
 `cap` > 0, and returns the dump's full length (as snprintf: call again with a bigger
 buffer when the result is >= cap). `buf` may be NULL when `cap` is 0.

 # Safety
 `buf` points at `cap` writable bytes (or cap is 0).
 */
size_t goro_dump_to(char *buf, size_t cap);

/*
 Writes a profile to `fd` in pprof's format (gzipped protobuf; `go tool pprof` reads it):
 "goroutine" (goroutines by stack), "goroutineleak" (the leaked goroutines of goro_leaks, by
 stack, as Go 1.26's goroutineleak profile), "block" (contentions and delay at channel, select,
 WaitGroup, Mutex and pool waits, since goro_set_block_profile_rate), "mutex" (contended
 goro_mutex waits, since goro_set_mutex_profile_fraction), "cpu" (the last CPU profile
 stopped). GORO_EINVAL for an unknown kind or a bad fd; GORO_EAGAIN for "cpu" before any
 CPU profile was stopped.

 # Safety
 `kind` is NULL or a C string.
 */
int goro_profile_write(const char *kind, int fd);

/*
 As Go's runtime.SetBlockProfileRate: sample about one blocking event per `ns` nanoseconds
 spent blocked (1: every event); 0 or less turns the block profile off. Off, a wait costs
 one load more.
 */
void goro_set_block_profile_rate(int64_t ns);

/*
 As Go's runtime.SetMutexProfileFraction: sample one in `n` contended goro_mutex waits;
 0 turns it off; n < 0 only reads. Returns the fraction before the call.
 */
int goro_set_mutex_profile_fraction(int n);

/* ==== Seeing inside: dumps, profiles, leak reports, counters ============================== */

/*
 Records where each goroutine waits, for goro_dump (costs a stack walk at each wait);
 GORO_TRACEBACK=1 turns it on from the start.
 */
void goro_set_traceback(bool on);

/*
 Starts the CPU profile: `hz` times a second (1-1000; 100 is usual), the CPU time each
 worker thread used is charged to the goroutine it runs. No signals are used, so the
 host's own SIGPROF handlers are untouched. GORO_EINVAL for a bad rate, GORO_EAGAIN when a
 CPU profile is already running.
 */
int goro_cpu_profile_start(int hz);

/*
 Stops the CPU profile; goro_profile_write("cpu", fd) then writes it. GORO_EINVAL when none
 is running.
 */
int goro_cpu_profile_stop(void);

/*
 Serves Go's /debug/pprof/ paths over HTTP on `addr` (for example "127.0.0.1:6060"; port 0
 picks a free one): goroutine (?debug=1 and 2 give text), block, mutex,
 profile?seconds=N, goroutineleak (?debug=1: the leak report as text), and
 /debug/goro/leaks. Meant for loopback: anyone who can connect can
 read the dumps. Returns the port bound (> 0), or GORO_EINVAL for an address that cannot be
 parsed or bound. A second call returns the first server's port.

 # Safety
 `addr` is NULL or a C string.
 */
int goro_debug_serve(const char *addr);

/*
 Reports leaked goroutines to `fd` (fd < 0: count only) and returns how many: goroutines
 blocked, with no deadline, on channels that only leaked goroutines can reach (see "Who
 owns a reference" at the top), each with its function and where it was started, as
 goro_dump shows them. The goroutineleak profile (goro_profile_write) lists the same
 goroutines. GORO_EINVAL for a write error.

 Never a false positive for programs that follow the ownership rule: whatever the runtime
 cannot see (a handle in a struct, a goroutine waiting on a WaitGroup, Mutex, context, fd
 or deadline) counts as reachable, so such waits are not reported; goro_leaks_ex also
 reports goroutines blocked longer than a threshold, which catches those.
 */
int goro_leaks(int fd);

/*
 goro_leaks, also counting goroutines blocked for at least `blocked_ns` nanoseconds (0:
 only unreachable ones).
 */
int goro_leaks_ex(int fd, int64_t blocked_ns);

/*
 Reads the runtime counters into `*out`. GORO_EINVAL if out is NULL.

 # Safety
 `out` is NULL or points at a goro_counters.
 */
int goro_read_counters(goro_counters *out);

/* ==== I/O that parks the goroutine, not the thread ======================================== */

/*
 ---- I/O that parks the goroutine, not the thread ----------------------------------------

 goro_fd_wait / goro_fd_close, and read, write, accept, connect, dial and listen built on
 them. In a goroutine these park it while the fd is not ready (its OS thread runs other
 goroutines; one netpoller, epoll, watches every fd); on a plain thread they block that
 thread. They return a count, an fd or GORO_OK, else a negative status: the goro statuses,
 or GORO_ESYS - errno for an OS error (goro_os_errno() reads it back). errno itself is never
 the way an error is reported (a goroutine may resume on another thread). goro_read and
 goro_write return ptrdiff_t, ssize_t's width, so a byte count and a status share one value.

 Waits until `fd` is ready for any of `events` (GORO_FD_READ | GORO_FD_WRITE): a pipe,
 socket, eventfd, tty: any fd epoll accepts; files epoll refuses (regular files) are ready at
 once, as Go treats them. Several goroutines and threads may wait on one fd: all are woken
 when it is ready. In a goroutine it parks (its thread runs others); on a plain thread it
 blocks that thread. "Ready" means a read (write) will not block now; another reader may
 still take the data first, so read with goro_read or a non-blocking read and wait again on
 EAGAIN.

 The fd is registered with the poller on first use and stays registered until goro_fd_close.
 Close fds that goro waits on with goro_fd_close: after a plain close(2) a waiter is not
 woken (the kernel tells epoll nothing), until its timeout or until the fd number is waited
 on again (a new file under that number: the old waiters then get GORO_ECLOSED).

 Errors: GORO_EAGAIN (timeout 0 and not ready), GORO_ETIMEDOUT, GORO_ECLOSED (goro_fd_close
 ran on `fd` while it waited, or runs now), GORO_EINVAL (negative or closed fd, events not a
 non-empty subset of READ | WRITE, an fd epoll refuses other than a regular file),
 GORO_ENOMEM (the kernel gave no epoll instance).
 */
int goro_fd_wait(int fd, int events, int64_t timeout_ns);

/*
 Forgets `fd`, closes it (close(2)) and wakes every goroutine and thread waiting on it with
 GORO_ECLOSED. Use it instead of close(2) for any fd goro has waited on. The number may be
 handed out again by the OS at once; waits on the new file work as on any other.
 Errors: GORO_EINVAL (negative fd, or close(2) failed: EBADF, EIO; the fd is gone either way).
 */
int goro_fd_close(int fd);

/*
 Reads up to `n` bytes into `buf`, waiting (parking) until some are there: the byte count,
 0 at end of file, or a negative status. Sets O_NONBLOCK on `fd` at its first use.
 Errors: GORO_EAGAIN (timeout 0, nothing there), GORO_ETIMEDOUT, GORO_ECLOSED, GORO_EINVAL
 (bad fd, NULL buf with n > 0), GORO_ESYS - errno (ECONNRESET, EBADF, ...).

 # Safety
 `buf` is NULL (with n 0) or points at `n` writable bytes.
 */
ptrdiff_t goro_read(int fd, void *buf, size_t n, int64_t timeout_ns);

/*
 Writes all `n` bytes of `buf`, waiting (parking) while the fd is full. Returns `n`; fewer
 when the timeout ran out or an error came after some bytes were written (as Go's Write
 returns n with an error); a negative status when none were. Sockets are written with
 MSG_NOSIGNAL (a reset peer gives GORO_ESYS - EPIPE); a pipe whose reader is gone raises
 SIGPIPE as write(2) does (ignore SIGPIPE to get the status instead).
 Errors: as goro_read.

 # Safety
 `buf` is NULL (with n 0) or points at `n` readable bytes.
 */
ptrdiff_t goro_write(int fd, const void *buf, size_t n, int64_t timeout_ns);

/*
 Accepts a connection on listening socket `fd`, waiting for one: a new fd (non-blocking,
 close-on-exec; TCP_NODELAY for TCP) or a negative status. Errors: as goro_read.
 */
int goro_accept(int fd, int64_t timeout_ns);

/*
 Connects socket `fd` to `addr` (a struct sockaddr_in, sockaddr_in6 or sockaddr_un of
 `addrlen` bytes), waiting until connected. Errors: as goro_read (a refused connection gives
 GORO_ESYS - ECONNREFUSED; GORO_EAGAIN with timeout 0 leaves the connection in progress).

 # Safety
 `addr` points at `addrlen` readable bytes.
 */
int goro_connect(int fd, const void *addr, uint32_t addrlen, int64_t timeout_ns);

/*
 Connects to `address` on `network`: "tcp", "tcp4", "tcp6" with "host:port" ("[::1]:80"),
 or "unix" with a socket path; each address the name resolves to is tried in turn until one
 connects or the timeout runs out. Returns a connected fd (non-blocking, close-on-exec;
 TCP_NODELAY for TCP) or a negative status. The name lookup (getaddrinfo) blocks its thread:
 it runs between goro_blocking_begin and goro_blocking_end, so the caller's worker hands its
 other goroutines to another thread meanwhile. A name that does not resolve gives
 GORO_ESYS - EHOSTUNREACH. Errors: as goro_read; GORO_EINVAL for NULL or malformed strings.

 # Safety
 `network` and `address` are NULL or NUL-terminated strings.
 */
int goro_dial(const char *network, const char *address, int64_t timeout_ns);

/*
 Listens on `address` on `network`: "tcp", "tcp4", "tcp6" with "host:port" (":port" or
 "0.0.0.0:port" for every address; port 0 picks a free one: see goro_local_port), or "unix"
 with a path that must not exist yet. `backlog` <= 0 means SOMAXCONN. Returns the listening
 fd (non-blocking, close-on-exec; SO_REUSEADDR for TCP) or a negative status; accept with
 goro_accept, close with goro_fd_close. Name lookup as goro_dial. Errors: as goro_dial
 (GORO_ESYS - EADDRINUSE when taken).

 # Safety
 `network` and `address` are NULL or NUL-terminated strings.
 */
int goro_listen(const char *network, const char *address, int backlog);

/*
 The local port of a TCP socket (after goro_listen on port 0), or a negative status
 (GORO_EINVAL for a socket that is not TCP, GORO_ESYS - errno for a bad fd).
 */
int goro_local_port(int fd);

/*
 The OS error number inside a status returned by an I/O call (GORO_ESYS - errno), or 0 for
 any other status.
 */
int goro_os_errno(int64_t status);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* GORO_H */

/*
 * Call sites for dumps, profiles and leak reports: goro_go, goro_go_ex and goro_go_owning
 * record the file and line they are called from. Define GORO_NO_SITE_MACROS before including goro.h to call the
 * plain functions instead (their addresses can be taken either way).
 */
#ifndef GORO_NO_SITE_MACROS
#define goro_go(fn, arg) goro_go_at((fn), (arg), __FILE__, __LINE__)
#define goro_go_ex(fn, arg, opts) goro_go_ex_at((fn), (arg), (opts), __FILE__, __LINE__)
#define goro_go_owning(fn, arg, chans, n) goro_go_owning_at((fn), (arg), (chans), (n), __FILE__, __LINE__)
#endif
