/* aio_gather (aio/combinators.h): spec cases GATHER-01/02/03/05/06/07/10,
 * pain points 5-7 (cancellation propagates with return_errors, opt-in
 * cancel-on-error, cancelled() consistent with awaiting), races, results
 * array never written late, bad children, ownership (gather consumes), and
 * a 100,000-child gather. Virtual clock throughout. */
#include "support.h"

#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

/* A task body: counts its runs, sleeps `delay` (if >= 0), then fails with
 * `err` (if < 0) or returns `value`. If cancelled at the sleep it marks
 * `cancelled` and propagates. */
struct job {
    double delay;
    int64_t value;
    int err;
    int *runs;
    int *cancelled;
};

static aio_status job(aio_task *t, void *frame) {
    struct job *f = frame;
    AIO_BEGIN(t);
    if (f->runs)
        ++*f->runs;
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

static aio_future job_task(aio_loop *loop, double delay, int64_t value, int err) {
    aio_future t = aio_create_task(loop, job, &(struct job){delay, value, err, NULL, NULL});
    assert_int_equal(aio_future_check(t), 0);
    return t;
}

static void count_cb(aio_loop *loop, aio_future f, void *arg) {
    (void)loop;
    (void)f;
    ++*(int *)arg;
}

#define SENTINEL_ERR 12345
#define SENTINEL_VAL INT64_C(0x5e5e5e5e)

static void fill_sentinels(aio_outcome *r, size_t n) {
    for (size_t i = 0; i < n; i++) {
        r[i].err = SENTINEL_ERR;
        r[i].value.i = SENTINEL_VAL;
    }
}

static void assert_sentinel(const aio_outcome *r) {
    assert_int_equal(r->err, SENTINEL_ERR);
    assert_int_equal(r->value.i, SENTINEL_VAL);
}

static void assert_ok(const aio_outcome *r, int64_t v) {
    assert_int_equal(r->err, 0);
    assert_int_equal(r->value.i, v);
}

/* ---- GATHER-01 --------------------------------------------------------------- */

/* GATHER-01: gather(a, b, c) on plain futures; b = 1 then a = 2: not done,
 * its done callback has not run; after c = 3 the callback runs exactly once,
 * the result is n = 3 and results are [2, 1, 3] (argument order). Same with
 * and without AIO_GATHER_RETURN_ERRORS. No reports. */
static void GATHER_01_argument_order(void **state) {
    (void)state;
    for (unsigned flags = 0; flags <= AIO_GATHER_RETURN_ERRORS; flags += AIO_GATHER_RETURN_ERRORS) {
        aio_loop *loop = test_loop_new(1);
        test_reports reps;
        test_collect_reports(loop, &reps);
        aio_future a = aio_future_new(loop), b = aio_future_new(loop), c = aio_future_new(loop);
        aio_future kids[3] = {aio_future_retain(loop, a), aio_future_retain(loop, b),
                              aio_future_retain(loop, c)};
        aio_outcome res[3];
        fill_sentinels(res, 3);
        aio_future g = aio_gather(loop, kids, 3, res, flags);
        assert_int_equal(aio_future_check(g), 0);
        int calls = 0;
        assert_int_equal(aio_future_add_done_callback(loop, g, count_cb, &calls), 0);
        assert_int_equal(aio_future_set_result(loop, b, AIO_VALUE(1)), 0);
        assert_int_equal(aio_future_set_result(loop, a, AIO_VALUE(2)), 0);
        test_run_iterations(loop, 4);
        assert_int_equal(aio_future_done(loop, g), 0);
        assert_int_equal(calls, 0);
        assert_int_equal(aio_future_set_result(loop, c, AIO_VALUE(3)), 0);
        test_run_iterations(loop, 4);
        assert_int_equal(calls, 1);
        aio_value v = {0};
        assert_int_equal(aio_future_result(loop, g, &v), 0);
        assert_int_equal(v.u, 3);
        assert_ok(&res[0], 2);
        assert_ok(&res[1], 1);
        assert_ok(&res[2], 3);
        assert_int_equal(aio_future_release(loop, g), 0);
        assert_int_equal(aio_future_release(loop, a), 0);
        assert_int_equal(aio_future_release(loop, b), 0);
        assert_int_equal(aio_future_release(loop, c), 0);
        assert_int_equal(aio_loop_close(loop), 0);
        assert_int_equal(reps.count, 0);
        assert_int_equal(aio_loop_free(loop), 0);
    }
}

struct gather_main {
    aio_outcome *res;
    int *err;
    uint64_t *n;
};

static aio_status gather_main(aio_task *t, void *frame) {
    struct gather_main *f = frame;
    AIO_BEGIN(t);
    {
        aio_future kids[3] = {
            aio_create_task(t, job, &(struct job){0.3, 'a', 0, NULL, NULL}),
            aio_create_task(t, job, &(struct job){0.1, 'b', 0, NULL, NULL}),
            aio_create_task(t, job, &(struct job){0.2, 'c', 0, NULL, NULL}),
        };
        AIO_AWAIT(t, aio_gather(t, kids, 3, f->res, 0));
    }
    *f->err = AIO_ERR(t);
    *f->n = AIO_RESULT(t).u;
    AIO_END(t);
}

/* GATHER-01 with coroutine children, wrapped inline as documented: tasks
 * finishing in reverse order still give results in argument order, at 0.3;
 * every child's handle was consumed (no task left, nothing reported). */
static void GATHER_01_coroutine_children(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_outcome res[3];
    fill_sentinels(res, 3);
    int err = 1;
    uint64_t n = 0;
    assert_int_equal(
        aio_run_until_complete(loop, aio_create_task(loop, gather_main, &(struct gather_main){res, &err, &n}),
                               NULL),
        0);
    assert_int_equal(err, 0);
    assert_int_equal(n, 3);
    assert_ok(&res[0], 'a');
    assert_ok(&res[1], 'b');
    assert_ok(&res[2], 'c');
    assert_int_equal(aio_loop_time_ns(loop), 300000000);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- GATHER-02 --------------------------------------------------------------- */

/* GATHER-02: gather(a..e); a = 1, b fails: the gather fails with b's error,
 * its callback runs once; later c's result, d's cancellation and e's error
 * change nothing (still b's error, one callback), and results[2..4] keep
 * their sentinels (never written after the gather is done). e's error,
 * which nobody looked at, is reported once when e's last reference goes. */
static void GATHER_02_first_error_propagates(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future f[5];
    aio_future kids[5];
    for (int i = 0; i < 5; i++) {
        f[i] = aio_future_new(loop);
        kids[i] = aio_future_retain(loop, f[i]);
    }
    aio_outcome res[5];
    fill_sentinels(res, 5);
    aio_future g = aio_gather(loop, kids, 5, res, 0);
    int calls = 0;
    assert_int_equal(aio_future_add_done_callback(loop, g, count_cb, &calls), 0);
    assert_int_equal(aio_future_set_result(loop, f[0], AIO_VALUE(1)), 0);
    assert_int_equal(aio_future_set_error(loop, f[1], -EDOM), 0);
    test_run_iterations(loop, 4);
    assert_int_equal(aio_future_done(loop, g), 1);
    assert_int_equal(calls, 1);
    assert_int_equal(aio_future_error(loop, g), -EDOM);
    assert_ok(&res[0], 1);
    assert_int_equal(res[1].err, -EDOM);
    assert_int_equal(aio_future_set_result(loop, f[2], AIO_VALUE(3)), 0);
    assert_int_equal(aio_future_cancel(loop, f[3], NULL), 1);
    assert_int_equal(aio_future_set_error(loop, f[4], -EIO), 0);
    test_run_iterations(loop, 4);
    assert_int_equal(calls, 1);
    assert_int_equal(aio_future_error(loop, g), -EDOM);
    assert_sentinel(&res[2]);
    assert_sentinel(&res[3]);
    assert_sentinel(&res[4]);
    assert_int_equal(aio_future_release(loop, g), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(aio_future_release(loop, f[i]), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_future_release(loop, f[4]), 0);
    assert_int_equal(reps.count, 1);
    assert_int_equal(reps.last_error, -EIO);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* GATHER-02 / pain point 6 (default): a failing child does not cancel its
 * siblings: the gather fails at 0.1, the sleeping sibling still completes
 * normally with its value at 0.5. */
static void GATHER_02_siblings_keep_running(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int sib_cancelled = 0;
    aio_future sib = aio_create_task(loop, job, &(struct job){0.5, 9, 0, NULL, &sib_cancelled});
    aio_future kids[2] = {job_task(loop, 0.1, 0, -EDOM), aio_future_retain(loop, sib)};
    assert_int_equal(aio_run_until_complete(loop, aio_gather(loop, kids, 2, NULL, 0), NULL), -EDOM);
    assert_int_equal(aio_loop_time_ns(loop), 100000000);
    assert_int_equal(aio_future_done(loop, sib), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, sib, &v), 0);
    assert_int_equal(v.i, 9);
    assert_int_equal(sib_cancelled, 0);
    assert_int_equal(aio_loop_time_ns(loop), 500000000);
    close_loop(loop);
}

/* ---- GATHER-03 --------------------------------------------------------------- */

/* GATHER-03: return_errors: b = 1, c fails, a = 3: not done until d fails;
 * then results [3, 1, c's error, d's error], the gather itself succeeds, and
 * the errors count as retrieved (no report). */
static void GATHER_03_return_errors(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future f[4], kids[4];
    for (int i = 0; i < 4; i++) {
        f[i] = aio_future_new(loop);
        kids[i] = aio_future_retain(loop, f[i]);
    }
    aio_outcome res[4];
    fill_sentinels(res, 4);
    aio_future g = aio_gather(loop, kids, 4, res, AIO_GATHER_RETURN_ERRORS);
    assert_int_equal(aio_future_set_result(loop, f[1], AIO_VALUE(1)), 0);
    assert_int_equal(aio_future_set_error(loop, f[2], -EDOM), 0);
    assert_int_equal(aio_future_set_result(loop, f[0], AIO_VALUE(3)), 0);
    test_run_iterations(loop, 4);
    assert_int_equal(aio_future_done(loop, g), 0);
    assert_int_equal(aio_future_set_error(loop, f[3], -EIO), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, g, &v), 0);
    assert_int_equal(v.u, 4);
    assert_ok(&res[0], 3);
    assert_ok(&res[1], 1);
    assert_int_equal(res[2].err, -EDOM);
    assert_int_equal(res[3].err, -EIO);
    for (int i = 0; i < 4; i++)
        assert_int_equal(aio_future_release(loop, f[i]), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* GATHER-03 variant: children a..f where c and e are cancelled: results
 * [1, -EDOM, AIO_ECANCELLED, 3, AIO_ECANCELLED, -EIO]; the gather is not
 * cancelled itself. */
static void GATHER_03_cancelled_children_in_results(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future f[6], kids[6];
    for (int i = 0; i < 6; i++) {
        f[i] = aio_future_new(loop);
        kids[i] = aio_future_retain(loop, f[i]);
    }
    aio_outcome res[6];
    fill_sentinels(res, 6);
    aio_future g = aio_gather(loop, kids, 6, res, AIO_GATHER_RETURN_ERRORS);
    assert_int_equal(aio_future_set_result(loop, f[0], AIO_VALUE(1)), 0);
    assert_int_equal(aio_future_set_error(loop, f[1], -EDOM), 0);
    assert_int_equal(aio_future_cancel(loop, f[2], NULL), 1);
    assert_int_equal(aio_future_set_result(loop, f[3], AIO_VALUE(3)), 0);
    assert_int_equal(aio_future_cancel(loop, f[4], NULL), 1);
    assert_int_equal(aio_future_set_error(loop, f[5], -EIO), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, g), &v), 0);
    assert_int_equal(v.u, 6);
    assert_int_equal(aio_future_cancelled(loop, g), 0);
    assert_ok(&res[0], 1);
    assert_int_equal(res[1].err, -EDOM);
    assert_int_equal(res[2].err, AIO_ECANCELLED);
    assert_ok(&res[3], 3);
    assert_int_equal(res[4].err, AIO_ECANCELLED);
    assert_int_equal(res[5].err, -EIO);
    assert_int_equal(aio_future_release(loop, g), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(aio_future_release(loop, f[i]), 0);
    close_loop(loop);
}

/* ---- GATHER-05, GATHER-06 --------------------------------------------------------- */

/* GATHER-05: zero children: done at once (before any iteration) with 0
 * results, with or without a futs array; awaiting it does not move time. */
static void GATHER_05_empty(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future none[1] = {AIO_FUTURE_NULL};
    aio_future g1 = aio_gather(loop, NULL, 0, NULL, 0);
    aio_future g2 = aio_gather(loop, none, 0, NULL, AIO_GATHER_RETURN_ERRORS);
    assert_int_equal(aio_future_check(g1), 0);
    assert_int_equal(aio_future_done(loop, g1), 1);
    assert_int_equal(aio_future_done(loop, g2), 1);
    aio_value v;
    v.u = 99;
    assert_int_equal(aio_future_result(loop, g1, &v), 0);
    assert_int_equal(v.u, 0);
    v.u = 99;
    assert_int_equal(aio_run_until_complete(loop, g2, &v), 0);
    assert_int_equal(v.u, 0);
    assert_int_equal(aio_future_release(loop, g1), 0);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    close_loop(loop);
}

/* GATHER-06: gather(c, c, d, c) with c giving 'abc' and d 'def' (one
 * reference per entry): [abc, abc, def, abc]; c's body ran once. */
static void GATHER_06_duplicates(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    int runs_c = 0, runs_d = 0;
    aio_future c = aio_create_task(loop, job, &(struct job){0.1, 0x616263, 0, &runs_c, NULL});
    aio_future kids[4] = {c, aio_future_retain(loop, c),
                          aio_create_task(loop, job, &(struct job){0.05, 0x646566, 0, &runs_d, NULL}),
                          aio_future_retain(loop, c)};
    aio_outcome res[4];
    fill_sentinels(res, 4);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_gather(loop, kids, 4, res, 0), &v), 0);
    assert_int_equal(v.u, 4);
    assert_ok(&res[0], 0x616263);
    assert_ok(&res[1], 0x616263);
    assert_ok(&res[2], 0x646566);
    assert_ok(&res[3], 0x616263);
    assert_int_equal(runs_c, 1);
    assert_int_equal(runs_d, 1);
    assert_int_equal(aio_future_done(loop, c), AIO_ESTALE); /* all three references consumed */
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- GATHER-07 --------------------------------------------------------------------- */

struct child7 {
    aio_future w;
    int *proof;
};

static aio_status child7(aio_task *t, void *frame) {
    struct child7 *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->w);
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    ++*f->proof;
    AIO_END(t);
}

struct outer7 {
    aio_future g;
    int *proof;
};

static aio_status outer7(aio_task *t, void *frame) {
    struct outer7 *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->g);
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    *f->proof += 100;
    AIO_END(t);
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

/* GATHER-07: outer awaits gather(child1, child2), both children await W; the
 * outer task is cancelled: cancel returns 1, the outer ends cancelled; then
 * cancelling the gather returns 0 (done); W, child1, child2 and the gather
 * are all cancelled, and proof == 0. */
static void GATHER_07_cancel_reaches_children(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    int proof = 0;
    aio_future w = aio_future_new(loop);
    aio_future c1 = aio_create_task(loop, child7, (&(struct child7){aio_future_retain(loop, w), &proof}));
    aio_future c2 = aio_create_task(loop, child7, (&(struct child7){aio_future_retain(loop, w), &proof}));
    aio_future kids[2] = {aio_future_retain(loop, c1), aio_future_retain(loop, c2)};
    aio_future g = aio_gather(loop, kids, 2, NULL, 0);
    aio_future outer = aio_create_task(loop, outer7, (&(struct outer7){aio_future_retain(loop, g), &proof}));
    test_run_iterations(loop, 3);
    assert_int_equal(aio_task_cancel(loop, outer, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, outer), NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_cancel(loop, g, NULL), 0);
    assert_int_equal(aio_future_cancelled(loop, g), 1);
    assert_int_equal(aio_future_error(loop, g), AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, w), 1);
    assert_int_equal(aio_future_cancelled(loop, c1), 1);
    assert_int_equal(aio_future_cancelled(loop, c2), 1);
    assert_int_equal(aio_future_cancelled(loop, outer), 1);
    assert_int_equal(proof, 0);
    aio_future all[5] = {w, c1, c2, g, outer};
    for (int i = 0; i < 5; i++)
        assert_int_equal(aio_future_release(loop, all[i]), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- GATHER-10, pain points 5 and 7 -------------------------------------------------- */

/* GATHER-10: gather(shield(child1), shield(child2)) cancelled: the shields
 * are cancelled, the children are not (they can still be resolved); the
 * gather's error() is AIO_ECANCELLED, awaiting it gives AIO_ECANCELLED, and
 * (pain point 7) cancelled() agrees: 1. */
static void GATHER_10_cancel_gather_of_shields(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future c1 = aio_future_new(loop), c2 = aio_future_new(loop);
    aio_future s1 = aio_shield(loop, aio_future_retain(loop, c1));
    aio_future s2 = aio_shield(loop, aio_future_retain(loop, c2));
    aio_future kids[2] = {aio_future_retain(loop, s1), aio_future_retain(loop, s2)};
    aio_future parent = aio_gather(loop, kids, 2, NULL, 0);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_cancel(loop, parent, NULL), 1);
    test_run_iterations(loop, 3);
    assert_int_equal(aio_future_cancelled(loop, s1), 1);
    assert_int_equal(aio_future_cancelled(loop, s2), 1);
    assert_int_equal(aio_future_done(loop, c1), 0);
    assert_int_equal(aio_future_done(loop, c2), 0);
    assert_int_equal(aio_future_set_result(loop, c1, AIO_VALUE(1)), 0);
    assert_int_equal(aio_future_set_result(loop, c2, AIO_VALUE(2)), 0);
    assert_int_equal(aio_future_done(loop, parent), 1);
    assert_int_equal(aio_future_error(loop, parent), AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, parent), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, parent), NULL), AIO_ECANCELLED);
    test_run_iterations(loop, 3);
    aio_future all[5] = {c1, c2, s1, s2, parent};
    for (int i = 0; i < 5; i++)
        assert_int_equal(aio_future_release(loop, all[i]), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Pain point 5: with AIO_GATHER_RETURN_ERRORS, cancelling the task awaiting
 * the gather still cancels it (the task ends cancelled, the gather is
 * cancelled, the children too); and cancelling the gather itself likewise
 * ends it cancelled (not with a result). */
static void gather_return_errors_cancel_propagates(void **state) {
    (void)state;
    for (int direct = 0; direct < 2; direct++) {
        aio_loop *loop = test_loop_new(1);
        test_reports reps;
        test_collect_reports(loop, &reps);
        int ca = 0, cb = 0, proof = 0;
        aio_future a = aio_create_task(loop, job, &(struct job){10.0, 1, 0, NULL, &ca});
        aio_future b = aio_create_task(loop, job, &(struct job){10.0, 2, 0, NULL, &cb});
        aio_future kids[2] = {aio_future_retain(loop, a), aio_future_retain(loop, b)};
        aio_outcome res[2];
        fill_sentinels(res, 2);
        aio_future g = aio_gather(loop, kids, 2, res, AIO_GATHER_RETURN_ERRORS);
        aio_future outer =
            aio_create_task(loop, outer7, (&(struct outer7){aio_future_retain(loop, g), &proof}));
        struct canceller c = {direct ? g : outer, "stop", -99};
        assert_int_equal(aio_call_later(loop, 1.0, cancel_cb, &c, NULL), 0);
        assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, outer), NULL), AIO_ECANCELLED);
        assert_int_equal(c.rc, 1);
        assert_int_equal(aio_loop_time_ns(loop), 1000000000);
        assert_int_equal(aio_future_cancelled(loop, outer), 1);
        assert_int_equal(aio_future_cancelled(loop, g), 1);
        assert_int_equal(aio_future_result(loop, g, NULL), AIO_ECANCELLED);
        assert_int_equal(aio_future_cancelled(loop, a), 1);
        assert_int_equal(aio_future_cancelled(loop, b), 1);
        assert_int_equal(ca, 1);
        assert_int_equal(cb, 1);
        assert_int_equal(proof, 0);
        aio_future all[4] = {a, b, g, outer};
        for (int i = 0; i < 4; i++)
            assert_int_equal(aio_future_release(loop, all[i]), 0);
        assert_int_equal(aio_loop_close(loop), 0);
        assert_int_equal(reps.count, 0);
        assert_int_equal(aio_loop_free(loop), 0);
    }
}

