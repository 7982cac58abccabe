/* The process-wide signal table: the one piece of global state in the
 * library, because signal dispositions are the one process-wide resource.
 *
 * A loop that handles any signal owns a slot here (its signal fd and, per
 * signal, whether it wants it). Our single handler sends every delivery to
 * every loop that registered the signal, whichever thread it runs on.
 *
 * Who touches what:
 *   - the handler: only the slots' atomics (lock-free, checked below) and
 *     write(2), sigaction(2) and raise(3): all async-signal-safe. It takes
 *     no lock, so it cannot deadlock with a thread it interrupted.
 *   - threads registering or releasing: `table_mu` for the dispositions
 *     and the slots' `claimed`; they publish a slot's fd before any of its
 *     wants, and clear the wants before the fd.
 *   - a released slot's fd may be closed (and its number reused) only once
 *     no handler can still be writing to it: release waits until
 *     `handlers_running` reaches 0 after clearing the fd, which a handler
 *     reads only while counted there.
 * Slots come in chunks; chunks are never freed (a handler may be walking
 * them), and released slots are reused. */
#include "core/mem.h"
#include "proc/signal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A handler may only use atomics that are lock-free. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_CHAR_LOCK_FREE == 2 && ATOMIC_POINTER_LOCK_FREE == 2,
               "signal handling needs lock-free atomics");

#define SLOTS_PER_CHUNK 16

typedef struct chunk {
    aio__sig_slot slots[SLOTS_PER_CHUNK];
    struct chunk *_Atomic next;
} chunk;

/* Zero-initialised statics are valid atomics (C11 7.17.2.1): all free. */
static chunk first_chunk;
static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int handlers_running;

/* table_mu: per signal, how many loops handle it, and the disposition our
 * handler replaced when the first of them came. */
static struct {
    unsigned loops;
    struct sigaction saved;
} dispositions[AIO__NSIG];

/* A routed signal delivered a second time ends the process the default way:
 * the default action, with the handler's mask lifting as it returns. */
static void die_by(int signo) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(signo, &dfl, NULL);
    raise(signo); /* pending until we return: signo is blocked in here */
}

static void on_signal(int signo) {
    int saved_errno = errno;
    bool second = false;
    atomic_fetch_add(&handlers_running, 1);
    for (chunk *c = &first_chunk; c; c = atomic_load(&c->next)) {
        for (int i = 0; i < SLOTS_PER_CHUNK; i++) {
            aio__sig_slot *s = &c->slots[i];
            if (!atomic_load(&s->want[signo]))
                continue;
            atomic_store(&s->pending[signo], 1);
            unsigned char armed = 1;
            if (!atomic_compare_exchange_strong(&s->route[signo], &armed, 2) && armed == 2)
                second = true;
            /* `pending` before `any`, and one write per drain: the loop
             * clears its fd, then `any`, then reads `pending` (signal.c). */
            if (!atomic_exchange(&s->any, 1)) {
                int fd = atomic_load(&s->wfd1) - 1;
                uint64_t one = 1; /* an eventfd takes 8 bytes; a pipe does not mind */
                if (fd >= 0 && write(fd, &one, sizeof one) < 0) {
                    /* EAGAIN: the fd is readable already, which is all we want */
                }
            }
        }
    }
    atomic_fetch_sub(&handlers_running, 1);
    if (second)
        die_by(signo);
    errno = saved_errno;
}

int aio__signal_check_number(int signo) {
    if (signo <= 0 || signo >= AIO__NSIG)
        return -EINVAL;
    switch (signo) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
        return -EINVAL;
    default:
        return 0;
    }
}

int aio__sigtab_claim(int wfd, aio__sig_slot **out) {
    pthread_mutex_lock(&table_mu);
    chunk *c = &first_chunk, *last = c;
    aio__sig_slot *slot = NULL;
    for (; c && !slot; last = c, c = atomic_load(&c->next))
        for (int i = 0; i < SLOTS_PER_CHUNK && !slot; i++)
            if (!c->slots[i].claimed)
                slot = &c->slots[i];
    if (!slot) {
        chunk *n = aio__calloc(1, sizeof *n); /* zeroed atomics are valid (as statics) */
        if (!n) {
            pthread_mutex_unlock(&table_mu);
            return -ENOMEM;
        }
        atomic_store(&last->next, n); /* published whole: a handler may walk it now */
        slot = &n->slots[0];
    }
    slot->claimed = true;
    for (int s = 0; s < AIO__NSIG; s++)
        atomic_store(&slot->pending[s], 0);
    atomic_store(&slot->any, 0);
    atomic_store(&slot->wfd1, wfd + 1); /* before any want */
    pthread_mutex_unlock(&table_mu);
    *out = slot;
    return 0;
}

static bool ours(const struct sigaction *sa) {
    return !(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == on_signal;
}

int aio__sigtab_add(aio__sig_slot *slot, int signo, bool only_if_default) {
    int rc = 1;
    pthread_mutex_lock(&table_mu);
    if (only_if_default) {
        struct sigaction cur;
        if (sigaction(signo, NULL, &cur) < 0) {
            rc = -errno;
        } else if (!ours(&cur) && ((cur.sa_flags & SA_SIGINFO) || cur.sa_handler != SIG_DFL)) {
            rc = 0; /* ignored, or someone else's handler: leave it */
        }
    }
    if (rc == 1 && !atomic_load(&slot->want[signo])) {
        atomic_store(&slot->want[signo], 1); /* before the handler is installed */
        if (dispositions[signo].loops++ == 0) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_signal;
            sigfillset(&sa.sa_mask); /* one handler at a time per thread */
            sa.sa_flags = SA_RESTART | SA_ONSTACK;
            if (sigaction(signo, &sa, &dispositions[signo].saved) < 0) {
                rc = -errno;
                dispositions[signo].loops--;
                atomic_store(&slot->want[signo], 0);
            }
        }
    }
    pthread_mutex_unlock(&table_mu);
    return rc;
}

/* table_mu held. */
static void remove_locked(aio__sig_slot *slot, int signo) {
    if (!atomic_load(&slot->want[signo]))
        return;
    if (--dispositions[signo].loops == 0) {
        /* The disposition first: a delivery from now on gets what it would
         * have got without us. An application that replaced our handler
         * meanwhile keeps its own. */
        struct sigaction cur;
        if (sigaction(signo, NULL, &cur) == 0 && ours(&cur))
            sigaction(signo, &dispositions[signo].saved, NULL);
    }
    atomic_store(&slot->want[signo], 0);
    atomic_store(&slot->route[signo], 0);
    atomic_store(&slot->pending[signo], 0);
}

void aio__sigtab_remove(aio__sig_slot *slot, int signo) {
    pthread_mutex_lock(&table_mu);
    remove_locked(slot, signo);
    pthread_mutex_unlock(&table_mu);
}

void aio__sigtab_release(aio__sig_slot *slot) {
    pthread_mutex_lock(&table_mu);
    for (int s = 1; s < AIO__NSIG; s++)
        remove_locked(slot, s);
    atomic_store(&slot->wfd1, 0);
    pthread_mutex_unlock(&table_mu);
    /* A handler that read the fd before it was cleared is still counted:
     * wait it out (handlers are a few system calls long), so that the loop
     * may close the fd. A handler interrupting this very thread finishes
     * before we look again. */
    while (atomic_load(&handlers_running) != 0)
        sched_yield();
    pthread_mutex_lock(&table_mu);
    slot->claimed = false;
    pthread_mutex_unlock(&table_mu);
}
