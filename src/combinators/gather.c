/* aio_gather: results in argument order.
 *
 * One allocation: the state and one 8-byte entry per argument. Each entry
 * registers one done callback (a node from the loop's pool, no malloc) whose
 * argument is the entry itself; the entry knows its position, so the state
 * is found from it. Duplicated handles simply register twice.
 *
 * The state lives until its future is done AND every callback it registered
 * has run or been removed (`outstanding`): callbacks already scheduled when
 * the gather finished early still arrive and must find the state. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/cancel.h"
#include "core/loop.h"
#include "core/owner.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

typedef aio__child gather_entry; /* pos: the child's position in the arguments */

typedef struct gather {
    aio__owner owner;
    uint32_t fut;
    uint32_t remaining;   /* entries whose child is not done yet */
    uint32_t outstanding; /* callbacks registered and not yet run or removed */
    unsigned flags;
    bool done, cancel_requested;
    const char *cancel_msg;
    aio_outcome *results;
    size_t n;
    gather_entry entry[];
} gather;

static gather *gather_of(gather_entry *e) { return AIO__CHILD_OWNER(e, gather, entry); }

static void gather_child_done(aio_loop *loop, aio_future f, void *arg);

static void maybe_free(aio_loop *loop, gather *g) {
    if (g->done && g->outstanding == 0)
        aio__owner_free(loop, &g->owner);
}

/* Stop listening to the children still pending (they keep running). */
static void detach(aio_loop *loop, gather *g) {
    aio__children_detach(loop, g->entry, g->n, gather_child_done, &g->outstanding);
}

static void finish(aio_loop *loop, gather *g, int err, aio_value v) {
    g->done = true;
    detach(loop, g);
    aio__owned_finish(loop, g->fut, err, v);
}

/* Entries whose callback ran are marked AIO__NIL: their child's slot may
 * have been freed since (the gather held it only until then) and reused
 * by another future, which must not be cancelled. */
static void cancel_pending_children(aio_loop *loop, gather *g, const char *msg) {
    for (size_t i = 0; i < g->n; i++)
        if (g->entry[i].idx != AIO__NIL && loop->fut.slots[g->entry[i].idx].state == AIO__FS_PENDING)
            aio__fut_cancel_idx(loop, g->entry[i].idx, msg);
}

static void gather_child_done(aio_loop *loop, aio_future f, void *arg) {
    gather_entry *e = arg;
    gather *g = gather_of(e);
    (void)f;
    g->outstanding--;
    if (g->done) {
        e->idx = AIO__NIL;
        maybe_free(loop, g);
        return;
    }
    aio_outcome out;
    out.err = aio__fut_outcome(loop, e->idx, &out.value);
    e->idx = AIO__NIL; /* heard from: the slot may go once we return */
    if (g->results)
        g->results[e->pos] = out;
    g->remaining--;
    if (out.err != 0 && !(g->flags & AIO_GATHER_RETURN_ERRORS) && !g->cancel_requested) {
        /* The first failure propagates. The others keep running (asyncio)
         * unless the caller opted in to cancelling them. */
        if (g->flags & AIO_GATHER_CANCEL_ON_ERROR)
            cancel_pending_children(loop, g, NULL);
        aio_value v = {0};
        if (out.err == AIO_ECANCELLED)
            v = out.value; /* the child's cancel message */
        finish(loop, g, out.err, v);
    } else if (g->remaining == 0) {
        aio_value v;
        v.u = g->n;
        if (g->cancel_requested) {
            v.p = (void *)(uintptr_t)g->cancel_msg;
            finish(loop, g, AIO_ECANCELLED, v); /* our own cancellation always propagates */
        } else {
            finish(loop, g, 0, v);
        }
    }
    maybe_free(loop, g);
}

/* Cancelling the gather cancels its pending children; it ends cancelled
 * once they have all finished. A pending gather always accepts (asyncio
 * refuses when no child could be cancelled any more, leaving a pending
 * future that cannot be cancelled: we keep state and outcome consistent). */
