/* aio_barrier (asyncio.Barrier): BARRIER-01..04, after CPython's
 * BarrierTests. */
#include "sync_support.h"

enum { FILLING, DRAINING, RESETTING, BROKEN }; /* aio__state, for white-box checks */

struct bw {
    aio_barrier *b;
    test_log *order; /* tags in the order the waits return */
    int tag;
    int64_t *index; /* the index the wait returned */
    int *err;       /* its outcome */
    int *saw_state; /* the barrier's state right after the wait */
    int again;      /* wait once more after a failure (reset) */
};

AIO_CORO(barrier_waiter, struct bw) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_barrier_wait(t, f->b));
    if (f->err)
        *f->err = AIO_ERR(t);
    if (f->saw_state)
        *f->saw_state = f->b->aio__state;
    if (AIO_ERR(t) == AIO_EBROKEN && f->again) {
        AIO_AWAIT(t, aio_barrier_wait(t, f->b));
        if (f->err)
            *f->err = AIO_ERR(t);
    }
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    if (f->index)
        *f->index = AIO_RESULT(t).i;
    if (f->order)
        log_add(f->order, f->tag);
    AIO_END(t);
}

static aio_future spawn_bw(aio_loop *loop, aio_barrier *b, test_log *order, int tag, int64_t *index) {
    return aio_spawn(loop, barrier_waiter, &(struct bw){b, order, tag, index, NULL, NULL, 0});
}

/* BARRIER-01 (test_filling_task_by_task, test_barrier_parties): arrival
 * indexes, and the last arrival returns first. */
static void BARRIER_01_filling(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_barrier b = AIO_BARRIER_INIT(3);
    test_log order = {0};
    int64_t idx[3] = {-1, -1, -1};
    aio_future t[3];
    t[0] = spawn_bw(loop, &b, &order, 'a', &idx[0]);
    yield_once(loop);
    assert_int_equal(aio_barrier_n_waiting(&b), 1);
    t[1] = spawn_bw(loop, &b, &order, 'b', &idx[1]);
    yield_once(loop);
    assert_int_equal(aio_barrier_n_waiting(&b), 2);
    t[2] = spawn_bw(loop, &b, &order, 'c', &idx[2]);
    yield_once(loop);
    assert_int_equal(aio_barrier_n_waiting(&b), 0);
    assert_int_equal(b.aio__state, DRAINING);
    for (int i = 0; i < 3; i++)
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 2);
    assert_log(&order, 'c', 'a', 'b');
    assert_int_equal(aio_barrier_n_waiting(&b), 0);
    assert_int_equal(aio_barrier_broken(&b), 0);
    assert_int_equal(aio_barrier_parties(&b), 3);
    assert_int_equal(b.aio__state, FILLING);
    aio_loop_free(loop);
}

/* BARRIER-01 (test_filling_one_task, parties): Barrier(1) returns 0 at
 * once; parties must be >= 1. */
static void BARRIER_01_one_party_and_bad_parties(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_barrier b;
    assert_aio_err(aio_barrier_init(&b, 0), -EINVAL);
    assert_aio_err(aio_barrier_init(&b, -4), -EINVAL);
    assert_aio_err(aio_barrier_init(NULL, 1), -EINVAL);
    aio_barrier zeroed = {0};
    assert_aio_err(aio_future_check(aio_barrier_wait(loop, &zeroed)), -EINVAL);
    assert_aio_ok(aio_barrier_init(&b, 1));
    for (int i = 0; i < 2; i++) {
        aio_future f = aio_barrier_wait(loop, &b);
        assert_int_equal(aio_future_done(loop, f), 1);
        aio_value v;
        assert_aio_ok(aio_run_until_complete(loop, f, &v));
        assert_int_equal(v.i, 0);
    }
    assert_int_equal(b.aio__state, FILLING);
    aio_loop_free(loop);
}

/* BARRIER-01 (test_filling_tasks_cancel_one): a waiter cancelled while
 * filling leaves; the cycle completes with the others. */
