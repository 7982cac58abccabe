/* Servers (asyncio's start_server, start_unix_server and Server): the
 * listening sockets, accepting, one task per connection, closing.
 *
 * Each listening socket has an internal watcher (edge-triggered where the
 * backend can). A report accepts in a loop until EAGAIN (at most
 * ACCEPT_BATCH at a time: more go on from a zero-delay timer, so a flood of
 * connections cannot starve the loop). Each connection becomes a stream
 * and a task running the user's coroutine on a copy of the server's frame
 * with the stream in it; the server listens for the task's end and then
 * closes the stream (after sending what it buffered), and reports a task
 * that failed.
 *
 * Out of descriptors (EMFILE, ENFILE) or memory (ENOBUFS, ENOMEM), accept
 * stops: the watcher waits for nothing (no spinning on a level-triggered
 * backend, no lost edge on an edge-triggered one) and a timer tries again
 * after a pause that doubles from 10 ms to 1 s, back to 10 ms after a
 * success. Connections wait in the kernel's backlog meanwhile.
 *
 * Lifetime: the server's record lives until it is closed, has no
 * connection left, and no WOKEN future points at its takers; its handle
 * then says closed. The start future hands the server over by
 * wake-then-take: declined (the caller was cancelled before it resumed),
 * the server closes. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/report.h"
#include "core/handles.h"
#include "core/owner.h"
#include "core/timers.h"
#include "core/mem.h"
#include "net/net.h"
#include "io/sys.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#define ACCEPT_BATCH 64
#define BACKOFF_MIN_NS ((int64_t)10000000)   /* 10 ms */
#define BACKOFF_MAX_NS ((int64_t)1000000000) /* 1 s */

typedef struct listener {
    aio__iow w;
    aio__server *srv;
    int family;
    bool readable; /* connections may be waiting (not yet seen EAGAIN) */
} listener;

struct aio__server {
    uint64_t id;
    aio__server *prev, *next; /* the loop's list */
    aio_coro_fn fn;
    char *frame, *scratch; /* the frame to copy, and where a connection's copy is made */
    size_t frame_size, stream_offset;
    aio_server_options opts;
    listener *ls;
    int nls;
    bool listening; /* listen(2) was called */
    bool serving;   /* accepting */
    bool closed;
    bool paused; /* out of descriptors: the timer tries again */
    bool has_timer;
    uint32_t timer;
    int64_t backoff;
    /* Unix: the file this server made, removed at close if still its own */
    char *path;
    dev_t dev;
    ino_t ino;
    bool made_path; /* dev and ino are those of the file we bound */
    aio__stream *clients;
    size_t nclients;
    aio__waitq cq; /* wait_closed */
    aio__taker ctk;
    uint32_t woken;
    /* the start future: owned while pending (cancel), then woken */
    aio__owner sown;
    aio__taker stk;
    uint32_t sfut;
    bool starting;
    aio__resolve *lookup;
    int port; /* to bind when resolving */
    /* serve_forever's future, pending until close (AIO__NIL: none) */
    aio__owner fown;
    uint32_t forever;
};

static aio__server *of_stk(aio__taker *tk) {
    return (aio__server *)(void *)((char *)tk - offsetof(aio__server, stk));
}
static aio__server *of_ctk(aio__taker *tk) {
    return (aio__server *)(void *)((char *)tk - offsetof(aio__server, ctk));
}

/* ---- life ---- */

static void srv_free(aio_loop *loop, aio__server *srv) {
    struct aio__net *n = loop->net;
    aio__nh_free(loop, srv->id);
    if (srv->prev)
        srv->prev->next = srv->next;
    else
        n->servers = srv->next;
    if (srv->next)
        srv->next->prev = srv->prev;
    aio__free(srv->ls);
    aio__free(srv->frame);
    aio__free(srv->scratch);
    aio__free(srv->path);
    aio__free(srv);
}

static void srv_maybe_free(aio_loop *loop, aio__server *srv) {
    if (srv->closed && srv->nclients == 0 && srv->woken == 0 && !srv->starting && srv->forever == AIO__NIL &&
        aio__waitq_empty(&srv->cq))
        srv_free(loop, srv);
}

