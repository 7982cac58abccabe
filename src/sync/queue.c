/* asyncio.Queue, LifoQueue and PriorityQueue on three wait queues (getters,
 * putters, joiners).
 *
 * Items live in one buffer that grows geometrically: a ring (FIFO), a
 * stack (LIFO) or a binary heap of (key, arrival, item) (priority). What
 * waiters are promised is reserved when they are woken and handed over
 * when they resume:
 *   - a woken getter has an item reserved (woken_get; its data is 1): it
 *     takes the next item then; items not reserved are avail();
 *   - a woken putter has room reserved (woken_put; the buffer already has
 *     the capacity), and its item waits in its data until it resumes;
 *   - after a shutdown, waiters woken to fail are counted in woken_shut
 *     (reserved putters move there: they fail too).
 * No barging, in item order too: a newcomer is served at once only if
 * nobody queues and nobody woken has yet to take (a woken waiter takes
 * when it resumes, after the caller of a call served at once); otherwise
 * it queues, and each take wakes the next. Invariants: cap >= n +
 * woken_put; free items (room) and queued getters (putters) together
 * only while woken getters (putters) have yet to take, or out of memory. */
#include "core/mem.h"
#include "core/task.h"
#include "sync/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FIFO, LIFO, PRIORITY };
enum { OPEN, SHUT, SHUT_NOW }; /* aio__shutdown */

#define MIN_CAP 8u

typedef struct prio_ent {
    int64_t key;
    uint64_t seq; /* arrival: equal keys leave in FIFO order */
    aio_value item;
} prio_ent;

static aio_queue *of_get(aio__taker *tk) { return AIO__CONTAINER(tk, aio_queue, aio__tk_get); }
static aio_queue *of_put(aio__taker *tk) { return AIO__CONTAINER(tk, aio_queue, aio__tk_put); }
static aio_queue *of_join(aio__taker *tk) { return AIO__CONTAINER(tk, aio_queue, aio__tk_join); }

/* ---- storage ---- */

static size_t ent_size(const aio_queue *q) {
    return q->aio__kind == PRIORITY ? sizeof(prio_ent) : sizeof(aio_value);
}

/* Capacity for `need` items (more than there is): doubling (a FIFO ring
 * stays a power of two, unwrapped into the new buffer). 0 or -ENOMEM. */
AIO__NOINLINE static int grow(aio_queue *q, size_t need) {
    size_t cap = q->aio__cap ? q->aio__cap : MIN_CAP;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / sizeof(prio_ent))
            return -ENOMEM;
        cap *= 2;
    }
    size_t es = ent_size(q);
    if (q->aio__kind == FIFO) {
        aio_value *ring = aio__malloc(cap * es), *old = q->aio__buf;
        if (!ring)
            return -ENOMEM;
        size_t first = q->aio__cap - q->aio__head; /* from head to the end of the old ring */
        if (first > q->aio__n)
            first = q->aio__n;
        if (q->aio__n) {
            memcpy(ring, old + q->aio__head, first * es);
            memcpy(ring + first, old, (q->aio__n - first) * es);
        }
        free(old);
        q->aio__buf = ring;
        q->aio__head = 0;
    } else {
        void *buf = aio__realloc(q->aio__buf, cap * es);
        if (!buf)
            return -ENOMEM;
        q->aio__buf = buf;
    }
    q->aio__cap = cap;
    return 0;
}

static inline int reserve(aio_queue *q, size_t need) {
    return AIO__LIKELY(need <= q->aio__cap) ? 0 : grow(q, need);
}

