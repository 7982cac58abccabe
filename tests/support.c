#include "support.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

char *test_code_mismatch(char *buf, size_t size, long long got, int expected) {
    /* A value outside int (a byte count, say) has no name. */
    int code = got >= INT_MIN && got <= INT_MAX ? (int)got : INT_MIN;
    snprintf(buf, size, "expected %s (%d), got %s (%lld: %s)", aio_err_name(expected), expected,
             aio_err_name(code), got, aio_strerror(code));
    return buf;
}

void test_assert_code(long long got, int expected, const char *expr, const char *file, int line) {
    if (got == expected)
        return;
    char msg[256];
    print_error("%s: %s\n", expr, test_code_mismatch(msg, sizeof msg, got, expected));
    _fail(file, line);
}

aio_loop *test_loop_new(int virtual_clock) {
    aio_loop_options opts = {0};
    opts.virtual_clock = virtual_clock;
    aio_loop *loop = NULL;
    int rc = aio_loop_create(&loop, &opts);
    assert_int_equal(rc, 0);
    assert_non_null(loop);
    return loop;
}

static void collect(aio_loop *loop, const aio_report *report, void *arg) {
    (void)loop;
    test_reports *r = arg;
    r->count++;
    snprintf(r->last_message, sizeof r->last_message, "%s", report->message);
    r->last_error = report->error;
    snprintf(r->last_task_name, sizeof r->last_task_name, "%s", report->task_name ? report->task_name : "");
}

void test_collect_reports(aio_loop *loop, test_reports *r) {
    memset(r, 0, sizeof *r);
    assert_int_equal(aio_loop_set_exception_handler(loop, collect, r), 0);
}

struct iter_state {
    int left;
};

static void iter_step(aio_loop *loop, void *arg) {
    struct iter_state *s = arg;
    if (--s->left <= 0)
        aio_loop_stop(loop);
    else
        assert_int_equal(aio_call_soon(loop, iter_step, s, NULL), 0);
}

void test_run_iterations(aio_loop *loop, int iterations) {
    struct iter_state s = {iterations};
    assert_int_equal(aio_call_soon(loop, iter_step, &s, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
}

void close_loop(aio_loop *loop) {
    assert_aio_ok(aio_loop_close(loop));
    assert_aio_ok(aio_loop_free(loop));
}

aio_status test_forever(aio_task *t, void *frame) {
    struct test_forever *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 3600.0));
    if (f->cancelled_at_await)
        *f->cancelled_at_await = AIO_ERR(t) == AIO_ECANCELLED;
    AIO_RETURN(t, 1);
    AIO_END(t);
}

aio_status test_await_fut(aio_task *t, void *frame) {
    struct test_await_fut *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->f); /* consumes the reference given in the frame */
    *f->err = AIO_ERR(t);
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    AIO_RETURN(t, AIO_RESULT(t));
    AIO_END(t);
}
