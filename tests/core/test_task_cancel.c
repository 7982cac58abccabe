/* Task cancellation (aio/task.h): TASK-02, 04, 07, 10 of the spec, and a
 * cancel landing at each point of a task's life: before it starts, while it
 * yields, after it is done, during a cleanup that awaits, undone, twice,
 * while the task awaits another, and requested by the task itself. */
#include "support.h"

#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

/* A call_soon callback that cancels a task. */
struct canceller {
    aio_future task;
    const char *msg;
    int rc;
};

static void cancel_cb(aio_loop *loop, void *arg) {
    struct canceller *c = arg;
    c->rc = aio_task_cancel(loop, c->task, c->msg);
}

/* ---- TASK-02 --------------------------------------------------------------- */

struct sleeper12 {
    int *resumed;
};

static aio_status sleeper12(aio_task *t, void *frame) {
    struct sleeper12 *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 10.0));
    *f->resumed = AIO_ERR(t) == AIO_ECANCELLED ? 1 : 2;
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    AIO_RETURN(t, 12);
    AIO_END(t);
}

/* TASK-02: call_soon(T.cancel) on a task sleeping 10 s: run_until_complete
 * gives AIO_ECANCELLED at once, T is done and cancelled, a later cancel
 * returns 0, and the sleep's timer is gone (the virtual clock never moves). */
static void TASK_02_cancel_sleeping_task(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int resumed = 0;
    struct canceller c = {{0}, NULL, -99};
    c.task = aio_create_task(loop, sleeper12, &(struct sleeper12){&resumed});
    assert_int_equal(aio_call_soon(loop, cancel_cb, &c, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, c.task), NULL), AIO_ECANCELLED);
    assert_int_equal(c.rc, 1);
    assert_int_equal(resumed, 1);
    assert_int_equal(aio_future_done(loop, c.task), 1);
    assert_int_equal(aio_future_cancelled(loop, c.task), 1);
    assert_int_equal(aio_task_cancel(loop, c.task, NULL), 0);
    assert_int_equal(aio_future_result(loop, c.task, NULL), AIO_ECANCELLED);
    assert_true(aio_loop_time(loop) < 1.0);
    /* no timer left: nothing could ever stop the loop, and time stays at 0 */
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_int_equal(aio_future_release(loop, c.task), 0);
    close_loop(loop);
}

/* ---- TASK-04 --------------------------------------------------------------- */

struct t4_inner {
    aio_future w;
    int *proof;
};

static aio_status t4_inner(aio_task *t, void *frame) {
    struct t4_inner *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_future_retain(t, f->w));
    if (AIO_ERR(t) == AIO_ECANCELLED) {
        *f->proof += 1;
        AIO_FAIL(t, AIO_ERR(t)); /* re-raise */
    }
    AIO_RETURN(t, 0);
    AIO_END(t);
}

struct t4_outer {
    aio_future w;
    int *proof;
    int *cancelling_seen;
    AIO_CHILD(struct t4_inner) sub;
};

static aio_status t4_outer(aio_task *t, void *frame) {
    struct t4_outer *f = frame;
    AIO_BEGIN(t);
    f->sub.frame.w = f->w;
    f->sub.frame.proof = f->proof;
    AIO_AWAIT_CORO(t, t4_inner, &f->sub);
    if (AIO_ERR(t) == AIO_ECANCELLED) {
        *f->proof += 100;
        *f->cancelling_seen = aio_task_cancelling(t);
        aio_task_uncancel(t); /* handled: carry on */
    }
    AIO_RETURN(t, 7);
    AIO_END(t);
}

/* TASK-04: cancellation is delivered at the await: inner catches it at
 * `await W` (+1) and re-raises, outer handles it (+100) and uncancels, so the
 * task completes normally; W itself was cancelled. */