/* Pain point 7: a cancelled gather (plain-future children) is done, and
 * cancelled() == 1, error() == result() == AIO_ECANCELLED, awaiting it gives
 * AIO_ECANCELLED; its message travels. A second cancel returns 0. */
static void gather_cancelled_state_consistent(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = aio_future_new(loop), b = aio_future_new(loop);
    aio_future kids[2] = {aio_future_retain(loop, a), aio_future_retain(loop, b)};
    aio_future g = aio_gather(loop, kids, 2, NULL, 0);
    assert_int_equal(aio_future_cancel(loop, g, "bye"), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, g), NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, g), 1);
    assert_int_equal(aio_future_error(loop, g), AIO_ECANCELLED);
    assert_int_equal(aio_future_result(loop, g, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_cancel(loop, g, NULL), 0);
    const char *msg = aio_future_cancel_message(loop, g);
    assert_non_null(msg);
    assert_string_equal(msg, "bye");
    assert_int_equal(aio_future_cancelled(loop, a), 1);
    assert_int_equal(aio_future_cancelled(loop, b), 1);
    assert_int_equal(aio_future_release(loop, g), 0);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    close_loop(loop);
}

/* A cancelled gather whose children are tasks not yet started: they never
 * run their bodies; the gather ends cancelled. */
