/* Task groups (aio/group.h): every GROUP-* case of the sync acceptance spec
 * (asyncio_sync_semantics.md), named after its ID and the CPython test or
 * issue it comes from (test_taskgroups.py), then what C adds: the group
 * closed however the coroutine ends, the (task, error) list, misuse, and
 * the children array staying small. Virtual clock throughout. */
#include "support.h"

#include <stdbool.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------- */

#define E_ZERO (-EDOM)    /* ZeroDivisionError */
#define E_VALUE (-ERANGE) /* ValueError */
#define E_TYPE (-EFAULT)  /* TypeError */
#define E_KEY (-ENOENT)   /* KeyError */
#define E_MINE (-EPROTO)  /* MyExc / CustomException */

/* Loop time in ms, exact to the nanosecond the sleeps round to. */
static void assert_at_ms(aio_loop *loop, int64_t ms) {
    int64_t ns = aio_loop_time_ns(loop);
    if (ns < ms * 1000000 - 1000 || ns > ms * 1000000 + 1000)
        fail_msg("loop time %lld ns, expected %lld ms", (long long)ns, (long long)ms);
}

/* A child: sleeps `delay`, then fails with `fail` or returns `value`. Cancelled
 * at its sleep: counts it in *cancelled, may sleep `cleanup` more, then fails
 * with `cleanup_fail` (its `finally` raising) or re-raises AIO_ECANCELLED. */
struct kid {
    double delay;
    int fail;
    int64_t value;
    double cleanup;
    int cleanup_fail;
    int *cancelled;
    int *started;
    int64_t *ended_ns;
};

AIO_CORO(kid, struct kid) {
    AIO_BEGIN(t);
    if (f->started)
        (*f->started)++;
    AIO_AWAIT(t, aio_sleep(t, f->delay));
    if (AIO_ERR(t) == AIO_ECANCELLED) {
        if (f->cancelled)
            (*f->cancelled)++;
        if (f->cleanup > 0)
            AIO_AWAIT(t, aio_sleep(t, f->cleanup));
        if (f->ended_ns)
            *f->ended_ns = aio_loop_time_ns(t);
        AIO_FAIL(t, f->cleanup_fail ? f->cleanup_fail : AIO_ECANCELLED);
    }
    if (f->ended_ns)
        *f->ended_ns = aio_loop_time_ns(t);
    if (f->fail)
        AIO_FAIL(t, f->fail);
    AIO_RETURN(t, f->value);
    AIO_END(t);
}

/* Run a task of coroutine fn on frame until it is done: its status, and
 * whether it ended cancelled. */
struct ran {
    int rc;
    int cancelled;
    aio_value v;
};

static struct ran run_task(aio_loop *loop, aio_future task) {
    struct ran r;
    assert_aio_ok(aio_future_check(task));
    aio_future_retain(loop, task);
    r.rc = aio_run_until_complete(loop, task, &r.v);
    r.cancelled = aio_future_cancelled(loop, task);
    aio_future_release(loop, task);
    return r;
}

/* A frame that is just a group. */
struct g24 {
    aio_group g;
};

/* The errors a group collected, copied out for the caller. */
struct seen {
    size_t n;
    int err[8];
    int from_body[8];
};

static void note_errors(const aio_group *g, struct seen *s) {
    const aio_group_error *e = aio_group_errors(g, &s->n);
    for (size_t i = 0; i < s->n && i < 8; i++) {
        s->err[i] = e[i].err;
        s->from_body[i] = e[i].task.id == 0;
    }
}

/* ---- GROUP-01 ------------------------------------------------------------ */

/* foo1 (0.1 s, 42) and foo2 (0.2 s, 11); the body sleeps `gap` between the
 * spawns; with cancel_first, the first child sleeps 1 s and the body cancels
 * it after the gap. */
struct g01 {
    double gap;
    bool cancel_first;
    aio_group g;
    aio_future t1, t2;
};

/* The frame is the task's copy: results go out through a static, reset per
 * test (cmocka runs the tests one after another). */
static struct g01_out {
    int join_err, cancelling;
    int t1_err, t2_err;
    int64_t v1, v2;
    int t1_cancelled;
} g01_out;

/* The body: it reports through g01_out. */
AIO_CORO(g01_report, struct g01) {
    aio_value v;
    AIO_BEGIN(t);
    assert_aio_ok(AIO_GROUP_BEGIN(t, &f->g));
    f->t1 = aio_future_retain(
        t, aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = f->cancel_first ? 1.0 : 0.1, .value = 42}));
    if (f->gap > 0)
        AIO_AWAIT(t, aio_sleep(t, f->gap));
    if (f->cancel_first)
        assert_int_equal(aio_task_cancel(t, f->t1, NULL), 1);
    f->t2 = aio_future_retain(t, aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.2, .value = 11}));
    AIO_GROUP_JOIN(t, &f->g);
    g01_out.join_err = AIO_ERR(t);
    g01_out.cancelling = aio_task_cancelling(t);
    g01_out.t1_err = aio_future_result(t, f->t1, &v);
    g01_out.v1 = v.i;
    g01_out.t1_cancelled = aio_future_cancelled(t, f->t1);
    g01_out.t2_err = aio_future_result(t, f->t2, &v);
    g01_out.v2 = v.i;
    aio_future_release(t, f->t1);
    aio_future_release(t, f->t2);
    AIO_END(t);
}

static void g01_case(double gap, bool cancel_first, int64_t end_ms) {
    memset(&g01_out, 0, sizeof g01_out);
    aio_loop *loop = test_loop_new(1);
    struct ran r =
        run_task(loop, aio_spawn(loop, g01_report, &(struct g01){.gap = gap, .cancel_first = cancel_first}));
    assert_aio_ok(r.rc);
    assert_at_ms(loop, end_ms);
    assert_aio_ok(g01_out.join_err);
    assert_int_equal(g01_out.cancelling, 0);
    if (cancel_first) {
        assert_int_equal(g01_out.t1_cancelled, 1);
    } else {
        assert_aio_ok(g01_out.t1_err);
        assert_int_equal(g01_out.v1, 42);
    }
    assert_aio_ok(g01_out.t2_err);
    assert_int_equal(g01_out.v2, 11);
    close_loop(loop);
}

/* GROUP-01, test_taskgroup_01: the join waits for both children: 0.2 s. */
static void GROUP_01_join_waits_for_every_child(void **state) {
    (void)state;
    g01_case(0, false, 200);
}

/* GROUP-01, test_taskgroup_02: a child spawned after 0.15 s: 0.35 s. */
static void GROUP_01_spawn_after_a_sleep(void **state) {
    (void)state;
    g01_case(0.15, false, 350);
}

/* GROUP-01, test_taskgroup_03: cancelling one child explicitly is no error
 * and does not touch the parent's cancelling count. */
static void GROUP_01_child_cancelled_explicitly(void **state) {
    (void)state;
    g01_case(0.15, true, 350);
}

/* ---- GROUP-02 ------------------------------------------------------------ */

/* R: a group of `nfail` children failing with E_ZERO after 0.1 s and one
 * (foo2) sleeping 5 s; the body sleeps 10 s (or fails at once with
 * body_fail, or after 0.1 s with fail_after). After the join R adds 10 to
 * num and propagates the join's error. */
static struct r02 {
    int num;
    int foo2_cancelled, body_cancelled;
    struct seen seen;
    int join_err;
    int cancelling_after;
    int started;
    int64_t join_ns;
} r02;

struct g02 {
    int nfail;
    double foo2_delay;
    double body_sleep;
    int body_fail;       /* aio_group_fail before any await */
    int body_fail_after; /* ... after sleeping body_sleep */
    bool raw_fail;       /* AIO_FAIL instead of aio_group_fail (the group closes itself) */
    aio_group g;
    int i;
};

AIO_CORO(g02_runner, struct g02) {
    AIO_BEGIN(t);
    assert_aio_ok(AIO_GROUP_BEGIN(t, &f->g));
    for (f->i = 0; f->i < f->nfail; f->i++)
        aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.1, .fail = E_ZERO});
    aio_group_spawn(
        t, &f->g, kid,
        &(struct kid){.delay = f->foo2_delay, .cancelled = &r02.foo2_cancelled, .started = &r02.started});
    if (f->body_fail) {
        if (f->raw_fail)
            AIO_FAIL(t, f->body_fail);
        assert_aio_ok(aio_group_fail(t, &f->g, f->body_fail));
        goto join;
    }
    if (f->body_sleep > 0) {
        AIO_AWAIT(t, aio_sleep(t, f->body_sleep));
        if (AIO_ERR(t) == AIO_ECANCELLED) {
            r02.body_cancelled = 1;
            goto join;
        }
        if (f->body_fail_after) {
            if (f->raw_fail)
                AIO_FAIL(t, f->body_fail_after);
            assert_aio_ok(aio_group_fail(t, &f->g, f->body_fail_after));
        }
    }
