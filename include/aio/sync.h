/* libaio — synchronisation primitives: asyncio's Event, Lock, Semaphore,
 * BoundedSemaphore, Condition and Barrier; what they share is said here
 * for the queues of aio/queue.h too.
 *
 * Where they live: in your memory (a struct in a frame, or a static),
 * initialised with its init call or static initialiser (AIO_LOCK_INIT,
 * ...). Nothing is allocated per wait; a queue allocates its storage,
 * which grows geometrically (aio_queue_destroy frees it).
 *
 * One loop: a primitive binds to the loop of its first use. Using it with
 * another loop fails with AIO_EFOREIGN, after its loop closed with
 * AIO_ECLOSED; to use it with a new loop, initialise it again. Every call
 * below that takes a loop takes, inside a coroutine, its task `t` instead.
 *
 * Lifetime: a primitive must outlive every task waiting on it (a waiter
 * points into it). Keep it in a static, or in the frame of a task that
 * outlives its waiters (e.g. the parent that gathers them). A queue's
 * aio_queue_destroy refuses (-EBUSY) while tasks wait on it.
 *
 * Waiting: calls that may wait (acquire, wait, get, put, join) return a
 * future, owned by the caller: AIO_AWAIT it. Outcome 0 means you have it
 * now: the lock, the permit, the item. What you waited for is handed over
 * when your task resumes, never earlier ("wake, then take"): a task
 * cancelled after it was woken but before it ran sees AIO_ECANCELLED, and
 * the lock, permit or item goes to the next waiter, so nothing is lost and
 * nothing deadlocks (CPython's bpo-27585 and gh-90155). The same holds for
 * a call that succeeds at once: it is taken when the future is awaited
 * (or read by aio_future_result / aio_run_until_complete); releasing the
 * future unread gives it up, as if the call never happened. Awaiting it
 * does not suspend, so a cancellation requested meanwhile lands at the
 * next await that does.
 *
 * Fair: waiters are served first come, first served; a newcomer never
 * overtakes a task that waits, or that was woken and has not run yet.
 *
 * Errors every call taking a loop may return (as a code, or an error
 * handle): -EINVAL (NULL loop or primitive), AIO_EFOREIGN, AIO_ECLOSED, and
 * -ENOMEM for a call that waits. None of these calls consumes anything.
 */
#ifndef AIO_SYNC_H
#define AIO_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "aio/coro_impl.h"
#include "aio/sync_impl.h"
#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Not API: the loop a primitive is bound to (at its first use), and that
 * loop's tag (a new loop at the same address is another loop). */
typedef struct aio__bound {
    aio_loop *loop;
    uint32_t tag;
} aio__bound;

/* ---- Event (asyncio.Event) ---------------------------------------------- */

/* A flag tasks wait for. The fields are the library's. */
typedef struct aio_event {
    aio__bound aio__b;
    aio__waitq aio__q;
    aio__taker aio__tk;
    uint32_t aio__woken; /* waiters woken, not yet resumed */
    uint8_t aio__set;
} aio_event;

/* A clear event, for a static or a frame. */
#define AIO_EVENT_INIT                                                                                       \
    { {0, 0}, {0, 0, 0, 0}, {0}, 0, 0 }

/* Initialise a clear event (unbound).
 * Returns: 0.  Errors: -EINVAL (NULL).  Consumes: nothing. */
int aio_event_init(aio_event *ev);

/* Wait until the event is set (asyncio's Event.wait). At once if it is set.
 * A waiter woken by aio_event_set returns even if the event was cleared
 * before it ran.
 * Returns: a future whose result is 1 (asyncio's True), or an error handle.
 * Errors: see the top of this file.  Consumes: nothing. */
aio_future aio_event_wait(aio_loop *loop, aio_event *ev);

/* Set the flag and wake every waiter (asyncio's Event.set). Setting a set
 * event does nothing.
 * Returns: 0.  Errors: see the top.  Consumes: nothing. */
int aio_event_set(aio_loop *loop, aio_event *ev);

/* Clear the flag (asyncio's Event.clear): later waits wait again.
 * Returns: 0.  Errors: -EINVAL (NULL).  Consumes: nothing. */
