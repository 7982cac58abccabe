/* A stream's life: its record, its watcher, its errors, its close.
 *
 * The record comes from the loop's arena (no malloc per connection once
 * warm) and is named by a handle (net.c). It is freed only once nothing
 * can reach it: its owner released it (close or abort), its socket is
 * closed, no WOKEN future points at one of its takers, and no server task
 * holds it. Until then a released stream answers AIO_ECLOSED.
 *
 * The watcher is registered when the stream opens and removed when its
 * socket closes: edge-triggered where the backend can, so readiness
 * reports only set `readable` / `writable` and let the reader and writer
 * read or send what their waiters need. On a level-triggered backend the
 * watcher waits only for what someone waits for (aio__stream_update_want),
 * so a connection nobody reads never spins the loop. */
#include "core/futures.h"
#include "core/handles.h"
#include "net/net.h"
#include "io/sys.h"

#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(sizeof(void *) != 8 || sizeof(aio__stream) == 128, "a stream is 128 bytes");

static aio__stream *of_watcher(aio__iow *w) {
    return (aio__stream *)(void *)((char *)w - offsetof(aio__stream, w));
}
static aio__stream *of_ctk(aio__taker *tk) {
    return ((aio__stream_x *)(void *)((char *)tk - offsetof(aio__stream_x, ctk)))->s;
}

/* Readiness report (from inside the backend's poll). */
static void stream_io(aio_loop *loop, aio__iow *w, unsigned events) {
    aio__stream *s = of_watcher(w);
    if (s->state == ST_CONNECTING) {
        aio__connect_ready(loop, s, events);
        return;
    }
    if (s->state == ST_CLOSED)
        return;
    s->in_io = true;                               /* nothing below frees the record: we still use it */
    if ((events & AIO__EV_ERROR) && !s->is_pipe) { /* a pipe's next read or write says what it is */
        int e = aio__sys_sockerr(s->w.fd);
        if (e < 0)
            aio__stream_fail(loop, s, e);
    }
    if (events & AIO__EV_HUP)
        s->hup = true;
    if (events & AIO__EV_READ) {
        s->readable = true;
        aio__reader_poke(loop, s);
    }
    if ((events & AIO__EV_WRITE) && s->state != ST_CLOSED) {
        s->writable = true;
        aio__writer_flush(loop, s);
    }
    s->in_io = false;
    aio__stream_update_want(loop, s);
    aio__stream_maybe_free(loop, s);
}

static int close_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)idx;
    out->u = 0;
    aio__stream_unwoken(loop, of_ctk(tk));
    return 0;
}
static void close_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio__stream_unwoken(loop, of_ctk(tk));
}

aio__stream_x *aio__stream_x_get(aio_loop *loop, aio__stream *s) {
    if (s->x)
        return s->x;
    aio__stream_x *x = aio__arena_alloc(loop, &loop->net->extras, sizeof *x);
    if (!x)
        return NULL;
    memset(x, 0, sizeof *x);
    static const aio__taker_ops ctk_ops = {close_take, close_decline, NULL};
    static const aio__waitq_ops cq_ops = {.what = "stream wait_closed"}; /* for the task dumps */
    x->s = s;
    x->ctk.ops = &ctk_ops;
    x->cq.ops = &cq_ops;
    x->high = AIO__NET_HIGH;
    x->low = AIO__NET_HIGH / 4;
    x->limit = (uint32_t)AIO__NET_LIMIT;
    aio__writer_init(x);
    s->x = x;
    return x;
}

/* Options other than the defaults go in the extras. */
static int apply_opts(aio_loop *loop, aio__stream *s, const aio_stream_options *opts) {
    if (!opts || (!opts->limit && !opts->high_water && !opts->low_water))
        return 0;
    aio__stream_x *x = aio__stream_x_get(loop, s);
    if (!x)
        return -ENOMEM;
    if (opts->limit)
        x->limit = opts->limit < UINT32_MAX ? (uint32_t)opts->limit : UINT32_MAX;
    if (opts->high_water)
        x->high = opts->high_water;
    x->low = opts->low_water ? opts->low_water : x->high / 4;
    if (x->low > x->high)
        x->low = x->high;
    return 0;
}

static void stream_release(aio_loop *loop, aio__stream *s) {
    struct aio__net *n = loop->net;
    if (s->x)
        aio__arena_put(&n->extras, s->x, sizeof *s->x);
    aio__arena_put(&n->streams, s, sizeof *s);
}

