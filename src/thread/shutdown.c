/* aio_shutdown_default_executor: asyncio's
 * loop.shutdown_default_executor(timeout), without blocking the loop.
 *
 * The default pool is used by its loop only, so every job running in it is
 * one of the loop's jobs in flight (xs->jobs), and each one's completion
 * comes back through aio__executor_collect like any other. The shutdown
 * stops the pool at once (no submits; queued jobs come back cancelled),
 * counts the loop's jobs of that pool, and completes when collect has seen
 * the last of them, or when its timer fires first: then the jobs still
 * running are reported and abandoned (their workers are detached and finish
 * them; their futures still complete when they do). Either way the pool is
 * released then, and nothing ever blocks. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/report.h"
#include "core/mem.h"
#include "core/owner.h"
#include "core/timers.h"
#include "thread/pool.h"
#include "thread/thread.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct aio__shutdown {
    aio__owner owner;
    uint32_t fut;
    uint32_t timer;
    bool has_timer;
    unsigned left;  /* the loop's jobs of the pool not yet collected */
    double timeout; /* seconds, for the reports */
    aio_pool *pool; /* stopped; released when the shutdown completes */
};

/* Complete the shutdown: release the pool (joining the workers that have
 * exited, detaching the others) and the timer, finish the future. */
static void finish(aio_loop *loop, struct aio__shutdown *s, int err, aio_value v) {
    loop->xs->shutdown = NULL;
    if (s->has_timer)
        aio__timer_cancel(loop, s->timer);
    aio__pool_release(s->pool, 0);
    aio__owned_finish(loop, s->fut, err, v);
    aio__owner_free(loop, &s->owner);
}

/* The bound expired: give up on the jobs still running, and report each.
 * The shutdown completes first and the reports name the jobs from a copy of
 * their futures: a report handler may call back into the loop (cancel a
 * job, even the shutdown), and must find neither the state nor a list it
 * is walking. Out of memory for the copy, one report counts them. */
static void expired(aio_loop *loop, void *arg) {
    struct aio__shutdown *s = arg;
    s->has_timer = false;
    double timeout = s->timeout;
    size_t n = 0;
    for (aio__job *j = loop->xs->jobs; j; j = AIO__JOB_NEXT(j))
        n += j->pool == s->pool && aio__pool_job_running(j);
    aio_future *futs = n ? aio__malloc(n * sizeof *futs) : NULL;
    size_t k = 0;
    for (aio__job *j = loop->xs->jobs; futs && j && k < n; j = AIO__JOB_NEXT(j))
        if (j->pool == s->pool && aio__pool_job_running(j))
            futs[k++] =
                j->orphan ? AIO_FUTURE_NULL : aio__fut_handle(loop, j->owner.aux); /* an orphan's is gone */
    aio_value abandoned = {0};
    abandoned.u = n;
    finish(loop, s, 0, abandoned); /* s is freed */
    char msg[200];
    snprintf(msg, sizeof msg,
             "executor job abandoned by aio_shutdown_default_executor: still running after its timeout "
             "(%g s); its future completes when it finishes",
             timeout);
    for (size_t i = 0; i < k; i++) {
        uint32_t idx; /* still that job's future (an earlier report's handler may have freed it) */
        aio__report(loop, msg, AIO_ETIMEDOUT, aio__fut_lookup(loop, futs[i], &idx) == 0 ? idx : AIO__NIL);
    }
    if (n && !futs) {
        snprintf(msg, sizeof msg,
                 "%zu executor jobs abandoned by aio_shutdown_default_executor: still running after its "
                 "timeout (%g s)",
                 n, timeout);
        aio__report(loop, msg, AIO_ETIMEDOUT, AIO__NIL);
    }
    free(futs);
}

/* Cancelling the shutdown stops the wait: the pool is released at once,
 * and nothing is reported (the caller chose not to wait). */
static int shutdown_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    finish(loop, (struct aio__shutdown *)(void *)o, AIO_ECANCELLED, v);
    return 1;
}

/* For the task dumps (aio/debug.h): the jobs left and the timeout. */
static void shutdown_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    struct aio__shutdown *s = (struct aio__shutdown *)(void *)o;
    (void)loop;
    snprintf(info->text, info->len, "shutdown_default_executor: %u jobs left", s->left);
    if (s->has_timer)
        info->timer = s->timer;
}

static const aio__owner_ops shutdown_ops = {.cancel = shutdown_cancel, .describe = shutdown_describe};

void aio__shutdown_job_collected(aio_loop *loop, const aio__job *j) {
    struct aio__shutdown *s = loop->xs->shutdown;
    if (j->pool == s->pool && --s->left == 0)
        finish(loop, s, 0, (aio_value){0});
}

void aio__shutdown_close(aio_loop *loop) {
    struct aio__shutdown *s = loop->xs->shutdown;
    loop->xs->shutdown = NULL;
    aio__pool_release(s->pool, 0); /* its state and timer go with the loop's */
}

/* A future already done with result 0: nothing to wait for. */
static aio_future done_now(aio_loop *loop) {
    uint32_t idx;
    int rc = aio__fut_alloc(loop, &idx);
    if (rc < 0)
        return aio__error_handle(rc);
    aio__fut_finish(loop, idx, AIO__FS_RESULT, (aio_value){0});
    return aio__fut_handle(loop, idx);
}

aio_future aio_shutdown_default_executor_on(aio_loop *loop, double timeout) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (isnan(timeout))
        return aio__error_handle(-EINVAL);
    aio__xs *xs = loop->xs;
    if (!xs->pool) { /* never made, or shut down already (maybe in progress) */
        aio_future f = done_now(loop);
        if (aio_future_check(f) == 0)
            xs->default_shut = true;
        return f;
    }
    uint32_t fut;
    struct aio__shutdown *s = aio__owner_new(loop, sizeof *s, &shutdown_ops, &fut);
    if (!s)
        return aio__error_handle(-ENOMEM);
    s->fut = fut;
    s->timeout = timeout;
    s->pool = xs->pool;
    /* The timer first: a shutdown that could not keep its timeout fails
     * (-ENOMEM) before it has changed anything. */
    int64_t deadline;
    if (aio__timeout_deadline(loop, timeout, &deadline)) {
        if ((rc = aio__timer_arm(loop, deadline, expired, s, &s->timer)) < 0) {
            aio__owned_finish(loop, fut, AIO_ECANCELLED, (aio_value){0});
            aio__fut_consume(loop, fut);
            aio__owner_free(loop, &s->owner);
            return aio__error_handle(rc);
        }
        s->has_timer = true;
    }
    xs->pool = NULL;
    xs->default_shut = true; /* aio_run_in_executor(loop, NULL, ...): AIO_ECLOSED */
    xs->shutdown = s;
    /* Jobs not started never run: those in the loop's batch are cancelled
     * here, those on the pool's queue come back cancelled. */
    aio__executor_cancel_unsent(loop, s->pool);
    aio__pool_stop(s->pool);
    for (aio__job *j = xs->jobs; j; j = AIO__JOB_NEXT(j))
        s->left += j->pool == s->pool;
    aio_future f = aio__fut_handle(loop, fut);
    if (s->left == 0)
        finish(loop, s, 0, (aio_value){0}); /* the timer goes too */
    return f;
}
