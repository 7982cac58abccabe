/* Scheduling callbacks: asyncio's call_soon, call_later, call_at and
 * Handle.cancel. */
#include "core/handles.h"
#include "core/loop.h"
#include "core/ready.h"
#include "core/timers.h"

#include <math.h>

int aio_call_soon(aio_loop *loop, aio_callback fn, void *arg, aio_handle *out) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!fn)
        return -EINVAL;
    uint64_t seq;
    rc = aio__ready_push(loop, fn, arg, &seq);
    if (rc == 0 && out)
        out->id = ((uint64_t)loop->tag << AIO__TAG_SHIFT) | (seq & AIO__SEQ_MASK);
    return rc;
}

static int call_at_ns(aio_loop *loop, int64_t when, aio_callback fn, void *arg, aio_handle *out) {
    uint32_t slot;
    int rc = aio__timer_arm(loop, when, fn, arg, out ? &slot : NULL); /* no handle: no slot */
    if (rc == 0 && out)
        out->id = aio__timer_handle_id(loop, slot);
    return rc;
}

int aio_call_later(aio_loop *loop, double delay, aio_callback fn, void *arg, aio_handle *out) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!fn || isnan(delay) || isinf(delay))
        return -EINVAL;
    /* Negative delays keep their order (asyncio: call_later(-1) fires after
     * call_later(-2)); the deadline is simply in the past. */
    return call_at_ns(loop, aio__deadline(loop, delay), fn, arg, out);
}

int aio_call_at(aio_loop *loop, double when, aio_callback fn, void *arg, aio_handle *out) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!fn || isnan(when) || isinf(when))
        return -EINVAL;
    return call_at_ns(loop, aio__seconds_to_ns(when), fn, arg, out);
}

int aio_handle_cancel(aio_loop *loop, aio_handle h) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (h.id == 0)
        return AIO_ENULL;
    if ((uint16_t)(h.id >> AIO__TAG_SHIFT) != loop->tag)
        return AIO_EFOREIGN;
    if (h.id & AIO__KIND_TIMER)
        return aio__timer_cancel_handle(loop, h.id);
    return aio__ready_cancel(loop, h.id & AIO__SEQ_MASK);
}
