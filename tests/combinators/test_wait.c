/* aio_wait / aio_wait_partition (aio/combinators.h): spec cases WAIT-01..06,
 * cancellation racing with completion, bad children, ownership (wait never
 * consumes), and a 100,000-child wait. Everything runs on the virtual clock. */
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

/* A task body: sleep `delay` (if >= 0), then fail with `err` (if < 0) or
 * return `value`. A cancellation is propagated. */
struct job {
    double delay;
    int64_t value;
    int err;
};

static aio_status job(aio_task *t, void *frame) {
    struct job *f = frame;
    AIO_BEGIN(t);
    if (f->delay >= 0) {
        AIO_AWAIT(t, aio_sleep(t, f->delay));
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
    }
    if (f->err < 0)
        AIO_FAIL(t, f->err);
    AIO_RETURN(t, f->value);
    AIO_END(t);
}

static aio_future job_task(aio_loop *loop, double delay, int64_t value, int err) {
    aio_future t = aio_create_task(loop, job, &(struct job){delay, value, err});
    assert_int_equal(aio_future_check(t), 0);
    return t;
}

/* A call_later / call_soon action on a plain future. */
enum act_kind { ACT_RESULT, ACT_ERROR, ACT_CANCEL };
struct act {
    aio_future f;
    enum act_kind kind;
    int64_t value;
    int rc;
};

static void act_cb(aio_loop *loop, void *arg) {
    struct act *a = arg;
    switch (a->kind) {
    case ACT_RESULT:
        a->rc = aio_future_set_result(loop, a->f, AIO_VALUE(a->value));
        break;
    case ACT_ERROR:
        a->rc = aio_future_set_error(loop, a->f, (int)a->value);
        break;
    case ACT_CANCEL:
        a->rc = aio_future_cancel(loop, a->f, NULL);
        break;
    }
}

static int64_t result_i(aio_loop *loop, aio_future f) {
    aio_value v = {0};
    assert_int_equal(aio_future_result(loop, f, &v), 0);
    return v.i;
}

/* ---- WAIT-01 ----------------------------------------------------------------- */

/* WAIT-01: a (0.1) and b (0.15); wait([b, a]) with ALL_COMPLETED completes
 * at 0.15 with 2 done; both have their results; waiting again returns with
 * the clock unchanged; nothing is consumed and nothing is reported. */
