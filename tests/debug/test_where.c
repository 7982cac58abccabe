/* Where is every task (aio/debug.h): where mode decodes the await each
 * frame of a task is suspended at (the tests know the lines from
 * __LINE__), what each task awaits, who waits on it, deadlocks, and the
 * printouts. Compiled twice: with labels-as-values and with
 * AIO_CORO_SWITCH (test_where_switch). White-box only for a wait queue's
 * ops (src/core/waitq.h), as the sync primitives set them. */
#include "support.h"

#include "core/futures.h"
#include "core/loop.h"
#include "core/waitq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------- */

static aio_task_graph *capture(aio_loop *loop) {
    aio_task_graph *g = NULL;
    assert_aio_ok(aio_task_graph_capture(loop, &g));
    assert_non_null(g);
    return g;
}

/* The snapshot's index of task h. */
static size_t index_of(const aio_task_graph *g, aio_future h) {
    for (size_t i = 0; i < aio_task_graph_size(g); i++)
        if (aio_task_graph_task(g, i)->handle.id == h.id)
            return i;
    fail_msg("task not in the snapshot");
    return 0;
}

static const aio_task_info *info_of(const aio_task_graph *g, aio_future h) {
    return aio_task_graph_task(g, index_of(g, h));
}

static bool ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

/* A frame's site is this file's, at `line`, in coroutine `func`. */
static void assert_site(const aio_site *s, int line, const char *func) {
    assert_true(ends_with(s->file, "test_where.c"));
    assert_int_equal(s->line, line);
    char body[64];
    snprintf(body, sizeof body, "aio__body_of_%s", func);
    assert_string_equal(s->func, body);
}

/* Whatever a printing call writes, as a string (free it). */
typedef struct output {
    char *text;
    size_t len;
    FILE *f;
} output;

static void output_open(output *o) {
    o->text = NULL;
    o->len = 0;
    o->f = open_memstream(&o->text, &o->len);
    assert_non_null(o->f);
}

static char *output_close(output *o) {
    assert_int_equal(fclose(o->f), 0);
    return o->text;
}

/* ---- a chain of inline coroutines: every frame's line ---------------------- */

struct leaf {
    aio_future fut;
    int *lines;
};
AIO_CORO(leaf, struct leaf) {
    AIO_BEGIN(t);
    f->lines[2] = __LINE__ + 1;
    AIO_AWAIT(t, f->fut);
    AIO_RETURN(t, AIO_RESULT(t).i + 1);
    AIO_END(t);
}

struct mid {
    AIO_CHILD(struct leaf) leaf;
    int *lines;
};
AIO_CORO(mid, struct mid) {
    AIO_BEGIN(t);
    f->lines[1] = __LINE__ + 1;
    AIO_AWAIT_CORO(t, leaf, &f->leaf);
    AIO_RETURN(t, AIO_RESULT(t).i + 1);
    AIO_END(t);
}

struct top {
    AIO_CHILD(struct mid) mid;
    int *lines;
    int *after; /* counts what runs after the awaits: a dump must not */
};
AIO_CORO(top, struct top) {
    AIO_BEGIN(t);
    f->mid.frame.lines = f->lines;
    f->lines[0] = __LINE__ + 1;
    AIO_AWAIT_CORO(t, mid, &f->mid);
    (*f->after)++;
    AIO_RETURN(t, AIO_RESULT(t).i + 1);
    AIO_END(t);
}

/* A task suspended two inline children deep shows each frame's await
 * line, outermost first; dumping it runs none of its code, and it resumes
 * as if nothing happened. */
static void where_every_frame_of_a_chain(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int lines[3] = {0}, after = 0;
    aio_future fut = aio_future_new(loop);
    struct top fr = {.lines = lines, .after = &after};
    fr.mid.frame.leaf.frame.fut = aio_future_retain(loop, fut);
    fr.mid.frame.leaf.frame.lines = lines;
    aio_future task = aio_spawn(loop, top, &fr);
    test_run_iterations(loop, 2);
    for (int round = 0; round < 3; round++) { /* several dumps change nothing */
        aio_task_graph *g = capture(loop);
        assert_int_equal(aio_task_graph_size(g), 1);
        const aio_task_info *ti = info_of(g, task);
        assert_int_equal(ti->state, AIO_TASK_WAITING);
        assert_int_equal(ti->nframes, 3);
        assert_site(ti->frames[0], lines[0], "top");
        assert_site(ti->frames[1], lines[1], "mid");
        assert_site(ti->frames[2], lines[2], "leaf");
        assert_string_equal(aio_site_name(ti->frames[1]), "mid");
        assert_int_equal(ti->awaits, AIO_AWAITS_FUTURE);
        assert_int_equal(ti->awaited.id, fut.id);
        aio_task_graph_free(g);
    }
    assert_int_equal(after, 0);
    assert_aio_ok(aio_future_set_result(loop, fut, AIO_VALUE(39)));
    aio_future_release(loop, fut);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, task, &v));
    assert_int_equal(v.i, 42);
    assert_int_equal(after, 1);
    close_loop(loop);
}