join:
    AIO_GROUP_JOIN(t, &f->g);
    r02.join_err = AIO_ERR(t);
    r02.join_ns = aio_loop_time_ns(t);
    r02.cancelling_after = aio_task_cancelling(t);
    note_errors(&f->g, &r02.seen);
    if (r02.join_err < 0)
        AIO_FAIL(t, r02.join_err);
    r02.num += 10;
    AIO_END(t);
}

/* GROUP-02, test_cancel_children_on_child_error: three children fail in
 * the same iteration; the group cancels foo2 and the body at 0.1 s and
 * reports all three; R fails (not cancelled) and its count is back to 0. */
static void GROUP_02_cancel_children_on_child_error(void **state) {
    (void)state;
    memset(&r02, 0, sizeof r02);
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(
        loop, aio_spawn(loop, g02_runner, &(struct g02){.nfail = 3, .foo2_delay = 5, .body_sleep = 10}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_int_equal(r.cancelled, 0);
    assert_at_ms(loop, 100);
    assert_int_equal(r02.foo2_cancelled, 1);
    assert_int_equal(r02.body_cancelled, 1);
    assert_int_equal(r02.seen.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_aio_err(r02.seen.err[i], E_ZERO);
        assert_int_equal(r02.seen.from_body[i], 0);
    }
    assert_int_equal(r02.num, 0);
    assert_int_equal(r02.cancelling_after, 0);
    close_loop(loop);
}

/* GROUP-02, test_taskgroup_04: one failure, foo2 (1 s) cancelled; the body
 * is at the join already. */
static void GROUP_02_child_error_while_joining(void **state) {
    (void)state;
    memset(&r02, 0, sizeof r02);
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, g02_runner, &(struct g02){.nfail = 1, .foo2_delay = 1}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_at_ms(loop, 100);
    assert_int_equal(r02.foo2_cancelled, 1);
    assert_int_equal(r02.seen.n, 1);
    assert_int_equal(r02.num, 0);
    assert_int_equal(r02.cancelling_after, 0);
    close_loop(loop);
}

/* GROUP-02, test_taskgroup_10: the body fails before any await: its error
 * is the group's (listed as the body's), at t = 0, and both children end
 * cancelled without ever running. */
static void GROUP_02_body_fails_at_once(void **state) {
    (void)state;
    memset(&r02, 0, sizeof r02);
    aio_loop *loop = test_loop_new(1);
    struct ran r =
        run_task(loop, aio_spawn(loop, g02_runner, &(struct g02){.foo2_delay = 2, .body_fail = E_ZERO}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_at_ms(loop, 0);
    assert_int_equal(r02.started, 0);
    assert_int_equal(r02.foo2_cancelled, 0);
    assert_int_equal(r02.seen.n, 1);
    assert_aio_err(r02.seen.err[0], E_ZERO);
    assert_int_equal(r02.seen.from_body[0], 1);
    close_loop(loop);
}

/* GROUP-02, test_taskgroup_10, the C way: the body AIO_FAILs inside the
 * group; the group is closed for it (children cancelled, never run), and the
 * task fails with the body's error itself (deliberate: with no list left to
 * read after the task, the one error is the useful outcome). */
static void GROUP_02_body_fails_at_once_task_ends(void **state) {
    (void)state;
    memset(&r02, 0, sizeof r02);
    aio_loop *loop = test_loop_new(1);
    size_t before = aio_loop_pending_tasks(loop);
    struct ran r =
        run_task(loop, aio_spawn(loop, g02_runner,
                                 &(struct g02){.foo2_delay = 2, .body_fail = E_ZERO, .raw_fail = true}));
    assert_aio_err(r.rc, E_ZERO);
    assert_at_ms(loop, 0);
    assert_int_equal(r02.started, 0);
    assert_int_equal(aio_loop_pending_tasks(loop), before);
    close_loop(loop);
}

/* GROUP-02, test_taskgroup_09: the body fails after 0.1 s: both children
 * (1 s, 2 s) are cancelled then. */
static void GROUP_02_body_fails_after_a_sleep(void **state) {
    (void)state;
    memset(&r02, 0, sizeof r02);
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(
        loop, aio_spawn(loop, g02_runner,
                        &(struct g02){.foo2_delay = 2, .body_sleep = 0.1, .body_fail_after = E_ZERO}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_at_ms(loop, 100);
    assert_int_equal(r02.foo2_cancelled, 1);
    assert_int_equal(r02.seen.n, 1);
    assert_int_equal(r02.seen.from_body[0], 1);
    close_loop(loop);
}

/* GROUP-02, test_cancelling_level_preserved: a child fails after sleep(0)
 * while the body waits in the join; once the error is caught the count is
 * 0 and the next sleep completes. */
struct level {
    aio_group g;
    int join_err, count, sleep_err;
};

AIO_CORO(level_body, struct level) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0, .fail = -EIO});
    AIO_GROUP_JOIN(t, &f->g);
    f->join_err = AIO_ERR(t);
    f->count = aio_task_cancelling(t);
    AIO_AWAIT(t, aio_sleep(t, 0.01));
    f->sleep_err = AIO_ERR(t);
    AIO_RETURN(t, f->join_err * 1000 + f->count * 100 + (f->sleep_err != 0));
    AIO_END(t);
}

static void GROUP_02_cancelling_level_preserved(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, level_body, &(struct level){0}));
    assert_aio_ok(r.rc);
    assert_int_equal(r.cancelled, 0);
    assert_int_equal(r.v.i, (int64_t)AIO_EGROUP * 1000); /* count 0, the sleep completed */
    assert_at_ms(loop, 10);
    close_loop(loop);
}

/* ---- GROUP-03 ------------------------------------------------------------ */

/* R: nkids children sleeping 5 (counting their cancellations in num); the
 * body sleeps body_sleep (adding 10 to num when cancelled) or goes straight
 * to the join. Main cancels R after `after` seconds. */
static struct r03 {
    int num;
    int join_err;
    struct seen seen;
} r03;

struct g03 {
    int nkids;
    double kid_sleep;
    double body_sleep;
    int kid_cleanup_fail;
    int body_turns_into; /* the body converts its cancellation into this error */
    double body_cleanup; /* ... or sleeps this long before going to the join */
    double crash_at;     /* a child failing with E_ZERO at this time, if > 0 */
    aio_group g;
    int i;
};

AIO_CORO(g03_runner, struct g03) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    for (f->i = 0; f->i < f->nkids; f->i++)
        aio_group_spawn(
            t, &f->g, kid,
            &(struct kid){.delay = f->kid_sleep, .cancelled = &r03.num, .cleanup_fail = f->kid_cleanup_fail});
    if (f->crash_at > 0)
        aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = f->crash_at, .fail = E_ZERO});
    if (f->body_sleep > 0) {
        AIO_AWAIT(t, aio_sleep(t, f->body_sleep));
        if (AIO_ERR(t) == AIO_ECANCELLED) {
            r03.num += 10;
            if (f->body_turns_into)
                aio_group_fail(t, &f->g, f->body_turns_into);
            if (f->body_cleanup > 0)
                AIO_AWAIT(t, aio_sleep(t, f->body_cleanup));
        }
    }
    AIO_GROUP_JOIN(t, &f->g);
    r03.join_err = AIO_ERR(t);
    note_errors(&f->g, &r03.seen);
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

/* main: start R, sleep `after`, cancel R with "test", await R. */
struct canceller {
    aio_future r;
    double after;
    int r_err;
    const char *msg;
};

AIO_CORO(cancel_after, struct canceller) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->after));
    assert_int_equal(aio_future_done(t, f->r), 0);
    aio_task_cancel(t, f->r, "test");
    AIO_AWAIT(t, aio_future_retain(t, f->r));
    f->r_err = AIO_ERR(t);
    f->msg = aio_future_cancel_message(t, f->r);
    aio_future_release(t, f->r);
    AIO_RETURN(t, f->r_err);
    AIO_END(t);
}

static struct ran cancel_r_after(aio_loop *loop, aio_future r, double after, const char **msg,
                                 int *cancelled) {
    aio_future keep = aio_future_retain(loop, r);
    struct ran out =
        run_task(loop, aio_spawn(loop, cancel_after, &(struct canceller){.r = r, .after = after}));
    *cancelled = aio_future_cancelled(loop, keep);
    *msg = aio_future_cancel_message(loop, keep);
    aio_future_release(loop, keep);
    return out;
}

