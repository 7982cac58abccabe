/* aio_condition (asyncio.Condition): COND-01..03, after CPython's
 * ConditionTests, and the notification that must not be lost when a
 * notified waiter is cancelled (gh-112202). The lock is held again after
 * every wait, however it ends (asyncio re-acquires before it raises). */
#include "sync_support.h"

struct cw {
    aio_condition *c;
    test_log *log;
    int tag;
    int keep;          /* keep the lock at the end (else release it) */
    int *err;          /* the wait's outcome */
    int *locked_after; /* aio_condition_locked right after the wait */
    const char **msg;  /* the cancel message the wait returned */
};

AIO_CORO(cond_waiter, struct cw) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_condition_acquire(t, f->c));
    assert_aio_ok(AIO_ERR(t));
    AIO_AWAIT(t, aio_condition_wait(t, f->c));
    if (f->err)
        *f->err = AIO_ERR(t);
    if (f->msg)
        *f->msg = AIO_CANCEL_MESSAGE(t);
    if (f->locked_after)
        *f->locked_after = aio_condition_locked(f->c);
    if (AIO_ERR(t) == 0) {
        assert_int_equal(AIO_RESULT(t).i, 1);
        log_add(f->log, f->tag);
    }
    if (!f->keep)
        assert_aio_ok(aio_condition_release(t, f->c)); /* held whatever the outcome */
    AIO_END(t);
}

static aio_future spawn_cw(aio_loop *loop, aio_condition *c, test_log *log, int tag, int keep) {
    return aio_spawn(loop, cond_waiter, &(struct cw){c, log, tag, keep, NULL, NULL, NULL});
}

static void acquire_now(aio_loop *loop, aio_condition *c) {
    assert_aio_ok(aio_run_until_complete(loop, aio_condition_acquire(loop, c), NULL));
    assert_int_equal(aio_condition_locked(c), 1);
}

/* COND-01 (ConditionTests::test_wait): notified waiters re-take the lock
 * one at a time, as it is released. */
static void COND_01_wait(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_condition c = AIO_CONDITION_INIT;
    test_log log = {0};
    aio_future t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn_cw(loop, &c, &log, i + 1, 1);
    yield_once(loop);
    assert_int_equal(log.n, 0);
    assert_int_equal(aio_condition_locked(&c), 0);
    acquire_now(loop, &c);
    assert_int_equal(aio_condition_notify(loop, &c, 1), 1);
    yield_once(loop);
    assert_int_equal(log.n, 0); /* c1 needs the lock first */
    assert_int_equal(aio_condition_locked(&c), 1);
    assert_aio_ok(aio_condition_release(loop, &c));
    yield_once(loop);
    assert_log(&log, 1);
    assert_int_equal(aio_condition_locked(&c), 1); /* c1 keeps it */
    assert_int_equal(aio_condition_notify(loop, &c, 2), 2);
    yield_once(loop);
    assert_log(&log, 1);
    assert_aio_ok(aio_condition_release(loop, &c));
    yield_once(loop);
    assert_log(&log, 1, 2);
    assert_int_equal(aio_condition_locked(&c), 1);
    assert_aio_ok(aio_condition_release(loop, &c));
    yield_once(loop);
    assert_log(&log, 1, 2, 3);
    assert_int_equal(aio_condition_locked(&c), 1);
    for (int i = 0; i < 3; i++)
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
    aio_loop_free(loop);
}

/* COND-01 (test_notify, test_notify_all): notify counts only waiters not
 * yet notified; notify_all takes everyone; no waiter: nothing. */
static void COND_01_notify_and_notify_all(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_condition c;
    assert_aio_ok(aio_condition_init(&c, NULL));
    test_log log = {0};
    aio_future t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn_cw(loop, &c, &log, i + 1, 0);
    yield_once(loop);
    acquire_now(loop, &c);
    assert_int_equal(aio_condition_notify(loop, &c, 1), 1);
    assert_aio_ok(aio_condition_release(loop, &c));
    test_run_iterations(loop, 3);
    assert_log(&log, 1);
    acquire_now(loop, &c);
    assert_int_equal(aio_condition_notify(loop, &c, 1), 1);
    assert_int_equal(aio_condition_notify(loop, &c, 2048), 1);
    assert_aio_ok(aio_condition_release(loop, &c));
    test_run_iterations(loop, 4);
    assert_log(&log, 1, 2, 3);
    for (int i = 0; i < 3; i++)
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));

    test_log all = {0};
    t[0] = spawn_cw(loop, &c, &all, 1, 0);
    t[1] = spawn_cw(loop, &c, &all, 2, 0);
    yield_once(loop);
    acquire_now(loop, &c);
    assert_int_equal(aio_condition_notify_all(loop, &c), 2);
    assert_int_equal(aio_condition_notify_all(loop, &c), 0); /* none left */
    assert_aio_ok(aio_condition_release(loop, &c));
    assert_aio_ok(aio_run_until_complete(loop, t[0], NULL));
    assert_aio_ok(aio_run_until_complete(loop, t[1], NULL));
    assert_log(&all, 1, 2);
    aio_loop_free(loop);
}