/* ---- states: not started, yielded, running ------------------------------- */

struct yielder {
    int *line;
};
AIO_CORO(yielder, struct yielder) {
    AIO_BEGIN(t);
    for (;;) {
        *f->line = __LINE__ + 1;
        AIO_YIELD(t);
        if (AIO_ERR(t) < 0)
            break; /* cancelled */
    }
    AIO_END(t);
}

struct introspector {
    int *lines;
    aio_task_state *state;
    size_t *nframes;
    int *frame_line;
};
AIO_CORO(introspector, struct introspector) {
    AIO_BEGIN(t);
    f->lines[0] = __LINE__ + 1;
    AIO_AWAIT(t, aio_sleep(t, 1));
    {
        /* Running: the snapshot shows where it last resumed. */
        aio_task_graph *g = NULL;
        if (aio_task_graph_capture(t, &g) == 0) {
            const aio_task_info *ti = info_of(g, aio_task_handle(t));
            *f->state = ti->state;
            *f->nframes = ti->nframes;
            *f->frame_line = ti->nframes ? ti->frames[0]->line : 0;
            aio_task_graph_free(g);
        }
    }
    f->lines[1] = __LINE__ + 1;
    AIO_AWAIT(t, aio_sleep(t, 1));
    AIO_END(t);
}

static void where_states(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int yline = 0, ilines[2] = {0};
    aio_task_state istate = AIO_TASK_NOT_STARTED;
    size_t inframes = 99;
    int iline = 0;
    aio_future y = aio_spawn(loop, yielder, &(struct yielder){&yline});
    aio_future i = aio_spawn(loop, introspector, &(struct introspector){ilines, &istate, &inframes, &iline});
    aio_task_graph *g = capture(loop);
    assert_int_equal(info_of(g, y)->state, AIO_TASK_NOT_STARTED);
    assert_int_equal(info_of(g, y)->nframes, 0);
    assert_string_equal(info_of(g, y)->awaits_text, "");
    aio_task_graph_free(g);
    test_run_iterations(loop, 3);
    g = capture(loop);
    const aio_task_info *ti = info_of(g, y);
    assert_int_equal(ti->state, AIO_TASK_READY);
    assert_int_equal(ti->awaits, AIO_AWAITS_NOTHING);
    assert_int_equal(ti->nframes, 1);
    assert_site(ti->frames[0], yline, "yielder");
    ti = info_of(g, i);
    assert_int_equal(ti->state, AIO_TASK_WAITING);
    assert_int_equal(ti->awaits, AIO_AWAITS_SLEEP);
    assert_site(ti->frames[0], ilines[0], "introspector");
    aio_task_graph_free(g);
    /* (The virtual clock stands still while the yielder keeps the loop busy.) */
    assert_int_equal(aio_task_cancel(loop, y, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, y, NULL), AIO_ECANCELLED);
    assert_aio_ok(aio_run_until_complete(loop, i, NULL));
    assert_int_equal(istate, AIO_TASK_RUNNING);
    assert_int_equal(inframes, 1);
    assert_int_equal(iline, ilines[0]);
    close_loop(loop);
}

/* ---- what a task awaits ---------------------------------------------------- */

struct awaiter {
    aio_future fut;
    int *line;
};
AIO_CORO(awaiter, struct awaiter) {
    AIO_BEGIN(t);
    *f->line = __LINE__ + 1;
    AIO_AWAIT(t, f->fut);
    AIO_END(t);
}

/* A queue's ops, as a sync primitive sets them on its wait queue. */
static void permit_describe(aio_loop *loop, const aio__waitq *q, char *buf, size_t len) {
    (void)loop;
    (void)q;
    snprintf(buf, len, "0 of 1 free");
}
static const aio__waitq_ops permit_ops = {.what = "permit", .describe = permit_describe};

