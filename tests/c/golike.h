/* golike.h: Go-shaped helpers so the ports read like the Go they come from.
 *
 * make_chan / send_i64 / recv_i64 / go() keep a Go line one C line; each checks its status,
 * so a port only spells out a status where the status is what is being tested. Also here:
 * plain pthreads (every blocking goro call must work from them too) and running this same
 * test binary as a child process (for crashes and environment variables).
 */
#ifndef GORO_TESTS_GOLIKE_H
#define GORO_TESTS_GOLIKE_H

#include "check.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- channels of int64_t, Go's `chan int` ---------------------------------------------- */

TEST_UNUSED static goro_chan *make_chan_sized(size_t elem_size, size_t cap)
{
    goro_chan *c = goro_chan_new(elem_size, cap);
    CHECK_MSG(c != NULL, "goro_chan_new(%zu, %zu)", elem_size, cap);
    return c;
}

TEST_UNUSED static goro_chan *make_chan(size_t cap)
{
    return make_chan_sized(sizeof(int64_t), cap);
}

TEST_UNUSED static void send_i64(goro_chan *c, int64_t v)
{
    CHECK_OK(goro_chan_send(c, &v));
}

TEST_UNUSED static int64_t recv_i64(goro_chan *c)
{
    int64_t v = -1;
    bool ok = false;
    CHECK_OK(goro_chan_recv(c, &v, &ok));
    CHECK(ok);
    return v;
}

/* Go's `v, ok := <-c`: a value, or (0, false) once closed and drained. */
TEST_UNUSED static int64_t recv_i64_ok(goro_chan *c, bool *ok)
{
    int64_t v = -1;
    int st = goro_chan_recv(c, &v, ok);
    if (st == GORO_OK) {
        CHECK(*ok);
    } else {
        CHECK_EQ(st, GORO_ECLOSED);
        CHECK(!*ok);
        CHECK_EQ(v, 0); /* zero-filled */
    }
    return v;
}

/* ---- goroutines ------------------------------------------------------------------------ */

TEST_UNUSED static void go(goro_fn fn, void *arg)
{
    CHECK_OK(goro_go(fn, arg));
}

/* Runs fn as the root goroutine and waits for it, as Go's main. */
TEST_UNUSED static void run_main(goro_fn fn, void *arg)
{
    CHECK_OK(goro_run(fn, arg));
}

/* A named step of a test program: prints its name and time so a hang or failure is easy to
   place in ctest's output. */
TEST_UNUSED static void run_step(const char *name, goro_fn fn, void *arg, bool in_goroutine)
{
    printf("=== %s%s\n", name, in_goroutine ? "" : " (plain thread)");
    fflush(stdout);
    int64_t t0 = now_ns();
    if (in_goroutine)
        run_main(fn, arg);
    else
        fn(arg);
    printf("--- ok %s (%.1f ms)\n", name, (double)(now_ns() - t0) / 1e6);
    fflush(stdout);
}

#define STEP_GO(fn) run_step(#fn, fn, NULL, true)
#define STEP_THREAD(fn) run_step(#fn, fn, NULL, false)

/* ---- plain OS threads ------------------------------------------------------------------ */

struct thread_start_ {
    goro_fn fn;
    void *arg;
};

static void *thread_trampoline_(void *p)
{
    struct thread_start_ s = *(struct thread_start_ *)p;
    free(p);
    s.fn(s.arg);
    return NULL;
}

/* Starts fn(arg) on a new plain pthread (never a goroutine). */
TEST_UNUSED static pthread_t thread_go(goro_fn fn, void *arg)
{
    struct thread_start_ *s = malloc(sizeof *s);
    CHECK(s != NULL);
    s->fn = fn;
    s->arg = arg;
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, thread_trampoline_, s), 0);
    return t;
}

TEST_UNUSED static void thread_join(pthread_t t)
{
    CHECK_EQ(pthread_join(t, NULL), 0);
}

