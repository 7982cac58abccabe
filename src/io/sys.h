/* System calls with a fault point: the library calls these wrappers, never
 * the raw calls, wherever a test should be able to make the call fail
 * (core/fault.h: AIO__FAULT_ONCE or AIO__FAULT_FROM, with a chosen errno
 * such as EINTR, EAGAIN, EMFILE, ECONNRESET). Without AIO_FAULT_INJECTION
 * each wrapper is the system call itself. A new module that makes system
 * calls (streams, signals) adds its wrappers here, with an id in
 * enum aio__sys_id. */
#ifndef AIO_IO_SYS_H
#define AIO_IO_SYS_H

#include "core/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#ifdef AIO_HAVE_EPOLL
#include <sys/epoll.h>
#endif
#ifdef AIO_HAVE_KQUEUE
#include <sys/event.h>
#include <time.h>
#endif

/* In fault builds: return `failed` with errno set if the countdown of `id`
 * says this call fails. */
#ifdef AIO_FAULT_INJECTION
#define AIO__SYS_FAULT(id, failed)                                                                           \
    do {                                                                                                     \
        int aio__e = aio__fault_sys(id);                                                                     \
        if (aio__e) {                                                                                        \
            errno = aio__e;                                                                                  \
            return failed;                                                                                   \
        }                                                                                                    \
    } while (0)
#else
#define AIO__SYS_FAULT(id, failed) ((void)0)
#endif

static inline ssize_t aio__sys_read(int fd, void *buf, size_t n) {
    AIO__SYS_FAULT(AIO__SYS_READ, -1);
    return read(fd, buf, n);
}

static inline ssize_t aio__sys_write(int fd, const void *buf, size_t n) {
    AIO__SYS_FAULT(AIO__SYS_WRITE, -1);
    return write(fd, buf, n);
}

/* ---- sockets (src/net/) ----
 * Non-blocking and close-on-exec everywhere; sends never raise SIGPIPE
 * (MSG_NOSIGNAL, or SO_NOSIGPIPE where that does not exist, set on every
 * socket these make: aio__sys_nosigpipe). EINTR is returned to the caller,
 * which retries. */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SO_NOSIGPIPE instead */
#endif

static inline void aio__sys_nosigpipe(int fd) {
#ifdef SO_NOSIGPIPE
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#else
    (void)fd; /* MSG_NOSIGNAL on every send */
#endif
}

/* O_NONBLOCK and FD_CLOEXEC: 0 or -1 (errno). */
static inline int aio__sys_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
        return -1;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || (!(fdfl & FD_CLOEXEC) && fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0))
        return -1;
    return 0;
}

static inline int aio__sys_socket(int domain, int type) {
    AIO__SYS_FAULT(AIO__SYS_SOCKET, -1);
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    int fd = socket(domain, type, 0);
    if (fd >= 0 && aio__sys_nonblock(fd) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
#endif
    if (fd >= 0)
        aio__sys_nosigpipe(fd);
    return fd;
}

/* An injected EINTR is what a real one is: the connection goes on in the
 * background (the call is made, then reports EINTR); any other injected
 * error makes no call. */
static inline int aio__sys_connect(int fd, const struct sockaddr *addr, socklen_t len) {
#ifdef AIO_FAULT_INJECTION
    int e = aio__fault_sys(AIO__SYS_CONNECT);
    if (e && e != EINTR) {
        errno = e;
        return -1;
    }
    int rc = connect(fd, addr, len);
    if (e && (rc == 0 || errno == EINPROGRESS)) {
        errno = EINTR;
        return -1;
    }
    return rc;
#else
    return connect(fd, addr, len);
#endif
}

static inline int aio__sys_bind(int fd, const struct sockaddr *addr, socklen_t len) {
    AIO__SYS_FAULT(AIO__SYS_BIND, -1);
    return bind(fd, addr, len);
}

static inline int aio__sys_listen(int fd, int backlog) {
    AIO__SYS_FAULT(AIO__SYS_LISTEN, -1);
    return listen(fd, backlog);
}

/* accept4 where it exists (Linux, the BSDs); plain accept elsewhere, with
 * the flags set after. The new socket is non-blocking and close-on-exec. */
static inline int aio__sys_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    AIO__SYS_FAULT(AIO__SYS_ACCEPT, -1);
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
    int c = accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int c = accept(fd, addr, len);
    if (c >= 0 && aio__sys_nonblock(c) < 0) {
        int e = errno;
        close(c);
        errno = e;
        return -1;
    }
#endif
    if (c >= 0)
        aio__sys_nosigpipe(c);
    return c;
}

