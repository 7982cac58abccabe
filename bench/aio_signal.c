/* Signal delivery latency: from just before kill() to the loop's handler
 * (an ordinary callback on the loop's thread).
 *
 *   aio_signal [rounds=2000] [mode]    mode: loop | other | busy | threadsafe | all (default)
 *
 *   loop        the loop idles in its poll and the kernel runs the signal
 *               handler on the loop's own thread (pthread_kill): the poll
 *               returns EINTR and the loop finds the flag at once;
 *   other       the loop's thread blocks the signal, so the handler runs on
 *               the sender's thread and wakes the loop through its fd;
 *   busy        the loop runs a callback chain (its polls make no system
 *               call): the flag is seen at the next poll, at most
 *               poll_budget callbacks later;
 *   threadsafe  for comparison, no signal: aio_call_soon_threadsafe from
 *               the sender's thread to the idle loop.
 * One round at a time: the sender waits for the handler before the next
 * (and 50 us more, so that the loop is idle again). Prints one JSON line
 * per mode with the median, 90th and 99th percentile and the maximum.
 * BUDGET=n in the environment sets the loop's poll_budget (busy mode). */
#include "bench.h"

#include <aio/aio.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sched.h>

enum { M_LOOP, M_OTHER, M_BUSY, M_THREADSAFE };
static const char *const mode_names[] = {"loop", "other", "busy", "threadsafe"};

typedef struct shared {
    aio_loop *loop;
    pthread_t loop_thread;
    int mode, n, i;
    atomic_llong t0;
    atomic_int acked;
    int64_t *lat;
} shared;

static void arrived(aio_loop *loop, shared *s) {
    s->lat[s->i++] = bench_now_ns() - atomic_load(&s->t0);
    atomic_store(&s->acked, 1);
    if (s->i == s->n)
        aio_loop_stop(loop);
}

static void on_signal(aio_loop *loop, int signo, void *arg) {
    (void)signo;
    arrived(loop, arg);
}

static void on_call(aio_loop *loop, void *arg) { arrived(loop, arg); }

static void spin(aio_loop *loop, void *arg) {
    shared *s = arg;
    if (s->i < s->n)
        aio_call_soon(loop, spin, s, NULL);
}

static void *sender(void *arg) {
    shared *s = arg;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL); /* (it inherited the loop thread's mask) */
    for (int i = 0; i < s->n; i++) {
        atomic_store(&s->acked, 0);
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
        atomic_store(&s->t0, bench_now_ns());
        switch (s->mode) {
        case M_LOOP:
        case M_BUSY:
            pthread_kill(s->loop_thread, SIGUSR1);
            break;
        case M_OTHER:
            kill(getpid(), SIGUSR1); /* the loop's thread blocks it: ours runs it */
            break;
        default:
            aio_call_soon_threadsafe(s->loop, on_call, s);
        }
        while (!atomic_load(&s->acked))
            sched_yield();
    }
    return NULL;
}

static int cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int run_mode(int mode, int n) {
    shared s = {.mode = mode, .n = n, .loop_thread = pthread_self()};
    s.lat = calloc((size_t)n, sizeof *s.lat);
    aio_loop_options lo = {.poll_budget = getenv("BUDGET") ? (unsigned)atoi(getenv("BUDGET")) : 0};
    if (!s.lat || aio_loop_create(&s.loop, &lo) < 0)
        return 1;
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (mode == M_OTHER)
        pthread_sigmask(SIG_BLOCK, &usr1, &old);
    if (mode != M_THREADSAFE && aio_add_signal_handler(s.loop, SIGUSR1, on_signal, &s) < 0)
        return 1;
    aio_loop_ref(s.loop); /* threadsafe mode: the loop must wait for the sender */
    if (mode == M_BUSY)
        aio_call_soon(s.loop, spin, &s, NULL);
    pthread_t th;
    pthread_create(&th, NULL, sender, &s);
    int rc = aio_run_forever(s.loop);
    pthread_join(th, NULL);
    if (mode == M_OTHER)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    aio_loop_unref(s.loop);
    aio_loop_free(s.loop);
    if (rc < 0)
        return 1;
    qsort(s.lat, (size_t)n, sizeof *s.lat, cmp);
    printf("{\"workload\":\"signal\",\"system\":\"libaio\",\"variant\":\"%s\",\"n\":%d,"
           "\"median_ns\":%lld,\"p90_ns\":%lld,\"p99_ns\":%lld,\"max_ns\":%lld}\n",
           mode_names[mode], n, (long long)s.lat[n / 2], (long long)s.lat[n * 9 / 10],
           (long long)s.lat[n * 99 / 100], (long long)s.lat[n - 1]);
    free(s.lat);
    return 0;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    const char *which = argc > 2 ? argv[2] : "all";
    if (n < 1)
        n = 1;
    int rc = 0;
    for (int m = 0; m < 4; m++)
        if (strcmp(which, "all") == 0 || strcmp(which, mode_names[m]) == 0)
            rc |= run_mode(m, n);
    return rc;
}
