/* libaio — the event loop (asyncio's AbstractEventLoop).
 *
 * One loop per thread; a loop is never touched by two threads at once. There
 * is no global state: any number of loops may live in one process.
 *
 * One iteration (docs/design.md has the full picture):
 *   1. poll the backend (epoll/kqueue/poll) if the ready queue is empty, or if
 *      `poll_budget` callbacks have run since the last poll; the poll does not
 *      block if anything is ready; the clock is read after each poll;
 *   2. queue the timers due by then (one entry runs them all, by deadline
 *      then arming order; a timer armed by one of them waits for the next
 *      iteration);
 *   3. run exactly the callbacks that were ready when step 3 began:
 *      whatever they schedule runs in the next iteration.
 * The ready queue is FIFO. A busy ready queue therefore never starves I/O or
 * timers for more than `poll_budget` callbacks.
 */
#ifndef AIO_LOOP_H
#define AIO_LOOP_H

#include "aio/coro_impl.h"
#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Callbacks run between two polls while the ready queue stays non-empty. */
#define AIO_DEFAULT_POLL_BUDGET 256u

typedef struct aio_loop_options {
    /* "epoll", "kqueue", "poll", or NULL for the platform's default. When NULL,
     * the environment variable AIO_BACKEND (if set) names the backend: the
     * test suite uses it to run every test on every backend. */
    const char *backend;
    /* Nonzero: a virtual clock for tests. Time starts at 0 and only moves when
     * nothing is ready (after a non-blocking poll of the watched fds, it jumps
     * straight to the next timer), or by aio_loop_advance(). */
    int virtual_clock;
    /* See the iteration above; 0 means AIO_DEFAULT_POLL_BUDGET. */
    unsigned poll_budget;
    /* Transparent huge pages for the loop's big tables: > 0 on, < 0 off, 0
     * the default, which is on unless the environment variable
     * AIO_HUGE_PAGES is "0". Only a table of 8 MiB or more (hundreds of
     * thousands of futures or tasks) asks the kernel for them (madvise),
     * which turns 512 page faults into one at the cost of committing up to
     * 2 MiB more than is touched; a small program's memory is unchanged. */
    int huge_pages;
    /* Debug mode (aio/debug.h): > 0 on, < 0 off, 0 the default, which is
     * on if the environment variable AIO_DEBUG is set and not "0". */
    int debug;
    /* Debug mode reports callbacks and task steps slower than this, in
     * seconds; 0 means 0.1 (asyncio's slow_callback_duration). */
    double slow_callback_duration;
} aio_loop_options;

/* Create a loop (asyncio's new_event_loop). opts may be NULL.
 * Returns: 0, and the loop in *out (NULL there on failure).
 * Errors: -EINVAL (unknown or unavailable backend, named by opts or by
 * AIO_BACKEND; NULL out), -ENOMEM, or the backend's creation error, or that
 * of the loop's wakeup fd (-EMFILE, -ENFILE, ...).
 * Consumes: nothing. */
int aio_loop_create(aio_loop **out, const aio_loop_options *opts);

/* Close the loop (asyncio's close()): every task still pending is reported
 * ("Task was destroyed but it is pending") and freed, every failed future
 * whose error was never retrieved is reported, every watcher and timer is
 * dropped. Idempotent. After it, every scheduling call returns AIO_ECLOSED.
 * All reports are made before anything is freed; from the moment the close
 * begins, every call on the loop is refused (AIO_ECLOSED, or AIO_EINREPORT
 * from the report handler).
 * Returns: 0 (also for a loop already closed).
 * Errors: AIO_ERUNNING if called while the loop runs; AIO_EINREPORT from a
 * report handler; -EINVAL for NULL.
 * Consumes: nothing (the loop stays allocated: aio_loop_free). */
int aio_loop_close(aio_loop *loop);

/* Close (if needed) and free the loop. NULL is a no-op.
 * Returns: 0.
 * Errors: AIO_ERUNNING (the loop is running: nothing is freed),
 * AIO_EINREPORT (called from a report handler: nothing is freed).
 * Consumes: the loop, when it returns 0 (every handle of it is dead). */