static void TASK_04_cancel_delivered_at_await(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int proof = 0, cancelling = -1;
    aio_future w = aio_future_new(loop);
    struct t4_outer fr;
    memset(&fr, 0, sizeof fr);
    fr.w = w;
    fr.proof = &proof;
    fr.cancelling_seen = &cancelling;
    aio_future task = aio_create_task(loop, t4_outer, &fr);
    test_run_iterations(loop, 3); /* started, now awaiting W */
    assert_int_equal(aio_future_done(loop, task), 0);
    assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), &v), 0);
    assert_int_equal(v.i, 7);
    assert_int_equal(proof, 101);
    assert_int_equal(cancelling, 1);
    assert_int_equal(aio_future_cancelled(loop, task), 0);
    assert_int_equal(aio_future_cancelled(loop, w), 1);
    assert_int_equal(aio_future_release(loop, task), 0);
    assert_int_equal(aio_future_release(loop, w), 0);
    close_loop(loop);
}

/* TASK-04 (direct form): a task awaiting F is cancelled: awaiting the task
 * gives AIO_ECANCELLED and F is cancelled; F no longer has the task waiting
 * on it (completing or releasing it afterwards affects nothing). */
static void TASK_04_cancel_cancels_awaited_future(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int err = 1;
    aio_future fut = aio_future_new(loop);
    aio_future task =
        aio_create_task(loop, test_await_fut, (&(struct test_await_fut){aio_future_retain(loop, fut), &err}));
    test_run_iterations(loop, 2);
    assert_int_equal(aio_task_cancel(loop, task, "bye"), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(err, AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, fut), 1);
    assert_int_equal(aio_future_cancelled(loop, task), 1);
    assert_int_equal(aio_future_set_result(loop, fut, AIO_VALUE(1)), AIO_EDONE);
    assert_int_equal(aio_future_release(loop, fut), 0);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

/* ---- TASK-07 --------------------------------------------------------------- */

/* TASK-07: the future a task awaits is cancelled (not the task): the
 * coroutine sees AIO_ECANCELLED and propagates it, so the task ends
 * cancelled; f.cancelled() and t.cancelled() are both true. */
static void TASK_07_cancel_inner_future(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int err = 1;
    aio_future fut = aio_future_new(loop);
    aio_future task =
        aio_create_task(loop, test_await_fut, (&(struct test_await_fut){aio_future_retain(loop, fut), &err}));
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_cancel(loop, fut, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(err, AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, fut), 1);
    assert_int_equal(aio_future_cancelled(loop, task), 1);
    assert_int_equal(aio_future_release(loop, fut), 0);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

/* TASK-07: the same when both the future and the task are cancelled. */
static void TASK_07_cancel_both_task_and_inner_future(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int err = 1;
    aio_future fut = aio_future_new(loop);
    aio_future task =
        aio_create_task(loop, test_await_fut, (&(struct test_await_fut){aio_future_retain(loop, fut), &err}));
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_cancel(loop, fut, NULL), 1);
    assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(err, AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, fut), 1);
    assert_int_equal(aio_future_cancelled(loop, task), 1);
    assert_int_equal(aio_future_release(loop, fut), 0);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

/* ---- TASK-10 --------------------------------------------------------------- */

struct t10_outer {
    aio_future inner;
    int *seen;
};

static aio_status t10_outer(aio_task *t, void *frame) {
    struct t10_outer *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_future_retain(t, f->inner));
    *f->seen = AIO_ERR(t);
    if (AIO_ERR(t) == AIO_ECANCELLED)
        AIO_FAIL(t, -EINVAL); /* ValueError('cancelled') */
    AIO_RETURN(t, 0);
    AIO_END(t);
}

/* TASK-10: O awaits I; I is cancelled with "msg"; O turns the cancellation
 * into -EINVAL. Awaiting O gives -EINVAL (O is failed, not cancelled); I is
 * cancelled and carries its message. */
