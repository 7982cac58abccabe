/* Timeout scopes (aio/group.h): every TIMEOUT-* case of the sync
 * acceptance spec (asyncio_sync_semantics.md), named after its ID and the
 * CPython test it comes from (test_timeouts.py), then the C part: a scope
 * closed when the coroutine ends inside it, misuse, and the cancellation
 * landing at each kind of await. Virtual clock throughout. */
#include "support.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define E_KEY (-ENOENT) /* KeyError */
#define E_ZERO (-EDOM)  /* ZeroDivisionError */

static void assert_at_ms(aio_loop *loop, int64_t ms) {
    int64_t ns = aio_loop_time_ns(loop);
    if (ns < ms * 1000000 - 1000 || ns > ms * 1000000 + 1000)
        fail_msg("loop time %lld ns, expected %lld ms", (long long)ns, (long long)ms);
}

struct ran {
    int rc;
    int cancelled;
    aio_value v;
};

static struct ran run_task(aio_loop *loop, aio_future task) {
    struct ran r;
    assert_aio_ok(aio_future_check(task));
    aio_future_retain(loop, task);
    r.rc = aio_run_until_complete(loop, task, &r.v);
    r.cancelled = aio_future_cancelled(loop, task);
    aio_future_release(loop, task);
    return r;
}

/* What a scenario saw, written from inside the coroutine (its frame is the
 * task's copy). */
static struct seen {
    int body_err;    /* the await inside the scope */
    int64_t body_ns; /* when it returned */
    int end_err;     /* AIO_ERR after the END */
    int expired;     /* aio_timeout_expired after the END */
    double when;     /* aio_timeout_when after the END */
    int count;       /* aio_task_cancelling after the END */
    int inner_err, inner_expired, between_err;
    int after_err;     /* an await after the scope */
    double entered_at; /* loop time at the BEGIN */
} seen;

static void reset(void) {
    memset(&seen, 0, sizeof seen);
    seen.body_err = seen.end_err = seen.inner_err = seen.between_err = seen.after_err = 1;
}

/* ---- TIMEOUT-01 ---------------------------------------------------------- */

/* timeout(delay) or timeout_at(now + delay) around sleep(body): the body's
 * status and time, the END's status, expired(), when(), the count. */
struct basic {
    double delay;
    bool at;
    double body;
    aio_timeout to;
};

AIO_CORO(basic, struct basic) {
    AIO_BEGIN(t);
    seen.entered_at = aio_loop_time(t);
    if (f->at)
        assert_aio_ok(AIO_TIMEOUT_AT_BEGIN(t, &f->to, seen.entered_at + f->delay));
    else
        assert_aio_ok(AIO_TIMEOUT_BEGIN(t, &f->to, f->delay));
    AIO_AWAIT(t, aio_sleep(t, f->body));
    seen.body_err = AIO_ERR(t);
    seen.body_ns = aio_loop_time_ns(t);
    AIO_TIMEOUT_END(t, &f->to);
    seen.end_err = AIO_ERR(t);
    seen.expired = aio_timeout_expired(&f->to);
    seen.when = aio_timeout_when(&f->to);
    seen.count = aio_task_cancelling(t);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static struct ran run_basic(aio_loop *loop, struct basic fr) {
    reset();
    return run_task(loop, aio_spawn(loop, basic, &fr));
}

/* TIMEOUT-01, test_timeout_basic and test_waiter_cancelled: the body sees
 * AIO_ECANCELLED at 0.01, the END gives AIO_ETIMEDOUT, expired, when() is
 * 0.01; the count is 0 and the task fails with the timeout (it is not
 * cancelled: test_outer_task_is_not_cancelled). */
static void TIMEOUT_01_basic(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_basic(loop, (struct basic){.delay = 0.01, .body = 10});
    assert_aio_err(seen.body_err, AIO_ECANCELLED);
    assert_int_equal(seen.body_ns, 10000000);
    assert_aio_err(seen.end_err, AIO_ETIMEDOUT);
    assert_int_equal(seen.expired, 1);
    assert_true(seen.when == 0.01);
    assert_int_equal(seen.count, 0);
    assert_aio_err(r.rc, AIO_ETIMEDOUT);
    assert_int_equal(r.cancelled, 0);
    close_loop(loop);
}

/* TIMEOUT-01, test_timeout_at_basic: the same with timeout_at(d); when()
 * is d exactly. */
static void TIMEOUT_01_at_basic(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_loop_advance(loop, 1.25); /* a deadline that is not 0 + delay */
    struct ran r = run_basic(loop, (struct basic){.delay = 0.01, .at = true, .body = 10});
    assert_aio_err(seen.end_err, AIO_ETIMEDOUT);
    assert_int_equal(seen.expired, 1);
    assert_true(seen.when == seen.entered_at + 0.01);
    assert_aio_err(r.rc, AIO_ETIMEDOUT);
    assert_at_ms(loop, 1260);
    close_loop(loop);
}

/* TIMEOUT-01, test_outer_task_is_not_cancelled: a task that catches the
 * timeout ends normally. */
struct catcher {
    aio_timeout to;
};

AIO_CORO(catcher, struct catcher) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 0.001);
    AIO_AWAIT(t, aio_sleep(t, 10));
    AIO_TIMEOUT_END(t, &f->to);
    AIO_RETURN(t, AIO_ERR(t) == AIO_ETIMEDOUT);
    AIO_END(t);
}

