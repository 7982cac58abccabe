/* Reports (asyncio's exception handler): unretrieved errors of futures and
 * tasks, tasks destroyed while pending, and the cases that must stay quiet. */
#include "support.h"

#include <stdio.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------- */

#define FUT_MSG "Future exception was never retrieved"
#define TASK_MSG "Task exception was never retrieved"
#define PENDING_MSG "Task was destroyed but it is pending"

static int starts_with(const char *s, const char *prefix) {
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A handler that keeps every report, including the future's handle. */
#define MAX_REPORTS 8
struct report_log {
    int count;
    struct {
        char message[128];
        int error;
        uint64_t future;
        char task_name[64];
        int has_name;
    } r[MAX_REPORTS];
};

static void log_report(aio_loop *loop, const aio_report *report, void *arg) {
    (void)loop;
    struct report_log *log = arg;
    if (log->count < MAX_REPORTS) {
        int i = log->count;
        memset(&log->r[i], 0, sizeof log->r[i]);
        snprintf(log->r[i].message, sizeof log->r[i].message, "%s",
                 report->message ? report->message : "(null)");
        log->r[i].error = report->error;
        log->r[i].future = report->future.id;
        log->r[i].has_name = report->task_name != NULL;
        if (report->task_name)
            snprintf(log->r[i].task_name, sizeof log->r[i].task_name, "%s", report->task_name);
    }
    log->count++;
}

static aio_loop *loop_with_log(struct report_log *log) {
    aio_loop *loop = test_loop_new(1);
    memset(log, 0, sizeof *log);
    assert_int_equal(aio_loop_set_exception_handler(loop, log_report, log), 0);
    return loop;
}

struct failing {
    int err;
    double delay;
};

static aio_status failing(aio_task *t, void *frame) {
    struct failing *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->delay));
    AIO_FAIL(t, f->err);
    AIO_END(t);
}

/* ---- DIAG-01 -------------------------------------------------------------- */

/* DIAG-01: a future failed with an error nobody read is reported exactly
 * once, when its last reference is released, with that error and handle. */
