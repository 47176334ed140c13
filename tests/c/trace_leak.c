/* Leak reports that find the everyday leak (issue 13), as Go 1.26's goroutineleak profile:
 * a goroutine is leaked when every channel it is blocked on can be reached only through
 * references owned by goroutines that are themselves leaked (goro.h, "Who owns a
 * reference").
 *
 * Sets up, from one goroutine (main_body):
 * - the everyday leak: `owner_blocked` is handed a retained channel with goro_go_owning, the
 *   starter releases its own handle, and it stays blocked in a receive: reported;
 * - 50 goroutines parked on a channel the starter still holds, each owning a reference too:
 *   not reported;
 * - a cycle: two goroutines, each blocked on the channel the other owns: both reported;
 * - a reference handed on: `relay` hands the one it owns to `handed_down` (goro_go_owning
 *   again) and ends; handed_down stays blocked: reported;
 * - a select on two channels only it owns: reported; a select where one channel is held by
 *   the starter: not;
 * - a chain: `chain_tail` blocked on a channel owned by `chain_head`, which is blocked on one
 *   the starter holds: neither reported (the fixed point);
 * - a parent blocked on a channel it owns alone while the child it handed one to sleeps and
 *   then sends (not reported while it waits, and it finishes); the usual retain-for-a-child
 *   with goro_go (not reported);
 * - waits that can end otherwise, on channels nobody else holds: a timeout, a context: not
 *   reported.
 * Then checks goro_leaks names exactly the five leaked ones with their functions and start
 * lines, the dump marks them "(leaked)" and shows the context wait as one, and writes goroutineleak.pb.gz into argv[1] (if
 * given) for trace_leak_pprof.sh, which reads it with `go tool pprof -top`.
 */
#include "check.h"

#include <fcntl.h>
#include <sys/stat.h>

enum { KEPT = 50, LEAKED = 5 };

static atomic_int parked_count;

static void park_note(void)
{
    atomic_fetch_add(&parked_count, 1);
}

/* The everyday leak: blocked for good on a channel only it holds. */
static void owner_blocked(void *arg)
{
    goro_chan *c = arg;
    int v;
    park_note();
    goro_chan_recv(c, &v, NULL);
    goro_chan_release(c);
}

/* Parked on a channel the starter still holds: woken by its close at the end. */
static void kept_receiver(void *arg)
{
    goro_chan *c = arg;
    int v;
    park_note();
    CHECK_EQ(goro_chan_recv(c, &v, NULL), GORO_ECLOSED);
    goro_chan_release(c);
}

struct pair {
    goro_chan *wait_on; /* owned by the other goroutine */
    goro_chan *owned;   /* this one's own reference */
};

static struct pair cycle[2];

static void cycle_member(void *arg)
{
    struct pair *p = arg;
    int v;
    park_note();
    goro_chan_recv(p->wait_on, &v, NULL);
}

/* Blocked for good on a channel whose reference it got from a goroutine that had owned it. */
static void handed_down(void *arg)
{
    goro_chan *c = arg;
    park_note();
    goro_chan_recv(c, NULL, NULL);
}

/* Hands its own reference on to a goroutine it starts, and ends. */
static void relay(void *arg)
{
    goro_chan *c = arg;
    CHECK_OK(goro_go_owning(handed_down, c, &c, 1));
}

static goro_chan *sel_a, *sel_b, *sel_kept;

static void select_unreachable(void *arg)
{
    (void)arg;
    int v;
    goro_case cases[2] = {{sel_a, GORO_RECV, &v, false}, {sel_b, GORO_RECV, &v, false}};
    park_note();
    goro_select(cases, 2, -1);
}

static void select_half_kept(void *arg)
{
    goro_chan *mine = arg;
    int v;
    goro_case cases[2] = {{mine, GORO_RECV, &v, false}, {sel_kept, GORO_RECV, &v, false}};
    park_note();
    CHECK_EQ(goro_select(cases, 2, -1), 1); /* the close of sel_kept */
    goro_chan_release(mine);
}

static goro_chan *chain_c, *chain_d;

static void chain_head(void *arg)
{
    (void)arg; /* owns chain_c, blocked on chain_d which the starter holds */
    int v;
    park_note();
    CHECK_EQ(goro_chan_recv(chain_d, &v, NULL), GORO_ECLOSED);
    CHECK_OK(goro_chan_close(chain_c));
    goro_chan_release(chain_c);
    goro_chan_release(chain_d);
}

static void chain_tail(void *arg)
{
    (void)arg; /* blocked on chain_c, which only chain_head (live) owns a reference to */
    int v;
    park_note();
    CHECK_EQ(goro_chan_recv(chain_c, &v, NULL), GORO_ECLOSED);
}

