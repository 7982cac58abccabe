/* Wait queues and "wake, then take" (waitq.c): how a module makes tasks
 * wait for something it hands out (a lock, a permit, a queue item, bytes,
 * an accepted fd) without ever losing it to a cancellation.
 *
 *   1. A waiter is a plain future (no allocation: its links live in a
 *      per-slot side table) pushed on the module's aio__waitq; the caller
 *      gets its reference, like any future's.
 *   2. Cancelling a queued waiter unlinks it at once (O(1)), unless its
 *      queue's ops have an on_cancel hook, which decides instead (a
 *      condition moves a cancelled waiter on to re-take its lock first).
 *      The ops also say what waiting there is, for the task dumps.
 *   3. Waking completes the head waiter WOKEN: done, carrying nothing but a
 *      pointer to the module's aio__taker. Nothing is handed over yet.
 *   4. Its consumer takes it when it reads the outcome: the awaiting task
 *      when it resumes (not when the future completes), or whoever calls
 *      aio_future_result / run_until_complete / a combinator's callback on
 *      it. take() hands over the thing and decides the outcome.
 *   5. If the consumer is cancelled before it resumes, or the future is
 *      released untaken, decline() runs instead: the module passes the
 *      wake-up on (to the next waiter), so nothing is lost or stuck. (A
 *      taker with a `cancelled` hook is taken even by a cancelled task.)
 * Each waiter carries 8 bytes for its queue's owner (aio__waitq_data),
 * zero when pushed and kept until the slot is reused: what a putter puts,
 * a barrier's index, a condition's mark.
 * A WOKEN future has one consumer: the first read takes, later reads see
 * the settled outcome. The taker (and the module's state it belongs to)
 * must outlive every WOKEN future that points at it. */
#ifndef AIO_CORE_WAITQ_H_STATE
#define AIO_CORE_WAITQ_H_STATE
#include "aio/aio.h"
#include "aio/sync_impl.h" /* aio__taker, aio__waitq: user memory holds them */

#include <stdbool.h>
#include <stdint.h>

/* A queued waiter's links, by slot (loop->fut.links), and 8 bytes its
 * queue's owner keeps with it (a putter's item, a condition's mark). */
struct aio__wlink {
    aio__waitq *q;
    uint32_t prev, next; /* slot indices + 1, 0: none */
    aio_value data;
};
#endif /* AIO_CORE_WAITQ_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_WAITQ_H)
#define AIO_CORE_WAITQ_H
#include "core/loop.h"

/* A new pending future queued at the tail of q; *idx is its slot, refs = 1
 * (the caller's, usually handed to the user). 0, AIO_ECLOSED or -ENOMEM
 * (nothing queued). */
int aio__waitq_push(aio_loop *loop, aio__waitq *q, uint32_t *idx);

/* A waiter woken at once (what it waits for is free, and reserved for it
 * now): a new future, WOKEN with tk and carrying `data`, taken when read
 * like any woken waiter's (so an immediate acquire is cancellation-safe
 * too). *idx is its slot, refs = 1. 0, AIO_ECLOSED or -ENOMEM. */
int aio__waitq_new_woken(aio_loop *loop, aio__taker *tk, aio_value data, uint32_t *idx);

/* Wake the head waiter (WOKEN, with tk): false if q is empty. */
bool aio__waitq_wake(aio_loop *loop, aio__waitq *q, aio__taker *tk);

/* Wake every waiter queued now; returns how many. */
uint32_t aio__waitq_wake_all(aio_loop *loop, aio__waitq *q, aio__taker *tk);

/* Unlink a queued waiter (it stays pending: the caller completes it or
 * links it elsewhere). */
void aio__waitq_unlink(aio_loop *loop, uint32_t idx);

/* The default cancellation of a queued waiter: unlinked and ended
 * cancelled with msg at once (cancel.c calls it when the queue has no
 * on_cancel hook; a hook may call it for the waiters it does not keep).
 * Returns 1. */
int aio__waitq_cancel(aio_loop *loop, uint32_t idx, const char *msg);

/* Move queued waiter idx to the tail of queue `to` (it stays pending and
 * keeps its data): a condition's notify hands its waiters to the lock. */
void aio__waitq_move(aio_loop *loop, uint32_t idx, aio__waitq *to);

/* The 8 bytes the queue's owner keeps with waiter idx (see above). */
static inline aio_value *aio__waitq_data(aio_loop *loop, uint32_t idx) { return &loop->fut.links[idx].data; }

static inline bool aio__waitq_empty(const aio__waitq *q) { return q->count == 0; }

/* The slot of q's head waiter (q must not be empty). */
static inline uint32_t aio__waitq_head(const aio__waitq *q) { return q->head - 1; }

/* Complete pending slot idx WOKEN with tk, without a queue (a module whose
 * single waiter it tracks itself). */
void aio__fut_wake(aio_loop *loop, uint32_t idx, aio__taker *tk);

/* The wake-up of WOKEN slot idx is refused (its consumer is cancelled, or
 * it is freed untaken): the slot ends CANCELLED and tk->decline runs. */
void aio__fut_decline(aio_loop *loop, uint32_t idx);

/* The task consuming WOKEN slot idx was cancelled before it resumed:
 * decline, unless the taker has a `cancelled` hook (which runs instead,
 * and the task still takes). */
void aio__fut_consumer_cancelled(aio_loop *loop, uint32_t idx);
#endif /* AIO_CORE_WAITQ_H */