static void TIMEOUT_01_outer_task_is_not_cancelled(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, catcher, &(struct catcher){0}));
    assert_aio_ok(r.rc);
    assert_int_equal(r.cancelled, 0);
    assert_int_equal(r.v.i, 1);
    close_loop(loop);
}

/* ---- TIMEOUT-02 ---------------------------------------------------------- */

/* TIMEOUT-02, test_timeout_not_called: timeout(10) around sleep(0.01) exits
 * normally; when() is the entry time + 10. */
static void TIMEOUT_02_not_called(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_basic(loop, (struct basic){.delay = 10, .body = 0.01});
    assert_aio_ok(r.rc);
    assert_aio_ok(seen.body_err);
    assert_aio_ok(seen.end_err);
    assert_int_equal(seen.expired, 0);
    assert_true(seen.when == seen.entered_at + 10);
    assert_at_ms(loop, 10);
    close_loop(loop);
}

/* TIMEOUT-02: a scope that ended early leaves nothing behind: after a
 * timeout(0.05) scope ends, a sleep(0.1) completes and the count is 0. */
struct leftover {
    aio_timeout to;
};

AIO_CORO(leftover, struct leftover) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 0.05);
    AIO_AWAIT(t, aio_sleep(t, 0.01));
    AIO_TIMEOUT_END(t, &f->to);
    seen.end_err = AIO_ERR(t);
    AIO_AWAIT(t, aio_sleep(t, 0.1));
    seen.after_err = AIO_ERR(t);
    seen.count = aio_task_cancelling(t);
    AIO_END(t);
}

static void TIMEOUT_02_nothing_left_behind(void **state) {
    (void)state;
    reset();
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, leftover, &(struct leftover){0}));
    assert_aio_ok(r.rc);
    assert_aio_ok(seen.end_err);
    assert_aio_ok(seen.after_err);
    assert_int_equal(seen.count, 0);
    assert_at_ms(loop, 110);
    aio_loop_stats st;
    aio_loop_get_stats(loop, &st);
    assert_int_equal(st.timers, 0);
    close_loop(loop);
}

/* TIMEOUT-02, test_timeout_disabled and test_timeout_at_disabled: no
 * deadline (asyncio's None is AIO_FOREVER): a sleep(5) completes; when()
 * is INFINITY. */
static void TIMEOUT_02_disabled(void **state) {
    (void)state;
    for (int at = 0; at < 2; at++) {
        aio_loop *loop = test_loop_new(1);
        reset();
        aio_future task =
            at ? aio_spawn(loop, basic, &(struct basic){.delay = AIO_FOREVER, .at = true, .body = 5})
               : aio_spawn(loop, basic, &(struct basic){.delay = AIO_FOREVER, .body = 5});
        struct ran r = run_task(loop, task);
        assert_aio_ok(r.rc);
        assert_int_equal(seen.expired, 0);
        assert_true(isinf(seen.when) && seen.when > 0);
        assert_at_ms(loop, 5000);
        close_loop(loop);
    }
}

/* TIMEOUT-02, test_timeout_zero, test_timeout_zero_sleep_zero,
 * test_timeout_in_the_past_sleep_zero: timeout(0) around sleep(10) or
 * sleep(0), timeout(-11) around sleep(0): AIO_ETIMEDOUT at that first await,
 * no time passing; expired; when() <= now. */
static void TIMEOUT_02_zero_and_past(void **state) {
    (void)state;
    const struct basic cases[] = {
        {.delay = 0, .body = 10}, {.delay = 0, .body = 0}, {.delay = -11, .body = 0}};
    for (size_t i = 0; i < 3; i++) {
        aio_loop *loop = test_loop_new(1);
        aio_loop_advance(loop, 20);
        struct ran r = run_basic(loop, cases[i]);
        assert_aio_err(r.rc, AIO_ETIMEDOUT);
        assert_aio_err(seen.body_err, AIO_ECANCELLED);
        assert_int_equal(seen.expired, 1);
        assert_true(seen.when <= aio_loop_time(loop));
        assert_at_ms(loop, 20000);
        close_loop(loop);
    }
}

