/* Every combination of one real send or receive phrased in various ways (a direct call,
 * try_*, *_timeout, or a select with a default, dummy cases, NULL-channel cases, and the
 * real case in each position), checking the right operation happens exactly once.
 *
 * Port of Go's test/chan/select5.go to goro's C API, rewritten by hand.
 * Original: Copyright 2011 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * Go generates a program from templates and runs it; here the same enumeration (choose /
 * maybe / next) drives the templates directly at run time. The recvOrder and sendOrder
 * templates check Go's evaluation order of case expressions, which has no C counterpart
 * (the caller builds the case array), so they are not ported. Go's template variants of
 * the receive destination (x, *f(&x), y :=, interface, map) collapse to one buffer in C;
 * instead the position of the real case among the others varies.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/select5.go */

/* ---- enumerating all paths through a template ----------------------------------------
   A template calls choose(n) when it picks among n possibilities; successive runs return
   0, 1, ..., n-1 at each point, so `while (next()) template();` visits every path. */

enum { MAX_CHOICES = 64 };
static struct {
    int i, n;
} choices[MAX_CHOICES];
static int nchoices;
static int cp = -1;

static int choose(int n)
{
    if (cp >= nchoices) { /* never asked this before: start with 0 */
        CHECK(nchoices < MAX_CHOICES);
        choices[nchoices].i = 0;
        choices[nchoices].n = n;
        nchoices++;
        cp = nchoices;
        return 0;
    }
    CHECK_MSG(choices[cp].n == n, "inconsistent choices");
    return choices[cp++].i;
}

static bool maybe(void)
{
    return choose(2) == 0;
}

static bool next(void)
{
    if (cp < 0) { /* start a new round */
        cp = 0;
        return true;
    }
    cp = nchoices - 1; /* increment the last choice sequence */
    while (cp >= 0 && choices[cp].i == choices[cp].n - 1)
        cp--;
    if (cp < 0) {
        nchoices = 0;
        return false;
    }
    choices[cp].i++;
    nchoices = cp + 1;
    cp = 0;
    return true;
}

/* ---- shared state, as in the generated program's header ------------------------------- */

static goro_chan *c;     /* buffered, so every template runs in one goroutine */
static goro_chan *dummy; /* unbuffered and idle: never ready */
static int64_t n = 1;
static int64_t x;
static long ncases;

static unsigned char sentinel[sizeof(int64_t)];

static void check_sentinel(void)
{
    for (size_t i = 0; i < sizeof sentinel; i++)
        CHECK_MSG(sentinel[i] == 0x5A, "an unchosen case wrote its buffer");
}

static void die(void)
{
    TEST_FAIL("have %lld want %lld (case %ld)", (long long)x, (long long)n, ncases);
}

/* Puts `real` among the maybe-present other cases at a chosen position; returns the count
   and the real case's index. */
static size_t build_select(goro_case *out, goro_case real, size_t *real_at)
{
    static int64_t one = 1;
    static int64_t scratch;
    goro_case others[4];
    size_t k = 0;
    if (maybe()) /* dummy send: nobody receives */
        others[k++] = (goro_case){ dummy, GORO_SEND, &one, true };
    if (maybe()) /* dummy receive: nobody sends */
        others[k++] = (goro_case){ dummy, GORO_RECV, sentinel, true };
    if (maybe()) /* nil channel send */
        others[k++] = (goro_case){ NULL, GORO_SEND, &one, true };
    if (maybe()) /* nil channel receive */
        others[k++] = (goro_case){ NULL, GORO_RECV, &scratch, true };
    size_t pos = (size_t)choose((int)k + 1);
    size_t j = 0;
    for (size_t i = 0; i <= k; i++)
        out[i] = (i == pos) ? real : others[j++];
    *real_at = pos;
    return k + 1;
}

static void check_others_untouched(const goro_case *cs, size_t ncs, size_t real_at)
{
    for (size_t i = 0; i < ncs; i++)
        if (i != real_at)
            CHECK_MSG(cs[i].ok == true, "an unchosen case's ok was written");
    check_sentinel();
}