static void where_awaits_each_kind(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int lines[8] = {0};
    /* a sleep */
    aio_future sleeper = aio_spawn(loop, awaiter, &(struct awaiter){aio_sleep(loop, 5), &lines[0]});
    /* a plain future */
    aio_future plain = aio_future_new(loop);
    aio_future on_plain =
        aio_spawn(loop, awaiter, &(struct awaiter){aio_future_retain(loop, plain), &lines[1]});
    /* another task */
    aio_future on_task =
        aio_spawn(loop, awaiter, &(struct awaiter){aio_future_retain(loop, on_plain), &lines[2]});
    aio_task_set_name(loop, on_plain, "target");
    /* combinators in combinators: wait_for(gather(a, b)) */
    aio_future a = aio_spawn(loop, awaiter, &(struct awaiter){aio_sleep(loop, 100), &lines[3]});
    aio_future b = aio_spawn(loop, awaiter, &(struct awaiter){aio_sleep(loop, 100), &lines[4]});
    aio_future gathered =
        aio_gather_of(loop, NULL, 0, aio_future_retain(loop, a), aio_future_retain(loop, b));
    aio_future on_comb =
        aio_spawn(loop, awaiter, &(struct awaiter){aio_wait_for(loop, gathered, 10), &lines[5]});
    /* a wait queue of some kind */
    aio__waitq q;
    memset(&q, 0, sizeof q);
    q.ops = &permit_ops;
    uint32_t qidx;
    assert_aio_ok(aio__waitq_push(loop, &q, &qidx));
    aio_future waiting = aio__fut_handle(loop, qidx);
    aio_future on_queue = aio_spawn(loop, awaiter, &(struct awaiter){waiting, &lines[6]});
    test_run_iterations(loop, 2);
    aio_task_graph *g = capture(loop);
    assert_int_equal(aio_task_graph_size(g), 7);

    const aio_task_info *ti = info_of(g, sleeper);
    assert_int_equal(ti->awaits, AIO_AWAITS_SLEEP);
    assert_true(ti->deadline == 5.0);
    assert_string_equal(ti->awaits_text, "sleep: 5.000 s left");
    assert_site(ti->frames[0], lines[0], "awaiter");

    ti = info_of(g, on_plain);
    assert_int_equal(ti->awaits, AIO_AWAITS_FUTURE);
    assert_int_equal(ti->awaited.id, plain.id);
    char text[64];
    snprintf(text, sizeof text, "future #%u", (unsigned)(plain.id & 0x3ffffff));
    assert_string_equal(ti->awaits_text, text);
    assert_int_equal(ti->nawaited_by, 1);
    assert_int_equal(ti->awaited_by[0].task, index_of(g, on_task));
    assert_null(ti->awaited_by[0].via);

    ti = info_of(g, on_task);
    assert_int_equal(ti->awaits, AIO_AWAITS_TASK);
    snprintf(text, sizeof text, "task #%u 'target'", info_of(g, on_plain)->id);
    assert_string_equal(ti->awaits_text, text);
    assert_int_equal(ti->nwaits_on, 1);
    assert_int_equal(ti->waits_on[0], index_of(g, on_plain));
    assert_int_equal(ti->nawaited_by, 0);

    ti = info_of(g, on_comb);
    assert_int_equal(ti->awaits, AIO_AWAITS_COMBINATOR);
    assert_string_equal(ti->awaits_text, "wait_for, timeout in 10.000 s");
    assert_true(ti->deadline == 10.0);
    assert_int_equal(ti->nwaits_on, 2);
    for (int k = 0; k < 2; k++) {
        const aio_task_info *child = info_of(g, k ? b : a);
        assert_int_equal(child->nawaited_by, 1);
        assert_int_equal(child->awaited_by[0].task, index_of(g, on_comb));
        assert_string_equal(child->awaited_by[0].via, "wait_for > gather");
    }

    ti = info_of(g, on_queue);
    assert_int_equal(ti->awaits, AIO_AWAITS_QUEUE);
    assert_string_equal(ti->awaits_text, "permit (1 waiting): 0 of 1 free");
    assert_int_equal(aio_task_graph_deadlocks(g), 0);
    aio_task_graph_free(g);

    /* A future done whose awaiter has not resumed yet. */
    assert_aio_ok(aio_future_set_result(loop, plain, AIO_NONE));
    g = capture(loop);
    ti = info_of(g, on_plain);
    assert_int_equal(ti->state, AIO_TASK_READY);
    assert_int_equal(ti->awaits, AIO_AWAITS_DONE);
    aio_task_graph_free(g);

    /* Clean up: everything ends. */
    aio_future all[] = {sleeper, on_task, on_comb, on_queue, a, b};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++)
        aio_task_cancel(loop, all[k], NULL);
    aio_future_release(loop, plain);
    aio_future_release(loop, on_plain);
    for (size_t k = 0; k < sizeof all / sizeof *all; k++)
        aio_future_release(loop, all[k]);
    while (aio_loop_pending_tasks(loop) > 0)
        test_run_iterations(loop, 1);
    close_loop(loop);
}

