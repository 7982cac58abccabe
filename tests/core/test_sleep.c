/* aio_sleep / aio_sleep_value: timing on the virtual clock, sleep(0) as a
 * one-iteration yield, fairness, cancellation removing the timer, bad
 * delays. */
#include "support.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

static uint64_t iterations(aio_loop *loop) {
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    return st.iterations;
}

static void inc_cb(aio_loop *loop, void *arg) {
    (void)loop;
    ++*(int *)arg;
}

/* ---- SLEEP-01 -------------------------------------------------------------- */

static const char yeah[] = "yeah";

struct sleeper {
    double dt;
};

static aio_status sleeper(aio_task *t, void *frame) {
    struct sleeper *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->dt / 2));
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    AIO_AWAIT(t, aio_sleep_value(t, f->dt / 2, yeah));
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    AIO_RETURN(t, AIO_RESULT(t));
    AIO_END(t);
}

/* SLEEP-01: sleep(0.05) then sleep(0.05, 'yeah'): the result is 'yeah' and
 * the virtual clock reads exactly 0.1. */
static void SLEEP_01_sleep_value(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_create_task(loop, sleeper, &(struct sleeper){0.1}), &v),
                     0);
    assert_ptr_equal(v.p, yeah);
    assert_int_equal(aio_loop_time_ns(loop), 100000000);
    assert_true(fabs(aio_loop_time(loop) - 0.1) < 1e-9);
    close_loop(loop);
}

/* ---- SLEEP-02 -------------------------------------------------------------- */

struct sleep_zero {
    int result;
    int before;
    int after;
    int64_t num;
};

struct sleep_zero_task {
    struct sleep_zero *s;
};

static aio_status sleep_zero(aio_task *t, void *frame) {
    struct sleep_zero_task *f = frame;
    AIO_BEGIN(t);
    assert_int_equal(aio_call_soon(t, inc_cb, &f->s->result, NULL), 0);
    f->s->before = f->s->result;
    AIO_AWAIT(t, aio_sleep_value(t, 0, 10));
    f->s->num = AIO_RESULT(t).i;
    f->s->after = f->s->result;
    f->s->result += (int)f->s->num;
    AIO_RETURN(t, f->s->result);
    AIO_END(t);
}

/* SLEEP-02: sleep(0, result=10) yields exactly once: the callback queued
 * before it ran during the yield, num == 10, final result 11. */
static void SLEEP_02_sleep_zero_yields_once(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct sleep_zero s = {0, -1, -1, 0};
    aio_value v = {0};
    assert_int_equal(
        aio_run_until_complete(loop, aio_create_task(loop, sleep_zero, &(struct sleep_zero_task){&s}), &v),
        0);
    assert_int_equal(s.before, 0);
    assert_int_equal(s.after, 1);
    assert_int_equal(s.num, 10);
    assert_int_equal(v.i, 11);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    close_loop(loop);
}

/* ---- zero and negative delays: exactly one iteration ------------------------- */

struct one_iter {
    int64_t *gaps; /* [0] sleep(0), [1] sleep(-1), [2] sleep_value(0), [3] AIO_YIELD */
    int64_t *value;
    uint64_t mark;
};

static aio_status one_iter(aio_task *t, void *frame) {
    struct one_iter *f = frame;
    AIO_BEGIN(t);
    f->mark = iterations(aio_task_loop(t));
    AIO_AWAIT(t, aio_sleep(t, 0));
    f->gaps[0] = (int64_t)(iterations(aio_task_loop(t)) - f->mark);
    f->mark = iterations(aio_task_loop(t));
    AIO_AWAIT(t, aio_sleep(t, -1.0));
    f->gaps[1] = (int64_t)(iterations(aio_task_loop(t)) - f->mark);
    f->mark = iterations(aio_task_loop(t));
    AIO_AWAIT(t, aio_sleep_value(t, 0.0, 99));
    f->gaps[2] = (int64_t)(iterations(aio_task_loop(t)) - f->mark);
    *f->value = AIO_RESULT(t).i;
    f->mark = iterations(aio_task_loop(t));
    AIO_YIELD(t);
    f->gaps[3] = (int64_t)(iterations(aio_task_loop(t)) - f->mark);
    AIO_END(t);
}

