/* The read calls of a stream: wake, then take.
 *
 * One read waits at a time (asyncio's rule); its parameters are in the
 * stream (rd_*) and its future is owned by the stream (s->rown: no wait
 * queue, so a waiting read costs no link entry). The reader reads the socket only
 * for a waiting read, and only as much as that read needs (until it can
 * complete, or until EAGAIN): bytes nobody asked for stay in the kernel,
 * whose window is the back-pressure, and an idle connection holds no
 * buffer. When the read can complete, its future is woken; take() copies
 * the bytes out (and consumes them) when the reading coroutine resumes. A
 * read cancelled before that takes nothing: its bytes stay buffered for the
 * next read.
 *
 * Between the wake-up and the take the buffer can only grow and the
 * stream only reach end of file, fail or close (aio_stream_consume is
 * refused meanwhile), so the outcome take() computes is the one the wake
 * promised, or a final one (error, closed) that takes precedence.
 *
 * Edge-triggered, `readable` says the socket may have bytes: it is set by
 * each report and cleared when a recv comes back short or with EAGAIN (a
 * short read has emptied the socket; bytes that arrive later raise a new
 * edge). So a read that finds the buffer empty tries recv at once only if
 * the socket may have bytes, and no recv is made only to see EAGAIN. The
 * exception is the peer's end of file: reported with the last bytes
 * (EPOLLRDHUP, EV_EOF), it raises no edge of its own, so once it was
 * reported a short read does not clear `readable` (nginx's pending_eof). */
#include "core/futures.h"
#include "core/owner.h"
#include "core/handles.h"
#include "net/net.h"
#include "io/sys.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define RD_WAIT 1                 /* not yet: the read cannot complete with what is there */
#define FILL_CHUNK ((size_t)4096) /* the least room a recv is given */

static aio__stream *of_rtk(aio__taker *tk) {
    return (aio__stream *)(void *)((char *)tk - offsetof(aio__stream, rtk));
}
static aio__stream *of_rown(aio__owner *o) {
    return (aio__stream *)(void *)((char *)o - offsetof(aio__stream, rown));
}

/* The earliest-ending separator in the buffer: 1 and its start and end,
 * or 0 (and rd_scanned moves on: no separator can start before it). */
static int find_sep(aio__stream *s, size_t *start, size_t *end) {
    const char *data = s->rb.data ? s->rb.data + s->rb.start : "";
    size_t len = aio__buf_len(&s->rb), off = s->rd_scanned, best = SIZE_MAX, best_start = 0;
    size_t nseps = s->rd_any ? s->x->nseps : 1;
    for (size_t i = 0; i < nseps && off < len; i++) {
        const char *sep = s->rd_any ? s->x->seps[i] : s->rd_sep;
        size_t sl = strlen(sep);
        const char *p = memmem(data + off, len - off, sep, sl);
        if (p && (size_t)(p - data) + sl < best) {
            best = (size_t)(p - data) + sl;
            best_start = (size_t)(p - data);
        }
    }
    if (best != SIZE_MAX) {
        *start = best_start;
        *end = best;
        return 1;
    }
    s->rd_scanned =
        (uint32_t)(len + 1 > s->rd_maxsep ? len + 1 - s->rd_maxsep : 0); /* buffers stay under 4 GiB */
    return 0;
}

/* Hand n buffered bytes to the reader: copied into dst and consumed, or
 * (dst NULL: zero-copy) left for peek. */
static void hand_over(aio_loop *loop, aio__stream *s, size_t n, bool take) {
    if (!take || !s->rd_dst || n == 0)
        return;
    memcpy(s->rd_dst, s->rb.data + s->rb.start, n);
    aio__buf_consume(loop, &s->rb, n);
}

/* The waiting read's outcome now (RD_WAIT: not yet). take: also hand the
 * bytes over. */
