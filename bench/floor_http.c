/* The floor of the HTTP workload: a raw epoll HTTP/1.1 keep-alive
 * responder written only for the benchmark. No library, one thread,
 * edge-triggered epoll; answers every request with "Hello, World!"
 * (bench/net_http.h: the response and the parsing rule every HTTP server of
 * the benchmark follows).
 *
 *   floor_http HOST PORT | unix:PATH      (bench/net_server.h)
 *
 * A connection reads into one shared 64 KiB buffer. The start of an
 * unfinished request (split over reads) is kept in a buffer of the
 * connection's own; so are the responses a short write left over, and the
 * connection then reads no more until EPOLLOUT has drained them. One read
 * and one write per request when requests come one at a time (wrk); one
 * write for all the responses to requests pipelined in one read. */
#include "net_http.h"
#include "net_server.h"

#include <stdint.h>

#define BUF_SIZE 65536

typedef struct span {
    char *p;
    size_t len, cap;
} span;

typedef struct http_conn {
    span in;  /* the unfinished request so far */
    span out; /* responses still to write: out.p[out_off .. out.len) */
    size_t out_off;
} http_conn;

static http_conn *conns; /* indexed by fd */
static int nconns;
static char buf[BUF_SIZE];
static span many; /* the responses to several pipelined requests */
static const char response[] = NET_HTTP_RESPONSE;

static int grow_table(int fd) {
    if (fd < nconns)
        return 0;
    int n = nconns ? nconns : 1024;
    while (n <= fd)
        n *= 2;
    http_conn *t = realloc(conns, (size_t)n * sizeof *t);
    if (!t)
        return -1;
    memset(t + nconns, 0, (size_t)(n - nconns) * sizeof *t);
    conns = t;
    nconns = n;
    return 0;
}

static int reserve(span *s, size_t cap) {
    if (cap <= s->cap)
        return 0;
    size_t c = s->cap ? s->cap : 256;
    while (c < cap)
        c *= 2;
    char *p = realloc(s->p, c);
    if (!p)
        return -1;
    s->p = p;
    s->cap = c;
    return 0;
}

static void drop(int fd) {
    free(conns[fd].in.p);
    free(conns[fd].out.p);
    memset(&conns[fd], 0, sizeof conns[fd]);
    close(fd);
}

/* Writes the pending responses: 1 all out, 0 socket full, -1 dead. */
static int flush(int fd, http_conn *c) {
    while (c->out_off < c->out.len) {
        ssize_t w = write(fd, c->out.p + c->out_off, c->out.len - c->out_off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        c->out_off += (size_t)w;
    }
    c->out.len = c->out_off = 0;
    return 1;
}

/* Answers k requests. Returns 1 if all went out, 0 if some wait for
 * EPOLLOUT (kept in c->out), -1 if the connection is dead. */
static int respond(int fd, http_conn *c, size_t k) {
    const char *p = response;
    size_t len = NET_HTTP_RESPONSE_LEN;
    if (k > 1) {
        len = k * NET_HTTP_RESPONSE_LEN;
        if (reserve(&many, len) < 0)
            return -1;
        for (size_t i = 0; i < k; i++)
            memcpy(many.p + i * NET_HTTP_RESPONSE_LEN, response, NET_HTTP_RESPONSE_LEN);
        p = many.p;
    }
    ssize_t w;
    do
        w = write(fd, p, len);
    while (w < 0 && errno == EINTR);
    if (w < 0) {
        if (errno != EAGAIN)
            return -1;
        w = 0;
    }
    if ((size_t)w == len)
        return 1;
    if (reserve(&c->out, len - (size_t)w) < 0)
        return -1;
    memcpy(c->out.p, p + w, len - (size_t)w);
    c->out.len = len - (size_t)w;
    c->out_off = 0;
    return 0;
}

/* Parses what arrived (n bytes in buf), answers the complete requests and
 * keeps the rest. Same return values as respond(). */
static int serve(int fd, http_conn *c, size_t n) {
    const char *p = buf;
    size_t len = n;
    if (c->in.len) { /* a request was split over reads: join the parts */
        if (reserve(&c->in, c->in.len + n) < 0)
            return -1;
        memcpy(c->in.p + c->in.len, buf, n);
        c->in.len += n;
        p = c->in.p;
        len = c->in.len;
    }
    size_t used, k = net_http_count(p, len, &used);
    size_t rest = len - used;
    if (rest > NET_HTTP_MAX_HEAD) /* kept parts stay under this, joins under twice it */
        return -1;
    if (rest && p == buf) {
        if (reserve(&c->in, rest) < 0)
            return -1;
        memcpy(c->in.p, buf + used, rest);
    } else if (rest) {
        memmove(c->in.p, c->in.p + used, rest);
    }
    c->in.len = rest;
    return k ? respond(fd, c, k) : 1;
}

static void on_event(int fd, uint32_t events) {
    http_conn *c = &conns[fd];
    if (c->out.len) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return; /* a write-space edge will come */
        int r = flush(fd, c);
        if (r < 0)
            drop(fd);
        if (r <= 0)
            return;
    }
    for (;;) { /* until a short read: the socket was empty then */
        ssize_t n = read(fd, buf, BUF_SIZE);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n == 0 || errno != EAGAIN)
                drop(fd);
            return;
        }
        int r = serve(fd, c, (size_t)n);
        if (r < 0)
            drop(fd);
        if (r <= 0 || n < BUF_SIZE)
            return; /* r == 0: read no more until EPOLLOUT */
    }
}

int main(int argc, char **argv) { return net_serve(argc, argv, grow_table, on_event); }
