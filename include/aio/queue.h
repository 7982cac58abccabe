/* libaio — queues: asyncio's Queue, LifoQueue and PriorityQueue.
 *
 * A queue lives in your memory and binds to the loop of its first use, as
 * every primitive of aio/sync.h (its comment at the top says how they
 * wait, are woken, and are handed what they waited for: wake, then take);
 * unlike them it allocates its storage, which grows geometrically and is
 * freed by aio_queue_destroy. A get served to a task cancelled before it
 * resumed goes to the next getter: no item is lost or duplicated.
 *
 * Errors every call taking a loop may return (as a code, or an error
 * handle): -EINVAL (NULL loop or queue), AIO_EFOREIGN, AIO_ECLOSED, and
 * -ENOMEM for a call that waits. None of these calls consumes anything. */
#ifndef AIO_QUEUE_H
#define AIO_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "aio/coro_impl.h"
#include "aio/sync.h"
#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Queues (asyncio.Queue, LifoQueue, PriorityQueue) -------------------- */

/* A priority queue's key for an item (lowest first). NULL at init: the
 * item's .i. */
typedef int64_t (*aio_queue_key_fn)(aio_value item);

/* A queue of aio_value items (8 bytes, like a future's result: an integer,
 * a double or a pointer). The queue copies the 8 bytes and never looks
 * at or frees what a pointer points to: an item put belongs to whoever
 * gets it; an item whose put failed (full, cancelled, shut down) is still
 * the putter's; an item dropped by aio_queue_shutdown(..., 1) or
 * aio_queue_destroy is the caller's to account for (get them first if
 * they must be freed). The fields are the library's. */
typedef struct aio_queue {
    aio__bound aio__b;
    aio__waitq aio__getq, aio__putq, aio__joinq;
    aio__taker aio__tk_get, aio__tk_put, aio__tk_join;
    void *aio__buf; /* a ring (FIFO), a stack (LIFO) or a heap (priority) */
    aio_queue_key_fn aio__key;
    uint64_t aio__seq; /* priority: arrival order, for ties */
    size_t aio__maxsize, aio__cap, aio__head, aio__n;
    size_t aio__woken_get;  /* items reserved for woken getters */
    size_t aio__woken_put;  /* room reserved for woken putters */
    size_t aio__woken_shut; /* waiters woken to fail by a shutdown */
    size_t aio__unfinished;
    uint32_t aio__woken_join;
    uint8_t aio__kind;
    uint8_t aio__shutdown; /* 1: shut down, 2: immediately */
} aio_queue;

/* Queues for a static or a frame: FIFO, LIFO, priority (by key(item),
 * lowest first; equal keys in FIFO order; key NULL: the item's .i).
 * maxsize 0: no bound. */
#define AIO_QUEUE_INIT(maxsize) AIO__QUEUE_INIT((maxsize), 0, 0)
#define AIO_LIFO_QUEUE_INIT(maxsize) AIO__QUEUE_INIT((maxsize), 1, 0)
#define AIO_PRIORITY_QUEUE_INIT(maxsize, key) AIO__QUEUE_INIT((maxsize), 2, (key))
#define AIO__QUEUE_INIT(maxsize, kind, key)                                                                  \
    {                                                                                                        \
        {0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0}, {0}, {0}, 0, (key), 0, (maxsize), 0, 0, 0, 0, \
            0, 0, 0, 0, (kind), 0                                                                            \
    }

/* Initialise an empty queue (unbound): FIFO, LIFO, or priority.
 * Returns: 0.  Errors: -EINVAL (NULL).  Consumes: nothing. */
int aio_queue_init(aio_queue *q, size_t maxsize);
int aio_lifo_queue_init(aio_queue *q, size_t maxsize);
int aio_priority_queue_init(aio_queue *q, size_t maxsize, aio_queue_key_fn key);

/* Free the queue's storage and return it to its initialised state (items
 * still in it are dropped). Pass its loop, or NULL once that loop has been
 * freed (after aio_run returned, for one).
 * Returns: 0.  Errors: -EBUSY (tasks wait on it: nothing freed),
 * AIO_EFOREIGN, -EINVAL (NULL queue).  Consumes: nothing. */
int aio_queue_destroy(aio_loop *loop, aio_queue *q);

/* Put an item (asyncio's Queue.put), waiting for room in a full queue.
 * Returns: a future; outcome 0 means the item is in the queue.
 * Errors: AIO_ESHUTDOWN (shut down, before or while waiting),
 * AIO_ECANCELLED at the await (not put), and see the top.
 * Consumes: nothing (the item is the queue's once put). */
aio_future aio_queue_put(aio_loop *loop, aio_queue *q, aio_value item);

/* Put without waiting (asyncio's put_nowait).
 * Returns: 0.  Errors: -EAGAIN (full: asyncio's QueueFull; also while
 * putters wait, or were woken and have not put yet: no overtaking),
 * AIO_ESHUTDOWN, -ENOMEM, and see the top.  Consumes: nothing. */