/* Never blocks, whatever the socket's flags. */
static inline ssize_t aio__sys_recv(int fd, void *buf, size_t n) {
    AIO__SYS_FAULT(AIO__SYS_RECV, -1);
    return recv(fd, buf, n, MSG_DONTWAIT);
}

static inline ssize_t aio__sys_send(int fd, const void *buf, size_t n) {
    AIO__SYS_FAULT(AIO__SYS_SEND, -1);
    return send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static inline ssize_t aio__sys_sendv(int fd, const struct iovec *iov, int iovcnt) {
    AIO__SYS_FAULT(AIO__SYS_SEND, -1);
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = (struct iovec *)(uintptr_t)iov;
    m.msg_iovlen = (size_t)iovcnt;
    return sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static inline int aio__sys_shutdown(int fd, int how) {
    AIO__SYS_FAULT(AIO__SYS_SHUTDOWN, -1);
    return shutdown(fd, how);
}

/* ---- pipes (a stream over an fd that is not a socket: a subprocess's
 * stdin, stdout, stderr) ----
 * write(2) to a pipe whose reader is gone raises SIGPIPE, and has no flag
 * against it (MSG_NOSIGNAL is for sockets). Where fcntl has
 * F_SETNOSIGPIPE (macOS, FreeBSD) it is set on the fd once
 * (aio__sys_pipe_nosigpipe); elsewhere each write blocks SIGPIPE in the
 * calling thread, and takes back (sigtimedwait) the SIGPIPE the write
 * raised, which is directed at this thread, before it unblocks it. So the
 * caller sees EPIPE and nothing process-wide changes. The cost: two or
 * three system calls more per write, small beside a pipe's context
 * switches. */
static inline void aio__sys_pipe_nosigpipe(int fd) {
#ifdef F_SETNOSIGPIPE
    (void)fcntl(fd, F_SETNOSIGPIPE, 1);
#else
    (void)fd; /* aio__sys_pipe_writev blocks SIGPIPE around each write */
#endif
}

static inline ssize_t aio__sys_pipe_writev(int fd, const struct iovec *iov, int iovcnt) {
    AIO__SYS_FAULT(AIO__SYS_WRITE, -1);
#ifdef F_SETNOSIGPIPE
    return iovcnt == 1 ? write(fd, iov[0].iov_base, iov[0].iov_len) : writev(fd, iov, iovcnt);
#else
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    /* Blocked already, a SIGPIPE may be pending that is not ours to take. */
    bool had_one = sigismember(&old, SIGPIPE) && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    ssize_t k = iovcnt == 1 ? write(fd, iov[0].iov_base, iov[0].iov_len) : writev(fd, iov, iovcnt);
    int e = errno;
    if (k < 0 && e == EPIPE && !had_one) {
        struct timespec now = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &now) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return k;
#endif
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

/* The backends' waits (AIO__SYS_WAIT). */
static inline int aio__sys_poll(struct pollfd *fds, nfds_t n, int ms) {
    AIO__SYS_FAULT(AIO__SYS_WAIT, -1);
    return poll(fds, n, ms);
}
#ifdef AIO_HAVE_EPOLL
static inline int aio__sys_epoll_wait(int epfd, struct epoll_event *ev, int max, int ms) {
    AIO__SYS_FAULT(AIO__SYS_WAIT, -1);
    return epoll_wait(epfd, ev, max, ms);
}
#endif
#ifdef AIO_HAVE_KQUEUE
static inline int aio__sys_kevent(int kq, const struct kevent *changes, int nchanges, struct kevent *events,
                                  int nevents, const struct timespec *timeout) {
    AIO__SYS_FAULT(AIO__SYS_WAIT, -1);
    return kevent(kq, changes, nchanges, events, nevents, timeout);
}
#endif

#endif /* AIO_IO_SYS_H */
