/* asyncio's open_connection and open_unix_connection: resolve (a name,
 * on the executor pool), then try each address in order until one
 * connects, then hand the stream over.
 *
 * The operation owns its future (cancel: abandon the lookup, close the
 * socket being connected, end cancelled). The stream is handed over by
 * wake-then-take: the future is woken when connected, and the stream's
 * handle becomes the caller's only when the caller takes the outcome; a
 * wake-up that is declined (the task was cancelled before it resumed)
 * closes the stream, so a cancel never leaks a connection.
 *
 * The socket being connected is already a stream (in ST_CONNECTING): its
 * watcher, registered once, is the one the connection keeps. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/owner.h"
#include "core/mem.h"
#include "net/net.h"
#include "io/sys.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct aio__connect {
    aio__owner own; /* first: cancel */
    aio__taker tk;
    aio__connect *prev, *next; /* the loop's list */
    uint32_t fut;
    aio_stream_options opts;
    aio__resolve *lookup; /* while resolving */
    struct sockaddr_storage *addrs;
    socklen_t *lens;
    size_t naddrs, next_addr;
    struct sockaddr_storage one; /* a numeric or Unix address: addrs points here */
    socklen_t onelen;
    int first_err;
    aio__stream *s; /* connecting, or connected and not yet taken */
};

static aio__connect *of_tk(aio__taker *tk) {
    return (aio__connect *)(void *)((char *)tk - offsetof(aio__connect, tk));
}

static void conn_free(aio_loop *loop, aio__connect *c) {
    struct aio__net *n = loop->net;
    if (c->prev)
        c->prev->next = c->next;
    else
        n->connects = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->addrs != &c->one) {
        aio__free(c->addrs);
        aio__free(c->lens);
    }
    aio__free(c);
}

/* Drop the socket being tried (closed at once, its record freed). */
static void drop_stream(aio_loop *loop, aio__connect *c) {
    if (c->s) {
        c->s->conn = NULL;
        aio__stream_close(loop, c->s, true);
        c->s = NULL;
    }
}

static void fail(aio_loop *loop, aio__connect *c, int err) {
    drop_stream(loop, c);
    aio__owned_finish(loop, c->fut, err, (aio_value){0});
    conn_free(loop, c);
}

/* Connected: the stream is ready; wake the caller. */
static void connected(aio_loop *loop, aio__connect *c) {
    aio__stream *s = c->s;
    s->conn = NULL;
    s->state = ST_OPEN;
    s->readable = s->writable = true;
    aio__stream_update_want(loop, s);
    uint32_t idx = c->fut;
    aio__fut_wake(loop, idx, &c->tk);
    aio__fut_drop(loop, idx); /* the owner's hold: may decline at once (and free c) */
}

static void try_next(aio_loop *loop, aio__connect *c) {
    while (c->next_addr < c->naddrs) {
        size_t i = c->next_addr++;
        const struct sockaddr *a = (const struct sockaddr *)&c->addrs[i];
        int fd = aio__sys_socket(a->sa_family, SOCK_STREAM);
        int err = fd < 0 ? -errno : 0;
        bool tcp = a->sa_family == AF_INET || a->sa_family == AF_INET6;
        if (err == 0 && tcp && c->opts.no_delay >= 0)
            (void)aio__sock_nodelay(fd);
        bool now = false;
        if (err == 0) {
            if (aio__sys_connect(fd, a, c->lens[i]) == 0)
                now = true;
            else if (errno != EINPROGRESS && errno != EINTR)
                err = -errno; /* a Unix socket refuses at once; its EAGAIN is a full backlog */
        }
        if (err == 0) {
            c->s = aio__stream_new(loop, fd, &c->opts, ST_CONNECTING, &err);
            if (c->s) {
                c->s->is_tcp = tcp;
                c->s->conn = c;
                if (now)
                    connected(loop, c);
                return;
            }
        }
        aio__sys_close(fd);
        if (!c->first_err)
            c->first_err = err;
    }
    fail(loop, c, c->first_err ? c->first_err : AIO_ERESOLVE);
}

void aio__connect_ready(aio_loop *loop, aio__stream *s, unsigned events) {
    aio__connect *c = s->conn;
    if (!c)
        return;
    int err = aio__sys_sockerr(s->w.fd);
    if (err == 0 && !(events & AIO__EV_WRITE))
        return; /* not yet */
    if (err == 0) {
        connected(loop, c);
        return;
    }
    if (!c->first_err)
        c->first_err = err;
    drop_stream(loop, c);
    try_next(loop, c);
}

static int conn_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)idx;
    aio__connect *c = of_tk(tk);
    out->u = c->s->id; /* the stream is the caller's from now on */
    c->s = NULL;
    conn_free(loop, c);
    return 0;
}

static void conn_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio__connect *c = of_tk(tk);
    drop_stream(loop, c); /* nobody took it: the connection closes */
    conn_free(loop, c);
}

