/* An echo server on libaio's streams: every byte a client sends comes
 * back, until the client closes.
 *
 *     echo_server HOST PORT [THREADS]     e.g. echo_server 127.0.0.1 0
 *     echo_server unix:PATH
 *
 * Prints "listening HOST PORT" first (PORT is the one the kernel picked
 * for 0), serves until SIGINT or SIGTERM, then exits 0 (server_main.h).
 *
 * One task per connection, started by the server with the connection's
 * stream in its frame. The task reads without copying (a read with no
 * buffer waits for bytes and leaves them in the stream's buffer), writes
 * them back from there, and drains: when the client reads slowly the
 * write buffer stays under the high-water mark (64 KiB) instead of
 * growing. When the task returns, the server closes the stream. */
#include "server_main.h"

struct connection {
    aio_stream stream; /* the server sets it */
};

AIO_CORO(echo, struct connection) {
    AIO_BEGIN(t);
    for (;;) {
        AIO_AWAIT(t, aio_stream_read(t, f->stream, NULL, 0)); /* bytes buffered, or 0 at end */
        if (AIO_ERR(t) < 0 || AIO_RESULT(t).i == 0)
            break; /* the client left (or reset the connection) */
        {
            size_t len;
            const void *bytes = aio_stream_peek(t, f->stream, &len);
            if (aio_stream_write(t, f->stream, bytes, len) < 0)
                break;
            aio_stream_consume(t, f->stream, len);
        }
        AIO_STREAM_DRAIN(t, f->stream); /* an await of drain, without a future when it need not wait */
        if (AIO_ERR(t) < 0)
            break;
    }
    AIO_END(t);
}

int main(int argc, char **argv) {
    static serve_config cfg;
    cfg.coro = echo;
    cfg.frame = &(struct connection){AIO_STREAM_NULL};
    cfg.frame_size = sizeof(struct connection);
    cfg.stream_offset = offsetof(struct connection, stream);
    return serve_main(argc, argv, &cfg);
}
