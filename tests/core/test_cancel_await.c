/* A cancel that is pending when a task awaits (it was requested while the
 * task ran): the await cancels what it awaits and then waits for it, as a
 * cancel arriving while suspended does (asyncio, bpo-34872). And a cancel
 * the coroutine handles (AIO_CANCEL_HANDLED): the task finishes with what it
 * returns. All on the virtual clock. */
#include "support.h"

#include <string.h>

/* ---- the awaited child: blocks, handles the cancel, cleans up slowly ---- */

enum block_on { ON_FUTURE, ON_SLEEP };

struct child {
    enum block_on on;
    aio_future blocker; /* ON_FUTURE: a pending future (the child's reference) */
    int handles;        /* 1: return 5 after the cleanup; 0: end cancelled */
    int *cleanup_done;
};

static aio_status child(aio_task *t, void *frame) {
    struct child *f = frame;
    AIO_BEGIN(t);
    if (f->on == ON_FUTURE)
        AIO_AWAIT(t, f->blocker);
    else
        AIO_AWAIT(t, aio_sleep(t, 100.0));
    if (AIO_ERR(t) != AIO_ECANCELLED)
        AIO_FAIL(t, -EPROTO);        /* only a cancel may end the wait */
    AIO_AWAIT(t, aio_sleep(t, 0.5)); /* a cleanup that takes time */
    *f->cleanup_done = 1;
    if (f->handles) {
        aio_task_uncancel(t);
        AIO_RETURN(t, 5);
    }
    AIO_FAIL(t, AIO_ECANCELLED);
    AIO_END(t);
}

/* The outer task starts the child, lets it block, cancels itself while
 * running, then awaits the child. */
struct outer {
    struct child c;
    aio_future kid;
};

static aio_status outer(aio_task *t, void *frame) {
    struct outer *f = frame;
    AIO_BEGIN(t);
    f->kid = aio_create_task(t, child, &f->c);
    AIO_YIELD(t); /* the child starts and blocks */
    AIO_YIELD(t);
    assert_int_equal(aio_task_cancel(aio_task_loop(t), aio_task_handle(t), "stop"), 1);
    AIO_AWAIT(t, f->kid);
    AIO_RETURN(t, AIO_RESULT(t).i); /* cancelling is 1: ends cancelled (libaio's rule) */
    AIO_END(t);
}

/* The outer ends cancelled (it was cancelled, and returned without handling
 * it), but only after the child finished its cleanup, whether the child
 * handles the cancel or not. */
