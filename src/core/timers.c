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

#define BLOCK_CAP 63u /* a block is 2,032 bytes */

/* A chunk of a bucket's keys; a bucket is a list of them, newest first. */
struct aio__tblock {
    struct aio__tblock *next;
    uint32_t n;
    aio__heap_ent e[BLOCK_CAP];
};

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
static void heap_push(aio_loop *loop, aio__heap_ent e) {
    loop->tm.heap[loop->tm.heap_len++] = e;
    sift_up(loop->tm.heap, loop->tm.heap_len - 1);
}

void aio__timers_prune_top(aio_loop *loop) {
    while (loop->tm.heap_len > 0 && !aio__key_live(loop, &loop->tm.heap[0])) {
        heap_pop(loop);
        loop->tm.stale--;
    }
    while (loop->wheel.run_pos < loop->wheel.run_len && !aio__key_live(loop, &loop->wheel.run[loop->wheel.run_pos])) {
        loop->wheel.run_pos++;
        loop->tm.stale--;
    }
}

/* ---- the sorted run ---- */

static int seq_cmp(const void *a, const void *b) {
    int32_t d = (int32_t)(((const aio__heap_ent *)a)->seq - ((const aio__heap_ent *)b)->seq);
    return (d > 0) - (d < 0);
}

/* Sort a level-0 bucket's n keys (all in one 2^AIO__W_SHIFT0 ns slot, so
 * the deadline's low bits are the whole key) into the run by counting sort,
 * then order equal deadlines by sequence. Stale keys are dropped. False if
 * there is no memory for it (the caller uses the heap instead). */
static bool run_fill(aio_loop *loop, struct aio__tblock *blk, uint32_t n) {
    const uint32_t nb = 1u << AIO__W_SHIFT0, mask = nb - 1;
    if (n > loop->wheel.run_cap) {
        uint32_t cap = loop->wheel.run_cap ? loop->wheel.run_cap : 256;
        while (cap < n)
            cap *= 2;
        void *r = loop->wheel.run;
        /* keep nothing: the run is empty when it is filled */
        if (aio__table_resize(loop, &r, (size_t)loop->wheel.run_cap * sizeof *loop->wheel.run, 0,
                              (size_t)cap * sizeof *loop->wheel.run) < 0)
            return false;
        loop->wheel.run = r;
        loop->wheel.run_cap = cap;
    }
    if (!loop->wheel.run_counts && !(loop->wheel.run_counts = malloc(nb * sizeof *loop->wheel.run_counts)))
        return false;
    uint32_t *count = loop->wheel.run_counts;
    memset(count, 0, nb * sizeof *count);
    bool check = loop->tm.stale > 0;
    uint32_t live = 0;
    for (struct aio__tblock *b = blk; b; b = b->next)
        for (uint32_t i = 0; i < b->n; i++)
            if (!check || aio__key_live(loop, &b->e[i])) {
                count[(uint64_t)b->e[i].when & mask]++;
                live++;
            }
    uint32_t sum = 0;
    for (uint32_t k = 0; k < nb; k++) { /* start of each deadline's range */
        uint32_t c = count[k];
        count[k] = sum;
        sum += c;
    }
    for (struct aio__tblock *b = blk; b; b = b->next)
        for (uint32_t i = 0; i < b->n; i++) {
            if (check && !aio__key_live(loop, &b->e[i])) {
                loop->tm.stale--;
                continue;
            }
            loop->wheel.run[count[(uint64_t)b->e[i].when & mask]++] = b->e[i];
        }
    for (uint32_t i = 0; i < live;) { /* equal deadlines: by arming sequence */
        uint32_t j = i + 1;
        while (j < live && loop->wheel.run[j].when == loop->wheel.run[i].when)
            j++;
        if (j - i > 1)
            qsort(&loop->wheel.run[i], j - i, sizeof *loop->wheel.run, seq_cmp);
        i = j;
    }
    loop->wheel.run_pos = 0;
    loop->wheel.run_len = live;
    return true;
}

/* ---- the wheel ---- */

/* Blocks come from the loop's arena (mem.c: a million timers' keys get
 * huge pages) and go back to a free list, kept for reuse until the loop
 * is freed, as the futures table is. */
static struct aio__tblock *block_get(aio_loop *loop) {
    return aio__arena_alloc(loop, &loop->wheel.blocks, sizeof(struct aio__tblock));
}