int aio_loop_free(aio_loop *loop);

/* asyncio's is_closed().
 * Returns: 1 if closed, 0 if not.  Errors: -EINVAL (NULL).  Consumes: nothing. */
int aio_loop_is_closed(const aio_loop *loop);
/* asyncio's is_running().
 * Returns: 1 while inside aio_run_forever / aio_run_until_complete, else 0
 * (NULL included).  Errors: none.  Consumes: nothing. */
int aio_loop_is_running(const aio_loop *loop);

/* Run until `fut` is done, and give back its outcome (asyncio's
 * run_until_complete). Consumes the caller's reference to `fut` (as
 * AIO_AWAIT does), so
 *     aio_run_until_complete(loop, aio_create_task(loop, main, &frame), &v)
 * leaks nothing.
 * Returns: 0 (result stored in *result if result != NULL), or the future's
 * error (AIO_ECANCELLED, or what it failed with).
 * Errors:
 *   AIO_ERUNNING   called from inside a running loop (this one or another
 *                  on this thread: nothing runs);
 *   AIO_ECLOSED    the loop is closed;
 *   AIO_EINREPORT  called from the loop's report handler;
 *   AIO_ESTOPPED   aio_loop_stop() was called before `fut` completed;
 *   AIO_EDEADLOCK  nothing left could complete `fut` (no ready callbacks,
 *                  timers or watched fds): asyncio would hang here forever;
 *   AIO_ESTALE / AIO_EFOREIGN / AIO_ENULL / an error handle's code  for a
 *                  bad handle; -EINVAL for a NULL loop;
 *   -ENOMEM        rare: `fut` already has 65,534 awaiters and callbacks,
 *                  and the table its counts then move to cannot be allocated;
 *   the backend's poll error (-errno; EINTR is retried).
 * Consumes: the reference to `fut`, on every path (the ownership rule,
 * aio/future.h). */
int aio_run_until_complete(aio_loop *loop, aio_future fut, aio_value *result);

/* Run until aio_loop_stop() (asyncio's run_forever): at least one
 * iteration, even if the stop came first.
 * Returns: 0 once stopped.
 * Errors: AIO_ERUNNING / AIO_ECLOSED / AIO_EINREPORT / -EINVAL (NULL) as
 * aio_run_until_complete, or AIO_EDEADLOCK when nothing is left that could
 * ever call aio_loop_stop(), or the backend's poll error.
 * Consumes: nothing. */
int aio_run_forever(aio_loop *loop);

/* Ask the running loop to return after the current iteration: callbacks
 * already scheduled for the next one stay queued for the next run (asyncio's
 * stop()). Called while the loop is not running, its next run stops after
 * one iteration. Allowed from a report handler.
 * Returns: 0.  Errors: -EINVAL (NULL).  Consumes: nothing. */
int aio_loop_stop(aio_loop *loop);

/* The loop reports AIO_EDEADLOCK when nothing could ever complete what it
 * waits for. Another thread's aio_call_soon_threadsafe() is invisible to that
 * test: take a reference with aio_loop_ref() (any thread) for as long as
 * other threads may post work the loop must wait for, and drop it with
 * aio_loop_unref(). While references are held the loop blocks instead of
 * reporting a deadlock. (libuv's ref/unref of a handle.)
 * Returns: 0.
 * Errors: -EINVAL (NULL loop), AIO_ENOREF (unref without ref).
 * Consumes: nothing (unref drops a reference taken by aio_loop_ref). */
int aio_loop_ref(aio_loop *loop);
int aio_loop_unref(aio_loop *loop);

/* The loop's clock in seconds (CLOCK_MONOTONIC, or the virtual clock). It is
 * read once per poll and cached: see the iteration above.
 * Returns: the time in seconds (asyncio's time()), or in nanoseconds; 0 for
 * NULL.
 * Errors: none.  Consumes: nothing. */
