/* The network module (src/net/): streams, servers, sockets.
 *
 *   net.c      the module's per-loop state (created at first use), the
 *              handle table of streams and servers, close at loop close
 *   buf.c      byte buffers, and the loop's pool of 64 KiB blocks they use
 *   addr.c     numeric and Unix addresses
 *   resolve.c  getaddrinfo on the executor pool
 *   sock.c     aio_wait_readable/writable and the sock_* calls (io/fdwait)
 *   stream.c   a stream's life: creation, its watcher, errors, close
 *   reader.c   the read calls (wake, then take)
 *   writer.c   write, drain, write_eof
 *   connect.c  open_connection: resolve, try each address, hand over
 *   server.c   listening sockets, accept, a task per connection
 *
 * A stream sits on the io layer through one watcher (io.h's aio__iow,
 * edge-triggered on epoll and kqueue) from open to close; its socket I/O
 * is in reader.c / writer.c through io/sys.h's fault-injectable wrappers. */
#ifndef AIO_NET_NET_H
#define AIO_NET_NET_H

#include "core/compiler.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/waitq.h"
#include "io/io.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- buffers (buf.c) ---- */
/* Bytes data[start, end) of a cap-byte block. Empty: no memory at all (an
 * idle connection holds no buffer). A buffer that gets bytes takes a small
 * block (AIO__NET_SMALL bytes, from a loop arena) when few bytes are
 * expected, else a 64 KiB block from the loop's pool; it moves to a bigger
 * malloc'd one only if it must hold more. Emptied, it gives its block back. */
#define AIO__NET_SMALL ((size_t)256)
#define AIO__NET_BLOCK ((size_t)65536)
#define AIO__NET_BIG ((size_t)262144) /* for a connection that streams: a recv filled a block */
#define AIO__NET_POOL_MIN 8u          /* free blocks a pool always may keep */
enum { AIO__BUF_NONE, AIO__BUF_SMALL, AIO__BUF_BLOCK, AIO__BUF_BIG, AIO__BUF_HEAP };
/* A pool of free blocks of one size (buf.c). */
typedef struct aio__pool {
    void *free; /* linked through their first word */
    unsigned nfree;
    unsigned inuse; /* blocks held by buffers */
    unsigned peak;  /* recent peak of inuse: the pool keeps that many free */
    unsigned decay;
} aio__pool;
typedef struct aio__buf {
    char *data;
    uint32_t start, end, cap; /* the heap kind's cap: up to 4 GiB */
    uint8_t kind;
} aio__buf;
static inline size_t aio__buf_len(const aio__buf *b) { return b->end - b->start; }
static inline size_t aio__buf_room(const aio__buf *b) { return b->cap - b->end; }
/* At least `room` free bytes after the data (moving or growing it); a
 * small block if the buffer is empty, room fits and small is true; a 256
 * KiB block when room asks for more than 64 KiB and fits. 0 or -ENOMEM
 * (-EOVERFLOW past 4 GiB). */
int aio__buf_reserve(aio_loop *loop, aio__buf *b, size_t room, bool small);
int aio__buf_append(aio_loop *loop, aio__buf *b, const void *p, size_t n);
/* Drop the first n bytes; an emptied buffer gives its block back. */
void aio__buf_consume(aio_loop *loop, aio__buf *b, size_t n);
void aio__buf_release(aio_loop *loop, aio__buf *b);

/* ---- the module's state ---- */
enum { AIO__NK_STREAM = 1, AIO__NK_SERVER = 2, AIO__NK_PROCESS = 3 /* proc/: subprocesses */ };
/* A handle's slot: 16 bytes. */
typedef struct aio__nslot {
    void *obj;          /* NULL: free */
    uint32_t gen : 24;  /* AIO__GEN_BITS of it */
    uint32_t kind : 8;  /* AIO__NK_* */
    uint32_t next_free; /* free: the next free slot */
} aio__nslot;

typedef struct aio__stream aio__stream;
typedef struct aio__server aio__server;
typedef struct aio__connect aio__connect;

