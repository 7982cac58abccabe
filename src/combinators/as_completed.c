/* aio_as_completed: children in completion order, as an iterator.
 *
 * The iterator is a future owned by this state. Finished children's
 * positions queue up in `ready`; each aio_as_completed_next() returns a new
 * future that gets the next position (at once if one is queued). Next
 * futures still waiting are held in `waiting`, oldest first; one that its
 * awaiter cancelled is skipped and its position given to the next. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/owner.h"
#include "core/timers.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef aio__child ac_entry;

typedef struct as_completed {
    aio__owner owner;
    uint32_t fut;
    uint32_t timer;
    bool has_timer, timed_out, done;
    uint32_t outstanding; /* child callbacks registered, not yet run or removed */
    size_t n;
    size_t delivered; /* positions handed to next futures */
    size_t asked;     /* next futures created and not given up */
    uint32_t *ready;  /* positions finished, not yet delivered: [rhead, rtail) */
    size_t rhead, rtail;
    uint32_t *waiting; /* next futures (slots) waiting: [whead, wtail) */
    size_t whead, wtail;
    ac_entry entry[]; /* then ready[n] and waiting[n], same allocation */
} as_completed;

static const aio__owner_ops ac_ops;
static void ac_child_done(aio_loop *loop, aio_future f, void *arg);

static as_completed *ac_of(ac_entry *e) { return AIO__CHILD_OWNER(e, as_completed, entry); }

static void ac_maybe_free(aio_loop *loop, as_completed *a) {
    if (a->done && a->outstanding == 0 && !a->has_timer && a->whead == a->wtail)
        aio__owner_free(loop, &a->owner);
}

static void detach(aio_loop *loop, as_completed *a) {
    aio__children_detach(loop, a->entry, a->n, ac_child_done, &a->outstanding);
    if (a->has_timer) {
        aio__timer_cancel(loop, a->timer);
        a->has_timer = false;
    }
}

/* Fail every waiting next future with err (timeout, or cancellation). */
static void fail_waiting(aio_loop *loop, as_completed *a, int err) {
    while (a->whead != a->wtail) {
        uint32_t x = a->waiting[a->whead++];
        if (loop->fut.slots[x].state == AIO__FS_PENDING)
            aio__owned_finish(loop, x, err, (aio_value){0});
        else
            aio__fut_drop(loop, x); /* cancelled by its awaiter: just our hold */
    }
}

/* The iterator completes with n once all are delivered, or fails with
 * AIO_ETIMEDOUT once the timeout passed and nothing queued is left; that
 * error is what later _next calls return, so it is not reported as never
 * retrieved. */
static void finish_iterator(aio_loop *loop, as_completed *a, int err) {
    if (a->done)
        return;
    a->done = true;
    detach(loop, a);
    aio_value v;
    v.u = a->delivered;
    uint32_t fut = a->fut;
    aio__owned_complete(loop, fut, err, v); /* the owner's hold keeps the slot... */
    if (err < 0)
        aio__fut_mark_retrieved(loop, fut);
    aio__fut_drop(loop, fut); /* ...until now */
}

/* Hand queued positions to waiting next futures, oldest first. */
static void deliver(aio_loop *loop, as_completed *a) {
    while (a->rhead != a->rtail && a->whead != a->wtail) {
        uint32_t x = a->waiting[a->whead++];
        if (loop->fut.slots[x].state != AIO__FS_PENDING) { /* its awaiter gave up */
            a->asked--;
            aio__fut_drop(loop, x);
            continue;
        }
        aio_value v;
        v.u = a->ready[a->rhead++];
        aio__owned_finish(loop, x, 0, v);
        a->delivered++;
    }
    if (a->delivered == a->n)
        finish_iterator(loop, a, 0);
    else if (a->timed_out && a->rhead == a->rtail)
        finish_iterator(loop, a, AIO_ETIMEDOUT);
}

/* Drop waiting next futures whose awaiter gave up (cancelled them): they no
 * longer count against the n that may be asked for. */
static void forget_given_up(aio_loop *loop, as_completed *a) {
    size_t keep = a->whead;
    for (size_t i = a->whead; i < a->wtail; i++) {
        uint32_t x = a->waiting[i];
        if (loop->fut.slots[x].state == AIO__FS_PENDING) {
            a->waiting[keep++] = x;
        } else {
            a->asked--;
            aio__fut_drop(loop, x);
        }
    }
    a->wtail = keep;
}

static void ac_child_done(aio_loop *loop, aio_future f, void *arg) {
    ac_entry *e = arg;
    as_completed *a = ac_of(e);
    (void)f;
    a->outstanding--;
    if (!a->done && !a->timed_out) {
        a->ready[a->rtail++] = e->pos;
        deliver(loop, a);
    }
    ac_maybe_free(loop, a);
}

/* Timeout: no more arrivals. Positions already queued are still handed out
 * (asyncio yields what finished first); after them, AIO_ETIMEDOUT. */
