/* Coroutine macros (aio/coro.h): frames, awaits, inline children, resume
 * points. Compiled twice: with labels-as-values (default on GCC/Clang) and
 * with -DAIO_CORO_SWITCH (test_coro_switch). */
#include "support.h"

#include <math.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

static void bump_cb(aio_loop *loop, void *arg) {
    (void)loop;
    ++*(int *)arg;
}

/* Run fn on a copy of *frame as a task until it completes. */
#define RUN_TASK(loop, fn, frame_ptr, out)                                                                   \
    aio_run_until_complete((loop), aio_create_task((loop), (fn), (frame_ptr)), (out))

/* ---- a plain return ------------------------------------------------------- */

struct ret42 {
    int *entries;
};

static aio_status ret42(aio_task *t, void *frame) {
    struct ret42 *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    AIO_RETURN(t, 42);
    AIO_END(t);
}

/* A coroutine that never awaits finishes in its first run and gives its value. */
static void coro_return_without_await(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int entries = 0;
    aio_value v = {0};
    assert_int_equal(RUN_TASK(loop, ret42, (&(struct ret42){&entries}), &v), 0);
    assert_int_equal(v.i, 42);
    assert_int_equal(entries, 1);
    close_loop(loop);
}

/* ---- falling off AIO_END ------------------------------------------------- */

struct falloff {
    int *reached;
};

static aio_status falloff(aio_task *t, void *frame) {
    struct falloff *f = frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    *f->reached = 1;
    AIO_END(t);
}

/* Falling off AIO_END completes the task with status 0 and AIO_NONE. */
static void coro_end_gives_none(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int reached = 0;
    aio_value v;
    v.i = -1;
    assert_int_equal(RUN_TASK(loop, falloff, (&(struct falloff){&reached}), &v), 0);
    assert_int_equal(reached, 1);
    assert_int_equal(v.u, 0);
    close_loop(loop);
}

/* ---- AIO_FAIL ------------------------------------------------------------- */

struct failer {
    int err;
};

static aio_status failer(aio_task *t, void *frame) {
    struct failer *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.01));
    AIO_FAIL(t, f->err);
    AIO_END(t);
}

/* AIO_FAIL completes the task with that error; result()/error() report it. */
static void coro_fail_sets_task_error(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future task = aio_create_task(loop, failer, &(struct failer){-EPIPE});
    assert_int_equal(aio_future_check(task), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), -EPIPE);
    assert_int_equal(aio_future_done(loop, task), 1);
    assert_int_equal(aio_future_cancelled(loop, task), 0);
    assert_int_equal(aio_future_error(loop, task), -EPIPE);
    assert_int_equal(aio_future_result(loop, task, NULL), -EPIPE);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

/* ---- frame state survives awaits ------------------------------------------ */

struct summer {
    int i;
    int64_t sum;
};

static aio_status summer(aio_task *t, void *frame) {
    struct summer *f = frame;
    AIO_BEGIN(t);
    for (f->i = 0; f->i < 5; f->i++) {
        AIO_AWAIT(t, aio_sleep_value(t, 0.01, f->i * 10));
        assert_int_equal(AIO_ERR(t), 0);
        f->sum += AIO_RESULT(t).i;
    }
    AIO_RETURN(t, f->sum);
    AIO_END(t);
}

/* State kept in the frame (a loop counter, an accumulator) survives every
 * await, including awaits inside a for loop. */
static void coro_frame_survives_awaits_in_loop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_value v = {0};
    assert_int_equal(RUN_TASK(loop, summer, (&(struct summer){0, 0}), &v), 0);
    assert_int_equal(v.i, 0 + 10 + 20 + 30 + 40);
    assert_int_equal(aio_loop_time_ns(loop), 50000000);
    close_loop(loop);
}

/* ---- two awaits on one line ----------------------------------------------- */

struct twoline {
    int *entries;
    int64_t a, b;
    int n;
};

