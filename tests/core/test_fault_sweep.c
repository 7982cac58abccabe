/* The fault-injection sweep: a realistic workload (a loop, tasks, sleeps,
 * gather, wait, wait_partition, wait_for, shield, as_completed, executor
 * jobs on the default pool and on a pool of its own, aio_to_thread, the
 * default pool's shutdown,
 * call_soon, call_later, call_at and handle cancels, done callbacks,
 * futures completed, failed and cancelled, task names and cancel messages,
 * threadsafe calls from a job, an fd watcher, a signal handler and waiter,
 * yields, close) run for
 * N = 1, 2, 3, ... with the N-th allocation failing (sweep_once), or every
 * allocation from the N-th on (sweep_from), until a run meets no failure.
 *
 * At every N:
 *   - no crash and no hang (ctest's timeout), no leak (LSan, valgrind);
 *   - every call that fails returns a documented code (here -ENOMEM, or
 *     -EAGAIN for a pool that could start no thread);
 *   - every call that returned success has its effect: each accepted
 *     callback runs exactly once, each created task finishes, each awaited
 *     result is the right one, aio_run_until_complete never returns
 *     AIO_EDEADLOCK, and the loop reports nothing;
 *   - the loop then runs to quiescence (AIO_EDEADLOCK from run_forever:
 *     nothing left) and frees cleanly.
 * Each mode is its own ctest entry (a process of its own: the countdown is
 * process state). The number of fault points covered is printed. The
 * whole sweep takes about 0.1 s (2 s under valgrind). */
#include "support.h"

#include "core/fault.h"

#include <aio/combinators.h>
#include <aio/executor.h>
#include <aio/signal.h>

#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the world of one run, and its oracles ---- */

#define MAX_TASKS 512
#define CROWD 150 /* enough to grow every table past its first size */

typedef struct world {
    aio_loop *loop;
    atomic_int cb_accepted;      /* callbacks accepted (a job thread posts too) */
    atomic_int cb_ran;           /* ... and run */
    aio_future tasks[MAX_TASKS]; /* a reference to every task created */
    int ntasks;
    int reports;
    int violations;
    char first[256];
    int fds[2];
} world;

static world W;

static void violation(const char *fmt, ...) {
    if (W.violations++ > 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(W.first, sizeof W.first, fmt, ap);
    va_end(ap);
}

#define EXPECT(cond, ...)                                                                                    \
    do {                                                                                                     \
        if (!(cond))                                                                                         \
            violation(__VA_ARGS__);                                                                          \
    } while (0)

/* A call failed or succeeded; a failure must be out of memory. */
static bool ok(int rc, const char *what) {
    EXPECT(rc >= 0 || rc == -ENOMEM, "%s: %s is not a documented failure here", what, aio_err_name(rc));
    return rc >= 0;
}
static bool ok_handle(aio_future f, const char *what) { return ok(aio_future_check(f), what); }

static void on_report(aio_loop *loop, const aio_report *r, void *arg) {
    (void)loop, (void)arg;
    W.reports++;
    violation("report: %s (%s)", r->message, aio_err_name(r->error));
}

static void counted(aio_loop *loop, void *arg) {
    (void)loop, (void)arg;
    atomic_fetch_add(&W.cb_ran, 1);
}

static void counted_done(aio_loop *loop, aio_future f, void *arg) {
    (void)loop, (void)f, (void)arg;
    atomic_fetch_add(&W.cb_ran, 1);
}

static void never_runs(aio_loop *loop, aio_future f, void *arg) {
    (void)loop, (void)f, (void)arg;
    violation("a removed done callback ran");
}

static void never_runs_cb(aio_loop *loop, void *arg) {
    (void)loop, (void)arg;
    violation("a cancelled callback ran");
}

static void counted_signal(aio_loop *loop, int signo, void *arg) {
    (void)loop, (void)signo, (void)arg;
    atomic_fetch_add(&W.cb_ran, 1);
}

/* Keep a reference to a task just created: at the end, it must be done. */
static aio_future track(aio_future f, const char *what) {
    if (ok_handle(f, what) && W.ntasks < MAX_TASKS)
        W.tasks[W.ntasks++] = aio_future_retain(W.loop, f); /* 16-bit counts: never fails */
    return f;
}

/* ---- coroutines ---- */

struct child {
    double delay;
    int value;
};

/* Sleep, then return a value. A sleep that cannot be made (-ENOMEM) is
 * skipped; a cancellation ends the task cancelled. */
AIO_CORO(child, struct child) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->delay));
    EXPECT(AIO_ERR(t) == 0 || AIO_ERR(t) == -ENOMEM || AIO_ERR(t) == AIO_ECANCELLED, "child's sleep: %s",
           aio_err_name(AIO_ERR(t)));
    if (AIO_ERR(t) == AIO_ECANCELLED)
        AIO_FAIL(t, AIO_ECANCELLED);
    AIO_RETURN(t, f->value);
    AIO_END(t);
}

