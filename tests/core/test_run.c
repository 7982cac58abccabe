/* aio_run / aio_run_coro (asyncio.run): result and error of main, leftover
 * tasks cancelled and finished, refusal inside a running loop. These loops
 * use the real clock, so every sleep here is a millisecond or less. */
#include "support.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------- */

/* aio_run's loop is not ours, so its reports go to the default handler, which
 * prints to stderr: capture fd 2 to check that nothing was reported. */
struct capture {
    FILE *tmp;
    int saved;
    char text[512];
};

static void capture_begin(struct capture *c) {
    fflush(stderr);
    c->tmp = tmpfile();
    assert_non_null(c->tmp);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->tmp), 2) >= 0);
}

static const char *capture_end(struct capture *c) {
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    rewind(c->tmp);
    size_t n = fread(c->text, 1, sizeof c->text - 1, c->tmp);
    c->text[n] = '\0';
    fclose(c->tmp);
    if (n)
        fprintf(stderr, "captured stderr: %s", c->text);
    return c->text;
}

/* ---- LOOP-09: value and error ---------------------------------------------- */

struct main42 {
    int value;
    int *ran;
};

static aio_status main42(aio_task *t, void *frame) {
    struct main42 *f = frame;
    AIO_BEGIN(t);
    (*f->ran)++;
    AIO_AWAIT(t, aio_sleep(t, 0.001));
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    f->value += 2; /* the task's own copy of the frame */
    AIO_RETURN(t, f->value);
    AIO_END(t);
}

/* LOOP-09: aio_run_coro returns 0 and main's value (42); main works on a
 * copy of the frame, so the caller's struct is unchanged. */
static void LOOP_09_run_returns_value(void **state) {
    (void)state;
    int ran = 0;
    struct main42 fr = {40, &ran};
    aio_value v = {0};
    assert_int_equal(aio_run_coro(main42, &fr, sizeof fr, &v), 0);
    assert_int_equal(v.i, 42);
    assert_int_equal(ran, 1);
    assert_int_equal(fr.value, 40);
    /* aio_run: the same without the result */
    assert_int_equal(aio_run(main42, &fr), 0);
    assert_int_equal(ran, 2);
}

struct main_fail {
    int err;
};

static aio_status main_fail(aio_task *t, void *frame) {
    struct main_fail *f = frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    AIO_FAIL(t, f->err);
    AIO_END(t);
}

/* LOOP-09: main's error (ValueError('spam') -> -EINVAL) is what aio_run
 * returns. */
static void LOOP_09_run_propagates_error(void **state) {
    (void)state;
    aio_value v;
    v.i = 5;
    assert_int_equal(aio_run_coro(main_fail, &(struct main_fail){-EINVAL}, sizeof(struct main_fail), &v),
                     -EINVAL);
    assert_aio_err(aio_run(main_fail, &(struct main_fail){-EPROTO}), -EPROTO);
}

/* ---- LOOP-09: leftover tasks ---------------------------------------------- */

struct leftover {
    int *state; /* 1 started, 2 saw cancellation, 3 cleanup done */
    int cleanup_sleep;
};

static aio_status leftover(aio_task *t, void *frame) {
    struct leftover *f = frame;
    AIO_BEGIN(t);
    *f->state = 1;
    AIO_AWAIT(t, aio_sleep(t, 3600.0));
    if (AIO_ERR(t) == AIO_ECANCELLED) {
        *f->state = 2;
        if (f->cleanup_sleep) {
            AIO_AWAIT(t, aio_sleep(t, 0.001)); /* cleanup that awaits */
            if (AIO_ERR(t) != 0)
                AIO_FAIL(t, AIO_ERR(t));
        }
        *f->state = 3;
        AIO_FAIL(t, AIO_ECANCELLED);
    }
    AIO_RETURN(t, 0);
    AIO_END(t);
}

struct never_started {
    int *entries;
};

static aio_status never_started(aio_task *t, void *frame) {
    struct never_started *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    AIO_END(t);
}

struct main_hanging {
    int *s1, *s2, *entries;
};

static aio_status main_hanging(aio_task *t, void *frame) {
    struct main_hanging *f = frame;
    AIO_BEGIN(t);
    aio_future_release(t, aio_create_task(t, leftover, (&(struct leftover){f->s1, 0})));
    aio_future_release(t, aio_create_task(t, leftover, (&(struct leftover){f->s2, 1})));
    AIO_YIELD(t); /* both leftovers start and go to sleep */
    /* created just before main returns: never gets to run */
    aio_future_release(t, aio_create_task(t, never_started, (&(struct never_started){f->entries})));
    AIO_RETURN(t, 123);
    AIO_END(t);
}

