/* Wait queues and wake-then-take: see waitq.h for the contract.
 *
 * A queued waiter is a plain pending future with AIO__FF_WAITQ; its links
 * live in loop->fut.links (24 bytes a slot, allocated at the first push and
 * grown with the futures table), so waiting allocates nothing per waiter.
 * The queue holds one hold on each of its waiters: a waiter whose user
 * dropped its reference stays valid until it is woken or cancelled. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/waitq.h"

#include <stdlib.h>

static struct aio__wlink *link_of(aio_loop *loop, uint32_t idx) { return &loop->fut.links[idx]; }

static aio_value *link_data(aio_loop *loop, uint32_t idx) { return &link_of(loop, idx)->data; }

/* Link pending slot i at q's tail. */
static void link_tail(aio_loop *loop, aio__waitq *q, uint32_t i) {
    struct aio__wlink *l = link_of(loop, i);
    l->q = q;
    l->next = 0;
    l->prev = q->tail;
    if (q->tail)
        link_of(loop, q->tail - 1)->next = i + 1;
    else
        q->head = i + 1;
    q->tail = i + 1;
    q->count++;
    loop->fut.slots[i].flags |= AIO__FF_WAITQ;
}

/* A new pending slot with its link entry (the links are allocated at the
 * first use, then grow with the table): 0 and *idx, AIO_ECLOSED, -ENOMEM. */
static int new_waiter(aio_loop *loop, uint32_t *idx) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    uint32_t i;
    if ((rc = aio__fut_alloc(loop, &i)) < 0)
        return rc;
    if (!loop->fut.links &&
        !(loop->fut.links = aio__malloc((size_t)loop->fut.cap * sizeof *loop->fut.links))) {
        aio__fut_consume(loop, i);
        return -ENOMEM;
    }
    link_data(loop, i)->u = 0;
    *idx = i;
    return 0;
}

int aio__waitq_push(aio_loop *loop, aio__waitq *q, uint32_t *idx) {
    int rc = new_waiter(loop, idx);
    if (rc < 0)
        return rc;
    link_tail(loop, q, *idx);
    aio__fut_hold_new(loop, *idx); /* the queue's */
    return 0;
}

int aio__waitq_new_woken(aio_loop *loop, aio__taker *tk, aio_value data, uint32_t *idx) {
    int rc = new_waiter(loop, idx);
    if (rc < 0)
        return rc;
    link_of(loop, *idx)->q = NULL;
    *link_data(loop, *idx) = data;
    aio__fut_wake(loop, *idx, tk);
    return 0;
}

void aio__waitq_unlink(aio_loop *loop, uint32_t idx) {
    struct aio__wlink *l = link_of(loop, idx);
    aio__waitq *q = l->q;
    if (l->prev)
        link_of(loop, l->prev - 1)->next = l->next;
    else
        q->head = l->next;
    if (l->next)
        link_of(loop, l->next - 1)->prev = l->prev;
    else
        q->tail = l->prev;
    q->count--;
    loop->fut.slots[idx].flags &= ~AIO__FF_WAITQ & 0x7fu;
}

void aio__waitq_move(aio_loop *loop, uint32_t idx, aio__waitq *to) {
    aio__waitq_unlink(loop, idx);
    link_tail(loop, to, idx); /* the hold goes with it */
}

int aio__waitq_cancel(aio_loop *loop, uint32_t idx, const char *msg) {
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__waitq_unlink(loop, idx);
    aio__fut_finish(loop, idx, AIO__FS_CANCELLED, v);
    aio__fut_drop(loop, idx); /* the queue's hold, after the completion */
    return 1;
}

void aio__fut_wake(aio_loop *loop, uint32_t idx, aio__taker *tk) {
    aio_value v;
    v.p = tk;
    aio__fut_finish(loop, idx, AIO__FS_WOKEN, v);
    /* Freed untaken, it takes the slow path that declines (futures.c). */
    loop->fut.slots[idx].flags |= AIO__FF_UNRETRIEVED;
}

bool aio__waitq_wake(aio_loop *loop, aio__waitq *q, aio__taker *tk) {
    if (!q->head)
        return false;
    uint32_t idx = q->head - 1;
    aio__waitq_unlink(loop, idx);
    aio__fut_wake(loop, idx, tk);
    aio__fut_drop(loop, idx); /* the queue's hold, after the completion */
    return true;
}

uint32_t aio__waitq_wake_all(aio_loop *loop, aio__waitq *q, aio__taker *tk) {
    uint32_t n = q->count; /* the ones queued now: not those a wake-up queues */
    for (uint32_t i = 0; i < n && aio__waitq_wake(loop, q, tk); i++) {
    }
    return n;
}

int aio__fut_take(aio_loop *loop, uint32_t idx, aio_value *v) {
    aio__fut *s = &loop->fut.slots[idx];
    aio__taker *tk = s->u.value.p;
    /* Settled before take() runs, which may look at the slot again. */
    s->state = AIO__FS_RESULT;
    s->flags &= ~AIO__FF_UNRETRIEVED & 0x7fu;
    s->u.value.u = 0;
    aio_value out = {0};
    int err = tk->ops->take(loop, tk, idx, &out);
    s = &loop->fut.slots[idx]; /* take() may have grown the table */
    if (err == 0) {
        s->u.value = out;
    } else if (err == AIO_ECANCELLED) {
        s->state = AIO__FS_CANCELLED;
        s->u.value.p = out.p; /* the cancel message take() gives, if any */
    } else {
        s->state = AIO__FS_ERROR; /* retrieved now: no report */
        s->u.value.i = err;
        out.u = 0;
    }
    if (v)
        *v = out;
    return err;
}

void aio__fut_decline(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->fut.slots[idx];
    aio__taker *tk = s->u.value.p;
    s->state = AIO__FS_CANCELLED;
    s->flags &= ~AIO__FF_UNRETRIEVED & 0x7fu;
    s->u.value.p = NULL;
    tk->ops->decline(loop, tk, idx);
}

void aio__fut_consumer_cancelled(aio_loop *loop, uint32_t idx) {
    aio__taker *tk = loop->fut.slots[idx].u.value.p;
    if (tk->ops->cancelled)
        tk->ops->cancelled(loop, tk, idx); /* taken all the same, when the task resumes */
    else
        aio__fut_decline(loop, idx);
}
