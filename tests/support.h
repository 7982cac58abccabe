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

/* Run `iterations` loop iterations: a callback chain that stops the loop. */
void test_run_iterations(aio_loop *loop, int iterations);

#endif