/* LOOP-09: tasks still pending when main returns are cancelled and finished:
 * aio_run returns main's 123, both sleepers saw the cancellation and ran
 * their cleanup to the end (one of them awaiting during cleanup), and a task
 * that had not started yet never ran. */
static void LOOP_09_run_cancels_hanging_tasks(void **state) {
    (void)state;
    int s1 = 0, s2 = 0, entries = 0;
    aio_value v = {0};
    struct capture cap;
    capture_begin(&cap);
    int rc = aio_run_coro(main_hanging, &(struct main_hanging){&s1, &s2, &entries},
                          sizeof(struct main_hanging), &v);
    /* cancelled leftovers are finished, not "destroyed but pending" */
    assert_string_equal(capture_end(&cap), "");
    assert_int_equal(rc, 0);
    assert_int_equal(v.i, 123);
    assert_int_equal(s1, 3);
    assert_int_equal(s2, 3);
    assert_int_equal(entries, 0);
}

struct stubborn {
    int *done;
};

static aio_status stubborn(aio_task *t, void *frame) {
    struct stubborn *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 3600.0));
    if (AIO_ERR(t) == AIO_ECANCELLED)
        aio_task_uncancel(t);
    AIO_AWAIT(t, aio_sleep(t, 0.001));
    *f->done = AIO_ERR(t) == 0 ? 1 : -1;
    AIO_RETURN(t, 1);
    AIO_END(t);
}

struct main_stubborn {
    int *done;
};

static aio_status main_stubborn(aio_task *t, void *frame) {
    struct main_stubborn *f = frame;
    AIO_BEGIN(t);
    aio_future_release(t, aio_create_task(t, stubborn, (&(struct stubborn){f->done})));
    AIO_YIELD(t);
    AIO_RETURN(t, 5);
    AIO_END(t);
}

/* LOOP-09: a leftover task that handles its cancellation (uncancel) and
 * carries on is still let finish before aio_run returns main's value. */
static void LOOP_09_run_finishes_leftover_that_uncancels(void **state) {
    (void)state;
    int done = 0;
    aio_value v = {0};
    assert_int_equal(
        aio_run_coro(main_stubborn, &(struct main_stubborn){&done}, sizeof(struct main_stubborn), &v), 0);
    assert_int_equal(v.i, 5);
    assert_int_equal(done, 1);
}

/* ---- shutdown reports: a leftover that fails while it cleans up ---------- */

enum leftover_kind { FAILS_IN_CLEANUP, CLEANS_UP, NEVER_STARTS };

struct shutdown_child {
    int *entries;
    int fail_with;
};

static aio_status shutdown_child(aio_task *t, void *frame) {
    struct shutdown_child *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 3600.0));
    AIO_AWAIT(t, aio_sleep(t, 0.001)); /* cleanup that awaits */
    if (f->fail_with)
        AIO_FAIL(t, f->fail_with); /* the cleanup fails with an error of its own */
    AIO_FAIL(t, AIO_ECANCELLED);
    AIO_END(t);
}

struct main_shutdown {
    enum leftover_kind kind;
    int keep_reference;
    test_reports *reports;
    int *entries;
    aio_future *kept;
};

static aio_status main_shutdown(aio_task *t, void *frame) {
    struct main_shutdown *f = frame;
    aio_loop *loop = aio_task_loop(t);
    AIO_BEGIN(t);
    test_collect_reports(loop, f->reports);
    *f->kept = aio_create_task(
        t, shutdown_child, (&(struct shutdown_child){f->entries, f->kind == FAILS_IN_CLEANUP ? -EIO : 0}));
    assert_aio_ok(aio_task_set_name(loop, *f->kept, "leftover"));
    if (!f->keep_reference)
        assert_aio_ok(aio_future_release(loop, *f->kept));
    if (f->kind != NEVER_STARTS)
        AIO_YIELD(t); /* it starts and sleeps */
    AIO_RETURN(t, 7);
    AIO_END(t);
}

static void run_shutdown_case(enum leftover_kind kind, int keep_reference, test_reports *r, int *entries) {
    aio_future kept = AIO_FUTURE_NULL;
    aio_value v = {0};
    struct main_shutdown m = {kind, keep_reference, r, entries, &kept};
    assert_aio_ok(aio_run_coro(main_shutdown, &m, sizeof m, &v));
    assert_int_equal(v.i, 7);
}