/* sleep(0), sleep(-1), sleep_value(0, x) and AIO_YIELD each resume the
 * coroutine in the very next loop iteration, and the clock does not move. */
static void sleep_zero_and_negative_take_one_iteration(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int64_t gaps[4] = {-1, -1, -1, -1};
    int64_t value = 0;
    assert_int_equal(aio_run_until_complete(
                         loop, aio_create_task(loop, one_iter, (&(struct one_iter){gaps, &value, 0})), NULL),
                     0);
    assert_int_equal(gaps[0], 1);
    assert_int_equal(gaps[1], 1);
    assert_int_equal(gaps[2], 1);
    assert_int_equal(gaps[3], 1);
    assert_int_equal(value, 99);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    close_loop(loop);
}

/* ---- fairness ----------------------------------------------------------------- */

struct logger {
    char *log;
    int *pos;
    char c;
    int i;
};

static aio_status logger(aio_task *t, void *frame) {
    struct logger *f = frame;
    AIO_BEGIN(t);
    for (f->i = 0; f->i < 4; f->i++) {
        f->log[(*f->pos)++] = f->c;
        AIO_YIELD(t);
    }
    AIO_END(t);
}

/* Tasks that keep yielding take turns in FIFO order: ABCABCABCABC. */
static void sleep_zero_round_robin(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    char log[32];
    memset(log, 0, sizeof log);
    int pos = 0;
    aio_future a = aio_create_task(loop, logger, (&(struct logger){log, &pos, 'A', 0}));
    aio_future b = aio_create_task(loop, logger, (&(struct logger){log, &pos, 'B', 0}));
    aio_future c = aio_create_task(loop, logger, (&(struct logger){log, &pos, 'C', 0}));
    assert_int_equal(aio_run_until_complete(loop, c, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, a, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, b, NULL), 0);
    assert_string_equal(log, "ABCABCABCABC");
    close_loop(loop);
}

struct spin_forever {
    int *stop;
    int *spins;
    int advance_at; /* > 0: advance the virtual clock by 1 s at this spin */
};

static aio_status spin_forever(aio_task *t, void *frame) {
    struct spin_forever *f = frame;
    AIO_BEGIN(t);
    while (!*f->stop) {
        (*f->spins)++;
        if (*f->spins == f->advance_at)
            assert_int_equal(aio_loop_advance(t, 1.0), 0);
        AIO_YIELD(t);
    }
    AIO_RETURN(t, *f->spins);
    AIO_END(t);
}

struct timed_stop {
    double delay;
    int *stop;
    int *spins_at_stop;
    int *spins;
};

static aio_status timed_stop(aio_task *t, void *frame) {
    struct timed_stop *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->delay));
    *f->spins_at_stop = *f->spins;
    *f->stop = 1;
    AIO_END(t);
}

/* A task that yields forever does not starve a sleeping task (virtual clock,
 * moved by aio_loop_advance from inside the spinner): once the deadline has
 * passed the sleeper runs within a couple of iterations, and a second spinner
 * keeps getting its turns too. */
static void sleep_yield_forever_does_not_starve_timers_virtual(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int stop = 0, spins = 0, spins2 = 0, at_stop = -1;
    aio_future spinner = aio_create_task(loop, spin_forever, (&(struct spin_forever){&stop, &spins, 10}));
    aio_future spinner2 = aio_create_task(loop, spin_forever, (&(struct spin_forever){&stop, &spins2, 0}));
    aio_future sleeper_task =
        aio_create_task(loop, timed_stop, (&(struct timed_stop){0.5, &stop, &at_stop, &spins}));
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, spinner, &v), 0);
    assert_int_equal(aio_run_until_complete(loop, spinner2, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, sleeper_task, NULL), 0);
    assert_true(at_stop >= 10);
    assert_true(at_stop <= 13);
    assert_true(spins2 >= at_stop - 1);
    assert_true(spins2 <= at_stop + 1);
    assert_int_equal(aio_loop_time_ns(loop), 1000000000);
    close_loop(loop);
}