/* Two awaits expanded from one macro use sit on the same source line too. */
#define YIELD_TWICE(t, counter)                                                                              \
    do {                                                                                                     \
        AIO_YIELD(t);                                                                                        \
        (counter)++;                                                                                         \
        AIO_YIELD(t);                                                                                        \
        (counter)++;                                                                                         \
    } while (0)

static aio_status twoline(aio_task *t, void *frame) {
    struct twoline *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    /* clang-format off */
    AIO_AWAIT(t, aio_sleep_value(t, 0.1, 1)); f->a = AIO_RESULT(t).i; AIO_AWAIT(t, aio_sleep_value(t, 0.2, 2)); f->b = AIO_RESULT(t).i;
    /* clang-format on */
    YIELD_TWICE(t, f->n);
    AIO_RETURN(t, f->a * 10 + f->b + 100 * f->n);
    AIO_END(t);
}

/* Two awaits on one source line resume at the right place each time. */
static void coro_two_awaits_one_line(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int entries = 0;
    aio_value v = {0};
    assert_int_equal(RUN_TASK(loop, twoline, (&(struct twoline){&entries, 0, 0, 0}), &v), 0);
    assert_int_equal(v.i, 12 + 200);
    assert_int_equal(entries, 5); /* start + 2 sleeps + 2 yields */
    assert_int_equal(aio_loop_time_ns(loop), 300000000);
    close_loop(loop);
}

/* ---- await inside a switch (labels-as-values only) ------------------------- */
#if AIO_CORO_LABELS
struct switcher {
    int mode;
};

static aio_status switcher(aio_task *t, void *frame) {
    struct switcher *f = frame;
    AIO_BEGIN(t);
    switch (f->mode) {
    case 0:
        AIO_AWAIT(t, aio_sleep_value(t, 0.1, 100));
        break;
    case 1:
        AIO_AWAIT(t, aio_sleep_value(t, 0.2, 200));
        AIO_AWAIT(t, aio_sleep_value(t, 0.1, AIO_RESULT(t).i + 1));
        break;
    default:
        AIO_FAIL(t, -EINVAL);
    }
    AIO_RETURN(t, AIO_RESULT(t));
    AIO_END(t);
}

/* With labels-as-values, awaits inside the user's own switch statement work. */
static void coro_await_inside_switch(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_value v = {0};
    assert_int_equal(RUN_TASK(loop, switcher, (&(struct switcher){0}), &v), 0);
    assert_int_equal(v.i, 100);
    assert_int_equal(RUN_TASK(loop, switcher, (&(struct switcher){1}), &v), 0);
    assert_int_equal(v.i, 201);
    assert_int_equal(RUN_TASK(loop, switcher, (&(struct switcher){2}), &v), -EINVAL);
    close_loop(loop);
}
#endif

/* ---- yield ------------------------------------------------------------------ */

struct yielder {
    int flag;
    int before, after;
};

static aio_status yielder(aio_task *t, void *frame) {
    struct yielder *f = frame;
    AIO_BEGIN(t);
    assert_int_equal(aio_call_soon(t, bump_cb, &f->flag, NULL), 0);
    f->before = f->flag;
    AIO_YIELD(t);
    f->after = f->flag;
    AIO_RETURN(t, f->before * 10 + f->after);
    AIO_END(t);
}

/* AIO_YIELD lets a callback scheduled before it run, then resumes. */
static void coro_yield_lets_callbacks_run(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_value v = {0};
    assert_int_equal(RUN_TASK(loop, yielder, (&(struct yielder){0, -1, -1}), &v), 0);
    assert_int_equal(v.i, 1); /* before 0, after 1 */
    assert_int_equal(aio_loop_time_ns(loop), 0);
    close_loop(loop);
}

struct spinner {
    int n;
};

static aio_status spinner(aio_task *t, void *frame) {
    struct spinner *f = frame;
    AIO_BEGIN(t);
    while (f->n < 100) {
        AIO_YIELD(t);
        f->n++;
    }
    AIO_RETURN(t, f->n);
    AIO_END(t);
}