static int prio_less(const prio_ent *a, const prio_ent *b) {
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

AIO__NOINLINE static void heap_push(aio_queue *q, aio_value item) {
    prio_ent *h = q->aio__buf, e;
    e.key = q->aio__key ? q->aio__key(item) : item.i;
    e.seq = q->aio__seq++;
    e.item = item;
    size_t i = q->aio__n;
    while (i > 0 && prio_less(&e, &h[(i - 1) / 2])) { /* sift up */
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = e;
}

/* The root out; n is the count without it. */
AIO__NOINLINE static aio_value heap_pop(aio_queue *q, size_t n) {
    prio_ent *h = q->aio__buf, last = h[n];
    aio_value item = h[0].item;
    size_t i = 0;
    for (;;) { /* sift the last entry down from the root */
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && prio_less(&h[c + 1], &h[c]))
            c++;
        if (!prio_less(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (n)
        h[i] = last;
    return item;
}

/* Add an item (the capacity is there). */
static inline void insert(aio_queue *q, aio_value item) {
    aio_value *buf = q->aio__buf;
    if (q->aio__kind == FIFO)
        buf[(q->aio__head + q->aio__n) & (q->aio__cap - 1)] = item;
    else if (q->aio__kind == LIFO)
        buf[q->aio__n] = item;
    else
        heap_push(q, item);
    q->aio__n++;
}

/* Remove the next item (there is one). */
static inline aio_value remove_next(aio_queue *q) {
    aio_value *buf = q->aio__buf, item;
    size_t n = --q->aio__n;
    if (q->aio__kind == FIFO) {
        item = buf[q->aio__head];
        q->aio__head = (q->aio__head + 1) & (q->aio__cap - 1);
    } else if (q->aio__kind == LIFO) {
        item = buf[n];
    } else {
        item = heap_pop(q, n);
    }
    return item;
}

/* ---- who may go on ---- */

/* Items not reserved for woken getters. */
static size_t avail(const aio_queue *q) {
    return q->aio__n > q->aio__woken_get ? q->aio__n - q->aio__woken_get : 0;
}

/* Room not reserved for woken putters. */
static int has_room(const aio_queue *q) {
    return q->aio__maxsize == 0 || q->aio__n + q->aio__woken_put < q->aio__maxsize;
}

/* A newcomer may be served at once (no barging past queued or woken). */
static int get_at_once(const aio_queue *q) {
    return avail(q) > 0 && aio__waitq_empty(&q->aio__getq) && q->aio__woken_get == 0;
}
static int put_at_once(const aio_queue *q) {
    return has_room(q) && aio__waitq_empty(&q->aio__putq) && q->aio__woken_put == 0;
}

/* Reserve free items for the head getters (counted before each wake: a
 * getter nobody holds is declined inside it). Once the queue is shut down
 * (no item will come), the getters left without one fail. */
AIO__NOINLINE static void wake_getters(aio_loop *loop, aio_queue *q) {
    while (avail(q) > 0 && !aio__waitq_empty(&q->aio__getq)) {
        q->aio__woken_get++;
        aio__waitq_data(loop, aio__waitq_head(&q->aio__getq))->u = 1; /* reserved */
        aio__waitq_wake(loop, &q->aio__getq, &q->aio__tk_get);
    }
    if (q->aio__shutdown != OPEN && avail(q) == 0) {
        q->aio__woken_shut += q->aio__getq.count; /* their data is 0: they fail */
        aio__waitq_wake_all(loop, &q->aio__getq, &q->aio__tk_get);
    }
}

/* Reserve free room (and its capacity) for the head putters. */
AIO__NOINLINE static void wake_putters(aio_loop *loop, aio_queue *q) {
    while (q->aio__shutdown == OPEN && has_room(q) && !aio__waitq_empty(&q->aio__putq)) {
        if (reserve(q, q->aio__n + q->aio__woken_put + 1) < 0)
            return; /* out of memory: they wait for the next get */
        q->aio__woken_put++;
        aio__waitq_wake(loop, &q->aio__putq, &q->aio__tk_put);
    }
}

static void wake_joiners(aio_loop *loop, aio_queue *q) {
    q->aio__woken_join += q->aio__joinq.count;
    aio__waitq_wake_all(loop, &q->aio__joinq, &q->aio__tk_join);
}

/* ---- takers ---- */

static int get_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    aio_queue *q = of_get(tk);
    if (aio__waitq_data(loop, idx)->u == 0) { /* woken by shutdown */
        q->aio__woken_shut--;
        return AIO_ESHUTDOWN;
    }
    q->aio__woken_get--;
    if (q->aio__shutdown == SHUT_NOW)
        return AIO_ESHUTDOWN; /* its item was dropped */
    *out = remove_next(q);
    wake_getters(loop, q); /* newcomers that queued behind it */
    wake_putters(loop, q);
    return 0;
}

static void get_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    aio_queue *q = of_get(tk);
    if (aio__waitq_data(loop, idx)->u == 0) {
        q->aio__woken_shut--;
        return;
    }
    q->aio__woken_get--;
    wake_getters(loop, q); /* its item goes to the next getter */
}

static int put_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    aio_queue *q = of_put(tk);
    if (q->aio__shutdown != OPEN) {
        q->aio__woken_shut--;
        return AIO_ESHUTDOWN; /* not put: the item is still the putter's */
    }
    q->aio__woken_put--;
    insert(q, *aio__waitq_data(loop, idx));
    q->aio__unfinished++;
    wake_putters(loop, q); /* newcomers that queued behind it */
    wake_getters(loop, q);
    out->u = 0;
    return 0;
}

static void put_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio_queue *q = of_put(tk);
    if (q->aio__shutdown != OPEN) {
        q->aio__woken_shut--;
        return;
    }
    q->aio__woken_put--;
    wake_putters(loop, q); /* its room goes to the next putter */
}