/* COND-02 (test_wait_unacquired, test_notify_unacquired,
 * test_notify_all_unacquired): the lock is required. */
static void COND_02_unacquired(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_condition c = AIO_CONDITION_INIT;
    assert_aio_err(aio_future_check(aio_condition_wait(loop, &c)), AIO_ENOTLOCKED);
    assert_aio_err(aio_condition_notify(loop, &c, 1), AIO_ENOTLOCKED);
    assert_aio_err(aio_condition_notify_all(loop, &c), AIO_ENOTLOCKED);
    assert_aio_err(aio_condition_release(loop, &c), AIO_ENOTLOCKED);
    acquire_now(loop, &c);
    assert_aio_err(aio_condition_notify(loop, &c, -1), -EINVAL);
    assert_aio_ok(aio_condition_release(loop, &c));
    aio_loop_free(loop);
}

/* COND-02 (test_wait_for, test_wait_for_unacquired). */
struct pred {
    int value;
    int calls;
};
static int predicate(void *arg) {
    struct pred *p = arg;
    p->calls++;
    return p->value;
}

struct wf {
    aio_condition *c;
    struct pred *p;
    int take_lock;
    int *err;
    int64_t *value;
    AIO_CHILD(aio_condition_wait_for_frame) sub;
};

AIO_CORO(wait_for_task, struct wf) {
    AIO_BEGIN(t);
    if (f->take_lock) {
        AIO_AWAIT(t, aio_condition_acquire(t, f->c));
        assert_aio_ok(AIO_ERR(t));
    }
    f->sub.frame = (aio_condition_wait_for_frame){f->c, predicate, f->p, 0};
    AIO_AWAIT_CORO(t, aio_condition_wait_for, &f->sub);
    *f->err = AIO_ERR(t);
    *f->value = AIO_ERR(t) == 0 ? AIO_RESULT(t).i : -1;
    if (f->take_lock || AIO_ERR(t) == AIO_ECANCELLED)
        assert_aio_ok(aio_condition_release(t, f->c));
    AIO_END(t);
}

static void COND_02_wait_for(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_condition c = AIO_CONDITION_INIT;
    int err = 1;
    int64_t value = 0;
    /* true at once: its value, without the lock */
    struct pred now = {123, 0};
    assert_aio_ok(aio_run_until_complete(
        loop,
        aio_spawn(loop, wait_for_task,
                  &(struct wf){.c = &c, .p = &now, .take_lock = 0, .err = &err, .value = &value}),
        NULL));
    assert_aio_ok(err);
    assert_int_equal(value, 123);
    assert_int_equal(now.calls, 1);
    /* false, and no lock */
    struct pred never = {0, 0};
    assert_aio_ok(aio_run_until_complete(
        loop,
        aio_spawn(loop, wait_for_task,
                  &(struct wf){.c = &c, .p = &never, .take_lock = 0, .err = &err, .value = &value}),
        NULL));
    assert_aio_err(err, AIO_ENOTLOCKED);
    /* W waits for the predicate: a notify while it is false changes nothing */
    struct pred p = {0, 0};
    aio_future w = aio_spawn(loop, wait_for_task,
                             &(struct wf){.c = &c, .p = &p, .take_lock = 1, .err = &err, .value = &value});
    err = 1;
    yield_once(loop);
    acquire_now(loop, &c);
    assert_int_equal(aio_condition_notify(loop, &c, 1), 1);
    assert_aio_ok(aio_condition_release(loop, &c));
    yield_once(loop);
    assert_int_equal(err, 1);
    assert_int_equal(aio_future_done(loop, w), 0);
    p.value = 1;
    acquire_now(loop, &c);
    assert_int_equal(aio_condition_notify(loop, &c, 1), 1);
    assert_aio_ok(aio_condition_release(loop, &c));
    yield_once(loop);
    assert_aio_ok(err);
    assert_int_equal(value, 1);
    assert_int_equal(p.calls, 3);
    assert_aio_ok(aio_run_until_complete(loop, w, NULL));
    assert_int_equal(aio_condition_locked(&c), 0);
    aio_loop_free(loop);
}

