/* Timers: a table of timer slots (callback, argument, state) and a 4-ary
 * min-heap of (deadline, arming sequence, slot). The heap keeps the keys
 * inside its array (libev's layout): sifting compares without touching the
 * slots, which keeps a million random deadlines cache-friendly.
 *
 * Cancel is lazy (as asyncio's): it frees the slot at once, and the heap
 * entry stays until it reaches the top, where it is recognised as stale
 * (its slot is no longer armed with that entry's sequence) and dropped
 * unrun. So the sifts never write to the slots (a heap that tracks each
 * timer's position pays a cache miss per level moved, on a table of a
 * million timers), and cancel is O(1). When stale entries outnumber the
 * live ones the heap is rebuilt without them, so a loop that arms and
 * cancels long timeouts over and over (wait_for) keeps a bounded heap.
 * Stale entries on top are dropped before the loop computes its poll
 * timeout, so a cancelled timer never wakes the loop or hides a deadlock.
 *
 * Due timers run from one ready-queue entry per iteration (fire_due), which
 * pops them off the heap in (deadline, sequence) order, so equal deadlines
 * fire in arming order. "Collected before any of them runs" is kept by a
 * snapshot taken when the entry is queued: the clock then, and the arming
 * sequence then. A timer armed by one of the callbacks (even with a past
 * deadline) has a later sequence and waits for the next iteration, so a
 * zero-delay timer re-armed forever cannot starve I/O. A due timer
 * cancelled before its turn simply does not run. Nothing is copied per
 * timer (the ready queue used to take 16 bytes per due timer: 16 MB when a
 * million fall due together). */
#include "internal.h"

#include <stdlib.h>

#define AIO__HEAP_D 4

static inline bool heap_less(const aio__heap_ent *a, const aio__heap_ent *b) {
    if (a->when != b->when)
        return a->when < b->when;
    return (int32_t)(a->seq - b->seq) < 0; /* sequence numbers wrap */
}

static void sift_up(aio__heap_ent *heap, uint32_t pos) {
    aio__heap_ent e = heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / AIO__HEAP_D;
        if (!heap_less(&e, &heap[parent]))
            break;
        heap[pos] = heap[parent];
        pos = parent;
    }
    heap[pos] = e;
}

static void sift_down(aio__heap_ent *heap, uint32_t n, uint32_t pos) {
    aio__heap_ent e = heap[pos];
    for (;;) {
        uint32_t first = pos * AIO__HEAP_D + 1;
        if (first >= n)
            break;
        uint32_t best = first;
        uint32_t end = first + AIO__HEAP_D < n ? first + AIO__HEAP_D : n;
        for (uint32_t c = first + 1; c < end; c++)
            if (heap_less(&heap[c], &heap[best]))
                best = c;
        if (!heap_less(&heap[best], &e))
            break;
        heap[pos] = heap[best];
        pos = best;
    }
    heap[pos] = e;
}

static void heap_pop(aio_loop *loop) {
    uint32_t last = --loop->heap_len;
    if (last > 0) {
        loop->heap[0] = loop->heap[last];
        sift_down(loop->heap, last, 0);
    }
}

static bool entry_live(const aio_loop *loop, const aio__heap_ent *e) {
    const aio__timer *tm = &loop->timers[e->slot];
    return tm->state == AIO__TS_ARMED && tm->seq == e->seq;
}

void aio__timers_prune_top(aio_loop *loop) {
    while (loop->heap_len > 0 && !entry_live(loop, &loop->heap[0])) {
        heap_pop(loop);
        loop->heap_stale--;
    }
}

/* Rebuild the heap from its live entries (Floyd's heapify, O(n)). */
static void heap_compact(aio_loop *loop) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < loop->heap_len; i++)
        if (entry_live(loop, &loop->heap[i]))
            loop->heap[n++] = loop->heap[i];
    loop->heap_len = n;
    loop->heap_stale = 0;
    for (uint32_t i = n / AIO__HEAP_D + 1; i-- > 0;)
        if (i < n)
            sift_down(loop->heap, n, i);
}

static void slot_free(aio_loop *loop, uint32_t slot) {
    aio__timer *tm = &loop->timers[slot];
    tm->u.fn = NULL;
    tm->arg = NULL;
    tm->state = AIO__TS_FREE;
    tm->sleep = 0;
    tm->gen = (tm->gen + 1) & AIO__TGEN_MASK;
    tm->seq = loop->free_timer;
    loop->free_timer = slot;
}

static int slot_alloc(aio_loop *loop, uint32_t *out) {
    if (loop->free_timer != AIO__NIL) {
        *out = loop->free_timer;
        loop->free_timer = loop->timers[*out].seq;
        return 0;
    }
    if (loop->ntimers == loop->captimers) {
        uint32_t cap = loop->captimers ? loop->captimers * 2 : 64;
        if (cap > AIO__IDX_MASK + 1)
            return -ENOMEM;
        aio__timer *t = realloc(loop->timers, (size_t)cap * sizeof *t);
        if (!t)
            return -ENOMEM;
        loop->timers = t;
        loop->captimers = cap;
    }
    *out = loop->ntimers++;
    loop->timers[*out].gen = 0;
    loop->timers[*out].sleep = 0;
    return 0;
}