static void check_closed(aio_loop *loop, aio__server *srv) {
    if (srv->closed && srv->nclients == 0)
        srv->woken += aio__waitq_wake_all(loop, &srv->cq, &srv->ctk);
    srv_maybe_free(loop, srv);
}

static void unlink_path(aio__server *srv) {
    struct stat st;
    if (srv->made_path && !srv->opts.keep_unix_path && lstat(srv->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
        st.st_dev == srv->dev && st.st_ino == srv->ino)
        (void)unlink(srv->path); /* still ours: nobody replaced it */
}

static void stop_listening(aio_loop *loop, aio__server *srv) {
    for (int i = 0; i < srv->nls; i++) {
        if (srv->ls[i].w.fd >= 0) {
            aio__iow_stop(loop, &srv->ls[i].w);
            aio__sys_close(srv->ls[i].w.fd);
            srv->ls[i].w.fd = -1;
        }
    }
    srv->nls = 0;
    if (srv->has_timer) {
        aio__timer_cancel(loop, srv->timer);
        srv->has_timer = false;
    }
}

static void srv_close(aio_loop *loop, aio__server *srv) {
    if (srv->closed)
        return;
    srv->closed = true;
    srv->serving = false;
    stop_listening(loop, srv);
    unlink_path(srv);
    if (srv->forever != AIO__NIL) { /* serve_forever ends cancelled */
        uint32_t f = srv->forever;
        srv->forever = AIO__NIL;
        aio__owned_finish(loop, f, AIO_ECANCELLED, (aio_value){0});
    }
    check_closed(loop, srv);
}

void aio__server_client_gone(aio_loop *loop, aio__server *srv, aio__stream *s) {
    if (s->sprev)
        s->sprev->snext = s->snext;
    else
        srv->clients = s->snext;
    if (s->snext)
        s->snext->sprev = s->sprev;
    s->srv = NULL;
    srv->nclients--;
    check_closed(loop, srv);
}

void aio__servers_free_all(aio_loop *loop) {
    struct aio__net *n = loop->net;
    while (n->servers) {
        aio__server *srv = n->servers;
        for (aio__stream *s = srv->clients; s; s = s->snext)
            s->srv = NULL; /* the streams go with the others */
        for (int i = 0; i < srv->nls; i++)
            if (srv->ls[i].w.fd >= 0) {
                aio__iow_stop(loop, &srv->ls[i].w);
                aio__sys_close(srv->ls[i].w.fd);
            }
        unlink_path(srv);
        if (srv->lookup)
            aio__resolve_abandon(loop, srv->lookup);
        srv_free(loop, srv);
    }
}

/* ---- accepting ---- */

static void accept_some(aio_loop *loop, aio__server *srv, listener *l);

static void retry_accept(aio_loop *loop, void *arg) {
    aio__server *srv = arg;
    srv->has_timer = false;
    if (!srv->serving)
        return;
    srv->paused = false;
    for (int i = 0; i < srv->nls; i++) {
        srv->ls[i].readable = true; /* whatever waits in the backlog */
        aio__iow_want(loop, &srv->ls[i].w, AIO__EV_READ);
    }
    for (int i = 0; i < srv->nls && srv->serving && !srv->paused; i++)
        accept_some(loop, srv, &srv->ls[i]);
}

static void arm_retry(aio_loop *loop, aio__server *srv, int64_t delay) {
    if (srv->has_timer)
        return;
    srv->has_timer = aio__timer_arm(loop, loop->now_ns + delay, retry_accept, srv, &srv->timer) == 0;
}

/* Out of descriptors or memory: stop accepting for a while. */
static void pause_accepting(aio_loop *loop, aio__server *srv) {
    srv->paused = true;
    for (int i = 0; i < srv->nls; i++)
        aio__iow_want(loop, &srv->ls[i].w, 0);
    srv->backoff = srv->backoff ? srv->backoff * 2 : BACKOFF_MIN_NS;
    if (srv->backoff > BACKOFF_MAX_NS)
        srv->backoff = BACKOFF_MAX_NS;
    arm_retry(loop, srv, srv->backoff);
}

/* The connection task ended: close its stream (if it did not) and report
 * a failure (asyncio's "Unhandled exception in client_connected_cb"). */
static void client_done(aio_loop *loop, aio_future task, void *arg) {
    aio__stream *s = arg;
    uint32_t idx = s->task;
    int err = aio_future_error(loop, task); /* retrieved: not reported twice */
    s->held = false;
    s->task = AIO__NIL;
    if (err < 0 && err != AIO_ECANCELLED)
        aio__report(loop, "Unhandled error in a client connection task", err, idx);
    if (!s->released) {
        aio__stream_close(loop, s, false); /* detaches once closed; may free s */
        return;
    }
    aio__stream_detach(loop, s); /* closed by the task: gone now */
    aio__stream_maybe_free(loop, s);
}

static void new_connection(aio_loop *loop, aio__server *srv, listener *l, int fd) {
    bool tcp = l->family == AF_INET || l->family == AF_INET6;
    if (tcp && srv->opts.stream.no_delay >= 0)
        (void)aio__sock_nodelay(fd);
    int err;
    aio__stream *s = aio__stream_new(loop, fd, &srv->opts.stream, ST_OPEN, &err);
    if (!s) {
        aio__sys_close(fd);
        aio__report(loop, "server: a connection was dropped", err, AIO__NIL);
        return;
    }
    s->is_tcp = tcp;
    aio_stream h = {s->id};
    memcpy(srv->scratch, srv->frame, srv->frame_size);
    memcpy(srv->scratch + srv->stream_offset, &h, sizeof h);
    aio_future task = aio_create_task_sized(loop, srv->fn, srv->scratch, srv->frame_size);
    uint32_t idx;
    err = aio__fut_lookup(loop, task, &idx);
    if (err == 0 && (err = aio__fut_add_node(loop, idx, client_done, s)) < 0)
        aio_task_cancel(loop, task, NULL); /* not started: it never runs */
    if (err == 0) {
        s->held = true;
        s->task = idx;
        s->srv = srv;
        s->snext = srv->clients;
        if (s->snext)
            s->snext->sprev = s;
        srv->clients = s;
        srv->nclients++;
    } else {
        aio__report(loop, "server: a connection was dropped", err, AIO__NIL);
        aio__stream_close(loop, s, true);
    }
    if (aio_future_check(task) == 0)
        aio_future_release(loop, task);
}

static void accept_some(aio_loop *loop, aio__server *srv, listener *l) {
    for (int n = 0; n < ACCEPT_BATCH; n++) {
        if (!srv->serving || srv->paused || l->w.fd < 0 || !l->readable)
            return;
        int fd = aio__sys_accept(l->w.fd, NULL, NULL);
        if (fd >= 0) {
            srv->backoff = 0;
            new_connection(loop, srv, l, fd);
            continue;
        }
        switch (errno) {
        case EINTR:
        case ECONNABORTED: /* the peer gave up first */
        case EPROTO:
        case EPERM: /* a firewall refused it (Linux) */
            continue;
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            l->readable = false;
            return;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            pause_accepting(loop, srv);
            return;
        default:
            aio__report(loop, "server: accept failed", -errno, AIO__NIL);
            pause_accepting(loop, srv);
            return;
        }
    }
    arm_retry(loop, srv, 0); /* more may wait: go on next iteration */
}

static void listener_io(aio_loop *loop, aio__iow *w, unsigned events) {
    listener *l = (listener *)(void *)w;
    (void)events;
    l->readable = true;
    accept_some(loop, l->srv, l);
}

/* ---- opening the listening sockets ---- */

/* A socket file at path: remove it if nobody listens on it (stale), refuse
 * if someone does or if it is any other kind of file. */
static int unix_prepare(const struct sockaddr *a, socklen_t len, const char *path) {
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EADDRINUSE; /* a regular file (or other): left alone */
    int fd = aio__sys_socket(AF_UNIX, SOCK_STREAM);
    if (fd < 0)
        return -errno;
    int rc = aio__sys_connect(fd, a, len);
    int e = errno;
    aio__sys_close(fd);
    if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
        return -EADDRINUSE; /* a live server */
    if (e == ECONNREFUSED && unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static int do_listen(aio__server *srv) {
    int backlog = srv->opts.backlog > 0 ? srv->opts.backlog : SOMAXCONN;
    for (int i = 0; i < srv->nls; i++)
        if (aio__sys_listen(srv->ls[i].w.fd, backlog) < 0)
            return -errno;
    srv->listening = true;
    return 0;
}

static int start_serving(aio_loop *loop, aio__server *srv) {
    if (srv->serving)
        return 0;
    if (!srv->listening) {
        int rc = do_listen(srv);
        if (rc < 0)
            return rc;
    }
    srv->serving = true;
    for (int i = 0; i < srv->nls; i++) {
        srv->ls[i].readable = true;
        aio__iow_want(loop, &srv->ls[i].w, AIO__EV_READ);
    }
    for (int i = 0; i < srv->nls && srv->serving && !srv->paused; i++)
        accept_some(loop, srv, &srv->ls[i]);
    return 0;
}

/* Bind one listening socket to a (its port set to `port` if not 0). */
static int open_listener(aio_loop *loop, aio__server *srv, struct sockaddr_storage *ss, socklen_t len,
                         int port) {
    int family = ss->ss_family;
    if (port && family == AF_INET)
        ((struct sockaddr_in *)(void *)ss)->sin_port = htons((uint16_t)port);
    else if (port && family == AF_INET6)
        ((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons((uint16_t)port);
    if (family == AF_UNIX) {
        int rc = unix_prepare((struct sockaddr *)ss, len, srv->path);
        if (rc < 0)
            return rc;
    }
    int fd = aio__sys_socket(family, SOCK_STREAM);
    if (fd < 0)
        return -errno;
    int one = 1, rc = 0;
    if (family != AF_UNIX && !srv->opts.no_reuse_address)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#ifdef SO_REUSEPORT
    if (srv->opts.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        rc = -errno;
#else
    if (srv->opts.reuse_port)
        rc = -EOPNOTSUPP;
#endif
    if (rc == 0 && family == AF_INET6) /* one socket per family, as asyncio */
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (rc == 0 && aio__sys_bind(fd, (struct sockaddr *)ss, len) < 0)
        rc = -errno;
    listener *l = &srv->ls[srv->nls];
    memset(l, 0, sizeof *l);
    l->srv = srv;
    l->family = family;
    if (rc == 0)
        rc = aio__iow_start(loop, &l->w, fd, listener_io, 0);
    if (rc < 0) {
        aio__sys_close(fd);
        return rc;
    }
    srv->nls++;
    if (family == AF_UNIX) {
        struct stat st;
        if (stat(srv->path, &st) == 0) {
            srv->dev = st.st_dev;
            srv->ino = st.st_ino;
            srv->made_path = true;
        }
    }
    return 0;
}

/* Open a listening socket per address of `list` (all on one port), then
 * serve unless deferred. 0 or the first error (nothing left open). */
static int open_all(aio_loop *loop, aio__server *srv, const struct addrinfo *list, int port) {
    size_t n = 0;
    for (const struct addrinfo *a = list; a; a = a->ai_next)
        n++;
    if (n == 0)
        return AIO_ERESOLVE;
    if (!(srv->ls = aio__calloc(n, sizeof *srv->ls)))
        return -ENOMEM;
    int rc = 0;
    for (const struct addrinfo *a = list; a && rc == 0; a = a->ai_next) {
        if (srv->opts.family && a->ai_family != srv->opts.family)
            continue;
        struct sockaddr_storage ss;
        if (a->ai_addrlen > sizeof ss)
            continue;
        memcpy(&ss, a->ai_addr, a->ai_addrlen);
        rc = open_listener(loop, srv, &ss, a->ai_addrlen, port);
        if (rc == 0 && port == 0 && srv->nls == 1 && n > 1) {
            /* Port 0: the kernel's pick for the first, the same for the rest. */
            struct sockaddr_storage got;
            socklen_t gl = sizeof got;
            if (getsockname(srv->ls[0].w.fd, (struct sockaddr *)&got, &gl) == 0)
                port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)(void *)&got)->sin_port
                                                      : ((struct sockaddr_in6 *)(void *)&got)->sin6_port);
        }
    }
    if (rc == 0 && srv->nls == 0)
        rc = -EAFNOSUPPORT; /* nothing of the family asked for */
    if (rc == 0 && !srv->opts.defer_serving)
        rc = start_serving(loop, srv);
    if (rc < 0) {
        stop_listening(loop, srv);
        unlink_path(srv);
    }
    return rc;
}

/* ---- the start future ---- */

static int start_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)idx;
    aio__server *srv = of_stk(tk);
    out->u = srv->id; /* the caller's from now on */
    srv->woken--;
    srv_maybe_free(loop, srv);
    return 0;
}

static void start_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio__server *srv = of_stk(tk);
    srv->woken--;
    srv_close(loop, srv); /* nobody took it */
}

