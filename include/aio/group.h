/* libaio — structured concurrency: task groups (asyncio.TaskGroup) and
 * timeout scopes (asyncio.timeout, asyncio.timeout_at).
 *
 * Both are *scopes*: a stretch of one coroutine, opened by a BEGIN and
 * closed by a JOIN (groups) or an END (timeouts), whose state lives in the
 * coroutine's frame. C has no `finally`, so a scope is also closed for you
 * however the coroutine ends inside it (AIO_RETURN, AIO_FAIL, a cancelled
 * AIO_AWAIT_OK): a group's children are cancelled and awaited, the task
 * completes only after them, and every reference the scope held is dropped.
 * Where asyncio differs: a coroutine that ends inside a task group cancels
 * the group's children, where asyncio's `return` inside `async with` waits
 * for them (in C the join is a statement, and skipping it is an early
 * exit). A group closed by its coroutine's end reports one code: the
 * coroutine's own outcome, or AIO_EGROUP if a child failed meanwhile (the
 * error list goes with the frame). Groups and timeouts record no exception
 * chains: codes only, an inner group's failure being AIO_EGROUP in the
 * outer list.
 *
 * A task group (asyncio.TaskGroup, Python 3.11+, with 3.15's cancel()):
 *
 *     struct main_frame { aio_group g; int sum; };
 *
 *     AIO_CORO(main_coro, struct main_frame) {
 *         AIO_BEGIN(t);
 *         AIO_GROUP_BEGIN(t, &f->g);                  // async with TaskGroup() as g:
 *         aio_group_spawn(t, &f->g, worker, &(struct worker){.id = 1, .sum = &f->sum});
 *         aio_group_spawn(t, &f->g, worker, &(struct worker){.id = 2, .sum = &f->sum});
 *         AIO_AWAIT_OR(t, aio_sleep(t, 1.0), join);   // the body: leave it on an error
 *     join:
 *         AIO_GROUP_JOIN(t, &f->g);                   // the end of the `async with`
 *         if (AIO_ERR(t) == AIO_EGROUP) {             // asyncio's ExceptionGroup
 *             size_t n;
 *             const aio_group_error *e = aio_group_errors(&f->g, &n);
 *             for (size_t i = 0; i < n; i++)
 *                 printf("task failed: %s\n", aio_strerror(e[i].err));
 *         }
 *         AIO_END(t);
 *     }
 *
 * The rules are asyncio's:
 *   - The join waits for every child. Children may spawn more children
 *     into the group, also while the parent waits in the join.
 *   - A child that fails with an error other than AIO_ECANCELLED makes the
 *     group cancel the children still running AND the parent task (its
 *     current await sees AIO_ECANCELLED: go to the join). The join then
 *     reports AIO_EGROUP and withdraws that cancellation (the parent's
 *     cancelling count is what it was before); aio_group_errors() lists
 *     every child's error, in the order they were seen.
 *   - A child cancelled on its own (aio_task_cancel) is not an error.
 *   - The parent cancelled from outside: its children are cancelled (at the
 *     join at the latest) and the join reports AIO_ECANCELLED. Errors win
 *     over cancellation: then AIO_EGROUP, and the cancellation is delivered
 *     again at the parent's next await (asyncio: uncancel() and cancel()).
 *     A cancellation from outside is never swallowed: it is counted
 *     (aio_task_cancelling), and the group only withdraws its own.
 *   - aio_group_cancel() ends the group early on purpose: children and
 *     parent are cancelled, and the join reports 0 (Python 3.15).
 *   - Spawning while the group shuts down (after a failure or a cancel)
 *     fails with AIO_ESHUTDOWN; after the join, with AIO_EDONE.
 *
 * A timeout scope (asyncio.timeout): a deadline on a stretch of the
 * coroutine, not on one future. On expiry the task is cancelled at its
 * current await (AIO_ERR(t) == AIO_ECANCELLED there: leave the body), and
 * the END turns that AIO_ECANCELLED into AIO_ETIMEDOUT:
 *
 *     AIO_TIMEOUT_BEGIN(t, &f->to, 0.5);              // async with timeout(0.5):
 *     AIO_AWAIT_OR(t, aio_sleep(t, 10), out);
 *     AIO_AWAIT_OR(t, aio_sleep(t, 10), out);
 *     out:
 *     AIO_TIMEOUT_END(t, &f->to);                     // AIO_ERR(t): AIO_ETIMEDOUT
 *
 * The END reads the body's outcome from AIO_ERR(t) (the last await's
 * status: jump to the END right after a failed await) and leaves the
 * scope's outcome there: AIO_ETIMEDOUT if this scope's expiry is what
 * cancelled the task, anything else unchanged. A cancel from outside stays
 * a cancel, even when the deadline passes too. Nested scopes behave as in
 * asyncio 3.12+: each one converts only the cancellation it caused.
 *
 * Storage: an aio_group or aio_timeout lives in the coroutine's frame and
 * starts zeroed (a frame from a compound literal or designated initialiser
 * is). BEGIN makes a new scope in it (asyncio's TaskGroup() and `async
 * with` in one), so BEGIN on a scope that has ended makes a new scope in
 * that storage (asyncio refuses to enter one object twice); BEGIN on one
 * still open is refused (-EALREADY). Do not copy, zero or reuse the memory
 * of an open scope. Everything else (children, errors) the library
 * allocates and frees itself.
 *
 * A cancellation that a group or a timeout caused is theirs to take back:
 * go to the JOIN or END with it, and do not AIO_CANCEL_HANDLED it (that
 * undoes every cancellation counted so far, an outer one included, and the
 * scope could then no longer tell them apart).
 */
