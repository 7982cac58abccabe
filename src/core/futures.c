/* The futures table: loop-owned slots addressed by generational handles.
 *
 * Lifetime: a slot is freed when its reference count drops to 0. Holders are
 * the users' references, every registered done callback or awaiting task (one
 * each, dropped after it ran or was removed), a sleep's timer and a running
 * task's loop. So a future is never freed under someone waiting on it, and
 * freeing is deterministic: a failed future whose error nobody looked at is
 * reported the moment its last holder lets go.
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
#include "core/mem.h"
#include "core/owner.h"
#include "core/ready.h"
#include "core/task.h"
#include "core/timers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Memory per future is what the benchmarks measure: keep it from growing
 * by accident (LP64 figures). */
_Static_assert(sizeof(void *) != 8 || sizeof(aio__fut) == 16, "a future slot is 16 bytes");
_Static_assert(sizeof(void *) != 8 || sizeof(aio__node) == 24, "a callback node is 24 bytes");
_Static_assert(sizeof(aio__timer) == 8, "a timer slot is 8 bytes");
_Static_assert(sizeof(void *) != 8 || sizeof(aio__heap_ent) == 32, "a timer key is 32 bytes");

/* ---- handles ------------------------------------------------------------- */

int aio_future_check(aio_future f) {
    if (f.id == 0)
        return AIO_ENULL;
    if ((f.id >> AIO__TAG_SHIFT) == 0)
        return -(int)(uint32_t)f.id;
    return 0;
}

