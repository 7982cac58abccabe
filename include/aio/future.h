/* libaio — futures (asyncio.Future).
 *
 * A future lives in its loop's futures table; you hold a handle (aio_future).
 * States: pending -> done with a result | done with an error | cancelled.
 * Completion is terminal.
 *
 * THE OWNERSHIP RULE (every call of the library obeys it):
 *   1. Every call that creates a future (aio_future_new, aio_sleep,
 *      aio_create_task, aio_gather, ...) gives the caller one reference.
 *      Drop it with aio_future_release(), or hand it to a consuming call.
 *   2. A call documented as consuming a reference ("Consumes:" in its
 *      comment: AIO_AWAIT, aio_run_until_complete, aio_gather, aio_wait_for,
 *      aio_shield, ...) consumes it on EVERY path: success, a bad argument,
 *      out of memory, a bad sibling handle. A pending child that a failed
 *      combinator would have owned, and that nobody else holds a reference
 *      to, is cancelled, since nobody could await it any more (a task runs
 *      its cleanup and ends cancelled). aio_shield is the one exception: its
 *      child is never cancelled, failure included (it runs on, unowned).
 *   3. A call that returns an error handle has scheduled nothing and has
 *      already let go of what it consumed. A bad handle (null, stale,
 *      another loop's, an error handle) carries no reference: there is
 *      nothing to consume. A call refused with AIO_EINREPORT (made from the
 *      loop's report handler: aio/loop.h) changes nothing, and so consumes
 *      nothing either: the reference is still yours.
 *   4. Awaiting a handle you hold no reference to is a documented BORROW:
 *      it works as long as someone else's reference or the library keeps the
 *      future alive (a second task awaiting a future without
 *      aio_future_retain), and consumes nothing. To await a future and still
 *      use the handle afterwards, take one more reference first:
 *      AIO_AWAIT(t, aio_future_retain(t, f)).
 * A pending future is never freed under someone waiting on it; a future
 * whose last reference goes is freed once it is done, and the loop frees
 * all that remain when it closes.
 *
 * Every function returns a negative code for a bad handle: AIO_ENULL (null
 * handle), AIO_ESTALE (its slot was freed), AIO_EFOREIGN (another loop's),
 * the carried code for an error handle, -EINVAL for a NULL loop; and for
 * any handle of a closed loop AIO_ECLOSED, or AIO_EINREPORT when called
 * from the loop's report handler. "The bad-handle codes" below (and in the
 * other headers) means these.
 */
#ifndef AIO_FUTURE_H
#define AIO_FUTURE_H

#include "aio/coro_impl.h"
#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The null handle. */
#define AIO_FUTURE_NULL ((aio_future){0})

/* A new pending future, owned by the caller (asyncio's create_future()).
 * aio_future_new(x) takes a loop or, inside a coroutine, the task `t`.
 * Returns: the future (the caller owns one reference), or on failure an
 * error handle.
 * Errors: AIO_ECLOSED, AIO_EINREPORT (from the report handler), -ENOMEM,
 * -EINVAL (NULL loop).
 * Consumes: nothing. */
aio_future aio_future_new_on(aio_loop *loop);
#define aio_future_new(loop_or_task) aio_future_new_on(AIO__LOOP(loop_or_task))

/* Tell an error handle from a real one. Needs no loop.
 * Returns: 0 for a real handle (even a stale one, or another loop's).
 * Errors: the carried code for an error handle, AIO_ENULL for the null
 * handle.
 * Consumes: nothing. */
int aio_future_check(aio_future f);

/* asyncio's done() and cancelled(). A future woken by a primitive of
 * aio/sync.h or aio/queue.h is done.
 * Returns: 1 or 0.  Errors: the bad-handle codes (see the top).
 * Consumes: nothing. */
int aio_future_done(aio_loop *loop, aio_future f);
int aio_future_cancelled(aio_loop *loop, aio_future f);

/* asyncio's result(). For a wait of aio/sync.h or aio/queue.h this read is what takes
 * the lock, permit or item ("wake, then take"), and decides the outcome.
 * Returns: 0 and *out = the result (out may be NULL).
 * Errors: AIO_ENOTDONE if pending; AIO_ECANCELLED if cancelled; otherwise
 * the error the future failed with (which then counts as retrieved); the
 * bad-handle codes.
 * Consumes: nothing. */
int aio_future_result(aio_loop *loop, aio_future f, aio_value *out);

/* asyncio's exception(). Reads the outcome as aio_future_result does.
 * Returns: 0 if it completed with a result, its error if it failed (now
 * retrieved), AIO_ECANCELLED if it was cancelled.
 * Errors: AIO_ENOTDONE (pending), the bad-handle codes.
 * Consumes: nothing. */
int aio_future_error(aio_loop *loop, aio_future f);

/* Complete the future (asyncio's set_result() and set_exception()). Its
 * done callbacks and awaiters are scheduled to run in the next iteration,
 * never from inside these calls.
 * Returns: 0.
 * Errors: AIO_EDONE (already done or cancelled), AIO_EISTASK (a task is
 * completed only by its coroutine; so are a combinator's future, an executor
 * job's and a wait of aio/sync.h, by their owners), -EINVAL (set_error with
 * err >= 0, or with AIO_ECANCELLED: use aio_future_cancel), the bad-handle
 * codes.
 * Consumes: nothing. */
