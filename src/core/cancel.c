/* Cancellation of futures (asyncio's Future.cancel and its propagation). */
#include "core/callbacks.h"
#include "core/compiler.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/cancel.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/owner.h"
#include "core/waitq.h"

#include <stdint.h>
#include <stdlib.h>

/* Cancellation propagates (a task cancels what it awaits, a gather its
 * children, ...) through chains that can be arbitrarily long, so it is a
 * loop over a work queue, not a recursion: a cancel arriving while one is
 * being processed is queued and answered 1 at once, which is exact because
 * every pending future accepts a cancel (tasks, plain futures and every
 * combinator alike). Queued entries are re-checked when taken: one that
 * completed meanwhile is skipped. */
static int cancel_now(aio_loop *loop, uint32_t idx, const char *msg);

int aio__fut_cancel_idx(aio_loop *loop, uint32_t idx, const char *msg) {
    if (loop->fut.slots[idx].state != AIO__FS_PENDING)
        return 0;
    if (loop->cancel.depth > 0) {
        if (loop->cancel.n == loop->cancel.cap) {
            size_t cap = loop->cancel.cap ? loop->cancel.cap * 2 : 64;
            void *q = aio__realloc(loop->cancel.q, cap * sizeof *loop->cancel.q);
            if (!q)
                return cancel_now(loop, idx, msg); /* out of memory: recurse instead */
            loop->cancel.q = q;
            loop->cancel.cap = cap;
        }
        loop->cancel.q[loop->cancel.n].idx = idx;
        loop->cancel.q[loop->cancel.n].msg = msg;
        loop->cancel.n++;
        return 1;
    }
    loop->cancel.depth++;
    int rc = cancel_now(loop, idx, msg);
    for (size_t i = 0; i < loop->cancel.n; i++) /* FIFO: the order they were cancelled in */
        if (loop->fut.slots[loop->cancel.q[i].idx].state == AIO__FS_PENDING)
            cancel_now(loop, loop->cancel.q[i].idx, loop->cancel.q[i].msg);
    loop->cancel.n = 0;
    loop->cancel.depth--;
    return rc;
}

static int cancel_now(aio_loop *loop, uint32_t idx, const char *msg) {
    aio__fut *s = &loop->fut.slots[idx];
    if (s->flags & AIO__FF_TASK)
        return loop->fut.task_ops->cancel(loop, idx, msg);
    if (s->flags & AIO__FF_OWNED)
        return s->u.owner->ops->cancel(loop, s->u.owner, msg);
    if (s->flags & AIO__FF_WAITQ) { /* a waiter leaves its queue at once, or as its owner says */
        aio__waitq *q = loop->fut.links[idx].q;
        return q->ops && q->ops->on_cancel ? q->ops->on_cancel(loop, q, idx, msg)
                                           : aio__waitq_cancel(loop, idx, msg);
    }
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__fut_finish(loop, idx, AIO__FS_CANCELLED, v);
    return 1;
}

int aio__fut_cancel_checked(aio_loop *loop, uint32_t idx, const char *msg) {
    /* A message reaches a task (this one, or those a combinator's cancel
     * propagates to) through the per-slot extras: make sure they exist
     * before anything changes, so that an accepted cancel never loses its
     * message. Once allocated they cover every slot (they grow with the
     * table). A plain future keeps its message in its outcome. */
    const aio__fut *s = &loop->fut.slots[idx];
    if (msg && s->state == AIO__FS_PENDING && (s->flags & (AIO__FF_TASK | AIO__FF_OWNED)) &&
        !aio__extras(loop))
        return -ENOMEM;
    return aio__fut_cancel_idx(loop, idx, msg);
}

int aio_future_cancel(aio_loop *loop, aio_future f, const char *msg) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    return rc < 0 ? rc : aio__fut_cancel_checked(loop, idx, msg);
}
