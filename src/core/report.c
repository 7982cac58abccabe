/* Reports (asyncio's call_exception_handler): what the loop tells the
 * exception handler, or stderr when none is set. */
#include "core/compiler.h"
#include "core/futures.h"
#include "core/loop.h"
#include "core/report.h"
#include "debug/debug.h"

#include <stdio.h>

static const char *slot_name(const aio_loop *loop, uint32_t idx) {
    return loop->fut.extras ? loop->fut.extras[idx].name : NULL;
}

void aio__report(aio_loop *loop, const char *msg, int err, uint32_t idx) {
    char where[1024]; /* debug mode: where the task waits, or where the future was made */
    aio__report_at(loop, msg, err, idx,
                   loop->dbg.on && idx != AIO__NIL ? aio__debug_location(loop, idx, where, sizeof where)
                                                   : NULL);
}

void aio__report_at(aio_loop *loop, const char *msg, int err, uint32_t idx, const char *location) {
    aio_report r;
    r.message = msg;
    r.error = err;
    r.future = idx != AIO__NIL ? aio__fut_handle(loop, idx) : (aio_future){0};
    r.task_name = idx != AIO__NIL ? slot_name(loop, idx) : NULL;
    r.location = location;
    if (loop->report.handler) {
        /* The report may come from the middle of the loop's own work (a
         * slot being freed, the loop closing): while the handler runs, the
         * loop refuses every call that could change it (AIO_EINREPORT). */
        uint8_t was = aio__fut_bar(loop, AIO__BAR_REPORTING);
        loop->report.handler(loop, &r, loop->report.arg);
        aio__fut_unbar(loop, was);
        return;
    }
    fprintf(stderr, "libaio: %s", msg);
    if (r.task_name)
        fprintf(stderr, " (task %s)", r.task_name);
    if (err)
        fprintf(stderr, ": %s", aio_strerror(err));
    if (r.location)
        fprintf(stderr, " [%s]", r.location);
    fputc('\n', stderr);
}

void aio__report_unretrieved(aio_loop *loop, uint32_t idx) {
    aio__fut *s = &loop->fut.slots[idx];
    if (!(s->flags & AIO__FF_UNRETRIEVED) || s->state != AIO__FS_ERROR)
        return;                               /* (a WOKEN slot carries the flag too: nothing to report) */
    s->flags &= ~AIO__FF_UNRETRIEVED & 0x7fu; /* exactly one report */
    aio__report(loop,
                (s->flags & AIO__FF_TASK) ? "Task exception was never retrieved"
                                          : "Future exception was never retrieved",
                (int)s->u.value.i, idx);
}
