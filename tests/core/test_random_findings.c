/* Bugs the random API sequences (test_fault_random) found, each pinned by a
 * plain test. */
#include "support.h"

#include <aio/combinators.h>

/* A gather forgets each child it has heard from: the child's slot may be
 * freed (the gather held the only reference) and reused by an unrelated
 * future. Cancelling the gather then cancelled that future, found at the
 * child's old index (seed 125: aio_run_until_complete on a fresh sleep
 * returned AIO_ECANCELLED). */
static void gather_cancel_spares_a_reused_slot(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future quick = aio_future_new(loop), slow = aio_future_new(loop);
    aio_future kids[2] = {quick, aio_future_retain(loop, slow)};
    aio_future g = aio_gather(loop, kids, 2, NULL, AIO_GATHER_RETURN_ERRORS);
    assert_aio_ok(aio_future_check(g));
    assert_aio_ok(aio_future_set_result(loop, quick, AIO_VALUE(1)));
    test_run_iterations(loop, 2);                /* the gather hears from `quick`, whose slot is freed */
    aio_future bystander = aio_future_new(loop); /* takes the freed slot */
    assert_aio_ok(aio_future_check(bystander));
    assert_int_equal(aio_future_cancel(loop, g, NULL), 1); /* cancels `slow` only */
    assert_int_equal(aio_future_cancelled(loop, slow), 1);
    assert_int_equal(aio_future_done(loop, bystander), 0);
    test_run_iterations(loop, 2);
    assert_aio_err(aio_future_error(loop, g), AIO_ECANCELLED);
    assert_aio_ok(aio_future_release(loop, bystander));
    assert_aio_ok(aio_future_release(loop, slow));
    assert_aio_ok(aio_future_release(loop, g));
    assert_aio_ok(aio_loop_free(loop));
}

/* The same through AIO_GATHER_CANCEL_ON_ERROR: the first failure cancels
 * the children still pending, and only them. */
static void gather_cancel_on_error_spares_a_reused_slot(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future quick = aio_future_new(loop), failing = aio_future_new(loop), slow = aio_future_new(loop);
    aio_future kids[3] = {quick, aio_future_retain(loop, failing), aio_future_retain(loop, slow)};
    aio_future g = aio_gather(loop, kids, 3, NULL, AIO_GATHER_CANCEL_ON_ERROR);
    assert_aio_ok(aio_future_check(g));
    assert_aio_ok(aio_future_set_result(loop, quick, AIO_VALUE(1)));
    test_run_iterations(loop, 2);
    aio_future bystander = aio_future_new(loop);
    assert_aio_ok(aio_future_set_error(loop, failing, -EIO));
    test_run_iterations(loop, 2);
    assert_aio_err(aio_future_error(loop, g), -EIO);
    assert_int_equal(aio_future_cancelled(loop, slow), 1);
    assert_int_equal(aio_future_done(loop, bystander), 0);
    aio_future all[] = {bystander, failing, slow, g};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        assert_aio_ok(aio_future_release(loop, all[i]));
    assert_aio_ok(aio_loop_free(loop));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gather_cancel_spares_a_reused_slot),
        cmocka_unit_test(gather_cancel_on_error_spares_a_reused_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
