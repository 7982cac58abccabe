/* Cancellation of futures and its propagation (cancel.c): a cancel that
 * arrives while one is being processed is queued, so that long chains
 * (a task awaiting a gather of tasks awaiting ...) are a loop, not a
 * recursion. */
#ifndef AIO_CORE_CANCEL_H_STATE
#define AIO_CORE_CANCEL_H_STATE
#include "aio/aio.h"
#include <stddef.h>
#include <stdint.h>

/* Cancellations queued while one is being processed (cancel.c). */
typedef struct aio__cancel_queue {
    struct aio__cancel_req {
        uint32_t idx;
        const char *msg;
    } * q;
    size_t n, cap;
    unsigned depth;
} aio__cancel_queue;
#endif /* AIO_CORE_CANCEL_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_CANCEL_H)
#define AIO_CORE_CANCEL_H
#include "core/loop.h"

/* Cancel pending slot idx (a task: request it; an owned future: its owner
 * decides; a wait-queue waiter: unlink it; else it ends cancelled). 1 if
 * accepted, 0 if already done. */
int aio__fut_cancel_idx(aio_loop *loop, uint32_t idx, const char *msg);
/* The public cancels: aio__fut_cancel_idx, or -ENOMEM (and nothing done)
 * if a message could not be kept (cancel.c). */
int aio__fut_cancel_checked(aio_loop *loop, uint32_t idx, const char *msg);
#endif /* AIO_CORE_CANCEL_H */
