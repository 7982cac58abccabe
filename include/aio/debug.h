/* libaio — where is every task, and debug mode.
 *
 * Task dumps (asyncio.all_tasks; Python 3.14's capture_call_graph,
 * print_call_graph and `python -m asyncio ps` / `pstree`): for each task of
 * a loop, its state, what it awaits (a sleep and its deadline, a future, a
 * combinator, a task group, a lock or queue, another task), the source
 * file and line of the await it is suspended at in every frame of its chain
 * of inline coroutines (AIO_AWAIT_CORO), who awaits it (the task that
 * entered a task group waits on each child), and the cycles of tasks
 * awaiting each other (deadlocks). Printed as a table or as a tree:
 *
 *     aio_print_tasks(loop, stderr, AIO_PRINT_TABLE | AIO_PRINT_TREE);
 *
 * from anywhere on the loop's thread: a callback, a coroutine (the running
 * task shows where it last resumed), or between runs. Nothing is recorded
 * while tasks run: a suspended coroutine is asked where it is by calling
 * it in "where mode", in which its resume label reports the await's site
 * instead of running the body (docs/design.md). So every coroutine must be
 * written with the macros (AIO_BEGIN first), and code placed before
 * AIO_BEGIN runs at every dump too.
 *
 * Debug mode (asyncio's debug mode, PYTHONASYNCIODEBUG): set
 * aio_loop_options.debug, or the environment variable AIO_DEBUG=1, or call
 * aio_loop_set_debug(). The loop then reports (exception handler, else
 * stderr), each with aio_report.location set:
 *   - callbacks and task steps that run longer than the slow-callback
 *     duration (0.1 s by default): a step with the task and its await sites
 *     before and after, a callback with its function's address and module;
 *   - futures whose error was never retrieved: where they were created, for
 *     code compiled with -DAIO_DEBUG_SITES (below);
 *   - tasks still pending when the loop closes: their await sites.
 * Off, it costs nothing: the run loop's timed path is chosen when a run
 * starts. On, a task step or callback costs two clock reads more.
 *
 * AIO_DEBUG_SITES: define it (before including aio/aio.h, or -D) in code
 * whose futures' creation sites the reports should name. The calls that
 * create a future (aio_future_new, aio_sleep, aio_create_task, aio_spawn,
 * aio_gather, aio_gather_of, aio_wait, aio_wait_for, aio_shield, aio_as_completed,
 * aio_run_in_executor, aio_to_thread) then also record __FILE__ and
 * __LINE__ in a debug-mode loop: 16 bytes per future slot, allocated at the
 * first record; without debug mode on, one call more per creation. */
#ifndef AIO_DEBUG_H
#define AIO_DEBUG_H

#include "aio/coro_impl.h"
#include "aio/types.h"

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* aio_site (aio/coro_impl.h): the static record of one await: file, line
 * and function (an AIO_CORO body's function is aio__body_of_<name>; the
 * printouts show <name>). */

/* The coroutine's name of a site.
 * Returns: its function's name, without the aio__body_of_ prefix that
 * AIO_CORO adds ("?" for NULL).
 * Errors: none. Consumes: nothing. */
const char *aio_site_name(const aio_site *site);

/* ---- all tasks ---- */

/* asyncio.all_tasks: the handles of the loop's unfinished tasks, at most
 * `cap` of them into out (in the order of their numbers).
 * Returns: how many unfinished tasks there are (more than cap: call again
 * with room for them). The handles are borrowed: one goes stale when its
 * task's future is freed (every call detects that).
 * Errors: -EINVAL (NULL loop, or NULL out with cap > 0), AIO_ECLOSED,
 * AIO_EINREPORT (from a report handler).
 * Consumes: nothing. */
int aio_all_tasks(aio_loop *loop, aio_future *out, size_t cap);

/* ---- the await graph: a snapshot ---- */

