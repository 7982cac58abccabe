/* libaio — waiting on several futures: wait, wait_for, gather, shield,
 * as_completed (asyncio's combinators, minus their known traps).
 *
 * Each call returns a new future (owned by the caller, to await or release)
 * and works from a coroutine (AIO_AWAIT) or from plain C
 * (aio_run_until_complete). Each takes a loop or, inside a coroutine, the
 * task `t`.
 *
 * Children are future handles: plain futures, sleeps, or tasks. To wait on
 * a coroutine, wrap it where you pass it, as asyncio does implicitly:
 *     aio_future kids[2] = {aio_create_task(t, a, &fa), aio_create_task(t, b, &fb)};
 *     AIO_AWAIT(t, aio_gather(t, kids, 2, f->results, 0));
 * A task not yet started that is cancelled (wait_for with a timeout <= 0, a
 * cancelled gather) never runs its body.
 *
 * References: gather, wait_for and shield consume the caller's reference to
 * each child (like AIO_AWAIT), on every path, failure included (the
 * ownership rule, aio/future.h); wait and as_completed do not (you look at
 * the children afterwards: release them yourself).
 *
 * Children must belong to the same loop: another loop's handle, a stale or
 * a null one makes the call return an error handle (AIO_EFOREIGN,
 * AIO_ESTALE, AIO_ENULL); the good children's references are consumed all
 * the same, and a pending child nobody else holds is cancelled.
 */
#ifndef AIO_COMBINATORS_H
#define AIO_COMBINATORS_H

#include <math.h>

#include "aio/future.h"
#include "aio/coro_impl.h"
#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* No timeout. */
#define AIO_FOREVER INFINITY

typedef enum aio_return_when {
    AIO_ALL_COMPLETED = 0,
    AIO_FIRST_COMPLETED = 1,
    AIO_FIRST_EXCEPTION = 2, /* a failed child (not a cancelled one), else all */
} aio_return_when;

/* asyncio.wait: completes when `when` is met or `timeout` seconds have
 * passed (AIO_FOREVER: never; <= 0: after one look). It never cancels a
 * child, and never fails because of one: look at each with aio_future_done
 * / aio_future_result, or sort them with aio_wait_partition. Its result
 * carries nothing (AIO_NONE): count with aio_wait_partition when you
 * resume, as asyncio computes its done and pending sets then (a count taken
 * when the wait completed could miss children done since). Duplicates
 * count once. Cancelling the returned future stops the wait only.
 * Returns: a future (the caller owns one reference) that completes with
 * AIO_NONE, or an error handle.
 * Errors: -EINVAL for n == 0, NULL futs, a bad `when`, a NaN timeout (or a
 * NULL loop, or n >= 2^31); -ENOMEM; bad child handles as above;
 * AIO_ECLOSED; AIO_EINREPORT (from the report handler).
 * Consumes: nothing (the children stay yours). */
aio_future aio_wait_on(aio_loop *loop, const aio_future *futs, size_t n, double timeout,
                       aio_return_when when);
#define aio_wait(x, futs, n, timeout, when) aio_wait_on(AIO__LOOP(x), (futs), (n), (timeout), (when))

/* Reorder futs in place, stably: done ones first, then pending ones (what
 * asyncio.wait's done and pending sets tell).
 * Returns: how many entries are done (a handle passed twice counts twice).
 * Errors: the first bad handle's code (the bad-handle codes, aio/future.h;
 * a bad handle is sorted with the done ones, and the whole array is still
 * partitioned), -EINVAL (NULL loop, or NULL futs with n > 0).
 * Consumes: nothing. */
int aio_wait_partition(aio_loop *loop, aio_future *futs, size_t n);

