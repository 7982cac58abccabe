/* Declarations of the BSD kqueue API (kqueue(2)) as FreeBSD and macOS
 * document them, so that src/backend_kqueue.c can be type-checked on Linux,
 * which has no <sys/event.h>. Used only by `.ci/run` with -fsyntax-only:
 * nothing here is ever linked or run. */
#ifndef AIO_KQUEUE_SHIM_SYS_EVENT_H
#define AIO_KQUEUE_SHIM_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

struct kevent {
    uintptr_t ident;      /* identifier for this event (an fd) */
    short filter;         /* filter for event */
    unsigned short flags; /* action flags for kqueue */
    unsigned int fflags;  /* filter flag value */
    intptr_t data;        /* filter data value */
    void *udata;          /* opaque user data identifier */
};

#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_USER (-11)

#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_ENABLE 0x0004
#define EV_DISABLE 0x0008
#define EV_CLEAR 0x0020
#define NOTE_TRIGGER 0x01000000
#define EV_EOF 0x8000
#define EV_ERROR 0x4000

#define EV_SET(kevp, a, b, c, d, e, f)                                                                       \
    do {                                                                                                     \
        struct kevent *kevp_ = (kevp);                                                                       \
        kevp_->ident = (a);                                                                                  \
        kevp_->filter = (b);                                                                                 \
        kevp_->flags = (c);                                                                                  \
        kevp_->fflags = (d);                                                                                 \
        kevp_->data = (e);                                                                                   \
        kevp_->udata = (f);                                                                                  \
    } while (0)

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist, int nevents,
           const struct timespec *timeout);

#endif
