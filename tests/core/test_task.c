/* Tasks (aio/task.h): creation and outcome, frames, lifetime, the current
 * task, names, several awaiters of one handle, the table of coroutine
 * functions. Cancellation: test_task_cancel.c. */
#include "support.h"

#include <string.h>

/* ---- TASK-01 --------------------------------------------------------------- */

struct ret_value {
    int64_t v;
};

static aio_status ret_value(aio_task *t, void *frame) {
    struct ret_value *f = frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    AIO_RETURN(t, f->v);
    AIO_END(t);
}

struct outer_sum {
    int64_t a;
};

static aio_status outer_sum(aio_task *t, void *frame) {
    struct outer_sum *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_create_task(t, ret_value, &(struct ret_value){42}));
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    f->a = AIO_RESULT(t).i;
    AIO_AWAIT(t, aio_create_task(t, ret_value, &(struct ret_value){1000}));
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    AIO_RETURN(t, f->a + AIO_RESULT(t).i);
    AIO_END(t);
}

/* TASK-01: outer awaits two tasks (42 and 1000) and returns their sum. */
static void TASK_01_task_basics(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_value v = {0};
    aio_future task = aio_create_task(loop, outer_sum, &(struct outer_sum){0});
    assert_int_equal(aio_future_check(task), 0);
    assert_int_equal(aio_future_is_task(loop, task), 1);
    assert_int_equal(aio_future_done(loop, task), 0);
    assert_int_equal(aio_loop_pending_tasks(loop), 1);
    assert_int_equal(aio_run_until_complete(loop, task, &v), 0);
    assert_int_equal(v.i, 1042);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    close_loop(loop);
}

/* ---- TASK-11 --------------------------------------------------------------- */

struct t11_fail {
    int dummy;
};

static aio_status t11_fail(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    AIO_FAIL(t, -EDOM); /* ZeroDivisionError */
    AIO_END(t);
}

struct t11_ko {
    int dummy;
};

static aio_status t11_ko(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    AIO_RETURN(t, 0x6b6f); /* 'ko' */
    AIO_END(t);
}

/* TASK-11: after it ran, a failing task's error() is its error; set_result /
 * set_error on a task give AIO_EISTASK and the task still completes with its
 * own value; creating a task from a NULL function gives -EINVAL. */
static void TASK_11_task_outcome_accessors(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future bad = aio_create_task(loop, t11_fail, &(struct t11_fail){0});
    assert_int_equal(aio_future_error(loop, bad), AIO_ENOTDONE);
    assert_int_equal(aio_future_result(loop, bad, NULL), AIO_ENOTDONE);
    test_run_iterations(loop, 3);
    assert_int_equal(aio_future_done(loop, bad), 1);
    assert_int_equal(aio_future_error(loop, bad), -EDOM);
    assert_int_equal(aio_future_release(loop, bad), 0);

    aio_future ko = aio_create_task(loop, t11_ko, &(struct t11_ko){0});
    assert_int_equal(aio_future_set_result(loop, ko, AIO_VALUE(1)), AIO_EISTASK);
    assert_int_equal(aio_future_set_error(loop, ko, -EIO), AIO_EISTASK);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, ko), &v), 0);
    assert_int_equal(v.i, 0x6b6f);
    assert_int_equal(aio_future_set_result(loop, ko, AIO_VALUE(1)), AIO_EISTASK);
    assert_int_equal(aio_future_release(loop, ko), 0);

    aio_future none = aio_create_task_sized(loop, NULL, NULL, 0);
    assert_int_equal(aio_future_check(none), -EINVAL);
    assert_int_equal(aio_future_done(loop, none), -EINVAL);
    /* a NULL frame with a non-zero size is refused too, not dereferenced */
    assert_int_equal(aio_future_check(aio_create_task_sized(loop, t11_ko, NULL, 16)), -EINVAL);
    /* LOOP-08: no task on a closed loop */
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(aio_future_check(aio_create_task(loop, t11_ko, &(struct t11_ko){0})), AIO_ECLOSED);
    close_loop(loop);
}