/* The start is over: hand the server over, or fail (and free it). */
static void start_finish(aio_loop *loop, aio__server *srv, int err) {
    uint32_t idx = srv->sfut;
    srv->starting = false;
    if (err < 0) {
        aio__owned_finish(loop, idx, err, (aio_value){0});
        srv->closed = true;
        srv_maybe_free(loop, srv);
        return;
    }
    srv->woken++;
    aio__fut_wake(loop, idx, &srv->stk);
    aio__fut_drop(loop, idx); /* may decline at once */
}

static int start_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    aio__server *srv = (aio__server *)(void *)((char *)o - offsetof(aio__server, sown));
    if (srv->lookup) {
        aio__resolve_abandon(loop, srv->lookup);
        srv->lookup = NULL;
    }
    srv->starting = false;
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, srv->sfut, AIO_ECANCELLED, v);
    stop_listening(loop, srv);
    srv->closed = true;
    srv_maybe_free(loop, srv);
    return 1;
}
static void start_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    (void)loop;
    (void)o;
    snprintf(info->text, info->len, "start_server");
}
static const aio__owner_ops start_ops = {.cancel = start_cancel, .describe = start_describe};

static void on_resolved(aio_loop *loop, void *arg, int err, struct addrinfo *res) {
    aio__server *srv = arg;
    srv->lookup = NULL;
    start_finish(loop, srv, err < 0 ? err : open_all(loop, srv, res, srv->port));
}

