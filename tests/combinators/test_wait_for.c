/* aio_wait_for (aio/combinators.h): spec cases WAITFOR-01/02/03/05/07/10,
 * pain points 2-4 (outer cancellation never swallowed, no timeout before
 * the child's cleanup, the real outcome wins at the deadline), races,
 * bad children, ownership (wait_for consumes). Virtual clock throughout. */
#include "support.h"

#include <math.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

/* What an inner task does when it is cancelled. */
enum on_cancel { RERAISE = 0, FAIL_OTHER, RETURN_VALUE };

/* The inner task: marks `started`, sleeps `delay`; if cancelled there, it
 * may clean up by sleeping `cleanup` (> 0), marks `finished` (its
 * `finally`), records the time, then re-raises, fails with `other`, or
 * uncancels and returns `value`. Not cancelled: marks `finished`, returns
 * `value`. */
struct inner {
    double delay;
    double cleanup;
    enum on_cancel on_cancel;
    int other;
    int64_t value;
    int *started;
    int *finished;
};

static aio_status inner(aio_task *t, void *frame) {
    struct inner *f = frame;
    AIO_BEGIN(t);
    if (f->started)
        *f->started = 1;
    AIO_AWAIT(t, aio_sleep(t, f->delay));
    if (AIO_ERR(t) == AIO_ECANCELLED) {
        if (f->cleanup > 0)
            AIO_AWAIT(t, aio_sleep(t, f->cleanup));
        if (f->finished)
            *f->finished = 1;
        if (f->on_cancel == RERAISE)
            AIO_FAIL(t, AIO_ECANCELLED);
        if (f->on_cancel == FAIL_OTHER)
            AIO_FAIL(t, f->other);
        aio_task_uncancel(t);
        AIO_RETURN(t, f->value);
    }
    if (f->finished)
        *f->finished = 1;
    AIO_RETURN(t, f->value);
    AIO_END(t);
}

/* A task awaiting `f` (consumed) that records, at the moment its await
 * returns, the await's status, result, the loop time, and the value of
 * *watch (e.g. the inner's `finished` flag). Propagates errors. */
struct awaiter {
    aio_future f;
    int *err;
    int64_t *value;
    int64_t *at_ns;
    int *watch, *watch_seen;
};

static aio_status awaiter(aio_task *t, void *frame) {
    struct awaiter *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->f);
    *f->err = AIO_ERR(t);
    *f->value = AIO_RESULT(t).i;
    *f->at_ns = aio_loop_time_ns(t);
    if (f->watch)
        *f->watch_seen = *f->watch;
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    AIO_RETURN(t, AIO_RESULT(t));
    AIO_END(t);
}

struct awaited {
    int err;
    int64_t value;
    int64_t at_ns;
    int watch_seen;
};

static aio_future spawn_awaiter(aio_loop *loop, aio_future f, struct awaited *out, int *watch) {
    out->err = 1;
    out->value = 0;
    out->at_ns = -1;
    out->watch_seen = -1;
    aio_future t = aio_create_task(
        loop, awaiter, (&(struct awaiter){f, &out->err, &out->value, &out->at_ns, watch, &out->watch_seen}));
    assert_int_equal(aio_future_check(t), 0);
    return t;
}

struct canceller {
    aio_future f;
    const char *msg;
    int rc;
};

static void cancel_cb(aio_loop *loop, void *arg) {
    struct canceller *c = arg;
    c->rc = aio_future_cancel(loop, c->f, c->msg);
}

enum act_kind { ACT_RESULT, ACT_ERROR };
struct act {
    aio_future f;
    enum act_kind kind;
    int64_t value;
    int rc;
};

static void act_cb(aio_loop *loop, void *arg) {
    struct act *a = arg;
    if (a->kind == ACT_RESULT)
        a->rc = aio_future_set_result(loop, a->f, AIO_VALUE(a->value));
    else
        a->rc = aio_future_set_error(loop, a->f, (int)a->value);
}

/* ---- WAITFOR-01 --------------------------------------------------------------- */