static int conn_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    aio__connect *c = (aio__connect *)(void *)o;
    if (c->lookup)
        aio__resolve_abandon(loop, c->lookup);
    drop_stream(loop, c);
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, c->fut, AIO_ECANCELLED, v);
    conn_free(loop, c);
    return 1;
}
/* For the task dumps (aio/debug.h). */
static void conn_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    (void)loop;
    const aio__connect *c = (const aio__connect *)(void *)o;
    snprintf(info->text, info->len, "open_connection: %s", c->lookup ? "resolving" : "connecting");
}
static const aio__owner_ops conn_ops = {.cancel = conn_cancel, .describe = conn_describe};

static void on_resolved(aio_loop *loop, void *arg, int err, struct addrinfo *res) {
    aio__connect *c = arg;
    c->lookup = NULL;
    if (err < 0) {
        fail(loop, c, err);
        return;
    }
    size_t n = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        n++;
    c->addrs = aio__malloc(n * sizeof *c->addrs);
    c->lens = aio__malloc(n * sizeof *c->lens);
    if (!c->addrs || !c->lens) {
        aio__free(c->addrs);
        aio__free(c->lens);
        c->addrs = &c->one; /* conn_free must not free them twice */
        fail(loop, c, -ENOMEM);
        return;
    }
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_addrlen > sizeof *c->addrs)
            continue;
        memcpy(&c->addrs[c->naddrs], a->ai_addr, a->ai_addrlen);
        c->lens[c->naddrs++] = a->ai_addrlen;
    }
    try_next(loop, c);
}

static aio__connect *conn_new(aio_loop *loop, const aio_stream_options *opts, int *err) {
    struct aio__net *n = aio__net_get(loop);
    aio__connect *c = n ? aio__calloc(1, sizeof *c) : NULL;
    if (!c) {
        *err = -ENOMEM;
        return NULL;
    }
    if ((*err = aio__fut_alloc(loop, &c->fut)) < 0) {
        aio__free(c);
        return NULL;
    }
    c->own.ops = &conn_ops;
    aio__fut_set_owner(loop, c->fut, &c->own);
    c->tk.take = conn_take;
    c->tk.decline = conn_decline;
    if (opts)
        c->opts = *opts;
    c->addrs = &c->one;
    c->lens = &c->onelen;
    c->next = n->connects;
    if (c->next)
        c->next->prev = c;
    n->connects = c;
    return c;
}

static int check_opts(const aio_stream_options *opts) {
    if (opts && opts->high_water && opts->low_water > opts->high_water)
        return -EINVAL;
    return 0;
}

aio_future aio_open_connection(aio_loop *loop, const char *host, int port, const aio_stream_options *opts) {
    int rc = aio__loop_usable(loop);
    if (rc == 0 && (!host || !*host || port < 0 || port > 65535))
        rc = -EINVAL;
    if (rc == 0)
        rc = check_opts(opts);
    if (rc < 0)
        return aio__error_handle(rc);
    struct sockaddr_storage ss;
    socklen_t len;
    int numeric = aio__addr_numeric(host, port, false, AF_UNSPEC, &ss, &len);
    if (numeric < 0 && numeric != -EAGAIN)
        return aio__error_handle(numeric);
    aio__connect *c = conn_new(loop, opts, &rc);
    if (!c)
        return aio__error_handle(rc);
    aio_future f = aio__fut_handle(loop, c->fut);
    if (numeric == 0) { /* no lookup */
        c->one = ss;
        c->onelen = len;
        c->naddrs = 1;
        try_next(loop, c);
        return f;
    }
    c->lookup = aio__resolve_start(loop, host, port, false, AF_UNSPEC, on_resolved, c, &rc);
    if (!c->lookup)
        fail(loop, c, rc);
    return f;
}

aio_future aio_open_unix_connection(aio_loop *loop, const char *path, const aio_stream_options *opts) {
    int rc = aio__loop_usable(loop);
    if (rc == 0)
        rc = check_opts(opts);
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (rc == 0)
        rc = aio__addr_unix(path, &ss, &len);
    if (rc < 0)
        return aio__error_handle(rc);
    aio__connect *c = conn_new(loop, opts, &rc);
    if (!c)
        return aio__error_handle(rc);
    aio_future f = aio__fut_handle(loop, c->fut);
    c->one = ss;
    c->onelen = len;
    c->naddrs = 1;
    try_next(loop, c);
    return f;
}

void aio__connects_free_all(aio_loop *loop) {
    struct aio__net *n = loop->net;
    while (n->connects) {
        aio__connect *c = n->connects;
        if (c->s)
            c->s->conn = NULL; /* its stream goes with the others */
        if (c->lookup)
            aio__resolve_abandon(loop, c->lookup);
        conn_free(loop, c);
    }
}
