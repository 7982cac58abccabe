/* What the coroutine macros call (aio/coro.h): await, yield, finish, and
 * running an inline child coroutine. */
#include "core/callbacks.h"
#include "core/compiler.h"
#include "core/futures.h"
#include "core/cancel.h"
#include "core/loop.h"
#include "core/ready.h"
#include "core/task.h"

#include <stdint.h>

/* Ready-queue entry: resume a task after awaiting sleep(0) (its result is
 * in aio__u.v already, and a sleep(0) never fails). */
void aio__task_step(aio_loop *loop, void *arg) {
    loop->pub.err = 0;
    aio__task_run(loop, arg);
}

/* The end of an await that suspends on slot idx, on whose list the task
 * now is: aio__u.w replaces the last result whole (awaiting and the waiter
 * link). */
static inline int suspended(aio_loop *loop, aio_task *t, uint32_t idx) {
    aio__fut_consume_held(loop, idx); /* the caller's reference; our hold keeps the slot */
    t->aio__u.w.awaiting = idx;
    t->aio__is_awaiting = 1;
    return 1;
}

/* An await off the fast path: a bad handle, the task itself, a cancellation
 * to deliver, a hold past 16 bits, or a future already done. Returns 1 if
 * the task suspended (on a pending future, or a sleep(0), which yields
 * once); otherwise the outcome is in t. */
AIO__NOINLINE static int await_now(aio_task *t, aio_future f) {
    aio_loop *loop = aio__running_loop();
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    aio_value none = {0};
    t->aio__u.v = none;
    if (rc < 0) {
        loop->pub.err = rc; /* bad handle: the await fails at once */
        return 0;
    }
    if (idx == t->aio__slot) {
        loop->pub.err = AIO_EDEADLOCK; /* a task awaiting itself would never finish */
        return 0;
    }
    if (t->aio__must_cancel && loop->fut.slots[idx].state == AIO__FS_PENDING) {
        /* A cancel requested while the task ran lands at this await as one
         * arriving while suspended would (asyncio does the same, bpo-34872):
         * what it awaits is cancelled, then waited for, and the await ends
         * with that future's outcome (a task that handles the cancel and
         * returns 5 gives 5). A plain future or a sleep is cancelled at once,
         * so the await ends at once, cancelled. Were the cancel refused (no
         * future refuses one today), it would stay pending and land at the
         * wakeup. */
        if (aio__fut_cancel_idx(loop, idx, aio__task_cancel_msg(loop, t)) == 1) {
            t->aio__must_cancel = 0;
            t->aio__cancel_sent = 1; /* a further request only counts */
        }
        if (loop->fut.slots[idx].state == AIO__FS_PENDING) {
            if ((rc = aio__fut_add_waiter(loop, idx, t)) == 0)
                return suspended(loop, t, idx);
            /* No hold to be had (past 16 bits of them, out of memory): the
             * cancel is delivered here, without waiting. */
            t->aio__cancel_sent = 0;
            t->aio__must_cancel = 0;
            aio__fut_consume(loop, idx);
            loop->pub.err = AIO_ECANCELLED;
            t->aio__u.v.p = (void *)(uintptr_t)aio__task_cancel_msg(loop, t);
            return 0;
        }
        t->aio__cancel_sent = 0; /* done now: its outcome, below */
    }
    /* A future already done does not suspend, so a pending cancel stays
     * pending (asyncio's await of a done future does not yield either): the
     * await gives the outcome, and the cancel lands at the next await that
     * suspends, or the task ends cancelled. */
    if (loop->fut.slots[idx].state == AIO__FS_PENDING) {
        /* Pending, and aio__await's inline hold could not be taken: the
         * out-of-line one (past 16 bits of holds; it may need memory). */
        if ((rc = aio__fut_add_waiter(loop, idx, t)) == 0)
            return suspended(loop, t, idx);
        loop->pub.err = rc;
        aio__fut_consume(loop, idx);
        return 0;
    }
    /* Left: the future is done already. */
    bool yield = (loop->fut.slots[idx].flags & AIO__FF_YIELD) != 0;
    loop->pub.err = aio__fut_outcome(loop, idx, &t->aio__u.v);
    aio__fut_consume(loop, idx);
    if (!yield)
        return 0;
    rc = aio__ready_push(loop, aio__task_step, t, NULL);
    return rc == 0; /* out of memory: don't suspend (nothing would resume us) */
}

int aio__await(aio_task *t, aio_future f) {
    aio_loop *loop = aio__running_loop();
    AIO__ASSUME(loop != NULL); /* a task always has its loop */
    uint32_t idx;
    if (!aio__fut_lookup_fast(loop, f, &idx) || idx == t->aio__slot || t->aio__must_cancel ||
        loop->fut.slots[idx].state != AIO__FS_PENDING || !aio__fut_add_waiter_fast(loop, idx, t))
        return await_now(t, f); /* looks the handle up again, for its error if bad */
    /* The usual case, with no allocation (the link is in the task) and no
     * call (a tail call above: this path saves no registers). */
    aio__fut *s = &loop->fut.slots[idx];
    if (s->refs > 0)
        s->refs--; /* the caller's reference (16-bit counts here); our hold keeps the slot */
    t->aio__u.w.awaiting = idx;
    t->aio__is_awaiting = 1;
    return 1;
}

int aio__yield(aio_task *t) {
    aio_loop *loop = aio__running_loop();
    aio_value none = {0};
    int rc = aio__task_queue_start(loop, t); /* the batch sets the result to none */
    if (rc < 0) {
        loop->pub.err = rc; /* if we cannot queue ourselves, go on with the error */
        t->aio__u.v = none;
    }
    return rc == 0;
}

aio_status aio__finish(aio_task *t, uint32_t *lcp, int err, aio_value v) {
    if (err > 0)
        err = -err; /* AIO_FAIL(t, EIO) means -EIO */
    aio__running->err = err;
    t->aio__u.v = v;
    *lcp = AIO__LC_FINISHED;
    return AIO_FINISHED;
}

aio_status aio__run_child(aio_task *t, aio_coro_fn fn, uint32_t *lcp, void *frame) {
    aio_loop *loop = aio__running_loop();
    uint32_t *saved = loop->pub.lcp;
    loop->pub.lcp = lcp;
    aio_status st = fn(t, frame);
    loop->pub.lcp = saved;
    return st;
}

void aio__task_wakeup_other(aio_loop *loop, aio_task *t, uint32_t idx) {
    if (t->aio__must_cancel && loop->fut.slots[idx].state == AIO__FS_WOKEN)
        aio__fut_consumer_cancelled(loop, idx);
    loop->pub.err = aio__fut_outcome(loop, idx, &t->aio__u.v);
}