typedef enum aio_task_state {
    AIO_TASK_NOT_STARTED = 0, /* created; its coroutine has not run yet */
    AIO_TASK_READY,           /* queued to resume: after AIO_YIELD, or what it awaits is done */
    AIO_TASK_RUNNING,         /* running now (the snapshot was taken from it) */
    AIO_TASK_WAITING          /* suspended in an await of a pending future */
} aio_task_state;

typedef enum aio_awaits_kind {
    AIO_AWAITS_NOTHING = 0, /* not in an await: not started, yielded, running */
    AIO_AWAITS_TASK,        /* another task */
    AIO_AWAITS_SLEEP,       /* aio_sleep: deadline is when it ends */
    AIO_AWAITS_FUTURE,      /* a plain future (aio_future_new, aio_as_completed_next, ...) */
    AIO_AWAITS_COMBINATOR,  /* gather, wait, wait_for, shield, as_completed, an executor job, ... */
    AIO_AWAITS_QUEUE,       /* a wait queue: a lock, a queue, a stream read, ... */
    AIO_AWAITS_DONE         /* a future done already: the task resumes soon */
} aio_awaits_kind;

/* One task waiting on another, directly or through combinators. */
typedef struct aio_awaiter {
    size_t task;     /* the waiting task: its index in the snapshot */
    const char *via; /* the combinators in between, outermost first ("wait_for > gather"),
                        or NULL when it awaits the task itself */
} aio_awaiter;

typedef struct aio_task_info {
    aio_future handle;    /* the task (borrowed) */
    uint32_t id;          /* its number, unique among the loop's live futures: #id in printouts */
    const char *name;     /* aio_task_set_name's, or NULL */
    aio_task_state state; /* see above */
    int cancelling;       /* cancellations requested, not undone (Task.cancelling()) */
    /* Its chain of coroutines, outermost first: frames[0] is the task's
     * coroutine, each next one an inline child (AIO_AWAIT_CORO) of the one
     * before; each frame's site is the await it is suspended at (a running
     * task's: where each last resumed). None for a task not started. */
    size_t nframes;
    const aio_site *const *frames;
    aio_awaits_kind awaits;
    /* One line: "sleep: 1.500 s left", "gather: 2 of 3 pending", "lock (2
     * waiting)", "task #7 'worker'", "future #12". "" when it awaits nothing. */
    const char *awaits_text;
    aio_future awaited;     /* the future it awaits (borrowed), or the null handle */
    double deadline;        /* when its sleep (or its combinator's timeout) ends, in loop
                               time (aio_loop_time); 0 if there is none */
    size_t nwaits_on;       /* the tasks it waits on, directly or through combinators */
    const size_t *waits_on; /* ...as indexes in the snapshot */
    size_t nawaited_by;     /* who waits on it (Python's "awaited by") */
    const aio_awaiter *awaited_by;
    bool in_deadlock; /* in a cycle of tasks waiting on each other */
} aio_task_info;

typedef struct aio_task_graph aio_task_graph;

/* Take a snapshot of every unfinished task of the loop (Python 3.14's
 * capture_call_graph, for all of them). Call it on the loop's thread, from
 * a callback, a coroutine, or while the loop is not running.
 * Returns: 0, *out set (free it with aio_task_graph_free).
 * Errors: -EINVAL (NULL loop or out), -ENOMEM, AIO_ECLOSED, AIO_EINREPORT
 * (from a report handler: the loop may be in the middle of its own work).
 * Consumes: nothing. */
int aio_task_graph_capture(aio_loop *loop, aio_task_graph **out);

/* Returns: the number of tasks in the snapshot (0 for NULL).
 * Errors: none. Consumes: nothing. */
size_t aio_task_graph_size(const aio_task_graph *g);

/* Returns: task i of the snapshot (tasks are in the order of their numbers),
 * or NULL if i is out of range (or g is NULL). Valid until
 * aio_task_graph_free(g).
 * Errors: none. Consumes: nothing. */
const aio_task_info *aio_task_graph_task(const aio_task_graph *g, size_t i);

