/* A completion needs no memory (issue 14, items 1 and 2), and nothing the
 * loop has accepted is dropped when its ready queue is full and cannot
 * grow: set_result, a task finishing and an executor job's completion
 * resume their awaiters; threadsafe calls, due timers, ready fds and
 * signals wait for room and run later, in order.
 *
 * Each case fills the ready queue while every allocation fails
 * (AIO__FAULT_FROM), then completes something. The countdown stays armed
 * through the run: nothing after the acceptance may need memory. */
#include "support.h"

#include "core/fault.h"
#include "thread/thread.h" /* white box: whether a job's completion was posted */

#include <aio/executor.h>
#include <aio/signal.h>

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static aio_loop *loop_with_budget(int virtual_clock, unsigned budget) {
    aio_loop_options opts = {0};
    opts.virtual_clock = virtual_clock;
    opts.poll_budget = budget;
    aio_loop *loop;
    assert_aio_ok(aio_loop_create(&loop, &opts));
    return loop;
}

/* ---- filling the ready queue ---- */

typedef struct filler {
    int queued;  /* fillers queued by the last fill */
    int left;    /* fillers of the first fill not yet run */
    int refills; /* fills still to make when the last filler of a fill runs */
    int ran;
} filler;

static void noop(aio_loop *loop, void *arg) {
    (void)loop;
    ((filler *)arg)->ran++;
}

static void refiller(aio_loop *loop, void *arg);

/* Queue cb(loop, f) until the queue is full and cannot grow: every
 * allocation fails from now on. */
static int fill_with(aio_loop *loop, filler *f, aio_callback cb) {
    aio__fault_alloc_arm(AIO__FAULT_FROM, 1);
    int n = 0, rc;
    while ((rc = aio_call_soon(loop, cb, f, NULL)) == 0)
        n++;
    assert_aio_err(rc, -ENOMEM); /* the documented code */
    assert_true(n > 0);
    f->queued += n;
    if (cb == refiller)
        f->left = n;
    return n;
}

static int fill(aio_loop *loop, filler *f) { return fill_with(loop, f, noop); }

/* A filler that fills the queue again (with refillers) when the last of its
 * fill runs, `refills` times: so that the next iteration starts with a full
 * queue too. */
static void refiller(aio_loop *loop, void *arg) {
    filler *f = arg;
    f->ran++;
    if (--f->left == 0 && f->refills-- > 0)
        fill_with(loop, f, refiller);
}

static int fill_refilling(aio_loop *loop, filler *f, int refills) {
    f->refills = refills;
    return fill_with(loop, f, refiller);
}

/* ---- awaiting ---- */

struct await_frame {
    aio_future fut;
    aio_value v;
};

static aio_status awaiter(aio_task *t, void *frame) {
    struct await_frame *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->fut);
    if (AIO_ERR(t))
        AIO_FAIL(t, AIO_ERR(t));
    f->v = AIO_RESULT(t);
    AIO_RETURN(t, f->v.i + 1);
    AIO_END(t);
}

typedef struct setter {
    aio_future fut;
    filler f;
    int rc;
} setter;

static void fill_then_set(aio_loop *loop, void *arg) {
    setter *s = arg;
    fill(loop, &s->f);
    s->rc = aio_future_set_result(loop, s->fut, AIO_VALUE(41));
}

/* Item 1: aio_future_set_result returned 0 while the queue was full and
 * could not grow; the awaiting task used to be dropped (reported, then
 * AIO_EDEADLOCK). Now it resumes. */
static void issue14_1_set_result_when_ready_queue_cannot_grow(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reports;
    test_collect_reports(loop, &reports);
    setter s = {0};
    s.fut = aio_future_new(loop);
    struct await_frame fr = {s.fut, {0}};
    aio_future task = aio_create_task(loop, awaiter, &fr);
    test_run_iterations(loop, 2); /* the task awaits */
    assert_aio_ok(aio_call_soon(loop, fill_then_set, &s, NULL));
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, task, &v));
    assert_aio_ok(s.rc);
    assert_int_equal(v.i, 42);
    assert_int_equal(s.f.ran, s.f.queued);
    assert_int_equal(reports.count, 0);
    aio__fault_reset();
    assert_aio_ok(aio_loop_free(loop));
}

struct fill_frame {
    filler *f;
};

