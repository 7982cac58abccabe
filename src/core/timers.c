/* Timers: each timer is a 32-byte key (deadline, arming sequence, slot,
 * callback, argument) kept in a 4-ary min-heap while due soon, or in a
 * hierarchical timing wheel of buckets while later. Only cancellable timers
 * (a handle was asked for, or the library's own sleeps and timeouts) have a
 * slot: an 8-byte record that handles point at and that tells a cancelled
 * timer's key from a live one. Firing a timer reads nothing but its key.
 *
 * The heap keeps the keys inside its array (libev's layout), so sifting
 * compares without touching anything else. The wheel keeps it small: a
 * timer whose deadline lies beyond the current 8.2 us slot goes into a
 * bucket (an O(1) append of its key to a chunk of 63), on the lowest of four
 * levels whose bucket span covers it (8.2 us, 2.1 ms, 537 ms, 137 s; beyond
 * 9.8 h, one overflow bucket). When time reaches a bucket, a level-0
 * bucket's keys go into the heap, a higher bucket's keys are spread over
 * the levels below (each key moves at most once per level). The heap then
 * holds one slot's worth of timers instead of all of them: at a million
 * timers, sifting a heap of 16 MB missed the cache at every level.
 *
 * Order is exact, as with a heap alone: buckets cover disjoint, increasing
 * spans of time, and fire_due moves the next bucket into the heap before
 * the heap's first deadline reaches that bucket's start, so (deadline,
 * sequence) order holds across them. The heap is also the fallback: a key
 * that finds no memory for a wheel chunk goes there, which is always
 * correct. Its capacity covers every key armed, so moving keys into it
 * never fails.
 *
 * Cancel is lazy (as asyncio's): it frees the slot at once, and the key
 * stays until it is moved or reaches the top, where it is recognised as
 * stale (its slot is no longer armed with that key's sequence) and dropped
 * unrun. Nothing writes back to the slots when keys move, and cancel is
 * O(1). When stale keys are the majority they are all dropped (heap and
 * wheel rebuilt), so arm + cancel loops (wait_for) stay bounded; when no
 * timer is armed at all they are dropped at once, so a cancelled timer
 * never wakes the loop or hides a deadlock.
 *
 * Due timers run from one ready-queue entry per iteration (fire_due), which
 * pops them in (deadline, sequence) order, so equal deadlines fire in
 * arming order. "Collected before any of them runs" is kept by a snapshot
 * taken when the entry is queued: the clock then, and the arming sequence
 * then. A timer armed by one of the callbacks (even with a past deadline)
 * has a later sequence and waits for the next iteration, so a zero-delay
 * timer re-armed forever cannot starve I/O. A due timer cancelled before
 * its turn simply does not run. */
#include "core/compiler.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/ready.h"
#include "core/timers.h"

#include <stdlib.h>
#include <string.h>

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
    uint32_t last = --loop->tm.heap_len;
    if (last > 0) {
        loop->tm.heap[0] = loop->tm.heap[last];
        sift_down(loop->tm.heap, last, 0);
    }
}

/* The heap's capacity covers every key (heap_len + wheel_count), so this
 * never needs memory. */
void aio__heap_push(aio_loop *loop, aio__heap_ent e) {
    loop->tm.heap[loop->tm.heap_len++] = e;
    sift_up(loop->tm.heap, loop->tm.heap_len - 1);
}

void aio__timers_prune_top(aio_loop *loop) {
    while (loop->tm.heap_len > 0 && !aio__key_live(loop, &loop->tm.heap[0])) {
        heap_pop(loop);
        loop->tm.stale--;
    }
    while (loop->wheel.run_pos < loop->wheel.run_len &&
           !aio__key_live(loop, &loop->wheel.run[loop->wheel.run_pos])) {
        loop->wheel.run_pos++;
        loop->tm.stale--;
    }
}

/* Drop every stale key: filter the heap (and re-heapify, O(n)) and each
 * bucket. */
static void timers_compact(aio_loop *loop) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < loop->tm.heap_len; i++)
        if (aio__key_live(loop, &loop->tm.heap[i]))
            loop->tm.heap[n++] = loop->tm.heap[i];
    loop->tm.heap_len = n;
    for (uint32_t i = n / AIO__HEAP_D + 1; i-- > 0;)
        if (i < n)
            sift_down(loop->tm.heap, n, i);
    aio__wheel_compact(loop);
    loop->tm.stale = 0;
}

void aio__timers_drop_all(aio_loop *loop) {
    loop->tm.heap_len = 0;
    aio__wheel_drop_all(loop);
    loop->tm.stale = 0;
}

