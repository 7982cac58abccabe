/* libaio's names do not clash with POSIX <aio.h> (aio_read, aio_error,
 * aio_cancel, struct aiocb, AIO_CANCELED, ...): both headers are included
 * in one translation unit, and both APIs are used together at run time: a
 * libaio timer polls a POSIX asynchronous write until it completes. */
#include <aio/aio.h>
#include <aio.h> /* POSIX, after ours: our headers must not define its names */

#include "support.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Both name spaces coexist at compile time: POSIX's types, constants and
 * functions next to libaio's. */
static void both_headers_compile_together(void **state) {
    (void)state;
    struct aiocb cb;
    memset(&cb, 0, sizeof cb);
    assert_true(sizeof(struct aiocb) > sizeof(aio_future));
    assert_int_not_equal(AIO_CANCELED, AIO_NOTCANCELED);
    assert_int_not_equal(AIO_ALLDONE, AIO_CANCELED);
    assert_int_not_equal(LIO_READ, LIO_WRITE);
    /* libaio's cancellation code is ECANCELED, not POSIX's AIO_CANCELED. */
    assert_int_equal(AIO_ECANCELLED, -ECANCELED);

    /* Function pointers of both APIs, side by side. */
    int (*posix_error)(const struct aiocb *) = aio_error;
    int (*posix_cancel)(int, struct aiocb *) = aio_cancel;
    int (*ours_error)(aio_loop *, aio_future) = aio_future_error;
    int (*ours_cancel)(aio_loop *, aio_future, const char *) = aio_future_cancel;
    assert_non_null(posix_error);
    assert_non_null(posix_cancel);
    assert_non_null(ours_error);
    assert_non_null(ours_cancel);

    aio_loop *loop = NULL;
    aio_loop_create(&loop, NULL);
    assert_non_null(loop);
    assert_int_equal(aio_loop_free(loop), 0);
}

typedef struct posix_job {
    struct aiocb cb;
    aio_future done;
    int polls;
    double deadline;
} posix_job;

static double real_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A libaio timer that polls POSIX aio_error() until the write is done, then
 * completes a libaio future with POSIX aio_return(). */
static void poll_posix(aio_loop *loop, void *arg) {
    posix_job *j = arg;
    j->polls++;
    int err = aio_error(&j->cb);
    if (err == EINPROGRESS && real_now() < j->deadline) {
        assert_int_equal(aio_call_later(loop, 0.001, poll_posix, j, NULL), 0);
        return;
    }
    if (err != 0) {
        assert_int_equal(aio_future_set_error(loop, j->done, err > 0 ? -err : -ETIMEDOUT), 0);
        return;
    }
    ssize_t n = aio_return(&j->cb);
    assert_int_equal(aio_future_set_result(loop, j->done, AIO_VALUE((int64_t)n)), 0);
}

/* Both libraries link and run in one process: POSIX aio_write() completes
 * while a libaio loop waits for it, and POSIX aio_cancel() reports the
 * finished request as AIO_ALLDONE. */
static void posix_aio_driven_by_libaio_loop(void **state) {
    (void)state;
    char path[] = "/tmp/aio_test_posix_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);

    static const char text[] = "hello from POSIX aio";
    posix_job j;
    memset(&j, 0, sizeof j);
    j.cb.aio_fildes = fd;
    j.cb.aio_buf = (volatile void *)text;
    j.cb.aio_nbytes = sizeof text - 1;
    j.cb.aio_offset = 0;
    j.cb.aio_sigevent.sigev_notify = SIGEV_NONE;
    j.deadline = real_now() + 10.0;

    aio_loop *loop = test_loop_new(0);
    j.done = aio_future_new(loop);
    assert_int_equal(aio_write(&j.cb), 0);
    assert_int_equal(aio_call_soon(loop, poll_posix, &j, NULL), 0);
    aio_value v = AIO_NONE;
    assert_int_equal(aio_run_until_complete(loop, j.done, &v), 0);
    assert_int_equal(v.i, (int64_t)(sizeof text - 1));
    assert_true(j.polls >= 1);
    assert_int_equal(aio_cancel(fd, &j.cb), AIO_ALLDONE);

    char back[sizeof text];
    memset(back, 0, sizeof back);
    assert_int_equal(pread(fd, back, sizeof text - 1, 0), (ssize_t)(sizeof text - 1));
    assert_string_equal(back, text);
    close(fd);
    assert_int_equal(aio_loop_free(loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(both_headers_compile_together),
        cmocka_unit_test(posix_aio_driven_by_libaio_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
