/* Network workload, libuv peer: a TCP echo server on libuv's stream API,
 * written for speed the way libuv allows it (and uvloop does it): reads
 * land in one shared buffer of libuv's suggested size, 64 KiB (alloc_cb
 * hands out the same buffer each time: libuv calls read_cb before it asks
 * again) and go back with uv_try_write, which writes at once. Only what the socket would not take
 * is copied and queued with uv_write; reading pauses while more than 1 MiB
 * is queued (the 1 GiB stream). uv_try_write refuses while writes are
 * queued, so the order of the bytes is kept.
 *
 * (The textbook form, a malloc'd buffer per read and a uv_write for every
 * read, costs about 3.3 system calls per round trip here instead of 2: an
 * epoll_ctl per write request and brk from malloc trimming the heap.)
 *
 *   uv_echo HOST PORT    prints "listening HOST PORT", serves until
 *                        SIGTERM/SIGINT, exits 0 */
#include "uv_net.h"

#define QUEUE_HIGH (1u << 20) /* stop reading above this many queued bytes */

typedef struct echo_conn {
    uv_tcp_t tcp; /* first: the handle's address is the connection's */
    int paused;   /* reading stopped for backpressure */
} echo_conn;

typedef struct echo_write {
    uv_write_t req;
    uv_buf_t buf; /* a copy of what uv_try_write could not send */
} echo_write;

static char shared[65536];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(shared, sizeof shared);
}

static void on_close(uv_handle_t *h) { free(h); }

static void close_conn(uv_stream_t *s) {
    if (!uv_is_closing((uv_handle_t *)s))
        uv_close((uv_handle_t *)s, on_close);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void on_write(uv_write_t *req, int status) {
    echo_write *w = (echo_write *)req;
    uv_stream_t *s = req->handle;
    echo_conn *c = (echo_conn *)s;
    free(w->buf.base);
    free(w);
    if (status < 0) {
        close_conn(s);
        return;
    }
    if (c->paused && uv_stream_get_write_queue_size(s) == 0 && !uv_is_closing((uv_handle_t *)s)) {
        c->paused = 0;
        uv_read_start(s, on_alloc, on_read);
    }
}

/* Queues a copy of p[0 .. n) behind the writes already queued. */
static int queue_copy(uv_stream_t *s, const char *p, size_t n) {
    echo_write *w = malloc(sizeof *w);
    char *copy = malloc(n);
    if (!w || !copy) {
        free(w);
        free(copy);
        return UV_ENOMEM;
    }
    memcpy(copy, p, n);
    w->buf = uv_buf_init(copy, (unsigned)n);
    int r = uv_write(&w->req, s, &w->buf, 1, on_write);
    if (r < 0) {
        free(copy);
        free(w);
    }
    return r;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    if (n <= 0) {
        if (n < 0) /* UV_EOF, or the client reset the connection */
            close_conn(s);
        return;
    }
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)n);
    int sent = uv_try_write(s, &out, 1);
    if (sent == n)
        return;
    if (sent < 0 && sent != UV_EAGAIN) {
        close_conn(s);
        return;
    }
    if (sent < 0)
        sent = 0;
    if (queue_copy(s, buf->base + sent, (size_t)(n - sent)) < 0) {
        close_conn(s);
        return;
    }
    if (uv_stream_get_write_queue_size(s) > QUEUE_HIGH) {
        ((echo_conn *)s)->paused = 1;
        uv_read_stop(s);
    }
}

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0)
        return;
    echo_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv) { return uv_net_serve(argc, argv, "uv_echo", on_connection); }
