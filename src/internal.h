/* libaio internals shared by the src/ files. Nothing here is public.
 *
 * Naming: aio__ prefix for every internal symbol with external linkage. */
#ifndef AIO_INTERNAL_H
#define AIO_INTERNAL_H

#include "aio/aio.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AIO__NIL UINT32_MAX

/* Keep a rare (COLD) or occasional (NOINLINE) path out of the hot function
 * that calls it: inlined there, it costs the hot path register saves and
 * code layout. ALWAYS_INLINE: a hot function the compiler finds too big.
 * LIKELY: the branch to lay out as the straight path. ASSUME: a fact the
 * compiler cannot see (it drops the tests it makes redundant). */
#if defined(__GNUC__) || defined(__clang__)
#define AIO__COLD __attribute__((noinline, cold))
#define AIO__NOINLINE __attribute__((noinline))
#define AIO__ALWAYS_INLINE inline __attribute__((always_inline))
#define AIO__LIKELY(x) __builtin_expect(!!(x), 1)
#define AIO__ASSUME(x)                                                                                       \
    do {                                                                                                     \
        if (!(x))                                                                                            \
            __builtin_unreachable();                                                                         \
    } while (0)
#else
#define AIO__COLD
#define AIO__NOINLINE
#define AIO__ALWAYS_INLINE inline
#define AIO__LIKELY(x) (x)
#define AIO__ASSUME(x) ((void)0)
#endif

/* ---- handles ----------------------------------------------------------
 * A future handle is  tag:16 | gen:22 | index:26  (high to low).
 * tag is the loop's (never 0); tag 0 with a non-zero id is an error handle
 * whose low 32 bits are -code. A callback handle is tag:16 | kind:1 | 47
 * bits: for a ready-queue entry its sequence number, for a timer
 * gen:21 | index:26. */
#define AIO__IDX_BITS 26
#define AIO__IDX_MASK ((UINT64_C(1) << AIO__IDX_BITS) - 1)
#define AIO__GEN_BITS 22
#define AIO__GEN_MASK ((UINT64_C(1) << AIO__GEN_BITS) - 1)
#define AIO__TGEN_BITS 21 /* of the timer slot's 22: handles carry 21 */
#define AIO__TGEN_MASK ((UINT64_C(1) << AIO__TGEN_BITS) - 1)
#define AIO__TAG_SHIFT 48
#define AIO__KIND_TIMER (UINT64_C(1) << 47)
#define AIO__SEQ_MASK ((UINT64_C(1) << 47) - 1)

static inline aio_future aio__error_handle(int code) {
    aio_future f;
    f.id = (uint64_t)(uint32_t)(-code);
    return f;
}

/* ---- ready queue: a FIFO ring of (fn, arg), indexed by sequence numbers.
 * Entry seq lives at ring[seq & mask]; a cancelled entry has fn == NULL. */
typedef struct aio__ready_ent {
    aio_callback fn;
    void *arg;
} aio__ready_ent;

/* ---- futures table ------------------------------------------------------ */
enum { AIO__FS_FREE = 0, AIO__FS_PENDING, AIO__FS_RESULT, AIO__FS_ERROR, AIO__FS_CANCELLED };
enum {
    AIO__FF_TASK = 1,        /* the slot is a task's future */
    AIO__FF_UNRETRIEVED = 2, /* ERROR nobody looked at yet: reported when freed */
    AIO__FF_YIELD = 4,       /* sleep(0): awaiting it yields one iteration */
    AIO__FF_TIMER = 8,       /* pending sleep: its timer is u.p.timer */
    AIO__FF_OWNED = 16,      /* pending, completed by the combinator in u.owner */
};

/* A future's slot: 16 bytes. The callback list of a pending future is in
 * the slot for a plain future (or a sleep), in the task for a task's, in the
 * owner for a combinator's (aio__fut_cbs): the slot keeps 8 bytes for a
 * pointer to either, and the list leaves at completion, when the 8 bytes
 * become the outcome. */
#define AIO__CNT_BIG 0xffffu /* refs and holds both read this: the counts are
                                in loop->bigc[idx] (futures.c) */
typedef struct aio__fut {
    uint32_t gen : AIO__GEN_BITS;
    uint32_t state : 3;
    uint32_t flags : 7;
    uint16_t refs;  /* the users' references (handles owned by code outside) */
    uint16_t holds; /* the library's: each awaiter or done callback, a sleep's
                       timer, a running task's loop, a dispatch under way.
                       The slot is freed when both counts reach 0. */
    union {
        aio_value value;  /* RESULT: result; ERROR: .i = error; CANCELLED: .p = message */
        struct {
            uint32_t cbs;   /* PENDING plain future: done-callback list, newest first */
            uint32_t timer; /* PENDING sleep (AIO__FF_TIMER): its timer slot */
        } p;
        aio_task *task;           /* PENDING task (its list: aio__cbs) */
        struct aio__owner *owner; /* PENDING combinator future (AIO__FF_OWNED; its list: cbs) */
        uint32_t next_free;
    } u;
} aio__fut;
/* The real counts of a slot that outgrew 16 bits (AIO__CNT_BIG). */
typedef struct aio__bigc {
    uint32_t refs, holds;
} aio__bigc;

