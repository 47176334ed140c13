/* Non-blocking sends and receives (select with default = timeout 0) on unbuffered and
 * one-slot channels of several element sizes, polled until a partner goroutine shows up.
 *
 * Port of Go's test/chan/nonblock.go to goro's C API, rewritten by hand.
 * Original: Copyright 2009 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * Go's int32, int64, bool and string channels become channels of 4, 8, 1 and 16 bytes.
 * The pause between polls uses a ticker of 10 us, as the original does.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/nonblock.go */

struct kind {
    const char *name;
    size_t size;
    const void *to_receiver; /* what main sends, the receiver checks */
    const void *from_sender; /* what the sender sends, main checks */
};

static const int32_t i32_a = 123, i32_b = 234;
static const int64_t i64_a = 123456, i64_b = 234567;
static const bool b_a = true, b_b = true;
static const char s_a[16] = "hello", s_b[16] = "hello again";

static const struct kind kinds[] = {
    { "i32", sizeof(int32_t), &i32_a, &i32_b },
    { "i64", sizeof(int64_t), &i64_a, &i64_b },
    { "bool", sizeof(bool), &b_a, &b_b },
    { "string", 16, s_a, s_b },
};

struct peer {
    goro_chan *c, *strobe;
    const struct kind *k;
};

static void strobe(goro_chan *s)
{
    bool t = true;
    CHECK_OK(goro_chan_send(s, &t));
}

static void wait_strobe(goro_chan *s)
{
    bool t = false;
    CHECK_OK(goro_chan_recv(s, &t, NULL));
    CHECK(t);
}

static void receiver(void *arg)
{
    struct peer *p = arg;
    char buf[16] = { 0 };
    CHECK_OK(goro_chan_recv(p->c, buf, NULL));
    CHECK_MSG(memcmp(buf, p->k->to_receiver, p->k->size) == 0, "%s value", p->k->name);
    strobe(p->strobe);
}

static void sender(void *arg)
{
    struct peer *p = arg;
    CHECK_OK(goro_chan_send(p->c, p->k->from_sender));
    strobe(p->strobe);
}

static goro_ticker *ticker;

static void pause_a_little(void)
{
    goro_chan *tc = goro_ticker_chan(ticker);
    CHECK_OK(goro_chan_recv(tc, NULL, NULL));
    CHECK_OK(goro_chan_recv(tc, NULL, NULL));
    goro_yield();
    goro_yield();
    goro_yield();
}

enum { MAX_TRIES = 10000 }; /* up to ~100 ms per test, as in Go */

static void go_main(void *unused)
{
    ticker = goro_ticker_new(10 * US);
    CHECK(ticker != NULL);
    goro_chan *sync = make_chan_sized(sizeof(bool), 0);

    for (size_t buffer = 0; buffer < 2; buffer++) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            const struct kind *kd = &kinds[k];
            goro_chan *c = make_chan_sized(kd->size, buffer);
            char buf[16];

            /* Nothing to receive yet: the select's default runs. */
            goro_case rc = { c, GORO_RECV, buf, false };
            CHECK_EQ(goro_select(&rc, 1, 0), GORO_EAGAIN);

            struct peer p = { c, sync, kd };
            go(receiver, &p);
            for (int try = 0;; try++) {
                goro_case sc = { c, GORO_SEND, (void *)kd->to_receiver, false };
                int r = goro_select(&sc, 1, 0);
                if (r == 0) {
                    CHECK(sc.ok);
                    break;
                }
                CHECK_EQ(r, GORO_EAGAIN);
                CHECK_MSG(try <= MAX_TRIES, "%s receiver buffer=%zu", kd->name, buffer);
                pause_a_little();
            }
            wait_strobe(sync);

            go(sender, &p);
            if (buffer > 0)
                wait_strobe(sync);
            for (int try = 0;; try++) {
                memset(buf, 0, sizeof buf);
                goro_case rc2 = { c, GORO_RECV, buf, false };
                int r = goro_select(&rc2, 1, 0);
                if (r == 0) {
                    CHECK(rc2.ok);
                    break;
                }
                CHECK_EQ(r, GORO_EAGAIN);
                CHECK_MSG(try <= MAX_TRIES, "%s sender buffer=%zu", kd->name, buffer);
                pause_a_little();
            }
            CHECK_MSG(memcmp(buf, kd->from_sender, kd->size) == 0, "%s sender value",
                      kd->name);
            if (buffer == 0)
                wait_strobe(sync);
            goro_chan_release(c);
        }
    }
    goro_ticker_stop(ticker);
    goro_chan_release(sync);
}

int main(void)
{
    STEP_GO(go_main);
    return 0;
}