#ifndef AIO_GROUP_H
#define AIO_GROUP_H

#include "aio/combinators.h" /* AIO_FOREVER */
#include "aio/coro.h"
#include "aio/future.h"
#include "aio/task.h"
#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One failure a group saw. */
typedef struct aio_group_error {
    aio_future task; /* the child that failed (kept valid until aio_group_clear, the
                        next BEGIN, or the parent's end), or AIO_FUTURE_NULL for
                        the body's own error (aio_group_fail) */
    int err;         /* its error */
} aio_group_error;

/* ---- storage (the library's fields; zero them before the first BEGIN) ---- */

/* What every scope starts with: how the library finds the task's open
 * scopes when the coroutine ends. */
struct aio__scope {
    struct aio__scope *aio__outer; /* the same task's next open scope, outwards */
    uint32_t aio__task;            /* the future slot of the task it belongs to */
    uint16_t aio__tag;             /* its loop's handle tag */
    uint8_t aio__kind;
    uint8_t aio__state;
    int aio__err;            /* an entry that failed: its error */
    uint8_t aio__cancelling; /* the task's cancelling count at entry */
    uint8_t aio__flags;
    uint16_t aio__spare;
};

struct aio__group_errors; /* the collected errors (src/scope/group.c) */

typedef struct aio_group {
    struct aio__scope aio__s;
    uint32_t aio__pending; /* children whose end the group has not seen yet */
    uint32_t aio__nkids, aio__capkids;
    uint32_t aio__lost; /* errors that could not be stored (out of memory) */
    int aio__body_err;  /* aio_group_fail's error */
    int aio__close_err; /* the coroutine's outcome while its end closes the group */
    aio_value aio__close_val;
    aio_future aio__join;  /* what the join waits on (the group's reference) */
    aio_future *aio__kids; /* children maybe still running */
    struct aio__group_errors *aio__errs;
} aio_group;

typedef struct aio_timeout {
    struct aio__scope aio__s;
    uint32_t aio__timer; /* its timer's slot, while one is armed */
    uint64_t aio__seq;   /* or its ready-queue entry, for a deadline already past */
    double aio__when;    /* the deadline in loop time (aio_loop_time); INFINITY: none */
} aio_timeout;

/* ---- task groups ---- */

/* Open a group tied to the running task `t` (asyncio's `async with
 * TaskGroup() as g`). A group aio_group_cancel()led before entry is
 * cancelled at once (its body at its first await).
 * Returns: 0.
 * Errors: -EINVAL (NULL g, or t is not the task running now: "cannot
 *   determine the parent task"), -EALREADY (g is open: "has already been
 *   entered"), -ENOMEM. After an error the group is not open: spawning into
 *   it and joining it report that error.
 * Consumes: nothing. A group joined before is first cleared (aio_group_clear). */
int aio_group_enter(aio_task *t, aio_group *g);
#define AIO_GROUP_BEGIN(t, g) aio_group_enter(AIO__TASK_ONLY(t), (g))

/* Start coroutine fn in the group (asyncio's TaskGroup.create_task), on a
 * copy of the frame as aio_create_task_sized does. Any task may spawn into
 * a group (a child into its own group included) while it is open.
 * Returns: the child's handle, BORROWED: valid until the child has ended
 *   and the group has seen it (longer if it failed: see aio_group_errors).
 *   To use it after that, take a reference of your own at once:
 *   aio_future_retain(t, h). Awaiting the borrowed handle is fine.
 * Errors: (as an error handle; nothing is started) -EINVAL (NULL g, a group
 *   never entered, a NULL fn), AIO_EFOREIGN (another loop's group),
 *   AIO_ESHUTDOWN (the group is shutting down: a child failed, or it was
 *   cancelled), AIO_EDONE (the group is finished), the entry's error if it
 *   failed, and aio_create_task_sized's.
 * Consumes: nothing. */