static void TASK_10_cancel_turned_into_other_error(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int seen = 1, inner_saw = -1;
    aio_future inner = aio_create_task(loop, test_forever, &(struct test_forever){&inner_saw});
    aio_future outer = aio_create_task(loop, t10_outer, (&(struct t10_outer){inner, &seen}));
    struct canceller c = {inner, "msg", -99};
    assert_int_equal(aio_call_soon(loop, cancel_cb, &c, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, outer), NULL), -EINVAL);
    assert_int_equal(c.rc, 1);
    assert_int_equal(seen, AIO_ECANCELLED);
    assert_int_equal(inner_saw, 1);
    assert_int_equal(aio_future_cancelled(loop, outer), 0);
    assert_int_equal(aio_future_error(loop, outer), -EINVAL);
    assert_int_equal(aio_future_cancelled(loop, inner), 1);
    const char *msg = aio_future_cancel_message(loop, inner);
    assert_non_null(msg);
    assert_string_equal(msg, "msg");
    assert_int_equal(aio_future_release(loop, outer), 0);
    assert_int_equal(aio_future_release(loop, inner), 0);
    close_loop(loop);
}

struct t10_self {
    int dummy;
};

static aio_status t10_self(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 3600.0));
    if (AIO_ERR(t) == AIO_ECANCELLED)
        AIO_FAIL(t, -EDOM);
    AIO_RETURN(t, 0);
    AIO_END(t);
}

/* TASK-10: a task that is itself cancelled and AIO_FAILs with another error
 * ends with that error, not cancelled. */
static void TASK_10_cancelled_task_fails_with_other_error(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future task = aio_create_task(loop, t10_self, &(struct t10_self){0});
    struct canceller c = {task, NULL, -99};
    assert_int_equal(aio_call_soon(loop, cancel_cb, &c, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), -EDOM);
    assert_int_equal(c.rc, 1);
    assert_int_equal(aio_future_cancelled(loop, task), 0);
    assert_int_equal(aio_future_error(loop, task), -EDOM);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

/* TASK-10: cancel messages travel: T.cancel(msg), then T.result() gives
 * AIO_ECANCELLED and the message is msg (NULL when none was given). */
static void TASK_10_cancel_message_travels(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = aio_create_task(loop, test_forever, &(struct test_forever){NULL});
    aio_future b = aio_create_task(loop, test_forever, &(struct test_forever){NULL});
    test_run_iterations(loop, 2);
    assert_int_equal(aio_task_cancel(loop, a, "my message"), 1);
    assert_int_equal(aio_task_cancel(loop, b, NULL), 1);
    test_run_iterations(loop, 3);
    assert_int_equal(aio_future_done(loop, a), 1);
    assert_int_equal(aio_future_result(loop, a, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_error(loop, a), AIO_ECANCELLED);
    assert_non_null(aio_future_cancel_message(loop, a));
    assert_string_equal(aio_future_cancel_message(loop, a), "my message");
    assert_int_equal(aio_future_result(loop, b, NULL), AIO_ECANCELLED);
    assert_null(aio_future_cancel_message(loop, b));
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    close_loop(loop);
}

/* ---- cancellation at each point of a task's life ----------------------------- */

struct body_counter {
    int *entries;
};

static aio_status body_counter(aio_task *t, void *frame) {
    struct body_counter *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 1.0));
    AIO_RETURN(t, 5);
    AIO_END(t);
}

/* A task cancelled before its first run ends cancelled without running its
 * body at all. */
