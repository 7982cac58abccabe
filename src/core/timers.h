/* Timers: 32-byte keys in a 4-ary heap for the near ones and a
 * hierarchical wheel for the later ones (timers.c), with slots only for
 * cancellable timers. */
#ifndef AIO_CORE_TIMERS_H_STATE
#define AIO_CORE_TIMERS_H_STATE
#include "aio/aio.h"
#include "core/handles.h"
#include "core/mem.h"
#include <stdbool.h>
#include <stdint.h>

/* ---- timers: keys hold the callbacks; slots exist for cancellable timers -- */
enum { AIO__TS_FREE = 0, AIO__TS_ARMED };
/* A cancellable timer's record: what a handle or an internal owner points
 * at, and what tells a key of a cancelled timer from a live one. A timer
 * armed without asking for a handle has none (AIO__TK_NOSLOT), so firing it
 * touches nothing but its key. */
typedef struct aio__timer {
    uint32_t seq; /* ARMED: its key's arming sequence; FREE: the next free slot */
    uint32_t gen : 22;
    uint32_t state : 2; /* AIO__TS_* */
    uint32_t unused : 8;
} aio__timer;

/* The timer wheel: AIO__W_LEVELS levels of 256 buckets; a level-L bucket
 * spans 2^(13 + 8L) ns (8.2 us, 2.1 ms, 537 ms, 137 s); one more bucket
 * holds what lies beyond 2^45 ns (9.8 h). A level-0 bucket is small enough
 * (a few thousand keys when a million timers share a millisecond) for the
 * heap it is moved into to stay in cache. */
#define AIO__W_SHIFT0 13
#define AIO__W_BITS 8
#define AIO__W_SIZE (1u << AIO__W_BITS)
#define AIO__W_LEVELS 4
#define AIO__W_OVERFLOW (AIO__W_LEVELS * AIO__W_SIZE)
#define AIO__W_BUCKETS (AIO__W_OVERFLOW + 1)

/* A timer's key, in the heap or in a wheel bucket: everything firing it
 * needs, so that a million timers firing in deadline order don't each miss
 * the cache on a record elsewhere. */
#define AIO__TK_RESULT 0x80000000u               /* in `slot`: calls tm.fire_result */
#define AIO__TK_NOSLOT ((uint32_t)AIO__IDX_MASK) /* in `slot`: not cancellable */
typedef struct aio__heap_ent {
    int64_t when;  /* deadline, ns of loop time */
    uint32_t seq;  /* arming order: breaks ties between equal deadlines */
    uint32_t slot; /* its slot (low 26 bits) or AIO__TK_NOSLOT, | AIO__TK_RESULT */
    union {
        aio_callback fn;  /* a callback timer */
        aio_value result; /* a sleep's timer: the result its future gets */
    } u;
    void *arg; /* a sleep's timer: its future's slot */
} aio__heap_ent;
typedef struct aio__timers {
    aio__timer *slots;
    uint32_t n, cap, free;
    aio__heap_ent *heap;
    uint32_t heap_len, heap_cap, seq;
    uint32_t live;    /* timers armed */
    uint32_t stale;   /* entries of cancelled timers still in the heap or wheel */
    bool due_queued;  /* a fire_due entry is in the ready queue */
    uint32_t due_seq; /* ...for the timers armed before this sequence */
    int64_t due_now;  /* ...and due by this time */
    /* What a result timer (AIO__TK_RESULT) calls when it fires. */
    void (*fire_result)(aio_loop *loop, uint32_t fut, aio_value result);
} aio__timers;

typedef struct aio__wheel {
    uint32_t count;               /* entries in the wheel's buckets */
    int64_t cur;                  /* start of the current level-0 slot: earlier slots are empty */
    int64_t next;                 /* start of the first non-empty bucket (INT64_MAX: none) */
    struct aio__tblock **buckets; /* AIO__W_BUCKETS bucket heads, allocated at first use */
    aio__arena blocks;            /* the buckets' key blocks */
    /* A level-0 bucket sorted when it was moved (instead of pushed into the
     * heap): its keys are taken in order from run_pos. */
    aio__heap_ent *run;
    uint32_t run_pos, run_len, run_cap;
    uint32_t *run_counts;                          /* the counting sort's 2^AIO__W_SHIFT0 counters */
    uint64_t map[AIO__W_LEVELS][AIO__W_SIZE / 64]; /* non-empty buckets */
} aio__wheel;
#endif /* AIO_CORE_TIMERS_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_TIMERS_H)
#define AIO_CORE_TIMERS_H
#include "core/loop.h"

/* timers.c */
/* Arm fn(loop, arg) at `when`. With slot != NULL the timer is cancellable
 * and *slot names it; with NULL it has no slot and cannot be cancelled. */
int aio__timer_arm(aio_loop *loop, int64_t when, aio_callback fn, void *arg, uint32_t *slot);
/* A timer that completes sleep future `fut` with `result`. */
/* A timer that hands `result` to the loop's result hook for future slot
 * `fut` (tm.fire_result: a key holds no room for a function as well as a
 * result). The module that arms such timers installs the hook first: so
 * timers call up into it without knowing it (sleep.c is the one user). */
