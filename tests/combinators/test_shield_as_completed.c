/* aio_shield and aio_as_completed (aio/combinators.h): a shield's
 * cancellation never reaches its child, an unobserved failure behind a
 * cancelled shield is reported once; as_completed hands out children in
 * completion order, AIO_ETIMEDOUT after those already finished, -ENOENT
 * when exhausted, and a cancelled next future loses no completion. Races,
 * bad children and ownership for both. Virtual clock throughout. */
#include "support.h"

#include <math.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

/* A task body: sleep `delay` (if >= 0), then fail with `err` (if < 0) or
 * return `value`; a cancellation is marked and propagated. */
struct job {
    double delay;
    int64_t value;
    int err;
    int *cancelled;
};

static aio_status job(aio_task *t, void *frame) {
    struct job *f = frame;
    AIO_BEGIN(t);
    if (f->delay >= 0) {
        AIO_AWAIT(t, aio_sleep(t, f->delay));
        if (AIO_ERR(t) < 0) {
            if (f->cancelled && AIO_ERR(t) == AIO_ECANCELLED)
                *f->cancelled = 1;
            AIO_FAIL(t, AIO_ERR(t));
        }
    }
    if (f->err < 0)
        AIO_FAIL(t, f->err);
    AIO_RETURN(t, f->value);
    AIO_END(t);
}

static aio_future job_task(aio_loop *loop, double delay, int64_t value, int err, int *cancelled) {
    aio_future t = aio_create_task(loop, job, &(struct job){delay, value, err, cancelled});
    assert_int_equal(aio_future_check(t), 0);
    return t;
}

/* A task awaiting `f` (consumed), recording the status, result and time. */
struct awaiter {
    aio_future f;
    int *err;
    int64_t *value;
    int64_t *at_ns;
};

static aio_status awaiter(aio_task *t, void *frame) {
    struct awaiter *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->f);
    *f->err = AIO_ERR(t);
    *f->value = AIO_RESULT(t).i;
    *f->at_ns = aio_loop_time_ns(t);
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

struct awaited {
    int err;
    int64_t value, at_ns;
};

static aio_future spawn_awaiter(aio_loop *loop, aio_future f, struct awaited *out) {
    out->err = 1;
    out->value = -1;
    out->at_ns = -1;
    aio_future t =
        aio_create_task(loop, awaiter, (&(struct awaiter){f, &out->err, &out->value, &out->at_ns}));
    assert_int_equal(aio_future_check(t), 0);
    return t;
}

struct canceller {
    aio_future f;
    int rc;
};

static void cancel_cb(aio_loop *loop, void *arg) {
    struct canceller *c = arg;
    c->rc = aio_future_cancel(loop, c->f, NULL);
}

/* Complete a plain future (result or error) and cancel `target`, in one
 * callback: the same iteration. */
struct race {
    aio_future child, target;
    int err; /* < 0: set_error */
    int rc_set, rc_cancel;
};

static void race_cb(aio_loop *loop, void *arg) {
    struct race *r = arg;
    r->rc_set = r->err < 0 ? aio_future_set_error(loop, r->child, r->err)
                           : aio_future_set_result(loop, r->child, AIO_VALUE(8));
    r->rc_cancel = aio_future_cancel(loop, r->target, NULL);
}

/* ---- shield ------------------------------------------------------------------ */

/* Cancelling the task awaiting shield(x) (at 0.5) cancels the task only:
 * x is not cancelled and completes at 1.0 with its value; no reports. */
static void shield_outer_cancel_spares_child(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    int x_cancelled = 0;
    aio_future x = job_task(loop, 1.0, 5, 0, &x_cancelled);
    struct awaited aw;
    aio_future t = spawn_awaiter(loop, aio_shield(loop, aio_future_retain(loop, x)), &aw);
    struct canceller c = {t, -99};
    assert_int_equal(aio_call_later(loop, 0.5, cancel_cb, &c, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, t, NULL), AIO_ECANCELLED);
    assert_int_equal(c.rc, 1);
    assert_int_equal(aw.err, AIO_ECANCELLED);
    assert_int_equal(aw.at_ns, 500000000);
    assert_int_equal(aio_future_done(loop, x), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, x, &v), 0);
    assert_int_equal(v.i, 5);
    assert_int_equal(x_cancelled, 0);
    assert_int_equal(aio_loop_time_ns(loop), 1000000000);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Cancelling the shield's own future: 1, the shield is cancelled (with its
 * message), the plain child stays pending and can still be completed. */