static void task_cancel_before_start(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int entries = 0;
    aio_future task = aio_create_task(loop, body_counter, &(struct body_counter){&entries});
    assert_int_equal(aio_task_cancel(loop, task, "early"), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(entries, 0);
    assert_int_equal(aio_future_cancelled(loop, task), 1);
    assert_string_equal(aio_future_cancel_message(loop, task), "early");
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

struct yield_then {
    int *err_after_yield;
    int *cleanup;
};

static aio_status yield_then(aio_task *t, void *frame) {
    struct yield_then *f = frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    *f->err_after_yield = AIO_ERR(t);
    if (AIO_ERR(t) == AIO_ECANCELLED)
        (*f->cleanup)++;
    AIO_AWAIT(t, aio_sleep(t, 1.0));
    AIO_RETURN(t, 5);
    AIO_END(t);
}

/* A task cancelled while it sits in the ready queue after AIO_YIELD sees
 * AIO_ECANCELLED at that yield, may clean up and carry on awaiting, and
 * still ends cancelled. */
static void task_cancel_while_yielded(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int err = 1, cleanup = 0;
    aio_future task = aio_create_task(loop, yield_then, (&(struct yield_then){&err, &cleanup}));
    test_run_iterations(loop, 1); /* first run: yielded, resumes next iteration */
    assert_int_equal(aio_future_done(loop, task), 0);
    assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(err, AIO_ECANCELLED);
    assert_int_equal(cleanup, 1);
    assert_int_equal(aio_future_cancelled(loop, task), 1);
    assert_int_equal(aio_loop_time_ns(loop), 1000000000); /* the cleanup sleep ran */
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

/* Cancelling a finished task returns 0 and changes nothing. */
static void task_cancel_after_done(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int entries = 0;
    aio_future task = aio_create_task(loop, body_counter, &(struct body_counter){&entries});
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), &v), 0);
    assert_int_equal(v.i, 5);
    assert_int_equal(aio_task_cancel(loop, task, NULL), 0);
    assert_int_equal(aio_future_cancel(loop, task, NULL), 0);
    assert_int_equal(aio_future_cancelled(loop, task), 0);
    assert_int_equal(aio_future_result(loop, task, &v), 0);
    assert_int_equal(v.i, 5);
    assert_int_equal(entries, 2);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

struct cleanup_awaits {
    int *stage;
};

static aio_status cleanup_awaits(aio_task *t, void *frame) {
    struct cleanup_awaits *f = frame;
    AIO_BEGIN(t);
    *f->stage = 1;
    AIO_AWAIT(t, aio_sleep(t, 100.0));
    if (AIO_ERR(t) == AIO_ECANCELLED) {
        *f->stage = 2;
        AIO_AWAIT(t, aio_sleep_value(t, 0.25, 9)); /* cleanup that awaits */
        *f->stage = AIO_ERR(t) == 0 && AIO_RESULT(t).i == 9 ? 3 : -3;
        AIO_RETURN(t, 1); /* still ends cancelled */
    }
    AIO_RETURN(t, 0);
    AIO_END(t);
}

/* Cancelled while awaiting, the task cleans up with further awaits (which
 * complete normally), returns a value, and still ends cancelled. */
static void task_cancel_with_awaiting_cleanup(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int stage = 0;
    aio_future task = aio_create_task(loop, cleanup_awaits, &(struct cleanup_awaits){&stage});
    struct canceller c = {task, NULL, -99};
    assert_int_equal(aio_call_later(loop, 0.5, cancel_cb, &c, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(c.rc, 1);
    assert_int_equal(stage, 3);
    assert_int_equal(aio_future_cancelled(loop, task), 1);
    assert_int_equal(aio_loop_time_ns(loop), 750000000);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

struct uncanceller {
    int *count_before, *count_after;
};

static aio_status uncanceller(aio_task *t, void *frame) {
    struct uncanceller *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 100.0));
    *f->count_before = aio_task_cancelling(t);
    if (AIO_ERR(t) == AIO_ECANCELLED)
        *f->count_after = aio_task_uncancel(t);
    /* carries on normally: a later await is not cancelled */
    AIO_AWAIT(t, aio_sleep_value(t, 1.0, 33));
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    AIO_RETURN(t, AIO_RESULT(t));
    AIO_END(t);
}

/* aio_task_cancelling counts a delivered cancellation, aio_task_uncancel
 * undoes it, and the task then finishes normally with its value. */
static void task_uncancel_finishes_normally(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int before = -1, after = -1;
    aio_future task = aio_create_task(loop, uncanceller, (&(struct uncanceller){&before, &after}));
    struct canceller c = {task, NULL, -99};
    assert_int_equal(aio_call_soon(loop, cancel_cb, &c, NULL), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), &v), 0);
    assert_int_equal(v.i, 33);
    assert_int_equal(before, 1);
    assert_int_equal(after, 0);
    assert_int_equal(aio_future_cancelled(loop, task), 0);
    assert_int_equal(aio_loop_time_ns(loop), 1000000000);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

struct resume_count {
    aio_future f;
    int *entries;
    int *err;
};

static aio_status resume_count(aio_task *t, void *frame) {
    struct resume_count *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->f);
    *f->err = AIO_ERR(t);
    AIO_RETURN(t, 1);
    AIO_END(t);
}