/* wait and shield say what they are. */
static void where_other_combinators(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int lines[4];
    aio_future f1 = aio_future_new(loop), f2 = aio_future_new(loop);
    aio_future futs[] = {f1, f2};
    aio_future w = aio_spawn(loop, awaiter,
                             &(struct awaiter){aio_wait(loop, futs, 2, 3.0, AIO_FIRST_COMPLETED), &lines[0]});
    aio_future s =
        aio_spawn(loop, awaiter, &(struct awaiter){aio_shield(loop, aio_future_retain(loop, f1)), &lines[1]});
    test_run_iterations(loop, 2);
    aio_task_graph *g = capture(loop);
    assert_string_equal(info_of(g, w)->awaits_text,
                        "wait (FIRST_COMPLETED): 0 of 2 done, timeout in 3.000 s");
    assert_string_equal(info_of(g, s)->awaits_text, "shield");
    aio_task_graph_free(g);
    assert_aio_ok(aio_future_set_result(loop, f1, AIO_NONE));
    assert_aio_ok(aio_run_until_complete(loop, w, NULL));
    assert_aio_ok(aio_run_until_complete(loop, s, NULL));
    aio_future_release(loop, f1);
    aio_future_release(loop, f2);
    close_loop(loop);
}

/* The synchronisation primitives name their queues. */
static void where_awaits_primitives(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int lines[2];
    aio_lock lock = AIO_LOCK_INIT;
    aio_queue q;
    assert_aio_ok(aio_queue_init(&q, 4));
    assert_aio_ok(aio_lock_acquire_nowait(loop, &lock));
    aio_future on_lock =
        aio_spawn(loop, awaiter, &(struct awaiter){aio_lock_acquire(loop, &lock), &lines[0]});
    aio_future on_queue = aio_spawn(loop, awaiter, &(struct awaiter){aio_queue_get(loop, &q), &lines[1]});
    test_run_iterations(loop, 2);
    aio_task_graph *g = capture(loop);
    assert_int_equal(info_of(g, on_lock)->awaits, AIO_AWAITS_QUEUE);
    assert_string_equal(info_of(g, on_lock)->awaits_text, "lock (1 waiting): held");
    assert_string_equal(info_of(g, on_queue)->awaits_text, "queue get (1 waiting): 0 items");
    aio_task_graph_free(g);
    assert_aio_ok(aio_lock_release(loop, &lock));
    assert_aio_ok(aio_queue_put_nowait(loop, &q, 1));
    assert_aio_ok(aio_run_until_complete(loop, on_lock, NULL));
    assert_aio_ok(aio_run_until_complete(loop, on_queue, NULL));
    assert_aio_ok(aio_lock_release(loop, &lock));
    assert_aio_ok(aio_queue_destroy(loop, &q));
    close_loop(loop);
}

/* A stream read and an fd wait say so. */
static void where_awaits_io(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int lines[2], sv[2], pp[2];
    char buf[8];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(pipe(pp), 0);
    aio_stream s;
    assert_aio_ok(aio_stream_open_fd(loop, sv[0], NULL, &s));
    aio_future reader =
        aio_spawn(loop, awaiter, &(struct awaiter){aio_stream_read(loop, s, buf, sizeof buf), &lines[0]});
    aio_future fdw = aio_spawn(loop, awaiter, &(struct awaiter){aio_wait_readable(loop, pp[0]), &lines[1]});
    test_run_iterations(loop, 2);
    aio_task_graph *g = capture(loop);
    assert_string_equal(info_of(g, reader)->awaits_text, "stream read (1 waiting)");
    char want[32];
    snprintf(want, sizeof want, "fd %d readable", pp[0]);
    assert_string_equal(info_of(g, fdw)->awaits_text, want);
    aio_task_graph_free(g);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(write(pp[1], "y", 1), 1);
    assert_aio_ok(aio_run_until_complete(loop, reader, NULL));
    assert_aio_ok(aio_run_until_complete(loop, fdw, NULL));
    assert_aio_ok(aio_stream_close(loop, s));
    close(sv[1]);
    close(pp[0]);
    close(pp[1]);
    close_loop(loop);
}

/* ---- task groups ------------------------------------------------------------- */

