/* libaio — network I/O: awaitable fds and sockets, TCP and Unix streams,
 * servers (asyncio's sock_*, open_connection, start_server, StreamReader,
 * StreamWriter and Server).
 *
 * Three layers, each usable alone:
 *   - any fd, awaitable: aio_wait_readable / aio_wait_writable;
 *   - sockets you own: aio_sock_recv, aio_sock_sendall, aio_sock_accept,
 *     aio_sock_connect (the fd stays yours: you close it);
 *   - streams: a buffered connection with asyncio's reader and writer calls
 *     on one handle (aio_stream), opened by aio_open_connection /
 *     aio_open_unix_connection or handed to a server's per-connection task.
 *
 * Handles. aio_stream and aio_server are small values (like aio_future),
 * checked on every call: a stream or server used after it was closed gives
 * AIO_ECLOSED, another loop's gives AIO_EFOREIGN, the null handle AIO_ENULL,
 * never a crash. A future's result carries a new stream or server in
 * AIO_RESULT(t).u: aio_stream_from(AIO_RESULT(t)).
 *
 * Who frees what. A stream belongs to whoever opened it, or to the
 * connection's task for a server's stream; aio_stream_close() (or
 * aio_stream_abort()) gives it back: the library sends what is still
 * buffered, closes the socket and frees the stream; from the close on, the
 * handle answers AIO_ECLOSED (aio_stream_wait_closed excepted). A server's
 * connection is closed when its task finishes, if the task did not close
 * it. Closing the loop closes every stream and server still open.
 *
 * Wake, then take. A read hands its bytes over when the reading coroutine
 * resumes, never when the future completes: a task cancelled while it
 * waits (or between its wake-up and its resume) loses no byte, they stay
 * buffered for the next read. The same holds for aio_sock_recv and
 * aio_sock_accept (the system call is made at resume: a cancelled accept
 * leaks no fd) and for a connection or server being opened (a cancelled
 * open closes what it opened). A combinator that reads a future for you
 * (aio_wait_for, aio_gather) takes it when the future completes: the bytes
 * are then in your buffer and the count in the combinator's result.
 *
 * SIGPIPE never kills the process: every send uses MSG_NOSIGNAL
 * (SO_NOSIGPIPE where that does not exist); nothing process-wide changes. */
#ifndef AIO_STREAM_H
#define AIO_STREAM_H

#include "aio/coro_impl.h"
#include "aio/types.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- handles ---- */
typedef struct aio_stream {
    uint64_t id;
} aio_stream;
typedef struct aio_server {
    uint64_t id;
} aio_server;
#define AIO_STREAM_NULL ((aio_stream){0})
#define AIO_SERVER_NULL ((aio_server){0})

/* The stream or the server a future's result carries (AIO_RESULT(t) after
 * aio_open_connection, aio_start_server, ...).
 * Returns: the handle (checked when it is used, as every handle).
 * Errors: none.
 * Consumes: nothing. */
static inline aio_stream aio_stream_from(aio_value v) {
    aio_stream s;
    s.id = v.u;
    return s;
}
static inline aio_server aio_server_from(aio_value v) {
    aio_server s;
    s.id = v.u;
    return s;
}

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

/* ---- streams ---- */

/* Zero-initialised: every default. */
typedef struct aio_stream_options {
    size_t limit;      /* readuntil/readline's limit; 0: 65536 (asyncio's) */
    size_t high_water; /* drain() waits while more is buffered; 0: 65536 */
    size_t low_water;  /* ...until at most this is; 0: high_water / 4 */
    int no_delay;      /* TCP_NODELAY: 0 on (asyncio's default), -1 off */
} aio_stream_options;