static aio_future spawn_child(aio_task *t, double delay, int value) {
    return track(aio_spawn(t, child, &(struct child){delay, value}), "aio_spawn(child)");
}

static int job(void *arg, aio_value *out) {
    aio_loop *loop = arg;
    /* From a worker thread: threadsafe calls back to the loop, enough to
     * grow the posted array (a fault point on this thread). */
    for (int i = 0; i < 70; i++) {
        int rc = aio_call_soon_threadsafe(loop, counted, NULL);
        if (ok(rc, "aio_call_soon_threadsafe (job)"))
            atomic_fetch_add(&W.cb_accepted, 1);
    }
    *out = AIO_VALUE(11);
    return 0;
}

static void on_readable(aio_loop *loop, void *arg) {
    (void)arg;
    char c;
    EXPECT(read(W.fds[0], &c, 1) == 1, "the watched fd had nothing to read");
    EXPECT(aio_remove_reader(loop, W.fds[0]) == 1, "aio_remove_reader");
    atomic_fetch_add(&W.cb_ran, 1);
}

/* The outcome of an executor job: its result, or a pool error. */
static void check_job(int err, aio_value v, const char *what) {
    if (err == 0)
        EXPECT(v.i == 11, "%s: result %lld", what, (long long)v.i);
    else
        EXPECT(err == -ENOMEM || err == -EAGAIN, "%s: %s", what, aio_err_name(err));
}

struct main_frame {
    aio_future crowd[CROWD];
    aio_outcome crowd_res[CROWD];
    aio_future kids[4], wkids[2], ackids[3], f, g, it, next, sleeper, named;
    aio_outcome res[4];
    int nkids, nack, order[3], norder, i, pipe_ok;
    aio_handle h;
    aio_pool *pool;
};