aio__stream *aio__stream_new(aio_loop *loop, int fd, const aio_stream_options *opts, uint8_t state,
                             int *err) {
    struct aio__net *n = aio__net_get(loop);
    aio__stream *s = n ? aio__arena_alloc(loop, &n->streams, sizeof *s) : NULL;
    if (!s) {
        *err = -ENOMEM;
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->state = state & 3u;
    s->readable = s->writable = true; /* until a system call says otherwise */
    s->w.fd = -1;
    s->hidx = AIO__NIL;
    aio__reader_init(s);
    uint64_t id;
    int rc = apply_opts(loop, s, opts);
    if (rc == 0 && (rc = aio__nh_new(loop, s, AIO__NK_STREAM, &id)) == 0)
        s->hidx = (uint32_t)(id & AIO__IDX_MASK);
    if (rc == 0 && fd >= 0)
        rc = aio__iow_start(loop, &s->w, fd, stream_io, state == ST_CONNECTING ? AIO__EV_WRITE : 0);
    if (rc < 0) {
        if (s->hidx != AIO__NIL)
            aio__nh_free(loop, aio__stream_handle(loop, s).id);
        stream_release(loop, s);
        *err = rc;
        return NULL;
    }
    s->reader_only = fd < 0;
    return s;
}

void aio__stream_free_now(aio_loop *loop, aio__stream *s) {
    aio__nh_free(loop, aio__stream_handle(loop, s).id);
    stream_release(loop, s);
}

void aio__stream_unwoken(aio_loop *loop, aio__stream *s) {
    s->woken--;
    aio__stream_maybe_free(loop, s);
}

/* The socket goes: every waiter is woken with what it gets now. */
static void finish_close(aio_loop *loop, aio__stream *s) {
    if (s->state == ST_CLOSED)
        return;
    if (s->w.fd >= 0) {
        aio__iow_stop(loop, &s->w);
        aio__sys_close(s->w.fd);
        s->w.fd = -1;
    }
    s->state = ST_CLOSED;
    if (aio__stream_wlen(s) > 0)
        s->wr_lost = true; /* drains pending now end AIO_ECLOSED */
    if (s->x)
        aio__buf_release(loop, &s->x->wb);
    aio__buf_release(loop, &s->rb);
    s->paused = false;
    aio__reader_poke(loop, s); /* a read still waiting (not released: a fed EOF...) */
    aio__writer_wake_drains(loop, s);
    if (s->x)
        s->woken += aio__waitq_wake_all(loop, &s->x->cq, &s->x->ctk);
    aio__stream_detach(loop, s);
}

void aio__stream_detach(aio_loop *loop, aio__stream *s) {
    if (s->srv && !s->held && s->state == ST_CLOSED)
        aio__server_client_gone(loop, s->srv, s);
}

void aio__stream_close(aio_loop *loop, aio__stream *s, bool abort) {
    if (s->released && !abort)
        return;
    s->released = true;
    aio__reader_poke(loop, s); /* a waiting read ends AIO_ECLOSED */
    if (abort && aio__stream_wlen(s) > 0) {
        s->wr_lost = true;
        aio__buf_release(loop, &s->x->wb);
    }
    if (s->state == ST_OPEN && aio__stream_wlen(s) > 0 && !s->err && s->w.fd >= 0) {
        s->state = ST_CLOSING; /* the writer closes it once the buffer is sent */
        aio__stream_update_want(loop, s);
        return;
    }
    finish_close(loop, s);
    aio__stream_maybe_free(loop, s);
}

/* From the writer, once a closing stream's buffer is sent. */
void aio__stream_flushed(aio_loop *loop, aio__stream *s) {
    if (s->state == ST_CLOSING) {
        finish_close(loop, s);
        aio__stream_maybe_free(loop, s);
    }
}

void aio__stream_fail(aio_loop *loop, aio__stream *s, int err) {
    if (s->err || s->state == ST_CLOSED)
        return;
    s->err = err;
    /* What is buffered for sending can never go now. */
    if (aio__stream_wlen(s) > 0) {
        s->wr_lost = true;
        aio__buf_release(loop, &s->x->wb);
    }
    s->paused = false;
    aio__reader_poke(loop, s);
    aio__writer_wake_drains(loop, s);
    if (s->state == ST_CLOSING) {
        finish_close(loop, s);
        aio__stream_maybe_free(loop, s);
        return;
    }
    aio__stream_update_want(loop, s);
}

void aio__streams_free_all(aio_loop *loop) {
    /* Every stream not yet freed has a handle: the table lists them (no
     * list links in 10,000 idle records). */
    struct aio__net *n = loop->net;
    for (uint32_t i = 0; i < n->n; i++) {
        if (n->slots[i].kind != AIO__NK_STREAM || !n->slots[i].obj)
            continue;
        aio__stream *s = n->slots[i].obj;
        if (s->w.fd >= 0) {
            aio__iow_stop(loop, &s->w);
            aio__sys_close(s->w.fd);
        }
        aio__buf_release(loop, &s->rb);
        if (s->x)
            aio__buf_release(loop, &s->x->wb);
    } /* the records go with the arenas */
}

/* ---- public: opening ---- */

static int check_opts(const aio_stream_options *opts) {
    if (opts && opts->high_water && opts->low_water > opts->high_water)
        return -EINVAL;
    return 0;
}

int aio_stream_open_fd(aio_loop *loop, int fd, const aio_stream_options *opts, aio_stream *out) {
    int rc = aio__loop_usable(loop);
    if (rc == 0 && (!out || fd < 0))
        rc = -EINVAL;
    if (rc == 0)
        rc = check_opts(opts);
    if (rc == 0 && aio__io_owned(loop, fd))
        return -EBUSY; /* it is a stream already: closing it would pull it from under that one */
    if (rc == 0)
        rc = aio__fd_nonblock(fd);
    if (rc == 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        struct stat st;
        bool pipe = fstat(fd, &st) == 0 && !S_ISSOCK(st.st_mode);
        bool tcp = !pipe && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
                   (ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
        if (tcp && !(opts && opts->no_delay < 0))
            (void)aio__sock_nodelay(fd);
        if (pipe)
            aio__sys_pipe_nosigpipe(fd);
        else
            aio__sys_nosigpipe(fd);
        aio__stream *s = aio__stream_new(loop, fd, opts, ST_OPEN, &rc);
        if (s) {
            s->is_tcp = tcp;
            s->is_pipe = pipe;
            *out = aio__stream_handle(loop, s);
            return 0;
        }
    }
    if (fd >= 0)
        aio__sys_close(fd);
    return rc;
}

int aio_stream_create_reader(aio_loop *loop, const aio_stream_options *opts, aio_stream *out) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!out || (rc = check_opts(opts)) < 0)
        return out ? rc : -EINVAL;
    aio__stream *s = aio__stream_new(loop, -1, opts, ST_OPEN, &rc);
    if (!s)
        return rc;
    *out = aio__stream_handle(loop, s);
    return 0;
}

