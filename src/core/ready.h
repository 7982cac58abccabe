/* The ready queue: a FIFO ring of (callback, argument) entries addressed
 * by 64-bit sequence numbers (ready.c). */
#ifndef AIO_CORE_READY_H_STATE
#define AIO_CORE_READY_H_STATE
#include "aio/aio.h"
#include <stdint.h>

/* ---- ready queue: a FIFO ring of (fn, arg), indexed by sequence numbers.
 * Entry seq lives at ring[seq & mask]; a cancelled entry has fn == NULL.
 *
 * The last slot of the ring is kept for completions (callbacks.c): an
 * ordinary entry is queued only while two slots are free, so that after
 * any entry is queued, either the newest entry is the open dispatch batch
 * (which a completion extends) or a slot is free (where it opens one). So
 * a completion never needs memory, and never fails. */
typedef struct aio__ready_ent {
    aio_callback fn;
    void *arg;
} aio__ready_ent;
typedef struct aio__ready_q {
    aio__ready_ent *ring;
    uint64_t head, tail, mask;
    /* The room of ordinary entries: mask (one slot short of the ring), or
     * 0 while there is no ring: one test for "full". */
    uint64_t cap;
} aio__ready_q;
#endif /* AIO_CORE_READY_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_READY_H)
#define AIO_CORE_READY_H
#include "core/loop.h"

int aio__ready_grow(aio_loop *loop);
/* The ring's first 64 entries, at loop creation: a completion relies on its
 * kept slot from then on. 0 or -ENOMEM. */
int aio__ready_init(aio_loop *loop);
int aio__ready_cancel(aio_loop *loop, uint64_t seq);
static inline bool aio__ready_full(const aio_loop *loop) {
    return loop->ready.tail - loop->ready.head >= loop->ready.cap;
}
/* Queue fn(loop, arg) at the back of a ring that is not full (or, for a
 * completion's batch, whose kept slot is free); returns its sequence
 * number. */
static inline uint64_t aio__ready_put(aio_loop *loop, aio_callback fn, void *arg) {
    aio__ready_ent *e = &loop->ready.ring[loop->ready.tail & loop->ready.mask];
    e->fn = fn;
    e->arg = arg;
    return loop->ready.tail++;
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
    return loop->ready.tail > loop->ready.head && loop->ready.tail - 1 == seq;
}
static inline bool aio__ready_empty(const aio_loop *loop) { return loop->ready.head == loop->ready.tail; }
/* A slot is free, the kept one included. */
static inline bool aio__ready_has_slot(const aio_loop *loop) {
    return loop->ready.tail - loop->ready.head <= loop->ready.mask;
}
#endif /* AIO_CORE_READY_H */
