/* Several loops at once: one loop per thread, each running timers, futures,
 * done callbacks, a task and a pipe watcher concurrently with the others;
 * handles given to another loop are AIO_EFOREIGN; a loop may be handed to
 * another thread between runs; one thread cannot run two loops nested.
 *
 * cmocka's assertions are not thread-safe: the workers record failures in
 * their own struct and the main thread asserts after joining. */
#include "support.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 4

typedef struct worker {
    int id;
    int virtual_clock;
    int rounds;
    int rounds_done;
    int failures;
    char first_failure[200];
    aio_loop *loop;
    int pipe[2];
    aio_future published;   /* a pending future of this loop, for the others */
    aio_handle published_h; /* a pending timer of this loop, for the others */
    int foreign_checked;
    struct worker *all;
    pthread_barrier_t *barrier;
} worker;

static void record_failure(worker *w, int line, const char *what) {
    if (w->failures++ == 0)
        snprintf(w->first_failure, sizeof w->first_failure, "thread %d (%s clock) line %d: %s", w->id,
                 w->virtual_clock ? "virtual" : "real", line, what);
}

#define CHECK(w, cond)                                                                                       \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            record_failure((w), __LINE__, #cond);                                                            \
            return -1;                                                                                       \
        }                                                                                                    \
    } while (0)

/* ---- the work one round does on one loop ---------------------------------- */

typedef struct order_log {
    int tags[8];
    int n;
} order_log;

typedef struct tagged {
    order_log *log;
    int tag;
} tagged;

static void log_tag(aio_loop *loop, void *arg) {
    (void)loop;
    tagged *t = arg;
    if (t->log->n < 8)
        t->log->tags[t->log->n++] = t->tag;
}

static void stop_cb(aio_loop *loop, void *arg) {
    (void)arg;
    aio_loop_stop(loop);
}

typedef struct sum_ctx {
    int64_t sum;
    int count;
    int expected;
    aio_future all_done;
} sum_ctx;

static void sum_done(aio_loop *loop, aio_future f, void *arg) {
    sum_ctx *s = arg;
    aio_value v;
    if (aio_future_result(loop, f, &v) == 0)
        s->sum += v.i;
    if (++s->count == s->expected)
        aio_future_set_result(loop, s->all_done, AIO_VALUE(s->sum));
}

typedef struct setter {
    aio_future f;
    int64_t value;
} setter;

static void set_later(aio_loop *loop, void *arg) {
    setter *s = arg;
    aio_future_set_result(loop, s->f, AIO_VALUE(s->value));
}

/* The task: two sleeps with values, returns their sum plus its base. Each
 * step also checks that the task finds its own loop (the one running on
 * its thread), while the other threads run theirs. */
typedef struct sleeper {
    double unit;
    int64_t base, acc;
    aio_loop *loop;
} sleeper;

static aio_status sleeper_coro(aio_task *t, void *frame) {
    sleeper *f = frame;
    AIO_BEGIN(t);
    if (aio_task_loop(t) != f->loop)
        AIO_FAIL(t, -EFAULT);
    AIO_AWAIT(t, aio_sleep_value(t, f->unit, f->base + 1));
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    if (aio_task_loop(t) != f->loop)
        AIO_FAIL(t, -EFAULT);
    f->acc = AIO_RESULT(t).i;
    AIO_AWAIT(t, aio_sleep_value(t, f->unit, f->base + 2));
    if (AIO_ERR(t) || aio_task_loop(t) != f->loop)
        AIO_FAIL(t, AIO_ERR(t) ? AIO_ERR(t) : -EFAULT);
    AIO_RETURN(t, f->acc + AIO_RESULT(t).i + f->base);
    AIO_END(t);
}

typedef struct pipe_reader {
    int fd;
    aio_future fut;
} pipe_reader;

static void pipe_readable(aio_loop *loop, void *arg) {
    pipe_reader *p = arg;
    char c = 0;
    if (read(p->fd, &c, 1) == 1) {
        aio_remove_reader(loop, p->fd);
        aio_future_set_result(loop, p->fut, AIO_VALUE((int)c));
    }
}

