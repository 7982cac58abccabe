#define _GNU_SOURCE /* memmem */
/* A minimal HTTP/1.1 keep-alive server answering "Hello, World!".
 *
 *     http_hello HOST PORT [THREADS]      e.g. http_hello 127.0.0.1 8080 2
 *     http_hello unix:PATH
 *
 * Prints "listening HOST PORT" first, serves until SIGINT or SIGTERM,
 * exits 0 (server_main.h). THREADS > 1: one loop per thread, all on one
 * port (SO_REUSEPORT).
 *
 * A request ends at its first blank line (no bodies: GET). Requests may
 * come split over several reads (readuntil waits for the rest, keeping
 * what came) and several in one read (pipelining): each is answered, in
 * order, and all those that arrived together with one write. The
 * connection stays open until the client closes it; a request head over
 * 64 KiB (the stream's limit) closes it. */
#include "server_main.h"

#define RESPONSE "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
#define RESPONSE_LEN (sizeof RESPONSE - 1)
#define BATCH 16 /* responses written by one call */

static char responses[BATCH * RESPONSE_LEN]; /* RESPONSE, BATCH times: read-only once made */

struct connection {
    aio_stream stream;
};

/* Complete requests at the start of p[0, len): how many, and the bytes
 * they take in *used. */
static size_t count_requests(const char *p, size_t len, size_t *used) {
    size_t n = 0, at = 0;
    const char *end;
    while ((end = memmem(p + at, len - at, "\r\n\r\n", 4)) != NULL) {
        at = (size_t)(end - p) + 4;
        n++;
    }
    *used = at;
    return n;
}

AIO_CORO(http, struct connection) {
    AIO_BEGIN(t);
    for (;;) {
        /* Zero-copy: wait until a whole request head is buffered. */
        AIO_AWAIT(t, aio_stream_readuntil(t, f->stream, "\r\n\r\n", NULL, 0));
        if (AIO_ERR(t) < 0)
            break; /* the client closed (AIO_EINCOMPLETE), a head too long, a reset */
        {
            size_t len, used;
            const char *p = aio_stream_peek(t, f->stream, &len);
            size_t n = count_requests(p, len, &used); /* >= 1, more if pipelined */
            for (; n > 0; n -= n < BATCH ? n : BATCH)
                if (aio_stream_write(t, f->stream, responses, (n < BATCH ? n : BATCH) * RESPONSE_LEN) < 0)
                    break;
            aio_stream_consume(t, f->stream, used);
        }
        AIO_AWAIT(t, aio_stream_drain(t, f->stream));
        if (AIO_ERR(t) < 0)
            break;
    }
    AIO_END(t);
}

int main(int argc, char **argv) {
    for (int i = 0; i < BATCH; i++)
        memcpy(responses + i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);
    static serve_config cfg;
    cfg.coro = http;
    cfg.frame = &(struct connection){AIO_STREAM_NULL};
    cfg.frame_size = sizeof(struct connection);
    cfg.stream_offset = offsetof(struct connection, stream);
    return serve_main(argc, argv, &cfg);
}