/* The state of a combinator (gather, wait, ...) that owns a pending future:
 * its cancel decides what cancelling that future means. Every live owner is
 * on the loop's list so that closing the loop frees it. */
typedef struct aio__owner aio__owner;
typedef struct aio__owner_ops {
    /* Cancel request on the owned future: 1 if accepted, 0 if already done. */
    int (*cancel)(aio_loop *loop, aio__owner *owner, const char *msg);
} aio__owner_ops;
struct aio__owner {
    const aio__owner_ops *ops;
    aio__owner *prev, *next;
    uint32_t cbs; /* the owned future's callback list while it is pending */
    uint32_t aux; /* the owner's own use (a job's slot) */
};

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

/* ---- timers: keys hold the callbacks; slots exist for cancellable timers -- */
enum { AIO__TS_FREE = 0, AIO__TS_ARMED };
/* A cancellable timer's record: what a handle or an internal owner points
 * at, and what tells a key of a cancelled timer from a live one. A timer
 * armed without asking for a handle has none (AIO__TK_NOSLOT), so firing it
 * touches nothing but its key. */
typedef struct aio__timer {
    uint32_t seq;        /* ARMED: its key's arming sequence; FREE: the next free slot */
    uint32_t gen : 22;
    uint32_t state : 2;  /* AIO__TS_* */
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
#define AIO__TK_SLEEP 0x80000000u            /* in `slot`: completes a sleep future */
#define AIO__TK_NOSLOT ((uint32_t)AIO__IDX_MASK) /* in `slot`: not cancellable */
typedef struct aio__heap_ent {
    int64_t when;  /* deadline, ns of loop time */
    uint32_t seq;  /* arming order: breaks ties between equal deadlines */
    uint32_t slot; /* its slot (low 26 bits) or AIO__TK_NOSLOT, | AIO__TK_SLEEP */
    union {
        aio_callback fn;  /* a callback timer */
        aio_value result; /* a sleep's timer: the result its future gets */
    } u;
    void *arg;            /* a sleep's timer: its future's slot */
} aio__heap_ent;

/* ---- fd watchers ---------------------------------------------------------- */
#define AIO__EV_READ 1u
#define AIO__EV_WRITE 2u
typedef struct aio__io {
    aio_callback fn[2]; /* [0] reader, [1] writer */
    void *arg[2];
    unsigned events; /* AIO__EV_* registered with the backend */
    int bk;          /* backend's private per-fd value (poll: index in pollfd array) */
} aio__io;

/* ---- backends: a handful of functions each (redis ae style) -------------- */
typedef struct aio__backend {
    const char *name;
    int (*init)(aio_loop *loop);
    void (*fini)(aio_loop *loop);
    /* Change fd's interest from old to new events (either may be 0). */
    int (*watch)(aio_loop *loop, int fd, unsigned old_ev, unsigned new_ev);
    /* Wait at most timeout_ns (-1: forever, 0: don't block) and report each
     * ready fd through aio__io_ready(). Returns 0 or a negative errno. */
    int (*poll)(aio_loop *loop, int64_t timeout_ns);
} aio__backend;

extern const aio__backend aio__backend_epoll;
extern const aio__backend aio__backend_poll;
extern const aio__backend aio__backend_kqueue;
/* By name (NULL: $AIO_BACKEND, else the platform's default); NULL if unknown
 * or not built here. */
const aio__backend *aio__backend_find(const char *name);
/* A poll timeout in ms (-1: forever), rounded up so we never wake early. */
int aio__timeout_ms(int64_t timeout_ns);

/* Memory handed back to an arena's owner's free list: poisoned under
 * AddressSanitizer so that a use after free is caught as with malloc. */
#if defined(__SANITIZE_ADDRESS__)
#define AIO__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIO__ASAN 1
#endif
#endif
#ifdef AIO__ASAN
#include <sanitizer/asan_interface.h>
#define AIO__POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define AIO__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define AIO__POISON(p, n) ((void)(p), (void)(n))
#define AIO__UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* An arena of objects of one size: carved one after another from chunks
 * that double from 4 KiB to 8 MiB (the big ones with huge pages), reused
 * through a free list linked by their first word, all freed at once.
 * Zero-initialised = empty. */
typedef struct aio__arena {
    void *free;                /* objects given back, poisoned under ASan */
    char *bump, *end;          /* the untouched rest of the newest chunk */
    struct aio__chunk *chunks; /* mem.c */
    unsigned nchunks;
    unsigned skew; /* objects start this far past a 16-byte boundary (0 or 8) */
} aio__arena;

struct aio_loop {
    struct aio__loop_head pub; /* first: the coroutine macros read it (coro.h) */
    uint16_t tag;
    bool closed, running, stopping, virtual_clock;
    bool huge_pages; /* big tables ask for transparent huge pages (mem.c) */
    unsigned poll_budget;
    /* stats.callbacks at which poll_budget callbacks will have run since the
     * last poll (or since creation): counting them costs nothing more. */
    uint64_t poll_at;
    int64_t now_ns;

    aio__ready_ent *ring;
    uint64_t head, tail, mask;
    uint64_t ring_cap;    /* mask + 1, or 0 while there is no ring: one test for "full" */
    uint64_t start_seq;   /* queue position of the newest task-start batch (task.c) */
    aio_task *start_tail; /* its last task, valid while that entry is the last queued */
    uint64_t cb_seq;      /* queue position of the newest dispatch batch (futures.c) */
    uint32_t cb_last;     /* its last list entry, valid while that entry is the last queued */

    aio__fut *futs;
    /* Slots in use or free; 0 once the loop is closed (aio__futures_free,
     * and aio__fut_alloc_grow refuses a closed loop): aio__fut_lookup
     * relies on it. */
    uint32_t nfuts, capfuts, free_fut;
    uint64_t tag_bits; /* (uint64_t)tag << AIO__TAG_SHIFT: every handle's high bits */
    /* Rarely used per-slot data, allocated on first use (calloc'd, so the
     * pages of untouched slots are never faulted in). */
    struct aio__extra {
        char *name;             /* a task's name (aio_task_set_name) */
        const char *cancel_msg; /* a task's pending cancel message */
    } *extras;
    aio__bigc *bigc; /* counts beyond 16 bits, by slot: allocated on first use too */

    aio__node *nodes;
    uint32_t nnodes, capnodes, free_node;

    aio__timer *timers;
    uint32_t ntimers, captimers, free_timer;
    /* Timers (timers.c): a heap for the near ones, a hierarchical wheel of
     * buckets for the later ones. */
    aio__heap_ent *heap;
    uint32_t heap_len, heap_cap, timer_seq;
    uint32_t timers_live;  /* timers armed */
    uint32_t timers_stale; /* entries of cancelled timers still in the heap or wheel */
    uint32_t wheel_count;  /* entries in the wheel's buckets */
    int64_t wheel_cur;     /* start of the current level-0 slot: earlier slots are empty */
    int64_t wheel_next;    /* start of the first non-empty bucket (INT64_MAX: none) */
    struct aio__tblock **wheel; /* AIO__W_BUCKETS bucket heads, allocated at first use */
    struct aio__arena tblocks;  /* the buckets' key blocks */
    /* A level-0 bucket sorted when it was moved (instead of pushed into the
     * heap): its keys are taken in order from run_pos. */
    aio__heap_ent *run;
    uint32_t run_pos, run_len, run_cap;
    uint32_t *run_counts; /* the counting sort's 2^AIO__W_SHIFT0 counters */
    uint64_t wheel_map[AIO__W_LEVELS][AIO__W_SIZE / 64]; /* non-empty buckets */
    bool due_queued;  /* a fire_due entry is in the ready queue (timers.c) */
    uint32_t due_seq; /* ...for the timers armed before this sequence */
    int64_t due_now;  /* ...and due by this time */

    aio__io *io;
    int io_cap;   /* entries in io[] */
    int io_count; /* fds with at least one watcher */
    const aio__backend *backend;
    void *bstate;

    aio_task *current;
    /* coroutine functions by index (coro_fns.c) */
    aio_coro_fn *fns;
    uint32_t nfns, capfns, fn_hash_cap;
    uint32_t *fn_hash;
    aio_coro_fn last_fn; /* the last one looked up, and its index */
    uint32_t last_fn_idx;
    size_t ntasks;
    struct aio__task_mem *tmem; /* task memory by size (task_mem.c), at first use */
    aio__owner *owners; /* live combinator states */
    /* cancellations queued while one is being processed (futures.c) */
    struct aio__cancel_req {
        uint32_t idx;
        const char *msg;
    } *cq;
    size_t ncq, capcq;
    unsigned cancel_depth;
    aio_exception_handler handler;
    void *handler_arg;
    aio_loop_stats stats;
    struct aio__xs *xs; /* cross-thread state: wakeup, executor (wakeup.c) */
};

/* The loop running on this thread (NULL if none): a coroutine's. */
static inline aio_loop *aio__running_loop(void) { return (aio_loop *)(void *)aio__running; }

/* 0, -EINVAL (NULL) or AIO_ECLOSED: inline, as every creating call checks it. */
static inline int aio__loop_usable(const aio_loop *loop) {
    if (!loop)
        return -EINVAL;
    return loop->closed ? AIO_ECLOSED : 0;
}

/* ready.c */
int aio__ready_grow(aio_loop *loop);
int aio__ready_cancel(aio_loop *loop, uint64_t seq);
static inline bool aio__ready_full(const aio_loop *loop) { return loop->tail - loop->head >= loop->ring_cap; }
/* Queue fn(loop, arg) at the back of a ring that is not full; returns its
 * sequence number. */
static inline uint64_t aio__ready_put(aio_loop *loop, aio_callback fn, void *arg) {
    aio__ready_ent *e = &loop->ring[loop->tail & loop->mask];
    e->fn = fn;
    e->arg = arg;
    return loop->tail++;
}
/* Queue fn(loop, arg) at the back; *seq (if not NULL) gets its sequence
 * number. Inline: two pushes per task in a spawn, one per call_soon. */
static inline int aio__ready_push(aio_loop *loop, aio_callback fn, void *arg, uint64_t *seq) {
    if (aio__ready_full(loop)) {
        int rc = aio__ready_grow(loop);
        if (rc < 0)
            return rc;
    }
    uint64_t s = aio__ready_put(loop, fn, arg);
    if (seq)
        *seq = s;
    return 0;
}
void aio__ready_free(aio_loop *loop);
/* Entry `seq` is the last one queued: a batch entry (task starts, dispatch)
 * may still grow without changing the order relative to other entries. */
static inline bool aio__ready_is_last(const aio_loop *loop, uint64_t seq) {
    return loop->tail > loop->head && loop->tail - 1 == seq;
}
static inline bool aio__ready_empty(const aio_loop *loop) { return loop->head == loop->tail; }

/* timers.c */
/* Arm fn(loop, arg) at `when`. With slot != NULL the timer is cancellable
 * and *slot names it; with NULL it has no slot and cannot be cancelled. */
int aio__timer_arm(aio_loop *loop, int64_t when, aio_callback fn, void *arg, uint32_t *slot);
/* A timer that completes sleep future `fut` with `result`. */
int aio__timer_arm_sleep(aio_loop *loop, int64_t when, uint32_t fut, aio_value result, uint32_t *slot);
void aio__sleep_fire(aio_loop *loop, uint32_t fut, aio_value result); /* futures.c */
int aio__timer_cancel(aio_loop *loop, uint32_t slot); /* 1 cancelled, 0 already gone */
int aio__timer_cancel_handle(aio_loop *loop, uint64_t id);
uint64_t aio__timer_handle_id(const aio_loop *loop, uint32_t slot);
void aio__timers_run_due(aio_loop *loop); /* queue the running of the due timers */
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
    const aio__timer *tm = &loop->timers[slot];
    return tm->state == AIO__TS_ARMED && tm->seq == e->seq;
}
/* The near keys' heads: the heap's top and the sorted run's next key. */
static inline bool aio__near_heads_live(const aio_loop *loop) {
    return (loop->heap_len == 0 || aio__key_live(loop, &loop->heap[0])) &&
           (loop->run_pos == loop->run_len || aio__key_live(loop, &loop->run[loop->run_pos]));
}
/* Whether no timer is armed. Cancelled timers' entries are let go first, so
 * that they never make the loop wake for nothing or hide a deadlock. */
