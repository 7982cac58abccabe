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
 *      nothing to consume.
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
 * the carried code for an error handle, -EINVAL for a NULL loop.
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

/* A new pending future, owned by the caller. aio_future_new(x) takes a loop
 * or, inside a coroutine, the task `t`. On failure (AIO_ECLOSED, -ENOMEM) an
 * error handle. */
aio_future aio_future_new_on(aio_loop *loop);
#define aio_future_new(loop_or_task) aio_future_new_on(AIO__LOOP(loop_or_task))

/* 0 for a real handle (even a stale one), the carried code for an error
 * handle, AIO_ENULL for the null handle. Needs no loop. */
int aio_future_check(aio_future f);

/* 1 or 0, or a negative code. */
int aio_future_done(aio_loop *loop, aio_future f);
int aio_future_cancelled(aio_loop *loop, aio_future f);

/* asyncio's result(): 0 and *out = the result (out may be NULL);
 * AIO_ENOTDONE if pending; AIO_ECANCELLED if cancelled; otherwise the error
 * the future failed with (which then counts as retrieved). */
int aio_future_result(aio_loop *loop, aio_future f, aio_value *out);

/* asyncio's exception(): 0 if it completed with a result, its error if it
 * failed (now retrieved), AIO_ECANCELLED, or AIO_ENOTDONE. */
int aio_future_error(aio_loop *loop, aio_future f);

/* Complete the future. Its done callbacks and awaiters are scheduled to run
 * in the next iteration, never from inside these calls.
 * Errors: AIO_EDONE (already done or cancelled), AIO_EISTASK (a task is
 * completed only by its coroutine), -EINVAL (set_error with err >= 0, or with
 * AIO_ECANCELLED: use aio_future_cancel). */
int aio_future_set_result(aio_loop *loop, aio_future f, aio_value v);
int aio_future_set_error(aio_loop *loop, aio_future f, int err);

/* Cancel: 1 if it was pending and is now cancelled (or, for a task, if the
 * cancellation was requested), 0 if it was already done. `msg` (may be NULL)
 * must outlive the future: it is kept by pointer (typically a literal).
 * A cancel that returns 0 on a future that failed does NOT count as
 * retrieving its error: it is still reported as never retrieved unless read
 * (aio_future_error). asyncio counts that cancel() as handling the error;
 * here a cancel that came too late has not seen it, and silence would hide
 * a real failure.
 * Errors: -ENOMEM (a message needs a table the loop allocates on first use:
 * nothing was cancelled), bad handle codes. */
int aio_future_cancel(aio_loop *loop, aio_future f, const char *msg);

/* The message given to the cancel that cancelled f, or NULL. */
const char *aio_future_cancel_message(aio_loop *loop, aio_future f);

/* Call cb(loop, f, arg) once f is done, in registration order, one iteration
 * after completion (at once in the next iteration if f is already done).
 * Errors: -EINVAL (NULL cb), -ENOMEM, bad handle codes. */
int aio_future_add_done_callback(aio_loop *loop, aio_future f, aio_done_callback cb, void *arg);

/* Remove every registration of (cb, arg) not yet scheduled; returns how many
 * were removed (0 after completion: the callbacks are already scheduled). */
int aio_future_remove_done_callback(aio_loop *loop, aio_future f, aio_done_callback cb, void *arg);

/* 1 if the handle is a task, 0 if a plain future, or a bad handle code. */
int aio_future_is_task(aio_loop *loop, aio_future f);

/* Take one more reference; returns f (or an error handle), so that
 * AIO_AWAIT(t, aio_future_retain(loop, f)) keeps f usable afterwards. */
aio_future aio_future_retain(aio_loop *loop, aio_future f);

/* Drop one reference. 0, AIO_ENOREF if none is left to drop, or a bad
 * handle code. A failed future whose error nobody retrieved is reported
 * ("Future exception was never retrieved") when its last reference goes. */
int aio_future_release(aio_loop *loop, aio_future f);

/* A future that completes with `result` after `delay` seconds (asyncio's
 * sleep). Negative delays count as 0; a delay of 0 yields to the loop for
 * exactly one iteration. Takes a loop or a task. Errors (as an error handle):
 * -EINVAL for NaN or infinite delays, AIO_ECLOSED, -ENOMEM. Cancelling the
 * future (or the task awaiting it) removes its timer at once. */
aio_future aio_sleep_on(aio_loop *loop, double delay, aio_value result);
#define aio_sleep(loop_or_task, delay) aio_sleep_on(AIO__LOOP(loop_or_task), (delay), AIO_NONE)
#define aio_sleep_value(loop_or_task, delay, value)                                                \
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