/* ---- frames and scale ---------------------------------------------------------- */

struct big_frame {
    char pad;
    long double ld;
    unsigned char bytes[65536];
    int *ok;
};

static aio_status big_frame(aio_task *t, void *frame) {
    struct big_frame *f = frame;
    AIO_BEGIN(t);
    *f->ok = ((uintptr_t)frame % _Alignof(max_align_t)) == 0;
    AIO_YIELD(t);
    for (size_t i = 0; i < sizeof f->bytes; i++)
        if (f->bytes[i] != (unsigned char)(i * 7))
            *f->ok = 0;
    if (f->ld != 1.5L)
        *f->ok = 0;
    AIO_END(t);
}

/* A 64 KiB frame is copied whole and aligned for any type. */
static void task_large_aligned_frame(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    static struct big_frame fr;
    int ok = -1;
    fr.pad = 1;
    fr.ld = 1.5L;
    for (size_t i = 0; i < sizeof fr.bytes; i++)
        fr.bytes[i] = (unsigned char)(i * 7);
    fr.ok = &ok;
    assert_int_equal(aio_run_until_complete(loop, aio_create_task(loop, big_frame, &fr), NULL), 0);
    assert_int_equal(ok, 1);
    close_loop(loop);
}

struct many {
    int i;
    int *done;
};

static aio_status many(aio_task *t, void *frame) {
    struct many *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, (f->i % 10) * 0.001));
    if (f->i % 3 == 0)
        AIO_YIELD(t);
    (*f->done)++;
    AIO_RETURN(t, f->i);
    AIO_END(t);
}

/* Five thousand fire-and-forget tasks all run to completion; slots are
 * reused afterwards without confusing handles. */
/* Task starts keep their place in the ready queue's FIFO: tasks created
 * back to back start together, but a callback queued between two creations
 * runs between the two starts (asyncio: create_task is a call_soon). */
struct order_log {
    char seen[16];
    int n;
};

struct order_task {
    struct order_log *log;
    char tag;
};

static aio_status order_task(aio_task *t, void *frame) {
    struct order_task *f = frame;
    AIO_BEGIN(t);
    f->log->seen[f->log->n++] = f->tag;
    AIO_END(t);
}

static void order_cb(aio_loop *loop, void *arg) {
    (void)loop;
    struct order_log *log = arg;
    log->seen[log->n++] = 'c';
}

static void task_start_order_with_callbacks(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct order_log log = {{0}, 0};
    aio_future a = aio_create_task(loop, order_task, &(struct order_task){&log, 'A'});
    aio_future b = aio_create_task(loop, order_task, &(struct order_task){&log, 'B'});
    assert_int_equal(aio_call_soon(loop, order_cb, &log, NULL), 0);
    aio_future c = aio_create_task(loop, order_task, &(struct order_task){&log, 'C'});
    aio_future d = aio_create_task(loop, order_task, &(struct order_task){&log, 'D'});
    assert_int_equal(aio_call_soon(loop, order_cb, &log, NULL), 0);
    test_run_iterations(loop, 1);
    assert_string_equal(log.seen, "ABcCDc");
    aio_future all[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++)
        assert_int_equal(aio_future_release(loop, all[i]), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

static void task_many_tasks(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int done = 0;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 5000; i++)
            assert_int_equal(
                aio_future_release(loop, aio_create_task(loop, many, (&(struct many){i, &done}))), 0);
        assert_int_equal(aio_loop_pending_tasks(loop), 5000);
        assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
        assert_int_equal(done, 5000 * (round + 1));
        assert_int_equal(aio_loop_pending_tasks(loop), 0);
    }
    aio_value v = {0};
    assert_int_equal(
        aio_run_until_complete(loop, aio_create_task(loop, many, (&(struct many){7, &done})), &v), 0);
    assert_int_equal(v.i, 7);
    close_loop(loop);
}

/* ---- loop stop ------------------------------------------------------------------ */

struct stopper {
    int *stage;
};