static inline bool aio__timers_empty(aio_loop *loop) {
    if (loop->timers_live == 0) {
        /* Every key is an armed timer's or counted in timers_stale: with
         * none armed, keys are left exactly when some are stale. */
        if (loop->timers_stale > 0)
            aio__timers_drop_all(loop);
        return true;
    }
    if (!aio__near_heads_live(loop))
        aio__timers_prune_top(loop);
    return false;
}
/* Move wheel buckets down until the earliest key is in the heap or the
 * sorted run (timers.c). */
void aio__timers_normalize(aio_loop *loop);
static inline int64_t aio__timers_near_min(const aio_loop *loop) {
    int64_t h = loop->heap_len > 0 ? loop->heap[0].when : INT64_MAX;
    int64_t r = loop->run_pos < loop->run_len ? loop->run[loop->run_pos].when : INT64_MAX;
    return r < h ? r : h;
}
/* The earliest deadline (after aio__timers_empty said a timer is armed):
 * exact, so that the loop neither wakes at a bucket boundary for nothing
 * nor runs an empty round of due timers. */
static inline int64_t aio__timers_next(aio_loop *loop) {
    int64_t h = aio__timers_near_min(loop);
    if (loop->wheel_next <= h) {
        aio__timers_normalize(loop);
        h = aio__timers_near_min(loop);
    }
    return h;
}