int aio_queue_put_nowait(aio_loop *loop, aio_queue *q, aio_value item);

/* Get an item (asyncio's Queue.get), waiting while the queue is empty.
 * Returns: a future whose result is the item.
 * Errors: AIO_ESHUTDOWN (shut down and empty, or shut down immediately),
 * AIO_ECANCELLED at the await (nothing taken), and see the top.
 * Consumes: nothing. */
aio_future aio_queue_get(aio_loop *loop, aio_queue *q);

/* Get without waiting (asyncio's get_nowait).
 * While getters wait, or were woken and have not taken their item yet, it
 * fails (no overtaking), though aio_queue_qsize counts those items.
 * Returns: 0 and *out = the item.
 * Errors: -EAGAIN (empty: asyncio's QueueEmpty), AIO_ESHUTDOWN (shut down
 * and empty), -EINVAL (NULL out), and see the top.  Consumes: nothing. */
int aio_queue_get_nowait(aio_loop *loop, aio_queue *q, aio_value *out);

/* One item got has been processed (asyncio's task_done); when every item
 * put has been, joiners wake.
 * Returns: 0.  Errors: -EINVAL (called more times than items were put:
 * asyncio's ValueError), and see the top.  Consumes: nothing. */
int aio_queue_task_done(aio_loop *loop, aio_queue *q);

/* Wait until every item put has been processed (asyncio's Queue.join).
 * Returns: a future (outcome 0).  Errors: see the top.  Consumes: nothing. */
aio_future aio_queue_join(aio_loop *loop, aio_queue *q);

/* Shut the queue down (asyncio 3.13's shutdown): puts fail with
 * AIO_ESHUTDOWN, waiting putters too; gets take what is left, then fail
 * with AIO_ESHUTDOWN, and so do waiting getters. With `immediate`, the
 * items left are dropped (and count as done for join), and every get
 * fails. Shutting down again is allowed.
 * Returns: 0.  Errors: see the top.  Consumes: nothing. */
int aio_queue_shutdown(aio_loop *loop, aio_queue *q, int immediate);

/* asyncio's qsize (items in the queue), maxsize, empty, full.
 * Returns: the value.  Errors: none (0 for NULL).  Consumes: nothing. */
size_t aio_queue_qsize(const aio_queue *q);
size_t aio_queue_maxsize(const aio_queue *q);
int aio_queue_empty(const aio_queue *q);
int aio_queue_full(const aio_queue *q);

/* The fast forms (aio/sync.h says how they work):
 *   AIO_QUEUE_PUT(t, q, item)      AIO_AWAIT(t, aio_queue_put(t, q, item))
 *   AIO_QUEUE_GET(t, q)            AIO_AWAIT(t, aio_queue_get(t, q)) */
#define AIO_QUEUE_PUT(t, q, item)                                                                            \
    do {                                                                                                     \
        AIO__TASK_ONLY(t)->aio__u.v = AIO_VALUE(item); /* once; the result slot is free here */              \
        AIO__SYNC_NOW_OR_AWAIT(t, aio__queue_put_now((t), (q)),                                              \
                               aio_queue_put(AIO__LOOP(t), (q), (t)->aio__u.v));                             \
    } while (0)
#define AIO_QUEUE_GET(t, q)                                                                                  \
    AIO__SYNC_NOW_OR_AWAIT(t, aio__queue_get_now(AIO__TASK_ONLY(t), (q)), aio_queue_get(AIO__LOOP(t), (q)))

int aio__queue_put_now(aio_task *t, aio_queue *q); /* the item in t's result slot */
int aio__queue_get_now(aio_task *t, aio_queue *q);

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for; an item may be any value AIO_VALUE takes. */
#ifndef AIO_BUILDING
#define aio_queue_destroy(x, ...) aio_queue_destroy(AIO__LOOP(x), __VA_ARGS__)
#define aio_queue_put(x, q, item) aio_queue_put(AIO__LOOP(x), (q), AIO_VALUE(item))
#define aio_queue_put_nowait(x, q, item) aio_queue_put_nowait(AIO__LOOP(x), (q), AIO_VALUE(item))
#define aio_queue_get(x, ...) aio_queue_get(AIO__LOOP(x), __VA_ARGS__)
#define aio_queue_get_nowait(x, ...) aio_queue_get_nowait(AIO__LOOP(x), __VA_ARGS__)
#define aio_queue_task_done(x, ...) aio_queue_task_done(AIO__LOOP(x), __VA_ARGS__)
#define aio_queue_join(x, ...) aio_queue_join(AIO__LOOP(x), __VA_ARGS__)
#define aio_queue_shutdown(x, ...) aio_queue_shutdown(AIO__LOOP(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_QUEUE_H */
