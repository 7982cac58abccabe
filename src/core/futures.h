/* The futures table: loop-owned 16-byte slots named by generational
 * handles, their reference counts and outcomes (futures.c). */
#ifndef AIO_CORE_FUTURES_H_STATE
#define AIO_CORE_FUTURES_H_STATE
#include "aio/aio.h"
#include "core/compiler.h"
#include "core/handles.h"

enum { AIO__BAR_CLOSED = 1, AIO__BAR_CLOSING = 2, AIO__BAR_REPORTING = 4 };
/* WOKEN: done, but what it brings is taken by its consumer when it reads
 * the outcome (waitq.h: "wake, then take"); u.value.p is the aio__taker. */
enum { AIO__FS_FREE = 0, AIO__FS_PENDING, AIO__FS_RESULT, AIO__FS_ERROR, AIO__FS_CANCELLED, AIO__FS_WOKEN };
enum {
    AIO__FF_TASK = 1,        /* the slot is a task's future */
    AIO__FF_UNRETRIEVED = 2, /* ERROR nobody looked at yet: reported when freed */
    AIO__FF_YIELD = 4,       /* sleep(0): awaiting it yields one iteration */
    AIO__FF_TIMER = 8,       /* pending sleep: its timer is u.p.timer */
    AIO__FF_OWNED = 16,      /* pending, completed by the combinator in u.owner */
    AIO__FF_WAITQ = 32,      /* pending, linked in a wait queue (waitq.h) */
};

/* A future's slot: 16 bytes. The callback list of a pending future is in
 * the slot for a plain future (or a sleep), in the task for a task's, in the
 * owner for a combinator's (aio__fut_cbs): the slot keeps 8 bytes for a
 * pointer to either, and the list leaves at completion, when the 8 bytes
 * become the outcome. */
#define AIO__CNT_BIG 0xffffu /* refs and holds both read this: the counts are in fut.bigc[idx] */
typedef struct aio__fut {
    uint32_t gen : AIO__GEN_BITS;
    uint32_t state : 3;
    uint32_t flags : 7;
    uint16_t refs;  /* the users' references (handles owned by code outside) */
    uint16_t holds; /* the library's: each awaiter or done callback, a sleep's
                       timer, a running task's loop, a dispatch under way.
                       The slot is freed when both counts reach 0. */
    union {
        aio_value value; /* RESULT: result; ERROR: .i = error; CANCELLED: .p = message */
        struct {
            uint32_t cbs;   /* PENDING plain future: done-callback list, newest first */
            uint32_t timer; /* PENDING sleep (AIO__FF_TIMER): its timer slot */
        } p;
        aio_task *task;           /* PENDING task (its list: aio__cbs) */
        struct aio__owner *owner; /* PENDING combinator future (AIO__FF_OWNED; its list: cbs) */
        uint32_t next_free;
    } u;
} aio__fut;
typedef struct aio__bigc { /* the counts of a slot past 16 bits (AIO__CNT_BIG) */
    uint32_t refs, holds;
} aio__bigc;
struct aio__extra {         /* rarely used per-slot data, allocated (calloc'd) on first use */
    char *name;             /* a task's name (aio_task_set_name) */
    const char *cancel_msg; /* a task's pending cancel message */
};

/* How the table cancels or destroys a task's slot: tasks sit above it (task.c
 * installs these at loop creation). */
typedef struct aio__task_ops {
    int (*cancel)(aio_loop *loop, uint32_t idx, const char *msg); /* request: 1 or 0 */
    void (*destroy)(aio_loop *loop, aio_task *t);                 /* at close */
} aio__task_ops;