static int rd_outcome(aio_loop *loop, aio__stream *s, bool take, aio_value *out) {
    out->u = 0;
    if (s->err)
        return s->err; /* takes precedence over buffered bytes (asyncio's) */
    if (s->released)
        return AIO_ECLOSED;
    size_t len = aio__buf_len(&s->rb);
    switch (s->rd_kind) {
    case RD_SOME:
        if (len == 0)
            return s->eof ? 0 : RD_WAIT;
        out->i = (int64_t)(s->rd_dst && s->rd_n < len ? s->rd_n : len);
        hand_over(loop, s, (size_t)out->i, take);
        return 0;
    case RD_EXACT:
        if (len < s->rd_n)
            return s->eof ? AIO_EINCOMPLETE : RD_WAIT; /* the bytes stay buffered */
        out->i = (int64_t)s->rd_n;
        hand_over(loop, s, s->rd_n, take);
        return 0;
    case RD_UNTIL:
    case RD_LINE: {
        size_t limit = aio__stream_limit(s);
        if (s->rd_dst && s->rd_n - s->rd_maxsep < limit)
            limit = s->rd_n - s->rd_maxsep; /* what fits in the caller's buffer */
        size_t start, end;
        if (find_sep(s, &start, &end)) {
            if (start > limit)
                return AIO_ELIMIT; /* found, but the chunk is longer than the limit */
            out->i = (int64_t)end;
            hand_over(loop, s, end, take);
            return 0;
        }
        if (s->rd_scanned > limit)
            return AIO_ELIMIT; /* not found, and the chunk exceeds the limit */
        if (!s->eof)
            return RD_WAIT;
        if (s->rd_kind == RD_UNTIL)
            return AIO_EINCOMPLETE; /* the bytes stay buffered */
        out->i = (int64_t)len;      /* readline at end of file: the last bytes, no "\n" */
        hand_over(loop, s, len, take);
        return 0;
    }
    case RD_EOF:
        if (!s->eof)
            return RD_WAIT;
        out->i = (int64_t)len;
        return 0;
    default:
        return -EINVAL;
    }
}

/* Read once from the socket into the buffer, with room for what the read
 * needs. Sets readable / eof / err from what recv says. */
static void fill(aio_loop *loop, aio__stream *s) {
    /* After small reads, a small block first (a request, a message): if it
     * fills up, the next recv moves to a 64 KiB one. */
    size_t len = aio__buf_len(&s->rb);
    size_t room = len == 0 && s->fill == FILL_SMALL ? 1 : FILL_CHUNK;
    if (len == 0 && s->fill == FILL_BIG)
        room = AIO__NET_BIG; /* it streams: larger recvs */
    if (s->rd_kind == RD_EXACT && s->rd_n - len > room)
        room = s->rd_n - len;
    if (aio__buf_reserve(loop, &s->rb, room, true) < 0) {
        s->err = -ENOMEM; /* the stream cannot go on reading */
        return;
    }
    size_t space = aio__buf_room(&s->rb);
    ssize_t k;
    do
        k = s->is_pipe ? aio__sys_read(s->w.fd, s->rb.data + s->rb.end, space)
                       : aio__sys_recv(s->w.fd, s->rb.data + s->rb.end, space);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            s->readable = false;
        else
            s->err = -errno;
    } else if (k == 0) {
        s->eof = true;
        s->readable = false;
    } else {
        s->rb.end += (uint32_t)k;
        s->fill = (size_t)k < AIO__NET_SMALL   ? FILL_SMALL
                  : (size_t)k < AIO__NET_BLOCK ? FILL_BLOCK
                                               : FILL_BIG;
        /* A short read emptied the socket: the next bytes raise an edge.
         * Not so the peer's end of file, if it came with these bytes (one
         * report for both): then the next recv reads it. */
        if ((size_t)k < space && !s->hup)
            s->readable = false;
    }
    if (aio__buf_len(&s->rb) == 0)
        aio__buf_release(loop, &s->rb); /* nothing came: hold no block while waiting */
}

/* The read can complete: its future is woken (and stops being ours). */
static void rd_wake(aio_loop *loop, aio__stream *s) {
    uint32_t idx = s->rown.aux;
    s->rown.aux = AIO__NIL;
    s->rd_woken = true;
    s->woken++;
    aio__fut_wake(loop, idx, &s->rtk);
    aio__fut_drop(loop, idx); /* the owner's hold: declined at once if nobody holds the future */
}

void aio__reader_poke(aio_loop *loop, aio__stream *s) {
    if (aio__stream_reading(s)) {
        for (;;) {
            aio_value v;
            if (rd_outcome(loop, s, false, &v) != RD_WAIT) {
                rd_wake(loop, s);
                break;
            }
            if (s->w.fd < 0 || !s->readable || s->eof || s->state == ST_CLOSED)
                break; /* wait for a report (or a feed) */
            fill(loop, s);
        }
    }
    aio__stream_update_want(loop, s);
}

