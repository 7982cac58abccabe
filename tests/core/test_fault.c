/* The fault-injection hooks themselves (src/core/fault.h): the allocation
 * countdown in both modes, mappings included, and the system-call wrappers
 * the library uses today (the wakeup fd's read and write, the backend's
 * wait), each failing with the errno a test picks.
 *
 * Every case arms process-wide countdowns: ctest runs each in a process of
 * its own (the binary's argument names the case), and each disarms before
 * it returns, so that running them all in one process works too. */
#include "support.h"

#include "core/fault.h"

#include <aio/executor.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- allocations ---- */

/* Creating and freeing a loop makes a few allocations; failing each one in
 * turn makes the creation fail with -ENOMEM (and leak nothing: LSan and
 * valgrind check), and the countdown fails exactly the one asked for. */
static void fault_alloc_once_fails_the_nth(void **state) {
    (void)state;
    aio__fault_alloc_arm(AIO__FAULT_OFF, 1);
    aio_loop *loop = test_loop_new(0);
    assert_aio_ok(aio_loop_free(loop));
    long total = aio__fault_alloc_seen();
    assert_true(total >= 3); /* the loop, its ready ring, the backend's state, ... */
    assert_int_equal(aio__fault_alloc_failed(), 0);
    for (long n = 1; n <= total; n++) {
        aio__fault_alloc_arm(AIO__FAULT_ONCE, n);
        loop = NULL;
        int rc = aio_loop_create(&loop, NULL);
        if (rc == 0) /* the n-th was an allocation a creation may do without */
            assert_aio_ok(aio_loop_free(loop));
        else
            assert_aio_err(rc, -ENOMEM);
        assert_int_equal(aio__fault_alloc_failed(), 1);
    }
    aio__fault_alloc_arm(AIO__FAULT_ONCE, 1);
    assert_aio_err(aio_loop_create(&loop, NULL), -ENOMEM);
    assert_aio_ok(aio_loop_create(&loop, NULL)); /* once means once */
    assert_aio_ok(aio_loop_free(loop));
    aio__fault_reset();
}

/* FROM mode: the n-th allocation and every one after it fail, until
 * disarmed. */
static void fault_alloc_from_fails_every_later_one(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio__fault_alloc_arm(AIO__FAULT_FROM, 1);
    /* The first future grows the (empty) futures table: an allocation. */
    for (int i = 0; i < 3; i++)
        assert_aio_err(aio_future_check(aio_future_new(loop)), -ENOMEM);
    assert_int_equal(aio__fault_alloc_failed(), 3);
    aio__fault_reset();
    aio_future f = aio_future_new(loop);
    assert_aio_ok(aio_future_check(f));
    assert_aio_ok(aio_future_release(loop, f));
    assert_aio_ok(aio_loop_free(loop));
}

/* Tables from 256 KiB on live in mappings of their own (mmap, grown by
 * mremap): both are fault points too. 16384 slots of 16 bytes are 256 KiB;
 * with huge pages off the sizes are exact. */
static void fault_alloc_covers_mappings(void **state) {
    (void)state;
    aio_loop_options opts = {0};
    opts.virtual_clock = 1;
    opts.huge_pages = -1;
    aio_loop *loop;
    assert_aio_ok(aio_loop_create(&loop, &opts));
    enum { N = 32768 };
    static aio_future f[N + 1];
    int n = 0;
    for (; n < 16384; n++)
        assert_aio_ok(aio_future_check(f[n] = aio_future_new(loop)));
    aio__fault_alloc_arm(AIO__FAULT_FROM, 1);
    assert_aio_err(aio_future_check(aio_future_new(loop)), -ENOMEM); /* the first mapping */
    assert_int_equal(aio__fault_alloc_failed(), 1);
    aio__fault_reset();
    for (; n < N; n++)
        assert_aio_ok(aio_future_check(f[n] = aio_future_new(loop)));
    aio__fault_alloc_arm(AIO__FAULT_ONCE, 1);
    assert_aio_err(aio_future_check(aio_future_new(loop)), -ENOMEM); /* the mremap */
    assert_int_equal(aio__fault_alloc_failed(), 1);
    assert_aio_ok(aio_future_check(f[n] = aio_future_new(loop))); /* memory is back */
    n++;
    aio__fault_reset();
    for (int i = 0; i < n; i++)
        assert_aio_ok(aio_future_release(loop, f[i]));
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- system calls ---- */

typedef struct poster {
    aio_loop *loop;
    int delay_ms;
    atomic_int ran;
} poster;

static void posted(aio_loop *loop, void *arg) {
    poster *p = arg;
    atomic_fetch_add(&p->ran, 1);
    aio_loop_stop(loop);
}

static void *post_later(void *arg) {
    poster *p = arg;
    sleep_ms(p->delay_ms);
    assert_aio_ok(aio_call_soon_threadsafe(p->loop, posted, p));
    return NULL;
}

static void watchdog(aio_loop *loop, void *arg) {
    *(int *)arg = 1;
    aio_loop_stop(loop);
}

/* The wakeup fd's write is interrupted by a signal (EINTR): it is written
 * again, so a loop blocked in its poll still wakes for a threadsafe call.
 * Without the retry, the loop sleeps until the watchdog. */
static void fault_sys_wakeup_write_eintr(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int fired = 0;
    assert_aio_ok(aio_call_later(loop, 10.0, watchdog, &fired, NULL));
    poster p = {loop, 50, 0};
    aio__fault_sys_arm(AIO__SYS_WRITE, AIO__FAULT_ONCE, 1, EINTR);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, post_later, &p), 0);
    assert_aio_ok(aio_run_forever(loop));
    pthread_join(th, NULL);
    assert_int_equal(aio__fault_sys_failed(AIO__SYS_WRITE), 1);
    assert_int_equal(atomic_load(&p.ran), 1);
    assert_int_equal(fired, 0);
    aio__fault_reset();
    assert_aio_ok(aio_loop_free(loop));
}