static void run_outer(enum block_on on, int handles) {
    aio_loop *loop = test_loop_new(1);
    int cleanup_done = 0;
    struct outer o = {{on, AIO_FUTURE_NULL, handles, &cleanup_done}, AIO_FUTURE_NULL};
    aio_future blocker = AIO_FUTURE_NULL;
    if (on == ON_FUTURE) {
        blocker = aio_future_new(loop);
        o.c.blocker = aio_future_retain(loop, blocker);
    }
    aio_future task = aio_create_task(loop, outer, &o);
    assert_aio_err(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(cleanup_done, 1);
    assert_int_equal(aio_loop_time_ns(loop), 500000000);
    assert_int_equal(aio_future_cancelled(loop, task), 1);
    assert_string_equal(aio_future_cancel_message(loop, task), "stop");
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    if (on == ON_FUTURE) {
        assert_int_equal(aio_future_cancelled(loop, blocker), 1); /* the cancel reached it */
        assert_int_equal(aio_future_release(loop, blocker), 0);
    }
    assert_int_equal(aio_future_release(loop, task), 0);
    close_loop(loop);
}

static void pending_cancel_waits_for_awaited_task_blocked_on_future(void **state) {
    (void)state;
    run_outer(ON_FUTURE, 1);
    run_outer(ON_FUTURE, 0);
}

static void pending_cancel_waits_for_awaited_task_blocked_on_sleep(void **state) {
    (void)state;
    run_outer(ON_SLEEP, 1);
    run_outer(ON_SLEEP, 0);
}

/* ---- what the outer's await gives: the child's outcome ---- */

struct seen {
    int err;
    int64_t result;
    int64_t resumed_ns;
    int cleanup_done;
};

struct outer_report {
    struct child c;
    struct seen *seen;
    int handle_after; /* aio_task_uncancel after the await */
    aio_future kid;
};

static aio_status outer_report(aio_task *t, void *frame) {
    struct outer_report *f = frame;
    AIO_BEGIN(t);
    f->kid = aio_create_task(t, child, &f->c);
    AIO_YIELD(t);
    AIO_YIELD(t);
    aio_task_cancel(aio_task_loop(t), aio_task_handle(t), NULL);
    AIO_AWAIT(t, f->kid);
    f->seen->err = AIO_ERR(t);
    f->seen->result = AIO_RESULT(t).i;
    f->seen->resumed_ns = aio_loop_time_ns(aio_task_loop(t));
    f->seen->cleanup_done = *f->c.cleanup_done;
    if (f->handle_after)
        aio_task_uncancel(t); /* the child swallowed the cancel: so do we */
    AIO_RETURN(t, f->seen->result);
    AIO_END(t);
}

/* The child catches the cancel and returns 5: the outer's await sees 5,
 * after the child's 0.5 s cleanup; an outer that then uncancels ends with 5
 * (asyncio's outcome), one that does not ends cancelled. */
static void pending_cancel_await_sees_child_result_5(void **state) {
    (void)state;
    for (int handle_after = 0; handle_after < 2; handle_after++) {
        aio_loop *loop = test_loop_new(1);
        int cleanup_done = 0;
        struct seen seen = {1, -1, -1, 0};
        struct outer_report o = {
            {ON_SLEEP, AIO_FUTURE_NULL, 1, &cleanup_done}, &seen, handle_after, AIO_FUTURE_NULL};
        aio_value v = {0};
        int rc = aio_run_until_complete(loop, aio_create_task(loop, outer_report, &o), &v);
        assert_aio_ok(seen.err);
        assert_int_equal(seen.result, 5);
        assert_int_equal(seen.resumed_ns, 500000000);
        assert_int_equal(seen.cleanup_done, 1);
        if (handle_after) {
            assert_aio_ok(rc);
            assert_int_equal(v.i, 5);
        } else {
            assert_aio_err(rc, AIO_ECANCELLED);
        }
        close_loop(loop);
    }
}

/* A child that does not handle it: the outer sees AIO_ECANCELLED, but only
 * once the child's cleanup is over. */
static void pending_cancel_await_sees_child_cancelled_after_cleanup(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int cleanup_done = 0;
    struct seen seen = {1, -1, -1, 0};
    struct outer_report o = {{ON_FUTURE, AIO_FUTURE_NULL, 0, &cleanup_done}, &seen, 0, AIO_FUTURE_NULL};
    aio_future blocker = aio_future_new(loop);
    o.c.blocker = aio_future_retain(loop, blocker);
    assert_aio_err(aio_run_until_complete(loop, aio_create_task(loop, outer_report, &o), NULL),
                   AIO_ECANCELLED);
    assert_aio_err(seen.err, AIO_ECANCELLED);
    assert_int_equal(seen.resumed_ns, 500000000);
    assert_int_equal(seen.cleanup_done, 1);
    assert_int_equal(aio_future_cancelled(loop, blocker), 1);
    assert_int_equal(aio_future_release(loop, blocker), 0);
    close_loop(loop);
}

/* ---- the pending cancel and a plain future, a sleep, a done future, a yield ---- */

enum direct { D_FUTURE, D_SLEEP, D_DONE, D_SLEEP0 };

struct direct_await {
    enum direct what;
    aio_future fut; /* D_FUTURE / D_DONE: the test's future */
    struct seen *first, *second;
};

static aio_status direct_await(aio_task *t, void *frame) {
    struct direct_await *f = frame;
    AIO_BEGIN(t);
    aio_task_cancel(aio_task_loop(t), aio_task_handle(t), "self");
    if (f->what == D_SLEEP)
        AIO_AWAIT(t, aio_sleep(t, 10.0));
    else if (f->what == D_SLEEP0)
        AIO_AWAIT(t, aio_sleep(t, 0));
    else
        AIO_AWAIT(t, f->fut);
    f->first->err = AIO_ERR(t);
    f->first->result = AIO_RESULT(t).i;
    f->first->resumed_ns = aio_loop_time_ns(aio_task_loop(t));
    AIO_AWAIT(t, aio_sleep(t, 1.0));
    f->second->err = AIO_ERR(t);
    f->second->resumed_ns = aio_loop_time_ns(aio_task_loop(t));
    AIO_END(t);
}

static void run_direct(enum direct what, struct seen *first, struct seen *second, aio_future *fut_out,
                       aio_loop **loop_out) {
    aio_loop *loop = test_loop_new(1);
    aio_future fut = aio_future_new(loop);
    if (what == D_DONE)
        assert_aio_ok(aio_future_set_result(loop, fut, AIO_VALUE(7)));
    struct direct_await d = {what, aio_future_retain(loop, fut), first, second};
    if (what == D_SLEEP || what == D_SLEEP0)
        assert_aio_ok(aio_future_release(loop, d.fut));
    assert_aio_err(aio_run_until_complete(loop, aio_create_task(loop, direct_await, &d), NULL),
                   AIO_ECANCELLED);
    *fut_out = fut;
    *loop_out = loop;
}

/* A plain future is cancelled by the pending cancel, so the await ends at
 * once, cancelled, with the message. */
static void pending_cancel_cancels_awaited_plain_future(void **state) {
    (void)state;
    struct seen first = {1, -1, -1, 0}, second = {1, -1, -1, 0};
    aio_future fut;
    aio_loop *loop;
    run_direct(D_FUTURE, &first, &second, &fut, &loop);
    assert_aio_err(first.err, AIO_ECANCELLED);
    assert_int_equal(first.resumed_ns, 0);
    assert_int_equal(aio_future_cancelled(loop, fut), 1);
    assert_string_equal(aio_future_cancel_message(loop, fut), "self");
    assert_aio_ok(second.err); /* delivered once: the next await is normal */
    assert_int_equal(second.resumed_ns, 1000000000);
    assert_aio_ok(aio_future_release(loop, fut));
    close_loop(loop);
}

/* A sleep: its timer goes at once, the await ends cancelled at time 0. */
static void pending_cancel_cancels_awaited_sleep(void **state) {
    (void)state;
    struct seen first = {1, -1, -1, 0}, second = {1, -1, -1, 0};
    aio_future fut;
    aio_loop *loop;
    run_direct(D_SLEEP, &first, &second, &fut, &loop);
    assert_aio_err(first.err, AIO_ECANCELLED);
    assert_int_equal(first.resumed_ns, 0);
    assert_aio_ok(second.err);
    assert_int_equal(second.resumed_ns, 1000000000);
    aio_loop_stats st;
    assert_aio_ok(aio_loop_get_stats(loop, &st));
    assert_int_equal(st.timers, 0);
    assert_aio_ok(aio_future_release(loop, fut));
    close_loop(loop);
}

/* A future already done does not suspend: the await gives its result (7),
 * and the cancel stays pending until the next await that suspends. */
static void pending_cancel_kept_over_await_of_done_future(void **state) {
    (void)state;
    struct seen first = {1, -1, -1, 0}, second = {1, -1, -1, 0};
    aio_future fut;
    aio_loop *loop;
    run_direct(D_DONE, &first, &second, &fut, &loop);
    assert_aio_ok(first.err);
    assert_int_equal(first.result, 7);
    assert_aio_err(second.err, AIO_ECANCELLED);
    assert_int_equal(second.resumed_ns, 0); /* the 1 s sleep was cancelled */
    assert_aio_ok(aio_future_release(loop, fut));
    close_loop(loop);
}

/* sleep(0) yields once; the pending cancel lands when it resumes. */
static void pending_cancel_lands_after_sleep_zero(void **state) {
    (void)state;
    struct seen first = {1, -1, -1, 0}, second = {1, -1, -1, 0};
    aio_future fut;
    aio_loop *loop;
    run_direct(D_SLEEP0, &first, &second, &fut, &loop);
    assert_aio_err(first.err, AIO_ECANCELLED);
    assert_aio_ok(second.err);
    assert_int_equal(second.resumed_ns, 1000000000);
    assert_aio_ok(aio_future_release(loop, fut));
    close_loop(loop);
}

/* ---- AIO_CANCEL_HANDLED ---- */

struct handled_out {
    int handled;    /* what AIO_CANCEL_HANDLED returned at the first await */
    int cancelling; /* aio_task_cancelling after it */
};

struct handler {
    int use_macro;
    struct handled_out *out;
};

static aio_status handler(aio_task *t, void *frame) {
    struct handler *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 10.0));
    if (f->use_macro) {
        f->out->handled = AIO_CANCEL_HANDLED(t);
        f->out->cancelling = aio_task_cancelling(t);
        if (f->out->handled)
            AIO_RETURN(t, 42);
    } else if (AIO_ERR(t) == AIO_ECANCELLED) {
        AIO_RETURN(t, 42); /* a literal port of `except CancelledError: return 42` */
    }
    AIO_RETURN(t, 1);
    AIO_END(t);
}

