/* Tasks: a future slot plus one allocation holding the task header and a
 * copy of the coroutine's frame.
 *
 * A task is in exactly one of these places at a time, which is what keeps
 * its memory safe without reference counting:
 *   - the ready queue (to start, or after AIO_YIELD), or
 *   - one future's callback list (awaiting it; aio__u.w.awaiting says which), or
 *   - running (loop->task.current).
 * It is freed when its coroutine finishes, from aio__task_run, never from inside
 * the coroutine.
 *
 * Cancellation (asyncio's Task.cancel): the request increments `cancelling`
 * and cancels the awaited future; if there is none to cancel (not started,
 * queued, running, or its future is already done) aio__must_cancel makes
 * the next resume see AIO_ECANCELLED instead. When the coroutine finishes,
 * cancelling > 0 means the task ends cancelled, whatever it returned: a
 * coroutine opts out with aio_task_uncancel(). */
#include "core/callbacks.h"
#include "core/compiler.h"
#include "core/coro_fns.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/cancel.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/ready.h"
#include "core/task.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CANCELLING_MAX 31u /* aio__cancelling is 5 bits */

_Static_assert(sizeof(struct aio_task) == 24, "a task header is 24 bytes");
_Static_assert(AIO__FRAME_OFFSET == AIO__TM_MIN && AIO__TM_MIN % 16 == 8,
               "task_mem.c's size classes start with a bare header, 8 past a 16-byte multiple");

/* Copy a frame in: the usual small sizes without a call into libc. */
static inline void frame_copy(void *dst, const void *src, size_t n) {
    if (n == 8)
        memcpy(dst, src, 8);
    else if (n == 16)
        memcpy(dst, src, 16);
    else if (n)
        memcpy(dst, src, n);
}

aio_loop *aio_task_loop(const aio_task *t) { return t ? aio__running_loop() : NULL; }

/* A task's pending cancel message lives in the loop's per-slot extras, not
 * in the task header (it is rare, and the header is per task). Out of
 * memory, the message is dropped; the cancellation itself never is. */
static void set_cancel_msg(aio_loop *loop, const aio_task *t, const char *msg) {
    struct aio__extra *x = msg ? aio__extras(loop) : loop->fut.extras;
    if (x)
        x[t->aio__slot].cancel_msg = msg;
}

const char *aio__task_cancel_msg(const aio_loop *loop, const aio_task *t) {
    return loop->fut.extras ? loop->fut.extras[t->aio__slot].cancel_msg : NULL;
}

aio_future aio_task_handle(const aio_task *t) {
    aio_loop *loop = aio__running_loop();
    /* Only inside the task's coroutine: its loop runs here, and its slot
     * names it. */
    if (!t || !loop || t->aio__slot >= loop->fut.n ||
        loop->fut.slots[t->aio__slot].state != AIO__FS_PENDING ||
        !(loop->fut.slots[t->aio__slot].flags & AIO__FF_TASK) || loop->fut.slots[t->aio__slot].u.task != t)
        return aio__error_handle(-EINVAL);
    return aio__fut_handle(loop, t->aio__slot);
}

int aio_task_cancelling(const aio_task *t) { return t ? t->aio__cancelling : -EINVAL; }

int aio__task_uncancel(aio_task *t) {
    if (t->aio__cancelling > 0 && --t->aio__cancelling == 0)
        t->aio__must_cancel = 0; /* nothing is requested any more: nothing to deliver */
    return t->aio__cancelling;
}

int aio_task_uncancel(aio_task *t) { return t ? aio__task_uncancel(t) : -EINVAL; }

void aio__task_cancel_again(aio_loop *loop, aio_task *t) {
    if (t->aio__cancelling > 0)
        t->aio__cancelling--; /* the request below counts it again */
    aio__task_cancel_idx(loop, t->aio__slot, NULL);
}