int aio__fut_lookup_all(const aio_loop *loop, const aio_future *futs, size_t n, uint32_t *idx_out) {
    for (size_t i = 0; i < n; i++) {
        int rc = aio__fut_lookup(loop, futs[i], &idx_out[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int aio__fut_lookup_slow(const aio_loop *loop, aio_future f) {
    if (!loop)
        return -EINVAL;
    int rc = aio_future_check(f);
    if (rc < 0)
        return rc;
    if ((uint16_t)(f.id >> AIO__TAG_SHIFT) != loop->tag)
        return AIO_EFOREIGN;
    if (loop->closed)
        return AIO_ECLOSED;
    return AIO_ESTALE;
}

/* ---- slots ----------------------------------------------------------------- */

int aio__fut_alloc_grow(aio_loop *loop, uint32_t *out) {
    if (loop->closed)
        return AIO_ECLOSED; /* a closed loop keeps no slots (aio__fut_lookup relies on it) */
    if (loop->fut.n == loop->fut.cap) {
        uint32_t cap = loop->fut.cap ? loop->fut.cap * 2 : 64;
        if (cap > AIO__IDX_MASK + 1)
            cap = (uint32_t)(AIO__IDX_MASK + 1);
        if (cap == loop->fut.cap)
            return -ENOMEM;
        /* The extras first: if the table then fails, they are merely bigger
         * than needed, while capfuts still tells the table's size (which
         * aio__table_free relies on). */
        if (loop->fut.extras) {
            struct aio__extra *x = realloc(loop->fut.extras, (size_t)cap * sizeof *x);
            if (!x)
                return -ENOMEM;
            memset(x + loop->fut.cap, 0, (size_t)(cap - loop->fut.cap) * sizeof *x);
            loop->fut.extras = x;
        }
        if (loop->fut.bigc) { /* never read before a slot is made big: no need to clear */
            aio__bigc *b = realloc(loop->fut.bigc, (size_t)cap * sizeof *b);
            if (!b)
                return -ENOMEM;
            loop->fut.bigc = b;
        }
        void *f = loop->fut.slots;
        size_t old = (size_t)loop->fut.cap * sizeof *loop->fut.slots; /* every slot in use */
        if (aio__table_resize(loop, &f, old, old, (size_t)cap * sizeof *loop->fut.slots) < 0)
            return -ENOMEM;
        loop->fut.slots = f;
        loop->fut.cap = cap;
    }
    uint32_t i = loop->fut.n++;
    loop->fut.slots[i].gen = 0;
    aio__fut_init(&loop->fut.slots[i]);
    *out = i;
    return 0;
}

/* ---- counts past 16 bits (see AIO__CNT_BIG) ----------------------------------- */

/* Move slot idx's counts to loop->fut.bigc (allocated on first use, like the
 * extras): 0 or -ENOMEM. */
static int go_big(aio_loop *loop, uint32_t idx) {
    if (!loop->fut.bigc && !(loop->fut.bigc = malloc((size_t)loop->fut.cap * sizeof *loop->fut.bigc)))
        return -ENOMEM;
    aio__fut *s = &loop->fut.slots[idx];
    loop->fut.bigc[idx].refs = s->refs;
    loop->fut.bigc[idx].holds = s->holds;
    s->refs = s->holds = AIO__CNT_BIG;
    return 0;
}

/* One more of the slot's references (refs) or holds, its counts moved out
 * first if they are not yet. */
static int big_inc(aio_loop *loop, uint32_t idx, bool refs) {
    if (!aio__fut_big(&loop->fut.slots[idx])) {
        int rc = go_big(loop, idx);
        if (rc < 0)
            return rc;
    }
    uint32_t *c = refs ? &loop->fut.bigc[idx].refs : &loop->fut.bigc[idx].holds;
    if (*c == UINT32_MAX)
        return -EOVERFLOW;
    (*c)++;
    return 0;
}

int aio__fut_hold_slow(aio_loop *loop, uint32_t idx) { return big_inc(loop, idx, false); }

int aio__fut_retain_slow(aio_loop *loop, uint32_t idx) { return big_inc(loop, idx, true); }

/* Both counts of a big slot reached 0: it is an ordinary free slot again. */
static void free_big(aio_loop *loop, uint32_t idx) {
    loop->fut.slots[idx].refs = loop->fut.slots[idx].holds = 0;
    aio__fut_free_slot(loop, idx);
}

void aio__fut_drop_slow(aio_loop *loop, uint32_t idx) {
    aio__bigc *b = &loop->fut.bigc[idx];
    if (--b->holds == 0 && b->refs == 0)
        free_big(loop, idx);
}

void aio__fut_consume_slow(aio_loop *loop, uint32_t idx, bool held) {
    aio__bigc *b = &loop->fut.bigc[idx];
    if (b->refs > 0 && --b->refs == 0 && b->holds == 0 && !held)
        free_big(loop, idx);
}

uint32_t aio__fut_refs(const aio_loop *loop, uint32_t idx) {
    const aio__fut *s = &loop->fut.slots[idx];
    return aio__fut_big(s) ? loop->fut.bigc[idx].refs : s->refs;
}

struct aio__extra *aio__extras(aio_loop *loop) {
    if (!loop->fut.extras)
        loop->fut.extras = calloc(loop->fut.cap ? loop->fut.cap : 1, sizeof *loop->fut.extras);
    return loop->fut.extras;
}

static const char *slot_name(const aio_loop *loop, uint32_t idx) {
    return loop->fut.extras ? loop->fut.extras[idx].name : NULL;
}

void aio__report(aio_loop *loop, const char *msg, int err, uint32_t idx) {
    aio_report r;
    r.message = msg;
    r.error = err;
    r.future = idx != AIO__NIL ? aio__fut_handle(loop, idx) : (aio_future){0};
    r.task_name = idx != AIO__NIL ? slot_name(loop, idx) : NULL;
    if (loop->report.handler) {
        loop->report.handler(loop, &r, loop->report.arg);
        return;
    }
    fprintf(stderr, "libaio: %s", msg);
    if (r.task_name)
        fprintf(stderr, " (task %s)", r.task_name);
    if (err)
        fprintf(stderr, ": %s", aio_strerror(err));
    fputc('\n', stderr);
}

static void report_unretrieved(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->fut.slots[idx];
    if (!(s->flags & AIO__FF_UNRETRIEVED))
        return;
    s->flags &= ~AIO__FF_UNRETRIEVED & 0x7fu; /* exactly one report */
    aio__report(loop,
                (s->flags & AIO__FF_TASK) ? "Task exception was never retrieved"
                                          : "Future exception was never retrieved",
                (int)s->u.value.i, idx);
}

void aio__fut_free_slot_slow(aio_loop *loop, uint32_t idx) {
    report_unretrieved(loop, idx);
    if (loop->fut.extras) {
        free(loop->fut.extras[idx].name);
        loop->fut.extras[idx].name = NULL;
        loop->fut.extras[idx].cancel_msg = NULL;
    }
    aio__fut_recycle(loop, idx); /* re-read the table: the report's handler may have grown it */
}

/* ---- callback nodes ---------------------------------------------------------- */

static int node_alloc(aio_loop *loop, uint32_t *out) {
    if (loop->cb.free != AIO__NIL) {
        *out = loop->cb.free;
        loop->cb.free = loop->cb.nodes[*out].next;
        return 0;
    }
    if (loop->cb.n == loop->cb.cap) {
        uint32_t cap = loop->cb.cap ? loop->cb.cap * 2 : 64;
        if (cap > AIO__WAITER_BIT) /* indices must stay clear of the waiter bit */
            return -ENOMEM;
        void *n = loop->cb.nodes;
        size_t old = (size_t)loop->cb.cap * sizeof *loop->cb.nodes; /* every node in use */
        if (aio__table_resize(loop, &n, old, old, (size_t)cap * sizeof *loop->cb.nodes) < 0)
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

/* Out of memory queueing slot idx's list (in registration order, from e):
 * run nothing rather than run early; drop the holds (an awaiting task stays
 * suspended until the loop closes). */
AIO__COLD static void drop_list(aio_loop *loop, uint32_t idx, uint32_t e) {
    aio__report(loop, "out of memory: done callbacks dropped", -ENOMEM, idx);
    while (e != AIO__NIL) {
        uint32_t next = *entry_next(loop, e);
        if (!(e & AIO__WAITER_BIT))
            aio__node_free(loop, e);
        aio__fut_drop(loop, idx);
        e = next;
    }
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

/* open_batch when the ring is full: grow it, or drop the list (idx's). */
AIO__COLD static void open_batch_grow(aio_loop *loop, uint32_t idx, uint32_t first, uint32_t last) {
    if (aio__ready_grow(loop) == 0)
        open_batch(loop, first, last);
    else
        drop_list(loop, idx, first);
}

/* Queue slot idx's (newest-first) list, taken out of it, from `last` (the
 * oldest entry: last once reversed): reversed into registration order and
 * appended to the open dispatch batch if that is still the last ready
 * entry, else in a new batch. Inline in the completions; growing the ring
 * (or failing to) is out of line, so the inline path makes no call that
 * returns to it. */
static inline void schedule_list(aio_loop *loop, uint32_t idx, uint32_t last) {
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
        open_batch_grow(loop, idx, first, last);
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
    schedule_list(loop, idx, list);
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
            void *q = realloc(loop->cancel.q, cap * sizeof *loop->cancel.q);
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
        return aio__task_cancel_idx(loop, idx, msg);
    if (s->flags & AIO__FF_OWNED)
        return s->u.owner->ops->cancel(loop, s->u.owner, msg);
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__fut_finish(loop, idx, AIO__FS_CANCELLED, v);
    return 1;
}

/* ---- public API ------------------------------------------------------------------ */

/* aio_future_new_on when no slot is free: grow the table. */
AIO__NOINLINE static aio_future new_future_grow(aio_loop *loop) {
    uint32_t idx;
    int rc = aio__fut_alloc_grow(loop, &idx);
    return rc < 0 ? aio__error_handle(rc) : aio__fut_handle(loop, idx);
}

aio_future aio_future_new_on(aio_loop *loop) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    uint32_t idx;
    if (AIO__LIKELY(aio__fut_alloc_fast(loop, &idx)))
        return aio__fut_handle(loop, idx);
    return new_future_grow(loop); /* a tail call: the path above saves nothing */
}

int aio_future_done(aio_loop *loop, aio_future f) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    return rc < 0 ? rc : loop->fut.slots[idx].state != AIO__FS_PENDING;
}

int aio_future_cancelled(aio_loop *loop, aio_future f) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    return rc < 0 ? rc : loop->fut.slots[idx].state == AIO__FS_CANCELLED;
}

int aio_future_result(aio_loop *loop, aio_future f, aio_value *out) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    if (rc < 0)
        return rc;
    aio_value v;
    rc = aio__fut_outcome(loop, idx, &v);
    if (out && rc == 0)
        *out = v;
    return rc;
}

int aio_future_error(aio_loop *loop, aio_future f) { return aio_future_result(loop, f, NULL); }

/* set_result / set_error on a future that is not a plain pending one. */
AIO__NOINLINE static int set_outcome_other(aio_loop *loop, uint32_t idx, uint8_t state, aio_value v) {
    const aio__fut *s = &loop->fut.slots[idx];
    if (s->flags & (AIO__FF_TASK | AIO__FF_OWNED))
        return AIO_EISTASK; /* completed only by its task or combinator */
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
                    !(s->flags & (AIO__FF_TASK | AIO__FF_OWNED | AIO__FF_TIMER)))) {
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

int aio_future_cancel(aio_loop *loop, aio_future f, const char *msg) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    return rc < 0 ? rc : aio__fut_cancel_idx(loop, idx, msg);
}

const char *aio_future_cancel_message(aio_loop *loop, aio_future f) {
    uint32_t idx;
    if (aio__fut_lookup(loop, f, &idx) < 0 || loop->fut.slots[idx].state != AIO__FS_CANCELLED)
        return NULL;
    return loop->fut.slots[idx].u.value.p;
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

aio_future aio_future_retain(aio_loop *loop, aio_future f) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    if (rc < 0)
        return aio__error_handle(rc);
    aio__fut *s = &loop->fut.slots[idx];
    if (AIO__LIKELY(s->refs < AIO__CNT_BIG - 1))
        s->refs++;
    else if ((rc = aio__fut_retain_slow(loop, idx)) < 0)
        return aio__error_handle(rc);
    return f;
}

int aio_future_release(aio_loop *loop, aio_future f) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    if (rc < 0)
        return rc;
    if (aio__fut_refs(loop, idx) == 0)
        return AIO_ENOREF; /* only the library's holds are left: not yours to drop */
    aio__fut_consume(loop, idx);
    return 0;
}

/* ---- sleep --------------------------------------------------------------------- */

/* A sleep's timer fired (its slot is already free). */
void aio__sleep_fire(aio_loop *loop, uint32_t idx, aio_value result) {
    aio__fut *s = &loop->fut.slots[idx];
    if (s->state == AIO__FS_PENDING) {
        s->flags &= ~AIO__FF_TIMER & 0x7fu; /* the timer is gone: nothing to cancel */
        aio__fut_finish(loop, idx, AIO__FS_RESULT, result);
    }
    aio__fut_drop(loop, idx); /* the timer's hold */
}

aio_future aio_sleep_on(aio_loop *loop, double delay, aio_value result) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (isnan(delay) || isinf(delay))
        return aio__error_handle(-EINVAL);
    uint32_t idx;
    rc = aio__fut_alloc(loop, &idx);
    if (rc < 0)
        return aio__error_handle(rc);
    aio__fut *s = &loop->fut.slots[idx];
    if (delay <= 0) {
        /* asyncio's sleep(0): already done, but awaiting it yields once. */
        s->state = AIO__FS_RESULT;
        s->flags |= AIO__FF_YIELD;
        s->u.value = result;
        return aio__fut_handle(loop, idx);
    }
    uint32_t timer;
    rc = aio__timer_arm_sleep(loop, loop->now_ns + aio__delay_ns(delay), idx, result, &timer);
    if (rc < 0) {
        aio__fut_consume(loop, idx);
        return aio__error_handle(rc);
    }
    s = &loop->fut.slots[idx];
    s->u.p.timer = timer;
    s->flags |= AIO__FF_TIMER;
    aio__fut_hold_new(loop, idx); /* the timer's */
    return aio__fut_handle(loop, idx);
}