/* COND-02 (test_explicit_lock): a condition over a shared lock; locked()
 * mirrors it, and two conditions may share one lock. */
static void COND_02_explicit_lock(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    aio_condition c1, c2;
    assert_aio_ok(aio_condition_init(&c1, &lock));
    assert_aio_ok(aio_condition_init(&c2, &lock));
    assert_int_equal(aio_condition_locked(&c1), 0);
    assert_aio_ok(aio_run_until_complete(loop, aio_lock_acquire(loop, &lock), NULL));
    assert_int_equal(aio_condition_locked(&c1), 1);
    assert_int_equal(aio_condition_locked(&c2), 1);
    assert_aio_ok(aio_condition_release(loop, &c2));
    assert_int_equal(aio_lock_locked(&lock), 0);
    /* waiters of both conditions, each notified through its own */
    test_log log = {0};
    aio_future a = spawn_cw(loop, &c1, &log, 1, 0);
    aio_future b = spawn_cw(loop, &c2, &log, 2, 0);
    yield_once(loop);
    acquire_now(loop, &c1);
    assert_int_equal(aio_condition_notify(loop, &c2, 1), 1);
    assert_aio_ok(aio_lock_release(loop, &lock));
    assert_aio_ok(aio_run_until_complete(loop, b, NULL));
    assert_log(&log, 2);
    acquire_now(loop, &c2);
    assert_int_equal(aio_condition_notify_all(loop, &c1), 1);
    assert_aio_ok(aio_lock_release(loop, &lock));
    assert_aio_ok(aio_run_until_complete(loop, a, NULL));
    assert_log(&log, 2, 1);
    aio_loop_free(loop);
}

/* COND-03 (test_wait_cancel): W is cancelled while waiting to be
 * notified: it re-takes the lock before the cancel reaches it. */
static void COND_03_wait_cancel(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_condition c = AIO_CONDITION_INIT;
    test_log log = {0};
    int err = 1, locked_after = -1;
    aio_future w = aio_spawn(loop, cond_waiter, &(struct cw){&c, &log, 1, 0, &err, &locked_after, NULL});
    yield_once(loop);
    assert_int_equal(aio_condition_locked(&c), 0);
    assert_int_equal(c.aio__q.count, 1);
    assert_int_equal(aio_task_cancel(loop, w, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, w, NULL), AIO_ECANCELLED);
    assert_aio_err(err, AIO_ECANCELLED);
    assert_int_equal(locked_after, 1);
    assert_int_equal(c.aio__q.count, 0);
    assert_int_equal(aio_condition_locked(&c), 0); /* W released it in its block */
    assert_int_equal(log.n, 0);
    aio_loop_free(loop);
}

/* COND-03 (test_wait_cancel_contested): cancelled while the lock is busy,
 * W waits for it, then ends cancelled holding it. */
static void COND_03_wait_cancel_contested(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_condition c = AIO_CONDITION_INIT;
    test_log log = {0};
    int err = 1, locked_after = -1;
    aio_future w = aio_spawn(loop, cond_waiter, &(struct cw){&c, &log, 1, 0, &err, &locked_after, NULL});
    yield_once(loop);
    acquire_now(loop, &c);
    assert_int_equal(aio_task_cancel(loop, w, NULL), 1);
    yield_once(loop);
    yield_once(loop);
    assert_int_equal(aio_future_done(loop, w), 0); /* it needs the lock first */
    assert_int_equal(err, 1);
    assert_aio_ok(aio_condition_release(loop, &c));
    assert_aio_err(aio_run_until_complete(loop, w, NULL), AIO_ECANCELLED);
    assert_aio_err(err, AIO_ECANCELLED);
    assert_int_equal(locked_after, 1);
    assert_int_equal(aio_condition_locked(&c), 0);
    aio_loop_free(loop);
}

/* COND-03 (test_cancelled_error_wakeup): W holds the lock in
 * wait_for(false); W.cancel("foo"): the message W sees is the one the
 * task ends with. */