/* The awaited future completes and the task is cancelled in the same
 * iteration (before the task resumed): cancel is still requested (1), the
 * coroutine is resumed exactly once, sees AIO_ECANCELLED there (asyncio's
 * _must_cancel) and the task ends cancelled. */
static void task_cancel_after_awaited_future_completed(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int entries = 0, err = 1;
    aio_future fut = aio_future_new(loop);
    aio_future task = aio_create_task(loop, resume_count,
                                      (&(struct resume_count){aio_future_retain(loop, fut), &entries, &err}));
    test_run_iterations(loop, 2);
    assert_int_equal(entries, 1);
    assert_int_equal(aio_future_set_result(loop, fut, AIO_VALUE(4)), 0);
    assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(entries, 2);
    assert_int_equal(err, AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, fut), 0); /* it had its result */
    test_run_iterations(loop, 3);
    assert_int_equal(entries, 2);
    assert_int_equal(aio_future_release(loop, fut), 0);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

/* Two cancel requests on a pending task both return 1 (requested); the task
 * ends cancelled once. */
static void task_cancel_twice(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int entries = 0;
    aio_future task = aio_create_task(loop, body_counter, &(struct body_counter){&entries});
    test_run_iterations(loop, 2);
    assert_int_equal(aio_task_cancel(loop, task, "one"), 1);
    assert_int_equal(aio_task_cancel(loop, task, "two"), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(entries, 2);
    assert_int_equal(aio_task_cancel(loop, task, "three"), 0);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

/* ---- more cancellation ---------------------------------------------------------- */

struct cancel_in_cleanup {
    int *first, *second, *cancelling;
};

static aio_status cancel_in_cleanup(aio_task *t, void *frame) {
    struct cancel_in_cleanup *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 100.0));
    *f->first = AIO_ERR(t);
    AIO_AWAIT(t, aio_sleep(t, 1.0)); /* cleanup, cancelled again at 0.75 */
    *f->second = AIO_ERR(t);
    *f->cancelling = aio_task_cancelling(t);
    AIO_RETURN(t, 0);
    AIO_END(t);
}

/* A second cancel arriving while the task awaits during its cleanup is
 * delivered at that await too; two cancellations are now counted. */
static void task_cancel_again_during_cleanup(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int first = 1, second = 1, cancelling = -1;
    aio_future task =
        aio_create_task(loop, cancel_in_cleanup, (&(struct cancel_in_cleanup){&first, &second, &cancelling}));
    struct canceller c1 = {task, NULL, -99}, c2 = {task, NULL, -99};
    assert_int_equal(aio_call_later(loop, 0.5, cancel_cb, &c1, NULL), 0);
    assert_int_equal(aio_call_later(loop, 0.75, cancel_cb, &c2, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(c1.rc, 1);
    assert_int_equal(c2.rc, 1);
    assert_int_equal(first, AIO_ECANCELLED);
    assert_int_equal(second, AIO_ECANCELLED);
    assert_int_equal(cancelling, 2);
    assert_int_equal(aio_loop_time_ns(loop), 750000000);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

struct slow_inner {
    int *log;
};

static aio_status slow_inner(aio_task *t, void *frame) {
    struct slow_inner *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 10.0));
    if (AIO_ERR(t) == AIO_ECANCELLED) {
        *f->log = *f->log * 10 + 1;
        AIO_AWAIT(t, aio_sleep(t, 0.25)); /* slow cleanup */
        *f->log = *f->log * 10 + 2;
        AIO_FAIL(t, AIO_ECANCELLED);
    }
    AIO_RETURN(t, 0);
    AIO_END(t);
}

struct awaits_task {
    aio_future inner;
    int *log;
    int *err;
};

static aio_status awaits_task(aio_task *t, void *frame) {
    struct awaits_task *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_future_retain(t, f->inner));
    *f->err = AIO_ERR(t);
    *f->log = *f->log * 10 + 3;
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    AIO_RETURN(t, 0);
    AIO_END(t);
}