static aio_status stopper(aio_task *t, void *frame) {
    struct stopper *f = frame;
    AIO_BEGIN(t);
    *f->stage = 1;
    assert_int_equal(aio_loop_stop(t), 0);
    AIO_YIELD(t);
    *f->stage = 2;
    AIO_AWAIT(t, aio_sleep(t, 0.5));
    *f->stage = 3;
    AIO_RETURN(t, 8);
    AIO_END(t);
}

/* aio_loop_stop from inside a task: aio_run_until_complete returns
 * AIO_ESTOPPED with the task still pending and intact; the next run resumes
 * it where it was and completes it. */
static void task_survives_loop_stop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int stage = 0;
    aio_future task = aio_create_task(loop, stopper, &(struct stopper){&stage});
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ESTOPPED);
    assert_int_equal(stage, 1);
    assert_int_equal(aio_future_done(loop, task), 0);
    aio_value v = {0};
    assert_int_equal(aio_run_until_complete(loop, task, &v), 0);
    assert_int_equal(v.i, 8);
    assert_int_equal(stage, 3);
    assert_int_equal(aio_loop_time_ns(loop), 500000000);
    close_loop(loop);
}

struct counts {
    int *before, *uncancel_none;
};

static aio_status counts(aio_task *t, void *frame) {
    struct counts *f = frame;
    AIO_BEGIN(t);
    *f->before = aio_task_cancelling(t);
    *f->uncancel_none = aio_task_uncancel(t);
    AIO_YIELD(t);
    AIO_END(t);
}

/* aio_task_cancelling is 0 in a task never cancelled, and uncancel with
 * nothing to undo leaves it at 0. */
static void task_cancelling_zero_without_cancel(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int before = -1, none = -1;
    assert_int_equal(
        aio_run_until_complete(loop, aio_create_task(loop, counts, (&(struct counts){&before, &none})), NULL),
        0);
    assert_int_equal(before, 0);
    assert_int_equal(none, 0);
    close_loop(loop);
}

/* ---- lifetime --------------------------------------------------------------- */

struct ff {
    int *done;
};

static aio_status ff(aio_task *t, void *frame) {
    struct ff *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.5));
    AIO_AWAIT(t, aio_sleep(t, 0.5));
    *f->done = 1;
    AIO_END(t);
}

/* Fire and forget: a task whose handle is released at once still runs to
 * completion (the loop keeps it alive), and nothing is reported. */