struct grouper {
    aio_group g;
    aio_future event;
    aio_future kids[2];
    int *lines;
};
AIO_CORO(grouper, struct grouper) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    f->kids[0] =
        aio_group_spawn(t, &f->g, awaiter, &(struct awaiter){aio_future_retain(t, f->event), &f->lines[1]});
    f->kids[1] = aio_group_spawn(t, &f->g, awaiter, &(struct awaiter){aio_sleep(t, 100), &f->lines[2]});
    f->lines[0] = __LINE__ + 1;
    AIO_AWAIT(t, aio_sleep(t, 1)); /* in the body */
    f->lines[3] = __LINE__ + 1;
    AIO_GROUP_JOIN(t, &f->g);
    AIO_END(t);
}

/* The task that entered a group waits on each child from the start (it
 * cannot end before them); in its join it awaits "the task group". */
static void where_task_groups(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int lines[4] = {0};
    aio_future event = aio_future_new(loop);
    struct grouper fr;
    memset(&fr, 0, sizeof fr);
    fr.event = event;
    fr.lines = lines;
    aio_future parent = aio_spawn(loop, grouper, &fr);
    test_run_iterations(loop, 3);
    for (int phase = 0; phase < 2; phase++) {
        aio_task_graph *g = capture(loop);
        assert_int_equal(aio_task_graph_size(g), 3);
        const aio_task_info *pi = info_of(g, parent);
        assert_site(pi->frames[0], phase ? lines[3] : lines[0], "grouper");
        if (phase)
            assert_string_equal(pi->awaits_text, "task group: 2 running");
        else
            assert_int_equal(pi->awaits, AIO_AWAITS_SLEEP);
        assert_int_equal(pi->nwaits_on, 2);
        for (size_t k = 0; k < 2; k++) {
            const aio_task_info *ki = aio_task_graph_task(g, pi->waits_on[k]);
            assert_int_equal(ki->nawaited_by, 1);
            assert_int_equal(ki->awaited_by[0].task, index_of(g, parent));
            assert_string_equal(ki->awaited_by[0].via, "task group");
        }
        aio_task_graph_free(g);
        if (!phase)
            assert_aio_ok(aio_run_until_complete(loop, aio_sleep(loop, 2), NULL)); /* into the join */
    }
    aio_task_cancel(loop, parent, NULL);
    aio_future_release(loop, event);
    assert_aio_err(aio_run_until_complete(loop, parent, NULL), AIO_ECANCELLED);
    close_loop(loop);
}

/* Cancelled, it cleans up for a while. */
struct cleaner {
    int *line;
};
AIO_CORO(cleaner, struct cleaner) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 100));
    *f->line = __LINE__ + 1;
    AIO_AWAIT(t, aio_sleep(t, 5)); /* the cleanup */
    AIO_END(t);
}

struct leaver {
    aio_group g;
    int *line;
};
AIO_CORO(leaver, struct leaver) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
    aio_group_spawn(t, &f->g, cleaner, &(struct cleaner){f->line});
    AIO_YIELD(t);     /* the child starts */
    AIO_RETURN(t, 1); /* with the group open: the child is cancelled, and the task ends once it has */
    AIO_END(t);
}

static void where_task_group_after_return(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int line = 0;
    aio_future parent = aio_spawn(loop, leaver, &(struct leaver){.line = &line});
    test_run_iterations(loop, 4);
    aio_task_graph *g = capture(loop);
    assert_int_equal(aio_task_graph_size(g), 2);
    const aio_task_info *pi = info_of(g, parent);
    assert_int_equal(pi->state, AIO_TASK_WAITING);
    assert_int_equal(pi->nframes, 0);
    assert_string_equal(pi->awaits_text, "task group: its coroutine returned, its children run on");
    assert_int_equal(pi->nwaits_on, 1);
    assert_site(aio_task_graph_task(g, pi->waits_on[0])->frames[0], line, "cleaner");
    aio_task_graph_free(g);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, parent, &v));
    assert_int_equal(v.i, 1);
    close_loop(loop);
}

/* ---- deadlocks ---------------------------------------------------------------- */

struct pair {
    aio_future a, b;
};
struct partner {
    struct pair *pair;
    int first; /* a awaits b; b awaits a */
    int *line;
};
AIO_CORO(partner, struct partner) {
    AIO_BEGIN(t);
    AIO_YIELD(t); /* the pair's handles are filled in meanwhile */
    *f->line = __LINE__ + 1;
    AIO_AWAIT(t, aio_future_retain(t, f->first ? f->pair->b : f->pair->a));
    AIO_END(t);
}

struct gatherer {
    struct pair *pair;
    int *line;
};
AIO_CORO(gatherer, struct gatherer) {
    AIO_BEGIN(t);
    AIO_YIELD(t);
    *f->line = __LINE__ + 1;
    AIO_AWAIT(t, aio_gather_of(t, NULL, 0, aio_future_retain(t, f->pair->a)));
    AIO_END(t);
}

