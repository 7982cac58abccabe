/* fd watchers (asyncio's add_reader / add_writer): one record per fd,
 * indexed by fd, holding the reader and writer callbacks. The backend is
 * told only about changes of interest.
 *
 * A ready fd does not run its callback from inside the poll: it queues an
 * entry naming (fd, direction), and the entry looks the watcher up when it
 * runs. So a watcher removed (or replaced) between the poll and its turn
 * never runs stale. */
#include "core/compiler.h"
#include "core/futures.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/ready.h"
#include "io/io.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static int io_reserve(aio_loop *loop, int fd) {
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

static unsigned wanted_events(const aio__io *w) {
    return (w->fn[0] ? AIO__EV_READ : 0u) | (w->fn[1] ? AIO__EV_WRITE : 0u);
}

/* Install (fn != NULL) or clear the watcher of one direction. */
static int io_set(aio_loop *loop, int fd, int dir, aio_callback fn, void *arg) {
    aio__io *w = &loop->io.fds[fd];
    unsigned old_ev = w->events;
    aio_callback old_fn = w->fn[dir];
    void *old_arg = w->arg[dir];
    w->fn[dir] = fn;
    w->arg[dir] = arg;
    unsigned new_ev = wanted_events(w);
    /* Adding always tells the backend, even with unchanged interest: the fd
     * may have been closed and its number reused since (epoll forgets closed
     * files, so only a fresh registration watches the new one). */
    if (new_ev != old_ev || fn) {
        int rc = loop->io.backend->watch(loop, fd, old_ev, new_ev);
        if (rc < 0 && new_ev != 0) {
            w->fn[dir] = old_fn;
            w->arg[dir] = old_arg;
            return rc;
        }
        w->events = new_ev;
        if (!old_ev && new_ev)
            loop->io.count++;
        else if (old_ev && !new_ev)
            loop->io.count--;
    }
    return 0;
}

static int io_add(aio_loop *loop, int fd, int dir, aio_callback fn, void *arg) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!fn)
        return -EINVAL;
    if (fd < 0 || fcntl(fd, F_GETFD) < 0)
        return -EBADF;
    if ((rc = io_reserve(loop, fd)) < 0)
        return rc;
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
    for (int dir = 0; dir < 2; dir++) {
        unsigned bit = dir ? AIO__EV_WRITE : AIO__EV_READ;
        if ((events & bit) && loop->io.fds[fd].fn[dir])
            (void)aio__ready_push(loop, aio__io_dispatch, (void *)(((uintptr_t)fd << 1) | (uintptr_t)dir), NULL);
    }
}

void aio__io_closed(aio_loop *loop, int fd) {
    if (fd < 0 || fd >= loop->io.cap || !loop->io.fds[fd].events)
        return;
    aio__report(loop, "fd closed while watched: its watchers were removed", -EBADF, AIO__NIL);
    io_remove(loop, fd, 0);
    io_remove(loop, fd, 1);
}

void aio__io_free(aio_loop *loop) {
    aio__free(loop->io.fds);
    loop->io.fds = NULL;
    loop->io.cap = 0;
    loop->io.count = 0;
}