static int do_round(worker *w, int r) {
    aio_loop *loop = w->loop;
    double unit = w->virtual_clock ? 0.01 : 0.0005;
    int64_t t0 = aio_loop_time_ns(loop);

    /* Timers fire by deadline. */
    order_log log = {{0}, 0};
    tagged a = {&log, 1}, b = {&log, 2}, c = {&log, 3};
    CHECK(w, aio_call_later(loop, 3 * unit, log_tag, &c, NULL) == 0);
    CHECK(w, aio_call_later(loop, 1 * unit, log_tag, &a, NULL) == 0);
    CHECK(w, aio_call_at(loop, aio_loop_time(loop) + 2 * unit, log_tag, &b, NULL) == 0);
    CHECK(w, aio_call_later(loop, 4 * unit, stop_cb, NULL, NULL) == 0);
    CHECK(w, aio_run_forever(loop) == 0);
    CHECK(w, log.n == 3 && log.tags[0] == 1 && log.tags[1] == 2 && log.tags[2] == 3);
    if (w->virtual_clock)
        CHECK(w, aio_loop_time_ns(loop) - t0 == 40000000);
    else
        CHECK(w, aio_loop_time_ns(loop) - t0 >= 2000000);

    /* Futures completed by callbacks; done callbacks sum their results. */
    enum { NF = 8 };
    aio_future f[NF];
    setter set[NF];
    sum_ctx sum = {0, 0, NF, aio_future_new(loop)};
    CHECK(w, aio_future_check(sum.all_done) == 0);
    int64_t expected = 0;
    for (int i = 0; i < NF; i++) {
        f[i] = aio_future_new(loop);
        CHECK(w, aio_future_check(f[i]) == 0);
        CHECK(w, aio_future_add_done_callback(loop, f[i], sum_done, &sum) == 0);
        set[i] = (setter){f[i], (int64_t)w->id * 1000 + r * NF + i};
        expected += set[i].value;
        CHECK(w, aio_call_soon(loop, set_later, &set[i], NULL) == 0);
    }
    aio_value v = AIO_NONE;
    CHECK(w, aio_run_until_complete(loop, sum.all_done, &v) == 0);
    CHECK(w, v.i == expected);
    for (int i = 0; i < NF; i++)
        CHECK(w, aio_future_release(loop, f[i]) == 0);

    /* A task with two sleeps. */
    int64_t base = (int64_t)w->id * 100000 + r;
    aio_future t = aio_create_task(loop, sleeper_coro, &(sleeper){unit, base, 0, loop});
    CHECK(w, aio_future_check(t) == 0);
    t0 = aio_loop_time_ns(loop);
    CHECK(w, aio_run_until_complete(loop, t, &v) == 0);
    CHECK(w, v.i == 3 * base + 3);
    if (w->virtual_clock)
        CHECK(w, aio_loop_time_ns(loop) - t0 == 20000000);

    /* A pipe watcher. */
    pipe_reader pr = {w->pipe[0], aio_future_new(loop)};
    CHECK(w, aio_add_reader(loop, w->pipe[0], pipe_readable, &pr) == 0);
    char byte = (char)('a' + (r % 26));
    CHECK(w, write(w->pipe[1], &byte, 1) == 1);
    CHECK(w, aio_run_until_complete(loop, pr.fut, &v) == 0);
    CHECK(w, v.i == byte);
    return 0;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    aio_loop_options opts = {0};
    opts.virtual_clock = w->virtual_clock;
    if (aio_loop_create(&w->loop, &opts) != 0) {
        record_failure(w, __LINE__, "aio_loop_create");
        w->loop = NULL;
    }
    if (w->loop) {
        w->published = aio_future_new(w->loop);
        if (aio_call_later(w->loop, 1000.0, stop_cb, NULL, &w->published_h) != 0)
            record_failure(w, __LINE__, "aio_call_later");
    }
    pthread_barrier_wait(w->barrier);

    /* Every other loop's handles are foreign to this loop. */
    for (int i = 0; w->loop && i < NTHREADS; i++) {
        worker *o = &w->all[i];
        if (o == w || !o->loop)
            continue;
        if (aio_future_done(w->loop, o->published) != AIO_EFOREIGN)
            record_failure(w, __LINE__, "aio_future_done(other loop's future) != AIO_EFOREIGN");
        else if (aio_future_set_result(w->loop, o->published, AIO_NONE) != AIO_EFOREIGN)
            record_failure(w, __LINE__, "aio_future_set_result(other's) != AIO_EFOREIGN");
        else if (aio_handle_cancel(w->loop, o->published_h) != AIO_EFOREIGN)
            record_failure(w, __LINE__, "aio_handle_cancel(other loop's handle) != AIO_EFOREIGN");
        else
            w->foreign_checked++;
    }

    if (w->loop && pipe2(w->pipe, O_NONBLOCK | O_CLOEXEC) == 0) {
        for (int r = 0; r < w->rounds && w->failures == 0; r++)
            if (do_round(w, r) == 0)
                w->rounds_done++;
        close(w->pipe[0]);
        close(w->pipe[1]);
    } else {
        record_failure(w, __LINE__, "setup");
    }

    /* Our own handles are still ours, and still pending. */
    if (w->loop) {
        if (aio_future_done(w->loop, w->published) != 0)
            record_failure(w, __LINE__, "own published future not pending");
        if (aio_handle_cancel(w->loop, w->published_h) != 1)
            record_failure(w, __LINE__, "own timer handle not cancelled");
        aio_future_release(w->loop, w->published);
    }
    /* Nobody frees before everyone has finished looking at the handles. */
    pthread_barrier_wait(w->barrier);
    if (w->loop && aio_loop_free(w->loop) != 0)
        record_failure(w, __LINE__, "aio_loop_free");
    return NULL;
}

/* Four threads, each running its own loop (two on the virtual clock, two on
 * the real one) with timers, futures, callbacks, a task and a pipe, all at
 * once; every result is checked, and each loop refuses the others'
 * handles with AIO_EFOREIGN. */
