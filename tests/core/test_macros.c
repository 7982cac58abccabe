/* The coroutine and task macros as a user writes them: typed coroutines
 * (AIO_CORO + aio_spawn), coroutines without a frame, calls that take the
 * task where a loop is asked for, AIO_AWAIT_OK / AIO_AWAIT_OR, the cancel
 * message at the await, and aio_gather_of. The forms that must NOT compile
 * are checked by tests/compile_fail/. */
#include "support.h"

#include <string.h>

/* ---- typed coroutines ---- */

struct adder {
    int a, b;
    int *out;
};

AIO_CORO(adder, struct adder) {
    AIO_BEGIN(t);
    AIO_YIELD(t); /* the frame survives a suspension */
    *f->out = f->a + f->b;
    AIO_RETURN(t, f->a + f->b);
    AIO_END(t);
}

struct spawner {
    int sum;
    aio_value got;
};

AIO_CORO(spawner, struct spawner) {
    AIO_BEGIN(t);
    /* The frame's size is the declared type's, however it is passed. */
    AIO_AWAIT(t, aio_spawn(t, adder, &(struct adder){.a = 40, .b = 2, .out = &f->sum}));
    f->got = AIO_RESULT(t);
    AIO_RETURN(t, AIO_ERR(t));
    AIO_END(t);
}

static void typed_coroutine_gets_its_frame_typed(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct spawner fr = {0};
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_spawn(loop, spawner, &fr), &v));
    assert_int_equal(v.i, 0);
    aio_loop_free(loop);
}

/* aio_spawn copies the frame: the caller's struct may go away at once. */
static void typed_spawn_copies_the_frame(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int out = 0;
    aio_future task;
    {
        struct adder tmp = {.a = 1, .b = 2, .out = &out};
        task = aio_spawn(loop, adder, &tmp);
        memset(&tmp, 0x5a, sizeof tmp);
    }
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, task, &v));
    assert_int_equal(v.i, 3);
    assert_int_equal(out, 3);
    aio_loop_free(loop);
}

/* A typed coroutine is also a plain aio_coro_fn (untyped spawn works). */
static void typed_coroutine_is_a_plain_function(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int out = 0;
    aio_coro_fn fn = adder;
    aio_value v;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_create_task(loop, fn, &(struct adder){.a = 5, .b = 6, .out = &out}), &v));
    assert_int_equal(v.i, 11);
    aio_loop_free(loop);
}

/* ---- no frame ---- */

static int frameless_runs;

static aio_status frameless(aio_task *t, void *frame) {
    AIO_BEGIN(t);
    (void)frame; /* points at 0 bytes */
    frameless_runs++;
    AIO_AWAIT(t, aio_sleep(t, 0.5));
    AIO_RETURN(t, 7);
    AIO_END(t);
}

static void task_without_frame(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    frameless_runs = 0;
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_create_task(loop, frameless), &v));
    assert_int_equal(v.i, 7);
    assert_int_equal(frameless_runs, 1);
    /* The sized call with NULL and 0 is the same thing. */
    assert_aio_ok(aio_run_until_complete(loop, aio_create_task_sized(loop, frameless, NULL, 0), &v));
    assert_int_equal(frameless_runs, 2);
    /* A NULL frame with a size is a caller's mistake. */
    assert_aio_err(aio_future_check(aio_create_task_sized(loop, frameless, NULL, 8)), -EINVAL);
    aio_loop_free(loop);
}

static void run_without_frame(void **state) {
    (void)state;
    frameless_runs = 0;
    assert_aio_ok(aio_run(frameless));
    assert_int_equal(frameless_runs, 1);
}

/* ---- the task where a loop is asked for ---- */

struct plumbing_out {
    aio_future fut;
    int done_before, done_after, n_tasks, is_task;
    int64_t t0, t1;
    aio_value got;
};
struct plumbing {
    struct plumbing_out *o;
};

static void set_it(aio_loop *loop, void *arg) {
    struct plumbing_out *o = arg;
    aio_future_set_result(loop, o->fut, AIO_VALUE(5));
}

AIO_CORO(plumbing, struct plumbing) {
    AIO_BEGIN(t);
    /* Every call below is given `t`, not a loop. */
    f->o->fut = aio_future_new(t);
    f->o->done_before = aio_future_done(t, f->o->fut);
    assert_aio_ok(aio_call_soon(t, set_it, f->o, NULL));
    f->o->t0 = aio_loop_time_ns(t);
    AIO_AWAIT(t, aio_future_retain(t, f->o->fut));
    f->o->got = AIO_RESULT(t);
    f->o->done_after = aio_future_done(t, f->o->fut);
    assert_aio_ok(aio_future_release(t, f->o->fut));
    f->o->n_tasks = (int)aio_loop_pending_tasks(t);
    f->o->is_task = aio_future_is_task(t, aio_task_handle(t));
    assert_int_equal(aio_current_task(t).id, aio_task_handle(t).id);
    assert_aio_ok(aio_task_set_name(t, aio_task_handle(t), "plumber"));
    assert_string_equal(aio_task_get_name(t, aio_task_handle(t)), "plumber");
    AIO_AWAIT(t, aio_sleep(t, 2.0));
    f->o->t1 = aio_loop_time_ns(t);
    AIO_END(t);
}

