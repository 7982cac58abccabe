#include "support.h"

#include <stdio.h>
#include <string.h>

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
    snprintf(r->last_task_name, sizeof r->last_task_name, "%s",
             report->task_name ? report->task_name : "");
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