static void loop_per_thread_in_parallel(void **state) {
    (void)state;
    worker ws[NTHREADS];
    pthread_t th[NTHREADS];
    pthread_barrier_t barrier;
    assert_int_equal(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < NTHREADS; i++) {
        ws[i].id = i;
        ws[i].virtual_clock = (i % 2 == 0);
        ws[i].rounds = ws[i].virtual_clock ? 200 : 6;
        ws[i].all = ws;
        ws[i].barrier = &barrier;
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &ws[i]), 0);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&barrier);
    for (int i = 0; i < NTHREADS; i++) {
        if (ws[i].failures)
            print_error("%s\n", ws[i].first_failure);
        assert_int_equal(ws[i].failures, 0);
        assert_int_equal(ws[i].rounds_done, ws[i].rounds);
        assert_int_equal(ws[i].foreign_checked, NTHREADS - 1);
    }
}

/* ---- handing a loop to another thread ------------------------------------------ */

typedef struct handoff {
    aio_loop *loop;
    aio_future fut;
    int rc;
    aio_value v;
} handoff;

static void *run_elsewhere(void *arg) {
    handoff *h = arg;
    h->rc = aio_run_until_complete(h->loop, h->fut, &h->v);
    return NULL;
}

/* A loop created (and fed) in one thread can be run by another, one at a
 * time; results come back, and the creator can use it again afterwards. */
static void loop_handed_to_another_thread(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    handoff h = {loop, aio_sleep_value(loop, 2.0, 321), -100, AIO_NONE};
    assert_int_equal(aio_future_check(h.fut), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_elsewhere, &h), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(h.rc, 0);
    assert_int_equal(h.v.i, 321);
    assert_int_equal(aio_loop_time_ns(loop), 2000000000);
    aio_value v = AIO_NONE;
    assert_int_equal(aio_run_until_complete(loop, aio_sleep_value(loop, 1.0, 5), &v), 0);
    assert_int_equal(v.i, 5);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- two loops, one thread ---------------------------------------------------------- */

typedef struct nest_other {
    aio_loop *other;
    int run_rc, forever_rc;
    aio_future done;
} nest_other;

static void run_other_loop(aio_loop *loop, void *arg) {
    nest_other *n = arg;
    aio_future g = aio_sleep(n->other, 0.0);
    n->run_rc = aio_run_until_complete(n->other, aio_future_retain(n->other, g), NULL);
    aio_future_release(n->other, g);
    n->forever_rc = aio_run_forever(n->other);
    aio_future_set_result(loop, n->done, AIO_NONE);
}

/* Running another loop from inside a running loop's callback (same thread)
 * is refused with AIO_ERUNNING; both loops work normally afterwards, and the
 * handles of one loop are foreign to the other. */
static void nested_run_of_other_loop_refused(void **state) {
    (void)state;
    aio_loop *a = test_loop_new(1), *b = test_loop_new(1);
    nest_other n = {b, -100, -100, aio_future_new(a)};
    assert_int_equal(aio_call_soon(a, run_other_loop, &n, NULL), 0);
    assert_int_equal(aio_run_until_complete(a, n.done, NULL), 0);
    assert_int_equal(n.run_rc, AIO_ERUNNING);
    assert_int_equal(n.forever_rc, AIO_ERUNNING);

    aio_value v = AIO_NONE;
    assert_int_equal(aio_run_until_complete(b, aio_sleep_value(b, 0.5, 9), &v), 0);
    assert_int_equal(v.i, 9);
    assert_int_equal(aio_run_until_complete(a, aio_sleep_value(a, 0.5, 8), &v), 0);
    assert_int_equal(v.i, 8);

    aio_future fa = aio_future_new(a);
    aio_handle hb = {0};
    assert_int_equal(aio_call_soon(b, stop_cb, NULL, &hb), 0);
    assert_int_equal(aio_future_done(b, fa), AIO_EFOREIGN);
    assert_int_equal(aio_handle_cancel(a, hb), AIO_EFOREIGN);
    assert_int_equal(aio_future_release(a, fa), 0);
    assert_int_equal(aio_handle_cancel(b, hb), 1);
    assert_int_equal(aio_loop_free(a), 0);
    assert_int_equal(aio_loop_free(b), 0);
}

/* Many loops created by one thread at once get distinct tags: each one's
 * futures are foreign to all the others. */
static void many_loops_distinct_tags(void **state) {
    (void)state;
    enum { N = 64 };
    aio_loop *loops[N];
    aio_future futs[N];
    for (int i = 0; i < N; i++) {
        loops[i] = test_loop_new(1);
        futs[i] = aio_future_new(loops[i]);
        assert_int_equal(aio_future_check(futs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            assert_int_equal(aio_future_done(loops[i], futs[j]), i == j ? 0 : AIO_EFOREIGN);
    for (int i = 0; i < N; i++) {
        assert_int_equal(aio_future_release(loops[i], futs[i]), 0);
        assert_int_equal(aio_loop_free(loops[i]), 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loop_per_thread_in_parallel),
        cmocka_unit_test(loop_handed_to_another_thread),
        cmocka_unit_test(nested_run_of_other_loop_refused),
        cmocka_unit_test(many_loops_distinct_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