int aio__timer_arm_result(aio_loop *loop, int64_t when, uint32_t fut, aio_value result, uint32_t *slot);
int aio__timer_cancel(aio_loop *loop, uint32_t slot); /* 1 cancelled, 0 already gone */
int aio__timer_cancel_handle(aio_loop *loop, uint64_t id);
uint64_t aio__timer_handle_id(const aio_loop *loop, uint32_t slot);
void aio__timers_run_due(aio_loop *loop); /* queue the running of the due timers */
/* The ready-queue entry that runs them, and the same running each
 * callback through `run` (debug mode's timing, debug.c). */
typedef void (*aio__timer_runner)(aio_loop *loop, aio_callback fn, void *arg);
void aio__timers_fire_due(aio_loop *loop, void *arg);
void aio__timers_fire_due_with(aio_loop *loop, aio__timer_runner run);
/* Call fn for every key held, stale ones included (aio__key_live tells),
 * in no particular order; fn must not change the timers (task dumps). */
void aio__timers_each(const aio_loop *loop, void (*fn)(void *ctx, const aio__heap_ent *e), void *ctx);
void aio__wheel_each(const aio_loop *loop, void (*fn)(void *ctx, const aio__heap_ent *e), void *ctx);
void aio__timers_free(aio_loop *loop);
/* Drop cancelled timers' entries from the top of the heap, or every entry
 * when no timer is armed (timers.c). */
void aio__timers_prune_top(aio_loop *loop);
void aio__timers_drop_all(aio_loop *loop);
/* A key is live unless its timer was cancelled: while it has a slot armed
 * with the key's sequence (a timer without a slot cannot be cancelled). */
static inline bool aio__key_live(const aio_loop *loop, const aio__heap_ent *e) {
    uint32_t slot = e->slot & AIO__IDX_MASK;
    if (slot == AIO__TK_NOSLOT)
        return true;
    const aio__timer *tm = &loop->tm.slots[slot];
    return tm->state == AIO__TS_ARMED && tm->seq == e->seq;
}
/* The near keys' heads: the heap's top and the sorted run's next key. */
static inline bool aio__near_heads_live(const aio_loop *loop) {
    return (loop->tm.heap_len == 0 || aio__key_live(loop, &loop->tm.heap[0])) &&
           (loop->wheel.run_pos == loop->wheel.run_len ||
            aio__key_live(loop, &loop->wheel.run[loop->wheel.run_pos]));
}
/* Whether no timer is armed. Cancelled timers' entries are let go first, so
 * that they never make the loop wake for nothing or hide a deadlock. */
static inline bool aio__timers_empty(aio_loop *loop) {
    if (loop->tm.live == 0) {
        /* Every key is an armed timer's or counted in timers_stale: with
         * none armed, keys are left exactly when some are stale. */
        if (loop->tm.stale > 0)
            aio__timers_drop_all(loop);
        return true;
    }
    if (!aio__near_heads_live(loop))
        aio__timers_prune_top(loop);
    return false;
}
/* Inside the timers module (timers.c <-> wheel.c). */
/* Push a key on the heap, whose capacity covers every key armed. */
void aio__heap_push(aio_loop *loop, aio__heap_ent e);
/* Put a key in the wheel (or the heap, if it is due within the current
 * level-0 slot, or if no chunk can be had); the start of its bucket, or
 * INT64_MAX for the heap. */
int64_t aio__wheel_place(aio_loop *loop, aio__heap_ent e);
/* Move time to the earliest non-empty bucket and empty it downwards. */
void aio__wheel_advance(aio_loop *loop);
void aio__wheel_start(aio_loop *loop);    /* at the first timer */
void aio__wheel_compact(aio_loop *loop);  /* drop stale keys */
void aio__wheel_drop_all(aio_loop *loop); /* drop every key */
void aio__wheel_free(aio_loop *loop);

/* Move wheel buckets down until the earliest key is in the heap or the
 * sorted run (timers.c). */
void aio__timers_normalize(aio_loop *loop);
static inline int64_t aio__timers_near_min(const aio_loop *loop) {
    int64_t h = loop->tm.heap_len > 0 ? loop->tm.heap[0].when : INT64_MAX;
    int64_t r =
        loop->wheel.run_pos < loop->wheel.run_len ? loop->wheel.run[loop->wheel.run_pos].when : INT64_MAX;
    return r < h ? r : h;
}
/* The earliest deadline (after aio__timers_empty said a timer is armed):
 * exact, so that the loop neither wakes at a bucket boundary for nothing
 * nor runs an empty round of due timers. */
static inline int64_t aio__timers_next(aio_loop *loop) {
    int64_t h = aio__timers_near_min(loop);
    if (loop->wheel.next <= h) {
        aio__timers_normalize(loop);
        h = aio__timers_near_min(loop);
    }
    return h;
}
#endif /* AIO_CORE_TIMERS_H */
