/* aio_run: asyncio.run for a coroutine. */
#include "core/futures.h"
#include "core/loop.h"
#include "core/report.h"
#include "core/mem.h"
#include "core/task.h"
#include "proc/signal.h"

#include <stdlib.h>

/* The tasks main left behind are cancelled and given the chance to finish
 * their cleanup, as asyncio.run does. One that fails during it with an
 * error of its own (not the cancellation) is reported once, with the task
 * and the error, and its error then counts as retrieved: no "never
 * retrieved" follows at close, whether or not someone still holds a
 * reference. Tasks created during the cleanup are not followed (asyncio
 * only looks at the ones it cancelled). */
static void shutdown_leftovers(aio_loop *loop) {
    size_t n = aio_loop_pending_tasks(loop), k = 0;
    uint32_t *left = n ? aio__malloc(n * sizeof *left) : NULL;
    /* Out of memory, the leftovers still finish; a failure among them is
     * then reported as never retrieved at close, as any other. */
    for (uint32_t i = 0; left && i < loop->fut.n && k < n; i++)
        if (loop->fut.slots[i].state == AIO__FS_PENDING && (loop->fut.slots[i].flags & AIO__FF_TASK) &&
            aio__fut_hold(loop, i) == 0) /* keeps the slot (and its outcome) past the task */
            left[k++] = i;
    aio__cancel_all_tasks(loop);
    aio__run_until_no_tasks(loop);
    for (size_t j = 0; j < k; j++) {
        uint32_t i = left[j];
        if (loop->fut.slots[i].state == AIO__FS_ERROR)
            aio__report(loop, "unhandled exception during aio_run() shutdown",
                        aio__fut_outcome(loop, i, NULL), i); /* reads it: retrieved */
        aio__fut_drop(loop, i);
    }
    free(left);
}

int aio_run_coro(aio_coro_fn fn, const void *frame, size_t frame_size, aio_value *result) {
    return aio_run_coro_ex(fn, frame, frame_size, result, NULL);
}

int aio_run_coro_ex(aio_coro_fn fn, const void *frame, size_t frame_size, aio_value *result,
                    const aio_run_options *opts) {
    unsigned signals = opts && opts->signals ? opts->signals : AIO_RUN_SIGINT;
    if (!fn || (!frame && frame_size) ||
        (signals & AIO_RUN_NO_SIGNALS ? signals != AIO_RUN_NO_SIGNALS
                                      : (signals & ~(AIO_RUN_SIGINT | AIO_RUN_SIGTERM)) != 0))
        return -EINVAL;
    if (aio__thread_running())
        return AIO_ERUNNING; /* asyncio.run from inside a running loop */
    aio_loop *loop;
    int rc = aio_loop_create(&loop, opts ? opts->loop : NULL);
    if (rc < 0)
        return rc;
    aio_future main_task = aio_create_task_sized(loop, fn, frame, frame_size);
    /* Graceful shutdown (proc/signal.c). Without it (no fd left for it),
     * the signals keep their dispositions: Ctrl-C still stops the program. */
    if (!(signals & AIO_RUN_NO_SIGNALS))
        aio__signal_route_begin(loop, main_task, signals);
    rc = aio_run_until_complete(loop, main_task, result);
    if (aio__signal_route_end(loop) && rc == AIO_ECANCELLED)
        rc = -EINTR; /* asyncio.Runner raises KeyboardInterrupt here */
    shutdown_leftovers(loop);
    aio_loop_free(loop);
    return rc;
}