static void g03_case(struct g03 fr, double after, int64_t end_ms, int want_r, int want_num) {
    memset(&r03, 0, sizeof r03);
    aio_loop *loop = test_loop_new(1);
    aio_future r = aio_spawn(loop, g03_runner, &fr);
    const char *msg;
    int cancelled;
    struct ran main = cancel_r_after(loop, r, after, &msg, &cancelled);
    assert_aio_ok(main.rc);
    assert_aio_err(main.v.i, want_r);
    assert_int_equal(cancelled, want_r == AIO_ECANCELLED);
    if (want_r == AIO_ECANCELLED)
        assert_string_equal(msg, "test");
    assert_int_equal(r03.num, want_num);
    assert_at_ms(loop, end_ms);
    close_loop(loop);
}

/* GROUP-03, test_cancellation: R cancelled from outside while it waits in
 * the join for 5 children: they are cancelled and R ends cancelled (with
 * the message given), not failed. */
static void GROUP_03_cancellation(void **state) {
    (void)state;
    g03_case((struct g03){.nkids = 5, .kid_sleep = 5}, 0.1, 100, AIO_ECANCELLED, 5);
    assert_aio_err(r03.join_err, AIO_ECANCELLED);
}

/* GROUP-03, test_taskgroup_07: the body sleeping too: NUM = 15. */
static void GROUP_03_body_and_children_cancelled(void **state) {
    (void)state;
    g03_case((struct g03){.nkids = 5, .kid_sleep = 5, .body_sleep = 10}, 0.1, 100, AIO_ECANCELLED, 15);
}

/* GROUP-03, test_taskgroup_17: no children: the body's cancellation
 * propagates. */
static void GROUP_03_no_children(void **state) {
    (void)state;
    g03_case((struct g03){.body_sleep = 10}, 0.1, 100, AIO_ECANCELLED, 10);
}

/* GROUP-03, test_taskgroup_22: the body has finished and the join waits for
 * two children (1 s, 2 s): a cancel at 0.05 s still gives AIO_ECANCELLED. */
static void GROUP_03_cancel_while_joining(void **state) {
    (void)state;
    g03_case((struct g03){.nkids = 2, .kid_sleep = 1}, 0.05, 50, AIO_ECANCELLED, 2);
}

/* ---- GROUP-04 ------------------------------------------------------------ */

/* GROUP-04, test_taskgroup_08: the 5 children's cleanup fails: errors win
 * over the cancellation, R fails with the group of 5 and is not cancelled. */
static void GROUP_04_errors_beat_cancellation(void **state) {
    (void)state;
    g03_case((struct g03){.nkids = 5, .kid_sleep = 5, .body_sleep = 10, .kid_cleanup_fail = E_ZERO}, 0.1, 100,
             AIO_EGROUP, 15);
    assert_int_equal(r03.seen.n, 5);
    for (int i = 0; i < 5; i++)
        assert_aio_err(r03.seen.err[i], E_ZERO);
}

/* GROUP-04, test_taskgroup_18: no children; the body turns the outside
 * cancellation into its own error: a group of [MyExc]. */
static void GROUP_04_body_turns_cancel_into_error(void **state) {
    (void)state;
    g03_case((struct g03){.body_sleep = 10, .body_turns_into = E_MINE}, 0.1, 100, AIO_EGROUP, 10);
    assert_int_equal(r03.seen.n, 1);
    assert_aio_err(r03.seen.err[0], E_MINE);
    assert_int_equal(r03.seen.from_body[0], 1);
}

/* GROUP-04, test_taskgroup_15: the body catches the outside cancel at 0.1
 * and sleeps 0.5 before leaving; crash_soon fails at 0.3: the group cancels
 * that cleanup sleep and R fails with [ZeroDivisionError] at 0.3. */
static void GROUP_04_child_error_during_cancel_cleanup(void **state) {
    (void)state;
    g03_case((struct g03){.body_sleep = 10, .body_cleanup = 0.5, .crash_at = 0.3}, 0.1, 300, AIO_EGROUP, 10);
    assert_int_equal(r03.seen.n, 1);
    assert_aio_err(r03.seen.err[0], E_ZERO);
}

/* GROUP-04, test_taskgroup_16: the same, R reaching the group through an
 * intermediate task it awaits. */
struct via {
    struct g03 inner;
};

AIO_CORO(via_runner, struct via) {
    AIO_BEGIN(t);
    AIO_AWAIT_OK(t, aio_spawn(t, g03_runner, &f->inner));
    AIO_END(t);
}

static void GROUP_04_through_an_intermediate_task(void **state) {
    (void)state;
    memset(&r03, 0, sizeof r03);
    aio_loop *loop = test_loop_new(1);
    aio_future r =
        aio_spawn(loop, via_runner, &(struct via){{.body_sleep = 10, .body_cleanup = 0.5, .crash_at = 0.3}});
    const char *msg;
    int cancelled;
    struct ran main = cancel_r_after(loop, r, 0.1, &msg, &cancelled);
    assert_aio_err(main.v.i, AIO_EGROUP);
    assert_int_equal(cancelled, 0);
    assert_at_ms(loop, 300);
    close_loop(loop);
}

/* ---- GROUP-05 ------------------------------------------------------------ */

/* GROUP-05, test_taskgroup_19: crash_soon fails at 0.1 while the body is in
 * a helper whose cleanup fails with MyExc: both errors, the children's
 * first and the body's last. */
struct nested_helper {
    int dummy;
};

AIO_CORO(helper_cleanup_fails, struct nested_helper) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 10));
    AIO_FAIL(t, E_MINE); /* its `finally` raises, cancelled or not */
    AIO_END(t);
}

struct g19 {
    aio_group g;
    AIO_CHILD(struct nested_helper) helper;
};

AIO_CORO(g19_runner, struct g19) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.1, .fail = E_ZERO});
    AIO_AWAIT_CORO(t, helper_cleanup_fails, &f->helper);
    if (AIO_ERR(t) < 0 && AIO_ERR(t) != AIO_ECANCELLED)
        aio_group_fail(t, &f->g, AIO_ERR(t));
    AIO_GROUP_JOIN(t, &f->g);
    note_errors(&f->g, &r03.seen);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void GROUP_05_every_error_children_first(void **state) {
    (void)state;
    memset(&r03, 0, sizeof r03);
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, g19_runner, &(struct g19){0}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_at_ms(loop, 100);
    assert_int_equal(r03.seen.n, 2);
    assert_aio_err(r03.seen.err[0], E_ZERO);
    assert_int_equal(r03.seen.from_body[0], 0);
    assert_aio_err(r03.seen.err[1], E_MINE);
    assert_int_equal(r03.seen.from_body[1], 1);
    close_loop(loop);
}

/* GROUP-05 (probe): ValueError('a') and TypeError('b') at 0.1, a third
 * child's cleanup raises KeyError, a fourth would raise IndexError at 0.2:
 * exactly {a, b, KeyError} at 0.1, and the IndexError never happens. */
struct g05 {
    aio_group g;
    int64_t fourth_ended;
};

AIO_CORO(g05_runner, struct g05) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.1, .fail = E_VALUE});
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.1, .fail = E_TYPE});
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 5, .cleanup_fail = E_KEY});
    f->fourth_ended = -1;
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.2, .fail = -EOVERFLOW});
    AIO_GROUP_JOIN(t, &f->g);
    note_errors(&f->g, &r03.seen);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void GROUP_05_errors_seen_together(void **state) {
    (void)state;
    memset(&r03, 0, sizeof r03);
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, g05_runner, &(struct g05){0}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_at_ms(loop, 100);
    assert_int_equal(r03.seen.n, 3);
    int got = 0;
    for (size_t i = 0; i < r03.seen.n; i++)
        got |= r03.seen.err[i] == E_VALUE  ? 1
               : r03.seen.err[i] == E_TYPE ? 2
               : r03.seen.err[i] == E_KEY  ? 4
                                           : 8;
    assert_int_equal(got, 7);
    close_loop(loop);
}

/* GROUP-05, gh-95289 (test_taskgroup_context_manager_exit_raises): a child
 * fails at once; the body's inner context, cancelled by the group, fails on
 * exit too: 2 errors, the count back to 0, and a later sleep completes. */
struct g95289 {
    aio_group g;
    int join_err, count, sleep_err;
    size_t nerr;
};

AIO_CORO(g95289_main, struct g95289) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0, .fail = E_MINE});
    AIO_AWAIT(t, aio_sleep(t, 1));
    aio_group_fail(t, &f->g, E_MINE); /* the database context's exit raises */
    AIO_GROUP_JOIN(t, &f->g);
    f->join_err = AIO_ERR(t);
    f->count = aio_task_cancelling(t);
    aio_group_errors(&f->g, &f->nerr);
    AIO_AWAIT(t, aio_sleep(t, 0.5));
    f->sleep_err = AIO_ERR(t);
    AIO_RETURN(t, f->join_err == AIO_EGROUP && f->nerr == 2 && f->count == 0 && f->sleep_err == 0);
    AIO_END(t);
}