/* asyncio.wait_for: the child's outcome, or AIO_ETIMEDOUT after `timeout`
 * seconds. On timeout the child is cancelled and wait_for completes only once
 * the child has really finished (its cleanup may overrun the deadline). If
 * the child still completed with a result or an error of its own, that real
 * outcome wins over AIO_ETIMEDOUT. With timeout <= 0 a pending child is
 * cancelled at once (a task that never started never runs). AIO_FOREVER: no
 * timer at all. Cancelling the returned future (or the task awaiting it)
 * cancels the child, waits for it, and always ends cancelled: an outer
 * cancellation is never swallowed. A child done already gives its outcome
 * at once.
 * Returns: a future (the caller owns one reference) with the child's
 * outcome, or failing with AIO_ETIMEDOUT; or an error handle.
 * Errors: -EINVAL (NaN timeout, NULL loop), -ENOMEM, AIO_ECLOSED,
 * AIO_EINREPORT (from the report handler), a bad handle's code.
 * Consumes: the reference to `fut`, on every path (the ownership rule,
 * aio/future.h; a pending child nobody else holds is cancelled on failure). */
aio_future aio_wait_for_on(aio_loop *loop, aio_future fut, double timeout);
#define aio_wait_for(x, fut, timeout) aio_wait_for_on(AIO__LOOP(x), (fut), (timeout))

/* One child's outcome in a gather. */
typedef struct aio_outcome {
    int err;         /* 0, AIO_ECANCELLED, or the child's error */
    aio_value value; /* the child's result when err == 0 */
} aio_outcome;

enum {
    /* asyncio's return_exceptions=True: every child's outcome is stored in
     * `results`, and the gather completes with 0 once all are done. */
    AIO_GATHER_RETURN_ERRORS = 1,
    /* Opt-in (not asyncio's default): on the first failure, cancel every
     * child still pending before the gather fails with that error. */
    AIO_GATHER_CANCEL_ON_ERROR = 2,
};

/* asyncio.gather: completes with .u = n once every child is done, with
 * results[i] holding child i's outcome (argument order, whatever the
 * completion order). `results` (n entries, may be NULL) must stay valid
 * until the gather is done; it is never written after that.
 * Without AIO_GATHER_RETURN_ERRORS the first child to fail (or be
 * cancelled) makes the gather fail with that error at once; AS IN ASYNCIO
 * THE OTHER CHILDREN KEEP RUNNING unless AIO_GATHER_CANCEL_ON_ERROR is set.
 * A cancelled child ends the gather cancelled (asyncio instead fails it
 * with a CancelledError, so that its cancelled() is false): C has one code,
 * AIO_ECANCELLED, for both, and a future failed with AIO_ECANCELLED but not
 * cancelled would be a state nothing else has. The awaiting task tells "a
 * child was cancelled" from "I was cancelled" by aio_task_cancelling(t),
 * which is 0 in the first case.
 * Cancelling the gather cancels every child not yet done; the gather then
 * ends cancelled once they have finished, whatever the flags (a gather's own
 * cancellation always propagates). A pending gather always accepts the
 * cancel, even when its children have all completed and their outcomes are
 * still on the way (asyncio refuses then; we keep "pending" meaning
 * "cancellable"). n == 0 completes at once with 0 results.
 * The same handle may appear several times. Memory: one allocation of O(n),
 * nothing per child.
 * Returns: a future (the caller owns one reference) completing with .u = n,
 * or failing with the first child's error (or cancelled), as above; or an
 * error handle.
 * Errors: -EINVAL (NULL futs with n > 0, unknown flags, n >= 2^31, a NULL
 * loop), -ENOMEM, AIO_ECLOSED, AIO_EINREPORT (from the report handler), bad
 * handles (the good ones are consumed all the same).
 * Consumes: one reference per entry of futs, on every path (the ownership
 * rule, aio/future.h), but for n >= 2^31, taken as garbage: nothing is
 * read. */
aio_future aio_gather_on(aio_loop *loop, const aio_future *futs, size_t n, aio_outcome *results,
                         unsigned flags);
#define aio_gather(x, futs, n, results, flags) aio_gather_on(AIO__LOOP(x), (futs), (n), (results), (flags))