static void block_put(aio_loop *loop, struct aio__tblock *b) { aio__arena_put(&loop->wheel.blocks, b, sizeof *b); }

static unsigned level_shift(unsigned level) { return AIO__W_SHIFT0 + AIO__W_BITS * level; }

static unsigned highest_bit(uint64_t x) { /* x != 0 */
#if defined(__GNUC__) || defined(__clang__)
    return 63u - (unsigned)__builtin_clzll(x);
#else
    unsigned n = 0;
    while (x >>= 1)
        n++;
    return n;
#endif
}

static int64_t overflow_start(const aio_loop *loop) {
    return ((loop->wheel.cur >> level_shift(AIO__W_LEVELS)) + 1) << level_shift(AIO__W_LEVELS);
}

static unsigned lowest_bit(uint64_t x) { /* x != 0 */
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* The non-empty bits of the levels' buckets (the overflow bucket has none). */
static void map_set(aio_loop *loop, uint32_t b) {
    loop->wheel.map[b / AIO__W_SIZE][(b % AIO__W_SIZE) / 64] |= UINT64_C(1) << (b % 64);
}
static void map_clear(aio_loop *loop, uint32_t b) {
    loop->wheel.map[b / AIO__W_SIZE][(b % AIO__W_SIZE) / 64] &= ~(UINT64_C(1) << (b % 64));
}

/* The earliest non-empty bucket and its start: the lowest non-empty level's
 * first bucket (every key of a level lies in the current span of the level
 * above, so before anything of a higher level), else the overflow bucket.
 * False if the wheel is empty. */
static bool first_bucket(const aio_loop *loop, uint32_t *b, int64_t *start) {
    for (unsigned level = 0; level < AIO__W_LEVELS; level++)
        for (unsigned w = 0; w < AIO__W_SIZE / 64; w++) {
            uint64_t m = loop->wheel.map[level][w];
            if (m) {
                uint32_t idx = w * 64 + lowest_bit(m);
                unsigned sh = level_shift(level);
                int64_t span_mask = ((int64_t)1 << (sh + AIO__W_BITS)) - 1;
                *b = level * AIO__W_SIZE + idx;
                *start = (loop->wheel.cur & ~span_mask) | ((int64_t)idx << sh);
                return true;
            }
        }
    if (!loop->wheel.buckets[AIO__W_OVERFLOW])
        return false;
    *b = AIO__W_OVERFLOW;
    *start = overflow_start(loop);
    return true;
}

static void wheel_update_next(aio_loop *loop) {
    uint32_t b; /* unused here */
    if (loop->wheel.count == 0 || !first_bucket(loop, &b, &loop->wheel.next))
        loop->wheel.next = INT64_MAX;
}

/* Put a key where it belongs relative to wheel_cur: the heap if it falls in
 * the current level-0 slot (or earlier), else the bucket of the lowest level
 * whose span holds it. Returns the start of that bucket (INT64_MAX: heap). */
static int64_t place(aio_loop *loop, aio__heap_ent e) {
    int64_t cur = loop->wheel.cur;
    if (!loop->wheel.buckets || (e.when >> AIO__W_SHIFT0) <= (cur >> AIO__W_SHIFT0)) {
        heap_push(loop, e);
        return INT64_MAX;
    }
    unsigned level = highest_bit((uint64_t)(e.when ^ cur) >> AIO__W_SHIFT0) / AIO__W_BITS;
    uint32_t b;
    int64_t start;
    if (level >= AIO__W_LEVELS) {
        b = AIO__W_OVERFLOW;
        start = overflow_start(loop);
    } else {
        unsigned sh = level_shift(level);
        uint32_t idx = (uint32_t)(e.when >> sh) & (AIO__W_SIZE - 1);
        b = level * AIO__W_SIZE + idx;
        start = (e.when >> sh) << sh;
    }
    struct aio__tblock *blk = loop->wheel.buckets[b];
    if (!blk || blk->n == BLOCK_CAP) {
        struct aio__tblock *nb = block_get(loop);
        if (!nb) { /* no memory for a chunk: the heap always has room */
            heap_push(loop, e);
            return INT64_MAX;
        }
        nb->next = blk;
        nb->n = 0;
        loop->wheel.buckets[b] = blk = nb;
    }
    blk->e[blk->n++] = e;
    loop->wheel.count++;
    if (b < AIO__W_OVERFLOW)
        map_set(loop, b);
    return start;
}

static void blocks_put(aio_loop *loop, struct aio__tblock *blk) {
    while (blk) {
        struct aio__tblock *next = blk->next;
        block_put(loop, blk);
        blk = next;
    }
}

/* Put the keys of a detached bucket where they now belong relative to
 * wheel_cur (the heap, or a bucket: never the one they came from, which is
 * detached), dropping stale ones; each chunk is reused once read. */
static void chain_place(aio_loop *loop, struct aio__tblock *blk) {
    bool check = loop->tm.stale > 0; /* nothing cancelled: don't read slots */
    while (blk) {
        struct aio__tblock *next = blk->next;
        loop->wheel.count -= blk->n;
        for (uint32_t i = 0; i < blk->n; i++) {
            if (!check || aio__key_live(loop, &blk->e[i]))
                place(loop, blk->e[i]);
            else
                loop->tm.stale--;
        }
        block_put(loop, blk);
        blk = next;
    }
}

/* Take bucket b out of the wheel. */
static struct aio__tblock *bucket_detach(aio_loop *loop, uint32_t b) {
    struct aio__tblock *blk = loop->wheel.buckets[b];
    loop->wheel.buckets[b] = NULL;
    if (b < AIO__W_OVERFLOW)
        map_clear(loop, b);
    return blk;
}

/* Move time to the earliest non-empty bucket and empty it: its keys go to
 * the heap (or the sorted run) or to lower levels. */
static void wheel_advance(aio_loop *loop) {
    uint32_t b = AIO__W_OVERFLOW;             /* called only with a non-empty wheel */
    first_bucket(loop, &b, &loop->wheel.cur); /* its start: time only moves on */
    struct aio__tblock *blk = bucket_detach(loop, b);
    if (b < AIO__W_SIZE && loop->wheel.run_pos == loop->wheel.run_len) {
        /* A level-0 bucket, and the run is free: sort the bucket into it
         * (O(n), sequential) rather than sift each key into the heap, when
         * it is crowded enough for the 2^AIO__W_SHIFT0 counters (32 KB to
         * clear) to be worth it. */
        uint32_t n = 0;
        for (struct aio__tblock *k = blk; k; k = k->next)
            n += k->n;
        if (n >= (1u << AIO__W_SHIFT0) / 8 && run_fill(loop, blk, n)) {
            loop->wheel.count -= n;
            blocks_put(loop, blk);
            blk = NULL;
        }
    }
    chain_place(loop, blk);
    wheel_update_next(loop);
}

void aio__timers_normalize(aio_loop *loop) {
    while (loop->wheel.next != INT64_MAX && loop->wheel.next <= aio__timers_near_min(loop))
        wheel_advance(loop); /* equal: the bucket may hold an earlier sequence */
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
    n = 0;
    for (uint32_t i = loop->wheel.run_pos; i < loop->wheel.run_len; i++) /* keeps its order */
        if (aio__key_live(loop, &loop->wheel.run[i]))
            loop->wheel.run[n++] = loop->wheel.run[i];
    loop->wheel.run_pos = 0;
    loop->wheel.run_len = n;
    if (loop->wheel.buckets) { /* re-placed at the same wheel_cur: each key returns to its bucket */
        for (uint32_t b = 0; b < AIO__W_BUCKETS; b++)
            if (loop->wheel.buckets[b])
                chain_place(loop, bucket_detach(loop, b));
        wheel_update_next(loop);
    }
    loop->tm.stale = 0;
}

void aio__timers_drop_all(aio_loop *loop) {
    loop->tm.heap_len = 0;
    loop->wheel.run_pos = loop->wheel.run_len = 0;
    if (loop->wheel.buckets && loop->wheel.count > 0)
        for (uint32_t b = 0; b < AIO__W_BUCKETS; b++)
            blocks_put(loop, bucket_detach(loop, b));
    loop->wheel.count = 0;
    loop->wheel.next = INT64_MAX;
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
        uint32_t cap = loop->tm.cap ? loop->tm.cap * 2 : 64;
        if (cap > AIO__TK_NOSLOT) /* that index means "no slot" */
            cap = AIO__TK_NOSLOT;
        if (cap == loop->tm.cap)
            return -ENOMEM;
        void *t = loop->tm.slots;
        size_t old = (size_t)loop->tm.cap * sizeof *loop->tm.slots; /* every slot in use */
        if (aio__table_resize(loop, &t, old, old, (size_t)cap * sizeof *loop->tm.slots) < 0)
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
    if (!loop->wheel.buckets) { /* first timer: start the wheel at the current slot */
        loop->wheel.buckets = calloc(AIO__W_BUCKETS, sizeof *loop->wheel.buckets); /* none: heap only */
        loop->wheel.cur = (loop->now_ns >> AIO__W_SHIFT0) << AIO__W_SHIFT0;
    }
    e.seq = loop->tm.seq;
    if (slot) {
        int rc = slot_alloc(loop, slot);
        if (rc < 0)
            return rc;
        loop->tm.slots[*slot].state = AIO__TS_ARMED;
        loop->tm.slots[*slot].seq = e.seq;
        e.slot = (e.slot & AIO__TK_SLEEP) | *slot;
    }
    loop->tm.seq++;
    loop->tm.live++;
    int64_t start = place(loop, e);
    if (start < loop->wheel.next)
        loop->wheel.next = start;
    return 0;
}

int aio__timer_arm(aio_loop *loop, int64_t when, aio_callback fn, void *arg, uint32_t *out) {
    aio__heap_ent e = {.when = when, .slot = AIO__TK_NOSLOT, .arg = arg};
    e.u.fn = fn;
    return timer_arm(loop, e, out);
}

int aio__timer_arm_sleep(aio_loop *loop, int64_t when, uint32_t fut, aio_value result, uint32_t *out) {
    aio__heap_ent e = {.when = when, .slot = AIO__TK_SLEEP | AIO__TK_NOSLOT, .arg = (void *)(uintptr_t)fut};
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

/* Ready-queue entry: run the timers that were due when it was queued. Each
 * is taken off the heap and its slot freed before its callback runs (which
 * may arm timers and so reuse the slot, or cancel other due timers). */
static void fire_due(aio_loop *loop, void *arg) {
    (void)arg;
    loop->tm.due_queued = false;
    for (;;) {
        /* The next bucket goes into the heap before the heap's first
         * deadline reaches the bucket's start (equal deadlines included:
         * the bucket may hold an earlier sequence). */
        const aio__heap_ent *h = loop->tm.heap_len > 0 ? &loop->tm.heap[0] : NULL;
        const aio__heap_ent *r = loop->wheel.run_pos < loop->wheel.run_len ? &loop->wheel.run[loop->wheel.run_pos] : NULL;
        const aio__heap_ent *m = !h ? r : !r ? h : heap_less(r, h) ? r : h; /* the next key */
        if (loop->wheel.next <= loop->tm.due_now && (!m || m->when >= loop->wheel.next)) {
            wheel_advance(loop);
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
        if (top.slot & AIO__TK_SLEEP)
            aio__sleep_fire(loop, (uint32_t)(uintptr_t)top.arg, top.u.result);
        else
            top.u.fn(loop, top.arg);
    }
}

void aio__timers_run_due(aio_loop *loop) {
    if (loop->tm.due_queued)
        return; /* the entry queued earlier has not run yet: it takes these too */
    if (aio__ready_push(loop, fire_due, NULL, NULL) < 0) {
        aio__report(loop, "out of memory: due timers postponed", -ENOMEM, AIO__NIL);
        return; /* they stay in the heap and are retried next iteration */
    }
    loop->tm.due_queued = true;
    loop->tm.due_now = loop->now_ns;
    loop->tm.due_seq = loop->tm.seq;
}

void aio__timers_free(aio_loop *loop) {
    aio__timers_drop_all(loop);
    aio__arena_free(loop, &loop->wheel.blocks);
    free(loop->wheel.buckets);
    aio__table_free(loop, loop->wheel.run, (size_t)loop->wheel.run_cap * sizeof *loop->wheel.run);
    free(loop->wheel.run_counts);
    loop->wheel.run = NULL;
    loop->wheel.run_counts = NULL;
    loop->wheel.run_cap = 0;
    aio__table_free(loop, loop->tm.heap, (size_t)loop->tm.heap_cap * sizeof *loop->tm.heap);
    aio__table_free(loop, loop->tm.slots, (size_t)loop->tm.cap * sizeof *loop->tm.slots);
    loop->wheel.buckets = NULL;
    loop->tm.heap = NULL;
    loop->tm.slots = NULL;
    loop->tm.heap_len = loop->tm.heap_cap = 0;
    loop->tm.live = 0;
    loop->tm.n = loop->tm.cap = 0;
    loop->tm.free = AIO__NIL;
    loop->tm.due_queued = false;
}