/* WAITFOR-01: wait_for(task sleeping 10 with a `finally`, 0.1) gives
 * AIO_ETIMEDOUT at 0.1; by the time the awaiter resumes, the inner is done,
 * cancelled and its finally has run. Nothing is reported. */
static void WAITFOR_01_timeout(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    int started = 0, finished = 0;
    aio_future in =
        aio_create_task(loop, inner, &(struct inner){10.0, 0, RERAISE, 0, 1, &started, &finished});
    struct awaited aw;
    aio_future t = spawn_awaiter(loop, aio_wait_for(loop, aio_future_retain(loop, in), 0.1), &aw, &finished);
    assert_int_equal(aio_run_until_complete(loop, t, NULL), AIO_ETIMEDOUT);
    assert_int_equal(aw.err, AIO_ETIMEDOUT);
    assert_int_equal(aw.watch_seen, 1);
    assert_int_equal(aw.at_ns, 100000000);
    assert_int_equal(started, 1);
    assert_int_equal(aio_future_done(loop, in), 1);
    assert_int_equal(aio_future_cancelled(loop, in), 1);
    assert_int_equal(aio_future_release(loop, in), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK); /* no timer left behind */
    assert_int_equal(aio_loop_time_ns(loop), 100000000);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A child finishing in time: its result, at its own time; the timer is gone
 * (the clock never jumps to the deadline afterwards). */
static void wait_for_in_time(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_value v = {0};
    aio_future in = aio_create_task(loop, inner, &(struct inner){0.05, 0, RERAISE, 0, 42, NULL, NULL});
    assert_int_equal(aio_run_until_complete(loop, aio_wait_for(loop, in, 10.0), &v), 0);
    assert_int_equal(v.i, 42);
    assert_int_equal(aio_loop_time_ns(loop), 50000000);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(aio_loop_time_ns(loop), 50000000);
    close_loop(loop);
}

/* ---- WAITFOR-02 --------------------------------------------------------------- */

/* WAITFOR-02: the inner cleans up (sleeps 0.01) before re-raising: the
 * timeout reaches the awaiter only after that cleanup (at 0.11, finished
 * already set). */
static void WAITFOR_02_waits_for_cleanup(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int finished = 0;
    aio_future in = aio_create_task(loop, inner, &(struct inner){10.0, 0.01, RERAISE, 0, 1, NULL, &finished});
    struct awaited aw;
    aio_future t = spawn_awaiter(loop, aio_wait_for(loop, aio_future_retain(loop, in), 0.1), &aw, &finished);
    assert_int_equal(aio_run_until_complete(loop, t, NULL), AIO_ETIMEDOUT);
    assert_int_equal(aw.watch_seen, 1);
    assert_int_equal(aw.at_ns, 110000000);
    assert_int_equal(aio_future_cancelled(loop, in), 1);
    assert_int_equal(aio_future_release(loop, in), 0);
    close_loop(loop);
}

/* WAITFOR-02 / pain point 3: an inner whose cleanup takes 0.2 s overruns
 * a 0.1 s timeout: AIO_ETIMEDOUT arrives at 0.3, after it exited. */
static void WAITFOR_02_slow_cleanup_overruns(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int finished = 0;
    struct awaited aw;
    aio_future t = spawn_awaiter(
        loop,
        aio_wait_for(loop,
                     aio_create_task(loop, inner, &(struct inner){10.0, 0.2, RERAISE, 0, 1, NULL, &finished}),
                     0.1),
        &aw, &finished);
    assert_int_equal(aio_run_until_complete(loop, t, NULL), AIO_ETIMEDOUT);
    assert_int_equal(aw.watch_seen, 1);
    assert_int_equal(aw.at_ns, 300000000);
    close_loop(loop);
}

/* WAITFOR-02: cancelling the task awaiting a wait_for (at 0.1) completes
 * only after the inner (cleanup 0.2) has exited: at 0.3, cancelled; the
 * inner is cancelled too. */
static void WAITFOR_02_cancel_waits_for_inner(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int finished = 0;
    aio_future in = aio_create_task(loop, inner, &(struct inner){10.0, 0.2, RERAISE, 0, 1, NULL, &finished});
    struct awaited aw;
    aio_future t = spawn_awaiter(loop, aio_wait_for(loop, aio_future_retain(loop, in), 60.0), &aw, &finished);
    struct canceller c = {t, NULL, -99};
    assert_int_equal(aio_call_later(loop, 0.1, cancel_cb, &c, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, t), NULL), AIO_ECANCELLED);
    assert_int_equal(c.rc, 1);
    assert_int_equal(aw.err, AIO_ECANCELLED);
    assert_int_equal(aw.watch_seen, 1);
    assert_int_equal(aw.at_ns, 300000000);
    assert_int_equal(aio_future_cancelled(loop, t), 1);
    assert_int_equal(aio_future_cancelled(loop, in), 1);
    assert_int_equal(aio_future_release(loop, t), 0);
    assert_int_equal(aio_future_release(loop, in), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK); /* the 60 s timer is gone */
    assert_int_equal(aio_loop_time_ns(loop), 300000000);
    close_loop(loop);
}

