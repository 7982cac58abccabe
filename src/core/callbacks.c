/* Done callbacks and completion.
 *
 * Done callbacks and awaiting tasks share one list per slot, kept
 * newest-first and reversed when the future completes; the reversed list (a
 * snapshot: FUT-07) leaves the slot and is appended to the loop's open
 * dispatch batch, one ready-queue entry that runs the lists of every future
 * completed one after another, in completion and registration order. So a
 * million tasks finishing in one iteration queue one entry, not a million
 * (16 bytes of ring each), and the order relative to other entries is
 * unchanged: a batch only grows while its entry is the last one queued. */
#include "core/callbacks.h"
#include "core/compiler.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/ready.h"
#include "core/timers.h"

#include <assert.h>
#include <stdint.h>

/* ---- callback nodes ---------------------------------------------------------- */

static int node_alloc(aio_loop *loop, uint32_t *out) {
    if (loop->cb.free != AIO__NIL) {
        *out = loop->cb.free;
        loop->cb.free = loop->cb.nodes[*out].next;
        return 0;
    }
    if (loop->cb.n == loop->cb.cap) {
        /* indices must stay clear of the waiter bit */
        uint32_t cap = aio__slots_next_cap(loop->cb.cap, AIO__WAITER_BIT);
        void *n = loop->cb.nodes;
        if (!cap || aio__slots_grow(loop, &n, loop->cb.cap, cap, sizeof *loop->cb.nodes) < 0)
            return -ENOMEM;
        loop->cb.nodes = n;
        loop->cb.cap = cap;
    }
    *out = loop->cb.n++;
    return 0;
}

/* The link field of a list entry: a node's, or an awaiting task's. */
static inline uint32_t *entry_next(aio_loop *loop, uint32_t e) {
    if (e & AIO__WAITER_BIT)
        return &loop->fut.slots[e & ~AIO__WAITER_BIT].u.task->aio__u.w.next;
    return &loop->cb.nodes[e].next;
}

int aio__fut_add_node(aio_loop *loop, uint32_t idx, aio_done_callback fn, void *arg) {
    uint32_t n;
    int rc = node_alloc(loop, &n);
    if (rc < 0)
        return rc;
    if ((rc = aio__fut_hold(loop, idx)) < 0) {
        aio__node_free(loop, n);
        return rc;
    }
    uint32_t *cbs = aio__fut_cbs(loop, idx);
    aio__node *node = &loop->cb.nodes[n];
    node->fn = fn;
    node->arg = arg;
    node->fut = idx;
    node->next = *cbs;
    *cbs = n;
    return 0;
}

void aio__dispatch_batch(aio_loop *loop, void *arg) { aio__dispatch_list(loop, (uint32_t)(uintptr_t)arg); }

/* Ready-queue entry: one done callback registered after completion. */
static void dispatch_node(aio_loop *loop, void *arg) {
    uint32_t n = (uint32_t)(uintptr_t)arg;
    aio__node node = loop->cb.nodes[n];
    aio__node_free(loop, n);
    node.fn(loop, aio__fut_handle(loop, node.fut), node.arg);
    aio__fut_drop(loop, node.fut);
}

/* Reverse a list in place; returns its new first entry. */
static uint32_t reverse_list(aio_loop *loop, uint32_t head) {
    uint32_t prev = AIO__NIL;
    while (head != AIO__NIL) {
        uint32_t *link = entry_next(loop, head);
        uint32_t next = *link;
        *link = prev;
        prev = head;
        head = next;
    }
    return prev;
}

/* Queue a dispatch batch for the list first..last (registration order). */
static inline void open_batch(aio_loop *loop, uint32_t first, uint32_t last) {
    loop->cb.batch_seq = aio__ready_put(loop, aio__dispatch_batch, (void *)(uintptr_t)first);
    loop->cb.batch_last = last;
}

/* open_batch when ordinary entries have no room left: grow the ring if
 * memory allows (room for what comes next), else take the slot the ring
 * keeps for completions, which is free (ready.h): a completion never fails. */