static aio_status fill_and_return(aio_task *t, void *frame) {
    struct fill_frame *fr = frame;
    AIO_BEGIN(t);
    AIO_YIELD(t); /* the awaiter starts, and awaits us */
    fill(aio_task_loop(t), fr->f);
    AIO_RETURN(t, 9);
    AIO_END(t);
}

/* Item 1: a task finishing while the queue is full and cannot grow. */
static void issue14_1_task_finish_when_ready_queue_cannot_grow(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reports;
    test_collect_reports(loop, &reports);
    filler f = {0};
    struct fill_frame ff = {&f};
    struct await_frame fr = {aio_create_task(loop, fill_and_return, &ff), {0}};
    aio_future task = aio_create_task(loop, awaiter, &fr);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, task, &v));
    assert_int_equal(v.i, 10);
    assert_int_equal(f.ran, f.queued);
    assert_int_equal(reports.count, 0);
    aio__fault_reset();
    assert_aio_ok(aio_loop_free(loop));
}

static int job_ret(void *arg, aio_value *out) {
    (void)arg;
    *out = AIO_VALUE(99);
    return 0;
}

/* Item 1: an executor job's completion, collected (after a poll) while the
 * queue is full and cannot grow. A poll budget of 1 makes the loop poll
 * after every iteration, full queue or not. */
static void issue14_1_executor_job_when_ready_queue_cannot_grow(void **state) {
    (void)state;
    aio_loop *loop = loop_with_budget(0, 1);
    test_reports reports;
    test_collect_reports(loop, &reports);
    struct await_frame fr = {aio_run_in_executor(loop, NULL, job_ret, NULL), {0}};
    assert_aio_ok(aio_future_check(fr.fut));
    aio_future task = aio_create_task(loop, awaiter, &fr);
    /* The loop is not running: the job was handed over at once. Wait for
     * its completion to be posted to the loop. */
    for (int i = 0; i < 10000 && !atomic_load(&loop->xs->pending); i++)
        sleep_ms(1);
    assert_true(atomic_load(&loop->xs->pending));
    /* Iteration 1 starts the task (it awaits the job) and runs the
     * fillers, the last of which fills the queue again; iteration 2 polls,
     * collects the job and completes its future with the queue full. */
    filler f = {0};
    fill_refilling(loop, &f, 1);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, task, &v));
    assert_int_equal(v.i, 100);
    assert_int_equal(f.refills, -1); /* the queue was full again when the job was collected */
    assert_int_equal(f.ran, f.queued);
    assert_int_equal(reports.count, 0);
    aio__fault_reset();
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- item 2: threadsafe calls ---- */

typedef struct ts_log {
    int order[8];
    int n;
    aio_future done;
} ts_log;

typedef struct ts_call {
    ts_log *log;
    int index;
} ts_call;

static void ts_run(aio_loop *loop, void *arg) {
    ts_call *c = arg;
    c->log->order[c->log->n++] = c->index;
    if (c->log->n == 5)
        assert_aio_ok(aio_future_set_result(loop, c->log->done, AIO_VALUE(0)));
}

/* Item 2: aio_call_soon_threadsafe returned 0, and the drain found the
 * ready queue full with no memory to grow it: the calls used to be
 * reported and discarded. Now they wait in the posted array, and run in
 * order once there is room. */