struct aio__net {
    aio__nslot *slots;
    uint32_t n, cap, free;
    aio__arena streams;             /* stream records */
    aio__arena extras;              /* their extras (aio__stream_x) */
    aio__arena smalls;              /* small buffer blocks (buf.c) */
    aio__pool blocks;               /* 64 KiB blocks (buf.c) */
    aio__pool bigs;                 /* 256 KiB blocks */
    aio__server *servers;           /* every server not yet freed */
    aio__connect *connects;         /* open_connection in progress */
    struct aio__resolve *resolving; /* lookups whose job has not come back */
};

/* The loop's state, created at first use (NULL: -ENOMEM); aio__net_close
 * at loop close. */
struct aio__net *aio__net_get(aio_loop *loop);
void aio__net_close(aio_loop *loop);

/* Handles: tag:16 | gen:22 | index:26, like futures'. */
int aio__nh_new(aio_loop *loop, void *obj, uint8_t kind, uint64_t *id);
void aio__nh_free(aio_loop *loop, uint64_t id);
/* The object of a live handle of this kind, or NULL and *err: AIO_ENULL,
 * AIO_EFOREIGN, -EINVAL (NULL loop), AIO_ECLOSED (freed, or never this
 * loop's: a stale handle means closed). Inline: every stream call makes
 * one; the failures take the out-of-line path. */
void *aio__nh_get_slow(aio_loop *loop, uint64_t id, uint8_t kind, int *err);
static inline void *aio__nh_get(aio_loop *loop, uint64_t id, uint8_t kind, int *err) {
    if (AIO__LIKELY(loop && loop->net && (id >> AIO__TAG_SHIFT) == loop->tag)) {
        uint32_t i = (uint32_t)(id & AIO__IDX_MASK);
        const aio__nslot *sl = &loop->net->slots[i];
        if (AIO__LIKELY(i < loop->net->n && sl->gen == (uint32_t)((id >> AIO__IDX_BITS) & AIO__GEN_MASK) &&
                        sl->kind == kind && sl->obj))
            return sl->obj;
    }
    return aio__nh_get_slow(loop, id, kind, err);
}

/* ---- streams (stream.c, reader.c, writer.c) ---- */
enum { RD_NONE, RD_SOME, RD_EXACT, RD_UNTIL, RD_LINE, RD_EOF };
enum { ST_CONNECTING, ST_OPEN, ST_CLOSING, ST_CLOSED };
enum { FILL_SMALL, FILL_BLOCK, FILL_BIG }; /* what the last recv got: < 256 B, less than 64 KiB, 64 KiB */
#define AIO__NET_LIMIT ((size_t)65536)     /* readuntil's default limit (asyncio's) */
#define AIO__NET_HIGH ((size_t)65536)      /* the default high-water mark; low: a quarter of it */

/* The rarer parts of a stream, made at their first use (a write the socket
 * did not take whole, a drain or wait_closed that must wait, a
 * readuntil_any, options other than the defaults) and kept until the
 * stream is freed: a stream that needed them once needs no allocation the
 * next time. An idle connection has none. */
typedef struct aio__stream_x {
    aio__stream *s;          /* whose (the takers find the stream through it) */
    aio__buf wb;             /* write buffer */
    aio__waitq dq;           /* drain waiters */
    aio__waitq cq;           /* wait_closed waiters */
    aio__taker dtk;          /* the drains' */
    aio__taker ctk;          /* wait_closed's */
    size_t high, low;        /* the write buffer's water marks */
    const char *const *seps; /* readuntil_any's separators (the caller's) */
    uint32_t nseps;
    uint32_t limit; /* readuntil's (buffers stay under 4 GiB) */
} aio__stream_x;