/* ---- WAITFOR-03 --------------------------------------------------------------- */

/* WAITFOR-03: an already-done future with timeout 0 (and -1) gives its
 * value; an already-failed one its error; the clock does not move. */
static void WAITFOR_03_done_future_zero_timeout(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_value v = {0};
    aio_future f = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, f, AIO_VALUE(0x646f6e65)), 0); /* 'done' */
    assert_int_equal(aio_run_until_complete(loop, aio_wait_for(loop, f, 0), &v), 0);
    assert_int_equal(v.i, 0x646f6e65);
    f = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, f, AIO_VALUE(5)), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_wait_for(loop, f, -1.0), &v), 0);
    assert_int_equal(v.i, 5);
    f = aio_future_new(loop);
    assert_int_equal(aio_future_set_error(loop, f, -EIO), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_wait_for(loop, f, 0), NULL), -EIO);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* WAITFOR-03: a running task (sleeping 10, with a finally) and timeout 0 or
 * -1: AIO_ETIMEDOUT, the task is done and cancelled, its finally ran, the
 * clock stays at 0. */
static void WAITFOR_03_running_task_zero_timeout(void **state) {
    (void)state;
    static const double timeouts[2] = {0.0, -1.0};
    for (int k = 0; k < 2; k++) {
        aio_loop *loop = test_loop_new(1);
        int started = 0, finished = 0;
        aio_future in =
            aio_create_task(loop, inner, &(struct inner){10.0, 0, RERAISE, 0, 1, &started, &finished});
        test_run_iterations(loop, 2);
        assert_int_equal(started, 1);
        struct awaited aw;
        aio_future t =
            spawn_awaiter(loop, aio_wait_for(loop, aio_future_retain(loop, in), timeouts[k]), &aw, &finished);
        assert_int_equal(aio_run_until_complete(loop, t, NULL), AIO_ETIMEDOUT);
        assert_int_equal(aw.watch_seen, 1);
        assert_int_equal(aio_future_done(loop, in), 1);
        assert_int_equal(aio_future_cancelled(loop, in), 1);
        assert_int_equal(aio_loop_time_ns(loop), 0);
        assert_int_equal(aio_future_release(loop, in), 0);
        close_loop(loop);
    }
}

/* WAITFOR-03: timeout 0 with an inner that awaits during its cleanup (0.01):
 * AIO_ETIMEDOUT only once the cleanup is over (at 0.01, finished set). */
static void WAITFOR_03_zero_timeout_waits_for_cleanup(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int finished = 0;
    aio_future in = aio_create_task(loop, inner, &(struct inner){10.0, 0.01, RERAISE, 0, 1, NULL, &finished});
    test_run_iterations(loop, 2);
    struct awaited aw;
    aio_future t = spawn_awaiter(loop, aio_wait_for(loop, in, 0), &aw, &finished);
    assert_int_equal(aio_run_until_complete(loop, t, NULL), AIO_ETIMEDOUT);
    assert_int_equal(aw.watch_seen, 1);
    assert_int_equal(aw.at_ns, 10000000);
    close_loop(loop);
}