/* Send n, receive it one way or another into x, check that they match. */
static void template_recv(void)
{
    send_i64(c, n);
    if (maybe()) {
        bool ok = false;
        switch (choose(3)) {
        case 0: CHECK_OK(goro_chan_recv(c, &x, &ok)); break;
        case 1: CHECK_OK(goro_chan_try_recv(c, &x, &ok)); break;
        default: CHECK_OK(goro_chan_recv_timeout(c, &x, &ok, SEC)); break;
        }
        CHECK(ok);
    } else {
        /* Blocking or not: the value is already there either way. */
        int64_t timeout = maybe() ? 0 : -1;
        goro_case cs[5];
        size_t at;
        size_t ncs = build_select(cs, (goro_case){ c, GORO_RECV, &x, false }, &at);
        int r = goro_select(cs, ncs, timeout);
        CHECK_EQ(r, (int)at);
        CHECK(cs[at].ok);
        check_others_untouched(cs, ncs, at);
    }
    if (x != n)
        die();
    n++;
}

/* Send n one way or another, receive it into x, check that they match. */
static void template_send(void)
{
    if (maybe()) {
        switch (choose(3)) {
        case 0: CHECK_OK(goro_chan_send(c, &n)); break;
        case 1: CHECK_OK(goro_chan_try_send(c, &n)); break;
        default: CHECK_OK(goro_chan_send_timeout(c, &n, SEC)); break;
        }
    } else {
        int64_t timeout = maybe() ? 0 : -1;
        goro_case cs[5];
        size_t at;
        size_t ncs = build_select(cs, (goro_case){ c, GORO_SEND, &n, false }, &at);
        int r = goro_select(cs, ncs, timeout);
        CHECK_EQ(r, (int)at);
        CHECK(cs[at].ok);
        check_others_untouched(cs, ncs, at);
    }
    x = recv_i64(c);
    if (x != n)
        die();
    n++;
}

/* Various combinations of non-blocking operations, none of which can proceed: the default
   (or a short timeout) must win, and no receive may write its destination. */
static void template_nonblock(void)
{
    static int64_t one = 1;
    x = n;
    goro_case cs[8];
    size_t k = 0;
    if (maybe())
        cs[k++] = (goro_case){ dummy, GORO_SEND, &one, true };
    if (maybe())
        cs[k++] = (goro_case){ NULL, GORO_SEND, &one, true };
    if (maybe())
        cs[k++] = (goro_case){ dummy, GORO_RECV, NULL, true };
    if (maybe())
        cs[k++] = (goro_case){ dummy, GORO_RECV, &x, true };
    if (maybe())
        cs[k++] = (goro_case){ dummy, GORO_RECV, sentinel, true };
    if (maybe())
        cs[k++] = (goro_case){ NULL, GORO_RECV, NULL, true };
    if (maybe())
        cs[k++] = (goro_case){ NULL, GORO_RECV, &x, true };
    if (maybe())
        cs[k++] = (goro_case){ NULL, GORO_RECV, sentinel, true };
    if (maybe()) {
        CHECK_EQ(goro_select(k ? cs : NULL, k, 0), GORO_EAGAIN);
    } else {
        CHECK_EQ(goro_select(k ? cs : NULL, k, 200 * US), GORO_ETIMEDOUT);
    }
    for (size_t i = 0; i < k; i++)
        CHECK(cs[i].ok == true);
    check_sentinel();
    if (x != n)
        die();
    n++;
}

static void run_all(void (*template)(void), const char *name)
{
    long before = ncases;
    while (next()) {
        template();
        ncases++;
    }
    printf("%s: %ld cases\n", name, ncases - before);
}

static void body(void *unused)
{
    memset(sentinel, 0x5A, sizeof sentinel);
    c = make_chan(1);
    dummy = make_chan(0);
    run_all(template_recv, "recv");
    run_all(template_send, "send");
    run_all(template_nonblock, "nonblock");
    printf("%ld cases\n", ncases);
    goro_chan_release(c);
    goro_chan_release(dummy);
}

int main(void)
{
    /* Single-goroutine by design, so it runs the same on a plain thread. */
    run_step("select5 (plain thread)", body, NULL, false);
    run_step("select5 (goroutine)", body, NULL, true);
    return 0;
}