/* asyncio.run reports a leftover task that fails during its cancellation
 * ("unhandled exception during asyncio.run() shutdown"), once, with the
 * task and the error. So does aio_run, with no reference left to the task
 * (fire and forget)... */
static void run_reports_leftover_failing_in_cleanup_once(void **state) {
    (void)state;
    test_reports r;
    int entries = 0;
    run_shutdown_case(FAILS_IN_CLEANUP, 0, &r, &entries);
    assert_int_equal(entries, 3); /* started, cancelled, cleanup over */
    assert_int_equal(r.count, 1);
    assert_string_equal(r.last_message, "unhandled exception during aio_run() shutdown");
    assert_aio_err(r.last_error, -EIO);
    assert_string_equal(r.last_task_name, "leftover");
}

/* ...and with one still held when the loop closes: the error counts as
 * retrieved by the report, so no "never retrieved" follows. */
static void run_reports_leftover_failing_in_cleanup_once_with_reference_held(void **state) {
    (void)state;
    test_reports r;
    int entries = 0;
    run_shutdown_case(FAILS_IN_CLEANUP, 1, &r, &entries);
    assert_int_equal(r.count, 1);
    assert_string_equal(r.last_message, "unhandled exception during aio_run() shutdown");
    assert_aio_err(r.last_error, -EIO);
    assert_string_equal(r.last_task_name, "leftover");
}

/* A leftover that cleans up and ends cancelled is not reported. */
static void run_no_report_for_leftover_that_cleans_up(void **state) {
    (void)state;
    for (int keep = 0; keep < 2; keep++) {
        test_reports r;
        int entries = 0;
        run_shutdown_case(CLEANS_UP, keep, &r, &entries);
        assert_int_equal(entries, 3); /* started, cancelled, cleanup over */
        assert_int_equal(r.count, 0);
    }
}

/* A leftover that never started ends cancelled without running: no report. */
static void run_no_report_for_leftover_never_started(void **state) {
    (void)state;
    for (int keep = 0; keep < 2; keep++) {
        test_reports r;
        int entries = 0;
        run_shutdown_case(NEVER_STARTS, keep, &r, &entries);
        assert_int_equal(entries, 0);
        assert_int_equal(r.count, 0);
    }
}
/* ---- LOOP-09 / LOOP-06: refusal inside a running loop ------------------------ */

struct nested_run {
    int *inner_ran;
    int rc_run;
    int rc_run_until;
};

struct nested_run_task {
    struct nested_run *out;
};

static aio_status nested_run(aio_task *t, void *frame) {
    struct nested_run_task *f = frame;
    AIO_BEGIN(t);
    f->out->rc_run = aio_run(main42, (&(struct main42){0, f->out->inner_ran}));
    f->out->rc_run_until = aio_run_until_complete(aio_task_loop(t), aio_sleep(t, 0), NULL);
    AIO_YIELD(t);
    AIO_RETURN(t, 0);
    AIO_END(t);
}

/* LOOP-09: aio_run called from a coroutine on a running loop returns
 * AIO_ERUNNING and runs nothing; LOOP-06: so does aio_run_until_complete of
 * the running loop itself. */
static void LOOP_09_run_from_running_loop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int inner_ran = 0;
    struct nested_run out = {&inner_ran, 1, 1};
    struct capture cap;
    capture_begin(&cap);
    int rc = aio_run_until_complete(loop, aio_create_task(loop, nested_run, &(struct nested_run_task){&out}),
                                    NULL);
    const char *printed = capture_end(&cap);
    close_loop(loop);
    assert_int_equal(rc, 0);
    assert_aio_err(out.rc_run, AIO_ERUNNING);
    assert_aio_err(out.rc_run_until, AIO_ERUNNING);
    assert_int_equal(inner_ran, 0);
    assert_string_equal(printed, ""); /* the refused run reports nothing */
}

/* The same from inside aio_run's own main. */
static void LOOP_09_run_from_inside_run(void **state) {
    (void)state;
    int inner_ran = 0;
    struct nested_run out = {&inner_ran, 1, 1};
    struct capture cap;
    capture_begin(&cap);
    int rc = aio_run(nested_run, &(struct nested_run_task){&out});
    const char *printed = capture_end(&cap);
    assert_int_equal(rc, 0);
    assert_aio_err(out.rc_run, AIO_ERUNNING);
    assert_aio_err(out.rc_run_until, AIO_ERUNNING);
    assert_int_equal(inner_ran, 0);
    assert_string_equal(printed, "");
}