/* A task not yet started passed to wait_for with timeout <= 0 never runs
 * its body: AIO_ETIMEDOUT, the task cancelled, `started` still 0. */
static void wait_for_unstarted_task_never_runs(void **state) {
    (void)state;
    static const double timeouts[2] = {0.0, -5.0};
    for (int k = 0; k < 2; k++) {
        aio_loop *loop = test_loop_new(1);
        int started = 0;
        aio_future in = aio_create_task(loop, inner, &(struct inner){1.0, 0, RERAISE, 0, 1, &started, NULL});
        aio_future wf = aio_wait_for(loop, aio_future_retain(loop, in), timeouts[k]);
        assert_int_equal(aio_run_until_complete(loop, wf, NULL), AIO_ETIMEDOUT);
        assert_int_equal(started, 0);
        assert_int_equal(aio_future_cancelled(loop, in), 1);
        assert_int_equal(aio_loop_time_ns(loop), 0);
        assert_int_equal(aio_future_release(loop, in), 0);
        close_loop(loop);
    }
}

/* The same from a coroutine, the documented way (task created inline). */
struct unstarted_main {
    int *started;
    int *err;
};

static aio_status unstarted_main(aio_task *t, void *frame) {
    struct unstarted_main *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t,
              aio_wait_for(
                  t, aio_create_task(t, inner, &(struct inner){1.0, 0, RERAISE, 0, 1, f->started, NULL}), 0));
    *f->err = AIO_ERR(t);
    AIO_YIELD(t);
    AIO_YIELD(t);
    AIO_END(t);
}

static void wait_for_unstarted_inline_task_in_coroutine(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    int started = 0, err = 1;
    assert_int_equal(
        aio_run_until_complete(
            loop, aio_create_task(loop, unstarted_main, &(struct unstarted_main){&started, &err}), NULL),
        0);
    assert_int_equal(err, AIO_ETIMEDOUT);
    assert_int_equal(started, 0);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- WAITFOR-05 --------------------------------------------------------------- */

struct blocking {
    aio_future w;
};

static aio_status blocking(aio_task *t, void *frame) {
    struct blocking *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->w);
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

/* WAITFOR-05: the task awaiting wait_for(task(blocking), 60 / forever) is
 * cancelled by call_soon: it ends AIO_ECANCELLED (not AIO_ETIMEDOUT), the
 * inner task is cancelled, and no timer is left (time stays 0). */
static void WAITFOR_05_cancel_outer(void **state) {
    (void)state;
    const double timeouts[2] = {60.0, AIO_FOREVER};
    for (int k = 0; k < 2; k++) {
        aio_loop *loop = test_loop_new(1);
        aio_future never = aio_future_new(loop);
        aio_future in = aio_create_task(loop, blocking, &(struct blocking){aio_future_retain(loop, never)});
        struct awaited aw;
        aio_future t =
            spawn_awaiter(loop, aio_wait_for(loop, aio_future_retain(loop, in), timeouts[k]), &aw, NULL);
        struct canceller c = {t, NULL, -99};
        assert_int_equal(aio_call_soon(loop, cancel_cb, &c, NULL), 0);
        assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, t), NULL), AIO_ECANCELLED);
        assert_int_equal(c.rc, 1);
        assert_int_equal(aw.err, AIO_ECANCELLED);
        assert_int_equal(aio_future_cancelled(loop, t), 1);
        assert_int_equal(aio_future_cancelled(loop, in), 1);
        assert_int_equal(aio_future_cancelled(loop, never), 1);
        assert_int_equal(aio_loop_time_ns(loop), 0);
        assert_int_equal(aio_future_release(loop, t), 0);
        assert_int_equal(aio_future_release(loop, in), 0);
        assert_int_equal(aio_future_release(loop, never), 0);
        assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
        assert_int_equal(aio_loop_time_ns(loop), 0);
        close_loop(loop);
    }
}

