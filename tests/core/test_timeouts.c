/* Times and timeouts (issue 14, items 3 and 4): every call that takes a
 * time against the whole table of include/aio/loop.h (NaN, +-infinity,
 * negative, -0 and 0, a denormal, 1e300), on the virtual clock and on the
 * real one; -infinity as a timeout of aio_wait and aio_as_completed; the
 * clock and deadlines saturating instead of overflowing (UBSan would
 * report a signed overflow; without it the clock used to wrap negative). */
#include "support.h"

#include <aio/combinators.h>
#include <aio/executor.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#define LIMIT_NS INT64_C(4000000000000000000)

/* ---- item 3: a timeout of -infinity looks once ---- */

static void issue14_3_wait_minus_infinity_looks_once(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future kid = aio_future_new(loop);
    aio_future w = aio_wait(loop, &kid, 1, -INFINITY, AIO_ALL_COMPLETED);
    assert_aio_ok(aio_future_check(w));
    /* It used to arm no timer: nothing could complete it (AIO_EDEADLOCK). */
    assert_aio_ok(aio_run_until_complete(loop, w, NULL));
    assert_int_equal(aio_wait_partition(loop, &kid, 1), 0); /* none done */
    assert_aio_ok(aio_future_release(loop, kid));
    assert_aio_ok(aio_loop_free(loop));
}

