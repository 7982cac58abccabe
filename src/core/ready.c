/* The ready queue: a FIFO ring of (callback, argument) pairs.
 *
 * Entries are addressed by a 64-bit sequence number that only grows: entry
 * `seq` sits at ring[seq & mask]. Growing the ring re-seats every live entry
 * at its sequence number modulo the new size, so sequence numbers (and the
 * handles built from them) stay valid. Cancelling an entry clears its fn:
 * the loop skips it. */
#include "core/loop.h"
#include "core/mem.h"
#include "core/ready.h"

#include <stdlib.h>

#define AIO__RING_MIN 64u

/* Double the ring (large blocks move by mremap, without copying or
 * touching their pages: aio__table_resize), then re-seat only the entries whose
 * position changes: those whose sequence number has the old capacity's bit
 * set move up by the old capacity. */
int aio__ready_grow(aio_loop *loop) {
    uint64_t old_cap = loop->ready.ring ? loop->ready.mask + 1 : 0; /* one or no slot free */
    uint64_t cap = old_cap ? old_cap * 2 : AIO__RING_MIN;
    if (cap > SIZE_MAX / sizeof(aio__ready_ent))
        return -ENOMEM;
    void *p = loop->ready.ring;
    size_t old = (size_t)old_cap * sizeof(aio__ready_ent); /* keep it all */
    if (aio__table_resize(loop, &p, old, old, (size_t)cap * sizeof(aio__ready_ent)) < 0)
        return -ENOMEM;
    aio__ready_ent *ring = p;
    for (uint64_t s = loop->ready.head; s != loop->ready.tail; s++)
        if (s & old_cap)
            ring[s & (cap - 1)] = ring[s & (old_cap - 1)];
    loop->ready.ring = ring;
    loop->ready.mask = cap - 1;
    loop->ready.cap = cap - 1; /* the last slot is kept for a completion */
    return 0;
}

int aio__ready_init(aio_loop *loop) { return aio__ready_grow(loop); }

int aio__ready_cancel(aio_loop *loop, uint64_t seq) {
    if (seq >= loop->ready.tail)
        return AIO_ESTALE; /* never issued by this loop */
    if (seq < loop->ready.head)
        return 0; /* already ran (or was skipped) */
    aio__ready_ent *e = &loop->ready.ring[seq & loop->ready.mask];
    if (!e->fn)
        return 0;
    e->fn = NULL;
    return 1;
}

void aio__ready_free(aio_loop *loop) {
    aio__table_free(loop, loop->ready.ring,
                    loop->ready.ring ? (size_t)(loop->ready.mask + 1) * sizeof *loop->ready.ring : 0);
    loop->ready.ring = NULL;
    loop->ready.head = loop->ready.tail = 0;
    loop->ready.mask = 0;
    loop->ready.cap = 0;
    loop->task.start_seq = UINT64_MAX;
    loop->task.start_tail = NULL;
}
