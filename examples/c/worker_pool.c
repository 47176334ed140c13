/* worker_pool.c: 100 jobs through a pool of 4 workers with a queue of 8.
 *
 * goro_pool_new(4, 8) starts 4 workers draining a queue of 8 jobs. goro_pool_submit puts a
 * job in the queue, and waits while the queue is full: that wait is the back-pressure. A
 * producer faster than the pool is slowed down to the pool's pace instead of piling up work.
 *
 * What the program shows:
 *  - at most 4 jobs ever run at once (each job counts itself in and out of `running`);
 *  - after each submit returns, at most 4 + 8 jobs are in flight (submitted, not finished);
 *  - submit calls really wait: their total wait is about the time the pool needs for the
 *    jobs beyond the first 12;
 *  - goro_pool_wait returns once every submitted job has finished.
 */
#include "example.h"

#include <stdatomic.h>

#define WORKERS 4
#define QUEUE 8
#define JOBS 100
#define JOB_MS 2

static atomic_int running, max_running, completed;

static void job(void *arg) {
    (void)arg; /* the job number, unused here */
    int now = atomic_fetch_add(&running, 1) + 1;
    int seen = atomic_load(&max_running);
    while (now > seen && !atomic_compare_exchange_weak(&max_running, &seen, now)) {}
    goro_sleep(MS(JOB_MS)); /* the "work": parks the job's goroutine, not an OS thread */
    atomic_fetch_sub(&running, 1);
    atomic_fetch_add(&completed, 1);
}

int main(void) {
    goro_pool *pool = goro_pool_new(WORKERS, QUEUE);
    if (!pool) { fprintf(stderr, "goro_pool_new failed\n"); return 1; }

    printf("worker_pool: %d jobs of %d ms, %d workers, queue of %d\n", JOBS, JOB_MS, WORKERS, QUEUE);
    int64_t start = now_ns(), waited_total = 0;
    int waited_submits = 0, max_in_flight = 0;
    for (int i = 0; i < JOBS; i++) {
        int64_t t0 = now_ns();
        CHECK(goro_pool_submit(pool, job, (void *)(intptr_t)i));
        int64_t waited = now_ns() - t0;
        waited_total += waited;
        if (waited > MS(1) / 2) waited_submits++;

        int in_flight = (i + 1) - atomic_load(&completed);
        if (in_flight > max_in_flight) max_in_flight = in_flight;
        if (i < 3 || (i + 1) % 10 == 0) {
            printf("  submit #%-3d returned at %5.1f ms; %2d submits waited so far (%4.1f ms); "
                   "in flight %2d, running %d, completed %3d\n",
                   i + 1, ms_since(start), waited_submits, (double)waited_total / 1e6,
                   in_flight, atomic_load(&running), atomic_load(&completed));
        }
    }
    double submit_ms = ms_since(start);
    CHECK(goro_pool_wait(pool));
    double total_ms = ms_since(start);
    goro_pool_free(pool);

    printf("worker_pool: submitting took %.1f ms (%d of %d submits waited, %.1f ms in all)\n",
           submit_ms, waited_submits, JOBS, (double)waited_total / 1e6);
    printf("worker_pool: all done after %.1f ms; at most %d running at once, at most %d in flight\n",
           total_ms, atomic_load(&max_running), max_in_flight);

    EXPECT(atomic_load(&completed) == JOBS, "%d jobs completed", atomic_load(&completed));
    EXPECT(atomic_load(&max_running) <= WORKERS, "%d jobs ran at once", atomic_load(&max_running));
    EXPECT(max_in_flight <= WORKERS + QUEUE, "%d jobs in flight", max_in_flight);
    EXPECT(waited_submits > 0, "no submit ever waited: no back-pressure");
    /* 100 jobs x 2 ms / 4 workers: the pool cannot finish in under 50 ms. */
    EXPECT(total_ms >= (double)JOBS * JOB_MS / WORKERS, "finished in %.1f ms", total_ms);
    return example_exit_code("worker_pool");
}
