/* fd watchers (io.c) and the backends behind them (epoll, kqueue, poll). */
#ifndef AIO_IO_IO_H_STATE
#define AIO_IO_IO_H_STATE
#include "aio/aio.h"
#include <stdint.h>

/* ---- fd watchers ---------------------------------------------------------- */
#define AIO__EV_READ 1u
#define AIO__EV_WRITE 2u
typedef struct aio__io {
    aio_callback fn[2]; /* [0] reader, [1] writer */
    void *arg[2];
    unsigned events; /* AIO__EV_* registered with the backend */
    int bk;          /* backend's private per-fd value (poll: index in pollfd array) */
} aio__io;

/* ---- backends: a handful of functions each (redis ae style) -------------- */
typedef struct aio__backend {
    const char *name;
    int (*init)(aio_loop *loop);
    void (*fini)(aio_loop *loop);
    /* Change fd's interest from old to new events (either may be 0). */
    int (*watch)(aio_loop *loop, int fd, unsigned old_ev, unsigned new_ev);
    /* Wait at most timeout_ns (-1: forever, 0: don't block) and report each
     * ready fd through aio__io_ready(). Returns 0 or a negative errno. */
    int (*poll)(aio_loop *loop, int64_t timeout_ns);
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
    int count;    /* fds with at least one watcher */
    const aio__backend *backend;
    void *bstate; /* the backend's own state */
} aio__io_state;
#endif /* AIO_IO_IO_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_IO_IO_H)
#define AIO_IO_IO_H
#include "core/loop.h"

/* io.c */
void aio__io_ready(aio_loop *loop, int fd, unsigned events);
/* The ready-queue entry running fd watchers: arg is fd * 2 + (writer). */
void aio__io_dispatch(aio_loop *loop, void *arg);
void aio__io_closed(aio_loop *loop, int fd); /* backend saw a closed fd */
void aio__io_free(aio_loop *loop);
#endif /* AIO_IO_IO_H */
