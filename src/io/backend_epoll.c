/* epoll backend (Linux). One epoll_event per fd carries both directions:
 * level-triggered for the public watchers and readiness waiters,
 * edge-triggered (EPOLLET, both directions and EPOLLRDHUP, registered once)
 * for the library's internal watchers: a stream is registered when it opens
 * and removed when it closes, never in between. */
#include "core/loop.h"
#include "core/mem.h"
#include "io/io.h"
#include "io/sys.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define AIO__EPOLL_BATCH 256

typedef struct epoll_state {
    int epfd;
    struct epoll_event events[AIO__EPOLL_BATCH];
} epoll_state;

static int epoll_init(aio_loop *loop) {
    epoll_state *s = aio__malloc(sizeof *s);
    if (!s)
        return -ENOMEM;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        int err = -errno;
        aio__free(s);
        return err;
    }
    loop->io.bstate = s;
    return 0;
}

static void epoll_fini(aio_loop *loop) {
    epoll_state *s = loop->io.bstate;
    if (!s)
        return;
    close(s->epfd);
    aio__free(s);
    loop->io.bstate = NULL;
}

static int epoll_watch(aio_loop *loop, int fd, unsigned old_ev, unsigned new_ev) {
    epoll_state *s = loop->io.bstate;
    struct epoll_event ev = {0};
    ev.events = ((new_ev & AIO__EV_READ) ? EPOLLIN : 0u) | ((new_ev & AIO__EV_WRITE) ? EPOLLOUT : 0u);
    if (new_ev & AIO__EV_EDGE)
        ev.events |= EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    int op = !new_ev ? EPOLL_CTL_DEL : old_ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(s->epfd, op, fd, &ev) == 0)
        return 0;
    /* The fd was closed and its number reused since we last saw it (epoll
     * forgets closed fds), or was never added: retry the other way. */
    if (op == EPOLL_CTL_MOD && errno == ENOENT && epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return 0;
    if (op == EPOLL_CTL_ADD && errno == EEXIST && epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
        return 0;
    return -errno;
}

static int epoll_poll(aio_loop *loop, int64_t timeout_ns) {
    epoll_state *s = loop->io.bstate;
    int ms = aio__timeout_ms(timeout_ns);
    int n = aio__sys_epoll_wait(s->epfd, s->events, AIO__EPOLL_BATCH, ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = s->events[i].events;
        unsigned ev = 0;
        /* Errors and hang-ups wake both directions: the read or write then
         * reports what happened, as with asyncio's selectors. */
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
            ev |= AIO__EV_READ;
        if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            ev |= AIO__EV_WRITE;
        if (e & EPOLLERR)
            ev |= AIO__EV_ERROR;
        if (e & (EPOLLRDHUP | EPOLLHUP))
            ev |= AIO__EV_HUP;
        aio__io_ready(loop, s->events[i].data.fd, ev);
    }
    return 0;
}

const aio__backend aio__backend_epoll = {.name = "epoll",
                                         .edge = true,
                                         .init = epoll_init,
                                         .fini = epoll_fini,
                                         .watch = epoll_watch,
                                         .poll = epoll_poll};
