/* aio_lock (asyncio.Lock): the acceptance cases LOCK-01..03, CPython's
 * test_locks.py LockTests, and the races CPython fixed (bpo-27585: a
 * waiter cancelled while its wake-up is on the way; bpo-32734: a cancel
 * and a release in one step). Each test names its case. */
#include "sync_support.h"

/* A task that acquires, logs its tag, and optionally releases. */
struct locker {
    aio_lock *lock;
    test_log *log;
    int tag;
    int release;    /* release right after logging */
    int *err;       /* the acquire's outcome, if not NULL */
    aio_future *fa; /* if set: hold the lock while awaiting this future */
};

AIO_CORO(locker, struct locker) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_lock_acquire(t, f->lock));
    if (f->err)
        *f->err = AIO_ERR(t);
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    assert_int_equal(AIO_RESULT(t).i, 1); /* asyncio's True */
    log_add(f->log, f->tag);
    if (f->fa) {
        AIO_AWAIT(t, *f->fa);
        assert_aio_ok(AIO_ERR(t));
    }
    if (f->release)
        assert_aio_ok(aio_lock_release(t, f->lock));
    AIO_END(t);
}

static aio_future spawn_locker(aio_loop *loop, aio_lock *lock, test_log *log, int tag, int release) {
    return aio_spawn(loop, locker, &(struct locker){lock, log, tag, release, NULL, NULL});
}

/* Acquire from plain C (the lock is ours once the future is read). */
static void acquire_now(aio_loop *loop, aio_lock *lock) {
    aio_value v;
    assert_aio_ok(outcome(loop, aio_lock_acquire(loop, lock), &v));
    assert_int_equal(v.i, 1);
    assert_int_equal(aio_lock_locked(lock), 1);
}

/* LOCK-01: waiters are served in FIFO order (LockTests::test_acquire). */
static void LOCK_01_fifo(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    test_log log = {0};
    acquire_now(loop, &lock);
    aio_future c1 = spawn_locker(loop, &lock, &log, 1, 0);
    aio_future c2 = spawn_locker(loop, &lock, &log, 2, 0);
    yield_once(loop);
    assert_int_equal(log.n, 0);
    assert_aio_ok(aio_lock_release(loop, &lock));
    yield_once(loop);
    assert_log(&log, 1);
    yield_once(loop);
    assert_log(&log, 1);
    aio_future c3 = spawn_locker(loop, &lock, &log, 3, 0);
    assert_aio_ok(aio_lock_release(loop, &lock));
    yield_once(loop);
    assert_log(&log, 1, 2);
    assert_aio_ok(aio_lock_release(loop, &lock));
    yield_once(loop);
    assert_log(&log, 1, 2, 3);
    assert_aio_ok(outcome(loop, c1, NULL));
    assert_aio_ok(outcome(loop, c2, NULL));
    assert_aio_ok(outcome(loop, c3, NULL));
    assert_int_equal(aio_lock_locked(&lock), 1);
    aio_loop_free(loop);
}

/* LOCK-02: releasing an unlocked lock is an error; locked() inside and
 * after a block (test_release_not_acquired, test_context_manager). */
static void LOCK_02_release_not_acquired(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock;
    assert_aio_ok(aio_lock_init(&lock));
    assert_aio_err(aio_lock_release(loop, &lock), AIO_ENOTLOCKED);
    assert_int_equal(aio_lock_locked(&lock), 0);
    acquire_now(loop, &lock);
    assert_aio_ok(aio_lock_release(loop, &lock));
    assert_int_equal(aio_lock_locked(&lock), 0);
    assert_aio_err(aio_lock_release(loop, &lock), AIO_ENOTLOCKED);
    aio_loop_free(loop);
}

/* LOCK-02: a free lock with no waiters is acquired without suspending: a
 * task created just before the acquire does not run in between
 * (test_release_no_waiters). */
struct no_suspend {
    aio_lock *lock;
    int *other_ran;
    int ran_before;
};
struct flag {
    int *p;
};
AIO_CORO(sets_flag, struct flag) {
    AIO_BEGIN(t);
    *f->p = 1;
    AIO_END(t);
}
AIO_CORO(acquires_without_suspending, struct no_suspend) {
    AIO_BEGIN(t);
    aio_future_release(t, aio_spawn(t, sets_flag, &(struct flag){f->other_ran}));
    AIO_AWAIT(t, aio_lock_acquire(t, f->lock));
    assert_aio_ok(AIO_ERR(t));
    f->ran_before = *f->other_ran;
    assert_int_equal(f->ran_before, 0);
    assert_aio_ok(aio_lock_release(t, f->lock));
    AIO_END(t);
}

