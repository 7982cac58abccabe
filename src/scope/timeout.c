/* Timeout scopes (asyncio.timeout / timeout_at, 3.12+ semantics): the
 * rules are in aio/group.h.
 *
 * A scope is a record in its task's frame (scope.h) with at most one
 * pending expiry: a cancellable timer for a deadline ahead, or a
 * ready-queue entry for one already past (asyncio's call_soon: it must run
 * before the task resumes from the await it is about to make, even a
 * sleep(0), which a timer due now would not). The expiry cancels the task
 * (one more request on its cancelling count); the END withdraws that one
 * request and reports AIO_ETIMEDOUT only if the body was cancelled and no
 * other request is left above the count noted at entry: so an outer
 * cancel, or an outer scope's expiry, stays a cancel. */
#include "core/futures.h"
#include "core/cancel.h"
#include "core/loop.h"
#include "core/ready.h"
#include "core/task.h"
#include "core/timers.h"
#include "scope/scope.h"

#include <math.h>
#include <string.h>

/* aio__flags */
enum {
    T_TIMER = 1,   /* aio__timer is armed */
    T_SOON = 2,    /* aio__seq is queued */
    T_EXPIRED = 4, /* DONE after an expiry */
};

static int check(const aio_loop *loop, const aio_timeout *to) {
    if (!loop || !to)
        return -EINVAL;
    switch (to->aio__s.aio__state) {
    case AIO__SC_NEW:
        return -EINVAL; /* "has not been entered" */
    case AIO__SC_FAILED:
        return to->aio__s.aio__err;
    case AIO__SC_DONE:
        return AIO_EDONE; /* "finished" / "expired" */
    default:
        break;
    }
    return to->aio__s.aio__tag == loop->tag ? 0 : AIO_EFOREIGN;
}

static void expire(aio_loop *loop, aio_timeout *to) {
    to->aio__s.aio__flags &= (uint8_t) ~(T_TIMER | T_SOON);
    to->aio__s.aio__state = AIO__SC_EXPIRING;
    aio__fut_cancel_idx(loop, to->aio__s.aio__task, NULL); /* the task is pending: its scope is open */
}

static void fire(aio_loop *loop, void *arg) { expire(loop, arg); }

static void disarm(aio_loop *loop, aio_timeout *to) {
    if (to->aio__s.aio__flags & T_TIMER)
        aio__timer_cancel(loop, to->aio__timer);
    if (to->aio__s.aio__flags & T_SOON)
        aio__ready_cancel(loop, to->aio__seq);
    to->aio__s.aio__flags &= (uint8_t) ~(T_TIMER | T_SOON);
}

/* Set the deadline: `when` (loop seconds, INFINITY: none) for when(), and
 * `ns`, when it is due. 0 or -ENOMEM (then no deadline). */
static int arm(aio_loop *loop, aio_timeout *to, double when, int64_t ns) {
    to->aio__when = when;
    if (when == INFINITY)
        return 0;
    int rc;
    if (ns <= loop->now_ns) {
        rc = aio__ready_push(loop, fire, to, &to->aio__seq);
        if (rc == 0)
            to->aio__s.aio__flags |= T_SOON;
    } else {
        rc = aio__timer_arm(loop, ns, fire, to, &to->aio__timer);
        if (rc == 0)
            to->aio__s.aio__flags |= T_TIMER;
    }
    return rc;
}

static int enter(aio_task *t, aio_timeout *to, double when, int64_t ns, aio_loop *loop) {
    uint8_t state = to->aio__s.aio__state;
    if (state == AIO__SC_OPEN || state == AIO__SC_EXPIRING)
        return -EALREADY; /* "has already been entered" */
    memset(to, 0, sizeof *to);
    int rc = aio__scope_open(loop, t, &to->aio__s, AIO__SCOPE_TIMEOUT);
    if (rc == 0 && (rc = arm(loop, to, when, ns)) < 0)
        aio__scope_unlink(loop, &to->aio__s);
    if (rc < 0) {
        to->aio__s.aio__state = AIO__SC_FAILED;
        to->aio__s.aio__err = rc;
        return rc;
    }
    loop->pub.err = 0; /* the body starts with no error: what the END reads is the body's */
    return 0;
}