/* The same on the real clock: a 10 ms sleep completes although another task
 * yields all the time, and a plain call_later timer fires as well. */
static void sleep_yield_forever_does_not_starve_timers_real(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int stop = 0, spins = 0, at_stop = -1, timer_fired = 0;
    double t0 = aio_loop_time(loop);
    assert_int_equal(aio_call_later(loop, 0.005, inc_cb, &timer_fired, NULL), 0);
    aio_future spinner = aio_create_task(loop, spin_forever, (&(struct spin_forever){&stop, &spins, 0}));
    aio_future sleeper_task =
        aio_create_task(loop, timed_stop, (&(struct timed_stop){0.01, &stop, &at_stop, &spins}));
    assert_int_equal(aio_run_until_complete(loop, spinner, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, sleeper_task, NULL), 0);
    assert_int_equal(timer_fired, 1);
    assert_true(at_stop > 0);
    assert_true(aio_loop_time(loop) - t0 >= 0.0099);
    assert_true(aio_loop_time(loop) - t0 < 5.0);
    close_loop(loop);
}

/* ---- cancellation removes the timer --------------------------------------------- */

struct long_sleep {
    int *err;
};

static aio_status long_sleep(aio_task *t, void *frame) {
    struct long_sleep *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 10.0));
    *f->err = AIO_ERR(t);
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

/* Cancelling the task awaiting a sleep removes the sleep's timer at once:
 * afterwards nothing is left for the loop (AIO_EDEADLOCK) and the virtual
 * clock never jumped to the 10 s deadline. */
static void sleep_cancel_task_removes_timer(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int err = 1;
    aio_future task = aio_create_task(loop, long_sleep, &(struct long_sleep){&err});
    test_run_iterations(loop, 2);
    assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, task, NULL), AIO_ECANCELLED);
    assert_aio_err(err, AIO_ECANCELLED);
    assert_aio_err(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    close_loop(loop);
}

/* Cancelling a sleep future itself: cancel returns 1, it is cancelled with
 * its message, its timer is gone, and a second cancel returns 0. */