AIO__COLD static void open_batch_grow(aio_loop *loop, uint32_t first, uint32_t last) {
    (void)aio__ready_grow(loop);
    assert(aio__ready_has_slot(loop));
    open_batch(loop, first, last);
}

/* Queue slot idx's (newest-first) list, taken out of it, from `last` (the
 * oldest entry: last once reversed): reversed into registration order and
 * appended to the open dispatch batch if that is still the last ready
 * entry, else in a new batch. Inline in the completions; growing the ring
 * (or failing to) is out of line, so the inline path makes no call that
 * returns to it. */
static inline void schedule_list(aio_loop *loop, uint32_t last) {
    if (last == AIO__NIL)
        return; /* nobody listens */
    /* A list of one (a single awaiting task, a single callback) is its own
     * reverse: its link is AIO__NIL already. */
    uint32_t first = *entry_next(loop, last) == AIO__NIL ? last : reverse_list(loop, last);
    if (aio__ready_is_last(loop, loop->cb.batch_seq)) {
        *entry_next(loop, loop->cb.batch_last) = first;
        loop->cb.batch_last = last;
    } else if (AIO__LIKELY(!aio__ready_full(loop))) {
        open_batch(loop, first, last);
    } else {
        open_batch_grow(loop, first, last);
    }
}

/* ---- completion ------------------------------------------------------------------ */

/* Complete a pending slot that is neither a sleep's nor owned (or no longer
 * is): store its outcome and schedule its callbacks. */
static inline void complete_list(aio_loop *loop, uint32_t idx, uint8_t state, aio_value v, uint32_t list) {
    aio__fut *s = &loop->fut.slots[idx];
    s->state = state;
    if (state == AIO__FS_ERROR)
        s->flags |= AIO__FF_UNRETRIEVED; /* until an outcome is taken (or reported) */
    s->u.value = v;
    schedule_list(loop, list);
}
static inline void complete(aio_loop *loop, uint32_t idx, uint8_t state, aio_value v) {
    complete_list(loop, idx, state, v, *aio__fut_cbs(loop, idx)); /* before the outcome takes its place */
}

/* Completing a future that is owned, or a sleep whose timer has not fired:
 * it stops being either (its list moves into the slot), and the timer is
 * cancelled. */
AIO__NOINLINE static void finish_flagged(aio_loop *loop, uint32_t idx, uint8_t state, aio_value v) {
    uint32_t list = *aio__fut_cbs(loop, idx);
    aio__fut *s = &loop->fut.slots[idx];
    bool had_timer = (s->flags & AIO__FF_TIMER) != 0;
    uint32_t timer = s->u.p.timer;
    s->flags &= ~(AIO__FF_TIMER | AIO__FF_OWNED) & 0x7fu;
    s->u.p.cbs = list;
    /* A cancelled timer's hold is ours to drop, after the completion (the
     * slot must outlive it); a timer that could not be cancelled drops its
     * own when it fires. */
    if (had_timer && aio__timer_cancel(loop, timer) == 1) {
        complete(loop, idx, state, v);
        aio__fut_drop(loop, idx);
    } else {
        complete(loop, idx, state, v);
    }
}

/* Complete a pending slot. The common case (no timer, no owner) is inline:
 * nothing in it can free the slot early. */
static inline void finish(aio_loop *loop, uint32_t idx, uint8_t state, aio_value v) {
    if (loop->fut.slots[idx].flags & (AIO__FF_TIMER | AIO__FF_OWNED))
        finish_flagged(loop, idx, state, v);
    else
        complete(loop, idx, state, v);
}

void aio__fut_finish(aio_loop *loop, uint32_t idx, uint8_t state, aio_value v) {
    finish(loop, idx, state, v);
}