AIO_CORO(main_coro, struct main_frame) {
    aio_loop *loop = aio_task_loop(t);
    int rc;
    AIO_BEGIN(t);

    /* -- callbacks: call_soon, call_later, call_at, a cancelled one, threadsafe -- */
    if (ok(aio_call_soon(loop, counted, NULL, NULL), "aio_call_soon"))
        atomic_fetch_add(&W.cb_accepted, 1);
    if (ok(aio_call_later(loop, 0.01, counted, NULL, NULL), "aio_call_later"))
        atomic_fetch_add(&W.cb_accepted, 1);
    if (ok(aio_call_at(loop, aio_loop_time(loop) + 0.005, counted, NULL, NULL), "aio_call_at"))
        atomic_fetch_add(&W.cb_accepted, 1);
    if (ok(aio_call_later(loop, 0.02, never_runs_cb, NULL, &f->h), "aio_call_later (handle)"))
        EXPECT(aio_handle_cancel(loop, f->h) == 1, "aio_handle_cancel");
    if (ok(aio_call_soon(loop, never_runs_cb, NULL, &f->h), "aio_call_soon (handle)"))
        EXPECT(aio_handle_cancel(loop, f->h) == 1, "aio_handle_cancel (soon)");
    if (ok(aio_call_soon_threadsafe(loop, counted, NULL), "aio_call_soon_threadsafe"))
        atomic_fetch_add(&W.cb_accepted, 1);

    /* -- a future with done callbacks, completed; one failed -- */
    f->f = aio_future_new(t);
    if (ok_handle(f->f, "aio_future_new")) {
        if (ok(aio_future_add_done_callback(loop, f->f, counted_done, NULL), "aio_future_add_done_callback"))
            atomic_fetch_add(&W.cb_accepted, 1);
        if (ok(aio_future_add_done_callback(loop, f->f, never_runs, &W), "aio_future_add_done_callback"))
            EXPECT(aio_future_remove_done_callback(loop, f->f, never_runs, &W) == 1, "remove_done_callback");
        EXPECT(aio_future_set_result(loop, f->f, AIO_VALUE(5)) == 0, "aio_future_set_result");
        /* Done already: the callback runs alone, next iteration. */
        if (ok(aio_future_add_done_callback(loop, f->f, counted_done, NULL), "add_done_callback (done)"))
            atomic_fetch_add(&W.cb_accepted, 1);
        AIO_AWAIT(t, f->f);
        EXPECT(AIO_ERR(t) == 0 && AIO_RESULT(t).i == 5, "await a set future: %s", aio_err_name(AIO_ERR(t)));
    }
    f->f = aio_future_new(t);
    if (ok_handle(f->f, "aio_future_new")) {
        EXPECT(aio_future_set_error(loop, f->f, -EIO) == 0, "aio_future_set_error");
        AIO_AWAIT(t, f->f);
        EXPECT(AIO_ERR(t) == -EIO, "await a failed future: %s", aio_err_name(AIO_ERR(t)));
    }
    f->f = aio_future_new(t);
    if (ok_handle(f->f, "aio_future_new")) {
        EXPECT(aio_future_cancel(loop, f->f, "no") == 1, "aio_future_cancel");
        AIO_AWAIT(t, f->f);
        EXPECT(AIO_ERR(t) == AIO_ECANCELLED, "await a cancelled future: %s", aio_err_name(AIO_ERR(t)));
    }

    /* -- a crowd: every table grows (futures, callback nodes, ready ring,
     * timers, the wheel, task memory), then one gather over it -- */
    for (f->i = 0; f->i < CROWD; f->i++)
        if (ok(aio_call_later(loop, 0.0001 * (f->i % 13), counted, NULL, NULL), "aio_call_later (crowd)"))
            atomic_fetch_add(&W.cb_accepted, 1);
    for (f->i = 0; f->i < CROWD; f->i++)
        if (ok(aio_call_soon(loop, counted, NULL, NULL), "aio_call_soon (crowd)"))
            atomic_fetch_add(&W.cb_accepted, 1);
    f->nkids = 0;
    for (f->i = 0; f->i < CROWD; f->i++) {
        aio_future k = spawn_child(t, 0.0001 * (f->i % 7), 1);
        if (aio_future_check(k) == 0)
            f->crowd[f->nkids++] = k;
    }
    if (f->nkids > 0) {
        f->g = aio_gather(t, f->crowd, (size_t)f->nkids, f->crowd_res, 0);
        if (ok_handle(f->g, "aio_gather (crowd)")) {
            AIO_AWAIT(t, f->g);
            EXPECT(AIO_ERR(t) == 0, "gather (crowd): %s", aio_err_name(AIO_ERR(t)));
            for (f->i = 0; f->i < f->nkids && AIO_ERR(t) == 0; f->i++)
                EXPECT(f->crowd_res[f->i].err == 0 && f->crowd_res[f->i].value.i == 1, "crowd result %d",
                       f->i);
        }
    }

    /* -- gather -- */
    f->nkids = 0;
    for (f->i = 0; f->i < 4; f->i++) {
        aio_future k = spawn_child(t, 0.001 * (f->i + 1), f->i + 1);
        if (aio_future_check(k) == 0)
            f->kids[f->nkids++] = k;
    }
    if (f->nkids > 0) {
        f->g = aio_gather(t, f->kids, (size_t)f->nkids, f->res, 0); /* consumes the kids on every path */
        if (ok_handle(f->g, "aio_gather")) {
            AIO_AWAIT(t, f->g);
            EXPECT(AIO_ERR(t) == 0, "gather: %s", aio_err_name(AIO_ERR(t)));
            for (f->i = 0; f->i < f->nkids && AIO_ERR(t) == 0; f->i++)
                EXPECT(f->res[f->i].err == 0 && f->res[f->i].value.i > 0, "gather result %d", f->i);
        }
    }

    /* -- wait, wait_partition -- */
    f->wkids[0] = spawn_child(t, 0.001, 1);
    f->wkids[1] = spawn_child(t, 0.5, 2);
    if (aio_future_check(f->wkids[0]) == 0 && aio_future_check(f->wkids[1]) == 0) {
        f->g = aio_wait(t, f->wkids, 2, 0.01, AIO_ALL_COMPLETED);
        if (ok_handle(f->g, "aio_wait")) {
            AIO_AWAIT(t, f->g);
            EXPECT(AIO_ERR(t) == 0, "wait: %s", aio_err_name(AIO_ERR(t)));
            rc = aio_wait_partition(loop, f->wkids, 2);
            EXPECT(rc == 1, "aio_wait_partition: %d", rc);
        }
    }
    for (f->i = 0; f->i < 2; f->i++)
        if (aio_future_check(f->wkids[f->i]) == 0)
            EXPECT(aio_future_release(loop, f->wkids[f->i]) == 0, "release a waited child");

    /* -- wait_for: in time, and timing out -- */
    f->g = aio_wait_for(t, spawn_child(t, 0.001, 7), 1.0);
    if (ok_handle(f->g, "aio_wait_for")) {
        AIO_AWAIT(t, f->g);
        EXPECT(AIO_ERR(t) == 0 && AIO_RESULT(t).i == 7, "wait_for: %s", aio_err_name(AIO_ERR(t)));
    }
    f->g = aio_wait_for(t, spawn_child(t, 10.0, 8), 0.01);
    if (ok_handle(f->g, "aio_wait_for (timeout)")) {
        AIO_AWAIT(t, f->g);
        EXPECT(AIO_ERR(t) == AIO_ETIMEDOUT, "wait_for timeout: %s", aio_err_name(AIO_ERR(t)));
    }

    /* -- shield -- */
    f->g = aio_shield(t, spawn_child(t, 0.002, 9));
    if (ok_handle(f->g, "aio_shield")) {
        AIO_AWAIT(t, f->g);
        EXPECT(AIO_ERR(t) == 0 && AIO_RESULT(t).i == 9, "shield: %s", aio_err_name(AIO_ERR(t)));
    }

    /* -- as_completed: kids finishing in the order 1, 2, 0 -- */
    f->nack = 0;
    for (f->i = 0; f->i < 3; f->i++)
        f->ackids[f->i] = spawn_child(t, f->i == 0 ? 0.003 : 0.001 * f->i, f->i);
    if (aio_future_check(f->ackids[0]) == 0 && aio_future_check(f->ackids[1]) == 0 &&
        aio_future_check(f->ackids[2]) == 0) {
        f->it = aio_as_completed(t, f->ackids, 3, 1.0);
        if (ok_handle(f->it, "aio_as_completed")) {
            for (f->norder = 0; f->norder < 3;) {
                f->next = aio_as_completed_next(t, f->it);
                if (!ok_handle(f->next, "aio_as_completed_next"))
                    break;
                AIO_AWAIT(t, f->next);
                EXPECT(AIO_ERR(t) == 0, "as_completed next: %s", aio_err_name(AIO_ERR(t)));
                if (AIO_ERR(t) != 0)
                    break;
                f->order[f->norder++] = (int)AIO_RESULT(t).u;
            }
            static const int want[3] = {1, 2, 0};
            for (f->i = 0; f->i < f->norder; f->i++)
                EXPECT(f->order[f->i] == want[f->i], "as_completed order");
            EXPECT(aio_future_release(loop, f->it) == 0, "release the iterator");
        }
    }
    for (f->i = 0; f->i < 3; f->i++)
        if (aio_future_check(f->ackids[f->i]) == 0)
            EXPECT(aio_future_release(loop, f->ackids[f->i]) == 0, "release an as_completed child");

    /* -- executor: the default pool, aio_to_thread, a pool of our own -- */
    f->f = aio_run_in_executor(t, NULL, job, loop);
    if (ok_handle(f->f, "aio_run_in_executor")) {
        AIO_AWAIT(t, f->f);
        check_job(AIO_ERR(t), AIO_RESULT(t), "job");
    }
    f->f = aio_to_thread(t, job, loop);
    if (ok_handle(f->f, "aio_to_thread")) {
        AIO_AWAIT(t, f->f);
        check_job(AIO_ERR(t), AIO_RESULT(t), "to_thread");
    }
    f->pool = NULL;
    if (ok(aio_pool_create(&f->pool, &(aio_pool_options){1}), "aio_pool_create")) {
        f->f = aio_run_in_executor(t, f->pool, job, loop);
        if (ok_handle(f->f, "aio_run_in_executor (own pool)")) {
            AIO_AWAIT(t, f->f);
            check_job(AIO_ERR(t), AIO_RESULT(t), "job on its own pool");
        }
        EXPECT(aio_pool_free(f->pool, -1) == 0, "aio_pool_free");
    }
    f->f = aio_shutdown_default_executor(t, 1.0); /* nothing runs in it: done at once */
    if (ok_handle(f->f, "aio_shutdown_default_executor")) {
        AIO_AWAIT(t, f->f);
        EXPECT(AIO_ERR(t) == 0 && AIO_RESULT(t).u == 0, "shutdown_default_executor: %s",
               aio_err_name(AIO_ERR(t)));
    }

    /* -- a task cancelled with a message; a task named -- */
    f->sleeper = spawn_child(t, 100.0, 0);
    if (aio_future_check(f->sleeper) == 0) {
        AIO_YIELD(t); /* it starts and sleeps (or, out of memory, not) */
        rc = aio_task_cancel(t, f->sleeper, "bye");
        /* 0: done already (its sleep could not be made). */
        if (ok(rc, "aio_task_cancel") && rc == 1) {
            AIO_AWAIT(t, aio_future_retain(loop, f->sleeper));
            EXPECT(AIO_ERR(t) == AIO_ECANCELLED, "cancelled sleeper: %s", aio_err_name(AIO_ERR(t)));
            const char *msg = aio_future_cancel_message(loop, f->sleeper);
            EXPECT(msg && strcmp(msg, "bye") == 0, "the cancel message was lost");
        }
        EXPECT(aio_future_release(loop, f->sleeper) == 0, "release the sleeper");
    }
    f->named = spawn_child(t, 0.001, 3);
    if (aio_future_check(f->named) == 0) {
        if (ok(aio_task_set_name(t, f->named, "named"), "aio_task_set_name")) {
            const char *name = aio_task_get_name(loop, f->named);
            EXPECT(name && strcmp(name, "named") == 0, "aio_task_get_name");
        }
        AIO_AWAIT(t, f->named);
        EXPECT(AIO_ERR(t) == 0 && AIO_RESULT(t).i == 3, "named task: %s", aio_err_name(AIO_ERR(t)));
    }

    /* -- an fd watcher -- */
    if (ok(aio_add_reader(loop, W.fds[0], on_readable, NULL), "aio_add_reader")) {
        atomic_fetch_add(&W.cb_accepted, 1);
        EXPECT(write(W.fds[1], "x", 1) == 1, "write to the pipe");
    }

    /* -- a signal: a handler, and a waiter -- */
    if (ok(aio_add_signal_handler(loop, SIGUSR2, counted_signal, NULL), "aio_add_signal_handler")) {
        atomic_fetch_add(&W.cb_accepted, 1);
        f->f = aio_signal_wait(loop, SIGUSR2);
        EXPECT(raise(SIGUSR2) == 0, "raise");
        if (ok_handle(f->f, "aio_signal_wait")) {
            AIO_AWAIT(t, f->f);
            EXPECT(AIO_ERR(t) == 0 && AIO_RESULT(t).i == SIGUSR2, "signal wait: %s",
                   aio_err_name(AIO_ERR(t)));
        } else {
            AIO_AWAIT(t, aio_sleep(t, 0.01));
        }
        EXPECT(aio_remove_signal_handler(loop, SIGUSR2) == 1, "aio_remove_signal_handler");
    }

    /* -- sleep(0), a yield, and a last sleep for the timers and the fd -- */
    AIO_AWAIT(t, aio_sleep(t, 0));
    EXPECT(AIO_ERR(t) == 0 || AIO_ERR(t) == -ENOMEM, "sleep(0): %s", aio_err_name(AIO_ERR(t)));
    AIO_YIELD(t);
    EXPECT(AIO_ERR(t) == 0 || AIO_ERR(t) == -ENOMEM, "yield: %s", aio_err_name(AIO_ERR(t)));
    AIO_AWAIT(t, aio_sleep(t, 0.05));
    AIO_RETURN(t, 1);
    AIO_END(t);
}