/* An entry refused for a bad argument: the scope is not open. */
static int refuse(aio_timeout *to, int rc) {
    uint8_t state = to->aio__s.aio__state;
    if (state != AIO__SC_OPEN && state != AIO__SC_EXPIRING) {
        to->aio__s.aio__state = AIO__SC_FAILED;
        to->aio__s.aio__err = rc;
    }
    return rc;
}

int aio_timeout_enter(aio_task *t, aio_timeout *to, double delay) {
    aio_loop *loop;
    if (!to)
        return -EINVAL;
    if (!aio__scope_running_task(t, &loop))
        return -EINVAL; /* "should be used inside a task": to stays as it was */
    if (isnan(delay))
        return refuse(to, -EINVAL);
    if (delay == INFINITY)
        return enter(t, to, INFINITY, 0, loop);
    double when = aio_loop_time(loop) + delay;
    int64_t ns = delay > 0 ? loop->now_ns + aio__delay_ns(delay) : loop->now_ns;
    return enter(t, to, when, ns, loop);
}

int aio_timeout_enter_at(aio_task *t, aio_timeout *to, double when) {
    aio_loop *loop;
    if (!to)
        return -EINVAL;
    if (!aio__scope_running_task(t, &loop))
        return -EINVAL;
    if (isnan(when))
        return refuse(to, -EINVAL);
    return enter(t, to, when, when == INFINITY ? 0 : aio__seconds_to_ns(when), loop);
}

int aio_timeout_reschedule(aio_loop *loop, aio_timeout *to, double when) {
    int rc = check(loop, to);
    if (rc < 0)
        return rc;
    if (isnan(when))
        return -EINVAL;
    if (to->aio__s.aio__state == AIO__SC_EXPIRING)
        return AIO_EDONE; /* "Cannot change state of expiring Timeout" */
    disarm(loop, to);
    return arm(loop, to, when, when == INFINITY ? 0 : aio__seconds_to_ns(when));
}

double aio_timeout_when(const aio_timeout *to) {
    if (!to || to->aio__s.aio__state == AIO__SC_NEW || to->aio__s.aio__state == AIO__SC_FAILED)
        return NAN;
    return to->aio__when;
}

int aio_timeout_expired(const aio_timeout *to) {
    if (!to)
        return 0;
    return to->aio__s.aio__state == AIO__SC_EXPIRING ||
           (to->aio__s.aio__state == AIO__SC_DONE && (to->aio__s.aio__flags & T_EXPIRED));
}

void aio__timeout_close(aio_loop *loop, aio_task *t, aio_timeout *to, int *err) {
    disarm(loop, to);
    aio__scope_unlink(loop, &to->aio__s);
    if (to->aio__s.aio__state == AIO__SC_EXPIRING) {
        to->aio__s.aio__state = AIO__SC_DONE;
        to->aio__s.aio__flags = T_EXPIRED;
        /* Ours withdrawn; only if nothing else asked is the cancellation
         * the body saw ours to turn into a timeout. */
        if (aio__task_uncancel(t) <= to->aio__s.aio__cancelling && *err == AIO_ECANCELLED)
            *err = AIO_ETIMEDOUT;
    } else {
        to->aio__s.aio__state = AIO__SC_DONE;
        to->aio__s.aio__flags = 0;
    }
}

void aio__timeout_end(aio_task *t, aio_timeout *to) {
    aio_loop *loop;
    aio_task *me = aio__scope_running_task(t, &loop);
    if (!loop)
        return;
    int rc = check(loop, to);
    if (rc == 0 && (!me || to->aio__s.aio__task != me->aio__slot))
        rc = -EINVAL; /* only the task that entered it ends it */
    if (rc < 0) {
        loop->pub.err = rc;
        return;
    }
    int err = loop->pub.err;
    aio__timeout_close(loop, t, to, &err);
    loop->pub.err = err;
}
