/* The loop: creation, close, free, and what it tells about itself. The
 * iteration and running it: run.c; scheduling callbacks: schedule.c. */
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
#include "debug/debug.h"
#include "io/io.h"
#include "net/net.h"
#include "proc/process.h"
#include "proc/signal.h"
#include "scope/scope.h"
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

static uint16_t next_tag(void) {
    uint16_t tag;
    do /* 0 marks error handles: never a loop's tag */
        tag = (uint16_t)(atomic_fetch_add(&loops_created, 1u) + 1u);
    while (tag == 0);
    return tag;
}

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
    aio_loop *loop = aio__calloc(1, sizeof *loop);
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
    loop->cb.batch_seq = UINT64_MAX;   /* no dispatch batch open */
    loop->wheel.next = INT64_MAX;      /* no timer in the wheel */
    loop->io.backend = backend;
    aio__tasks_init(loop);
    aio__debug_init(loop, opts->debug, opts->slow_callback_duration);
    int rc = aio__ready_init(loop); /* from now on a completion always has a slot */
    if (rc < 0) {
        aio__free(loop);
        return rc;
    }
    if ((rc = backend->init(loop)) < 0) {
        aio__ready_free(loop);
        aio__free(loop);
        return rc;
    }
    if ((rc = aio__wakeup_init(loop)) < 0) { /* wakeup.c: threads -> loop */
        backend->fini(loop);
        aio__io_free(loop);
        aio__ready_free(loop);
        aio__free(loop);
        return rc;
    }
    *out = loop;
    return 0;
}

int aio_loop_close(aio_loop *loop) {
    if (!loop)
        return -EINVAL;
    if (loop->fut.barred & AIO__BAR_REPORTING)
        return AIO_EINREPORT; /* from the handler: the loop's own work is under way */
    if (loop->running)
        return AIO_ERUNNING;
    if (loop->closed)
        return 0;
    /* Closing: from now on every call on the loop is refused (a report
     * handler's included), so nothing changes what is reported and freed.
     * Collect, then report, then free: executor jobs first (the close waits,
     * bounded, for running ones, and their completions must find the
     * futures), then the reports, with everything they name intact, then
     * the structures. Nothing queued runs any more. */
    aio__fut_bar(loop, AIO__BAR_CLOSING);
    aio__executor_close(loop);
    aio__proc_close(loop); /* children killed and reaped, before their pipes go */
    aio__net_close(loop);  /* streams and servers: their fds, buffers, records */
    aio__wakeup_close(loop);
    aio__signal_close(loop); /* dispositions back before anything is freed */
    aio__futures_report(loop);
    aio__scopes_free(loop); /* before the tasks' frames, where the scopes are */
    aio__futures_free(loop);
    aio__task_mem_free(loop); /* after every task was freed */
    aio__coro_fns_free(loop);
    aio__ready_free(loop);
    aio__timers_free(loop);
    loop->io.backend->fini(loop);
    aio__io_free(loop);
    aio__debug_free(loop); /* after the reports, which may have used it */
    loop->closed = true;
    return 0;
}

int aio_loop_free(aio_loop *loop) {
    if (!loop)
        return 0;
    if (loop->fut.barred & AIO__BAR_REPORTING)
        return AIO_EINREPORT; /* nothing is freed: the report's caller still uses the loop */
    int rc = aio_loop_close(loop);
    if (rc < 0)
        return rc;
    aio__wakeup_free(loop);
    aio__free(loop);
    return 0;
}

int aio_loop_is_closed(const aio_loop *loop) { return loop ? loop->closed : -EINVAL; }
int aio_loop_is_running(const aio_loop *loop) { return loop ? loop->running : 0; }

double aio_loop_time(const aio_loop *loop) { return loop ? (double)loop->now_ns / 1e9 : 0.0; }
int64_t aio_loop_time_ns(const aio_loop *loop) { return loop ? loop->now_ns : 0; }

int aio_loop_advance(aio_loop *loop, double seconds) {
    if (!loop || !loop->virtual_clock || !(seconds >= 0) || isinf(seconds))
        return -EINVAL;
    if (loop->fut.barred)
        return aio__loop_refusal(loop);
    loop->now_ns = aio__time_add(loop->now_ns, aio__delay_ns(seconds)); /* stops at the limit */
    return 0;
}

const char *aio_loop_backend(const aio_loop *loop) { return loop ? loop->io.backend->name : NULL; }

int aio_loop_get_stats(const aio_loop *loop, aio_loop_stats *out) {
    if (!loop || !out)
        return -EINVAL;
    *out = loop->stats;
    out->timers = loop->tm.live;
    out->timer_entries =
        (uint64_t)loop->tm.heap_len + loop->wheel.count + (loop->wheel.run_len - loop->wheel.run_pos);
    return 0;
}

int aio_loop_set_exception_handler(aio_loop *loop, aio_exception_handler fn, void *arg) {
    if (!loop)
        return -EINVAL;
    loop->report.handler = fn;
    loop->report.arg = fn ? arg : NULL;
    return 0;
}
