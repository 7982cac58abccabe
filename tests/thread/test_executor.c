/* The executor: run_in_executor / to_thread results and errors, ordering
 * with gather, cancellation before and while running, closing a loop with
 * jobs running, pool shutdown (blocking and awaitable), many jobs, many
 * loops. Case ids (EXEC-*) are those of the asyncio acceptance cases.
 *
 * Jobs run on worker threads: they only touch atomics and their own
 * argument; every assertion runs on the test's thread. Timing bounds are
 * generous (a loaded 2-core machine, sanitizers, valgrind). */
#include "support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Run the loop until cond() holds (checked every millisecond of loop time),
 * at most `limit` seconds. */
typedef int (*cond_fn)(void *arg);
static int run_until(aio_loop *loop, cond_fn cond, void *arg, double limit) {
    double end = now_s() + limit;
    while (!cond(arg)) {
        if (now_s() > end)
            return 0;
        aio_value v;
        assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 0.001), &v), 0);
    }
    return 1;
}

/* ---- jobs ------------------------------------------------------------------ */

typedef struct echo_arg {
    long value;
    pthread_t thread; /* written by the worker, read after the future is done */
} echo_arg;

static int echo_job(void *arg, aio_value *result) {
    echo_arg *a = arg;
    a->thread = pthread_self();
    result->i = a->value;
    return 0;
}

static int fail_job(void *arg, aio_value *result) {
    (void)result;
    return (int)(intptr_t)arg;
}

static int square_sleepy(void *arg, aio_value *result) {
    long n = (long)(intptr_t)arg;
    sleep_ms((int)(11 - n) * 3); /* later arguments finish first */
    result->i = n * n;
    return 0;
}

static atomic_long tiny_calls;
static int tiny_job(void *arg, aio_value *result) {
    atomic_fetch_add_explicit(&tiny_calls, 1, memory_order_relaxed);
    result->i = (intptr_t)arg;
    return 0;
}

/* Blocks until *gate is set (or 20 s pass), counting its runs. */
typedef struct gate_arg {
    atomic_int gate;
    atomic_int started;
    atomic_int finished;
    atomic_int saw_cancel;
    int cooperative; /* stop early when aio_job_cancelled() */
} gate_arg;

static int gate_job(void *arg, aio_value *result) {
    gate_arg *g = arg;
    atomic_fetch_add(&g->started, 1);
    for (int i = 0; i < 20000 && !atomic_load(&g->gate); i++) {
        if (aio_job_cancelled()) {
            atomic_store(&g->saw_cancel, 1);
            if (g->cooperative)
                break;
        }
        sleep_ms(1);
    }
    result->i = 42;
    atomic_fetch_add(&g->finished, 1);
    return 0;
}

static int started_cond(void *arg) { return atomic_load(&((gate_arg *)arg)->started) > 0; }
static int finished_cond(void *arg) { return atomic_load(&((gate_arg *)arg)->finished) > 0; }

/* ---- EXEC-01, EXEC-02: outcomes round-trip --------------------------------- */

/* EXEC-01: the job's result comes back, computed on another thread. */
static void EXEC_01_result(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    echo_arg a = {.value = -123456789};
    aio_value v;
    assert_int_equal(aio_run_until_complete(loop, aio_run_in_executor(loop, NULL, echo_job, &a), &v), 0);
    assert_int_equal(v.i, -123456789);
    assert_false(pthread_equal(a.thread, pthread_self()));
    assert_int_equal(aio_loop_free(loop), 0);
}

