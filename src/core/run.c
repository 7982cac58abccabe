/* The loop's iteration, and running it: run_forever, run_until_complete, stop.
 *
 * One iteration (run_once), as in docs/design.md:
 *   1. if the ready queue is empty, or poll_budget callbacks ran since the
 *      last poll: poll the backend (not blocking if anything is ready) and
 *      read the clock;
 *   2. move every timer due by the (cached) clock to the ready queue;
 *   3. run exactly the entries that were queued when step 3 began.
 * Skipping the poll while the queue is busy is what makes a future handoff
 * cost nanoseconds instead of an epoll_wait (≈ 1.1 µs here); the budget
 * bounds how long I/O and timers can wait behind a busy queue. */
#include "core/callbacks.h"
#include "core/compiler.h"
#include "core/futures.h"
#include "core/loop.h"
#include "core/ready.h"
#include "core/task.h"
#include "core/timers.h"
#include "debug/debug.h"
#include "io/io.h"
#include "proc/signal.h"
#include "thread/thread.h"

/* How long the poll may block: 0 if anything is ready (or we are stopping),
 * until the next timer, or -1 (forever). */
static int64_t poll_timeout(aio_loop *loop) {
    if (!aio__ready_empty(loop) || loop->stopping)
        return 0;
    if (aio__timers_empty(loop))
        return -1;
    int64_t dt = aio__timers_next(loop) - loop->now_ns;
    return dt > 0 ? dt : 0;
}

/* Ask the backend for ready fds, waiting at most timeout_ns. A poll that
 * may not wait, with no fd watched but our wakeup fd (and signal fd), makes
 * no system call (an epoll_wait costs about a microsecond here: a few
 * nanoseconds on every callback of a busy loop): it could only report
 * those fds, whose readers drain, and poll_step drains after every poll
 * anyway. A wakeup left unread keeps the fd readable for the next poll
 * that makes the call (drain clears it). */
static int backend_poll(aio_loop *loop, int64_t timeout_ns) {
    if (timeout_ns == 0 && loop->io.count <= aio__wakeup_watched(loop) + aio__signal_watched(loop))
        return 0;
    return loop->io.backend->poll(loop, timeout_ns);
}

/* Out of line: run_once skips it while the ready queue is busy. */
AIO__NOINLINE static int poll_step(aio_loop *loop) {
    if (loop->xs && loop->xs->sub_head)
        aio__executor_flush(loop); /* jobs submitted since the last poll */
    int64_t timeout = poll_timeout(loop);
    /* Nothing could ever wake us. The wakeup fd (wakeup.c) does not count,
     * unless executor jobs or aio_loop_ref() holders may still use it; nor
     * does the signal fd watched for aio_run's route alone. */
    if (timeout < 0 && loop->io.count <= aio__wakeup_watched(loop) + aio__signal_unref(loop) &&
        !aio__wakeup_alive(loop))
        return AIO_EDEADLOCK;
    if (loop->virtual_clock) {
        /* Real I/O is still polled, but virtual time only jumps once nothing
         * is ready: to the next timer, without sleeping. */
        int rc = backend_poll(loop, timeout < 0 ? -1 : 0);
        if (rc < 0)
            return rc;
        aio__wakeup_drain(loop); /* threadsafe calls, executor completions */
        aio__signal_after_poll(loop);
        if (timeout > 0 && aio__ready_empty(loop))
            loop->now_ns += timeout;
    } else {
        /* About to sleep while our executor jobs run: a tiny job's
         * completion usually arrives within microseconds. */
        if (timeout != 0 && aio__wakeup_spin(loop))
            timeout = 0;
        int rc = backend_poll(loop, timeout);
        if (rc < 0)
            return rc;
        aio__wakeup_drain(loop);
        aio__signal_after_poll(loop);
        loop->now_ns = aio__clock_ns();
    }
    loop->stats.polls++;
    loop->poll_at = loop->stats.callbacks + loop->poll_budget;
    return 0;
}

/* Inline in the run loops (forced: with the dispatch inline in it, the
 * compiler finds it too big): a busy loop (a handoff an iteration) runs it
 * for every few callbacks. `debug` (a constant in each copy) gives debug
 * mode's copy, which times every entry (debug.c): a run picks its copy
 * when it starts, so the usual one pays nothing for it. */