static void gather_cancel_unstarted_children_never_run(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int runs = 0;
    aio_future kids[3] = {
        aio_create_task(loop, job, &(struct job){0.1, 1, 0, &runs, NULL}),
        aio_create_task(loop, job, &(struct job){0.1, 2, 0, &runs, NULL}),
        aio_create_task(loop, job, &(struct job){-1, 3, 0, &runs, NULL}),
    };
    aio_future g = aio_gather(loop, kids, 3, NULL, AIO_GATHER_RETURN_ERRORS);
    assert_int_equal(aio_future_cancel(loop, g, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, g, NULL), AIO_ECANCELLED);
    assert_int_equal(runs, 0);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    close_loop(loop);
}

/* ---- pain point 6: AIO_GATHER_CANCEL_ON_ERROR ------------------------------------------ */

/* Opt-in cancel-on-error: the first failure (at 0.1) cancels every child
 * still pending (a sleeping task sees its cancellation, a plain future is
 * cancelled) and the gather fails with that error at 0.1. */
static void gather_cancel_on_error(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    int sib_cancelled = 0;
    aio_future sib = aio_create_task(loop, job, &(struct job){10.0, 1, 0, NULL, &sib_cancelled});
    aio_future plain = aio_future_new(loop);
    aio_future done = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, done, AIO_VALUE(5)), 0);
    aio_future kids[4] = {aio_future_retain(loop, sib), job_task(loop, 0.1, 0, -EDOM),
                          aio_future_retain(loop, plain), aio_future_retain(loop, done)};
    aio_outcome res[4];
    fill_sentinels(res, 4);
    assert_int_equal(
        aio_run_until_complete(loop, aio_gather(loop, kids, 4, res, AIO_GATHER_CANCEL_ON_ERROR), NULL),
        -EDOM);
    assert_int_equal(aio_loop_time_ns(loop), 100000000);
    assert_int_equal(res[1].err, -EDOM);
    assert_ok(&res[3], 5);
    assert_int_equal(aio_future_cancelled(loop, plain), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, sib), NULL), AIO_ECANCELLED);
    assert_int_equal(sib_cancelled, 1);
    assert_int_equal(aio_loop_time_ns(loop), 100000000);
    test_run_iterations(loop, 3);
    assert_sentinel(&res[0]); /* never written after the gather was done */
    assert_sentinel(&res[2]);
    assert_int_equal(aio_future_release(loop, sib), 0);
    assert_int_equal(aio_future_release(loop, plain), 0);
    assert_int_equal(aio_future_release(loop, done), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Without RETURN_ERRORS a cancelled child makes the gather fail with
 * AIO_ECANCELLED (like an error); the gather's results array stays untouched
 * past that point, and other children keep running. */
static void gather_child_cancelled_fails_gather(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = aio_future_new(loop), b = aio_future_new(loop);
    aio_future kids[2] = {aio_future_retain(loop, a), aio_future_retain(loop, b)};
    aio_outcome res[2];
    fill_sentinels(res, 2);
    aio_future g = aio_gather(loop, kids, 2, res, 0);
    assert_int_equal(aio_future_cancel(loop, a, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, g), NULL), AIO_ECANCELLED);
    assert_int_equal(res[0].err, AIO_ECANCELLED);
    assert_int_equal(aio_future_done(loop, b), 0);
    assert_int_equal(aio_future_set_result(loop, b, AIO_VALUE(2)), 0);
    test_run_iterations(loop, 3);
    assert_sentinel(&res[1]);
    assert_int_equal(aio_future_release(loop, g), 0);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    close_loop(loop);
}

