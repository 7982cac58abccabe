/* Shared helpers for the cmocka tests. Every test runs once per backend:
 * ctest sets AIO_BACKEND, and loops created with NULL options pick it up. */
#ifndef AIO_TEST_SUPPORT_H
#define AIO_TEST_SUPPORT_H

#include <aio/aio.h>

#include <setjmp.h> /* cmocka needs these before cmocka.h */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Error assertions that print codes by name (aio_err_name), not by number.
 * assert_aio_ok(expr): expr is exactly 0. assert_aio_err(expr, code): expr is
 * exactly `code`. On failure, e.g.
 *   aio_wait_for(...): expected AIO_ECANCELLED (-125), got AIO_ETIMEDOUT (-110: timed out)
 * then the test fails at the caller's file and line. */
#define assert_aio_ok(expr) test_assert_code((long long)(expr), 0, #expr, __FILE__, __LINE__)
#define assert_aio_err(expr, code) test_assert_code((long long)(expr), (code), #expr, __FILE__, __LINE__)
void test_assert_code(long long got, int expected, const char *expr, const char *file, int line);
/* The "expected ..., got ..." part of that message, into buf (truncated to
 * size); returns buf. */
char *test_code_mismatch(char *buf, size_t size, long long got, int expected);

/* A loop on the backend under test; virtual != 0 gives the virtual clock. */
aio_loop *test_loop_new(int virtual_clock);

/* Collects what the loop reports (aio_loop_set_exception_handler). */
typedef struct test_reports {
    int count;
    char last_message[128];
    int last_error;
    char last_task_name[64];
} test_reports;
void test_collect_reports(aio_loop *loop, test_reports *r);

/* Coroutines several test files use. test_forever sleeps an hour (or
 * until cancelled: then *cancelled_at_await, if set, becomes 1) and returns
 * 1. test_await_fut awaits f (consuming the reference in the frame), stores
 * the await's status in *err and ends with the future's outcome. */
struct test_forever {
    int *cancelled_at_await;
};
aio_status test_forever(aio_task *t, void *frame);
struct test_await_fut {
    aio_future f;
    int *err;
};
aio_status test_await_fut(aio_task *t, void *frame);

/* Close and free a loop, asserting both succeed (every test ends a loop
 * this way unless it checks close's own behaviour). */
void close_loop(aio_loop *loop);

/* Run `iterations` loop iterations: a callback chain that stops the loop. */
void test_run_iterations(aio_loop *loop, int iterations);

#endif
