/* The semantics of select (and of plain send and receive) for the basic cases: what blocks
 * always, what never blocks, and what fails.
 *
 * Port of Go's test/chan/select3.go to goro's C API, rewritten by hand.
 * Original: Copyright 2010 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * Differences from Go, by CONTRACT.md: where Go panics goro returns a status (send on a
 * closed channel gives GORO_ECLOSED; a select send case on a closed channel completes with
 * ok = false); a plain send or receive on a NULL handle gives GORO_EINVAL rather than
 * blocking forever, while a NULL channel inside a select is never ready, as Go's nil.
 * Functions that block forever leave their goroutine parked; it is abandoned at exit.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/select3.go */

enum { NEVER = 1, ALWAYS = 2 };

static goro_chan *closedch;

struct block_args {
    goro_chan *c;
    void (*f)(void);
};

static void run_f(void *arg)
{
    struct block_args *a = arg;
    a->f();
    send_i64(a->c, NEVER); /* f didn't block */
}

static void timer(void *arg)
{
    struct block_args *a = arg;
    goro_sleep(100 * MS); /* 0.1 s seems plenty long */
    send_i64(a->c, ALWAYS); /* f blocked */
}

/* Calls f and empirically checks that it always or never blocks. */
static void test_block_(int signal, void (*f)(void), const char *name)
{
    /* Leaked on purpose: a goroutine blocked forever still holds it. */
    struct block_args *a = malloc(sizeof *a);
    CHECK(a != NULL);
    a->c = make_chan(0);
    a->f = f;
    go(run_f, a);
    go(timer, a);
    int64_t got = recv_i64(a->c);
    CHECK_MSG(got == signal, "%s: expected it to %s block", name,
              signal == ALWAYS ? "always" : "never");
}
#define test_block(signal, f) test_block_(signal, f, #f)

/* -- the functions under test -- */

static void nil_chan_select_send(void)
{
    int64_t v = 7;
    goro_case c = { NULL, GORO_SEND, &v, false };
    goro_select(&c, 1, -1);
    TEST_FAIL("control flow shouldn't reach here");
}

static void nil_chan_select_recv(void)
{
    int64_t v;
    goro_case c = { NULL, GORO_RECV, &v, false };
    goro_select(&c, 1, -1);
    TEST_FAIL("control flow shouldn't reach here");
}

static void nil_chan_select_both(void)
{
    int64_t v = 7, w;
    goro_case c[2] = { { NULL, GORO_RECV, &w, false }, { NULL, GORO_SEND, &v, false } };
    goro_select(c, 2, -1);
    TEST_FAIL("control flow shouldn't reach here");
}

static void send_to_free_buffer(void)
{
    goro_chan *ch = make_chan(1);
    send_i64(ch, 7);
    goro_chan_release(ch);
}

static void recv_from_closed(void)
{
    for (int i = 0; i < 10; i++) {
        int64_t x = 99;
        CHECK_EQ(goro_chan_recv(closedch, &x, NULL), GORO_ECLOSED);
        CHECK_MSG(x == 0, "expected zero value when reading from closed channel");
        bool ok = true;
        x = 99;
        CHECK_EQ(goro_chan_recv(closedch, &x, &ok), GORO_ECLOSED);
        CHECK_MSG(x == 0 && !ok, "expected 0, false from closed channel: %lld %d",
                  (long long)x, ok);
    }
}

static void recv_from_empty(void)
{
    goro_chan *ch = make_chan(0);
    recv_i64(ch);
}

static void empty_select(void)
{
    goro_select(NULL, 0, -1);
    TEST_FAIL("select {} returned");
}

static void select_not_ready(void)
{
    goro_chan *ch = make_chan(0);
    int64_t v;
    goro_case c = { ch, GORO_RECV, &v, false };
    goro_select(&c, 1, -1);
    TEST_FAIL("control flow shouldn't reach here");
}

static void select_default_only(void)
{
    CHECK_EQ(goro_select(NULL, 0, 0), GORO_EAGAIN);
}

static void select_nil_recv_default(void)
{
    int64_t v;
    goro_case c = { NULL, GORO_RECV, &v, false };
    CHECK_EQ(goro_select(&c, 1, 0), GORO_EAGAIN);
}

