/* aio_semaphore (asyncio.Semaphore, BoundedSemaphore): SEM-01..03, after
 * CPython's SemaphoreTests, and gh-90155 (FIFO: a newcomer, or a task
 * re-acquiring, never overtakes a waiter already woken; a permit reserved
 * for a waiter cancelled before it resumed is not lost). */
#include "sync_support.h"

struct sem_task {
    aio_semaphore *sem;
    test_log *log;
    int tag;
    int rounds;            /* acquire, log, [sleep], release this many times (0: acquire and keep) */
    double hold;           /* seconds to sleep while holding */
    int release_reacquire; /* after the first acquire: release, acquire again, log tag + 2 */
    int i;
};

AIO_CORO(sem_task, struct sem_task) {
    AIO_BEGIN(t);
    if (f->rounds == 0) {
        AIO_AWAIT(t, aio_semaphore_acquire(t, f->sem));
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
        assert_int_equal(AIO_RESULT(t).i, 1);
        log_add(f->log, f->tag);
        if (f->release_reacquire) {
            assert_aio_ok(aio_semaphore_release(t, f->sem));
            AIO_AWAIT(t, aio_semaphore_acquire(t, f->sem));
            assert_aio_ok(AIO_ERR(t));
            log_add(f->log, f->tag + 2);
        }
        AIO_RETURN(t, 1);
    }
    for (f->i = 1; f->i <= f->rounds; f->i++) {
        AIO_AWAIT(t, aio_semaphore_acquire(t, f->sem));
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
        log_add(f->log, f->tag * 10 + f->i);
        AIO_AWAIT(t, aio_sleep(t, f->hold));
        assert_aio_ok(aio_semaphore_release(t, f->sem));
    }
    AIO_END(t);
}

static aio_future spawn_acquirer(aio_loop *loop, aio_semaphore *sem, test_log *log, int tag) {
    return aio_spawn(loop, sem_task, &(struct sem_task){sem, log, tag, 0, 0, 0, 0});
}

static void acquire_now(aio_loop *loop, aio_semaphore *sem) {
    assert_aio_ok(aio_run_until_complete(loop, aio_semaphore_acquire(loop, sem), NULL));
}

/* SEM-01: counting (SemaphoreTests::test_acquire). */
static void SEM_01_acquire(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_semaphore sem = AIO_SEMAPHORE_INIT(3);
    test_log log = {0};
    acquire_now(loop, &sem);
    acquire_now(loop, &sem);
    assert_int_equal(aio_semaphore_locked(&sem), 0);
    aio_future c1 = spawn_acquirer(loop, &sem, &log, 1);
    aio_future c2 = spawn_acquirer(loop, &sem, &log, 2);
    aio_future c3 = spawn_acquirer(loop, &sem, &log, 3);
    yield_once(loop);
    assert_log(&log, 1);
    assert_int_equal(aio_semaphore_locked(&sem), 1);
    assert_int_equal(sem.aio__q.count, 2);
    assert_int_equal(aio_semaphore_value(&sem), 0);
    aio_future c4 = spawn_acquirer(loop, &sem, &log, 4);
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    assert_int_equal(aio_semaphore_value(&sem), 0); /* both reserved for the woken */
    yield_once(loop);
    assert_log(&log, 1, 2, 3);
    assert_int_equal(aio_semaphore_locked(&sem), 1);
    assert_int_equal(sem.aio__q.count, 1);
    assert_int_equal(aio_semaphore_value(&sem), 0);
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    for (int i = 0; i < 4; i++)
        assert_aio_ok(aio_run_until_complete(loop, (aio_future[]){c1, c2, c3, c4}[i], NULL));
    assert_log(&log, 1, 2, 3, 4);
    aio_loop_free(loop);
}

/* SEM-01: bad values and bounds (test_semaphore_value, test_initial_value_zero,
 * test_release_not_acquired; BoundedSemaphore). */