struct await_gather {
    aio_future kids[2];
    int *err, *cancelling;
};

static aio_status await_gather(aio_task *t, void *frame) {
    struct await_gather *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_gather(t, f->kids, 2, NULL, 0));
    *f->err = AIO_ERR(t);
    *f->cancelling = aio_task_cancelling(t);
    AIO_RETURN(t, 7); /* a child's cancel is not ours: we carry on */
    AIO_END(t);
}

/* libaio's rule where asyncio differs: a gather (without RETURN_ERRORS)
 * whose child was cancelled ends cancelled (asyncio finishes it with a
 * CancelledError exception, so its cancelled() is False). The awaiting
 * task tells "a child was cancelled" from "I was cancelled" by
 * aio_task_cancelling(t): 0 here, and it finishes with its own result. */
static void gather_child_cancelled_ends_gather_cancelled(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future a = aio_future_new(loop), b = aio_future_new(loop);
    int err = 1, cancelling = -1;
    aio_future task =
        aio_create_task(loop, await_gather,
                        (&(struct await_gather){
                            {aio_future_retain(loop, a), aio_future_retain(loop, b)}, &err, &cancelling}));
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_cancel(loop, a, "child"), 1);
    aio_value v = {0};
    assert_aio_ok(aio_run_until_complete(loop, task, &v));
    assert_int_equal(v.i, 7);
    assert_aio_err(err, AIO_ECANCELLED);
    assert_int_equal(cancelling, 0);
    /* The gather itself, seen from outside: cancelled, with the child's message. */
    aio_future c = aio_future_new(loop);
    aio_future kids[2] = {aio_future_retain(loop, c), aio_future_retain(loop, b)};
    aio_future g = aio_gather(loop, kids, 2, NULL, 0);
    assert_int_equal(aio_future_cancel(loop, c, "child"), 1);
    assert_aio_err(aio_run_until_complete(loop, aio_future_retain(loop, g), NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, g), 1);
    assert_string_equal(aio_future_cancel_message(loop, g), "child");
    assert_aio_ok(aio_future_release(loop, g));
    assert_aio_ok(aio_future_release(loop, a));
    assert_aio_ok(aio_future_release(loop, b));
    assert_aio_ok(aio_future_release(loop, c));
    close_loop(loop);
}
/* ---- cancellation racing with completion ----------------------------------------------- */

