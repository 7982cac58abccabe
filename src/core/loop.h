/* The loop: struct aio_loop, made of one sub-struct per module. Each
 * sub-struct is written only by its own module (its header says which file
 * that is); the loop's own fields are written by loop.c and run.c.
 *
 * How the headers fit together: every module header has two parts, its
 * state (the sub-struct embedded here) and its functions (many inline,
 * which need the complete loop). This header includes every module header
 * with AIO__LOOP_STATE_PASS defined, which takes only the state parts, then
 * defines the loop; a module header's function part includes this header
 * first. So any src/ file includes just the headers of the modules it
 * uses, in any order. */
#ifndef AIO_CORE_LOOP_H
#define AIO_CORE_LOOP_H

#include "aio/aio.h"

#define AIO__LOOP_STATE_PASS
#include "core/callbacks.h"
#include "core/cancel.h"
#include "core/coro_fns.h"
#include "core/futures.h"
#include "core/owner.h"
#include "core/ready.h"
#include "core/report.h"
#include "core/task.h"
#include "core/timers.h"
#include "debug/debug.h"
#include "io/io.h"
#include "proc/signal.h"
#include "scope/scope.h"
#undef AIO__LOOP_STATE_PASS

#include <stdbool.h>
#include <stdint.h>

struct aio__xs;   /* thread/thread.h: cross-thread state (wakeup, executor) */
struct aio__net;  /* net/net.h: streams and servers, created at first use */
struct aio__proc; /* proc/process.h: subprocesses, created at first use */

struct aio_loop {
    struct aio__loop_head pub; /* first: the coroutine macros read it (coro.h) */
    uint16_t tag;
    bool closed, running, stopping, virtual_clock;
    bool huge_pages; /* big tables ask for transparent huge pages (mem.c) */
    unsigned poll_budget;
    /* stats.callbacks at which poll_budget callbacks will have run since the
     * last poll (or since creation): counting them costs nothing more. */
    uint64_t poll_at;
    int64_t now_ns;

    /* The hot modules first: a future handoff touches these. */
    aio__ready_q ready;       /* ready.c */
    aio__tasks task;          /* task.c, task_mem.c */
    aio__callbacks cb;        /* callbacks.c */
    aio__futures fut;         /* futures.c */
    aio__coro_fns fns;        /* coro_fns.c */
    aio__timers tm;           /* timers.c */
    aio__wheel wheel;         /* wheel.c */
    aio__io_state io;         /* io.c and the backends */
    aio__owners own;          /* owner.c */
    aio__cancel_queue cancel; /* cancel.c */
    aio__reporting report;    /* report.c */
    aio__signals sig;         /* proc/signal.c */
    aio__scopes scope;        /* scope/: task groups and timeout scopes */
    aio_loop_stats stats;     /* run.c */
    struct aio__xs *xs;       /* thread/: wakeup.c, executor.c */
    struct aio__net *net;     /* net/: at first use */
    aio__debug dbg;           /* debug/: where mode, debug mode */
    struct aio__proc *proc;   /* proc/subprocess.c, reaper.c: at first use */
};

/* The loop running on this thread (NULL if none): a coroutine's. */
static inline aio_loop *aio__running_loop(void) { return (aio_loop *)(void *)aio__running; }

/* The code a barred loop (futures.h: closed, closing, or inside a report)
 * answers with: AIO_EINREPORT inside a report handler, else AIO_ECLOSED. */
static inline int aio__loop_refusal(const aio_loop *loop) {
    return (loop->fut.barred & AIO__BAR_REPORTING) ? AIO_EINREPORT : AIO_ECLOSED;
}
/* 0, -EINVAL (NULL), or the refusal of a barred loop: inline, as every
 * creating call checks it. */
static inline int aio__loop_usable(const aio_loop *loop) {
    if (!loop)
        return -EINVAL;
    return loop->fut.barred ? aio__loop_refusal(loop) : 0;
}

/* clock.c: the loop's times (now_ns, every deadline) and durations, in ns,
 * stay within +-AIO__TIME_LIMIT (4e18 ns, 126 years): the difference of two
 * never overflows, and every sum is saturated there (aio__time_add). Every
 * deadline is computed by aio__deadline or aio__timeout_deadline; the
 * table in include/aio/loop.h says what each call accepts. */
#define AIO__TIME_LIMIT INT64_C(4000000000000000000)
int64_t aio__clock_ns(void); /* CLOCK_MONOTONIC in ns */
/* Seconds (not NaN: the caller refuses it) to nanoseconds, rounded up (a
 * timer never fires early) and clamped to +-AIO__TIME_LIMIT. */
int64_t aio__seconds_to_ns(double seconds);
int64_t aio__delay_ns(double seconds); /* the same, and >= 0 */
/* t + d, saturated at +-AIO__TIME_LIMIT: never overflows. */
int64_t aio__time_add(int64_t t, int64_t d);
/* The loop's time `seconds` from now (finite or not, not NaN), saturated. */
int64_t aio__deadline(const aio_loop *loop, double seconds);
/* A timeout's deadline: false for +infinity (no timeout); a timeout <= 0,
 * -infinity included, is due now (it expires after one look). */
bool aio__timeout_deadline(const aio_loop *loop, double timeout, int64_t *when);

/* run.c */
int aio__run_until_no_tasks(aio_loop *loop);
bool aio__thread_running(void); /* a loop is running on this thread */

#endif /* AIO_CORE_LOOP_H */
