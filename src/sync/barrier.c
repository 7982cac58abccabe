/* asyncio.Barrier on two wait queues.
 *
 * Filling: arrivals queue in `fill`; the one that makes `parties` trips the
 * barrier: every waiter is woken with its arrival index (in its data) and
 * the barrier drains until all of them (the tripper included) have resumed
 * (`passing`). Arrivals while it drains or resets queue in `block` and are
 * admitted, in order, to the next cycle when it fills again. reset() and
 * abort wake the filling waiters to fail with AIO_EBROKEN (`breaking`);
 * a reset barrier fills again once they have all left, an aborted one stays
 * broken until reset. A waiter cancelled while queued simply leaves it: the
 * queue's count is n_waiting. */
#include "sync/sync.h"

enum { FILLING, DRAINING, RESETTING, BROKEN };

static aio_barrier *of_pass(aio__taker *tk) { return AIO__CONTAINER(tk, aio_barrier, aio__tk_pass); }
static aio_barrier *of_broken(aio__taker *tk) { return AIO__CONTAINER(tk, aio_barrier, aio__tk_broken); }

/* Wake everyone in `fill` with their arrival indexes (the tripper, if any,
 * has its own future: index parties - 1). Counted before each wake: a
 * waiter nobody holds is declined inside it. */
static void trip(aio_loop *loop, aio_barrier *b) {
    b->aio__state = DRAINING;
    uint32_t n = b->aio__fill.count;
    b->aio__passing += n;
    for (uint32_t i = 0; i < n; i++) {
        aio__waitq_data(loop, aio__waitq_head(&b->aio__fill))->i = i;
        aio__waitq_wake(loop, &b->aio__fill, &b->aio__tk_pass);
    }
}

/* A new cycle: the blocked arrivals join it in order (and may trip it). */
static void admit(aio_loop *loop, aio_barrier *b) {
    while (b->aio__state == FILLING && !aio__waitq_empty(&b->aio__block)) {
        aio__waitq_move(loop, aio__waitq_head(&b->aio__block), &b->aio__fill);
        if (b->aio__fill.count == b->aio__parties)
            trip(loop, b);
    }
}

/* A released or broken waiter left: the last one ends draining or
 * resetting. */
static void left(aio_loop *loop, aio_barrier *b) {
    if (b->aio__passing || b->aio__breaking)
        return;
    if (b->aio__state == DRAINING || b->aio__state == RESETTING) {
        b->aio__state = FILLING;
        admit(loop, b);
    }
}

/* Released: its index, unless the barrier was reset or aborted before it
 * resumed (asyncio checks the state when the waiter runs again). */
static int pass_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    aio_barrier *b = of_pass(tk);
    int err = b->aio__state == RESETTING || b->aio__state == BROKEN ? AIO_EBROKEN : 0;
    out->i = aio__waitq_data(loop, idx)->i;
    b->aio__passing--;
    left(loop, b);
    return err;
}

static void pass_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio_barrier *b = of_pass(tk);
    b->aio__passing--;
    left(loop, b);
}

static int broken_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)idx;
    (void)out;
    aio_barrier *b = of_broken(tk);
    b->aio__breaking--;
    left(loop, b);
    return AIO_EBROKEN;
}

static void broken_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio_barrier *b = of_broken(tk);
    b->aio__breaking--;
    left(loop, b);
}

static int barrier_bind(aio_loop *loop, aio_barrier *b) {
    int rc = aio__sync_bind(loop, &b->aio__b);
    if (rc == 1) {
        static const aio__waitq_ops fill_ops = {.what = "barrier"};
        static const aio__waitq_ops block_ops = {.what = "barrier (draining)"};
        b->aio__fill.ops = &fill_ops;
        b->aio__block.ops = &block_ops;
        static const aio__taker_ops pass_ops = {pass_take, pass_decline, NULL};
        static const aio__taker_ops broken_ops = {broken_take, broken_decline, NULL};
        b->aio__tk_pass.ops = &pass_ops;
        b->aio__tk_broken.ops = &broken_ops;
        rc = 0;
    }
    return rc;
}

/* Wake every waiter of q to fail. */
static void break_waiters(aio_loop *loop, aio_barrier *b, aio__waitq *q) {
    b->aio__breaking += q->count;
    aio__waitq_wake_all(loop, q, &b->aio__tk_broken);
}

int aio_barrier_init(aio_barrier *b, long parties) {
    if (!b || parties < 1 || (unsigned long)parties > UINT32_MAX)
        return -EINVAL;
    *b = (aio_barrier)AIO_BARRIER_INIT((uint32_t)parties);
    return 0;
}

aio_future aio_barrier_wait(aio_loop *loop, aio_barrier *b) {
    if (!b)
        return aio__error_handle(-EINVAL);
    int rc = barrier_bind(loop, b);
    if (rc < 0)
        return aio__error_handle(rc);
    if (b->aio__parties == 0) /* zeroed, never initialised */
        return aio__error_handle(-EINVAL);
    if (b->aio__state == BROKEN)
        return aio__error_handle(AIO_EBROKEN);
    uint32_t idx = 0;
    if (b->aio__state != FILLING) {
        rc = aio__waitq_push(loop, &b->aio__block, &idx); /* the next cycle */
    } else if (b->aio__fill.count + 1 < b->aio__parties) {
        rc = aio__waitq_push(loop, &b->aio__fill, &idx);
    } else {
        aio_value index;
        index.i = b->aio__parties - 1; /* we trip it: released first, at once */
        rc = aio__waitq_new_woken(loop, &b->aio__tk_pass, index, &idx);
        if (rc == 0) {
            b->aio__passing++;
            trip(loop, b);
        }
    }
    return aio__sync_future(loop, rc, idx);
}

int aio_barrier_reset(aio_loop *loop, aio_barrier *b) {
    if (!b)
        return -EINVAL;
    int rc = barrier_bind(loop, b);
    if (rc < 0)
        return rc;
    if (b->aio__fill.count || b->aio__passing || b->aio__breaking) {
        b->aio__state = RESETTING;
        break_waiters(loop, b, &b->aio__fill);
        left(loop, b); /* ends it now if nobody is left to leave */
    } else {
        b->aio__state = FILLING;
        admit(loop, b);
    }
    return 0;
}

int aio_barrier_abort(aio_loop *loop, aio_barrier *b) {
    if (!b)
        return -EINVAL;
    int rc = barrier_bind(loop, b);
    if (rc < 0)
        return rc;
    b->aio__state = BROKEN;
    break_waiters(loop, b, &b->aio__fill);
    break_waiters(loop, b, &b->aio__block);
    return 0;
}

long aio_barrier_parties(const aio_barrier *b) { return b ? (long)b->aio__parties : -EINVAL; }

long aio_barrier_n_waiting(const aio_barrier *b) {
    if (!b)
        return -EINVAL;
    return b->aio__state == FILLING ? (long)b->aio__fill.count : 0;
}

int aio_barrier_broken(const aio_barrier *b) { return b ? b->aio__state == BROKEN : -EINVAL; }