int aio_event_clear(aio_event *ev);

/* asyncio's Event.is_set.
 * Returns: 1 or 0.  Errors: -EINVAL (NULL).  Consumes: nothing. */
int aio_event_is_set(const aio_event *ev);

/* ---- Lock (asyncio.Lock) ------------------------------------------------ */

/* A mutual exclusion lock, not owned by a task: any task may release it.
 * The fields are the library's. */
typedef struct aio_lock {
    aio__bound aio__b;
    aio__waitq aio__q;
    aio__taker aio__tk;
    uint8_t aio__held;  /* acquired (taken) */
    uint8_t aio__woken; /* reserved for a waiter that has not resumed yet */
} aio_lock;

/* An unlocked lock, for a static or a frame. */
#define AIO_LOCK_INIT                                                                                        \
    { {0, 0}, {0, 0, 0, 0}, {0}, 0, 0 }

/* Initialise an unlocked lock (unbound).
 * Returns: 0.  Errors: -EINVAL (NULL).  Consumes: nothing. */
int aio_lock_init(aio_lock *lock);

/* Acquire the lock (asyncio's Lock.acquire): at once if it is free and
 * nobody waits, else after the waiters before you.
 * Returns: a future; outcome 0 (result 1) means you hold the lock.
 * Errors: see the top; AIO_ECANCELLED at the await: you do not hold it.
 * Consumes: nothing. */
aio_future aio_lock_acquire(aio_loop *loop, aio_lock *lock);

/* Acquire only if that needs no wait: the lock is free and nobody waits
 * (threading's acquire(blocking=False); asyncio has none).
 * Returns: 0 (you hold it now).  Errors: -EAGAIN (it would wait), and see
 * the top.  Consumes: nothing. */
int aio_lock_acquire_nowait(aio_loop *loop, aio_lock *lock);

/* Release the lock (asyncio's Lock.release), waking the first waiter.
 * Returns: 0.  Errors: AIO_ENOTLOCKED (not acquired), and see the top.
 * Consumes: nothing. */
int aio_lock_release(aio_loop *loop, aio_lock *lock);

/* asyncio's Lock.locked: 1 while acquired. Between a release and the
 * resume of the waiter it woke, 0 (as in asyncio), though an acquire would
 * still wait behind that waiter.
 * Returns: 1 or 0.  Errors: -EINVAL (NULL).  Consumes: nothing. */
int aio_lock_locked(const aio_lock *lock);

/* ---- Semaphore and BoundedSemaphore ------------------------------------- */

/* A counter of permits (asyncio.Semaphore); a bounded one refuses to be
 * released past its initial value (asyncio.BoundedSemaphore). The fields
 * are the library's. */
typedef struct aio_semaphore {
    aio__bound aio__b;
    aio__waitq aio__q;
    aio__taker aio__tk;
    uint32_t aio__value; /* free permits (those reserved for woken waiters are not) */
    uint32_t aio__woken; /* waiters woken with a permit reserved, not yet resumed */
    uint32_t aio__bound_value;
    uint8_t aio__bounded;
} aio_semaphore;

/* A semaphore with `value` permits (value >= 0), for a static or a frame. */
#define AIO_SEMAPHORE_INIT(value)                                                                            \
    { {0, 0}, {0, 0, 0, 0}, {0}, (value), 0, 0, 0 }
/* A bounded one: releasing it past `value` fails. */
#define AIO_BOUNDED_SEMAPHORE_INIT(value)                                                                    \
    { {0, 0}, {0, 0, 0, 0}, {0}, (value), 0, (value), 1 }

/* Initialise a semaphore with `value` permits (unbound).
 * Returns: 0.  Errors: -EINVAL (NULL, or value < 0: asyncio's ValueError;
 * or above 2^32 - 1).  Consumes: nothing. */
int aio_semaphore_init(aio_semaphore *sem, long value);
/* The same for a bounded semaphore (asyncio.BoundedSemaphore).
 * Returns: 0.  Errors: as aio_semaphore_init.  Consumes: nothing. */
int aio_bounded_semaphore_init(aio_semaphore *sem, long value);