int aio_future_set_result(aio_loop *loop, aio_future f, aio_value v);
int aio_future_set_error(aio_loop *loop, aio_future f, int err);

/* Cancel (asyncio's cancel()). `msg` (may be NULL) must outlive the
 * future: it is kept by pointer (typically a literal).
 * A cancel that returns 0 on a future that failed does NOT count as
 * retrieving its error: it is still reported as never retrieved unless read
 * (aio_future_error). asyncio counts that cancel() as handling the error;
 * here a cancel that came too late has not seen it, and silence would hide
 * a real failure.
 * Returns: 1 if it was pending and is now cancelled (or, for a task, if the
 * cancellation was requested), 0 if it was already done.
 * Errors: -ENOMEM (a message needs a table the loop allocates on first use:
 * nothing was cancelled), the bad-handle codes.
 * Consumes: nothing. */
int aio_future_cancel(aio_loop *loop, aio_future f, const char *msg);

/* The message given to the cancel that cancelled f.
 * Returns: the message, or NULL (none given, f not cancelled, or a bad
 * handle).  Errors: none.  Consumes: nothing. */
const char *aio_future_cancel_message(aio_loop *loop, aio_future f);

/* Call cb(loop, f, arg) once f is done, in registration order, one iteration
 * after completion (at once in the next iteration if f is already done)
 * (asyncio's add_done_callback).
 * Returns: 0.
 * Errors: -EINVAL (NULL cb), -ENOMEM, the bad-handle codes.
 * Consumes: nothing (the callback holds f alive until it has run). */
int aio_future_add_done_callback(aio_loop *loop, aio_future f, aio_done_callback cb, void *arg);

/* Remove every registration of (cb, arg) not yet scheduled (asyncio's
 * remove_done_callback).
 * Returns: how many were removed (0 after completion: the callbacks are
 * already scheduled).
 * Errors: the bad-handle codes.  Consumes: nothing. */
int aio_future_remove_done_callback(aio_loop *loop, aio_future f, aio_done_callback cb, void *arg);

/* Whether the handle is a task's.
 * Returns: 1 if the handle is a task, 0 if a plain future.
 * Errors: the bad-handle codes.  Consumes: nothing. */
int aio_future_is_task(aio_loop *loop, aio_future f);

/* Take one more reference, so that AIO_AWAIT(t, aio_future_retain(loop, f))
 * keeps f usable afterwards.
 * Returns: f, or an error handle.
 * Errors: the bad-handle codes; -ENOMEM (rare: past 65,534 references the
 * counts move to a table, allocated then); -EOVERFLOW (2^32 - 1 references).
 * Consumes: nothing (it adds a reference, for the caller). */
aio_future aio_future_retain(aio_loop *loop, aio_future f);

/* Drop one reference. A failed future whose error nobody retrieved is
 * reported ("Future exception was never retrieved") when its last reference
 * goes.
 * Returns: 0.
 * Errors: AIO_ENOREF (no reference is left to drop: only the library's
 * holds), the bad-handle codes.
 * Consumes: one of the caller's references to f. */
int aio_future_release(aio_loop *loop, aio_future f);

/* A future that completes with `result` after `delay` seconds (asyncio's
 * sleep). Negative delays count as 0; a delay of 0 yields to the loop for
 * exactly one iteration. Takes a loop or a task. Cancelling the future (or
 * the task awaiting it) removes its timer at once. aio_sleep's result is
 * AIO_NONE; aio_sleep_value's is AIO_VALUE(value).
 * Returns: the future (the caller owns one reference), or an error handle.
 * Errors: -EINVAL for NaN or infinite delays (or a NULL loop), AIO_ECLOSED,
 * AIO_EINREPORT (from the report handler), -ENOMEM.
 * Consumes: nothing. */
aio_future aio_sleep_on(aio_loop *loop, double delay, aio_value result);
#define aio_sleep(loop_or_task, delay) aio_sleep_on(AIO__LOOP(loop_or_task), (delay), AIO_NONE)
#define aio_sleep_value(loop_or_task, delay, value)                                                          \
    aio_sleep_on(AIO__LOOP(loop_or_task), (delay), AIO_VALUE(value))

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for (a same-name macro over each function, so &fn still
 * works); the wrong one of the two is a compile error. */
#ifndef AIO_BUILDING
#define aio_future_done(x, ...) aio_future_done(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_cancelled(x, ...) aio_future_cancelled(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_result(x, ...) aio_future_result(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_error(x, ...) aio_future_error(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_set_result(x, ...) aio_future_set_result(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_set_error(x, ...) aio_future_set_error(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_cancel(x, ...) aio_future_cancel(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_cancel_message(x, ...) aio_future_cancel_message(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_add_done_callback(x, ...) aio_future_add_done_callback(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_remove_done_callback(x, ...) aio_future_remove_done_callback(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_retain(x, ...) aio_future_retain(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_release(x, ...) aio_future_release(AIO__LOOP(x), __VA_ARGS__)
#define aio_future_is_task(x, ...) aio_future_is_task(AIO__LOOP(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_FUTURE_H */
