/* A select whose send cases are switched off one by one (set to NULL, Go's nil channel)
 * until only the default is left; every case's value is computed on every pass.
 *
 * Port of Go's test/chan/select.go to goro's C API, rewritten by hand.
 * Original: Copyright 2009 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/select.go */

static unsigned counter;
static unsigned shift;

static uint64_t get_value(void)
{
    counter++;
    return (uint64_t)1 << shift;
}

/* Sends to a and b until both are disabled or full; returns how many sends ran. */
static int send_both(goro_chan *a, goro_chan *b)
{
    int i = 0;
    for (;;) {
        /* Go evaluates every case's operands before choosing, so both values are made. */
        uint64_t va = get_value(), vb = get_value();
        goro_case cases[2] = {
            { a, GORO_SEND, &va, false },
            { b, GORO_SEND, &vb, false },
        };
        int r = goro_select(cases, 2, 0);
        if (r == GORO_EAGAIN)
            break; /* default */
        CHECK(r == 0 || r == 1);
        CHECK(cases[r].ok);
        i++;
        if (r == 0)
            a = NULL;
        else
            b = NULL;
        shift++;
    }
    return i;
}

static void body(void *unused)
{
    counter = shift = 0;
    goro_chan *a = make_chan_sized(sizeof(uint64_t), 1);
    goro_chan *b = make_chan_sized(sizeof(uint64_t), 1);
    CHECK_EQ(send_both(a, b), 2);
    uint64_t av = 0, bv = 0;
    CHECK_OK(goro_chan_recv(a, &av, NULL));
    CHECK_OK(goro_chan_recv(b, &bv, NULL));
    CHECK_EQ(av | bv, 3);
    CHECK_EQ(send_both(a, NULL), 1);
    CHECK_EQ(counter, 10);
    goro_chan_release(a);
    goro_chan_release(b);
}

int main(void)
{
    /* Nothing here blocks, so it must behave the same on a plain thread and in a goroutine. */
    run_step("select (plain thread)", body, NULL, false);
    run_step("select (goroutine)", body, NULL, true);
    return 0;
}
