/* libaio — servers (asyncio's start_server, start_unix_server and Server):
 * listening sockets that run one task per connection, each with its
 * stream (aio/stream.h).
 *
 * A server's handle (aio_server) is a small value checked on every call,
 * as a stream's: after the server is freed AIO_ECLOSED, another loop's
 * AIO_EFOREIGN, the null handle AIO_ENULL, never a crash. Closing the loop
 * closes every server still open. */
#ifndef AIO_SERVER_H
#define AIO_SERVER_H

#include "aio/coro_impl.h"
#include "aio/stream.h"
#include "aio/types.h"

#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aio_server {
    uint64_t id;
} aio_server;
#define AIO_SERVER_NULL ((aio_server){0})

/* The server a future's result carries (AIO_RESULT(t) after
 * aio_start_server, ...).
 * Returns: the handle (checked when it is used, as every handle).
 * Errors: none.
 * Consumes: nothing. */
static inline aio_server aio_server_from(aio_value v) {
    aio_server s;
    s.id = v.u;
    return s;
}

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
#endif /* AIO_SERVER_H */
