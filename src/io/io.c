/* fd watchers (asyncio's add_reader / add_writer) and the library's
 * internal watchers: one record per fd, indexed by fd. The backend is told
 * only about changes of interest.
 *
 * A ready fd does not run a public callback from inside the poll: it queues
 * an entry naming (fd, direction), and the entry looks the watcher up when
 * it runs. So a watcher removed (or replaced) between the poll and its turn
 * never runs stale. Readiness waiters are woken (their futures completed)
 * and internal watchers called from inside the poll: neither runs user
 * code there. */
#include "core/compiler.h"
#include "core/futures.h"
#include "core/loop.h"
#include "core/report.h"
#include "core/mem.h"
#include "core/ready.h"
#include "io/io.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

/* fdwait.c */
void aio__fdq_ready(aio_loop *loop, int fd, unsigned events);

int aio__io_reserve(aio_loop *loop, int fd) {
    if (fd < loop->io.cap)
        return 0;
    int cap = loop->io.cap ? loop->io.cap : 64;
    while (cap <= fd)
        cap *= 2;
    aio__io *io = aio__realloc(loop->io.fds, (size_t)cap * sizeof *io);
    if (!io)
        return -ENOMEM;
    memset(io + loop->io.cap, 0, (size_t)(cap - loop->io.cap) * sizeof *io);
    for (int i = loop->io.cap; i < cap; i++)
        io[i].bk = -1;
    loop->io.fds = io;
    loop->io.cap = cap;
    return 0;
}

/* What fd's users wait for: an internal watcher's `want`, else the public
 * watchers' and the waiters' directions. */
static unsigned logical_events(const aio__io *w) {
    if (w->iow)
        return w->iow->want;
    return (w->fn[0] ? AIO__EV_READ : 0u) | (w->fn[1] ? AIO__EV_WRITE : 0u) | aio__fdq_wanted(w);
}

/* What to register: an edge-triggered internal watcher stays registered for
 * both directions whatever it wants; anything else registers exactly what
 * is wanted (level-triggered). */
static unsigned backend_events(const aio_loop *loop, const aio__io *w) {
    if (w->iow && loop->io.backend->edge)
        return AIO__EV_READ | AIO__EV_WRITE | AIO__EV_EDGE;
    return logical_events(w);
}

static void count_update(aio_loop *loop, aio__io *w) {
    bool c = logical_events(w) != 0;
    if (c != (bool)w->counted) {
        loop->io.count += c ? 1 : -1;
        w->counted = c;
    }
}

int aio__io_update(aio_loop *loop, int fd, bool force) {
    aio__io *w = &loop->io.fds[fd];
    unsigned new_ev = backend_events(loop, w);
    if (new_ev != w->events || (force && new_ev)) {
        int rc = loop->io.backend->watch(loop, fd, w->events, new_ev);
        if (rc < 0 && new_ev != 0)
            return rc;
        w->events = new_ev & 0xffu; /* removal errors (fd already closed) don't matter */
    }
    count_update(loop, w);
    return 0;
}

/* Install (fn != NULL) or clear the public watcher of one direction.
 * Adding always tells the backend, even with unchanged interest: the fd
 * may have been closed and its number reused since (epoll forgets closed
 * files, so only a fresh registration watches the new one). */
static int io_set(aio_loop *loop, int fd, int dir, aio_callback fn, void *arg) {
    aio__io *w = &loop->io.fds[fd];
    aio_callback old_fn = w->fn[dir];
    void *old_arg = w->arg[dir];
    w->fn[dir] = fn;
    w->arg[dir] = arg;
    int rc = aio__io_update(loop, fd, fn != NULL);
    if (rc < 0) {
        w->fn[dir] = old_fn;
        w->arg[dir] = old_arg;
        count_update(loop, w);
    }
    return rc;
}

static int io_add(aio_loop *loop, int fd, int dir, aio_callback fn, void *arg) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!fn)
        return -EINVAL;
    if (fd < 0 || fcntl(fd, F_GETFD) < 0)
        return -EBADF;
    if ((rc = aio__io_reserve(loop, fd)) < 0)
        return rc;
    if (loop->io.fds[fd].iow)
        return -EBUSY; /* a stream or server of the library owns it */
    return io_set(loop, fd, dir, fn, arg);
}

static int io_remove(aio_loop *loop, int fd, int dir) {
    if (!loop)
        return -EINVAL;
    if (loop->fut.barred & AIO__BAR_REPORTING)
        return AIO_EINREPORT;
    if (fd < 0 || fd >= loop->io.cap || !loop->io.fds[fd].fn[dir])
        return 0;
    io_set(loop, fd, dir, NULL, NULL); /* errors (fd already closed) don't matter */
    return 1;
}

