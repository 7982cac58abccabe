/* The timing wheel (see timers.c for the whole design): AIO__W_LEVELS levels
 * of 256 buckets of timer keys, an overflow bucket beyond them, and the
 * sorted run that a crowded level-0 bucket becomes instead of entering the
 * heap key by key. timers.c owns the heap and the slots; this file owns
 * struct aio__wheel. */
#include "core/compiler.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/timers.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_CAP 63u /* a block is 2,032 bytes */

/* A chunk of a bucket's keys; a bucket is a list of them, newest first. */
struct aio__tblock {
    struct aio__tblock *next;
    uint32_t n;
    aio__heap_ent e[BLOCK_CAP];
};

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
    if (!loop->wheel.run_counts &&
        !(loop->wheel.run_counts = aio__malloc(nb * sizeof *loop->wheel.run_counts)))
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

static void block_put(aio_loop *loop, struct aio__tblock *b) {
    aio__arena_put(&loop->wheel.blocks, b, sizeof *b);
}

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
int64_t aio__wheel_place(aio_loop *loop, aio__heap_ent e) {
    int64_t cur = loop->wheel.cur;
    if (!loop->wheel.buckets || (e.when >> AIO__W_SHIFT0) <= (cur >> AIO__W_SHIFT0)) {
        aio__heap_push(loop, e);
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
            aio__heap_push(loop, e);
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
                aio__wheel_place(loop, blk->e[i]);
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
void aio__wheel_advance(aio_loop *loop) {
    uint32_t b = AIO__W_OVERFLOW;             /* called only with a non-empty wheel */
    first_bucket(loop, &b, &loop->wheel.cur); /* its start: time only moves on */
    struct aio__tblock *blk = bucket_detach(loop, b);
    if (b == AIO__W_OVERFLOW) {
        /* Only the overflow bucket is left, and its next span (9.8 h) may be
         * empty: go straight to the span of its earliest key, or a timer
         * years ahead (a virtual clock moved to its end) would take one
         * advance per span, hundreds of thousands of them. Every key of
         * the wheel is in this bucket, none before that span. */
        int64_t min = INT64_MAX;
        for (struct aio__tblock *k = blk; k; k = k->next)
            for (uint32_t i = 0; i < k->n; i++)
                if (k->e[i].when < min)
                    min = k->e[i].when;
        unsigned sh = level_shift(AIO__W_LEVELS);
        int64_t span = (min >> sh) << sh;
        if (min != INT64_MAX && span > loop->wheel.cur)
            loop->wheel.cur = span;
    }
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
        aio__wheel_advance(loop); /* equal: the bucket may hold an earlier sequence */
}

void aio__wheel_start(aio_loop *loop) {
    loop->wheel.buckets = aio__calloc(AIO__W_BUCKETS, sizeof *loop->wheel.buckets); /* none: heap only */
    loop->wheel.cur = (loop->now_ns >> AIO__W_SHIFT0) << AIO__W_SHIFT0;
}

/* Drop the stale keys of the sorted run and of every bucket. */
void aio__wheel_compact(aio_loop *loop) {
    uint32_t n = 0;
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
}

void aio__wheel_each(const aio_loop *loop, void (*fn)(void *ctx, const aio__heap_ent *e), void *ctx) {
    for (uint32_t i = loop->wheel.run_pos; i < loop->wheel.run_len; i++)
        fn(ctx, &loop->wheel.run[i]);
    if (loop->wheel.buckets && loop->wheel.count > 0)
        for (uint32_t b = 0; b < AIO__W_BUCKETS; b++)
            for (const struct aio__tblock *blk = loop->wheel.buckets[b]; blk; blk = blk->next)
                for (uint32_t i = 0; i < blk->n; i++)
                    fn(ctx, &blk->e[i]);
}

void aio__wheel_drop_all(aio_loop *loop) {
    loop->wheel.run_pos = loop->wheel.run_len = 0;
    if (loop->wheel.buckets && loop->wheel.count > 0)
        for (uint32_t b = 0; b < AIO__W_BUCKETS; b++)
            blocks_put(loop, bucket_detach(loop, b));
    loop->wheel.count = 0;
    loop->wheel.next = INT64_MAX;
}

void aio__wheel_free(aio_loop *loop) {
    aio__arena_free(loop, &loop->wheel.blocks);
    aio__free(loop->wheel.buckets);
    aio__table_free(loop, loop->wheel.run, (size_t)loop->wheel.run_cap * sizeof *loop->wheel.run);
    aio__free(loop->wheel.run_counts);
    loop->wheel.run = NULL;
    loop->wheel.run_counts = NULL;
    loop->wheel.run_cap = 0;
    loop->wheel.buckets = NULL;
}
