/* Timers: a table of timer slots (callback, argument, state) and a 4-ary
 * min-heap of (deadline, arming sequence, slot). The heap keeps the keys
 * inside its array (libev's layout): sifting compares without touching the
 * slots, which keeps a million random deadlines cache-friendly. Each slot
 * remembers its heap position, so cancel is O(log n).
 *
 * A due timer is not run from the heap: aio__timers_run_due() moves every due
 * timer to the ready queue first (state QUEUED), in (deadline, sequence)
 * order, so equal deadlines fire in arming order and a timer re-armed with a
 * zero delay waits for the next iteration. A QUEUED timer can still be
 * cancelled; its slot is freed when its queue entry runs. */
#include "internal.h"

#include <stdlib.h>

#define AIO__HEAP_D 4

static inline bool heap_less(const aio__heap_ent *a, const aio__heap_ent *b) {
    if (a->when != b->when)
        return a->when < b->when;
    return (int32_t)(a->seq - b->seq) < 0; /* sequence numbers wrap */
}

static inline void heap_place(aio_loop *loop, uint32_t pos, aio__heap_ent e) {
    loop->heap[pos] = e;
    loop->timers[e.slot].pos = pos;
}

static void sift_up(aio_loop *loop, uint32_t pos) {
    aio__heap_ent e = loop->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / AIO__HEAP_D;
        if (!heap_less(&e, &loop->heap[parent]))
            break;
        heap_place(loop, pos, loop->heap[parent]);
        pos = parent;
    }
    heap_place(loop, pos, e);
}

static void sift_down(aio_loop *loop, uint32_t pos) {
    aio__heap_ent e = loop->heap[pos];
    uint32_t n = loop->heap_len;
    for (;;) {
        uint32_t first = pos * AIO__HEAP_D + 1;
        if (first >= n)
            break;
        uint32_t best = first;
        uint32_t end = first + AIO__HEAP_D < n ? first + AIO__HEAP_D : n;
        for (uint32_t c = first + 1; c < end; c++)
            if (heap_less(&loop->heap[c], &loop->heap[best]))
                best = c;
        if (!heap_less(&loop->heap[best], &e))
            break;
        heap_place(loop, pos, loop->heap[best]);
        pos = best;
    }
    heap_place(loop, pos, e);
}

static void heap_remove(aio_loop *loop, uint32_t pos) {
    uint32_t last = --loop->heap_len;
    if (pos == last)
        return;
    heap_place(loop, pos, loop->heap[last]);
    if (pos > 0 && heap_less(&loop->heap[pos], &loop->heap[(pos - 1) / AIO__HEAP_D]))
        sift_up(loop, pos);
    else
        sift_down(loop, pos);
}

static void slot_free(aio_loop *loop, uint32_t slot) {
    aio__timer *tm = &loop->timers[slot];
    tm->u.fn = NULL;
    tm->arg = NULL;
    tm->state = AIO__TS_FREE;
    tm->sleep = 0;
    tm->dead = 0;
    tm->gen = (tm->gen + 1) & AIO__TGEN_MASK;
    tm->pos = loop->free_timer;
    loop->free_timer = slot;
}

static int slot_alloc(aio_loop *loop, uint32_t *out) {
    if (loop->free_timer != AIO__NIL) {
        *out = loop->free_timer;
        loop->free_timer = loop->timers[*out].pos;
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
    loop->timers[*out].dead = 0;
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
    loop->timers[slot].state = AIO__TS_ARMED;
    aio__heap_ent e = {when, loop->timer_seq++, slot};
    loop->heap[loop->heap_len++] = e;
    sift_up(loop, loop->heap_len - 1);
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
    if (tm->state == AIO__TS_ARMED) {
        heap_remove(loop, tm->pos);
        slot_free(loop, slot);
        return 1;
    }
    if (tm->state == AIO__TS_QUEUED && !tm->dead) {
        tm->dead = 1; /* its queue entry frees the slot */
        return 1;
    }
    return 0;
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

/* Ready-queue entry of a due timer: free the slot, then run the callback
 * (which may arm timers and so reuse the slot). */
static void timer_fire(aio_loop *loop, void *arg) {
    uint32_t slot = (uint32_t)(uintptr_t)arg;
    aio__timer tm = loop->timers[slot];
    slot_free(loop, slot);
    if (tm.dead)
        return;
    if (tm.sleep)
        aio__sleep_fire(loop, (uint32_t)(uintptr_t)tm.arg, tm.u.result);
    else
        tm.u.fn(loop, tm.arg);
}

void aio__timers_run_due(aio_loop *loop) {
    while (loop->heap_len > 0 && loop->heap[0].when <= loop->now_ns) {
        uint32_t slot = loop->heap[0].slot;
        if (aio__ready_push(loop, timer_fire, (void *)(uintptr_t)slot, NULL) < 0) {
            aio__report(loop, "out of memory: due timers postponed", -ENOMEM, AIO__NIL);
            return; /* they stay in the heap and are retried next iteration */
        }
        heap_remove(loop, 0);
        loop->timers[slot].state = AIO__TS_QUEUED;
    }
}

void aio__timers_free(aio_loop *loop) {
    free(loop->heap);
    free(loop->timers);
    loop->heap = NULL;
    loop->timers = NULL;
    loop->heap_len = loop->heap_cap = 0;
    loop->ntimers = loop->captimers = 0;
    loop->free_timer = AIO__NIL;
}
