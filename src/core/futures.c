/* The futures table: loop-owned slots addressed by generational handles.
 *
 * Lifetime: a slot is freed when both its counts drop to 0: its references
 * (the users') and its holds (the library's: every registered done callback
 * or awaiting task, one each, dropped after it ran or was removed; a
 * sleep's timer; a running task's loop; an owner). So a future is never
 * freed under someone waiting on it, and freeing is deterministic: a failed
 * future whose error nobody looked at is reported the moment its last
 * holder lets go (report.c).
 *
 * This file: handles, slots and their growth, counts past 16 bits, the
 * public calls that read a future or hold it, and the table's end at
 * close. Completion and callbacks: callbacks.c; cancel: cancel.c. */
#include "core/callbacks.h"
#include "core/compiler.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/report.h"
#include "core/mem.h"
#include "core/waitq.h"

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
    if (loop->fut.barred) /* closed, closing or reporting: fut.n reads 0 */
        return aio__loop_refusal(loop);
    return AIO_ESTALE;
}

/* ---- slots ----------------------------------------------------------------- */

int aio__fut_alloc_grow(aio_loop *loop, uint32_t *out) {
    if (loop->fut.barred)
        return aio__loop_refusal(loop); /* fut.n reads 0 meanwhile (aio__fut_lookup relies on it) */
    if (loop->fut.n == loop->fut.cap) {
        uint32_t cap = aio__slots_next_cap(loop->fut.cap, (uint32_t)(AIO__IDX_MASK + 1));
        if (!cap)
            return -ENOMEM;
        /* The extras first: if the table then fails, they are merely bigger
         * than needed, while capfuts still tells the table's size (which
         * aio__table_free relies on). */
        if (loop->fut.extras) {
            struct aio__extra *x = aio__realloc(loop->fut.extras, (size_t)cap * sizeof *x);
            if (!x)
                return -ENOMEM;
            memset(x + loop->fut.cap, 0, (size_t)(cap - loop->fut.cap) * sizeof *x);
            loop->fut.extras = x;
        }
        if (loop->fut.links) { /* written at each push before it is read: no need to clear */
            struct aio__wlink *l = aio__realloc(loop->fut.links, (size_t)cap * sizeof *l);
            if (!l)
                return -ENOMEM;
            loop->fut.links = l;
        }
        if (loop->fut.bigc) { /* never read before a slot is made big: no need to clear */
            aio__bigc *b = aio__realloc(loop->fut.bigc, (size_t)cap * sizeof *b);
            if (!b)
                return -ENOMEM;
            loop->fut.bigc = b;
        }
        void *f = loop->fut.slots;
        if (aio__slots_grow(loop, &f, loop->fut.cap, cap, sizeof *loop->fut.slots) < 0)
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
    if (!loop->fut.bigc && !(loop->fut.bigc = aio__malloc((size_t)loop->fut.cap * sizeof *loop->fut.bigc)))
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
        loop->fut.extras = aio__calloc(loop->fut.cap ? loop->fut.cap : 1, sizeof *loop->fut.extras);
    return loop->fut.extras;
}

void aio__fut_free_slot_slow(aio_loop *loop, uint32_t idx) {
    if (loop->fut.slots[idx].state == AIO__FS_WOKEN)
        aio__fut_decline(loop, idx); /* nobody took it: the wake-up goes on */
    else
        aio__report_unretrieved(loop, idx);
    if (loop->fut.extras) {
        aio__free(loop->fut.extras[idx].name);
        loop->fut.extras[idx].name = NULL;
        loop->fut.extras[idx].cancel_msg = NULL;
    }
    aio__fut_recycle(loop, idx); /* re-read the table: the report's handler may have grown it */
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

const char *aio_future_cancel_message(aio_loop *loop, aio_future f) {
    uint32_t idx;
    if (aio__fut_lookup(loop, f, &idx) < 0 || loop->fut.slots[idx].state != AIO__FS_CANCELLED)
        return NULL;
    return loop->fut.slots[idx].u.value.p;
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

/* ---- the loop barred, and close ------------------------------------------------ */

uint8_t aio__fut_bar(aio_loop *loop, uint8_t why) {
    uint8_t was = loop->fut.barred;
    if (!was) { /* every handle's lookup fails from now on */
        loop->fut.hidden = loop->fut.n;
        loop->fut.n = 0;
    }
    loop->fut.barred = was | why;
    return was;
}

void aio__fut_unbar(aio_loop *loop, uint8_t was) {
    loop->fut.barred = was;
    if (!was)
        loop->fut.n = loop->fut.hidden;
}

/* Collect, then report, then free: the reports come first, with every slot,
 * name and owner intact, and the loop refusing whatever the handler calls
 * (it is closing). */
/* A loop that ran a million tasks walks a million slots (most of them
 * free) at close, twice: each walk keeps the table in registers (it cannot
 * move: a barred loop never grows it) and looks at one field per slot. */
void aio__futures_report(aio_loop *loop) {
    const aio__fut *slots = loop->fut.slots;
    const uint32_t n = loop->fut.hidden;
    for (uint32_t i = 0; i < n; i++) {
        unsigned state = slots[i].state;
        if (AIO__LIKELY(state != AIO__FS_PENDING && state != AIO__FS_ERROR))
            continue;
        if (state == AIO__FS_PENDING && (slots[i].flags & AIO__FF_TASK))
            aio__report(loop, "Task was destroyed but it is pending", 0, i);
        else if (state == AIO__FS_ERROR)
            aio__report_unretrieved(loop, i);
    }
}

void aio__futures_free(aio_loop *loop) {
    aio__owners_free_all(loop);
    const aio__fut *slots = loop->fut.slots;
    const uint32_t n = loop->fut.hidden;
    for (uint32_t i = 0; i < n; i++)
        if (slots[i].state == AIO__FS_PENDING && (slots[i].flags & AIO__FF_TASK))
            loop->fut.task_ops->destroy(loop, slots[i].u.task);
    if (loop->fut.extras)
        for (uint32_t i = 0; i < loop->fut.hidden; i++)
            aio__free(loop->fut.extras[i].name);
    aio__free(loop->fut.extras);
    aio__free(loop->fut.links);
    loop->fut.links = NULL;
    aio__free(loop->fut.bigc);
    loop->fut.bigc = NULL;
    aio__table_free(loop, loop->fut.slots, (size_t)loop->fut.cap * sizeof *loop->fut.slots);
    aio__table_free(loop, loop->cb.nodes, (size_t)loop->cb.cap * sizeof *loop->cb.nodes);
    aio__free(loop->cancel.q);
    loop->cancel.q = NULL;
    loop->cancel.n = loop->cancel.cap = 0;
    loop->fut.extras = NULL;
    loop->fut.slots = NULL;
    loop->cb.nodes = NULL;
    loop->fut.n = loop->fut.hidden = loop->fut.cap = loop->cb.n = loop->cb.cap = 0;
    loop->fut.barred = AIO__BAR_CLOSED; /* for good: the table is gone */
    loop->fut.free = loop->cb.free = AIO__NIL;
    loop->task.count = 0;
}
