/* Helpers shared by the synchronisation primitives' tests: an order log
 * (what CPython's tests call `result`), and stepping the loop the way
 * their main task does with `await asyncio.sleep(0)`. */
#ifndef AIO_TEST_SYNC_SUPPORT_H
#define AIO_TEST_SYNC_SUPPORT_H

#include "support.h"

typedef struct test_log {
    int n;
    int v[256];
} test_log;

static inline void log_add(test_log *l, int x) {
    assert_true(l->n < 256);
    l->v[l->n++] = x;
}

/* The log holds exactly these values, in this order. */
#define assert_log(l, ...)                                                                                   \
    do {                                                                                                     \
        const int expect_[] = {__VA_ARGS__};                                                                 \
        const int n_ = (int)(sizeof expect_ / sizeof expect_[0]);                                            \
        assert_int_equal((l)->n, n_);                                                                        \
        for (int i_ = 0; i_ < n_; i_++)                                                                      \
            assert_int_equal((l)->v[i_], expect_[i_]);                                                       \
    } while (0)

/* asyncio's main doing `await asyncio.sleep(0)`: every task that was ready
 * runs one step (one loop iteration). */
static inline void yield_once(aio_loop *loop) { test_run_iterations(loop, 1); }

/* Run a plain-C caller's future to its outcome (the consumer takes). */
static inline int outcome(aio_loop *loop, aio_future f, aio_value *v) {
    return aio_run_until_complete(loop, f, v);
}

#endif
