/* Network workload, libuv peer: an HTTP/1.1 keep-alive "Hello, World!"
 * server on libuv (the response and the parsing rule of ../net_http.h,
 * which every HTTP server of the benchmark follows), written like uv_echo.c:
 * reads land in one shared 64 KiB buffer, the start of a request split over
 * reads is kept per connection, and the responses (one write for all the
 * requests of one read) go out with uv_try_write; only what the socket
 * would not take is copied and queued with uv_write. Reading pauses while
 * more than 1 MiB is queued.
 *
 *   uv_http HOST PORT    prints "listening HOST PORT", serves until
 *                        SIGTERM/SIGINT, exits 0 */
#include "../net_http.h"
#include "uv_net.h"

#define QUEUE_HIGH (1u << 20)

typedef struct http_conn {
    uv_tcp_t tcp; /* first: the handle's address is the connection's */
    int paused;
    char *in; /* the unfinished request so far */
    size_t in_len, in_cap;
} http_conn;

typedef struct http_write {
    uv_write_t req;
    char *owned; /* a copy of what uv_try_write could not send */
} http_write;

static const char response[] = NET_HTTP_RESPONSE;
static char shared[65536]; /* every read lands here (libuv reads one at a time) */
static char *many;         /* the responses to several pipelined requests */
static size_t many_cap;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(shared, sizeof shared);
}

static void on_close(uv_handle_t *h) {
    http_conn *c = (http_conn *)h;
    free(c->in);
    free(c);
}

static void close_conn(uv_stream_t *s) {
    if (!uv_is_closing((uv_handle_t *)s))
        uv_close((uv_handle_t *)s, on_close);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void on_write(uv_write_t *req, int status) {
    http_write *w = (http_write *)req;
    uv_stream_t *s = req->handle;
    http_conn *c = (http_conn *)s;
    free(w->owned);
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

/* Answers k requests: writes now what the socket takes, queues a copy of
 * the rest. Returns 0 or a libuv error. */
static int respond(uv_stream_t *s, size_t k) {
    const char *p = response;
    size_t len = k * NET_HTTP_RESPONSE_LEN;
    if (k > 1) {
        if (len > many_cap) {
            char *q = realloc(many, len);
            if (!q)
                return UV_ENOMEM;
            many = q;
            many_cap = len;
        }
        for (size_t i = 0; i < k; i++)
            memcpy(many + i * NET_HTTP_RESPONSE_LEN, response, NET_HTTP_RESPONSE_LEN);
        p = many;
    }
    uv_buf_t out = uv_buf_init((char *)p, (unsigned)len);
    int sent = uv_try_write(s, &out, 1);
    if (sent == (int)len)
        return 0;
    if (sent < 0 && sent != UV_EAGAIN)
        return sent;
    if (sent < 0)
        sent = 0;
    http_write *w = malloc(sizeof *w);
    if (!w || !(w->owned = malloc(len - (size_t)sent))) {
        free(w);
        return UV_ENOMEM;
    }
    memcpy(w->owned, p + sent, len - (size_t)sent);
    out = uv_buf_init(w->owned, (unsigned)(len - (size_t)sent));
    int r = uv_write(&w->req, s, &out, 1, on_write);
    if (r < 0) {
        free(w->owned);
        free(w);
    }
    return r;
}

/* Parses p[0 .. n) after what the connection kept; answers the complete
 * requests and keeps the rest. Returns 0 or a libuv error. */
static int serve(http_conn *c, const char *p, size_t n) {
    if (c->in_len) { /* a request was split over reads: join the parts */
        if (c->in_len + n > c->in_cap) {
            size_t cap = 2 * (c->in_len + n);
            char *q = realloc(c->in, cap);
            if (!q)
                return UV_ENOMEM;
            c->in = q;
            c->in_cap = cap;
        }
        memcpy(c->in + c->in_len, p, n);
        c->in_len += n;
        p = c->in;
        n = c->in_len;
    }
    size_t used, k = net_http_count(p, n, &used);
    size_t rest = n - used;
    if (rest > NET_HTTP_MAX_HEAD)
        return UV_E2BIG;
    if (rest > c->in_cap) {
        char *q = malloc(rest);
        if (!q)
            return UV_ENOMEM;
        memcpy(q, p + used, rest);
        free(c->in);
        c->in = q;
        c->in_cap = rest;
    } else if (rest) {
        memmove(c->in, p + used, rest);
    }
    c->in_len = rest;
    return k ? respond((uv_stream_t *)&c->tcp, k) : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    http_conn *c = (http_conn *)s;
    int r = n < 0 ? (int)n : n > 0 ? serve(c, buf->base, (size_t)n) : 0;
    if (r < 0) { /* UV_EOF, a reset, or a request too long */
        close_conn(s);
        return;
    }
    if (uv_stream_get_write_queue_size(s) > QUEUE_HIGH) {
        c->paused = 1;
        uv_read_stop(s);
    }
}

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0)
        return;
    http_conn *c = calloc(1, sizeof *c);
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

int main(int argc, char **argv) { return uv_net_serve(argc, argv, "uv_http", on_connection); }