static void LOCK_02_free_lock_does_not_suspend(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    int other_ran = 0;
    assert_aio_ok(outcome(
        loop, aio_spawn(loop, acquires_without_suspending, &(struct no_suspend){&lock, &other_ran, -1}),
        NULL));
    yield_once(loop); /* now the other task runs */
    assert_int_equal(other_ran, 1);
    assert_int_equal(aio_lock_locked(&lock), 0);
    aio_loop_free(loop);
}

/* LOCK-02: a waiter cancelled (from call_soon) ends cancelled and leaves
 * the queue; the lock stays held (test_acquire_cancel). */
struct cancel_cb {
    aio_future task;
};
static void cancel_soon(aio_loop *loop, void *arg) {
    struct cancel_cb *c = arg;
    assert_int_equal(aio_task_cancel(loop, c->task, NULL), 1);
}

static void LOCK_02_acquire_cancel(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    test_log log = {0};
    acquire_now(loop, &lock);
    int err = 1;
    aio_future w = aio_spawn(loop, locker, &(struct locker){&lock, &log, 1, 0, &err, NULL});
    yield_once(loop);
    assert_int_equal(lock.aio__q.count, 1);
    struct cancel_cb c = {w};
    assert_aio_ok(aio_call_soon(loop, cancel_soon, &c, NULL));
    assert_aio_err(outcome(loop, w, NULL), AIO_ECANCELLED);
    assert_aio_err(err, AIO_ECANCELLED);
    assert_int_equal(lock.aio__q.count, 0);
    assert_int_equal(aio_lock_locked(&lock), 1);
    assert_int_equal(log.n, 0);
    aio_loop_free(loop);
}

/* LOCK-03, bpo-32734: t1..t3 wait; one callback cancels t1 and releases.
 * t1 ends cancelled, t2 acquires, t3 still waits (test_cancel_release_race). */
struct cancel_then_release {
    aio_lock *lock;
    aio_future victim;
};
static void cancel_then_release_cb(aio_loop *loop, void *arg) {
    struct cancel_then_release *r = arg;
    assert_int_equal(aio_task_cancel(loop, r->victim, NULL), 1);
    assert_aio_ok(aio_lock_release(loop, r->lock));
}

static void LOCK_03_bpo32734_cancel_release_race(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    test_log log = {0};
    acquire_now(loop, &lock);
    aio_future t1 = spawn_locker(loop, &lock, &log, 1, 0);
    aio_future t2 = spawn_locker(loop, &lock, &log, 2, 0);
    aio_future t3 = spawn_locker(loop, &lock, &log, 3, 0);
    yield_once(loop);
    assert_int_equal(lock.aio__q.count, 3);
    struct cancel_then_release r = {&lock, t1};
    assert_aio_ok(aio_call_soon(loop, cancel_then_release_cb, &r, NULL));
    test_run_iterations(loop, 3);
    assert_aio_err(outcome(loop, t1, NULL), AIO_ECANCELLED);
    assert_log(&log, 2); /* exactly one acquisition: t2's */
    assert_int_equal(aio_future_done(loop, t2), 1);
    assert_int_equal(aio_future_done(loop, t3), 0);
    assert_int_equal(aio_lock_locked(&lock), 1);
    assert_aio_ok(outcome(loop, t2, NULL));
    assert_aio_ok(aio_lock_release(loop, &lock));
    assert_aio_ok(outcome(loop, t3, NULL));
    assert_log(&log, 2, 3);
    aio_loop_free(loop);
}

/* LOCK-03, cancelled but still queued (test_cancel_race, the bpo-27585
 * scenario): A holds the lock while it waits on fa; B and C wait. In one
 * step fa completes and B is cancelled. A releases without error, B ends
 * cancelled, C is next: [A, C]. */
static void LOCK_03_bpo27585_cancel_race(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    test_log log = {0};
    aio_future fa = aio_future_new(loop);
    aio_future fa_for_a = aio_future_retain(loop, fa);
    aio_future a = aio_spawn(loop, locker, &(struct locker){&lock, &log, 'A', 1, NULL, &fa_for_a});
    yield_once(loop);
    aio_future b = spawn_locker(loop, &lock, &log, 'B', 1);
    aio_future c = spawn_locker(loop, &lock, &log, 'C', 1);
    yield_once(loop);
    assert_int_equal(lock.aio__q.count, 2);
    assert_aio_ok(aio_future_set_result(loop, fa, AIO_NONE));
    assert_int_equal(aio_task_cancel(loop, b, NULL), 1);
    yield_once(loop);
    assert_aio_ok(outcome(loop, a, NULL));
    assert_aio_err(outcome(loop, b, NULL), AIO_ECANCELLED);
    assert_aio_ok(outcome(loop, c, NULL));
    assert_log(&log, 'A', 'C');
    assert_int_equal(aio_lock_locked(&lock), 0);
    aio_future_release(loop, fa);
    aio_loop_free(loop);
}