/* asyncio.open_connection: connect to host:port. A numeric host (IPv4 or
 * IPv6) is used as it is; a name is resolved with getaddrinfo on the loop's
 * executor pool, and every address is tried in order until one connects.
 * For a connect timeout, wrap the future in aio_wait_for; cancelling it
 * closes whatever it opened. opts may be NULL.
 * Returns: a future whose result carries the new stream
 *   (aio_stream_from(AIO_RESULT(t))), yours to close.
 * Errors: the future's: -ECONNREFUSED, -ENETUNREACH, -EHOSTUNREACH,
 *   -ETIMEDOUT, ... (when every address fails: the first address's error),
 *   AIO_ENOTFOUND (the name does not resolve), AIO_ERESOLVE (any other
 *   resolver failure, or no address), -EMFILE, -ENOMEM. As an error handle:
 *   -EINVAL (NULL or empty host, port outside 0..65535, low_water >
 *   high_water), AIO_ECLOSED, -ENOMEM.
 * Consumes: nothing. */
aio_future aio_open_connection(aio_loop *loop, const char *host, int port, const aio_stream_options *opts);

/* asyncio.open_unix_connection: connect to the Unix socket at path.
 * Returns: as aio_open_connection.
 * Errors: the future's: -ENOENT (no such path), -ECONNREFUSED (a socket
 *   file nobody listens on), -EAGAIN (its backlog is full), -EMFILE,
 *   -ENOMEM. As an error handle: -ENAMETOOLONG (longer than sun_path
 *   allows: never truncated), -EINVAL (NULL or empty path), AIO_ECLOSED,
 *   -ENOMEM.
 * Consumes: nothing. */
aio_future aio_open_unix_connection(aio_loop *loop, const char *path, const aio_stream_options *opts);

/* A stream over a connected socket of yours (asyncio's
 * open_connection(sock=...)). The socket is made non-blocking; TCP sockets
 * get TCP_NODELAY (unless opts->no_delay < 0). fd may also be a pipe's end
 * (or a tty: any fd that is not a socket and that the loop can poll; a
 * subprocess's pipes are such streams, aio/process.h): the stream reads
 * and writes it with read(2) and write(2), a write to a pipe whose reader
 * is gone fails with -EPIPE (no SIGPIPE), and write_eof closes it.
 * Returns: 0 and *out.
 * Errors: -EINVAL (NULL out, fd < 0, low_water > high_water), -EBUSY
 *   (already a stream's: then fd is NOT closed, it is that stream's),
 *   AIO_ECLOSED, -ENOMEM.
 * Consumes: fd, on every path but -EBUSY (closed if the stream cannot be
 *   made). */
int aio_stream_open_fd(aio_loop *loop, int fd, const aio_stream_options *opts, aio_stream *out);

/* A stream with no socket, fed by hand (asyncio's bare StreamReader with
 * feed_data / feed_eof): for parsers and their tests. Writing to it fails
 * with -EOPNOTSUPP.
 * Returns: 0 and *out.
 * Errors: -EINVAL (NULL out, low_water > high_water), AIO_ECLOSED, -ENOMEM.
 * Consumes: nothing. */
int aio_stream_create_reader(aio_loop *loop, const aio_stream_options *opts, aio_stream *out);

/* feed_data: append n bytes to the read buffer (n == 0 does nothing and
 * wakes nobody). feed_eof: end of file, which reads see past the buffered
 * bytes. set_error (asyncio's set_exception): every later read (and a
 * waiting one) fails with err (< 0), which takes precedence over buffered
 * bytes; writes and drains fail with it too.
 * Returns: 0.
 * Errors: -EINVAL (feed_data after feed_eof, or NULL data with n > 0;
 *   set_error with err >= 0), -ENOMEM, and every call on a stream: AIO_ECLOSED
 *   (closed), AIO_EFOREIGN, AIO_ENULL, -EINVAL (NULL loop).
 * Consumes: nothing. */
int aio_stream_feed_data(aio_loop *loop, aio_stream s, const void *data, size_t n);
int aio_stream_feed_eof(aio_loop *loop, aio_stream s);
int aio_stream_set_error(aio_loop *loop, aio_stream s, int err);

