/* aio_shield: passes the child's outcome through; cancelling the shield's
 * future cancels only that future, never the child. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/owner.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct shield {
    aio__owner owner;
    uint32_t fut, child;
    bool listening, done;
} shield;

static void shield_maybe_free(aio_loop *loop, shield *s) {
    if (s->done && !s->listening)
        aio__owner_free(loop, &s->owner);
}

static void shield_child_done(aio_loop *loop, aio_future f, void *arg) {
    shield *s = arg;
    (void)f;
    s->listening = false;
    if (!s->done) {
        aio_value v;
        int err = aio__fut_outcome(loop, s->child, &v);
        s->done = true;
        aio__owned_finish(loop, s->fut, err, v);
    }
    shield_maybe_free(loop, s);
}

/* Cancelling the shield cancels only the shield: the child runs on, and if
 * it later fails unobserved, its own "never retrieved" report says so. */
static int shield_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    shield *s = (shield *)o;
    if (s->done)
        return 0;
    s->done = true;
    if (s->listening && aio__fut_remove_node(loop, s->child, shield_child_done, s) > 0)
        s->listening = false;
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, s->fut, AIO_ECANCELLED, v);
    shield_maybe_free(loop, s);
    return 1;
}

/* For the task dumps (aio/debug.h): the child it passes through. */
static void shield_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    shield *s = (shield *)o;
    (void)loop;
    snprintf(info->text, info->len, "shield");
    if (s->listening)
        info->child(info, s->child, shield_child_done, s);
}

static const aio__owner_ops shield_ops = {.cancel = shield_cancel, .describe = shield_describe};

aio_future aio_shield_on(aio_loop *loop, aio_future fut) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    uint32_t child;
    if ((rc = aio__fut_lookup(loop, fut, &child)) < 0)
        return aio__error_handle(rc);
    uint32_t me;
    shield *s = aio__owner_new(loop, sizeof *s, &shield_ops, &me);
    if (!s) {
        /* Consumed on every path, but never cancelled: the child it was to
         * protect runs on, fire-and-forget. */
        aio__abandon(loop, child, false);
        return aio__error_handle(-ENOMEM);
    }
    s->fut = me;
    s->child = child;
    if (loop->fut.slots[child].state != AIO__FS_PENDING) {
        aio_value v;
        int err = aio__fut_outcome(loop, child, &v);
        s->done = true;
        aio__owned_finish(loop, me, err, v);
    } else if ((rc = aio__fut_add_node(loop, child, shield_child_done, s)) < 0) {
        s->done = true;
        aio__owned_finish(loop, me, AIO_ECANCELLED, (aio_value){0});
        aio__fut_consume(loop, me);
        shield_maybe_free(loop, s);
        aio__abandon(loop, child, false);
        return aio__error_handle(rc);
    } else {
        s->listening = true;
    }
    aio__fut_consume(loop, child);
    shield_maybe_free(loop, s);
    return aio__fut_handle(loop, me);
}