static void SEM_01_values_and_bounds(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_semaphore sem;
    assert_aio_err(aio_semaphore_init(&sem, -1), -EINVAL);
    assert_aio_err(aio_bounded_semaphore_init(&sem, -1), -EINVAL);
    assert_aio_err(aio_semaphore_init(NULL, 1), -EINVAL);
    assert_aio_ok(aio_semaphore_init(&sem, 0));
    assert_int_equal(aio_semaphore_locked(&sem), 1);

    aio_semaphore bounded;
    assert_aio_ok(aio_bounded_semaphore_init(&bounded, 2));
    assert_aio_err(aio_semaphore_release(loop, &bounded), -EOVERFLOW);
    acquire_now(loop, &bounded);
    assert_aio_ok(aio_semaphore_release(loop, &bounded));
    assert_aio_err(aio_semaphore_release(loop, &bounded), -EOVERFLOW);
    assert_int_equal(aio_semaphore_value(&bounded), 2);
    aio_semaphore bounded_static = AIO_BOUNDED_SEMAPHORE_INIT(1);
    assert_aio_err(aio_semaphore_release(loop, &bounded_static), -EOVERFLOW);

    aio_semaphore plain = AIO_SEMAPHORE_INIT(1);
    assert_aio_ok(aio_semaphore_release(loop, &plain));
    assert_aio_ok(aio_semaphore_release(loop, &plain));
    assert_int_equal(aio_semaphore_value(&plain), 3);
    aio_loop_free(loop);
}

/* SEM-02 (test_acquire_fifo_order): Semaphore(1), three tasks, each twice:
 * acquire, log, sleep 0.01, release. Strict turns; t = 0.06. */
static void SEM_02_fifo_order(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_semaphore sem = AIO_SEMAPHORE_INIT(1);
    test_log log = {0};
    aio_future t[3];
    for (int i = 0; i < 3; i++)
        t[i] = aio_spawn(loop, sem_task, &(struct sem_task){&sem, &log, i + 1, 2, 0.01, 0, 0});
    for (int i = 0; i < 3; i++)
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
    assert_log(&log, 11, 21, 31, 12, 22, 32);
    assert_true(aio_loop_time(loop) >= 0.06 && aio_loop_time(loop) < 0.061);
    aio_loop_free(loop);
}

/* SEM-02, gh-90155 (test_acquire_fifo_order_2): c2 and c3 are woken by two
 * releases; c2 releases and re-acquires at once: it goes behind c3, which
 * was woken first. [1, 2, 3, 4]. */
static void SEM_02_gh90155_no_overtaking_a_woken_waiter(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_semaphore sem = AIO_SEMAPHORE_INIT(1);
    test_log log = {0};
    aio_future c1 = spawn_acquirer(loop, &sem, &log, 1);
    aio_future c2 = aio_spawn(loop, sem_task, &(struct sem_task){&sem, &log, 2, 0, 0, 1, 0});
    aio_future c3 = spawn_acquirer(loop, &sem, &log, 3);
    yield_once(loop);
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    assert_aio_ok(aio_run_until_complete(loop, c1, NULL));
    assert_aio_ok(aio_run_until_complete(loop, c2, NULL));
    assert_aio_ok(aio_run_until_complete(loop, c3, NULL));
    assert_log(&log, 1, 2, 3, 4);
    aio_loop_free(loop);
}

/* SEM-02, the last variant: main holds Semaphore(1), W waits. Main
 * releases and acquires again at once: locked() is true right after the
 * release, and main gets it after W: [W, main]. */
static void SEM_02_release_then_acquire_waits_behind(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_semaphore sem = AIO_SEMAPHORE_INIT(1);
    test_log log = {0};
    acquire_now(loop, &sem);
    aio_future w = aio_spawn(loop, sem_task, &(struct sem_task){&sem, &log, 'W', 1, 0, 0, 0});
    yield_once(loop);
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    assert_int_equal(aio_semaphore_locked(&sem), 1);
    aio_future mine = aio_semaphore_acquire(loop, &sem);
    assert_int_equal(aio_future_done(loop, mine), 0);
    assert_aio_ok(aio_run_until_complete(loop, mine, NULL));
    log_add(&log, 'M');
    assert_aio_ok(aio_run_until_complete(loop, w, NULL));
    assert_log(&log, 'W' * 10 + 1, 'M');
    aio_loop_free(loop);
}