/* Cancelling wait_for's own future (not a task) cancels the child, waits for
 * it, and ends cancelled with the message; cancel returns 1, then 0. */
static void wait_for_cancel_own_future(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int finished = 0;
    aio_future in = aio_create_task(loop, inner, &(struct inner){10.0, 0.05, RERAISE, 0, 1, NULL, &finished});
    aio_future wf = aio_wait_for(loop, aio_future_retain(loop, in), 1.0);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_cancel(loop, wf, "stop"), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, wf), NULL), AIO_ECANCELLED);
    assert_int_equal(finished, 1);
    assert_int_equal(aio_loop_time_ns(loop), 50000000);
    assert_int_equal(aio_future_cancelled(loop, wf), 1);
    assert_string_equal(aio_future_cancel_message(loop, wf), "stop");
    assert_int_equal(aio_future_cancel(loop, wf, NULL), 0);
    assert_int_equal(aio_future_cancelled(loop, in), 1);
    assert_int_equal(aio_future_release(loop, wf), 0);
    assert_int_equal(aio_future_release(loop, in), 0);
    close_loop(loop);
}

/* ---- WAITFOR-07, pain point 4 ------------------------------------------------------- */

/* WAITFOR-07: the inner fails with another error while being cancelled
 * (after a cleanup of 0.01, or at once): wait_for gives that error, not
 * AIO_ETIMEDOUT; the error counts as retrieved (no report). */
static void WAITFOR_07_error_during_cancellation_wins(void **state) {
    (void)state;
    static const double cleanups[2] = {0.01, 0};
    for (int k = 0; k < 2; k++) {
        aio_loop *loop = test_loop_new(1);
        test_reports reps;
        test_collect_reports(loop, &reps);
        aio_future in = aio_create_task(
            loop, inner, &(struct inner){10.0, cleanups[k], FAIL_OTHER, -EPROTO, 1, NULL, NULL});
        assert_int_equal(aio_run_until_complete(loop, aio_wait_for(loop, in, 0.1), NULL), -EPROTO);
        assert_int_equal(aio_loop_time_ns(loop), k == 0 ? 110000000 : 100000000);
        assert_int_equal(aio_loop_close(loop), 0);
        assert_int_equal(reps.count, 0);
        assert_int_equal(aio_loop_free(loop), 0);
    }
}

/* Pain point 4: a result produced during the cancellation (the inner
 * uncancels and returns 42) wins over AIO_ETIMEDOUT. */
static void wait_for_result_during_cancellation_wins(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_value v = {0};
    aio_future in =
        aio_create_task(loop, inner, &(struct inner){10.0, 0.01, RETURN_VALUE, 0, 42, NULL, NULL});
    assert_int_equal(aio_run_until_complete(loop, aio_wait_for(loop, in, 0.1), &v), 0);
    assert_int_equal(v.i, 42);
    assert_int_equal(aio_loop_time_ns(loop), 110000000);
    close_loop(loop);
}

/* Pain point 4: the child completes (result, or error) in the same
 * iteration as the deadline, just before the timeout runs: the real outcome
 * wins over AIO_ETIMEDOUT. */
static void wait_for_outcome_at_deadline_wins(void **state) {
    (void)state;
    for (int k = 0; k < 2; k++) {
        aio_loop *loop = test_loop_new(1);
        test_reports reps;
        test_collect_reports(loop, &reps);
        aio_future f = aio_future_new(loop);
        struct act a = {f, k == 0 ? ACT_RESULT : ACT_ERROR, k == 0 ? 9 : -EIO, -99};
        assert_int_equal(aio_call_later(loop, 0.1, act_cb, &a, NULL), 0); /* armed first */
        aio_value v = {0};
        int rc = aio_run_until_complete(loop, aio_wait_for(loop, aio_future_retain(loop, f), 0.1), &v);
        assert_int_equal(a.rc, 0);
        if (k == 0) {
            assert_int_equal(rc, 0);
            assert_int_equal(v.i, 9);
        } else {
            assert_int_equal(rc, -EIO);
        }
        assert_int_equal(aio_loop_time_ns(loop), 100000000);
        assert_int_equal(aio_future_cancelled(loop, f), 0);
        assert_int_equal(aio_future_release(loop, f), 0);
        assert_int_equal(aio_loop_close(loop), 0);
        assert_int_equal(reps.count, 0);
        assert_int_equal(aio_loop_free(loop), 0);
    }
}