/* Returns: the number of deadlocks found: groups of tasks each waiting on
 * another of its group, directly or through combinators (0 for NULL).
 * Errors: none. Consumes: nothing. */
size_t aio_task_graph_deadlocks(const aio_task_graph *g);

/* Deadlock k: *tasks gets the indexes of one cycle through it, in await
 * order (each waits on the next, the last on the first).
 * Returns: the cycle's length, 0 if k is out of range.
 * Errors: none. Consumes: nothing. */
size_t aio_task_graph_deadlock(const aio_task_graph *g, size_t k, const size_t **tasks);

/* What to print. */
enum {
    AIO_PRINT_TABLE = 1,     /* one row per task (the default when no format is given) */
    AIO_PRINT_TREE = 2,      /* from the tasks nobody waits on down to what they wait on */
    AIO_PRINT_FULL_PATHS = 4 /* source files as compiled (__FILE__), not just their names */
};

/* Print the snapshot: a table, a tree, or both, then the deadlocks.
 * Returns: 0. Errors: -EINVAL (NULL g or out), -EIO (writing failed).
 * Consumes: nothing. */
int aio_task_graph_print(const aio_task_graph *g, FILE *out, unsigned flags);

/* Free a snapshot. NULL is a no-op.
 * Returns: nothing. Errors: none. Consumes: g. */
void aio_task_graph_free(aio_task_graph *g);

/* Capture, print, free: the call to make on demand (from a callback,
 * a coroutine, a signal handler's callback).
 * Returns: 0. Errors: -EINVAL, -ENOMEM, -EIO, AIO_ECLOSED, AIO_EINREPORT.
 * Consumes: nothing. */
int aio_print_tasks(aio_loop *loop, FILE *out, unsigned flags);

/* Python 3.14's print_call_graph: one task's frames and what it awaits,
 * then who waits on it, and who waits on those, up to the tasks nobody
 * waits on.
 * Returns: 0. Errors: -EINVAL (NULL loop or out), AIO_ENOTTASK, bad handle
 * codes (AIO_ECLOSED, AIO_EINREPORT among them), -ENOMEM, -EIO; the task
 * must be unfinished (AIO_EDONE if not).
 * Consumes: nothing. */
int aio_print_call_graph(aio_loop *loop, aio_future task, FILE *out, unsigned flags);

/* ---- debug mode ---- */

/* Turn debug mode on (nonzero) or off (asyncio's loop.set_debug). A run
 * already under way keeps its mode until it returns; the next run (and
 * every report) follows the new one.
 * Returns: 0. Errors: -EINVAL (NULL loop), AIO_ECLOSED, AIO_EINREPORT.
 * Consumes: nothing. */
int aio_loop_set_debug(aio_loop *loop, int enabled);

/* asyncio's loop.get_debug.
 * Returns: 1 if debug mode is on, 0 if off.
 * Errors: -EINVAL (NULL loop). Consumes: nothing. */
int aio_loop_get_debug(const aio_loop *loop);

/* Debug mode reports callbacks and task steps that take longer than
 * `seconds` (asyncio's loop.slow_callback_duration; 0.1 by default).
 * Returns: 0. Errors: -EINVAL (NULL loop, negative, NaN or infinite),
 * AIO_ECLOSED, AIO_EINREPORT. Consumes: nothing. */
int aio_loop_set_slow_callback_duration(aio_loop *loop, double seconds);

/* Returns: the slow-callback duration in seconds (0 for NULL).
 * Errors: none. Consumes: nothing. */
double aio_loop_get_slow_callback_duration(const aio_loop *loop);

/* ---- creation sites (AIO_DEBUG_SITES) ---- */

/* What the creating macros call under AIO_DEBUG_SITES: record that future
 * f was created at file:line if its loop is in debug mode, and return f.
 * The loop is the one aio__site_loop() passed on last on this thread (the
 * macros call it with the creating call's loop); a handle of another loop
 * records nothing. */
aio_future aio__sited(aio_future f, const char *file, int line);
aio_loop *aio__site_loop(aio_loop *loop);

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for (a same-name macro over each function, so &fn still
 * works); the wrong one of the two is a compile error. */