/* ---- close ------------------------------------------------------------------- */

void aio__futures_free(aio_loop *loop) {
    aio__owners_free_all(loop);
    for (uint32_t i = 0; i < loop->fut.n; i++) {
        aio__fut *s = &loop->fut.slots[i];
        if (s->state == AIO__FS_PENDING && (s->flags & AIO__FF_TASK)) {
            aio__report(loop, "Task was destroyed but it is pending", 0, i);
            aio__task_destroy(loop, s->u.task);
        } else {
            report_unretrieved(loop, i);
        }
    }
    if (loop->fut.extras)
        for (uint32_t i = 0; i < loop->fut.n; i++)
            free(loop->fut.extras[i].name);
    free(loop->fut.extras);
    free(loop->fut.bigc);
    loop->fut.bigc = NULL;
    aio__table_free(loop, loop->fut.slots, (size_t)loop->fut.cap * sizeof *loop->fut.slots);
    aio__table_free(loop, loop->cb.nodes, (size_t)loop->cb.cap * sizeof *loop->cb.nodes);
    free(loop->cancel.q);
    loop->cancel.q = NULL;
    loop->cancel.n = loop->cancel.cap = 0;
    loop->fut.extras = NULL;
    loop->fut.slots = NULL;
    loop->cb.nodes = NULL;
    loop->fut.n = loop->fut.cap = loop->cb.n = loop->cb.cap = 0;
    loop->fut.free = loop->cb.free = AIO__NIL;
    loop->task.count = 0;
}
