/* A loop's signals: handlers (asyncio's add_signal_handler), waiters
 * (aio_signal_wait) and aio_run's graceful-shutdown route. signal.h says how
 * a delivery gets here; this file is what happens on the loop's thread.
 *
 * The loop's state is made at its first registration: an fd the signal
 * handler writes to (an eventfd, or a pipe), watched by the loop, and a
 * slot in the process table; both stay until the loop closes (a program
 * that waits for a signal again and again does not pay for them each
 * time). Per signal the loop registers with the process table while it has
 * a handler, a waiter or the route for it, and lets go when it has none. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/owner.h"
#include "core/ready.h"
#include "proc/signal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

/* A pending aio_signal_wait: the owner of its future. */
typedef struct waiter {
    aio__owner owner;
    uint32_t fut;
    int signo;
    struct waiter *prev, *next;
} waiter;

typedef struct entry {
    aio_signal_callback fn; /* the handler, or NULL */
    void *arg;
    aio_signal_callback lib_fn; /* the library's own handler (aio__signal_hook), or NULL */
    void *lib_arg;
    waiter *head, *tail; /* waiters, oldest first */
    bool route;          /* aio_run's route */
    bool registered;     /* in the process table */
    bool strong;         /* has a handler or waiters: keeps the loop alive */
} entry;

struct aio__sig_state {
    int rfd, wfd;          /* eventfd (rfd == wfd) or pipe */
    unsigned strong;       /* entries with a handler or waiters */
    aio_future route_main; /* the task the route cancels */
    int route_fired;       /* the first routed signal delivered, or 0 */
    entry e[AIO__NSIG];
};

/* ---- the loop's signal fd ---------------------------------------------- */

static int set_flags(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

static int fd_open(struct aio__sig_state *st) {
#ifdef __linux__
    st->rfd = st->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    (void)set_flags;
    return st->rfd < 0 ? -errno : 0;
#else
    int p[2], rc;
    if (pipe(p) < 0)
        return -errno;
    st->rfd = p[0];
    st->wfd = p[1];
    if ((rc = set_flags(p[0])) < 0 || (rc = set_flags(p[1])) < 0)
        return rc;
    return 0;
#endif
}

static void fd_close(struct aio__sig_state *st) {
    if (st->rfd >= 0)
        close(st->rfd);
    if (st->wfd >= 0 && st->wfd != st->rfd)
        close(st->wfd);
}

static void fd_clear(struct aio__sig_state *st) {
    uint64_t buf[8];
    while (read(st->rfd, buf, sizeof buf) == (ssize_t)sizeof buf) {
        /* a pipe with more than 64 bytes: read on (an eventfd gives 8) */
    }
}

/* Make the fd readable, as the signal handler does. */
static void fd_signal(struct aio__sig_state *st) {
    uint64_t one = 1;
    ssize_t n = write(st->wfd, &one, st->wfd == st->rfd ? sizeof one : 1);
    (void)n; /* full: readable already */
}

static void on_fd(aio_loop *loop, void *arg) {
    (void)arg;
    aio__signal_drain(loop);
}

/* The state, made at the first registration. */
static int ensure_state(aio_loop *loop) {
    if (loop->sig.st)
        return 0;
    struct aio__sig_state *st = aio__calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->rfd = st->wfd = -1;
    aio__sig_slot *slot = NULL;
    int rc = fd_open(st);
    if (rc == 0)
        rc = aio__sigtab_claim(st->wfd, &slot);
    if (rc == 0 && (rc = aio_add_reader(loop, st->rfd, on_fd, NULL)) < 0)
        aio__sigtab_release(slot);
    if (rc < 0) {
        fd_close(st);
        aio__free(st);
        return rc;
    }
    loop->sig.st = st;
    loop->sig.slot = slot;
    loop->sig.watched = 1;
    loop->sig.unref = 1; /* nothing registered yet */
    return 0;
}

/* ---- registrations ------------------------------------------------------- */

/* Register e with the process table, or let it go, to match what it holds;
 * keep the count of entries that keep the loop alive. 0 or the error of
 * registering (then nothing changed). */
static int sync_entry(aio_loop *loop, int signo) {
    struct aio__sig_state *st = loop->sig.st;
    entry *e = &st->e[signo];
    bool want = e->fn || e->head || e->route || e->lib_fn;
    if (want && !e->registered) {
        int rc = aio__sigtab_add(loop->sig.slot, signo, false);
        if (rc < 0)
            return rc;
        e->registered = true;
    } else if (!want && e->registered) {
        aio__sigtab_remove(loop->sig.slot, signo);
        e->registered = false;
    }
    bool strong = e->fn || e->head || e->lib_fn;
    if (strong != e->strong) {
        e->strong = strong;
        st->strong += strong ? 1u : -1u;
    }
    loop->sig.unref = st->strong == 0;
    return 0;
}

/* A signal the application handles itself on this loop is no longer
 * routed by aio_run (as asyncio's Runner steps aside for add_signal_handler). */
static void drop_route(aio_loop *loop, int signo) {
    entry *e = &loop->sig.st->e[signo];
    if (e->route) {
        e->route = false;
        atomic_store(&loop->sig.slot->route[signo], 0);
    }
}

static int check_call(aio_loop *loop, int signo) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if ((rc = aio__signal_check_number(signo)) < 0)
        return rc;
    return ensure_state(loop);
}