struct msg_wf {
    aio_condition *c;
    struct pred *p;
    const char **seen;
    AIO_CHILD(aio_condition_wait_for_frame) sub;
};
AIO_CORO(msg_wait_for, struct msg_wf) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_condition_acquire(t, f->c));
    f->sub.frame = (aio_condition_wait_for_frame){f->c, predicate, f->p, 0};
    AIO_AWAIT_CORO(t, aio_condition_wait_for, &f->sub);
    assert_aio_err(AIO_ERR(t), AIO_ECANCELLED);
    assert_int_equal(aio_condition_locked(f->c), 1);
    assert_aio_ok(aio_condition_release(t, f->c));
    AIO_END(t);
}
struct msg_wait {
    aio_condition *c;
    const char **seen;
};
AIO_CORO(msg_wait, struct msg_wait) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_condition_acquire(t, f->c));
    AIO_AWAIT(t, aio_condition_wait(t, f->c));
    assert_aio_err(AIO_ERR(t), AIO_ECANCELLED);
    *f->seen = AIO_CANCEL_MESSAGE(t);
    assert_aio_ok(aio_condition_release(t, f->c));
    AIO_END(t);
}

static void COND_03_cancelled_error_wakeup(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_condition c = AIO_CONDITION_INIT;
    struct pred never = {0, 0};
    aio_future w = aio_spawn(loop, msg_wait_for, &(struct msg_wf){.c = &c, .p = &never});
    yield_once(loop);
    assert_int_equal(aio_task_cancel(loop, w, "foo"), 1);
    aio_future w_ref = aio_future_retain(loop, w);
    assert_aio_err(aio_run_until_complete(loop, w, NULL), AIO_ECANCELLED);
    assert_string_equal(aio_future_cancel_message(loop, w_ref), "foo");
    aio_future_release(loop, w_ref);
    /* the message reaches the wait itself, while it waits to be notified,
     * and while it waits for a busy lock */
    const char *seen = NULL;
    aio_future m = aio_spawn(loop, msg_wait, &(struct msg_wait){&c, &seen});
    yield_once(loop);
    assert_int_equal(aio_task_cancel(loop, m, "bar"), 1);
    assert_aio_err(aio_run_until_complete(loop, m, NULL), AIO_ECANCELLED);
    assert_string_equal(seen, "bar");
    seen = NULL;
    m = aio_spawn(loop, msg_wait, &(struct msg_wait){&c, &seen});
    yield_once(loop);
    acquire_now(loop, &c);
    assert_int_equal(aio_condition_notify(loop, &c, 1), 1);
    assert_int_equal(aio_task_cancel(loop, m, "baz"), 1); /* notified, waiting for the lock */
    assert_aio_ok(aio_condition_release(loop, &c));
    assert_aio_err(aio_run_until_complete(loop, m, NULL), AIO_ECANCELLED);
    assert_string_equal(seen, "baz");
    aio_loop_free(loop);
}

/* gh-112202 (test_cancelled_wakeup): a notified waiter cancelled while it
 * waits for the lock passes the notification on: the other waiter wakes. */
static void COND_gh112202_notified_then_cancelled_passes_it_on(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_condition c = AIO_CONDITION_INIT;
    test_log log = {0};
    int err1 = 1, err2 = 1, locked1 = -1;
    aio_future w1 = aio_spawn(loop, cond_waiter, &(struct cw){&c, &log, 1, 0, &err1, &locked1, NULL});
    aio_future w2 = aio_spawn(loop, cond_waiter, &(struct cw){&c, &log, 2, 0, &err2, NULL, NULL});
    yield_once(loop);
    acquire_now(loop, &c);
    assert_int_equal(aio_condition_notify(loop, &c, 1), 1); /* w1 */
    assert_int_equal(aio_task_cancel(loop, w1, NULL), 1);
    assert_int_equal(c.aio__q.count, 0); /* w2 got the notification */
    assert_aio_ok(aio_condition_release(loop, &c));
    assert_aio_err(aio_run_until_complete(loop, w1, NULL), AIO_ECANCELLED);
    assert_int_equal(locked1, 1);
    assert_aio_ok(aio_run_until_complete(loop, w2, NULL));
    assert_aio_ok(err2);
    assert_log(&log, 2);
    aio_loop_free(loop);
}

/* The same race one step later: the lock was handed to the notified
 * waiter (it is woken) when it is cancelled. It still takes the lock and
 * ends cancelled; the notification goes on to the next waiter. */
static void cond_woken_then_cancelled_takes_the_lock(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_condition c = AIO_CONDITION_INIT;
    test_log log = {0};
    int err1 = 1, err2 = 1, locked1 = -1;
    aio_future w1 = aio_spawn(loop, cond_waiter, &(struct cw){&c, &log, 1, 0, &err1, &locked1, NULL});
    aio_future w2 = aio_spawn(loop, cond_waiter, &(struct cw){&c, &log, 2, 0, &err2, NULL, NULL});
    yield_once(loop);
    acquire_now(loop, &c);
    assert_int_equal(aio_condition_notify(loop, &c, 1), 1);
    assert_aio_ok(aio_condition_release(loop, &c)); /* w1 woken with the lock */
    assert_int_equal(aio_task_cancel(loop, w1, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, w1, NULL), AIO_ECANCELLED);
    assert_aio_err(err1, AIO_ECANCELLED);
    assert_int_equal(locked1, 1);
    assert_aio_ok(aio_run_until_complete(loop, w2, NULL)); /* woken in w1's place */
    assert_aio_ok(err2);
    assert_log(&log, 2);
    assert_int_equal(aio_condition_locked(&c), 0);
    aio_loop_free(loop);
}