/* SEM-03 (test_acquire_cancel_before_awoken): t1..t4 wait on Semaphore(0);
 * in one step t1 and t2 are cancelled and one permit released: t3 gets it,
 * t4 still waits. */
static void SEM_03_cancel_before_awoken(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_semaphore sem = AIO_SEMAPHORE_INIT(0);
    test_log log = {0};
    aio_future t[4];
    for (int i = 0; i < 4; i++)
        t[i] = spawn_acquirer(loop, &sem, &log, i + 1);
    yield_once(loop);
    assert_int_equal(aio_task_cancel(loop, t[0], NULL), 1);
    assert_int_equal(aio_task_cancel(loop, t[1], NULL), 1);
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    yield_once(loop);
    yield_once(loop);
    assert_log(&log, 3);
    assert_int_equal(aio_future_done(loop, t[3]), 0);
    assert_int_equal(aio_semaphore_locked(&sem), 1);
    assert_aio_err(aio_run_until_complete(loop, t[0], NULL), AIO_ECANCELLED);
    assert_aio_err(aio_run_until_complete(loop, t[1], NULL), AIO_ECANCELLED);
    assert_aio_ok(aio_run_until_complete(loop, t[2], NULL));
    assert_int_equal(aio_task_cancel(loop, t[3], NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, t[3], NULL), AIO_ECANCELLED);
    aio_loop_free(loop);
}

/* SEM-03 (test_acquire_hang): c1 is cancelled and gone before two
 * releases: c2 and c3 get them. */
static void SEM_03_acquire_hang(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_semaphore sem = AIO_SEMAPHORE_INIT(0);
    test_log log = {0};
    aio_future c[3];
    for (int i = 0; i < 3; i++)
        c[i] = spawn_acquirer(loop, &sem, &log, i + 1);
    yield_once(loop);
    assert_int_equal(aio_task_cancel(loop, c[0], NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, c[0], NULL), AIO_ECANCELLED);
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    assert_aio_ok(aio_run_until_complete(loop, c[1], NULL));
    assert_aio_ok(aio_run_until_complete(loop, c[2], NULL));
    assert_log(&log, 2, 3);
    aio_loop_free(loop);
}

/* SEM-03, gh-90155 (test_acquire_no_hang, test_acquire_fifo_order_3): c1
 * holds Semaphore(1), c2 waits; in one step c1 releases (waking c2) and c2
 * is cancelled before it resumed. The permit comes back: free, and a
 * wait_for(acquire, 1.0) gets it at once. */
struct release_then_cancel {
    aio_semaphore *sem;
    aio_future victim;
};
static void release_then_cancel_cb(aio_loop *loop, void *arg) {
    struct release_then_cancel *r = arg;
    assert_aio_ok(aio_semaphore_release(loop, r->sem));
    assert_int_equal(aio_task_cancel(loop, r->victim, NULL), 1);
}

static void SEM_03_gh90155_woken_then_cancelled_gives_the_permit_back(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_semaphore sem = AIO_SEMAPHORE_INIT(1);
    test_log log = {0};
    acquire_now(loop, &sem);
    aio_future c2 = spawn_acquirer(loop, &sem, &log, 2);
    yield_once(loop);
    struct release_then_cancel r = {&sem, c2};
    assert_aio_ok(aio_call_soon(loop, release_then_cancel_cb, &r, NULL));
    assert_aio_err(aio_run_until_complete(loop, c2, NULL), AIO_ECANCELLED);
    assert_int_equal(log.n, 0);
    assert_int_equal(aio_semaphore_locked(&sem), 0);
    assert_int_equal(aio_semaphore_value(&sem), 1);
    assert_aio_ok(
        aio_run_until_complete(loop, aio_wait_for(loop, aio_semaphore_acquire(loop, &sem), 1.0), NULL));
    assert_true(aio_loop_time(loop) < 0.001);
    assert_int_equal(aio_semaphore_value(&sem), 0);
    aio_loop_free(loop);
}

