/* The loop: creation, the iteration, running and stopping, and scheduling.
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
#include "core/coro_fns.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/ready.h"
#include "core/task.h"
#include "core/timers.h"
#include "io/io.h"
#include "thread/thread.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The loop running on this thread, if any (aio/types.h: coroutines find
 * their loop there): nested runs are refused. This is per-thread, not
 * global: each thread may run its own loop. */
AIO__THREAD_LOCAL struct aio__loop_head *aio__running AIO__TLS_MODEL;
/* The one process-wide variable: a counter that numbers loops, so that any
 * 65,535 loops created one after another carry distinct handle tags and a
 * handle given to the wrong loop is always caught. It holds no loop state. */
static _Atomic uint32_t loops_created;

int64_t aio__clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint16_t next_tag(void) {
    uint16_t tag;
    do /* 0 marks error handles: never a loop's tag */
        tag = (uint16_t)(atomic_fetch_add(&loops_created, 1u) + 1u);
    while (tag == 0);
    return tag;
}

/* Seconds to nanoseconds, rounded up (a timer never fires early) and clamped
 * to +-4e18 ns (126 years), far from overflow. No libm needed. */
#define AIO__NS_LIMIT INT64_C(4000000000000000000)
static int64_t seconds_to_ns_ceil(double s) {
    double ns = s * 1e9;
    if (ns >= 4e18)
        return AIO__NS_LIMIT;
    if (ns <= -4e18)
        return -AIO__NS_LIMIT;
    int64_t n = (int64_t)ns; /* truncates toward zero */
    return (double)n < ns ? n + 1 : n;
}

int64_t aio__delay_ns(double delay) { return delay <= 0 ? 0 : seconds_to_ns_ceil(delay); }

int aio_loop_create(aio_loop **out, const aio_loop_options *opts) {
    if (!out)
        return -EINVAL;
    *out = NULL;
    aio_loop_options defaults = {0};
    if (!opts)
        opts = &defaults;
    const aio__backend *backend = aio__backend_find(opts->backend);
    if (!backend)
        return -EINVAL;
    aio_loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return -ENOMEM;
    loop->tag = next_tag();
    loop->fut.tag_bits = (uint64_t)loop->tag << AIO__TAG_SHIFT;
    loop->virtual_clock = opts->virtual_clock != 0;
    loop->huge_pages = aio__huge_pages_default(opts->huge_pages);
    loop->poll_budget = opts->poll_budget ? opts->poll_budget : AIO_DEFAULT_POLL_BUDGET;
    loop->poll_at = loop->poll_budget;
    loop->now_ns = loop->virtual_clock ? 0 : aio__clock_ns();
    loop->fut.free = loop->cb.free = loop->tm.free = AIO__NIL;
    loop->task.start_seq = UINT64_MAX; /* no task-start batch open */
    loop->cb.batch_seq = UINT64_MAX;    /* no dispatch batch open */
    loop->wheel.next = INT64_MAX; /* no timer in the wheel */
    loop->io.backend = backend;
    int rc = backend->init(loop);
    if (rc < 0) {
        free(loop);
        return rc;
    }
    if ((rc = aio__wakeup_init(loop)) < 0) { /* wakeup.c: threads -> loop */
        backend->fini(loop);
        aio__io_free(loop);
        free(loop);
        return rc;
    }
    *out = loop;
    return 0;
}

aio_loop *aio_loop_new(void) {
    aio_loop *loop;
    int rc = aio_loop_create(&loop, NULL);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return loop;
}

int aio_loop_close(aio_loop *loop) {
    if (!loop)
        return -EINVAL;
    if (loop->running)
        return AIO_ERUNNING;
    if (loop->closed)
        return 0;
    /* Reports and frees first (they may look at the futures table), then the
     * structures. Nothing queued runs any more. Executor jobs first: the
     * close waits (bounded) for running ones and must see the futures. */
    aio__executor_close(loop);
    aio__wakeup_close(loop);
    aio__futures_free(loop);
    aio__task_mem_free(loop); /* after every task was freed */
    aio__coro_fns_free(loop);
    aio__ready_free(loop);
    aio__timers_free(loop);
    loop->io.backend->fini(loop);
    aio__io_free(loop);
    loop->closed = true;
    return 0;
}

int aio_loop_free(aio_loop *loop) {
    if (!loop)
        return 0;
    int rc = aio_loop_close(loop);
    if (rc < 0)
        return rc;
    aio__wakeup_free(loop);
    free(loop);
    return 0;
}

int aio_loop_is_closed(const aio_loop *loop) { return loop ? loop->closed : -EINVAL; }
int aio_loop_is_running(const aio_loop *loop) { return loop ? loop->running : 0; }