static int close_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)idx;
    aio__server *srv = of_ctk(tk);
    out->u = 0;
    srv->woken--;
    srv_maybe_free(loop, srv);
    return 0;
}
static void close_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio__server *srv = of_ctk(tk);
    srv->woken--;
    srv_maybe_free(loop, srv);
}

static int forever_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    aio__server *srv = (aio__server *)(void *)((char *)o - offsetof(aio__server, fown));
    uint32_t f = srv->forever;
    srv->forever = AIO__NIL;
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, f, AIO_ECANCELLED, v);
    srv_close(loop, srv); /* asyncio: cancelling serve_forever closes the server */
    return 1;
}
static void forever_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    (void)loop;
    (void)o;
    snprintf(info->text, info->len, "serve_forever");
}
static const aio__owner_ops forever_ops = {.cancel = forever_cancel, .describe = forever_describe};

/* A server record and its pending start future; NULL and *err. */
static aio__server *srv_new(aio_loop *loop, aio_coro_fn fn, const void *frame, size_t frame_size,
                            size_t stream_offset, const aio_server_options *opts, int *err) {
    struct aio__net *n = aio__net_get(loop);
    aio__server *srv = n ? aio__calloc(1, sizeof *srv) : NULL;
    if (!srv) {
        *err = -ENOMEM;
        return NULL;
    }
    srv->fn = fn;
    srv->frame_size = frame_size;
    srv->stream_offset = stream_offset;
    srv->forever = AIO__NIL;
    if (opts)
        srv->opts = *opts;
    srv->ctk.take = close_take;
    srv->ctk.decline = close_decline;
    srv->stk.take = start_take;
    srv->stk.decline = start_decline;
    srv->sown.ops = &start_ops;
    srv->fown.ops = &forever_ops;
    srv->frame = aio__malloc(frame_size);
    srv->scratch = aio__malloc(frame_size);
    *err = srv->frame && srv->scratch ? aio__nh_new(loop, srv, AIO__NK_SERVER, &srv->id) : -ENOMEM;
    if (*err == 0)
        *err = aio__fut_alloc(loop, &srv->sfut);
    if (*err < 0) {
        if (srv->id)
            aio__nh_free(loop, srv->id);
        aio__free(srv->frame);
        aio__free(srv->scratch);
        aio__free(srv);
        return NULL;
    }
    memcpy(srv->frame, frame, frame_size);
    aio__fut_set_owner(loop, srv->sfut, &srv->sown);
    srv->starting = true;
    srv->next = n->servers;
    if (srv->next)
        srv->next->prev = srv;
    n->servers = srv;
    return srv;
}

