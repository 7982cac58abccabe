/* aio_wait (asyncio.wait) and aio_wait_partition.
 *
 * The state keeps each distinct child once (duplicates count once, as
 * asyncio's set does), listens to the pending ones and to an optional
 * timer, and completes its future (with no result: aio_wait_partition
 * counts at resume) once the condition holds. It never cancels or consumes
 * a child. */
#include "core/callbacks.h"
#include "core/compiler.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/owner.h"
#include "core/timers.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

typedef aio__child wait_entry;

typedef struct waiter {
    aio__owner owner;
    uint32_t fut;
    uint32_t ndone;       /* distinct children done (seen by us) */
    uint32_t outstanding; /* callbacks registered, not yet run or removed */
    uint32_t timer;
    bool has_timer, done;
    aio_return_when when;
    size_t n; /* distinct children */
    wait_entry entry[];
} waiter;

static void wait_child_done(aio_loop *loop, aio_future f, void *arg);

static waiter *waiter_of(wait_entry *e) { return AIO__CHILD_OWNER(e, waiter, entry); }

static void maybe_free(aio_loop *loop, waiter *w) {
    if (w->done && w->outstanding == 0 && !w->has_timer)
        aio__owner_free(loop, &w->owner);
}

static void finish(aio_loop *loop, waiter *w, int err, const char *msg) {
    w->done = true;
    aio__children_detach(loop, w->entry, w->n, wait_child_done, &w->outstanding);
    if (w->has_timer) {
        aio__timer_cancel(loop, w->timer);
        w->has_timer = false;
    }
    /* No count in the result: one taken now can be stale when the waiter
     * resumes (children completing in this iteration are done by then), and
     * would disagree with aio_wait_partition there. */
    aio_value v = {0};
    if (err == AIO_ECANCELLED)
        v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, w->fut, err, v);
}

static bool failed(const aio_loop *loop, uint32_t idx) {
    return loop->fut.slots[idx].state == AIO__FS_ERROR; /* a cancelled child is not a failure */
}

static bool satisfied(const aio_loop *loop, const waiter *w, uint32_t just_done) {
    if (w->ndone == w->n)
        return true;
    switch (w->when) {
    case AIO_FIRST_COMPLETED:
        return w->ndone > 0;
    case AIO_FIRST_EXCEPTION:
        return just_done != AIO__NIL && failed(loop, just_done);
    default:
        return false;
    }
}

static void wait_child_done(aio_loop *loop, aio_future f, void *arg) {
    wait_entry *e = arg;
    waiter *w = waiter_of(e);
    (void)f;
    w->outstanding--;
    if (!w->done) {
        w->ndone++;
        if (satisfied(loop, w, e->idx))
            finish(loop, w, 0, NULL);
    }
    maybe_free(loop, w);
}

static void wait_timeout(aio_loop *loop, void *arg) {
    waiter *w = arg;
    w->has_timer = false;
    if (!w->done)
        finish(loop, w, 0, NULL); /* a timeout is not an error for wait */
    maybe_free(loop, w);
}

/* Cancelling the wait stops waiting; the children are left alone. */
static int wait_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    waiter *w = (waiter *)o;
    if (w->done)
        return 0;
    finish(loop, w, AIO_ECANCELLED, msg);
    maybe_free(loop, w);
    return 1;
}

/* For the task dumps (aio/debug.h): the condition, the count, the children
 * listened to and the timeout. */
static void wait_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    waiter *w = (waiter *)o;
    (void)loop;
    static const char *const when_names[] = {"ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"};
    const char *when = (unsigned)w->when < 3 ? when_names[w->when] : "?";
    snprintf(info->text, info->len, "wait (%s): %u of %zu done", when, w->ndone, w->n);
    if (w->has_timer)
        info->timer = w->timer;
    for (size_t i = 0; i < w->n && !w->done; i++)
        info->child(info, w->entry[i].idx, wait_child_done, &w->entry[i]);
}

static const aio__owner_ops wait_ops = {.cancel = wait_cancel, .describe = wait_describe};

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

