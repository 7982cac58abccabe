/* aio_event (asyncio.Event): EVENT-01..02, after CPython's EventTests. */
#include "sync_support.h"

struct waiter {
    aio_event *ev;
    test_log *log;
    int tag;
    int *err;
};

AIO_CORO(waiter, struct waiter) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_event_wait(t, f->ev));
    if (f->err)
        *f->err = AIO_ERR(t);
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    assert_int_equal(AIO_RESULT(t).i, 1); /* asyncio's True */
    log_add(f->log, f->tag);
    AIO_END(t);
}

static aio_future spawn_waiter(aio_loop *loop, aio_event *ev, test_log *log, int tag) {
    return aio_spawn(loop, waiter, &(struct waiter){ev, log, tag, NULL});
}

/* Waiters queued now, or woken and not yet resumed (asyncio's _waiters). */
static uint32_t waiters(const aio_event *ev) { return ev->aio__q.count + ev->aio__woken; }

/* EVENT-01 (EventTests::test_wait): t1, t2 wait; t3 is created, the event
 * set: t3 returns at once, then t1 and t2 in the order they waited. */
static void EVENT_01_wait(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_event ev = AIO_EVENT_INIT;
    test_log log = {0};
    aio_future t1 = spawn_waiter(loop, &ev, &log, 1);
    aio_future t2 = spawn_waiter(loop, &ev, &log, 2);
    yield_once(loop);
    assert_int_equal(log.n, 0);
    assert_int_equal(waiters(&ev), 2);
    aio_future t3 = spawn_waiter(loop, &ev, &log, 3);
    assert_aio_ok(aio_event_set(loop, &ev));
    yield_once(loop);
    assert_log(&log, 3, 1, 2);
    assert_aio_ok(aio_run_until_complete(loop, t1, NULL));
    assert_aio_ok(aio_run_until_complete(loop, t2, NULL));
    assert_aio_ok(aio_run_until_complete(loop, t3, NULL));
    assert_int_equal(waiters(&ev), 0);
    aio_loop_free(loop);
}

/* EVENT-01 (test_wait_on_set): waiting on a set event does not suspend. */
struct flag {
    int *p;
};
AIO_CORO(sets_flag, struct flag) {
    AIO_BEGIN(t);
    *f->p = 1;
    AIO_END(t);
}
struct on_set {
    aio_event *ev;
    int *other_ran;
};
AIO_CORO(waits_on_set, struct on_set) {
    AIO_BEGIN(t);
    aio_future_release(t, aio_spawn(t, sets_flag, &(struct flag){f->other_ran}));
    AIO_AWAIT(t, aio_event_wait(t, f->ev));
    assert_aio_ok(AIO_ERR(t));
    assert_int_equal(AIO_RESULT(t).i, 1);
    assert_int_equal(*f->other_ran, 0);
    AIO_END(t);
}

static void EVENT_01_wait_on_set(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_event ev;
    assert_aio_ok(aio_event_init(&ev));
    assert_aio_ok(aio_event_set(loop, &ev));
    assert_int_equal(aio_event_is_set(&ev), 1);
    int other_ran = 0;
    assert_aio_ok(
        aio_run_until_complete(loop, aio_spawn(loop, waits_on_set, &(struct on_set){&ev, &other_ran}), NULL));
    yield_once(loop);
    assert_int_equal(other_ran, 1);
    aio_loop_free(loop);
}

/* EVENT-02 (test_clear_with_waiters): set, clear, set twice more: W wakes
 * exactly once, with true. */
static void EVENT_02_clear_with_waiters(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_event ev = AIO_EVENT_INIT;
    test_log log = {0};
    aio_future w = spawn_waiter(loop, &ev, &log, 1);
    yield_once(loop);
    assert_aio_ok(aio_event_set(loop, &ev));
    assert_aio_ok(aio_event_clear(&ev));
    assert_int_equal(aio_event_is_set(&ev), 0);
    assert_aio_ok(aio_event_set(loop, &ev));
    assert_aio_ok(aio_event_set(loop, &ev));
    assert_int_equal(waiters(&ev), 1);
    yield_once(loop);
    assert_log(&log, 1);
    assert_int_equal(waiters(&ev), 0);
    assert_aio_ok(aio_run_until_complete(loop, w, NULL));
    assert_int_equal(aio_event_is_set(&ev), 1);
    aio_loop_free(loop);
}