static void shield_direct_cancel(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future f = aio_future_new(loop);
    aio_future s = aio_shield(loop, aio_future_retain(loop, f));
    assert_int_equal(aio_future_check(s), 0);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_cancel(loop, s, "shield"), 1);
    assert_int_equal(aio_future_cancelled(loop, s), 1);
    assert_string_equal(aio_future_cancel_message(loop, s), "shield");
    assert_int_equal(aio_future_cancel(loop, s, NULL), 0);
    assert_int_equal(aio_future_done(loop, f), 0);
    assert_int_equal(aio_future_set_result(loop, f, AIO_VALUE(3)), 0);
    test_run_iterations(loop, 3);
    aio_value v = {0};
    assert_int_equal(aio_future_result(loop, f, &v), 0);
    assert_int_equal(v.i, 3);
    assert_int_equal(aio_future_result(loop, s, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_release(loop, s), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    close_loop(loop);
}

/* A shield passes its child's outcome through: result, error (then
 * retrieved: no report), cancellation, and an already-done child at once. */
static void shield_passes_outcome(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_shield(loop, job_task(loop, 0.1, 11, 0, NULL)), &v), 0);
    assert_int_equal(v.i, 11);
    assert_int_equal(aio_run_until_complete(loop, aio_shield(loop, job_task(loop, 0.1, 0, -EIO, NULL)), NULL),
                     -EIO);
    aio_future c = aio_future_new(loop);
    aio_future s = aio_shield(loop, aio_future_retain(loop, c));
    assert_int_equal(aio_future_cancel(loop, c, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, s), NULL), AIO_ECANCELLED);
    aio_future d = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, d, AIO_VALUE(12)), 0);
    aio_future sd = aio_shield(loop, d);
    assert_int_equal(aio_future_done(loop, sd), 1);
    assert_int_equal(aio_run_until_complete(loop, sd, &v), 0);
    assert_int_equal(v.i, 12);
    assert_int_equal(aio_future_release(loop, s), 0);
    assert_int_equal(aio_future_release(loop, c), 0);
    assert_int_equal(aio_loop_time_ns(loop), 200000000);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A failing child nobody observes behind a cancelled shield (whose handle
 * the shield consumed) is reported exactly once, with its error, when it
 * finishes; closing the loop does not report it again. */
static void shield_cancelled_unobserved_failure_reported_once(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future s = aio_shield(loop, job_task(loop, 0.5, 0, -EIO, NULL));
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_cancel(loop, s, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, s, NULL), AIO_ECANCELLED);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    assert_int_equal(reps.count, 1);
    assert_int_equal(reps.last_error, -EIO);
    assert_string_equal(reps.last_message, "Task exception was never retrieved");
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Race: the child fails and the shield is cancelled in the same iteration:
 * the shield ends cancelled and does not look at the child's error, which,
 * seen by nobody, is reported once when its last reference goes. */
static void shield_cancel_races_child_failure(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future f = aio_future_new(loop);
    aio_future s = aio_shield(loop, aio_future_retain(loop, f));
    test_run_iterations(loop, 2);
    struct race r = {f, s, -EIO, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, s), NULL), AIO_ECANCELLED);
    assert_int_equal(r.rc_set, 0);
    assert_int_equal(r.rc_cancel, 1);
    test_run_iterations(loop, 3);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_future_release(loop, f), 0); /* its last reference */
    assert_int_equal(reps.count, 1);
    assert_int_equal(reps.last_error, -EIO);
    assert_int_equal(aio_future_cancelled(loop, s), 1);
    assert_int_equal(aio_future_release(loop, s), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Race: the child completes and the task awaiting the shield is cancelled
 * in the same iteration: the task ends cancelled, the child keeps its
 * result; no reports. */
static void shield_task_cancel_races_child_result(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future f = aio_future_new(loop);
    struct awaited aw;
    aio_future t = spawn_awaiter(loop, aio_shield(loop, aio_future_retain(loop, f)), &aw);
    test_run_iterations(loop, 2);
    struct race r = {f, t, 0, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, t), NULL), AIO_ECANCELLED);
    assert_int_equal(r.rc_set, 0);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(aw.err, AIO_ECANCELLED);
    test_run_iterations(loop, 3);
    aio_value v = {0};
    assert_int_equal(aio_future_result(loop, f, &v), 0);
    assert_int_equal(v.i, 8);
    assert_int_equal(aio_future_release(loop, t), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* shield consumes the child's reference: after the child finished and the
 * shield is done, the child's handle is stale (also behind a cancelled
 * shield). Bad children give their code and consume nothing. */