/* LOCK-03, only cancelled waiters queued (test_finished_waiter_cancelled):
 * B waits, C is created but not started; B is cancelled and the lock
 * released: C's first acquire takes it at once. */
static void LOCK_03_finished_waiter_cancelled(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    test_log log = {0};
    acquire_now(loop, &lock);
    aio_future b = spawn_locker(loop, &lock, &log, 'B', 1);
    yield_once(loop);
    aio_future c = spawn_locker(loop, &lock, &log, 'C', 0);
    assert_int_equal(aio_task_cancel(loop, b, NULL), 1);
    assert_aio_ok(aio_lock_release(loop, &lock));
    yield_once(loop);
    assert_log(&log, 'C');
    assert_aio_err(outcome(loop, b, NULL), AIO_ECANCELLED);
    assert_aio_ok(outcome(loop, c, NULL));
    assert_int_equal(aio_lock_locked(&lock), 1);
    aio_loop_free(loop);
}

/* The race itself, in wake-then-take form (bpo-27585): the release wakes
 * t1, which is cancelled before it resumes. The lock must go to t2, not
 * be lost (asyncio before the fix: a deadlock). */
static void lock_woken_then_cancelled_passes_the_lock_on(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    test_log log = {0};
    acquire_now(loop, &lock);
    aio_future t1 = spawn_locker(loop, &lock, &log, 1, 1);
    aio_future t2 = spawn_locker(loop, &lock, &log, 2, 1);
    yield_once(loop);
    struct cancel_then_release r = {&lock, t1};
    /* release first (t1 woken, the lock reserved for it), then cancel */
    assert_aio_ok(aio_lock_release(loop, &lock));
    assert_int_equal(lock.aio__woken, 1);
    assert_int_equal(aio_task_cancel(loop, r.victim, NULL), 1);
    assert_aio_err(outcome(loop, t1, NULL), AIO_ECANCELLED);
    assert_aio_ok(outcome(loop, t2, NULL));
    assert_log(&log, 2);
    assert_int_equal(aio_lock_locked(&lock), 0);
    assert_int_equal(lock.aio__woken, 0);
    aio_loop_free(loop);
}

/* An immediate acquire is a woken future too: taken at the await (or given
 * up if the future is released unread). Awaiting it does not suspend, so a
 * cancel requested meanwhile lands at the next await that does: the task
 * knows it holds the lock, and releases it in its cleanup. */
struct lock_ref {
    aio_lock *lock;
};
AIO_CORO(self_cancel_then_acquire, struct lock_ref) {
    AIO_BEGIN(t);
    aio_task_cancel(t, aio_task_handle(t), NULL);
    AIO_AWAIT(t, aio_lock_acquire(t, f->lock));
    assert_aio_ok(AIO_ERR(t)); /* taken: the lock is ours */
    assert_int_equal(aio_lock_locked(f->lock), 1);
    AIO_YIELD(t);
    assert_aio_err(AIO_ERR(t), AIO_ECANCELLED); /* the cancel, here */
    assert_aio_ok(aio_lock_release(t, f->lock));
    AIO_END(t);
}

static void lock_immediate_acquire_taken_at_the_await(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    assert_aio_err(outcome(loop, aio_spawn(loop, self_cancel_then_acquire, &(struct lock_ref){&lock}), NULL),
                   AIO_ECANCELLED);
    assert_int_equal(aio_lock_locked(&lock), 0);
    assert_int_equal(lock.aio__woken, 0);
    /* Released unread: given up, as if never called. */
    assert_aio_ok(aio_future_release(loop, aio_lock_acquire(loop, &lock)));
    assert_int_equal(aio_lock_locked(&lock), 0);
    assert_int_equal(lock.aio__woken, 0);
    acquire_now(loop, &lock);
    aio_loop_free(loop);
}

