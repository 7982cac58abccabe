/* A report handler that does what handlers do (issue 14, items 5 to 8):
 * cancels the reported task or another one, closes or frees the loop,
 * creates a task, runs the loop, ..., while the loop closes, while it
 * releases a failed future outside a run, and during a run. Whatever the
 * handler calls is safe: every call that could change the loop returns
 * AIO_EINREPORT and changes nothing, the read-only queries and
 * aio_loop_stop work, and the operation that reported goes on (ASan and
 * valgrind would see a use after free or a leak). */
#include "support.h"

#include <aio/combinators.h>

#include <string.h>

/* ---- what the handler does ---- */

enum action {
    A_CANCEL_REPORTED, /* aio_future_cancel on the report's own future */
    A_CANCEL_OTHER,    /* aio_task_cancel on another task */
    A_CANCEL_GATHER,   /* aio_future_cancel on a pending gather */
    A_CLOSE,           /* aio_loop_close */
    A_FREE,            /* aio_loop_free */
    A_CREATE_TASK,     /* aio_create_task */
    A_NEW_FUTURE,      /* aio_future_new */
    A_CALL_SOON,       /* aio_call_soon */
    A_RUN,             /* aio_run_until_complete */
    A_RELEASE,         /* aio_future_release of another future */
    A_DONE,            /* aio_future_done (it reads, through a handle) */
    A_REMOVE_READER,   /* aio_remove_reader */
    A_STOP,            /* aio_loop_stop: allowed */
    A_TIME,            /* aio_loop_time_ns: allowed */
    A_COUNT
};
static const char *const action_names[] = {"cancel the reported future",
                                           "cancel another task",
                                           "cancel a gather",
                                           "close the loop",
                                           "free the loop",
                                           "create a task",
                                           "create a future",
                                           "call_soon",
                                           "run the loop",
                                           "release another future",
                                           "look at a future",
                                           "remove a reader",
                                           "stop the loop",
                                           "read the clock"};

typedef struct handler_state {
    enum action action;
    int reports;
    int acted;     /* reports the action was tried on (each one) */
    long long got; /* what the call returned (0 or a code): the first unexpected one */
    aio_future other, gather, plain;
} handler_state;

static aio_status forever(aio_task *t, void *frame) {
    struct {
        aio_future f;
    } *fr = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, fr->f);
    AIO_END(t);
}

static aio_status hello(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_END(t);
}

static void noop(aio_loop *loop, void *arg) {
    (void)loop;
    (void)arg;
}

static long long expected(enum action a);

static void act(aio_loop *loop, const aio_report *r, void *arg) {
    handler_state *h = arg;
    h->reports++;
    long long got = 0;
    switch (h->action) {
    case A_CANCEL_REPORTED:
        got = aio_future_cancel(loop, r->future, "from the handler");
        break;
    case A_CANCEL_OTHER:
        got = aio_task_cancel(loop, h->other, NULL);
        break;
    case A_CANCEL_GATHER:
        got = aio_future_cancel(loop, h->gather, NULL);
        break;
    case A_CLOSE:
        got = aio_loop_close(loop);
        break;
    case A_FREE:
        got = aio_loop_free(loop);
        break;
    case A_CREATE_TASK:
        got = aio_future_check(aio_create_task_sized(loop, hello, NULL, 0));
        break;
    case A_NEW_FUTURE:
        got = aio_future_check(aio_future_new(loop));
        break;
    case A_CALL_SOON:
        got = aio_call_soon(loop, noop, NULL, NULL);
        break;
    case A_RUN:
        got = aio_run_until_complete(loop, h->plain, NULL);
        break;
    case A_RELEASE:
        got = aio_future_release(loop, h->plain);
        break;
    case A_DONE:
        got = aio_future_done(loop, h->plain);
        break;
    case A_REMOVE_READER:
        got = aio_remove_reader(loop, 0);
        break;
    case A_STOP:
        got = aio_loop_stop(loop);
        break;
    case A_TIME:
        got = aio_loop_time_ns(loop) >= 0 ? 0 : -1;
        break;
    default:
        break;
    }
    if (!h->acted++ || got != expected(h->action))
        h->got = got;
}