/* ---- public: closing, state ---- */

int aio_stream_close(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = aio__nh_get(loop, h.id, AIO__NK_STREAM, &err);
    if (!s)
        return err == AIO_ECLOSED ? 0 : err;
    aio__stream_close(loop, s, false);
    return 0;
}

int aio_stream_abort(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = aio__nh_get(loop, h.id, AIO__NK_STREAM, &err);
    if (!s)
        return err == AIO_ECLOSED ? 0 : err;
    aio__stream_close(loop, s, true);
    return 0;
}

int aio_stream_is_closing(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = aio__nh_get(loop, h.id, AIO__NK_STREAM, &err);
    if (!s)
        return err == AIO_ECLOSED ? 1 : err;
    return s->released || s->state >= ST_CLOSING;
}

aio_future aio_stream_wait_closed(aio_loop *loop, aio_stream h) {
    int err = aio__loop_usable(loop);
    if (err < 0)
        return aio__error_handle(err);
    aio__stream *s = aio__nh_get(loop, h.id, AIO__NK_STREAM, &err);
    if (!s && err != AIO_ECLOSED)
        return aio__error_handle(err);
    if (!s || s->state == ST_CLOSED) {
        aio_future f = aio_future_new_on(loop);
        if (aio_future_check(f) == 0)
            aio_future_set_result(loop, f, AIO_NONE);
        return f;
    }
    uint32_t idx;
    aio__stream_x *x = aio__stream_x_get(loop, s);
    if (!x)
        return aio__error_handle(-ENOMEM);
    if ((err = aio__waitq_push(loop, &x->cq, &idx)) < 0)
        return aio__error_handle(err);
    return aio__fut_handle(loop, idx);
}

int aio_stream_set_error(aio_loop *loop, aio_stream h, int e) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err;
    if (e >= 0)
        return -EINVAL;
    aio__stream_fail(loop, s, e);
    return 0;
}

/* ---- public: addresses ---- */

static int name_of(aio_loop *loop, aio_stream h, struct sockaddr *addr, socklen_t *len, bool peer) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err;
    if (!addr || !len)
        return -EINVAL;
    if (s->reader_only)
        return -EOPNOTSUPP;
    if (s->w.fd < 0)
        return AIO_ECLOSED;
    int rc = peer ? getpeername(s->w.fd, addr, len) : getsockname(s->w.fd, addr, len);
    return rc < 0 ? -errno : 0;
}

int aio_stream_peername(aio_loop *loop, aio_stream h, struct sockaddr *addr, socklen_t *len) {
    return name_of(loop, h, addr, len, true);
}
int aio_stream_sockname(aio_loop *loop, aio_stream h, struct sockaddr *addr, socklen_t *len) {
    return name_of(loop, h, addr, len, false);
}

int aio_stream_fd(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err;
    if (s->reader_only)
        return -EOPNOTSUPP;
    return s->w.fd >= 0 ? s->w.fd : AIO_ECLOSED;
}