static void task_fire_and_forget(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    int done = 0;
    assert_int_equal(aio_future_release(loop, aio_create_task(loop, ff, &(struct ff){&done})), 0);
    assert_int_equal(aio_loop_pending_tasks(loop), 1);
    aio_future s = aio_sleep(loop, 2.0);
    assert_int_equal(aio_run_until_complete(loop, s, NULL), 0);
    assert_int_equal(done, 1);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

struct framecopy {
    int value;
    int *seen;
};

static aio_status framecopy(aio_task *t, void *frame) {
    struct framecopy *f = frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    *f->seen = f->value;
    f->value = -1; /* writes to the task's own copy */
    AIO_RETURN(t, 0);
    AIO_END(t);
}

/* aio_create_task copies the frame: changing the caller's struct after the
 * call does not reach the task, and the task's writes do not reach it. */
static void task_frame_is_copied(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int seen = 0;
    struct framecopy fr = {11, &seen};
    aio_future task = aio_create_task(loop, framecopy, &fr);
    fr.value = 22;
    assert_int_equal(aio_run_until_complete(loop, task, NULL), 0);
    assert_int_equal(seen, 11);
    assert_int_equal(fr.value, 22);
    close_loop(loop);
}

/* ---- current task ------------------------------------------------------------ */

struct cur_child {
    int *child_ok;
};

static aio_status cur_child(aio_task *t, void *frame) {
    struct cur_child *f = frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    *f->child_ok = aio_current_task(t).id == aio_task_handle(t).id;
    AIO_END(t);
}

struct cur {
    int *ok;
    int *child_ok;
    uint64_t *id;
    AIO_CHILD(struct cur_child) sub;
};

static aio_status cur(aio_task *t, void *frame) {
    struct cur *f = frame;
    AIO_BEGIN(t);
    *f->id = aio_task_handle(t).id;
    *f->ok = aio_current_task(t).id == aio_task_handle(t).id;
    AIO_AWAIT(t, aio_sleep(t, 0.1));
    *f->ok += aio_current_task(t).id == aio_task_handle(t).id;
    f->sub.frame.child_ok = f->child_ok;
    AIO_AWAIT_CORO(t, cur_child, &f->sub);
    AIO_END(t);
}

static void record_current(aio_loop *loop, void *arg) { *(uint64_t *)arg = aio_current_task(loop).id; }

/* aio_current_task is the running task's own handle inside its coroutine
 * (also in an inline child, after awaits), and the null handle outside any
 * task: before running, in a plain callback, after completion. */
static void task_current_task(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    assert_int_equal(aio_current_task(loop).id, 0);
    assert_int_equal(aio_future_check(aio_current_task(loop)), AIO_ENULL);
    int ok = 0, child_ok = 0;
    uint64_t id = 0, in_cb = 1;
    aio_future task = aio_create_task(loop, cur, (&(struct cur){&ok, &child_ok, &id, {0, {0}}}));
    assert_int_equal(aio_call_soon(loop, record_current, &in_cb, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), 0);
    assert_int_equal(ok, 2);
    assert_int_equal(child_ok, 1);
    assert_int_equal(id, task.id);
    assert_int_equal(in_cb, 0);
    assert_int_equal(aio_current_task(loop).id, 0);
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

/* ---- names, predicates ---------------------------------------------------------- */

/* Task names are copied and read back; plain futures have none (ENOTTASK);
 * aio_future_is_task tells tasks from futures. */
static void task_names_and_is_task(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future task = aio_create_task(loop, test_forever, &(struct test_forever){NULL});
    aio_future fut = aio_future_new(loop);
    assert_null(aio_task_get_name(loop, task));
    char name[16] = "worker-1";
    assert_int_equal(aio_task_set_name(loop, task, name), 0);
    strcpy(name, "clobbered");
    assert_string_equal(aio_task_get_name(loop, task), "worker-1");
    assert_int_equal(aio_task_set_name(loop, task, "worker-2"), 0);
    assert_string_equal(aio_task_get_name(loop, task), "worker-2");
    assert_int_equal(aio_task_set_name(loop, task, NULL), -EINVAL);
    assert_int_equal(aio_task_set_name(loop, fut, "x"), AIO_ENOTTASK);
    assert_null(aio_task_get_name(loop, fut));
    assert_int_equal(aio_future_is_task(loop, task), 1);
    assert_int_equal(aio_future_is_task(loop, fut), 0);
    assert_int_equal(aio_future_is_task(loop, AIO_FUTURE_NULL), AIO_ENULL);
    assert_int_equal(aio_future_cancel(loop, fut, NULL), 1);
    assert_int_equal(aio_future_cancelled(loop, fut), 1);
    assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, task, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_release(loop, fut), 0);
    close_loop(loop);
}

/* ---- several awaiters of one handle --------------------------------------------- */

struct waiter {
    aio_future f;
    int64_t *out;
    int *err;
};

static aio_status waiter(aio_task *t, void *frame) {
    struct waiter *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->f);
    *f->err = AIO_ERR(t);
    *f->out = AIO_RESULT(t).i;
    AIO_END(t);
}

/* Two tasks await the same plain future, each with its own reference taken
 * by aio_future_retain: both get its result, and the creator's reference
 * stays usable afterwards. */
