/* Wait queues and "wake, then take" (waitq.c): how a module makes tasks
 * wait for something it hands out (a lock, a permit, a queue item, bytes,
 * an accepted fd) without ever losing it to a cancellation.
 *
 *   1. A waiter is a plain future (no allocation: its links live in a
 *      per-slot side table) pushed on the module's aio__waitq; the caller
 *      gets its reference, like any future's.
 *   2. Cancelling a queued waiter unlinks it at once (O(1)).
 *   3. Waking completes the head waiter WOKEN: done, carrying nothing but a
 *      pointer to the module's aio__taker. Nothing is handed over yet.
 *   4. Its consumer takes it when it reads the outcome: the awaiting task
 *      when it resumes (not when the future completes), or whoever calls
 *      aio_future_result / run_until_complete / a combinator's callback on
 *      it. take() hands over the thing and decides the outcome.
 *   5. If the consumer is cancelled before it resumes, or the future is
 *      released untaken, decline() runs instead: the module passes the
 *      wake-up on (to the next waiter), so nothing is lost or stuck.
 * A WOKEN future has one consumer: the first read takes, later reads see
 * the settled outcome. The taker (and the module's state it belongs to)
 * must outlive every WOKEN future that points at it. */
#ifndef AIO_CORE_WAITQ_H_STATE
#define AIO_CORE_WAITQ_H_STATE
#include "aio/aio.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct aio__taker aio__taker;
struct aio__taker {
    /* Hand over what the wake-up promised to the consumer of slot idx: 0
     * and *out, or an error (the future then fails with it, or ends
     * cancelled for AIO_ECANCELLED). May complete or wake other futures. */
    int (*take)(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out);
    /* The wake-up of slot idx will never be taken: pass it on. */
    void (*decline)(aio_loop *loop, aio__taker *tk, uint32_t idx);
};

/* A FIFO of waiting futures, embedded in the module's state. Zeroed:
 * empty (head and tail are slot indices + 1, 0 meaning none). */
typedef struct aio__waitq {
    uint32_t head, tail;
    uint32_t count;
} aio__waitq;

/* A queued waiter's links, by slot (loop->fut.links). */
struct aio__wlink {
    aio__waitq *q;
    uint32_t prev, next; /* slot indices + 1, 0: none */
};
#endif /* AIO_CORE_WAITQ_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_WAITQ_H)
#define AIO_CORE_WAITQ_H
#include "core/loop.h"

/* A new pending future queued at the tail of q; *idx is its slot, refs = 1
 * (the caller's, usually handed to the user). 0, AIO_ECLOSED or -ENOMEM
 * (nothing queued). */
int aio__waitq_push(aio_loop *loop, aio__waitq *q, uint32_t *idx);

/* Wake the head waiter (WOKEN, with tk): false if q is empty. */
bool aio__waitq_wake(aio_loop *loop, aio__waitq *q, aio__taker *tk);

/* Wake every waiter queued now; returns how many. */
uint32_t aio__waitq_wake_all(aio_loop *loop, aio__waitq *q, aio__taker *tk);

/* Unlink a queued waiter that is being cancelled (cancel.c). */
void aio__waitq_unlink(aio_loop *loop, uint32_t idx);

static inline bool aio__waitq_empty(const aio__waitq *q) { return q->count == 0; }

/* Complete pending slot idx WOKEN with tk, without a queue (a module whose
 * single waiter it tracks itself). */
void aio__fut_wake(aio_loop *loop, uint32_t idx, aio__taker *tk);

/* The wake-up of WOKEN slot idx is refused (its consumer is cancelled, or
 * it is freed untaken): the slot ends CANCELLED and tk->decline runs. */
void aio__fut_decline(aio_loop *loop, uint32_t idx);
#endif /* AIO_CORE_WAITQ_H */
