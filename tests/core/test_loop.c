/* The event loop: creation, call_soon FIFO, timers and their ordering,
 * handle cancellation, run/stop/close contracts, deadlock detection, the
 * virtual clock and the stats counters. Case ids (LOOP-*) are those of the
 * asyncio acceptance cases. */
#include "support.h"

#include <math.h> /* NAN, INFINITY */
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ------------------------------------------------------------ */

/* An ordered log of callback tags, with the loop time each one saw. */
typedef struct log {
    int tags[256];
    int64_t when[256];
    int n;
} log_t;

typedef struct entry {
    log_t *log;
    int tag;
} entry;

static void log_cb(aio_loop *loop, void *arg) {
    entry *e = arg;
    assert_true(e->log->n < 256);
    e->log->when[e->log->n] = aio_loop_time_ns(loop);
    e->log->tags[e->log->n++] = e->tag;
}

static void assert_tags(const log_t *l, const int *expect, int n) {
    assert_int_equal(l->n, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(l->tags[i], expect[i]);
}

static void stop_cb(aio_loop *loop, void *arg) {
    (void)arg;
    assert_int_equal(aio_loop_stop(loop), 0);
}

static void count_cb(aio_loop *loop, void *arg) {
    (void)loop;
    ++*(int *)arg;
}

static double real_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct noop_frame {
    int unused;
};

static aio_status noop_coro(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_END(t);
}

/* ---- creation ------------------------------------------------------------- */

/* Loops are created with the backend under test (AIO_BACKEND), an explicit
 * backend, or fail with -EINVAL for an unknown one; a fresh loop is not
 * running, not closed, and has zero stats. */
static void loop_create_and_options(void **state) {
    (void)state;
    const char *env = getenv("AIO_BACKEND");
    aio_loop *loop = NULL;
    aio_loop_create(&loop, NULL);
    assert_non_null(loop);
    assert_non_null(aio_loop_backend(loop));
    if (env && *env)
        assert_string_equal(aio_loop_backend(loop), env);
    assert_int_equal(aio_loop_is_closed(loop), 0);
    assert_int_equal(aio_loop_is_running(loop), 0);
    aio_loop_stats st;
    memset(&st, 0xff, sizeof st);
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_true(st.iterations == 0 && st.polls == 0 && st.callbacks == 0);
    assert_int_equal(aio_loop_free(loop), 0);

    aio_loop *l2 = NULL;
    assert_int_equal(aio_loop_create(&l2, NULL), 0);
    assert_non_null(l2);
    if (env && *env)
        assert_string_equal(aio_loop_backend(l2), env);
    assert_int_equal(aio_loop_free(l2), 0);

    aio_loop_options opts = {0};
    opts.backend = "poll"; /* available everywhere */
    aio_loop *lp = NULL;
    assert_int_equal(aio_loop_create(&lp, &opts), 0);
    assert_string_equal(aio_loop_backend(lp), "poll");
    assert_int_equal(aio_loop_free(lp), 0);

    opts.backend = "no-such-backend";
    aio_loop *bad = NULL;
    assert_int_equal(aio_loop_create(&bad, &opts), -EINVAL);
    assert_null(bad);
    assert_int_equal(aio_loop_create(NULL, NULL), -EINVAL);

    assert_int_equal(aio_loop_free(NULL), 0);
    assert_int_equal(aio_loop_close(NULL), -EINVAL);
    assert_int_equal(aio_loop_is_closed(NULL), -EINVAL);
    assert_int_equal(aio_loop_get_stats(NULL, &st), -EINVAL);
    assert_int_equal(aio_loop_set_exception_handler(NULL, NULL, NULL), -EINVAL);
}

/* ---- call_soon -------------------------------------------------------------- */

/* LOOP-01: the ready queue is FIFO, each callback runs exactly once, with
 * its own argument. */
static void LOOP_01_call_soon_fifo(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    log_t l = {0};
    entry e[100];
    for (int i = 0; i < 100; i++) {
        e[i] = (entry){&l, i};
        assert_int_equal(aio_call_soon(loop, log_cb, &e[i], NULL), 0);
    }
    test_run_iterations(loop, 1);
    assert_int_equal(l.n, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(l.tags[i], i);
    test_run_iterations(loop, 2);
    assert_int_equal(l.n, 100);
    assert_int_equal(aio_loop_free(loop), 0);
}

static void schedule_next(aio_loop *loop, void *arg) {
    entry *e = arg;
    log_cb(loop, e);
    assert_int_equal(aio_call_soon(loop, log_cb, e + 1, NULL), 0);
}

/* A callback scheduled by a callback runs in the next iteration, not in
 * the current one. */
static void call_soon_from_callback_runs_next_iteration(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    log_t l = {0};
    entry e[2] = {{&l, 1}, {&l, 2}};
    assert_int_equal(aio_call_soon(loop, schedule_next, &e[0], NULL), 0);
    test_run_iterations(loop, 1);
    assert_tags(&l, (int[]){1}, 1);
    test_run_iterations(loop, 1);
    assert_tags(&l, (int[]){1, 2}, 2);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Argument checks of the scheduling calls. */
static void scheduling_argument_errors(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int n = 0;
    assert_int_equal(aio_call_soon(NULL, count_cb, &n, NULL), -EINVAL);
    assert_int_equal(aio_call_soon(loop, NULL, &n, NULL), -EINVAL);
    assert_int_equal(aio_call_later(NULL, 1.0, count_cb, &n, NULL), -EINVAL);
    assert_int_equal(aio_call_later(loop, 1.0, NULL, &n, NULL), -EINVAL);
    assert_int_equal(aio_call_at(loop, 1.0, NULL, &n, NULL), -EINVAL);
    /* LOOP-03: a delay that is not a number is refused (asyncio's TypeError). */
    assert_int_equal(aio_call_later(loop, NAN, count_cb, &n, NULL), -EINVAL);
    assert_int_equal(aio_call_later(loop, INFINITY, count_cb, &n, NULL), -EINVAL);
    assert_int_equal(aio_call_later(loop, -INFINITY, count_cb, &n, NULL), -EINVAL);
    assert_int_equal(aio_call_at(loop, NAN, count_cb, &n, NULL), -EINVAL);
    assert_int_equal(aio_call_at(loop, INFINITY, count_cb, &n, NULL), -EINVAL);
    /* Nothing was scheduled by the refused calls. */
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(n, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- timers ------------------------------------------------------------------ */

/* LOOP-03: timers fire by deadline, not by arming order, at exactly their
 * deadline on the virtual clock; call_at takes an absolute time. */
static void LOOP_03_timers_fire_by_deadline(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    log_t l = {0};
    entry a = {&l, 1}, b = {&l, 2}, c = {&l, 3};
    assert_int_equal(aio_call_later(loop, 0.2, log_cb, &a, NULL), 0);
    assert_int_equal(aio_call_later(loop, 0.1, log_cb, &b, NULL), 0);
    assert_int_equal(aio_call_at(loop, 0.15, log_cb, &c, NULL), 0);
    assert_int_equal(aio_call_later(loop, 0.3, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_tags(&l, (int[]){2, 3, 1}, 3);
    assert_int_equal(l.when[0], 100000000);
    assert_int_equal(l.when[1], 150000000);
    assert_int_equal(l.when[2], 200000000);
    assert_int_equal(aio_loop_time_ns(loop), 300000000);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* LOOP-03: negative delays are allowed and keep their order, as in asyncio:
 * the deadline is now + delay, so call_later(-1, a) then call_later(-2, b)
 * gives [b, a]; call_at(-1.0, c) shares a's deadline and was armed after it.
 * All are due at once and run in the first iteration. */
static void LOOP_03_negative_delays_fire_by_deadline(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    log_t l = {0};
    entry a = {&l, 1}, b = {&l, 2}, c = {&l, 3};
    assert_int_equal(aio_call_later(loop, -1.0, log_cb, &a, NULL), 0);
    assert_int_equal(aio_call_later(loop, -2.0, log_cb, &b, NULL), 0);
    assert_int_equal(aio_call_at(loop, -1.0, log_cb, &c, NULL), 0);
    assert_int_equal(aio_call_later(loop, 0.0, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_tags(&l, (int[]){2, 1, 3}, 3);
    assert_int_equal(l.when[0], 0);
    assert_int_equal(l.when[1], 0);
    assert_int_equal(l.when[2], 0);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_int_equal(st.iterations, 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Iteration step 2 of aio/loop.h ("move every due timer to the ready
 * queue") is not conditional on the poll of step 1: a timer already due
 * (zero delay, clock not moving) runs in the next iteration even while the
 * ready queue stays busy. */
static void due_timers_collected_every_iteration(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int n = 0;
    assert_int_equal(aio_call_later(loop, 0.0, count_cb, &n, NULL), 0);
    test_run_iterations(loop, 1);
    assert_int_equal(n, 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* LOOP-03: a timer 10 s away does not run while the ready queue keeps the
 * loop busy (the virtual clock does not move then). */
static void LOOP_03_far_timer_not_ready(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int n = 0;
    assert_int_equal(aio_call_later(loop, 10.0, count_cb, &n, NULL), 0);
    test_run_iterations(loop, 3);
    assert_int_equal(n, 0);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

typedef struct real_timer {
    double loop_at_arm, loop_at_fire;
    double real_at_fire;
} real_timer;

static void real_timer_cb(aio_loop *loop, void *arg) {
    real_timer *r = arg;
    r->loop_at_fire = aio_loop_time(loop);
    r->real_at_fire = real_now();
    aio_loop_stop(loop);
}

/* LOOP-03: on the real clock a timer never fires before its delay has
 * passed in loop time, nor (within the clock's caching) in real time. */
static void LOOP_03_real_clock_timer_not_early(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    real_timer r = {0};
    double t0 = real_now();
    r.loop_at_arm = aio_loop_time(loop);
    assert_int_equal(aio_call_later(loop, 0.02, real_timer_cb, &r, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_true(r.loop_at_fire - r.loop_at_arm >= 0.02 - 1e-9);
    assert_true(r.real_at_fire - t0 >= 0.02 - 0.01);
    assert_true(r.real_at_fire - t0 < 5.0);
    assert_true(aio_loop_time(loop) >= r.loop_at_fire);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Timers with equal deadlines fire in the order they were armed, whether
 * armed by call_later or call_at, interleaved with other deadlines. */
static void timers_equal_deadlines_fifo(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    log_t l = {0};
    entry e[60];
    for (int i = 0; i < 60; i++) {
        e[i] = (entry){&l, i};
        int rc;
        if (i % 3 == 0)
            rc = aio_call_later(loop, 1.0, log_cb, &e[i], NULL);
        else if (i % 3 == 1)
            rc = aio_call_at(loop, 1.0, log_cb, &e[i], NULL);
        else
            rc = aio_call_at(loop, 0.5, log_cb, &e[i], NULL);
        assert_int_equal(rc, 0);
    }
    assert_int_equal(aio_call_later(loop, 2.0, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(l.n, 60);
    int k = 0;
    for (int i = 2; i < 60; i += 3, k++) {
        assert_int_equal(l.tags[k], i);
        assert_int_equal(l.when[k], 500000000);
    }
    for (int i = 0; i < 60; i++) {
        if (i % 3 == 2)
            continue;
        assert_int_equal(l.tags[k], i);
        assert_int_equal(l.when[k], 1000000000);
        k++;
    }
    assert_int_equal(aio_loop_free(loop), 0);
}

static void rearm_zero(aio_loop *loop, void *arg) {
    int *n = arg;
    if (++*n == 5)
        assert_int_equal(aio_loop_stop(loop), 0);
    else
        assert_int_equal(aio_call_later(loop, 0.0, rearm_zero, arg, NULL), 0);
}

/* A zero-delay timer re-armed from its own callback runs once per
 * iteration: it is collected before the callbacks run, never during. */
static void zero_delay_timer_rearmed_runs_once_per_iteration(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int n = 0;
    assert_int_equal(aio_call_later(loop, 0.0, rearm_zero, &n, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(n, 5);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_int_equal(st.iterations, 5);
    assert_int_equal(st.callbacks, 5);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- handle cancellation ------------------------------------------------------ */

/* LOOP-05: a cancelled call_soon never runs; cancel returns 1 then 0; a
 * handle of a callback that already ran cancels nothing (0). */
static void LOOP_05_cancel_call_soon(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    log_t l = {0};
    entry a = {&l, 1}, b = {&l, 2}, c = {&l, 3};
    aio_handle ha = {0}, hb = {0}, hc = {0};
    assert_int_equal(aio_call_soon(loop, log_cb, &a, &ha), 0);
    assert_int_equal(aio_call_soon(loop, log_cb, &b, &hb), 0);
    assert_int_equal(aio_call_soon(loop, log_cb, &c, &hc), 0);
    assert_true(ha.id != 0 && hb.id != 0 && hc.id != 0);
    assert_true(ha.id != hb.id && hb.id != hc.id);
    assert_int_equal(aio_handle_cancel(loop, hb), 1);
    assert_int_equal(aio_handle_cancel(loop, hb), 0);
    test_run_iterations(loop, 2);
    assert_tags(&l, (int[]){1, 3}, 2);
    assert_int_equal(aio_handle_cancel(loop, ha), 0);
    assert_int_equal(aio_handle_cancel(loop, hb), 0);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_int_equal(st.callbacks, 4); /* a, c and two iteration steps */
    assert_int_equal(aio_loop_free(loop), 0);
}

/* LOOP-05: a cancelled timer never runs and does not count as pending work:
 * with h1 (+5 s, cancelled) and h2 (+10 s), the clock goes to 10 and only h2
 * runs; a cancelled lone timer leaves a deadlock at time 0. */
static void LOOP_05_cancel_timer(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    log_t l = {0};
    entry a = {&l, 1}, b = {&l, 2};
    aio_handle h1 = {0}, h2 = {0};
    assert_int_equal(aio_call_later(loop, 5.0, log_cb, &a, &h1), 0);
    assert_int_equal(aio_call_later(loop, 10.0, log_cb, &b, &h2), 0);
    assert_true(h1.id != 0 && h2.id != 0 && h1.id != h2.id);
    assert_int_equal(aio_handle_cancel(loop, h1), 1);
    assert_int_equal(aio_handle_cancel(loop, h1), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK); /* h2 ran, then nothing */
    assert_tags(&l, (int[]){2}, 1);
    assert_int_equal(l.when[0], 10000000000);
    assert_int_equal(aio_handle_cancel(loop, h2), 0);

    aio_loop *l2 = test_loop_new(1);
    int n = 0;
    aio_handle h = {0};
    assert_int_equal(aio_call_later(l2, 5.0, count_cb, &n, &h), 0);
    assert_int_equal(aio_handle_cancel(l2, h), 1);
    assert_int_equal(aio_run_until_complete(l2, aio_future_new(l2), NULL), AIO_EDEADLOCK);
    assert_int_equal(aio_loop_time_ns(l2), 0);
    assert_int_equal(n, 0);
    assert_int_equal(aio_loop_free(l2), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

typedef struct canceller {
    aio_handle victim;
    int rc;
    int ran;
} canceller;

static void cancel_victim(aio_loop *loop, void *arg) {
    canceller *c = arg;
    c->ran++;
    c->rc = aio_handle_cancel(loop, c->victim);
}

/* LOOP-05: a callback (or due timer) already queued for this iteration and
 * cancelled by an earlier callback of the same iteration does not run. */
static void LOOP_05_cancel_within_same_iteration(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int n = 0;
    canceller c = {{0}, -100, 0};
    assert_int_equal(aio_call_soon(loop, cancel_victim, &c, NULL), 0);
    assert_int_equal(aio_call_soon(loop, count_cb, &n, &c.victim), 0);
    test_run_iterations(loop, 2);
    assert_int_equal(c.ran, 1);
    assert_int_equal(c.rc, 1);
    assert_int_equal(n, 0);

    canceller t = {{0}, -100, 0};
    assert_int_equal(aio_call_later(loop, 1.0, cancel_victim, &t, NULL), 0);
    assert_int_equal(aio_call_later(loop, 1.0, count_cb, &n, &t.victim), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(t.ran, 1);
    assert_int_equal(t.rc, 1);
    assert_int_equal(n, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* aio_handle_cancel on bad handles: the null handle, a NULL loop, another
 * loop's handle; an old timer handle never cancels the timer that reused
 * its slot. */
static void handle_cancel_bad_handles(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1), *other = test_loop_new(1);
    aio_handle null_h = {0};
    assert_int_equal(aio_handle_cancel(loop, null_h), AIO_ENULL);

    int n = 0;
    aio_handle hs = {0}, ht = {0};
    assert_int_equal(aio_call_soon(other, count_cb, &n, &hs), 0);
    assert_int_equal(aio_call_later(other, 1.0, count_cb, &n, &ht), 0);
    assert_int_equal(aio_handle_cancel(NULL, hs), -EINVAL);
    assert_int_equal(aio_handle_cancel(loop, hs), AIO_EFOREIGN);
    assert_int_equal(aio_handle_cancel(loop, ht), AIO_EFOREIGN);
    /* ... and they are still live on their own loop. */
    assert_int_equal(aio_run_forever(other), AIO_EDEADLOCK);
    assert_int_equal(n, 2);

    aio_handle old = {0};
    assert_int_equal(aio_call_later(loop, 1.0, count_cb, &n, &old), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(n, 3);
    aio_handle fresh[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(aio_call_later(loop, 1.0, count_cb, &n, &fresh[i]), 0);
    int rc = aio_handle_cancel(loop, old);
    assert_true(rc == 0 || rc == AIO_ESTALE);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(n, 11);
    assert_int_equal(aio_loop_free(other), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- run / stop / close ---------------------------------------------------------- */

typedef struct nested {
    aio_future fut;
    int run_rc, forever_rc, close_rc, free_rc, running, closed;
} nested;

static void try_nested(aio_loop *loop, void *arg) {
    nested *n = arg;
    n->running = aio_loop_is_running(loop);
    aio_future g = aio_future_new(loop);
    n->run_rc = aio_run_until_complete(loop, aio_future_retain(loop, g), NULL);
    aio_future_release(loop, g);
    aio_future_release(loop, g); /* if the nested run did not consume it */
    n->forever_rc = aio_run_forever(loop);
    n->close_rc = aio_loop_close(loop);
    n->free_rc = aio_loop_free(loop);
    n->closed = aio_loop_is_closed(loop);
    assert_int_equal(aio_future_set_result(loop, n->fut, AIO_VALUE(1042)), 0);
}

/* LOOP-06: run_until_complete returns the result; from inside the running
 * loop, runs, close and free are refused with AIO_ERUNNING and change
 * nothing; a future of another loop is AIO_EFOREIGN, a stale one
 * AIO_ESTALE. */
static void LOOP_06_run_until_complete_contract(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    nested n = {aio_future_new(loop), -100, -100, -100, -100, -100, -100};
    assert_int_equal(aio_call_soon(loop, try_nested, &n, NULL), 0);
    aio_value v = AIO_NONE;
    assert_int_equal(aio_run_until_complete(loop, n.fut, &v), 0);
    assert_int_equal(v.i, 1042);
    assert_int_equal(n.running, 1);
    assert_int_equal(n.run_rc, AIO_ERUNNING);
    assert_int_equal(n.forever_rc, AIO_ERUNNING);
    assert_int_equal(n.close_rc, AIO_ERUNNING);
    assert_int_equal(n.free_rc, AIO_ERUNNING);
    assert_int_equal(n.closed, 0);
    assert_int_equal(aio_loop_is_running(loop), 0);

    aio_loop *other = test_loop_new(1);
    aio_future fo = aio_future_new(other);
    assert_int_equal(aio_run_until_complete(loop, fo, NULL), AIO_EFOREIGN);
    assert_int_equal(aio_future_release(other, fo), 0);
    assert_int_equal(aio_loop_free(other), 0);

    aio_future stale = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, stale, AIO_NONE), 0);
    assert_int_equal(aio_future_release(loop, stale), 0);
    assert_int_equal(aio_run_until_complete(loop, stale, NULL), AIO_ESTALE);
    assert_int_equal(aio_run_until_complete(NULL, stale, NULL), -EINVAL);

    /* Still usable. */
    assert_int_equal(aio_run_until_complete(loop, aio_sleep_value(loop, 1.0, 5), &v), 0);
    assert_int_equal(v.i, 5);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Nothing left that could complete the future (or stop the loop): the run
 * returns AIO_EDEADLOCK instead of hanging, after running what there was. */
static void deadlock_detected(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_new(loop), NULL), AIO_EDEADLOCK);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);

    int n = 0;
    log_t l = {0};
    entry e[3] = {{&l, 1}, {&l, 2}, {&l, 3}};
    assert_int_equal(aio_call_soon(loop, schedule_next, &e[0], NULL), 0);
    assert_int_equal(aio_call_later(loop, 3.0, count_cb, &n, NULL), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_tags(&l, (int[]){1, 2}, 2);
    assert_int_equal(n, 1);
    assert_int_equal(aio_loop_time_ns(loop), 3000000000);
    assert_int_equal(aio_loop_is_running(loop), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

static void stop_and_schedule(aio_loop *loop, void *arg) {
    entry *e = arg;
    log_cb(loop, e);
    assert_int_equal(aio_call_soon(loop, log_cb, e + 1, NULL), 0);
    assert_int_equal(aio_call_soon(loop, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_loop_stop(loop), 0);
}

/* stop returns after the current iteration; what was scheduled for the
 * next one stays queued and runs on the next run. */
static void stop_keeps_next_iteration_queued(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    log_t l = {0};
    entry e[2] = {{&l, 1}, {&l, 2}};
    assert_int_equal(aio_call_soon(loop, stop_and_schedule, &e[0], NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_tags(&l, (int[]){1}, 1);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_tags(&l, (int[]){1, 2}, 2);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_int_equal(st.iterations, 2);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A stop before the future completes makes run_until_complete return
 * AIO_ESTOPPED; the future can be awaited again and completes normally. */
static void stop_interrupts_run_until_complete(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future s = aio_sleep_value(loop, 10.0, 8);
    assert_int_equal(aio_call_later(loop, 1.0, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, s), NULL), AIO_ESTOPPED);
    assert_int_equal(aio_loop_time_ns(loop), 1000000000);
    assert_int_equal(aio_future_done(loop, s), 0);
    aio_value v = AIO_NONE;
    assert_int_equal(aio_run_until_complete(loop, s, &v), 0);
    assert_int_equal(v.i, 8);
    assert_int_equal(aio_loop_time_ns(loop), 10000000000);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* LOOP-08: a closed loop: is_closed goes 0 -> 1, close is idempotent, and
 * every run and scheduling call gives AIO_ECLOSED. */
static void LOOP_08_closed_loop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int n = 0;
    assert_int_equal(aio_loop_is_closed(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(aio_loop_is_closed(loop), 1);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(aio_loop_is_closed(loop), 1);

    assert_int_equal(aio_run_forever(loop), AIO_ECLOSED);
    aio_future f = aio_future_new(loop);
    assert_int_equal(aio_future_check(f), AIO_ECLOSED);
    assert_int_equal(aio_run_until_complete(loop, f, NULL), AIO_ECLOSED);
    assert_int_equal(aio_call_soon(loop, count_cb, &n, NULL), AIO_ECLOSED);
    assert_int_equal(aio_call_later(loop, 1.0, count_cb, &n, NULL), AIO_ECLOSED);
    assert_int_equal(aio_call_at(loop, 1.0, count_cb, &n, NULL), AIO_ECLOSED);
    assert_int_equal(aio_future_check(aio_sleep(loop, 0.0)), AIO_ECLOSED);
    aio_future t = aio_create_task(loop, noop_coro, &(struct noop_frame){0});
    assert_int_equal(aio_future_check(t), AIO_ECLOSED);
    assert_int_equal(n, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

static void count_done(aio_loop *loop, aio_future f, void *arg) {
    (void)loop;
    (void)f;
    ++*(int *)arg;
}

/* Closing drops everything still scheduled (callbacks, timers, done
 * callbacks of pending and just-completed futures): nothing runs during or
 * after the close, and freeing the loop releases it all (checked by
 * ASan/valgrind). */
static void close_drops_scheduled_work(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int n = 0, done = 0;
    assert_int_equal(aio_call_soon(loop, count_cb, &n, NULL), 0);
    assert_int_equal(aio_call_later(loop, 1.0, count_cb, &n, NULL), 0);
    for (int i = 0; i < 100; i++) {
        aio_future f = aio_future_new(loop);
        assert_int_equal(aio_future_add_done_callback(loop, f, count_done, &done), 0);
        if (i % 2)
            assert_int_equal(aio_future_set_result(loop, f, AIO_VALUE(i)), 0);
        if (i % 4 < 2) /* half the references are kept, half dropped */
            assert_int_equal(aio_future_release(loop, f), 0);
    }
    aio_future s = aio_sleep(loop, 5.0);
    assert_int_equal(aio_future_check(s), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(n, 0);
    assert_int_equal(done, 0);
    assert_int_equal(aio_run_forever(loop), AIO_ECLOSED);
    assert_int_equal(n, 0);
    assert_int_equal(done, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- clocks ------------------------------------------------------------------------ */

/* The virtual clock starts at 0 and moves only by jumping to the next
 * timer or by aio_loop_advance; advance refuses bad amounts and real clocks. */
static void virtual_clock_and_advance(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_true(aio_loop_time(loop) == 0.0);
    assert_int_equal(aio_loop_advance(loop, 1.5), 0);
    assert_int_equal(aio_loop_time_ns(loop), 1500000000);
    assert_true(aio_loop_time(loop) == 1.5);
    assert_int_equal(aio_loop_advance(loop, 0.0), 0);
    assert_int_equal(aio_loop_advance(loop, -1.0), -EINVAL);
    assert_int_equal(aio_loop_advance(loop, NAN), -EINVAL);
    assert_int_equal(aio_loop_advance(NULL, 1.0), -EINVAL);
    assert_int_equal(aio_loop_time_ns(loop), 1500000000);

    /* A timer that falls due by an advance fires in the following
     * iterations and sees the advanced time. */
    log_t l = {0};
    entry e = {&l, 1};
    assert_int_equal(aio_call_later(loop, 5.0, log_cb, &e, NULL), 0);
    assert_int_equal(aio_loop_advance(loop, 10.0), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(aio_call_later(loop, 0.0, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_tags(&l, (int[]){1}, 1);
    assert_int_equal(l.when[0], 11500000000);

    aio_loop *real = test_loop_new(0);
    assert_int_equal(aio_loop_advance(real, 1.0), -EINVAL);
    assert_int_equal(aio_loop_free(real), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* The real clock is monotonic and its two readings agree. */
static void real_clock_monotonic(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    double t0 = aio_loop_time(loop);
    int64_t n0 = aio_loop_time_ns(loop);
    double diff = t0 - (double)n0 * 1e-9;
    assert_true(diff > -1e-3 && diff < 1e-3);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 0.005), NULL), 0);
    assert_true(aio_loop_time(loop) >= t0 + 0.005 - 1e-9);
    assert_true(aio_loop_time_ns(loop) >= n0 + 5000000);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* LOOP-10: tiny timeouts must not busy-spin: sleeping 1e-2, 1e-4, 1e-6,
 * 1e-8 and 1e-10 s in sequence takes at most 20 loop iterations. */
static void LOOP_10_tiny_timeouts_do_not_spin(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    const double delays[] = {1e-2, 1e-4, 1e-6, 1e-8, 1e-10};
    double t0 = real_now();
    for (int i = 0; i < 5; i++)
        assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, delays[i]), NULL), 0);
    assert_true(real_now() - t0 >= 1e-2 - 2e-3);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_true(st.iterations <= 20);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- stats and handler ----------------------------------------------------------------- */

/* Stats count iterations and the callbacks run exactly; waiting polls. */
static void stats_count_exactly(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int n = 0;
    for (int i = 0; i < 5; i++)
        assert_int_equal(aio_call_soon(loop, count_cb, &n, NULL), 0);
    test_run_iterations(loop, 1);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_int_equal(st.iterations, 1);
    assert_int_equal(st.callbacks, 6);
    test_run_iterations(loop, 4);
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_int_equal(st.iterations, 5);
    assert_int_equal(st.callbacks, 10);

    assert_int_equal(n, 5);
    assert_int_equal(aio_loop_free(loop), 0);

    /* A loop waiting for a timer on the real clock polls the backend. */
    aio_loop *real = test_loop_new(0);
    assert_int_equal(aio_call_later(real, 0.001, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_forever(real), 0);
    assert_int_equal(aio_loop_get_stats(real, &st), 0);
    assert_true(st.polls >= 1);
    assert_int_equal(st.callbacks, 1);
    assert_int_equal(aio_loop_free(real), 0);
}

/* ---- lazy timer cancel ---- */

/* Arming and cancelling long timeouts over and over (what wait_for does)
 * keeps the heap bounded: cancelled entries are dropped once they are the
 * majority, and never count as armed timers. */
static void timers_cancel_keeps_heap_bounded(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int n = 0;
    aio_handle keep;
    assert_int_equal(aio_call_later(loop, 10.0, count_cb, &n, &keep), 0);
    aio_loop_stats st;
    for (int i = 0; i < 100000; i++) {
        aio_handle h;
        assert_int_equal(aio_call_later(loop, 3600.0 + i, count_cb, &n, &h), 0);
        assert_int_equal(aio_handle_cancel(loop, h), 1);
        assert_int_equal(aio_handle_cancel(loop, h), 0); /* once only */
        assert_int_equal(aio_loop_get_stats(loop, &st), 0);
        assert_int_equal(st.timers, 1);
        assert_true(st.timer_entries <= 2 * st.timers + 66);
    }
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK); /* after the one kept */
    assert_int_equal(n, 1);
    assert_int_equal(aio_loop_time_ns(loop), 10000000000);
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_int_equal(st.timers, 0);
    assert_int_equal(st.timer_entries, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Cancelled timers (too few to trigger a rebuild) neither wake the loop
 * nor hide a deadlock: on the real clock, the loop reports AIO_EDEADLOCK at
 * once instead of sleeping an hour. */
static void timers_cancelled_do_not_keep_loop_waiting(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int n = 0;
    aio_handle h[10];
    for (int i = 0; i < 10; i++)
        assert_int_equal(aio_call_later(loop, 3600.0 - i, count_cb, &n, &h[i]), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(aio_handle_cancel(loop, h[i]), 1);
    double t0 = aio_loop_time(loop);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_true(aio_loop_time(loop) - t0 < 60.0);
    assert_int_equal(n, 0);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_int_equal(st.timer_entries, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

typedef struct fired_log {
    int *order;
    int n;
} fired_log;

typedef struct random_timer {
    fired_log *log;
    int id;
} random_timer;

static void record_fire(aio_loop *loop, void *arg) {
    (void)loop;
    random_timer *r = arg;
    r->log->order[r->log->n++] = r->id;
}

/* 20,000 timers with random deadlines (many equal), 60% of them cancelled
 * in random order (so the heap is rebuilt several times on the way): the
 * others fire exactly once each, by deadline, equal deadlines in arming
 * order, and the cancelled ones never. */
static void timers_random_cancel_keeps_order(void **state) {
    (void)state;
    enum { N = 20000 };
    aio_loop *loop = test_loop_new(1);
    random_timer *t = calloc(N, sizeof *t);
    aio_handle *h = calloc(N, sizeof *h);
    int *delay_ms = calloc(N, sizeof *delay_ms), *perm = calloc(N, sizeof *perm);
    fired_log log = {calloc(N, sizeof(int)), 0};
    char *cancelled = calloc(N, 1);
    assert_true(t && h && delay_ms && perm && log.order && cancelled);
    uint32_t rng = 12345;
    for (int i = 0; i < N; i++) {
        rng = rng * 1103515245u + 12345u;
        delay_ms[i] = (int)((rng >> 8) % 500); /* 0..499 ms: many ties */
        t[i] = (random_timer){&log, i};
        assert_int_equal(aio_call_later(loop, delay_ms[i] / 1000.0, record_fire, &t[i], &h[i]), 0);
        perm[i] = i;
    }
    for (int i = N - 1; i > 0; i--) { /* shuffle, then cancel the first 60% */
        rng = rng * 1103515245u + 12345u;
        int j = (int)((rng >> 8) % (uint32_t)(i + 1)), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    for (int k = 0; k < N * 6 / 10; k++) {
        assert_int_equal(aio_handle_cancel(loop, h[perm[k]]), 1);
        cancelled[perm[k]] = 1;
    }
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(log.n, N - N * 6 / 10);
    for (int k = 0; k < log.n; k++) {
        int id = log.order[k];
        assert_false(cancelled[id]);
        if (k > 0) {
            int prev = log.order[k - 1];
            assert_true(delay_ms[prev] < delay_ms[id] || (delay_ms[prev] == delay_ms[id] && prev < id));
        }
    }
    assert_int_equal(aio_loop_free(loop), 0);
    free(t), free(h), free(delay_ms), free(perm), free(log.order), free(cancelled);
}

/* ---- the timing wheel: exact order whatever the distance ---- */

typedef struct wheel_test wheel_test;
typedef struct wheel_timer {
    wheel_test *w;
    int64_t deadline; /* loop time it must fire at (virtual clock: exactly) */
    int id;           /* arming order */
    int children;     /* timers it arms when it fires */
} wheel_timer;

struct wheel_test {
    aio_loop *loop;
    int dense; /* delays within 20 us, on a 100 ns grid (ties), not 1 us..100 h */
    wheel_timer *t;
    aio_handle *h;
    char *cancelled, *fired;
    int n, cap, nfired, last_id, errors;
    int64_t last_deadline;
    uint32_t rng;
};

static uint32_t wheel_rand(wheel_test *w) {
    w->rng = w->rng * 1103515245u + 12345u;
    return w->rng >> 8;
}

/* A delay spread over every level: microseconds to past the 78 h overflow. */
static double wheel_delay(wheel_test *w) {
    if (w->dense)
        return (double)(wheel_rand(w) % 200) * 100e-9;
    static const double spans[] = {1e-6, 60e-6, 1e-3, 20e-3, 1.0, 5.0, 600.0, 3600.0, 100 * 3600.0};
    double span = spans[wheel_rand(w) % 9];
    return span * (double)(wheel_rand(w) % 1000) / 1000.0;
}

static void wheel_fire(aio_loop *loop, void *arg);

static void wheel_arm(wheel_test *w, double delay, int children) {
    if (w->n == w->cap)
        return;
    wheel_timer *t = &w->t[w->n];
    *t = (wheel_timer){w, 0, w->n, children};
    int64_t before = aio_loop_time_ns(w->loop);
    assert_int_equal(aio_call_later(w->loop, delay, wheel_fire, t, &w->h[w->n]), 0);
    /* delays round up to whole ns: recompute the deadline the way the loop does */
    double ns = delay * 1e9;
    int64_t whole = (int64_t)ns;
    t->deadline = before + ((double)whole < ns ? whole + 1 : whole);
    w->n++;
}

static void wheel_fire(aio_loop *loop, void *arg) {
    wheel_timer *t = arg;
    wheel_test *w = t->w;
    if (w->cancelled[t->id] || w->fired[t->id] || aio_loop_time_ns(loop) != t->deadline ||
        t->deadline < w->last_deadline || (t->deadline == w->last_deadline && t->id < w->last_id))
        w->errors++;
    w->fired[t->id] = 1;
    w->nfired++;
    w->last_deadline = t->deadline;
    w->last_id = t->id;
    for (int i = 0; i < t->children; i++) /* armed while firing: some due at once */
        wheel_arm(w, i == 0 ? 0.0 : w->dense ? (double)(wheel_rand(w) % 50) * 100e-9 : wheel_delay(w), 0);
    if (wheel_rand(w) % 4 == 0 && w->n > 0) { /* cancel a random one, maybe due */
        int victim = (int)(wheel_rand(w) % (uint32_t)w->n);
        int rc = aio_handle_cancel(loop, w->h[victim]);
        if (rc == 1)
            w->cancelled[victim] = 1;
        else if (!w->fired[victim] && !w->cancelled[victim])
            w->errors++; /* pending, yet not cancellable */
    }
}

/* A wheel test on a virtual-clock loop started at `start_s` (off any
 * bucket boundary), room for `cap` timers. */
static void wheel_test_start(wheel_test *w, int cap, uint32_t seed, int dense, double start_s) {
    *w = (wheel_test){.dense = dense, .cap = cap, .rng = seed, .last_deadline = INT64_MIN, .last_id = -1};
    w->loop = test_loop_new(1);
    w->t = calloc((size_t)cap, sizeof *w->t);
    w->h = calloc((size_t)cap, sizeof *w->h);
    w->cancelled = calloc((size_t)cap, 1);
    w->fired = calloc((size_t)cap, 1);
    assert_true(w->t && w->h && w->cancelled && w->fired);
    assert_int_equal(aio_loop_advance(w->loop, start_s), 0);
}

/* Run until nothing is left: no ordering or timing error, every timer
 * fired or cancelled (exactly one of the two), more than min_n armed in
 * all, and no timer key left behind. */
static void wheel_test_finish(wheel_test *w, int min_n) {
    assert_int_equal(aio_run_forever(w->loop), AIO_EDEADLOCK);
    assert_int_equal(w->errors, 0);
    int cancelled = 0;
    for (int i = 0; i < w->n; i++) {
        cancelled += w->cancelled[i];
        assert_true(w->fired[i] != w->cancelled[i]);
    }
    assert_int_equal(w->nfired + cancelled, w->n);
    assert_true(w->n > min_n);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(w->loop, &st), 0);
    assert_int_equal(st.timers, 0);
    assert_int_equal(st.timer_entries, 0);
    assert_int_equal(aio_loop_free(w->loop), 0);
    free(w->t), free(w->h), free(w->cancelled), free(w->fired);
}

/* 30,000 timers with delays from 1 us to 100 h (every wheel level and the
 * overflow bucket), some armed by firing timers, a quarter of the firings
 * cancelling a random timer: on the virtual clock each fires exactly at its
 * deadline, in (deadline, arming) order, once, unless it was cancelled. */
static void timers_wheel_random_order_all_levels(void **state) {
    (void)state;
    wheel_test w;
    wheel_test_start(&w, 30000, 777, 0, 12345.678);
    for (int i = 0; i < 10000; i++)
        wheel_arm(&w, wheel_delay(&w), (int)(wheel_rand(&w) % 3));
    wheel_test_finish(&w, 15000);
}

/* 6,000 timers within 20 us on a 100 ns grid: a few level-0 buckets of
 * thousands of keys with many equal deadlines (each bucket is sorted when
 * reached), timers armed while firing landing between sorted keys, and
 * cancels hitting sorted keys: still exact time, order and exactly-once. */
static void timers_wheel_dense_buckets(void **state) {
    (void)state;
    wheel_test w;
    wheel_test_start(&w, 12000, 4242, 1, 3.000001234);
    for (int i = 0; i < 6000; i++)
        wheel_arm(&w, wheel_delay(&w), (int)(wheel_rand(&w) % 2));
    for (int i = 0; i < 6000; i += 5) { /* a fifth cancelled before anything runs */
        assert_int_equal(aio_handle_cancel(w.loop, w.h[i]), 1);
        w.cancelled[i] = 1;
    }
    wheel_test_finish(&w, 8000);
}

typedef struct same_deadline {
    aio_loop *loop;
    log_t *log;
    entry late;
} same_deadline;

static void arm_late_twin(aio_loop *loop, void *arg) {
    same_deadline *s = arg;
    /* 10 us before 5 s: a twin with the same deadline lands in the heap */
    assert_int_equal(aio_call_later(loop, 10e-6, log_cb, &s->late, NULL), 0);
}

/* Two timers with one deadline, the first armed 5 s ahead (deep in the
 * wheel), the second 10 us ahead (straight into the heap): they still fire
 * in arming order. */
static void timers_wheel_equal_deadlines_across_levels(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    log_t l = {0};
    entry early = {&l, 1};
    same_deadline s = {loop, &l, {&l, 2}};
    assert_int_equal(aio_call_later(loop, 5.0, log_cb, &early, NULL), 0);
    assert_int_equal(aio_call_later(loop, 5.0 - 10e-6, arm_late_twin, &s, NULL), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_tags(&l, (int[]){1, 2}, 2);
    assert_int_equal(aio_loop_time_ns(loop), 5000000000);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* The exception handler can be replaced, and reset to the default (the
 * expected "Future exception was never retrieved" line on stderr is its). */
static void exception_handler_set_and_reset(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports r;
    test_collect_reports(loop, &r);
    aio_future f = aio_future_new(loop);
    assert_int_equal(aio_future_set_error(loop, f, -EIO), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(aio_loop_set_exception_handler(loop, NULL, NULL), 0);
    /* The default handler (one line on stderr) now gets the reports. */
    aio_future g = aio_future_new(loop);
    assert_int_equal(aio_future_set_error(loop, g, -EIO), 0);
    assert_int_equal(aio_future_release(loop, g), 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loop_create_and_options),
        cmocka_unit_test(LOOP_01_call_soon_fifo),
        cmocka_unit_test(call_soon_from_callback_runs_next_iteration),
        cmocka_unit_test(scheduling_argument_errors),
        cmocka_unit_test(LOOP_03_timers_fire_by_deadline),
        cmocka_unit_test(LOOP_03_negative_delays_fire_by_deadline),
        cmocka_unit_test(due_timers_collected_every_iteration),
        cmocka_unit_test(LOOP_03_far_timer_not_ready),
        cmocka_unit_test(LOOP_03_real_clock_timer_not_early),
        cmocka_unit_test(timers_equal_deadlines_fifo),
        cmocka_unit_test(zero_delay_timer_rearmed_runs_once_per_iteration),
        cmocka_unit_test(LOOP_05_cancel_call_soon),
        cmocka_unit_test(LOOP_05_cancel_timer),
        cmocka_unit_test(LOOP_05_cancel_within_same_iteration),
        cmocka_unit_test(timers_cancel_keeps_heap_bounded),
        cmocka_unit_test(timers_cancelled_do_not_keep_loop_waiting),
        cmocka_unit_test(timers_random_cancel_keeps_order),
        cmocka_unit_test(timers_wheel_random_order_all_levels),
        cmocka_unit_test(timers_wheel_equal_deadlines_across_levels),
        cmocka_unit_test(timers_wheel_dense_buckets),
        cmocka_unit_test(handle_cancel_bad_handles),
        cmocka_unit_test(LOOP_06_run_until_complete_contract),
        cmocka_unit_test(deadlock_detected),
        cmocka_unit_test(stop_keeps_next_iteration_queued),
        cmocka_unit_test(stop_interrupts_run_until_complete),
        cmocka_unit_test(LOOP_08_closed_loop),
        cmocka_unit_test(close_drops_scheduled_work),
        cmocka_unit_test(virtual_clock_and_advance),
        cmocka_unit_test(real_clock_monotonic),
        cmocka_unit_test(LOOP_10_tiny_timeouts_do_not_spin),
        cmocka_unit_test(stats_count_exactly),
        cmocka_unit_test(exception_handler_set_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