/* ---- pain point 2: cancellation racing with completion ---------------------------------- */

struct race {
    aio_future child, target;
    int rc_set, rc_cancel;
};

static void race_cb(aio_loop *loop, void *arg) {
    struct race *r = arg;
    r->rc_set = aio_future_set_result(loop, r->child, AIO_VALUE(5));
    r->rc_cancel = aio_future_cancel(loop, r->target, "outer");
}

/* Pain point 2: the inner completes in the same iteration as the task
 * awaiting wait_for is cancelled: the task ends cancelled all the same. */
static void wait_for_outer_cancel_races_inner_result(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future f = aio_future_new(loop);
    struct awaited aw;
    aio_future t = spawn_awaiter(loop, aio_wait_for(loop, aio_future_retain(loop, f), 10.0), &aw, NULL);
    test_run_iterations(loop, 2);
    struct race r = {f, t, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, t), NULL), AIO_ECANCELLED);
    assert_int_equal(r.rc_set, 0);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(aw.err, AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, t), 1);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    test_run_iterations(loop, 3);
    assert_int_equal(aio_future_release(loop, t), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK); /* the 10 s timer is gone */
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* The same on wait_for's own future: the child's result arrives and
 * wait_for is cancelled in one iteration: cancel returns 1 and wait_for ends
 * cancelled (an outer cancellation is never swallowed). */
static void wait_for_own_cancel_races_inner_result(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future f = aio_future_new(loop);
    aio_future wf = aio_wait_for(loop, aio_future_retain(loop, f), AIO_FOREVER);
    test_run_iterations(loop, 2);
    struct race r = {f, wf, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, wf), NULL), AIO_ECANCELLED);
    assert_int_equal(r.rc_set, 0);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(aio_future_cancelled(loop, wf), 1);
    aio_value v = {0};
    assert_int_equal(aio_future_result(loop, f, &v), 0); /* the child itself kept its result */
    assert_int_equal(v.i, 5);
    test_run_iterations(loop, 3);
    assert_int_equal(aio_future_release(loop, wf), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Outer cancellation of a wait_for whose inner uncancels and returns a
 * value: wait_for still ends cancelled (never swallowed). */
static void wait_for_outer_cancel_not_swallowed_by_inner_result(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future in =
        aio_create_task(loop, inner, &(struct inner){10.0, 0.01, RETURN_VALUE, 0, 42, NULL, NULL});
    struct awaited aw;
    aio_future t = spawn_awaiter(loop, aio_wait_for(loop, in, 1.0), &aw, NULL);
    struct canceller c = {t, NULL, -99};
    assert_int_equal(aio_call_later(loop, 0.5, cancel_cb, &c, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, t, NULL), AIO_ECANCELLED);
    assert_int_equal(c.rc, 1);
    assert_int_equal(aw.err, AIO_ECANCELLED);
    assert_int_equal(aw.at_ns, 510000000);
    close_loop(loop);
}

/* ---- WAITFOR-10 ------------------------------------------------------------------------- */

/* WAITFOR-10: wait_for(shield(task), 0.01) times out at 0.01; the task is
 * neither done nor cancelled and later gives 'done' (at 0.5). */
static void WAITFOR_10_shielded_timeout(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future x = aio_create_task(loop, inner, &(struct inner){0.5, 0, RERAISE, 0, 0x646f6e65, NULL, NULL});
    aio_future wf = aio_wait_for(loop, aio_shield(loop, aio_future_retain(loop, x)), 0.01);
    assert_int_equal(aio_run_until_complete(loop, wf, NULL), AIO_ETIMEDOUT);
    assert_int_equal(aio_loop_time_ns(loop), 10000000);
    assert_int_equal(aio_future_done(loop, x), 0);
    assert_int_equal(aio_future_cancelled(loop, x), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, x, &v), 0);
    assert_int_equal(v.i, 0x646f6e65);
    assert_int_equal(aio_loop_time_ns(loop), 500000000);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* WAITFOR-10: timeout 0: the shield is cancelled (AIO_ETIMEDOUT at once),
 * the task keeps running and completes. */
static void WAITFOR_10_zero_timeout(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int started = 0;
    aio_future x = aio_create_task(loop, inner, &(struct inner){0.5, 0, RERAISE, 0, 7, &started, NULL});
    aio_future sh = aio_shield(loop, aio_future_retain(loop, x));
    aio_future wf = aio_wait_for(loop, aio_future_retain(loop, sh), 0);
    assert_int_equal(aio_run_until_complete(loop, wf, NULL), AIO_ETIMEDOUT);
    assert_int_equal(aio_future_cancelled(loop, sh), 1);
    assert_int_equal(aio_future_done(loop, x), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, x, &v), 0);
    assert_int_equal(v.i, 7);
    assert_int_equal(started, 1);
    assert_int_equal(aio_future_release(loop, sh), 0);
    close_loop(loop);
}