/* EXEC-02: the job's error fails the future; AIO_ECANCELLED cancels it. */
static void EXEC_02_error(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_value v;
    assert_int_equal(
        aio_run_until_complete(loop, aio_run_in_executor(loop, NULL, fail_job, (void *)(intptr_t)-EIO), &v),
        -EIO);
    aio_future f = aio_run_in_executor(loop, NULL, fail_job, (void *)(intptr_t)AIO_ECANCELLED);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, f), &v), AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, f), 1);
    assert_int_equal(aio_future_release(loop, f), 0);
    /* A positive return counts as success. */
    assert_int_equal(
        aio_run_until_complete(loop, aio_run_in_executor(loop, NULL, fail_job, (void *)(intptr_t)7), &v), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A failed job nobody looks at is reported like any failed future. */
static void EXEC_02_unretrieved_reported(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    test_collect_reports(loop, &r);
    aio_future f = aio_run_in_executor(loop, NULL, fail_job, (void *)(intptr_t)-EPIPE);
    assert_int_equal(aio_future_release(loop, f), 0); /* the job keeps it alive */
    aio_future probe = aio_run_in_executor(loop, NULL, tiny_job, NULL);
    assert_int_equal(aio_run_until_complete(loop, probe, NULL), 0);
    aio_value v;
    for (int i = 0; i < 2000 && r.count == 0; i++)
        assert_int_equal(aio_run_until_complete(loop, aio_sleep(loop, 0.001), &v), 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.last_error, -EPIPE);
    assert_string_equal(r.last_message, "Future exception was never retrieved");
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Bad input gets codes, never a crash. */
static void EXEC_errors(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    assert_int_equal(aio_future_check(aio_run_in_executor(NULL, NULL, tiny_job, NULL)), -EINVAL);
    assert_int_equal(aio_future_check(aio_run_in_executor(loop, NULL, NULL, NULL)), -EINVAL);
    aio_pool *p = NULL;
    assert_int_equal(aio_pool_create(NULL, NULL), -EINVAL);
    assert_int_equal(aio_pool_create(&p, &(aio_pool_options){.threads = 100000}), -EINVAL);
    assert_null(p);
    assert_int_equal(aio_pool_free(NULL, 0), -EINVAL);
    assert_int_equal(aio_pool_threads(NULL), -EINVAL);
    assert_int_equal(aio_loop_set_executor_timeout(NULL, 1), -EINVAL);
    assert_int_equal(aio_loop_set_executor_timeout(loop, -1), -EINVAL);
    assert_int_equal(aio_job_cancelled(), 0); /* not inside a job */
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(aio_future_check(aio_run_in_executor(loop, NULL, tiny_job, NULL)), AIO_ECLOSED);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A loop that never used threads still reports a deadlock; one with a job
 * in flight waits for it. */
static void EXEC_deadlock_detection(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_future f = aio_future_new(loop);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, f), NULL), AIO_EDEADLOCK);
    gate_arg g = {0};
    aio_future job = aio_run_in_executor(loop, NULL, gate_job, &g);
    assert_true(run_until(loop, started_cond, &g, 10));
    atomic_store(&g.gate, 1);
    aio_value v;
    assert_int_equal(aio_run_until_complete(loop, job, &v), 0); /* blocks, no EDEADLOCK */
    assert_int_equal(v.i, 42);
    assert_int_equal(aio_run_until_complete(loop, f, NULL), AIO_EDEADLOCK);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- EXEC-03: concurrency, ordering with gather, to_thread ------------------ */

typedef struct gather_frame {
    aio_future kids[10];
    aio_outcome out[10];
    aio_pool *pool;
    int i;
} gather_frame;

static aio_status gather_squares(aio_task *t, void *frame) {
    gather_frame *f = frame;
    AIO_BEGIN(t);
    for (f->i = 0; f->i < 10; f->i++)
        f->kids[f->i] = aio_run_in_executor(t, f->pool, square_sleepy, (void *)(intptr_t)(f->i + 1));
    AIO_AWAIT(t, aio_gather(t, f->kids, 10, f->out, 0));
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    for (f->i = 0; f->i < 10; f->i++)
        if (f->out[f->i].err != 0 || f->out[f->i].value.i != (f->i + 1) * (f->i + 1))
            AIO_FAIL(t, -EPROTO); /* out of order */
    AIO_RETURN(t, AIO_RESULT(t).u);
    AIO_END(t);
}

/* Results in argument order although later jobs finish first. */
static void EXEC_03_gather_order(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_pool *pool;
    assert_int_equal(aio_pool_create(&pool, &(aio_pool_options){.threads = 4}), 0);
    gather_frame fr = {.pool = pool};
    aio_future task = aio_create_task(loop, gather_squares, &fr);
    assert_int_equal(aio_future_retain(loop, task).id, task.id);
    assert_int_equal(aio_run_until_complete(loop, task, NULL), 0);
    /* The task copied the frame: read the outcomes through a second run. */
    aio_value v;
    assert_int_equal(aio_future_result(loop, task, &v), 0);
    assert_int_equal(v.u, 10);
    assert_int_equal(aio_future_release(loop, task), 0);
    assert_true(aio_pool_threads(pool) >= 1 && aio_pool_threads(pool) <= 4);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(aio_pool_free(pool, -1), 0);
}

/* The same with the outcomes checked, from plain C. */
static void EXEC_03_gather_outcomes(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_future kids[10];
    aio_outcome out[10];
    for (int i = 0; i < 10; i++)
        kids[i] = aio_run_in_executor(loop, NULL, square_sleepy, (void *)(intptr_t)(i + 1));
    aio_value v;
    assert_int_equal(aio_run_until_complete(loop, aio_gather(loop, kids, 10, out, 0), &v), 0);
    assert_int_equal(v.u, 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(out[i].err, 0);
        assert_int_equal(out[i].value.i, (i + 1) * (i + 1));
    }
    assert_int_equal(aio_loop_free(loop), 0);
}

typedef struct ticker_frame {
    int ticks;
    int *out;
} ticker_frame;

static aio_status ticker(aio_task *t, void *frame) {
    ticker_frame *f = frame;
    AIO_BEGIN(t);
    for (;;) {
        AIO_AWAIT(t, aio_sleep(t, 0.01));
        if (AIO_ERR(t) == AIO_ECANCELLED)
            break;
        (*f->out)++;
    }
    AIO_END(t);
}

static int sleep_100ms(void *arg, aio_value *result) {
    (void)arg;
    sleep_ms(100);
    result->i = 1;
    return 0;
}

typedef struct to_thread_frame {
    int ticks;
    aio_future ticker;
} to_thread_frame;

static aio_status await_to_thread(aio_task *t, void *frame) {
    to_thread_frame *f = frame;
    AIO_BEGIN(t);
    f->ticker = aio_create_task(t, ticker, &(ticker_frame){0, &f->ticks});
    AIO_AWAIT(t, aio_to_thread(t, sleep_100ms, NULL));
    aio_task_cancel(t, f->ticker, NULL);
    aio_future_release(t, f->ticker);
    AIO_RETURN(t, f->ticks);
    AIO_END(t);
}

/* EXEC-03: the loop keeps running other tasks while a job blocks. */
static void EXEC_03_loop_responsive(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_value v;
    assert_int_equal(
        aio_run_until_complete(loop, aio_create_task(loop, await_to_thread, &(to_thread_frame){0}), &v), 0);
    assert_true(v.i >= 2);        /* ~9 ticks of 10 ms in 100 ms; 2 on a very loaded machine */
    test_run_iterations(loop, 3); /* the ticker ends its cancellation */
    assert_int_equal(aio_loop_free(loop), 0);
}

/* EXEC-03: three 100 ms jobs gathered take about 100 ms, not 300. */
static void EXEC_03_concurrent(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_pool *pool;
    assert_int_equal(aio_pool_create(&pool, &(aio_pool_options){.threads = 3}), 0);
    aio_future kids[3];
    double t0 = now_s();
    for (int i = 0; i < 3; i++)
        kids[i] = aio_run_in_executor(loop, pool, sleep_100ms, NULL);
    assert_int_equal(aio_run_until_complete(loop, aio_gather(loop, kids, 3, NULL, 0), NULL), 0);
    assert_true(now_s() - t0 < 0.28);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(aio_pool_free(pool, -1), 0);
}

/* ---- EXEC-04: cancellation ------------------------------------------------ */

/* A job cancelled before it started never runs. */
static void EXEC_04_cancel_queued(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_pool *pool;
    assert_int_equal(aio_pool_create(&pool, &(aio_pool_options){.threads = 1}), 0);
    gate_arg busy = {0}, queued = {0};
    aio_future fb = aio_run_in_executor(loop, pool, gate_job, &busy);
    aio_future fq = aio_run_in_executor(loop, pool, gate_job, &queued);
    assert_true(run_until(loop, started_cond, &busy, 10));
    assert_int_equal(aio_future_cancel(loop, fq, "stop"), 1);
    assert_int_equal(aio_future_cancelled(loop, fq), 1);
    test_run_iterations(loop, 2); /* the cancellation reaches the queue */
    atomic_store(&busy.gate, 1);
    aio_value v;
    assert_int_equal(aio_run_until_complete(loop, fb, &v), 0);
    assert_int_equal(v.i, 42);
    assert_int_equal(aio_future_release(loop, fq), 0);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(aio_pool_free(pool, -1), 0);
    assert_int_equal(atomic_load(&queued.started), 0);
}

/* A running job is not interrupted: the future is cancelled at once, the
 * job sees its cancel flag, and its late result is discarded. */
static void EXEC_04_cancel_running(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    test_collect_reports(loop, &r);
    gate_arg g = {.cooperative = 1};
    aio_future f = aio_run_in_executor(loop, NULL, gate_job, &g);
    assert_true(run_until(loop, started_cond, &g, 10));
    assert_int_equal(aio_future_cancel(loop, f, NULL), 1);
    assert_int_equal(aio_future_cancelled(loop, f), 1);
    aio_value v;
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, f), &v), AIO_ECANCELLED);
    assert_true(run_until(loop, finished_cond, &g, 10)); /* stopped by the flag, not the gate */
    assert_int_equal(atomic_load(&g.saw_cancel), 1);
    assert_int_equal(atomic_load(&g.gate), 0);
    test_run_iterations(loop, 5);
    assert_int_equal(aio_future_cancelled(loop, f), 1); /* the late 42 changed nothing */
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(r.count, 0);
}