static int join_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)loop;
    (void)idx;
    of_join(tk)->aio__woken_join--;
    out->u = 0;
    return 0;
}

static void join_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)loop;
    (void)idx;
    of_join(tk)->aio__woken_join--;
}

/* For the task dumps (aio/debug.h): the items and the room. */
static void getq_describe(aio_loop *loop, const aio__waitq *wq, char *buf, size_t len) {
    (void)loop;
    const aio_queue *q = AIO__CONTAINER(wq, aio_queue, aio__getq);
    snprintf(buf, len, "%zu items", q->aio__n);
}

static void putq_describe(aio_loop *loop, const aio__waitq *wq, char *buf, size_t len) {
    (void)loop;
    const aio_queue *q = AIO__CONTAINER(wq, aio_queue, aio__putq);
    snprintf(buf, len, "%zu of %zu items", q->aio__n, q->aio__maxsize);
}

static void joinq_describe(aio_loop *loop, const aio__waitq *wq, char *buf, size_t len) {
    (void)loop;
    const aio_queue *q = AIO__CONTAINER(wq, aio_queue, aio__joinq);
    snprintf(buf, len, "%zu unfinished", q->aio__unfinished);
}

static const aio__waitq_ops getq_ops = {.what = "queue get", .describe = getq_describe};
static const aio__waitq_ops putq_ops = {.what = "queue put", .describe = putq_describe};
static const aio__waitq_ops joinq_ops = {.what = "queue join", .describe = joinq_describe};

AIO__NOINLINE static int queue_bind_slow(aio_loop *loop, aio_queue *q) {
    int rc = aio__sync_bind(loop, &q->aio__b);
    if (rc == 1) {
        q->aio__getq.ops = &getq_ops;
        q->aio__putq.ops = &putq_ops;
        q->aio__joinq.ops = &joinq_ops;
        static const aio__taker_ops get_ops = {get_take, get_decline, NULL};
        static const aio__taker_ops put_ops = {put_take, put_decline, NULL};
        static const aio__taker_ops join_ops = {join_take, join_decline, NULL};
        q->aio__tk_get.ops = &get_ops;
        q->aio__tk_put.ops = &put_ops;
        q->aio__tk_join.ops = &join_ops;
        rc = 0;
    }
    return rc;
}

static inline int queue_bind(aio_loop *loop, aio_queue *q) {
    return aio__sync_bound(loop, &q->aio__b) ? 0 : queue_bind_slow(loop, q);
}

/* ---- the API ---- */