/* ---- one run, one N ---- */

/* Run the workload once; the oracles above record what went wrong. */
static void run_world(void) {
    memset(&W, 0, sizeof W);
    atomic_init(&W.cb_accepted, 0);
    atomic_init(&W.cb_ran, 0);
    assert_int_equal(pipe(W.fds), 0);
    aio_loop_options opts = {0};
    opts.virtual_clock = 1;
    int rc = aio_loop_create(&W.loop, &opts);
    if (ok(rc, "aio_loop_create")) {
        aio_loop *loop = W.loop;
        assert_aio_ok(aio_loop_set_exception_handler(loop, on_report, NULL));
        aio_future main_task = track(aio_spawn(loop, main_coro, &(struct main_frame){0}), "spawn main");
        aio_value v = {0};
        rc = aio_run_until_complete(loop, main_task, &v);
        if (aio_future_check(main_task) == 0)
            EXPECT(rc == 0 && v.i == 1, "run_until_complete(main): %s", aio_err_name(rc));
        else
            EXPECT(rc == -ENOMEM, "run_until_complete(no main): %s", aio_err_name(rc));
        /* Everything left (timers, callbacks, tasks) runs: then nothing is
         * left that could ever wake the loop. */
        rc = aio_run_forever(loop);
        EXPECT(rc == AIO_EDEADLOCK, "run_forever to quiescence: %s", aio_err_name(rc));
        EXPECT(atomic_load(&W.cb_ran) == atomic_load(&W.cb_accepted), "%d callbacks accepted, %d ran",
               atomic_load(&W.cb_accepted), atomic_load(&W.cb_ran));
        for (int i = 0; i < W.ntasks; i++) {
            EXPECT(aio_future_done(loop, W.tasks[i]) == 1, "task %d of %d never finished", i, W.ntasks);
            (void)aio_future_error(loop, W.tasks[i]); /* looked at: a failed one is not reported */
            EXPECT(aio_future_release(loop, W.tasks[i]) == 0, "release task %d", i);
        }
        EXPECT(aio_loop_free(loop) == 0, "aio_loop_free");
    }
    close(W.fds[0]);
    close(W.fds[1]);
}