static void slot_free(aio_loop *loop, uint32_t slot) {
    aio__timer *tm = &loop->tm.slots[slot];
    tm->state = AIO__TS_FREE;
    tm->gen = (tm->gen + 1) & AIO__TGEN_MASK;
    tm->seq = loop->tm.free;
    loop->tm.free = slot;
}

static int slot_alloc(aio_loop *loop, uint32_t *out) {
    if (loop->tm.free != AIO__NIL) {
        *out = loop->tm.free;
        loop->tm.free = loop->tm.slots[*out].seq;
        return 0;
    }
    if (loop->tm.n == loop->tm.cap) {
        /* AIO__TK_NOSLOT means "no slot": never an index */
        uint32_t cap = aio__slots_next_cap(loop->tm.cap, AIO__TK_NOSLOT);
        void *t = loop->tm.slots;
        if (!cap || aio__slots_grow(loop, &t, loop->tm.cap, cap, sizeof *loop->tm.slots) < 0)
            return -ENOMEM;
        loop->tm.slots = t;
        loop->tm.cap = cap;
    }
    *out = loop->tm.n++;
    loop->tm.slots[*out].gen = 0;
    return 0;
}

/* Place a key for a new timer (with a slot if `slot` is not NULL). */
static int timer_arm(aio_loop *loop, aio__heap_ent e, uint32_t *slot) {
    uint32_t total = loop->tm.heap_len + loop->wheel.count + (loop->wheel.run_len - loop->wheel.run_pos);
    if (total >= loop->tm.heap_cap) { /* room in the heap for every key */
        if (total >= UINT32_MAX / 2)
            return -ENOMEM;
        uint32_t cap = loop->tm.heap_cap ? loop->tm.heap_cap * 2 : 64;
        void *h = loop->tm.heap;
        /* keep the heap's keys only: most of its room is for keys in the wheel */
        if (aio__table_resize(loop, &h, (size_t)loop->tm.heap_cap * sizeof *loop->tm.heap,
                              (size_t)loop->tm.heap_len * sizeof *loop->tm.heap,
                              (size_t)cap * sizeof *loop->tm.heap) < 0)
            return -ENOMEM;
        loop->tm.heap = h;
        loop->tm.heap_cap = cap;
    }
    if (!loop->wheel.buckets)
        aio__wheel_start(loop); /* first timer (no memory: the heap alone) */
    e.seq = loop->tm.seq;
    if (slot) {
        int rc = slot_alloc(loop, slot);
        if (rc < 0)
            return rc;
        loop->tm.slots[*slot].state = AIO__TS_ARMED;
        loop->tm.slots[*slot].seq = e.seq;
        e.slot = (e.slot & AIO__TK_RESULT) | *slot;
    }
    loop->tm.seq++;
    loop->tm.live++;
    int64_t start = aio__wheel_place(loop, e);
    if (start < loop->wheel.next)
        loop->wheel.next = start;
    return 0;
}

int aio__timer_arm(aio_loop *loop, int64_t when, aio_callback fn, void *arg, uint32_t *out) {
    aio__heap_ent e = {.when = when, .slot = AIO__TK_NOSLOT, .arg = arg};
    e.u.fn = fn;
    return timer_arm(loop, e, out);
}

int aio__timer_arm_result(aio_loop *loop, int64_t when, uint32_t fut, aio_value result, uint32_t *out) {
    aio__heap_ent e = {.when = when, .slot = AIO__TK_RESULT | AIO__TK_NOSLOT, .arg = (void *)(uintptr_t)fut};
    e.u.result = result;
    return timer_arm(loop, e, out);
}

int aio__timer_cancel(aio_loop *loop, uint32_t slot) {
    aio__timer *tm = &loop->tm.slots[slot];
    if (tm->state != AIO__TS_ARMED)
        return 0;
    slot_free(loop, slot); /* its key is stale from now on */
    loop->tm.live--;
    if (++loop->tm.stale > 64 && loop->tm.stale > loop->tm.live)
        timers_compact(loop);
    return 1;
}

uint64_t aio__timer_handle_id(const aio_loop *loop, uint32_t slot) {
    return ((uint64_t)loop->tag << AIO__TAG_SHIFT) | AIO__KIND_TIMER |
           ((uint64_t)loop->tm.slots[slot].gen << AIO__IDX_BITS) | slot;
}