static void report_count(aio_loop *loop, const aio_report *r, void *arg) {
    (void)loop;
    (void)r;
    ++*(int *)arg;
}

/* Whether task `from` waits on task `to` (snapshot indexes). */
static bool waits_on(const aio_task_graph *g, size_t from, size_t to) {
    const aio_task_info *ti = aio_task_graph_task(g, from);
    for (size_t e = 0; e < ti->nwaits_on; e++)
        if (ti->waits_on[e] == to)
            return true;
    return false;
}

/* Two tasks awaiting each other; a task awaiting a gather of a task that
 * awaits it; a task awaiting a gather of itself: three deadlocks, each with
 * a cycle in await order. A bystander is in none. */
static void where_reports_deadlocks(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int reports = 0;
    aio_loop_set_exception_handler(loop, report_count, &reports);
    int lines[6];
    struct pair p1, p2, p3;
    p1.a = aio_spawn(loop, partner, &(struct partner){&p1, 1, &lines[0]});
    p1.b = aio_spawn(loop, partner, &(struct partner){&p1, 0, &lines[1]});
    p2.a = aio_spawn(loop, partner, &(struct partner){&p2, 1, &lines[2]});       /* awaits the gatherer */
    p2.b = aio_spawn(loop, gatherer, &(struct gatherer){&p2, &lines[3]});        /* gathers p2.a */
    p3.a = p3.b = aio_spawn(loop, gatherer, &(struct gatherer){&p3, &lines[4]}); /* gathers itself */
    aio_future bystander = aio_spawn(loop, yielder, &(struct yielder){&lines[5]});
    test_run_iterations(loop, 3);
    aio_task_graph *g = capture(loop);
    assert_int_equal(aio_task_graph_deadlocks(g), 3);
    const struct pair *pairs[] = {&p1, &p2, &p3};
    for (size_t k = 0; k < 3; k++) {
        const size_t *cyc;
        size_t len = aio_task_graph_deadlock(g, k, &cyc);
        assert_int_equal(len, k < 2 ? 2 : 1);
        /* in await order: each waits on the next, the last on the first */
        assert_int_equal(cyc[0], index_of(g, pairs[k]->a));
        assert_int_equal(cyc[len - 1], index_of(g, pairs[k]->b));
        for (size_t j = 0; j < len; j++) {
            assert_true(aio_task_graph_task(g, cyc[j])->in_deadlock);
            assert_true(waits_on(g, cyc[j], cyc[(j + 1) % len]));
        }
    }
    assert_int_equal(aio_task_graph_deadlock(g, 3, NULL), 0);
    assert_false(info_of(g, bystander)->in_deadlock);
    assert_string_equal(info_of(g, p2.a)->awaited_by[0].via, "gather");
    /* The printout names them. */
    output o;
    output_open(&o);
    assert_aio_ok(aio_task_graph_print(g, o.f, AIO_PRINT_TABLE | AIO_PRINT_TREE));
    char *text = output_close(&o);
    char want[128];
    snprintf(want, sizeof want, "deadlock: #%u -> #%u -> #%u\n", info_of(g, p1.a)->id, info_of(g, p1.b)->id,
             info_of(g, p1.a)->id);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "deadlock: #%u -> #%u (via gather) -> #%u\n", info_of(g, p2.a)->id,
             info_of(g, p2.b)->id, info_of(g, p2.a)->id);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "deadlock: #%u (via gather) -> #%u\n", info_of(g, p3.a)->id,
             info_of(g, p3.a)->id);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "  #%u at test_where.c:%d in partner\n", info_of(g, p1.b)->id, lines[1]);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "waiting (deadlock)"));
    assert_non_null(strstr(text, "waits on itself through the tasks above: deadlock"));
    free(text);
    aio_task_graph_free(g);
    /* A deadlock cannot be undone: close the loop over it (each task is
     * reported pending). */
    aio_task_cancel(loop, bystander, NULL);
    test_run_iterations(loop, 2);
    aio_future hs[] = {p1.a, p1.b, p2.a, p2.b, p3.a, bystander};
    for (size_t k = 0; k < 6; k++)
        aio_future_release(loop, hs[k]);
    close_loop(loop);
    assert_int_equal(reports, 5);
}

/* ---- printing ---------------------------------------------------------------- */

