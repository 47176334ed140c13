/* Go's Eratosthenes-style sieve over odd candidates: a heap merges channels of multiples,
 * and a select-based proxy with a nil (NULL) send case when its buffer is empty.
 *
 * Port of Go's test/chan/sieve2.go to goro's C API, rewritten by hand.
 * Original: Copyright 2009 The Go Authors. All rights reserved.
 * Use of the original is governed by a BSD-style licence found in tests/c/LICENSE-GO.
 *
 * container/heap and container/ring become a small binary heap and a growable circular
 * buffer. The producer goroutines never end, as in Go; they are abandoned at exit.
 */
#include "golike.h"

/* https://github.com/golang/go/blob/master/test/chan/sieve2.go */

/* A chan of odd numbers, starting from 5. */
static void odds_loop(void *arg)
{
    goro_chan *out = arg;
    for (int64_t n = 5;; n += 2)
        send_i64(out, n);
}

static goro_chan *odds(void)
{
    goro_chan *out = make_chan(50);
    go(odds_loop, out);
    return out;
}

/* A chan of odd multiples of the prime p, starting from p*p. */
struct multiples_args {
    goro_chan *out;
    int64_t p;
};

static void multiples_loop(void *arg)
{
    struct multiples_args a = *(struct multiples_args *)arg;
    free(arg);
    for (int64_t n = a.p * a.p;; n += 2 * a.p)
        send_i64(a.out, n);
}

static goro_chan *multiples(int64_t p)
{
    struct multiples_args *a = malloc(sizeof *a);
    CHECK(a != NULL);
    a->out = make_chan(10);
    a->p = p;
    go(multiples_loop, a);
    return a->out;
}

struct peek_ch {
    int64_t head;
    goro_chan *ch;
};

/* Min-heap of peek_ch by head (Go's PeekChHeap with container/heap). */
struct heap {
    struct peek_ch **v;
    size_t len, cap;
};

static void heap_push(struct heap *h, struct peek_ch *x)
{
    if (h->len == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 16;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
        CHECK(h->v != NULL);
    }
    size_t i = h->len++;
    h->v[i] = x;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->head <= h->v[i]->head)
            break;
        struct peek_ch *t = h->v[parent];
        h->v[parent] = h->v[i];
        h->v[i] = t;
        i = parent;
    }
}

static struct peek_ch *heap_pop(struct heap *h)
{
    CHECK(h->len > 0);
    struct peek_ch *top = h->v[0];
    h->v[0] = h->v[--h->len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->len && h->v[l]->head < h->v[m]->head)
            m = l;
        if (r < h->len && h->v[r]->head < h->v[m]->head)
            m = r;
        if (m == i)
            break;
        struct peek_ch *t = h->v[m];
        h->v[m] = h->v[i];
        h->v[i] = t;
        i = m;
    }
    return top;
}

/* A channel that serves as a sending proxy to out: a goroutine receives from it and
   stores the values in an expanding buffer, so that sending to it never blocks for long. */
struct proxy_args {
    goro_chan *proxy, *out;
};

static void proxy_loop(void *arg)
{
    struct proxy_args a = *(struct proxy_args *)arg;
    free(arg);
    size_t n = 16, first = 0, count = 0;
    int64_t *ring = malloc(n * sizeof *ring);
    CHECK(ring != NULL);
    for (;;) {
        int64_t in = 0, e = 0;
        goro_chan *c = a.out;
        if (count == 0)
            c = NULL; /* buffer empty: disable output, as Go's nil channel */
        else
            e = ring[first];
        goro_case cases[2] = {
            { a.proxy, GORO_RECV, &in, false },
            { c, GORO_SEND, &e, false },
        };
        int i = goro_select(cases, 2, -1);
        if (i == 0) {
            CHECK(cases[0].ok);
            if (count == n) { /* buffer full: expand it */
                int64_t *bigger = malloc(2 * n * sizeof *bigger);
                CHECK(bigger != NULL);
                for (size_t k = 0; k < count; k++)
                    bigger[k] = ring[(first + k) % n];
                free(ring);
                ring = bigger;
                first = 0;
                n *= 2;
            }
            ring[(first + count) % n] = in;
            count++;
        } else {
            CHECK_EQ(i, 1);
            CHECK(cases[1].ok);
            first = (first + 1) % n;
            count--;
        }
    }
}

static goro_chan *sendproxy(goro_chan *out)
{
    struct proxy_args *a = malloc(sizeof *a);
    CHECK(a != NULL);
    a->proxy = make_chan(10);
    a->out = out;
    go(proxy_loop, a);
    return a->proxy;
}

struct sieve_chans {
    goro_chan *out, *composites, *primes;
};

/* Merge channels of multiples of primes into composites. */
static void merger(void *arg)
{
    struct sieve_chans *s = arg;
    struct heap h = { 0 };
    int64_t min = 15;
    for (;;) {
        goro_chan *m = multiples(recv_i64(s->primes));
        int64_t head = recv_i64(m);
        while (min < head) {
            send_i64(s->composites, min);
            struct peek_ch *minchan = heap_pop(&h);
            min = minchan->head;
            minchan->head = recv_i64(minchan->ch);
            heap_push(&h, minchan);
        }
        while (min == head) {
            struct peek_ch *minchan = heap_pop(&h);
            min = minchan->head;
            minchan->head = recv_i64(minchan->ch);
            heap_push(&h, minchan);
        }
        send_i64(s->composites, head);
        struct peek_ch *p = malloc(sizeof *p);
        CHECK(p != NULL);
        p->head = recv_i64(m);
        p->ch = m;
        heap_push(&h, p);
    }
}

/* Sieve out composites from candidates. The merger receives from primes much more slowly
   than this goroutine sends to it, so a plain buffered channel would fill and deadlock:
   the proxy buffers without bound. */
static void sifter(void *arg)
{
    struct sieve_chans *s = arg;
    goro_chan *primes = sendproxy(s->primes);
    goro_chan *candidates = odds();
    int64_t p = recv_i64(candidates);
    for (;;) {
        int64_t c = recv_i64(s->composites);
        while (p < c) {
            send_i64(primes, p);
            send_i64(s->out, p);
            p = recv_i64(candidates);
        }
        if (p == c)
            p = recv_i64(candidates);
    }
}

/* A chan of primes. */
static goro_chan *sieve(void)
{
    static struct sieve_chans s;
    s.out = make_chan(10); /* the output values */
    send_i64(s.out, 2);
    send_i64(s.out, 3);
    s.composites = make_chan(50); /* all composites to eliminate, in increasing order */
    s.primes = make_chan(10);     /* the feedback loop */
    send_i64(s.primes, 3);
    go(merger, &s);
    go(sifter, &s);
    return s.out;
}

static void go_main(void *unused)
{
    static const int64_t a[] = { 2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                                 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97 };
    goro_chan *primes = sieve();
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