/* A stream: 128 bytes (what an idle connection costs: docs/design.md). */
struct aio__stream {
    aio__iow w;
    aio__buf rb;            /* read buffer */
    aio__stream_x *x;       /* NULL until needed */
    union {                 /* which one by the state: */
        aio__server *srv;   /* not ST_CONNECTING: the server that accepted it, or NULL */
        aio__connect *conn; /* ST_CONNECTING: the open_connection it is for, or NULL */
    };
    /* The waiting read: its future is owned by the stream (cancel: rd_cancel)
     * while it waits, rown.aux is its slot (AIO__NIL: no read waits); woken,
     * rtk hands the bytes over. The read's parameters: */
    aio__owner rown;
    aio__taker rtk;
    void *rd_dst;         /* the caller's buffer, or NULL (zero-copy) */
    const char *rd_sep;   /* UNTIL, LINE: the separator, if only one (else x->seps) */
    uint32_t rd_n;        /* SOME: at most; EXACT: the count; UNTIL: rd_dst's room */
    uint32_t rd_maxsep;   /* UNTIL: the longest separator's length */
    uint32_t rd_scanned;  /* UNTIL: no separator ends before this offset */
    uint32_t hidx;        /* its handle's slot (aio__stream_handle) */
    uint32_t woken;       /* WOKEN futures that point at our takers, not yet taken */
    int err;              /* the connection's error, sticky; 0 if none */
    unsigned rd_kind : 3; /* RD_* */
    unsigned rd_any : 1;  /* UNTIL: several separators (x->seps) */
    unsigned state : 2;   /* ST_* */
    unsigned fill : 2;    /* FILL_*: small ones go to small blocks */
    bool readable : 1;    /* the socket may have bytes (not yet seen EAGAIN) */
    bool writable : 1;    /* the socket may take bytes */
    bool eof : 1;         /* end of file seen (or fed) */
    bool hup : 1;         /* the peer shut its side: its end of file is pending */
    bool rd_woken : 1;    /* the read was woken and not yet taken */
    bool paused : 1;      /* over the high-water mark, until at the low one */
    bool eof_wanted : 1;  /* write_eof was called */
    bool eof_sent : 1;    /* ... and the shutdown made */
    bool released : 1;    /* closed by its owner: the handle is dead */
    bool reader_only : 1; /* no socket (aio_stream_create_reader) */
    bool is_tcp : 1;
    bool is_pipe : 1; /* not a socket (a pipe, a tty): read/write, and write_eof closes it */
    bool held : 1;    /* a server's connection whose task still runs */
    bool in_io : 1;   /* inside its watcher's report: not freed until it returns */
    bool wr_lost : 1; /* bytes buffered for sending were dropped (abort, error, close) */
};

/* A new stream over connected socket fd (fd < 0: a reader-only stream), in
 * state `state` (ST_OPEN, or ST_CONNECTING for connect.c). On failure the
 * fd is NOT closed: the caller decides. NULL and *err. */
aio__stream *aio__stream_new(aio_loop *loop, int fd, const aio_stream_options *opts, uint8_t state, int *err);
/* The stream's extras, made if need be: NULL if out of memory. */
aio__stream_x *aio__stream_x_get(aio_loop *loop, aio__stream *s);
/* Its handle. */
static inline aio_stream aio__stream_handle(const aio_loop *loop, const aio__stream *s) {
    aio_stream h;
    h.id = loop->fut.tag_bits | ((uint64_t)loop->net->slots[s->hidx].gen << AIO__IDX_BITS) | s->hidx;
    return h;
}
/* A read waits (not yet woken). */
static inline bool aio__stream_reading(const aio__stream *s) { return s->rown.aux != AIO__NIL; }
/* Bytes buffered for sending. */
static inline size_t aio__stream_wlen(const aio__stream *s) { return s->x ? aio__buf_len(&s->x->wb) : 0; }
static inline size_t aio__stream_limit(const aio__stream *s) { return s->x ? s->x->limit : AIO__NET_LIMIT; }
/* A live, not released stream of this handle, or NULL and *err. */
static inline aio__stream *aio__stream_get(aio_loop *loop, aio_stream h, int *err) {
    aio__stream *s = (aio__stream *)aio__nh_get(loop, h.id, AIO__NK_STREAM, err);
    if (AIO__UNLIKELY(s && s->released)) {
        *err = AIO_ECLOSED;
        return NULL;
    }
    return s;
}
/* Record the connection's error (the first one sticks) and wake whoever
 * waits on it. */
void aio__stream_fail(aio_loop *loop, aio__stream *s, int err);
/* Close: released, then flush, close the socket, free when nothing points
 * at the record any more. abort: drop the write buffer first. */
void aio__stream_close(aio_loop *loop, aio__stream *s, bool abort);
/* A server's connection is gone once its socket is closed and its task
 * has ended: tell the server (its wait_closed may complete). */