int aio_add_signal_handler(aio_loop *loop, int signo, aio_signal_callback fn, void *arg) {
    if (!fn)
        return -EINVAL;
    int rc = check_call(loop, signo);
    if (rc < 0)
        return rc;
    entry *e = &loop->sig.st->e[signo];
    aio_signal_callback old_fn = e->fn;
    void *old_arg = e->arg;
    e->fn = fn;
    e->arg = arg;
    if ((rc = sync_entry(loop, signo)) < 0) {
        e->fn = old_fn;
        e->arg = old_arg;
        return rc;
    }
    drop_route(loop, signo);
    return 0;
}

int aio_remove_signal_handler(aio_loop *loop, int signo) {
    if (!loop || signo <= 0 || signo >= AIO__NSIG)
        return -EINVAL;
    if (!loop->sig.st || !loop->sig.st->e[signo].fn)
        return 0;
    entry *e = &loop->sig.st->e[signo];
    e->fn = NULL;
    e->arg = NULL;
    sync_entry(loop, signo); /* letting go cannot fail */
    return 1;
}

int aio__signal_hook(aio_loop *loop, int signo, aio_signal_callback fn, void *arg) {
    int rc = check_call(loop, signo);
    if (rc < 0)
        return rc;
    entry *e = &loop->sig.st->e[signo];
    aio_signal_callback old_fn = e->lib_fn;
    void *old_arg = e->lib_arg;
    e->lib_fn = fn;
    e->lib_arg = arg;
    if ((rc = sync_entry(loop, signo)) < 0) {
        e->lib_fn = old_fn;
        e->lib_arg = old_arg;
    }
    return rc;
}

void aio__signal_unhook(aio_loop *loop, int signo) {
    if (!loop || signo <= 0 || signo >= AIO__NSIG || !loop->sig.st)
        return;
    entry *e = &loop->sig.st->e[signo];
    e->lib_fn = NULL;
    e->lib_arg = NULL;
    sync_entry(loop, signo); /* letting go cannot fail */
}

/* ---- waiters --------------------------------------------------------------- */

static void waiter_unlink(entry *e, waiter *w) {
    if (w->prev)
        w->prev->next = w->next;
    else
        e->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        e->tail = w->prev;
}

static int waiter_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    waiter *w = (waiter *)o;
    int signo = w->signo;
    waiter_unlink(&loop->sig.st->e[signo], w);
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, w->fut, AIO_ECANCELLED, v);
    aio__owner_free(loop, o);
    sync_entry(loop, signo); /* the last waiter gone: the signal may go too */
    return 1;
}

/* For the task dumps (aio/debug.h). */
static void waiter_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    (void)loop;
    snprintf(info->text, info->len, "signal %d", ((waiter *)o)->signo);
}

static const aio__owner_ops waiter_ops = {.cancel = waiter_cancel, .describe = waiter_describe};

aio_future aio_signal_wait(aio_loop *loop, int signo) {
    int rc = check_call(loop, signo);
    if (rc < 0)
        return aio__error_handle(rc);
    uint32_t me;
    waiter *w = aio__owner_new(loop, sizeof *w, &waiter_ops, &me);
    if (!w)
        return aio__error_handle(-ENOMEM);
    entry *e = &loop->sig.st->e[signo];
    w->fut = me;
    w->signo = signo;
    w->next = NULL;
    w->prev = e->tail;
    if (e->tail)
        e->tail->next = w;
    else
        e->head = w;
    e->tail = w;
    if ((rc = sync_entry(loop, signo)) < 0) {
        waiter_unlink(e, w);
        aio__owned_finish(loop, me, AIO_ECANCELLED, AIO_NONE);
        aio__fut_consume(loop, me);
        aio__owner_free(loop, &w->owner);
        return aio__error_handle(rc);
    }
    drop_route(loop, signo);
    return aio__fut_handle(loop, me);
}