/* set_result / set_error on a future that is not a plain pending one. */
AIO__NOINLINE static int set_outcome_other(aio_loop *loop, uint32_t idx, uint8_t state, aio_value v) {
    const aio__fut *s = &loop->fut.slots[idx];
    if (s->flags & (AIO__FF_TASK | AIO__FF_OWNED | AIO__FF_WAITQ))
        return AIO_EISTASK; /* completed only by its task, combinator or queue's owner */
    if (s->state != AIO__FS_PENDING)
        return AIO_EDONE;
    finish_flagged(loop, idx, state, v); /* a sleep: its timer goes */
    return 0;
}

/* The inline path makes no call it returns from (only tail calls): it
 * needs no saved registers. */
static inline int set_outcome_of(aio_loop *loop, aio_future f, uint8_t state, aio_value v) {
    uint32_t idx;
    if (!aio__fut_lookup_fast(loop, f, &idx))
        return aio__fut_lookup_slow(loop, f);
    const aio__fut *s = &loop->fut.slots[idx];
    /* One test for the usual case: pending, plain (not a task, not owned,
     * not a sleep with a timer). */
    if (AIO__LIKELY(s->state == AIO__FS_PENDING &&
                    !(s->flags & (AIO__FF_TASK | AIO__FF_OWNED | AIO__FF_TIMER | AIO__FF_WAITQ)))) {
        complete_list(loop, idx, state, v, s->u.p.cbs);
        return 0;
    }
    return set_outcome_other(loop, idx, state, v);
}

int aio_future_set_result(aio_loop *loop, aio_future f, aio_value v) {
    return set_outcome_of(loop, f, AIO__FS_RESULT, v);
}

int aio_future_set_error(aio_loop *loop, aio_future f, int err) {
    if (err >= 0 || err == AIO_ECANCELLED)
        return -EINVAL;
    aio_value v;
    v.i = err;
    return set_outcome_of(loop, f, AIO__FS_ERROR, v);
}

/* Callback for a future already done: run the node alone, next iteration. */
int aio_future_add_done_callback(aio_loop *loop, aio_future f, aio_done_callback cb, void *arg) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    if (rc < 0)
        return rc;
    if (!cb)
        return -EINVAL;
    if (loop->fut.slots[idx].state == AIO__FS_PENDING)
        return aio__fut_add_node(loop, idx, cb, arg);
    /* Done already: a node of its own, run by its own entry next iteration
     * (the slot's list may still hold the completion's scheduled entries). */
    uint32_t n;
    if ((rc = node_alloc(loop, &n)) < 0)
        return rc;
    aio__node *node = &loop->cb.nodes[n];
    node->fn = cb;
    node->arg = arg;
    node->fut = idx;
    node->next = AIO__NIL;
    if ((rc = aio__fut_hold(loop, idx)) < 0) {
        aio__node_free(loop, n);
        return rc;
    }
    if ((rc = aio__ready_push(loop, dispatch_node, (void *)(uintptr_t)n, NULL)) < 0) {
        aio__node_free(loop, n);
        aio__fut_drop(loop, idx); /* cannot free it: the caller's handle is good */
        return rc;
    }
    return 0;
}

int aio_future_remove_done_callback(aio_loop *loop, aio_future f, aio_done_callback cb, void *arg) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    return rc < 0 ? rc : aio__fut_remove_node(loop, idx, cb, arg);
}

int aio__fut_remove_node(aio_loop *loop, uint32_t idx, aio_done_callback cb, void *arg) {
    if (loop->fut.slots[idx].state != AIO__FS_PENDING)
        return 0; /* its list is scheduled already (FUT-07's snapshot) */
    int removed = 0;
    uint32_t *link = aio__fut_cbs(loop, idx);
    while (*link != AIO__NIL) {
        uint32_t n = *link;
        if (!(n & AIO__WAITER_BIT) && loop->cb.nodes[n].fn == cb && loop->cb.nodes[n].arg == arg) {
            *link = loop->cb.nodes[n].next;
            aio__node_free(loop, n);
            removed++;
        } else {
            link = entry_next(loop, n);
        }
    }
    /* Drop the holds last: the slot must not be freed while we walk it. */
    for (int i = 0; i < removed; i++)
        aio__fut_drop(loop, idx);
    return removed;
}
