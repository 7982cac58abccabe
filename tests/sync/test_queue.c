/* aio_queue (asyncio.Queue, LifoQueue, PriorityQueue): QUEUE-01..07, after
 * CPython's test_queues.py, and its getter/putter races (a getter or a
 * putter cancelled while its wake-up is on the way must not drop or
 * duplicate an item, nor stay registered). The join and shutdown cases run
 * on all three kinds, as CPython's mixins do. */
#include "sync_support.h"

#include <stdlib.h>

enum { FIFO, LIFO, PRIORITY };

static void init_kind(aio_queue *q, int kind, size_t maxsize) {
    if (kind == FIFO)
        assert_aio_ok(aio_queue_init(q, maxsize));
    else if (kind == LIFO)
        assert_aio_ok(aio_lifo_queue_init(q, maxsize));
    else
        assert_aio_ok(aio_priority_queue_init(q, maxsize, NULL));
}

/* A getter: gets n items, logging each; optionally task_done each. */
struct getter {
    aio_queue *q;
    test_log *log;
    int n;
    int task_done;
    int *err;
    int64_t *sum;
    int i;
};
AIO_CORO(getter, struct getter) {
    AIO_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        AIO_AWAIT(t, aio_queue_get(t, f->q));
        if (f->err)
            *f->err = AIO_ERR(t);
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
        if (f->log)
            log_add(f->log, (int)AIO_RESULT(t).i);
        if (f->sum)
            *f->sum += AIO_RESULT(t).i;
        if (f->task_done)
            assert_aio_ok(aio_queue_task_done(t, f->q));
    }
    AIO_END(t);
}
static aio_future spawn_getter(aio_loop *loop, aio_queue *q, test_log *log, int n) {
    return aio_spawn(loop, getter, &(struct getter){q, log, n, 0, NULL, NULL, 0});
}

/* A putter: puts items[0..n), logging each once it is in. */
struct putter {
    aio_queue *q;
    test_log *log;
    const int *items;
    int n;
    int *err;
    int i;
};
AIO_CORO(putter, struct putter) {
    AIO_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        AIO_AWAIT(t, aio_queue_put(t, f->q, f->items[f->i]));
        if (f->err)
            *f->err = AIO_ERR(t);
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
        if (f->log)
            log_add(f->log, f->items[f->i]);
    }
    AIO_END(t);
}
static aio_future spawn_putter(aio_loop *loop, aio_queue *q, test_log *log, const int *items, int n) {
    return aio_spawn(loop, putter, &(struct putter){q, log, items, n, NULL, 0});
}

static int64_t get_now(aio_loop *loop, aio_queue *q) {
    aio_value v;
    assert_aio_ok(aio_queue_get_nowait(loop, q, &v));
    return v.i;
}

static int64_t get_waiting(aio_loop *loop, aio_queue *q) {
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_queue_get(loop, q), &v));
    return v.i;
}

/* QUEUE-01 (test_order, LifoQueueTests/PriorityQueueTests::test_order). */
static void QUEUE_01_order(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    static const int64_t expect[3][3] = {{1, 3, 2}, {2, 3, 1}, {1, 2, 3}};
    for (int kind = 0; kind < 3; kind++) {
        aio_queue q;
        init_kind(&q, kind, 0);
        assert_aio_ok(aio_queue_put_nowait(loop, &q, 1));
        assert_aio_ok(aio_queue_put_nowait(loop, &q, 3));
        assert_aio_ok(aio_queue_put_nowait(loop, &q, 2));
        for (int i = 0; i < 3; i++)
            assert_int_equal(get_now(loop, &q), expect[kind][i]);
        assert_aio_ok(aio_queue_destroy(loop, &q));
    }
    aio_loop_free(loop);
}

/* QUEUE-01: a priority queue orders by the key its key function gives;
 * equal keys leave in arrival order. asyncio compares whole tuples:
 * [(1, 'a'), (1, 'z'), (2, 'b')] comes from a key that includes the name. */