static void cancel_cb(aio_loop *loop, void *arg) { aio_task_cancel(loop, *(aio_future *)arg, NULL); }

/* `except CancelledError: return 42`: with AIO_CANCEL_HANDLED the task ends
 * with 42; without it (the literal port) it ends cancelled. */
static void cancel_handled_task_returns_value(void **state) {
    (void)state;
    for (int use_macro = 0; use_macro < 2; use_macro++) {
        aio_loop *loop = test_loop_new(1);
        struct handled_out out = {-1, -1};
        aio_future task = aio_create_task(loop, handler, &(struct handler){use_macro, &out});
        assert_aio_ok(aio_call_later(loop, 0.5, cancel_cb, &task, NULL));
        aio_value v = {0};
        int rc = aio_run_until_complete(loop, aio_future_retain(loop, task), &v);
        if (use_macro) {
            assert_aio_ok(rc);
            assert_int_equal(v.i, 42);
            assert_int_equal(out.handled, 1);
            assert_int_equal(out.cancelling, 0);
            assert_int_equal(aio_future_cancelled(loop, task), 0);
        } else {
            assert_aio_err(rc, AIO_ECANCELLED);
            assert_int_equal(aio_future_cancelled(loop, task), 1);
        }
        assert_int_equal(aio_loop_time_ns(loop), 500000000);
        assert_aio_ok(aio_future_release(loop, task));
        close_loop(loop);
    }
}

