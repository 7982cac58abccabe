/* kqueue backend (BSD, macOS). Read and write interest are two filters per
 * fd; changes are applied at once with one kevent() call per change of an
 * fd (both filters together), and a poll reports each fd once per filter.
 * The library's internal watchers are edge-triggered: both filters with
 * EV_CLEAR, added once. */
#include "core/loop.h"
#include "core/mem.h"
#include "io/io.h"
#include "io/sys.h"

#include <stdbool.h>
#include <stdlib.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#define AIO__KQ_BATCH 256

typedef struct kq_state {
    int kq;
    struct kevent events[AIO__KQ_BATCH];
} kq_state;

static int kq_init(aio_loop *loop) {
    kq_state *s = aio__malloc(sizeof *s);
    if (!s)
        return -ENOMEM;
    s->kq = kqueue();
    if (s->kq < 0) {
        int err = -errno;
        aio__free(s);
        return err;
    }
    loop->io.bstate = s;
    return 0;
}

static void kq_fini(aio_loop *loop) {
    kq_state *s = loop->io.bstate;
    if (!s)
        return;
    close(s->kq);
    aio__free(s);
    loop->io.bstate = NULL;
}

/* One filter's change: added (with EV_CLEAR when edge-triggered), deleted,
 * or none. A filter whose trigger mode changes is added again (EV_ADD of an
 * existing filter updates its flags). */
static void kq_change(struct kevent *ch, int *n, int fd, short filter, unsigned bit, unsigned old_ev,
                      unsigned new_ev) {
    bool had = (old_ev & bit) != 0, has = (new_ev & bit) != 0;
    bool mode_changed = ((old_ev ^ new_ev) & AIO__EV_EDGE) != 0;
    if (has && (!had || mode_changed))
        EV_SET(&ch[(*n)++], (uintptr_t)fd, filter, EV_ADD | ((new_ev & AIO__EV_EDGE) ? EV_CLEAR : 0), 0, 0,
               NULL);
    else if (had && !has)
        EV_SET(&ch[(*n)++], (uintptr_t)fd, filter, EV_DELETE, 0, 0, NULL);
}

static int kq_watch(aio_loop *loop, int fd, unsigned old_ev, unsigned new_ev) {
    kq_state *s = loop->io.bstate;
    struct kevent ch[2];
    int n = 0;
    kq_change(ch, &n, fd, EVFILT_READ, AIO__EV_READ, old_ev, new_ev);
    kq_change(ch, &n, fd, EVFILT_WRITE, AIO__EV_WRITE, old_ev, new_ev);
    if (n == 0)
        return 0;
    if (kevent(s->kq, ch, n, NULL, 0, NULL) < 0 && new_ev)
        return -errno; /* deleting from a closed fd fails harmlessly */
    return 0;
}

static int kq_poll(aio_loop *loop, int64_t timeout_ns) {
    kq_state *s = loop->io.bstate;
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    int n = aio__sys_kevent(s->kq, NULL, 0, s->events, AIO__KQ_BATCH, tsp);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        const struct kevent *e = &s->events[i];
        unsigned ev = e->filter == EVFILT_READ    ? AIO__EV_READ
                      : e->filter == EVFILT_WRITE ? AIO__EV_WRITE
                                                  : 0u;
        /* EV_EOF with an fflags value: the socket's error (SO_ERROR). */
        if (ev && ((e->flags & EV_ERROR) || ((e->flags & EV_EOF) && e->fflags != 0)))
            ev |= AIO__EV_ERROR;
        if (ev == AIO__EV_READ && (e->flags & EV_EOF))
            ev |= AIO__EV_HUP;
        if (ev)
            aio__io_ready(loop, (int)e->ident, ev);
    }
    return 0;
}

/* The cross-thread wakeup: an EVFILT_USER event on the kqueue itself
 * (EV_CLEAR: reporting it resets it). Its ident is in a namespace of its
 * own, apart from fds. */
#define KQ_WAKE_IDENT 0x61696f

static int kq_wake_open(aio_loop *loop, int *handle) {
    kq_state *s = loop->io.bstate;
    struct kevent ev;
    EV_SET(&ev, KQ_WAKE_IDENT, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, NULL);
    if (kevent(s->kq, &ev, 1, NULL, 0, NULL) < 0)
        return -errno;
    *handle = s->kq;
    return 0;
}

static void kq_wake_signal(int kq) {
    struct kevent ev;
    EV_SET(&ev, KQ_WAKE_IDENT, EVFILT_USER, 0, NOTE_TRIGGER, 0, NULL);
    (void)kevent(kq, &ev, 1, NULL, 0, NULL);
}

const aio__backend aio__backend_kqueue = {.name = "kqueue",
                                          .edge = true,
                                          .init = kq_init,
                                          .fini = kq_fini,
                                          .watch = kq_watch,
                                          .poll = kq_poll,
                                          .wake_open = kq_wake_open,
                                          .wake_signal = kq_wake_signal};