typedef struct aio__futures {
    aio__fut *slots;
    /* Slots in use or free. It reads 0 while the loop is barred, so that
     * every lookup fails, and aio__fut_alloc_grow refuses to grow
     * meanwhile: aio__fut_lookup relies on it. The real count waits in
     * `hidden` then. */
    uint32_t n, cap, free, hidden;
    /* Why the loop refuses every call that could change it (AIO__BAR_*, 0:
     * none): closed, closing (being reported on, then freed), or inside a
     * report handler. The table enforces it: no hot path pays for a test. */
    uint8_t barred;
    uint64_t tag_bits; /* (uint64_t)tag << AIO__TAG_SHIFT: every handle's high bits */
    struct aio__extra *extras;
    struct aio__wlink *links; /* wait-queue links by slot (waitq.c), at first use */
    aio__bigc *bigc;          /* counts beyond 16 bits, by slot: allocated on first use too */
    const aio__task_ops *task_ops;
} aio__futures;

#endif /* AIO_CORE_FUTURES_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_FUTURES_H)
#define AIO_CORE_FUTURES_H
#include "core/loop.h"
#include "core/owner.h"

/* futures.c */
int aio__fut_alloc_grow(aio_loop *loop, uint32_t *idx);       /* aio__fut_alloc with no free slot */
void aio__fut_free_slot_slow(aio_loop *loop, uint32_t idx);   /* report, clear extras, recycle */
int aio__fut_lookup_slow(const aio_loop *loop, aio_future f); /* the error of a failed lookup */

static inline aio_future aio__fut_handle(const aio_loop *loop, uint32_t idx) {
    aio_future f;
    f.id = loop->fut.tag_bits | ((uint64_t)loop->fut.slots[idx].gen << AIO__IDX_BITS) | idx;
    return f;
}

/* A valid handle of this (open) loop: 0 and its slot; else the error. One
 * comparison covers tag and generation (all above the index). A barred
 * loop shows no slots (fut.n reads 0): its handles fail here too. The
 * _fast form only says whether the handle is good (no call on its path). */