/* A lock belongs to the loop of its first use. */
static void lock_binds_to_one_loop(void **state) {
    (void)state;
    aio_loop *a = test_loop_new(0), *b = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    acquire_now(a, &lock);
    assert_aio_err(aio_future_check(aio_lock_acquire(b, &lock)), AIO_EFOREIGN);
    assert_aio_err(aio_lock_release(b, &lock), AIO_EFOREIGN);
    assert_aio_err(aio_lock_release(NULL, &lock), -EINVAL);
    assert_aio_err(aio_lock_release(a, NULL), -EINVAL);
    assert_aio_err(aio_future_check(aio_lock_acquire(a, NULL)), -EINVAL);
    assert_aio_ok(aio_loop_close(a));
    assert_aio_err(aio_lock_release(a, &lock), AIO_ECLOSED);
    assert_aio_err(aio_future_check(aio_lock_acquire(a, &lock)), AIO_ECLOSED);
    aio_loop_free(a);
    /* initialised again, it may serve another loop */
    assert_aio_ok(aio_lock_init(&lock));
    acquire_now(b, &lock);
    aio_loop_free(b);
}

/* The loop closes with tasks waiting and a woken waiter: nothing leaks
 * (ASan, valgrind) and the lock is not touched after. */
static void lock_close_with_waiters(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    test_log log = {0};
    acquire_now(loop, &lock);
    for (int i = 0; i < 3; i++)
        aio_future_release(loop, spawn_locker(loop, &lock, &log, i, 0));
    yield_once(loop);
    assert_aio_ok(aio_lock_release(loop, &lock)); /* the first is woken, never resumes */
    aio_loop_free(loop);
    assert_int_equal(log.n, 0);
}

/* acquire_nowait: only when free and nobody waits. AIO_LOCK_ACQUIRE: the
 * same outcome as the await, served at once without a future when it can
 * (a pending cancel then arrives at the next await), else awaited. */
struct fast_locker {
    aio_lock *lock;
    test_log *log;
    int tag;
    int self_cancel;
};
AIO_CORO(fast_locker, struct fast_locker) {
    AIO_BEGIN(t);
    if (f->self_cancel)
        aio_task_cancel(t, aio_task_handle(t), NULL);
    AIO_LOCK_ACQUIRE(t, f->lock);
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    assert_int_equal(AIO_RESULT(t).i, 1);
    assert_int_equal(aio_lock_locked(f->lock), 1);
    log_add(f->log, f->tag);
    AIO_YIELD(t); /* a pending cancel lands here: we hold the lock */
    assert_aio_ok(aio_lock_release(t, f->lock));
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void lock_acquire_nowait_and_fast_form(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_lock lock = AIO_LOCK_INIT;
    test_log log = {0};
    assert_aio_ok(aio_lock_acquire_nowait(loop, &lock));
    assert_aio_err(aio_lock_acquire_nowait(loop, &lock), -EAGAIN);
    aio_future w = spawn_locker(loop, &lock, &log, 1, 1);
    yield_once(loop);
    assert_aio_ok(aio_lock_release(loop, &lock));                  /* reserved for w */
    assert_aio_err(aio_lock_acquire_nowait(loop, &lock), -EAGAIN); /* no barging */
    assert_aio_ok(aio_run_until_complete(loop, w, NULL));
    /* the fast form: at once, then contended */
    aio_future a = aio_spawn(loop, fast_locker, &(struct fast_locker){&lock, &log, 2, 0});
    aio_future b = aio_spawn(loop, fast_locker, &(struct fast_locker){&lock, &log, 3, 0});
    assert_aio_ok(aio_run_until_complete(loop, a, NULL));
    assert_aio_ok(aio_run_until_complete(loop, b, NULL));
    assert_log(&log, 1, 2, 3);
    /* served at once while a cancel is pending: it holds the lock, and the
     * cancel arrives at the next await */
    aio_future c = aio_spawn(loop, fast_locker, &(struct fast_locker){&lock, &log, 4, 1});
    assert_aio_err(aio_run_until_complete(loop, c, NULL), AIO_ECANCELLED);
    assert_log(&log, 1, 2, 3, 4);
    assert_int_equal(aio_lock_locked(&lock), 0);
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(LOCK_01_fifo),
        cmocka_unit_test(LOCK_02_release_not_acquired),
        cmocka_unit_test(LOCK_02_free_lock_does_not_suspend),
        cmocka_unit_test(LOCK_02_acquire_cancel),
        cmocka_unit_test(LOCK_03_bpo32734_cancel_release_race),
        cmocka_unit_test(LOCK_03_bpo27585_cancel_race),
        cmocka_unit_test(LOCK_03_finished_waiter_cancelled),
        cmocka_unit_test(lock_woken_then_cancelled_passes_the_lock_on),
        cmocka_unit_test(lock_immediate_acquire_taken_at_the_await),
        cmocka_unit_test(lock_acquire_nowait_and_fast_form),
        cmocka_unit_test(lock_binds_to_one_loop),
        cmocka_unit_test(lock_close_with_waiters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