struct entry {
    int prio;
    char name;
};
static int64_t by_prio(aio_value item) { return ((const struct entry *)item.p)->prio; }
static int64_t by_prio_then_name(aio_value item) {
    const struct entry *e = item.p;
    return (int64_t)e->prio * 256 + e->name;
}

static void QUEUE_01_priority_keys_and_ties(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct entry e[3] = {{1, 'z'}, {2, 'b'}, {1, 'a'}};
    aio_queue q = AIO_PRIORITY_QUEUE_INIT(0, by_prio_then_name);
    for (int i = 0; i < 3; i++)
        assert_aio_ok(aio_queue_put_nowait(loop, &q, &e[i]));
    aio_value v;
    const char expect_tuples[] = "azb";
    for (int i = 0; i < 3; i++) {
        assert_aio_ok(aio_queue_get_nowait(loop, &q, &v));
        assert_int_equal(((struct entry *)v.p)->name, expect_tuples[i]);
    }
    aio_queue ties;
    assert_aio_ok(aio_priority_queue_init(&ties, 0, by_prio));
    for (int i = 0; i < 3; i++)
        assert_aio_ok(aio_queue_put_nowait(loop, &ties, &e[i]));
    const char expect_fifo_ties[] = "zab"; /* prio 1 in arrival order, then 2 */
    for (int i = 0; i < 3; i++) {
        assert_aio_ok(aio_queue_get_nowait(loop, &ties, &v));
        assert_int_equal(((struct entry *)v.p)->name, expect_fifo_ties[i]);
    }
    /* a big heap: sorted, and equal keys stable */
    aio_queue big = AIO_PRIORITY_QUEUE_INIT(0, NULL);
    enum { N = 5000 };
    unsigned seed = 7;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        int64_t key = (seed >> 16) % 50;
        assert_aio_ok(aio_queue_put_nowait(loop, &big, key * 100000 + i)); /* key, then arrival */
    }
    int64_t last = -1;
    for (int i = 0; i < N; i++) {
        int64_t x = get_now(loop, &big);
        assert_true(x > last);
        last = x;
    }
    assert_aio_ok(aio_queue_destroy(loop, &q));
    assert_aio_ok(aio_queue_destroy(loop, &ties));
    assert_aio_ok(aio_queue_destroy(loop, &big));
    aio_loop_free(loop);
}