/* EVENT-02 (the X variant): set and clear in one step; X then waits. W
 * still wakes (the set counted), X stays blocked. */
static void EVENT_02_set_then_clear_still_wakes(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_event ev = AIO_EVENT_INIT;
    test_log log = {0};
    aio_future w = spawn_waiter(loop, &ev, &log, 'W');
    yield_once(loop);
    assert_aio_ok(aio_event_set(loop, &ev));
    assert_aio_ok(aio_event_clear(&ev));
    aio_future x = spawn_waiter(loop, &ev, &log, 'X');
    yield_once(loop);
    yield_once(loop);
    assert_log(&log, 'W');
    assert_int_equal(aio_future_done(loop, x), 0);
    assert_aio_ok(aio_run_until_complete(loop, w, NULL));
    assert_int_equal(aio_task_cancel(loop, x, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, x, NULL), AIO_ECANCELLED);
    aio_loop_free(loop);
}

/* EVENT-02 (test_wait_cancel): a waiter cancelled from call_soon ends
 * cancelled and leaves; a later set works normally. */
struct cancel_cb {
    aio_future task;
};
static void cancel_soon(aio_loop *loop, void *arg) {
    struct cancel_cb *c = arg;
    assert_int_equal(aio_task_cancel(loop, c->task, NULL), 1);
}

static void EVENT_02_wait_cancel(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_event ev = AIO_EVENT_INIT;
    test_log log = {0};
    int err = 1;
    aio_future w = aio_spawn(loop, waiter, &(struct waiter){&ev, &log, 1, &err});
    yield_once(loop);
    struct cancel_cb c = {w};
    assert_aio_ok(aio_call_soon(loop, cancel_soon, &c, NULL));
    assert_aio_err(aio_run_until_complete(loop, w, NULL), AIO_ECANCELLED);
    assert_aio_err(err, AIO_ECANCELLED);
    assert_int_equal(waiters(&ev), 0);
    aio_future w2 = spawn_waiter(loop, &ev, &log, 2);
    yield_once(loop);
    assert_aio_ok(aio_event_set(loop, &ev));
    assert_aio_ok(aio_run_until_complete(loop, w2, NULL));
    assert_log(&log, 2);
    aio_loop_free(loop);
}

/* Woken, then cancelled before it resumed: it ends cancelled; nothing is
 * owed to anyone. */
static void event_woken_then_cancelled(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_event ev = AIO_EVENT_INIT;
    test_log log = {0};
    aio_future w = spawn_waiter(loop, &ev, &log, 1);
    aio_future w2 = spawn_waiter(loop, &ev, &log, 2);
    yield_once(loop);
    assert_aio_ok(aio_event_set(loop, &ev));
    assert_int_equal(aio_task_cancel(loop, w, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, w, NULL), AIO_ECANCELLED);
    assert_aio_ok(aio_run_until_complete(loop, w2, NULL));
    assert_log(&log, 2);
    assert_int_equal(waiters(&ev), 0);
    aio_loop_free(loop);
}

static void event_errors(void **state) {
    (void)state;
    aio_loop *a = test_loop_new(0), *b = test_loop_new(0);
    aio_event ev = AIO_EVENT_INIT;
    assert_aio_err(aio_event_init(NULL), -EINVAL);
    assert_aio_err(aio_event_set(a, NULL), -EINVAL);
    assert_aio_err(aio_event_clear(NULL), -EINVAL);
    assert_aio_err(aio_event_is_set(NULL), -EINVAL);
    assert_aio_err(aio_future_check(aio_event_wait(a, NULL)), -EINVAL);
    assert_aio_ok(aio_event_set(a, &ev));
    assert_aio_err(aio_event_set(b, &ev), AIO_EFOREIGN);
    assert_aio_err(aio_future_check(aio_event_wait(b, &ev)), AIO_EFOREIGN);
    aio_loop_free(b);
    aio_loop_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(EVENT_01_wait),
        cmocka_unit_test(EVENT_01_wait_on_set),
        cmocka_unit_test(EVENT_02_clear_with_waiters),
        cmocka_unit_test(EVENT_02_set_then_clear_still_wakes),
        cmocka_unit_test(EVENT_02_wait_cancel),
        cmocka_unit_test(event_woken_then_cancelled),
        cmocka_unit_test(event_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