/* Take a permit (asyncio's Semaphore.acquire): at once if one is free and
 * nobody waits or was woken, else in turn.
 * Returns: a future; outcome 0 (result 1) means you hold a permit.
 * Errors: see the top; AIO_ECANCELLED at the await: you hold none.
 * Consumes: nothing. */
aio_future aio_semaphore_acquire(aio_loop *loop, aio_semaphore *sem);

/* Take a permit only if that needs no wait (aio_semaphore_locked is 0).
 * Returns: 0 (you hold one now).  Errors: -EAGAIN (it would wait), and see
 * the top.  Consumes: nothing. */
int aio_semaphore_acquire_nowait(aio_loop *loop, aio_semaphore *sem);

/* Give a permit back (asyncio's Semaphore.release), waking a waiter. A
 * plain semaphore may be released more often than acquired.
 * Returns: 0.  Errors: -EOVERFLOW (a bounded semaphore released too many
 * times; or 2^32 - 1 permits), and see the top.  Consumes: nothing. */
int aio_semaphore_release(aio_loop *loop, aio_semaphore *sem);

/* asyncio's Semaphore.locked: 1 if an acquire would wait (no free permit,
 * or tasks wait or were woken before you).
 * Returns: 1 or 0.  Errors: -EINVAL (NULL).  Consumes: nothing. */
int aio_semaphore_locked(const aio_semaphore *sem);

/* The free permits (not counting those reserved for woken waiters).
 * Returns: the count, >= 0.  Errors: -EINVAL (NULL).  Consumes: nothing. */
long aio_semaphore_value(const aio_semaphore *sem);

/* ---- Condition (asyncio.Condition) --------------------------------------- */

/* A condition variable over a lock: its own, or one shared with other
 * conditions and tasks. The fields are the library's. */
typedef struct aio_condition {
    aio__bound aio__b;
    aio__waitq aio__q;   /* waiting to be notified */
    aio__taker aio__tk;  /* re-takes the lock for a notified waiter */
    aio_lock *aio__lock; /* the shared lock, or NULL: aio__own */
    aio_lock aio__own;
} aio_condition;

/* A condition with its own lock, for a static or a frame. */
#define AIO_CONDITION_INIT                                                                                   \
    { {0, 0}, {0, 0, 0, 0}, {0}, 0, AIO_LOCK_INIT }

/* Initialise a condition over `lock` (shared; it must outlive the
 * condition), or over a lock of its own if `lock` is NULL.
 * Returns: 0.  Errors: -EINVAL (NULL cond).  Consumes: nothing. */
int aio_condition_init(aio_condition *cond, aio_lock *lock);

/* The condition's lock: acquire, release, locked (as aio_lock_*).
 * Returns: as aio_lock_acquire, aio_lock_release, aio_lock_locked.
 * Errors: as those.  Consumes: nothing. */
aio_future aio_condition_acquire(aio_loop *loop, aio_condition *cond);
int aio_condition_release(aio_loop *loop, aio_condition *cond);
int aio_condition_locked(const aio_condition *cond);

/* Release the lock, wait to be notified, then take the lock again
 * (asyncio's Condition.wait). You must hold the lock. The lock is yours
 * again when the await returns, however it ends: notified (0) or
 * cancelled (AIO_ECANCELLED, as asyncio re-acquires before it raises);
 * the other errors mean nothing happened and you still hold it. A
 * notified waiter cancelled before it resumed passes its notification on
 * (gh-112202); one cancelled before it was notified passes nothing on
 * (asyncio may wake another waiter for nothing then).
 * Returns: a future; outcome 0 (result 1), or AIO_ECANCELLED.
 * Errors: AIO_ENOTLOCKED (you do not hold the lock), and see the top.
 * Consumes: nothing. */
aio_future aio_condition_wait(aio_loop *loop, aio_condition *cond);

/* Wake up to n waiters (asyncio's Condition.notify): they re-take the lock
 * in turn once you release it. You must hold the lock.
 * Returns: how many were notified (0 if none waited).
 * Errors: -EINVAL (n < 0), AIO_ENOTLOCKED, and see the top.
 * Consumes: nothing. */
int aio_condition_notify(aio_loop *loop, aio_condition *cond, int n);