static int check_args(aio_loop *loop, aio_coro_fn fn, const void *frame, size_t frame_size,
                      size_t stream_offset) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!fn || !frame || frame_size < sizeof(aio_stream) || stream_offset > frame_size - sizeof(aio_stream))
        return -EINVAL;
    return 0;
}

aio_future aio_start_server_sized(aio_loop *loop, const char *host, int port, aio_coro_fn fn,
                                  const void *frame, size_t frame_size, size_t stream_offset,
                                  const aio_server_options *opts) {
    int rc = check_args(loop, fn, frame, frame_size, stream_offset);
    if (rc == 0 && (port < 0 || port > 65535))
        rc = -EINVAL;
    if (rc == 0 && opts && opts->family != 0 && opts->family != AF_INET && opts->family != AF_INET6)
        rc = -EINVAL;
    if (rc < 0)
        return aio__error_handle(rc);
    aio__server *srv = srv_new(loop, fn, frame, frame_size, stream_offset, opts, &rc);
    if (!srv)
        return aio__error_handle(rc);
    aio_future f = aio__fut_handle(loop, srv->sfut);
    srv->port = port;
    /* A numeric host (or none: every interface) needs no lookup. */
    char serv[8];
    snprintf(serv, sizeof serv, "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = srv->opts.family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    int gai = getaddrinfo(host && *host ? host : NULL, serv, &hints, &res);
    if (gai == 0) {
        rc = open_all(loop, srv, res, port);
        freeaddrinfo(res);
        start_finish(loop, srv, rc);
        return f;
    }
    if (gai != EAI_NONAME) {
        start_finish(loop, srv, aio__gai_error(gai, errno));
        return f;
    }
    srv->lookup = aio__resolve_start(loop, host, port, true, srv->opts.family, on_resolved, srv, &rc);
    if (!srv->lookup)
        start_finish(loop, srv, rc);
    return f;
}

aio_future aio_start_unix_server_sized(aio_loop *loop, const char *path, aio_coro_fn fn, const void *frame,
                                       size_t frame_size, size_t stream_offset,
                                       const aio_server_options *opts) {
    int rc = check_args(loop, fn, frame, frame_size, stream_offset);
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (rc == 0)
        rc = aio__addr_unix(path, &ss, &len);
    if (rc < 0)
        return aio__error_handle(rc);
    aio__server *srv = srv_new(loop, fn, frame, frame_size, stream_offset, opts, &rc);
    if (!srv)
        return aio__error_handle(rc);
    aio_future f = aio__fut_handle(loop, srv->sfut);
    srv->opts.family = 0;
    struct addrinfo a;
    memset(&a, 0, sizeof a);
    a.ai_family = AF_UNIX;
    a.ai_socktype = SOCK_STREAM;
    a.ai_addr = (struct sockaddr *)&ss;
    a.ai_addrlen = len;
    srv->path = aio__strdup(path);
    start_finish(loop, srv, srv->path ? open_all(loop, srv, &a, 0) : -ENOMEM);
    return f;
}

/* ---- the Server object ---- */

static aio__server *srv_get(aio_loop *loop, aio_server h, int *err) {
    return aio__nh_get(loop, h.id, AIO__NK_SERVER, err);
}

int aio_server_close(aio_loop *loop, aio_server h) {
    int err;
    aio__server *srv = srv_get(loop, h, &err);
    if (!srv)
        return err == AIO_ECLOSED ? 0 : err;
    srv_close(loop, srv);
    return 0;
}

static int close_clients(aio_loop *loop, aio_server h, bool abort) {
    int err;
    aio__server *srv = srv_get(loop, h, &err);
    if (!srv)
        return err == AIO_ECLOSED ? 0 : err;
    int n = 0;
    /* Closing may take a stream off the list (and free it): walk with care. */
    aio__stream *s = srv->clients;
    while (s) {
        aio__stream *next = s->snext;
        if (!s->released || abort) {
            aio__stream_close(loop, s, abort);
            n++;
        }
        s = next;
    }
    return n;
}

int aio_server_close_clients(aio_loop *loop, aio_server h) { return close_clients(loop, h, false); }
int aio_server_abort_clients(aio_loop *loop, aio_server h) { return close_clients(loop, h, true); }

aio_future aio_server_wait_closed(aio_loop *loop, aio_server h) {
    int err = aio__loop_usable(loop);
    if (err < 0)
        return aio__error_handle(err);
    aio__server *srv = srv_get(loop, h, &err);
    if (!srv && err != AIO_ECLOSED)
        return aio__error_handle(err);
    if (!srv || (srv->closed && srv->nclients == 0)) {
        aio_future f = aio_future_new_on(loop);
        if (aio_future_check(f) == 0)
            aio_future_set_result(loop, f, AIO_NONE);
        return f;
    }
    uint32_t idx;
    static const aio__waitq_ops cq_ops = {.what = "server wait_closed"}; /* for the task dumps */
    srv->cq.ops = &cq_ops;
    if ((err = aio__waitq_push(loop, &srv->cq, &idx)) < 0)
        return aio__error_handle(err);
    return aio__fut_handle(loop, idx);
}

int aio_server_is_serving(aio_loop *loop, aio_server h) {
    int err;
    aio__server *srv = srv_get(loop, h, &err);
    if (!srv)
        return err == AIO_ECLOSED ? 0 : err;
    return srv->serving;
}

int aio_server_start_serving(aio_loop *loop, aio_server h) {
    int err;
    aio__server *srv = srv_get(loop, h, &err);
    if (!srv)
        return err;
    if (srv->closed)
        return AIO_ECLOSED;
    return start_serving(loop, srv);
}

aio_future aio_server_serve_forever(aio_loop *loop, aio_server h) {
    int err = aio__loop_usable(loop);
    if (err < 0)
        return aio__error_handle(err);
    aio__server *srv = srv_get(loop, h, &err);
    if (!srv)
        return aio__error_handle(err);
    if (srv->closed)
        return aio__error_handle(AIO_ECLOSED); /* asyncio: "... is closed" */
    if (srv->forever != AIO__NIL)
        return aio__error_handle(-EBUSY); /* "already being awaited on serve_forever()" */
    if ((err = start_serving(loop, srv)) < 0)
        return aio__error_handle(err);
    uint32_t idx;
    if ((err = aio__fut_alloc(loop, &idx)) < 0)
        return aio__error_handle(err);
    aio__fut_set_owner(loop, idx, &srv->fown);
    srv->forever = idx;
    return aio__fut_handle(loop, idx);
}

int aio_server_nsockets(aio_loop *loop, aio_server h) {
    int err;
    aio__server *srv = srv_get(loop, h, &err);
    if (!srv)
        return err == AIO_ECLOSED ? 0 : err;
    return srv->closed ? 0 : srv->nls;
}

int aio_server_sockname(aio_loop *loop, aio_server h, int i, struct sockaddr *addr, socklen_t *len) {
    int err;
    aio__server *srv = srv_get(loop, h, &err);
    if (!srv)
        return err;
    if (srv->closed)
        return AIO_ECLOSED;
    if (i < 0 || i >= srv->nls || !addr || !len)
        return -EINVAL;
    return getsockname(srv->ls[i].w.fd, addr, len) < 0 ? -errno : 0;
}

int aio_server_port(aio_loop *loop, aio_server h) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int rc = aio_server_sockname(loop, h, 0, (struct sockaddr *)&ss, &len);
    if (rc < 0)
        return rc;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
    return -EINVAL;
}