int aio_task_cancel_handled(aio_task *t) {
    aio_loop *loop = aio__running_loop();
    if (!t || !loop || loop->task.current != t || loop->pub.err != AIO_ECANCELLED)
        return 0; /* no cancel at the last await (or not the running task) */
    /* Every request so far was delivered at this await (a cancel that
     * arrives while a task is queued or suspended lands at its next
     * resume), except one made since, which is still pending. */
    if (t->aio__cancelling > (unsigned)t->aio__must_cancel)
        t->aio__cancelling = t->aio__must_cancel;
    return 1;
}

/* The coroutine finished (or a task cancelled before it started): complete
 * the task's future, free the task, drop the loop's hold on the slot. */
void aio__task_complete(aio_loop *loop, aio_task *t) {
    /* Scopes still open (a group's children to cancel and await, a
     * timeout): their module finishes them first and completes the task
     * afterwards. One bit in the header: nothing for tasks without. */
    if (AIO__UNLIKELY(t->aio__scoped) && loop->task.scope_end(loop, t))
        return;
    uint32_t idx = t->aio__slot;
    int err = loop->pub.err;
    aio_value v = t->aio__u.v;
    uint8_t state = AIO__FS_RESULT;
    if (err == AIO_ECANCELLED || (err == 0 && t->aio__cancelling > 0)) {
        state = AIO__FS_CANCELLED;
        v.p = (void *)(uintptr_t)aio__task_cancel_msg(loop, t);
    } else if (err < 0) {
        state = AIO__FS_ERROR;
        v.i = err;
    }
    loop->task.count--;
    aio__fut_finish(loop, idx, state, v); /* takes the callback list out of the task */
    aio__task_free(loop, t);
    aio__fut_drop(loop, idx); /* the loop's hold: fire-and-forget tasks go now */
}

bool aio__task_take_cancel(aio_loop *loop, aio_task *t) {
    t->aio__must_cancel = 0;
    loop->pub.err = AIO_ECANCELLED;
    t->aio__u.v.p = (void *)(uintptr_t)aio__task_cancel_msg(loop, t);
    if (t->aio__lc != 0)
        return false;
    aio__task_complete(loop, t); /* never started: its body never runs */
    return true;
}

/* Ready-queue entry: start (or resume after AIO_YIELD) a batch of tasks, in
 * queue order. Tasks queued one after another share one entry, linked
 * through aio__u.w.next (free while a task is queued: it has no result to
 * keep): a spawn of a million tasks, or a million tasks yielding, costs no
 * ready-queue memory per task, and the order relative to other entries is
 * unchanged because a batch only grows while its entry is the last one
 * queued. */
void aio__task_start_batch(aio_loop *loop, void *arg) {
    aio_task *t = arg;
    while (t) {
        uint32_t next = t->aio__u.w.next; /* before it runs: awaiting reuses the link */
        t->aio__u.v.u = 0;                /* no result: a new task, or AIO_YIELD's none */
        loop->pub.err = 0;
        aio__task_run(loop, t);
        t = next == AIO__NIL ? NULL : loop->fut.slots[next].u.task;
    }
}

aio_future aio_create_task_sized(aio_loop *loop, aio_coro_fn fn, const void *frame, size_t frame_size) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (!fn || (!frame && frame_size))
        return aio__error_handle(-EINVAL);
    /* No object is larger than PTRDIFF_MAX; the margin covers the header
     * and task_mem.c's padding (up to 16), so the sum cannot wrap. */
    if (frame_size > (size_t)PTRDIFF_MAX - AIO__FRAME_OFFSET - 16)
        return aio__error_handle(-ENOMEM);
    uint32_t fn_idx;
    if ((rc = aio__coro_fn_index(loop, fn, &fn_idx)) < 0)
        return aio__error_handle(rc);
    aio_task *t = aio__task_alloc(loop, AIO__FRAME_OFFSET + frame_size); /* header zeroed */
    if (!t)
        return aio__error_handle(-ENOMEM);
    uint32_t idx;
    if ((rc = aio__fut_alloc(loop, &idx)) < 0) {
        aio__task_free(loop, t);
        return aio__error_handle(rc);
    }
    t->aio__slot = idx & AIO__IDX_MASK;
    if ((rc = aio__task_queue_start(loop, t)) < 0) {
        aio__fut_consume(loop, idx);
        aio__task_free(loop, t);
        return aio__error_handle(rc);
    }
    frame_copy(aio__task_frame(t), frame, frame_size);
    t->aio__fn = fn_idx & 0x7fffffu; /* < AIO__FNS_MAX */
    t->aio__cbs = AIO__NIL;
    aio__fut_make_task(loop, idx, t);
    aio__fut_hold_new(loop, idx); /* the loop's, until the task finishes */
    loop->task.count++;
    return aio__fut_handle(loop, idx);
}