/* futures.c */
int aio__fut_alloc_grow(aio_loop *loop, uint32_t *idx);       /* aio__fut_alloc with no free slot */
void aio__fut_free_slot_slow(aio_loop *loop, uint32_t idx);   /* report, clear extras, recycle */
int aio__fut_lookup_slow(const aio_loop *loop, aio_future f); /* the error of a failed lookup */

/* The hot handle operations are inline: a future handoff makes several. */
static inline aio_future aio__fut_handle(const aio_loop *loop, uint32_t idx) {
    aio_future f;
    f.id = loop->tag_bits | ((uint64_t)loop->futs[idx].gen << AIO__IDX_BITS) | idx;
    return f;
}

/* A valid handle of this (open) loop: 0 and its slot; else the error. One
 * comparison covers tag and generation: what is above the index must be
 * the loop's tag and the live slot's generation. A closed loop has no
 * slots (nfuts is 0), so its handles fail here too. The _fast form only
 * says whether the handle is good (a caller with nothing to do after a
 * failure but to hand it on keeps its hot path free of calls). */
static inline bool aio__fut_lookup_fast(const aio_loop *loop, aio_future f, uint32_t *idx) {
    uint32_t i = (uint32_t)(f.id & AIO__IDX_MASK);
    if (AIO__LIKELY(loop && i < loop->nfuts)) {
        const aio__fut *s = &loop->futs[i];
        if (AIO__LIKELY(s->state != AIO__FS_FREE && ((f.id ^ loop->tag_bits) >> AIO__IDX_BITS) == s->gen)) {
            *idx = i;
            return true;
        }
    }
    return false;
}
static inline int aio__fut_lookup(const aio_loop *loop, aio_future f, uint32_t *idx) {
    if (AIO__LIKELY(aio__fut_lookup_fast(loop, f, idx)))
        return 0;
    *idx = AIO__NIL; /* never used: the slow path always returns an error */
    return aio__fut_lookup_slow(loop, f);
}