/* ---- reading ----
 * One read at a time: a read started while another waits fails with
 * -EBUSY (asyncio's RuntimeError). An error of the connection takes
 * precedence over buffered bytes. buf must stay valid until the future is
 * done and taken. buf == NULL: zero-copy, the bytes stay in the stream's
 * buffer for aio_stream_peek / aio_stream_consume, and the result says how
 * many there are. */

/* read(n): up to n bytes, as soon as at least one is there.
 * Returns: a future, result .i = the count, 0 at end of file (n == 0: 0 at
 *   once). buf NULL: waits for buffered bytes, result .i = how many are.
 * Errors: the future's: the connection's error (-ECONNRESET, ...),
 *   AIO_ECLOSED (the stream was closed while the read waited). As an error
 *   handle: -EBUSY, the connection's error, AIO_ECLOSED, AIO_EFOREIGN,
 *   AIO_ENULL, -EINVAL (NULL loop), -ENOMEM.
 * Consumes: nothing. */
aio_future aio_stream_read(aio_loop *loop, aio_stream s, void *buf, size_t n);

/* readexactly(n): exactly n bytes.
 * Returns: a future, result .i = n (0 at once for n == 0).
 * Errors: AIO_EINCOMPLETE when the stream ends first: the bytes that did
 *   arrive stay buffered, none are lost (aio_stream_buffered says how
 *   many, aio_stream_read or aio_stream_peek gives them); -ENOMEM (no
 *   room for n bytes); others as aio_stream_read.
 * Consumes: nothing. */
aio_future aio_stream_readexactly(aio_loop *loop, aio_stream s, void *buf, size_t n);

/* readuntil(sep): the bytes up to and including sep (a non-empty C
 * string, valid until the read is taken), copied to buf (room: cap) and
 * consumed. The limit counts the bytes before the separator (asyncio's):
 * more than the stream's limit, or more than cap - strlen(sep), is
 * AIO_ELIMIT, and every byte stays buffered.
 * readuntil_any (asyncio 3.13): ends at the separator that ends first in
 * the stream; seps: nseps non-empty C strings (the array and the strings
 * valid until the read is taken).
 * readline: readuntil "\n", except that at end of file the last bytes
 * (with no "\n") are returned, and an empty stream gives 0 (asyncio's).
 * Returns: a future, result .i = the length, separator included.
 * Errors: AIO_ELIMIT (above), AIO_EINCOMPLETE (end of file before a
 *   separator: the bytes stay buffered; not readline), others as
 *   aio_stream_read. As an error handle also -EINVAL (an empty separator,
 *   NULL sep or seps, nseps == 0, buf with cap < the longest separator).
 * Consumes: nothing. */
aio_future aio_stream_readuntil(aio_loop *loop, aio_stream s, const char *sep, void *buf, size_t cap);
aio_future aio_stream_readuntil_any(aio_loop *loop, aio_stream s, const char *const *seps, size_t nseps,
                                    void *buf, size_t cap);
aio_future aio_stream_readline(aio_loop *loop, aio_stream s, void *buf, size_t cap);

/* read(-1): wait for end of file; everything up to it stays buffered (not
 * bounded by the limit): peek it, then consume it.
 * Returns: a future, result .i = the count buffered.
 * Errors: as aio_stream_read; -ENOMEM (the buffer cannot grow).
 * Consumes: nothing. */
aio_future aio_stream_read_to_eof(aio_loop *loop, aio_stream s);

/* The buffered bytes, without copying.
 * Returns: a pointer to them (NULL if none, or for a bad handle) and *len
 *   (if len is not NULL) their count; valid until the next call on this
 *   stream.
 * Errors: none.
 * Consumes: nothing. */
const void *aio_stream_peek(aio_loop *loop, aio_stream s, size_t *len);

/* Drop the first n buffered bytes (after a peek or a zero-copy read).
 * Returns: 0.
 * Errors: -EINVAL (n > buffered), -EBUSY (a read waits: those bytes are
 *   promised to it), the handle's (AIO_ECLOSED, AIO_EFOREIGN, AIO_ENULL).
 * Consumes: nothing. */