static atomic_int late_done; /* late_parent, plain_parent, ctx_owner: finished */

static void late_child(void *arg)
{
    goro_chan *c = arg;
    goro_sleep(300 * 1000 * 1000); /* main looks for leaks meanwhile */
    int v = 7;
    CHECK_OK(goro_chan_send(c, &v));
    goro_chan_release(c);
}

/* Blocked on a channel it owns alone (handed to it by the starter), while the child it handed
   one to (owned) sleeps. */
static void late_parent(void *arg)
{
    goro_chan *c = arg;
    goro_chan_retain(c);
    CHECK_OK(goro_go_owning(late_child, c, &c, 1));
    int v = 0;
    park_note();
    CHECK_OK(goro_chan_recv(c, &v, NULL));
    CHECK_EQ(v, 7);
    goro_chan_release(c);
    atomic_fetch_add(&late_done, 1);
}

/* The usual C: retain for a child started with goro_go, then wait for it. */
static void plain_parent(void *arg)
{
    (void)arg;
    goro_chan *c = goro_chan_new(sizeof(int), 0);
    CHECK_OK(goro_go(late_child, goro_chan_retain(c)));
    int v = 0;
    park_note();
    CHECK_OK(goro_chan_recv(c, &v, NULL));
    goro_chan_release(c);
    atomic_fetch_add(&late_done, 1);
}

static void timed_owner(void *arg)
{
    goro_chan *c = arg;
    park_note();
    CHECK_EQ(goro_chan_recv_timeout(c, NULL, NULL, 500 * 1000 * 1000), GORO_ETIMEDOUT);
    goro_chan_release(c);
}

static goro_ctx *ctx;