static int rd_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)idx;
    aio__stream *s = of_rtk(tk);
    int rc = rd_outcome(loop, s, true, out);
    s->rd_woken = false;
    s->rd_kind = RD_NONE;
    if (rc == RD_WAIT) /* cannot happen: see the top of the file */
        rc = -EAGAIN;
    aio__stream_update_want(loop, s);
    aio__stream_unwoken(loop, s);
    return rc;
}

/* Cancelled between wake-up and resume (or released untaken): nothing was
 * taken, every byte stays buffered. */
static void rd_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)idx;
    aio__stream *s = of_rtk(tk);
    s->rd_woken = false;
    s->rd_kind = RD_NONE;
    aio__stream_update_want(loop, s);
    aio__stream_unwoken(loop, s);
}

/* The waiting read's future is cancelled (not yet woken): it ends
 * cancelled at once, and every byte stays buffered. */
static int rd_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    aio__stream *s = of_rown(o);
    uint32_t idx = s->rown.aux;
    s->rown.aux = AIO__NIL;
    s->rd_kind = RD_NONE;
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, idx, AIO_ECANCELLED, v);
    aio__stream_update_want(loop, s);
    aio__stream_maybe_free(loop, s);
    return 1;
}
/* What a task waiting here waits for, for the task dumps (aio/debug.h). */
static void rd_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    (void)loop;
    (void)o;
    snprintf(info->text, info->len, "stream read");
}

void aio__reader_init(aio__stream *s) {
    static const aio__taker_ops tk_ops = {rd_take, rd_decline, NULL};
    static const aio__owner_ops rd_ops = {.cancel = rd_cancel, .describe = rd_describe};
    s->rtk.ops = &tk_ops;
    s->rown.ops = &rd_ops;
    s->rown.aux = AIO__NIL;
}

/* ---- the calls ---- */

static aio_future done_future(aio_loop *loop, int64_t result) {
    aio_future f = aio_future_new_on(loop);
    if (aio_future_check(f) == 0)
        aio_future_set_result(loop, f, AIO_VALUE(result));
    return f;
}

/* A stream that may start a read now, or NULL and *err. */
static aio__stream *reader_of(aio_loop *loop, aio_stream h, int *err) {
    if ((*err = aio__loop_usable(loop)) < 0)
        return NULL;
    aio__stream *s = aio__stream_get(loop, h, err);
    if (!s)
        return NULL;
    if (aio__stream_reading(s) || s->rd_woken) {
        *err = -EBUSY; /* another read waits */
        return NULL;
    }
    if (s->err) {
        *err = s->err;
        return NULL;
    }
    return s;
}

/* n: at most UINT32_MAX (a buffer holds less than 4 GiB). */
static aio_future rd_start(aio_loop *loop, aio__stream *s, uint8_t kind, void *dst, size_t n) {
    uint32_t idx;
    int rc = aio__fut_alloc(loop, &idx);
    if (rc < 0)
        return aio__error_handle(rc);
    aio__fut_set_owner(loop, idx, &s->rown); /* the owner's hold, until it wakes or cancels */
    s->rown.aux = idx;
    s->rd_kind = kind & 7u;
    s->rd_dst = dst;
    s->rd_n = (uint32_t)n;
    aio__reader_poke(loop, s); /* wakes it at once if it can complete now */
    return aio__fut_handle(loop, idx);
}

aio_future aio_stream_read(aio_loop *loop, aio_stream h, void *buf, size_t n) {
    int err;
    aio__stream *s = reader_of(loop, h, &err);
    if (!s)
        return aio__error_handle(err);
    if (buf && n == 0)
        return done_future(loop, 0);
    return rd_start(loop, s, RD_SOME, buf, n < UINT32_MAX ? n : UINT32_MAX); /* len < 4 GiB: the same */
}

aio_future aio_stream_readexactly(aio_loop *loop, aio_stream h, void *buf, size_t n) {
    int err;
    aio__stream *s = reader_of(loop, h, &err);
    if (!s)
        return aio__error_handle(err);
    if (n == 0)
        return done_future(loop, 0);
    if (n >= UINT32_MAX)
        return aio__error_handle(-ENOMEM); /* no buffer holds that much */
    return rd_start(loop, s, RD_EXACT, buf, n);
}