void aio__stream_detach(aio_loop *loop, aio__stream *s);
/* The writer sent everything a closing stream buffered. */
void aio__stream_flushed(aio_loop *loop, aio__stream *s);
/* Free the record if nothing holds it any more (inline: usually not released). */
void aio__stream_free_now(aio_loop *loop, aio__stream *s);
static inline void aio__stream_maybe_free(aio_loop *loop, aio__stream *s) {
    if (AIO__UNLIKELY(s->released) && s->state == ST_CLOSED && !s->in_io && !s->woken && !s->held &&
        !aio__stream_reading(s) && (!s->x || (aio__waitq_empty(&s->x->dq) && aio__waitq_empty(&s->x->cq))))
        aio__stream_free_now(loop, s);
}
/* Recompute what the watcher waits for: a waiting read, bytes to send (on
 * edge backends only the deadlock test counts it). Inline: usually no change. */
static inline void aio__stream_update_want(aio_loop *loop, aio__stream *s) {
    if (s->w.fd < 0)
        return;
    unsigned want;
    if (AIO__UNLIKELY(s->state != ST_OPEN && s->state != ST_CLOSING))
        want = s->state == ST_CONNECTING ? AIO__EV_WRITE : 0u;
    else if (AIO__UNLIKELY(s->err))
        want = 0;
    else
        want = (aio__stream_reading(s) && !s->eof ? AIO__EV_READ : 0u) |
               (aio__stream_wlen(s) > 0 ? AIO__EV_WRITE : 0u);
    if (want != s->w.want)
        aio__iow_want(loop, &s->w, want);
}
/* Free every stream at loop close (no waking: the loop is closing). */
void aio__streams_free_all(aio_loop *loop);
/* A WOKEN future of ours was taken or declined. */
void aio__stream_unwoken(aio_loop *loop, aio__stream *s);

/* reader.c */
void aio__reader_init(aio__stream *s);
/* The socket is readable (or the buffer or state changed): read what the
 * waiting read needs and wake it once it can complete. */
void aio__reader_poke(aio_loop *loop, aio__stream *s);
/* writer.c */
void aio__writer_init(aio__stream_x *x);
/* The socket is writable: send what is buffered. */
void aio__writer_flush(aio_loop *loop, aio__stream *s);
/* Wake every drain waiter (their take reads the outcome). */
void aio__writer_wake_drains(aio_loop *loop, aio__stream *s);

/* ---- servers (server.c) ---- */
/* A connection of srv was closed (its fd): wait_closed may complete. */
void aio__server_client_gone(aio_loop *loop, aio__server *srv, aio__stream *s);
void aio__servers_free_all(aio_loop *loop);

/* ---- connect.c ---- */
void aio__connects_free_all(aio_loop *loop);
/* stream.c calls it when a connecting stream's socket reports. */
void aio__connect_ready(aio_loop *loop, aio__stream *s, unsigned events);

/* ---- addresses (addr.c) ---- */
/* A numeric host (IPv4, IPv6; NULL or "": the wildcard when passive) and
 * port into *out: 0, or -EAGAIN if host is a name to resolve, -EINVAL. */
int aio__addr_numeric(const char *host, int port, bool passive, int family, struct sockaddr_storage *out,
                      socklen_t *len);
/* A Unix socket address: 0, -EINVAL (empty), -ENAMETOOLONG. */
int aio__addr_unix(const char *path, struct sockaddr_storage *out, socklen_t *len);
/* Make fd non-blocking and close-on-exec: 0 or -errno. */
int aio__fd_nonblock(int fd);
/* TCP_NODELAY on a TCP socket; 0 or -errno (not TCP: 0). */
int aio__sock_nodelay(int fd);

/* ---- resolve.c ---- */
struct addrinfo;
typedef struct aio__resolve aio__resolve;
typedef void (*aio__resolve_cb)(aio_loop *loop, void *arg, int err, struct addrinfo *res);
/* Resolve host:port on the executor pool; cb(loop, arg, 0 or an error,
 * the list) runs on the loop thread, once, unless aio__resolve_abandon was
 * called first. The list belongs to the resolver (freed after cb). */
aio__resolve *aio__resolve_start(aio_loop *loop, const char *host, int port, bool passive, int family,
                                 aio__resolve_cb cb, void *arg, int *err);
void aio__resolve_abandon(aio_loop *loop, aio__resolve *r);
void aio__resolves_free_all(aio_loop *loop);
/* getaddrinfo's error as a library code. */
int aio__gai_error(int gai, int sys_errno);

#endif /* AIO_NET_NET_H */