/* A yield in a while loop: 100 yields, each a loop iteration of its own. */
static void coro_yield_in_while_loop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_value v = {0};
    aio_loop_stats before, after;
    assert_int_equal(aio_loop_get_stats(loop, &before), 0);
    assert_int_equal(RUN_TASK(loop, spinner, (&(struct spinner){0}), &v), 0);
    assert_int_equal(aio_loop_get_stats(loop, &after), 0);
    assert_int_equal(v.i, 100);
    assert_true(after.iterations - before.iterations >= 100);
    assert_int_equal(aio_loop_time_ns(loop), 0);
    close_loop(loop);
}

/* ---- awaiting something already done, or a bad handle --------------------- */

struct nosuspend {
    aio_loop *other;
    int *entries;
    int flag;
    int err_done, err_null, err_stale, err_foreign, err_nan, err_inf;
    int64_t done_value;
    int flag_at_end;
    int h2_done;
    aio_future h, h2;
};

static aio_status nosuspend(aio_task *t, void *frame) {
    struct nosuspend *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    /* Any suspension would let this callback run and bump flag. */
    assert_int_equal(aio_call_soon(t, bump_cb, &f->flag, NULL), 0);
    f->h = aio_future_new(t);
    assert_int_equal(aio_future_set_result(t, f->h, AIO_VALUE(5)), 0);
    AIO_AWAIT(t, f->h);
    f->err_done = AIO_ERR(t);
    f->done_value = AIO_RESULT(t).i;
    AIO_AWAIT(t, AIO_FUTURE_NULL);
    f->err_null = AIO_ERR(t);
    f->h = aio_future_new(t);
    assert_int_equal(aio_future_set_result(t, f->h, AIO_VALUE(1)), 0);
    assert_int_equal(aio_future_release(t, f->h), 0); /* freed: now stale */
    f->h2 = aio_future_new(t);                        /* may reuse the freed slot */
    AIO_AWAIT(t, f->h);
    f->err_stale = AIO_ERR(t);
    /* the stale await touched nothing of the slot's new owner */
    f->h2_done = aio_future_done(t, f->h2);
    assert_int_equal(aio_future_release(t, f->h2), 0);
    f->h = aio_future_new(f->other);
    assert_int_equal(aio_future_check(f->h), 0);
    AIO_AWAIT(t, f->h);
    f->err_foreign = AIO_ERR(t);
    /* awaiting it could not touch the other loop: our reference is intact */
    assert_int_equal(aio_future_release(f->other, f->h), 0);
    AIO_AWAIT(t, aio_sleep(t, NAN));
    f->err_nan = AIO_ERR(t);
    AIO_AWAIT(t, aio_sleep(t, INFINITY));
    f->err_inf = AIO_ERR(t);
    f->flag_at_end = f->flag;
    AIO_RETURN(t, 0);
    AIO_END(t);
}

/* Runs nosuspend inline and copies its frame out for the test to read. */
struct nosuspend_outer {
    struct nosuspend *out;
    AIO_CHILD(struct nosuspend) sub;
};

static aio_status nosuspend_outer(aio_task *t, void *frame) {
    struct nosuspend_outer *f = frame;
    AIO_BEGIN(t);
    f->sub.frame = *f->out;
    AIO_AWAIT_CORO(t, nosuspend, &f->sub);
    *f->out = f->sub.frame;
    AIO_RETURN(t, AIO_ERR(t));
    AIO_END(t);
}

/* Awaiting a done future gives its result at once; awaiting the null handle,
 * a stale handle, another loop's handle or an error handle (NaN or infinite
 * sleep) gives the matching error at once: none of them suspends (the
 * coroutine is entered once and a callback queued before never ran). */