/* Take a slot and push its key; the caller fills in what it runs. */
static int timer_arm(aio_loop *loop, int64_t when, uint32_t *out) {
    if (loop->heap_len == loop->heap_cap) {
        uint32_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        aio__heap_ent *h = realloc(loop->heap, (size_t)cap * sizeof *h);
        if (!h)
            return -ENOMEM;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    uint32_t slot;
    int rc = slot_alloc(loop, &slot);
    if (rc < 0)
        return rc;
    aio__heap_ent e = {when, loop->timer_seq++, slot};
    loop->timers[slot].state = AIO__TS_ARMED;
    loop->timers[slot].seq = e.seq;
    loop->heap[loop->heap_len++] = e;
    sift_up(loop->heap, loop->heap_len - 1);
    *out = slot;
    return 0;
}

int aio__timer_arm(aio_loop *loop, int64_t when, aio_callback fn, void *arg, uint32_t *out) {
    uint32_t slot;
    int rc = timer_arm(loop, when, &slot);
    if (rc < 0)
        return rc;
    loop->timers[slot].u.fn = fn;
    loop->timers[slot].arg = arg;
    if (out)
        *out = slot;
    return 0;
}

int aio__timer_arm_sleep(aio_loop *loop, int64_t when, uint32_t fut, aio_value result, uint32_t *out) {
    int rc = timer_arm(loop, when, out);
    if (rc < 0)
        return rc;
    aio__timer *tm = &loop->timers[*out];
    tm->u.result = result;
    tm->arg = (void *)(uintptr_t)fut;
    tm->sleep = 1;
    return 0;
}

int aio__timer_cancel(aio_loop *loop, uint32_t slot) {
    aio__timer *tm = &loop->timers[slot];
    if (tm->state != AIO__TS_ARMED)
        return 0;
    slot_free(loop, slot); /* its heap entry is stale from now on */
    if (++loop->heap_stale > 64 && loop->heap_stale > loop->heap_len / 2)
        heap_compact(loop);
    return 1;
}

uint64_t aio__timer_handle_id(const aio_loop *loop, uint32_t slot) {
    return ((uint64_t)loop->tag << AIO__TAG_SHIFT) | AIO__KIND_TIMER |
           ((uint64_t)loop->timers[slot].gen << AIO__IDX_BITS) | slot;
}

int aio__timer_cancel_handle(aio_loop *loop, uint64_t id) {
    uint32_t slot = (uint32_t)(id & AIO__IDX_MASK);
    uint32_t gen = (uint32_t)((id >> AIO__IDX_BITS) & AIO__TGEN_MASK);
    if (slot >= loop->ntimers)
        return AIO_ESTALE;
    aio__timer *tm = &loop->timers[slot];
    if (tm->gen != gen || tm->state == AIO__TS_FREE)
        return 0; /* ran or was cancelled, and its slot was freed */
    return aio__timer_cancel(loop, slot);
}

/* Ready-queue entry: run the timers that were due when it was queued. Each
 * is taken off the heap and its slot freed before its callback runs (which
 * may arm timers and so reuse the slot, or cancel other due timers). */
static void fire_due(aio_loop *loop, void *arg) {
    (void)arg;
    loop->due_queued = false;
    while (loop->heap_len > 0) {
        aio__heap_ent top = loop->heap[0];
        if (top.when > loop->due_now || (int32_t)(top.seq - loop->due_seq) >= 0)
            break; /* not due at collection, or armed since: next iteration */
        heap_pop(loop);
        if (!entry_live(loop, &top)) { /* cancelled: its slot is gone already */
            loop->heap_stale--;
            continue;
        }
        aio__timer tm = loop->timers[top.slot];
        slot_free(loop, top.slot);
        if (tm.sleep)
            aio__sleep_fire(loop, (uint32_t)(uintptr_t)tm.arg, tm.u.result);
        else
            tm.u.fn(loop, tm.arg);
    }
}

void aio__timers_run_due(aio_loop *loop) {
    if (loop->due_queued)
        return; /* the entry queued earlier has not run yet: it takes these too */
    if (aio__ready_push(loop, fire_due, NULL, NULL) < 0) {
        aio__report(loop, "out of memory: due timers postponed", -ENOMEM, AIO__NIL);
        return; /* they stay in the heap and are retried next iteration */
    }
    loop->due_queued = true;
    loop->due_now = loop->now_ns;
    loop->due_seq = loop->timer_seq;
}

void aio__timers_free(aio_loop *loop) {
    free(loop->heap);
    free(loop->timers);
    loop->heap = NULL;
    loop->timers = NULL;
    loop->heap_len = loop->heap_cap = loop->heap_stale = 0;
    loop->ntimers = loop->captimers = 0;
    loop->free_timer = AIO__NIL;
    loop->due_queued = false;
}