/* ---- delivery ------------------------------------------------------------ */

/* A ready-queue entry per delivered signal: whatever the loop holds for it
 * now (a handler removed meanwhile does not run). Completing futures and
 * cancelling run no user code, so the handler, which may change anything,
 * comes last. */
static void deliver(aio_loop *loop, void *arg) {
    int signo = (int)(intptr_t)arg;
    struct aio__sig_state *st = loop->sig.st;
    if (!st)
        return;
    entry *e = &st->e[signo];
    if (e->route) {
        if (!st->route_fired)
            st->route_fired = signo;
        aio_task_cancel(loop, st->route_main, signo == SIGTERM ? "SIGTERM" : "SIGINT");
    }
    waiter *w = e->head;
    e->head = e->tail = NULL;
    while (w) {
        waiter *next = w->next;
        aio__owned_finish(loop, w->fut, 0, AIO_VALUE(signo));
        aio__owner_free(loop, &w->owner);
        w = next;
    }
    if (e->lib_fn)
        e->lib_fn(loop, signo, e->lib_arg); /* the library's: runs no user code */
    if (e->fn)
        e->fn(loop, signo, e->arg);
    sync_entry(loop, signo);
}

/* Order against the signal handler (signal_table.c), which sets `pending`,
 * then `any`, then writes the fd if `any` was clear: clear the fd, then
 * `any`, then read `pending`. A delivery between two of these steps is
 * either seen by this drain or leaves `any` set and the fd readable for the
 * next one; at worst the next poll wakes for nothing. */
void aio__signal_drain(aio_loop *loop) {
    struct aio__sig_state *st = loop->sig.st;
    aio__sig_slot *slot = loop->sig.slot;
    if (!st)
        return;
    fd_clear(st);
    atomic_store(&slot->any, 0);
    for (int s = 1; s < AIO__NSIG; s++)
        if (atomic_load_explicit(&slot->pending[s], memory_order_relaxed) && aio__sigtab_take(slot, s) &&
            aio__ready_push(loop, deliver, (void *)(intptr_t)s, NULL) < 0) {
            /* No room in the ready queue, and no memory to grow it: the
             * signal stays pending, and the fd is made readable again, so
             * that the next poll returns at once and the check after it
             * drains again. */
            atomic_store(&slot->pending[s], 1);
            atomic_store(&slot->any, 1);
            fd_signal(st);
        }
}

/* ---- aio_run's route ----------------------------------------------------- */

int aio__signal_route_begin(aio_loop *loop, aio_future main, unsigned signals) {
    static const struct {
        unsigned bit;
        int signo;
    } routes[] = {{AIO_RUN_SIGINT, SIGINT}, {AIO_RUN_SIGTERM, SIGTERM}};
    uint32_t idx;
    int rc = aio__fut_lookup(loop, main, &idx);
    if (rc < 0 || (rc = ensure_state(loop)) < 0)
        return rc;
    struct aio__sig_state *st = loop->sig.st;
    st->route_main = main;
    st->route_fired = 0;
    int n = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int signo = routes[i].signo;
        if (!(signals & routes[i].bit))
            continue;
        if ((rc = aio__sigtab_add(loop->sig.slot, signo, true)) < 0)
            return n ? n : rc;
        if (rc == 0)
            continue; /* ignored, or the application's: left alone */
        entry *e = &st->e[signo];
        e->registered = true;
        e->route = true;
        atomic_store(&loop->sig.slot->route[signo], 1);
        n++;
    }
    return n;
}

int aio__signal_route_end(aio_loop *loop) {
    struct aio__sig_state *st = loop->sig.st;
    if (!st)
        return 0;
    for (int signo = 1; signo < AIO__NSIG; signo++) {
        if (st->e[signo].route) {
            drop_route(loop, signo);
            sync_entry(loop, signo);
        }
    }
    int fired = st->route_fired;
    st->route_fired = 0;
    st->route_main = AIO_FUTURE_NULL;
    return fired;
}

/* ---- close ----------------------------------------------------------------- */

/* Waiters still pending are owner states: the loop frees them with the
 * futures (owner.h, rule 5); nothing here touches them. */
void aio__signal_close(aio_loop *loop) {
    struct aio__sig_state *st = loop->sig.st;
    if (!st)
        return;
    aio__sigtab_release(loop->sig.slot); /* no handler writes our fd after this */
    aio_remove_reader(loop, st->rfd);
    fd_close(st);
    aio__free(st);
    memset(&loop->sig, 0, sizeof loop->sig);
}