/* A new future in slot s: PENDING, refs = 1 (the caller's), no holds, no
 * callbacks. The generation is the slot's own (bumped when it was freed). */
static inline void aio__fut_init(aio__fut *s) {
    s->state = AIO__FS_PENDING;
    s->flags = 0;
    s->refs = 1;
    s->holds = 0;
    s->u.p.cbs = AIO__NIL;
    s->u.p.timer = 0;
}

/* Allocate a PENDING slot, refs = 1. Inline: a slot from the free list is
 * the usual case (every handoff makes one); growing the table is not. The
 * _fast form only takes from the free list (false if it is empty). */
static inline bool aio__fut_alloc_fast(aio_loop *loop, uint32_t *idx) {
    uint32_t i = loop->free_fut;
    if (i == AIO__NIL)
        return false;
    aio__fut *s = &loop->futs[i];
    loop->free_fut = s->u.next_free;
    aio__fut_init(s);
    *idx = i;
    return true;
}
static inline int aio__fut_alloc(aio_loop *loop, uint32_t *idx) {
    return aio__fut_alloc_fast(loop, idx) ? 0 : aio__fut_alloc_grow(loop, idx);
}

/* Put a slot on the free list. Its generation moves on, so that every
 * handle to it is stale from now on; it wraps after 2^22 reuses of the
 * slot: a handle kept across exactly that many reuses would look fresh
 * again. Retiring worn slots instead would leak memory in a long-running
 * daemon, so we accept the wrap. */
static inline void aio__fut_recycle(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->futs[idx];
    s->state = AIO__FS_FREE;
    s->gen = (s->gen + 1) & AIO__GEN_MASK;
    s->u.next_free = loop->free_fut;
    loop->free_fut = idx;
}

/* Free a slot both of whose counts reached 0. Inline for the usual slot;
 * an error nobody retrieved (reported now) or per-slot extras to clear (a
 * task's name) take the slow path. */
static inline void aio__fut_free_slot(aio_loop *loop, uint32_t idx) {
    const aio__fut *s = &loop->futs[idx];
    if (loop->extras || (s->flags & AIO__FF_UNRETRIEVED))
        aio__fut_free_slot_slow(loop, idx);
    else
        aio__fut_recycle(loop, idx);
}

/* Counts are 16 bits in the slot. One that would reach AIO__CNT_BIG moves
 * both to loop->bigc[idx] (futures.c): a hundred thousand tasks awaiting
 * one future is fine, it just takes the out-of-line path. */
static inline bool aio__fut_big(const aio__fut *s) { return s->holds == AIO__CNT_BIG; }
int aio__fut_hold_slow(aio_loop *loop, uint32_t idx);   /* 0, -ENOMEM or -EOVERFLOW */
int aio__fut_retain_slow(aio_loop *loop, uint32_t idx); /* 0, -ENOMEM or -EOVERFLOW */
void aio__fut_drop_slow(aio_loop *loop, uint32_t idx);
void aio__fut_consume_slow(aio_loop *loop, uint32_t idx, bool held);
uint32_t aio__fut_refs(const aio_loop *loop, uint32_t idx); /* the users' references */

/* Take one of the library's holds: 0, or -ENOMEM / -EOVERFLOW (only past
 * 16 bits of them). */
static inline int aio__fut_hold(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->futs[idx];
    if (AIO__LIKELY(s->holds < AIO__CNT_BIG - 1)) {
        s->holds++;
        return 0;
    }
    return aio__fut_hold_slow(loop, idx);
}
/* The first hold of a slot allocated just now: cannot overflow. */
static inline void aio__fut_hold_new(aio_loop *loop, uint32_t idx) { loop->futs[idx].holds++; }

/* A consuming call (AIO_AWAIT, aio_run_until_complete) takes the caller's
 * reference if there is one left: awaiting a future someone else owns (a
 * second awaiter without aio_future_retain) borrows it instead, and the
 * awaiter's own hold keeps it alive meanwhile. */
static inline void aio__fut_consume(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->futs[idx];
    if (AIO__LIKELY(!aio__fut_big(s))) {
        if (s->refs > 0 && --s->refs == 0 && s->holds == 0)
            aio__fut_free_slot(loop, idx);
    } else {
        aio__fut_consume_slow(loop, idx, false);
    }
}

/* aio__fut_consume on a slot one of the library's holds keeps alive: it
 * cannot free it. */
static inline void aio__fut_consume_held(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->futs[idx];
    if (AIO__LIKELY(!aio__fut_big(s))) {
        if (s->refs > 0)
            s->refs--;
    } else {
        aio__fut_consume_slow(loop, idx, true);
    }
}

/* Drop one of the library's holds. */
static inline void aio__fut_drop(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->futs[idx];
    if (AIO__LIKELY(!aio__fut_big(s))) {
        if (--s->holds == 0 && s->refs == 0)
            aio__fut_free_slot(loop, idx);
    } else {
        aio__fut_drop_slow(loop, idx);
    }
}

/* Where a pending slot's callback list is: in the slot, the task or the
 * owner (see aio__fut). */