aio_future aio_wait_on(aio_loop *loop, const aio_future *futs, size_t n, double timeout,
                       aio_return_when when) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (n == 0 || !futs || isnan(timeout) || n > UINT32_MAX / 2 ||
        (when != AIO_ALL_COMPLETED && when != AIO_FIRST_COMPLETED && when != AIO_FIRST_EXCEPTION))
        return aio__error_handle(-EINVAL);
    if (n > (SIZE_MAX - sizeof(waiter)) / sizeof(wait_entry))
        return aio__error_handle(-ENOMEM);
    /* Distinct slots, sorted (the order of entries does not matter to wait). */
    uint32_t *idx = aio__malloc(n * sizeof *idx);
    if (!idx)
        return aio__error_handle(-ENOMEM);
    if ((rc = aio__fut_lookup_all(loop, futs, n, idx)) < 0) {
        aio__free(idx);
        return aio__error_handle(rc);
    }
    qsort(idx, n, sizeof *idx, cmp_u32);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || idx[i] != idx[i - 1])
            idx[distinct++] = idx[i];

    uint32_t fut;
    waiter *w = aio__owner_new(loop, sizeof(waiter) + distinct * sizeof(wait_entry), &wait_ops, &fut);
    if (!w) {
        aio__free(idx);
        return aio__error_handle(-ENOMEM);
    }
    w->fut = fut;
    w->n = distinct;
    w->when = when;
    bool any_failed = false;
    for (size_t i = 0; i < distinct; i++) {
        w->entry[i].idx = idx[i];
        w->entry[i].pos = (uint32_t)i;
        if (loop->fut.slots[idx[i]].state != AIO__FS_PENDING) {
            w->ndone++;
            any_failed |= failed(loop, idx[i]);
        }
    }
    aio__free(idx);
    /* Already satisfied: done now, without an iteration (asyncio returns at once). */
    if (w->ndone == w->n || (when == AIO_FIRST_COMPLETED && w->ndone > 0) ||
        (when == AIO_FIRST_EXCEPTION && any_failed)) {
        finish(loop, w, 0, NULL);
        maybe_free(loop, w);
        return aio__fut_handle(loop, fut);
    }
    for (size_t i = 0; i < distinct && rc == 0; i++) {
        if (loop->fut.slots[w->entry[i].idx].state != AIO__FS_PENDING)
            continue;
        rc = aio__fut_add_node(loop, w->entry[i].idx, wait_child_done, &w->entry[i]);
        if (rc == 0)
            w->outstanding++;
    }
    int64_t deadline;
    if (rc == 0 && aio__timeout_deadline(loop, timeout, &deadline)) {
        rc = aio__timer_arm(loop, deadline, wait_timeout, w, &w->timer);
        w->has_timer = rc == 0;
    }
    if (rc < 0) {
        finish(loop, w, AIO_ECANCELLED, NULL);
        aio__fut_consume(loop, fut);
        maybe_free(loop, w);
        return aio__error_handle(rc);
    }
    return aio__fut_handle(loop, fut);
}

/* ---- aio_wait_partition: a stable partition in place, so that it needs
 * no memory and cannot fail once its arguments are good ---- */

static void reverse(aio_future *a, size_t n) {
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        aio_future x = a[i];
        a[i] = a[j - 1];
        a[j - 1] = x;
    }
}

/* Swap the adjacent blocks a[0..n1) and a[n1..n1+n2), keeping each one's
 * order. */
static void rotate(aio_future *a, size_t n1, size_t n2) {
    if (n1 == 0 || n2 == 0)
        return;
    reverse(a, n1);
    reverse(a + n1, n2);
    reverse(a, n1 + n2);
}

/* Done ones (and bad handles) first, each side in its order; returns how
 * many are on the done side. Halves, then one rotation: O(n log n) time,
 * O(log n) depth. The leaves are visited in order, so *first_err is the
 * first bad handle's code. */
static size_t partition(aio_loop *loop, aio_future *a, size_t n, int *first_err) {
    if (n == 1) {
        int d = aio_future_done(loop, a[0]);
        if (d < 0 && *first_err == 0)
            *first_err = d;
        return d != 0; /* bad handles sort with the done ones */
    }
    size_t h = n / 2;
    size_t left = partition(loop, a, h, first_err);
    size_t right = partition(loop, a + h, n - h, first_err);
    rotate(a + left, h - left, right);
    return left + right;
}

int aio_wait_partition(aio_loop *loop, aio_future *futs, size_t n) {
    if (!loop || (n > 0 && !futs))
        return -EINVAL;
    int first_err = 0;
    size_t ndone = n > 0 ? partition(loop, futs, n, &first_err) : 0;
    return first_err < 0 ? first_err : (int)(ndone > INT32_MAX ? INT32_MAX : ndone);
}
