/* A client for echo_server: sends numbered lines, checks every echo.
 *
 *     echo_client HOST PORT [LINES]       (LINES: 100 by default)
 *
 * Prints "echoed LINES lines" and exits 0 if every line came back as it
 * was sent; otherwise says what went wrong and exits 1. The connect has a
 * 5 s timeout (aio_wait_for around aio_open_connection). */
#include <aio/aio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct client {
    const char *host;
    int port, lines, i;
    aio_stream stream;
    char sent[64], got[64];
    int len;
};

AIO_CORO(client, struct client) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_wait_for(t, aio_open_connection(t, f->host, f->port, NULL), 5.0));
    if (AIO_ERR(t) < 0) {
        fprintf(stderr, "echo_client: cannot connect to %s %d: %s\n", f->host, f->port,
                aio_strerror(AIO_ERR(t)));
        AIO_FAIL(t, AIO_ERR(t));
    }
    f->stream = aio_stream_from(AIO_RESULT(t));
    for (f->i = 0; f->i < f->lines; f->i++) {
        f->len = snprintf(f->sent, sizeof f->sent, "line %d of %d\n", f->i + 1, f->lines);
        aio_stream_write(t, f->stream, f->sent, (size_t)f->len);
        AIO_AWAIT_OR(t, aio_stream_readline(t, f->stream, f->got, sizeof f->got), failed);
        if (AIO_RESULT(t).i != f->len || memcmp(f->got, f->sent, (size_t)f->len) != 0) {
            fprintf(stderr, "echo_client: line %d came back wrong\n", f->i + 1);
            aio_stream_close(t, f->stream);
            AIO_FAIL(t, -EPROTO);
        }
    }
    aio_stream_close(t, f->stream);
    AIO_AWAIT(t, aio_stream_wait_closed(t, f->stream));
    printf("echoed %d lines\n", f->lines);
    AIO_RETURN(t, 0);
failed:
    fprintf(stderr, "echo_client: %s after %d lines\n", aio_strerror(AIO_ERR(t)), f->i);
    aio_stream_close(t, f->stream);
    AIO_FAIL(t, AIO_ERR(t));
    AIO_END(t);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [LINES]\n", argv[0]);
        return 2;
    }
    struct client c = {0};
    c.host = argv[1];
    c.port = atoi(argv[2]);
    c.lines = argc > 3 ? atoi(argv[3]) : 100;
    return aio_run(client, &c) == 0 ? 0 : 1;
}
