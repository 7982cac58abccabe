/* The write calls of a stream: write, writev, drain, write_eof, and the
 * flow control between them (asyncio's _FlowControlMixin).
 *
 * A write sends at once what the socket takes (nothing buffered, nothing
 * copied in the usual case) and copies the rest into the write buffer,
 * which the writer sends as the socket reports room. A send that comes
 * back short means the socket is full: `writable` drops until the next
 * report, so no send is made only to see EAGAIN. Past the high-water mark
 * the stream is paused: drain() waits until the buffer is at the low-water
 * mark. Any number of tasks may drain; they are woken together and take
 * the outcome (0, the connection's error, or AIO_ECLOSED if the stream
 * closed with bytes unsent) when they resume. */
#include "core/futures.h"
#include "core/handles.h"
#include "core/task.h"
#include "net/net.h"
#include "io/sys.h"

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

static aio__stream *of_dtk(aio__taker *tk) {
    return ((aio__stream_x *)(void *)((char *)tk - offsetof(aio__stream_x, dtk)))->s;
}

static int drain_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)idx;
    aio__stream *s = of_dtk(tk);
    out->u = 0;
    int rc = s->err ? s->err : s->wr_lost ? AIO_ECLOSED : 0;
    aio__stream_unwoken(loop, s);
    return rc;
}
static void drain_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio__stream_unwoken(loop, of_dtk(tk));
}

void aio__writer_init(aio__stream_x *x) {
    static const aio__taker_ops tk_ops = {drain_take, drain_decline, NULL};
    static const aio__waitq_ops dq_ops = {.what = "stream drain"}; /* for the task dumps */
    x->dtk.ops = &tk_ops;
    x->dq.ops = &dq_ops;
}

void aio__writer_wake_drains(aio_loop *loop, aio__stream *s) {
    if (s->x)
        s->woken += aio__waitq_wake_all(loop, &s->x->dq, &s->x->dtk);
}

/* Unpause once at the low-water mark (asyncio's _maybe_resume_protocol). */
static void maybe_resume(aio_loop *loop, aio__stream *s) {
    if (s->paused && aio__stream_wlen(s) <= s->x->low) { /* paused: there are extras */
        s->paused = false;
        aio__writer_wake_drains(loop, s);
    }
}

/* One send of n bytes from iov: a socket's send (no SIGPIPE, never
 * blocks), or a pipe's write (io/sys.h: no SIGPIPE either; the fd is
 * non-blocking). */
static ssize_t send_iov(aio__stream *s, const struct iovec *iov, int iovcnt) {
    if (s->is_pipe)
        return aio__sys_pipe_writev(s->w.fd, iov, iovcnt);
    return iovcnt == 1 ? aio__sys_send(s->w.fd, iov[0].iov_base, iov[0].iov_len)
                       : aio__sys_sendv(s->w.fd, iov, iovcnt);
}

/* A pipe has no half-close: its end of file is closing our end. The
 * stream stays open (its handle good) without an fd. */
static void send_eof(aio_loop *loop, aio__stream *s) {
    if (s->eof_sent || s->w.fd < 0)
        return;
    s->eof_sent = true;
    if (s->is_pipe) {
        aio__iow_stop(loop, &s->w);
        aio__sys_close(s->w.fd);
        s->w.fd = -1;
        return;
    }
    if (aio__sys_shutdown(s->w.fd, SHUT_WR) < 0 && errno != ENOTCONN)
        aio__stream_fail(loop, s, -errno);
}

void aio__writer_flush(aio_loop *loop, aio__stream *s) {
    /* Edge backends report writable with every readable edge: usually
     * nothing is buffered, paused or to be finished, and nothing is done. */
    if (aio__stream_wlen(s) == 0 && !s->paused && !s->eof_wanted && s->state != ST_CLOSING)
        return;
    while (aio__stream_wlen(s) > 0 && s->writable && !s->err && s->w.fd >= 0) {
        aio__buf *wb = &s->x->wb;
        size_t len = aio__buf_len(wb);
        struct iovec v = {wb->data + wb->start, len};
        ssize_t k = send_iov(s, &v, 1);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                s->writable = false;
                break;
            }
            aio__stream_fail(loop, s, -errno);
            return;
        }
        aio__buf_consume(loop, wb, (size_t)k);
        if ((size_t)k < len)
            s->writable = false; /* full: the next report says when there is room */
    }
    if (s->err)
        return;
    maybe_resume(loop, s);
    if (aio__stream_wlen(s) == 0) {
        if (s->eof_wanted)
            send_eof(loop, s);
        if (s->state == ST_CLOSING) {
            aio__stream_flushed(loop, s); /* may free s */
            return;
        }
    }
    aio__stream_update_want(loop, s);
}

/* A stream that may be written to now, or NULL and *err. */
static aio__stream *writer_of(aio_loop *loop, aio_stream h, int *err) {
    aio__stream *s = aio__stream_get(loop, h, err);
    if (!s)
        return NULL;
    if (s->reader_only)
        *err = -EOPNOTSUPP;
    else if (s->err)
        *err = s->err;
    else if (s->eof_wanted)
        *err = -EPIPE; /* asyncio: "Cannot call write() after write_eof()" */
    else
        return s;
    return NULL;
}