static void GROUP_05_gh95289_context_exit_raises(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct g95289 fr = {0};
    struct ran r = run_task(loop, aio_spawn(loop, g95289_main, &fr));
    assert_aio_ok(r.rc);
    assert_int_equal(r.v.i, 1);
    assert_at_ms(loop, 500);
    close_loop(loop);
}

/* ---- GROUP-06 ------------------------------------------------------------ */

static struct r06 {
    int inner_err, outer_err;
    struct seen inner, outer;
    int inner_count, outer_count;
    int outer_kid_cancelled;
} r06;

/* G1 with a child failing (E_VALUE) after g1_crash s, and in its body G2
 * with children failing after g2_crash s (n2 of them; or, with
 * g2_cleanup_fail, sleeping 10 s and failing when cancelled). A G2 error
 * leaves G1's body with that error (aio_group_fail). */
struct g06 {
    double g1_crash, g2_crash;
    int n2;
    int g2_cleanup_fail;
    bool g1_sleeper;
    aio_group g1, g2;
    int i;
};

AIO_CORO(g06_runner, struct g06) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g1);
    if (f->g1_crash > 0)
        aio_group_spawn(
            t, &f->g1, kid,
            &(struct kid){.delay = f->g1_crash, .fail = E_VALUE, .cancelled = &r06.outer_kid_cancelled});
    if (f->g1_sleeper)
        aio_group_spawn(t, &f->g1, kid, &(struct kid){.delay = 10, .cancelled = &r06.outer_kid_cancelled});
    AIO_GROUP_BEGIN(t, &f->g2);
    for (f->i = 0; f->i < f->n2; f->i++)
        aio_group_spawn(t, &f->g2, kid,
                        &(struct kid){.delay = f->g2_cleanup_fail ? 10 : f->g2_crash,
                                      .fail = f->g2_cleanup_fail ? 0 : E_VALUE,
                                      .cleanup_fail = f->g2_cleanup_fail});
    AIO_GROUP_JOIN(t, &f->g2);
    r06.inner_err = AIO_ERR(t);
    r06.inner_count = aio_task_cancelling(t);
    note_errors(&f->g2, &r06.inner);
    if (r06.inner_err == AIO_EGROUP)
        aio_group_fail(t, &f->g1, AIO_EGROUP);
    AIO_GROUP_JOIN(t, &f->g1);
    r06.outer_err = AIO_ERR(t);
    r06.outer_count = aio_task_cancelling(t);
    note_errors(&f->g1, &r06.outer);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

/* GROUP-06, test_taskgroup_13: G1's child fails at 0.1: G2 ends with plain
 * cancellation (no error), G1 reports a flat [ValueError]. */
static void GROUP_06_outer_child_fails(void **state) {
    (void)state;
    memset(&r06, 0, sizeof r06);
    aio_loop *loop = test_loop_new(1);
    struct ran r =
        run_task(loop, aio_spawn(loop, g06_runner, &(struct g06){.g1_crash = 0.1, .g2_crash = 10, .n2 = 1}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_at_ms(loop, 100);
    assert_aio_err(r06.inner_err, AIO_ECANCELLED);
    assert_int_equal(r06.inner.n, 0);
    assert_int_equal(r06.outer.n, 1);
    assert_aio_err(r06.outer.err[0], E_VALUE);
    assert_int_equal(r06.outer.from_body[0], 0);
    assert_int_equal(r06.outer_count, 0);
    close_loop(loop);
}

/* GROUP-06, test_taskgroup_14: G2's child fails at 0.1: G1 reports the
 * body's [group of [ValueError]] (G2's list stays readable), and G1's
 * child is cancelled. */
static void GROUP_06_inner_child_fails(void **state) {
    (void)state;
    memset(&r06, 0, sizeof r06);
    aio_loop *loop = test_loop_new(1);
    struct ran r =
        run_task(loop, aio_spawn(loop, g06_runner, &(struct g06){.g1_crash = 10, .g2_crash = 0.1, .n2 = 1}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_at_ms(loop, 100);
    assert_aio_err(r06.inner_err, AIO_EGROUP);
    assert_int_equal(r06.inner.n, 1);
    assert_aio_err(r06.inner.err[0], E_VALUE);
    assert_int_equal(r06.outer.n, 1);
    assert_aio_err(r06.outer.err[0], AIO_EGROUP);
    assert_int_equal(r06.outer.from_body[0], 1);
    assert_int_equal(r06.outer_kid_cancelled, 1);
    assert_int_equal(r06.inner_count, 0);
    assert_int_equal(r06.outer_count, 0);
    close_loop(loop);
}

/* GROUP-06, test_taskgroup_11 and _12: G2's 5 children fail in their
 * cleanup when R is cancelled from outside at 0.1 (G1 with or without a
 * sleeping child): [group of 5 x ZeroDivisionError], R failed. */
static void g06_cancelled(bool sleeper) {
    memset(&r06, 0, sizeof r06);
    aio_loop *loop = test_loop_new(1);
    aio_future r =
        aio_spawn(loop, g06_runner, &(struct g06){.n2 = 5, .g2_cleanup_fail = E_ZERO, .g1_sleeper = sleeper});
    const char *msg;
    int cancelled;
    struct ran main = cancel_r_after(loop, r, 0.1, &msg, &cancelled);
    assert_aio_err(main.v.i, AIO_EGROUP);
    assert_int_equal(cancelled, 0);
    assert_at_ms(loop, 100);
    assert_int_equal(r06.inner.n, 5);
    for (int i = 0; i < 5; i++)
        assert_aio_err(r06.inner.err[i], E_ZERO);
    assert_int_equal(r06.outer.n, 1);
    assert_aio_err(r06.outer.err[0], AIO_EGROUP);
    assert_int_equal(r06.outer_kid_cancelled, sleeper ? 1 : 0);
    /* The outside cancellation is not lost: still counted. */
    assert_int_equal(r06.inner_count, 1);
    assert_int_equal(r06.outer_count, 1);
    close_loop(loop);
}

static void GROUP_06_cancelled_from_outside_nested(void **state) {
    (void)state;
    g06_cancelled(false);
}

static void GROUP_06_cancelled_from_outside_nested_with_sleeper(void **state) {
    (void)state;
    g06_cancelled(true);
}

/* GROUP-06, test_nested_groups_both_cancelled: inner and outer children
 * fail in the same iteration: the inner join leaves one cancellation (the
 * outer group's) counted, the outer join withdraws it. */
struct both {
    aio_group outer, inner;
    int inner_err, count_between, outer_err, count_after;
};

AIO_CORO(both_runner, struct both) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->outer);
    AIO_GROUP_BEGIN(t, &f->inner);
    aio_group_spawn(t, &f->inner, kid, &(struct kid){.delay = 0, .fail = -EIO});
    aio_group_spawn(t, &f->outer, kid, &(struct kid){.delay = 0, .fail = E_VALUE});
    AIO_GROUP_JOIN(t, &f->inner);
    f->inner_err = AIO_ERR(t);
    f->count_between = aio_task_cancelling(t);
    AIO_GROUP_JOIN(t, &f->outer);
    f->outer_err = AIO_ERR(t);
    f->count_after = aio_task_cancelling(t);
    AIO_RETURN(t, f->inner_err == AIO_EGROUP && f->count_between == 1 && f->outer_err == AIO_EGROUP &&
                      f->count_after == 0);
    AIO_END(t);
}

static void GROUP_06_nested_groups_both_cancelled(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, both_runner, &(struct both){0}));
    assert_aio_ok(r.rc);
    assert_int_equal(r.cancelled, 0);
    assert_int_equal(r.v.i, 1);
    close_loop(loop);
}

/* test_error_and_cancel: a child error while the parent is cancelled from
 * outside: the join reports the error, and the outside cancellation is
 * delivered again at the next await; the task ends cancelled. */
static struct r_ec { int join_err, count, sleep_err; } r_ec;

AIO_CORO(errcancel_inner, struct g24) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0, .fail = -EIO});
    AIO_AWAIT(t, aio_sleep(t, 1));
    AIO_GROUP_JOIN(t, &f->g);
    r_ec.join_err = AIO_ERR(t);
    r_ec.count = aio_task_cancelling(t);
    AIO_AWAIT(t, aio_sleep(t, 1));
    r_ec.sleep_err = AIO_ERR(t);
    AIO_RETURN(t, 1); /* the count still says cancelled */
    AIO_END(t);
}