int aio_stream_consume(aio_loop *loop, aio_stream s, size_t n);

/* buffered: the bytes buffered for reading. at_eof (asyncio's): 1 once end
 * of file was seen and the buffer is empty, else 0.
 * Returns: that count (>= 0), or 1 / 0.
 * Errors: the handle's (AIO_ECLOSED, AIO_EFOREIGN, AIO_ENULL, -EINVAL).
 * Consumes: nothing. */
ssize_t aio_stream_buffered(aio_loop *loop, aio_stream s);
int aio_stream_at_eof(aio_loop *loop, aio_stream s);

/* ---- writing ---- */

/* Send n bytes (write), or the buffers of iov in one system call (writev,
 * asyncio's writelines): what the socket takes now goes at once, the rest
 * is buffered (copied) and sent as the socket drains. Never blocks; await
 * aio_stream_drain to bound the buffer.
 * Returns: 0.
 * Errors: -EPIPE (after write_eof), the connection's error (-ECONNRESET,
 *   -EPIPE, ...), -EOPNOTSUPP (a reader-only stream), -EINVAL (NULL data
 *   with n > 0, iovcnt outside 0..1024), -ENOMEM, the handle's (AIO_ECLOSED
 *   once closed, AIO_EFOREIGN, AIO_ENULL).
 * Consumes: nothing. */
int aio_stream_write(aio_loop *loop, aio_stream s, const void *data, size_t n);
int aio_stream_writev(aio_loop *loop, aio_stream s, const struct iovec *iov, int iovcnt);

/* asyncio's drain: done at once while the buffered bytes are at most the
 * high-water mark; otherwise once they fell to the low-water mark. Any
 * number of tasks may drain at once.
 * Returns: a future with result 0.
 * Errors: the future's: the connection's error; AIO_ECLOSED (closed before
 *   the buffer drained). As an error handle: the connection's error, the
 *   handle's (AIO_ECLOSED, ...), -ENOMEM.
 * Consumes: nothing. */
aio_future aio_stream_drain(aio_loop *loop, aio_stream s);

/* asyncio's set_write_buffer_limits(high, low); takes effect at once (a
 * buffer over the new high mark pauses the writer).
 * Returns: 0.
 * Errors: -EINVAL (high < low), -ENOMEM (the first call on a stream
 *   that never buffered: its write side's record is made), the handle's.
 * Consumes: nothing. */
int aio_stream_set_write_buffer_limits(aio_loop *loop, aio_stream s, size_t high, size_t low);

/* The bytes buffered for sending (asyncio's get_write_buffer_size).
 * Returns: that count (>= 0).
 * Errors: the handle's.
 * Consumes: nothing. */
ssize_t aio_stream_write_buffer_size(aio_loop *loop, aio_stream s);

/* write_eof: half-close (shutdown SHUT_WR) once the buffered bytes are
 * sent; reading goes on. On a pipe: close it once they are sent. A second
 * call, or a call after close, does nothing (asyncio). can_write_eof:
 * whether write_eof works here.
 * Returns: 0 (write_eof); 1 for TCP and Unix streams and pipes, 0 for a
 *   reader-only one (can_write_eof).
 * Errors: -EOPNOTSUPP (write_eof on a reader-only stream), shutdown(2)'s,
 *   the handle's.
 * Consumes: nothing. */
int aio_stream_write_eof(aio_loop *loop, aio_stream s);
int aio_stream_can_write_eof(aio_loop *loop, aio_stream s);

/* ---- closing ---- */

/* close: send what is buffered, then close the socket and free the stream.
 * A read waiting ends with AIO_ECLOSED; every later call but
 * aio_stream_wait_closed gives AIO_ECLOSED. If the peer never reads, the
 * buffer never drains: abort then. abort: close at once, dropping what is
 * buffered (drains waiting end with AIO_ECLOSED).
 * Returns: 0, also for a stream closed (or freed) already.
 * Errors: AIO_EFOREIGN, AIO_ENULL, -EINVAL (NULL loop).
 * Consumes: the stream (the handle is dead from now on). */
