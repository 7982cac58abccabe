/* Awaitable fds and sockets the user owns: aio_wait_readable / writable
 * and asyncio's sock_recv, sock_sendall, sock_accept, sock_connect, each a
 * readiness waiter of the io layer (io/fdwait.c).
 *
 * recv and accept wait first and make their system call in take(), when
 * the awaiting coroutine resumes: bytes and connections stay in the kernel
 * until someone is there to take them, whatever is cancelled in between.
 * sendall and connect start at once (a send loses nothing when cancelled:
 * what went out went out). */
#include "core/futures.h"
#include "core/handles.h"
#include "net/net.h"
#include "io/sys.h"

#include <fcntl.h>
#include <string.h>

static aio_future done_future(aio_loop *loop, int64_t result) {
    aio_future f = aio_future_new_on(loop);
    if (aio_future_check(f) == 0)
        aio_future_set_result(loop, f, AIO_VALUE(result));
    return f;
}

static aio_future fdop_handle(aio_loop *loop, aio__fdop *op, int err) {
    return op ? aio__fut_handle(loop, op->fut) : aio__error_handle(err);
}

/* ---- readiness ---- */

static aio_future wait_fd(aio_loop *loop, int fd, int dir) {
    int err = 0;
    aio__fdop *op = aio__fdop_new(loop, fd, dir, false, &err);
    return fdop_handle(loop, op, err); /* run NULL: the outcome is 0 */
}

aio_future aio_wait_readable(aio_loop *loop, int fd) { return wait_fd(loop, fd, 0); }
aio_future aio_wait_writable(aio_loop *loop, int fd) { return wait_fd(loop, fd, 1); }

/* ---- recv ---- */

static int recv_run(aio_loop *loop, aio__fdop *op, aio_value *out) {
    (void)loop;
    ssize_t n;
    do
        n = aio__sys_recv(op->fd, op->buf, op->len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    out->i = n;
    return 0;
}

aio_future aio_sock_recv(aio_loop *loop, int fd, void *buf, size_t n) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (!buf && n)
        return aio__error_handle(-EINVAL);
    if (n == 0)
        return done_future(loop, 0);
    aio__fdop *op = aio__fdop_new(loop, fd, 0, true, &rc);
    if (op) {
        op->run = recv_run;
        op->buf = buf;
        op->len = n;
    }
    return fdop_handle(loop, op, rc);
}

/* ---- accept ---- */

static int accept_run(aio_loop *loop, aio__fdop *op, aio_value *out) {
    (void)loop;
    int c;
    do
        c = aio__sys_accept(op->fd, op->addr, op->addrlen);
    while (c < 0 && errno == EINTR);
    if (c < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    out->i = c;
    return 0;
}

aio_future aio_sock_accept(aio_loop *loop, int fd, struct sockaddr *addr, socklen_t *addrlen) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (addr && !addrlen)
        return aio__error_handle(-EINVAL);
    if (fd < 0 || aio__io_owned(loop, fd))
        return aio__error_handle(fd < 0 ? -EBADF : -EBUSY);
    if ((rc = aio__fd_nonblock(fd)) < 0) /* accept(2) after a wake-up must not block */
        return aio__error_handle(rc);
    aio__fdop *op = aio__fdop_new(loop, fd, 0, true, &rc);
    if (op) {
        op->run = accept_run;
        op->addr = addr;
        op->addrlen = addr ? addrlen : NULL;
    }
    return fdop_handle(loop, op, rc);
}

/* ---- connect ---- */

static int connect_run(aio_loop *loop, aio__fdop *op, aio_value *out) {
    (void)loop;
    out->i = 0;
    return aio__sys_sockerr(op->fd);
}

aio_future aio_sock_connect(aio_loop *loop, int fd, const struct sockaddr *addr, socklen_t addrlen) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (!addr || addrlen == 0 || addrlen > sizeof(struct sockaddr_storage))
        return aio__error_handle(-EINVAL);
    if (fd < 0 || aio__io_owned(loop, fd))
        return aio__error_handle(fd < 0 ? -EBADF : -EBUSY);
    if ((rc = aio__fd_nonblock(fd)) < 0)
        return aio__error_handle(rc);
    if (aio__sys_connect(fd, addr, addrlen) == 0)
        return done_future(loop, 0);
    /* EINTR: the connection goes on in the background, as EINPROGRESS.
     * (A Unix socket's EAGAIN means a full backlog: no connection goes on,
     * so it is an error, not a wait.) */
    if (errno != EINPROGRESS && errno != EINTR)
        return aio__error_handle(-errno);
    aio__fdop *op = aio__fdop_new(loop, fd, 1, true, &rc);
    if (op)
        op->run = connect_run;
    return fdop_handle(loop, op, rc);
}

/* ---- sendall ---- */

/* Send what is left: 1 all sent, 0 the socket is full, or an error. */
static int send_some(int fd, const char *buf, size_t len, size_t *done) {
    while (*done < len) {
        ssize_t k = aio__sys_send(fd, buf + *done, len - *done);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
        }
        *done += (size_t)k;
    }
    return 1;
}

static int sendall_progress(aio_loop *loop, aio__fdop *op, aio_value *out) {
    (void)loop;
    out->i = 0;
    return send_some(op->fd, op->buf, op->len, &op->done);
}

aio_future aio_sock_sendall(aio_loop *loop, int fd, const void *buf, size_t n) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (!buf && n)
        return aio__error_handle(-EINVAL);
    if (fd < 0 || aio__io_owned(loop, fd))
        return aio__error_handle(fd < 0 ? -EBADF : -EBUSY);
    size_t done = 0;
    /* Behind another sendall still waiting on this socket: queue, so that
     * the two never interleave. */
    bool queued = fd < loop->io.cap && (aio__fdq_wanted(&loop->io.fds[fd]) & AIO__EV_WRITE);
    if (!queued) {
        rc = send_some(fd, buf, n, &done);
        if (rc < 0)
            return aio__error_handle(rc);
        if (rc == 1)
            return done_future(loop, 0);
    }
    aio__fdop *op = aio__fdop_new(loop, fd, 1, true, &rc);
    if (op) {
        op->progress = sendall_progress;
        op->buf = (void *)(uintptr_t)buf;
        op->len = n;
        op->done = done;
    }
    return fdop_handle(loop, op, rc);
}
