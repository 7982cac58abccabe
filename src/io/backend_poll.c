/* poll(2) backend: the portable fallback, and a test oracle for the others.
 * Level-triggered only: the library's internal watchers register exactly
 * what they wait for (io.c), so an fd nobody reads does not spin the loop.
 * A dense pollfd array; each watched fd remembers its index + 1 (io[fd].bk,
 * 0: not in the array) so that removal is O(1) by moving the last entry
 * into the hole. */
#include "core/loop.h"
#include "core/mem.h"
#include "io/io.h"
#include "io/sys.h"

#include <poll.h>
#include <stdlib.h>

typedef struct poll_state {
    struct pollfd *fds;
    int n, cap;
} poll_state;

static int poll_init(aio_loop *loop) {
    poll_state *s = aio__calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    loop->io.bstate = s;
    return 0;
}

static void poll_fini(aio_loop *loop) {
    poll_state *s = loop->io.bstate;
    if (!s)
        return;
    aio__free(s->fds);
    aio__free(s);
    loop->io.bstate = NULL;
}

static short poll_mask(unsigned ev) {
    return (short)(((ev & AIO__EV_READ) ? POLLIN : 0) | ((ev & AIO__EV_WRITE) ? POLLOUT : 0));
}

static int poll_watch(aio_loop *loop, int fd, unsigned old_ev, unsigned new_ev) {
    poll_state *s = loop->io.bstate;
    aio__io *w = &loop->io.fds[fd];
    (void)old_ev;
    if (!new_ev) {
        if (w->bk > 0) {
            int i = w->bk - 1, last = --s->n;
            if (i != last) {
                s->fds[i] = s->fds[last];
                loop->io.fds[s->fds[i].fd].bk = i + 1;
            }
            w->bk = 0;
        }
        return 0;
    }
    if (w->bk == 0) {
        if (s->n == s->cap) {
            int cap = s->cap ? s->cap * 2 : 16;
            struct pollfd *fds = aio__realloc(s->fds, (size_t)cap * sizeof *fds);
            if (!fds)
                return -ENOMEM;
            s->fds = fds;
            s->cap = cap;
        }
        w->bk = ++s->n;
        s->fds[w->bk - 1].fd = fd;
    }
    s->fds[w->bk - 1].events = poll_mask(new_ev);
    s->fds[w->bk - 1].revents = 0;
    return 0;
}

static int poll_poll(aio_loop *loop, int64_t timeout_ns) {
    poll_state *s = loop->io.bstate;
    int ms = aio__timeout_ms(timeout_ns);
    int n = aio__sys_poll(s->fds, (nfds_t)s->n, ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    /* Walk backwards: aio__io_closed() may move the last entry into slot i. */
    for (int i = s->n - 1; i >= 0 && n > 0; i--) {
        short re = s->fds[i].revents;
        if (!re)
            continue;
        n--;
        s->fds[i].revents = 0;
        if (re & POLLNVAL) {
            aio__io_closed(loop, s->fds[i].fd);
            continue;
        }
        unsigned ev = 0;
        if (re & (POLLIN | POLLERR | POLLHUP))
            ev |= AIO__EV_READ;
        if (re & (POLLOUT | POLLERR | POLLHUP))
            ev |= AIO__EV_WRITE;
        if (re & POLLERR)
            ev |= AIO__EV_ERROR;
        if (re & POLLHUP)
            ev |= AIO__EV_HUP;
        aio__io_ready(loop, s->fds[i].fd, ev);
    }
    return 0;
}

const aio__backend aio__backend_poll = {.name = "poll",
                                        .edge = false,
                                        .init = poll_init,
                                        .fini = poll_fini,
                                        .watch = poll_watch,
                                        .poll = poll_poll};
