/* Readiness waiters (io.h): futures that wait for a user's fd to become
 * readable or writable, under aio_wait_readable / aio_wait_writable and the
 * sock_* calls (net/sock.c).
 *
 * Each waiter is a record from the loop's arena (no malloc once warm)
 * owning its future: cancelling the future unlinks the record and frees it
 * at once, and the fd's interest goes with the last waiter (the fd is the
 * user's: nothing may stay registered on it once nobody waits, as its
 * number can come back for another file at any time). A report wakes the
 * waiters at the head of the direction's FIFO up to the first that
 * consumes; wake-then-take waiters make their system call in take(), when
 * the consumer reads the outcome. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/loop.h"
#include "core/owner.h"
#include "core/waitq.h"
#include "io/io.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct aio__fdq {
    aio__fdop *head[2], *tail[2];
};

void aio__fdq_ready(aio_loop *loop, int fd, unsigned events);

unsigned aio__fdq_wanted(const aio__io *w) {
    if (!w->q)
        return 0;
    return (w->q->head[0] ? AIO__EV_READ : 0u) | (w->q->head[1] ? AIO__EV_WRITE : 0u);
}

static aio__fdop *of_taker(aio__taker *tk) {
    return (aio__fdop *)(void *)((char *)tk - offsetof(aio__fdop, tk));
}

static void op_free(aio_loop *loop, aio__fdop *op) { aio__arena_put(&loop->io.ops, op, sizeof *op); }

static void op_unlink(aio_loop *loop, aio__fdop *op) {
    struct aio__fdq *q = loop->io.fds[op->fd].q;
    if (op->prev)
        op->prev->next = op->next;
    else
        q->head[op->dir] = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        q->tail[op->dir] = op->prev;
    op->prev = op->next = NULL;
}

/* Cancel of a queued waiter (the only kind still owned: a woken one is a
 * plain WOKEN future). */
static int op_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    aio__fdop *op = (aio__fdop *)(void *)o;
    int fd = op->fd;
    op_unlink(loop, op);
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, op->fut, AIO_ECANCELLED, v);
    op_free(loop, op);
    (void)aio__io_update(loop, fd, false);
    return 1;
}
/* For the task dumps (aio/debug.h). */
static void op_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    (void)loop;
    const aio__fdop *op = (const aio__fdop *)(void *)o;
    snprintf(info->text, info->len, "fd %d %s", op->fd, op->dir ? "writable" : "readable");
}
static const aio__owner_ops op_ops = {.cancel = op_cancel, .describe = op_describe};

static int op_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)idx;
    aio__fdop *op = of_taker(tk);
    int rc = op->run ? op->run(loop, op, out) : 0;
    op_free(loop, op);
    return rc;
}

/* Nobody takes it: the system call is never made. Level-triggered, the fd
 * stays ready for the waiters behind it (the next poll reports it again). */
static void op_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    op_free(loop, of_taker(tk));
}

aio__fdop *aio__fdop_new(aio_loop *loop, int fd, int dir, bool consumes, int *err) {
    int rc = aio__loop_usable(loop);
    if (rc == 0 && (fd < 0 || fcntl(fd, F_GETFD) < 0))
        rc = -EBADF;
    if (rc == 0)
        rc = aio__io_reserve(loop, fd);
    if (rc == 0 && loop->io.fds[fd].iow)
        rc = -EBUSY; /* a stream or server owns it */
    aio__io *r = rc == 0 ? &loop->io.fds[fd] : NULL;
    if (rc == 0 && !r->q && !(r->q = aio__calloc(1, sizeof *r->q)))
        rc = -ENOMEM;
    aio__fdop *op = NULL;
    if (rc == 0 && !(op = aio__arena_alloc(loop, &loop->io.ops, sizeof *op)))
        rc = -ENOMEM;
    if (rc < 0) {
        *err = rc;
        return NULL;
    }
    memset(op, 0, sizeof *op);
    if ((rc = aio__fut_alloc(loop, &op->fut)) < 0) {
        op_free(loop, op);
        *err = rc;
        return NULL;
    }
    op->own.ops = &op_ops;
    aio__fut_set_owner(loop, op->fut, &op->own);
    op->tk.take = op_take;
    op->tk.decline = op_decline;
    op->fd = fd;
    op->dir = (uint8_t)dir;
    op->consumes = consumes;
    struct aio__fdq *q = r->q;
    bool first = q->head[dir] == NULL;
    op->prev = q->tail[dir];
    if (q->tail[dir])
        q->tail[dir]->next = op;
    else
        q->head[dir] = op;
    q->tail[dir] = op;
    /* The first waiter registers: afresh (force), as the number may have
     * been another file's when it was last watched. */
    if (first && (rc = aio__io_update(loop, fd, true)) < 0) {
        op_unlink(loop, op);
        uint32_t idx = op->fut;
        aio__owned_finish(loop, idx, AIO_ECANCELLED, (aio_value){0}); /* no report */
        aio__fut_consume(loop, idx);
        op_free(loop, op);
        *err = rc;
        return NULL;
    }
    return op;
}

/* Wake one wake-then-take waiter: its future becomes WOKEN and stops being
 * owned. The record lives on until take or decline. */
static void op_wake(aio_loop *loop, aio__fdop *op) {
    uint32_t idx = op->fut;
    op_unlink(loop, op);
    aio__fut_wake(loop, idx, &op->tk);
    aio__fut_drop(loop, idx); /* the owner's hold: may decline (and free op) if nobody holds it */
}

void aio__fdq_ready(aio_loop *loop, int fd, unsigned events) {
    struct aio__fdq *q = loop->io.fds[fd].q;
    for (int dir = 0; dir < 2; dir++) {
        if (!(events & (dir ? AIO__EV_WRITE : AIO__EV_READ)))
            continue;
        aio__fdop *op;
        while ((op = q->head[dir]) != NULL) {
            if (op->progress) {
                aio_value v = {0};
                int rc = op->progress(loop, op, &v);
                if (rc == 0)
                    break; /* still waiting: those behind it wait their turn */
                op_unlink(loop, op);
                aio__owned_finish(loop, op->fut, rc < 0 ? rc : 0, v);
                op_free(loop, op);
                continue;
            }
            bool consumes = op->consumes;
            op_wake(loop, op);
            if (consumes)
                break;
        }
    }
    (void)aio__io_update(loop, fd, false);
}

void aio__fdq_free_all(aio_loop *loop) {
    for (int fd = 0; fd < loop->io.cap; fd++) {
        aio__free(loop->io.fds[fd].q);
        loop->io.fds[fd].q = NULL;
    }
    aio__arena_free(loop, &loop->io.ops);
}