/* Wake every waiter (asyncio's Condition.notify_all).
 * Returns: how many.  Errors: as aio_condition_notify.  Consumes: nothing. */
int aio_condition_notify_all(aio_loop *loop, aio_condition *cond);

/* asyncio's Condition.wait_for(predicate), as an inline coroutine (no task,
 * no allocation): put its frame in yours with AIO_CHILD, fill it in, and
 *     AIO_AWAIT_CORO(t, aio_condition_wait_for, &f->wf);
 * It evaluates predicate(arg) and waits until that is nonzero. Afterwards
 * AIO_ERR(t) is 0 and AIO_RESULT(t).i the predicate's last value (as
 * asyncio returns it), or the error of a wait (AIO_ENOTLOCKED if the
 * predicate was false and you do not hold the lock; AIO_ECANCELLED, the
 * lock held again). A predicate already true returns without waiting.
 * Returns: the coroutine's status, for AIO_AWAIT_CORO; the outcome is in
 * AIO_ERR(t) and AIO_RESULT(t), as above.
 * Errors: in AIO_ERR(t): aio_condition_wait's, and -EINVAL (NULL frame,
 * cond or predicate).
 * Consumes: nothing. */
typedef struct aio_condition_wait_for_frame {
    aio_condition *cond;
    int (*predicate)(void *arg);
    void *arg;
    int aio__value;
} aio_condition_wait_for_frame;
aio_status aio_condition_wait_for(aio_task *t, void *frame);

/* ---- Barrier (asyncio.Barrier) ------------------------------------------ */

/* `parties` tasks wait for each other. The fields are the library's. */
typedef struct aio_barrier {
    aio__bound aio__b;
    aio__waitq aio__fill;  /* arrived in this cycle, waiting for the rest */
    aio__waitq aio__block; /* arrived while the barrier drains or resets */
    aio__taker aio__tk_pass, aio__tk_broken;
    uint32_t aio__parties;
    uint32_t aio__passing;  /* released waiters that have not resumed yet */
    uint32_t aio__breaking; /* waiters woken to fail, not resumed yet */
    uint8_t aio__state;     /* filling, draining, resetting, broken */
} aio_barrier;

/* A barrier for `parties` tasks (parties >= 1), for a static or a frame. */
#define AIO_BARRIER_INIT(parties)                                                                            \
    { {0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0}, {0}, (parties), 0, 0, 0 }

/* Initialise a barrier for `parties` tasks.
 * Returns: 0.  Errors: -EINVAL (NULL, or parties < 1: asyncio's
 * ValueError).  Consumes: nothing. */
int aio_barrier_init(aio_barrier *b, long parties);

/* Wait until `parties` tasks wait (asyncio's Barrier.wait); a task that
 * arrives while the last cycle's tasks are still leaving waits for the
 * next cycle.
 * Returns: a future; its result .i is the task's arrival index in the
 * cycle, 0 .. parties - 1 (the one that fills the barrier gets parties - 1
 * and returns first).
 * Errors: AIO_EBROKEN (the barrier is broken, or was reset or aborted
 * while waiting: asyncio's BrokenBarrierError), and see the top.
 * Consumes: nothing. */
aio_future aio_barrier_wait(aio_loop *loop, aio_barrier *b);

/* Return the barrier to its empty state (asyncio's Barrier.reset): tasks
 * waiting get AIO_EBROKEN; it fills again once they all left.
 * Returns: 0.  Errors: see the top.  Consumes: nothing. */
int aio_barrier_reset(aio_loop *loop, aio_barrier *b);

/* Break the barrier (asyncio's Barrier.abort): every waiting task and every
 * later wait gets AIO_EBROKEN, until aio_barrier_reset.
 * Returns: 0.  Errors: see the top.  Consumes: nothing. */
int aio_barrier_abort(aio_loop *loop, aio_barrier *b);

/* asyncio's Barrier.parties, n_waiting (tasks waiting in the filling
 * cycle) and broken.
 * Returns: the value (>= 0).  Errors: -EINVAL (NULL).  Consumes: nothing. */
long aio_barrier_parties(const aio_barrier *b);
long aio_barrier_n_waiting(const aio_barrier *b);
int aio_barrier_broken(const aio_barrier *b);

