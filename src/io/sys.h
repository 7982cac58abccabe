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
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
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

static inline int aio__sys_connect(int fd, const struct sockaddr *addr, socklen_t len) {
    AIO__SYS_FAULT(AIO__SYS_CONNECT, -1);
    return connect(fd, addr, len);
}

/* accept4 where it exists (Linux, the BSDs); plain accept elsewhere, with
 * flags ignored: the caller sets them. */
static inline int aio__sys_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    AIO__SYS_FAULT(AIO__SYS_ACCEPT, -1);
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
    return accept4(fd, addr, len, flags);
#else
    (void)flags;
    return accept(fd, addr, len);
#endif
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