/* QUEUE-01 (test_empty, test_full, test_nonblocking_*_exception). */
static void QUEUE_01_capacity_and_nowait(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_queue q = AIO_QUEUE_INIT(1);
    aio_value v;
    assert_int_equal(aio_queue_empty(&q), 1);
    assert_aio_err(aio_queue_get_nowait(loop, &q, &v), -EAGAIN);
    assert_aio_ok(aio_queue_put_nowait(loop, &q, 1));
    assert_int_equal(aio_queue_full(&q), 1);
    assert_int_equal(aio_queue_empty(&q), 0);
    assert_aio_err(aio_queue_put_nowait(loop, &q, 2), -EAGAIN);
    assert_int_equal(aio_queue_qsize(&q), 1);
    assert_int_equal(aio_queue_maxsize(&q), 1);
    assert_aio_ok(aio_queue_destroy(loop, &q));
    aio_queue unbounded = AIO_QUEUE_INIT(0);
    for (int i = 0; i < 1000; i++)
        assert_aio_ok(aio_queue_put_nowait(loop, &unbounded, i));
    assert_int_equal(aio_queue_full(&unbounded), 0);
    assert_int_equal(aio_queue_qsize(&unbounded), 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(get_now(loop, &unbounded), i);
    assert_aio_ok(aio_queue_destroy(loop, &unbounded));
    assert_aio_err(aio_queue_get_nowait(loop, &unbounded, NULL), -EINVAL);
    aio_loop_free(loop);
}

/* QUEUE-02 (test_maxsize): a putter blocks on a full queue. */
static void QUEUE_02_maxsize(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_queue q = AIO_QUEUE_INIT(2);
    test_log log = {0};
    static const int items[] = {0, 1, 2};
    aio_future p = spawn_putter(loop, &q, &log, items, 3);
    yield_once(loop);
    yield_once(loop);
    assert_log(&log, 0, 1);
    assert_int_equal(get_waiting(loop, &q), 0);
    yield_once(loop);
    assert_log(&log, 0, 1, 2);
    assert_int_equal(get_waiting(loop, &q), 1);
    assert_int_equal(get_waiting(loop, &q), 2);
    assert_aio_ok(aio_run_until_complete(loop, p, NULL));
    assert_aio_ok(aio_queue_destroy(loop, &q));
    aio_loop_free(loop);
}

/* QUEUE-02 (test_put_with_waiting_getters, test_get_with_waiting_putters,
 * test_blocking_get_wait). */
static void put_one_soon(aio_loop *loop, void *arg) {
    assert_aio_ok(aio_queue_put_nowait(loop, (aio_queue *)arg, 1));
}

static void QUEUE_02_blocking_put_and_get(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_queue q = AIO_QUEUE_INIT(0);
    test_log log = {0};
    aio_future g = spawn_getter(loop, &q, &log, 1);
    yield_once(loop);
    assert_aio_ok(aio_run_until_complete(loop, aio_queue_put(loop, &q, 'a'), NULL));
    assert_aio_ok(aio_run_until_complete(loop, g, NULL));
    assert_log(&log, 'a');

    aio_queue one = AIO_QUEUE_INIT(1);
    static const int a[] = {'a'}, b[] = {'b'};
    aio_future pa = spawn_putter(loop, &one, NULL, a, 1);
    aio_future pb = spawn_putter(loop, &one, NULL, b, 1);
    yield_once(loop);
    assert_int_equal(get_waiting(loop, &one), 'a');
    assert_int_equal(get_waiting(loop, &one), 'b');
    assert_aio_ok(aio_run_until_complete(loop, pa, NULL));
    assert_aio_ok(aio_run_until_complete(loop, pb, NULL));

    assert_aio_ok(aio_call_later(loop, 0.01, put_one_soon, &q, NULL));
    assert_int_equal(get_waiting(loop, &q), 1);
    assert_true(aio_loop_time(loop) >= 0.01 && aio_loop_time(loop) < 0.011);
    assert_aio_ok(aio_queue_destroy(loop, &q));
    assert_aio_ok(aio_queue_destroy(loop, &one));
    aio_loop_free(loop);
}

/* QUEUE-03 (test_get_cancel_drop_one_pending_reader): R waits in get; in
 * one step two items are put and R is cancelled. Nothing is dropped. */
static void QUEUE_03_get_cancel_drop_one_pending_reader(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_queue q = AIO_QUEUE_INIT(0);
    aio_future r = spawn_getter(loop, &q, NULL, 1);
    yield_once(loop);
    assert_aio_ok(aio_queue_put_nowait(loop, &q, 1));
    assert_aio_ok(aio_queue_put_nowait(loop, &q, 2));
    assert_int_equal(aio_task_cancel(loop, r, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, r, NULL), AIO_ECANCELLED);
    assert_int_equal(get_waiting(loop, &q), 1);
    assert_int_equal(aio_queue_qsize(&q), 1);
    assert_aio_ok(aio_queue_destroy(loop, &q));
    aio_loop_free(loop);
}

/* QUEUE-03 (test_get_cancelled_race): t1 and t2 wait; t1 is cancelled and
 * gone; put('a') goes to t2; no getter stays registered. */
static void QUEUE_03_get_cancelled_race(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_queue q = AIO_QUEUE_INIT(0);
    test_log log = {0};
    aio_future t1 = spawn_getter(loop, &q, &log, 1);
    aio_future t2 = spawn_getter(loop, &q, &log, 1);
    yield_once(loop);
    assert_int_equal(aio_task_cancel(loop, t1, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, t1, NULL), AIO_ECANCELLED);
    assert_aio_ok(aio_run_until_complete(loop, aio_queue_put(loop, &q, 'a'), NULL));
    assert_aio_ok(aio_run_until_complete(loop, t2, NULL));
    assert_log(&log, 'a');
    assert_int_equal(q.aio__getq.count, 0);
    assert_int_equal(q.aio__woken_get, 0);
    assert_aio_ok(aio_queue_destroy(loop, &q));
    aio_loop_free(loop);
}

/* QUEUE-03 (test_cancelled_getters_not_being_held_in_self_getters). */
static void QUEUE_03_timed_out_getter_leaves(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_queue q = AIO_QUEUE_INIT(0);
    assert_aio_err(aio_run_until_complete(loop, aio_wait_for(loop, aio_queue_get(loop, &q), 0.1), NULL),
                   AIO_ETIMEDOUT);
    assert_true(aio_loop_time(loop) >= 0.1 && aio_loop_time(loop) < 0.11);
    assert_int_equal(q.aio__getq.count, 0);
    assert_aio_ok(aio_queue_destroy(loop, &q));
    aio_loop_free(loop);
}

/* The getter race in wake-then-take form: put wakes R (an item reserved),
 * R is cancelled before it resumes: the item goes to the next getter. */
static void queue_woken_getter_cancelled_passes_the_item_on(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_queue q = AIO_QUEUE_INIT(0);
    test_log log = {0};
    aio_future r = spawn_getter(loop, &q, &log, 1);
    aio_future s = spawn_getter(loop, &q, &log, 1);
    yield_once(loop);
    assert_aio_ok(aio_queue_put_nowait(loop, &q, 7));
    assert_int_equal(q.aio__woken_get, 1);
    aio_value v;
    assert_aio_err(aio_queue_get_nowait(loop, &q, &v), -EAGAIN); /* reserved: no barging */
    assert_int_equal(aio_task_cancel(loop, r, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, r, NULL), AIO_ECANCELLED);
    assert_aio_ok(aio_run_until_complete(loop, s, NULL));
    assert_log(&log, 7);
    assert_int_equal(aio_queue_qsize(&q), 0);
    assert_aio_ok(aio_queue_destroy(loop, &q));
    aio_loop_free(loop);
}

/* QUEUE-04 (test_put_cancel_drop): a full maxsize-1 queue holds 1, W waits
 * to put 2. get_nowait wakes W, which is cancelled in the same step: 2 is
 * not added; a retried put is. */
static void QUEUE_04_put_cancel_drop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_queue q = AIO_QUEUE_INIT(1);
    assert_aio_ok(aio_queue_put_nowait(loop, &q, 1));
    static const int two[] = {2};
    int err = 1;
    aio_future w = aio_spawn(loop, putter, &(struct putter){&q, NULL, two, 1, &err, 0});
    yield_once(loop);
    assert_int_equal(get_now(loop, &q), 1);
    assert_int_equal(aio_task_cancel(loop, w, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, w, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_queue_qsize(&q), 0);
    assert_aio_ok(aio_run_until_complete(loop, aio_queue_put(loop, &q, 2), NULL));
    assert_int_equal(get_waiting(loop, &q), 2);
    assert_int_equal(aio_queue_qsize(&q), 0);
    assert_aio_ok(aio_queue_destroy(loop, &q));
    aio_loop_free(loop);
}

/* QUEUE-04 (test_put_cancelled_race): puts of a, b, X into a maxsize-1
 * queue; X is cancelled while it waits; a then b come out, no putter left. */
static void QUEUE_04_put_cancelled_race(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_queue q = AIO_QUEUE_INIT(1);
    static const int a[] = {'a'}, b[] = {'b'}, x[] = {'X'};
    aio_future pa = spawn_putter(loop, &q, NULL, a, 1);
    aio_future pb = spawn_putter(loop, &q, NULL, b, 1);
    aio_future px = spawn_putter(loop, &q, NULL, x, 1);
    yield_once(loop);
    assert_int_equal(aio_queue_qsize(&q), 1);
    assert_int_equal(q.aio__putq.count, 2);
    assert_int_equal(aio_task_cancel(loop, px, NULL), 1);
    yield_once(loop);
    assert_int_equal(get_waiting(loop, &q), 'a');
    yield_once(loop);
    assert_int_equal(get_waiting(loop, &q), 'b');
    assert_aio_ok(aio_run_until_complete(loop, pa, NULL));
    assert_aio_ok(aio_run_until_complete(loop, pb, NULL));
    assert_aio_err(aio_run_until_complete(loop, px, NULL), AIO_ECANCELLED);
    assert_int_equal(q.aio__putq.count, 0);
    assert_int_equal(q.aio__woken_put, 0);
    assert_int_equal(aio_queue_qsize(&q), 0);
    assert_aio_ok(aio_queue_destroy(loop, &q));
    aio_loop_free(loop);
}

/* QUEUE-04 (test_cancelled_put_silence_value_error_exception, and
 * test_cancelled_puts_not_being_held_in_self_putters): a putter already
 * taken off the waiting list (woken) is cancelled cleanly; a timed-out
 * putter does not stay registered. */
static void QUEUE_04_woken_putter_cancelled(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_queue q = AIO_QUEUE_INIT(1);
    assert_aio_ok(aio_queue_put_nowait(loop, &q, 1));
    assert_aio_err(aio_run_until_complete(loop, aio_wait_for(loop, aio_queue_put(loop, &q, 2), 0.1), NULL),
                   AIO_ETIMEDOUT);
    assert_int_equal(q.aio__putq.count, 0);
    static const int three[] = {3}, four[] = {4};
    aio_future w = spawn_putter(loop, &q, NULL, three, 1);
    aio_future w2 = spawn_putter(loop, &q, NULL, four, 1);
    yield_once(loop);
    assert_int_equal(get_now(loop, &q), 1); /* wakes w: room reserved */
    assert_int_equal(q.aio__woken_put, 1);
    assert_int_equal(aio_task_cancel(loop, w, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, w, NULL), AIO_ECANCELLED);
    assert_aio_ok(aio_run_until_complete(loop, w2, NULL)); /* the room went on to w2 */
    assert_int_equal(get_now(loop, &q), 4);
    assert_int_equal(aio_queue_qsize(&q), 0);
    assert_aio_ok(aio_queue_destroy(loop, &q));
    aio_loop_free(loop);
}

/* QUEUE-05 (test_task_done_underflow, test_join_empty_queue, test_task_done
 * with two workers, the join-waits-for-task_done variant), each kind. */
static void QUEUE_05_join_and_task_done(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    for (int kind = 0; kind < 3; kind++) {
        aio_queue q;
        init_kind(&q, kind, 0);
        assert_aio_err(aio_queue_task_done(loop, &q), -EINVAL);
        assert_aio_ok(aio_run_until_complete(loop, aio_queue_join(loop, &q), NULL));
        assert_aio_ok(aio_run_until_complete(loop, aio_queue_join(loop, &q), NULL));

        int64_t sum = 0;
        aio_future w1 = aio_spawn(loop, getter, &(struct getter){&q, NULL, 50, 1, NULL, &sum, 0});
        aio_future w2 = aio_spawn(loop, getter, &(struct getter){&q, NULL, 50, 1, NULL, &sum, 0});
        for (int i = 0; i < 100; i++)
            assert_aio_ok(aio_queue_put_nowait(loop, &q, i));
        assert_aio_ok(aio_run_until_complete(loop, aio_queue_join(loop, &q), NULL));
        assert_int_equal(sum, 4950);
        assert_aio_ok(aio_run_until_complete(loop, w1, NULL));
        assert_aio_ok(aio_run_until_complete(loop, w2, NULL));

        assert_aio_ok(aio_queue_put_nowait(loop, &q, 'x'));
        aio_future j = aio_queue_join(loop, &q);
        assert_int_equal(get_now(loop, &q), 'x');
        yield_once(loop);
        assert_int_equal(aio_future_done(loop, j), 0); /* got, not done */
        assert_aio_ok(aio_queue_task_done(loop, &q));
        assert_int_equal(aio_future_done(loop, j), 1);
        assert_aio_ok(aio_run_until_complete(loop, j, NULL));
        assert_aio_ok(aio_queue_destroy(loop, &q));
    }
    aio_loop_free(loop);
}

/* QUEUE-06 (test_shutdown_nonempty, test_shutdown_empty), each kind. */
static void QUEUE_06_shutdown(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    for (int kind = 0; kind < 3; kind++) {
        aio_queue q;
        init_kind(&q, kind, 1);
        assert_aio_ok(aio_queue_put_nowait(loop, &q, 10));
        aio_future j = aio_queue_join(loop, &q);
        static const int data2[] = {20};
        int perr = 1;
        aio_future p = aio_spawn(loop, putter, &(struct putter){&q, NULL, data2, 1, &perr, 0});
        yield_once(loop);
        assert_aio_ok(aio_queue_shutdown(loop, &q, 0));
        assert_int_equal(aio_queue_qsize(&q), 1);
        yield_once(loop);
        assert_aio_err(perr, AIO_ESHUTDOWN);
        assert_aio_err(aio_run_until_complete(loop, p, NULL), AIO_ESHUTDOWN);
        assert_int_equal(get_waiting(loop, &q), 10);
        assert_int_equal(aio_future_done(loop, j), 0);
        aio_value v;
        assert_aio_err(aio_future_check(aio_queue_put(loop, &q, 1)), AIO_ESHUTDOWN);
        assert_aio_err(aio_queue_put_nowait(loop, &q, 1), AIO_ESHUTDOWN);
        assert_aio_err(aio_future_check(aio_queue_get(loop, &q)), AIO_ESHUTDOWN);
        assert_aio_err(aio_queue_get_nowait(loop, &q, &v), AIO_ESHUTDOWN);
        assert_aio_ok(aio_queue_task_done(loop, &q));
        assert_aio_ok(aio_run_until_complete(loop, j, NULL));
        assert_aio_err(aio_queue_task_done(loop, &q), -EINVAL);
        assert_aio_ok(aio_queue_destroy(loop, &q));

        /* empty, with a blocked getter */
        init_kind(&q, kind, 0);
        int gerr = 1;
        aio_future g = aio_spawn(loop, getter, &(struct getter){&q, NULL, 1, 0, &gerr, NULL, 0});
        yield_once(loop);
        assert_aio_ok(aio_queue_shutdown(loop, &q, 0));
        assert_aio_err(aio_run_until_complete(loop, g, NULL), AIO_ESHUTDOWN);
        assert_aio_err(gerr, AIO_ESHUTDOWN);
        assert_aio_ok(aio_run_until_complete(loop, aio_queue_join(loop, &q), NULL));
        assert_aio_ok(aio_queue_shutdown(loop, &q, 0)); /* again: allowed */
        assert_aio_ok(aio_queue_destroy(loop, &q));

        /* three items, then shutdown: they come out, then the error */
        init_kind(&q, kind, 0);
        for (int i = 0; i < 3; i++)
            assert_aio_ok(aio_queue_put_nowait(loop, &q, i));
        assert_aio_ok(aio_queue_shutdown(loop, &q, 0));
        for (int i = 0; i < 3; i++) {
            int64_t x = get_waiting(loop, &q);
            assert_int_equal(x, kind == LIFO ? 2 - i : i);
        }
        assert_aio_err(aio_run_until_complete(loop, aio_queue_get(loop, &q), NULL), AIO_ESHUTDOWN);
        assert_aio_ok(aio_queue_destroy(loop, &q));
    }
    aio_loop_free(loop);
}

/* QUEUE-07 (test_shutdown_immediate, test_shutdown_immediate_with_unfinished),
 * each kind. */
static void QUEUE_07_shutdown_immediate(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    for (int kind = 0; kind < 3; kind++) {
        aio_queue q;
        aio_value v;
        init_kind(&q, kind, 0);
        assert_aio_ok(aio_queue_put_nowait(loop, &q, 1));
        aio_future j = aio_queue_join(loop, &q);
        assert_aio_ok(aio_queue_shutdown(loop, &q, 1));
        assert_int_equal(aio_queue_qsize(&q), 0);
        yield_once(loop);
        assert_int_equal(aio_future_done(loop, j), 1);
        assert_aio_ok(aio_run_until_complete(loop, j, NULL));
        assert_aio_err(aio_queue_put_nowait(loop, &q, 1), AIO_ESHUTDOWN);
        assert_aio_err(aio_queue_get_nowait(loop, &q, &v), AIO_ESHUTDOWN);
        assert_aio_err(aio_future_check(aio_queue_get(loop, &q)), AIO_ESHUTDOWN);
        assert_aio_err(aio_queue_task_done(loop, &q), -EINVAL);
        assert_aio_ok(aio_queue_destroy(loop, &q));

        /* two items, one got without task_done: join waits for it */
        init_kind(&q, kind, 0);
        assert_aio_ok(aio_queue_put_nowait(loop, &q, 1));
        assert_aio_ok(aio_queue_put_nowait(loop, &q, 2));
        get_now(loop, &q);
        j = aio_queue_join(loop, &q);
        assert_aio_ok(aio_queue_shutdown(loop, &q, 1));
        assert_int_equal(aio_queue_qsize(&q), 0);
        yield_once(loop);
        assert_int_equal(aio_future_done(loop, j), 0);
        assert_aio_ok(aio_queue_task_done(loop, &q));
        assert_aio_ok(aio_run_until_complete(loop, j, NULL));
        assert_aio_err(aio_queue_task_done(loop, &q), -EINVAL);
        assert_aio_ok(aio_queue_destroy(loop, &q));

        /* blocked putters and getters fail; a getter woken for an item
         * that is then dropped fails too */
        init_kind(&q, kind, 1);
        assert_aio_ok(aio_queue_put_nowait(loop, &q, 1));
        static const int two[] = {2};
        int perr = 1, gerr = 1;
        aio_future p = aio_spawn(loop, putter, &(struct putter){&q, NULL, two, 1, &perr, 0});
        yield_once(loop);
        assert_aio_ok(aio_queue_shutdown(loop, &q, 1));
        assert_aio_err(aio_run_until_complete(loop, p, NULL), AIO_ESHUTDOWN);
        assert_aio_ok(aio_queue_destroy(loop, &q));
        init_kind(&q, kind, 0);
        aio_future g = aio_spawn(loop, getter, &(struct getter){&q, NULL, 1, 0, &gerr, NULL, 0});
        aio_future g2 = spawn_getter(loop, &q, NULL, 1);
        yield_once(loop);
        assert_aio_ok(aio_queue_put_nowait(loop, &q, 5)); /* reserved for g */
        assert_aio_ok(aio_queue_shutdown(loop, &q, 1));
        assert_aio_err(aio_run_until_complete(loop, g, NULL), AIO_ESHUTDOWN);
        assert_aio_err(aio_run_until_complete(loop, g2, NULL), AIO_ESHUTDOWN);
        assert_int_equal(q.aio__woken_get + q.aio__woken_shut, 0);
        assert_aio_ok(aio_queue_destroy(loop, &q));
    }
    aio_loop_free(loop);
}

/* destroy refuses while tasks wait; frees the storage otherwise, and after
 * the loop is closed or freed. */
static void queue_destroy(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0), *other = test_loop_new(0);
    aio_queue q = AIO_QUEUE_INIT(0);
    aio_future g = spawn_getter(loop, &q, NULL, 1);
    yield_once(loop);
    assert_aio_err(aio_queue_destroy(loop, &q), -EBUSY);
    assert_aio_err(aio_queue_destroy(other, &q), AIO_EFOREIGN);
    assert_aio_err(aio_queue_destroy(loop, NULL), -EINVAL);
    assert_aio_ok(aio_queue_put_nowait(loop, &q, 1)); /* g woken: still busy until it resumes */
    assert_aio_err(aio_queue_destroy(loop, &q), -EBUSY);
    assert_aio_ok(aio_run_until_complete(loop, g, NULL));
    for (int i = 0; i < 100; i++)
        assert_aio_ok(aio_queue_put_nowait(loop, &q, i));
    assert_aio_ok(aio_queue_destroy(loop, &q)); /* items dropped, storage freed */
    assert_int_equal(aio_queue_qsize(&q), 0);
    assert_aio_ok(aio_queue_put_nowait(loop, &q, 1)); /* usable again */
    aio_future_release(loop, spawn_getter(loop, &q, NULL, 2));
    yield_once(loop);
    aio_loop_free(loop); /* a getter still waits */
    assert_aio_ok(aio_queue_destroy(NULL, &q));
    aio_loop_free(other);
}

