/* libaio — stackless coroutines (protothreads-style).
 *
 * A coroutine is a function whose state lives in its *frame*, a struct of
 * yours that the task owns. LOCAL VARIABLES DO NOT SURVIVE AN AWAIT: the
 * function returns at every suspension and is called again to resume. Keep
 * in the frame whatever must live across an await.
 *
 * The typed form (recommended): AIO_CORO(name, frame type) declares the
 * coroutine and gives its body the frame as `f`, already typed:
 *
 *     struct hello { int n; };
 *
 *     AIO_CORO(hello, struct hello) {
 *         AIO_BEGIN(t);
 *         puts("Hello");
 *         AIO_AWAIT(t, aio_sleep(t, 1.0));
 *         if (AIO_ERR(t) == AIO_ECANCELLED) { ... clean up ... }
 *         f->n++;
 *         puts("World");
 *         AIO_RETURN(t, f->n);
 *         AIO_END(t);
 *     }
 *     ...
 *     aio_spawn(t, hello, &(struct hello){.n = 1});   // frame type checked
 *
 * The untyped form is a plain function, for coroutines reached through
 * pointers or declared in headers:
 *
 *     static aio_status hello(aio_task *t, void *frame) {
 *         struct hello *f = frame;        // recomputed on every resume: fine
 *         AIO_BEGIN(t);
 *         ...
 *     }
 *     ...
 *     aio_create_task(t, hello, &(struct hello){0});  // size from the type
 *
 * A coroutine with no frame takes none: aio_create_task(t, fn), aio_run(fn).
 * A void pointer as the frame is a compile error (its size is unknown):
 * pass a typed pointer, or call aio_create_task_sized() with the size.
 *
 * The macros (`t` is the task the coroutine runs in):
 *   AIO_BEGIN(t)               first statement of the body.
 *   AIO_AWAIT(t, fut)          suspend until the future is done (at once if it
 *                              is). Afterwards AIO_ERR(t) is 0 or its error
 *                              (AIO_ECANCELLED, ...) and AIO_RESULT(t) its
 *                              result. Consumes the reference to `fut`.
 *   AIO_AWAIT_OK(t, fut)       AIO_AWAIT, then finish the coroutine with the
 *                              awaited error if there is one (asyncio's
 *                              default: an exception propagates).
 *   AIO_AWAIT_OR(t, fut, lbl)  AIO_AWAIT, then `goto lbl` if it failed: the C
 *                              idiom of one cleanup label (AIO_ERR(t) still
 *                              holds the error there).
 *   AIO_AWAIT_CORO(t, fn, c)   run coroutine fn inline, its frame embedded in
 *                              yours (declared with AIO_CHILD): no task, no
 *                              allocation. Afterwards AIO_ERR/AIO_RESULT hold
 *                              what it returned.
 *   AIO_YIELD(t)               let every other ready callback run once
 *                              (asyncio's sleep(0)).
 *   AIO_RETURN(t, x)           finish with result AIO_VALUE(x).
 *   AIO_FAIL(t, err)           finish with error `err` (< 0).
 *   AIO_END(t)                 last statement: falling off it returns 0.
 *   AIO_ERR(t), AIO_RESULT(t)  the outcome of the last await; hold until the
 *                              next await.
 *   AIO_CANCEL_MESSAGE(t)      after an await that saw AIO_ECANCELLED: the
 *                              message given to the cancel (or NULL).
 *
 * Cancellation is delivered at an await: AIO_ERR(t) reads AIO_ECANCELLED
 * there, the coroutine may clean up (and even await more), and the task ends
 * cancelled however it finishes (AIO_RETURN included) unless it calls
 * aio_task_uncancel(t) to carry on, or AIO_FAIL()s with another error.
 *
 * Two continuation implementations (protothreads' lc-addrlabels / lc-switch):
 *   - labels-as-values (GCC, Clang; the default there): `switch` statements
 *     in coroutine bodies work, and so do several awaits on one line;
 *   - switch/case (any C11 compiler, or define AIO_CORO_SWITCH before
 *     including): every await is a `case` label, so an await must not sit
 *     inside a `switch` statement of yours (the compiler then reports a
 *     duplicate or misplaced case). Several awaits on one line work.
 * In both, do not declare variables with initialisers between two awaits and
 * expect them to be initialised after the second: they are locals.
 *
 * Each macro has its doc block (what it returns, its errors, what it
 * consumes) at its definition below.
 *
 * The layouts and functions under these macros are in aio/coro_impl.h: not
 * API, and versioned by AIO_ABI_VERSION.
 */
#ifndef AIO_CORO_H
#define AIO_CORO_H