static void BARRIER_01_cancel_while_filling(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_barrier b = AIO_BARRIER_INIT(3);
    test_log order = {0};
    aio_future t1 = spawn_bw(loop, &b, &order, 1, NULL);
    aio_future t2 = spawn_bw(loop, &b, &order, 2, NULL);
    yield_once(loop);
    assert_int_equal(aio_barrier_n_waiting(&b), 2);
    assert_int_equal(aio_task_cancel(loop, t1, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, t1, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_barrier_n_waiting(&b), 1);
    aio_future t3 = spawn_bw(loop, &b, &order, 3, NULL);
    yield_once(loop);
    assert_int_equal(aio_barrier_n_waiting(&b), 2);
    aio_future t4 = spawn_bw(loop, &b, &order, 4, NULL);
    assert_aio_ok(aio_run_until_complete(loop, t2, NULL));
    assert_aio_ok(aio_run_until_complete(loop, t3, NULL));
    assert_aio_ok(aio_run_until_complete(loop, t4, NULL));
    assert_log(&order, 4, 2, 3);
    aio_loop_free(loop);
}

/* BARRIER-02 (test_draining_state, test_blocking_tasks_while_draining): a
 * late arrival waits for the next cycle, and is its index 0. */
static void BARRIER_02_late_arrival_waits_for_the_next_cycle(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_barrier b = AIO_BARRIER_INIT(3);
    int64_t idx[6] = {-1, -1, -1, -1, -1, -1};
    aio_future t[6];
    for (int i = 0; i < 4; i++) /* a, b, c and L in one step */
        t[i] = spawn_bw(loop, &b, NULL, i, &idx[i]);
    for (int i = 0; i < 3; i++)
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 2);
    yield_once(loop);
    assert_int_equal(aio_future_done(loop, t[3]), 0);
    assert_int_equal(b.aio__state, FILLING);
    assert_int_equal(aio_barrier_n_waiting(&b), 1);
    t[4] = spawn_bw(loop, &b, NULL, 4, &idx[4]);
    t[5] = spawn_bw(loop, &b, NULL, 5, &idx[5]);
    for (int i = 3; i < 6; i++)
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
    assert_int_equal(idx[3], 0);
    assert_int_equal(idx[4], 1);
    assert_int_equal(idx[5], 2);
    aio_loop_free(loop);
}

/* BARRIER-02 (test_draining_state): in Barrier(5), the first 4 to leave
 * see it draining, the last sees it filling. */
static void BARRIER_02_draining_until_the_last_leaves(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_barrier b = AIO_BARRIER_INIT(5);
    int saw[5];
    aio_future t[5];
    for (int i = 0; i < 5; i++)
        t[i] = aio_spawn(loop, barrier_waiter, &(struct bw){&b, NULL, i, NULL, NULL, &saw[i], 0});
    for (int i = 0; i < 5; i++)
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
    int draining = 0, filling = 0;
    for (int i = 0; i < 5; i++) {
        draining += saw[i] == DRAINING;
        filling += saw[i] == FILLING;
    }
    assert_int_equal(draining, 4);
    assert_int_equal(filling, 1);
    assert_int_equal(saw[3], FILLING); /* the last to leave: t[4] tripped it and left first */
    aio_loop_free(loop);
}

/* BARRIER-03 (test_reset_barrier*): reset breaks the waiting tasks; they
 * wait again, a fifth arrives, and all pass. An idle reset does nothing. */
static void BARRIER_03_reset(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_barrier b = AIO_BARRIER_INIT(5);
    assert_aio_ok(aio_barrier_reset(loop, &b)); /* idle: nothing */
    assert_int_equal(b.aio__state, FILLING);
    int err[5];
    aio_future t[5];
    for (int i = 0; i < 4; i++)
        t[i] = aio_spawn(loop, barrier_waiter, &(struct bw){&b, NULL, i, NULL, &err[i], NULL, 1});
    yield_once(loop);
    assert_int_equal(aio_barrier_n_waiting(&b), 4);
    assert_aio_ok(aio_barrier_reset(loop, &b));
    assert_int_equal(b.aio__state, RESETTING);
    yield_once(loop);
    yield_once(loop);
    assert_int_equal(b.aio__state, FILLING);
    assert_int_equal(aio_barrier_n_waiting(&b), 4); /* they wait again */
    t[4] = aio_spawn(loop, barrier_waiter, &(struct bw){&b, NULL, 4, NULL, &err[4], NULL, 0});
    for (int i = 0; i < 5; i++) {
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
        assert_aio_ok(err[i]);
    }
    assert_int_equal(aio_barrier_broken(&b), 0);
    assert_int_equal(aio_barrier_n_waiting(&b), 0);
    assert_int_equal(b.aio__state, FILLING);
    aio_loop_free(loop);
}

/* The first wait of each task failed with AIO_EBROKEN (reset). */
struct first_fails {
    aio_barrier *b;
    int *first_err;
};
AIO_CORO(wait_expect_broken, struct first_fails) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_barrier_wait(t, f->b));
    *f->first_err = AIO_ERR(t);
    AIO_END(t);
}

static void BARRIER_03_reset_breaks_the_waiters(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_barrier b = AIO_BARRIER_INIT(5);
    int err[4] = {1, 1, 1, 1};
    aio_future t[4];
    for (int i = 0; i < 4; i++)
        t[i] = aio_spawn(loop, wait_expect_broken, &(struct first_fails){&b, &err[i]});
    yield_once(loop);
    assert_aio_ok(aio_barrier_reset(loop, &b));
    for (int i = 0; i < 4; i++) {
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
        assert_aio_err(err[i], AIO_EBROKEN);
    }
    assert_int_equal(b.aio__state, FILLING);
    aio_loop_free(loop);
}