/* ---- TIMEOUT-03 ---------------------------------------------------------- */

/* TIMEOUT-03, test_foreign_exception_passed: the body leaves with its own
 * error (an await that failed): it passes through; not expired. */
struct foreign {
    aio_timeout to;
};

AIO_CORO(foreign_error, struct foreign) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 0.01);
    {
        aio_future e = aio_future_new(t);
        aio_future_set_error(t, e, E_KEY);
        AIO_AWAIT_OR(t, e, out); /* raise KeyError */
    }
out:
    AIO_TIMEOUT_END(t, &f->to);
    seen.end_err = AIO_ERR(t);
    seen.expired = aio_timeout_expired(&f->to);
    AIO_END(t);
}

static void TIMEOUT_03_foreign_error_passes(void **state) {
    (void)state;
    reset();
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, foreign_error, &(struct foreign){0}));
    assert_aio_ok(r.rc);
    assert_aio_err(seen.end_err, E_KEY);
    assert_int_equal(seen.expired, 0);
    close_loop(loop);
}

/* TIMEOUT-03, test_foreign_cancel_doesnt_timeout_if_not_expired: the body
 * cancels its own task inside timeout(10): AIO_ECANCELLED, not expired,
 * the count is 1. */
AIO_CORO(self_cancel, struct foreign) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 10);
    aio_task_cancel(t, aio_task_handle(t), NULL);
    AIO_AWAIT(t, aio_sleep(t, 10));
    AIO_TIMEOUT_END(t, &f->to);
    seen.end_err = AIO_ERR(t);
    seen.expired = aio_timeout_expired(&f->to);
    seen.count = aio_task_cancelling(t);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void TIMEOUT_03_foreign_cancel_is_not_a_timeout(void **state) {
    (void)state;
    reset();
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, self_cancel, &(struct foreign){0}));
    assert_aio_err(r.rc, AIO_ECANCELLED);
    assert_int_equal(r.cancelled, 1);
    assert_aio_err(seen.end_err, AIO_ECANCELLED);
    assert_int_equal(seen.expired, 0);
    assert_int_equal(seen.count, 1);
    assert_at_ms(loop, 0);
    close_loop(loop);
}

/* ---- TIMEOUT-03/05: test_reschedule ---------------------------------------- */

/* F enters timeout_at(d1 = now + 10), publishes its scope and sleeps 50. */
static aio_timeout *published;

AIO_CORO(rescheduled, struct foreign) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_AT_BEGIN(t, &f->to, aio_loop_time(t) + 10);
    published = &f->to;
    AIO_AWAIT(t, aio_sleep(t, 50));
    seen.body_err = AIO_ERR(t);
    AIO_TIMEOUT_END(t, &f->to);
    seen.end_err = AIO_ERR(t);
    seen.expired = aio_timeout_expired(&f->to);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

/* TIMEOUT-05 and TIMEOUT-03, test_reschedule: when() follows reschedule();
 * with no deadline F still runs at 40, and a cancel from another task at
 * that point is a cancel, not a timeout. */
static void TIMEOUT_05_reschedule(void **state) {
    (void)state;
    reset();
    published = NULL;
    aio_loop *loop = test_loop_new(1);
    aio_future fut = aio_spawn(loop, rescheduled, &(struct foreign){0});
    test_run_iterations(loop, 2);
    assert_non_null(published);
    double d1 = 10;
    assert_true(aio_timeout_when(published) == d1);
    assert_aio_ok(aio_timeout_reschedule(loop, published, d1 + 20));
    assert_true(aio_timeout_when(published) == d1 + 20);
    assert_aio_ok(aio_timeout_reschedule(loop, published, AIO_FOREVER));
    assert_true(isinf(aio_timeout_when(published)));
    assert_aio_ok(aio_loop_advance(loop, 40));
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_done(loop, fut), 0); /* still running at 40 */
    assert_int_equal(aio_task_cancel(loop, fut, NULL), 1);
    struct ran r = run_task(loop, fut);
    assert_aio_err(r.rc, AIO_ECANCELLED);
    assert_int_equal(r.cancelled, 1);
    assert_aio_err(seen.end_err, AIO_ECANCELLED);
    assert_int_equal(seen.expired, 0);
    close_loop(loop);
}

/* TIMEOUT-05: extend (reschedule(now + 0.2) at 0.05 inside timeout(0.1):
 * the timeout comes at 0.25) and into the past (reschedule(now - 5): at
 * the next await, no time passing). */
struct extend {
    double first_sleep;
    double move_by; /* reschedule to now + move_by */
    aio_timeout to;
};