/* WAITFOR-10: timeout None (AIO_FOREVER): the result, no timer at all. */
static void WAITFOR_10_none_timeout(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_value v = {0};
    aio_future x = aio_create_task(loop, inner, &(struct inner){0.5, 0, RERAISE, 0, 0x646f6e65, NULL, NULL});
    assert_int_equal(aio_run_until_complete(loop, aio_wait_for(loop, x, AIO_FOREVER), &v), 0);
    assert_int_equal(v.i, 0x646f6e65);
    assert_int_equal(aio_loop_time_ns(loop), 500000000);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(aio_loop_time_ns(loop), 500000000);
    close_loop(loop);
}

/* ---- bad children, ownership --------------------------------------------------------------- */

/* Bad child handles (another loop's, stale, null) give an error handle and
 * carry no reference to consume. A NaN timeout fails too, and (the
 * ownership rule, aio/future.h) still consumes the good child: pending and
 * held by nobody else, it is cancelled; one the caller still holds is left. */
static void wait_for_bad_children(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_loop *other = test_loop_new(1);
    aio_future foreign = aio_future_new(other);
    aio_future stale = aio_future_new(loop);
    assert_int_equal(aio_future_release(loop, stale), 0);
    aio_future good = aio_future_new(loop);
    assert_int_equal(aio_future_check(aio_wait_for(loop, foreign, 1.0)), AIO_EFOREIGN);
    assert_int_equal(aio_future_check(aio_wait_for(loop, stale, 1.0)), AIO_ESTALE);
    assert_int_equal(aio_future_check(aio_wait_for(loop, AIO_FUTURE_NULL, 1.0)), AIO_ENULL);
    assert_int_equal(aio_future_check(aio_wait_for_on(NULL, good, 1.0)), -EINVAL);
    assert_int_equal(aio_future_done(other, foreign), 0);
    assert_int_equal(aio_future_release(other, foreign), 0);
    assert_int_equal(aio_future_release(other, foreign), AIO_ESTALE);
    aio_future kept = aio_future_new(loop);
    assert_int_equal(aio_future_check(aio_wait_for(loop, aio_future_retain(loop, kept), NAN)), -EINVAL);
    assert_int_equal(aio_future_done(loop, kept), 0); /* the caller's reference remains */
    assert_int_equal(aio_future_release(loop, kept), 0);
    assert_int_equal(aio_future_check(aio_wait_for(loop, good, NAN)), -EINVAL);
    assert_int_equal(aio_future_done(loop, good), AIO_ESTALE); /* consumed: cancelled and freed */
    test_reports reports;
    test_collect_reports(loop, &reports);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reports.count, 0);
    assert_int_equal(aio_future_check(aio_wait_for(loop, good, 1.0)), AIO_ECLOSED);
    assert_int_equal(aio_loop_free(loop), 0);
    close_loop(other);
}