int aio_stream_close(aio_loop *loop, aio_stream s);
int aio_stream_abort(aio_loop *loop, aio_stream s);

/* asyncio's wait_closed: a future done once the socket is closed.
 * Returns: the future (result 0), done at once for a closed stream.
 * Errors: as an error handle, -ENOMEM, AIO_ECLOSED (closed loop),
 *   AIO_EFOREIGN, AIO_ENULL, -EINVAL.
 * Consumes: nothing. */
aio_future aio_stream_wait_closed(aio_loop *loop, aio_stream s);

/* asyncio's is_closing.
 * Returns: 1 once close (or abort) was called, also for a freed stream;
 *   else 0.
 * Errors: AIO_EFOREIGN, AIO_ENULL, -EINVAL.
 * Consumes: nothing. */
int aio_stream_is_closing(aio_loop *loop, aio_stream s);

/* ---- addresses ---- */

/* get_extra_info('peername' / 'sockname'): *len is the room in addr on
 * entry, the address's length on return. Read them before closing.
 * Returns: 0 and *addr, *len.
 * Errors: AIO_ECLOSED, -EINVAL (NULL addr or len), -EOPNOTSUPP
 *   (reader-only), getpeername(2)'s (-ENOTCONN), the handle's.
 * Consumes: nothing. */
int aio_stream_peername(aio_loop *loop, aio_stream s, struct sockaddr *addr, socklen_t *len);
int aio_stream_sockname(aio_loop *loop, aio_stream s, struct sockaddr *addr, socklen_t *len);

/* get_extra_info('socket'): the stream's fd, still the stream's: don't
 * close it or read it yourself.
 * Returns: the fd (>= 0).
 * Errors: -EOPNOTSUPP (reader-only), the handle's.
 * Consumes: nothing. */
int aio_stream_fd(aio_loop *loop, aio_stream s);

/* ---- servers ---- */

typedef struct aio_server_options {
    aio_stream_options stream; /* for every connection's stream */
    int backlog;               /* listen(2)'s; 0: SOMAXCONN */
    int reuse_port;            /* 1: SO_REUSEPORT (several loops or processes share a port) */
    int no_reuse_address;      /* 1: no SO_REUSEADDR (on by default, as asyncio on POSIX) */
    int defer_serving;         /* 1: bind but accept nothing until start_serving / serve_forever
                                  (asyncio's start_serving=False) */
    int keep_unix_path;        /* 1: close leaves the socket file (asyncio's cleanup_socket=False) */
    int family;                /* AF_INET / AF_INET6 only; 0: whatever host gives */
} aio_server_options;

/* asyncio.start_server: listen on host:port (host NULL or "": every
 * interface; a name is resolved on the executor pool, one socket per
 * address; port 0: one the kernel picks, the same for every address) and
 * run one task per connection: coroutine `coro` (declared with AIO_CORO)
 * on a copy of *frame whose member `stream` (an aio_stream) is set to the
 * connection's stream. The task owns that stream: the server closes it when
 * the task finishes, if the task did not; a task that fails is reported
 * ("Unhandled error in a client connection task"). TCP_NODELAY is set on
 * every connection. When accept(2) runs out of descriptors (EMFILE,
 * ENFILE), the server stops accepting and tries again after a pause that
 * doubles from 10 ms to 1 s: it does not spin, and it recovers.
 *
 *     struct client { aio_stream stream; char line[256]; };
 *     AIO_CORO(on_client, struct client) { ... f->stream ... }
 *     AIO_AWAIT(t, aio_start_server(t, "127.0.0.1", 8080, on_client,
 *                                   &(struct client){0}, NULL));
 *     aio_server srv = aio_server_from(AIO_RESULT(t));
 *
 * aio_start_unix_server: the same on a Unix socket at path. A stale socket
 * file there (nobody accepts on it) is removed first; a live one (a
 * connect to it succeeds) gives -EADDRINUSE, and so does any other kind of
 * file, which is left alone. close() removes the file if it is still the
 * one this server made (unless keep_unix_path).
 * Returns: a future whose result carries the server
 *   (aio_server_from(AIO_RESULT(t))), serving already unless
 *   opts->defer_serving.
 * Errors: the future's: -EADDRINUSE, -EACCES, -EADDRNOTAVAIL, bind(2)'s and
 *   listen(2)'s, AIO_ENOTFOUND / AIO_ERESOLVE (host), -ENOMEM. As an error
 *   handle: -EINVAL (NULL coro or frame, port outside 0..65535, frame_size
 *   too small, a family other than AF_INET / AF_INET6), -ENAMETOOLONG (a
 *   Unix path longer than sun_path allows), AIO_ECLOSED, -ENOMEM.
 * Consumes: nothing (the frame is copied). */