AIO_CORO(extend, struct extend) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 0.1);
    if (f->first_sleep > 0)
        AIO_AWAIT_OR(t, aio_sleep(t, f->first_sleep), out);
    assert_aio_ok(aio_timeout_reschedule(t, &f->to, aio_loop_time(t) + f->move_by));
    AIO_AWAIT(t, aio_sleep(t, 1));
out:
    AIO_TIMEOUT_END(t, &f->to);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void TIMEOUT_05_extend_and_into_the_past(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r =
        run_task(loop, aio_spawn(loop, extend, &(struct extend){.first_sleep = 0.05, .move_by = 0.2}));
    assert_aio_err(r.rc, AIO_ETIMEDOUT);
    assert_at_ms(loop, 250);
    close_loop(loop);
    loop = test_loop_new(1);
    r = run_task(loop, aio_spawn(loop, extend, &(struct extend){.move_by = -5}));
    assert_aio_err(r.rc, AIO_ETIMEDOUT);
    assert_at_ms(loop, 0);
    close_loop(loop);
}

/* TIMEOUT-05, test_timeout_not_entered, _already_entered, _double_enter,
 * _finished, _expired, _without_task: misuse gives error codes. Entering
 * again after the END makes a new scope (deliberate: the BEGIN is both
 * timeout() and `async with`; the storage is the frame's). */
struct misuse {
    aio_timeout to, to2;
    int rc[10];
};

AIO_CORO(misuse, struct misuse) {
    AIO_BEGIN(t);
    f->rc[0] = aio_timeout_reschedule(t, &f->to, 1); /* not entered */
    f->rc[1] = AIO_TIMEOUT_BEGIN(t, &f->to, 0.01);
    f->rc[2] = AIO_TIMEOUT_BEGIN(t, &f->to, 0.01); /* already entered */
    AIO_TIMEOUT_END(t, &f->to);
    f->rc[3] = aio_timeout_reschedule(t, &f->to, 0.02); /* finished */
    AIO_TIMEOUT_END(t, &f->to);
    f->rc[4] = AIO_ERR(t); /* ended already */
    f->rc[5] = AIO_TIMEOUT_BEGIN(t, &f->to2, 0);
    AIO_AWAIT(t, aio_sleep(t, 1));
    AIO_TIMEOUT_END(t, &f->to2);
    f->rc[6] = aio_timeout_reschedule(t, &f->to2, 0.02); /* expired */
    f->rc[7] = AIO_TIMEOUT_BEGIN(t, &f->to, 0.01);       /* a new scope in the old storage */
    AIO_TIMEOUT_END(t, &f->to);
    f->rc[8] = AIO_ERR(t);
    f->rc[9] = AIO_TIMEOUT_BEGIN(t, &f->to2, NAN);
    AIO_TIMEOUT_END(t, &f->to2);
    assert_aio_err(f->rc[0], -EINVAL);
    assert_aio_ok(f->rc[1]);
    assert_aio_err(f->rc[2], -EALREADY);
    assert_aio_err(f->rc[3], AIO_EDONE);
    assert_aio_err(f->rc[4], AIO_EDONE);
    assert_aio_ok(f->rc[5]);
    assert_aio_err(f->rc[6], AIO_EDONE);
    assert_aio_ok(f->rc[7]);
    assert_aio_ok(f->rc[8]);
    assert_aio_err(f->rc[9], -EINVAL);
    assert_aio_err(AIO_ERR(t), -EINVAL);
    assert_true(isnan(aio_timeout_when(&f->to2)));
    AIO_END(t);
}

static void TIMEOUT_05_misuse(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, misuse, &(struct misuse){0}));
    assert_aio_ok(r.rc);
    /* Outside any task: "Timeout should be used inside a task"; the scope
     * stays not entered. */
    aio_timeout to = {0};
    assert_aio_err(aio_timeout_enter(NULL, &to, 1), -EINVAL);
    assert_aio_err(aio_timeout_enter_at(NULL, &to, 1), -EINVAL);
    assert_aio_err(aio_timeout_reschedule(loop, &to, 1), -EINVAL);
    assert_aio_err(aio_timeout_reschedule(loop, NULL, 1), -EINVAL);
    assert_aio_err(aio_timeout_enter(NULL, NULL, 1), -EINVAL);
    assert_true(isnan(aio_timeout_when(&to)));
    assert_int_equal(aio_timeout_expired(NULL), 0);
    close_loop(loop);
}

/* ---- TIMEOUT-04 ---------------------------------------------------------- */

/* Outer and inner scopes around sleep(body); the code between them sees the
 * inner END's status; with outer_sleep the outer body then sleeps again. */
struct nested {
    double outer, inner;
    bool at; /* both timeout_at(now + outer / inner) */
    double body;
    double outer_sleep;
    aio_timeout o, i;
};

