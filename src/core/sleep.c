/* asyncio.sleep: a future completed by a timer. */
#include "core/callbacks.h"
#include "core/compiler.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/timers.h"

#include <math.h>

/* ---- sleep --------------------------------------------------------------------- */

/* A sleep's timer fired (its slot is already free). */
static void sleep_fire(aio_loop *loop, uint32_t idx, aio_value result) {
    aio__fut *s = &loop->fut.slots[idx];
    if (s->state == AIO__FS_PENDING) {
        aio__fut_clear_timer(loop, idx); /* the timer is gone: nothing to cancel */
        aio__fut_finish(loop, idx, AIO__FS_RESULT, result);
    }
    aio__fut_drop(loop, idx); /* the timer's hold */
}

aio_future aio_sleep_on(aio_loop *loop, double delay, aio_value result) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (isnan(delay) || isinf(delay))
        return aio__error_handle(-EINVAL);
    uint32_t idx;
    rc = aio__fut_alloc(loop, &idx);
    if (rc < 0)
        return aio__error_handle(rc);
    if (delay <= 0) {
        /* asyncio's sleep(0): already done, but awaiting it yields once. */
        aio__fut_make_yield(loop, idx, result);
        return aio__fut_handle(loop, idx);
    }
    uint32_t timer;
    loop->tm.fire_result = sleep_fire;
    rc = aio__timer_arm_result(loop, aio__deadline(loop, delay), idx, result, &timer);
    if (rc < 0) {
        aio__fut_consume(loop, idx);
        return aio__error_handle(rc);
    }
    aio__fut_set_timer(loop, idx, timer);
    aio__fut_hold_new(loop, idx); /* the timer's */
    return aio__fut_handle(loop, idx);
}