struct race {
    aio_future a, b, target;
    int fail_a;
    int rc_a, rc_b, rc_cancel;
};

static void race_cb(aio_loop *loop, void *arg) {
    struct race *r = arg;
    r->rc_a =
        r->fail_a ? aio_future_set_error(loop, r->a, -EDOM) : aio_future_set_result(loop, r->a, AIO_VALUE(1));
    r->rc_b = aio_future_is_task(loop, r->b) == 0 ? aio_future_set_result(loop, r->b, AIO_VALUE(2)) : 0;
    r->rc_cancel = aio_future_cancel(loop, r->target, "race");
}

/* Every child completes and the gather is cancelled in the same iteration,
 * before it has seen the completions: the gather is still pending, so the
 * cancel is accepted (1) and, as documented, the gather ends cancelled
 * (awaiting gives AIO_ECANCELLED, cancelled() == 1); the results already
 * on their way do not crash or leak. */
static void gather_cancel_races_all_children_completing(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = aio_future_new(loop), b = aio_future_new(loop);
    aio_future kids[2] = {aio_future_retain(loop, a), aio_future_retain(loop, b)};
    aio_future g = aio_gather(loop, kids, 2, NULL, AIO_GATHER_RETURN_ERRORS);
    test_run_iterations(loop, 2);
    struct race r = {a, b, g, 0, -99, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    int rc = aio_run_until_complete(loop, aio_future_retain(loop, g), NULL);
    assert_int_equal(r.rc_a, 0);
    assert_int_equal(r.rc_b, 0);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(rc, AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, g), 1);
    test_run_iterations(loop, 3);
    assert_int_equal(aio_future_release(loop, g), 0);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* One child fails and the gather is cancelled in the same iteration (the
 * other child pending): the cancellation wins; the gather ends cancelled
 * once the other child (now cancelled) is done; nothing reported (the
 * failure was seen by the gather). */
static void gather_cancel_races_child_failure(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = aio_future_new(loop);
    int cb = 0;
    aio_future b = aio_create_task(loop, job, &(struct job){10.0, 2, 0, NULL, &cb});
    aio_future kids[2] = {aio_future_retain(loop, a), aio_future_retain(loop, b)};
    aio_future g = aio_gather(loop, kids, 2, NULL, 0);
    test_run_iterations(loop, 2);
    struct race r = {a, b, g, 1, -99, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, g), NULL), AIO_ECANCELLED);
    assert_int_equal(r.rc_a, 0);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(aio_future_cancelled(loop, g), 1);
    assert_int_equal(aio_future_cancelled(loop, b), 1);
    assert_int_equal(cb, 1);
    assert_int_equal(aio_future_error(loop, a), -EDOM);
    test_run_iterations(loop, 3);
    assert_int_equal(aio_future_release(loop, g), 0);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Every child completes and the task awaiting the gather is cancelled in
 * the same iteration: the task ends cancelled (its own cancellation always
 * surfaces), nothing leaks or crashes. */