static void task_two_awaiters_of_one_future(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int64_t a = 0, b = 0;
    int ea = 1, eb = 1;
    aio_future fut = aio_future_new(loop);
    aio_future ta = aio_create_task(loop, waiter, (&(struct waiter){aio_future_retain(loop, fut), &a, &ea}));
    aio_future tb = aio_create_task(loop, waiter, (&(struct waiter){aio_future_retain(loop, fut), &b, &eb}));
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_set_result(loop, fut, AIO_VALUE(77)), 0);
    assert_int_equal(aio_run_until_complete(loop, ta, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, tb, NULL), 0);
    assert_int_equal(ea, 0);
    assert_int_equal(eb, 0);
    assert_int_equal(a, 77);
    assert_int_equal(b, 77);
    aio_value v = {0};
    assert_int_equal(aio_future_result(loop, fut, &v), 0);
    assert_int_equal(v.i, 77);
    assert_int_equal(aio_future_release(loop, fut), 0);
    assert_int_equal(aio_future_release(loop, fut), AIO_ESTALE);
    close_loop(loop);
}

/* Two tasks await the same task (each holding a retained reference): both
 * get its value; a failed task's error reaches both. */
static void task_two_awaiters_of_one_task(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int64_t a = 0, b = 0;
    int ea = 1, eb = 1;
    aio_future src = aio_create_task(loop, ret_value, &(struct ret_value){5});
    aio_future ta = aio_create_task(loop, waiter, (&(struct waiter){aio_future_retain(loop, src), &a, &ea}));
    aio_future tb = aio_create_task(loop, waiter, (&(struct waiter){aio_future_retain(loop, src), &b, &eb}));
    assert_int_equal(aio_future_release(loop, src), 0);
    assert_int_equal(aio_run_until_complete(loop, ta, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, tb, NULL), 0);
    assert_int_equal(a, 5);
    assert_int_equal(b, 5);
    assert_int_equal(ea, 0);
    assert_int_equal(eb, 0);

    test_reports reps;
    test_collect_reports(loop, &reps);
    src = aio_create_task(loop, t11_fail, &(struct t11_fail){0});
    ta = aio_create_task(loop, waiter, (&(struct waiter){aio_future_retain(loop, src), &a, &ea}));
    tb = aio_create_task(loop, waiter, (&(struct waiter){aio_future_retain(loop, src), &b, &eb}));
    assert_int_equal(aio_future_release(loop, src), 0);
    assert_int_equal(aio_run_until_complete(loop, ta, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, tb, NULL), 0);
    assert_int_equal(ea, -EDOM);
    assert_int_equal(eb, -EDOM);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 0); /* retrieved by the awaits */
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- bad handles ------------------------------------------------------------------ */

/* A task cannot complete: aio_run_until_complete on a task awaiting a future
 * nobody will complete gives AIO_EDEADLOCK instead of hanging; the task is
 * then still pending and is cancelled by the test. */
static void task_deadlock_detected(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int err = 1;
    aio_future fut = aio_future_new(loop);
    aio_future task =
        aio_create_task(loop, test_await_fut, (&(struct test_await_fut){aio_future_retain(loop, fut), &err}));
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_EDEADLOCK);
    assert_int_equal(aio_future_done(loop, task), 0);
    assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, task, NULL), AIO_ECANCELLED);
    assert_int_equal(err, AIO_ECANCELLED);
    assert_int_equal(aio_future_release(loop, fut), 0);
    close_loop(loop);
}

/* Task operations on bad handles return the handle's error code. */
static void task_bad_handles(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_loop *other = test_loop_new(1);
    aio_future foreign = aio_create_task(other, test_forever, &(struct test_forever){NULL});
    assert_int_equal(aio_task_cancel(loop, AIO_FUTURE_NULL, NULL), AIO_ENULL);
    assert_int_equal(aio_task_cancel(loop, foreign, NULL), AIO_EFOREIGN);
    assert_int_equal(aio_task_set_name(loop, foreign, "x"), AIO_EFOREIGN);
    assert_int_equal(aio_run_until_complete(loop, foreign, NULL), AIO_EFOREIGN);
    assert_int_equal(aio_future_done(other, foreign), 0); /* untouched */
    aio_future done = aio_create_task(loop, ret_value, &(struct ret_value){1});
    assert_int_equal(aio_run_until_complete(loop, done, NULL), 0); /* consumed: now stale */
    assert_int_equal(aio_task_cancel(loop, done, NULL), AIO_ESTALE);
    assert_int_equal(aio_future_is_task(loop, done), AIO_ESTALE);
    assert_int_equal(aio_task_cancel(other, foreign, NULL), 1);
    assert_int_equal(aio_run_until_complete(other, foreign, NULL), AIO_ECANCELLED);
    close_loop(loop);
    close_loop(other);
}