static void DIAG_01_future_exception_never_retrieved(void **state) {
    (void)state;
    struct report_log log;
    aio_loop *loop = loop_with_log(&log);
    aio_future f = aio_future_new(loop);
    assert_int_equal(aio_future_set_error(loop, f, -EIO), 0);
    test_run_iterations(loop, 2);
    assert_int_equal(log.count, 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(log.count, 1);
    assert_true(starts_with(log.r[0].message, FUT_MSG));
    assert_int_equal(log.r[0].error, -EIO);
    assert_int_equal(log.r[0].future, f.id);
    assert_int_equal(log.r[0].has_name, 0);
    close_loop(loop);
    assert_int_equal(log.count, 1);
}

/* DIAG-01 with the support helper: message and error as collected there. */
static void DIAG_01_reported_through_support_collector(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future f = aio_future_new(loop);
    assert_int_equal(aio_future_set_error(loop, f, -ENOSPC), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(reps.count, 1);
    assert_non_null(strstr(reps.last_message, "exception was never retrieved"));
    assert_true(starts_with(reps.last_message, FUT_MSG));
    assert_int_equal(reps.last_error, -ENOSPC);
    close_loop(loop);
    assert_int_equal(reps.count, 1);
}

/* DIAG-01: with several references, only the release of the last one
 * reports, and only once. */
static void DIAG_01_reported_once_at_last_release(void **state) {
    (void)state;
    struct report_log log;
    aio_loop *loop = loop_with_log(&log);
    aio_future f = aio_future_new(loop);
    assert_int_equal(aio_future_retain(loop, f).id, f.id);
    assert_int_equal(aio_future_retain(loop, f).id, f.id);
    assert_int_equal(aio_future_set_error(loop, f, -EIO), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(log.count, 0);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(log.count, 1);
    assert_int_equal(aio_future_release(loop, f), AIO_ESTALE);
    close_loop(loop);
    assert_int_equal(log.count, 1);
}

/* DIAG-01: a failed future still referenced when the loop closes is
 * reported by aio_loop_close, once. */
static void DIAG_01_reported_at_close(void **state) {
    (void)state;
    struct report_log log;
    aio_loop *loop = loop_with_log(&log);
    aio_future f = aio_future_new(loop);
    assert_int_equal(aio_future_set_error(loop, f, -EPIPE), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(log.count, 1);
    assert_true(starts_with(log.r[0].message, FUT_MSG));
    assert_int_equal(log.r[0].error, -EPIPE);
    assert_int_equal(aio_loop_close(loop), 0); /* idempotent: no second report */
    assert_int_equal(log.count, 1);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(log.count, 1);
}

/* ---- DIAG-02 -------------------------------------------------------------- */

/* DIAG-02: a task failing (-EDOM after sleep(0.01)) that nobody awaits or
 * inspects is reported as "Task exception was never retrieved" when its
 * handle is released, with its error, handle and name. */
static void DIAG_02_task_exception_never_retrieved(void **state) {
    (void)state;
    struct report_log log;
    aio_loop *loop = loop_with_log(&log);
    aio_future task = aio_create_task(loop, failing, (&(struct failing){-EDOM, 0.01}));
    assert_int_equal(aio_task_set_name(loop, task, "divider"), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    assert_int_equal(aio_future_done(loop, task), 1);
    assert_int_equal(log.count, 0);
    assert_int_equal(aio_future_release(loop, task), 0);
    assert_int_equal(log.count, 1);
    assert_true(starts_with(log.r[0].message, TASK_MSG));
    assert_int_equal(log.r[0].error, -EDOM);
    assert_int_equal(log.r[0].future, task.id);
    assert_int_equal(log.r[0].has_name, 1);
    assert_string_equal(log.r[0].task_name, "divider");
    close_loop(loop);
    assert_int_equal(log.count, 1);
}

/* DIAG-02, fire and forget: the handle was released before the task ran, so
 * the report comes when the task fails (the loop's reference was the last),
 * exactly once. */
static void DIAG_02_fire_and_forget_failure_reported_when_done(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future task = aio_create_task(loop, failing, (&(struct failing){-EDOM, 0.01}));
    assert_int_equal(aio_task_set_name(loop, task, "job-3"), 0);
    assert_int_equal(aio_future_release(loop, task), 0);
    assert_int_equal(reps.count, 0);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    assert_int_equal(reps.count, 1);
    assert_true(starts_with(reps.last_message, TASK_MSG));
    assert_int_equal(reps.last_error, -EDOM);
    assert_string_equal(reps.last_task_name, "job-3");
    close_loop(loop);
    assert_int_equal(reps.count, 1);
}

/* DIAG-02: a failed task whose handle is still held at close is reported by
 * aio_loop_close. */
static void DIAG_02_task_reported_at_close(void **state) {
    (void)state;
    struct report_log log;
    aio_loop *loop = loop_with_log(&log);
    aio_future task = aio_create_task(loop, failing, (&(struct failing){-ERANGE, 0.0}));
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    assert_int_equal(aio_future_done(loop, task), 1);
    assert_int_equal(log.count, 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(log.count, 1);
    assert_true(starts_with(log.r[0].message, TASK_MSG));
    assert_int_equal(log.r[0].error, -ERANGE);
    assert_int_equal(log.r[0].has_name, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- DIAG-03 -------------------------------------------------------------- */

struct awaits_failure {
    aio_future f;
    int *seen;
};

static aio_status awaits_failure(aio_task *t, void *frame) {
    struct awaits_failure *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->f);
    *f->seen = AIO_ERR(t);
    AIO_END(t);
}

/* DIAG-03: nothing is reported for: a pending future released; a result set
 * and never read; a result read; error() called; result() returning the
 * error; a cancelled future never read; a failure retrieved by an await; a
 * failed task whose error aio_run_until_complete returned or error() read. */
static void DIAG_03_no_report_cases(void **state) {
    (void)state;
    struct report_log log;
    aio_loop *loop = loop_with_log(&log);

    aio_future pending = aio_future_new(loop);
    assert_int_equal(aio_future_release(loop, pending), 0);

    aio_future unread = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, unread, AIO_VALUE(1)), 0);
    assert_int_equal(aio_future_release(loop, unread), 0);

    aio_future read = aio_future_new(loop);
    assert_int_equal(aio_future_set_result(loop, read, AIO_VALUE(2)), 0);
    aio_value v = {0};
    assert_int_equal(aio_future_result(loop, read, &v), 0);
    assert_int_equal(v.i, 2);
    assert_int_equal(aio_future_release(loop, read), 0);

    aio_future exc = aio_future_new(loop);
    assert_int_equal(aio_future_set_error(loop, exc, -EIO), 0);
    assert_int_equal(aio_future_error(loop, exc), -EIO);
    assert_int_equal(aio_future_release(loop, exc), 0);

    aio_future res = aio_future_new(loop);
    assert_int_equal(aio_future_set_error(loop, res, -EIO), 0);
    assert_int_equal(aio_future_result(loop, res, NULL), -EIO);
    assert_int_equal(aio_future_release(loop, res), 0);

    aio_future cancelled = aio_future_new(loop);
    assert_int_equal(aio_future_cancel(loop, cancelled, NULL), 1);
    assert_int_equal(aio_future_release(loop, cancelled), 0);

    int seen = 0;
    aio_future awaited = aio_future_new(loop);
    aio_future waiter = aio_create_task(loop, awaits_failure,
                                        (&(struct awaits_failure){aio_future_retain(loop, awaited), &seen}));
    assert_int_equal(aio_future_set_error(loop, awaited, -EBUSY), 0);
    assert_int_equal(aio_future_release(loop, awaited), 0);
    assert_int_equal(aio_run_until_complete(loop, waiter, NULL), 0);
    assert_int_equal(seen, -EBUSY);

    aio_future t1 = aio_create_task(loop, failing, (&(struct failing){-EDOM, 0.01}));
    assert_int_equal(aio_run_until_complete(loop, t1, NULL), -EDOM);

    aio_future t2 = aio_create_task(loop, failing, (&(struct failing){-EDOM, 0.01}));
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, t2), NULL), -EDOM);
    assert_int_equal(aio_future_release(loop, t2), 0);

    aio_future t3 = aio_create_task(loop, failing, (&(struct failing){-EDOM, 0.01}));
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    assert_int_equal(aio_future_error(loop, t3), -EDOM);
    assert_int_equal(aio_future_release(loop, t3), 0);

    /* a cancelled task nobody looks at is not an error either */
    aio_future t4 = aio_create_task(loop, failing, (&(struct failing){-EDOM, 10.0}));
    assert_int_equal(aio_task_cancel(loop, t4, NULL), 1);
    assert_int_equal(aio_future_release(loop, t4), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);

    assert_int_equal(log.count, 0);
    close_loop(loop);
    assert_int_equal(log.count, 0);
}

/* ---- DIAG-05 -------------------------------------------------------------- */

struct stuck {
    aio_future f;
};

static aio_status stuck(aio_task *t, void *frame) {
    struct stuck *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->f); /* the only reference: nobody else can complete it */
    AIO_END(t);
}

/* DIAG-05: a task still pending when the loop closes (it awaits a future
 * only it references) is reported once as "Task was destroyed but it is
 * pending", with its name, and freed; nothing else is reported. */
static void DIAG_05_pending_task_destroyed_at_close(void **state) {
    (void)state;
    struct report_log log;
    aio_loop *loop = loop_with_log(&log);
    aio_future task = aio_create_task(loop, stuck, (&(struct stuck){aio_future_new(loop)}));
    assert_int_equal(aio_task_set_name(loop, task, "stuck-1"), 0);
    uint64_t id = task.id;
    assert_int_equal(aio_future_release(loop, task), 0); /* fire and forget */
    test_run_iterations(loop, 3);
    assert_int_equal(aio_loop_pending_tasks(loop), 1);
    assert_int_equal(log.count, 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(log.count, 1);
    assert_true(starts_with(log.r[0].message, PENDING_MSG));
    assert_int_equal(log.r[0].future, id);
    assert_int_equal(log.r[0].has_name, 1);
    assert_string_equal(log.r[0].task_name, "stuck-1");
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(log.count, 1);
}

/* DIAG-05: a task that never started (created, loop closed without running)
 * is pending too: reported once at close; the caller's handle may still be
 * held. */
static void DIAG_05_unstarted_task_destroyed_at_close(void **state) {
    (void)state;
    struct report_log log;
    aio_loop *loop = loop_with_log(&log);
    aio_future task = aio_create_task(loop, failing, (&(struct failing){-EDOM, 0.0}));
    assert_int_equal(aio_future_check(task), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(log.count, 1);
    assert_true(starts_with(log.r[0].message, PENDING_MSG));
    assert_int_equal(log.r[0].future, task.id);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(log.count, 1);
}

struct deep_child {
    int dummy;
};

static aio_status deep_child(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 100.0));
    AIO_END(t);
}

struct deep_parent {
    AIO_CHILD(struct deep_child) sub;
};

static aio_status deep_parent(aio_task *t, void *frame) {
    struct deep_parent *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT_CORO(t, deep_child, &f->sub);
    AIO_END(t);
}

/* DIAG-05: tasks pending at close while sleeping (one inside an inline
 * child) are each reported once and freed with their timers (checked by
 * ASan / valgrind); a held handle and a released one alike. */
static void DIAG_05_sleeping_tasks_destroyed_at_close(void **state) {
    (void)state;
    struct report_log log;
    aio_loop *loop = loop_with_log(&log);
    aio_future held = aio_create_task(loop, deep_parent, (&(struct deep_parent){{0, {0}}}));
    assert_int_equal(aio_future_release(loop, aio_create_task(loop, deep_child, &(struct deep_child){0})), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL), 0);
    assert_int_equal(aio_future_done(loop, held), 0);
    assert_int_equal(aio_loop_pending_tasks(loop), 2);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(log.count, 2);
    assert_true(starts_with(log.r[0].message, PENDING_MSG));
    assert_true(starts_with(log.r[1].message, PENDING_MSG));
    assert_true(log.r[0].future == held.id || log.r[1].future == held.id);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(log.count, 2);
}