#include "aio/coro_impl.h"
#include "aio/errors.h"
#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The status / result of the last await (or inline coroutine), inside the
 * coroutine: read them before the next await. AIO_ERR is the loop's (one
 * coroutine runs at a time), AIO_RESULT the task's.
 * Returns: AIO_ERR: 0 or the negative code (an int); AIO_RESULT: the result
 * (an aio_value, assignable); AIO_CANCEL_MESSAGE: after an await that saw
 * AIO_ECANCELLED, the message given to the cancel (or NULL), else NULL.
 * Errors: none.  Consumes: nothing. */
#define AIO_ERR(t) ((void)AIO__CTASK_ONLY(t), aio__running->err)
#define AIO_RESULT(t) (AIO__TASK_ONLY(t)->aio__u.v)
#define AIO_CANCEL_MESSAGE(t) (AIO_ERR(t) == AIO_ECANCELLED ? (const char *)AIO_RESULT(t).p : (const char *)0)

/* A cancel the coroutine handles (asyncio's `except CancelledError:` that
 * does not re-raise). Right after an await: true if it ended with
 * AIO_ECANCELLED, and then the cancellations delivered to the task so far
 * are undone (as aio_task_uncancel), so that the task finishes with what it
 * returns instead of ending cancelled; false otherwise (nothing changes;
 * also for a task other than the one running).
 *     AIO_AWAIT(t, aio_sleep(t, 10));
 *     if (AIO_CANCEL_HANDLED(t))
 *         AIO_RETURN(t, 42);              // ends with 42, not cancelled
 * A cancel requested after that await (still pending) is not undone.
 * Returns: 1 (handled: the cancellations are undone) or 0.
 * Errors: none.  Consumes: nothing. */
int aio_task_cancel_handled(aio_task *t);
#define AIO_CANCEL_HANDLED(t) aio_task_cancel_handled(AIO__TASK_ONLY(t))

/* Storage for an inline child coroutine inside your frame:
 *     struct parent { AIO_CHILD(struct child) sub; };
 * Set the child's inputs in `f->sub.frame` before AIO_AWAIT_CORO.
 * Returns: a struct type (it declares a member: no run-time effect).
 * Errors: none.  Consumes: nothing. */
#define AIO_CHILD(frame_type)                                                                                \
    struct {                                                                                                 \
        uint32_t aio__lc;                                                                                    \
        frame_type frame;                                                                                    \
    }

/* Declare a typed coroutine `name` (static) whose body sees its frame as
 * `frame_type *f` and its task as `aio_task *t`. Spawn it with aio_spawn(),
 * which checks the frame's type; it is also a plain aio_coro_fn. The frame
 * type may be an anonymous struct: AIO_CORO(w, struct { int n; }).
 * Returns: the declarations and the head of the definition, which your
 * body `{ ... }` completes (no run-time effect).
 * Errors: none.  Consumes: nothing. */
#define AIO_CORO(name, frame_type)                                                                           \
    typedef frame_type aio__frame_of_##name;                                                                 \
    static aio_status aio__body_of_##name(aio_task *t, aio__frame_of_##name *f AIO__MAYBE_UNUSED);           \
    static aio_status name(aio_task *t, void *aio__frame) {                                                  \
        return aio__body_of_##name(t, (aio__frame_of_##name *)aio__frame);                                   \
    }                                                                                                        \
    static aio_status aio__body_of_##name(aio_task *t, aio__frame_of_##name *f AIO__MAYBE_UNUSED)

/* First statement of the body: resume where the last await left off.
 * Returns: nothing (a statement); called again after it finished, the
 * coroutine returns at once (AIO_FINISHED).
 * Errors: none.  Consumes: nothing. */
#define AIO_BEGIN(t)                                                                                         \
    uint32_t *const aio__lcp = AIO__LCP(AIO__TASK_ONLY(t));                                                  \
    if (*aio__lcp == AIO__LC_FINISHED)                                                                       \
        return AIO_FINISHED;                                                                                 \
    AIO__LC_RESUME(aio__lcp)

/* Suspend until the future is done (asyncio's await): at once, without
 * suspending, if it is done already (a sleep(0) yields once) or the handle
 * is bad. A cancellation of the task requested while it ran lands here if
 * the future is pending (the future is cancelled, then waited for); one
 * requested while it waits cancels the future too.
 * Returns: nothing (a statement); afterwards AIO_ERR(t) is 0 or the error,
 * and AIO_RESULT(t) the future's result (after AIO_ECANCELLED, .p is the
 * cancel message: AIO_CANCEL_MESSAGE).
 * Errors (in AIO_ERR(t)): the future's error; AIO_ECANCELLED (it was
 * cancelled, or the task was); the bad-handle codes (aio/future.h), at
 * once; AIO_EDEADLOCK (t awaits its own handle); -ENOMEM (rare: the future
 * already has 65,534 awaiters and callbacks, and the table its counts then
 * move to cannot be allocated).
 * Consumes: the reference to `fut`, on every path (the ownership rule,
 * aio/future.h); awaiting a handle you hold no reference to borrows it. */