static void coro_await_done_or_bad_handle_does_not_suspend(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_loop *other = test_loop_new(1);
    int entries = 0;
    struct nosuspend res;
    memset(&res, 0, sizeof res);
    res.other = other;
    res.entries = &entries;
    res.h2_done = -1;
    struct nosuspend_outer fr;
    memset(&fr, 0, sizeof fr);
    fr.out = &res;
    aio_value v;
    v.i = -1;
    assert_int_equal(RUN_TASK(loop, nosuspend_outer, &fr, &v), 0);
    assert_int_equal(v.i, 0);
    assert_int_equal(entries, 1);
    assert_int_equal(res.err_done, 0);
    assert_int_equal(res.done_value, 5);
    assert_int_equal(res.err_null, AIO_ENULL);
    assert_int_equal(res.err_stale, AIO_ESTALE);
    assert_int_equal(res.h2_done, 0);
    assert_int_equal(res.err_foreign, AIO_EFOREIGN);
    assert_int_equal(res.err_nan, -EINVAL);
    assert_int_equal(res.err_inf, -EINVAL);
    assert_int_equal(res.flag_at_end, 0);
    close_loop(loop);
    close_loop(other);
}

/* ---- inline children --------------------------------------------------------- */

struct add_child {
    int a, b;
    int *entries;
};

static aio_status add_child(aio_task *t, void *frame) {
    struct add_child *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.1));
    AIO_RETURN(t, f->a + f->b);
    AIO_END(t);
}

struct add_parent {
    int *entries;
    int64_t first;
    AIO_CHILD(struct add_child) sub;
};

static aio_status add_parent(aio_task *t, void *frame) {
    struct add_parent *f = frame;
    AIO_BEGIN(t);
    f->sub.frame.a = 2;
    f->sub.frame.b = 3;
    f->sub.frame.entries = f->entries;
    AIO_AWAIT_CORO(t, add_child, &f->sub);
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    f->first = AIO_RESULT(t).i;
    /* the same child storage again, with new inputs: it starts from scratch */
    f->sub.frame.a = 40;
    f->sub.frame.b = 2;
    AIO_AWAIT_CORO(t, add_child, &f->sub);
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    AIO_RETURN(t, f->first * 1000 + AIO_RESULT(t).i);
    AIO_END(t);
}

/* An inline child returns a value through AIO_RESULT; child storage can be
 * reused for a second call, which starts the child afresh. */
static void coro_child_returns_value(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int entries = 0;
    struct add_parent fr;
    memset(&fr, 0, sizeof fr);
    fr.entries = &entries;
    aio_value v = {0};
    assert_int_equal(RUN_TASK(loop, add_parent, &fr, &v), 0);
    assert_int_equal(v.i, 5 * 1000 + 42);
    assert_int_equal(entries, 4); /* two runs of (start + resume) */
    assert_int_equal(aio_loop_time_ns(loop), 200000000);
    close_loop(loop);
}

struct err_child {
    int err;
};

static aio_status err_child(aio_task *t, void *frame) {
    struct err_child *f = frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    AIO_FAIL(t, f->err);
    AIO_END(t);
}

struct err_parent {
    int seen;
    AIO_CHILD(struct err_child) sub;
};

static aio_status err_parent(aio_task *t, void *frame) {
    struct err_parent *f = frame;
    AIO_BEGIN(t);
    f->sub.frame.err = -EPROTO;
    AIO_AWAIT_CORO(t, err_child, &f->sub);
    f->seen = AIO_ERR(t);
    /* the parent handles the child's error and finishes normally */
    AIO_RETURN(t, f->seen == -EPROTO ? 7 : -1);
    AIO_END(t);
}

/* A child's AIO_FAIL shows up as AIO_ERR in the parent, which may handle it:
 * the task then succeeds and nothing is reported. */
static void coro_child_returns_error(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_value v = {0};
    assert_int_equal(RUN_TASK(loop, err_parent, (&(struct err_parent){0, {0, {0}}}), &v), 0);
    assert_int_equal(v.i, 7);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Three levels: parent -> mid -> leaf. */
struct leaf {
    int fail;
    int *log;
};

static aio_status leaf(aio_task *t, void *frame) {
    struct leaf *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep_value(t, 0.1, 5));
    *f->log = *f->log * 10 + 1;
    if (f->fail)
        AIO_FAIL(t, -EIO);
    AIO_RETURN(t, AIO_RESULT(t));
    AIO_END(t);
}

