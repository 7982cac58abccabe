/* aio_wait_for: one child, a deadline.
 *
 * wait_for never reports before its child has finished: on timeout it
 * cancels the child and waits (asyncio >= 3.12): the child's real outcome
 * wins over AIO_ETIMEDOUT when it completed anyway, and an outer
 * cancellation always ends the wait_for cancelled. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/cancel.h"
#include "core/loop.h"
#include "core/owner.h"
#include "core/timers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- wait_for ---- */

typedef struct wait_for {
    aio__owner owner;
    uint32_t fut, child, timer;
    bool has_timer, listening, done;
    bool timed_out;       /* we cancelled the child because of the timeout */
    bool outer_cancelled; /* our future was cancelled: always ends cancelled */
    const char *msg;
} wait_for;

static void wf_maybe_free(aio_loop *loop, wait_for *w) {
    if (w->done && !w->listening && !w->has_timer)
        aio__owner_free(loop, &w->owner);
}

static void wf_child_done(aio_loop *loop, aio_future f, void *arg) {
    wait_for *w = arg;
    (void)f;
    w->listening = false;
    if (w->has_timer) {
        aio__timer_cancel(loop, w->timer);
        w->has_timer = false;
    }
    aio_value v;
    int err = aio__fut_outcome(loop, w->child, &v);
    if (w->outer_cancelled) {
        err = AIO_ECANCELLED;
        v.p = (void *)(uintptr_t)w->msg;
    } else if (w->timed_out && err == AIO_ECANCELLED) {
        err = AIO_ETIMEDOUT; /* a real result or error would have won */
    }
    w->done = true;
    aio__owned_finish(loop, w->fut, err, v);
    wf_maybe_free(loop, w);
}

static void wf_timeout(aio_loop *loop, void *arg) {
    wait_for *w = arg;
    w->has_timer = false;
    w->timed_out = true;
    aio__fut_cancel_idx(loop, w->child, NULL); /* its completion finishes us */
}

static int wf_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    wait_for *w = (wait_for *)o;
    if (w->done || w->outer_cancelled)
        return w->done ? 0 : 1;
    w->outer_cancelled = true;
    w->msg = msg;
    if (w->has_timer) {
        aio__timer_cancel(loop, w->timer);
        w->has_timer = false;
    }
    aio__fut_cancel_idx(loop, w->child, msg);
    return 1;
}

/* For the task dumps (aio/debug.h): the child and the deadline. */
static void wf_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    wait_for *w = (wait_for *)o;
    (void)loop;
    snprintf(info->text, info->len, "wait_for%s",
             w->outer_cancelled ? ": cancelling the child"
             : w->timed_out     ? ": timed out, cancelling the child"
                                : "");
    if (w->has_timer)
        info->timer = w->timer;
    if (w->listening)
        info->child(info, w->child, wf_child_done, w);
}

static const aio__owner_ops wait_for_ops = {.cancel = wf_cancel, .describe = wf_describe};

aio_future aio_wait_for_on(aio_loop *loop, aio_future fut, double timeout) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    uint32_t child;
    if ((rc = aio__fut_lookup(loop, fut, &child)) < 0)
        return aio__error_handle(rc); /* a bad handle carries no reference */
    if (isnan(timeout)) {
        aio__abandon(loop, child, true); /* consumed on every path */
        return aio__error_handle(-EINVAL);
    }
    uint32_t me;
    wait_for *w = aio__owner_new(loop, sizeof *w, &wait_for_ops, &me);
    if (!w) {
        aio__abandon(loop, child, true);
        return aio__error_handle(-ENOMEM);
    }
    w->fut = me;
    w->child = child;
    if (loop->fut.slots[child].state != AIO__FS_PENDING) {
        /* Done already: its outcome, at once (asyncio returns it directly). */
        aio_value v;
        int err = aio__fut_outcome(loop, child, &v);
        w->done = true;
        aio__owned_finish(loop, me, err, v);
        aio__fut_consume(loop, child);
        wf_maybe_free(loop, w);
        return aio__fut_handle(loop, me);
    }
    rc = aio__fut_add_node(loop, child, wf_child_done, w);
    if (rc == 0) {
        w->listening = true;
        int64_t deadline;
        if (timeout <= 0) {      /* -infinity too */
            w->timed_out = true; /* a task that never started never runs */
            aio__fut_cancel_idx(loop, child, NULL);
        } else if (aio__timeout_deadline(loop, timeout, &deadline)) {
            rc = aio__timer_arm(loop, deadline, wf_timeout, w, &w->timer);
            w->has_timer = rc == 0;
        }
    }
    if (rc < 0) {
        if (w->listening)
            aio__fut_remove_node(loop, child, wf_child_done, w);
        w->listening = false;
        w->done = true;
        aio__owned_finish(loop, me, AIO_ECANCELLED, (aio_value){0});
        aio__fut_consume(loop, me);
        wf_maybe_free(loop, w);
        aio__abandon(loop, child, true);
        return aio__error_handle(rc);
    }
    aio__fut_consume(loop, child); /* the caller's reference is ours now */
    return aio__fut_handle(loop, me);
}