/* ---- Fast forms, inside a coroutine ---------------------------------------
 *
 *   AIO_LOCK_ACQUIRE(t, lock)      AIO_AWAIT(t, aio_lock_acquire(t, lock))
 *   AIO_SEMAPHORE_ACQUIRE(t, sem)  AIO_AWAIT(t, aio_semaphore_acquire(t, sem))
 *   AIO_QUEUE_PUT, AIO_QUEUE_GET   the same for queues (aio/queue.h)
 *
 * Each does what the await beside it does, and leaves AIO_ERR(t) and
 * AIO_RESULT(t) as it would; only cheaper: when the primitive can serve at
 * once, it does so with no future at all (the _nowait call). Either way a
 * call served at once does not suspend, so a cancellation requested
 * meanwhile lands at the next await that does (as in asyncio), and what
 * was served is yours. The lock, queue or semaphore argument is evaluated
 * twice, `item` once. */
#define AIO_LOCK_ACQUIRE(t, lock)                                                                            \
    AIO__SYNC_NOW_OR_AWAIT(t, aio__lock_acquire_now(AIO__TASK_ONLY(t), (lock)),                              \
                           aio_lock_acquire(AIO__LOOP(t), (lock)))
#define AIO_SEMAPHORE_ACQUIRE(t, sem)                                                                        \
    AIO__SYNC_NOW_OR_AWAIT(t, aio__semaphore_acquire_now(AIO__TASK_ONLY(t), (sem)),                          \
                           aio_semaphore_acquire(AIO__LOOP(t), (sem)))
/* Not API: served at once (1, the outcome set as an await sets it), or 0:
 * await the future instead. */
#define AIO__SYNC_NOW_OR_AWAIT(t, now, fut)                                                                  \
    do {                                                                                                     \
        if (!(now))                                                                                          \
            AIO_AWAIT(t, fut);                                                                               \
    } while (0)
int aio__lock_acquire_now(aio_task *t, aio_lock *lock);
int aio__semaphore_acquire_now(aio_task *t, aio_semaphore *sem);

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for. */
#ifndef AIO_BUILDING
#define aio_event_wait(x, ...) aio_event_wait(AIO__LOOP(x), __VA_ARGS__)
#define aio_event_set(x, ...) aio_event_set(AIO__LOOP(x), __VA_ARGS__)
#define aio_lock_acquire(x, ...) aio_lock_acquire(AIO__LOOP(x), __VA_ARGS__)
#define aio_lock_acquire_nowait(x, ...) aio_lock_acquire_nowait(AIO__LOOP(x), __VA_ARGS__)
#define aio_lock_release(x, ...) aio_lock_release(AIO__LOOP(x), __VA_ARGS__)
#define aio_semaphore_acquire(x, ...) aio_semaphore_acquire(AIO__LOOP(x), __VA_ARGS__)
#define aio_semaphore_acquire_nowait(x, ...) aio_semaphore_acquire_nowait(AIO__LOOP(x), __VA_ARGS__)
#define aio_semaphore_release(x, ...) aio_semaphore_release(AIO__LOOP(x), __VA_ARGS__)
#define aio_condition_acquire(x, ...) aio_condition_acquire(AIO__LOOP(x), __VA_ARGS__)
#define aio_condition_release(x, ...) aio_condition_release(AIO__LOOP(x), __VA_ARGS__)
#define aio_condition_wait(x, ...) aio_condition_wait(AIO__LOOP(x), __VA_ARGS__)
#define aio_condition_notify(x, ...) aio_condition_notify(AIO__LOOP(x), __VA_ARGS__)
#define aio_condition_notify_all(x, ...) aio_condition_notify_all(AIO__LOOP(x), __VA_ARGS__)
#define aio_barrier_wait(x, ...) aio_barrier_wait(AIO__LOOP(x), __VA_ARGS__)
#define aio_barrier_reset(x, ...) aio_barrier_reset(AIO__LOOP(x), __VA_ARGS__)
#define aio_barrier_abort(x, ...) aio_barrier_abort(AIO__LOOP(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_SYNC_H */