/* wait_for consumes the child's reference: once the child has finished and
 * wait_for is done, the child's handle is stale. Also on timeout. */
static void wait_for_consumes_child(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = aio_create_task(loop, inner, &(struct inner){0.1, 0, RERAISE, 0, 3, NULL, NULL});
    aio_future b = aio_create_task(loop, inner, &(struct inner){10.0, 0, RERAISE, 0, 3, NULL, NULL});
    aio_future c = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, c, AIO_VALUE(1)), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_wait_for(loop, a, 1.0), &v), 0);
    assert_int_equal(v.i, 3);
    assert_int_equal(aio_run_until_complete(loop, aio_wait_for(loop, b, 1.0), NULL), AIO_ETIMEDOUT);
    assert_int_equal(aio_run_until_complete(loop, aio_wait_for(loop, c, 1.0), &v), 0);
    assert_int_equal(v.i, 1);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_done(loop, a), AIO_ESTALE);
    assert_int_equal(aio_future_done(loop, b), AIO_ESTALE);
    assert_int_equal(aio_future_done(loop, c), AIO_ESTALE);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A wait_for released by its caller still finishes (and cancels its child
 * on timeout); as nobody looked at its AIO_ETIMEDOUT, that is reported once
 * (and only that: the pending one freed at close reports nothing). */
static void wait_for_released_and_pending_at_close(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future x = aio_future_new(loop);
    assert_int_equal(aio_future_release(loop, aio_wait_for(loop, aio_future_retain(loop, x), 0.5)), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    assert_int_equal(aio_future_cancelled(loop, x), 1);
    assert_int_equal(reps.count, 1); /* when its last reference went */
    aio_future y = aio_future_new(loop);
    aio_future wf = aio_wait_for(loop, y, 10.0);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_done(loop, wf), 0);
    assert_int_equal(aio_future_release(loop, x), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 1); /* the released wait_for's unobserved timeout */
    assert_int_equal(reps.last_error, AIO_ETIMEDOUT);
    assert_int_equal(aio_loop_free(loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(WAITFOR_01_timeout),
        cmocka_unit_test(wait_for_in_time),
        cmocka_unit_test(WAITFOR_02_waits_for_cleanup),
        cmocka_unit_test(WAITFOR_02_slow_cleanup_overruns),
        cmocka_unit_test(WAITFOR_02_cancel_waits_for_inner),
        cmocka_unit_test(WAITFOR_03_done_future_zero_timeout),
        cmocka_unit_test(WAITFOR_03_running_task_zero_timeout),
        cmocka_unit_test(WAITFOR_03_zero_timeout_waits_for_cleanup),
        cmocka_unit_test(wait_for_unstarted_task_never_runs),
        cmocka_unit_test(wait_for_unstarted_inline_task_in_coroutine),
        cmocka_unit_test(WAITFOR_05_cancel_outer),
        cmocka_unit_test(wait_for_cancel_own_future),
        cmocka_unit_test(WAITFOR_07_error_during_cancellation_wins),
        cmocka_unit_test(wait_for_result_during_cancellation_wins),
        cmocka_unit_test(wait_for_outcome_at_deadline_wins),
        cmocka_unit_test(wait_for_outer_cancel_races_inner_result),
        cmocka_unit_test(wait_for_own_cancel_races_inner_result),
        cmocka_unit_test(wait_for_outer_cancel_not_swallowed_by_inner_result),
        cmocka_unit_test(WAITFOR_10_shielded_timeout),
        cmocka_unit_test(WAITFOR_10_zero_timeout),
        cmocka_unit_test(WAITFOR_10_none_timeout),
        cmocka_unit_test(wait_for_bad_children),
        cmocka_unit_test(wait_for_consumes_child),
        cmocka_unit_test(wait_for_released_and_pending_at_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