static void GROUP_error_and_cancel(void **state) {
    (void)state;
    memset(&r_ec, 0, sizeof r_ec);
    aio_loop *loop = test_loop_new(1);
    aio_future inner = aio_spawn(loop, errcancel_inner, &(struct g24){0});
    const char *msg;
    int cancelled;
    /* Cancelled once the child has started, before its failure is seen. */
    struct ran main = cancel_r_after(loop, inner, 0, &msg, &cancelled);
    assert_aio_ok(main.rc);
    assert_aio_err(main.v.i, AIO_ECANCELLED);
    assert_int_equal(cancelled, 1);
    assert_aio_err(r_ec.join_err, AIO_EGROUP);
    assert_int_equal(r_ec.count, 1);
    assert_aio_err(r_ec.sleep_err, AIO_ECANCELLED);
    assert_at_ms(loop, 0);
    close_loop(loop);
}

/* ---- GROUP-07 ------------------------------------------------------------ */

static int never_ran;

struct plain {
    int dummy;
};

AIO_CORO(must_not_run, struct plain) {
    AIO_BEGIN(t);
    never_ran++;
    AIO_END(t);
}

struct g07 {
    aio_group g;
    int rc[8];
};

/* GROUP-07, test_taskgroup_not_entered / _without_parent_task: spawning into
 * a group never entered fails, and entering outside any task fails and
 * leaves it not entered. */
static void GROUP_07_not_entered_and_without_parent_task(void **state) {
    (void)state;
    never_ran = 0;
    aio_loop *loop = test_loop_new(1);
    aio_group g = {0};
    assert_aio_err(aio_future_check(aio_group_spawn(loop, &g, must_not_run, &(struct plain){0})), -EINVAL);
    assert_aio_err(aio_group_enter(NULL, &g), -EINVAL); /* no task: "cannot determine the parent task" */
    assert_aio_err(aio_future_check(aio_group_spawn(loop, &g, must_not_run, &(struct plain){0})), -EINVAL);
    assert_aio_err(aio_group_fail(loop, &g, -EIO), -EINVAL);
    assert_aio_err(aio_group_enter(NULL, NULL), -EINVAL);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    test_run_iterations(loop, 2);
    assert_int_equal(never_ran, 0);
    close_loop(loop);
}

/* GROUP-07, test_taskgroup_already_entered, _double_enter, _finished,
 * test_coro_closed_when_tg_closed: a second entry while open is refused;
 * after the join spawning gives AIO_EDONE and starts nothing. Entering
 * again after the join makes a new group (deliberate: in C the BEGIN is
 * both TaskGroup() and `async with`; the storage is the frame's). */
AIO_CORO(g07_entries, struct g07) {
    AIO_BEGIN(t);
    f->rc[0] = AIO_GROUP_BEGIN(t, &f->g);
    f->rc[1] = AIO_GROUP_BEGIN(t, &f->g);
    AIO_GROUP_JOIN(t, &f->g);
    f->rc[2] = AIO_ERR(t);
    f->rc[3] = aio_future_check(aio_group_spawn(t, &f->g, must_not_run, &(struct plain){0}));
    AIO_GROUP_JOIN(t, &f->g);
    f->rc[4] = AIO_ERR(t);                /* joined already */
    f->rc[5] = AIO_GROUP_BEGIN(t, &f->g); /* a new group */
    f->rc[6] = aio_future_check(aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0}));
    AIO_GROUP_JOIN(t, &f->g);
    f->rc[7] = AIO_ERR(t);
    assert_aio_ok(f->rc[0]);
    assert_aio_err(f->rc[1], -EALREADY);
    assert_aio_ok(f->rc[2]);
    assert_aio_err(f->rc[3], AIO_EDONE);
    assert_aio_err(f->rc[4], AIO_EDONE);
    assert_aio_ok(f->rc[5]);
    assert_aio_ok(f->rc[6]);
    assert_aio_ok(f->rc[7]);
    AIO_END(t);
}

static void GROUP_07_already_entered_and_finished(void **state) {
    (void)state;
    never_ran = 0;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, g07_entries, &(struct g07){0}));
    assert_aio_ok(r.rc);
    assert_int_equal(never_ran, 0);
    close_loop(loop);
}

/* GROUP-07, test_taskgroup_no_create_task_after_failure: a child spawning
 * from its cancellation handler while the group shuts down after a
 * failure gets AIO_ESHUTDOWN; the group reports only the first failure. */
struct late_spawner {
    aio_group *g;
    int *rc;
};

AIO_CORO(late_spawner, struct late_spawner) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 1));
    if (AIO_ERR(t) == AIO_ECANCELLED)
        *f->rc =
            aio_future_check(aio_group_spawn(t, f->g, kid, &(struct kid){.delay = 0.001, .fail = E_ZERO}));
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

struct g07b {
    aio_group g;
    int rc;
};

AIO_CORO(g07_shutting_down, struct g07b) {
    AIO_BEGIN(t);
    f->rc = 1;
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.001, .fail = E_ZERO});
    aio_group_spawn(t, &f->g, late_spawner, &(struct late_spawner){&f->g, &f->rc});
    AIO_GROUP_JOIN(t, &f->g);
    note_errors(&f->g, &r03.seen);
    assert_aio_err(f->rc, AIO_ESHUTDOWN);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void GROUP_07_no_spawn_after_failure(void **state) {
    (void)state;
    memset(&r03, 0, sizeof r03);
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, g07_shutting_down, &(struct g07b){0}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_int_equal(r03.seen.n, 1);
    assert_aio_err(r03.seen.err[0], E_ZERO);
    close_loop(loop);
}

/* GROUP-07, test_taskgroup_24: a child spawns two more while the parent
 * waits in the join: the join ends after them, at 0.3. */
struct root {
    aio_group *g;
};

AIO_CORO(root_kid, struct root) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.1));
    assert_aio_ok(aio_future_check(aio_group_spawn(t, f->g, kid, &(struct kid){.delay = 0.1})));
    assert_aio_ok(aio_future_check(aio_group_spawn(t, f->g, kid, &(struct kid){.delay = 0.2})));
    AIO_END(t);
}

AIO_CORO(g24_runner, struct g24) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, root_kid, &(struct root){&f->g});
    AIO_GROUP_JOIN(t, &f->g);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void GROUP_07_spawn_while_joining(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, g24_runner, &(struct g24){0}));
    assert_aio_ok(r.rc);
    assert_at_ms(loop, 300);
    close_loop(loop);
}

/* test_taskgroup_25: hydras spawn two more each until hercules fails. */
static int nhydras;

AIO_CORO(hydra, struct root) {
    AIO_BEGIN(t);
    nhydras++;
    AIO_AWAIT_OK(t, aio_sleep(t, 0.01));
    aio_group_spawn(t, f->g, hydra, &(struct root){f->g});
    aio_group_spawn(t, f->g, hydra, &(struct root){f->g});
    AIO_END(t);
}

AIO_CORO(hercules, struct plain) {
    AIO_BEGIN(t);
    while (nhydras < 10)
        AIO_AWAIT_OK(t, aio_sleep(t, 0.015));
    AIO_FAIL(t, E_ZERO);
    AIO_END(t);
}

AIO_CORO(hydra_runner, struct g24) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, hydra, &(struct root){&f->g});
    aio_group_spawn(t, &f->g, hercules, &(struct plain){0});
    AIO_GROUP_JOIN(t, &f->g);
    note_errors(&f->g, &r03.seen);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void GROUP_07_hydras(void **state) {
    (void)state;
    nhydras = 0;
    memset(&r03, 0, sizeof r03);
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, hydra_runner, &(struct g24){0}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_int_equal(r03.seen.n, 1);
    assert_aio_err(r03.seen.err[0], E_ZERO);
    assert_true(nhydras >= 10);
    close_loop(loop);
}

/* test_taskgroup_23: the group forgets children as they end. */
struct g23 {
    aio_group g;
    int count;
};

AIO_CORO(g23_runner, struct g23) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    for (f->count = 0; f->count < 10; f->count++) {
        AIO_AWAIT(t, aio_sleep(t, 0.1));
        aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.3});
        if (f->count == 5)
            assert_true(aio_group_pending(&f->g) < 5);
    }
    AIO_AWAIT(t, aio_sleep(t, 1.35));
    assert_int_equal(aio_group_pending(&f->g), 0);
    AIO_GROUP_JOIN(t, &f->g);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void GROUP_07_pending_count(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, g23_runner, &(struct g23){0}));
    assert_aio_ok(r.rc);
    close_loop(loop);
}

