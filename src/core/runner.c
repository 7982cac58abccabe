/* aio_run: asyncio.run for a coroutine. */
#include "core/loop.h"
#include "core/task.h"
#include "proc/signal.h"

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
    /* Tasks main left behind are cancelled and given the chance to finish
     * their cleanup, as asyncio.run does. */
    aio__cancel_all_tasks(loop);
    aio__run_until_no_tasks(loop);
    aio_loop_free(loop);
    return rc;
}