int aio_add_reader(aio_loop *loop, int fd, aio_callback fn, void *arg) {
    return io_add(loop, fd, 0, fn, arg);
}
int aio_add_writer(aio_loop *loop, int fd, aio_callback fn, void *arg) {
    return io_add(loop, fd, 1, fn, arg);
}
int aio_remove_reader(aio_loop *loop, int fd) { return io_remove(loop, fd, 0); }
int aio_remove_writer(aio_loop *loop, int fd) { return io_remove(loop, fd, 1); }

/* ---- internal watchers ---- */

int aio__iow_start(aio_loop *loop, aio__iow *w, int fd, aio__iow_fn fn, unsigned want) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (fd < 0)
        return -EBADF;
    if ((rc = aio__io_reserve(loop, fd)) < 0)
        return rc;
    aio__io *r = &loop->io.fds[fd];
    if (r->iow || r->fn[0] || r->fn[1] || aio__fdq_wanted(r))
        return -EBUSY;
    w->fn = fn;
    w->fd = fd;
    w->want = want;
    r->iow = w;
    /* A fresh file: register it even if a stale registration of its number
     * seems to be there. */
    if ((rc = aio__io_update(loop, fd, true)) < 0) {
        r->iow = NULL;
        count_update(loop, r);
    }
    return rc;
}

void aio__iow_want(aio_loop *loop, aio__iow *w, unsigned want) {
    if (w->want == want)
        return;
    bool was = w->want != 0, is = want != 0;
    w->want = want;
    if (!loop->io.backend->edge) {
        (void)aio__io_update(loop, w->fd, false); /* poll: an array write, cannot fail but for memory */
    } else if (was != is) { /* registered for both directions already: only the count moves */
        loop->io.count += is ? 1 : -1;
        loop->io.fds[w->fd].counted = is;
    }
}

void aio__iow_stop(aio_loop *loop, aio__iow *w) {
    if (w->fd < 0 || w->fd >= loop->io.cap || loop->io.fds[w->fd].iow != w)
        return;
    w->want = 0;
    loop->io.fds[w->fd].iow = NULL;
    (void)aio__io_update(loop, w->fd, false);
}

/* ---- readiness ---- */

/* Ready-queue entry: arg is fd * 2 + direction. */
static void io_dispatch(aio_loop *loop, void *arg) {
    uintptr_t v = (uintptr_t)arg;
    int fd = (int)(v >> 1), dir = (int)(v & 1);
    if (fd < loop->io.cap && loop->io.fds[fd].fn[dir])
        loop->io.fds[fd].fn[dir](loop, loop->io.fds[fd].arg[dir]);
}

/* So that debug mode can tell a watcher's entry (and time the watcher). */
void aio__io_dispatch(aio_loop *loop, void *arg) { io_dispatch(loop, arg); }

/* A ready fd that finds no room in the ready queue (and no memory to grow
 * it) is not lost: the backends are level-triggered, so the next poll
 * reports it again (the queue is not empty: that poll does not wait). */
void aio__io_ready(aio_loop *loop, int fd, unsigned events) {
    if (fd < 0 || fd >= loop->io.cap)
        return;
    aio__io *r = &loop->io.fds[fd];
    if (r->iow) {
        r->iow->fn(loop, r->iow, events);
        return;
    }
    for (int dir = 0; dir < 2; dir++) {
        unsigned bit = dir ? AIO__EV_WRITE : AIO__EV_READ;
        if ((events & bit) && loop->io.fds[fd].fn[dir])
            (void)aio__ready_push(loop, aio__io_dispatch, (void *)(((uintptr_t)fd << 1) | (uintptr_t)dir), NULL);
    }
    if (r->q)
        aio__fdq_ready(loop, fd, events);
}

void aio__io_closed(aio_loop *loop, int fd) {
    if (fd < 0 || fd >= loop->io.cap || !loop->io.fds[fd].events)
        return;
    aio__io *r = &loop->io.fds[fd];
    if (r->iow) {
        /* A stream's fd closed behind its back (through aio_stream_fd): its
         * next system call fails with EBADF and it closes itself. */
        aio__report(loop, "fd of a stream or server closed while in use", -EBADF, AIO__NIL);
        (void)loop->io.backend->watch(loop, fd, r->events, 0);
        r->events = 0;
        r->iow->fn(loop, r->iow, AIO__EV_READ | AIO__EV_WRITE | AIO__EV_ERROR);
        return;
    }
    aio__report(loop, "fd closed while watched: its watchers were removed", -EBADF, AIO__NIL);
    io_remove(loop, fd, 0);
    io_remove(loop, fd, 1);
    /* Waiters on it fail (their take finds the fd closed) and leave. */
    if (loop->io.fds[fd].q)
        aio__fdq_ready(loop, fd, AIO__EV_READ | AIO__EV_WRITE | AIO__EV_ERROR);
}

void aio__io_free(aio_loop *loop) {
    aio__fdq_free_all(loop);
    aio__free(loop->io.fds);
    loop->io.fds = NULL;
    loop->io.cap = 0;
    loop->io.count = 0;
}