static void count_polls_then_stop(aio_loop *loop, void *arg) {
    aio_loop_stats *s = arg;
    assert_aio_ok(aio_loop_get_stats(loop, s));
    aio_loop_stop(loop);
}

/* The wakeup fd's read is interrupted (EINTR) while draining: it is read
 * again, so the fd does not stay readable with nothing to drain (a
 * level-triggered poll would then return at once, over and over: the loop
 * would spin instead of sleeping until its next timer). */
static void fault_sys_wakeup_read_eintr(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    poster p = {loop, 0, 0};
    assert_aio_ok(aio_call_soon_threadsafe(loop, posted, &p));
    aio__fault_sys_arm(AIO__SYS_READ, AIO__FAULT_ONCE, 1, EINTR);
    assert_aio_ok(aio_run_forever(loop));
    assert_int_equal(atomic_load(&p.ran), 1);
    assert_int_equal(aio__fault_sys_failed(AIO__SYS_READ), 1);
    aio_loop_stats before, after;
    assert_aio_ok(aio_loop_get_stats(loop, &before));
    assert_aio_ok(aio_call_later(loop, 0.2, count_polls_then_stop, &after, NULL));
    assert_aio_ok(aio_run_forever(loop));
    /* Asleep for 200 ms: a handful of polls, not thousands. */
    assert_true(after.polls - before.polls < 20);
    aio__fault_reset();
    assert_aio_ok(aio_loop_free(loop));
}

static aio_status nap(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.02));
    AIO_RETURN(t, 7);
    AIO_END(t);
}

/* The backend's wait (epoll_wait or poll) is interrupted by a signal: not
 * an error, the loop goes on and the sleep still ends. */
static void fault_sys_wait_eintr_goes_on(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio__fault_sys_arm(AIO__SYS_WAIT, AIO__FAULT_ONCE, 1, EINTR);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_create_task_sized(loop, nap, NULL, 0), &v));
    assert_int_equal(v.i, 7);
    assert_int_equal(aio__fault_sys_failed(AIO__SYS_WAIT), 1);
    aio__fault_reset();
    assert_aio_ok(aio_loop_free(loop));
}

/* Any other failure of the wait ends the run with its code; the loop is
 * intact and the next run finishes the task. */
static void fault_sys_wait_error_ends_the_run(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_future task = aio_create_task_sized(loop, nap, NULL, 0);
    assert_non_null(aio_future_retain(loop, task).id);
    aio__fault_sys_arm(AIO__SYS_WAIT, AIO__FAULT_ONCE, 1, ENOMEM);
    assert_aio_err(aio_run_until_complete(loop, task, NULL), -ENOMEM);
    assert_int_equal(aio__fault_sys_failed(AIO__SYS_WAIT), 1);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, task, &v));
    assert_int_equal(v.i, 7);
    aio__fault_reset();
    assert_aio_ok(aio_loop_free(loop));
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fault_alloc_once_fails_the_nth),
        cmocka_unit_test(fault_alloc_from_fails_every_later_one),
        cmocka_unit_test(fault_alloc_covers_mappings),
        cmocka_unit_test(fault_sys_wakeup_write_eintr),
        cmocka_unit_test(fault_sys_wakeup_read_eintr),
        cmocka_unit_test(fault_sys_wait_eintr_goes_on),
        cmocka_unit_test(fault_sys_wait_error_ends_the_run),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