/* ---- yielding tasks share a ready entry, in order ---- */

typedef struct yield_log {
    char s[32];
    int n;
} yield_log;

static void log_x(aio_loop *loop, void *arg) {
    (void)loop;
    yield_log *l = arg;
    l->s[l->n++] = 'X';
}

struct yielder {
    yield_log *log;
    char name;
    int soon; /* queue log_x just before yielding */
};

static aio_status yielder(aio_task *t, void *frame) {
    struct yielder *f = frame;
    AIO_BEGIN(t);
    f->log->s[f->log->n++] = f->name;
    if (f->soon)
        aio_call_soon(t, log_x, f->log, NULL);
    AIO_YIELD(t);
    f->log->s[f->log->n++] = (char)(f->name - 'a' + 'A');
    AIO_RETURN(t, AIO_ERR(t) == 0 && AIO_RESULT(t).u == 0);
    AIO_END(t);
}

/* Three tasks yield in one iteration, the first after queueing a callback:
 * the next iteration runs the callback, then the three resumptions in order
 * (sharing one ready entry), each seeing status 0 and no result. */
static void task_yields_batched_in_order(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    yield_log l = {0};
    aio_future ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = aio_create_task(loop, yielder, (&(struct yielder){&l, (char)('a' + i), i == 0}));
    test_run_iterations(loop, 1);
    assert_string_equal(l.s, "abc");
    aio_loop_stats before, after;
    assert_int_equal(aio_loop_get_stats(loop, &before), 0);
    test_run_iterations(loop, 1);
    assert_int_equal(aio_loop_get_stats(loop, &after), 0);
    assert_string_equal(l.s, "abcXABC");
    assert_int_equal(after.callbacks - before.callbacks, 1 + 2); /* stop chain, X, one batch */
    for (int i = 0; i < 3; i++) {
        aio_value v;
        assert_int_equal(aio_run_until_complete(loop, ts[i], &v), 0);
        assert_int_equal(v.i, 1);
    }
    close_loop(loop);
}

/* ---- the loop's table of coroutine functions (a task stores an index) ---- */

/* 40 distinct coroutine functions, each returning its own number plus the
 * frame's value after one yield (so each is resumed through the table). */
#define NUMBERED_CORO(n)                                                                                     \
    static aio_status numbered_##n(aio_task *t, void *frame) {                                               \
        int64_t base = *(int64_t *)frame;                                                                    \
        AIO_BEGIN(t);                                                                                        \
        AIO_YIELD(t);                                                                                        \
        AIO_RETURN(t, base + n);                                                                             \
        AIO_END(t);                                                                                          \
    }