static void where_prints_table_and_trees(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int lines[3] = {0}, after = 0, alines[4];
    aio_future fut = aio_future_new(loop);
    struct top fr = {.lines = lines, .after = &after};
    fr.mid.frame.leaf.frame.fut = aio_future_retain(loop, fut);
    fr.mid.frame.leaf.frame.lines = lines;
    aio_future chain = aio_spawn(loop, top, &fr);
    aio_task_set_name(loop, chain, "chain");
    aio_future outer = aio_spawn(
        loop, awaiter,
        &(struct awaiter){aio_gather_of(loop, NULL, 0, aio_future_retain(loop, chain)), &alines[0]});
    aio_task_set_name(loop, outer, "outer");
    test_run_iterations(loop, 2);

    output o;
    output_open(&o);
    assert_aio_ok(aio_print_tasks(loop, o.f, 0)); /* the table */
    char *text = output_close(&o);
    char want[256];
    assert_non_null(strstr(text, "2 tasks, 2 waiting (loop time 0.000 s)\n"));
    assert_non_null(strstr(text, "task  name   state    awaits"));
    snprintf(want, sizeof want, "test_where.c:%d in top > test_where.c:%d in mid > test_where.c:%d in leaf\n",
             lines[0], lines[1], lines[2]);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "#%u via gather", (unsigned)(outer.id & 0x3ffffff));
    assert_non_null(strstr(text, want));
    assert_null(strstr(text, "|-- ")); /* no tree */
    free(text);

    output_open(&o);
    assert_aio_ok(aio_print_tasks(loop, o.f, AIO_PRINT_TREE | AIO_PRINT_FULL_PATHS));
    text = output_close(&o);
    snprintf(want, sizeof want, "#%u 'outer' (waiting)\n|   at ", (unsigned)(outer.id & 0x3ffffff));
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "`-- #%u 'chain' (waiting)\n", (unsigned)(chain.id & 0x3ffffff));
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "/test_where.c:%d in leaf\n",
             lines[2]); /* full path: a directory before it */
    assert_non_null(strstr(text, want));
    assert_null(strstr(text, "task  name")); /* no table */
    free(text);

    /* One task's call graph, upwards: who waits on it. */
    output_open(&o);
    assert_aio_ok(aio_print_call_graph(loop, chain, o.f, 0));
    text = output_close(&o);
    snprintf(want, sizeof want, "#%u 'chain' (waiting)\n|   at test_where.c:%d in top\n",
             (unsigned)(chain.id & 0x3ffffff), lines[0]);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "`-- #%u 'outer' via gather (waiting)\n", (unsigned)(outer.id & 0x3ffffff));
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "awaited by no task\n"));
    free(text);

    assert_aio_ok(aio_future_set_result(loop, fut, AIO_VALUE(0)));
    aio_future_release(loop, fut);
    aio_future_release(loop, chain);
    assert_aio_ok(aio_run_until_complete(loop, outer, NULL));
    close_loop(loop);
}

/* ---- where mode runs nothing of the body ----------------------------------- */

struct counted {
    int *entries; /* counted before AIO_BEGIN: runs at every entry, dumps included */
    int *steps;   /* counted after each await: never by a dump */
    aio_future fut;
};
static aio_status counted(aio_task *t, void *frame) {
    struct counted *f = frame;
    (*f->entries)++;
    AIO_BEGIN(t);
    (*f->steps)++;
    AIO_AWAIT(t, f->fut);
    (*f->steps)++;
    AIO_END(t);
}

static void where_runs_only_code_before_begin(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int entries = 0, steps = 0;
    aio_future fut = aio_future_new(loop);
    aio_future task =
        aio_create_task(loop, counted, &(struct counted){&entries, &steps, aio_future_retain(loop, fut)});
    test_run_iterations(loop, 2);
    assert_int_equal(entries, 1);
    assert_int_equal(steps, 1);
    for (int k = 0; k < 4; k++)
        aio_task_graph_free(capture(loop));
    assert_int_equal(entries, 5); /* the documented caveat */
    assert_int_equal(steps, 1);
    aio_future_set_result(loop, fut, AIO_NONE);
    aio_future_release(loop, fut);
    assert_aio_ok(aio_run_until_complete(loop, task, NULL));
    assert_int_equal(steps, 2);
    close_loop(loop);
}

/* ---- another loop's tasks, from inside a coroutine ------------------------- */

struct other_dumper {
    aio_loop *other;
    aio_future other_task;
    int *other_line;
    int *ok;
};
AIO_CORO(other_dumper, struct other_dumper) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.5));
    {
        aio_task_graph *g = NULL;
        if (aio_task_graph_capture(f->other, &g) == 0 && aio_task_graph_size(g) == 1) {
            const aio_task_info *ti = aio_task_graph_task(g, 0);
            *f->ok = ti->handle.id == f->other_task.id && ti->nframes == 1 &&
                     ti->frames[0]->line == *f->other_line;
        }
        aio_task_graph_free(g);
    }
    /* Our own loop is still ours: awaiting goes on working. */
    AIO_AWAIT(t, aio_sleep(t, 0.5));
    AIO_RETURN(t, AIO_ERR(t) == 0);
    AIO_END(t);
}