AIO_CORO(nested, struct nested) {
    AIO_BEGIN(t);
    if (f->at) {
        AIO_TIMEOUT_AT_BEGIN(t, &f->o, aio_loop_time(t) + f->outer);
        AIO_TIMEOUT_AT_BEGIN(t, &f->i, aio_loop_time(t) + f->inner);
    } else {
        AIO_TIMEOUT_BEGIN(t, &f->o, f->outer);
        AIO_TIMEOUT_BEGIN(t, &f->i, f->inner);
    }
    AIO_AWAIT(t, aio_sleep(t, f->body));
    AIO_TIMEOUT_END(t, &f->i);
    seen.between_err = AIO_ERR(t);
    seen.inner_expired = aio_timeout_expired(&f->i);
    if (AIO_ERR(t) == AIO_ETIMEDOUT && f->outer_sleep > 0) /* the outer body catches it */
        AIO_AWAIT(t, aio_sleep(t, f->outer_sleep));
    AIO_TIMEOUT_END(t, &f->o);
    seen.end_err = AIO_ERR(t);
    seen.expired = aio_timeout_expired(&f->o);
    seen.count = aio_task_cancelling(t);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static struct ran run_nested(aio_loop *loop, struct nested fr) {
    reset();
    return run_task(loop, aio_spawn(loop, nested, &fr));
}

/* TIMEOUT-04, test_nested_timeouts: the same instant: the inner scope lets
 * the cancellation through, only the outer times out; both expired. */
static void TIMEOUT_04_same_instant(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_nested(loop, (struct nested){.outer = 0.01, .inner = 0.01, .at = true, .body = 10});
    assert_aio_err(seen.between_err, AIO_ECANCELLED);
    assert_int_equal(seen.inner_expired, 1);
    assert_aio_err(seen.end_err, AIO_ETIMEDOUT);
    assert_int_equal(seen.expired, 1);
    assert_int_equal(seen.count, 0);
    assert_aio_err(r.rc, AIO_ETIMEDOUT);
    assert_at_ms(loop, 10);
    close_loop(loop);
}

/* TIMEOUT-04, test_nested_timeouts_loop_busy: the inner first: it times out
 * at 0.01, the outer body catches that and its next sleep(10) ends with the
 * outer timeout at 0.1. */
static void TIMEOUT_04_inner_first(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r =
        run_nested(loop, (struct nested){.outer = 0.1, .inner = 0.01, .body = 10, .outer_sleep = 10});
    assert_aio_err(seen.between_err, AIO_ETIMEDOUT);
    assert_int_equal(seen.inner_expired, 1);
    assert_aio_err(seen.end_err, AIO_ETIMEDOUT);
    assert_int_equal(seen.expired, 1);
    assert_aio_err(r.rc, AIO_ETIMEDOUT);
    assert_at_ms(loop, 100);
    close_loop(loop);
}

/* TIMEOUT-04, test_nested_timeouts_concurrent: the outer first: the inner
 * passes a cancellation on (not expired), the outer times out. */
static void TIMEOUT_04_outer_first(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_nested(loop, (struct nested){.outer = 0.05, .inner = 0.1, .body = 1});
    assert_aio_err(seen.between_err, AIO_ECANCELLED);
    assert_int_equal(seen.inner_expired, 0);
    assert_aio_err(seen.end_err, AIO_ETIMEDOUT);
    assert_int_equal(seen.expired, 1);
    assert_aio_err(r.rc, AIO_ETIMEDOUT);
    assert_at_ms(loop, 50);
    close_loop(loop);
}

/* test_nested_timeout_in_finally: a timeout inside the cleanup of an
 * expired one times out on its own; the outer one still does. */
struct in_finally {
    aio_timeout o, i;
};

AIO_CORO(in_finally, struct in_finally) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->o, 0.01);
    AIO_AWAIT(t, aio_sleep(t, 1));
    seen.body_err = AIO_ERR(t);
    AIO_TIMEOUT_BEGIN(t, &f->i, 0.01); /* the `finally` */
    AIO_AWAIT(t, aio_sleep(t, 10));
    AIO_TIMEOUT_END(t, &f->i);
    seen.inner_err = AIO_ERR(t);
    AIO_TIMEOUT_END(t, &f->o);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void TIMEOUT_04_nested_timeout_in_finally(void **state) {
    (void)state;
    reset();
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, in_finally, &(struct in_finally){0}));
    assert_aio_err(seen.body_err, AIO_ECANCELLED);
    assert_aio_err(seen.inner_err, AIO_ETIMEDOUT);
    assert_aio_err(r.rc, AIO_ETIMEDOUT);
    assert_at_ms(loop, 20);
    close_loop(loop);
}

/* test_timeout_after_cancellation and
 * test_cancel_in_timeout_after_cancellation: after a cancellation the task
 * caught (count 1), a timeout(0) still times out, and a fresh self-cancel
 * inside timeout(1) stays a cancel. */