/* ---- GROUP-08 ------------------------------------------------------------ */

/* Children a and b sleep 10; the body sleeps 1, cancels the group, then
 * sleeps 5: at 1 s everything is cancelled and the join reports 0. */
static struct r08 {
    int kids_cancelled;
    int body_sleep_err;
    int join_err, count;
    int rc_shutting, rc_finished, rc_again, rc_after;
    struct seen seen;
} r08;

struct g08 {
    bool cancel_before;
    aio_group g;
};

AIO_CORO(g08_runner, struct g08) {
    AIO_BEGIN(t);
    if (f->cancel_before)
        assert_aio_ok(aio_group_cancel(t, &f->g));
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 10, .cancelled = &r08.kids_cancelled});
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 10, .cancelled = &r08.kids_cancelled});
    if (!f->cancel_before) {
        AIO_AWAIT(t, aio_sleep(t, 1));
        assert_aio_ok(aio_group_cancel(t, &f->g));
    }
    r08.rc_shutting = aio_future_check(aio_group_spawn(t, &f->g, must_not_run, &(struct plain){0}));
    AIO_AWAIT(t, aio_sleep(t, 5));
    r08.body_sleep_err = AIO_ERR(t);
    r08.rc_again = aio_group_cancel(t, &f->g);
    AIO_GROUP_JOIN(t, &f->g);
    r08.join_err = AIO_ERR(t);
    r08.count = aio_task_cancelling(t);
    r08.rc_finished = aio_future_check(aio_group_spawn(t, &f->g, must_not_run, &(struct plain){0}));
    r08.rc_after = aio_group_cancel(t, &f->g);
    AIO_END(t);
}

static void g08_case(bool before, int64_t at_ms) {
    memset(&r08, 0, sizeof r08);
    never_ran = 0;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, g08_runner, &(struct g08){.cancel_before = before}));
    assert_aio_ok(r.rc);
    assert_int_equal(r.cancelled, 0);
    assert_at_ms(loop, at_ms);
    assert_aio_err(r08.body_sleep_err, AIO_ECANCELLED);
    assert_aio_ok(r08.join_err);
    assert_int_equal(r08.count, 0);
    assert_aio_err(r08.rc_shutting, AIO_ESHUTDOWN);
    assert_aio_err(r08.rc_finished, AIO_EDONE);
    assert_aio_ok(r08.rc_again);
    assert_aio_ok(r08.rc_after);
    assert_int_equal(never_ran, 0);
    close_loop(loop);
}

/* GROUP-08, gh-108951 / PR #127214: TaskGroup.cancel() ends the group
 * without an error and without a CancelledError. */
static void GROUP_08_cancel_ends_group_normally(void **state) {
    (void)state;
    g08_case(false, 1000);
    assert_int_equal(r08.kids_cancelled, 2);
}

/* GROUP-08: cancel() before the entry: the body is cancelled at its first
 * await (the children, not started yet, never run). */
static void GROUP_08_cancel_before_entry(void **state) {
    (void)state;
    g08_case(true, 0);
    assert_int_equal(r08.kids_cancelled, 0);
}

/* GROUP-08: children's errors are still reported when a child cancels the
 * group: one child calls cancel() at 0.5 while another's cleanup fails. */
struct group_canceller {
    aio_group *g;
};

AIO_CORO(group_canceller, struct group_canceller) {
    AIO_BEGIN(t);
    AIO_AWAIT_OK(t, aio_sleep(t, 0.5));
    aio_group_cancel(t, f->g);
    AIO_END(t);
}

AIO_CORO(g08_errors, struct g08) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, group_canceller, &(struct group_canceller){&f->g});
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 10, .cleanup_fail = E_VALUE});
    AIO_GROUP_JOIN(t, &f->g);
    note_errors(&f->g, &r08.seen);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void GROUP_08_cancel_still_reports_errors(void **state) {
    (void)state;
    memset(&r08, 0, sizeof r08);
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, g08_errors, &(struct g08){0}));
    assert_aio_err(r.rc, AIO_EGROUP);
    assert_int_equal(r08.seen.n, 1);
    assert_aio_err(r08.seen.err[0], E_VALUE);
    assert_at_ms(loop, 500);
    close_loop(loop);
}

/* GROUP-08, gh-155433: timeout(0.5) around a group whose body cancels it at
 * 0.1 while a child's cleanup takes 1 s: the timeout's cancellation arrives
 * while the group ends itself and is kept: AIO_ETIMEDOUT at 1.1. */
struct g155433 {
    aio_timeout to;
    aio_group g;
};

AIO_CORO(g155433_runner, struct g155433) {
    AIO_BEGIN(t);
    AIO_TIMEOUT_BEGIN(t, &f->to, 0.5);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 10, .cleanup = 1});
    AIO_AWAIT(t, aio_sleep(t, 0.1));
    aio_group_cancel(t, &f->g);
    AIO_GROUP_JOIN(t, &f->g);
    AIO_TIMEOUT_END(t, &f->to);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void GROUP_08_gh155433_outer_cancel_kept(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, g155433_runner, &(struct g155433){0}));
    assert_aio_err(r.rc, AIO_ETIMEDOUT);
    assert_int_equal(r.cancelled, 0);
    assert_at_ms(loop, 1100);
    close_loop(loop);
}

/* The group's own cancellation of the parent and an outside one at the same
 * time: the join takes back only its own. With a child's error: AIO_EGROUP,
 * the outside cancel still counted and delivered at the next await. With
 * aio_group_cancel instead: AIO_ECANCELLED. (gh-155433 without a timeout.) */
static struct r_both { int join_err, count, next_err; } r_both;

struct own_and_outer {
    bool by_error; /* a child fails at 0.1; else the body cancels the group at 0.1 */
    aio_group g;
};

AIO_CORO(own_and_outer, struct own_and_outer) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 10, .cleanup = 1}); /* slow to go */
    if (f->by_error)
        aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.1, .fail = -EIO});
    AIO_AWAIT(t, aio_sleep(t, 0.1));
    if (!f->by_error)
        aio_group_cancel(t, &f->g);
    AIO_GROUP_JOIN(t, &f->g); /* the outside cancel comes at 0.5, while this waits */
    r_both.join_err = AIO_ERR(t);
    r_both.count = aio_task_cancelling(t);
    AIO_AWAIT(t, aio_sleep(t, 0.01));
    r_both.next_err = AIO_ERR(t);
    AIO_END(t);
}

static void own_and_outer_case(bool by_error) {
    memset(&r_both, 0, sizeof r_both);
    aio_loop *loop = test_loop_new(1);
    aio_future r = aio_spawn(loop, own_and_outer, &(struct own_and_outer){.by_error = by_error});
    const char *msg;
    int cancelled;
    struct ran main = cancel_r_after(loop, r, 0.5, &msg, &cancelled);
    assert_aio_ok(main.rc);
    assert_aio_err(main.v.i, AIO_ECANCELLED);
    assert_int_equal(cancelled, 1);
    assert_aio_err(r_both.join_err, by_error ? AIO_EGROUP : AIO_ECANCELLED);
    assert_int_equal(r_both.count, 1);
    if (by_error)
        assert_aio_err(r_both.next_err, AIO_ECANCELLED); /* delivered again */
    assert_at_ms(loop, by_error ? 1100 : 1110);
    close_loop(loop);
}

static void GROUP_outer_cancel_kept_beside_own_after_error(void **state) {
    (void)state;
    own_and_outer_case(true);
}

static void GROUP_outer_cancel_kept_beside_own_after_cancel(void **state) {
    (void)state;
    own_and_outer_case(false);
}

/* A cancel requested while the body runs, and a join with nothing to wait
 * for: the join does not await, so (as asyncio's __aexit__) it reports 0 and
 * the cancel lands at the next await, once. */
static struct r_pend { int join_err, next_err, after_err; } r_pend;

AIO_CORO(pending_cancel, struct g24) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_task_cancel(t, aio_task_handle(t), NULL);
    AIO_GROUP_JOIN(t, &f->g);
    r_pend.join_err = AIO_ERR(t);
    AIO_AWAIT(t, aio_sleep(t, 0.01));
    r_pend.next_err = AIO_ERR(t);
    AIO_AWAIT(t, aio_sleep(t, 0.01));
    r_pend.after_err = AIO_ERR(t);
    AIO_END(t);
}

static void GROUP_undelivered_cancel_lands_after_the_join(void **state) {
    (void)state;
    memset(&r_pend, 0, sizeof r_pend);
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, pending_cancel, &(struct g24){0}));
    assert_aio_err(r.rc, AIO_ECANCELLED);
    assert_aio_ok(r_pend.join_err);
    assert_aio_err(r_pend.next_err, AIO_ECANCELLED);
    assert_aio_ok(r_pend.after_err);
    close_loop(loop);
}