/* Cancelling a task that awaits another task cancels the inner task (the
 * future it awaits); the outer resumes only once the inner has finished its
 * cleanup, sees AIO_ECANCELLED, and both end cancelled. */
static void task_cancel_propagates_to_awaited_task(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int log = 0, err = 1;
    aio_future inner = aio_create_task(loop, slow_inner, &(struct slow_inner){&log});
    aio_future outer = aio_create_task(loop, awaits_task, (&(struct awaits_task){inner, &log, &err}));
    test_run_iterations(loop, 2);
    assert_int_equal(aio_task_cancel(loop, outer, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, outer), NULL), AIO_ECANCELLED);
    assert_int_equal(log, 123);
    assert_int_equal(err, AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, inner), 1);
    assert_int_equal(aio_future_cancelled(loop, outer), 1);
    assert_int_equal(aio_loop_time_ns(loop), 250000000);
    assert_int_equal(aio_future_release(loop, inner), 0);
    assert_int_equal(aio_future_release(loop, outer), 0);
    close_loop(loop);
}

struct self_cancel {
    int *rc, *err;
};

static aio_status self_cancel(aio_task *t, void *frame) {
    struct self_cancel *f = frame;
    AIO_BEGIN(t);
    *f->rc = aio_task_cancel(t, aio_task_handle(t), "self");
    AIO_AWAIT(t, aio_sleep(t, 1.0));
    *f->err = AIO_ERR(t);
    AIO_RETURN(t, 1);
    AIO_END(t);
}

/* A task cancelling itself: the request is accepted (1) and delivered at its
 * next await, at once (the 1 s sleep does not run); the task ends cancelled
 * with the message. */
static void task_cancel_self_delivered_at_next_await(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int rc = -99, err = 1;
    aio_future task = aio_create_task(loop, self_cancel, (&(struct self_cancel){&rc, &err}));
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(rc, 1);
    assert_int_equal(err, AIO_ECANCELLED);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_string_equal(aio_future_cancel_message(loop, task), "self");
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

struct many_cancels {
    int *seen;
};

static aio_status count_cancels(aio_task *t, void *frame) {
    struct many_cancels *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 100.0));
    *f->seen = aio_task_cancelling(t);
    while (aio_task_uncancel(t) > 0) {
    }
    AIO_RETURN(t, 5);
    AIO_END(t);
}

/* The cancellation count saturates (at 31) instead of wrapping: 40 requests
 * read as 31, and undoing them all lets the task finish normally. */
static void task_cancelling_saturates(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int seen = -1;
    aio_future task = aio_create_task(loop, count_cancels, (&(struct many_cancels){&seen}));
    test_run_iterations(loop, 2); /* it reaches its sleep */
    for (int i = 0; i < 40; i++)
        assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, task, &v), 0);
    assert_int_equal(seen, 31);
    assert_int_equal(v.i, 5);
    close_loop(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(TASK_02_cancel_sleeping_task),
        cmocka_unit_test(TASK_04_cancel_delivered_at_await),
        cmocka_unit_test(TASK_04_cancel_cancels_awaited_future),
        cmocka_unit_test(TASK_07_cancel_inner_future),
        cmocka_unit_test(TASK_07_cancel_both_task_and_inner_future),
        cmocka_unit_test(TASK_10_cancel_turned_into_other_error),
        cmocka_unit_test(TASK_10_cancelled_task_fails_with_other_error),
        cmocka_unit_test(TASK_10_cancel_message_travels),
        cmocka_unit_test(task_cancel_before_start),
        cmocka_unit_test(task_cancel_while_yielded),
        cmocka_unit_test(task_cancel_after_done),
        cmocka_unit_test(task_cancel_with_awaiting_cleanup),
        cmocka_unit_test(task_uncancel_finishes_normally),
        cmocka_unit_test(task_cancel_after_awaited_future_completed),
        cmocka_unit_test(task_cancel_twice),
        cmocka_unit_test(task_cancel_again_during_cleanup),
        cmocka_unit_test(task_cancel_propagates_to_awaited_task),
        cmocka_unit_test(task_cancel_self_delivered_at_next_await),
        cmocka_unit_test(task_cancelling_saturates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