/* aio_gather_of(loop_or_task, results, flags, fut1, fut2, ...): aio_gather
 * of the futures listed, without a local array (asyncio.gather(*aws)):
 *     AIO_AWAIT(t, aio_gather_of(t, f->res, 0, aio_sleep(t, 1), aio_create_task(t, work)));
 * `results` needs as many entries as futures are listed (or NULL).
 * Returns: as aio_gather.  Errors: as aio_gather.
 * Consumes: one reference per future listed, as aio_gather. */
#define aio_gather_of(x, results, flags, ...)                                                                \
    aio_gather_on(AIO__LOOP(x), (const aio_future[]){__VA_ARGS__},                                           \
                  sizeof((aio_future[]){__VA_ARGS__}) / sizeof(aio_future), (results), (flags))

/* asyncio.shield: a future with the child's outcome; cancelling it (or the
 * task awaiting it) does not cancel the child, which keeps running. A child
 * done already gives its outcome at once.
 * Returns: a future (the caller owns one reference), or an error handle.
 * Errors: -EINVAL (NULL loop), -ENOMEM, AIO_ECLOSED, AIO_EINREPORT (from the
 * report handler), a bad handle's code.
 * Consumes: the reference to `fut`, on every path; the child is never
 * cancelled, failure included (it runs on, unowned: aio/future.h). */
aio_future aio_shield_on(aio_loop *loop, aio_future fut);
#define aio_shield(x, fut) aio_shield_on(AIO__LOOP(x), (fut))

/* asyncio.as_completed, as an iterator that fits C:
 *     aio_future it = aio_as_completed(t, kids, n, timeout);
 *     for (f->k = 0; f->k < n; f->k++) {
 *         AIO_AWAIT(t, aio_as_completed_next(t, it));
 *         if (AIO_ERR(t) < 0) break;          // AIO_ETIMEDOUT
 *         size_t i = AIO_RESULT(t).u;          // index into kids, done
 *     }
 *     aio_future_release(loop, it);
 * `it` itself completes (result n) once every child has been handed out.
 * Each _next returns a future completing with the index of the next child
 * to finish (in completion order), or failing with AIO_ETIMEDOUT once the
 * overall timeout has passed; after all n, -ENOENT. Children are not
 * consumed.
 * Returns: aio_as_completed: the iterator `it` (the caller owns one
 * reference); aio_as_completed_next: a new future (the caller owns one
 * reference) completing with .u = the next index, or failing with
 * AIO_ETIMEDOUT (or AIO_ECANCELLED if `it` is cancelled); either an error
 * handle on failure.
 * Errors: aio_as_completed: as aio_wait (-EINVAL for n == 0, NULL futs, a
 * NaN timeout, n >= 2^31 or a NULL loop; -ENOMEM; bad child handles;
 * AIO_ECLOSED; AIO_EINREPORT). aio_as_completed_next: -ENOENT (all n handed
 * out already), AIO_ETIMEDOUT or AIO_ECANCELLED (`it` ended so), -EINVAL
 * (`it` is not an as_completed iterator), -ENOMEM, the bad-handle codes of
 * `it`.
 * Consumes: nothing (neither the children nor `it`). */
aio_future aio_as_completed_on(aio_loop *loop, const aio_future *futs, size_t n, double timeout);
#define aio_as_completed(x, futs, n, timeout) aio_as_completed_on(AIO__LOOP(x), (futs), (n), (timeout))
aio_future aio_as_completed_next_on(aio_loop *loop, aio_future it);
#define aio_as_completed_next(x, it) aio_as_completed_next_on(AIO__LOOP(x), (it))

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for (a same-name macro over each function, so &fn still
 * works); the wrong one of the two is a compile error. */
#ifndef AIO_BUILDING
#define aio_wait_partition(x, ...) aio_wait_partition(AIO__LOOP(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_COMBINATORS_H */