/* Send from n iovecs at once if nothing is buffered and the socket may
 * take bytes: the count sent (0: none), or an error. */
static ssize_t send_now(aio__stream *s, const struct iovec *iov, int iovcnt, size_t total) {
    if (aio__stream_wlen(s) > 0 || !s->writable || total == 0)
        return 0;
    ssize_t k;
    do
        k = send_iov(s, iov, iovcnt);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        k = 0;
    }
    if ((size_t)k < total)
        s->writable = false;
    return k;
}

static int write_iov(aio_loop *loop, aio_stream h, const struct iovec *iov, int iovcnt) {
    int err = aio__loop_usable(loop);
    if (err < 0)
        return err;
    aio__stream *s = writer_of(loop, h, &err);
    if (!s)
        return err;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (!iov[i].iov_base && iov[i].iov_len)
            return -EINVAL;
        total += iov[i].iov_len;
    }
    ssize_t sent = send_now(s, iov, iovcnt, total);
    if (sent < 0) {
        aio__stream_fail(loop, s, (int)sent);
        return (int)sent;
    }
    if ((size_t)sent == total)
        return 0; /* the usual case: all sent, nothing to buffer or to wait for */
    /* Buffer what the socket did not take. */
    aio__stream_x *x = aio__stream_x_get(loop, s);
    if (!x)
        return -ENOMEM;
    size_t skip = (size_t)sent;
    for (int i = 0; i < iovcnt; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        if ((err = aio__buf_append(loop, &x->wb, (const char *)iov[i].iov_base + skip, l - skip)) < 0)
            return err;
        skip = 0;
    }
    if (aio__buf_len(&x->wb) > x->high)
        s->paused = true;
    aio__stream_update_want(loop, s);
    return 0;
}

int aio_stream_write(aio_loop *loop, aio_stream h, const void *data, size_t n) {
    struct iovec v;
    v.iov_base = (void *)(uintptr_t)data;
    v.iov_len = n;
    return write_iov(loop, h, &v, 1);
}

int aio_stream_writev(aio_loop *loop, aio_stream h, const struct iovec *iov, int iovcnt) {
    if ((!iov && iovcnt) || iovcnt < 0 || iovcnt > 1024)
        return -EINVAL;
    if (iovcnt == 0) {
        int err;
        return writer_of(loop, h, &err) ? 0 : err;
    }
    return write_iov(loop, h, iov, iovcnt);
}

/* What a drain of h would do now: 1, done at once; 0, wait (*sp set); or
 * the error it would give. */
static int drain_state(aio_loop *loop, aio_stream h, aio__stream **sp) {
    int err = aio__loop_usable(loop);
    if (err < 0)
        return err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err;
    if (s->err)
        return s->err;
    *sp = s;
    return s->paused ? 0 : 1;
}

aio_future aio_stream_drain(aio_loop *loop, aio_stream h) {
    aio__stream *s = NULL;
    int rc = drain_state(loop, h, &s);
    if (rc < 0)
        return aio__error_handle(rc);
    if (rc == 1) {
        aio_future f = aio_future_new_on(loop);
        if (aio_future_check(f) == 0)
            aio_future_set_result(loop, f, AIO_NONE);
        return f;
    }
    uint32_t idx;
    if ((rc = aio__waitq_push(loop, &s->x->dq, &idx)) < 0) /* paused: there are extras */
        return aio__error_handle(rc);
    return aio__fut_handle(loop, idx);
}

int aio__stream_drain_now(aio_task *t, aio_stream h) {
    aio__stream *s;
    /* Anything but "done at once" takes the future form: it waits, or says why. */
    return drain_state(aio__running_loop(), h, &s) == 1 && aio__task_served_now(t, 0, AIO_NONE);
}

int aio_stream_set_write_buffer_limits(aio_loop *loop, aio_stream h, size_t high, size_t low) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err;
    if (high < low)
        return -EINVAL; /* asyncio: "high (0) must be >= low (1) must be >= 0" */
    aio__stream_x *x = aio__stream_x_get(loop, s);
    if (!x)
        return -ENOMEM;
    x->high = high;
    x->low = low;
    if (aio__buf_len(&x->wb) > x->high)
        s->paused = true; /* asyncio pauses at once; resuming waits for the writer */
    return 0;
}

ssize_t aio_stream_write_buffer_size(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    return s ? (ssize_t)aio__stream_wlen(s) : err;
}

int aio_stream_write_eof(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err == AIO_ECLOSED ? 0 : err; /* after close: nothing to do (asyncio) */
    if (s->reader_only)
        return -EOPNOTSUPP;
    if (s->eof_wanted)
        return 0;
    s->eof_wanted = true;
    if (aio__stream_wlen(s) == 0 && !s->err)
        send_eof(loop, s); /* else once the buffer is sent */
    return s->err && s->err != -ENOTCONN ? s->err : 0;
}

int aio_stream_can_write_eof(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err;
    return !s->reader_only;
}