static int init(aio_queue *q, size_t maxsize, uint8_t kind, aio_queue_key_fn key) {
    if (!q)
        return -EINVAL;
    *q = (aio_queue)AIO__QUEUE_INIT(maxsize, kind, key);
    return 0;
}

int aio_queue_init(aio_queue *q, size_t maxsize) { return init(q, maxsize, FIFO, NULL); }
int aio_lifo_queue_init(aio_queue *q, size_t maxsize) { return init(q, maxsize, LIFO, NULL); }
int aio_priority_queue_init(aio_queue *q, size_t maxsize, aio_queue_key_fn key) {
    return init(q, maxsize, PRIORITY, key);
}

/* Tasks wait on it, or were woken and have not resumed. */
static int busy(const aio_queue *q) {
    return q->aio__getq.count || q->aio__putq.count || q->aio__joinq.count || q->aio__woken_get ||
           q->aio__woken_put || q->aio__woken_shut || q->aio__woken_join;
}

int aio_queue_destroy(aio_loop *loop, aio_queue *q) {
    if (!q)
        return -EINVAL;
    if (loop && q->aio__b.loop) {
        if (q->aio__b.loop != loop || q->aio__b.tag != loop->tag)
            return AIO_EFOREIGN;
        if (!loop->closed && busy(q))
            return -EBUSY; /* its waiters point into it */
    }
    free(q->aio__buf);
    return init(q, q->aio__maxsize, q->aio__kind, q->aio__key);
}

aio_future aio_queue_put(aio_loop *loop, aio_queue *q, aio_value item) {
    if (!q)
        return aio__error_handle(-EINVAL);
    int rc = queue_bind(loop, q);
    if (rc < 0)
        return aio__error_handle(rc);
    if (q->aio__shutdown != OPEN)
        return aio__error_handle(AIO_ESHUTDOWN);
    uint32_t idx = 0;
    if (put_at_once(q)) {
        if ((rc = reserve(q, q->aio__n + q->aio__woken_put + 1)) == 0 &&
            (rc = aio__waitq_new_woken(loop, &q->aio__tk_put, item, &idx)) == 0)
            q->aio__woken_put++; /* room reserved: the item goes in at the await */
    } else if ((rc = aio__waitq_push(loop, &q->aio__putq, &idx)) == 0) {
        *aio__waitq_data(loop, idx) = item;
    }
    return aio__sync_future(loop, rc, idx);
}

static inline int put_nowait(aio_loop *loop, aio_queue *q, aio_value item) {
    if (!q)
        return -EINVAL;
    int rc = queue_bind(loop, q);
    if (rc < 0)
        return rc;
    if (q->aio__shutdown != OPEN)
        return AIO_ESHUTDOWN;
    if (!put_at_once(q))
        return -EAGAIN;
    if ((rc = reserve(q, q->aio__n + q->aio__woken_put + 1)) < 0)
        return rc;
    insert(q, item);
    q->aio__unfinished++;
    if (!aio__waitq_empty(&q->aio__getq))
        wake_getters(loop, q);
    return 0;
}

int aio_queue_put_nowait(aio_loop *loop, aio_queue *q, aio_value item) { return put_nowait(loop, q, item); }

int aio__queue_put_now(aio_task *t, aio_queue *q) {
    int rc = put_nowait(aio__running_loop(), q, t->aio__u.v); /* the item the macro stored */
    return rc == -EAGAIN ? 0 : aio__task_served_now(t, rc, AIO_NONE);
}

aio_future aio_queue_get(aio_loop *loop, aio_queue *q) {
    if (!q)
        return aio__error_handle(-EINVAL);
    int rc = queue_bind(loop, q);
    if (rc < 0)
        return aio__error_handle(rc);
    uint32_t idx = 0;
    if (get_at_once(q)) {
        aio_value reserved;
        reserved.u = 1;
        if ((rc = aio__waitq_new_woken(loop, &q->aio__tk_get, reserved, &idx)) == 0)
            q->aio__woken_get++; /* an item reserved: taken at the await */
    } else if (q->aio__shutdown != OPEN && avail(q) == 0) {
        rc = AIO_ESHUTDOWN; /* nothing left for us */
    } else {
        rc = aio__waitq_push(loop, &q->aio__getq, &idx);
    }
    return aio__sync_future(loop, rc, idx);
}