struct mid {
    int fail;
    int *log;
    int64_t leafv;
    AIO_CHILD(struct leaf) sub;
};

static aio_status mid(aio_task *t, void *frame) {
    struct mid *f = frame;
    AIO_BEGIN(t);
    f->sub.frame.fail = f->fail;
    f->sub.frame.log = f->log;
    AIO_AWAIT_CORO(t, leaf, &f->sub);
    *f->log = *f->log * 10 + 2;
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    f->leafv = AIO_RESULT(t).i;
    AIO_AWAIT(t, aio_sleep(t, 0.1));
    AIO_RETURN(t, f->leafv * 10);
    AIO_END(t);
}

struct top_out {
    int log;
    int err;
    int64_t got;
};

struct top_task {
    struct top_out *out;
    AIO_CHILD(struct mid) sub;
};

static aio_status top_task(aio_task *t, void *frame) {
    struct top_task *f = frame;
    AIO_BEGIN(t);
    f->sub.frame.log = &f->out->log;
    AIO_AWAIT_CORO(t, mid, &f->sub);
    f->out->log = f->out->log * 10 + 3;
    f->out->err = AIO_ERR(t);
    f->out->got = AIO_RESULT(t).i;
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    AIO_RETURN(t, AIO_RESULT(t));
    AIO_END(t);
}

/* Two levels of nesting: the leaf's value reaches mid, mid's the top; every
 * level resumes once, in order, after the leaf's await. */
static void coro_nested_two_levels_value(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct top_out out = {0, 0, 0};
    struct top_task fr;
    memset(&fr, 0, sizeof fr);
    fr.out = &out;
    fr.sub.frame.fail = 0;
    aio_value v = {0};
    assert_int_equal(RUN_TASK(loop, top_task, &fr, &v), 0);
    assert_int_equal(v.i, 50);
    assert_int_equal(out.log, 123);
    assert_int_equal(out.err, 0);
    assert_int_equal(out.got, 50);
    assert_int_equal(aio_loop_time_ns(loop), 200000000);
    close_loop(loop);
}

/* An error from the leaf propagates through mid to the top and the task. */
static void coro_nested_two_levels_error(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct top_out out = {0, 0, 0};
    struct top_task fr;
    memset(&fr, 0, sizeof fr);
    fr.out = &out;
    fr.sub.frame.fail = 1;
    assert_int_equal(RUN_TASK(loop, top_task, &fr, NULL), -EIO);
    assert_int_equal(out.log, 123);
    assert_int_equal(out.err, -EIO);
    assert_int_equal(aio_loop_time_ns(loop), 100000000);
    close_loop(loop);
}

/* ---- cancellation while a child awaits ------------------------------------- */

struct cchild {
    int *log;
    int err;
};

static aio_status cchild(aio_task *t, void *frame) {
    struct cchild *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 10.0));
    f->err = AIO_ERR(t);
    if (f->err == AIO_ECANCELLED) {
        *f->log = *f->log * 10 + 1;
        /* cleanup may await */
        AIO_AWAIT(t, aio_sleep(t, 0.5));
        *f->log = *f->log * 10 + (AIO_ERR(t) == 0 ? 2 : 9);
        AIO_FAIL(t, f->err);
    }
    AIO_RETURN(t, 1);
    AIO_END(t);
}

struct cparent {
    int *log;
    int *parent_err;
    AIO_CHILD(struct cchild) sub;
};

static aio_status cparent(aio_task *t, void *frame) {
    struct cparent *f = frame;
    AIO_BEGIN(t);
    f->sub.frame.log = f->log;
    AIO_AWAIT_CORO(t, cchild, &f->sub);
    *f->parent_err = AIO_ERR(t);
    *f->log = *f->log * 10 + 3;
    /* finishing normally does not undo the cancellation */
    AIO_RETURN(t, 99);
    AIO_END(t);
}