double aio_loop_time(const aio_loop *loop);
int64_t aio_loop_time_ns(const aio_loop *loop);

/* ---- times: what every call that takes one accepts ----
 * Seconds as a double. The loop's clock and every deadline it computes stay
 * within +-4e18 ns (126 years): a sum that would pass it stops there, so no
 * value and no number of calls overflows the clock.
 *
 *                 delay              time          timeout          advance      executor waits
 *                 aio_call_later,    aio_call_at   aio_wait,        aio_loop_    aio_loop_set_executor_
 *                 aio_sleep                        aio_wait_for,    advance      timeout / aio_pool_free
 *                                                  aio_as_completed,
 *                                                  aio_shutdown_default_
 *                                                  executor (6)
 *   NaN           -EINVAL            -EINVAL       -EINVAL          -EINVAL      -EINVAL / -EINVAL
 *   +infinity     -EINVAL            -EINVAL       no timeout       -EINVAL      no limit / no limit
 *   -infinity     -EINVAL            -EINVAL       expired (1)      -EINVAL      -EINVAL / no limit
 *   < 0           due at once (2)    past: due     expired (1)      -EINVAL      -EINVAL / no limit
 *                                    at once
 *   -0, 0         due at once (2)    time 0        expired (1)      no change    no wait / no wait
 *   denormal      1 ns (3)           1 ns (3)      1 ns (3)         1 ns (3)     no wait (4)
 *   huge (1e300)  4e18 ns: never,    4e18 ns       4e18 ns: never   the clock    1e9 s (31 years)
 *                 in practice (5)                  in practice      stops at
 *                                                                   4e18 ns
 *   (1) after one look: aio_wait and aio_as_completed see what is done at
 *       the next iteration; aio_wait_for cancels its child at once (and
 *       ends with AIO_ETIMEDOUT unless the child completes anyway).
 *   (2) aio_call_later: in the next iteration that runs due timers,
 *       ordered by deadline (call_later(-1) before call_later(0));
 *       aio_sleep: done at once, and awaiting it yields once.
 *   (3) rounded up to whole nanoseconds: a timer never fires early.
 *   (4) 1 ns, which no clock tells from 0.
 *   (5) on a virtual clock advanced to its end, such a timer is due.
 *   (6) expired: the jobs still running are abandoned after one iteration. */

/* Virtual clock only: move time forward by `seconds` (>= 0). Timers that fall
 * due fire in the following iterations.
 * Returns: 0.
 * Errors: -EINVAL (NULL loop, not a virtual clock, seconds negative, NaN or
 * infinite), AIO_ECLOSED, AIO_EINREPORT (from the report handler).
 * Consumes: nothing. */
int aio_loop_advance(aio_loop *loop, double seconds);

/* The backend's name.
 * Returns: "epoll", "kqueue" or "poll" (a static string), NULL for NULL.
 * Errors: none.  Consumes: nothing. */
const char *aio_loop_backend(const aio_loop *loop);

/* Counters, for tests and tuning. */
typedef struct aio_loop_stats {
    uint64_t iterations;    /* loop iterations run */
    uint64_t polls;         /* backend polls made */
    uint64_t callbacks;     /* ready-queue entries run */
    uint64_t timers;        /* timers armed now (call_later, sleeps, timeouts) */
    uint64_t timer_entries; /* timer keys held (heap and wheel): armed timers
                               plus cancelled ones not yet dropped (cancel is
                               lazy; they are dropped in bulk when they are the
                               majority, or when no timer is armed) */
} aio_loop_stats;
/* Copy the loop's counters into *out.
 * Returns: 0.  Errors: -EINVAL (NULL loop or out).  Consumes: nothing. */
int aio_loop_get_stats(const aio_loop *loop, aio_loop_stats *out);

/* ---- scheduling callbacks (asyncio's call_soon / call_later / call_at) ---- */