/* What the call returns from inside the handler. */
static long long expected(enum action a) { return a == A_STOP || a == A_TIME ? 0 : AIO_EINREPORT; }

static void check_action(const handler_state *h, const char *when) {
    if (!h->acted)
        fail_msg("%s: no report to act on", when);
    if (h->got != expected(h->action)) {
        char msg[160];
        fail_msg("%s, the handler tried to %s: %s", when, action_names[h->action],
                 test_code_mismatch(msg, sizeof msg, h->got, (int)expected(h->action)));
    }
}

/* A loop with things a handler can reach: a pending task (reported first
 * when the loop closes), another pending task awaiting it, a pending
 * gather over a third, and a plain future. */
typedef struct scene {
    aio_loop *loop;
    handler_state h;
    aio_future never;
    struct {
        aio_future f;
    } fr1, fr2, fr3;
} scene;

static void scene_set(scene *s, enum action a) {
    memset(s, 0, sizeof *s);
    s->loop = test_loop_new(1);
    s->h.action = a;
    s->never = aio_future_new(s->loop);
    s->fr1.f = aio_future_retain(s->loop, s->never);
    s->fr3.f = aio_future_retain(s->loop, s->never);
    aio_future reported = aio_create_task(s->loop, forever, &s->fr1);
    s->fr2.f = aio_future_retain(s->loop, reported); /* reported before it, at close */
    s->h.other = aio_create_task(s->loop, forever, &s->fr2);
    aio_future third = aio_create_task(s->loop, forever, &s->fr3);
    s->h.gather = aio_gather(s->loop, &third, 1, NULL, 0);
    s->h.plain = aio_future_new(s->loop);
    assert_aio_ok(aio_future_check(reported));
    assert_aio_ok(aio_future_check(s->h.other));
    assert_aio_ok(aio_future_check(s->h.gather));
    assert_aio_ok(aio_future_release(s->loop, reported));
    test_run_iterations(s->loop, 2); /* every task awaits `never` */
    assert_aio_ok(aio_loop_set_exception_handler(s->loop, act, &s->h));
}

/* During aio_loop_close: three tasks are reported destroyed. */
static void handler_during_close(enum action a) {
    scene s;
    scene_set(&s, a);
    assert_aio_ok(aio_loop_close(s.loop));
    check_action(&s.h, "during close");
    assert_int_equal(s.h.reports, 3); /* each pending task once, the nested close included */
    assert_int_equal(s.h.acted, 3);   /* on each: the second cancel used to reach the first, freed */
    assert_int_equal(aio_loop_is_closed(s.loop), 1);
    assert_aio_ok(aio_loop_free(s.loop));
}

/* Outside a run: releasing the last reference to a failed future nobody
 * looked at reports it, from inside aio_future_release. */
static void handler_outside_run(enum action a) {
    scene s;
    scene_set(&s, a);
    aio_future failed = aio_future_new(s.loop);
    assert_aio_ok(aio_future_set_error(s.loop, failed, -EIO));
    assert_aio_ok(aio_future_release(s.loop, failed));
    check_action(&s.h, "outside a run");
    assert_int_equal(s.h.reports, 1);
    /* The loop is whole: it still runs, and closes. */
    assert_aio_ok(aio_future_set_result(s.loop, s.h.plain, AIO_VALUE(1)));
    test_run_iterations(s.loop, 1);
    assert_int_equal(aio_future_done(s.loop, s.h.plain), 1);
    assert_aio_ok(aio_loop_set_exception_handler(s.loop, NULL, NULL));
    test_reports quiet;
    test_collect_reports(s.loop, &quiet);
    assert_aio_ok(aio_loop_free(s.loop));
}

static aio_status fail_eio(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_FAIL(t, -EIO);
    AIO_END(t);
}