int aio__timer_cancel_handle(aio_loop *loop, uint64_t id) {
    uint32_t slot = (uint32_t)(id & AIO__IDX_MASK);
    uint32_t gen = (uint32_t)((id >> AIO__IDX_BITS) & AIO__TGEN_MASK);
    if (slot >= loop->tm.n)
        return AIO_ESTALE;
    aio__timer *tm = &loop->tm.slots[slot];
    if (tm->gen != gen || tm->state == AIO__TS_FREE)
        return 0; /* ran or was cancelled, and its slot was freed */
    return aio__timer_cancel(loop, slot);
}

/* Run the timers that were due when the entry was queued. Each is taken off
 * the heap and its slot freed before its callback runs (which may arm
 * timers and so reuse the slot, or cancel other due timers). `run`, if not
 * NULL, runs each callback instead (debug mode times them); the entry
 * passes NULL, which the compiler folds away. */
static AIO__ALWAYS_INLINE void fire_due_with(aio_loop *loop, aio__timer_runner run) {
    loop->tm.due_queued = false;
    for (;;) {
        /* The next bucket goes into the heap before the heap's first
         * deadline reaches the bucket's start (equal deadlines included:
         * the bucket may hold an earlier sequence). */
        const aio__heap_ent *h = loop->tm.heap_len > 0 ? &loop->tm.heap[0] : NULL;
        const aio__heap_ent *r =
            loop->wheel.run_pos < loop->wheel.run_len ? &loop->wheel.run[loop->wheel.run_pos] : NULL;
        const aio__heap_ent *m = !h ? r : !r ? h : heap_less(r, h) ? r : h; /* the next key */
        if (loop->wheel.next <= loop->tm.due_now && (!m || m->when >= loop->wheel.next)) {
            aio__wheel_advance(loop);
            continue;
        }
        if (!m)
            break;
        aio__heap_ent top = *m;
        if (top.when > loop->tm.due_now || (int32_t)(top.seq - loop->tm.due_seq) >= 0)
            break; /* not due at collection, or armed since: next iteration */
        if (m == r)
            loop->wheel.run_pos++;
        else
            heap_pop(loop);
        uint32_t slot = top.slot & AIO__IDX_MASK;
        if (slot != AIO__TK_NOSLOT) {         /* cancellable: free its slot first */
            if (!aio__key_live(loop, &top)) { /* cancelled: its slot is gone already */
                loop->tm.stale--;
                continue;
            }
            slot_free(loop, slot);
        }
        loop->tm.live--;
        if (top.slot & AIO__TK_RESULT)
            loop->tm.fire_result(loop, (uint32_t)(uintptr_t)top.arg, top.u.result);
        else if (run)
            run(loop, top.u.fn, top.arg);
        else
            top.u.fn(loop, top.arg);
    }
}

/* The ready-queue entry. */
void aio__timers_fire_due(aio_loop *loop, void *arg) {
    (void)arg;
    fire_due_with(loop, NULL);
}

void aio__timers_fire_due_with(aio_loop *loop, aio__timer_runner run) { fire_due_with(loop, run); }

void aio__timers_each(const aio_loop *loop, void (*fn)(void *ctx, const aio__heap_ent *e), void *ctx) {
    for (uint32_t i = 0; i < loop->tm.heap_len; i++)
        fn(ctx, &loop->tm.heap[i]);
    aio__wheel_each(loop, fn, ctx);
}

void aio__timers_run_due(aio_loop *loop) {
    if (loop->tm.due_queued)
        return; /* the entry queued earlier has not run yet: it takes these too */
    /* No room in the ready queue and no memory to grow it: the due timers
     * stay in the heap, and the next iteration tries again (the queue is
     * not empty, so it does not wait). */
    if (aio__ready_push(loop, aio__timers_fire_due, NULL, NULL) < 0)
        return;
    loop->tm.due_queued = true;
    loop->tm.due_now = loop->now_ns;
    loop->tm.due_seq = loop->tm.seq;
}

void aio__timers_free(aio_loop *loop) {
    aio__timers_drop_all(loop);
    aio__wheel_free(loop);
    aio__table_free(loop, loop->tm.heap, (size_t)loop->tm.heap_cap * sizeof *loop->tm.heap);
    aio__table_free(loop, loop->tm.slots, (size_t)loop->tm.cap * sizeof *loop->tm.slots);
    loop->tm.heap = NULL;
    loop->tm.slots = NULL;
    loop->tm.heap_len = loop->tm.heap_cap = 0;
    loop->tm.live = 0;
    loop->tm.n = loop->tm.cap = 0;
    loop->tm.free = AIO__NIL;
    loop->tm.due_queued = false;
}
