/* asyncio.Lock on a wait queue.
 *
 * States: held (taken by a task), reserved (woken: one waiter was woken and
 * will take it when it resumes), or free. Invariants: held and reserved
 * never both; a free lock with waiters is reserved for the head at once.
 * A condition's waiters re-take the lock in the same queue (condition.c):
 * they carry their condition in their data and are woken with its taker. */
#include "core/task.h"
#include "sync/sync.h"

#include <stdio.h>

static aio_lock *of_taker(aio__taker *tk) { return AIO__CONTAINER(tk, aio_lock, aio__tk); }

static int lock_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)loop;
    (void)idx;
    aio_lock *lock = of_taker(tk);
    lock->aio__woken = 0;
    lock->aio__held = 1;
    out->i = 1;
    return 0;
}

static void lock_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio_lock *lock = of_taker(tk);
    lock->aio__woken = 0;
    aio__lock_wake_next(loop, lock); /* the reservation goes to the next waiter */
}

/* A plain waiter leaves at once; a condition's stays to re-take the lock. */
static int lock_on_cancel(aio_loop *loop, aio__waitq *q, uint32_t idx, const char *msg) {
    (void)q;
    if (aio__waitq_data(loop, idx)->u == 0)
        return aio__waitq_cancel(loop, idx, msg);
    return aio__condition_relock_cancelled(loop, idx, msg);
}

static void lock_describe(aio_loop *loop, const aio__waitq *q, char *buf, size_t len) {
    (void)loop;
    const aio_lock *lock = AIO__CONTAINER(q, aio_lock, aio__q);
    snprintf(buf, len, "%s", lock->aio__held ? "held" : lock->aio__woken ? "passed on" : "free");
}

/* For the task dumps (aio/debug.h). */
static const aio__waitq_ops lock_q_ops = {
    .on_cancel = lock_on_cancel, .what = "lock", .describe = lock_describe};

int aio__lock_bind_slow(aio_loop *loop, aio_lock *lock) {
    int rc = aio__sync_bind(loop, &lock->aio__b);
    if (rc == 1) {
        static const aio__taker_ops tk_ops = {lock_take, lock_decline, NULL};
        lock->aio__tk.ops = &tk_ops;
        lock->aio__q.ops = &lock_q_ops;
        rc = 0;
    }
    return rc;
}

void aio__lock_wake_next(aio_loop *loop, aio_lock *lock) {
    if (lock->aio__held || lock->aio__woken || aio__waitq_empty(&lock->aio__q))
        return;
    aio_value data = *aio__waitq_data(loop, aio__waitq_head(&lock->aio__q));
    lock->aio__woken = 1;
    aio__waitq_wake(loop, &lock->aio__q, data.u ? aio__condition_relock_taker(data) : &lock->aio__tk);
}

/* Free, not reserved, nobody queued: a newcomer may have it at once. */
static bool free_for_newcomer(const aio_lock *lock) {
    return !lock->aio__held && !lock->aio__woken && aio__waitq_empty(&lock->aio__q);
}

int aio_lock_init(aio_lock *lock) {
    if (!lock)
        return -EINVAL;
    *lock = (aio_lock)AIO_LOCK_INIT;
    return 0;
}

aio_future aio_lock_acquire(aio_loop *loop, aio_lock *lock) {
    if (!lock)
        return aio__error_handle(-EINVAL);
    int rc = aio__lock_bind(loop, lock);
    if (rc < 0)
        return aio__error_handle(rc);
    uint32_t idx = 0;
    if (free_for_newcomer(lock)) {
        rc = aio__waitq_new_woken(loop, &lock->aio__tk, AIO_NONE, &idx); /* free: reserved for us */
        if (rc == 0)
            lock->aio__woken = 1;
    } else {
        rc = aio__waitq_push(loop, &lock->aio__q, &idx);
    }
    return aio__sync_future(loop, rc, idx);
}

int aio_lock_acquire_nowait(aio_loop *loop, aio_lock *lock) {
    if (!lock)
        return -EINVAL;
    int rc = aio__lock_bind(loop, lock);
    if (rc < 0)
        return rc;
    if (!free_for_newcomer(lock))
        return -EAGAIN;
    lock->aio__held = 1;
    return 0;
}

int aio__lock_acquire_now(aio_task *t, aio_lock *lock) {
    int rc = aio_lock_acquire_nowait(aio__running_loop(), lock);
    return rc == -EAGAIN ? 0 : aio__task_served_now(t, rc, rc == 0 ? AIO_VALUE(1) : AIO_NONE);
}

int aio_lock_release(aio_loop *loop, aio_lock *lock) {
    if (!lock)
        return -EINVAL;
    int rc = aio__lock_bind(loop, lock);
    if (rc < 0)
        return rc;
    if (!lock->aio__held)
        return AIO_ENOTLOCKED;
    lock->aio__held = 0;
    aio__lock_wake_next(loop, lock);
    return 0;
}

int aio_lock_locked(const aio_lock *lock) { return lock ? lock->aio__held : -EINVAL; }
