/* first_response.c: ask three replicas, take the first answer, cancel the rest.
 *
 * The Go it mirrors (Go's "replicated search", with errgroup and a context):
 *
 *     g, ctx := errgroup.WithContext(context.Background())
 *     answers := make(chan string)
 *     for _, r := range replicas {
 *         g.Go(func() error {
 *             select { case <-time.After(r.delay): case <-ctx.Done(): return ctx.Err() }
 *             select { case answers <- r.name: return nil; case <-ctx.Done(): return ctx.Err() }
 *         })
 *     }
 *     first := <-answers
 *     cancel(); g.Wait()
 *
 * In goro each replica sleeps with goro_sleep_ctx (its "work") and sends with
 * goro_chan_send_ctx. The main thread takes the first answer and cancels the group's
 * context: the slow replicas end at once, parked in the sleep or the send, and none of the
 * answers they would have sent is delivered (a context that ends first consumes and
 * delivers nothing).
 */
#include "example.h"

struct replica {
    const char *name;
    int64_t delay;
    goro_chan *answers; /* of const char * */
};

static int ask(goro_ctx *ctx, void *arg) {
    struct replica *r = arg;
    int rc = goro_sleep_ctx(r->delay, ctx); /* the work: ends early when cancelled */
    if (rc != GORO_OK)
        return rc; /* GORO_ECANCELED: goro_group_wait reports it, as errgroup's Wait does */
    return goro_chan_send_ctx(r->answers, &r->name, ctx);
}

int main(void) {
    goro_ctx *bg = goro_ctx_background();
    goro_group *g = goro_group_new(bg, 0);
    goro_chan *answers = goro_chan_new(sizeof(const char *), 0);
    if (!bg || !g || !answers) { fprintf(stderr, "allocation failed\n"); return 1; }

    struct replica replicas[] = {
        { "slow", MS(2000), answers },
        { "fast", MS(20), answers },
        { "medium", MS(500), answers },
    };
    printf("first_response: asking 3 replicas (2000, 20 and 500 ms)\n");
    int64_t start = now_ns();
    for (size_t i = 0; i < sizeof replicas / sizeof replicas[0]; i++)
        CHECK(goro_group_go(g, ask, &replicas[i]));

    const char *first = NULL;
    bool ok = false;
    int rc = goro_chan_recv_timeout(answers, &first, &ok, MS(5000));
    double took = ms_since(start);
    CHECK(goro_ctx_cancel(goro_group_ctx(g))); /* the others stop now */
    int err = goro_group_wait(g);
    double all = ms_since(start);
    printf("first_response: first answer from %s after %.1f ms; all replicas returned after "
           "%.1f ms (group status %s)\n",
           rc == GORO_OK ? first : "nobody", took, all, goro_strerror(err));

    EXPECT(rc == GORO_OK && ok && strcmp(first, "fast") == 0, "rc %d, first %s", rc,
           rc == GORO_OK ? first : "-");
    EXPECT(all < 1500, "the cancel took %.1f ms: the slow replicas did not stop early", all);
    EXPECT(err == GORO_ECANCELED, "goro_group_wait gave %s", goro_strerror(err));
    const char *late = NULL;
    EXPECT(goro_chan_try_recv(answers, &late, &ok) == GORO_EAGAIN,
           "a late answer (%s) was delivered", late ? late : "?");

    goro_group_free(g);
    goro_chan_release(answers);
    goro_ctx_release(bg);
    return example_exit_code("first_response");
}