static void ctx_owner(void *arg)
{
    goro_chan *c = arg;
    park_note();
    CHECK_NE(goro_chan_recv_ctx(c, NULL, NULL, ctx), GORO_OK);
    goro_chan_release(c);
    atomic_fetch_add(&late_done, 1);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void wait_parked(int n)
{
    for (int i = 0; i < 2000 && atomic_load(&parked_count) < n; i++)
        goro_sleep(1000 * 1000);
    CHECK_EQ(atomic_load(&parked_count), n);
    goro_sleep(50 * 1000 * 1000); /* from "about to wait" to parked */
}

static const char *out_dir;
static int leak_line;

static void main_body(void *arg)
{
    (void)arg;
    int started = 0;

    /* The everyday leak. */
    goro_chan *lost = goro_chan_new(sizeof(int), 0);
    goro_chan_retain(lost);
    CHECK_OK(goro_go_owning(owner_blocked, lost, &lost, 1)); leak_line = __LINE__;
    goro_chan_release(lost); /* the starter's own handle */
    started++;

    /* 50 parked on a channel the starter still holds. */
    goro_chan *kept = goro_chan_new(sizeof(int), 0);
    for (int i = 0; i < KEPT; i++) {
        goro_chan_retain(kept);
        CHECK_OK(goro_go_owning(kept_receiver, kept, &kept, 1));
        started++;
    }

    /* A cycle: each blocked on the channel the other owns. */
    goro_chan *ca = goro_chan_new(sizeof(int), 0), *cb = goro_chan_new(sizeof(int), 0);
    cycle[0] = (struct pair){ca, cb};
    cycle[1] = (struct pair){cb, ca};
    CHECK_OK(goro_go_owning(cycle_member, &cycle[0], &cycle[0].owned, 1));
    CHECK_OK(goro_go_owning(cycle_member, &cycle[1], &cycle[1].owned, 1));
    started += 2;

    /* A reference handed down twice: to relay, which hands its own on to handed_down. */
    goro_chan *down = goro_chan_new(0, 0);
    CHECK_OK(goro_go_owning(relay, down, &down, 1));
    started++;

    /* Selects. */
    sel_a = goro_chan_new(sizeof(int), 0);
    sel_b = goro_chan_new(sizeof(int), 1);
    goro_chan *both[2] = {sel_a, sel_b};
    CHECK_OK(goro_go_owning(select_unreachable, NULL, both, 2));
    sel_kept = goro_chan_new(sizeof(int), 0);
    goro_chan *mine = goro_chan_new(sizeof(int), 0);
    CHECK_OK(goro_go_owning(select_half_kept, mine, &mine, 1));
    started += 2;

    /* A chain kept alive by the starter's handle to chain_d. */
    chain_c = goro_chan_new(sizeof(int), 0);
    chain_d = goro_chan_new(sizeof(int), 0);
    goro_chan *head_owns[2] = {chain_c, goro_chan_retain(chain_d)};
    CHECK_OK(goro_go_owning(chain_head, NULL, head_owns, 2));
    CHECK_OK(goro_go(chain_tail, NULL));
    started += 2;

    /* Parents waiting for children that are asleep. */
    goro_chan *lp = goro_chan_new(sizeof(int), 0);
    CHECK_OK(goro_go_owning(late_parent, lp, &lp, 1));
    CHECK_OK(goro_go(plain_parent, NULL));
    started += 2;

    /* Waits that end otherwise. */
    goro_chan *timed = goro_chan_new(0, 0);
    CHECK_OK(goro_go_owning(timed_owner, timed, &timed, 1));
    ctx = goro_ctx_with_cancel(goro_ctx_background());
    CHECK(ctx != NULL);
    goro_chan *cc = goro_chan_new(0, 0);
    CHECK_OK(goro_go_owning(ctx_owner, cc, &cc, 1));
    started += 2;

    wait_parked(started);

    int leaks = -1;
    char *report = check_capture(goro_leaks, &leaks);
    printf("--- goro_leaks ---\n%s", report);
    CHECK_EQ(leaks, LEAKED);
    CHECK_EQ(count_of(report, "owner_blocked"), 1);
    CHECK_EQ(count_of(report, "cycle_member"), 2);
    CHECK_EQ(count_of(report, "select_unreachable"), 1);
    CHECK_EQ(count_of(report, "handed_down"), 1);
    char site[64];
    snprintf(site, sizeof site, "trace_leak.c:%d", leak_line);
    CHECK_MSG(strstr(report, site) != NULL, "the report should name %s", site);
    const char *never[] = {"kept_receiver", "select_half_kept", "chain_head", "chain_tail",
                           "late_parent", "plain_parent", "late_child", "timed_owner",
                           "ctx_owner"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        CHECK_MSG(strstr(report, never[i]) == NULL, "%s reported", never[i]);
    free(report);

    /* The dump marks exactly the leaked ones. */
    size_t n = goro_dump_to(NULL, 0);
    char *dump = malloc(n + 1);
    CHECK(dump != NULL);
    goro_dump_to(dump, n + 1);
    CHECK_EQ(count_of(dump, "(leaked)]"), LEAKED);
    /* A wait bound to a context says so (issue 16). */
    CHECK_MSG(strstr(dump, "[chan receive (context), ") != NULL, "no context wait in:\n%s", dump);
    free(dump);

    if (out_dir) {
        mkdir(out_dir, 0755);
        char path[512];
        snprintf(path, sizeof path, "%s/goroutineleak.pb.gz", out_dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        CHECK(fd >= 0);
        CHECK_OK(goro_profile_write("goroutineleak", fd));
        close(fd);
    }

    /* Bad input: a clear error, never a crash. */
    CHECK_EQ(goro_go_owning(NULL, NULL, NULL, 0), GORO_EINVAL);
    CHECK_EQ(goro_go_owning(owner_blocked, NULL, NULL, 1), GORO_EINVAL);
    goro_chan *with_null[2] = {kept, NULL};
    CHECK_EQ(goro_go_owning(owner_blocked, NULL, with_null, 2), GORO_EINVAL);
    CHECK(goro_chan_retain_own(NULL) == NULL);

    /* Everything that was not leaked ends. */
    for (int i = 0; i < 2000 && atomic_load(&late_done) < 2; i++)
        goro_sleep(1000 * 1000);
    CHECK_EQ(atomic_load(&late_done), 2);
    CHECK_OK(goro_chan_close(kept));
    goro_chan_release(kept);
    CHECK_OK(goro_chan_close(sel_kept));
    goro_chan_release(sel_kept);
    CHECK_OK(goro_chan_close(chain_d));
    goro_chan_release(chain_d);
    goro_ctx_cancel(ctx);
    /* The context-bound wait ends with the cancel (it holds its own reference meanwhile). */
    for (int i = 0; i < 2000 && atomic_load(&late_done) < 3; i++)
        goro_sleep(1000 * 1000);
    CHECK_EQ(atomic_load(&late_done), 3);
    goro_ctx_release(ctx);
    goro_sleep(700 * 1000 * 1000); /* the timed wait runs out */
    CHECK_EQ(goro_leaks(-1), LEAKED);
    check_allow_leaks(LEAKED); /* the leaked ones stay, on purpose */
}

int main(int argc, char **argv)
{
    out_dir = argc > 1 ? argv[1] : NULL;
    CHECK_OK(goro_run(main_body, NULL));
    return 0;
}
