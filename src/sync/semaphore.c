/* asyncio.Semaphore and BoundedSemaphore on a wait queue.
 *
 * value counts the free permits; a permit is reserved for a waiter when it
 * is woken (value - 1, woken + 1) and handed over when it resumes. As in
 * asyncio 3.13 (gh-90155), a newcomer waits while anyone queues or was
 * woken, even with permits free; those are handed to the queue as soon as
 * the woken waiters have taken theirs. Invariant: free permits and queued
 * waiters together only while woken waiters have not resumed yet. */
#include "core/task.h"
#include "sync/sync.h"

#include <stdint.h>
#include <stdio.h>

static aio_semaphore *of_taker(aio__taker *tk) { return AIO__CONTAINER(tk, aio_semaphore, aio__tk); }

/* Reserve free permits for the waiters at the head of the queue. Counted
 * before each wake: a waiter nobody holds any more is declined inside it. */
static void wake_waiters(aio_loop *loop, aio_semaphore *sem) {
    while (sem->aio__value > 0 && !aio__waitq_empty(&sem->aio__q)) {
        sem->aio__value--;
        sem->aio__woken++;
        aio__waitq_wake(loop, &sem->aio__q, &sem->aio__tk);
    }
}

static int sem_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)idx;
    aio_semaphore *sem = of_taker(tk);
    sem->aio__woken--;
    wake_waiters(loop, sem); /* newcomers that queued behind us (asyncio's finally) */
    out->i = 1;
    return 0;
}

static void sem_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio_semaphore *sem = of_taker(tk);
    sem->aio__woken--;
    sem->aio__value++; /* the reserved permit goes back, and on */
    wake_waiters(loop, sem);
}

/* For the task dumps (aio/debug.h). */
static void sem_describe(aio_loop *loop, const aio__waitq *q, char *buf, size_t len) {
    (void)loop;
    const aio_semaphore *sem = AIO__CONTAINER(q, aio_semaphore, aio__q);
    snprintf(buf, len, "%u free", sem->aio__value);
}

static const aio__waitq_ops sem_q_ops = {.what = "semaphore", .describe = sem_describe};

AIO__NOINLINE static int sem_bind_slow(aio_loop *loop, aio_semaphore *sem) {
    int rc = aio__sync_bind(loop, &sem->aio__b);
    if (rc == 1) {
        sem->aio__q.ops = &sem_q_ops;
        static const aio__taker_ops tk_ops = {sem_take, sem_decline, NULL};
        sem->aio__tk.ops = &tk_ops;
        rc = 0;
    }
    return rc;
}

static inline int sem_bind(aio_loop *loop, aio_semaphore *sem) {
    return aio__sync_bound(loop, &sem->aio__b) ? 0 : sem_bind_slow(loop, sem);
}

static int init(aio_semaphore *sem, long value, int bounded) {
    if (!sem || value < 0 || (unsigned long)value > UINT32_MAX)
        return -EINVAL;
    *sem = (aio_semaphore)AIO_SEMAPHORE_INIT((uint32_t)value);
    sem->aio__bounded = (uint8_t)bounded;
    sem->aio__bound_value = (uint32_t)value;
    return 0;
}

int aio_semaphore_init(aio_semaphore *sem, long value) { return init(sem, value, 0); }
int aio_bounded_semaphore_init(aio_semaphore *sem, long value) { return init(sem, value, 1); }

int aio_semaphore_locked(const aio_semaphore *sem) {
    if (!sem)
        return -EINVAL;
    return sem->aio__value == 0 || sem->aio__q.count > 0 || sem->aio__woken > 0;
}

long aio_semaphore_value(const aio_semaphore *sem) { return sem ? (long)sem->aio__value : -EINVAL; }

aio_future aio_semaphore_acquire(aio_loop *loop, aio_semaphore *sem) {
    if (!sem)
        return aio__error_handle(-EINVAL);
    int rc = sem_bind(loop, sem);
    if (rc < 0)
        return aio__error_handle(rc);
    uint32_t idx = 0;
    if (!aio_semaphore_locked(sem)) {
        rc = aio__waitq_new_woken(loop, &sem->aio__tk, AIO_NONE, &idx); /* reserved for us */
        if (rc == 0) {
            sem->aio__value--;
            sem->aio__woken++;
        }
    } else {
        rc = aio__waitq_push(loop, &sem->aio__q, &idx);
    }
    return aio__sync_future(loop, rc, idx);
}

int aio_semaphore_acquire_nowait(aio_loop *loop, aio_semaphore *sem) {
    if (!sem)
        return -EINVAL;
    int rc = sem_bind(loop, sem);
    if (rc < 0)
        return rc;
    if (aio_semaphore_locked(sem))
        return -EAGAIN;
    sem->aio__value--;
    return 0;
}

int aio__semaphore_acquire_now(aio_task *t, aio_semaphore *sem) {
    int rc = aio_semaphore_acquire_nowait(aio__running_loop(), sem);
    return rc == -EAGAIN ? 0 : aio__task_served_now(t, rc, rc == 0 ? AIO_VALUE(1) : AIO_NONE);
}

int aio_semaphore_release(aio_loop *loop, aio_semaphore *sem) {
    if (!sem)
        return -EINVAL;
    int rc = sem_bind(loop, sem);
    if (rc < 0)
        return rc;
    /* Bounded: as asyncio, the free permits (reserved ones excluded) may
     * not pass the initial value. */
    if ((sem->aio__bounded && sem->aio__value >= sem->aio__bound_value) || sem->aio__value == UINT32_MAX)
        return -EOVERFLOW;
    sem->aio__value++;
    wake_waiters(loop, sem);
    return 0;
}
