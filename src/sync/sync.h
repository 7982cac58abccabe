/* The synchronisation primitives (src/sync/, one file each): what they
 * share. A primitive is a struct in the user's memory (aio/sync.h), bound
 * to the loop of its first use and built on the core's wait queues and
 * "wake, then take" (core/waitq.h). The module keeps no state in the loop.
 *
 * Every primitive follows one pattern:
 *   - what it hands out (lock, permit, item, index) is reserved for a
 *     waiter when it is woken and counted as such (`woken`), and handed
 *     over by its taker's take() when that waiter's task resumes;
 *   - a newcomer gets it at once only if nothing is free-but-reserved and
 *     nobody queues (no barging); even then its future is woken, not done,
 *     so the hand-over still happens at the await (aio__waitq_new_woken);
 *   - decline() (the woken waiter was cancelled, or its future released
 *     unread) gives the reservation back and wakes the next waiter. */
#ifndef AIO_SYNC_SYNC_H
#define AIO_SYNC_SYNC_H

#include "core/compiler.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/waitq.h"

#include <stddef.h>

/* The primitive of type T whose member `member` is at ptr. */
#define AIO__CONTAINER(ptr, T, member) ((T *)(void *)((char *)(ptr)-offsetof(T, member)))

/* b is bound to loop, which is open: the test every call makes first. */
static inline bool aio__sync_bound(const aio_loop *loop, const aio__bound *b) {
    return AIO__LIKELY(loop && b->loop == loop && b->tag == loop->tag && !loop->closed);
}

/* The rest of the check (and at its first use, the binding) of b to loop:
 * 0 if bound to it already, 1 if bound now (the caller then installs its
 * takers and hooks), or -EINVAL (NULL loop), AIO_EFOREIGN (another loop,
 * or a new loop where a freed one was), AIO_ECLOSED (its loop is closed).
 * Each primitive calls it from its own out-of-line bind. */
static inline int aio__sync_bind(aio_loop *loop, aio__bound *b) {
    if (aio__sync_bound(loop, b))
        return 0;
    if (!loop)
        return -EINVAL;
    if (!b->loop) {
        if (loop->closed)
            return AIO_ECLOSED;
        b->loop = loop;
        b->tag = loop->tag;
        return 1;
    }
    if (b->loop != loop || b->tag != loop->tag)
        return AIO_EFOREIGN;
    return AIO_ECLOSED;
}

/* The caller's handle to slot idx, or the error handle of rc. */
static inline aio_future aio__sync_future(aio_loop *loop, int rc, uint32_t idx) {
    return rc < 0 ? aio__error_handle(rc) : aio__fut_handle(loop, idx);
}

/* lock.c, for conditions (which share a lock's queue) */
int aio__lock_bind_slow(aio_loop *loop, aio_lock *lock);
static inline int aio__lock_bind(aio_loop *loop, aio_lock *lock) {
    return aio__sync_bound(loop, &lock->aio__b) ? 0 : aio__lock_bind_slow(loop, lock);
}
/* If the lock is free, unreserved and has waiters: wake its head. */
void aio__lock_wake_next(aio_loop *loop, aio_lock *lock);

/* condition.c, for locks: a waiter in a lock's queue whose data is not 0
 * came from a condition (data: the condition, and a flag) and re-takes the
 * lock through the condition's taker. */
aio__taker *aio__condition_relock_taker(aio_value data);
/* on_cancel for such a waiter while it waits for the lock. */
int aio__condition_relock_cancelled(aio_loop *loop, uint32_t idx, const char *msg);

#endif /* AIO_SYNC_SYNC_H */
