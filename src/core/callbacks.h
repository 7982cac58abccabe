/* Done callbacks and the dispatch of completed futures' lists: callback
 * nodes, completion (callbacks.c), and the batch entries that resume
 * waiting tasks and run callbacks in order. */
#ifndef AIO_CORE_CALLBACKS_H_STATE
#define AIO_CORE_CALLBACKS_H_STATE
#include "aio/aio.h"

/* A done callback. A slot's callback list mixes these nodes (by index) and
 * awaiting tasks (AIO__WAITER_BIT | the task's own slot; the link is the
 * task's aio__next), so that awaiting allocates nothing. */
#define AIO__WAITER_BIT 0x80000000u
typedef struct aio__node {
    uint32_t next;
    uint32_t fut;
    aio_done_callback fn;
    void *arg;
} aio__node;
typedef struct aio__callbacks {
    uint64_t batch_seq;  /* queue position of the newest dispatch batch */
    uint32_t batch_last; /* its last list entry, valid while that entry is the last queued */
    aio__node *nodes;
    uint32_t n, cap, free;
} aio__callbacks;
#endif /* AIO_CORE_CALLBACKS_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_CALLBACKS_H)
#define AIO_CORE_CALLBACKS_H
#include "core/loop.h"
#include "core/futures.h"
#include "core/ready.h"
#include "core/task.h"

/* Where a pending slot's callback list is: in the slot, the task or the
 * owner (see aio__fut). */
static inline uint32_t *aio__fut_cbs(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->fut.slots[idx];
    if (AIO__LIKELY(!(s->flags & (AIO__FF_TASK | AIO__FF_OWNED))))
        return &s->u.p.cbs; /* one test for the usual case */
    return (s->flags & AIO__FF_TASK) ? &s->u.task->aio__cbs : &s->u.owner->cbs;
}
/* Link an awaiting task into a pending slot's callback list (allocates
 * nothing): the entry is the task's own slot with AIO__WAITER_BIT, the link
 * its aio__u.w.next. 0, or the error of aio__fut_hold. */
static inline void aio__fut_link_waiter(aio_loop *loop, uint32_t idx, aio_task *t) {
    uint32_t *cbs = aio__fut_cbs(loop, idx);
    t->aio__u.w.next = *cbs;
    *cbs = AIO__WAITER_BIT | t->aio__slot;
}
static inline int aio__fut_add_waiter(aio_loop *loop, uint32_t idx, aio_task *t) {
    int rc = aio__fut_hold(loop, idx);
    if (AIO__LIKELY(rc == 0))
        aio__fut_link_waiter(loop, idx, t);
    return rc;
}
/* The same without a call: false (and nothing done) when the hold needs the
 * out-of-line path. A slot it succeeds on has 16-bit counts. */
static inline bool aio__fut_add_waiter_fast(aio_loop *loop, uint32_t idx, aio_task *t) {
    aio__fut *s = &loop->fut.slots[idx];
    if (!AIO__LIKELY(s->holds < AIO__CNT_BIG - 1))
        return false;
    s->holds++;
    aio__fut_link_waiter(loop, idx, t);
    return true;
}

/* Remove every not-yet-scheduled (fn, arg) callback of a slot; returns how
 * many (their holds are dropped). */
int aio__fut_remove_node(aio_loop *loop, uint32_t idx, aio_done_callback fn, void *arg);
/* Complete a pending slot and schedule its callbacks. */
void aio__fut_finish(aio_loop *loop, uint32_t idx, uint8_t state, aio_value v);
int aio__fut_add_node(aio_loop *loop, uint32_t idx, aio_done_callback fn, void *arg);
/* ---- dispatch of completed futures' callbacks and waiters (futures.c) ---- */
static inline void aio__node_free(aio_loop *loop, uint32_t n) {
    loop->cb.nodes[n].fn = NULL;
    loop->cb.nodes[n].next = loop->cb.free;
    loop->cb.free = n;
}

/* Run a dispatch batch from entry e on (the chained lists of futures that
 * completed one after another), in order. Each node is copied out and
 * freed before its callback runs (the callback may register new nodes and
 * move the pool), each task's link read before it resumes (it may await
 * again at once). Every entry's hold on its slot is dropped after it ran.
 * Inline: run_once runs the batch entries of a busy loop without a call. */
static inline void aio__dispatch_list(aio_loop *loop, uint32_t e) {
    while (e != AIO__NIL) {
        uint32_t fut;
        if (e & AIO__WAITER_BIT) {
            aio_task *t = loop->fut.slots[e & ~AIO__WAITER_BIT].u.task;
            e = t->aio__u.w.next;
            fut = t->aio__u.w.awaiting;
            aio__task_wakeup(loop, t);
        } else {
            aio__node node = loop->cb.nodes[e];
            aio__node_free(loop, e);
            e = node.next;
            fut = node.fut;
            node.fn(loop, aio__fut_handle(loop, fut), node.arg);
        }
        aio__fut_drop(loop, fut);
    }
}
/* The ready-queue entry of a dispatch batch: its argument is the list's
 * first entry. */
void aio__dispatch_batch(aio_loop *loop, void *arg);
#endif /* AIO_CORE_CALLBACKS_H */