aio_future aio_start_server_sized(aio_loop *loop, const char *host, int port, aio_coro_fn coro,
                                  const void *frame, size_t frame_size, size_t stream_offset,
                                  const aio_server_options *opts);
aio_future aio_start_unix_server_sized(aio_loop *loop, const char *path, aio_coro_fn coro, const void *frame,
                                       size_t frame_size, size_t stream_offset,
                                       const aio_server_options *opts);

/* aio_start_server(loop_or_task, host, port, coro, &frame, opts) and
 * aio_start_unix_server(loop_or_task, path, coro, &frame, opts): coro is an
 * AIO_CORO coroutine, frame a pointer to its frame type, which must have a
 * member `aio_stream stream` (a compile error otherwise). */
#define aio_start_server(x, host, port, coro, frame, opts)                                                   \
    aio_start_server_sized(AIO__LOOP(x), (host), (port), (coro), AIO__SERVER_FRAME(coro, frame),             \
                           sizeof(aio__frame_of_##coro), AIO__STREAM_OFFSET(coro), (opts))
#define aio_start_unix_server(x, path, coro, frame, opts)                                                    \
    aio_start_unix_server_sized(AIO__LOOP(x), (path), (coro), AIO__SERVER_FRAME(coro, frame),                \
                                sizeof(aio__frame_of_##coro), AIO__STREAM_OFFSET(coro), (opts))

/* asyncio's start_server(sock=...) and start_unix_server(sock=...): serve
 * on a stream socket of yours, bound already (by you, or handed over:
 * systemd's socket activation, a privileged parent that bound port 80).
 * The server owns it from then on (close() closes it) and serves as
 * aio_start_server's does: the socket is made non-blocking and
 * close-on-exec, and listen(2) is called with opts->backlog when serving
 * starts (at once unless opts->defer_serving; a socket listening already
 * just gets the new backlog). A Unix socket's file is removed at close if
 * it is still the one the socket was bound to, unless keep_unix_path (as
 * asyncio 3.13); if the server cannot be made, the file stays. The
 * options that choose a binding (family, reuse_port, no_reuse_address)
 * do not apply: set them on the socket before binding it.
 *     AIO_AWAIT(t, aio_start_server_sock(t, fd, on_client, &(struct client){0}, NULL));
 * Returns: a future whose result carries the server
 *   (aio_server_from(AIO_RESULT(t))), as aio_start_server's.
 * Errors: the future's: listen(2)'s (-EINVAL: a Unix socket not bound, a
 *   connected socket), -ENOMEM. As an error handle: -EBADF (fd < 0 or not open), -ENOTSOCK,
 *   -EINVAL (not a SOCK_STREAM socket, NULL coro or frame, frame_size too
 *   small), -EBUSY (fd is already one of this loop's streams or servers:
 *   then it is NOT closed, it stays that one's), AIO_ECLOSED, -ENOMEM.
 * Consumes: fd, on every path but -EBADF and -EBUSY (closed if no server
 *   is made). */
aio_future aio_start_server_sock_sized(aio_loop *loop, int fd, aio_coro_fn coro, const void *frame,
                                       size_t frame_size, size_t stream_offset,
                                       const aio_server_options *opts);
/* aio_start_server_sock(loop_or_task, fd, coro, &frame, opts): as
 * aio_start_server's macro. */
#define aio_start_server_sock(x, fd, coro, frame, opts)                                                      \
    aio_start_server_sock_sized(AIO__LOOP(x), (fd), (coro), AIO__SERVER_FRAME(coro, frame),                  \
                                sizeof(aio__frame_of_##coro), AIO__STREAM_OFFSET(coro), (opts))
#define AIO__SERVER_FRAME(coro, frame)                                                                       \
    _Generic((frame), aio__frame_of_##coro * : (frame), const aio__frame_of_##coro * : (frame))
#define AIO__STREAM_OFFSET(coro)                                                                             \
    _Generic(((aio__frame_of_##coro *)0)->stream, aio_stream : offsetof(aio__frame_of_##coro, stream))

/* asyncio's Server.close: stop accepting (the listening sockets close; a
 * Unix socket's file goes). Established connections stay open: end them
 * with aio_server_close_clients or aio_server_abort_clients.
 * Returns: 0, also when closed (or freed) already.
 * Errors: AIO_EFOREIGN, AIO_ENULL, -EINVAL (NULL loop).
 * Consumes: nothing (the handle stays good until the server is freed). */
int aio_server_close(aio_loop *loop, aio_server srv);

/* asyncio 3.13's close_clients / abort_clients: close (after sending what
 * they buffered) / abort every connection of the server. Their tasks'
 * reads end with AIO_ECLOSED.
 * Returns: the number of connections closed (0 for a freed server).
 * Errors: AIO_EFOREIGN, AIO_ENULL, -EINVAL.
 * Consumes: nothing. */
int aio_server_close_clients(aio_loop *loop, aio_server srv);
int aio_server_abort_clients(aio_loop *loop, aio_server srv);

/* asyncio's wait_closed (3.12.1 on): done once the server is closed and
 * every connection it accepted is closed and its task has ended (so a
 * graceful shutdown knows every connection task is over; asyncio waits for
 * the sockets only). With connections that never end this waits forever,
 * as asyncio's does (CPython #104344): call aio_server_close_clients (or
 * abort_clients) after close to end them, or bound the wait with
 * aio_wait_for.
 * Returns: the future (result 0), done at once for a freed server.
 * Errors: as an error handle, -ENOMEM, AIO_ECLOSED (closed loop),
 *   AIO_EFOREIGN, AIO_ENULL, -EINVAL.
 * Consumes: nothing. */
aio_future aio_server_wait_closed(aio_loop *loop, aio_server srv);

/* asyncio's is_serving.
 * Returns: 1 while accepting, 0 otherwise (closed, freed, deferred).
 * Errors: AIO_EFOREIGN, AIO_ENULL, -EINVAL.
 * Consumes: nothing. */
int aio_server_is_serving(aio_loop *loop, aio_server srv);

/* asyncio's start_serving (after defer_serving): listen and accept.
 * Returns: 0, also when serving already.
 * Errors: AIO_ECLOSED (closed), listen(2)'s, the handle's.
 * Consumes: nothing. */
int aio_server_start_serving(aio_loop *loop, aio_server srv);

/* asyncio's serve_forever: starts serving if needed; the future ends
 * cancelled (AIO_ECANCELLED) when the server is closed, and cancelling it
 * closes the server.
 * Returns: the future (it only ends cancelled).
 * Errors: as an error handle, -EBUSY (another serve_forever waits),
 *   AIO_ECLOSED (closed), listen(2)'s, -ENOMEM, the handle's.
 * Consumes: nothing. */
aio_future aio_server_serve_forever(aio_loop *loop, aio_server srv);

/* The listening sockets (asyncio's Server.sockets): nsockets, how many (0
 * once closed); sockname, the address of the i-th (*len: room in, length
 * out); port, the port of the first (TCP).
 * Returns: the count; 0 and *addr; the port.
 * Errors: -EINVAL (i out of range, NULL addr or len; port of a Unix
 *   server), AIO_ECLOSED (closed), the handle's.
 * Consumes: nothing. */
int aio_server_nsockets(aio_loop *loop, aio_server srv);
int aio_server_sockname(aio_loop *loop, aio_server srv, int i, struct sockaddr *addr, socklen_t *len);
int aio_server_port(aio_loop *loop, aio_server srv);

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
#define aio_open_connection(x, ...) aio_open_connection(AIO__LOOP(x), __VA_ARGS__)
#define aio_open_unix_connection(x, ...) aio_open_unix_connection(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_open_fd(x, ...) aio_stream_open_fd(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_create_reader(x, ...) aio_stream_create_reader(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_feed_data(x, ...) aio_stream_feed_data(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_feed_eof(x, ...) aio_stream_feed_eof(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_set_error(x, ...) aio_stream_set_error(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_read(x, ...) aio_stream_read(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_readexactly(x, ...) aio_stream_readexactly(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_readuntil(x, ...) aio_stream_readuntil(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_readuntil_any(x, ...) aio_stream_readuntil_any(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_readline(x, ...) aio_stream_readline(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_read_to_eof(x, ...) aio_stream_read_to_eof(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_peek(x, ...) aio_stream_peek(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_consume(x, ...) aio_stream_consume(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_buffered(x, ...) aio_stream_buffered(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_at_eof(x, ...) aio_stream_at_eof(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_write(x, ...) aio_stream_write(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_writev(x, ...) aio_stream_writev(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_drain(x, ...) aio_stream_drain(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_set_write_buffer_limits(x, ...)                                                           \
    aio_stream_set_write_buffer_limits(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_write_buffer_size(x, ...) aio_stream_write_buffer_size(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_write_eof(x, ...) aio_stream_write_eof(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_can_write_eof(x, ...) aio_stream_can_write_eof(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_close(x, ...) aio_stream_close(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_abort(x, ...) aio_stream_abort(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_wait_closed(x, ...) aio_stream_wait_closed(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_is_closing(x, ...) aio_stream_is_closing(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_peername(x, ...) aio_stream_peername(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_sockname(x, ...) aio_stream_sockname(AIO__LOOP(x), __VA_ARGS__)
#define aio_stream_fd(x, ...) aio_stream_fd(AIO__LOOP(x), __VA_ARGS__)
#define aio_start_server_sized(x, ...) aio_start_server_sized(AIO__LOOP(x), __VA_ARGS__)
#define aio_start_unix_server_sized(x, ...) aio_start_unix_server_sized(AIO__LOOP(x), __VA_ARGS__)
#define aio_start_server_sock_sized(x, ...) aio_start_server_sock_sized(AIO__LOOP(x), __VA_ARGS__)
#define aio_server_close(x, ...) aio_server_close(AIO__LOOP(x), __VA_ARGS__)
#define aio_server_close_clients(x, ...) aio_server_close_clients(AIO__LOOP(x), __VA_ARGS__)
#define aio_server_abort_clients(x, ...) aio_server_abort_clients(AIO__LOOP(x), __VA_ARGS__)
#define aio_server_wait_closed(x, ...) aio_server_wait_closed(AIO__LOOP(x), __VA_ARGS__)
#define aio_server_is_serving(x, ...) aio_server_is_serving(AIO__LOOP(x), __VA_ARGS__)
#define aio_server_start_serving(x, ...) aio_server_start_serving(AIO__LOOP(x), __VA_ARGS__)
#define aio_server_serve_forever(x, ...) aio_server_serve_forever(AIO__LOOP(x), __VA_ARGS__)
#define aio_server_nsockets(x, ...) aio_server_nsockets(AIO__LOOP(x), __VA_ARGS__)
#define aio_server_sockname(x, ...) aio_server_sockname(AIO__LOOP(x), __VA_ARGS__)
#define aio_server_port(x, ...) aio_server_port(AIO__LOOP(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_STREAM_H */