static inline bool aio__fut_lookup_fast(const aio_loop *loop, aio_future f, uint32_t *idx) {
    uint32_t i = (uint32_t)(f.id & AIO__IDX_MASK);
    if (AIO__LIKELY(loop && i < loop->fut.n)) {
        const aio__fut *s = &loop->fut.slots[i];
        if (AIO__LIKELY(s->state != AIO__FS_FREE &&
                        ((f.id ^ loop->fut.tag_bits) >> AIO__IDX_BITS) == s->gen)) {
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
    uint32_t i = loop->fut.free;
    if (i == AIO__NIL)
        return false;
    aio__fut *s = &loop->fut.slots[i];
    loop->fut.free = s->u.next_free;
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
    aio__fut *s = &loop->fut.slots[idx];
    s->state = AIO__FS_FREE;
    s->gen = (s->gen + 1) & AIO__GEN_MASK;
    s->u.next_free = loop->fut.free;
    loop->fut.free = idx;
}

/* Free a slot both of whose counts reached 0. Inline for the usual slot;
 * an error nobody retrieved (reported now) or per-slot extras to clear (a
 * task's name) take the slow path. */
static inline void aio__fut_free_slot(aio_loop *loop, uint32_t idx) {
    const aio__fut *s = &loop->fut.slots[idx];
    if (loop->fut.extras || (s->flags & AIO__FF_UNRETRIEVED))
        aio__fut_free_slot_slow(loop, idx);
    else
        aio__fut_recycle(loop, idx);
}

/* Counts are 16 bits in the slot. One that would reach AIO__CNT_BIG moves
 * both to loop->fut.bigc[idx] (futures.c): a hundred thousand tasks awaiting
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
    aio__fut *s = &loop->fut.slots[idx];
    if (AIO__LIKELY(s->holds < AIO__CNT_BIG - 1)) {
        s->holds++;
        return 0;
    }
    return aio__fut_hold_slow(loop, idx);
}
/* The first hold of a slot allocated just now: cannot overflow. */
static inline void aio__fut_hold_new(aio_loop *loop, uint32_t idx) { loop->fut.slots[idx].holds++; }

/* A consuming call (AIO_AWAIT, aio_run_until_complete) takes the caller's
 * reference if there is one left: awaiting a future someone else owns (a
 * second awaiter without aio_future_retain) borrows it instead, and the
 * awaiter's own hold keeps it alive meanwhile. */
static inline void aio__fut_consume(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->fut.slots[idx];
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
    aio__fut *s = &loop->fut.slots[idx];
    if (AIO__LIKELY(!aio__fut_big(s))) {
        if (s->refs > 0)
            s->refs--;
    } else {
        aio__fut_consume_slow(loop, idx, true);
    }
}

/* Drop one of the library's holds. */
static inline void aio__fut_drop(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->fut.slots[idx];
    if (AIO__LIKELY(!aio__fut_big(s))) {
        if (--s->holds == 0 && s->refs == 0)
            aio__fut_free_slot(loop, idx);
    } else {
        aio__fut_drop_slow(loop, idx);
    }
}

/* What the modules above the table make of a slot they allocated, through
 * these writers only (the table's state is written by its own module). */
static inline void aio__fut_make_task(aio_loop *loop, uint32_t idx, aio_task *t) { /* pending task */
    loop->fut.slots[idx].flags |= AIO__FF_TASK;
    loop->fut.slots[idx].u.task = t;
}
static inline void aio__fut_make_owned(aio_loop *loop, uint32_t idx, aio__owner *o) { /* pending, owned */
    loop->fut.slots[idx].flags |= AIO__FF_OWNED;
    loop->fut.slots[idx].u.owner = o;
}
static inline void aio__fut_make_yield(aio_loop *loop, uint32_t idx, aio_value v) { /* sleep(0) */
    loop->fut.slots[idx].state = AIO__FS_RESULT;
    loop->fut.slots[idx].flags |= AIO__FF_YIELD;
    loop->fut.slots[idx].u.value = v;
}
static inline void aio__fut_set_timer(aio_loop *loop, uint32_t idx, uint32_t timer) { /* a sleep's */
    loop->fut.slots[idx].u.p.timer = timer;
    loop->fut.slots[idx].flags |= AIO__FF_TIMER;
}
static inline void aio__fut_clear_timer(aio_loop *loop, uint32_t idx) { /* it fired */
    loop->fut.slots[idx].flags &= ~AIO__FF_TIMER & 0x7fu;
}
static inline void aio__fut_mark_retrieved(aio_loop *loop, uint32_t idx) { /* no report */
    loop->fut.slots[idx].flags &= ~AIO__FF_UNRETRIEVED & 0x7fu;
}
static inline void aio__fut_set_task_ops(aio_loop *loop, const aio__task_ops *ops) {
    loop->fut.task_ops = ops;
}
/* Take what a WOKEN slot brings: its outcome from now on (waitq.c). */
int aio__fut_take(aio_loop *loop, uint32_t idx, aio_value *v);
/* The outcome of a done slot as (status, value), marking an error
 * retrieved. Inline: every wake-up takes one. */
static inline int aio__fut_outcome(aio_loop *loop, uint32_t idx, aio_value *v) {
    aio__fut *s = &loop->fut.slots[idx];
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
    if (s->state == AIO__FS_WOKEN)
        return aio__fut_take(loop, idx, v); /* waitq.c */
    return AIO_ENOTDONE;
}
/* Bar the loop for a reason (AIO__BAR_*): fut.n reads 0 from now on.
 * Returns how it was barred before, for aio__fut_unbar. */
uint8_t aio__fut_bar(aio_loop *loop, uint8_t why);
void aio__fut_unbar(aio_loop *loop, uint8_t was);
/* At close, with the table hidden: first report every pending task and
 * every error never retrieved, while everything they name is intact; then
 * free everything (reporting nothing). */
void aio__futures_report(aio_loop *loop);
void aio__futures_free(aio_loop *loop);
struct aio__extra *aio__extras(aio_loop *loop); /* allocated at first use; NULL: no memory */
/* Look up n handles at once: 0, or the first bad handle's code. */
int aio__fut_lookup_all(const aio_loop *loop, const aio_future *futs, size_t n, uint32_t *idx_out);
#endif /* AIO_CORE_FUTURES_H */