static void gather_task_cancel_races_completion(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    int proof = 0;
    aio_future a = aio_future_new(loop), b = aio_future_new(loop);
    aio_future kids[2] = {aio_future_retain(loop, a), aio_future_retain(loop, b)};
    aio_outcome res[2];
    fill_sentinels(res, 2);
    aio_future outer =
        aio_create_task(loop, outer7, (&(struct outer7){aio_gather(loop, kids, 2, res, 0), &proof}));
    test_run_iterations(loop, 2);
    struct race r = {a, b, outer, 0, -99, -99, -99};
    assert_int_equal(aio_call_soon(loop, race_cb, &r, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, outer), NULL), AIO_ECANCELLED);
    assert_int_equal(r.rc_cancel, 1);
    assert_int_equal(proof, 0);
    assert_int_equal(aio_future_cancelled(loop, outer), 1);
    test_run_iterations(loop, 3);
    assert_int_equal(aio_future_release(loop, outer), 0);
    assert_int_equal(aio_future_release(loop, a), 0);
    assert_int_equal(aio_future_release(loop, b), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- bad arguments, ownership, close ------------------------------------------------------ */

/* The ownership rule on a failing gather (aio/future.h): whatever makes it
 * fail (a bad sibling: another loop's, stale, null; unknown flags), it still
 * consumes every good child's reference. A pending child nobody else holds
 * is cancelled (a task runs its cleanup and ends cancelled), one the caller
 * still holds a reference to is left alone, and nothing leaks: closing the
 * loop reports nothing. */
static void gather_failing_still_consumes(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_loop *other = test_loop_new(1);
    aio_future foreign = aio_future_new(other);
    aio_future stale = aio_future_new(loop);
    assert_int_equal(aio_future_release(loop, stale), 0);
    const aio_future bad[] = {foreign, stale, AIO_FUTURE_NULL, AIO_FUTURE_NULL};
    const int code[] = {AIO_EFOREIGN, AIO_ESTALE, AIO_ENULL, -EINVAL};
    for (int k = 0; k < 4; k++) {
        int runs = 0, cancelled = 0;
        aio_future plain = aio_future_new(loop);
        aio_future task = aio_create_task(loop, job, &(struct job){0.5, 4, 0, &runs, &cancelled});
        aio_future kept = aio_future_new(loop); /* the caller keeps a reference */
        aio_future kids[4] = {plain, task, aio_future_retain(loop, kept), bad[k]};
        unsigned flags = k == 3 ? 4u : 0u; /* unknown flags: all children good */
        size_t n = k == 3 ? 3 : 4;
        aio_outcome res[4];
        fill_sentinels(res, 4);
        assert_aio_err(aio_future_check(aio_gather(loop, kids, n, res, flags)), code[k]);
        assert_aio_err(aio_future_done(loop, plain), AIO_ESTALE); /* cancelled, consumed, freed */
        assert_int_equal(aio_future_done(loop, kept), 0);         /* still the caller's */
        test_run_iterations(loop, 2);                             /* the task starts, is cancelled */
        assert_int_equal(runs, 0);                                /* cancelled before it ran */
        assert_aio_err(aio_future_done(loop, task), AIO_ESTALE);  /* finished and freed */
        assert_int_equal(aio_loop_pending_tasks(loop), 0);
        for (int i = 0; i < 4; i++)
            assert_sentinel(&res[i]);
        assert_aio_ok(aio_future_release(loop, kept));
    }
    /* NULL futs: nothing to consume, -EINVAL. */
    assert_aio_err(aio_future_check(aio_gather(loop, NULL, 3, NULL, 0)), -EINVAL);
    assert_aio_err(aio_future_check(aio_gather_on(NULL, &foreign, 1, NULL, 0)), -EINVAL);
    assert_int_equal(aio_future_done(other, foreign), 0); /* another loop's: untouched */
    assert_aio_ok(aio_future_release(other, foreign));
    test_reports reports;
    test_collect_reports(loop, &reports);
    assert_aio_ok(aio_loop_close(loop));
    assert_int_equal(reports.count, 0);
    aio_future one = {0};
    assert_aio_err(aio_future_check(aio_gather(loop, &one, 1, NULL, 0)), AIO_ECLOSED);
    assert_aio_ok(aio_loop_free(loop));
    close_loop(other);
}

/* A started task whose gather fails is cancelled at its await and cleans up. */
static void gather_failing_cancels_a_running_child(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int runs = 0, cancelled = 0;
    aio_future task = aio_create_task(loop, job, &(struct job){5.0, 4, 0, &runs, &cancelled});
    test_run_iterations(loop, 2); /* it is asleep now */
    assert_int_equal(runs, 1);
    aio_future kids[2] = {task, AIO_FUTURE_NULL};
    assert_aio_err(aio_future_check(aio_gather(loop, kids, 2, NULL, 0)), AIO_ENULL);
    test_run_iterations(loop, 3);
    assert_int_equal(cancelled, 1);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    close_loop(loop);
}

/* gather consumes the children's references: once they finished and the
 * gather is done, their handles are stale (success, failure, and an early
 * failure whose sibling finishes later); no reports on these paths. */
static void gather_consumes_children(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future a = job_task(loop, 0.1, 1, 0), b = job_task(loop, 0.2, 2, 0);
    aio_future k1[2] = {a, b};
    assert_int_equal(aio_run_until_complete(loop, aio_gather(loop, k1, 2, NULL, 0), NULL), 0);
    aio_future c = job_task(loop, 0.1, 0, -EDOM), d = job_task(loop, 0.2, 2, 0);
    aio_future k2[2] = {c, d};
    assert_int_equal(aio_run_until_complete(loop, aio_gather(loop, k2, 2, NULL, 0), NULL), -EDOM);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0); /* d finishes */
    aio_future e = job_task(loop, 0.1, 0, -EIO), f = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, f, AIO_VALUE(6)), 0);
    aio_future k3[2] = {e, f};
    assert_int_equal(
        aio_run_until_complete(loop, aio_gather(loop, k3, 2, NULL, AIO_GATHER_RETURN_ERRORS), NULL), 0);
    test_run_iterations(loop, 3);
    aio_future all[6] = {a, b, c, d, e, f};
    for (int i = 0; i < 6; i++)
        assert_int_equal(aio_future_done(loop, all[i]), AIO_ESTALE);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A gather released at once still completes its children's bookkeeping, and
 * a gather pending at close is freed with its state (ASan / valgrind). */
