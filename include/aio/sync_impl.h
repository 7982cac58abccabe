/* libaio — the layouts under the synchronisation primitives. NOT API.
 *
 * The primitives of aio/sync.h live in the user's memory (a frame, a
 * static), so their layouts are in a public header: these two building
 * blocks, and the private fields of each primitive. Their sizes are part
 * of the ABI. Use only the functions of aio/sync.h.
 *
 * How they work (src/core/waitq.h has the whole contract): a task that must
 * wait gets a plain future queued in an aio__waitq; a primitive wakes it
 * with no payload, and the lock, permit or item is handed over by the
 * primitive's aio__taker when the waiting task resumes ("wake, then take").
 */
#ifndef AIO_SYNC_IMPL_H
#define AIO_SYNC_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a woken waiter's future points at: its primitive's hand-over. */
typedef struct aio__taker aio__taker;
struct aio__taker {
    /* Hand over what the wake-up promised to the consumer of slot idx: 0
     * and *out, or an error (the future then fails with it, or ends
     * cancelled for AIO_ECANCELLED, with out->p as the cancel message).
     * May complete or wake other futures. */
    int (*take)(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out);
    /* The wake-up of slot idx will never be taken: pass it on. */
    void (*decline)(aio_loop *loop, aio__taker *tk, uint32_t idx);
    /* Optional. NULL: a consumer cancelled between the wake-up and its
     * resume declines it. Set: this runs instead, and the consumer still
     * takes (it then sees AIO_ECANCELLED): for what must be handed over
     * however the wait ends (a condition's lock). */
    void (*cancelled)(aio_loop *loop, aio__taker *tk, uint32_t idx);
};

typedef struct aio__waitq aio__waitq;

/* What a queue's owner says about it: a static table per kind of queue. */
typedef struct aio__waitq_ops {
    /* Optional. NULL: cancelling a queued waiter unlinks it and ends it
     * cancelled at once. Set: called instead, the waiter still queued;
     * returns 1 (the cancel is accepted: the primitive completes the
     * waiter, now or later). */
    int (*on_cancel)(aio_loop *loop, aio__waitq *q, uint32_t idx, const char *msg);
    /* For the task dumps (aio/debug.h): what a task waiting here waits for
     * ("lock", "queue get", ...), and optionally (NULL) a few words on the
     * owner's state ("held", "3 items") written into buf, reading only. */
    const char *what;
    void (*describe)(aio_loop *loop, const aio__waitq *q, char *buf, size_t len);
} aio__waitq_ops;

/* A FIFO of waiting futures. Zeroed: empty, no ops (default cancellation;
 * a dump says "wait queue"). */
struct aio__waitq {
    uint32_t head, tail; /* slot indices + 1, 0 meaning none */
    uint32_t count;
    const aio__waitq_ops *ops; /* optional: the owner's, set when it binds */
};

#ifdef __cplusplus
}
#endif
#endif /* AIO_SYNC_IMPL_H */