/* clang-format off */
#define NUMBERED_10(d)                                                                                       \
    NUMBERED_CORO(d##0) NUMBERED_CORO(d##1) NUMBERED_CORO(d##2) NUMBERED_CORO(d##3) NUMBERED_CORO(d##4)      \
    NUMBERED_CORO(d##5) NUMBERED_CORO(d##6) NUMBERED_CORO(d##7) NUMBERED_CORO(d##8) NUMBERED_CORO(d##9)
NUMBERED_CORO(0) NUMBERED_CORO(1) NUMBERED_CORO(2) NUMBERED_CORO(3) NUMBERED_CORO(4)
NUMBERED_CORO(5) NUMBERED_CORO(6) NUMBERED_CORO(7) NUMBERED_CORO(8) NUMBERED_CORO(9)
NUMBERED_10(1) NUMBERED_10(2) NUMBERED_10(3)
#define NUMBERED_REF(n) numbered_##n
static const aio_coro_fn numbered[40] = {
    NUMBERED_REF(0),  NUMBERED_REF(1),  NUMBERED_REF(2),  NUMBERED_REF(3),  NUMBERED_REF(4),
    NUMBERED_REF(5),  NUMBERED_REF(6),  NUMBERED_REF(7),  NUMBERED_REF(8),  NUMBERED_REF(9),
    NUMBERED_REF(10), NUMBERED_REF(11), NUMBERED_REF(12), NUMBERED_REF(13), NUMBERED_REF(14),
    NUMBERED_REF(15), NUMBERED_REF(16), NUMBERED_REF(17), NUMBERED_REF(18), NUMBERED_REF(19),
    NUMBERED_REF(20), NUMBERED_REF(21), NUMBERED_REF(22), NUMBERED_REF(23), NUMBERED_REF(24),
    NUMBERED_REF(25), NUMBERED_REF(26), NUMBERED_REF(27), NUMBERED_REF(28), NUMBERED_REF(29),
    NUMBERED_REF(30), NUMBERED_REF(31), NUMBERED_REF(32), NUMBERED_REF(33), NUMBERED_REF(34),
    NUMBERED_REF(35), NUMBERED_REF(36), NUMBERED_REF(37), NUMBERED_REF(38), NUMBERED_REF(39),
};
/* clang-format on */

/* Tasks of 40 different coroutines, spawned in a scrambled order that
 * revisits each one (the table grows and rehashes on the way), on two
 * loops at once: every task runs its own coroutine on its own frame. */
static void task_many_coroutine_functions(void **state) {
    (void)state;
    aio_loop *loops[2] = {test_loop_new(0), test_loop_new(0)};
    enum { PER_LOOP = 200 };
    aio_future tasks[2][PER_LOOP];
    int which[PER_LOOP];
    for (int i = 0; i < PER_LOOP; i++) {
        which[i] = (i * 7 + i / 40) % 40;
        for (int l = 0; l < 2; l++) {
            int64_t base = 1000 * (l + 1) + 100 * (int64_t)i;
            tasks[l][i] = aio_create_task(loops[l], numbered[l ? 39 - which[i] : which[i]], &base);
            assert_true(aio_future_check(tasks[l][i]) == 0);
        }
    }
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < PER_LOOP; i++) {
            aio_value v;
            assert_int_equal(aio_run_until_complete(loops[l], tasks[l][i], &v), 0);
            int n = l ? 39 - which[i] : which[i];
            assert_int_equal(v.i, 1000 * (l + 1) + 100 * (int64_t)i + n);
        }
    close_loop(loops[0]);
    close_loop(loops[1]);
}

struct first_look {
    int *err;
    int64_t *result;
};

static aio_status first_look(aio_task *t, void *frame) {
    struct first_look *f = frame;
    AIO_BEGIN(t);
    *f->err = AIO_ERR(t);
    *f->result = AIO_RESULT(t).i;
    AIO_END(t);
}

/* Before its first await a task reads status 0 and a zero result (the
 * bytes of the result double as the start queue's link until it runs). */
static void task_starts_with_zero_outcome(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int errs[3] = {-1, -1, -1};
    int64_t results[3] = {-1, -1, -1};
    aio_future ts[3];
    for (int i = 0; i < 3; i++) /* one start batch: each links to the next */
        ts[i] = aio_create_task(loop, first_look, (&(struct first_look){&errs[i], &results[i]}));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(aio_run_until_complete(loop, ts[i], NULL), 0);
        assert_int_equal(errs[i], 0);
        assert_int_equal(results[i], 0);
    }
    close_loop(loop);
}

/* ---- outcomes and loops are the running task's ------------------------------ */

struct own_outcome {
    int *seen; /* int[5], the test's */
};

static aio_status outcome_a(aio_task *t, void *frame) {
    struct own_outcome *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, (aio_future){0}); /* fails at once: AIO_ENULL */
    f->seen[0] = AIO_ERR(t);
    AIO_YIELD(t); /* task b starts meanwhile */
    f->seen[1] = AIO_ERR(t);
    AIO_AWAIT(t, (aio_future){0});
    AIO_AWAIT(t, aio_sleep(t, 0)); /* resumes from its own queue entry */
    f->seen[2] = AIO_ERR(t);
    AIO_END(t);
}