static void select_nil_send_default(void)
{
    int64_t v = 7;
    goro_case c = { NULL, GORO_SEND, &v, false };
    CHECK_EQ(goro_select(&c, 1, 0), GORO_EAGAIN);
}

static void select_ready_send(void)
{
    goro_chan *ch = make_chan(1);
    int64_t v = 7;
    goro_case c = { ch, GORO_SEND, &v, false };
    CHECK_EQ(goro_select(&c, 1, 0), 0);
    CHECK(c.ok);
    goro_chan_release(ch);
}

static void select_ready_recv(void)
{
    goro_chan *ch = make_chan(1);
    send_i64(ch, 7);
    int64_t v = 0;
    goro_case c = { ch, GORO_RECV, &v, false };
    CHECK_EQ(goro_select(&c, 1, 0), 0);
    CHECK(c.ok);
    CHECK_EQ(v, 7);
    goro_chan_release(ch);
}

static void select_closed_recv(void)
{
    goro_case c = { closedch, GORO_RECV, NULL, true };
    CHECK_EQ(goro_select(&c, 1, -1), 0);
    CHECK(!c.ok);
}

static void select_closed_recv_value(void)
{
    int64_t x = 99;
    goro_case c = { closedch, GORO_RECV, &x, true };
    CHECK_EQ(goro_select(&c, 1, -1), 0);
    CHECK(!c.ok);
    CHECK_EQ(x, 0);
}

static void select_sees_itself(void)
{
    goro_chan *c = make_chan(0);
    int64_t one = 1, got;
    goro_case cs[2] = { { c, GORO_SEND, &one, false }, { c, GORO_RECV, &got, false } };
    goro_select(cs, 2, -1);
    TEST_FAIL("a select matched its own send and receive");
}

static void go_main(void *unused)
{
    closedch = make_chan(0);
    CHECK_OK(goro_chan_close(closedch));

    /* Sending/receiving on a nil channel blocks in Go; on a NULL handle goro says EINVAL. */
    int64_t seven = 7;
    CHECK_EQ(goro_chan_send(NULL, &seven), GORO_EINVAL);
    CHECK_EQ(goro_chan_recv(NULL, &seven, NULL), GORO_EINVAL);

    /* sending/receiving from a nil channel inside a select is never selected */
    select_nil_send_default();
    select_nil_recv_default();

    /* sending to an async channel with free buffer space never blocks */
    test_block(NEVER, send_to_free_buffer);

    /* receiving from a closed channel never blocks */
    test_block(NEVER, recv_from_closed);

    /* sending to a closed channel fails (Go panics) */
    CHECK_EQ(goro_chan_send(closedch, &seven), GORO_ECLOSED);

    /* receiving from a non-ready channel always blocks */
    test_block(ALWAYS, recv_from_empty);

    /* empty selects always block */
    test_block(ALWAYS, empty_select);

    /* selects with only nil channels always block */
    test_block(ALWAYS, nil_chan_select_recv);
    test_block(ALWAYS, nil_chan_select_send);
    test_block(ALWAYS, nil_chan_select_both);

    /* selects with non-ready non-nil channels always block */
    test_block(ALWAYS, select_not_ready);

    /* selects with default cases don't block */
    test_block(NEVER, select_default_only);
    test_block(NEVER, select_nil_recv_default);
    test_block(NEVER, select_nil_send_default);

    /* selects with ready channels don't block */
    test_block(NEVER, select_ready_send);
    test_block(NEVER, select_ready_recv);

    /* selects with closed channels behave like ordinary operations */
    test_block(NEVER, select_closed_recv);
    test_block(NEVER, select_closed_recv_value);

    /* a send case on a closed channel completes with ok = false (Go panics) */
    goro_case sc = { closedch, GORO_SEND, &seven, true };
    CHECK_EQ(goro_select(&sc, 1, -1), 0);
    CHECK(!sc.ok);

    /* select should not get confused if it sees itself */
    test_block(ALWAYS, select_sees_itself);
}

int main(void)
{
    STEP_GO(go_main);
    return 0;
}
