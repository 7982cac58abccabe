/* aio_run: asyncio.run for a coroutine. */
#include "core/loop.h"
#include "core/task.h"

int aio_run_coro(aio_coro_fn fn, const void *frame, size_t frame_size, aio_value *result) {
    if (!fn || (!frame && frame_size))
        return -EINVAL;
    if (aio__thread_running())
        return AIO_ERUNNING; /* asyncio.run from inside a running loop */
    aio_loop *loop;
    int rc = aio_loop_create(&loop, NULL);
    if (rc < 0)
        return rc;
    aio_future main_task = aio_create_task_sized(loop, fn, frame, frame_size);
    rc = aio_run_until_complete(loop, main_task, result);
    /* Tasks main left behind are cancelled and given the chance to finish
     * their cleanup, as asyncio.run does. */
    aio__cancel_all_tasks(loop);
    aio__run_until_no_tasks(loop);
    aio_loop_free(loop);
    return rc;
}
