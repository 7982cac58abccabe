/* asyncio.Event on a wait queue. set() wakes every waiter; a woken waiter
 * returns 1 even if the event was cleared before it resumed (asyncio: the
 * set counted). Nothing is reserved, so take and decline only count. */
#include "sync/sync.h"

static aio_event *of_taker(aio__taker *tk) { return AIO__CONTAINER(tk, aio_event, aio__tk); }

static int event_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)loop;
    (void)idx;
    of_taker(tk)->aio__woken--;
    out->i = 1;
    return 0;
}

static void event_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)loop;
    (void)idx;
    of_taker(tk)->aio__woken--;
}

static int event_bind(aio_loop *loop, aio_event *ev) {
    int rc = aio__sync_bind(loop, &ev->aio__b);
    if (rc == 1) {
        static const aio__waitq_ops event_q_ops = {.what = "event"};
        ev->aio__q.ops = &event_q_ops;
        ev->aio__tk.take = event_take;
        ev->aio__tk.decline = event_decline;
        ev->aio__tk.cancelled = NULL;
        rc = 0;
    }
    return rc;
}

int aio_event_init(aio_event *ev) {
    if (!ev)
        return -EINVAL;
    *ev = (aio_event)AIO_EVENT_INIT;
    return 0;
}

aio_future aio_event_wait(aio_loop *loop, aio_event *ev) {
    if (!ev)
        return aio__error_handle(-EINVAL);
    int rc = event_bind(loop, ev);
    if (rc < 0)
        return aio__error_handle(rc);
    uint32_t idx = 0;
    if (ev->aio__set) {
        rc = aio__waitq_new_woken(loop, &ev->aio__tk, AIO_NONE, &idx);
        if (rc == 0)
            ev->aio__woken++;
    } else {
        rc = aio__waitq_push(loop, &ev->aio__q, &idx);
    }
    return aio__sync_future(loop, rc, idx);
}

int aio_event_set(aio_loop *loop, aio_event *ev) {
    if (!ev)
        return -EINVAL;
    int rc = event_bind(loop, ev);
    if (rc < 0)
        return rc;
    if (!ev->aio__set) {
        ev->aio__set = 1;
        ev->aio__woken += ev->aio__q.count; /* before: a waiter nobody holds is declined in the wake */
        aio__waitq_wake_all(loop, &ev->aio__q, &ev->aio__tk);
    }
    return 0;
}

int aio_event_clear(aio_event *ev) {
    if (!ev)
        return -EINVAL;
    ev->aio__set = 0;
    return 0;
}

int aio_event_is_set(const aio_event *ev) { return ev ? ev->aio__set : -EINVAL; }
