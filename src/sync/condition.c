/* asyncio.Condition on wait queues, by "wait morphing": a waiter queues on
 * the condition; notify() moves it, still pending, to the tail of the
 * lock's queue, where it re-takes the lock in turn (woken with the
 * condition's taker, which hands over the lock). No task wakes just to
 * queue again for the lock.
 *
 * A waiter's data is its condition's address, with bit 0 set once its wait
 * was cancelled. The lock is re-taken however the wait ends, as asyncio
 * does: a waiter cancelled while it waits to be notified moves to the
 * lock's queue at once; one cancelled while it waits for the lock stays
 * there; one cancelled after it was woken still takes (the taker's
 * `cancelled` hook). Each then ends AIO_ECANCELLED holding the lock. A
 * notified waiter that will not act on it (cancelled, or released unread)
 * passes the notification on to the next waiter (gh-112202). */
#include "sync/sync.h"

#include <stdint.h>

#define WAIT_CANCELLED UINT64_C(1)

static aio_condition *of_taker(aio__taker *tk) { return AIO__CONTAINER(tk, aio_condition, aio__tk); }
static aio_condition *of_data(aio_value d) { return (aio_condition *)(uintptr_t)(d.u & ~WAIT_CANCELLED); }
static aio_lock *lock_of(aio_condition *cond) { return cond->aio__lock ? cond->aio__lock : &cond->aio__own; }

aio__taker *aio__condition_relock_taker(aio_value data) { return &of_data(data)->aio__tk; }

/* A deferred cancellation's message, kept until the waiter completes
 * (lost if the per-slot extras cannot be allocated). */
static void keep_message(aio_loop *loop, uint32_t idx, const char *msg) {
    struct aio__extra *x = msg ? aio__extras(loop) : NULL;
    if (x)
        x[idx].cancel_msg = msg;
}

/* Notify: move up to n waiters to the lock's queue; the lock wakes its head
 * if it is free. Returns how many moved. */
static int notify_n(aio_loop *loop, aio_condition *cond, int n) {
    aio_lock *lock = lock_of(cond);
    int moved = 0;
    while (moved < n && !aio__waitq_empty(&cond->aio__q)) {
        aio__waitq_move(loop, aio__waitq_head(&cond->aio__q), &lock->aio__q);
        moved++;
    }
    aio__lock_wake_next(loop, lock);
    return moved;
}

/* The lock is handed over: the wait ends, notified or cancelled. */
static int cond_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    aio_lock *lock = lock_of(of_taker(tk));
    lock->aio__woken = 0;
    lock->aio__held = 1;
    if (aio__waitq_data(loop, idx)->u & WAIT_CANCELLED) {
        out->p = loop->fut.extras ? (void *)(uintptr_t)loop->fut.extras[idx].cancel_msg : NULL;
        return AIO_ECANCELLED;
    }
    out->i = 1;
    return 0;
}

/* Released unread: nobody takes the lock, nor acts on the notification. */
static void cond_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    aio_condition *cond = of_taker(tk);
    lock_of(cond)->aio__woken = 0;
    if (!(aio__waitq_data(loop, idx)->u & WAIT_CANCELLED))
        notify_n(loop, cond, 1);
    aio__lock_wake_next(loop, lock_of(cond));
}

/* Cancelled between the wake-up and its resume: it still takes the lock
 * (it is reserved for it now), but passes the notification on. */
static void cond_cancelled(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    aio_value *data = aio__waitq_data(loop, idx);
    if (!(data->u & WAIT_CANCELLED)) {
        data->u |= WAIT_CANCELLED;
        notify_n(loop, of_taker(tk), 1);
    }
}

/* Cancelled while waiting to be notified: on to re-take the lock. */
static int cond_on_cancel(aio_loop *loop, aio__waitq *q, uint32_t idx, const char *msg) {
    aio_condition *cond = AIO__CONTAINER(q, aio_condition, aio__q);
    aio_lock *lock = lock_of(cond);
    aio__waitq_data(loop, idx)->u |= WAIT_CANCELLED;
    keep_message(loop, idx, msg);
    aio__waitq_move(loop, idx, &lock->aio__q);
    aio__lock_wake_next(loop, lock);
    return 1;
}