static inline uint32_t *aio__fut_cbs(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->futs[idx];
    if (AIO__LIKELY(!(s->flags & (AIO__FF_TASK | AIO__FF_OWNED))))
        return &s->u.p.cbs; /* one test for the usual case */
    return (s->flags & AIO__FF_TASK) ? &s->u.task->aio__cbs : &s->u.owner->cbs;
}
/* Complete a pending slot and schedule its callbacks. */
void aio__fut_finish(aio_loop *loop, uint32_t idx, uint8_t state, aio_value v);
int aio__fut_add_node(aio_loop *loop, uint32_t idx, aio_done_callback fn, void *arg);
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
    aio__fut *s = &loop->futs[idx];
    if (!AIO__LIKELY(s->holds < AIO__CNT_BIG - 1))
        return false;
    s->holds++;
    aio__fut_link_waiter(loop, idx, t);
    return true;
}
int aio__fut_cancel_idx(aio_loop *loop, uint32_t idx, const char *msg);
/* The outcome of a done slot as (status, value), marking an error
 * retrieved. Inline: every wake-up takes one. */
static inline int aio__fut_outcome(aio_loop *loop, uint32_t idx, aio_value *v) {
    aio__fut *s = &loop->futs[idx];
    aio_value none = {0};
    if (AIO__LIKELY(s->state == AIO__FS_RESULT)) { /* first: the usual outcome */
        if (v)
            *v = s->u.value;
        return 0;
    }
    if (s->state == AIO__FS_CANCELLED) {
        if (v)
            *v = s->u.value; /* .p: the cancel message */
        return AIO_ECANCELLED;
    }
    if (v)
        *v = none;
    if (s->state == AIO__FS_ERROR) {
        s->flags &= ~AIO__FF_UNRETRIEVED & 0x7fu;
        return (int)s->u.value.i;
    }
    return AIO_ENOTDONE;
}
void aio__futures_free(aio_loop *loop); /* at close: report and free everything */
void aio__report(aio_loop *loop, const char *msg, int err, uint32_t idx);
/* The per-slot extras, allocating them on first use; NULL if out of memory. */
struct aio__extra *aio__extras(aio_loop *loop);
/* Remove every not-yet-scheduled (fn, arg) callback of a slot; returns how
 * many (their holds are dropped). */
int aio__fut_remove_node(aio_loop *loop, uint32_t idx, aio_done_callback fn, void *arg);
/* Look up n handles at once: 0, or the first bad handle's code. */
int aio__fut_lookup_all(const aio_loop *loop, const aio_future *futs, size_t n, uint32_t *idx_out);

/* combinators (src/owner.c) */
/* Allocate `size` bytes of owner state, link it, and make a new pending
 * future it owns (refs = 1, for the caller). */
void *aio__owner_new(aio_loop *loop, size_t size, const aio__owner_ops *ops, uint32_t *fut);
/* Unlink and free an owner state. */
void aio__owner_free(aio_loop *loop, aio__owner *o);
void aio__owners_free_all(aio_loop *loop); /* at close */
/* Make a pending slot allocated just now owned by `o` (not linked on the
 * loop's list: the caller frees it; the executor's jobs do). */
void aio__fut_set_owner(aio_loop *loop, uint32_t idx, aio__owner *o);
/* One child of a combinator that listens to several: the child's slot and
 * its index in the state's trailing array of children, so that the state is
 * found from the entry its callback gets. */
typedef struct aio__child {
    uint32_t idx;
    uint32_t pos;
} aio__child;
/* The combinator state of type T whose trailing array `member` holds child
 * entry e (e->pos is its index there). */
#define AIO__CHILD_OWNER(e, T, member) ((T *)(void *)((char *)((e) - (e)->pos) - offsetof(T, member)))
/* Remove the (cb, &children[i]) callbacks of the children still pending
 * (their callbacks will not run), taking them off *outstanding, the count
 * of callbacks registered and not yet run. When that is 0 already (the
 * last child's callback is what finished the combinator, the usual case)
 * there is nothing to scan: a million-child gather does not walk its
 * children again. */
void aio__children_detach(aio_loop *loop, aio__child *children, size_t n, aio_done_callback cb,
                          uint32_t *outstanding);
/* Complete a future owned by a combinator (it stops being owned), and drop
 * the owner's hold; the _complete form keeps the hold (drop it after). */
void aio__owned_finish(aio_loop *loop, uint32_t idx, int err, aio_value v);
void aio__owned_complete(aio_loop *loop, uint32_t idx, int err, aio_value v);

/* task.c */
/* Frames start right after the 24-byte header; the task's memory
 * (task_mem.c) is placed so that the frame is aligned for its type. */
#define AIO__FRAME_OFFSET sizeof(struct aio_task)
static inline void *aio__task_frame(aio_task *t) { return (char *)t + AIO__FRAME_OFFSET; }
/* The coroutine finished (or a task cancelled before it started): complete
 * the task's future, free the task, drop the loop's hold on the slot. */
void aio__task_complete(aio_loop *loop, aio_task *t);
/* Deliver a pending cancellation (aio__must_cancel) at resume: AIO_ECANCELLED
 * becomes the await's outcome. True if that completed the task instead (it
 * never started: its body never runs). */
bool aio__task_take_cancel(aio_loop *loop, aio_task *t);

/* Resume (or start) the task's top coroutine. Inline: a wake-up (every
 * handoff) goes from the dispatch straight into the coroutine. */