static void sweep(enum aio__fault_mode mode, const char *name) {
    /* A run without faults first: it must pass, and tells how many
     * allocations the workload makes. */
    aio__fault_alloc_arm(AIO__FAULT_OFF, 1);
    run_world();
    long points = aio__fault_alloc_seen();
    aio__fault_reset();
    if (W.violations)
        fail_msg("without faults: %s", W.first);
    long n;
    for (n = 1;; n++) {
        aio__fault_alloc_arm(mode, n);
        run_world();
        long failed = aio__fault_alloc_failed();
        aio__fault_reset();
        if (W.violations)
            fail_msg("%s, allocation %ld failing: %s (%d violations)", name, n, W.first, W.violations);
        if (failed == 0)
            break; /* the n-th allocation never came: every point was covered */
        if (n > 4 * points + 100)
            fail_msg("%s: still failing at allocation %ld of %ld", name, n, points);
    }
    /* The count varies by a point or two from run to run: how many worker
     * threads the default pool starts depends on timing. */
    printf("fault sweep (%s): %ld fault points (allocations of a run without faults); every n from 1 to "
           "%ld failed in turn, all passed\n",
           name, points, n - 1);
}

static void sweep_once(void **state) {
    (void)state;
    sweep(AIO__FAULT_ONCE, "the n-th allocation fails");
}