static void WAIT_01_all_completed(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = job_task(loop, 0.1, 'a', 0);
    aio_future b = job_task(loop, 0.15, 'b', 0);
    aio_future futs[2] = {b, a};
    aio_value v = {0};
    assert_int_equal(
        aio_run_until_complete(loop, aio_wait(loop, futs, 2, AIO_FOREVER, AIO_ALL_COMPLETED), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 150000000);
    assert_int_equal(aio_future_done(loop, a), 1);
    assert_int_equal(aio_future_done(loop, b), 1);
    assert_int_equal(result_i(loop, a), 'a');
    assert_int_equal(result_i(loop, b), 'b');
    /* again: at once */
    v.u = 0;
    assert_int_equal(
        aio_run_until_complete(loop, aio_wait(loop, futs, 2, AIO_FOREVER, AIO_ALL_COMPLETED), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 150000000);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* WAIT-01: wait never fails because of a child: b fails at 0.15, the wait
 * still completes with 0 and 2 done, and exactly one child has an error. */
static void WAIT_01_child_error_not_raised(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = job_task(loop, 0.1, 1, 0);
    aio_future b = job_task(loop, 0.15, 0, -EDOM);
    aio_future futs[2] = {b, a};
    aio_value v = {0};
    assert_int_equal(
        aio_run_until_complete(loop, aio_wait(loop, futs, 2, AIO_FOREVER, AIO_ALL_COMPLETED), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 150000000);
    assert_int_equal(aio_future_error(loop, a), 0);
    assert_int_equal(aio_future_error(loop, b), -EDOM);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    close_loop(loop);
}

/* WAIT-01: duplicates count once: wait([c, c, d]) reports 2 done, with
 * results 'test' and 'spam'; the single reference to c is still ours. */
static void WAIT_01_duplicates(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future c = job_task(loop, 0.01, 0x74657374, 0); /* 'test' */
    aio_future d = job_task(loop, 0.02, 0x7370616d, 0); /* 'spam' */
    aio_future futs[3] = {c, c, d};
    aio_value v = {0};
    assert_int_equal(
        aio_run_until_complete(loop, aio_wait(loop, futs, 3, AIO_FOREVER, AIO_ALL_COMPLETED), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_wait_partition(loop, futs, 3), 3);
    assert_int_equal(result_i(loop, c), 0x74657374);
    assert_int_equal(result_i(loop, d), 0x7370616d);
    assert_int_equal(aio_future_release(loop, c), 0);
    assert_int_equal(aio_future_release(loop, c), AIO_ESTALE);
    assert_int_equal(aio_future_release(loop, d), 0);
    close_loop(loop);
}

/* ---- WAIT-02 ----------------------------------------------------------------- */

/* WAIT-02: invalid arguments give an -EINVAL error handle and touch no
 * child: n == 0, NULL futs, a bad return_when (-1, 3), a NaN timeout. */
static void WAIT_02_invalid_args(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future f = aio_future_new(loop);
    aio_future futs[1] = {f};
    assert_int_equal(aio_future_check(aio_wait(loop, futs, 0, AIO_FOREVER, AIO_ALL_COMPLETED)), -EINVAL);
    assert_int_equal(aio_future_check(aio_wait(loop, NULL, 1, AIO_FOREVER, AIO_ALL_COMPLETED)), -EINVAL);
    assert_int_equal(aio_future_check(aio_wait(loop, futs, 1, AIO_FOREVER, (aio_return_when)-1)), -EINVAL);
    assert_int_equal(aio_future_check(aio_wait(loop, futs, 1, AIO_FOREVER, (aio_return_when)3)), -EINVAL);
    assert_int_equal(aio_future_check(aio_wait(loop, futs, 1, NAN, AIO_ALL_COMPLETED)), -EINVAL);
    assert_int_equal(aio_future_check(aio_wait_on(NULL, futs, 1, AIO_FOREVER, AIO_ALL_COMPLETED)), -EINVAL);
    /* awaiting such a handle fails at once with its code */
    assert_int_equal(aio_run_until_complete(loop, aio_wait(loop, futs, 0, 1.0, AIO_ALL_COMPLETED), NULL),
                     -EINVAL);
    assert_int_equal(aio_future_done(loop, f), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    close_loop(loop);
}

/* Bad children: another loop's handle (AIO_EFOREIGN), a stale one
 * (AIO_ESTALE), the null handle (AIO_ENULL): an error handle, nothing
 * touched or consumed (every good child keeps its reference and stays
 * pending, the foreign one is still usable on its own loop). */
static void wait_bad_children(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_loop *other = test_loop_new(1);
    aio_future good = aio_future_new(loop);
    aio_future foreign = aio_future_new(other);
    aio_future stale = aio_future_new(loop);
    assert_int_equal(aio_future_release(loop, stale), 0);
    aio_future f1[2] = {good, foreign};
    aio_future f2[2] = {good, stale};
    aio_future f3[2] = {AIO_FUTURE_NULL, good};
    assert_int_equal(aio_future_check(aio_wait(loop, f1, 2, AIO_FOREVER, AIO_ALL_COMPLETED)), AIO_EFOREIGN);
    assert_int_equal(aio_future_check(aio_wait(loop, f2, 2, 1.0, AIO_FIRST_COMPLETED)), AIO_ESTALE);
    assert_int_equal(aio_future_check(aio_wait(loop, f3, 2, 0, AIO_FIRST_EXCEPTION)), AIO_ENULL);
    assert_int_equal(aio_future_done(loop, good), 0);
    assert_int_equal(aio_future_done(other, foreign), 0);
    assert_int_equal(aio_future_set_result(other, foreign, AIO_VALUE(3)), 0);
    assert_int_equal(aio_future_release(other, foreign), 0);
    assert_int_equal(aio_future_release(loop, good), 0);
    assert_int_equal(aio_future_release(loop, good), AIO_ESTALE);
    close_loop(loop);
    close_loop(other);
}

/* On a closed loop: AIO_ECLOSED. */
static void wait_closed_loop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future f = aio_future_new(loop);
    aio_future futs[1] = {f};
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(aio_future_check(aio_wait(loop, futs, 1, AIO_FOREVER, AIO_ALL_COMPLETED)), AIO_ECLOSED);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- WAIT-03 ----------------------------------------------------------------- */

/* WAIT-03: a (10 s) and b (0.1); wait([b, a], FIRST_COMPLETED) completes at
 * 0.1 with 1 done; a is still pending, b's result is none (0). */
static void WAIT_03_first_completed(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = job_task(loop, 10.0, 1, 0);
    aio_future b = job_task(loop, 0.1, 0, 0);
    aio_future futs[2] = {b, a};
    aio_value v = {0};
    assert_int_equal(
        aio_run_until_complete(loop, aio_wait(loop, futs, 2, AIO_FOREVER, AIO_FIRST_COMPLETED), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 100000000);
    assert_int_equal(aio_future_done(loop, a), 0);
    assert_int_equal(aio_future_done(loop, b), 1);
    assert_int_equal(result_i(loop, b), 0);
    aio_future sorted[2] = {a, b};
    assert_int_equal(aio_wait_partition(loop, sorted, 2), 1);
    assert_int_equal(sorted[0].id, b.id);
    assert_int_equal(sorted[1].id, a.id);
    assert_int_equal(aio_task_cancel(loop, a, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, a, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_release(loop, b), 0);
    close_loop(loop);
}

/* ---- WAIT-05 ----------------------------------------------------------------- */

/* WAIT-05: b has already failed and a sleeps 10: FIRST_EXCEPTION returns
 * without waiting (time stays 0) with 1 done; a is still pending. */
static void WAIT_05_first_exception_already_failed(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future b = aio_future_new(loop);
    assert_int_equal(aio_future_set_error(loop, b, -EDOM), 0);
    aio_future a = job_task(loop, 10.0, 1, 0);
    aio_future futs[2] = {b, a};
    aio_value v = {0};
    assert_int_equal(
        aio_run_until_complete(loop, aio_wait(loop, futs, 2, AIO_FOREVER, AIO_FIRST_EXCEPTION), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_int_equal(aio_future_done(loop, a), 0);
    assert_int_equal(aio_future_error(loop, b), -EDOM);
    assert_int_equal(aio_task_cancel(loop, a, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, a, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_release(loop, b), 0);
    close_loop(loop);
}

/* WAIT-05: b fails at 0.01 during the wait, a sleeps 10: the wait completes
 * at 0.01 with done == {b}, pending == {a}. */
static void WAIT_05_first_exception_in_wait(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = job_task(loop, 10.0, 1, 0);
    aio_future b = job_task(loop, 0.01, 0, -EDOM);
    aio_future futs[2] = {a, b};
    aio_value v = {0};
    assert_int_equal(
        aio_run_until_complete(loop, aio_wait(loop, futs, 2, AIO_FOREVER, AIO_FIRST_EXCEPTION), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 10000000);
    assert_int_equal(aio_wait_partition(loop, futs, 2), 1);
    assert_int_equal(futs[0].id, b.id);
    assert_int_equal(futs[1].id, a.id);
    assert_int_equal(aio_future_error(loop, b), -EDOM);
    assert_int_equal(aio_task_cancel(loop, a, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, a, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_release(loop, b), 0);
    close_loop(loop);
}

/* WAIT-05: with nothing failing, FIRST_EXCEPTION is ALL_COMPLETED; a
 * cancelled child is not an exception (b cancelled at 0.01 does not end the
 * wait, which ends at 0.2 when a finishes). */
static void WAIT_05_cancelled_is_not_exception(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = job_task(loop, 0.2, 1, 0);
    aio_future b = aio_future_new(loop);
    struct act cancel_b = {b, ACT_CANCEL, 0, -99};
    assert_int_equal(aio_call_later(loop, 0.01, act_cb, &cancel_b, NULL), 0);
    aio_future futs[2] = {a, b};
    aio_value v = {0};
    assert_int_equal(
        aio_run_until_complete(loop, aio_wait(loop, futs, 2, AIO_FOREVER, AIO_FIRST_EXCEPTION), &v), 0);
    assert_int_equal(cancel_b.rc, 1);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 200000000);
    assert_int_equal(aio_future_cancelled(loop, b), 1);
    assert_int_equal(result_i(loop, a), 1);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    close_loop(loop);
}

/* ---- WAIT-06 ----------------------------------------------------------------- */

/* WAIT-06: a (0.1), b (0.15), wait([b, a], timeout 0.11): completes (no
 * error) at 0.11 with done == {a}; b is not cancelled and completes normally
 * at 0.15. */
static void WAIT_06_timeout_cancels_nothing(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = job_task(loop, 0.1, 1, 0);
    aio_future b = job_task(loop, 0.15, 2, 0);
    aio_future futs[2] = {b, a};
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_wait(loop, futs, 2, 0.11, AIO_ALL_COMPLETED), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 110000000);
    assert_int_equal(aio_wait_partition(loop, futs, 2), 1);
    assert_int_equal(futs[0].id, a.id);
    assert_int_equal(futs[1].id, b.id);
    assert_int_equal(aio_future_done(loop, b), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, b), &v), 0);
    assert_int_equal(v.i, 2);
    assert_int_equal(aio_loop_time_ns(loop), 150000000);
    assert_int_equal(aio_future_cancelled(loop, b), 0);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    close_loop(loop);
}

/* A timeout <= 0 is one look: pending children give 0 done, the clock does
 * not move, and the children are untouched. */
static void wait_zero_timeout_is_one_look(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = job_task(loop, 1.0, 1, 0);
    aio_future futs[1] = {a};
    aio_value v = {0};
    v.u = 99;
    assert_int_equal(aio_run_until_complete(loop, aio_wait(loop, futs, 1, 0, AIO_ALL_COMPLETED), &v), 0);
    assert_int_equal(v.u, 0);
    v.u = 99;
    assert_int_equal(aio_run_until_complete(loop, aio_wait(loop, futs, 1, -1.0, AIO_FIRST_COMPLETED), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_int_equal(aio_future_done(loop, a), 0);
    assert_int_equal(aio_run_until_complete(loop, a, &v), 0);
    assert_int_equal(v.i, 1);
    close_loop(loop);
}

/* ---- coroutines, tasks created inline ------------------------------------------ */

struct waiter_main {
    aio_future kids[3];
    int err;
    uint64_t ndone;
    int partition;
};

struct waiter_main2 {
    struct waiter_main *out;
};

static aio_status waiter_main2(aio_task *t, void *frame) {
    struct waiter_main2 *f = frame;
    AIO_BEGIN(t);
    f->out->kids[0] = aio_create_task(t, job, &(struct job){0.3, 30, 0});
    f->out->kids[1] = aio_create_task(t, job, &(struct job){0.1, 10, 0});
    f->out->kids[2] = aio_create_task(t, job, &(struct job){0.2, 20, 0});
    AIO_AWAIT(t, aio_wait(t, f->out->kids, 3, 0.25, AIO_ALL_COMPLETED));
    f->out->err = AIO_ERR(t);
    f->out->ndone = AIO_RESULT(t).u;
    f->out->partition = aio_wait_partition(t, f->out->kids, 3);
    AIO_END(t);
}

/* From a coroutine, on tasks created where they are passed: the wait
 * completes at 0.25 with 2 done; partition puts kids 1 and 2 (in that order)
 * before kid 0; the children are still ours (released here), kid 0 runs on
 * and finishes at 0.3. No reports. */
static void wait_in_coroutine_inline_tasks(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    struct waiter_main out;
    memset(&out, 0, sizeof out);
    out.err = 1;
    assert_int_equal(
        aio_run_until_complete(loop, aio_create_task(loop, waiter_main2, &(struct waiter_main2){&out}), NULL),
        0);
    assert_int_equal(out.err, 0);
    assert_int_equal(out.ndone, 0); /* no count in the result: the partition has it */
    assert_int_equal(out.partition, 2);
    assert_int_equal(aio_loop_time_ns(loop), 250000000);
    assert_int_equal(result_i(loop, out.kids[0]), 10);
    assert_int_equal(result_i(loop, out.kids[1]), 20);
    aio_future last = out.kids[2];
    assert_int_equal(aio_future_done(loop, last), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, last, &v), 0);
    assert_int_equal(v.i, 30);
    assert_int_equal(aio_loop_time_ns(loop), 300000000);
    assert_int_equal(aio_future_release(loop, out.kids[0]), 0);
    assert_int_equal(aio_future_release(loop, out.kids[1]), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- the result carries no count ------------------------------------------ */

struct count_at_resume {
    aio_future futs[2];
    uint64_t result_u;
    int partition;
};

struct count_at_resume_task {
    struct count_at_resume *out;
};

static aio_status count_at_resume(aio_task *t, void *frame) {
    struct count_at_resume_task *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_wait(t, f->out->futs, 2, AIO_FOREVER, AIO_FIRST_COMPLETED));
    f->out->result_u = AIO_RESULT(t).u;
    f->out->partition = aio_wait_partition(aio_task_loop(t), f->out->futs, 2);
    AIO_END(t);
}

struct set_a_then_b {
    struct act a, b;
};

/* a completes; b completes in the next iteration, right after the wait's
 * own callback has seen a and completed the wait, before the waiter
 * resumes. */
static void set_a_then_b_cb(aio_loop *loop, void *arg) {
    struct set_a_then_b *s = arg;
    act_cb(loop, &s->a);
    assert_int_equal(aio_call_soon(loop, act_cb, &s->b, NULL), 0);
}

/* asyncio computes wait's done/pending sets when the waiter resumes. A
 * count taken when the wait completed would say 1 here while 2 are done at
 * resume: the wait's result carries no count (0), and aio_wait_partition at
 * resume counts 2. */
static void wait_result_has_no_count_partition_counts_at_resume(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct count_at_resume out = {{aio_future_new(loop), aio_future_new(loop)}, 99, -1};
    struct set_a_then_b s = {{out.futs[0], ACT_RESULT, 1, -99}, {out.futs[1], ACT_RESULT, 2, -99}};
    assert_int_equal(aio_call_later(loop, 0.1, set_a_then_b_cb, &s, NULL), 0);
    assert_int_equal(
        aio_run_until_complete(
            loop, aio_create_task(loop, count_at_resume, &(struct count_at_resume_task){&out}), NULL),
        0);
    assert_int_equal(s.a.rc, 0);
    assert_int_equal(s.b.rc, 0);
    assert_int_equal(out.result_u, 0);
    assert_int_equal(out.partition, 2);
    assert_int_equal(aio_future_release(loop, out.futs[0]), 0);
    assert_int_equal(aio_future_release(loop, out.futs[1]), 0);
    close_loop(loop);
}
/* ---- cancellation ------------------------------------------------------------------ */

struct await_one {
    aio_future f;
    int *err;
    uint64_t *u;
};

static aio_status await_one(aio_task *t, void *frame) {
    struct await_one *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->f);
    *f->err = AIO_ERR(t);
    *f->u = AIO_RESULT(t).u;
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

struct canceller {
    aio_future f;
    int rc;
};

static void cancel_cb(aio_loop *loop, void *arg) {
    struct canceller *c = arg;
    c->rc = aio_future_cancel(loop, c->f, NULL);
}

/* Cancelling the task awaiting a wait (at 0.5) stops the wait only: the task
 * ends cancelled at 0.5, the child is not cancelled and finishes at 1.0. */
static void wait_cancel_stops_wait_only(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = job_task(loop, 1.0, 5, 0);
    aio_future futs[1] = {a};
    int err = 1;
    uint64_t u = 0;
    aio_future w = aio_wait(loop, futs, 1, AIO_FOREVER, AIO_ALL_COMPLETED);
    aio_future task =
        aio_create_task(loop, await_one, (&(struct await_one){aio_future_retain(loop, w), &err, &u}));
    struct canceller c = {task, -99};
    assert_int_equal(aio_call_later(loop, 0.5, cancel_cb, &c, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, task, NULL), AIO_ECANCELLED);
    assert_int_equal(c.rc, 1);
    assert_int_equal(err, AIO_ECANCELLED);
    assert_int_equal(aio_loop_time_ns(loop), 500000000);
    assert_int_equal(aio_future_cancelled(loop, w), 1);
    assert_int_equal(aio_future_done(loop, a), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, a), &v), 0);
    assert_int_equal(v.i, 5);
    assert_int_equal(aio_loop_time_ns(loop), 1000000000);
    assert_int_equal(aio_future_release(loop, w), 0);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Both children complete, and the wait's own future is cancelled, in the
 * same iteration (before the wait has seen the completions): the wait ends
 * cancelled (stopping the wait is what cancel means), the children keep
 * their results, and the completions still in flight find nothing freed. */
struct race {
    aio_future a, b, target;
    int rc_a, rc_b, rc_cancel;
};

static void race_cb(aio_loop *loop, void *arg) {
    struct race *r = arg;
    r->rc_a = aio_future_set_result(loop, r->a, AIO_VALUE(1));
    r->rc_b = aio_future_set_result(loop, r->b, AIO_VALUE(2));
    r->rc_cancel = aio_future_cancel(loop, r->target, "race");
}

static void wait_cancel_races_completion(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = aio_future_new(loop), b = aio_future_new(loop);
    aio_future futs[2] = {a, b};
    aio_future w = aio_wait(loop, futs, 2, 5.0, AIO_ALL_COMPLETED);
    assert_int_equal(aio_future_check(w), 0);
    test_run_iterations(loop, 2);
    struct race r = {a, b, w, -99, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, w), NULL), AIO_ECANCELLED);
    assert_int_equal(r.rc_a, 0);
    assert_int_equal(r.rc_b, 0);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(aio_future_cancelled(loop, w), 1);
    assert_string_equal(aio_future_cancel_message(loop, w), "race");
    test_run_iterations(loop, 3); /* let the children's callbacks arrive */
    assert_int_equal(result_i(loop, a), 1);
    assert_int_equal(result_i(loop, b), 2);
    assert_int_equal(aio_loop_time_ns(loop), 0); /* the 5 s timer went with the wait */
    assert_int_equal(aio_future_release(loop, w), 0);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK); /* no timer left */
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* FIRST_COMPLETED: a child completes and the task awaiting the wait is
 * cancelled in the same iteration: the task ends cancelled (the cancellation
 * is not swallowed by the completion), the other child is untouched. */
struct race_task {
    aio_future child, task;
    int rc_set, rc_cancel;
};

static void race_task_cb(aio_loop *loop, void *arg) {
    struct race_task *r = arg;
    r->rc_set = aio_future_set_result(loop, r->child, AIO_VALUE(7));
    r->rc_cancel = aio_task_cancel(loop, r->task, NULL);
}

static void wait_task_cancel_races_completion(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = aio_future_new(loop), b = aio_future_new(loop);
    aio_future futs[2] = {a, b};
    int err = 1;
    uint64_t u = 0;
    aio_future task = aio_create_task(
        loop, await_one,
        (&(struct await_one){aio_wait(loop, futs, 2, AIO_FOREVER, AIO_FIRST_COMPLETED), &err, &u}));
    test_run_iterations(loop, 2);
    struct race_task r = {a, task, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_task_cb, &r, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(r.rc_set, 0);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(err, AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, task), 1);
    test_run_iterations(loop, 3);
    assert_int_equal(result_i(loop, a), 7);
    assert_int_equal(aio_future_done(loop, b), 0);
    assert_int_equal(aio_future_release(loop, task), 0);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A wait whose timeout fires in the same iteration as the last child
 * completes (child armed first at the same deadline): it completes normally
 * with that child counted (or not) and nothing leaks; it never fails. */
static void wait_timeout_races_completion(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = aio_future_new(loop);
    struct act set_a = {a, ACT_RESULT, 4, -99};
    assert_int_equal(aio_call_later(loop, 0.5, act_cb, &set_a, NULL), 0);
    aio_future futs[1] = {a};
    aio_value v = {0};
    v.u = 99;
    assert_int_equal(aio_run_until_complete(loop, aio_wait(loop, futs, 1, 0.5, AIO_ALL_COMPLETED), &v), 0);
    assert_int_equal(set_a.rc, 0);
    assert_true(v.u <= 1);
    assert_int_equal(aio_loop_time_ns(loop), 500000000);
    test_run_iterations(loop, 3);
    assert_int_equal(result_i(loop, a), 4);
    assert_int_equal(aio_future_release(loop, a), 0);
    close_loop(loop);
}

/* ---- ownership, partition, close --------------------------------------------------- */

/* wait does not consume: after it, every child handle is still valid (its
 * outcome readable, even for a plain future nobody else holds) and the
 * caller releases it; a second release is AIO_ESTALE. */
static void wait_does_not_consume(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = aio_future_new(loop);
    aio_future b = job_task(loop, 0.1, 2, 0);
    struct act set_a = {a, ACT_ERROR, -EIO, -99};
    assert_int_equal(aio_call_later(loop, 0.05, act_cb, &set_a, NULL), 0);
    aio_future futs[2] = {a, b};
    assert_int_equal(
        aio_run_until_complete(loop, aio_wait(loop, futs, 2, AIO_FOREVER, AIO_ALL_COMPLETED), NULL), 0);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_done(loop, a), 1);
    assert_int_equal(aio_future_done(loop, b), 1);
    assert_int_equal(aio_future_error(loop, a), -EIO);
    assert_int_equal(result_i(loop, b), 2);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    assert_int_equal(aio_future_release(loop, a), AIO_ESTALE);
    assert_int_equal(aio_future_release(loop, b), AIO_ESTALE);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* aio_wait_partition: stable, done ones first (in their original order),
 * pending ones after (in theirs); returns the number done. */
static void wait_partition_stable(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future f[7];
    for (int i = 0; i < 7; i++)
        f[i] = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, f[1], AIO_VALUE(1)), 0);
    assert_int_equal(aio_future_set_error(loop, f[3], -EIO), 0);
    assert_int_equal(aio_future_cancel(loop, f[4], NULL), 1);
    assert_int_equal(aio_future_set_result(loop, f[6], AIO_VALUE(6)), 0);
    aio_future arr[7];
    memcpy(arr, f, sizeof arr);
    assert_int_equal(aio_wait_partition(loop, arr, 7), 4);
    const int want[7] = {1, 3, 4, 6, 0, 2, 5};
    for (int i = 0; i < 7; i++)
        assert_int_equal(arr[i].id, f[want[i]].id);
    /* already partitioned: unchanged */
    assert_int_equal(aio_wait_partition(loop, arr, 7), 4);
    for (int i = 0; i < 7; i++)
        assert_int_equal(arr[i].id, f[want[i]].id);
    /* all pending / none: nothing moves */
    aio_future p[2] = {f[2], f[0]};
    assert_int_equal(aio_wait_partition(loop, p, 2), 0);
    assert_int_equal(p[0].id, f[2].id);
    assert_int_equal(p[1].id, f[0].id);
    assert_int_equal(aio_wait_partition(loop, p, 0), 0);
    assert_int_equal(aio_wait_partition(NULL, p, 2), -EINVAL);
    assert_int_equal(aio_future_error(loop, f[3]), -EIO);
    for (int i = 0; i < 7; i++)
        assert_int_equal(aio_future_release(loop, f[i]), 0);
    close_loop(loop);
}

/* aio_wait_partition with bad handles: they sort with the done ones (stably)
 * and the first bad code is returned. */
static void wait_partition_bad_handles(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future pend = aio_future_new(loop);
    aio_future done = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, done, AIO_VALUE(1)), 0);
    aio_future stale = aio_future_new(loop);
    assert_int_equal(aio_future_release(loop, stale), 0);
    aio_future arr[4] = {pend, AIO_FUTURE_NULL, done, stale};
    assert_int_equal(aio_wait_partition(loop, arr, 4), AIO_ENULL);
    assert_int_equal(arr[0].id, 0);
    assert_int_equal(arr[1].id, done.id);
    assert_int_equal(arr[2].id, stale.id);
    assert_int_equal(arr[3].id, pend.id);
    assert_int_equal(aio_future_release(loop, pend), 0);
    assert_int_equal(aio_future_release(loop, done), 0);
    close_loop(loop);
}

/* Closing the loop while a wait (with a timer) is pending frees its state
 * (ASan/valgrind would see a leak) and reports nothing. */
static void wait_pending_at_close(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = aio_future_new(loop);
    aio_future futs[1] = {a};
    aio_future w = aio_wait(loop, futs, 1, 10.0, AIO_ALL_COMPLETED);
    aio_future w2 = aio_wait(loop, futs, 1, AIO_FOREVER, AIO_FIRST_COMPLETED);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_done(loop, w), 0);
    assert_int_equal(aio_future_release(loop, w2), 0);
    (void)w;
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- fan-in ------------------------------------------------------------------------ */

#define BIG 100000

struct completer {
    aio_future *f;
    size_t n;
};

static void complete_all_reversed(aio_loop *loop, void *arg) {
    struct completer *c = arg;
    for (size_t i = c->n; i-- > 0;)
        assert_int_equal(aio_future_set_result(loop, c->f[i], AIO_VALUE((int64_t)i)), 0);
}

/* 100,000 children (plus every one passed twice): the wait completes with
 * 100,000 done once all are, with no recursion trouble; partition sees all
 * done; the children are still ours to release. */
static void wait_100k_children(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future *f = malloc(2 * BIG * sizeof *f);
    assert_non_null(f);
    for (size_t i = 0; i < BIG; i++) {
        f[i] = aio_future_new(loop);
        assert_int_equal(aio_future_check(f[i]), 0);
        f[BIG + i] = f[i];
    }
    aio_future w = aio_wait(loop, f, 2 * BIG, AIO_FOREVER, AIO_ALL_COMPLETED);
    assert_int_equal(aio_future_check(w), 0);
    struct completer c = {f, BIG};
    assert_int_equal(aio_call_later(loop, 1.0, complete_all_reversed, &c, NULL), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, w, &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 1000000000);
    assert_int_equal(aio_wait_partition(loop, f, BIG), BIG);
    for (size_t i = 0; i < BIG; i++) {
        assert_int_equal(result_i(loop, f[i]), (int64_t)i);
        assert_int_equal(aio_future_release(loop, f[i]), 0);
    }
    free(f);
    close_loop(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(WAIT_01_all_completed),
        cmocka_unit_test(WAIT_01_child_error_not_raised),
        cmocka_unit_test(WAIT_01_duplicates),
        cmocka_unit_test(WAIT_02_invalid_args),
        cmocka_unit_test(wait_bad_children),
        cmocka_unit_test(wait_closed_loop),
        cmocka_unit_test(WAIT_03_first_completed),
        cmocka_unit_test(WAIT_05_first_exception_already_failed),
        cmocka_unit_test(WAIT_05_first_exception_in_wait),
        cmocka_unit_test(WAIT_05_cancelled_is_not_exception),
        cmocka_unit_test(WAIT_06_timeout_cancels_nothing),
        cmocka_unit_test(wait_zero_timeout_is_one_look),
        cmocka_unit_test(wait_in_coroutine_inline_tasks),
        cmocka_unit_test(wait_result_has_no_count_partition_counts_at_resume),
        cmocka_unit_test(wait_cancel_stops_wait_only),
        cmocka_unit_test(wait_cancel_races_completion),
        cmocka_unit_test(wait_task_cancel_races_completion),
        cmocka_unit_test(wait_timeout_races_completion),
        cmocka_unit_test(wait_does_not_consume),
        cmocka_unit_test(wait_partition_stable),
        cmocka_unit_test(wait_partition_bad_handles),
        cmocka_unit_test(wait_pending_at_close),
        cmocka_unit_test(wait_100k_children),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