/* ---- the C part: closed however the coroutine ends ---------------------- */

static struct rc_ {
    int cancelled;
    int64_t ended_ns;
    int started;
} rc_;

/* A coroutine that opens a group with two children (sleeping `kid_sleep`,
 * the second failing with kid_cleanup_fail when cancelled) and then, after
 * `after` seconds, leaves the coroutine without a join: by returning, by
 * failing, or by propagating an await's cancellation (AIO_AWAIT_OK). */
enum leave { RETURN, FAIL, AWAIT_OK, CANCEL_GROUP_THEN_OK };
struct leaver {
    enum leave how;
    double after;
    int kid_cleanup_fail;
    double kid_cleanup;
    aio_group g;
    aio_timeout to;
    bool with_timeout;
    double timeout;
};

AIO_CORO(leaver, struct leaver) {
    AIO_BEGIN(t);
    if (f->with_timeout)
        AIO_TIMEOUT_BEGIN(t, &f->to, f->timeout);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(
        t, &f->g, kid,
        &(struct kid){
            .delay = 10, .cancelled = &rc_.cancelled, .ended_ns = &rc_.ended_ns, .started = &rc_.started});
    aio_group_spawn(t, &f->g, kid,
                    &(struct kid){.delay = 10,
                                  .cancelled = &rc_.cancelled,
                                  .cleanup = f->kid_cleanup,
                                  .cleanup_fail = f->kid_cleanup_fail,
                                  .started = &rc_.started});
    if (f->how == CANCEL_GROUP_THEN_OK) {
        AIO_AWAIT_OK(t, aio_sleep(t, f->after));
        aio_group_cancel(t, &f->g);
        AIO_AWAIT_OK(t, aio_sleep(t, 100)); /* cancelled: propagates AIO_ECANCELLED */
    }
    if (f->how == AWAIT_OK)
        AIO_AWAIT_OK(t, aio_sleep(t, f->after)); /* cancelled from outside meanwhile */
    AIO_AWAIT(t, aio_sleep(t, f->after));
    if (f->how == FAIL)
        AIO_FAIL(t, -EIO);
    AIO_RETURN(t, 7);
    AIO_END(t);
}

static void leave_case(struct leaver fr, int want_rc, int want_cancelled, int64_t end_ms, int64_t want_v) {
    memset(&rc_, 0, sizeof rc_);
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    struct ran r = run_task(loop, aio_spawn(loop, leaver, &fr));
    assert_aio_err(r.rc, want_rc);
    assert_int_equal(r.cancelled, want_cancelled);
    if (want_rc == 0)
        assert_int_equal(r.v.i, want_v);
    assert_at_ms(loop, end_ms);
    assert_int_equal(rc_.started, 2);
    assert_int_equal(rc_.cancelled, 2);                /* cancelled, and... */
    assert_int_equal(aio_loop_pending_tasks(loop), 0); /* ...awaited before the task completed */
    assert_int_equal(reps.count, 0);                   /* nothing was left unretrieved */
    close_loop(loop);
}

/* The coroutine returns inside the group: its children are cancelled and
 * awaited, and the task completes after them with its result. */
static void GROUP_closed_when_the_coroutine_returns(void **state) {
    (void)state;
    leave_case((struct leaver){.how = RETURN, .after = 0.1}, 0, 0, 100, 7);
    leave_case((struct leaver){.how = RETURN, .after = 0.1, .kid_cleanup = 0.2}, 0, 0, 300, 7);
}

/* The coroutine fails inside the group: the task fails with its error once
 * the children are done; a child failing in its cleanup makes it
 * AIO_EGROUP. */
static void GROUP_closed_when_the_coroutine_fails(void **state) {
    (void)state;
    leave_case((struct leaver){.how = FAIL, .after = 0.1}, -EIO, 0, 100, 0);
    leave_case((struct leaver){.how = FAIL, .after = 0.1, .kid_cleanup_fail = E_ZERO}, AIO_EGROUP, 0, 100, 0);
    leave_case((struct leaver){.how = RETURN, .after = 0.1, .kid_cleanup_fail = E_ZERO}, AIO_EGROUP, 0, 100,
               0);
}

/* The coroutine is cancelled from outside and propagates it (AIO_AWAIT_OK):
 * the task ends cancelled, after its children. */
static void GROUP_closed_when_the_coroutine_is_cancelled(void **state) {
    (void)state;
    memset(&rc_, 0, sizeof rc_);
    aio_loop *loop = test_loop_new(1);
    aio_future r = aio_spawn(loop, leaver, &(struct leaver){.how = AWAIT_OK, .after = 5, .kid_cleanup = 0.2});
    const char *msg;
    int cancelled;
    struct ran main = cancel_r_after(loop, r, 0.1, &msg, &cancelled);
    assert_aio_err(main.v.i, AIO_ECANCELLED);
    assert_int_equal(cancelled, 1);
    assert_string_equal(msg, "test");
    assert_at_ms(loop, 300); /* after the second child's 0.2 s cleanup */
    assert_int_equal(rc_.cancelled, 2);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    close_loop(loop);
}

/* The group is cancelled on purpose and the coroutine propagates the
 * cancellation (AIO_AWAIT_OK): the group withdraws its own request, so the
 * task is not cancelled: it ends as a return would (asyncio suppresses the
 * CancelledError the group caused). */
static void GROUP_closed_after_cancel_is_not_cancelled(void **state) {
    (void)state;
    leave_case((struct leaver){.how = CANCEL_GROUP_THEN_OK, .after = 0.1}, 0, 0, 100, 0);
}

/* A task cancelled again while its end waits for the children: it ends
 * cancelled, once they are done. */
static void GROUP_cancelled_while_closing(void **state) {
    (void)state;
    memset(&rc_, 0, sizeof rc_);
    aio_loop *loop = test_loop_new(1);
    aio_future r =
        aio_spawn(loop, leaver, &(struct leaver){.how = RETURN, .after = 0.05, .kid_cleanup = 0.5});
    const char *msg;
    int cancelled;
    struct ran main = cancel_r_after(loop, r, 0.1, &msg, &cancelled);
    assert_aio_err(main.v.i, AIO_ECANCELLED);
    assert_int_equal(cancelled, 1);
    assert_at_ms(loop, 550);
    close_loop(loop);
}

/* A timeout and a group both open when the coroutine ends: the group is
 * closed first, then the timeout turns the cancellation it caused into
 * AIO_ETIMEDOUT. */
static void GROUP_and_timeout_closed_when_the_coroutine_fails(void **state) {
    (void)state;
    leave_case((struct leaver){.how = AWAIT_OK, .after = 5, .with_timeout = true, .timeout = 0.1},
               AIO_ETIMEDOUT, 0, 100, 0);
}

/* The errors name their tasks: a reference the group holds until cleared. */
struct named {
    aio_group g;
    aio_future failed;
};

AIO_CORO(named_runner, struct named) {
    aio_value v;
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.2});
    f->failed = aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.1, .fail = -EIO});
    AIO_GROUP_JOIN(t, &f->g);
    assert_aio_err(AIO_ERR(t), AIO_EGROUP);
    {
        size_t n;
        const aio_group_error *e = aio_group_errors(&f->g, &n);
        assert_int_equal(n, 1);
        assert_true(e[0].task.id == f->failed.id);
        assert_aio_err(e[0].err, -EIO);
        assert_aio_err(aio_future_result(t, e[0].task, &v), -EIO); /* still valid */
        assert_aio_err(aio_group_clear(t, &f->g), 0);
        assert_null(aio_group_errors(&f->g, &n));
        assert_int_equal(n, 0);
        assert_aio_err(aio_future_check(f->failed), 0);
        assert_aio_err(aio_future_done(t, f->failed), AIO_ESTALE); /* the reference went */
    }
    AIO_END(t);
}

static void GROUP_errors_name_their_tasks(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, named_runner, &(struct named){0}));
    assert_aio_ok(r.rc);
    close_loop(loop);
}

/* The borrowed handle: awaiting it (which consumes a reference if there is
 * one) and releasing it (AIO_ENOREF: none is the caller's) take nothing
 * from the group, which still sees the child end and lists its error. */
struct borrower {
    aio_group g;
    aio_future a, b;
    int await_b, release_a;
    size_t n;
};