/* AIO_QUEUE_PUT / AIO_QUEUE_GET: the outcome of the awaits they stand for;
 * `item` evaluated once; served at once without a future when they can. */
struct fast_pc {
    aio_queue *q;
    int n, i, next;
    int64_t *got;
    int *err;
};
AIO_CORO(fast_producer, struct fast_pc) {
    AIO_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        AIO_QUEUE_PUT(t, f->q, f->next++); /* evaluated once */
        if (AIO_ERR(t) < 0) {
            *f->err = AIO_ERR(t);
            AIO_FAIL(t, AIO_ERR(t));
        }
    }
    AIO_END(t);
}
AIO_CORO(fast_consumer, struct fast_pc) {
    AIO_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        AIO_QUEUE_GET(t, f->q);
        if (AIO_ERR(t) < 0) {
            *f->err = AIO_ERR(t);
            AIO_FAIL(t, AIO_ERR(t));
        }
        f->got[f->i] = AIO_RESULT(t).i;
    }
    AIO_END(t);
}

static void queue_fast_forms(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    for (size_t maxsize = 1; maxsize <= 64; maxsize *= 8) {
        aio_queue q = AIO_QUEUE_INIT(maxsize);
        enum { N = 500 };
        static int64_t got[N];
        int perr = 0, gerr = 0;
        aio_future p = aio_spawn(loop, fast_producer, &(struct fast_pc){&q, N, 0, 0, NULL, &perr});
        aio_future g = aio_spawn(loop, fast_consumer, &(struct fast_pc){&q, N, 0, 0, got, &gerr});
        assert_aio_ok(aio_run_until_complete(loop, g, NULL));
        assert_aio_ok(aio_run_until_complete(loop, p, NULL));
        for (int i = 0; i < N; i++)
            assert_int_equal(got[i], i);
        /* errors come through as the await's would */
        assert_aio_ok(aio_queue_shutdown(loop, &q, 0));
        aio_future g2 = aio_spawn(loop, fast_consumer, &(struct fast_pc){&q, 1, 0, 0, got, &gerr});
        assert_aio_err(aio_run_until_complete(loop, g2, NULL), AIO_ESHUTDOWN);
        assert_aio_err(gerr, AIO_ESHUTDOWN);
        aio_future p2 = aio_spawn(loop, fast_producer, &(struct fast_pc){&q, 1, 0, 0, NULL, &perr});
        assert_aio_err(aio_run_until_complete(loop, p2, NULL), AIO_ESHUTDOWN);
        assert_aio_ok(aio_queue_destroy(loop, &q));
    }
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(QUEUE_01_order),
        cmocka_unit_test(QUEUE_01_priority_keys_and_ties),
        cmocka_unit_test(QUEUE_01_capacity_and_nowait),
        cmocka_unit_test(QUEUE_02_maxsize),
        cmocka_unit_test(QUEUE_02_blocking_put_and_get),
        cmocka_unit_test(QUEUE_03_get_cancel_drop_one_pending_reader),
        cmocka_unit_test(QUEUE_03_get_cancelled_race),
        cmocka_unit_test(QUEUE_03_timed_out_getter_leaves),
        cmocka_unit_test(queue_woken_getter_cancelled_passes_the_item_on),
        cmocka_unit_test(QUEUE_04_put_cancel_drop),
        cmocka_unit_test(QUEUE_04_put_cancelled_race),
        cmocka_unit_test(QUEUE_04_woken_putter_cancelled),
        cmocka_unit_test(QUEUE_05_join_and_task_done),
        cmocka_unit_test(QUEUE_06_shutdown),
        cmocka_unit_test(QUEUE_07_shutdown_immediate),
        cmocka_unit_test(queue_fast_forms),
        cmocka_unit_test(queue_destroy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