struct after_cancel {
    bool cancel_inside;
    aio_timeout to;
};

AIO_CORO(after_cancel, struct after_cancel) {
    AIO_BEGIN(t);
    aio_task_cancel(t, aio_task_handle(t), NULL);
    AIO_AWAIT(t, aio_sleep(t, 1)); /* work which will be cancelled: caught */
    seen.body_err = AIO_ERR(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, f->cancel_inside ? 1.0 : 0.0);
    if (f->cancel_inside)
        aio_task_cancel(t, aio_task_handle(t), NULL);
    AIO_AWAIT(t, aio_sleep(t, 1)); /* some cleanup */
    AIO_TIMEOUT_END(t, &f->to);
    seen.end_err = AIO_ERR(t);
    AIO_END(t);
}

static void TIMEOUT_04_timeout_after_cancellation(void **state) {
    (void)state;
    for (int inside = 0; inside < 2; inside++) {
        reset();
        aio_loop *loop = test_loop_new(1);
        struct ran r =
            run_task(loop, aio_spawn(loop, after_cancel, &(struct after_cancel){.cancel_inside = inside}));
        assert_aio_err(r.rc, AIO_ECANCELLED); /* the first cancel was never withdrawn */
        assert_aio_err(seen.body_err, AIO_ECANCELLED);
        assert_aio_err(seen.end_err, inside ? AIO_ECANCELLED : AIO_ETIMEDOUT);
        assert_at_ms(loop, 0);
        close_loop(loop);
    }
}

/* TIMEOUT-03: a cancel from outside stays a cancel even when the deadline
 * passes too (here during the body's cleanup): both requests are counted,
 * the scope withdraws its own, one is left. */
struct outer_then_deadline {
    aio_timeout to;
};

AIO_CORO(outer_then_deadline, struct outer_then_deadline) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 0.1);
    AIO_AWAIT(t, aio_sleep(t, 10)); /* cancelled from outside at 0.05 */
    seen.body_err = AIO_ERR(t);
    AIO_AWAIT(t, aio_sleep(t, 0.2)); /* cleanup: the deadline passes at 0.1 */
    AIO_TIMEOUT_END(t, &f->to);
    seen.end_err = AIO_ERR(t);
    seen.expired = aio_timeout_expired(&f->to);
    seen.count = aio_task_cancelling(t);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

struct cancel_at {
    aio_future task;
    double at;
};

AIO_CORO(cancel_at, struct cancel_at) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->at));
    aio_task_cancel(t, f->task, NULL);
    AIO_END(t);
}

static void TIMEOUT_03_outer_cancel_and_deadline(void **state) {
    (void)state;
    reset();
    aio_loop *loop = test_loop_new(1);
    aio_future task = aio_spawn(loop, outer_then_deadline, &(struct outer_then_deadline){0});
    aio_future_release(loop, aio_spawn(loop, cancel_at, &(struct cancel_at){task, 0.05}));
    struct ran r = run_task(loop, task);
    assert_aio_err(seen.body_err, AIO_ECANCELLED);
    assert_aio_err(seen.end_err, AIO_ECANCELLED);
    assert_int_equal(seen.expired, 1);
    assert_int_equal(seen.count, 1);
    assert_aio_err(r.rc, AIO_ECANCELLED);
    assert_int_equal(r.cancelled, 1);
    assert_at_ms(loop, 100);
    close_loop(loop);
}

/* ---- TIMEOUT-06 ---------------------------------------------------------- */

/* TIMEOUT-06, test_foreign_exception_on_timeout: the body awaits a helper
 * task whose cleanup fails: that error passes through, not a timeout. */
struct crash {
    int dummy;
};

AIO_CORO(crash_in_finally, struct crash) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 1));
    AIO_FAIL(t, E_ZERO); /* finally: 1/0 */
    AIO_END(t);
}

AIO_CORO(foreign_on_timeout, struct foreign) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 0.01);
    AIO_AWAIT(t, aio_spawn(t, crash_in_finally, &(struct crash){0}));
    AIO_TIMEOUT_END(t, &f->to);
    seen.expired = aio_timeout_expired(&f->to);
    seen.count = aio_task_cancelling(t);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void TIMEOUT_06_foreign_error_on_timeout(void **state) {
    (void)state;
    reset();
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, foreign_on_timeout, &(struct foreign){0}));
    assert_aio_err(r.rc, E_ZERO);
    assert_int_equal(r.cancelled, 0);
    assert_int_equal(seen.expired, 1);
    assert_int_equal(seen.count, 0);
    assert_at_ms(loop, 10);
    close_loop(loop);
}