/* During a run: a task nobody holds fails; its slot is freed, and
 * reported, from inside the dispatch. */
static void handler_during_run(enum action a) {
    scene s;
    scene_set(&s, a);
    assert_aio_ok(aio_future_release(s.loop, aio_create_task_sized(s.loop, fail_eio, NULL, 0)));
    test_run_iterations(s.loop, 3);
    check_action(&s.h, "during a run");
    assert_int_equal(s.h.reports, 1);
    assert_aio_ok(aio_loop_set_exception_handler(s.loop, NULL, NULL));
    test_reports quiet;
    test_collect_reports(s.loop, &quiet);
    assert_aio_ok(aio_loop_free(s.loop));
}

/* ---- the regressions, one per item ---- */

/* Item 5: cancelling the reported task during close walked into a task
 * freed just before (ASan: use-after-poison). */
static void issue14_5_handler_cancels_reported_task_during_close(void **state) {
    (void)state;
    handler_during_close(A_CANCEL_REPORTED);
}

/* Item 6: cancelling a gather during close called its freed owner's
 * cancel. */
static void issue14_6_handler_cancels_gather_during_close(void **state) {
    (void)state;
    handler_during_close(A_CANCEL_GATHER);
}

/* Item 7: closing the loop from the handler during close reported the
 * same task again, and again, until the stack overflowed. */
static void issue14_7_handler_closes_loop_during_close(void **state) {
    (void)state;
    handler_during_close(A_CLOSE);
}

/* Item 8: freeing the loop from a report made outside a run (the release
 * of a failed future) succeeded, and the release then wrote into the
 * freed loop. */
static void issue14_8_handler_frees_loop_outside_run(void **state) {
    (void)state;
    handler_outside_run(A_FREE);
}

/* ---- every action, in every place a report is made ---- */

static void handler_actions_during_close(void **state) {
    (void)state;
    for (int a = 0; a < A_COUNT; a++)
        handler_during_close((enum action)a);
}

static void handler_actions_outside_run(void **state) {
    (void)state;
    for (int a = 0; a < A_COUNT; a++)
        handler_outside_run((enum action)a);
}

static void handler_actions_during_run(void **state) {
    (void)state;
    for (int a = 0; a < A_COUNT; a++)
        handler_during_run((enum action)a);
}

/* Outside any report, the same calls work again: the state is left when
 * the handler returns. */
static void calls_work_again_after_the_report(void **state) {
    (void)state;
    scene s;
    scene_set(&s, A_CREATE_TASK);
    aio_future failed = aio_future_new(s.loop);
    assert_aio_ok(aio_future_set_error(s.loop, failed, -EIO));
    assert_aio_ok(aio_future_release(s.loop, failed));
    check_action(&s.h, "outside a run");
    aio_future t = aio_create_task_sized(s.loop, hello, NULL, 0);
    assert_aio_ok(aio_future_check(t));
    assert_aio_ok(aio_run_until_complete(s.loop, t, NULL));
    assert_aio_ok(aio_future_cancel(s.loop, s.h.other, NULL) == 1 ? 0 : -1);
    assert_aio_ok(aio_loop_set_exception_handler(s.loop, NULL, NULL));
    test_reports quiet;
    test_collect_reports(s.loop, &quiet);
    assert_aio_ok(aio_loop_free(s.loop));
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue14_5_handler_cancels_reported_task_during_close),
        cmocka_unit_test(issue14_6_handler_cancels_gather_during_close),
        cmocka_unit_test(issue14_7_handler_closes_loop_during_close),
        cmocka_unit_test(issue14_8_handler_frees_loop_outside_run),
        cmocka_unit_test(handler_actions_during_close),
        cmocka_unit_test(handler_actions_outside_run),
        cmocka_unit_test(handler_actions_during_run),
        cmocka_unit_test(calls_work_again_after_the_report),
    };
    if (argc > 1) /* one case (for a debugger) */
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
