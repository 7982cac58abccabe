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
/* The stream or server a future's result carries (AIO_RESULT(t)). */
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
 * Returns: a new future (caller owns one reference).
 * Errors (as an error handle): -EBADF (not an open fd), -EBUSY (a stream or
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
 * Errors (the future's): the socket's (-ECONNRESET, ...), -EAGAIN (above).
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
 *   aio_wait_readable as an error handle.
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
 * closes whatever it opened.
 * Returns: a future whose result carries the new stream
 *   (aio_stream_from(AIO_RESULT(t))), yours to close.
 * Errors (the future's): -ECONNREFUSED, -ENETUNREACH, -EHOSTUNREACH,
 *   -ETIMEDOUT, ... (when every address fails: the first address's error),
 *   AIO_ENOTFOUND (the name does not resolve), AIO_ERESOLVE (any other
 *   resolver failure, or no address); as an error handle: -EINVAL (NULL
 *   host, port outside 0..65535), AIO_ECLOSED, -ENOMEM.
 * Consumes: nothing. */
aio_future aio_open_connection(aio_loop *loop, const char *host, int port, const aio_stream_options *opts);

/* asyncio.open_unix_connection: connect to the Unix socket at path.
 * Returns and errors: as aio_open_connection, with -ENOENT (no such path),
 *   -ECONNREFUSED (a socket file nobody listens on), -ENAMETOOLONG (longer
 *   than sun_path allows: never truncated).
 * Consumes: nothing. */
aio_future aio_open_unix_connection(aio_loop *loop, const char *path, const aio_stream_options *opts);

/* A stream over a connected socket of yours (asyncio's
 * open_connection(sock=...)). The socket is made non-blocking; TCP sockets
 * get TCP_NODELAY (unless opts->no_delay < 0).
 * Returns: 0 and *out.
 * Errors: -EINVAL (NULL out, fd < 0), -EBUSY (already a stream's),
 *   AIO_ECLOSED, -ENOMEM.
 * Consumes: fd, on every path (closed if the stream cannot be made). */
int aio_stream_open_fd(aio_loop *loop, int fd, const aio_stream_options *opts, aio_stream *out);

/* A stream with no socket, fed by hand (asyncio's bare StreamReader with
 * feed_data / feed_eof): for parsers and their tests. Writing to it fails
 * with -EOPNOTSUPP.
 * Returns: 0 and *out.  Errors: -EINVAL, AIO_ECLOSED, -ENOMEM.
 * Consumes: nothing. */
int aio_stream_create_reader(aio_loop *loop, const aio_stream_options *opts, aio_stream *out);
/* Append n bytes to the read buffer (n == 0 does nothing, wakes nobody).
 * Errors: -EINVAL (after feed_eof, or NULL data), -ENOMEM, handle codes. */
int aio_stream_feed_data(aio_loop *loop, aio_stream s, const void *data, size_t n);
/* End of file: reads past the buffered bytes see it. Errors: handle codes. */
int aio_stream_feed_eof(aio_loop *loop, aio_stream s);
/* asyncio's set_exception: every later read (and a waiting one) fails with
 * err (< 0), which takes precedence over buffered bytes; writes fail too.
 * Errors: -EINVAL (err >= 0), handle codes. */
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
 * Errors: the connection's error (-ECONNRESET, ...); as an error handle
 *   -EBUSY, AIO_ECLOSED (stream closed), the error set, handle codes.
 * Consumes: nothing. */
aio_future aio_stream_read(aio_loop *loop, aio_stream s, void *buf, size_t n);

/* readexactly(n): exactly n bytes.
 * Returns: a future, result .i = n.
 * Errors: AIO_EINCOMPLETE when the stream ends first: the bytes that did
 *   arrive stay buffered, none are lost (aio_stream_buffered says how
 *   many, aio_stream_read or aio_stream_peek gives them); others as
 *   aio_stream_read.
 * Consumes: nothing. */
aio_future aio_stream_readexactly(aio_loop *loop, aio_stream s, void *buf, size_t n);

/* readuntil(sep): the bytes up to and including sep (a non-empty C
 * string, valid until the read is taken), copied to buf (room: cap) and
 * consumed.
 * The limit counts the bytes before the separator (asyncio's): more than
 * the stream's limit, or more than cap - strlen(sep), is AIO_ELIMIT, and
 * every byte stays buffered.
 * Returns: a future, result .i = the length, separator included.
 * Errors: AIO_ELIMIT (above), AIO_EINCOMPLETE (end of file before a
 *   separator: the bytes stay buffered), -EINVAL as an error handle (empty
 *   sep, cap < strlen(sep) with buf), others as aio_stream_read.
 * Consumes: nothing. */
aio_future aio_stream_readuntil(aio_loop *loop, aio_stream s, const char *sep, void *buf, size_t cap);
/* readuntil with several separators (asyncio 3.13): ends at the separator
 * that ends first in the stream. seps: nseps non-empty C strings (the
 * array and strings valid until the read is taken). -EINVAL for nseps == 0
 * or an empty separator. */
aio_future aio_stream_readuntil_any(aio_loop *loop, aio_stream s, const char *const *seps, size_t nseps,
                                    void *buf, size_t cap);
/* readline: readuntil "\n", except that at end of file the last bytes
 * (with no "\n") are returned, and an empty stream gives 0 (asyncio's). */
aio_future aio_stream_readline(aio_loop *loop, aio_stream s, void *buf, size_t cap);
/* read(-1): wait for end of file; everything up to it stays buffered (not
 * bounded by the limit): peek it. Returns: a future, result .i = the count. */
aio_future aio_stream_read_to_eof(aio_loop *loop, aio_stream s);

/* The buffered bytes, without copying: a pointer to them (NULL if none)
 * and *len their count, valid until the next call on this stream.
 * Errors: none (NULL and *len = 0 for a bad handle). */
const void *aio_stream_peek(aio_loop *loop, aio_stream s, size_t *len);
/* Drop the first n buffered bytes (after a peek).
 * Errors: -EINVAL (n > buffered), -EBUSY (a read waits), handle codes. */
int aio_stream_consume(aio_loop *loop, aio_stream s, size_t n);
/* Returns: the number of bytes buffered (>= 0), or a handle code. */
ssize_t aio_stream_buffered(aio_loop *loop, aio_stream s);
/* asyncio's at_eof: 1 once end of file was seen and the buffer is empty,
 * else 0; or a handle code. */
int aio_stream_at_eof(aio_loop *loop, aio_stream s);

/* ---- writing ---- */

/* Send n bytes: what the socket takes now goes at once, the rest is
 * buffered (copied) and sent as the socket drains. Never blocks; await
 * aio_stream_drain to bound the buffer.
 * Returns: 0.
 * Errors: -EPIPE (after write_eof), the connection's error (-ECONNRESET,
 *   -EPIPE, ...), -EOPNOTSUPP (a reader-only stream), AIO_ECLOSED, -ENOMEM,
 *   handle codes.
 * Consumes: nothing. */
int aio_stream_write(aio_loop *loop, aio_stream s, const void *data, size_t n);
/* The same for several buffers (writelines), in one system call. */
int aio_stream_writev(aio_loop *loop, aio_stream s, const struct iovec *iov, int iovcnt);
/* asyncio's drain: done at once while the buffered bytes are at most the
 * high-water mark; otherwise once they fell to the low-water mark. Any
 * number of tasks may drain at once.
 * Returns: a future with result 0.
 * Errors: the connection's error; AIO_ECLOSED (closed before the buffer
 *   drained); as an error handle AIO_ECLOSED, handle codes.
 * Consumes: nothing. */
aio_future aio_stream_drain(aio_loop *loop, aio_stream s);
/* asyncio's set_write_buffer_limits(high, low): -EINVAL unless high >= low;
 * (0, 0) restores the defaults. Takes effect at once. */
int aio_stream_set_write_buffer_limits(aio_loop *loop, aio_stream s, size_t high, size_t low);
/* Returns: the bytes buffered for sending, or a handle code. */
ssize_t aio_stream_write_buffer_size(aio_loop *loop, aio_stream s);
/* Half-close (shutdown SHUT_WR) once the buffered bytes are sent; reading
 * goes on. A second call does nothing. Errors: -EOPNOTSUPP (reader-only),
 * handle codes (0 after close: nothing to do, as asyncio). */
int aio_stream_write_eof(aio_loop *loop, aio_stream s);
/* 1: write_eof works here (TCP, Unix), 0 otherwise, or a handle code. */
int aio_stream_can_write_eof(aio_loop *loop, aio_stream s);

/* ---- closing ---- */

/* Close: send what is buffered, then close the socket and free the
 * stream. A read waiting ends with AIO_ECLOSED; every later call but
 * aio_stream_wait_closed gives AIO_ECLOSED. A second close (or a close of
 * a freed stream) returns 0. If the peer never reads, the buffer never
 * drains: aio_stream_abort then. */
int aio_stream_close(aio_loop *loop, aio_stream s);
/* Close at once, dropping what is buffered. Returns 0 (also when closed). */
int aio_stream_abort(aio_loop *loop, aio_stream s);
/* A future done (result 0) once the socket is closed: at once for a closed
 * stream. Errors: -ENOMEM, AIO_EFOREIGN, AIO_ENULL (as an error handle). */
aio_future aio_stream_wait_closed(aio_loop *loop, aio_stream s);
/* 1 once close (or abort) was called, else 0; 1 for a freed stream. */
int aio_stream_is_closing(aio_loop *loop, aio_stream s);

/* ---- addresses ---- */

/* get_extra_info('peername' / 'sockname'): *len is the room in addr on
 * entry, the address's length on return. Errors: AIO_ECLOSED, -EINVAL,
 * -EOPNOTSUPP (reader-only), getpeername(2)'s (-ENOTCONN). Read them
 * before closing. */
int aio_stream_peername(aio_loop *loop, aio_stream s, struct sockaddr *addr, socklen_t *len);
int aio_stream_sockname(aio_loop *loop, aio_stream s, struct sockaddr *addr, socklen_t *len);
/* get_extra_info('socket'): the stream's fd (>= 0), still the stream's:
 * don't close it or read it yourself. -EOPNOTSUPP for a reader-only one. */
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
 * Returns: a future whose result carries the server
 *   (aio_server_from(AIO_RESULT(t))), serving already unless
 *   opts->defer_serving.
 * Errors (the future's): -EADDRINUSE, -EACCES, -EADDRNOTAVAIL, bind(2)'s
 *   and listen(2)'s, AIO_ENOTFOUND / AIO_ERESOLVE (host); as an error
 *   handle: -EINVAL (NULL coro or frame, port outside 0..65535, frame_size
 *   too small), AIO_ECLOSED, -ENOMEM.
 * Consumes: nothing (the frame is copied). */
aio_future aio_start_server_sized(aio_loop *loop, const char *host, int port, aio_coro_fn coro,
                                  const void *frame, size_t frame_size, size_t stream_offset,
                                  const aio_server_options *opts);
/* asyncio.start_unix_server: the same on a Unix socket at path. A stale
 * socket file there (nobody accepts on it) is removed first; a live one
 * (a connect to it succeeds) gives -EADDRINUSE, and so does any other kind
 * of file, which is left alone. close() removes the file if it is still
 * the one this server made (unless keep_unix_path). -ENAMETOOLONG for a
 * path longer than sun_path allows. */
aio_future aio_start_unix_server_sized(aio_loop *loop, const char *path, aio_coro_fn coro, const void *frame,
                                       size_t frame_size, size_t stream_offset,
                                       const aio_server_options *opts);

/* aio_start_server(loop_or_task, host, port, coro, &frame, opts): coro is an
 * AIO_CORO coroutine, frame a pointer to its frame type, which must have a
 * member `aio_stream stream` (a compile error otherwise). */
#define aio_start_server(x, host, port, coro, frame, opts)                                                   \
    aio_start_server_sized(AIO__LOOP(x), (host), (port), (coro), AIO__SERVER_FRAME(coro, frame),             \
                           sizeof(aio__frame_of_##coro), AIO__STREAM_OFFSET(coro), (opts))
#define aio_start_unix_server(x, path, coro, frame, opts)                                                    \
    aio_start_unix_server_sized(AIO__LOOP(x), (path), (coro), AIO__SERVER_FRAME(coro, frame),                \
                                sizeof(aio__frame_of_##coro), AIO__STREAM_OFFSET(coro), (opts))
#define AIO__SERVER_FRAME(coro, frame)                                                                       \
    _Generic((frame), aio__frame_of_##coro * : (frame), const aio__frame_of_##coro * : (frame))
#define AIO__STREAM_OFFSET(coro)                                                                             \
    _Generic(((aio__frame_of_##coro *)0)->stream, aio_stream : offsetof(aio__frame_of_##coro, stream))

/* asyncio's Server.close: stop accepting (the listening sockets close; a
 * Unix socket's file goes) . Established connections stay open: end them
 * with aio_server_close_clients or aio_server_abort_clients. Returns 0
 * (also when closed already). */
int aio_server_close(aio_loop *loop, aio_server srv);
/* asyncio 3.13's close_clients / abort_clients: close (after sending what
 * they buffered) / abort every connection of the server. Their tasks'
 * reads end with AIO_ECLOSED. Returns the number of connections closed. */
int aio_server_close_clients(aio_loop *loop, aio_server srv);
int aio_server_abort_clients(aio_loop *loop, aio_server srv);
/* asyncio's wait_closed (3.12.1 on): done once the server is closed and
 * every connection it accepted is closed and its task has ended (so a
 * graceful shutdown knows every connection task is over; asyncio waits for
 * the sockets only). With connections that never end
 * this waits forever, as asyncio's does (CPython #104344): call
 * aio_server_close_clients (or abort_clients) after close to end them, or
 * bound the wait with aio_wait_for. Done at once for a freed server. */
aio_future aio_server_wait_closed(aio_loop *loop, aio_server srv);
/* 1 while accepting, 0 otherwise (closed, deferred), or a handle code. */
int aio_server_is_serving(aio_loop *loop, aio_server srv);
/* Start accepting (after defer_serving). Errors: AIO_ECLOSED, listen(2)'s. */
int aio_server_start_serving(aio_loop *loop, aio_server srv);
/* asyncio's serve_forever: starts serving if needed; the future ends
 * cancelled (AIO_ECANCELLED) when the server is closed, and cancelling it
 * closes the server.
 * Errors (as an error handle): -EBUSY (another serve_forever waits),
 * AIO_ECLOSED (closed), handle codes. */
aio_future aio_server_serve_forever(aio_loop *loop, aio_server srv);
/* The listening sockets (asyncio's Server.sockets): how many (0 once
 * closed), and the address of the i-th. Errors: -EINVAL (i out of range),
 * AIO_ECLOSED, handle codes. */
int aio_server_nsockets(aio_loop *loop, aio_server srv);
int aio_server_sockname(aio_loop *loop, aio_server srv, int i, struct sockaddr *addr, socklen_t *len);
/* The port of the first listening socket (TCP), or an error code. */
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
