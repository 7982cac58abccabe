/* Reference and hold counts past 16 bits. A future's slot keeps its users'
 * references and the library's holds (one per awaiter or done callback) in
 * 16 bits each; beyond that both move out of line. These tests cross that
 * line (70,000 > 65,535) with awaiters, callbacks and references, and check
 * that everything still runs once, in order, and that the slot is freed
 * exactly when the last count goes. */
#include "support.h"

#include <stdlib.h>

#define MANY 70000

/* ---- many tasks awaiting one future ---------------------------------------- */

struct waiter {
    int64_t *sum;
    int *order;
    int *n;
    int id;
};

static aio_future shared_fut; /* the future every waiter awaits (one test at a time) */

static aio_status waiter(aio_task *t, void *frame) {
    struct waiter *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_future_retain(t, shared_fut));
    assert_int_equal(AIO_ERR(t), 0);
    *f->sum += AIO_RESULT(t).i;
    f->order[(*f->n)++] = f->id;
    AIO_END(t);
}

static void many_awaiters_one_future(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int64_t sum = 0;
    int n = 0;
    int *order = calloc(MANY, sizeof *order);
    assert_non_null(order);
    shared_fut = aio_future_new(loop);
    for (int i = 0; i < MANY; i++)
        assert_int_equal(
            aio_future_release(loop, aio_create_task(loop, waiter, &(struct waiter){&sum, order, &n, i})), 0);
    test_run_iterations(loop, 2); /* every waiter reaches its await */
    assert_int_equal(aio_loop_pending_tasks(loop), MANY);
    assert_int_equal(aio_future_set_result(loop, shared_fut, AIO_VALUE(3)), 0);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(n, MANY);
    assert_int_equal(sum, 3 * (int64_t)MANY);
    for (int i = 0; i < MANY; i++)
        assert_int_equal(order[i], i); /* woken in the order they awaited */
    /* Our reference is the last count: releasing it frees the slot. */
    assert_int_equal(aio_future_done(loop, shared_fut), 1);
    assert_int_equal(aio_future_release(loop, shared_fut), 0);
    assert_int_equal(aio_future_done(loop, shared_fut), AIO_ESTALE);
    free(order);
    aio_loop_free(loop);
}

/* The same future released by its owner while the awaiters still hold it:
 * it lives until the last of them has run. */
static void awaiters_keep_a_released_future(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int64_t sum = 0;
    int n = 0;
    int *order = calloc(MANY, sizeof *order);
    assert_non_null(order);
    shared_fut = aio_future_new(loop);
    aio_future keep = aio_future_retain(loop, shared_fut); /* to complete it later */
    for (int i = 0; i < MANY; i++)
        aio_future_release(loop, aio_create_task(loop, waiter, &(struct waiter){&sum, order, &n, i}));
    test_run_iterations(loop, 2);
    assert_int_equal(aio_future_release(loop, shared_fut), 0);
    assert_int_equal(aio_future_set_result(loop, keep, AIO_VALUE(1)), 0);
    assert_int_equal(aio_future_release(loop, keep), 0); /* no references left, only holds */
    assert_int_equal(aio_future_release(loop, keep), AIO_ENOREF);
    test_run_iterations(loop, 2);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(sum, MANY);
    assert_int_equal(aio_future_done(loop, keep), AIO_ESTALE); /* the last waiter freed it */
    free(order);
    aio_loop_free(loop);
}

/* ---- many done callbacks --------------------------------------------------- */

struct cb_state {
    int calls;
    int last;
    int out_of_order;
};

static struct cb_state cbs;

static void on_done(aio_loop *loop, aio_future f, void *arg) {
    (void)loop, (void)f;
    int id = (int)(intptr_t)arg;
    if (id != cbs.last + 1)
        cbs.out_of_order++;
    cbs.last = id;
    cbs.calls++;
}

static void many_done_callbacks(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    cbs = (struct cb_state){0, -1, 0};
    aio_future f = aio_future_new(loop);
    for (int i = 0; i < MANY; i++)
        assert_int_equal(aio_future_add_done_callback(loop, f, on_done, (void *)(intptr_t)i), 0);
    /* Remove the last 1,000 again: the holds go down across the line. */
    for (int i = MANY - 1000; i < MANY; i++)
        assert_int_equal(aio_future_remove_done_callback(loop, f, on_done, (void *)(intptr_t)i), 1);
    assert_int_equal(aio_future_cancel(loop, f, NULL), 1);
    test_run_iterations(loop, 2);
    assert_int_equal(cbs.calls, MANY - 1000);
    assert_int_equal(cbs.out_of_order, 0);
    assert_int_equal(aio_future_cancelled(loop, f), 1);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(aio_future_done(loop, f), AIO_ESTALE);
    aio_loop_free(loop);
}

/* ---- many references ------------------------------------------------------- */

static void many_references(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future f = aio_future_new(loop);
    for (int i = 0; i < MANY; i++)
        assert_int_equal(aio_future_retain(loop, f).id, f.id);
    assert_int_equal(aio_future_set_result(loop, f, AIO_VALUE(9)), 0);
    for (int i = 0; i < MANY; i++) { /* MANY + 1 references: one stays */
        assert_int_equal(aio_future_release(loop, f), 0);
        assert_int_equal(aio_future_done(loop, f), 1);
    }
    aio_value v;
    assert_int_equal(aio_future_result(loop, f, &v), 0);
    assert_int_equal(v.i, 9);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(aio_future_release(loop, f), AIO_ESTALE);
    /* The slot is reused with small counts again: the next future in it
     * behaves as any other. */
    aio_future g = aio_future_new(loop);
    assert_int_equal(aio_future_retain(loop, g).id, g.id);
    assert_int_equal(aio_future_release(loop, g), 0);
    assert_int_equal(aio_future_release(loop, g), 0);
    assert_int_equal(aio_future_release(loop, g), AIO_ESTALE);
    aio_loop_free(loop);
}

/* A loop closed with a big-count future pending frees it without a leak
 * (ASan and valgrind watch this one). */
static void close_with_big_counts(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future f = aio_future_new(loop);
    for (int i = 0; i < MANY; i++)
        aio_future_retain(loop, f);
    for (int i = 0; i < MANY; i++)
        assert_int_equal(aio_future_add_done_callback(loop, f, on_done, NULL), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_awaiters_one_future), cmocka_unit_test(awaiters_keep_a_released_future),
        cmocka_unit_test(many_done_callbacks),      cmocka_unit_test(many_references),
        cmocka_unit_test(close_with_big_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