static void shield_ownership_and_bad_children(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_loop *other = test_loop_new(1);
    aio_future a = job_task(loop, 0.1, 1, 0, NULL);
    aio_future b = job_task(loop, 0.2, 2, 0, NULL);
    assert_int_equal(aio_run_until_complete(loop, aio_shield(loop, a), NULL), 0);
    aio_future sb = aio_shield(loop, b);
    assert_int_equal(aio_future_cancel(loop, sb, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, sb, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    assert_int_equal(aio_future_done(loop, a), AIO_ESTALE);
    assert_int_equal(aio_future_done(loop, b), AIO_ESTALE);

    aio_future foreign = aio_future_new(other);
    aio_future stale = aio_future_new(loop);
    assert_int_equal(aio_future_release(loop, stale), 0);
    assert_int_equal(aio_future_check(aio_shield(loop, foreign)), AIO_EFOREIGN);
    assert_int_equal(aio_future_check(aio_shield(loop, stale)), AIO_ESTALE);
    assert_int_equal(aio_future_check(aio_shield(loop, AIO_FUTURE_NULL)), AIO_ENULL);
    assert_int_equal(aio_future_release(other, foreign), 0);
    close_loop(loop);
    close_loop(other);
}

/* ---- as_completed ----------------------------------------------------------- */

#define MAXK 8

/* Iterates as the header shows, recording each index and its time, and the
 * status that ended the loop (0 if all n were handed out). */
struct iterate {
    aio_future it;
    size_t n;
    size_t k;
    size_t idx[MAXK];
    int64_t at[MAXK];
    int end_err;
    int64_t end_at;
};

struct iterate_main {
    struct iterate *s;
};

static aio_status iterate_main(aio_task *t, void *frame) {
    struct iterate_main *f = frame;
    AIO_BEGIN(t);
    for (f->s->k = 0; f->s->k < f->s->n; f->s->k++) {
        AIO_AWAIT(t, aio_as_completed_next(t, f->s->it));
        if (AIO_ERR(t) < 0) {
            f->s->end_err = AIO_ERR(t);
            f->s->end_at = aio_loop_time_ns(t);
            break;
        }
        f->s->idx[f->s->k] = (size_t)AIO_RESULT(t).u;
        f->s->at[f->s->k] = aio_loop_time_ns(t);
    }
    AIO_END(t);
}

static void run_iterate(aio_loop *loop, struct iterate *s) {
    assert_int_equal(
        aio_run_until_complete(loop, aio_create_task(loop, iterate_main, &(struct iterate_main){s}), NULL),
        0);
}

/* Completion order: kids sleeping 0.3, 0.1, 0.2 come out as 1, 2, 0 at
 * 0.1, 0.2, 0.3; the iterator then completes with n; one more next gives
 * -ENOENT; the children are not consumed (released here); no reports. */
static void as_completed_order(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future kids[3] = {job_task(loop, 0.3, 30, 0, NULL), job_task(loop, 0.1, 10, 0, NULL),
                          job_task(loop, 0.2, 20, 0, NULL)};
    struct iterate s;
    memset(&s, 0, sizeof s);
    s.it = aio_as_completed(loop, kids, 3, AIO_FOREVER);
    assert_int_equal(aio_future_check(s.it), 0);
    s.n = 3;
    run_iterate(loop, &s);
    assert_int_equal(s.end_err, 0);
    assert_int_equal(s.k, 3);
    assert_int_equal(s.idx[0], 1);
    assert_int_equal(s.idx[1], 2);
    assert_int_equal(s.idx[2], 0);
    assert_int_equal(s.at[0], 100000000);
    assert_int_equal(s.at[1], 200000000);
    assert_int_equal(s.at[2], 300000000);
    test_run_iterations(loop, 2);
    aio_value v = {0};
    assert_int_equal(aio_future_result(loop, s.it, &v), 0);
    assert_int_equal(v.u, 3);
    aio_future more = aio_as_completed_next(loop, s.it);
    assert_int_equal(aio_future_check(more), -ENOENT);
    assert_int_equal(aio_run_until_complete(loop, more, NULL), -ENOENT);
    static const int64_t want[3] = {30, 10, 20};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(aio_future_result(loop, kids[i], &v), 0);
        assert_int_equal(v.i, want[i]);
        assert_int_equal(aio_future_release(loop, kids[i]), 0);
    }
    assert_int_equal(aio_future_release(loop, s.it), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Exhaustion: asking for more next futures than there are children, before
 * any completes: the extra one is -ENOENT at once; the n real ones get the
 * children (a failed and a cancelled child are handed out too: they are
 * done). */
static void as_completed_exhaustion(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = aio_future_new(loop), b = aio_future_new(loop);
    aio_future kids[2] = {a, b};
    aio_future it = aio_as_completed(loop, kids, 2, AIO_FOREVER);
    aio_future n1 = aio_as_completed_next(loop, it);
    aio_future n2 = aio_as_completed_next(loop, it);
    aio_future n3 = aio_as_completed_next(loop, it);
    assert_int_equal(aio_future_check(n1), 0);
    assert_int_equal(aio_future_check(n2), 0);
    assert_int_equal(aio_future_check(n3), -ENOENT);
    assert_int_equal(aio_future_cancel(loop, b, NULL), 1);
    assert_int_equal(aio_future_set_error(loop, a, -EIO), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, n1, &v), 0);
    assert_int_equal(v.u, 1);
    assert_int_equal(aio_run_until_complete(loop, n2, &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_future_error(loop, a), -EIO);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    assert_int_equal(aio_future_release(loop, it), 0);
    close_loop(loop);
}

/* Timeout: a done before, b at 0.1, c and d at 10; timeout 0.15: next gives
 * a (at 0), b (0.1), then AIO_ETIMEDOUT at 0.15; the pending children are
 * not cancelled (they finish at 10); no reports. */
static void as_completed_timeout(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, a, AIO_VALUE(1)), 0);
    aio_future kids[4] = {job_task(loop, 10.0, 3, 0, NULL), a, job_task(loop, 0.1, 2, 0, NULL),
                          job_task(loop, 10.0, 4, 0, NULL)};
    struct iterate s;
    memset(&s, 0, sizeof s);
    s.it = aio_as_completed(loop, kids, 4, 0.15);
    s.n = 4;
    run_iterate(loop, &s);
    assert_int_equal(s.k, 2);
    assert_int_equal(s.idx[0], 1);
    assert_int_equal(s.at[0], 0);
    assert_int_equal(s.idx[1], 2);
    assert_int_equal(s.at[1], 100000000);
    assert_int_equal(s.end_err, AIO_ETIMEDOUT);
    assert_int_equal(s.end_at, 150000000);
    /* later nexts keep saying so */
    assert_int_equal(aio_run_until_complete(loop, aio_as_completed_next(loop, s.it), NULL), AIO_ETIMEDOUT);
    assert_int_equal(aio_future_done(loop, kids[0]), 0);
    assert_int_equal(aio_future_cancelled(loop, kids[3]), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 20.0), NULL), 0);
    aio_value v = {0};
    assert_int_equal(aio_future_result(loop, kids[0], &v), 0);
    assert_int_equal(v.i, 3);
    for (int i = 0; i < 4; i++)
        assert_int_equal(aio_future_release(loop, kids[i]), 0);
    assert_int_equal(aio_future_release(loop, s.it), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Timeout with nobody asking until after it: children that finished before
 * the deadline are still handed out first (a at 0.1, b at 0.2, timeout 0.25,
 * nexts asked at 1.0), then AIO_ETIMEDOUT. */
static void as_completed_timeout_after_finished_ones(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future kids[3] = {job_task(loop, 0.2, 2, 0, NULL), job_task(loop, 5.0, 3, 0, NULL),
                          job_task(loop, 0.1, 1, 0, NULL)};
    aio_future it = aio_as_completed(loop, kids, 3, 0.25);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_as_completed_next(loop, it), &v), 0);
    assert_int_equal(v.u, 2);
    assert_int_equal(aio_run_until_complete(loop, aio_as_completed_next(loop, it), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_run_until_complete(loop, aio_as_completed_next(loop, it), &v), AIO_ETIMEDOUT);
    assert_int_equal(aio_loop_time_ns(loop), 1000000000);
    assert_int_equal(aio_task_cancel(loop, kids[1], NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, kids[1]), NULL), AIO_ECANCELLED);
    for (int i = 0; i < 3; i++)
        assert_int_equal(aio_future_release(loop, kids[i]), 0);
    assert_int_equal(aio_future_release(loop, it), 0);
    close_loop(loop);
}

