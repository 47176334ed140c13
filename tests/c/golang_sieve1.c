/* Go's prime sieve as a daisy chain of filter goroutines, checked against the primes < 100.
 *
 * Port of Go's test/chan/sieve1.go to goro's C API, rewritten by hand.
 * Original: Copyright 2009 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * The generator and filters never end, as in Go: they stay parked when main returns and
 * are abandoned at process exit (CONTRACT.md: "goroutines still parked are abandoned").
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/sieve1.go */

/* Send the sequence 2, 3, 4, ... to ch. */
static void generate(void *arg)
{
    goro_chan *ch = arg;
    for (int64_t i = 2;; i++)
        send_i64(ch, i);
}

struct filter_args {
    goro_chan *in, *out;
    int64_t prime;
};

/* Copy the values from in to out, removing those divisible by prime. */
static void filter(void *arg)
{
    struct filter_args *f = arg;
    for (;;) {
        bool ok;
        int64_t i = recv_i64_ok(f->in, &ok); /* Go's `for i := range in` */
        if (!ok)
            break;
        if (i % f->prime != 0)
            send_i64(f->out, i);
    }
    free(f);
}

/* The prime sieve: daisy-chain filter goroutines together. */
static void sieve(void *arg)
{
    goro_chan *primes = arg;
    goro_chan *ch = make_chan(0);
    go(generate, ch);
    for (;;) {
        /* ch is a different channel on each iteration. */
        int64_t prime = recv_i64(ch);
        send_i64(primes, prime);
        goro_chan *ch1 = make_chan(0);
        struct filter_args *f = malloc(sizeof *f);
        CHECK(f != NULL);
        *f = (struct filter_args){ ch, ch1, prime };
        go(filter, f);
        ch = ch1;
    }
}

static void go_main(void *unused)
{
    static const int64_t a[] = { 2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                                 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97 };
    goro_chan *primes = make_chan(0);
    go(sieve, primes);
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
        int64_t x = recv_i64(primes);
        CHECK_EQ(x, a[i]);
    }
}

int main(void)
{
    STEP_GO(go_main);
    return 0;
}