/* readuntil and readline: one separator (one != NULL, in the stream) or
 * several (the caller's array, in the stream's extras). */
static aio_future until_start(aio_loop *loop, aio_stream h, uint8_t kind, const char *one,
                              const char *const *seps, size_t nseps, void *buf, size_t cap) {
    int err;
    aio__stream *s = reader_of(loop, h, &err);
    if (!s)
        return aio__error_handle(err);
    if (one) {
        nseps = 1;
        seps = NULL;
    } else if (!seps || nseps == 0) {
        return aio__error_handle(-EINVAL); /* asyncio's "at least one element" */
    }
    size_t maxsep = 0;
    for (size_t i = 0; i < nseps; i++) {
        const char *sep = one ? one : seps[i];
        size_t l = sep ? strlen(sep) : 0;
        if (l == 0)
            return aio__error_handle(-EINVAL); /* asyncio's "at least one-byte string" */
        maxsep = l > maxsep ? l : maxsep;
    }
    if (buf && cap < maxsep)
        return aio__error_handle(-EINVAL);
    if (nseps > UINT32_MAX || maxsep >= UINT32_MAX)
        return aio__error_handle(-EINVAL);
    if (!one) {
        aio__stream_x *x = aio__stream_x_get(loop, s);
        if (!x)
            return aio__error_handle(-ENOMEM);
        x->seps = seps;
        x->nseps = (uint32_t)nseps;
    }
    s->rd_any = !one;
    s->rd_sep = one;
    s->rd_maxsep = (uint32_t)maxsep;
    s->rd_scanned = 0;
    return rd_start(loop, s, kind, buf, cap < UINT32_MAX ? cap : UINT32_MAX); /* the limit is less anyway */
}

aio_future aio_stream_readuntil(aio_loop *loop, aio_stream h, const char *sep, void *buf, size_t cap) {
    if (!sep)
        return aio__error_handle(-EINVAL);
    return until_start(loop, h, RD_UNTIL, sep, NULL, 1, buf, cap);
}

aio_future aio_stream_readuntil_any(aio_loop *loop, aio_stream h, const char *const *seps, size_t nseps,
                                    void *buf, size_t cap) {
    return until_start(loop, h, RD_UNTIL, NULL, seps, nseps, buf, cap);
}

aio_future aio_stream_readline(aio_loop *loop, aio_stream h, void *buf, size_t cap) {
    return until_start(loop, h, RD_LINE, "\n", NULL, 1, buf, cap);
}

aio_future aio_stream_read_to_eof(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = reader_of(loop, h, &err);
    if (!s)
        return aio__error_handle(err);
    return rd_start(loop, s, RD_EOF, NULL, 0);
}

/* ---- buffered bytes ---- */

const void *aio_stream_peek(aio_loop *loop, aio_stream h, size_t *len) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    size_t n = s ? aio__buf_len(&s->rb) : 0;
    if (len)
        *len = n;
    return n ? s->rb.data + s->rb.start : NULL;
}

int aio_stream_consume(aio_loop *loop, aio_stream h, size_t n) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err;
    if (aio__stream_reading(s) || s->rd_woken)
        return -EBUSY; /* the waiting read was promised these bytes */
    if (n > aio__buf_len(&s->rb))
        return -EINVAL;
    if (n)
        aio__buf_consume(loop, &s->rb, n);
    return 0;
}

ssize_t aio_stream_buffered(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    return s ? (ssize_t)aio__buf_len(&s->rb) : err;
}

int aio_stream_at_eof(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err;
    return s->eof && aio__buf_len(&s->rb) == 0;
}

int aio_stream_feed_data(aio_loop *loop, aio_stream h, const void *data, size_t n) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err;
    if (s->eof || (!data && n))
        return -EINVAL; /* asyncio: "feed_data after feed_eof" */
    if (n == 0)
        return 0; /* wakes nobody */
    if ((err = aio__buf_append(loop, &s->rb, data, n)) < 0)
        return err;
    aio__reader_poke(loop, s);
    return 0;
}

int aio_stream_feed_eof(aio_loop *loop, aio_stream h) {
    int err;
    aio__stream *s = aio__stream_get(loop, h, &err);
    if (!s)
        return err;
    s->eof = true;
    aio__reader_poke(loop, s);
    return 0;
}
