/* Every socket system call of the network module, in one place, each
 * behind a fault-injection point: a test installs a hook on its loop
 * (aio__net_set_fault) that makes any call fail with the errno it picks
 * (EINTR, EAGAIN, ECONNRESET, EMFILE, ...). Without a hook a wrapper is the
 * system call plus one load and a branch. The hook is per loop, so several
 * loops (threads) never see each other's faults.
 *
 * Non-blocking and close-on-exec everywhere; sends never raise SIGPIPE
 * (MSG_NOSIGNAL, or SO_NOSIGPIPE set when the socket is made). EINTR is
 * returned to the caller, which retries. */
#ifndef AIO_NET_SYS_H
#define AIO_NET_SYS_H

#include "core/compiler.h"
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SO_NOSIGPIPE instead (aio__sock_nosigpipe) */
#endif

/* An errno value to fail this call with, or 0. */
static inline int aio__net_fault(aio_loop *loop, int call, int fd) {
    struct aio__net *n = loop->net;
    if (AIO__LIKELY(!n || !n->fault))
        return 0;
    return n->fault(n->fault_arg, call, fd);
}
#define AIO__NET_FAULT(loop, call, fd)                                                                       \
    do {                                                                                                     \
        int aio__e = aio__net_fault((loop), (call), (fd));                                                   \
        if (aio__e) {                                                                                        \
            errno = aio__e;                                                                                  \
            return -1;                                                                                       \
        }                                                                                                    \
    } while (0)

static inline int aio__sys_socket(aio_loop *loop, int domain, int type) {
    AIO__NET_FAULT(loop, AIO__NC_SOCKET, -1);
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    int fd = socket(domain, type, 0);
    if (fd >= 0 && aio__fd_nonblock(fd) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
#endif
    if (fd >= 0)
        aio__sock_nosigpipe(fd);
    return fd;
}

/* An injected EINTR is what a real one is: the connection goes on in the
 * background (the call is made, then reports EINTR). */
static inline int aio__sys_connect(aio_loop *loop, int fd, const struct sockaddr *a, socklen_t len) {
    int e = aio__net_fault(loop, AIO__NC_CONNECT, fd);
    if (e && e != EINTR) {
        errno = e;
        return -1;
    }
    int rc = connect(fd, a, len);
    if (e && (rc == 0 || errno == EINPROGRESS)) {
        errno = EINTR;
        return -1;
    }
    return rc;
}

static inline int aio__sys_bind(aio_loop *loop, int fd, const struct sockaddr *a, socklen_t len) {
    AIO__NET_FAULT(loop, AIO__NC_BIND, fd);
    return bind(fd, a, len);
}

static inline int aio__sys_listen(aio_loop *loop, int fd, int backlog) {
    AIO__NET_FAULT(loop, AIO__NC_LISTEN, fd);
    return listen(fd, backlog);
}

/* The new socket is non-blocking and close-on-exec. */
static inline int aio__sys_accept(aio_loop *loop, int fd, struct sockaddr *a, socklen_t *len) {
    AIO__NET_FAULT(loop, AIO__NC_ACCEPT, fd);
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
    int c = accept4(fd, a, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int c = accept(fd, a, len);
    if (c >= 0 && aio__fd_nonblock(c) < 0) {
        int e = errno;
        close(c);
        errno = e;
        return -1;
    }
#endif
    if (c >= 0)
        aio__sock_nosigpipe(c);
    return c;
}

/* Never blocks, whatever the socket's flags. */
static inline ssize_t aio__sys_recv(aio_loop *loop, int fd, void *buf, size_t n) {
    AIO__NET_FAULT(loop, AIO__NC_RECV, fd);
    return recv(fd, buf, n, MSG_DONTWAIT);
}

static inline ssize_t aio__sys_send(aio_loop *loop, int fd, const void *buf, size_t n) {
    AIO__NET_FAULT(loop, AIO__NC_SEND, fd);
    return send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static inline ssize_t aio__sys_sendv(aio_loop *loop, int fd, const struct iovec *iov, int iovcnt) {
    AIO__NET_FAULT(loop, AIO__NC_SEND, fd);
    struct msghdr m = {0};
    m.msg_iov = (struct iovec *)(uintptr_t)iov;
    m.msg_iovlen = (size_t)iovcnt;
    return sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static inline int aio__sys_shutdown(aio_loop *loop, int fd, int how) {
    AIO__NET_FAULT(loop, AIO__NC_SHUTDOWN, fd);
    return shutdown(fd, how);
}

/* The pending error of a socket (SO_ERROR) as a negative code, or 0. */
static inline int aio__sys_sockerr(int fd) {
    int e = 0;
    socklen_t len = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        return -errno;
    return -e;
}

/* close(2) without retrying EINTR (the fd is gone either way on Linux and
 * the BSDs; retrying could close someone else's). */
static inline void aio__sys_close(int fd) {
    if (fd >= 0)
        (void)close(fd);
}

#endif /* AIO_NET_SYS_H */
