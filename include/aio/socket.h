/* libaio — awaitable fds and sockets you own (asyncio's loop.sock_*).
 *
 * Two layers under the streams of aio/stream.h, each usable alone:
 *   - any fd, awaitable: aio_wait_readable / aio_wait_writable;
 *   - sockets you own: aio_sock_recv, aio_sock_sendall, aio_sock_accept,
 *     aio_sock_connect (the fd stays yours: you close it).
 *
 * Wake, then take: the system call of a recv or an accept is made when the
 * awaiting coroutine resumes, so a task cancelled while it waits loses no
 * byte and leaks no fd.
 *
 * SIGPIPE never kills the process: every send uses MSG_NOSIGNAL
 * (SO_NOSIGPIPE where that does not exist); nothing process-wide changes. */
#ifndef AIO_SOCKET_H
#define AIO_SOCKET_H

#include "aio/coro_impl.h"
#include "aio/types.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- any fd, awaitable ---- */

/* A future that completes (result 0) once fd is readable (writable), as
 * the loop's poll sees it: level-triggered, so an fd that is ready now
 * completes in the next iteration. Cancellable; works with aio_wait_for.
 * fd must stay open while the future is pending.
 * Returns: a new future (the caller owns one reference).
 * Errors: as an error handle, -EBADF (not an open fd), -EBUSY (a stream or
 *   server of this loop owns fd), -EPERM (a regular file: epoll cannot
 *   watch it), AIO_ECLOSED, -EINVAL (NULL loop), -ENOMEM.
 * Consumes: nothing. */
aio_future aio_wait_readable(aio_loop *loop, int fd);
aio_future aio_wait_writable(aio_loop *loop, int fd);

/* ---- sockets you own (asyncio's loop.sock_*) ----
 * recv and sendall never block the loop on a blocking socket either
 * (MSG_DONTWAIT on each call); accept and connect make the socket
 * non-blocking (O_NONBLOCK) if it was not. Several calls may wait on one
 * socket: readiness goes to them in FIFO order.
 *
 * The system call of recv and accept is made when the awaiting coroutine
 * resumes (wake, then take), so a cancel loses nothing. If something else
 * read the socket between the wake-up and the resume (another reader of
 * the fd outside these calls), the call finds nothing: it ends with
 * -EAGAIN and took nothing; call it again. */

/* asyncio's sock_recv and sock_recv_into: read up to n bytes into buf
 * (which must stay valid until the future is done and taken).
 * Returns: a future whose result .i is the count read, 0 at end of file.
 * Errors: the future's: the socket's (-ECONNRESET, ...), -EAGAIN (above).
 *   As an error handle: those of aio_wait_readable; -EINVAL (NULL buf with
 *   n > 0).
 * Consumes: nothing. */
aio_future aio_sock_recv(aio_loop *loop, int fd, void *buf, size_t n);

/* asyncio's sock_sendall: send all n bytes of buf (valid until the future is
 * done), waiting for room as needed; tries at once.
 * Returns: a future with result 0 once every byte went to the kernel.
 * Errors: the socket's (-EPIPE, -ECONNRESET, ...); those of
 *   aio_wait_writable as an error handle. A cancelled sendall may have sent
 *   a prefix of buf.
 * Consumes: nothing. */
aio_future aio_sock_sendall(aio_loop *loop, int fd, const void *buf, size_t n);

/* asyncio's sock_accept: accept one connection on listening socket fd. The
 * new socket is non-blocking and close-on-exec, and yours to close; its
 * peer's address goes to addr / *addrlen if addr is not NULL (*addrlen:
 * the room in addr, updated as accept(2) does).
 * Returns: a future whose result .i is the new socket.
 * Errors: accept(2)'s (-EMFILE, ...), -EAGAIN (above); those of
 *   aio_wait_readable as an error handle, -EINVAL (addr without addrlen).
 * Consumes: nothing. */
aio_future aio_sock_accept(aio_loop *loop, int fd, struct sockaddr *addr, socklen_t *addrlen);

/* asyncio's sock_connect: connect socket fd to addr (copied: it need not
 * stay valid).
 * Returns: a future with result 0 once connected.
 * Errors: -ECONNREFUSED, -ENOENT (Unix path), -ETIMEDOUT, ... connect(2)'s;
 *   as an error handle: those of aio_wait_writable, -EINVAL (NULL addr, or
 *   addrlen too big).
 * Consumes: nothing. */
aio_future aio_sock_connect(aio_loop *loop, int fd, const struct sockaddr *addr, socklen_t addrlen);

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for (a same-name macro over each function, so &fn still
 * works); the wrong one of the two is a compile error. */
#ifndef AIO_BUILDING
#define aio_wait_readable(x, ...) aio_wait_readable(AIO__LOOP(x), __VA_ARGS__)
#define aio_wait_writable(x, ...) aio_wait_writable(AIO__LOOP(x), __VA_ARGS__)
#define aio_sock_recv(x, ...) aio_sock_recv(AIO__LOOP(x), __VA_ARGS__)
#define aio_sock_sendall(x, ...) aio_sock_sendall(AIO__LOOP(x), __VA_ARGS__)
#define aio_sock_accept(x, ...) aio_sock_accept(AIO__LOOP(x), __VA_ARGS__)
#define aio_sock_connect(x, ...) aio_sock_connect(AIO__LOOP(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_SOCKET_H */