static void sweep_from(void **state) {
    (void)state;
    sweep(AIO__FAULT_FROM, "every allocation from the n-th fails");
}

/* The system calls the loop makes today, each interrupted (EINTR) at its
 * n-th call in turn: a signal changes nothing a caller can see. */
static void sweep_sys_eintr(void **state) {
    (void)state;
    static const enum aio__sys_id ids[] = {AIO__SYS_WAIT, AIO__SYS_READ, AIO__SYS_WRITE};
    static const char *const names[] = {"the backend's wait", "read", "write"};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        aio__fault_sys_arm(ids[k], AIO__FAULT_OFF, 1, 0);
        run_world();
        long calls = aio__fault_sys_seen(ids[k]);
        aio__fault_reset();
        long n;
        for (n = 1; n <= calls + 1; n++) {
            aio__fault_sys_arm(ids[k], AIO__FAULT_ONCE, n, EINTR);
            run_world();
            long failed = aio__fault_sys_failed(ids[k]);
            aio__fault_reset();
            if (W.violations)
                fail_msg("%s interrupted at call %ld: %s", names[k], n, W.first);
            if (failed == 0)
                break;
        }
        printf("fault sweep (EINTR): %s, %ld calls, each interrupted in turn, all passed\n", names[k], n - 1);
    }
}

/* Valgrind maps the main thread's stack as it is touched; the executor's
 * threads may then map their stacks right below it, and a signal delivered
 * to the main thread later finds no room for its frame ("can't extend
 * stack"). Touch 256 KiB of it first. */
static void touch_stack(void) {
    volatile char buf[256 * 1024];
    buf[0] = 0;
    buf[sizeof buf - 1] = 0;
}

int main(int argc, char **argv) {
    touch_stack();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sweep_once),
        cmocka_unit_test(sweep_from),
        cmocka_unit_test(sweep_sys_eintr),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