static int gather_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    gather *g = (gather *)o;
    if (g->done)
        return 0;
    if (g->cancel_requested)
        return 1; /* its children were asked already */
    g->cancel_msg = msg;
    g->cancel_requested = true;
    cancel_pending_children(loop, g, msg);
    return 1;
}

/* For the task dumps (aio/debug.h): the count, and the children listened to. */
static void gather_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    gather *g = (gather *)o;
    (void)loop;
    snprintf(info->text, info->len, "gather: %u of %zu pending%s", g->remaining, g->n,
             g->cancel_requested ? ", cancelling" : "");
    for (size_t i = 0; i < g->n && !g->done; i++)
        if (g->entry[i].idx != AIO__NIL) /* not heard from yet */
            info->child(info, g->entry[i].idx, gather_child_done, &g->entry[i]);
}

static const aio__owner_ops gather_ops = {.cancel = gather_cancel, .describe = gather_describe};

aio_future aio_gather_on(aio_loop *loop, const aio_future *futs, size_t n, aio_outcome *results,
                         unsigned flags) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if ((n > 0 && !futs) || (flags & ~(unsigned)(AIO_GATHER_RETURN_ERRORS | AIO_GATHER_CANCEL_ON_ERROR)) ||
        n > UINT32_MAX / 2) {
        aio__abandon_all(loop, futs, n > UINT32_MAX / 2 ? 0 : n, true);
        return aio__error_handle(-EINVAL);
    }
    if (n == 0) { /* asyncio: an already-resolved future with [] */
        uint32_t idx;
        if ((rc = aio__fut_alloc(loop, &idx)) < 0)
            return aio__error_handle(rc);
        aio_value none = {0};
        aio__fut_finish(loop, idx, AIO__FS_RESULT, none);
        return aio__fut_handle(loop, idx);
    }
    uint32_t fut;
    gather *g = n > (SIZE_MAX - sizeof(gather)) / sizeof(gather_entry)
                    ? NULL
                    : aio__owner_new(loop, sizeof(gather) + n * sizeof(gather_entry), &gather_ops, &fut);
    if (!g) {
        aio__abandon_all(loop, futs, n, true);
        return aio__error_handle(-ENOMEM);
    }
    g->fut = fut;
    g->n = n;
    g->flags = flags;
    g->results = results;
    /* Validate every handle before listening to any: with a bad one the
     * gather fails, and (the ownership rule) still consumes the good ones'
     * references, cancelling the pending children nobody else holds. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        g->entry[i].pos = (uint32_t)i;
        rc = aio__fut_lookup(loop, futs[i], &g->entry[i].idx);
    }
    if (rc < 0) {
        aio__owned_finish(loop, fut, AIO_ECANCELLED, (aio_value){0});
        aio__fut_consume(loop, fut);
        aio__owner_free(loop, &g->owner);
        aio__abandon_all(loop, futs, n, true);
        return aio__error_handle(rc);
    }
    g->remaining = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        gather_entry *e = &g->entry[i];
        aio__fut *s = &loop->fut.slots[e->idx];
        if (s->state != AIO__FS_PENDING) {
            /* Done already: its outcome goes through the same path, next
             * iteration, keeping one code path for ordering and errors. */
            if (aio_future_add_done_callback(loop, aio__fut_handle(loop, e->idx), gather_child_done, e) < 0)
                rc = -ENOMEM;
        } else if (aio__fut_add_node(loop, e->idx, gather_child_done, e) < 0) {
            rc = -ENOMEM;
        }
        if (rc < 0) { /* out of memory midway: cancel what we started, fail */
            g->done = true;
            aio__children_detach(loop, g->entry, i, gather_child_done, &g->outstanding);
            aio__owned_finish(loop, fut, AIO_ECANCELLED, (aio_value){0}); /* reports nothing */
            aio__fut_consume(loop, fut);
            maybe_free(loop, g);
            aio__abandon_all(loop, futs, n, true);
            return aio__error_handle(rc);
        }
        g->outstanding++;
    }
    for (size_t i = 0; i < n; i++)
        aio__fut_consume(loop, g->entry[i].idx); /* gather took the caller's references */
    return aio__fut_handle(loop, fut);
}