/* wait_for(wait, timeout): on expiry the wait is cancelled, re-takes the
 * lock, and wait_for reports AIO_ETIMEDOUT with the lock held (asyncio:
 * TimeoutError inside `async with cond`). */
struct timed {
    aio_condition *c;
    int *err;
    int *locked_after;
};
AIO_CORO(timed_wait, struct timed) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_condition_acquire(t, f->c));
    AIO_AWAIT(t, aio_wait_for(t, aio_condition_wait(t, f->c), 0.1));
    *f->err = AIO_ERR(t);
    *f->locked_after = aio_condition_locked(f->c);
    assert_aio_ok(aio_condition_release(t, f->c));
    AIO_END(t);
}

static void cond_wait_for_timeout_keeps_the_lock(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_condition c = AIO_CONDITION_INIT;
    int err = 1, locked_after = -1;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_spawn(loop, timed_wait, &(struct timed){&c, &err, &locked_after}), NULL));
    assert_aio_err(err, AIO_ETIMEDOUT);
    assert_int_equal(locked_after, 1);
    assert_int_equal(aio_condition_locked(&c), 0);
    assert_true(aio_loop_time(loop) >= 0.1);
    aio_loop_free(loop);
}

/* A wait future released unread after its notification: the lock is not
 * kept for nobody, and the notification goes on. */
static void cond_released_unread_passes_lock_and_notification_on(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_condition c = AIO_CONDITION_INIT;
    test_log log = {0};
    acquire_now(loop, &c);
    aio_future mine = aio_condition_wait(loop, &c); /* plain C: lock released */
    assert_int_equal(aio_condition_locked(&c), 0);
    aio_future w2 = spawn_cw(loop, &c, &log, 2, 0);
    yield_once(loop);
    acquire_now(loop, &c);
    assert_int_equal(aio_condition_notify(loop, &c, 1), 1); /* mine */
    assert_aio_ok(aio_condition_release(loop, &c));         /* mine woken, lock reserved */
    assert_aio_ok(aio_future_release(loop, mine));          /* ...and given up */
    assert_aio_ok(aio_run_until_complete(loop, w2, NULL));
    assert_log(&log, 2);
    assert_int_equal(aio_condition_locked(&c), 0);
    aio_loop_free(loop);
}

static void cond_errors(void **state) {
    (void)state;
    aio_loop *a = test_loop_new(0), *b = test_loop_new(0);
    aio_condition c = AIO_CONDITION_INIT;
    assert_aio_err(aio_condition_init(NULL, NULL), -EINVAL);
    assert_aio_err(aio_condition_notify(a, NULL, 1), -EINVAL);
    assert_aio_err(aio_condition_locked(NULL), -EINVAL);
    acquire_now(a, &c);
    assert_aio_err(aio_condition_notify(b, &c, 1), AIO_EFOREIGN);
    assert_aio_err(aio_future_check(aio_condition_wait(b, &c)), AIO_EFOREIGN);
    /* a condition over a lock bound to another loop */
    aio_condition other;
    assert_aio_ok(aio_condition_init(&other, &c.aio__own));
    assert_aio_err(aio_future_check(aio_condition_acquire(b, &other)), AIO_EFOREIGN);
    aio_loop_free(b);
    aio_loop_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(COND_01_wait),
        cmocka_unit_test(COND_01_notify_and_notify_all),
        cmocka_unit_test(COND_02_unacquired),
        cmocka_unit_test(COND_02_wait_for),
        cmocka_unit_test(COND_02_explicit_lock),
        cmocka_unit_test(COND_03_wait_cancel),
        cmocka_unit_test(COND_03_wait_cancel_contested),
        cmocka_unit_test(COND_03_cancelled_error_wakeup),
        cmocka_unit_test(COND_gh112202_notified_then_cancelled_passes_it_on),
        cmocka_unit_test(cond_woken_then_cancelled_takes_the_lock),
        cmocka_unit_test(cond_wait_for_timeout_keeps_the_lock),
        cmocka_unit_test(cond_released_unread_passes_lock_and_notification_on),
        cmocka_unit_test(cond_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