static void ac_timeout(aio_loop *loop, void *arg) {
    as_completed *a = arg;
    a->has_timer = false;
    if (a->done) {
        ac_maybe_free(loop, a);
        return;
    }
    a->timed_out = true;
    detach(loop, a);
    if (a->rhead == a->rtail) {
        fail_waiting(loop, a, AIO_ETIMEDOUT);
        finish_iterator(loop, a, AIO_ETIMEDOUT);
    }
    ac_maybe_free(loop, a);
}

static int ac_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    as_completed *a = (as_completed *)o;
    if (a->done)
        return 0;
    fail_waiting(loop, a, AIO_ECANCELLED);
    a->done = true;
    detach(loop, a);
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, a->fut, AIO_ECANCELLED, v);
    ac_maybe_free(loop, a);
    return 1;
}

/* For the task dumps (aio/debug.h): the count, the children listened to
 * and the timeout. */
static void ac_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    as_completed *a = (as_completed *)o;
    (void)loop;
    snprintf(info->text, info->len, "as_completed: %zu of %zu delivered", a->delivered, a->n);
    if (a->has_timer)
        info->timer = a->timer;
    for (size_t i = 0; i < a->n && !a->done; i++)
        info->child(info, a->entry[i].idx, ac_child_done, &a->entry[i]);
}

static const aio__owner_ops ac_ops = {.cancel = ac_cancel, .describe = ac_describe};

aio_future aio_as_completed_on(aio_loop *loop, const aio_future *futs, size_t n, double timeout) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (n == 0 || !futs || isnan(timeout) || n > UINT32_MAX / 2)
        return aio__error_handle(-EINVAL);
    if (n > (SIZE_MAX - sizeof(as_completed)) / (sizeof(ac_entry) + 2 * sizeof(uint32_t)))
        return aio__error_handle(-ENOMEM);
    uint32_t fut;
    /* One allocation (freed whole even when the loop closes under us). */
    as_completed *a =
        aio__owner_new(loop, sizeof *a + n * (sizeof(ac_entry) + 2 * sizeof(uint32_t)), &ac_ops, &fut);
    if (!a)
        return aio__error_handle(-ENOMEM);
    a->fut = fut;
    a->n = n;
    a->ready = (uint32_t *)(void *)(a->entry + n);
    a->waiting = a->ready + n;
    for (size_t i = 0; i < n && rc == 0; i++) {
        a->entry[i].pos = (uint32_t)i;
        rc = aio__fut_lookup(loop, futs[i], &a->entry[i].idx);
    }
    if (rc < 0) { /* a bad handle (or no memory): nothing registered yet */
        a->done = true;
        aio__owned_finish(loop, fut, AIO_ECANCELLED, (aio_value){0});
        aio__fut_consume(loop, fut);
        ac_maybe_free(loop, a);
        return aio__error_handle(rc);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        ac_entry *e = &a->entry[i];
        if (loop->fut.slots[e->idx].state != AIO__FS_PENDING) {
            a->ready[a->rtail++] = e->pos; /* done already: first in line */
        } else if ((rc = aio__fut_add_node(loop, e->idx, ac_child_done, e)) == 0) {
            a->outstanding++;
        }
    }
    int64_t deadline;
    if (rc == 0 && aio__timeout_deadline(loop, timeout, &deadline)) {
        rc = aio__timer_arm(loop, deadline, ac_timeout, a, &a->timer);
        a->has_timer = rc == 0;
    }
    if (rc < 0) {
        a->done = true;
        detach(loop, a);
        aio__owned_finish(loop, fut, AIO_ECANCELLED, (aio_value){0});
        aio__fut_consume(loop, fut);
        ac_maybe_free(loop, a);
        return aio__error_handle(rc);
    }
    return aio__fut_handle(loop, fut);
}

aio_future aio_as_completed_next_on(aio_loop *loop, aio_future it) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, it, &idx);
    if (rc < 0)
        return aio__error_handle(rc);
    aio__fut *s = &loop->fut.slots[idx];
    if (s->state != AIO__FS_PENDING)
        return aio__error_handle(s->state == AIO__FS_RESULT ? -ENOENT : aio__fut_outcome(loop, idx, NULL));
    if (!(s->flags & AIO__FF_OWNED) || s->u.owner->ops != &ac_ops)
        return aio__error_handle(-EINVAL); /* not an as_completed iterator */
    as_completed *a = (as_completed *)s->u.owner;
    if (a->asked >= a->n)
        forget_given_up(loop, a);
    if (a->asked >= a->n)
        return aio__error_handle(-ENOENT);
    uint32_t x;
    if ((rc = aio__fut_alloc(loop, &x)) < 0)
        return aio__error_handle(rc);
    if (a->wtail == a->n) { /* skipped (cancelled) entries used the room: compact */
        size_t live = a->wtail - a->whead;
        memmove(a->waiting, a->waiting + a->whead, live * sizeof *a->waiting);
        a->whead = 0;
        a->wtail = live;
    }
    a->asked++;
    aio__fut_hold_new(loop, x); /* ours, until we complete or skip it */
    a->waiting[a->wtail++] = x;
    aio_future next = aio__fut_handle(loop, x);
    deliver(loop, a);
    ac_maybe_free(loop, a); /* the last delivery may have finished us */
    return next;
}