static void sleep_cancel_future_removes_timer(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future s = aio_sleep(loop, 5.0);
    assert_int_equal(aio_future_check(s), 0);
    assert_int_equal(aio_future_done(loop, s), 0);
    assert_int_equal(aio_future_cancel(loop, s, "stop"), 1);
    assert_int_equal(aio_future_cancelled(loop, s), 1);
    assert_string_equal(aio_future_cancel_message(loop, s), "stop");
    assert_int_equal(aio_future_cancel(loop, s, NULL), 0);
    assert_aio_err(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_aio_err(aio_run_until_complete(loop, s, NULL), AIO_ECANCELLED);
    close_loop(loop);
}

/* ---- bad delays ---------------------------------------------------------------- */

struct bad_delay {
    int errs[3];
    uint64_t mark;
    int64_t gap;
};

struct bad_delay_task {
    struct bad_delay *out;
};

static aio_status bad_delay(aio_task *t, void *frame) {
    struct bad_delay_task *f = frame;
    AIO_BEGIN(t);
    f->out->mark = iterations(aio_task_loop(t));
    AIO_AWAIT(t, aio_sleep(t, NAN));
    f->out->errs[0] = AIO_ERR(t);
    AIO_AWAIT(t, aio_sleep(t, INFINITY));
    f->out->errs[1] = AIO_ERR(t);
    AIO_AWAIT(t, aio_sleep_value(t, -INFINITY, 1));
    f->out->errs[2] = AIO_ERR(t);
    f->out->gap = (int64_t)(iterations(aio_task_loop(t)) - f->out->mark);
    AIO_END(t);
}

/* NaN and infinite delays give an error handle carrying -EINVAL: every call
 * on it returns -EINVAL, and awaiting it gives -EINVAL without suspending. */
static void sleep_nan_and_infinite_delays_are_errors(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future h = aio_sleep(loop, NAN);
    assert_aio_err(aio_future_check(h), -EINVAL);
    assert_aio_err(aio_future_done(loop, h), -EINVAL);
    assert_aio_err(aio_future_cancel(loop, h, NULL), -EINVAL);
    assert_aio_err(aio_future_release(loop, h), -EINVAL);
    assert_aio_err(aio_future_check(aio_sleep(loop, INFINITY)), -EINVAL);
    assert_aio_err(aio_future_check(aio_sleep_value(loop, -INFINITY, 3)), -EINVAL);
    assert_aio_err(aio_run_until_complete(loop, aio_sleep(loop, NAN), NULL), -EINVAL);

    struct bad_delay out;
    memset(&out, 0, sizeof out);
    assert_int_equal(
        aio_run_until_complete(loop, aio_create_task(loop, bad_delay, &(struct bad_delay_task){&out}), NULL),
        0);
    assert_aio_err(out.errs[0], -EINVAL);
    assert_aio_err(out.errs[1], -EINVAL);
    assert_aio_err(out.errs[2], -EINVAL);
    assert_int_equal(out.gap, 0);
    close_loop(loop);
}

/* A sleep on a closed loop is an AIO_ECLOSED error handle. */
static void sleep_on_closed_loop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_aio_err(aio_future_check(aio_sleep(loop, 1.0)), AIO_ECLOSED);
    assert_aio_err(aio_future_check(aio_sleep(loop, 0)), AIO_ECLOSED);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- huge delays -------------------------------------------------------------- */

struct huge {
    double delay;
    int *resumed;
};

static aio_status huge(aio_task *t, void *frame) {
    struct huge *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->delay));
    *f->resumed = AIO_ERR(t) == AIO_ECANCELLED ? 2 : 1;
    AIO_END(t);
}

/* Huge finite delays (beyond int64 nanoseconds) are accepted and mean "far
 * away": they do not wrap around and fire at once, and they do not disturb
 * the order of ordinary timers. */
static void sleep_huge_finite_delay_does_not_wrap(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    static const double delays[3] = {1e10, 1e300, DBL_MAX};
    int resumed[3] = {0, 0, 0};
    aio_future tasks[3];
    for (int i = 0; i < 3; i++) {
        tasks[i] = aio_create_task(loop, huge, (&(struct huge){delays[i], &resumed[i]}));
        assert_int_equal(aio_future_check(tasks[i]), 0);
    }
    assert_int_equal(aio_run_until_complete(loop, aio_sleep_value(loop, 0.1, 4), NULL), 0);
    assert_int_equal(aio_loop_time_ns(loop), 100000000);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(resumed[i], 0);
        assert_int_equal(aio_task_cancel(loop, tasks[i], NULL), 1);
        assert_aio_err(aio_run_until_complete(loop, tasks[i], NULL), AIO_ECANCELLED);
        assert_int_equal(resumed[i], 2);
    }
    assert_int_equal(aio_loop_time_ns(loop), 100000000);
    close_loop(loop);
}

/* ---- ordering ------------------------------------------------------------------- */

struct ordered {
    double delay;
    int id;
    int *order;
    int *n;
};

static aio_status ordered(aio_task *t, void *frame) {
    struct ordered *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->delay));
    f->order[(*f->n)++] = f->id;
    AIO_END(t);
}

/* Sleeps complete by deadline, and equal deadlines in the order they were
 * armed; the virtual clock ends at the last deadline. */
