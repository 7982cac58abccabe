/* aio_call_soon_threadsafe and the cross-thread wakeup: many threads at
 * once lose nothing and keep their own order; many calls cost one wakeup;
 * a blocked loop wakes; aio_loop_ref / unref and deadlock detection; close.
 *
 * Posting threads only call aio_call_soon_threadsafe; the callbacks and
 * every assertion run on the test's thread. */
#include "support.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define NTHREADS 8
#define PER_THREAD 20000

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct counts {
    long total;
    long next[NTHREADS]; /* next sequence number expected from each thread */
    int out_of_order;
    long expected;
} counts;

typedef struct msg {
    counts *c;
    int thread;
    long seq;
} msg;

static void on_msg(aio_loop *loop, void *arg) {
    msg *m = arg;
    counts *c = m->c;
    if (m->seq != c->next[m->thread])
        c->out_of_order++;
    c->next[m->thread] = m->seq + 1;
    if (++c->total == c->expected)
        aio_loop_stop(loop);
}

typedef struct poster {
    aio_loop *loop;
    pthread_barrier_t *start;
    msg *msgs; /* PER_THREAD of them */
    int failures;
} poster;

static void *post_all(void *arg) {
    poster *p = arg;
    pthread_barrier_wait(p->start);
    for (long i = 0; i < PER_THREAD; i++)
        if (aio_call_soon_threadsafe(p->loop, on_msg, &p->msgs[i]) != 0)
            p->failures++;
    return NULL;
}

/* 8 threads post at once while the loop runs: nothing lost, each thread's
 * calls run in the order made. */
static void TS_eight_threads(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    static msg msgs[NTHREADS][PER_THREAD];
    counts c;
    memset(&c, 0, sizeof c);
    c.expected = (long)NTHREADS * PER_THREAD;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, NTHREADS + 1);
    pthread_t th[NTHREADS];
    poster ps[NTHREADS];
    assert_int_equal(aio_loop_ref(loop), 0); /* the posters may come late */
    for (int t = 0; t < NTHREADS; t++) {
        for (long i = 0; i < PER_THREAD; i++)
            msgs[t][i] = (msg){&c, t, i};
        ps[t] = (poster){loop, &start, msgs[t], 0};
        assert_int_equal(pthread_create(&th[t], NULL, post_all, &ps[t]), 0);
    }
    pthread_barrier_wait(&start);
    assert_int_equal(aio_run_forever(loop), 0);
    for (int t = 0; t < NTHREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(ps[t].failures, 0);
        assert_int_equal(c.next[t], PER_THREAD);
    }
    assert_int_equal(c.total, c.expected);
    assert_int_equal(c.out_of_order, 0);
    assert_int_equal(aio_loop_unref(loop), 0);
    pthread_barrier_destroy(&start);
    assert_int_equal(aio_loop_free(loop), 0);
}

static void stop_cb(aio_loop *loop, void *arg) {
    (void)arg;
    aio_loop_stop(loop);
}

static void count_cb(aio_loop *loop, void *arg) {
    (void)loop;
    (*(long *)arg)++;
}

static void *post_10000(void *arg) {
    poster *p = arg;
    for (int i = 0; i < 10000; i++)
        if (aio_call_soon_threadsafe(p->loop, count_cb, p->msgs) != 0)
            p->failures++;
    if (aio_call_soon_threadsafe(p->loop, stop_cb, NULL) != 0)
        p->failures++;
    return NULL;
}

/* 10,000 calls made while the loop is not running are collected by one
 * drain and run in one iteration, after one poll. */
static void TS_many_calls_one_wakeup(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    long n = 0;
    poster p = {loop, NULL, (msg *)(void *)&n, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, post_10000, &p), 0);
    pthread_join(th, NULL);
    assert_int_equal(p.failures, 0);
    aio_loop_stats before, after;
    assert_int_equal(aio_loop_get_stats(loop, &before), 0);
    assert_int_equal(aio_run_forever(loop), 0); /* the last call stops it */
    assert_int_equal(aio_loop_get_stats(loop, &after), 0);
    assert_int_equal(n, 10000);
    assert_int_equal(after.iterations - before.iterations, 1);
    assert_int_equal(after.polls - before.polls, 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

typedef struct later {
    aio_loop *loop;
    int ms;
    int unref; /* 1: aio_loop_unref instead of posting */
    int rc;
} later;

static void *act_later(void *arg) {
    later *l = arg;
    sleep_ms(l->ms);
    l->rc = l->unref ? aio_loop_unref(l->loop) : aio_call_soon_threadsafe(l->loop, stop_cb, NULL);
    return NULL;
}

/* A loop blocked in its poll (no timers, no fds) wakes for another
 * thread's call. */
static void TS_wakes_blocked_loop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    assert_int_equal(aio_loop_ref(loop), 0);
    later l = {loop, 50, 0, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, act_later, &l), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    pthread_join(th, NULL);
    assert_int_equal(l.rc, 0);
    assert_int_equal(aio_loop_unref(loop), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Without a reference the loop reports its deadlock; dropping the last
 * reference from another thread wakes a blocked loop, which then does. */
static void TS_ref_and_deadlock(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    assert_int_equal(aio_loop_unref(loop), AIO_ENOREF);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(aio_loop_ref(loop), 0);
    later l = {loop, 50, 1, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, act_later, &l), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    pthread_join(th, NULL);
    assert_int_equal(l.rc, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* From the loop thread too; errors; AIO_ECLOSED after close; calls queued
 * before the close are dropped, never run. */
static void TS_errors_and_close(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    long n = 0;
    assert_int_equal(aio_call_soon_threadsafe(NULL, count_cb, &n), -EINVAL);
    assert_int_equal(aio_call_soon_threadsafe(loop, NULL, &n), -EINVAL);
    assert_int_equal(aio_loop_ref(NULL), -EINVAL);
    assert_int_equal(aio_loop_unref(NULL), -EINVAL);
    assert_int_equal(aio_call_soon_threadsafe(loop, count_cb, &n), 0);
    assert_int_equal(aio_call_soon_threadsafe(loop, stop_cb, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(n, 1);
    assert_int_equal(aio_call_soon_threadsafe(loop, count_cb, &n), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(aio_call_soon_threadsafe(loop, count_cb, &n), AIO_ECLOSED);
    assert_int_equal(n, 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Virtual clock: a call from another thread still wakes the loop. */
static void TS_virtual_clock(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    assert_int_equal(aio_loop_ref(loop), 0);
    later l = {loop, 20, 0, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, act_later, &l), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    pthread_join(th, NULL);
    assert_int_equal(l.rc, 0);
    assert_int_equal(aio_loop_unref(loop), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(TS_eight_threads),      cmocka_unit_test(TS_many_calls_one_wakeup),
        cmocka_unit_test(TS_wakes_blocked_loop), cmocka_unit_test(TS_ref_and_deadlock),
        cmocka_unit_test(TS_errors_and_close),   cmocka_unit_test(TS_virtual_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