int aio__task_cancel_idx(aio_loop *loop, uint32_t idx, const char *msg) {
    aio_task *t = loop->fut.slots[idx].u.task;
    if (t->aio__cancelling < CANCELLING_MAX) /* beyond, nobody undoes them all anyway */
        t->aio__cancelling++;
    set_cancel_msg(loop, t, msg);
    if (t->aio__is_awaiting && t->aio__cancel_sent)
        return 1; /* asked already: a second request only counts (keeps shared
                     graphs of tasks from being walked again and again) */
    if (t->aio__is_awaiting && aio__fut_cancel_idx(loop, t->aio__u.w.awaiting, msg) == 1) {
        t->aio__cancel_sent = 1;
        return 1; /* the wakeup brings AIO_ECANCELLED from the future itself */
    }
    t->aio__must_cancel = 1;
    return 1;
}

/* Look up a handle that must be a task's. */
static int task_lookup(aio_loop *loop, aio_future task, uint32_t *idx) {
    int rc = aio__fut_lookup(loop, task, idx);
    if (rc == 0 && !(loop->fut.slots[*idx].flags & AIO__FF_TASK))
        rc = AIO_ENOTTASK;
    return rc;
}

int aio_task_cancel(aio_loop *loop, aio_future task, const char *msg) {
    uint32_t idx;
    int rc = task_lookup(loop, task, &idx);
    return rc < 0 ? rc : aio__fut_cancel_checked(loop, idx, msg);
}

/* ---- introspection ---- */

int aio_future_is_task(aio_loop *loop, aio_future f) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    return rc < 0 ? rc : (loop->fut.slots[idx].flags & AIO__FF_TASK) != 0;
}

aio_future aio_current_task(aio_loop *loop) {
    if (!loop || !loop->task.current)
        return (aio_future){0};
    return aio__fut_handle(loop, loop->task.current->aio__slot);
}

size_t aio_loop_pending_tasks(const aio_loop *loop) { return loop ? loop->task.count : 0; }

int aio_task_set_name(aio_loop *loop, aio_future task, const char *name) {
    uint32_t idx;
    int rc = task_lookup(loop, task, &idx);
    if (rc < 0)
        return rc;
    if (!name)
        return -EINVAL;
    struct aio__extra *x = aio__extras(loop);
    char *copy = x ? aio__strdup(name) : NULL;
    if (!copy)
        return -ENOMEM;
    aio__free(x[idx].name);
    x[idx].name = copy;
    return 0;
}

const char *aio_task_get_name(aio_loop *loop, aio_future task) {
    uint32_t idx;
    if (aio__fut_lookup(loop, task, &idx) < 0 || !loop->fut.extras)
        return NULL;
    return loop->fut.extras[idx].name;
}

void aio__task_destroy(aio_loop *loop, aio_task *t) { aio__task_free(loop, t); }

void aio__cancel_all_tasks(aio_loop *loop) {
    for (uint32_t i = 0; i < loop->fut.n; i++)
        if (loop->fut.slots[i].state == AIO__FS_PENDING && (loop->fut.slots[i].flags & AIO__FF_TASK))
            aio__task_cancel_idx(loop, i, NULL);
}

static const aio__task_ops task_ops = {aio__task_cancel_idx, aio__task_destroy};

void aio__tasks_init(aio_loop *loop) { aio__fut_set_task_ops(loop, &task_ops); }