/* TIMEOUT-06, test_foreign_exception_on_timeout_2 / test_timeout_taskgroup:
 * timeout(0.01) around a group whose child's cleanup fails while the body
 * sleeps: the group's error passes through. */
struct with_group {
    aio_timeout to;
    aio_group g;
};

struct slow_kid {
    int dummy;
};

AIO_CORO(slow_kid, struct slow_kid) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 10));
    AIO_FAIL(t, AIO_ERR(t) == AIO_ECANCELLED ? E_ZERO : AIO_ERR(t));
    AIO_END(t);
}

AIO_CORO(timeout_group, struct with_group) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 0.01);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, slow_kid, &(struct slow_kid){0});
    AIO_AWAIT(t, aio_sleep(t, 10));
    AIO_GROUP_JOIN(t, &f->g);
    seen.inner_err = AIO_ERR(t);
    AIO_TIMEOUT_END(t, &f->to);
    seen.expired = aio_timeout_expired(&f->to);
    seen.count = aio_task_cancelling(t);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void TIMEOUT_06_group_error_on_timeout(void **state) {
    (void)state;
    reset();
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, timeout_group, &(struct with_group){0}));
    assert_aio_err(seen.inner_err, AIO_EGROUP);
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_int_equal(seen.expired, 1);
    assert_int_equal(seen.count, 0);
    assert_at_ms(loop, 10);
    close_loop(loop);
}

/* ---- the C part ---------------------------------------------------------- */

/* The coroutine ends inside an expired scope: propagating the cancellation
 * (AIO_AWAIT_OK) makes the task fail with AIO_ETIMEDOUT, not end cancelled;
 * returning makes it return (asyncio: the block exits normally). An outer
 * cancel meanwhile stays a cancel. */
enum how { PROPAGATE, RETURN_AFTER, EXTERNAL_CANCEL };
struct ender {
    enum how how;
    aio_timeout to;
};

AIO_CORO(ender, struct ender) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 0.01);
    if (f->how == EXTERNAL_CANCEL)
        aio_task_cancel(t, aio_task_handle(t), NULL);
    if (f->how == RETURN_AFTER) {
        AIO_AWAIT(t, aio_sleep(t, 10));
        AIO_RETURN(t, 5);
    }
    AIO_AWAIT_OK(t, aio_sleep(t, 10));
    AIO_RETURN(t, 6);
    AIO_END(t);
}

static void TIMEOUT_closed_when_the_coroutine_ends(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, ender, &(struct ender){.how = PROPAGATE}));
    assert_aio_err(r.rc, AIO_ETIMEDOUT);
    assert_int_equal(r.cancelled, 0);
    assert_at_ms(loop, 10);
    r = run_task(loop, aio_spawn(loop, ender, &(struct ender){.how = RETURN_AFTER}));
    assert_aio_ok(r.rc);
    assert_int_equal(r.v.i, 5);
    r = run_task(loop, aio_spawn(loop, ender, &(struct ender){.how = EXTERNAL_CANCEL}));
    assert_aio_err(r.rc, AIO_ECANCELLED);
    assert_int_equal(r.cancelled, 1);
    aio_loop_stats st;
    aio_loop_get_stats(loop, &st);
    assert_int_equal(st.timers, 0); /* every scope's timer went with it */
    close_loop(loop);
}

/* The expiry lands at every kind of await: a plain future, a task, a
 * gather, a wait_for, a group's join, an inline child coroutine, sleep(0). */
enum what { PLAIN, TASK, GATHER, WAIT_FOR, JOIN, INLINE, YIELD0 };
struct lander {
    enum what what;
    aio_timeout to;
    aio_group g;
    AIO_CHILD(struct crash) child;
};

AIO_CORO(sleeper10, struct crash) {
    AIO_BEGIN(t);
    AIO_AWAIT_OK(t, aio_sleep(t, 10));
    AIO_END(t);
}

AIO_CORO(lander, struct lander) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, f->what == YIELD0 ? 0 : 0.5);
    switch (f->what) {
    case PLAIN:
        AIO_AWAIT(t, aio_future_new(t));
        break;
    case TASK:
        AIO_AWAIT(t, aio_spawn(t, sleeper10, &(struct crash){0}));
        break;
    case GATHER:
        AIO_AWAIT(t,
                  aio_gather_of(t, NULL, 0, aio_spawn(t, sleeper10, &(struct crash){0}), aio_sleep(t, 10)));
        break;
    case WAIT_FOR:
        AIO_AWAIT(t, aio_wait_for(t, aio_spawn(t, sleeper10, &(struct crash){0}), 5));
        break;
    case JOIN:
        AIO_GROUP_BEGIN(t, &f->g);
        aio_group_spawn(t, &f->g, sleeper10, &(struct crash){0});
        AIO_GROUP_JOIN(t, &f->g);
        break;
    case INLINE:
        AIO_AWAIT_CORO(t, sleeper10, &f->child);
        break;
    case YIELD0:
        AIO_YIELD(t);
        break;
    }
    AIO_TIMEOUT_END(t, &f->to);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void TIMEOUT_lands_at_every_await(void **state) {
    (void)state;
    for (int w = PLAIN; w <= YIELD0; w++) {
        aio_loop *loop = test_loop_new(1);
        struct ran r = run_task(loop, aio_spawn(loop, lander, &(struct lander){.what = (enum what)w}));
        if (r.rc != AIO_ETIMEDOUT)
            fail_msg("await kind %d: %s", w, aio_err_name(r.rc));
        assert_at_ms(loop, w == YIELD0 ? 0 : 500);
        assert_int_equal(aio_loop_pending_tasks(loop), 0);
        close_loop(loop);
    }
}

