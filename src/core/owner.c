/* Combinator states ("owners"): each gather, wait, wait_for, shield and
 * as_completed allocates one state that owns the future it returns.
 *
 * The owned future is held (one library hold) until the owner completes it,
 * so a caller may release its reference and the combinator still finishes.
 * Cancelling the owned future calls the owner's cancel, which decides what
 * that means (gather: cancel the children and finish once they are done;
 * wait: stop waiting). States sit on a loop list so that closing the loop
 * frees those still alive. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/cancel.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/owner.h"

#include <stdint.h>
#include <stdlib.h>

/* Each state is preceded by how it was allocated: a state with an entry
 * per child (a gather of a million tasks) is written whole at once, so from
 * AIO__BULK_MIN on it comes from aio__bulk_alloc's huge pages. 16 bytes
 * keep the state as aligned as calloc's memory. */
typedef struct owner_block {
    size_t len; /* this header included */
    size_t mapped;
} owner_block;

static void owner_release(aio__owner *o) {
    owner_block *b = (owner_block *)(void *)o - 1;
    aio__bulk_free(b, b->len, b->mapped != 0);
}

void *aio__owner_new(aio_loop *loop, size_t size, const aio__owner_ops *ops, uint32_t *fut) {
    if (size > SIZE_MAX - sizeof(owner_block))
        return NULL;
    bool mapped;
    size_t len = sizeof(owner_block) + size;
    owner_block *b = aio__bulk_alloc(loop, len, &mapped);
    if (!b)
        return NULL;
    b->len = len;
    b->mapped = mapped;
    aio__owner *o = (aio__owner *)(void *)(b + 1);
    if (aio__fut_alloc(loop, fut) < 0) {
        owner_release(o);
        return NULL;
    }
    aio__fut_set_owner(loop, *fut, o);
    o->ops = ops;
    o->next = loop->own.live;
    if (o->next)
        o->next->prev = o;
    loop->own.live = o;
    return o;
}

void aio__owner_free(aio_loop *loop, aio__owner *o) {
    if (o->prev)
        o->prev->next = o->next;
    else
        loop->own.live = o->next;
    if (o->next)
        o->next->prev = o->prev;
    owner_release(o);
}

void aio__owners_free_all(aio_loop *loop) {
    aio__owner *o = loop->own.live;
    loop->own.live = NULL;
    while (o) {
        aio__owner *next = o->next;
        owner_release(o);
        o = next;
    }
}

void aio__owned_complete(aio_loop *loop, uint32_t idx, int err, aio_value v) {
    uint8_t state = AIO__FS_RESULT;
    if (err == AIO_ECANCELLED)
        state = AIO__FS_CANCELLED;
    else if (err < 0) {
        state = AIO__FS_ERROR;
        v.i = err;
    }
    aio__fut_finish(loop, idx, state, v);
}

void aio__owned_finish(aio_loop *loop, uint32_t idx, int err, aio_value v) {
    aio__owned_complete(loop, idx, err, v);
    aio__fut_drop(loop, idx); /* the owner's hold */
}

void aio__fut_set_owner(aio_loop *loop, uint32_t idx, aio__owner *o) {
    o->cbs = loop->fut.slots[idx].u.p.cbs; /* the list moves from the slot to the owner */
    aio__fut_make_owned(loop, idx, o);
    aio__fut_hold_new(loop, idx); /* the owner's, dropped when it completes the future */
}

void aio__children_detach(aio_loop *loop, aio__child *children, size_t n, aio_done_callback cb,
                          uint32_t *outstanding) {
    for (size_t i = 0; i < n && *outstanding != 0; i++)
        if (children[i].idx != AIO__NIL && loop->fut.slots[children[i].idx].state == AIO__FS_PENDING)
            *outstanding -= (uint32_t)aio__fut_remove_node(loop, children[i].idx, cb, &children[i]);
}

void aio__abandon(aio_loop *loop, uint32_t idx, bool cancel) {
    if (cancel && loop->fut.slots[idx].state == AIO__FS_PENDING && aio__fut_refs(loop, idx) == 1)
        aio__fut_cancel_idx(loop, idx, NULL); /* a task keeps its loop's hold: it finishes its cleanup */
    aio__fut_consume(loop, idx);
}

void aio__abandon_all(aio_loop *loop, const aio_future *futs, size_t n, bool cancel) {
    if (!futs || aio__loop_usable(loop) < 0)
        return; /* a closed loop's handles hold nothing any more */
    for (size_t i = 0; i < n; i++) {
        uint32_t idx;
        if (aio__fut_lookup_fast(loop, futs[i], &idx)) /* looked up again: a duplicate may be gone */
            aio__abandon(loop, idx, cancel);
    }
}