AIO_CORO(borrower, struct borrower) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    f->a = aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.1, .fail = -EIO});
    f->b = aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.05, .value = 3});
    f->release_a = aio_future_release(t, f->a);
    AIO_AWAIT(t, f->b);
    f->await_b = AIO_ERR(t) == 0 ? (int)AIO_RESULT(t).i : AIO_ERR(t);
    AIO_GROUP_JOIN(t, &f->g);
    assert_aio_err(AIO_ERR(t), AIO_EGROUP);
    assert_aio_err(f->release_a, AIO_ENOREF);
    assert_int_equal(f->await_b, 3);
    {
        const aio_group_error *e = aio_group_errors(&f->g, &f->n);
        assert_int_equal(f->n, 1);
        assert_true(e[0].task.id == f->a.id);
        assert_aio_err(aio_future_error(t, e[0].task), -EIO); /* still valid */
    }
    AIO_END(t);
}

static void GROUP_borrowed_handles(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    struct ran r = run_task(loop, aio_spawn(loop, borrower, &(struct borrower){0}));
    assert_aio_ok(r.rc);
    assert_int_equal(reps.count, 0);
    close_loop(loop);
}

/* A loop closed with a group open (its task pending), and another task
 * keeping a joined group's errors, frees everything (ASan and valgrind
 * check that). */
AIO_CORO(open_forever, struct g24) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 100});
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 100});
    AIO_AWAIT(t, aio_sleep(t, 1000));
    AIO_END(t);
}

AIO_CORO(keeps_errors_forever, struct g24) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0, .fail = -EIO});
    AIO_GROUP_JOIN(t, &f->g);
    AIO_AWAIT(t, aio_sleep(t, 1000));
    AIO_END(t);
}

static void GROUP_loop_closed_with_group_open(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reps;
    test_collect_reports(loop, &reps);
    aio_future_release(loop, aio_spawn(loop, open_forever, &(struct g24){0}));
    aio_future_release(loop, aio_spawn(loop, keeps_errors_forever, &(struct g24){0}));
    test_run_iterations(loop, 8);
    assert_int_equal(aio_loop_pending_tasks(loop), 4);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reps.count, 4); /* "Task was destroyed but it is pending" */
    close_loop(loop);
}

/* Misuse: a join by another task, a foreign loop's group, bad arguments. */
struct other_joiner {
    aio_group *g;
    int rc;
};

AIO_CORO(other_joiner, struct other_joiner) {
    AIO_BEGIN(t);
    AIO_GROUP_JOIN(t, f->g);
    f->rc = AIO_ERR(t);
    AIO_RETURN(t, f->rc);
    AIO_END(t);
}

AIO_CORO(misuse_runner, struct g24) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    AIO_AWAIT(t, aio_spawn(t, other_joiner, &(struct other_joiner){&f->g, 0}));
    assert_aio_err(AIO_RESULT(t).i, -EINVAL);
    assert_aio_err(aio_group_fail(t, &f->g, 0), -EINVAL);
    assert_aio_err(aio_group_fail(t, &f->g, AIO_ECANCELLED), -EINVAL);
    assert_aio_err(aio_group_clear(t, &f->g), -EBUSY);
    assert_aio_err(aio_future_check(aio_group_create_task(t, &f->g, NULL)), -EINVAL);
    AIO_GROUP_JOIN(t, &f->g);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

static void GROUP_misuse(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, misuse_runner, &(struct g24){0}));
    assert_aio_ok(r.rc);
    /* Another loop's group. */
    aio_loop *other = test_loop_new(1);
    aio_group g;
    memset(&g, 0, sizeof g);
    g.aio__s.aio__state = 1; /* as if open on `loop` */
    g.aio__s.aio__tag = 0;
    assert_aio_err(aio_future_check(aio_group_spawn(other, &g, kid, &(struct kid){0})), AIO_EFOREIGN);
    assert_aio_err(aio_group_cancel(other, &g), AIO_EFOREIGN);
    assert_aio_err(aio_group_cancel(other, NULL), -EINVAL);
    assert_aio_err(aio_group_clear(other, NULL), -EINVAL);
    assert_int_equal(aio_group_pending(NULL), 0);
    assert_null(aio_group_errors(NULL, NULL));
    close_loop(other);
    close_loop(loop);
}

/* A long-lived group: children spawned over time, each ending before the
 * next batch; the array of children stays small (compacted, not grown). */
struct server {
    aio_group g;
    int round, i;
    uint32_t max_cap;
};

AIO_CORO(server_runner, struct server) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    for (f->round = 0; f->round < 200; f->round++) {
        for (f->i = 0; f->i < 50; f->i++)
            aio_group_spawn(t, &f->g, kid, &(struct kid){.delay = 0.001 * (f->i % 3)});
        if (f->g.aio__capkids > f->max_cap)
            f->max_cap = f->g.aio__capkids;
        AIO_AWAIT(t, aio_sleep(t, 0.01));
    }
    AIO_GROUP_JOIN(t, &f->g);
    AIO_RETURN(t, f->max_cap);
    AIO_END(t);
}

static void GROUP_children_array_stays_small(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct ran r = run_task(loop, aio_spawn(loop, server_runner, &(struct server){0}));
    assert_aio_ok(r.rc);
    assert_true(r.v.u <= 128); /* 10,000 children, never more than 50 at once */
    close_loop(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(GROUP_01_join_waits_for_every_child),
        cmocka_unit_test(GROUP_01_spawn_after_a_sleep),
        cmocka_unit_test(GROUP_01_child_cancelled_explicitly),
        cmocka_unit_test(GROUP_02_cancel_children_on_child_error),
        cmocka_unit_test(GROUP_02_child_error_while_joining),
        cmocka_unit_test(GROUP_02_body_fails_at_once),
        cmocka_unit_test(GROUP_02_body_fails_at_once_task_ends),
        cmocka_unit_test(GROUP_02_body_fails_after_a_sleep),
        cmocka_unit_test(GROUP_02_cancelling_level_preserved),
        cmocka_unit_test(GROUP_03_cancellation),
        cmocka_unit_test(GROUP_03_body_and_children_cancelled),
        cmocka_unit_test(GROUP_03_no_children),
        cmocka_unit_test(GROUP_03_cancel_while_joining),
        cmocka_unit_test(GROUP_04_errors_beat_cancellation),
        cmocka_unit_test(GROUP_04_body_turns_cancel_into_error),
        cmocka_unit_test(GROUP_04_child_error_during_cancel_cleanup),
        cmocka_unit_test(GROUP_04_through_an_intermediate_task),
        cmocka_unit_test(GROUP_05_every_error_children_first),
        cmocka_unit_test(GROUP_05_errors_seen_together),
        cmocka_unit_test(GROUP_05_gh95289_context_exit_raises),
        cmocka_unit_test(GROUP_06_outer_child_fails),
        cmocka_unit_test(GROUP_06_inner_child_fails),
        cmocka_unit_test(GROUP_06_cancelled_from_outside_nested),
        cmocka_unit_test(GROUP_06_cancelled_from_outside_nested_with_sleeper),
        cmocka_unit_test(GROUP_06_nested_groups_both_cancelled),
        cmocka_unit_test(GROUP_error_and_cancel),
        cmocka_unit_test(GROUP_07_not_entered_and_without_parent_task),
        cmocka_unit_test(GROUP_07_already_entered_and_finished),
        cmocka_unit_test(GROUP_07_no_spawn_after_failure),
        cmocka_unit_test(GROUP_07_spawn_while_joining),
        cmocka_unit_test(GROUP_07_hydras),
        cmocka_unit_test(GROUP_07_pending_count),
        cmocka_unit_test(GROUP_08_cancel_ends_group_normally),
        cmocka_unit_test(GROUP_08_cancel_before_entry),
        cmocka_unit_test(GROUP_08_cancel_still_reports_errors),
        cmocka_unit_test(GROUP_08_gh155433_outer_cancel_kept),
        cmocka_unit_test(GROUP_outer_cancel_kept_beside_own_after_error),
        cmocka_unit_test(GROUP_outer_cancel_kept_beside_own_after_cancel),
        cmocka_unit_test(GROUP_undelivered_cancel_lands_after_the_join),
        cmocka_unit_test(GROUP_closed_when_the_coroutine_returns),
        cmocka_unit_test(GROUP_closed_when_the_coroutine_fails),
        cmocka_unit_test(GROUP_closed_when_the_coroutine_is_cancelled),
        cmocka_unit_test(GROUP_closed_after_cancel_is_not_cancelled),
        cmocka_unit_test(GROUP_cancelled_while_closing),
        cmocka_unit_test(GROUP_and_timeout_closed_when_the_coroutine_fails),
        cmocka_unit_test(GROUP_errors_name_their_tasks),
        cmocka_unit_test(GROUP_borrowed_handles),
        cmocka_unit_test(GROUP_loop_closed_with_group_open),
        cmocka_unit_test(GROUP_misuse),
        cmocka_unit_test(GROUP_children_array_stays_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