int aio__condition_relock_cancelled(aio_loop *loop, uint32_t idx, const char *msg) {
    aio_value *data = aio__waitq_data(loop, idx);
    if (data->u & WAIT_CANCELLED)
        return 1; /* asked already: it ends cancelled once it has the lock */
    data->u |= WAIT_CANCELLED;
    keep_message(loop, idx, msg);
    notify_n(loop, of_data(*data), 1); /* it was notified: pass that on */
    return 1;
}

static const aio__waitq_ops cond_q_ops = {.on_cancel = cond_on_cancel, .what = "condition"};

static int cond_bind(aio_loop *loop, aio_condition *cond) {
    int rc = aio__sync_bind(loop, &cond->aio__b);
    if (rc == 1) {
        cond->aio__tk.take = cond_take;
        cond->aio__tk.decline = cond_decline;
        cond->aio__tk.cancelled = cond_cancelled;
        cond->aio__q.ops = &cond_q_ops;
        rc = 0;
    }
    return rc < 0 ? rc : aio__lock_bind(loop, lock_of(cond));
}

int aio_condition_init(aio_condition *cond, aio_lock *lock) {
    if (!cond)
        return -EINVAL;
    *cond = (aio_condition)AIO_CONDITION_INIT;
    cond->aio__lock = lock;
    return 0;
}

aio_future aio_condition_acquire(aio_loop *loop, aio_condition *cond) {
    if (!cond)
        return aio__error_handle(-EINVAL);
    int rc = cond_bind(loop, cond);
    return rc < 0 ? aio__error_handle(rc) : aio_lock_acquire(loop, lock_of(cond));
}

int aio_condition_release(aio_loop *loop, aio_condition *cond) {
    if (!cond)
        return -EINVAL;
    int rc = cond_bind(loop, cond);
    return rc < 0 ? rc : aio_lock_release(loop, lock_of(cond));
}

int aio_condition_locked(const aio_condition *cond) {
    if (!cond)
        return -EINVAL;
    return aio_lock_locked(cond->aio__lock ? cond->aio__lock : &cond->aio__own);
}

aio_future aio_condition_wait(aio_loop *loop, aio_condition *cond) {
    if (!cond)
        return aio__error_handle(-EINVAL);
    int rc = cond_bind(loop, cond);
    if (rc < 0)
        return aio__error_handle(rc);
    aio_lock *lock = lock_of(cond);
    if (!lock->aio__held)
        return aio__error_handle(AIO_ENOTLOCKED);
    uint32_t idx;
    if ((rc = aio__waitq_push(loop, &cond->aio__q, &idx)) < 0)
        return aio__error_handle(rc); /* nothing happened: the lock is still held */
    aio__waitq_data(loop, idx)->u = (uint64_t)(uintptr_t)cond;
    lock->aio__held = 0;
    aio__lock_wake_next(loop, lock);
    return aio__fut_handle(loop, idx);
}

int aio_condition_notify(aio_loop *loop, aio_condition *cond, int n) {
    if (!cond || n < 0)
        return -EINVAL;
    int rc = cond_bind(loop, cond);
    if (rc < 0)
        return rc;
    if (!lock_of(cond)->aio__held)
        return AIO_ENOTLOCKED;
    return notify_n(loop, cond, n);
}

int aio_condition_notify_all(aio_loop *loop, aio_condition *cond) {
    if (!cond)
        return -EINVAL;
    uint32_t n = cond->aio__q.count;
    return aio_condition_notify(loop, cond, n > INT32_MAX ? INT32_MAX : (int)n);
}

aio_status aio_condition_wait_for(aio_task *t, void *frame) {
    aio_condition_wait_for_frame *f = frame;
    AIO_BEGIN(t);
    if (!f || !f->cond || !f->predicate)
        AIO_FAIL(t, -EINVAL);
    while (!(f->aio__value = f->predicate(f->arg))) {
        AIO_AWAIT(t, aio_condition_wait(aio_task_loop(t), f->cond));
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
    }
    AIO_RETURN(t, f->aio__value);
    AIO_END(t);
}