/* ---- the handler itself ------------------------------------------------------- */

/* Setting NULL restores the default handler (reports no longer reach the
 * old one); a NULL loop is -EINVAL. */
static void diag_default_handler_restored(void **state) {
    (void)state;
    struct report_log log;
    aio_loop *loop = loop_with_log(&log);
    assert_int_equal(aio_loop_set_exception_handler(NULL, log_report, &log), -EINVAL);
    assert_int_equal(aio_loop_set_exception_handler(loop, NULL, NULL), 0);
    aio_future f = aio_future_new(loop);
    assert_int_equal(aio_future_set_error(loop, f, -EIO), 0);
    assert_int_equal(aio_future_release(loop, f), 0); /* goes to stderr */
    assert_int_equal(log.count, 0);
    close_loop(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(DIAG_01_future_exception_never_retrieved),
        cmocka_unit_test(DIAG_01_reported_through_support_collector),
        cmocka_unit_test(DIAG_01_reported_once_at_last_release),
        cmocka_unit_test(DIAG_01_reported_at_close),
        cmocka_unit_test(DIAG_02_task_exception_never_retrieved),
        cmocka_unit_test(DIAG_02_fire_and_forget_failure_reported_when_done),
        cmocka_unit_test(DIAG_02_task_reported_at_close),
        cmocka_unit_test(DIAG_03_no_report_cases),
        cmocka_unit_test(DIAG_05_pending_task_destroyed_at_close),
        cmocka_unit_test(DIAG_05_unstarted_task_destroyed_at_close),
        cmocka_unit_test(DIAG_05_sleeping_tasks_destroyed_at_close),
        cmocka_unit_test(diag_default_handler_restored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