static inline int get_nowait(aio_loop *loop, aio_queue *q, aio_value *out) {
    if (!q || !out)
        return -EINVAL;
    int rc = queue_bind(loop, q);
    if (rc < 0)
        return rc;
    if (!get_at_once(q))
        return q->aio__shutdown != OPEN && avail(q) == 0 ? AIO_ESHUTDOWN : -EAGAIN;
    *out = remove_next(q);
    if (!aio__waitq_empty(&q->aio__putq))
        wake_putters(loop, q);
    return 0;
}

int aio_queue_get_nowait(aio_loop *loop, aio_queue *q, aio_value *out) { return get_nowait(loop, q, out); }

int aio__queue_get_now(aio_task *t, aio_queue *q) {
    aio_value v = AIO_NONE;
    int rc = get_nowait(aio__running_loop(), q, &v);
    return rc == -EAGAIN ? 0 : aio__task_served_now(t, rc, v);
}

int aio_queue_task_done(aio_loop *loop, aio_queue *q) {
    if (!q)
        return -EINVAL;
    int rc = queue_bind(loop, q);
    if (rc < 0)
        return rc;
    if (q->aio__unfinished == 0)
        return -EINVAL; /* asyncio: task_done() called too many times */
    if (--q->aio__unfinished == 0)
        wake_joiners(loop, q);
    return 0;
}

aio_future aio_queue_join(aio_loop *loop, aio_queue *q) {
    if (!q)
        return aio__error_handle(-EINVAL);
    int rc = queue_bind(loop, q);
    if (rc < 0)
        return aio__error_handle(rc);
    uint32_t idx = 0;
    if (q->aio__unfinished == 0) {
        if ((rc = aio__waitq_new_woken(loop, &q->aio__tk_join, AIO_NONE, &idx)) == 0)
            q->aio__woken_join++;
    } else {
        rc = aio__waitq_push(loop, &q->aio__joinq, &idx);
    }
    return aio__sync_future(loop, rc, idx);
}

int aio_queue_shutdown(aio_loop *loop, aio_queue *q, int immediate) {
    if (!q)
        return -EINVAL;
    int rc = queue_bind(loop, q);
    if (rc < 0)
        return rc;
    if (immediate)
        q->aio__shutdown = SHUT_NOW;
    else if (q->aio__shutdown == OPEN)
        q->aio__shutdown = SHUT;
    /* Putters woken with room reserved fail when they resume. */
    q->aio__woken_shut += q->aio__woken_put;
    q->aio__woken_put = 0;
    if (immediate && q->aio__n) {
        /* Drop the items (getters woken for them fail too); they count
         * as done for join, as in asyncio. */
        size_t dropped = q->aio__n;
        q->aio__n = q->aio__head = 0;
        q->aio__unfinished -= dropped < q->aio__unfinished ? dropped : q->aio__unfinished;
        if (q->aio__unfinished == 0)
            wake_joiners(loop, q);
    }
    /* Every waiting putter fails, and every getter no item is left for
     * (counted before the wakes). */
    q->aio__woken_shut += q->aio__putq.count;
    aio__waitq_wake_all(loop, &q->aio__putq, &q->aio__tk_put);
    wake_getters(loop, q);
    return 0;
}

size_t aio_queue_qsize(const aio_queue *q) { return q ? q->aio__n : 0; }
size_t aio_queue_maxsize(const aio_queue *q) { return q ? q->aio__maxsize : 0; }
int aio_queue_empty(const aio_queue *q) { return q ? q->aio__n == 0 : 1; }
int aio_queue_full(const aio_queue *q) { return q && q->aio__maxsize > 0 && q->aio__n >= q->aio__maxsize; }