/* A waiter cancelled while queued leaves the queue (test_acquire_cancel). */
static void semaphore_acquire_cancel(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_semaphore sem = AIO_SEMAPHORE_INIT(0);
    test_log log = {0};
    aio_future w = spawn_acquirer(loop, &sem, &log, 1);
    yield_once(loop);
    assert_int_equal(sem.aio__q.count, 1);
    assert_int_equal(aio_task_cancel(loop, w, NULL), 1);
    assert_int_equal(sem.aio__q.count, 0);
    assert_aio_err(aio_run_until_complete(loop, w, NULL), AIO_ECANCELLED);
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    assert_int_equal(aio_semaphore_value(&sem), 1);
    aio_loop_free(loop);
}

/* Errors of the loop binding. */
static void semaphore_binds_to_one_loop(void **state) {
    (void)state;
    aio_loop *a = test_loop_new(0), *b = test_loop_new(0);
    aio_semaphore sem = AIO_SEMAPHORE_INIT(1);
    acquire_now(a, &sem);
    assert_aio_err(aio_semaphore_release(b, &sem), AIO_EFOREIGN);
    assert_aio_err(aio_future_check(aio_semaphore_acquire(b, &sem)), AIO_EFOREIGN);
    assert_aio_err(aio_semaphore_release(a, NULL), -EINVAL);
    aio_loop_free(b);
    assert_aio_ok(aio_loop_close(a));
    assert_aio_err(aio_semaphore_release(a, &sem), AIO_ECLOSED);
    aio_loop_free(a);
}

/* acquire_nowait and AIO_SEMAPHORE_ACQUIRE. */
struct fast_sem {
    aio_semaphore *sem;
    test_log *log;
    int tag;
};
AIO_CORO(fast_sem, struct fast_sem) {
    AIO_BEGIN(t);
    AIO_SEMAPHORE_ACQUIRE(t, f->sem);
    assert_aio_ok(AIO_ERR(t));
    assert_int_equal(AIO_RESULT(t).i, 1);
    log_add(f->log, f->tag);
    AIO_YIELD(t);
    assert_aio_ok(aio_semaphore_release(t, f->sem));
    AIO_END(t);
}

static void semaphore_acquire_nowait_and_fast_form(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_semaphore sem = AIO_SEMAPHORE_INIT(2);
    test_log log = {0};
    assert_aio_ok(aio_semaphore_acquire_nowait(loop, &sem));
    assert_aio_ok(aio_semaphore_acquire_nowait(loop, &sem));
    assert_aio_err(aio_semaphore_acquire_nowait(loop, &sem), -EAGAIN);
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    assert_aio_ok(aio_semaphore_release(loop, &sem));
    aio_future t[4];
    for (int i = 0; i < 4; i++)
        t[i] = aio_spawn(loop, fast_sem, &(struct fast_sem){&sem, &log, i + 1});
    yield_once(loop);
    assert_log(&log, 1, 2); /* two permits: two at once, two wait */
    for (int i = 0; i < 4; i++)
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
    assert_log(&log, 1, 2, 3, 4);
    assert_int_equal(aio_semaphore_value(&sem), 2);
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(SEM_01_acquire),
        cmocka_unit_test(SEM_01_values_and_bounds),
        cmocka_unit_test(SEM_02_fifo_order),
        cmocka_unit_test(SEM_02_gh90155_no_overtaking_a_woken_waiter),
        cmocka_unit_test(SEM_02_release_then_acquire_waits_behind),
        cmocka_unit_test(SEM_03_cancel_before_awoken),
        cmocka_unit_test(SEM_03_acquire_hang),
        cmocka_unit_test(SEM_03_gh90155_woken_then_cancelled_gives_the_permit_back),
        cmocka_unit_test(semaphore_acquire_cancel),
        cmocka_unit_test(semaphore_acquire_nowait_and_fast_form),
        cmocka_unit_test(semaphore_binds_to_one_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