#define AIO_AWAIT(t, fut) AIO__AWAIT((t), (fut), __COUNTER__)

/* AIO_AWAIT, then finish the coroutine with the awaited error if there is
 * one (asyncio's default: an exception propagates).
 * Returns: nothing (a statement) when the await succeeded; else it returns
 * from the coroutine, as AIO_FAIL(t, AIO_ERR(t)) does.
 * Errors: AIO_AWAIT's, which become the coroutine's (AIO_ECANCELLED: the
 * task ends cancelled).
 * Consumes: the reference to `fut`, as AIO_AWAIT. */
#define AIO_AWAIT_OK(t, fut)                                                                                 \
    do {                                                                                                     \
        AIO_AWAIT(t, fut);                                                                                   \
        if (AIO_ERR(t) < 0)                                                                                  \
            AIO_FAIL(t, AIO_ERR(t));                                                                         \
    } while (0)

/* AIO_AWAIT, then `goto label` if it failed: the C idiom of one cleanup
 * label (AIO_ERR(t) still holds the error there).
 * Returns: nothing (a statement); AIO_ERR(t) and AIO_RESULT(t) as AIO_AWAIT.
 * Errors: AIO_AWAIT's.  Consumes: the reference to `fut`, as AIO_AWAIT. */
#define AIO_AWAIT_OR(t, fut, label)                                                                          \
    do {                                                                                                     \
        AIO_AWAIT(t, fut);                                                                                   \
        if (AIO_ERR(t) < 0)                                                                                  \
            goto label;                                                                                      \
    } while (0)

/* Let every other ready callback run once (asyncio's sleep(0)). A
 * cancellation of the task lands here.
 * Returns: nothing (a statement); afterwards AIO_ERR(t) is 0 and
 * AIO_RESULT(t) AIO_NONE, or the error.
 * Errors (in AIO_ERR(t)): AIO_ECANCELLED (the task was cancelled), -ENOMEM
 * (it could not queue itself: it goes on at once, without yielding).
 * Consumes: nothing. */
#define AIO_YIELD(t) AIO__YIELD((t), __COUNTER__)

/* Run coroutine fn inline, its frame embedded in yours (`child` points to
 * storage declared with AIO_CHILD: &f->sub): no task, no allocation. It
 * runs in this task: its awaits are this task's, and a cancellation lands
 * at them.
 * Returns: nothing (a statement, which suspends while fn does); afterwards
 * AIO_ERR(t) and AIO_RESULT(t) hold what fn returned (AIO_RETURN, AIO_FAIL
 * or AIO_END).
 * Errors (in AIO_ERR(t)): fn's.  Consumes: nothing. */
#define AIO_AWAIT_CORO(t, fn, child) AIO__AWAIT_CORO((t), (fn), (child), __COUNTER__)

/* Finish with result AIO_VALUE(x) (asyncio: return x). A task that had a
 * cancellation delivered and not undone (aio_task_uncancel,
 * AIO_CANCEL_HANDLED) ends cancelled all the same.
 * Returns: from the coroutine: a task's own coroutine completes the task;
 * an inline child's parent goes on with AIO_ERR(t) == 0 and AIO_RESULT(t)
 * the value.
 * Errors: none.  Consumes: nothing. */
#define AIO_RETURN(t, x) return aio__finish((t), aio__lcp, 0, AIO_VALUE(x))

/* Finish with error `err` (< 0; a positive errno value is negated:
 * AIO_FAIL(t, EIO) means -EIO; 0 finishes as AIO_END does). AIO_ECANCELLED
 * ends the task cancelled; any other error ends it failed, a cancellation
 * delivered before included (asyncio: raise).
 * Returns: from the coroutine: a task's own coroutine completes the task
 * with err; an inline child's parent goes on with AIO_ERR(t) == err.
 * Errors: none of its own.  Consumes: nothing. */
#define AIO_FAIL(t, err) return aio__finish((t), aio__lcp, (err), AIO_NONE)

/* Last statement of the body: falling off it finishes with 0 and AIO_NONE
 * (cancelled, if a cancellation was delivered and not undone).
 * Returns: from the coroutine, as AIO_RETURN(t, AIO_NONE).
 * Errors: none.  Consumes: nothing. */
#define AIO_END(t)                                                                                           \
    AIO__LC_CLOSE                                                                                            \
    return aio__finish((t), aio__lcp, 0, AIO_NONE)

#ifdef __cplusplus
}
#endif
#endif /* AIO_CORO_H */