/* Two requests delivered at one await (asyncio: one CancelledError) are
 * both handled. */
static void cancel_handled_undoes_every_delivered_request(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct handled_out out = {-1, -1};
    aio_future task = aio_create_task(loop, handler, &(struct handler){1, &out});
    test_run_iterations(loop, 2);
    assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    aio_value v = {0};
    assert_aio_ok(aio_run_until_complete(loop, aio_future_retain(loop, task), &v));
    assert_int_equal(out.handled, 1);
    assert_int_equal(out.cancelling, 0);
    assert_int_equal(v.i, 42);
    assert_aio_ok(aio_future_release(loop, task));
    close_loop(loop);
}

struct not_cancelled {
    struct handled_out *out;
};

static aio_status not_cancelled(aio_task *t, void *frame) {
    struct not_cancelled *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.1));
    f->out->handled = AIO_CANCEL_HANDLED(t);
    AIO_AWAIT(t, aio_sleep(t, 0.1)); /* cancelled here, after the check */
    f->out->cancelling = aio_task_cancelling(t);
    AIO_RETURN(t, 3);
    AIO_END(t);
}

/* False after an await that was not cancelled, and a later cancel is not
 * undone by it: the task still ends cancelled. */
static void cancel_handled_false_without_cancel(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct handled_out out = {-1, -1};
    aio_future task = aio_create_task(loop, not_cancelled, &(struct not_cancelled){&out});
    assert_aio_ok(aio_call_later(loop, 0.15, cancel_cb, &task, NULL));
    assert_aio_err(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(out.handled, 0);
    assert_int_equal(out.cancelling, 1);
    assert_aio_ok(aio_future_release(loop, task));
    close_loop(loop);
}

/* Outside a coroutine (no loop running) it is false. */
static void cancel_handled_outside_coroutine_is_false(void **state) {
    (void)state;
    assert_int_equal(aio_task_cancel_handled(NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pending_cancel_waits_for_awaited_task_blocked_on_future),
        cmocka_unit_test(pending_cancel_waits_for_awaited_task_blocked_on_sleep),
        cmocka_unit_test(pending_cancel_await_sees_child_result_5),
        cmocka_unit_test(pending_cancel_await_sees_child_cancelled_after_cleanup),
        cmocka_unit_test(pending_cancel_cancels_awaited_plain_future),
        cmocka_unit_test(pending_cancel_cancels_awaited_sleep),
        cmocka_unit_test(pending_cancel_kept_over_await_of_done_future),
        cmocka_unit_test(pending_cancel_lands_after_sleep_zero),
        cmocka_unit_test(cancel_handled_task_returns_value),
        cmocka_unit_test(cancel_handled_undoes_every_delivered_request),
        cmocka_unit_test(cancel_handled_false_without_cancel),
        cmocka_unit_test(cancel_handled_outside_coroutine_is_false),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