static void issue14_2_threadsafe_call_when_ready_queue_cannot_grow(void **state) {
    (void)state;
    aio_loop *loop = loop_with_budget(1, 1);
    test_reports reports;
    test_collect_reports(loop, &reports);
    ts_log log = {{0}, 0, aio_future_new(loop)};
    ts_call calls[5];
    for (int i = 0; i < 5; i++) {
        calls[i] = (ts_call){&log, i};
        assert_aio_ok(aio_call_soon_threadsafe(loop, ts_run, &calls[i]));
    }
    /* Iteration 1 runs the fillers (the last fills the queue again);
     * iteration 2 polls and drains with the queue full. */
    filler f = {0};
    fill_refilling(loop, &f, 1);
    assert_aio_ok(aio_run_until_complete(loop, log.done, NULL));
    assert_int_equal(f.refills, -1);
    assert_int_equal(f.ran, f.queued);
    assert_int_equal(log.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(log.order[i], i);
    assert_int_equal(reports.count, 0);
    aio__fault_reset();
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- the loop's own entries: due timers, ready fds ---- */

static void tick_stop(aio_loop *loop, void *arg) {
    (*(int *)arg)++;
    aio_loop_stop(loop);
}

/* A timer falls due while the queue is full and cannot grow: it stays
 * armed and runs once there is room (this used to be reported as
 * "postponed"). Iterations 1 to 3 start with a full queue. */
static void due_timer_when_ready_queue_cannot_grow(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reports;
    test_collect_reports(loop, &reports);
    int ticks = 0;
    assert_aio_ok(aio_call_later(loop, 0.5, tick_stop, &ticks, NULL));
    assert_aio_ok(aio_loop_advance(loop, 1.0)); /* due at the next iteration */
    filler f = {0};
    fill_refilling(loop, &f, 2);
    assert_aio_ok(aio_run_forever(loop));
    assert_int_equal(ticks, 1);
    assert_int_equal(f.refills, -1);
    assert_int_equal(f.ran, f.queued);
    assert_int_equal(reports.count, 0);
    aio__fault_reset();
    assert_aio_ok(aio_loop_free(loop));
}

static void on_readable(aio_loop *loop, void *arg) {
    int *fds = arg;
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1);
    assert_int_equal(aio_remove_reader(loop, fds[0]), 1);
    fds[2]++;
    aio_loop_stop(loop);
}

/* An fd is ready while the queue is full and cannot grow: the backends are
 * level-triggered, so the next poll reports it again and its callback runs
 * (this used to be reported as "fd event dropped"). */
static void fd_event_when_ready_queue_cannot_grow(void **state) {
    (void)state;
    aio_loop *loop = loop_with_budget(0, 1);
    test_reports reports;
    test_collect_reports(loop, &reports);
    int fds[3] = {-1, -1, 0};
    assert_int_equal(pipe(fds), 0);
    assert_aio_ok(aio_add_reader(loop, fds[0], on_readable, fds));
    assert_int_equal(write(fds[1], "x", 1), 1);
    filler f = {0};
    fill_refilling(loop, &f, 2);
    assert_aio_ok(aio_run_forever(loop));
    assert_int_equal(fds[2], 1);
    assert_int_equal(f.refills, -1);
    assert_int_equal(f.ran, f.queued);
    assert_int_equal(reports.count, 0);
    aio__fault_reset();
    close(fds[0]);
    close(fds[1]);
    assert_aio_ok(aio_loop_free(loop));
}

static void on_signal(aio_loop *loop, int signo, void *arg) {
    (void)signo;
    (*(int *)arg)++;
    aio_loop_stop(loop);
}

/* A signal arrives while the queue is full and cannot grow: it stays
 * pending and is delivered once there is room (this used to be reported as
 * "signal delivery dropped"). */
static void signal_when_ready_queue_cannot_grow(void **state) {
    (void)state;
    aio_loop *loop = loop_with_budget(0, 1);
    test_reports reports;
    test_collect_reports(loop, &reports);
    int got = 0, late = 0;
    assert_aio_ok(aio_add_signal_handler(loop, SIGUSR1, on_signal, &got));
    assert_aio_ok(aio_call_later(loop, 10.0, tick_stop, &late, NULL)); /* a lost signal: no hang */
    filler f = {0};
    fill_refilling(loop, &f, 2);
    assert_int_equal(raise(SIGUSR1), 0); /* pending before the first poll */
    assert_aio_ok(aio_run_forever(loop));
    assert_int_equal(got, 1);
    assert_int_equal(late, 0);
    assert_int_equal(f.refills, -1);
    assert_int_equal(f.ran, f.queued);
    assert_int_equal(reports.count, 0);
    aio__fault_reset();
    assert_int_equal(aio_remove_signal_handler(loop, SIGUSR1), 1);
    assert_aio_ok(aio_loop_free(loop));
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue14_1_set_result_when_ready_queue_cannot_grow),
        cmocka_unit_test(issue14_1_task_finish_when_ready_queue_cannot_grow),
        cmocka_unit_test(issue14_1_executor_job_when_ready_queue_cannot_grow),
        cmocka_unit_test(issue14_2_threadsafe_call_when_ready_queue_cannot_grow),
        cmocka_unit_test(due_timer_when_ready_queue_cannot_grow),
        cmocka_unit_test(fd_event_when_ready_queue_cannot_grow),
        cmocka_unit_test(signal_when_ready_queue_cannot_grow),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