double aio_loop_time(const aio_loop *loop) { return loop ? (double)loop->now_ns / 1e9 : 0.0; }
int64_t aio_loop_time_ns(const aio_loop *loop) { return loop ? loop->now_ns : 0; }

int aio_loop_advance(aio_loop *loop, double seconds) {
    if (!loop || !loop->virtual_clock || !(seconds >= 0) || isinf(seconds))
        return -EINVAL;
    loop->now_ns += aio__delay_ns(seconds);
    return 0;
}

const char *aio_loop_backend(const aio_loop *loop) { return loop ? loop->io.backend->name : NULL; }

int aio_loop_get_stats(const aio_loop *loop, aio_loop_stats *out) {
    if (!loop || !out)
        return -EINVAL;
    *out = loop->stats;
    out->timers = loop->tm.live;
    out->timer_entries = (uint64_t)loop->tm.heap_len + loop->wheel.count + (loop->wheel.run_len - loop->wheel.run_pos);
    return 0;
}

int aio_loop_set_exception_handler(aio_loop *loop, aio_exception_handler fn, void *arg) {
    if (!loop)
        return -EINVAL;
    loop->report.handler = fn;
    loop->report.arg = fn ? arg : NULL;
    return 0;
}

/* ---- scheduling ---- */

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
    return call_at_ns(loop, loop->now_ns + seconds_to_ns_ceil(delay), fn, arg, out);
}

int aio_call_at(aio_loop *loop, double when, aio_callback fn, void *arg, aio_handle *out) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!fn || isnan(when) || isinf(when))
        return -EINVAL;
    return call_at_ns(loop, seconds_to_ns_ceil(when), fn, arg, out);
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

/* ---- running ---- */

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
 * may not wait, with no fd watched but our wakeup fd, makes no system call
 * (an epoll_wait costs about a microsecond here: a few nanoseconds on every
 * callback of a busy loop): it could only report the wakeup fd, whose
 * reader runs aio__wakeup_drain, and poll_step drains after every poll
 * anyway. A wakeup left unread keeps the fd readable for the next poll
 * that makes the call (drain clears it). */
static int backend_poll(aio_loop *loop, int64_t timeout_ns) {
    if (timeout_ns == 0 && loop->io.count <= aio__wakeup_watched(loop))
        return 0;
    return loop->io.backend->poll(loop, timeout_ns);
}

/* Out of line: run_once skips it while the ready queue is busy. */
AIO__NOINLINE static int poll_step(aio_loop *loop) {
    if (loop->xs && loop->xs->sub_head)
        aio__executor_flush(loop); /* jobs submitted since the last poll */
    int64_t timeout = poll_timeout(loop);
    /* Nothing could ever wake us. The wakeup fd (wakeup.c) does not count,
     * unless executor jobs or aio_loop_ref() holders may still use it. */
    if (timeout < 0 && loop->io.count <= aio__wakeup_watched(loop) && !aio__wakeup_alive(loop))
        return AIO_EDEADLOCK;
    if (loop->virtual_clock) {
        /* Real I/O is still polled, but virtual time only jumps once nothing
         * is ready: to the next timer, without sleeping. */
        int rc = backend_poll(loop, timeout < 0 ? -1 : 0);
        if (rc < 0)
            return rc;
        aio__wakeup_drain(loop); /* threadsafe calls, executor completions */
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
        loop->now_ns = aio__clock_ns();
    }
    loop->stats.polls++;
    loop->poll_at = loop->stats.callbacks + loop->poll_budget;
    return 0;
}

/* Inline in the run loops (forced: with the dispatch inline in it, the
 * compiler finds it too big): a busy loop (a handoff an iteration) runs it
 * for every few callbacks. */
static AIO__ALWAYS_INLINE int run_once(aio_loop *loop) {
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
        if (e.fn == aio__dispatch_batch) /* a busy loop's usual entry: run inline */
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

static int run_begin(aio_loop *loop) {
    if (!loop)
        return -EINVAL;
    if (loop->running || aio__running)
        return AIO_ERUNNING;
    if (loop->closed)
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
    do
        rc = run_once(loop);
    while (rc == 0 && !loop->stopping);
    run_end(loop);
    return rc;
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
    while (loop->fut.slots[idx].state == AIO__FS_PENDING) {
        if ((rc = run_once(loop)) < 0)
            break;
        if (loop->stopping && loop->fut.slots[idx].state == AIO__FS_PENDING) {
            rc = AIO_ESTOPPED;
            break;
        }
    }
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
    while (loop->task.count > 0 && (rc = run_once(loop)) == 0) {
    }
    run_end(loop);
    return rc;
}