/* Run fn(loop, arg) in the next iteration, after everything already queued
 * (asyncio's call_soon). If out is not NULL it receives a handle for
 * aio_handle_cancel().
 * Returns: 0.
 * Errors: -EINVAL (NULL loop or fn), AIO_ECLOSED, AIO_EINREPORT (from the
 * report handler), -ENOMEM.
 * Consumes: nothing. */
int aio_call_soon(aio_loop *loop, aio_callback fn, void *arg, aio_handle *out);

/* Run fn(loop, arg) once `delay` seconds have passed. A negative delay is a
 * deadline in the past: due at once, ordered by deadline as in asyncio
 * (call_later(-1) runs after call_later(-2)). Timers with equal deadlines run
 * in the order they were armed. If out is not NULL it receives a handle for
 * aio_handle_cancel(); a timer armed without one cannot be cancelled, and
 * costs 32 bytes instead of 40 (asyncio's call_later).
 * Returns: 0.
 * Errors: -EINVAL (NaN or infinite delay, NULL loop or fn), AIO_ECLOSED,
 * AIO_EINREPORT (from the report handler), -ENOMEM.
 * Consumes: nothing. */
int aio_call_later(aio_loop *loop, double delay, aio_callback fn, void *arg, aio_handle *out);

/* The same at an absolute loop time `when` (see aio_loop_time; asyncio's
 * call_at).
 * Returns: 0.  Errors: as aio_call_later (NaN or infinite when).
 * Consumes: nothing. */
int aio_call_at(aio_loop *loop, double when, aio_callback fn, void *arg, aio_handle *out);

/* Cancel a scheduled callback: it will never run (asyncio's Handle.cancel).
 * Returns: 1 if this call cancelled it, 0 if it already ran or was already
 * cancelled.
 * Errors: AIO_ENULL (the null handle), AIO_EFOREIGN (another loop's handle),
 * AIO_ESTALE (a handle this loop never issued), -EINVAL (NULL loop),
 * AIO_ECLOSED, AIO_EINREPORT (from the report handler).
 * Consumes: nothing. */
int aio_handle_cancel(aio_loop *loop, aio_handle h);

/* ---- file descriptor watchers (asyncio's add_reader / add_writer) ---- */

/* Call fn(loop, arg) in every iteration in which fd is readable (or writable),
 * until removed. Adding a second reader for the same fd replaces the first.
 * Returns: 0.
 * Errors: -EBADF (not an open fd), -EINVAL (NULL loop or fn), AIO_ECLOSED,
 * AIO_EINREPORT (from the report handler), -ENOMEM, -EPERM (a regular file,
 * which epoll cannot watch), or the backend's error (-ENOSPC: epoll's
 * max_user_watches, ...).
 * Consumes: nothing. */
int aio_add_reader(aio_loop *loop, int fd, aio_callback fn, void *arg);
int aio_add_writer(aio_loop *loop, int fd, aio_callback fn, void *arg);

/* Stop watching (asyncio's remove_reader / remove_writer). Safe to call
 * after the fd was closed.
 * Returns: 1 if a watcher was removed, 0 if there was none (a closed loop
 * has none).
 * Errors: -EINVAL (NULL loop), AIO_EINREPORT (from the report handler).
 * Consumes: nothing. */
int aio_remove_reader(aio_loop *loop, int fd);
int aio_remove_writer(aio_loop *loop, int fd);

/* ---- reports (asyncio's exception handler) ---- */

/* What the loop reports: a failed future nobody retrieved, a task destroyed
 * while pending, an fd closed while watched. */
typedef struct aio_report {
    const char *message;   /* e.g. "Future exception was never retrieved" */
    int error;             /* the error concerned, or 0 */
    aio_future future;     /* the future or task concerned, or the null handle */
    const char *task_name; /* the task's name, or NULL */
    /* Debug mode (aio/debug.h): where, in the source, this happened: the
     * await sites of a pending task, a future's creation site, a slow
     * callback or task step's function and sites. NULL otherwise. Valid
     * during the handler's call. */
    const char *location;
} aio_report;

typedef void (*aio_exception_handler)(aio_loop *loop, const aio_report *report, void *arg);

