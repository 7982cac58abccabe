/* libaio — network I/O: TCP and Unix streams, asyncio's open_connection,
 * StreamReader and StreamWriter (awaitable fds and sock_*: aio/socket.h;
 * start_server and Server: aio/server.h).
 *
 * Three layers, each usable alone:
 *   - any fd, awaitable: aio_wait_readable / aio_wait_writable (aio/socket.h);
 *   - sockets you own: aio_sock_recv, aio_sock_sendall, aio_sock_accept,
 *     aio_sock_connect (aio/socket.h; the fd stays yours: you close it);
 *   - streams (this header): a buffered connection with asyncio's reader
 *     and writer calls on one handle (aio_stream), opened by
 *     aio_open_connection / aio_open_unix_connection or handed to a
 *     server's per-connection task (servers: aio/server.h).
 *
 * Handles. aio_stream and aio_server are small values (like aio_future),
 * checked on every call: a stream or server used after it was closed gives
 * AIO_ECLOSED, another loop's gives AIO_EFOREIGN, the null handle AIO_ENULL,
 * never a crash. A future's result carries a new stream or server in
 * AIO_RESULT(t).u: aio_stream_from(AIO_RESULT(t)) (aio_server_from, in
 * aio/server.h, for servers).
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
#define AIO_STREAM_NULL ((aio_stream){0})

/* The stream a future's result carries (AIO_RESULT(t) after
 * aio_open_connection, ...; aio/server.h's aio_server_from for servers).
 * Returns: the handle (checked when it is used, as every handle).
 * Errors: none.
 * Consumes: nothing. */
static inline aio_stream aio_stream_from(aio_value v) {
    aio_stream s;
    s.id = v.u;
    return s;
}

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

/* The fast form, inside a coroutine: AIO_STREAM_DRAIN(t, s) does what
 * AIO_AWAIT(t, aio_stream_drain(t, s)) does and leaves AIO_ERR(t) and
 * AIO_RESULT(t) as it would, only cheaper: when drain need not wait (the
 * usual case: nothing over the high-water mark) it makes no future. Like
 * any await of a future done at once it does not suspend, so a
 * cancellation requested meanwhile lands at the next await that does. One
 * difference: where the future form would fail to make its future for
 * want of memory (-ENOMEM), the fast form, which makes none, gives 0.
 * s is evaluated twice. (aio/sync.h's AIO_LOCK_ACQUIRE family works the
 * same way.) */
#define AIO_STREAM_DRAIN(t, s)                                                                               \
    do {                                                                                                     \
        if (!aio__stream_drain_now(AIO__TASK_ONLY(t), (s)))                                                  \
            AIO_AWAIT(t, aio_stream_drain(AIO__LOOP(t), (s)));                                               \
    } while (0)
/* Not API: 1 if drain is done at once (outcome set as an await sets it),
 * else 0: await the future instead (it also gives every error). */
int aio__stream_drain_now(aio_task *t, aio_stream s);

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

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for (a same-name macro over each function, so &fn still
 * works); the wrong one of the two is a compile error. */
#ifndef AIO_BUILDING
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
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_STREAM_H */
