/* libaio — tasks (asyncio.Task) and aio_run (asyncio.run).
 *
 * A task runs a coroutine (aio/coro.h) on a loop and is itself a future: its
 * handle works with every aio_future_* call, and awaiting it gives the
 * coroutine's result. The loop keeps every task alive until it finishes, so
 * fire-and-forget is safe: aio_future_release(loop, aio_create_task(...)).
 *
 * Memory: one block per task (a 24-byte header and the frame together, from
 * the loop's per-size chunks; frames over 480 bytes may use malloc), freed as
 * soon as the coroutine finishes, and a 16-byte slot in the futures table,
 * where its outcome stays while a reference to the handle remains. Freed blocks are reused by later
 * tasks and returned to the system when the loop is freed.
 */
#ifndef AIO_TASK_H
#define AIO_TASK_H

#include "aio/coro.h"
#include "aio/future.h"
#include "aio/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Schedule coroutine fn to start in the next iteration, on a copy of
 * `frame_size` bytes from `frame` (frame may be NULL when frame_size is 0)
 * (asyncio's create_task).
 * The copy is aligned for any type of that size: to 16 bytes when
 * frame_size is a multiple of 16, else to 8 (a type's alignment divides its
 * size).
 * Returns: the task's handle, owned by the caller (one reference); on
 * failure an error handle.
 * Errors: -EINVAL (a NULL fn or loop, a NULL frame with a size),
 * AIO_ECLOSED, AIO_EINREPORT (from the report handler), -ENOMEM (a frame too
 * big for memory included).
 * Consumes: nothing (the frame is copied). */
aio_future aio_create_task_sized(aio_loop *loop, aio_coro_fn fn, const void *frame, size_t frame_size);

/* aio_create_task(loop_or_task, fn, &frame): the frame's size is taken from
 * its type, e.g. aio_create_task(t, worker, &(struct worker){.id = 3, .n = 4})
 * (commas inside a compound literal are fine). aio_create_task(x, fn): a
 * coroutine with no frame. A void pointer frame is a compile error: its size
 * is unknown (pass a typed pointer, or call aio_create_task_sized).
 * Returns: the task's handle (one reference), or an error handle.
 * Errors: as aio_create_task_sized.  Consumes: nothing. */
#define aio_create_task(...) AIO__CAT(aio__create_task_, AIO__HAS_FRAME(AIO__REST(__VA_ARGS__)))(__VA_ARGS__)
#define aio__create_task_0(x, fn) aio_create_task_sized(AIO__LOOP(x), (fn), (const void *)0, 0)
#define aio__create_task_1(x, fn, ...)                                                                       \
    aio_create_task_sized(AIO__LOOP(x), (fn), (__VA_ARGS__), AIO__FRAME_SIZE(__VA_ARGS__))

/* aio_spawn(loop_or_task, coro, &frame): aio_create_task for a coroutine
 * declared with AIO_CORO(coro, frame type): a frame of another type is a
 * compile error, and the size is the declared type's.
 * Returns: the task's handle (one reference), or an error handle.
 * Errors: as aio_create_task_sized.  Consumes: nothing. */
#define aio_spawn(x, coro, ...)                                                                              \
    aio_create_task_sized(AIO__LOOP(x), (coro),                                                    \
                          _Generic((__VA_ARGS__), aio__frame_of_##coro *: (__VA_ARGS__),           \
                              const aio__frame_of_##coro *: (__VA_ARGS__)),                        \
                          sizeof(aio__frame_of_##coro))

/* Request cancellation (asyncio's Task.cancel): the future the task awaits is
 * cancelled, and the coroutine sees AIO_ECANCELLED at that await (a task not
 * yet started ends cancelled without running). A task cancelled while it
 * runs (itself, say) gets it at its next await that suspends: what that
 * await waits for is cancelled and waited for, and the await ends with its
 * outcome (a child that handles the cancel and returns 5 gives 5). Same as
 * aio_future_cancel on a task handle.
 * Returns: 1 if requested, 0 if the task is already done.
 * Errors: aio_future_cancel's (-ENOMEM, the bad-handle codes), and
 * AIO_ENOTTASK for a future that is not a task.
 * Consumes: nothing. */
int aio_task_cancel(aio_loop *loop, aio_future task, const char *msg);

/* Inside the coroutine: the number of cancellations delivered and not
 * undone (asyncio's Task.cancelling()).
 * Returns: the count (it stops counting at 31).
 * Errors: -EINVAL (NULL t).  Consumes: nothing. */
int aio_task_cancelling(const aio_task *t);

/* Inside the coroutine: undo one delivered cancellation so that the task may
 * finish normally (asyncio's Task.uncancel()). Returns the remaining count.
 * At 0, a cancellation requested but not yet delivered is dropped too (as
 * in asyncio 3.13: nothing is requested any more).
 * At the await that saw the cancel, AIO_CANCEL_HANDLED(t) (aio/coro.h) says
 * it in one call.
 * Returns: the remaining count (0 if there was none to undo).
 * Errors: -EINVAL (NULL t).  Consumes: nothing. */
int aio_task_uncancel(aio_task *t);

/* Name a task (asyncio's Task.set_name). The name is copied.
 * Returns: 0.
 * Errors: AIO_ENOTTASK, -ENOMEM, -EINVAL (NULL name), the bad-handle codes.
 * Consumes: nothing. */
int aio_task_set_name(aio_loop *loop, aio_future task, const char *name);

/* The task's name (asyncio's Task.get_name). Valid until the name changes
 * or the task's future is freed.
 * Returns: the name, or NULL if it has none (a plain future has none), or
 * the handle is bad.
 * Errors: none.  Consumes: nothing. */
const char *aio_task_get_name(aio_loop *loop, aio_future task);

/* The task running now on this loop (asyncio's current_task).
 * Returns: its handle, borrowed: no reference is taken; the null handle
 * outside any task (or for a NULL loop).
 * Errors: none.  Consumes: nothing. */
aio_future aio_current_task(aio_loop *loop);

/* The task's own handle, from inside its coroutine.
 * Returns: the handle, borrowed (no reference is taken); an error handle if
 * t is not a task running its coroutine on this thread's loop.
 * Errors: -EINVAL (NULL t, no loop running here, or t is not one of its
 * pending tasks).  Consumes: nothing. */
aio_future aio_task_handle(const aio_task *t);

/* The loop of a task, for use inside its coroutine.
 * Returns: the loop running on this thread (NULL for a NULL task, or when no
 * loop is running here).  Errors: none.  Consumes: nothing. */
aio_loop *aio_task_loop(const aio_task *t);

/* Number of tasks not yet finished (asyncio: len(all_tasks())).
 * Returns: the count; 0 for NULL.  Errors: none.  Consumes: nothing. */
size_t aio_loop_pending_tasks(const aio_loop *loop);

/* asyncio.run: create a loop, run coroutine fn on a copy of the frame until
 * it finishes, cancel and finish every task it left behind, close the loop.
 * Use aio_run(fn, &frame) for the common case.
 * SIGINT cancels the main task, a second one ends the process, and the
 * run then returns -EINTR (graceful shutdown: aio/signal.h, which also has
 * aio_run_coro_ex for SIGTERM and the loop's options).
 * Returns: the coroutine's status (0, or its error: AIO_ECANCELLED if it
 * ended cancelled) and its result in *result if result is not NULL.
 * Errors: -EINVAL (NULL fn, a NULL frame with a size), -ENOMEM,
 * or the loop creation's (-EMFILE, ...); AIO_ERUNNING (a loop runs on this
 * thread: asyncio.run's RuntimeError); -EINTR (the main task ended
 * cancelled after SIGINT); and aio_run_until_complete's: AIO_EDEADLOCK (the
 * main task waits for something nothing can complete), AIO_ESTOPPED (it
 * called aio_loop_stop before it finished).
 * Consumes: nothing (the frame is copied). */
int aio_run_coro(aio_coro_fn fn, const void *frame, size_t frame_size, aio_value *result);
/* aio_run(fn, &frame) or aio_run(fn): aio_run_coro with the frame's size
 * from its type (as aio_create_task), no result.
 * Returns: the coroutine's status.  Errors: as aio_run_coro.
 * Consumes: nothing. */
#define aio_run(...) AIO__CAT(aio__run_, AIO__HAS_FRAME(__VA_ARGS__))(__VA_ARGS__)
#define aio__run_0(fn) aio_run_coro((fn), (const void *)0, 0, (aio_value *)0)
#define aio__run_1(fn, ...) aio_run_coro((fn), (__VA_ARGS__), AIO__FRAME_SIZE(__VA_ARGS__), (aio_value *)0)

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for (a same-name macro over each function, so &fn still
 * works); the wrong one of the two is a compile error. */
#ifndef AIO_BUILDING
#define aio_create_task_sized(x, ...) aio_create_task_sized(AIO__LOOP(x), __VA_ARGS__)
#define aio_task_cancel(x, ...) aio_task_cancel(AIO__LOOP(x), __VA_ARGS__)
#define aio_task_set_name(x, ...) aio_task_set_name(AIO__LOOP(x), __VA_ARGS__)
#define aio_task_get_name(x, ...) aio_task_get_name(AIO__LOOP(x), __VA_ARGS__)
#define aio_current_task(x) aio_current_task(AIO__LOOP(x))
#define aio_task_cancelling(t) aio_task_cancelling(AIO__CTASK_ONLY(t))
#define aio_task_uncancel(t) aio_task_uncancel(AIO__TASK_ONLY(t))
#define aio_task_handle(t) aio_task_handle(AIO__CTASK_ONLY(t))
#define aio_task_loop(t) aio_task_loop(AIO__CTASK_ONLY(t))
#define aio_loop_pending_tasks(x) aio_loop_pending_tasks(AIO__CLOOP(x))
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_TASK_H */