/* A scope's END by another task, or on a foreign loop, is refused. */
struct other_end {
    aio_timeout *to;
};

AIO_CORO(other_end, struct other_end) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_END(t, f->to);
    AIO_RETURN(t, AIO_ERR(t));
    AIO_END(t);
}

AIO_CORO(owner_of_scope, struct foreign) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 5);
    AIO_AWAIT(t, aio_spawn(t, other_end, &(struct other_end){&f->to}));
    assert_aio_err(AIO_RESULT(t).i, -EINVAL);
    AIO_TIMEOUT_END(t, &f->to);
    assert_aio_ok(AIO_ERR(t));
    AIO_END(t);
}

static void TIMEOUT_end_by_another_task(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, owner_of_scope, &(struct foreign){0}));
    assert_aio_ok(r.rc);
    aio_timeout to;
    memset(&to, 0, sizeof to);
    to.aio__s.aio__state = 1; /* as if open on another loop */
    assert_aio_err(aio_timeout_reschedule(loop, &to, 1), AIO_EFOREIGN);
    close_loop(loop);
}

/* Many tasks each with a scope, ending in every order, on a table that grows
 * meanwhile: the per-task records stay right. */
struct many {
    int i;
    aio_timeout to;
};

AIO_CORO(many_scopes, struct many) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 0.001 * (f->i % 7));
    AIO_AWAIT(t, aio_sleep(t, 0.001 * (f->i % 5)));
    AIO_TIMEOUT_END(t, &f->to);
    AIO_RETURN(t, AIO_ERR(t) == AIO_ETIMEDOUT);
    AIO_END(t);
}

static void TIMEOUT_many_tasks_with_scopes(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    enum { N = 3000 };
    static aio_future tasks[N];
    for (int i = 0; i < N; i++)
        tasks[i] = aio_spawn(loop, many_scopes, &(struct many){.i = i});
    aio_future all = aio_gather(loop, tasks, N, NULL, 0);
    assert_aio_ok(aio_run_until_complete(loop, all, NULL));
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    close_loop(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(TIMEOUT_01_basic),
        cmocka_unit_test(TIMEOUT_01_at_basic),
        cmocka_unit_test(TIMEOUT_01_outer_task_is_not_cancelled),
        cmocka_unit_test(TIMEOUT_02_not_called),
        cmocka_unit_test(TIMEOUT_02_nothing_left_behind),
        cmocka_unit_test(TIMEOUT_02_disabled),
        cmocka_unit_test(TIMEOUT_02_zero_and_past),
        cmocka_unit_test(TIMEOUT_03_foreign_error_passes),
        cmocka_unit_test(TIMEOUT_03_foreign_cancel_is_not_a_timeout),
        cmocka_unit_test(TIMEOUT_03_outer_cancel_and_deadline),
        cmocka_unit_test(TIMEOUT_05_reschedule),
        cmocka_unit_test(TIMEOUT_05_extend_and_into_the_past),
        cmocka_unit_test(TIMEOUT_05_misuse),
        cmocka_unit_test(TIMEOUT_04_same_instant),
        cmocka_unit_test(TIMEOUT_04_inner_first),
        cmocka_unit_test(TIMEOUT_04_outer_first),
        cmocka_unit_test(TIMEOUT_04_nested_timeout_in_finally),
        cmocka_unit_test(TIMEOUT_04_timeout_after_cancellation),
        cmocka_unit_test(TIMEOUT_06_foreign_error_on_timeout),
        cmocka_unit_test(TIMEOUT_06_group_error_on_timeout),
        cmocka_unit_test(TIMEOUT_closed_when_the_coroutine_ends),
        cmocka_unit_test(TIMEOUT_lands_at_every_await),
        cmocka_unit_test(TIMEOUT_end_by_another_task),
        cmocka_unit_test(TIMEOUT_many_tasks_with_scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
