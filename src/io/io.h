/* fd watchers (io.c), readiness waiters (fdwait.c) and the backends behind
 * them (epoll, kqueue, poll).
 *
 * Three kinds of users share one record per fd number:
 *   - the public watchers (aio_add_reader / aio_add_writer): a callback run
 *     in every iteration the fd is ready (level-triggered);
 *   - readiness waiters (aio_wait_readable, the sock_* calls): futures woken
 *     when the fd is ready; a direction's interest is registered while one
 *     waits (level-triggered: the fd belongs to the user, who may close it
 *     and get its number back for another file at any time, so nothing
 *     stays registered on it once nobody waits);
 *   - one library-internal watcher (aio__iow: a stream, a server's listening
 *     socket) that owns the fd: registered once, edge-triggered where the
 *     backend can (epoll EPOLLET, kqueue EV_CLEAR), both directions, until
 *     it stops. Its owner keeps `want` up to date; level-only backends
 *     (poll) register exactly `want`, so an fd nobody reads never spins the
 *     loop. */
#ifndef AIO_IO_IO_H_STATE
#define AIO_IO_IO_H_STATE
#include "aio/aio.h"
#include "core/mem.h"
#include <stdbool.h>
#include <stdint.h>

/* ---- fd watchers ---------------------------------------------------------- */
#define AIO__EV_READ 1u
#define AIO__EV_WRITE 2u
#define AIO__EV_EDGE 4u  /* watch(): register edge-triggered, both directions */
#define AIO__EV_ERROR 8u /* to an aio__iow: the fd reported an error (SO_ERROR says which) */
#define AIO__EV_HUP 16u  /* to an aio__iow: the peer shut its side (end of file is pending) */

/* A library-internal watcher, embedded in its owner's record (a stream, a
 * listening socket). fn runs from inside the backend's poll, once per
 * report: it must only do I/O on its own fd, wake futures and queue
 * callbacks, never run user code or free another watcher. Edge-triggered,
 * a report may be spurious or stale (the owner reads until EAGAIN). */
typedef struct aio__iow aio__iow;
typedef void (*aio__iow_fn)(aio_loop *loop, aio__iow *w, unsigned events);
struct aio__iow {
    aio__iow_fn fn;
    int fd;
    unsigned want; /* AIO__EV_READ | AIO__EV_WRITE: what the owner waits for now */
};

struct aio__fdq; /* fdwait.c: the readiness waiters of one fd number */
typedef struct aio__io {
    aio_callback fn[2]; /* [0] reader, [1] writer (aio_add_reader/writer) */
    void *arg[2];
    aio__iow *iow;        /* the internal watcher that owns this fd, or NULL */
    struct aio__fdq *q;   /* readiness waiters, allocated at first use (kept until close) */
    unsigned events : 8;  /* AIO__EV_* registered with the backend (EDGE included) */
    unsigned counted : 1; /* counted in aio__io_state.count */
    int bk;               /* backend's private per-fd value (poll: index in pollfd array) */
} aio__io;

/* ---- backends: a handful of functions each (redis ae style) -------------- */
typedef struct aio__backend {
    const char *name;
    bool edge; /* can register AIO__EV_EDGE */
    int (*init)(aio_loop *loop);
    void (*fini)(aio_loop *loop);
    /* Change fd's interest from old to new events (either may be 0). */
    int (*watch)(aio_loop *loop, int fd, unsigned old_ev, unsigned new_ev);
    /* Wait at most timeout_ns (-1: forever, 0: don't block) and report each
     * ready fd through aio__io_ready(). Returns 0 or a negative errno. */
    int (*poll)(aio_loop *loop, int64_t timeout_ns);
    /* Optional (NULL: none): a cross-thread wakeup of the backend's own,
     * which thread/wakeup.c uses instead of an eventfd or a pipe (kqueue's
     * EVFILT_USER). wake_open sets it up and gives the handle wake_signal
     * needs (0 or a negative errno); wake_signal triggers it, from any
     * thread, with nothing but that handle. The poll reports nothing for
     * it: waking up is all it does. */
    int (*wake_open)(aio_loop *loop, int *handle);
    void (*wake_signal)(int handle);
} aio__backend;

extern const aio__backend aio__backend_epoll;
extern const aio__backend aio__backend_poll;
extern const aio__backend aio__backend_kqueue;
/* By name (NULL: $AIO_BACKEND, else the platform's default); NULL if unknown
 * or not built here. */
