/* The ownership rule (include/aio/future.h) on the paths where memory runs
 * out: every consuming call (aio_gather, aio_wait_for, aio_shield) is made
 * with its N-th allocation failing, for N = 1, 2, ... until it succeeds.
 * Whether it fails or not, afterwards: a plain child nobody else holds is
 * gone (consumed, and cancelled if the call failed), a task child nobody
 * else holds has been cancelled and has finished (failure) or runs to its
 * end (success), a child the caller still holds is untouched, no future
 * slot is left behind, and closing the loop reports nothing.
 * White-box: the slot count is read from the futures table. */
#include "support.h"

#include "core/fault.h"
#include "core/futures.h"
#include "core/loop.h"

#include <string.h>

/* Future slots in use. */
static uint32_t live_slots(const aio_loop *loop) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < loop->fut.n; i++)
        n += loop->fut.slots[i].state != AIO__FS_FREE;
    return n;
}

struct napper {
    int *ran, *cancelled;
};

AIO_CORO(napper, struct napper) {
    AIO_BEGIN(t);
    ++*f->ran;
    AIO_AWAIT(t, aio_sleep(t, 0.5));
    if (AIO_ERR(t) == AIO_ECANCELLED)
        ++*f->cancelled;
    AIO_END(t);
}

enum which { GATHER, WAIT_FOR, SHIELD, GATHER_BAD_SIBLING };

/* One consuming call over (plain, task, kept-by-the-caller) with the N-th
 * allocation failing. Returns the call's error (0: it succeeded). */
static int one_call(aio_loop *loop, enum which w, long n, int *ran, int *cancelled) {
    aio_future plain = aio_future_new(loop);
    aio_future task = aio_spawn(loop, napper, &(struct napper){ran, cancelled});
    aio_future kept = aio_future_new(loop);
    assert_aio_ok(aio_future_check(plain));
    assert_aio_ok(aio_future_check(task));
    assert_aio_ok(aio_future_check(kept));
    aio_future kids[4] = {plain, task, aio_future_retain(loop, kept), AIO_FUTURE_NULL};
    aio_future out = AIO_FUTURE_NULL;
    aio__fault_alloc_arm(AIO__FAULT_ONCE, n);
    switch (w) {
    case GATHER:
        out = aio_gather(loop, kids, 3, NULL, 0);
        break;
    case GATHER_BAD_SIBLING:
        out = aio_gather(loop, kids, 4, NULL, 0);
        break;
    case WAIT_FOR:
        out = aio_wait_for(loop, task, 10.0);
        break;
    case SHIELD:
        out = aio_shield(loop, task);
        break;
    }
    aio__fault_reset();
    int err = aio_future_check(out);
    if (w == WAIT_FOR || w == SHIELD) { /* what these calls were not given */
        assert_aio_ok(aio_future_release(loop, plain));
        assert_aio_ok(aio_future_release(loop, kept)); /* the retained one */
    }
    if (err == 0) {
        if (w == GATHER) { /* its children must finish for it to finish */
            assert_aio_ok(aio_future_set_result(loop, plain, AIO_NONE));
            assert_aio_ok(aio_future_set_result(loop, kept, AIO_NONE));
        }
        assert_aio_ok(aio_future_release(loop, out));
    } else {
        /* Failed: the plain child was consumed and, nobody else holding it,
         * cancelled and freed at once. */
        assert_aio_err(aio_future_done(loop, plain), AIO_ESTALE);
        assert_int_equal(aio_future_done(loop, kept), 0); /* the caller's: untouched */
    }
    assert_aio_ok(aio_future_release(loop, kept)); /* our own reference */
    return err;
}

static void sweep(enum which w) {
    aio_loop *loop = test_loop_new(1);
    test_reports reports;
    test_collect_reports(loop, &reports);
    uint32_t base = live_slots(loop);
    int failures = 0;
    for (long n = 1; n < 200; n++) {
        int ran = 0, cancelled = 0;
        int err = one_call(loop, w, n, &ran, &cancelled);
        if (w == GATHER_BAD_SIBLING)
            assert_true(err == AIO_ENULL || err == -ENOMEM);
        else
            assert_true(err == 0 || err == -ENOMEM);
        /* Let every task finish: a cancelled child ends at once, the others
         * after their nap. */
        assert_aio_ok(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL));
        assert_int_equal(aio_loop_pending_tasks(loop), 0);
        if (err < 0 && w != SHIELD) {
            /* The failing call cancelled the task it consumed: it never ran. */
            assert_int_equal(ran, 0);
            failures++;
        }
        if (w == SHIELD)
            assert_int_equal(ran, 1); /* never cancelled: it napped and finished */
        /* Whatever the path, no slot is left behind (the kept child's and
         * the plain child's included: both were released or consumed). */
        assert_int_equal(live_slots(loop), base);
        if (err == 0 && w != GATHER_BAD_SIBLING)
            break; /* past every allocation of the call */
        if (w == GATHER_BAD_SIBLING && err == AIO_ENULL && n > 20)
            break;
    }
    assert_true(failures > 0 || w == SHIELD); /* the sweep did hit the call's allocations */
    assert_aio_ok(aio_loop_close(loop));
    assert_int_equal(reports.count, 0);
    assert_aio_ok(aio_loop_free(loop));
}

static void gather_out_of_memory_consumes_every_child(void **state) {
    (void)state;
    sweep(GATHER);
}

static void gather_bad_sibling_and_out_of_memory(void **state) {
    (void)state;
    sweep(GATHER_BAD_SIBLING);
}

static void wait_for_out_of_memory_consumes_the_child(void **state) {
    (void)state;
    sweep(WAIT_FOR);
}

static void shield_out_of_memory_consumes_but_never_cancels(void **state) {
    (void)state;
    sweep(SHIELD);
}

/* A consuming call on a closed loop: the handles of a closed loop hold
 * nothing any more, and the call fails with AIO_ECLOSED. */
static void consuming_calls_on_a_closed_loop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future f = aio_future_new(loop);
    assert_aio_ok(aio_loop_close(loop));
    assert_aio_err(aio_future_check(aio_gather(loop, &f, 1, NULL, 0)), AIO_ECLOSED);
    assert_aio_err(aio_future_check(aio_wait_for(loop, f, 1.0)), AIO_ECLOSED);
    assert_aio_err(aio_future_check(aio_shield(loop, f)), AIO_ECLOSED);
    assert_aio_err(aio_run_until_complete(loop, f, NULL), AIO_ECLOSED);
    assert_aio_ok(aio_loop_free(loop));
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gather_out_of_memory_consumes_every_child),
        cmocka_unit_test(gather_bad_sibling_and_out_of_memory),
        cmocka_unit_test(wait_for_out_of_memory_consumes_the_child),
        cmocka_unit_test(shield_out_of_memory_consumes_but_never_cancels),
        cmocka_unit_test(consuming_calls_on_a_closed_loop),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