struct cb_run {
    int *inner_ran;
    int rc;
};

static void run_in_callback(aio_loop *loop, void *arg) {
    (void)loop;
    struct cb_run *c = arg;
    c->rc = aio_run(main42, (&(struct main42){0, c->inner_ran}));
}

/* aio_run from a plain callback of a running loop: AIO_ERUNNING too. */
static void LOOP_09_run_from_callback(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int inner_ran = 0;
    struct cb_run c = {&inner_ran, 1};
    assert_int_equal(aio_call_soon(loop, run_in_callback, &c, NULL), 0);
    struct capture cap;
    capture_begin(&cap);
    test_run_iterations(loop, 2);
    const char *printed = capture_end(&cap);
    /* once the loop has stopped, aio_run works again from this thread */
    int rc = aio_run(main42, (&(struct main42){0, &inner_ran}));
    close_loop(loop);
    assert_aio_err(c.rc, AIO_ERUNNING);
    assert_int_equal(rc, 0);
    assert_int_equal(inner_ran, 1); /* only the second run ran main */
    assert_string_equal(printed, "");
}

/* ---- more ------------------------------------------------------------------ */

static aio_status noframe(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    AIO_RETURN(t, 9);
    AIO_END(t);
}

/* A NULL function is -EINVAL (nothing runs); a NULL frame with size 0 is
 * allowed; a NULL result pointer is allowed. */
static void run_argument_checks(void **state) {
    (void)state;
    aio_value v;
    v.i = -1;
    assert_aio_err(aio_run_coro(NULL, NULL, 0, &v), -EINVAL);
    assert_int_equal(aio_run_coro(noframe, NULL, 0, &v), 0);
    assert_int_equal(v.i, 9);
    assert_int_equal(aio_run_coro(noframe, NULL, 0, NULL), 0);
}

struct child_val {
    int64_t v;
};

static aio_status child_val(aio_task *t, void *frame) {
    struct child_val *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.0005));
    AIO_RETURN(t, f->v);
    AIO_END(t);
}

struct main_sum {
    aio_future a, b;
    int64_t sum;
    int current_ok;
};

static aio_status main_sum(aio_task *t, void *frame) {
    struct main_sum *f = frame;
    AIO_BEGIN(t);
    f->current_ok = aio_current_task(t).id == aio_task_handle(t).id;
    f->a = aio_create_task(t, child_val, &(struct child_val){42});
    f->b = aio_create_task(t, child_val, &(struct child_val){1000});
    AIO_AWAIT(t, f->a);
    f->sum = AIO_RESULT(t).i;
    AIO_AWAIT(t, f->b);
    f->sum += AIO_RESULT(t).i;
    AIO_RETURN(t, f->sum + (f->current_ok ? 0 : 1000000));
    AIO_END(t);
}

/* TASK-01 under aio_run: main spawns two concurrent tasks and awaits both;
 * aio_current_task inside main is main's own task. Run twice in a row: each
 * aio_run has a loop of its own. */
static void run_main_with_subtasks_twice(void **state) {
    (void)state;
    for (int i = 0; i < 2; i++) {
        struct main_sum fr;
        memset(&fr, 0, sizeof fr);
        aio_value v = {0};
        assert_int_equal(aio_run_coro(main_sum, &fr, sizeof fr, &v), 0);
        assert_int_equal(v.i, 1042);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(LOOP_09_run_returns_value),
        cmocka_unit_test(LOOP_09_run_propagates_error),
        cmocka_unit_test(LOOP_09_run_cancels_hanging_tasks),
        cmocka_unit_test(LOOP_09_run_finishes_leftover_that_uncancels),
        cmocka_unit_test(run_reports_leftover_failing_in_cleanup_once),
        cmocka_unit_test(run_reports_leftover_failing_in_cleanup_once_with_reference_held),
        cmocka_unit_test(run_no_report_for_leftover_that_cleans_up),
        cmocka_unit_test(run_no_report_for_leftover_never_started),
        cmocka_unit_test(LOOP_09_run_from_running_loop),
        cmocka_unit_test(LOOP_09_run_from_inside_run),
        cmocka_unit_test(LOOP_09_run_from_callback),
        cmocka_unit_test(run_argument_checks),
        cmocka_unit_test(run_main_with_subtasks_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