aio_future aio_group_create_task_sized(aio_loop *loop, aio_group *g, aio_coro_fn fn, const void *frame,
                                       size_t frame_size);
/* aio_group_spawn(loop_or_task, &g, coro, &frame): for a coroutine declared
 * with AIO_CORO (the frame's type is checked, as aio_spawn does). */
#define aio_group_spawn(x, g, coro, ...)                                                                     \
    aio_group_create_task_sized(AIO__LOOP(x), (g), (coro),                                         \
                                _Generic((__VA_ARGS__), aio__frame_of_##coro *: (__VA_ARGS__),     \
                                    const aio__frame_of_##coro *: (__VA_ARGS__)),                  \
                                sizeof(aio__frame_of_##coro))
/* aio_group_create_task(loop_or_task, &g, fn[, &frame]): the untyped form,
 * the frame's size from its type (as aio_create_task). */
#define aio_group_create_task(x, g, ...)                                                                     \
    AIO__CAT(aio__group_create_task_, AIO__HAS_FRAME(__VA_ARGS__))(x, g, __VA_ARGS__)
#define aio__group_create_task_0(x, g, fn)                                                                   \
    aio_group_create_task_sized(AIO__LOOP(x), (g), (fn), (const void *)0, 0)
#define aio__group_create_task_1(x, g, fn, ...)                                                              \
    aio_group_create_task_sized(AIO__LOOP(x), (g), (fn), (__VA_ARGS__), AIO__FRAME_SIZE(__VA_ARGS__))

/* End the group early on purpose (Python 3.15's TaskGroup.cancel()): cancel
 * the children still running and the parent task; the join then reports 0
 * (not AIO_ECANCELLED) and the parent's cancelling count is as before. Any
 * code may call it (a child, another task, a callback). Idempotent; on a
 * finished group it does nothing; on a group not entered yet it takes
 * effect at the entry.
 * Returns: 0.  Errors: -EINVAL (NULL loop or g), AIO_EFOREIGN.
 * Consumes: nothing. */
int aio_group_cancel(aio_loop *loop, aio_group *g);

/* The body leaves the group with its own error `err` (asyncio: an
 * exception raised inside `async with`): cancel the children still
 * running; the join then reports AIO_EGROUP, with err listed last (task:
 * AIO_FUTURE_NULL). Only the first call counts.
 * Returns: 0.
 * Errors: -EINVAL (NULL loop or g, err >= 0 or AIO_ECANCELLED: cancel the
 *   task instead), -EALREADY (the body's error is set already), and
 *   aio_group_create_task_sized's state errors (not open).
 * Consumes: nothing. */
int aio_group_fail(aio_loop *loop, aio_group *g, int err);

/* End of the group (asyncio's __aexit__), inside the coroutine that
 * entered it: waits until every child has ended (cancelling them first if
 * the parent is being cancelled), then sets AIO_ERR(t) to
 *   0              every child succeeded or was cancelled on its own, or
 *                  the group was aio_group_cancel()led;
 *   AIO_EGROUP     a child failed (or aio_group_fail): see aio_group_errors;
 *   AIO_ECANCELLED the parent was cancelled from outside (no errors);
 *   or the entry's error, -EINVAL (not entered / another task's group),
 *   AIO_EDONE (joined already).
 * May suspend (it is an await). */
#define AIO_GROUP_JOIN(t, g) AIO__GROUP_JOIN((t), (g), __COUNTER__)

/* The errors the group collected, in the order it saw them (children's,
 * then the body's own), and their number in *n (n may be NULL). Valid
 * until aio_group_clear, the next BEGIN on g, or the end of the task that
 * entered it; the order among children cancelled together follows their
 * ends.
 * Returns: the errors, or NULL (and *n = 0) when there are none.
 * Errors: none.  Consumes: nothing. */
const aio_group_error *aio_group_errors(const aio_group *g, size_t *n);

/* Drop the collected errors and the references to the failed children now
 * (else at the next BEGIN on g, or when the task that entered it ends).
 * Returns: 0.  Errors: -EINVAL (NULL loop or g), AIO_EFOREIGN, -EBUSY (the
 * group is open: join it first).  Consumes: nothing of yours (the errors'
 * task handles become stale unless you retained them). */
int aio_group_clear(aio_loop *loop, aio_group *g);

/* Children whose end the group has not seen yet (asyncio: len(g._tasks)).
 * Returns: their number; 0 for NULL.  Errors: none.  Consumes: nothing. */
size_t aio_group_pending(const aio_group *g);

/* ---- timeout scopes ---- */

/* Open a timeout scope in the running task `t` expiring `delay` seconds
 * from now (asyncio.timeout(delay)); AIO_FOREVER: no deadline (asyncio's
 * None); delay <= 0: expire at the first await.
 * Sets AIO_ERR(t) to 0: the body starts with no error (see AIO_TIMEOUT_END).
 * Returns: 0.
 * Errors: -EINVAL (NULL to, NaN delay, or t is not the task running now),
 *   -EALREADY (to is open), -ENOMEM. After an error the scope is not open
 *   and AIO_TIMEOUT_END reports the error.
 * Consumes: nothing. */
int aio_timeout_enter(aio_task *t, aio_timeout *to, double delay);
#define AIO_TIMEOUT_BEGIN(t, to, delay) aio_timeout_enter(AIO__TASK_ONLY(t), (to), (delay))

/* The same with an absolute deadline in loop time (asyncio.timeout_at;
 * aio_loop_time() is the clock); AIO_FOREVER: none.
 * Returns: 0.  Errors: as aio_timeout_enter (NaN when).  Consumes: nothing. */
int aio_timeout_enter_at(aio_task *t, aio_timeout *to, double when);
#define AIO_TIMEOUT_AT_BEGIN(t, to, when) aio_timeout_enter_at(AIO__TASK_ONLY(t), (to), (when))

/* End of the scope (asyncio's __aexit__), inside the coroutine that
 * entered it. Takes the body's outcome from AIO_ERR(t) and leaves the
 * scope's there: AIO_ETIMEDOUT if this scope expired and its cancellation
 * is the one that reached the body (AIO_ECANCELLED with no other cancel
 * requested meanwhile); otherwise AIO_ERR(t) unchanged. Withdraws its own
 * cancellation either way. A scope not open: -EINVAL (never entered, or
 * another task's), AIO_EDONE (ended already), or the entry's error. */
#define AIO_TIMEOUT_END(t, to) aio__timeout_end(AIO__TASK_ONLY(t), (to))

/* Move the deadline (asyncio's Timeout.reschedule): `when` in loop time,
 * AIO_FOREVER for none, a time already past: expire at the next await.
 * Returns: 0.
 * Errors: -EINVAL (NULL loop or to, NaN when, not entered), AIO_EFOREIGN,
 *   AIO_EDONE (the scope ended or expired: "Cannot change state of
 *   finished/expired Timeout"). Consumes: nothing. */
int aio_timeout_reschedule(aio_loop *loop, aio_timeout *to, double when);

/* The deadline in loop time (asyncio's when()).
 * Returns: the deadline; INFINITY for none, NAN for a scope never entered
 * (or whose entry failed, or NULL).  Errors: none.  Consumes: nothing. */
double aio_timeout_when(const aio_timeout *to);

/* Whether the deadline passed while the scope was open (asyncio's
 * expired()).
 * Returns: 1 if it did, else 0 (NULL included).  Errors: none.
 * Consumes: nothing. */
int aio_timeout_expired(const aio_timeout *to);

/* ---- under the macros (not API) ---- */
int aio__group_join_step(aio_task *t, aio_group *g, aio_future *wait_on);
void aio__timeout_end(aio_task *t, aio_timeout *to);

#define AIO__GROUP_JOIN(t, g, n)                                                                             \
    do {                                                                                                     \
        aio_future aio__join_on;                                                                             \
        while (aio__group_join_step(AIO__TASK_ONLY(t), (g), &aio__join_on))                                  \
            AIO__AWAIT((t), aio__join_on, n);                                                                \
    } while (0)

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for (a same-name macro over each function, so &fn still
 * works); the wrong one of the two is a compile error. */
#ifndef AIO_BUILDING
#define aio_group_create_task_sized(x, ...) aio_group_create_task_sized(AIO__LOOP(x), __VA_ARGS__)
#define aio_group_cancel(x, ...) aio_group_cancel(AIO__LOOP(x), __VA_ARGS__)
#define aio_group_fail(x, ...) aio_group_fail(AIO__LOOP(x), __VA_ARGS__)
#define aio_group_clear(x, ...) aio_group_clear(AIO__LOOP(x), __VA_ARGS__)
#define aio_timeout_reschedule(x, ...) aio_timeout_reschedule(AIO__LOOP(x), __VA_ARGS__)
#define aio_group_enter(t, g) aio_group_enter(AIO__TASK_ONLY(t), (g))
#define aio_timeout_enter(t, ...) aio_timeout_enter(AIO__TASK_ONLY(t), __VA_ARGS__)
#define aio_timeout_enter_at(t, ...) aio_timeout_enter_at(AIO__TASK_ONLY(t), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_GROUP_H */