const aio__backend *aio__backend_find(const char *name);
/* A poll timeout in ms (-1: forever), rounded up so we never wake early. */
int aio__timeout_ms(int64_t timeout_ns);
typedef struct aio__io_state {
    aio__io *fds; /* indexed by fd */
    int cap;      /* entries in fds[] */
    /* fds something waits on: a public watcher, a readiness waiter, or an
     * internal watcher whose `want` is not 0. Nothing else can wake the loop
     * (run.c's deadlock test). */
    int count;
    aio__arena ops; /* readiness waiters' records (fdwait.c) */
    const aio__backend *backend;
    void *bstate; /* the backend's own state */
} aio__io_state;
#endif /* AIO_IO_IO_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_IO_IO_H)
#define AIO_IO_IO_H
#include "core/loop.h"
#include "core/owner.h"
#include "core/waitq.h"

/* ---- io.c ---- */
void aio__io_ready(aio_loop *loop, int fd, unsigned events);
/* The ready-queue entry running fd watchers: arg is fd * 2 + (writer). */
void aio__io_dispatch(aio_loop *loop, void *arg);
void aio__io_closed(aio_loop *loop, int fd); /* backend saw a closed fd */
void aio__io_free(aio_loop *loop);
/* Room for fd in the table: 0 or -ENOMEM. */
int aio__io_reserve(aio_loop *loop, int fd);
/* Recompute fd's registration from its users (public watchers, waiters).
 * force: tell the backend even if the interest looks unchanged (a user's fd
 * may have been closed and its number reused: epoll forgot it). 0 or the
 * backend's error (then nothing changed). */
int aio__io_update(aio_loop *loop, int fd, bool force);

/* Internal watchers. start: take fd over (-EBUSY if something else watches
 * it, -EBADF, -ENOMEM or the backend's error). want: what the owner waits
 * for now (cheap: no system call on edge-triggered backends). stop: before
 * the fd is closed. */
int aio__iow_start(aio_loop *loop, aio__iow *w, int fd, aio__iow_fn fn, unsigned want);
void aio__iow_want(aio_loop *loop, aio__iow *w, unsigned want);
void aio__iow_stop(aio_loop *loop, aio__iow *w);
static inline bool aio__io_edge(const aio_loop *loop) { return loop->io.backend->edge; }

/* ---- fdwait.c: readiness waiters ----
 * A waiter is an owned future (cancel unlinks it and frees its record at
 * once) queued FIFO on its fd and direction. A readiness report wakes the
 * waiters at the head in turn, up to and including the first one that
 * consumes (a recv, an accept): the others would find nothing to take.
 * Two kinds:
 *   - wake-then-take (run != NULL, progress == NULL): woken WOKEN; run()
 *     makes the system call when the consumer takes the outcome (so a
 *     cancel between wake-up and resume loses nothing: the call is never
 *     made). A woken waiter that is declined just goes.
 *   - in place (progress != NULL): progress() runs at each report and
 *     returns 1 when done (*out / its error then complete the future at
 *     once), 0 to keep waiting (sock_sendall). */
typedef struct aio__fdop aio__fdop;
struct aio__fdop {
    aio__owner own; /* first: cancel */
    aio__taker tk;
    aio__fdop *prev, *next;
    int (*run)(aio_loop *loop, aio__fdop *op, aio_value *out);
    int (*progress)(aio_loop *loop, aio__fdop *op, aio_value *out);
    uint32_t fut;
    int fd;
    uint8_t dir; /* 0 read, 1 write */
    bool consumes;
    /* the operation's parameters */
    void *buf;
    size_t len, done;
    void *addr;
    void *addrlen;
};
/* A new waiter on fd in direction dir, its future pending (refs = 1: the
 * caller's; handle: aio__fut_handle(loop, op->fut)); the caller fills in run
 * or progress and the parameters before returning. NULL and *err on failure
 * (AIO_ECLOSED, -EBADF, -EBUSY: a stream or server owns the fd, -ENOMEM,
 * the backend's error such as -EPERM for a regular file). */
aio__fdop *aio__fdop_new(aio_loop *loop, int fd, int dir, bool consumes, int *err);
/* The directions fd's readiness waiters wait on (AIO__EV_READ | WRITE). */
unsigned aio__fdq_wanted(const aio__io *w);
/* fd is a stream's or server's (an internal watcher owns it). */
static inline bool aio__io_owned(const aio_loop *loop, int fd) {
    return fd >= 0 && fd < loop->io.cap && loop->io.fds[fd].iow != NULL;
}
void aio__fdq_free_all(aio_loop *loop); /* at close */
#endif                                  /* AIO_IO_IO_H */