static void calls_take_the_task_for_the_loop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct plumbing_out o = {0};
    assert_aio_ok(aio_run_until_complete(loop, aio_spawn(loop, plumbing, &(struct plumbing){&o}), NULL));
    assert_int_equal(o.done_before, 0);
    assert_int_equal(o.done_after, 1);
    assert_int_equal(o.got.i, 5);
    assert_int_equal(o.n_tasks, 1);
    assert_int_equal(o.is_task, 1);
    assert_true(o.t1 - o.t0 >= 2000000000);
    aio_loop_free(loop);
}

/* ---- AIO_AWAIT_OK and AIO_AWAIT_OR ---- */

struct awaits {
    int *step;
};

AIO_CORO(await_ok_chain, struct awaits) {
    AIO_BEGIN(t);
    AIO_AWAIT_OK(t, aio_sleep(t, 0.1));
    *f->step = 1;
    aio_future bad = aio_future_new(t);
    aio_future_set_error(t, bad, -EPROTO);
    AIO_AWAIT_OK(t, bad); /* fails the coroutine with -EPROTO */
    *f->step = 2;         /* never reached */
    AIO_END(t);
}

static void await_ok_propagates_the_error(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int step = 0;
    aio_future task = aio_spawn(loop, await_ok_chain, &(struct awaits){&step});
    assert_aio_err(aio_run_until_complete(loop, task, NULL), -EPROTO);
    assert_int_equal(step, 1);
    aio_loop_free(loop);
}

struct await_or {
    int *step, *cleaned;
    aio_future gate;
};

AIO_CORO(await_or_label, struct await_or) {
    AIO_BEGIN(t);
    *f->step = 1;
    AIO_AWAIT_OR(t, f->gate, cleanup);
    *f->step = 2; /* not reached: the gate fails */
cleanup:
    *f->cleaned = AIO_ERR(t);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void await_or_jumps_to_the_label(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int step = 0, cleaned = 0;
    aio_future gate = aio_future_new(loop);
    aio_future task =
        aio_spawn(loop, await_or_label, &(struct await_or){&step, &cleaned, aio_future_retain(loop, gate)});
    assert_aio_ok(aio_future_set_error(loop, gate, -ECONNRESET));
    assert_aio_err(aio_run_until_complete(loop, task, NULL), -ECONNRESET);
    assert_int_equal(step, 1);
    assert_int_equal(cleaned, -ECONNRESET);
    aio_future_release(loop, gate);
    aio_loop_free(loop);
}

/* ---- the cancel message where the cancel lands ---- */

struct msg_probe {
    const char **out;
    int *awaits;
};

AIO_CORO(msg_probe, struct msg_probe) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.5));
    *f->out = AIO_CANCEL_MESSAGE(t); /* not cancelled: NULL */
    (*f->awaits)++;
    AIO_AWAIT(t, aio_sleep(t, 100));
    *f->out = AIO_CANCEL_MESSAGE(t);
    (*f->awaits)++;
    AIO_END(t);
}

static void cancel_message_is_readable_at_the_await(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    const char *seen = "unset";
    int awaits = 0;
    aio_future task = aio_spawn(loop, msg_probe, &(struct msg_probe){&seen, &awaits});
    assert_aio_ok(aio_run_until_complete(loop, aio_sleep(loop, 1.0), NULL));
    assert_int_equal(awaits, 1);
    assert_null(seen);
    assert_int_equal(aio_task_cancel(loop, task, "bye"), 1);
    assert_aio_err(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL), AIO_ECANCELLED);
    assert_int_equal(awaits, 2);
    assert_string_equal(seen, "bye");
    assert_string_equal(aio_future_cancel_message(loop, task), "bye");
    aio_future_release(loop, task);
    aio_loop_free(loop);
}

/* ---- aio_gather_of ---- */

struct gather_of {
    aio_outcome *res;
    int *sum;
};

AIO_CORO(gathers, struct gather_of) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_gather_of(t, f->res, 0, aio_sleep_value(t, 0.2, 1), aio_sleep_value(t, 0.1, 2),
                               aio_spawn(t, adder, &(struct adder){.a = 1, .b = 2, .out = f->sum})));
    AIO_RETURN(t, AIO_ERR(t) == 0 ? AIO_RESULT(t).i : AIO_ERR(t));
    AIO_END(t);
}

static void gather_of_lists_futures_inline(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_outcome res[3];
    memset(res, 0xff, sizeof res);
    int sum = 0;
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_spawn(loop, gathers, &(struct gather_of){res, &sum}), &v));
    assert_int_equal(v.i, 3); /* the gather's result: how many */
    for (int i = 0; i < 3; i++)
        assert_aio_ok(res[i].err);
    assert_int_equal(res[0].value.i, 1);
    assert_int_equal(res[1].value.i, 2);
    assert_int_equal(res[2].value.i, 3);
    assert_int_equal(sum, 3);
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typed_coroutine_gets_its_frame_typed),
        cmocka_unit_test(typed_spawn_copies_the_frame),
        cmocka_unit_test(typed_coroutine_is_a_plain_function),
        cmocka_unit_test(task_without_frame),
        cmocka_unit_test(run_without_frame),
        cmocka_unit_test(calls_take_the_task_for_the_loop),
        cmocka_unit_test(await_ok_propagates_the_error),
        cmocka_unit_test(await_or_jumps_to_the_label),
        cmocka_unit_test(cancel_message_is_readable_at_the_await),
        cmocka_unit_test(gather_of_lists_futures_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