/* BARRIER-04 (test_abort_barrier): after a first cycle, the task with
 * index 2 aborts. Every other task fails with AIO_EBROKEN: in its second
 * wait, or in its first if it had not resumed yet (as in asyncio, where a
 * released task checks the state once it runs again); none passes the
 * second. Later waits fail; after reset, a full cycle passes. */
struct aborter {
    aio_barrier *b;
    int *broken;
    int *passed_twice;
};
AIO_CORO(abort_at_two, struct aborter) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_barrier_wait(t, f->b));
    if (AIO_ERR(t) == AIO_EBROKEN) {
        (*f->broken)++;
        AIO_RETURN(t, 0);
    }
    assert_aio_ok(AIO_ERR(t));
    if (AIO_RESULT(t).i == 2) {
        assert_aio_ok(aio_barrier_abort(t, f->b)); /* asyncio: after a RuntimeError inside */
        AIO_RETURN(t, 0);
    }
    AIO_AWAIT(t, aio_barrier_wait(t, f->b));
    if (AIO_ERR(t) == AIO_EBROKEN)
        (*f->broken)++;
    else
        (*f->passed_twice)++;
    AIO_END(t);
}

static void BARRIER_04_abort(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_barrier b = AIO_BARRIER_INIT(5);
    int broken = 0, passed_twice = 0;
    aio_future t[5];
    for (int i = 0; i < 5; i++)
        t[i] = aio_spawn(loop, abort_at_two, &(struct aborter){&b, &broken, &passed_twice});
    for (int i = 0; i < 5; i++)
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
    assert_int_equal(broken, 4);
    assert_int_equal(passed_twice, 0);
    assert_int_equal(aio_barrier_broken(&b), 1);
    assert_int_equal(aio_barrier_n_waiting(&b), 0);
    assert_aio_err(aio_future_check(aio_barrier_wait(loop, &b)), AIO_EBROKEN);
    assert_aio_ok(aio_barrier_reset(loop, &b));
    assert_int_equal(aio_barrier_broken(&b), 0);
    for (int i = 0; i < 5; i++)
        t[i] = spawn_bw(loop, &b, NULL, i, NULL);
    for (int i = 0; i < 5; i++)
        assert_aio_ok(aio_run_until_complete(loop, t[i], NULL));
    aio_loop_free(loop);
}

/* BARRIER-04: a task already waiting when abort() comes fails, and so
 * does a task blocked while the barrier drains. */
static void BARRIER_04_abort_wakes_filling_and_blocked(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_barrier b = AIO_BARRIER_INIT(2);
    int err[4] = {1, 1, 1, 1};
    aio_future t[4];
    for (int i = 0; i < 3; i++) /* two pass; the third is blocked while they drain */
        t[i] = aio_spawn(loop, barrier_waiter, &(struct bw){&b, NULL, i, NULL, &err[i], NULL, 0});
    yield_once(loop);
    assert_int_equal(b.aio__block.count, 1);
    assert_aio_ok(aio_barrier_abort(loop, &b));
    for (int i = 0; i < 3; i++)
        aio_run_until_complete(loop, t[i], NULL);
    assert_aio_err(err[2], AIO_EBROKEN);
    assert_int_equal(aio_barrier_broken(&b), 1);
    aio_loop_free(loop);
}

/* A released waiter cancelled before it resumed still leaves the cycle:
 * the barrier fills again. */
static void barrier_released_then_cancelled(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_barrier b = AIO_BARRIER_INIT(2);
    aio_future a = spawn_bw(loop, &b, NULL, 0, NULL);
    yield_once(loop);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_barrier_wait(loop, &b), &v)); /* trips it */
    assert_int_equal(v.i, 1);
    assert_int_equal(aio_task_cancel(loop, a, NULL), 1); /* released, not yet resumed */
    assert_aio_err(aio_run_until_complete(loop, a, NULL), AIO_ECANCELLED);
    assert_int_equal(b.aio__state, FILLING);
    assert_int_equal(b.aio__passing, 0);
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(BARRIER_01_filling),
        cmocka_unit_test(BARRIER_01_one_party_and_bad_parties),
        cmocka_unit_test(BARRIER_01_cancel_while_filling),
        cmocka_unit_test(BARRIER_02_late_arrival_waits_for_the_next_cycle),
        cmocka_unit_test(BARRIER_02_draining_until_the_last_leaves),
        cmocka_unit_test(BARRIER_03_reset),
        cmocka_unit_test(BARRIER_03_reset_breaks_the_waiters),
        cmocka_unit_test(BARRIER_04_abort),
        cmocka_unit_test(BARRIER_04_abort_wakes_filling_and_blocked),
        cmocka_unit_test(barrier_released_then_cancelled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
