/* libaio — running blocking code on threads (asyncio's run_in_executor,
 * to_thread and call_soon_threadsafe).
 *
 * The loop stays single-threaded. A *pool* of pthreads runs jobs; a job's
 * outcome comes back to the loop thread, which completes the job's future
 * there. No thread other than the loop's ever touches its futures.
 *
 *     static int square(void *arg, aio_value *result) {
 *         long n = (long)(intptr_t)arg;
 *         usleep(100000);                      // blocks this worker only
 *         result->i = n * n;
 *         return 0;                            // or a negative error code
 *     }
 *     ...
 *     AIO_AWAIT(t, aio_to_thread(t, square, (void *)(intptr_t)7));
 *     // AIO_ERR(t) == 0, AIO_RESULT(t).i == 49
 *
 * Pools. Every loop has a default pool, created on first use
 * (aio_run_in_executor with pool == NULL, aio_to_thread) and shut down when
 * the loop closes. A pool made with aio_pool_create() may be shared by any
 * number of loops (each job reports back to the loop that submitted it) and
 * is freed with aio_pool_free(). There is no global pool.
 *
 * Cancellation. Cancelling a job's future (or the task awaiting it):
 *   - a job not yet started is removed from the queue at once (inside the
 *     cancel call, under the pool's lock) and never runs;
 *   - a running job cannot be interrupted: the future is cancelled at once
 *     for its awaiters, the job's cancel flag is raised (aio_job_cancelled()
 *     returns 1 inside the job, so a long job can poll it and stop early),
 *     and whatever it returns later is discarded. The library never
 *     interprets or frees a result: a discarded result that owns memory
 *     leaks unless the job checks aio_job_cancelled() before returning it.
 *
 * Closing the loop (aio_loop_close) with jobs in flight: queued jobs are
 * removed (never run); running jobs get their cancel flag and the close waits
 * up to the executor timeout (aio_loop_set_executor_timeout, 5 s by default)
 * for them; each one still running then is reported ("executor job abandoned
 * at loop close: still running after the executor timeout
 * (aio_loop_set_executor_timeout, 5 s) ...", error AIO_ETIMEDOUT) and its
 * late result is discarded by the worker. Nothing is ever posted into a closed or freed loop.
 *
 * Deadlock detection (AIO_EDEADLOCK) stays on for loops that use no
 * threads. A loop with executor jobs in flight waits for them instead; a loop
 * that waits for other threads' aio_call_soon_threadsafe() must say so with
 * aio_loop_ref() (see there).
 */
#ifndef AIO_EXECUTOR_H
#define AIO_EXECUTOR_H

#include "aio/future.h"
#include "aio/coro_impl.h"
#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aio_pool aio_pool;

/* A job: runs on a worker thread. Store the result in *result (zeroed
 * before the call) and return 0, or return a negative error code: the
 * future then fails with it (AIO_ECANCELLED makes it cancelled). A positive
 * return counts as 0. The job must not call loop functions other than
 * aio_call_soon_threadsafe. */
typedef int (*aio_job_fn)(void *arg, aio_value *result);

/* Threads in a pool created with threads == 0: min(32, CPUs + 4), as
 * Python's ThreadPoolExecutor. */
#define AIO_POOL_DEFAULT_THREADS 0u

typedef struct aio_pool_options {
    /* Maximum number of worker threads; 0: the default above. Threads are
     * started on demand, up to this number, and live until the pool is
     * freed. */
    unsigned threads;
} aio_pool_options;

/* Create a pool that loops may share (asyncio's ThreadPoolExecutor). opts
 * may be NULL. No thread starts before the first job.
 * Returns: 0, and the pool in *out (NULL there on failure).
 * Errors: -EINVAL (NULL out, threads > 1024), -ENOMEM.
 * Consumes: nothing. */
int aio_pool_create(aio_pool **out, const aio_pool_options *opts);

/* Shut a pool down and free it, blocking the calling thread (see "Which
 * shutdown where" below). Jobs still queued never run: their futures
 * are cancelled (on their loops' threads, when those loops next poll). Jobs
 * running are waited for up to `timeout` seconds (0: not at all; negative or
 * infinite: without limit); those still running then are abandoned: their
 * threads are detached and finish them, their results still reach their
 * loops, and the pool's memory goes with the last of them. No loop may
 * submit to the pool once this call has begun.
 * Returns: the number of running jobs abandoned (>= 0).
 * Errors: -EINVAL (NULL pool, NaN timeout: nothing is done).
 * Consumes: the pool, when it returns >= 0. */
int aio_pool_free(aio_pool *pool, double timeout);

/* The number of worker threads started so far.
 * Returns: the count (>= 0).  Errors: -EINVAL (NULL).  Consumes: nothing. */
int aio_pool_threads(const aio_pool *pool);