static void sleep_order_by_deadline_then_arming(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    static const double delays[5] = {0.3, 0.1, 0.2, 0.1, 0.1};
    int order[5] = {-1, -1, -1, -1, -1};
    int n = 0;
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            aio_future_release(loop,
                               aio_create_task(loop, ordered, (&(struct ordered){delays[i], i, order, &n}))),
            0);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    assert_int_equal(n, 5);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 3);
    assert_int_equal(order[2], 4);
    assert_int_equal(order[3], 2);
    assert_int_equal(order[4], 0);
    assert_int_equal(aio_loop_time_ns(loop), 1000000000);
    close_loop(loop);
}

/* ---- sleeps outside tasks ------------------------------------------------------- */

/* A sleep future run directly by the loop gives its value at its deadline;
 * floating values travel intact. */
static void sleep_future_without_task(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_sleep_value(loop, 0.25, 7), &v), 0);
    assert_int_equal(v.i, 7);
    assert_int_equal(aio_loop_time_ns(loop), 250000000);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep_value(loop, 0.5, 2.5), &v), 0);
    assert_true(v.d == 2.5);
    assert_int_equal(aio_loop_time_ns(loop), 750000000);
    /* a sleep completed, kept, then read again */
    aio_future s = aio_sleep_value(loop, 0.25, -3);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, s), NULL), 0);
    assert_int_equal(aio_future_done(loop, s), 1);
    assert_int_equal(aio_future_result(loop, s, &v), 0);
    assert_int_equal(v.i, -3);
    assert_int_equal(aio_future_release(loop, s), 0);
    close_loop(loop);
}

/* Real clock: a 20 ms sleep takes at least 20 ms of loop time. */
static void sleep_real_clock_elapsed(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    double t0 = aio_loop_time(loop);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 0.02), NULL), 0);
    double dt = aio_loop_time(loop) - t0;
    assert_true(dt >= 0.0199);
    assert_true(dt < 5.0);
    close_loop(loop);
}

/* ---- LOOP-10 ------------------------------------------------------------------- */

static const double tiny_delays[5] = {1e-2, 1e-4, 1e-6, 1e-8, 1e-10};

struct tiny {
    int i;
};

static aio_status tiny(aio_task *t, void *frame) {
    struct tiny *f = frame;
    AIO_BEGIN(t);
    for (f->i = 0; f->i < 5; f->i++)
        AIO_AWAIT(t, aio_sleep(t, tiny_delays[f->i]));
    AIO_END(t);
}

/* LOOP-10: sleeping in turn 1e-2, 1e-4, 1e-6, 1e-8 and 1e-10 s on the real
 * clock takes at most 20 loop iterations: tiny timeouts do not busy-spin. */
static void LOOP_10_tiny_timeouts_do_not_spin(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    uint64_t before = iterations(loop);
    assert_int_equal(aio_run_until_complete(loop, aio_create_task(loop, tiny, &(struct tiny){0}), NULL), 0);
    uint64_t n = iterations(loop) - before;
    assert_true(n <= 20);
    close_loop(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(SLEEP_01_sleep_value),
        cmocka_unit_test(SLEEP_02_sleep_zero_yields_once),
        cmocka_unit_test(sleep_zero_and_negative_take_one_iteration),
        cmocka_unit_test(sleep_zero_round_robin),
        cmocka_unit_test(sleep_yield_forever_does_not_starve_timers_virtual),
        cmocka_unit_test(sleep_yield_forever_does_not_starve_timers_real),
        cmocka_unit_test(sleep_cancel_task_removes_timer),
        cmocka_unit_test(sleep_cancel_future_removes_timer),
        cmocka_unit_test(sleep_nan_and_infinite_delays_are_errors),
        cmocka_unit_test(sleep_on_closed_loop),
        cmocka_unit_test(sleep_huge_finite_delay_does_not_wrap),
        cmocka_unit_test(sleep_order_by_deadline_then_arming),
        cmocka_unit_test(sleep_future_without_task),
        cmocka_unit_test(sleep_real_clock_elapsed),
        cmocka_unit_test(LOOP_10_tiny_timeouts_do_not_spin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