/* Where a test body runs a waiter: the same code is exercised from goroutines and from
   plain threads. Threads are joined by join_spawned_threads() (from one thread only). */
enum runner { ON_GOROUTINE, ON_THREAD };

static pthread_t spawned_threads_[4096];
static atomic_int n_spawned_threads_;

TEST_UNUSED static const char *runner_name(enum runner r)
{
    return r == ON_GOROUTINE ? "goroutine" : "thread";
}

TEST_UNUSED static void spawn_on(enum runner r, goro_fn fn, void *arg)
{
    if (r == ON_GOROUTINE) {
        go(fn, arg);
        return;
    }
    int i = atomic_fetch_add(&n_spawned_threads_, 1);
    CHECK(i < (int)(sizeof spawned_threads_ / sizeof spawned_threads_[0]));
    spawned_threads_[i] = thread_go(fn, arg);
}

TEST_UNUSED static void join_spawned_threads(void)
{
    int n = atomic_exchange(&n_spawned_threads_, 0);
    for (int i = 0; i < n; i++)
        thread_join(spawned_threads_[i]);
}

/* A fresh WaitGroup, checked. */
TEST_UNUSED static goro_waitgroup *make_wg(int64_t n)
{
    goro_waitgroup *wg = goro_wg_new();
    CHECK(wg != NULL);
    if (n)
        CHECK_OK(goro_wg_add(wg, n));
    return wg;
}

/* ---- this binary as a child process ------------------------------------------------------
   run_self() re-executes /proc/self/exe with one argument (a mode the test's main() knows),
   with env changes: "NAME=value" sets, "NAME" unsets. The environment is built before fork,
   so the child does nothing but exec (the parent may already run goro's threads). */

struct child_result {
    int status;       /* as from waitpid */
    char err[16384];  /* the child's stderr, NUL-terminated, truncated if longer */
};

static bool env_overridden_(const char *entry, char *const changes[])
{
    for (size_t i = 0; changes && changes[i]; i++) {
        size_t n = strcspn(changes[i], "=");
        if (strncmp(entry, changes[i], n) == 0 && entry[n] == '=')
            return true;
    }
    return false;
}

TEST_UNUSED static void run_self(const char *mode, char *const env_changes[],
                                 struct child_result *res)
{
    size_t n_env = 0, n_changes = 0;
    while (environ[n_env])
        n_env++;
    while (env_changes && env_changes[n_changes])
        n_changes++;
    char **envp = calloc(n_env + n_changes + 1, sizeof *envp);
    CHECK(envp != NULL);
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++)
        if (!env_overridden_(environ[i], env_changes))
            envp[k++] = environ[i];
    for (size_t i = 0; i < n_changes; i++)
        if (strchr(env_changes[i], '='))
            envp[k++] = env_changes[i];
    envp[k] = NULL;

    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(len > 0);
    self[len] = '\0';
    char *argv[] = { self, (char *)mode, NULL };

    int fds[2];
    CHECK_EQ(pipe2(fds, O_CLOEXEC), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        execve(self, argv, envp);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    for (;;) {
        char buf[4096];
        ssize_t r = read(fds[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t room = sizeof res->err - 1 - got;
        size_t take = (size_t)r < room ? (size_t)r : room;
        memcpy(res->err + got, buf, take);
        got += take;
    }
    res->err[got] = '\0';
    close(fds[0]);
    while (waitpid(pid, &res->status, 0) < 0)
        CHECK_EQ(errno, EINTR);
    free(envp);
}

TEST_UNUSED static void print_child(const char *what, const struct child_result *r)
{
    if (WIFSIGNALED(r->status))
        printf("%s: child killed by signal %d\n", what, WTERMSIG(r->status));
    else
        printf("%s: child exited with %d\n", what, WEXITSTATUS(r->status));
    printf("%s: child stderr:\n%s\n", what, r->err);
    fflush(stdout);
}

#endif /* GORO_TESTS_GOLIKE_H */