/* Replace the report handler (asyncio's set_exception_handler). NULL
 * restores the default, which prints one line to stderr.
 *
 * What a handler may call. A report comes from the middle of the loop's
 * own work (a future being freed, an fd found closed, the loop closing),
 * so while the handler runs, every call on the reporting loop that could
 * change it returns AIO_EINREPORT and changes nothing: creating, completing,
 * cancelling, retaining or releasing futures and tasks (and looking at them
 * through a handle), scheduling, watching fds, running, closing, freeing
 * the loop. What works: aio_loop_stop, aio_loop_set_exception_handler,
 * aio_call_soon_threadsafe (the call runs later, as from another thread;
 * AIO_ECLOSED while the loop closes), the read-only queries (aio_loop_time,
 * aio_loop_time_ns, aio_loop_get_stats, aio_loop_backend,
 * aio_loop_is_running, aio_loop_is_closed, aio_loop_pending_tasks,
 * aio_current_task), aio_strerror and aio_err_name, and any call on
 * another loop. The report (and the task name it carries) is valid until
 * the handler returns; work that must follow a report can be posted with
 * aio_call_soon_threadsafe, which runs it once the loop's work allows.
 * Returns: 0.  Errors: -EINVAL (NULL loop).  Consumes: nothing. */
int aio_loop_set_exception_handler(aio_loop *loop, aio_exception_handler fn, void *arg);

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for (a same-name macro over each function, so &fn still
 * works); the wrong one of the two is a compile error. */
#ifndef AIO_BUILDING
#define aio_loop_stop(x) aio_loop_stop(AIO__LOOP(x))
#define aio_loop_advance(x, ...) aio_loop_advance(AIO__LOOP(x), __VA_ARGS__)
#define aio_call_soon(x, ...) aio_call_soon(AIO__LOOP(x), __VA_ARGS__)
#define aio_call_later(x, ...) aio_call_later(AIO__LOOP(x), __VA_ARGS__)
#define aio_call_at(x, ...) aio_call_at(AIO__LOOP(x), __VA_ARGS__)
#define aio_handle_cancel(x, ...) aio_handle_cancel(AIO__LOOP(x), __VA_ARGS__)
#define aio_add_reader(x, ...) aio_add_reader(AIO__LOOP(x), __VA_ARGS__)
#define aio_add_writer(x, ...) aio_add_writer(AIO__LOOP(x), __VA_ARGS__)
#define aio_remove_reader(x, ...) aio_remove_reader(AIO__LOOP(x), __VA_ARGS__)
#define aio_remove_writer(x, ...) aio_remove_writer(AIO__LOOP(x), __VA_ARGS__)
#define aio_loop_is_closed(x) aio_loop_is_closed(AIO__CLOOP(x))
#define aio_loop_is_running(x) aio_loop_is_running(AIO__CLOOP(x))
#define aio_loop_time(x) aio_loop_time(AIO__CLOOP(x))
#define aio_loop_time_ns(x) aio_loop_time_ns(AIO__CLOOP(x))
#define aio_loop_backend(x) aio_loop_backend(AIO__CLOOP(x))
#define aio_loop_get_stats(x, ...) aio_loop_get_stats(AIO__CLOOP(x), __VA_ARGS__)
#define aio_loop_close(x) aio_loop_close(AIO__LOOP_ONLY(x))
#define aio_loop_free(x) aio_loop_free(AIO__LOOP_ONLY(x))
#define aio_run_until_complete(x, ...) aio_run_until_complete(AIO__LOOP_ONLY(x), __VA_ARGS__)
#define aio_run_forever(x) aio_run_forever(AIO__LOOP_ONLY(x))
#define aio_loop_ref(x) aio_loop_ref(AIO__LOOP_ONLY(x))
#define aio_loop_unref(x) aio_loop_unref(AIO__LOOP_ONLY(x))
#define aio_loop_set_exception_handler(x, ...) aio_loop_set_exception_handler(AIO__LOOP_ONLY(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_LOOP_H */
