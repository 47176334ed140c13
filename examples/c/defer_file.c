/* defer_file.c: goro_defer closes a file however the goroutine ends; goro_exit ends it early.
 *
 * The Go it mirrors:
 *
 *     go func() {
 *         defer wg.Done()
 *         f, _ := os.Create(path)
 *         defer f.Close()
 *         for _, line := range lines {
 *             if line == "STOP" { runtime.Goexit() }   // deferred calls still run
 *             fmt.Fprintln(f, line)
 *         }
 *     }()
 *
 * Deferred calls run last registered first: the file is closed (and its stdio buffer
 * flushed) before wg_done runs, so once main's wg_wait returns, the file on disk is complete.
 * Two writers run: one returns normally, one calls goro_exit() when it meets "STOP".
 */
#include "example.h"

#include <unistd.h>

struct writer {
    const char *name;
    char path[64];
    const char *const *lines;
    goro_waitgroup *wg;
    FILE *file;
    bool closed;      /* set by the deferred close */
    bool reached_end; /* set only when the loop ran to its end */
    int written;
};

static void deferred_wg_done(void *wg) { CHECK(goro_wg_done(wg)); }

static void deferred_close(void *arg) {
    struct writer *w = arg;
    printf("  %s: deferred fclose after %d line(s)\n", w->name, w->written);
    w->closed = fclose(w->file) == 0;
}

static void write_lines(void *arg) {
    struct writer *w = arg;
    CHECK(goro_defer(deferred_wg_done, w->wg)); /* registered first: runs last */

    w->file = fopen(w->path, "w");
    if (!w->file) { perror(w->path); return; } /* returning runs the deferred wg_done too */
    CHECK(goro_defer(deferred_close, w));

    for (int i = 0; w->lines[i]; i++) {
        if (strcmp(w->lines[i], "STOP") == 0) {
            printf("  %s: met STOP, goro_exit()\n", w->name);
            goro_exit(); /* runs deferred_close, then deferred_wg_done; never returns */
            fprintf(stderr, "  %s: goro_exit returned!\n", w->name);
            return;
        }
        fprintf(w->file, "%s\n", w->lines[i]);
        w->written++;
    }
    w->reached_end = true;
    printf("  %s: wrote every line, returning\n", w->name);
}

/* Reads the whole file into buf (NUL-terminated); "" if it cannot be read. */
static const char *read_file(const char *path, char *buf, size_t size) {
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        buf[fread(buf, 1, size - 1, f)] = '\0';
        fclose(f);
    }
    return buf;
}

static int make_temp(char path[64]) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, 64, "%s/goro-defer-XXXXXX", dir && strlen(dir) < 40 ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) { perror("mkstemp"); return -1; }
    close(fd);
    return 0;
}

int main(void) {
    static const char *const all_lines[] = {"alpha", "beta", "gamma", NULL};
    static const char *const stop_lines[] = {"one", "two", "STOP", "never written", NULL};

    /* goro_defer belongs to a goroutine: main is a plain OS thread, so it is refused. */
    int rc = goro_defer(deferred_wg_done, NULL);
    printf("defer_file: goro_defer on the main thread -> %s\n", goro_strerror(rc));
    EXPECT(rc == GORO_EINVAL, "goro_defer outside a goroutine returned %d", rc);

    goro_waitgroup *wg = goro_wg_new();
    if (!wg) { fprintf(stderr, "goro_wg_new failed\n"); return 1; }
    struct writer ws[2] = {
        {.name = "writer A", .lines = all_lines, .wg = wg},
        {.name = "writer B", .lines = stop_lines, .wg = wg},
    };
    for (int i = 0; i < 2; i++)
        if (make_temp(ws[i].path) != 0) return 1;

    printf("defer_file: two goroutines write files; B stops early with goro_exit\n");
    CHECK(goro_wg_add(wg, 2));
    for (int i = 0; i < 2; i++) CHECK(goro_go(write_lines, &ws[i]));
    CHECK(goro_wg_wait(wg));
    goro_wg_free(wg);

    char buf_a[256], buf_b[256];
    const char *a = read_file(ws[0].path, buf_a, sizeof buf_a);
    const char *b = read_file(ws[1].path, buf_b, sizeof buf_b);
    bool a_ok = strcmp(a, "alpha\nbeta\ngamma\n") == 0, b_ok = strcmp(b, "one\ntwo\n") == 0;
    printf("defer_file: file A holds \"alpha beta gamma\"? %s\n", a_ok ? "yes" : "no");
    printf("defer_file: file B holds \"one two\" and nothing after STOP? %s\n", b_ok ? "yes" : "no");

    EXPECT(ws[0].closed && ws[1].closed, "deferred close ran: A %d, B %d", ws[0].closed, ws[1].closed);
    EXPECT(ws[0].reached_end, "writer A did not reach the end");
    EXPECT(!ws[1].reached_end, "writer B went on after goro_exit");
    EXPECT(a_ok, "file A is \"%s\"", a);
    EXPECT(b_ok, "file B is \"%s\"", b);

    unlink(ws[0].path);
    unlink(ws[1].path);
    return example_exit_code("defer_file");
}
