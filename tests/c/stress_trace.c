/* Dumps, leak reports, profiles and counters read goroutine records while goroutines start
 * and finish on every worker: a record must never be read after it is freed (valgrind runs
 * this too), and every report must stay well formed.
 *
 * Spawners on two pthreads and in goroutines start named goroutines (the name is a heap copy
 * in the record) that park briefly on channels and exit, while two readers loop over
 * goro_dump, goro_dump_to, goro_leaks, goro_profile_write and goro_read_counters, with the
 * CPU and block profiles on.
 */
#include "check.h"

#include <fcntl.h>
#include <pthread.h>

static atomic_int stop;
static atomic_long started, finished_count;

static void short_life(void *arg)
{
    goro_chan *c = arg;
    int v = 1;
    /* Half park on the channel (the other half wakes them), half just yield. */
    if (goro_chan_try_recv(c, &v, NULL) == GORO_EAGAIN)
        goro_chan_send_timeout(c, &v, 200 * 1000);
    goro_yield();
    atomic_fetch_add(&finished_count, 1);
    goro_chan_release(c);
}

static void spawn_some(goro_chan *c, long n)
{
    char name[32];
    for (long i = 0; i < n && !atomic_load(&stop); i++) {
        snprintf(name, sizeof name, "short-%ld", i);
        goro_go_opts o = {0, name, 0};
        goro_chan_retain(c);
        atomic_fetch_add(&started, 1);
        CHECK_OK(goro_go_ex(short_life, c, &o));
    }
}

static long per_spawner;

static void *spawner_thread(void *arg)
{
    spawn_some(arg, per_spawner);
    return NULL;
}

static void spawner_goroutine(void *arg)
{
    spawn_some(arg, per_spawner);
}

static void *reader(void *arg)
{
    int devnull = open("/dev/null", O_WRONLY);
    CHECK(devnull >= 0);
    char buf[256];
    long rounds = 0;
    while (!atomic_load(&stop)) {
        CHECK_OK(goro_dump(devnull));
        size_t n = goro_dump_to(buf, sizeof buf);
        CHECK(n == 0 || strncmp(buf, "goroutine ", 10) == 0);
        CHECK(goro_leaks(-1) >= 0);
        CHECK_OK(goro_profile_write("goroutine", devnull));
        CHECK_OK(goro_profile_write("block", devnull));
        goro_counters c;
        CHECK_OK(goro_read_counters(&c));
        CHECK(c.goroutines >= 0);
        rounds++;
        usleep(200); /* goroutines that finish wait while a report reads: let them go */
    }
    close(devnull);
    CHECK(rounds > 0);
    return NULL;
}

int main(void)
{
    per_spawner = (long)(20000 * scale()) + 100;
    goro_set_block_profile_rate(1000);
    CHECK_OK(goro_cpu_profile_start(500));

    goro_chan *c = goro_chan_new(sizeof(int), 0);
    pthread_t readers[2], spawners[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&readers[i], NULL, reader, NULL), 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&spawners[i], NULL, spawner_thread, c), 0);
    CHECK_OK(goro_run(spawner_goroutine, c));
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_join(spawners[i], NULL), 0);
    while (atomic_load(&finished_count) < atomic_load(&started))
        usleep(1000);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_join(readers[i], NULL), 0);

    CHECK_OK(goro_cpu_profile_stop());
    int devnull = open("/dev/null", O_WRONLY);
    CHECK_OK(goro_profile_write("cpu", devnull));
    close(devnull);
    CHECK_EQ(atomic_load(&finished_count), atomic_load(&started));
    goro_chan_release(c);
    printf("%ld goroutines started and finished under the readers\n", atomic_load(&started));
    return 0;
}