/* Cancelling a waiting next future loses no completion: n1 cancelled before
 * anything finishes; n2 then gets the first child to finish (0 at 0.1) and
 * n3 the second (1 at 0.2): a cancelled next does not count against the n
 * that may be asked for. */
static void as_completed_cancelled_next_loses_nothing(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future kids[2] = {job_task(loop, 0.1, 1, 0, NULL), job_task(loop, 0.2, 2, 0, NULL)};
    aio_future it = aio_as_completed(loop, kids, 2, AIO_FOREVER);
    aio_future n1 = aio_as_completed_next(loop, it);
    assert_int_equal(aio_future_check(n1), 0);
    assert_int_equal(aio_future_cancel(loop, n1, NULL), 1);
    assert_int_equal(aio_future_cancelled(loop, n1), 1);
    aio_future n2 = aio_as_completed_next(loop, it);
    aio_future n3 = aio_as_completed_next(loop, it);
    assert_int_equal(aio_future_check(n2), 0);
    assert_int_equal(aio_future_check(n3), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, n2, &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_loop_time_ns(loop), 100000000);
    assert_int_equal(aio_run_until_complete(loop, n3, &v), 0);
    assert_int_equal(v.u, 1);
    assert_int_equal(aio_loop_time_ns(loop), 200000000);
    assert_int_equal(aio_future_check(aio_as_completed_next(loop, it)), -ENOENT);
    assert_int_equal(aio_future_release(loop, n1), 0);
    assert_int_equal(aio_future_release(loop, it), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(aio_future_release(loop, kids[i]), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* The same, one at a time: n1 cancelled, then (after n1 is gone) n2 asked:
 * it gets child 0 at 0.1, and n3 child 1. */
static void as_completed_cancelled_next_then_ask_again(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future kids[2] = {job_task(loop, 0.1, 1, 0, NULL), job_task(loop, 0.2, 2, 0, NULL)};
    aio_future it = aio_as_completed(loop, kids, 2, AIO_FOREVER);
    aio_future n1 = aio_as_completed_next(loop, it);
    assert_int_equal(aio_future_cancel(loop, n1, NULL), 1);
    assert_int_equal(aio_future_release(loop, n1), 0);
    test_run_iterations(loop, 2);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_as_completed_next(loop, it), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_run_until_complete(loop, aio_as_completed_next(loop, it), &v), 0);
    assert_int_equal(v.u, 1);
    assert_int_equal(aio_loop_time_ns(loop), 200000000);
    assert_int_equal(aio_future_release(loop, it), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(aio_future_release(loop, kids[i]), 0);
    close_loop(loop);
}

/* Race: a child completes and the waiting next future is cancelled in the
 * same iteration: that next is cancelled, the following next gets the
 * child's index. */
static void as_completed_next_cancel_races_completion(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future f = aio_future_new(loop), g = aio_future_new(loop);
    aio_future kids[2] = {g, f};
    aio_future it = aio_as_completed(loop, kids, 2, AIO_FOREVER);
    aio_future n1 = aio_as_completed_next(loop, it);
    test_run_iterations(loop, 2);
    struct race r = {f, n1, 0, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    test_run_iterations(loop, 3);
    assert_int_equal(r.rc_set, 0);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(aio_future_cancelled(loop, n1), 1);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_as_completed_next(loop, it), &v), 0);
    assert_int_equal(v.u, 1);
    assert_int_equal(aio_future_set_result(loop, g, AIO_VALUE(0)), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_as_completed_next(loop, it), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_future_release(loop, n1), 0);
    assert_int_equal(aio_future_release(loop, it), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(aio_future_release(loop, g), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Race: a child completes and the task awaiting a next future is cancelled
 * in the same iteration: the task ends cancelled; the completion is not
 * lost (the next next gets it). */
static void as_completed_task_cancel_races_completion(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future f = aio_future_new(loop);
    aio_future kids[1] = {f};
    aio_future it = aio_as_completed(loop, kids, 1, AIO_FOREVER);
    struct awaited aw;
    aio_future t = spawn_awaiter(loop, aio_as_completed_next(loop, it), &aw);
    test_run_iterations(loop, 2);
    struct race r = {f, t, 0, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, t), NULL), AIO_ECANCELLED);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(aw.err, AIO_ECANCELLED);
    aio_value v = {0};
    v.u = 99;
    assert_int_equal(aio_run_until_complete(loop, aio_as_completed_next(loop, it), &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_future_release(loop, t), 0);
    assert_int_equal(aio_future_release(loop, it), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    close_loop(loop);
}

/* Cancelling the iterator itself while a next waits and a child completes in
 * the same iteration: the iterator ends cancelled and the waiting next is
 * done (its awaiter is not left hanging); nothing leaks or crashes. */
static void as_completed_iterator_cancel_races_completion(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future f = aio_future_new(loop), g = aio_future_new(loop);
    aio_future kids[2] = {f, g};
    aio_future it = aio_as_completed(loop, kids, 2, 5.0);
    aio_future n1 = aio_as_completed_next(loop, it);
    test_run_iterations(loop, 2);
    struct race r = {f, it, 0, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    test_run_iterations(loop, 3);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(aio_future_cancelled(loop, it), 1);
    assert_int_equal(aio_future_done(loop, n1), 1);
    assert_int_equal(aio_future_set_result(loop, g, AIO_VALUE(1)), 0);
    test_run_iterations(loop, 3);
    (void)aio_future_error(loop, n1);
    assert_int_equal(aio_future_release(loop, n1), 0);
    assert_int_equal(aio_future_release(loop, it), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(aio_future_release(loop, g), 0);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK); /* the 5 s timer is gone */
    assert_int_equal(aio_loop_time_ns(loop), 0);
    close_loop(loop);
}

/* Bad arguments: n == 0, NULL futs, NaN timeout: -EINVAL; another loop's,
 * a stale or the null handle: their code, nothing consumed. */
static void as_completed_bad_children(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_loop *other = test_loop_new(1);
    aio_future good = aio_future_new(loop);
    aio_future foreign = aio_future_new(other);
    aio_future stale = aio_future_new(loop);
    assert_int_equal(aio_future_release(loop, stale), 0);
    aio_future k1[2] = {good, foreign};
    aio_future k2[2] = {stale, good};
    aio_future k3[2] = {good, AIO_FUTURE_NULL};
    assert_int_equal(aio_future_check(aio_as_completed(loop, k1, 0, 1.0)), -EINVAL);
    assert_int_equal(aio_future_check(aio_as_completed(loop, NULL, 2, 1.0)), -EINVAL);
    assert_int_equal(aio_future_check(aio_as_completed(loop, k1, 1, NAN)), -EINVAL);
    assert_int_equal(aio_future_check(aio_as_completed(loop, k1, 2, 1.0)), AIO_EFOREIGN);
    assert_int_equal(aio_future_check(aio_as_completed(loop, k2, 2, 1.0)), AIO_ESTALE);
    assert_int_equal(aio_future_check(aio_as_completed(loop, k3, 2, 1.0)), AIO_ENULL);
    assert_int_equal(aio_future_check(aio_as_completed_next(loop, AIO_FUTURE_NULL)), AIO_ENULL);
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK); /* no timer was left armed */
    assert_int_equal(aio_loop_time_ns(loop), 0);
    assert_int_equal(aio_future_done(loop, good), 0);
    assert_int_equal(aio_future_release(loop, good), 0);
    assert_int_equal(aio_future_release(loop, good), AIO_ESTALE);
    assert_int_equal(aio_future_release(other, foreign), 0);
    close_loop(loop);
    close_loop(other);
}

/* An iterator (with a timer and a waiting next) pending at close is freed. */
static void as_completed_pending_at_close(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future f = aio_future_new(loop);
    aio_future kids[1] = {f};
    aio_future it = aio_as_completed(loop, kids, 1, 10.0);
    aio_future n1 = aio_as_completed_next(loop, it);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_done(loop, n1), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shield_outer_cancel_spares_child),
        cmocka_unit_test(shield_direct_cancel),
        cmocka_unit_test(shield_passes_outcome),
        cmocka_unit_test(shield_cancelled_unobserved_failure_reported_once),
        cmocka_unit_test(shield_cancel_races_child_failure),
        cmocka_unit_test(shield_task_cancel_races_child_result),
        cmocka_unit_test(shield_ownership_and_bad_children),
        cmocka_unit_test(as_completed_order),
        cmocka_unit_test(as_completed_exhaustion),
        cmocka_unit_test(as_completed_timeout),
        cmocka_unit_test(as_completed_timeout_after_finished_ones),
        cmocka_unit_test(as_completed_cancelled_next_loses_nothing),
        cmocka_unit_test(as_completed_cancelled_next_then_ask_again),
        cmocka_unit_test(as_completed_next_cancel_races_completion),
        cmocka_unit_test(as_completed_task_cancel_races_completion),
        cmocka_unit_test(as_completed_iterator_cancel_races_completion),
        cmocka_unit_test(as_completed_bad_children),
        cmocka_unit_test(as_completed_pending_at_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