static void gather_released_and_pending_at_close(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_outcome res[2];
    fill_sentinels(res, 2);
    aio_future k1[2] = {job_task(loop, 0.1, 1, 0), job_task(loop, 0.2, 2, 0)};
    assert_int_equal(aio_future_release(loop, aio_gather(loop, k1, 2, res, 0)), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    assert_ok(&res[0], 1);
    assert_ok(&res[1], 2);
    aio_future p = aio_future_new(loop);
    aio_future k2[2] = {aio_future_retain(loop, p), aio_future_retain(loop, p)};
    aio_future g = aio_gather(loop, k2, 2, NULL, 0);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_done(loop, g), 0);
    assert_int_equal(aio_future_release(loop, p), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- fan-in ---------------------------------------------------------------------------------- */

#define BIG 100000

struct idx_job {
    int64_t i;
};

static aio_status idx_job(aio_task *t, void *frame) {
    struct idx_job *f = frame;
    AIO_BEGIN(t);
    if (f->i % 2)
        AIO_YIELD(t);
    AIO_RETURN(t, f->i * 3);
    AIO_END(t);
}

/* 100,000 task children in one gather: all results in argument order, no
 * recursion trouble; every child handle consumed (stale), no task left. */
static void gather_100k_tasks(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future *kids = malloc(BIG * sizeof *kids);
    aio_outcome *res = malloc(BIG * sizeof *res);
    assert_non_null(kids);
    assert_non_null(res);
    fill_sentinels(res, BIG);
    for (int64_t i = 0; i < BIG; i++) {
        kids[i] = aio_create_task(loop, idx_job, &(struct idx_job){i});
        assert_int_equal(aio_future_check(kids[i]), 0);
    }
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_gather(loop, kids, BIG, res, 0), &v), 0);
    assert_int_equal(v.u, BIG);
    for (int64_t i = 0; i < BIG; i++) {
        assert_int_equal(res[i].err, 0);
        assert_int_equal(res[i].value.i, i * 3);
    }
    test_run_iterations(loop, 2);
    for (int64_t i = 0; i < BIG; i++)
        assert_int_equal(aio_future_done(loop, kids[i]), AIO_ESTALE);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    free(kids);
    free(res);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

struct completer {
    aio_future *f;
    size_t n;
};

static void complete_all_reversed(aio_loop *loop, void *arg) {
    struct completer *c = arg;
    for (size_t i = c->n; i-- > 0;)
        assert_int_equal(aio_future_set_result(loop, c->f[i], AIO_VALUE((int64_t)i)), 0);
}

/* 100,000 plain futures completed in reverse order in one callback: results
 * in argument order. */
static void gather_100k_futures_reversed(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future *f = malloc(BIG * sizeof *f), *kids = malloc(BIG * sizeof *kids);
    aio_outcome *res = malloc(BIG * sizeof *res);
    assert_non_null(f);
    assert_non_null(kids);
    assert_non_null(res);
    for (size_t i = 0; i < BIG; i++) {
        f[i] = aio_future_new(loop);
        kids[i] = aio_future_retain(loop, f[i]);
    }
    aio_future g = aio_gather(loop, kids, BIG, res, AIO_GATHER_RETURN_ERRORS);
    struct completer c = {f, BIG};
    assert_int_equal(aio_call_later(loop, 2.0, complete_all_reversed, &c, NULL), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, g, &v), 0);
    assert_int_equal(v.u, BIG);
    assert_int_equal(aio_loop_time_ns(loop), 2000000000);
    for (size_t i = 0; i < BIG; i++) {
        assert_int_equal(res[i].err, 0);
        assert_int_equal(res[i].value.i, (int64_t)i);
        assert_int_equal(aio_future_release(loop, f[i]), 0);
    }
    free(f);
    free(kids);
    free(res);
    close_loop(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(GATHER_01_argument_order),
        cmocka_unit_test(GATHER_01_coroutine_children),
        cmocka_unit_test(GATHER_02_first_error_propagates),
        cmocka_unit_test(GATHER_02_siblings_keep_running),
        cmocka_unit_test(GATHER_03_return_errors),
        cmocka_unit_test(GATHER_03_cancelled_children_in_results),
        cmocka_unit_test(GATHER_05_empty),
        cmocka_unit_test(GATHER_06_duplicates),
        cmocka_unit_test(GATHER_07_cancel_reaches_children),
        cmocka_unit_test(GATHER_10_cancel_gather_of_shields),
        cmocka_unit_test(gather_return_errors_cancel_propagates),
        cmocka_unit_test(gather_cancelled_state_consistent),
        cmocka_unit_test(gather_cancel_unstarted_children_never_run),
        cmocka_unit_test(gather_cancel_on_error),
        cmocka_unit_test(gather_child_cancelled_fails_gather),
        cmocka_unit_test(gather_child_cancelled_ends_gather_cancelled),
        cmocka_unit_test(gather_cancel_races_all_children_completing),
        cmocka_unit_test(gather_cancel_races_child_failure),
        cmocka_unit_test(gather_task_cancel_races_completion),
        cmocka_unit_test(gather_failing_still_consumes),
        cmocka_unit_test(gather_failing_cancels_a_running_child),
        cmocka_unit_test(gather_consumes_children),
        cmocka_unit_test(gather_released_and_pending_at_close),
        cmocka_unit_test(gather_100k_tasks),
        cmocka_unit_test(gather_100k_futures_reversed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