/* A job already finished keeps its result: cancel is a no-op. */
static void EXEC_04_cancel_after_done(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_future f = aio_run_in_executor(loop, NULL, tiny_job, (void *)(intptr_t)42);
    aio_value v;
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, f), &v), 0);
    assert_int_equal(aio_future_cancel(loop, f, NULL), 0);
    assert_int_equal(aio_future_result(loop, f, &v), 0);
    assert_int_equal(v.i, 42);
    assert_int_equal(aio_future_release(loop, f), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Cancelling the task that awaits a job cancels the job's future. */
typedef struct await_job_frame {
    gate_arg *g;
} await_job_frame;

static aio_status await_gate(aio_task *t, void *frame) {
    await_job_frame *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_to_thread(t, gate_job, f->g));
    AIO_RETURN(t, AIO_ERR(t));
    AIO_END(t);
}

static void EXEC_04_cancel_awaiting_task(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    gate_arg g = {.cooperative = 1};
    aio_future task = aio_create_task(loop, await_gate, &(await_job_frame){&g});
    assert_true(run_until(loop, started_cond, &g, 10));
    assert_int_equal(aio_task_cancel(loop, task, NULL), 1);
    assert_int_equal(aio_run_until_complete(loop, task, NULL), AIO_ECANCELLED);
    assert_true(run_until(loop, finished_cond, &g, 10));
    assert_int_equal(atomic_load(&g.saw_cancel), 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- shutdown ---------------------------------------------------------------- */

/* Closing a loop with jobs running and queued: queued ones never run,
 * running ones are asked to stop and waited for; nothing is abandoned. */
static void EXEC_close_while_running(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    test_collect_reports(loop, &r);
    aio_pool *pool;
    assert_int_equal(aio_pool_create(&pool, &(aio_pool_options){.threads = 2}), 0);
    gate_arg run[2] = {{.cooperative = 1}, {.cooperative = 1}}, waiting[3] = {{0}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(aio_future_release(loop, aio_run_in_executor(loop, pool, gate_job, &run[i])), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(aio_future_release(loop, aio_run_in_executor(loop, pool, gate_job, &waiting[i])), 0);
    assert_true(run_until(loop, started_cond, &run[0], 10));
    assert_true(run_until(loop, started_cond, &run[1], 10));
    double t0 = now_s();
    assert_int_equal(aio_loop_close(loop), 0);
    assert_true(now_s() - t0 < 4.0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(atomic_load(&run[i].finished), 1);
        assert_int_equal(atomic_load(&run[i].saw_cancel), 1);
    }
    assert_int_equal(r.count, 0);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(aio_pool_free(pool, -1), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(atomic_load(&waiting[i].started), 0);
}

/* A job that ignores its cancel flag outlives the close's timeout: it is
 * reported as abandoned and its late result is discarded safely, after the
 * loop is freed. */
static void EXEC_close_abandons(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    test_collect_reports(loop, &r);
    aio_pool *pool;
    assert_int_equal(aio_pool_create(&pool, &(aio_pool_options){.threads = 1}), 0);
    gate_arg g = {.cooperative = 0};
    assert_int_equal(aio_future_release(loop, aio_run_in_executor(loop, pool, gate_job, &g)), 0);
    assert_true(run_until(loop, started_cond, &g, 10));
    assert_int_equal(aio_loop_set_executor_timeout(loop, 0.05), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.last_error, AIO_ETIMEDOUT);
    assert_non_null(strstr(r.last_message, "abandoned at loop close"));
    assert_non_null(strstr(r.last_message, "aio_loop_set_executor_timeout, 0.05 s")); /* which bound */
    assert_int_equal(aio_loop_free(loop), 0);
    atomic_store(&g.gate, 1); /* now let it finish, into no loop at all */
    assert_int_equal(aio_pool_free(pool, -1), 0);
    assert_int_equal(atomic_load(&g.finished), 1);
}

/* The same with the loop's default pool: its worker is detached at close
 * and cleans up after itself. */
static void EXEC_close_abandons_default_pool(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    test_collect_reports(loop, &r);
    static gate_arg gs; /* static: the detached worker may touch it after the test */
    gate_arg *g = &gs;
    assert_int_equal(aio_future_release(loop, aio_to_thread(loop, gate_job, g)), 0);
    assert_true(run_until(loop, started_cond, g, 10));
    assert_int_equal(aio_loop_set_executor_timeout(loop, 0), 0);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(r.count, 1);
    atomic_store(&g->gate, 1);
    for (int i = 0; i < 10000 && !atomic_load(&g->finished); i++)
        sleep_ms(1);
    assert_int_equal(atomic_load(&g->finished), 1);
    sleep_ms(50); /* let the detached worker exit */
}

/* Freeing a pool: queued jobs are cancelled (never run), running ones are
 * waited for and still deliver their results. */
static void EXEC_pool_free_cancels_queued(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_pool *pool;
    assert_int_equal(aio_pool_create(&pool, &(aio_pool_options){.threads = 1}), 0);
    gate_arg busy = {0}, queued = {0};
    aio_future fb = aio_run_in_executor(loop, pool, gate_job, &busy);
    aio_future fq = aio_run_in_executor(loop, pool, gate_job, &queued);
    assert_true(run_until(loop, started_cond, &busy, 10));
    /* A timeout of 0 abandons the running job: it still completes. */
    assert_int_equal(aio_pool_free(pool, 0), 1);
    assert_int_equal(aio_run_until_complete(loop, fq, NULL), AIO_ECANCELLED);
    atomic_store(&busy.gate, 1);
    aio_value v;
    assert_int_equal(aio_run_until_complete(loop, fb, &v), 0);
    assert_int_equal(v.i, 42);
    assert_int_equal(atomic_load(&queued.started), 0);
    assert_int_equal(aio_loop_free(loop), 0);
    sleep_ms(50); /* the detached worker exits and frees the pool */
}

/* ---- aio_shutdown_default_executor: awaitable, the loop keeps running ------
 */

static void open_gate_cb(aio_loop *loop, void *arg) {
    (void)loop;
    atomic_store(&((gate_arg *)arg)->gate, 1);
}

/* A callback that counts its runs every millisecond until *stop. */
typedef struct tick_count {
    int ticks;
    int stop;
} tick_count;

static void tick_cb(aio_loop *loop, void *arg) {
    tick_count *k = arg;
    k->ticks++;
    if (!k->stop)
        assert_int_equal(aio_call_later(loop, 0.001, tick_cb, k, NULL), 0);
}

static void stop_ticker_cb(aio_loop *loop, aio_future f, void *arg) {
    (void)loop;
    (void)f;
    ((tick_count *)arg)->stop = 1;
}

/* asyncio's await loop.shutdown_default_executor(): new jobs are refused at
 * once, a running one is waited for while the loop keeps running (a tick_count
 * ticks), and the shutdown completes with 0 abandoned once it finished; the
 * job's own future has its result; nothing is reported. */
static void EXEC_shutdown_default_executor_waits_without_blocking(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    test_collect_reports(loop, &r);
    gate_arg g = {0};
    aio_future job = aio_to_thread(loop, gate_job, &g);
    assert_true(run_until(loop, started_cond, &g, 10));
    aio_future sd = aio_shutdown_default_executor(loop, 60.0);
    assert_aio_ok(aio_future_check(sd));
    echo_arg e = {.value = 1};
    assert_aio_err(aio_future_check(aio_to_thread(loop, echo_job, &e)), AIO_ECLOSED);
    assert_aio_err(aio_future_check(aio_run_in_executor(loop, NULL, echo_job, &e)), AIO_ECLOSED);
    tick_count k = {0, 0};
    assert_aio_ok(aio_call_soon(loop, tick_cb, &k, NULL));
    assert_aio_ok(aio_future_add_done_callback(loop, sd, stop_ticker_cb, &k));
    assert_aio_ok(aio_call_later(loop, 0.1, open_gate_cb, &g, NULL));
    aio_value v;
    v.u = 99;
    assert_aio_ok(aio_run_until_complete(loop, sd, &v));
    assert_int_equal(v.u, 0);
    assert_true(k.ticks >= 10); /* 100 ms of waiting, ticking every ms (generous) */
    assert_int_equal(atomic_load(&g.finished), 1);
    assert_aio_ok(aio_run_until_complete(loop, job, &v));
    assert_int_equal(v.i, 42);
    /* Again: nothing left to shut down, done at once with 0. */
    assert_aio_ok(aio_run_until_complete(loop, aio_shutdown_default_executor(loop, 1.0), &v));
    assert_int_equal(v.u, 0);
    assert_aio_ok(aio_loop_close(loop));
    assert_int_equal(r.count, 0);
    assert_aio_ok(aio_loop_free(loop));
}

/* The timeout expires with the job still running: the shutdown completes
 * with 1 abandoned and reports the job, naming the bound that expired and
 * carrying its future; the job's future still completes when it finishes. */
typedef struct report_future {
    test_reports *r;
    aio_future future;
} report_future;

static void collect_with_future(aio_loop *loop, const aio_report *report, void *arg) {
    (void)loop;
    report_future *rf = arg;
    rf->r->count++;
    snprintf(rf->r->last_message, sizeof rf->r->last_message, "%s", report->message);
    rf->r->last_error = report->error;
    rf->future = report->future;
}

static void EXEC_shutdown_default_executor_timeout_reports_abandoned(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    memset(&r, 0, sizeof r);
    report_future rf = {&r, AIO_FUTURE_NULL};
    assert_aio_ok(aio_loop_set_exception_handler(loop, collect_with_future, &rf));
    static gate_arg gs; /* static: its detached worker touches it after the shutdown */
    memset(&gs, 0, sizeof gs);
    aio_future job = aio_to_thread(loop, gate_job, &gs);
    assert_true(run_until(loop, started_cond, &gs, 10));
    double t0 = now_s();
    aio_value v;
    v.u = 99;
    assert_aio_ok(aio_run_until_complete(loop, aio_shutdown_default_executor(loop, 0.05), &v));
    assert_int_equal(v.u, 1);
    assert_true(now_s() - t0 < 5.0);
    assert_int_equal(atomic_load(&gs.finished), 0);
    assert_int_equal(r.count, 1);
    assert_aio_err(r.last_error, AIO_ETIMEDOUT);
    assert_non_null(strstr(r.last_message, "abandoned by aio_shutdown_default_executor"));
    assert_non_null(strstr(r.last_message, "timeout (0.05 s)"));
    assert_int_equal(rf.future.id, job.id); /* the report names the job's future */
    atomic_store(&gs.gate, 1);
    assert_aio_ok(aio_run_until_complete(loop, job, &v)); /* it still arrives */
    assert_int_equal(v.i, 42);
    assert_aio_ok(aio_loop_close(loop));
    assert_int_equal(r.count, 1);
    assert_aio_ok(aio_loop_free(loop));
    sleep_ms(50); /* let the detached worker exit */
}

/* Jobs not started never run: those queued in the pool (more jobs than it
 * has threads) and one still in the loop's batch (submitted by a coroutine
 * just before the shutdown) end cancelled. */
typedef struct shutdown_batch_frame {
    gate_arg *late;
    aio_future late_job, sd;
} shutdown_batch_frame;

static aio_status submit_then_shutdown(aio_task *t, void *frame) {
    shutdown_batch_frame *f = *(shutdown_batch_frame **)frame;
    AIO_BEGIN(t);
    f->late_job = aio_to_thread(t, gate_job, f->late); /* in the loop's batch */
    f->sd = aio_shutdown_default_executor(t, 60.0);
    AIO_END(t);
}

static void EXEC_shutdown_default_executor_cancels_jobs_not_started(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cpus < 1 ? 5 : cpus + 4 > 32 ? 32 : (int)cpus + 4; /* the default pool's size */
    enum { EXTRA = 2 };
    gate_arg *g = calloc((size_t)threads + EXTRA, sizeof *g);
    aio_future *jobs = calloc((size_t)threads + EXTRA, sizeof *jobs);
    assert_non_null(g);
    assert_non_null(jobs);
    for (int i = 0; i < threads + EXTRA; i++) /* the loop is not running: handed over at once */
        jobs[i] = aio_to_thread(loop, gate_job, &g[i]);
    double end = now_s() + 10;
    int started = 0;
    while (now_s() < end) {
        started = 0;
        for (int i = 0; i < threads + EXTRA; i++)
            started += atomic_load(&g[i].started);
        if (started >= threads)
            break;
        sleep_ms(1);
    }
    assert_int_equal(started, threads);
    gate_arg late = {0};
    shutdown_batch_frame fr = {&late, AIO_FUTURE_NULL, AIO_FUTURE_NULL};
    assert_aio_ok(aio_run_until_complete(
        loop, aio_create_task(loop, submit_then_shutdown, &(shutdown_batch_frame *){&fr}), NULL));
    for (int i = 0; i < threads + EXTRA; i++)
        atomic_store(&g[i].gate, 1);
    aio_value v;
    v.u = 99;
    assert_aio_ok(aio_run_until_complete(loop, fr.sd, &v));
    assert_int_equal(v.u, 0);
    int cancelled = 0, finished = 0;
    for (int i = 0; i < threads + EXTRA; i++) {
        int rc = aio_run_until_complete(loop, jobs[i], &v);
        if (rc == AIO_ECANCELLED) {
            cancelled++;
            assert_int_equal(atomic_load(&g[i].started), 0);
        } else {
            assert_aio_ok(rc);
            assert_int_equal(v.i, 42);
            finished++;
        }
    }
    assert_int_equal(cancelled, EXTRA);
    assert_int_equal(finished, threads);
    assert_aio_err(aio_run_until_complete(loop, fr.late_job, NULL), AIO_ECANCELLED);
    assert_int_equal(atomic_load(&late.started), 0);
    assert_aio_ok(aio_loop_free(loop));
    free(g);
    free(jobs);
}

/* Cancelling the shutdown stops the wait at once (no report); the running
 * job still delivers its result. */
static void EXEC_shutdown_default_executor_cancel_stops_wait(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    test_collect_reports(loop, &r);
    static gate_arg gs;
    memset(&gs, 0, sizeof gs);
    aio_future job = aio_to_thread(loop, gate_job, &gs);
    assert_true(run_until(loop, started_cond, &gs, 10));
    aio_future sd = aio_shutdown_default_executor(loop, AIO_FOREVER);
    assert_int_equal(aio_future_cancel(loop, aio_future_retain(loop, sd), "enough"), 1);
    assert_aio_err(aio_run_until_complete(loop, sd, NULL), AIO_ECANCELLED);
    assert_string_equal(aio_future_cancel_message(loop, sd), "enough");
    assert_aio_ok(aio_future_release(loop, sd));
    atomic_store(&gs.gate, 1);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, job, &v));
    assert_int_equal(v.i, 42);
    assert_aio_ok(aio_loop_close(loop));
    assert_int_equal(r.count, 0);
    assert_aio_ok(aio_loop_free(loop));
    sleep_ms(50);
}

/* With no default pool there is nothing to wait for: done at once with 0,
 * and the default pool is not created afterwards. A NaN timeout, a NULL or
 * closed loop are refused. */
static void EXEC_shutdown_default_executor_without_pool(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_value v;
    v.u = 99;
    assert_aio_err(aio_future_check(aio_shutdown_default_executor(loop, NAN)), -EINVAL);
    assert_aio_ok(aio_run_until_complete(loop, aio_shutdown_default_executor(loop, 0), &v));
    assert_int_equal(v.u, 0);
    echo_arg e = {.value = 1};
    assert_aio_err(aio_future_check(aio_to_thread(loop, echo_job, &e)), AIO_ECLOSED);
    aio_pool *pool; /* a pool of one's own still works */
    assert_aio_ok(aio_pool_create(&pool, &(aio_pool_options){.threads = 1}));
    assert_aio_ok(aio_run_until_complete(loop, aio_run_in_executor(loop, pool, echo_job, &e), &v));
    assert_int_equal(v.i, 1);
    assert_aio_ok(aio_pool_free(pool, -1));
    assert_aio_err(aio_future_check(aio_shutdown_default_executor_on(NULL, 1.0)), -EINVAL);
    assert_aio_ok(aio_loop_close(loop));
    assert_aio_err(aio_future_check(aio_shutdown_default_executor(loop, 1.0)), AIO_ECLOSED);
    assert_aio_ok(aio_loop_free(loop));
}

/* Closing the loop while a shutdown waits: the close's own bound applies
 * (its report names it), the pool is released, nothing leaks. */
static void EXEC_shutdown_default_executor_then_close(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    test_collect_reports(loop, &r);
    static gate_arg gs;
    memset(&gs, 0, sizeof gs);
    assert_aio_ok(aio_future_release(loop, aio_to_thread(loop, gate_job, &gs)));
    assert_true(run_until(loop, started_cond, &gs, 10));
    aio_future sd = aio_shutdown_default_executor(loop, 60.0);
    assert_aio_ok(aio_future_check(sd));
    assert_aio_ok(aio_loop_set_executor_timeout(loop, 0.05));
    assert_aio_ok(aio_loop_close(loop));
    assert_int_equal(r.count, 1);
    assert_aio_err(r.last_error, AIO_ETIMEDOUT);
    assert_non_null(strstr(r.last_message, "abandoned at loop close"));
    assert_non_null(strstr(r.last_message, "aio_loop_set_executor_timeout, 0.05 s"));
    assert_aio_ok(aio_loop_free(loop));
    atomic_store(&gs.gate, 1);
    for (int i = 0; i < 10000 && !atomic_load(&gs.finished); i++)
        sleep_ms(1);
    assert_int_equal(atomic_load(&gs.finished), 1);
    sleep_ms(50); /* let the detached worker exit */
}
/* ---- jobs submitted from a running loop: one hand-over per poll ------------- */

/* Submits `n` tiny jobs, then blocks the loop thread for a while before
 * gathering them: the jobs must not start before the loop polls. */
typedef struct batch_frame {
    aio_pool *pool;
    long n;
    long started_before_poll;
    aio_future kids[64];
    aio_outcome out[64];
} batch_frame;

static aio_status submit_then_gather(aio_task *t, void *frame) {
    batch_frame *f = *(batch_frame **)frame; /* the test's own struct */
    AIO_BEGIN(t);
    atomic_store(&tiny_calls, 0);
    for (long i = 0; i < f->n; i++)
        f->kids[i] = aio_run_in_executor(t, f->pool, tiny_job, (void *)(intptr_t)(i + 1));
    sleep_ms(50); /* a worker would have run them by now, had it got them */
    f->started_before_poll = atomic_load(&tiny_calls);
    AIO_AWAIT(t, aio_gather(t, f->kids, (size_t)f->n, f->out, 0));
    AIO_END(t);
}

/* Jobs submitted by a coroutine reach the pool together when the loop next
 * polls, and all complete with their own results. */
static void EXEC_batch_from_coroutine(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_pool *pool;
    assert_int_equal(aio_pool_create(&pool, &(aio_pool_options){.threads = 3}), 0);
    batch_frame fr = {.pool = pool, .n = 64};
    assert_int_equal(
        aio_run_until_complete(loop, aio_create_task(loop, submit_then_gather, &(batch_frame *){&fr}), NULL),
        0);
    assert_int_equal(fr.started_before_poll, 0);
    for (long i = 0; i < fr.n; i++) {
        assert_int_equal(fr.out[i].err, 0);
        assert_int_equal(fr.out[i].value.i, i + 1);
    }
    assert_int_equal(atomic_load(&tiny_calls), 64);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(aio_pool_free(pool, -1), 0);
}

typedef struct cancel_frame {
    aio_pool *pool;
    gate_arg *g;
    int cancel_rc, status;
} cancel_frame;

static aio_status submit_cancel_await(aio_task *t, void *frame) {
    cancel_frame *f = *(cancel_frame **)frame; /* the test's own struct */
    aio_loop *loop = aio_task_loop(t);
    AIO_BEGIN(t);
    {
        aio_future job = aio_run_in_executor(loop, f->pool, gate_job, f->g);
        f->cancel_rc = aio_future_cancel(loop, job, "never mind");
        AIO_AWAIT(t, job);
    }
    f->status = AIO_ERR(t);
    AIO_END(t);
}

/* A job cancelled before its batch was handed over never reaches the pool
 * and never runs. */
static void EXEC_batch_cancel_before_handover(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_pool *pool;
    assert_int_equal(aio_pool_create(&pool, &(aio_pool_options){.threads = 1}), 0);
    gate_arg g = {0};
    atomic_store(&g.gate, 1);
    cancel_frame fr = {.pool = pool, .g = &g};
    assert_int_equal(aio_run_until_complete(
                         loop, aio_create_task(loop, submit_cancel_await, &(cancel_frame *){&fr}), NULL),
                     0);
    assert_int_equal(fr.cancel_rc, 1);
    assert_int_equal(fr.status, AIO_ECANCELLED);
    test_run_iterations(loop, 3);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(aio_pool_free(pool, -1), 0);
    assert_int_equal(atomic_load(&g.started), 0);
}

typedef struct free_frame {
    aio_pool *pool;
    int status;
} free_frame;

static aio_status submit_free_await(aio_task *t, void *frame) {
    free_frame *f = *(free_frame **)frame; /* the test's own struct */
    AIO_BEGIN(t);
    {
        aio_future job = aio_run_in_executor(t, f->pool, tiny_job, NULL);
        assert_int_equal(aio_pool_free(f->pool, -1), 0); /* the job keeps the memory alive */
        AIO_AWAIT(t, job);
    }
    f->status = AIO_ERR(t);
    AIO_END(t);
}

/* The pool is shut down between the submit and the hand-over: the job
 * fails with AIO_ECLOSED (never runs), and the pool's memory is freed with
 * the job's reference (ASan and valgrind check both). */
static void EXEC_batch_pool_freed_before_handover(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_pool *pool;
    assert_int_equal(aio_pool_create(&pool, &(aio_pool_options){.threads = 1}), 0);
    atomic_store(&tiny_calls, 0);
    free_frame fr = {.pool = pool};
    assert_int_equal(
        aio_run_until_complete(loop, aio_create_task(loop, submit_free_await, &(free_frame *){&fr}), NULL),
        0);
    assert_int_equal(fr.status, AIO_ECLOSED);
    assert_int_equal(atomic_load(&tiny_calls), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

typedef struct two_pools_frame {
    aio_pool *a, *b;
    echo_arg args[40];
    aio_future kids[40];
    aio_outcome out[40];
} two_pools_frame;

static aio_status submit_alternating(aio_task *t, void *frame) {
    two_pools_frame *f = *(two_pools_frame **)frame; /* the test's own struct */
    AIO_BEGIN(t);
    for (int i = 0; i < 40; i++) {
        f->args[i].value = i;
        f->kids[i] = aio_run_in_executor(t, i % 2 ? f->b : f->a, echo_job, &f->args[i]);
    }
    AIO_AWAIT(t, aio_gather(t, f->kids, 40, f->out, 0));
    AIO_END(t);
}

/* One batch with jobs for two pools: each job runs on its own pool's thread. */
static void EXEC_batch_two_pools(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    two_pools_frame *fr = calloc(1, sizeof *fr);
    assert_non_null(fr);
    assert_int_equal(aio_pool_create(&fr->a, &(aio_pool_options){.threads = 1}), 0);
    assert_int_equal(aio_pool_create(&fr->b, &(aio_pool_options){.threads = 1}), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_create_task(loop, submit_alternating, &fr), NULL), 0);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(fr->out[i].err, 0);
        assert_int_equal(fr->out[i].value.i, i);
        assert_true(pthread_equal(fr->args[i].thread, fr->args[i % 2].thread));
    }
    assert_false(pthread_equal(fr->args[0].thread, fr->args[1].thread));
    assert_int_equal(aio_pool_threads(fr->a), 1);
    assert_int_equal(aio_pool_threads(fr->b), 1);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(aio_pool_free(fr->a, -1), 0);
    assert_int_equal(aio_pool_free(fr->b, -1), 0);
    free(fr);
}

static aio_status submit_and_stop(aio_task *t, void *frame) {
    gate_arg *g = *(gate_arg **)frame;
    AIO_BEGIN(t);
    aio_future_release(t, aio_run_in_executor(t, NULL, gate_job, g));
    aio_loop_stop(t);
    AIO_END(t);
}

/* The loop stops before it polls again, then closes: the job still in its
 * batch is dropped without running, and nothing leaks. */
static void EXEC_batch_close_before_handover(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    gate_arg g = {0};
    atomic_store(&g.gate, 1);
    gate_arg *gp = &g;
    aio_future_release(loop, aio_create_task(loop, submit_and_stop, &gp));
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(atomic_load(&g.started), 0);
}

/* ---- volume -------------------------------------------------------------------- */

#define MANY_JOBS 100000

/* 100,000 tiny jobs, submitted at once and gathered: the right sum. */
static void EXEC_many_tiny_jobs(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_future *kids = malloc(MANY_JOBS * sizeof *kids);
    aio_outcome *out = malloc(MANY_JOBS * sizeof *out);
    assert_non_null(kids);
    assert_non_null(out);
    atomic_store(&tiny_calls, 0);
    for (long i = 0; i < MANY_JOBS; i++) {
        kids[i] = aio_run_in_executor(loop, NULL, tiny_job, (void *)(intptr_t)i);
        assert_int_equal(aio_future_check(kids[i]), 0);
    }
    assert_int_equal(aio_run_until_complete(loop, aio_gather(loop, kids, MANY_JOBS, out, 0), NULL), 0);
    long long sum = 0;
    for (long i = 0; i < MANY_JOBS; i++) {
        assert_int_equal(out[i].err, 0);
        sum += out[i].value.i;
    }
    assert_true(sum == (long long)MANY_JOBS * (MANY_JOBS - 1) / 2);
    assert_int_equal(atomic_load(&tiny_calls), MANY_JOBS);
    free(kids);
    free(out);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Many loops, each on its own thread: with their own pools, and sharing one. */
#define NLOOPS 6
#define LOOP_JOBS 500

typedef struct loop_thread {
    aio_pool *shared; /* NULL: a pool of its own */
    long long sum;
    int rc;
} loop_thread;

static void *loop_thread_main(void *arg) {
    loop_thread *lt = arg;
    aio_loop *loop;
    if ((lt->rc = aio_loop_create(&loop, NULL)) < 0)
        return NULL;
    aio_pool *pool = lt->shared;
    if (!pool && (lt->rc = aio_pool_create(&pool, &(aio_pool_options){.threads = 2})) < 0)
        return NULL;
    aio_future kids[LOOP_JOBS];
    aio_outcome out[LOOP_JOBS];
    for (int i = 0; i < LOOP_JOBS; i++)
        kids[i] = aio_run_in_executor(loop, pool, tiny_job, (void *)(intptr_t)i);
    lt->rc = aio_run_until_complete(loop, aio_gather(loop, kids, LOOP_JOBS, out, 0), NULL);
    for (int i = 0; i < LOOP_JOBS; i++)
        lt->sum += out[i].err ? -1000000 : out[i].value.i;
    aio_loop_free(loop);
    if (!lt->shared)
        aio_pool_free(pool, -1);
    return NULL;
}

static void run_loop_threads(aio_pool *shared) {
    pthread_t th[NLOOPS];
    loop_thread lt[NLOOPS];
    memset(lt, 0, sizeof lt);
    for (int i = 0; i < NLOOPS; i++) {
        lt[i].shared = shared;
        assert_int_equal(pthread_create(&th[i], NULL, loop_thread_main, &lt[i]), 0);
    }
    for (int i = 0; i < NLOOPS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(lt[i].rc, 0);
        assert_true(lt[i].sum == (long long)LOOP_JOBS * (LOOP_JOBS - 1) / 2);
    }
}

static void EXEC_many_loops_own_pools(void **state) {
    (void)state;
    run_loop_threads(NULL);
}

static void EXEC_many_loops_shared_pool(void **state) {
    (void)state;
    aio_pool *pool;
    assert_int_equal(aio_pool_create(&pool, &(aio_pool_options){.threads = 3}), 0);
    run_loop_threads(pool);
    assert_int_equal(aio_pool_threads(pool), 3);
    assert_int_equal(aio_pool_free(pool, -1), 0);
}

/* ---- cancelling a job that never started frees its record last ---------------- */

typedef struct early_cancel {
    aio_pool *pool;
    int free_pool; /* free the pool between the submit and the cancel */
    aio_future f;
    int cancel_rc;
    int status;
    int callback_runs;
} early_cancel;

static void count_cancelled(aio_loop *loop, aio_future f, void *arg) {
    early_cancel *c = arg;
    c->callback_runs++;
    c->status = aio_future_error(loop, f);
}

/* In a callback of the running loop: the job waits in the loop's batch
 * (not yet handed to the pool) when it is cancelled. */
static void submit_then_cancel(aio_loop *loop, void *arg) {
    early_cancel *c = arg;
    c->f = aio_run_in_executor(loop, c->pool, tiny_job, NULL);
    assert_int_equal(aio_future_check(c->f), 0);
    assert_int_equal(aio_future_add_done_callback(loop, c->f, count_cancelled, c), 0);
    if (c->free_pool)
        assert_int_equal(aio_pool_free(c->pool, 0), 0); /* the job holds the pool's last reference */
    c->cancel_rc = aio_future_cancel(loop, c->f, NULL);
}

static void check_early_cancel(aio_loop *loop, early_cancel *c) {
    c->status = 1;
    assert_int_equal(aio_call_soon(loop, submit_then_cancel, c, NULL), 0);
    test_run_iterations(loop, 3);
    assert_int_equal(c->cancel_rc, 1);
    assert_int_equal(aio_future_cancelled(loop, c->f), 1);
    assert_int_equal(c->callback_runs, 1); /* the callback list survived the record */
    assert_int_equal(c->status, AIO_ECANCELLED);
    assert_int_equal(aio_future_release(loop, c->f), 0);
}

/* The cancel frees the job's record (and here the pool with it): the
 * future is finished first, while its callback list is still in the
 * record (ASan checks the order). */
static void EXEC_cancel_before_handover_pool_gone(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    early_cancel c = {.free_pool = 1};
    assert_int_equal(aio_pool_create(&c.pool, &(aio_pool_options){.threads = 1}), 0);
    check_early_cancel(loop, &c);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* The same when the pool's and the loop's lists of spare records are full,
 * so that the cancelled record goes straight back to malloc. */
static void EXEC_cancel_before_handover_spares_full(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    early_cancel c = {.free_pool = 0};
    assert_int_equal(aio_pool_create(&c.pool, &(aio_pool_options){.threads = 2}), 0);
    enum { N = 8300 }; /* more than both spare lists hold */
    aio_future *fs = malloc(N * sizeof *fs);
    assert_non_null(fs);
    for (int i = 0; i < N; i++)
        fs[i] = aio_run_in_executor(loop, c.pool, tiny_job, NULL);
    assert_int_equal(aio_run_until_complete(loop, aio_gather(loop, fs, N, NULL, 0), NULL), 0);
    free(fs);
    check_early_cancel(loop, &c);
    assert_int_equal(aio_loop_free(loop), 0);
    assert_int_equal(aio_pool_free(c.pool, -1), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(EXEC_01_result),
        cmocka_unit_test(EXEC_02_error),
        cmocka_unit_test(EXEC_02_unretrieved_reported),
        cmocka_unit_test(EXEC_errors),
        cmocka_unit_test(EXEC_deadlock_detection),
        cmocka_unit_test(EXEC_03_gather_order),
        cmocka_unit_test(EXEC_03_gather_outcomes),
        cmocka_unit_test(EXEC_03_loop_responsive),
        cmocka_unit_test(EXEC_03_concurrent),
        cmocka_unit_test(EXEC_04_cancel_queued),
        cmocka_unit_test(EXEC_04_cancel_running),
        cmocka_unit_test(EXEC_04_cancel_after_done),
        cmocka_unit_test(EXEC_04_cancel_awaiting_task),
        cmocka_unit_test(EXEC_close_while_running),
        cmocka_unit_test(EXEC_close_abandons),
        cmocka_unit_test(EXEC_close_abandons_default_pool),
        cmocka_unit_test(EXEC_pool_free_cancels_queued),
        cmocka_unit_test(EXEC_shutdown_default_executor_waits_without_blocking),
        cmocka_unit_test(EXEC_shutdown_default_executor_timeout_reports_abandoned),
        cmocka_unit_test(EXEC_shutdown_default_executor_cancels_jobs_not_started),
        cmocka_unit_test(EXEC_shutdown_default_executor_cancel_stops_wait),
        cmocka_unit_test(EXEC_shutdown_default_executor_without_pool),
        cmocka_unit_test(EXEC_shutdown_default_executor_then_close),
        cmocka_unit_test(EXEC_batch_from_coroutine),
        cmocka_unit_test(EXEC_batch_cancel_before_handover),
        cmocka_unit_test(EXEC_batch_pool_freed_before_handover),
        cmocka_unit_test(EXEC_batch_two_pools),
        cmocka_unit_test(EXEC_batch_close_before_handover),
        cmocka_unit_test(EXEC_many_tiny_jobs),
        cmocka_unit_test(EXEC_many_loops_own_pools),
        cmocka_unit_test(EXEC_many_loops_shared_pool),
        cmocka_unit_test(EXEC_cancel_before_handover_pool_gone),
        cmocka_unit_test(EXEC_cancel_before_handover_spares_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