static AIO__ALWAYS_INLINE int run_once_x(aio_loop *loop, const bool debug) {
    if (aio__ready_empty(loop) || loop->stats.callbacks >= loop->poll_at) {
        int rc = poll_step(loop);
        if (rc < 0)
            return rc;
    }
    /* Every iteration, polled or not: timers due by the cached clock (a zero
     * delay, a virtual clock moved by aio_loop_advance) don't wait for a poll. */
    if (!aio__timers_empty(loop) && aio__timers_next(loop) <= loop->now_ns)
        aio__timers_run_due(loop);
    uint64_t end = loop->ready.tail;
    while (loop->ready.head != end) {
        aio__ready_ent e = loop->ready.ring[loop->ready.head & loop->ready.mask];
        loop->ready.head++;
        if (debug) {
            if (!e.fn)
                continue; /* cancelled */
            aio__debug_run_entry(loop, e.fn, e.arg);
        } else if (e.fn == aio__dispatch_batch) /* a busy loop's usual entry: run inline */
            aio__dispatch_list(loop, (uint32_t)(uintptr_t)e.arg);
        else if (e.fn)
            e.fn(loop, e.arg);
        else
            continue; /* cancelled */
        loop->stats.callbacks++;
    }
    loop->stats.iterations++;
    return 0;
}
static AIO__ALWAYS_INLINE int run_once(aio_loop *loop) { return run_once_x(loop, false); }
AIO__NOINLINE static int run_once_debug(aio_loop *loop) { return run_once_x(loop, true); }

static int run_begin(aio_loop *loop) {
    if (!loop)
        return -EINVAL;
    if (loop->fut.barred & AIO__BAR_REPORTING)
        return AIO_EINREPORT;
    if (loop->running || aio__running)
        return AIO_ERUNNING;
    if (loop->fut.barred)
        return AIO_ECLOSED;
    loop->running = true;
    aio__running = &loop->pub;
    if (!loop->virtual_clock)
        loop->now_ns = aio__clock_ns();
    return 0;
}

static void run_end(aio_loop *loop) {
    loop->running = false;
    loop->stopping = false;
    aio__running = NULL;
}

int aio_run_forever(aio_loop *loop) {
    int rc = run_begin(loop);
    if (rc < 0)
        return rc;
    /* At least one iteration, as asyncio does when stop() came first. */
    if (AIO__UNLIKELY(loop->dbg.on)) {
        do
            rc = run_once_debug(loop);
        while (rc == 0 && !loop->stopping);
    } else {
        do
            rc = run_once(loop);
        while (rc == 0 && !loop->stopping);
    }
    run_end(loop);
    return rc;
}

/* aio_run_until_complete's iterations, in both copies. */
static AIO__ALWAYS_INLINE int run_until_done_x(aio_loop *loop, uint32_t idx, const bool debug) {
    int rc = 0;
    while (loop->fut.slots[idx].state == AIO__FS_PENDING) {
        if ((rc = run_once_x(loop, debug)) < 0)
            break;
        if (loop->stopping && loop->fut.slots[idx].state == AIO__FS_PENDING) {
            rc = AIO_ESTOPPED;
            break;
        }
    }
    return rc;
}
static AIO__ALWAYS_INLINE int run_until_done(aio_loop *loop, uint32_t idx) {
    return run_until_done_x(loop, idx, false);
}
AIO__NOINLINE static int run_until_done_debug(aio_loop *loop, uint32_t idx) {
    return run_until_done_x(loop, idx, true);
}

int aio_run_until_complete(aio_loop *loop, aio_future fut, aio_value *result) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, fut, &idx);
    if (rc < 0)
        return rc;
    int held = aio__fut_hold(loop, idx); /* hold it while we look at it... */
    aio__fut_consume(loop, idx);         /* ...and take the caller's reference */
    if (held < 0)
        return held;
    rc = run_begin(loop);
    if (rc < 0) {
        aio__fut_drop(loop, idx);
        return rc;
    }
    rc = AIO__UNLIKELY(loop->dbg.on) ? run_until_done_debug(loop, idx) : run_until_done(loop, idx);
    run_end(loop);
    if (loop->fut.slots[idx].state != AIO__FS_PENDING) {
        aio_value v;
        rc = aio__fut_outcome(loop, idx, &v);
        if (rc == 0 && result)
            *result = v;
    }
    aio__fut_drop(loop, idx);
    return rc;
}

int aio_loop_stop(aio_loop *loop) {
    if (!loop)
        return -EINVAL;
    loop->stopping = true;
    return 0;
}

bool aio__thread_running(void) { return aio__running != NULL; }

int aio__run_until_no_tasks(aio_loop *loop) {
    int rc = run_begin(loop);
    if (rc < 0)
        return rc;
    if (AIO__UNLIKELY(loop->dbg.on)) {
        while (loop->task.count > 0 && (rc = run_once_debug(loop)) == 0) {
        }
    } else {
        while (loop->task.count > 0 && (rc = run_once(loop)) == 0) {
        }
    }
    run_end(loop);
    return rc;
}