static aio_status outcome_b(aio_task *t, void *frame) {
    struct own_outcome *f = frame;
    AIO_BEGIN(t);
    f->seen[3] = AIO_ERR(t); /* a started task reads 0, whatever ran before */
    AIO_AWAIT(t, (aio_future){0});
    AIO_YIELD(t);
    f->seen[4] = AIO_ERR(t);
    AIO_END(t);
}

/* AIO_ERR is kept by the loop for the coroutine running now: one task's
 * failed await never shows in another task, nor after its own yield or
 * sleep(0). */
static void task_outcome_is_per_task(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int seen[5] = {9, 9, 9, 9, 9};
    struct own_outcome o = {seen};
    aio_future a = aio_create_task(loop, outcome_a, &o);
    aio_future b = aio_create_task(loop, outcome_b, &o);
    assert_int_equal(aio_run_until_complete(loop, a, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, b, NULL), 0);
    assert_int_equal(seen[0], AIO_ENULL);
    assert_int_equal(seen[1], 0);
    assert_int_equal(seen[2], 0);
    assert_int_equal(seen[3], 0);
    assert_int_equal(seen[4], 0);
    close_loop(loop);
}

static aio_task *stashed; /* a suspended task, seen from outside its coroutine */

static aio_status stash_self(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    stashed = t;
    AIO_AWAIT(t, aio_sleep(t, 1.0));
    AIO_END(t);
}

struct seen_outside {
    aio_loop *loop;
    uint64_t handle;
};

static void look_from_callback(aio_loop *loop, void *arg) {
    struct seen_outside *s = arg;
    s->loop = aio_task_loop(stashed);
    s->handle = aio_task_handle(stashed).id;
    (void)loop;
}

/* A task pointer is for its coroutine: outside any run it has no loop and
 * no handle (-EINVAL); inside its loop's run (a callback while it waits)
 * both are its own. */
static void task_pointer_outside_its_coroutine(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future task = aio_create_task(loop, stash_self, &(int){0});
    test_run_iterations(loop, 2); /* it waits in its sleep */
    assert_non_null(stashed);
    assert_null(aio_task_loop(stashed));
    assert_int_equal(aio_future_check(aio_task_handle(stashed)), -EINVAL);
    assert_int_equal(aio_future_check(aio_task_handle(NULL)), -EINVAL);
    struct seen_outside s = {NULL, 0};
    assert_int_equal(aio_call_soon(loop, look_from_callback, &s, NULL), 0);
    test_run_iterations(loop, 1);
    assert_ptr_equal(s.loop, loop);
    assert_int_equal(s.handle, task.id);
    assert_int_equal(aio_run_until_complete(loop, task, NULL), 0);
    stashed = NULL;
    close_loop(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(TASK_01_task_basics),
        cmocka_unit_test(TASK_11_task_outcome_accessors),
        cmocka_unit_test(task_large_aligned_frame),
        cmocka_unit_test(task_many_tasks),
        cmocka_unit_test(task_start_order_with_callbacks),
        cmocka_unit_test(task_survives_loop_stop),
        cmocka_unit_test(task_cancelling_zero_without_cancel),
        cmocka_unit_test(task_fire_and_forget),
        cmocka_unit_test(task_frame_is_copied),
        cmocka_unit_test(task_current_task),
        cmocka_unit_test(task_names_and_is_task),
        cmocka_unit_test(task_two_awaiters_of_one_future),
        cmocka_unit_test(task_two_awaiters_of_one_task),
        cmocka_unit_test(task_deadlock_detected),
        cmocka_unit_test(task_bad_handles),
        cmocka_unit_test(task_yields_batched_in_order),
        cmocka_unit_test(task_many_coroutine_functions),
        cmocka_unit_test(task_starts_with_zero_outcome),
        cmocka_unit_test(task_outcome_is_per_task),
        cmocka_unit_test(task_pointer_outside_its_coroutine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
