/* The extension interface: how a module other than the futures table owns,
 * completes and cancels a future (owner.c). Combinators and the executor
 * use it; so does every later module (streams, sync primitives, groups).
 *
 *   1. Allocate the state with its future (aio__owner_new), or embed an
 *      aio__owner in a record of yours and aio__fut_set_owner a new slot.
 *   2. Complete the future exactly once, with aio__owned_finish (which
 *      drops the owner's hold); nobody else can: set_result on an owned
 *      future is refused (AIO_EISTASK).
 *   3. The owner decides what cancel means (ops->cancel): cancel children
 *      and finish once they are done (gather), stop waiting (wait), or
 *      finish cancelled at once.
 *   4. The state lives until the future is done AND every callback it
 *      registered has run or been removed (aio__children_detach).
 *   5. States still live at close are freed by the loop (aio__owner_new's
 *      list); their futures are freed with the table.
 * A module that makes tasks wait for something it hands out (a lock, an
 * item, bytes) uses plain futures in a wait queue instead: waitq.h. */
#ifndef AIO_CORE_OWNER_H_STATE
#define AIO_CORE_OWNER_H_STATE
#include "aio/aio.h"
#include <stdint.h>

/* The state of a combinator (gather, wait, ...) that owns a pending future:
 * its cancel decides what cancelling that future means. Every live owner is
 * on the loop's list so that closing the loop frees it. */
typedef struct aio__owner aio__owner;
/* What an owner says about itself to the task dumps (aio/debug.h). */
typedef struct aio__owner_info aio__owner_info;
struct aio__owner_info {
    char *text; /* describe writes one line here: "gather: 2 of 3 pending" */
    size_t len;
    uint32_t timer; /* its timeout's timer slot, if one is armed (else AIO__NIL, preset) */
    /* To be called for each future it still waits on, with the done
     * callback it registered there: only children whose list really holds
     * that (cb, arg) count, so a stale entry (a child done since, its slot
     * reused) is harmless. */
    void (*child)(aio__owner_info *info, uint32_t idx, aio_done_callback cb, void *arg);
    void *ctx; /* the caller's */
};
typedef struct aio__owner_ops {
    /* Cancel request on the owned future: 1 if accepted, 0 if already done. */
    int (*cancel)(aio_loop *loop, aio__owner *owner, const char *msg);
    /* Optional (NULL: "combinator", no children): what the pending owned
     * future waits for, for the task dumps. Reads, never changes, state. */
    void (*describe)(aio_loop *loop, aio__owner *owner, aio__owner_info *info);
} aio__owner_ops;
struct aio__owner {
    const aio__owner_ops *ops;
    aio__owner *prev, *next;
    uint32_t cbs; /* the owned future's callback list while it is pending */
    uint32_t aux; /* the owner's own use (a job's slot) */
};
typedef struct aio__owners {
    aio__owner *live; /* live owner states, freed at close */
} aio__owners;
#endif /* AIO_CORE_OWNER_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_OWNER_H)
#define AIO_CORE_OWNER_H
#include "core/loop.h"

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
 * children again. An entry whose idx is AIO__NIL is skipped: a combinator
 * marks so the children it has heard from, whose slots may be freed and
 * reused by other futures from then on. */
void aio__children_detach(aio_loop *loop, aio__child *children, size_t n, aio_done_callback cb,
                          uint32_t *outstanding);
/* The ownership rule on a failing path (include/aio/future.h): drop the
 * reference each valid handle of futs carries; a pending child whose last
 * reference that was is cancelled first when `cancel` (nobody could await
 * it any more). Bad handles carry no reference and are skipped. */
void aio__abandon_all(aio_loop *loop, const aio_future *futs, size_t n, bool cancel);
/* The same for one child already looked up (slot idx). */
void aio__abandon(aio_loop *loop, uint32_t idx, bool cancel);
/* Complete a future owned by a combinator (it stops being owned), and drop
 * the owner's hold; the _complete form keeps the hold (drop it after). */
void aio__owned_finish(aio_loop *loop, uint32_t idx, int err, aio_value v);
void aio__owned_complete(aio_loop *loop, uint32_t idx, int err, aio_value v);
#endif /* AIO_CORE_OWNER_H */