static inline void aio__task_run(aio_loop *loop, aio_task *t) {
    if (t->aio__must_cancel && aio__task_take_cancel(loop, t))
        return;
    /* Tasks never nest: they run only from ready-queue entries, which only
     * a loop's run functions run, and those refuse to run a running loop.
     * So no task was current before, and none is after. */
    loop->current = t;
    loop->pub.lcp = &t->aio__lc;
    aio_status st = loop->fns[t->aio__fn](t, aio__task_frame(t));
    loop->current = NULL;
    if (st == AIO_FINISHED)
        aio__task_complete(loop, t);
}

/* Its awaited future is done: take the outcome, resume the task. */
static inline void aio__task_wakeup(aio_loop *loop, aio_task *t) {
    uint32_t idx = t->aio__u.w.awaiting;
    t->aio__is_awaiting = 0;
    t->aio__cancel_sent = 0;
    loop->pub.err = aio__fut_outcome(loop, idx, &t->aio__u.v);
    aio__task_run(loop, t);
}

/* ---- dispatch of completed futures' callbacks and waiters (futures.c) ---- */
static inline void aio__node_free(aio_loop *loop, uint32_t n) {
    loop->nodes[n].fn = NULL;
    loop->nodes[n].next = loop->free_node;
    loop->free_node = n;
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
            aio_task *t = loop->futs[e & ~AIO__WAITER_BIT].u.task;
            e = t->aio__u.w.next;
            fut = t->aio__u.w.awaiting;
            aio__task_wakeup(loop, t);
        } else {
            aio__node node = loop->nodes[e];
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
int aio__task_cancel_idx(aio_loop *loop, uint32_t idx, const char *msg);
void aio__task_destroy(aio_loop *loop, aio_task *t); /* at close */
void aio__cancel_all_tasks(aio_loop *loop);

/* task_mem.c: tasks (header + frame) from the loop's per-size chunks */
#define AIO__TM_MIN 24u     /* the smallest class: a header alone */
#define AIO__TM_CLASSES 62u /* 24, 32, ..., 512 bytes */
#define AIO__TM_MAX (AIO__TM_MIN + 8u * (AIO__TM_CLASSES - 1u))
#define AIO__TM_MALLOC 63u   /* aio__size_class of a task malloc'd alone... */
#define AIO__TM_MALLOC_8 62u /* ...8 bytes into its block (a 16-aligned frame) */
typedef struct aio__task_mem aio__task_mem;
/* Memory for a task of `size` bytes (its aio__size_class set); NULL if out
 * of memory. */
aio_task *aio__task_alloc(aio_loop *loop, size_t size);
void aio__task_free(aio_loop *loop, aio_task *t);
void aio__task_mem_free(aio_loop *loop); /* at close, after every task */

/* coro_fns.c: a task stores its coroutine as an index into the loop's table */
int aio__coro_fn_index_slow(aio_loop *loop, aio_coro_fn fn, uint32_t *idx);
static inline int aio__coro_fn_index(aio_loop *loop, aio_coro_fn fn, uint32_t *idx) {
    if (fn == loop->last_fn) { /* spawning the same coroutine again: the usual case */
        *idx = loop->last_fn_idx;
        return 0;
    }
    return aio__coro_fn_index_slow(loop, fn, idx);
}
void aio__coro_fns_free(aio_loop *loop);

/* mem.c */
/* Grow a loop table (*p, NULL at first) from old_len to new_len bytes,
 * keeping its first `keep` bytes (the rest may be lost when it moves):
 * realloc, or from 8 MiB on a mapping of its own that asks for transparent
 * huge pages (unless the loop's huge_pages is off). 0 or -ENOMEM (*p
 * unchanged). */
int aio__table_resize(const aio_loop *loop, void **p, size_t old_len, size_t keep, size_t new_len);
/* Free a table of len bytes (its current size) from aio__table_resize. */
void aio__table_free(const aio_loop *loop, void *p, size_t len);
/* len zeroed bytes that the caller writes whole at once (a combinator's
 * state with an entry per child): from AIO__BULK_MIN on a mapping of its
 * own that asks for huge pages (*mapped says so), as no page of it stays
 * untouched; else calloc. NULL if out of memory. */
#define AIO__BULK_MIN ((size_t)2 << 20)
void *aio__bulk_alloc(const aio_loop *loop, size_t len, bool *mapped);
void aio__bulk_free(void *p, size_t len, bool mapped);
/* An object of the arena's `size` bytes (a multiple of 16 keeps them
 * 16-aligned, of 8 8-aligned): one given back, else a new one; NULL if out
 * of memory. Inline: a spawn takes one per task. */
void *aio__arena_alloc_chunk(const aio_loop *loop, aio__arena *a, size_t size);
static inline void *aio__arena_alloc(const aio_loop *loop, aio__arena *a, size_t size) {
    void *p = a->free;
    if (p) {
        AIO__UNPOISON(p, size);
        a->free = *(void **)p;
        return p;
    }
    if ((size_t)(a->end - a->bump) < size)
        return aio__arena_alloc_chunk(loop, a, size);
    p = a->bump;
    a->bump += size;
    AIO__UNPOISON(p, size);
    return p;
}
/* Give an object of `size` bytes back for reuse. */
static inline void aio__arena_put(aio__arena *a, void *p, size_t size) {
    *(void **)p = a->free;
    a->free = p;
    AIO__POISON(p, size);
}
void aio__arena_free(const aio_loop *loop, aio__arena *a);
/* The loop's setting from aio_loop_options.huge_pages (0: $AIO_HUGE_PAGES,
 * on unless it is "0"). */
bool aio__huge_pages_default(int option);

/* io.c */
void aio__io_ready(aio_loop *loop, int fd, unsigned events);
void aio__io_closed(aio_loop *loop, int fd); /* backend saw a closed fd */
void aio__io_free(aio_loop *loop);

/* loop.c */
int64_t aio__clock_ns(void);
int64_t aio__delay_ns(double seconds); /* rounded up, clamped, >= 0 */
int aio__run_until_no_tasks(aio_loop *loop);
bool aio__thread_running(void); /* a loop is running on this thread */

/* ---- threads: wakeup, call_soon_threadsafe, executor -----------------------
 * (src/wakeup.c, src/executor.c). Each loop owns one aio__xs from creation
 * to aio_loop_free. It is reference counted (the loop's reference plus one
 * per job submitted from the loop) because an abandoned job may finish after
 * the loop is gone. Fields under `mu` are shared with other threads; the
 * ones marked "loop" are touched by the loop thread only. */
#include <pthread.h>
#include <stdatomic.h>

typedef struct aio__job aio__job; /* executor.c */
typedef struct aio__tcall {
    aio_callback fn;
    void *arg;
} aio__tcall;

typedef struct aio__xs {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* signalled on each completion while `waiting` */
    atomic_int pending;     /* a wakeup was signalled and not yet drained */
    atomic_uint refs;       /* the loop's + one per job out of its pool */
    atomic_int extrefs;     /* aio_loop_ref() count */
    bool closing;           /* mu: aio_loop_close began: refuse threadsafe calls */
    bool closed;            /* mu: workers discard completions themselves */
    bool waiting;           /* mu: close waits on cv */
    int kind;               /* AIO__WAKE_* */
    int rfd, wfd;           /* eventfd (rfd == wfd) or pipe */
    int kq;                 /* EVFILT_USER: the backend's kqueue */
    aio__job *done_head, *done_tail; /* mu: completions, FIFO */
    aio__tcall *calls;      /* mu: threadsafe calls, in order */
    size_t ncalls, capcalls;
    aio__tcall *spare;      /* loop: swapped with calls when draining */
    size_t capspare;
    /* loop thread only */
    aio__job *jobs;         /* jobs submitted and not yet collected */
    size_t njobs;
    struct aio_pool *pool;  /* the default pool, created on first use */
    aio__job *sub_head, *sub_tail; /* submitted, not yet handed to a pool (executor.c) */
    aio__job *spare_jobs;   /* job records kept for reuse, no lock needed */
    unsigned nspare_jobs;
    double close_timeout;   /* seconds aio_loop_close waits for running jobs */
    bool may_spin;          /* more than one CPU: spin briefly before blocking */
} aio__xs;

enum { AIO__WAKE_EVENTFD = 1, AIO__WAKE_PIPE, AIO__WAKE_KQUEUE };

/* wakeup.c */
int aio__wakeup_init(aio_loop *loop);          /* at creation, after the backend */
void aio__wakeup_close(aio_loop *loop);        /* at close: after aio__executor_close */
void aio__wakeup_free(aio_loop *loop);         /* at free: drop the loop's reference */
void aio__wakeup_drain(aio_loop *loop);        /* after each poll: one atomic load if idle */
int aio__wakeup_watched(const aio_loop *loop); /* our fds counted in loop->io_count */
bool aio__wakeup_alive(const aio_loop *loop);  /* something may still wake the loop */
void aio__xs_signal_locked(aio__xs *xs);       /* with mu held: wake the loop (once) */
void aio__xs_unref(aio__xs *xs);               /* any thread */
void aio__cond_init(pthread_cond_t *cv);       /* a condvar timed on CLOCK_MONOTONIC */
/* Before blocking with executor jobs in flight: spin a few microseconds for
 * a completion (cheaper than a sleep and a wake-up). True if one came. */
bool aio__wakeup_spin(aio_loop *loop);
/* Spin for at most `ns` until *flag != seen; true if it changed. */
bool aio__spin_until_change(const atomic_uint *flag, unsigned seen, int64_t ns);
#ifndef AIO__SPIN_NS
#define AIO__SPIN_NS 30000 /* 30 us: a few thread wake-ups' worth on this class of machine */
#endif
/* How many threads may spin without taking a CPU from someone who has
 * work: online CPUs - 1, at most 2 (0 on one CPU: never spin there). */
unsigned aio__spare_cpus(void);
void aio__abstime(struct timespec *ts, double timeout); /* now + timeout, for it */

/* executor.c */
void aio__executor_close(aio_loop *loop); /* at close, first: bounded wait */
void aio__executor_collect(aio_loop *loop, aio__job *done); /* loop thread: completions */
/* Hand the jobs submitted since the last poll to their pools (executor.c). */
void aio__executor_flush(aio_loop *loop);
void aio__executor_free_spares(aio__xs *xs);                /* when the xs goes */

#endif /* AIO_INTERNAL_H */