static void cancel_cb(aio_loop *loop, void *arg) {
    aio_future *task = arg;
    assert_int_equal(aio_task_cancel(loop, *task, NULL), 1);
}

/* Cancelling a task while its inline child awaits: the child sees
 * AIO_ECANCELLED, cleans up (awaiting more), fails with it; the parent sees
 * it too; the task ends cancelled although the parent returned a value. */
static void coro_cancel_while_child_awaits(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int log = 0, parent_err = 1;
    struct cparent fr;
    memset(&fr, 0, sizeof fr);
    fr.log = &log;
    fr.parent_err = &parent_err;
    aio_future task = aio_create_task(loop, cparent, &fr);
    assert_int_equal(aio_call_soon(loop, cancel_cb, &task, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(log, 123);
    assert_int_equal(parent_err, AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, task), 1);
    assert_int_equal(aio_loop_time_ns(loop), 500000000); /* cleanup sleep only */
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

/* ---- a finished coroutine is never re-entered --------------------------------- */

struct counted_child {
    int *entries;
};

static aio_status counted_child(aio_task *t, void *frame) {
    struct counted_child *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    AIO_RETURN(t, 3);
    AIO_END(t);
}

struct counted {
    int *entries;
    int *child_entries;
    int i;
    int64_t got;
    AIO_CHILD(struct counted_child) sub;
};

static aio_status counted(aio_task *t, void *frame) {
    struct counted *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    f->sub.frame.entries = f->child_entries;
    AIO_AWAIT_CORO(t, counted_child, &f->sub);
    f->got = AIO_RESULT(t).i;
    /* more suspensions after the child finished: resuming the parent must
     * not run the finished child again */
    for (f->i = 0; f->i < 3; f->i++)
        AIO_YIELD(t);
    AIO_RETURN(t, f->got);
    AIO_END(t);
}

/* Each coroutine runs once per resume and never again after it finished, even
 * as the loop keeps iterating. */
static void coro_finished_never_reentered(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int entries = 0, child_entries = 0;
    struct counted fr;
    memset(&fr, 0, sizeof fr);
    fr.entries = &entries;
    fr.child_entries = &child_entries;
    aio_future task = aio_create_task(loop, counted, &fr);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), &v), 0);
    assert_int_equal(v.i, 3);
    /* parent: start, resume after the child's yield, 3 yields */
    assert_int_equal(entries, 5);
    /* child: start + one resume */
    assert_int_equal(child_entries, 2);
    test_run_iterations(loop, 5);
    assert_int_equal(entries, 5);
    assert_int_equal(child_entries, 2);
    assert_int_equal(aio_future_done(loop, task), 1);
    assert_int_equal(aio_future_result(loop, task, &v), 0);
    assert_int_equal(v.i, 3);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coro_return_without_await),
        cmocka_unit_test(coro_end_gives_none),
        cmocka_unit_test(coro_fail_sets_task_error),
        cmocka_unit_test(coro_frame_survives_awaits_in_loop),
        cmocka_unit_test(coro_two_awaits_one_line),
#if AIO_CORO_LABELS
        cmocka_unit_test(coro_await_inside_switch),
#endif
        cmocka_unit_test(coro_yield_lets_callbacks_run),
        cmocka_unit_test(coro_yield_in_while_loop),
        cmocka_unit_test(coro_await_done_or_bad_handle_does_not_suspend),
        cmocka_unit_test(coro_child_returns_value),
        cmocka_unit_test(coro_child_returns_error),
        cmocka_unit_test(coro_nested_two_levels_value),
        cmocka_unit_test(coro_nested_two_levels_error),
        cmocka_unit_test(coro_cancel_while_child_awaits),
        cmocka_unit_test(coro_finished_never_reentered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