static void where_dumps_another_loop(void **state) {
    (void)state;
    aio_loop *a = test_loop_new(1), *b = test_loop_new(1);
    int line = 0, ok = 0;
    aio_future fut = aio_future_new(b);
    aio_future tb = aio_spawn(b, awaiter, &(struct awaiter){aio_future_retain(b, fut), &line});
    test_run_iterations(b, 2);
    aio_value v;
    assert_aio_ok(
        aio_run_until_complete(a, aio_spawn(a, other_dumper, &(struct other_dumper){b, tb, &line, &ok}), &v));
    assert_int_equal(ok, 1);
    assert_int_equal(v.i, 1);
    aio_future_set_result(b, fut, AIO_NONE);
    aio_future_release(b, fut);
    assert_aio_ok(aio_run_until_complete(b, tb, NULL));
    close_loop(a);
    close_loop(b);
}

/* ---- errors ---------------------------------------------------------------- */

static void where_errors(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_task_graph *g = NULL;
    assert_aio_err(aio_task_graph_capture((aio_loop *)NULL, &g), -EINVAL);
    assert_aio_err(aio_task_graph_capture(loop, NULL), -EINVAL);
    assert_aio_err(aio_print_tasks(loop, NULL, 0), -EINVAL);
    assert_aio_err(aio_task_graph_print(NULL, stdout, 0), -EINVAL);
    assert_int_equal(aio_task_graph_size(NULL), 0);
    assert_null(aio_task_graph_task(NULL, 0));
    assert_int_equal(aio_task_graph_deadlocks(NULL), 0);
    aio_task_graph_free(NULL);
    assert_string_equal(aio_site_name(NULL), "?");
    assert_aio_err(aio_all_tasks(loop, NULL, 1), -EINVAL);
    assert_aio_err(aio_all_tasks((aio_loop *)NULL, NULL, 0), -EINVAL);
    int line;
    aio_future fut = aio_future_new(loop);
    assert_aio_err(aio_print_call_graph(loop, fut, stdout, 0), AIO_ENOTTASK);
    aio_future t1 = aio_spawn(loop, awaiter, &(struct awaiter){aio_future_retain(loop, fut), &line});
    aio_future t2 = aio_spawn(loop, awaiter, &(struct awaiter){aio_sleep(loop, 1), &line});
    aio_future got[4] = {{0}};
    assert_int_equal(aio_all_tasks(loop, NULL, 0), 2);
    assert_int_equal(aio_all_tasks(loop, got, 1), 2);
    assert_int_equal(got[0].id, t1.id);
    assert_int_equal(got[1].id, 0);
    assert_int_equal(aio_all_tasks(loop, got, 4), 2);
    assert_int_equal(got[1].id, t2.id);
    g = capture(loop);
    assert_null(aio_task_graph_task(g, 2));
    aio_task_graph_free(g);
    assert_aio_ok(aio_run_until_complete(loop, aio_future_retain(loop, t2), NULL));
    assert_aio_err(aio_print_call_graph(loop, t2, stdout, 0), AIO_EDONE);
    aio_future_release(loop, t2);
    assert_aio_err(aio_print_call_graph(loop, t2, stdout, 0), AIO_ESTALE);
    assert_aio_err(aio_print_call_graph(loop, t1, NULL, 0), -EINVAL);
    aio_future_set_result(loop, fut, AIO_NONE);
    aio_future_release(loop, fut);
    assert_aio_ok(aio_run_until_complete(loop, t1, NULL));
    assert_int_equal(aio_all_tasks(loop, NULL, 0), 0);
    g = capture(loop);
    assert_int_equal(aio_task_graph_size(g), 0);
    aio_task_graph_free(g);
    close_loop(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(where_every_frame_of_a_chain),
        cmocka_unit_test(where_states),
        cmocka_unit_test(where_awaits_each_kind),
        cmocka_unit_test(where_other_combinators),
        cmocka_unit_test(where_awaits_primitives),
        cmocka_unit_test(where_awaits_io),
        cmocka_unit_test(where_task_groups),
        cmocka_unit_test(where_task_group_after_return),
        cmocka_unit_test(where_reports_deadlocks),
        cmocka_unit_test(where_prints_table_and_trees),
        cmocka_unit_test(where_runs_only_code_before_begin),
        cmocka_unit_test(where_dumps_another_loop),
        cmocka_unit_test(where_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