#ifndef AIO_BUILDING
#define aio_all_tasks(x, ...) aio_all_tasks(AIO__LOOP(x), __VA_ARGS__)
#define aio_task_graph_capture(x, ...) aio_task_graph_capture(AIO__LOOP(x), __VA_ARGS__)
#define aio_print_tasks(x, ...) aio_print_tasks(AIO__LOOP(x), __VA_ARGS__)
#define aio_print_call_graph(x, ...) aio_print_call_graph(AIO__LOOP(x), __VA_ARGS__)
#define aio_loop_set_debug(x, ...) aio_loop_set_debug(AIO__LOOP(x), __VA_ARGS__)
#define aio_loop_get_debug(x) aio_loop_get_debug(AIO__CLOOP(x))
#define aio_loop_set_slow_callback_duration(x, ...)                                                          \
    aio_loop_set_slow_callback_duration(AIO__LOOP(x), __VA_ARGS__)
#define aio_loop_get_slow_callback_duration(x) aio_loop_get_slow_callback_duration(AIO__CLOOP(x))

#ifdef AIO_DEBUG_SITES
/* The creating calls, recording where they are made (see the top). */
#define AIO__SITED(call) aio__sited((call), __FILE__, __LINE__)
#define AIO__SITE_LOOP(x) aio__site_loop(AIO__LOOP(x))
#undef aio_future_new
#define aio_future_new(x) AIO__SITED(aio_future_new_on(AIO__SITE_LOOP(x)))
#undef aio_sleep
#define aio_sleep(x, delay) AIO__SITED(aio_sleep_on(AIO__SITE_LOOP(x), (delay), AIO_NONE))
#undef aio_sleep_value
#define aio_sleep_value(x, delay, value)                                                                     \
    AIO__SITED(aio_sleep_on(AIO__SITE_LOOP(x), (delay), AIO_VALUE(value)))
#undef aio_create_task_sized
#define aio_create_task_sized(x, ...) AIO__SITED(aio_create_task_sized(AIO__SITE_LOOP(x), __VA_ARGS__))
#undef aio_gather
#define aio_gather(x, futs, n, results, flags)                                                               \
    AIO__SITED(aio_gather_on(AIO__SITE_LOOP(x), (futs), (n), (results), (flags)))
#undef aio_wait
#define aio_wait(x, futs, n, timeout, when)                                                                  \
    AIO__SITED(aio_wait_on(AIO__SITE_LOOP(x), (futs), (n), (timeout), (when)))
#undef aio_wait_for
#define aio_wait_for(x, fut, timeout) AIO__SITED(aio_wait_for_on(AIO__SITE_LOOP(x), (fut), (timeout)))
#undef aio_shield
#define aio_shield(x, fut) AIO__SITED(aio_shield_on(AIO__SITE_LOOP(x), (fut)))
#undef aio_as_completed
#define aio_as_completed(x, futs, n, timeout)                                                                \
    AIO__SITED(aio_as_completed_on(AIO__SITE_LOOP(x), (futs), (n), (timeout)))
#undef aio_run_in_executor
#define aio_run_in_executor(x, ...) AIO__SITED(aio_run_in_executor(AIO__SITE_LOOP(x), __VA_ARGS__))
#undef aio_to_thread
#define aio_to_thread(x, fn, arg) aio_run_in_executor(x, NULL, (fn), (arg)) /* the one above */
#undef aio_gather_of
#define aio_gather_of(x, results, flags, ...)                                                                \
    AIO__SITED(aio_gather_on(AIO__SITE_LOOP(x), (const aio_future[]){__VA_ARGS__},                           \
                             sizeof((aio_future[]){__VA_ARGS__}) / sizeof(aio_future), (results), (flags)))
#endif /* AIO_DEBUG_SITES */
#endif /* AIO_BUILDING */

#ifdef __cplusplus
}
#endif
#endif /* AIO_DEBUG_H */