/* Run fn(arg) on a worker of `pool` (NULL: the loop's default pool)
 * (asyncio's run_in_executor). Cancelling the future: see above.
 *
 * Called while the loop runs (from a coroutine or callback), the job is
 * handed to the pool together with every other job submitted since, when
 * the loop next polls: as soon as its ready queue is empty, and at the
 * latest after poll_budget callbacks (one lock for the whole batch). A
 * pool error found then (AIO_ECLOSED, -EAGAIN, -ENOMEM) becomes the
 * future's outcome instead of an error handle. Called while the loop is
 * not running, the job is handed over at once.
 * Returns: a new plain future owned by the caller (one reference),
 * completing on the loop thread with the job's outcome; or an error handle.
 * Errors: -EINVAL (NULL loop or fn), AIO_ECLOSED (loop closed, pool being
 * freed, or the default pool shut down by aio_shutdown_default_executor),
 * AIO_EINREPORT (from the report handler), -ENOMEM, -EAGAIN (no worker
 * thread could be started).
 * Consumes: nothing. */
aio_future aio_run_in_executor(aio_loop *loop, aio_pool *pool, aio_job_fn fn, void *arg);

/* asyncio.to_thread: run fn(arg) on the default pool of the task's loop
 * (or of a loop).
 * Returns: as aio_run_in_executor.  Errors: as aio_run_in_executor.
 * Consumes: nothing. */
#define aio_to_thread(loop_or_task, fn, arg) aio_run_in_executor(AIO__LOOP(loop_or_task), NULL, (fn), (arg))

/* Inside a job: whether cooperative cancellation was requested (its future
 * was cancelled, or its loop is closing). Any thread may call it.
 * Returns: 1 once requested, else 0; 0 outside any job.
 * Errors: none.  Consumes: nothing. */
int aio_job_cancelled(void);

/* How long aio_loop_close() waits for running jobs (seconds, >= 0; infinity
 * waits without limit).
 * Returns: 0.  Errors: -EINVAL (NULL loop, NaN or negative).
 * Consumes: nothing. */
int aio_loop_set_executor_timeout(aio_loop *loop, double seconds);

/* asyncio's loop.shutdown_default_executor(timeout), to await: shut the
 * loop's default pool down without blocking the loop. From the call on,
 * aio_run_in_executor(loop, NULL, ...) and aio_to_thread fail with
 * AIO_ECLOSED; its jobs not yet started never run (their futures end
 * cancelled; asyncio lets them run); running ones are waited for up to
 * `timeout` seconds (AIO_FOREVER, i.e. infinity: without limit; <= 0: one
 * iteration) while other tasks go on. The returned future completes once
 * they have all finished, with result .u = 0, or when the timeout expires
 * first, with .u = the number of jobs still running: each is reported
 * ("executor job abandoned by aio_shutdown_default_executor: still running
 * after its timeout ...", AIO_ETIMEDOUT, with its future) and abandoned:
 * its thread finishes it and its future still completes then. Cancelling
 * the returned future stops the wait (no reports). With no default pool,
 * or one already shut down, it completes at once with 0. Takes a loop or a
 * task.
 *
 * Which shutdown where:
 *   - inside the loop (a coroutine or callback): this one, for the default
 *     pool; for a pool of yours, await the jobs you gave it (a gather, or
 *     aio_wait_for with a timeout), then aio_pool_free(pool, 0), which then
 *     has nothing to wait for;
 *   - outside the loop (after aio_run_until_complete returns, or on another
 *     thread): aio_pool_free(pool, timeout), which blocks the calling
 *     thread up to the timeout;
 *   - aio_loop_close shuts the default pool down in any case, blocking up to
 *     aio_loop_set_executor_timeout for running jobs: the last resort.
 *
 * Returns: the future (the caller owns one reference), or an error handle.
 * Errors: -EINVAL (NaN timeout, NULL loop), AIO_ECLOSED, AIO_EINREPORT
 * (from the report handler), -ENOMEM.
 * Consumes: nothing. */
aio_future aio_shutdown_default_executor_on(aio_loop *loop, double timeout);
#define aio_shutdown_default_executor(loop_or_task, timeout)                                                 \
    aio_shutdown_default_executor_on(AIO__LOOP(loop_or_task), (timeout))

/* ---- other threads -> the loop ---- */

/* asyncio's call_soon_threadsafe: from ANY thread (the loop's included),
 * run fn(loop, arg) on the loop thread, in the iteration after the loop
 * next wakes. Calls from one thread run in the order made. Wakes the loop
 * if it is blocked in its poll; many calls while it is busy cost one
 * wakeup.
 * A call that returned 0 just before the close began is dropped by the
 * close without running (asyncio drops it too). Allowed from a report
 * handler (the call runs later).
 * Lifetime: calls may race with aio_loop_close(), but not with
 * aio_loop_free(): stop (or join) the other threads before freeing.
 * Returns: 0.
 * Errors: -EINVAL (NULL loop or fn), -ENOMEM, AIO_ECLOSED once
 * aio_loop_close() has begun.
 * Consumes: nothing. */
int aio_call_soon_threadsafe(aio_loop *loop, aio_callback fn, void *arg);

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for (a same-name macro over each function, so &fn still
 * works); the wrong one of the two is a compile error. */
#ifndef AIO_BUILDING
#define aio_run_in_executor(x, ...) aio_run_in_executor(AIO__LOOP(x), __VA_ARGS__)
#define aio_call_soon_threadsafe(x, ...) aio_call_soon_threadsafe(AIO__LOOP(x), __VA_ARGS__)
#define aio_loop_set_executor_timeout(x, ...) aio_loop_set_executor_timeout(AIO__LOOP_ONLY(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_EXECUTOR_H */