static void issue14_3_as_completed_minus_infinity_looks_once(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future kid = aio_future_new(loop);
    aio_future it = aio_as_completed(loop, &kid, 1, -INFINITY);
    assert_aio_ok(aio_future_check(it));
    aio_future next = aio_as_completed_next(loop, it);
    assert_aio_ok(aio_future_check(next));
    assert_aio_err(aio_run_until_complete(loop, next, NULL), AIO_ETIMEDOUT);
    assert_aio_ok(aio_future_release(loop, it));
    assert_aio_ok(aio_future_release(loop, kid));
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- item 4: the clock and deadlines saturate ---- */

static void count(aio_loop *loop, void *arg) {
    (void)loop;
    (*(int *)arg)++;
}

/* Advancing the virtual clock by the most it takes, again and again, stops
 * at 4e18 ns; a deadline far past it (computed from a clock already near
 * its end) stops there too, and such a timer is due once the clock is at
 * its end. */
static void issue14_4_virtual_clock_and_deadlines_saturate(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    assert_aio_ok(aio_loop_advance(loop, 1e300));
    assert_true(aio_loop_time_ns(loop) == LIMIT_NS);
    assert_aio_ok(aio_loop_advance(loop, 1e300)); /* used to wrap the clock negative */
    assert_aio_ok(aio_loop_advance(loop, 4e9));
    assert_true(aio_loop_time_ns(loop) == LIMIT_NS);
    assert_true(aio_loop_time(loop) > 0);

    aio_loop *l2 = test_loop_new(1);
    assert_aio_ok(aio_loop_advance(l2, 3e9)); /* 3e18 ns: 3e18 + 4e18 would overflow */
    int fired = 0;
    assert_aio_ok(aio_call_later(l2, 1e300, count, &fired, NULL));
    aio_future kid = aio_future_new(l2);
    aio_future sl = aio_sleep(l2, 1e300);
    aio_future wa = aio_wait(l2, &kid, 1, 1e300, AIO_ALL_COMPLETED);
    aio_future it = aio_as_completed(l2, &kid, 1, 1e300);
    aio_future next = aio_as_completed_next(l2, it);
    aio_future wf = aio_wait_for(l2, aio_future_retain(l2, kid), 1e300);
    assert_aio_ok(aio_future_check(sl));
    assert_aio_ok(aio_future_check(wa));
    assert_aio_ok(aio_future_check(next));
    assert_aio_ok(aio_future_check(wf));
    test_run_iterations(l2, 3);
    assert_int_equal(fired, 0);
    assert_int_equal(aio_future_done(l2, sl), 0);
    assert_int_equal(aio_future_done(l2, wa), 0);
    assert_aio_ok(aio_loop_advance(l2, 1e300)); /* to the end: all of them are due */
    assert_aio_err(aio_run_until_complete(l2, aio_future_retain(l2, wf), NULL), AIO_ETIMEDOUT);
    assert_int_equal(fired, 1);
    assert_int_equal(aio_future_done(l2, sl), 1);
    assert_int_equal(aio_future_done(l2, wa), 1);
    assert_aio_err(aio_future_error(l2, next), AIO_ETIMEDOUT);
    assert_true(aio_loop_time_ns(l2) == LIMIT_NS);
    aio_future all[] = {sl, wa, next, wf, it, kid};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        assert_aio_ok(aio_future_release(l2, all[i]));
    assert_aio_ok(aio_loop_free(l2));
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- the table, against every call that takes a time ---- */

static const double values[] = {NAN, INFINITY, -INFINITY, -1.0, -0.0, 0.0, DBL_TRUE_MIN, 1e300};
static const char *const value_names[] = {"NaN", "+inf", "-inf", "-1", "-0", "0", "denormal", "1e300"};
enum { V_NAN, V_PINF, V_NINF, V_NEG, V_NZERO, V_ZERO, V_DENORMAL, V_HUGE, NV };

enum call {
    C_CALL_LATER,
    C_CALL_AT,
    C_SLEEP,
    C_WAIT,
    C_WAIT_FOR,
    C_AS_COMPLETED,
    C_ADVANCE,
    C_EXECUTOR_TIMEOUT,
    C_POOL_FREE,
    C_SHUTDOWN,
    NC
};
static const char *const call_names[] = {"aio_call_later",   "aio_call_at",
                                         "aio_sleep",        "aio_wait",
                                         "aio_wait_for",     "aio_as_completed",
                                         "aio_loop_advance", "aio_loop_set_executor_timeout",
                                         "aio_pool_free",    "aio_shutdown_default_executor"};

/* What loop.h's table says: the return code, and for an accepted loop-time
 * call whether it is due within a short window (1 s of virtual time, 50 ms
 * of real time). E: -EINVAL. S: accepted, due soon. L: accepted, not due
 * soon. K: accepted (no timer). */
enum expect { E, S, L, K };
static const enum expect table[NC][NV] = {
    /*                     NaN pinf ninf neg nzero zero denorm huge */
    [C_CALL_LATER] = {E, E, E, S, S, S, S, L},
    [C_CALL_AT] = {E, E, E, S, S, S, S, L},
    [C_SLEEP] = {E, E, E, S, S, S, S, L},
    [C_WAIT] = {E, L, S, S, S, S, S, L},
    [C_WAIT_FOR] = {E, L, S, S, S, S, S, L},
    [C_AS_COMPLETED] = {E, L, S, S, S, S, S, L},
    [C_ADVANCE] = {E, E, E, E, K, K, K, K}, /* virtual clock; the real one refuses all */
    [C_EXECUTOR_TIMEOUT] = {E, K, E, E, K, K, K, K},
    [C_POOL_FREE] = {E, K, K, K, K, K, K, K},
    [C_SHUTDOWN] = {E, L, S, S, S, S, S, L}, /* with a job running */
};

/* A job that runs until told to return. */
typedef struct held {
    atomic_int started, release;
} held;

static int held_job(void *arg, aio_value *out) {
    held *h = arg;
    (void)out;
    atomic_store(&h->started, 1);
    while (!atomic_load(&h->release))
        usleep(1000);
    return 0;
}

static void stop_cb(aio_loop *loop, void *arg) {
    (void)arg;
    aio_loop_stop(loop);
}

/* Try one call with one value on a fresh loop; check it against the table. */
static void check_one(int virtual_clock, enum call c, int vi) {
    double v = values[vi];
    enum expect want = table[c][vi];
    if (c == C_ADVANCE && !virtual_clock)
        want = E;
    aio_loop *loop = test_loop_new(virtual_clock);
    char what[96];
    snprintf(what, sizeof what, "%s(%s) on the %s clock", call_names[c], value_names[vi],
             virtual_clock ? "virtual" : "real");
    int rc = 0, fired = 0;
    aio_future f = {0}, kid = aio_future_new(loop), extra = {0};
    held job = {0, 0};
    test_reports reports; /* the shutdown reports the job it abandons */
    test_collect_reports(loop, &reports);
    int64_t t0 = aio_loop_time_ns(loop);
    switch (c) {
    case C_CALL_LATER:
        rc = aio_call_later(loop, v, count, &fired, NULL);
        break;
    case C_CALL_AT: /* absolute: the real clock is far past 0 already */
        rc = aio_call_at(loop, v, count, &fired, NULL);
        break;
    case C_SLEEP:
        rc = aio_future_check(f = aio_sleep(loop, v));
        break;
    case C_WAIT:
        rc = aio_future_check(f = aio_wait(loop, &kid, 1, v, AIO_ALL_COMPLETED));
        break;
    case C_WAIT_FOR:
        rc = aio_future_check(f = aio_wait_for(loop, aio_future_retain(loop, kid), v));
        break;
    case C_AS_COMPLETED:
        rc = aio_future_check(extra = aio_as_completed(loop, &kid, 1, v));
        if (rc == 0)
            rc = aio_future_check(f = aio_as_completed_next(loop, extra));
        break;
    case C_ADVANCE:
        rc = aio_loop_advance(loop, v);
        break;
    case C_EXECUTOR_TIMEOUT:
        rc = aio_loop_set_executor_timeout(loop, v);
        break;
    case C_POOL_FREE: {
        aio_pool *pool;
        aio_pool_options o = {1};
        assert_aio_ok(aio_pool_create(&pool, &o));
        rc = aio_pool_free(pool, v); /* no job: nothing abandoned */
        if (rc < 0)
            assert_aio_ok(aio_pool_free(pool, 0));
        break;
    }
    case C_SHUTDOWN: /* a job that runs until the end keeps the shutdown waiting */
        extra = aio_run_in_executor(loop, NULL, held_job, &job); /* handed over at once */
        assert_aio_ok(aio_future_check(extra));
        while (!atomic_load(&job.started)) /* running: a queued job would be cancelled */
            usleep(1000);
        rc = aio_future_check(f = aio_shutdown_default_executor(loop, v));
        break;
    default:
        break;
    }
    if (want == E) {
        if (rc != -EINVAL)
            fail_msg("%s: expected -EINVAL, got %s", what, aio_err_name(rc));
    } else if (rc != 0) {
        fail_msg("%s: expected 0, got %s", what, aio_err_name(rc));
    }
    if (c == C_ADVANCE && rc == 0) {
        int64_t dt = aio_loop_time_ns(loop) - t0;
        int64_t expected = vi == V_DENORMAL ? 1 : vi == V_HUGE ? LIMIT_NS : 0;
        if (dt != expected)
            fail_msg("%s: the clock moved %lld ns, not %lld", what, (long long)dt, (long long)expected);
    }
    if (want == S || want == L) {
        assert_aio_ok(aio_call_later(loop, virtual_clock ? 1.0 : 0.05, stop_cb, NULL, NULL));
        assert_aio_ok(aio_run_forever(loop));
        int due = (c == C_CALL_LATER || c == C_CALL_AT) ? fired : aio_future_done(loop, f);
        if (due != (want == S))
            fail_msg("%s: %s within the window", what, want == S ? "not due" : "due");
        if (due && c != C_CALL_LATER && c != C_CALL_AT) {
            int err = aio_future_error(loop, f);
            int expected = (c == C_WAIT_FOR || c == C_AS_COMPLETED) ? AIO_ETIMEDOUT : 0;
            if (err != expected)
                fail_msg("%s: ended with %s, not %s", what, aio_err_name(err), aio_err_name(expected));
            aio_value r;
            if (c == C_SHUTDOWN && (aio_future_result(loop, f, &r) != 0 || r.u != 1))
                fail_msg("%s: the running job was not counted as abandoned", what);
        }
    }
    atomic_store(&job.release, 1);
    assert_aio_ok(aio_loop_free(loop));
}

static void check_table(int virtual_clock) {
    for (int c = 0; c < NC; c++)
        for (int vi = 0; vi < NV; vi++)
            check_one(virtual_clock, (enum call)c, vi);
}

static void time_table_virtual_clock(void **state) {
    (void)state;
    check_table(1);
}

static void time_table_real_clock(void **state) {
    (void)state;
    check_table(0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue14_3_wait_minus_infinity_looks_once),
        cmocka_unit_test(issue14_3_as_completed_minus_infinity_looks_once),
        cmocka_unit_test(issue14_4_virtual_clock_and_deadlines_saturate),
        cmocka_unit_test(time_table_virtual_clock),
        cmocka_unit_test(time_table_real_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
