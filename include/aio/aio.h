/* libaio — asyncio's programming model in C: one thread, one event loop,
 * stackless coroutines, futures and tasks.
 *
 * Include this one header. Names follow asyncio: asyncio.X is aio_X (or
 * aio_future_X / aio_task_X for methods), with a few exceptions where POSIX
 * <aio.h> owns the name (aio_cancel, aio_error, ...): see README.md.
 */
#ifndef AIO_AIO_H
#define AIO_AIO_H

#define AIO_VERSION_MAJOR 0
#define AIO_VERSION_MINOR 1
#define AIO_VERSION_PATCH 0

#include "aio/errors.h"
#include "aio/types.h"
#include "aio/loop.h"
#include "aio/future.h"
#include "aio/coro.h"
#include "aio/task.h"
#include "aio/executor.h"
#include "aio/combinators.h"
#include "aio/sync.h"
#include "aio/queue.h"
#include "aio/signal.h"
#include "aio/group.h"
#include "aio/socket.h"
#include "aio/stream.h"
#include "aio/server.h"
#include "aio/debug.h"
#include "aio/process.h"

#endif /* AIO_AIO_H */
