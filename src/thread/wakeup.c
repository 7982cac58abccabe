/* Cross-thread wakeup and aio_call_soon_threadsafe.
 *
 * Every loop owns an aio__xs (internal.h) from creation on: an eventfd
 * (Linux), an EVFILT_USER event (kqueue backend) or a pipe (elsewhere),
 * watched by the loop, plus two queues other threads append to under `mu`:
 * threadsafe calls and executor completions.
 *
 * Why from creation and not on first use: a loop already blocked in its
 * poll cannot learn about an fd registered later, so the first threadsafe
 * call from another thread would be lost. The fd does not count for
 * deadlock detection (aio__wakeup_watched), so a loop that uses no threads
 * still reports AIO_EDEADLOCK.
 *
 * One wakeup for many posts: a poster sets `pending` and writes the fd only
 * if `pending` was clear; the loop clears it when it drains. Both happen
 * under `mu`, so a write always precedes the read that clears it and the fd
 * is never left readable with `pending` clear (which would spin a
 * level-triggered poll). The loop's drain is one atomic load when idle. */
#include "core/compiler.h"
#include "core/futures.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/ready.h"
#include "io/sys.h"
#include "thread/thread.h"

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/eventfd.h>
#endif

/* ---- helpers shared with executor.c ---- */

void aio__cond_init(pthread_cond_t *cv) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
#if !defined(__APPLE__)
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
#endif
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

void aio__abstime(struct timespec *ts, double timeout) {
#if !defined(__APPLE__)
    clock_gettime(CLOCK_MONOTONIC, ts);
#else
    clock_gettime(CLOCK_REALTIME, ts);
#endif
    if (timeout > 1e9)
        timeout = 1e9; /* ~31 years: "forever" without overflow */
    if (timeout < 0)
        timeout = 0;
    time_t s = (time_t)timeout;
    long ns = ts->tv_nsec + (long)((timeout - (double)s) * 1e9);
    ts->tv_sec += s + ns / 1000000000L;
    ts->tv_nsec = ns % 1000000000L;
}

/* ---- the wakeup primitive ---- */

static int set_flags(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

static void on_readable(aio_loop *loop, void *arg) {
    (void)arg;
    aio__wakeup_drain(loop);
}

static int wake_open(aio_loop *loop, aio__xs *xs) {
    if (loop->io.backend->wake_open) { /* the backend's own (kqueue's EVFILT_USER) */
        int rc = loop->io.backend->wake_open(loop, &xs->bwake);
        if (rc < 0)
            return rc;
        xs->wake_signal = loop->io.backend->wake_signal;
        xs->kind = AIO__WAKE_BACKEND;
        return 0;
    }
#ifdef __linux__
    xs->rfd = xs->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (xs->rfd < 0)
        return -errno;
    xs->kind = AIO__WAKE_EVENTFD;
#else
    int p[2];
    if (pipe(p) < 0)
        return -errno;
    xs->rfd = p[0];
    xs->wfd = p[1];
    xs->kind = AIO__WAKE_PIPE;
    int rc;
    if ((rc = set_flags(p[0])) < 0 || (rc = set_flags(p[1])) < 0)
        return rc;
#endif
    (void)set_flags;
    return aio_add_reader(loop, xs->rfd, on_readable, NULL);
}

/* Write the wakeup fd, again if a signal interrupted it. */
static void write_retrying(int fd, const void *buf, size_t n) {
    while (aio__sys_write(fd, buf, n) < 0 && errno == EINTR) {
    }
}

/* With mu held. A write that fails otherwise can only be EAGAIN: the fd is
 * readable already (an eventfd at its maximum, a full pipe). */
static void wake_write(aio__xs *xs) {
    switch (xs->kind) {
    case AIO__WAKE_BACKEND:
        xs->wake_signal(xs->bwake);
        break;
    case AIO__WAKE_EVENTFD: {
        uint64_t one = 1;
        write_retrying(xs->wfd, &one, sizeof one);
        break;
    }
    default: {
        char c = 0;
        write_retrying(xs->wfd, &c, 1);
        break;
    }
    }
}

/* With mu held: empty the fd (EVFILT_USER with EV_CLEAR resets itself when
 * reported). False if a read failed otherwise than by finding it empty:
 * the fd may still be readable, and the caller must look again later (or a
 * level-triggered poll would report it forever with nothing to drain). */
static bool wake_clear(aio__xs *xs) {
    if (xs->kind == AIO__WAKE_BACKEND)
        return true;
    char buf[64];
    for (;;) {
        ssize_t n = aio__sys_read(xs->rfd, buf, xs->kind == AIO__WAKE_EVENTFD ? 8 : sizeof buf);
        if (n > 0 && xs->kind == AIO__WAKE_EVENTFD)
            return true; /* one read resets the counter */
        if (n > 0)
            continue; /* a pipe: until it is empty */
        if (n < 0 && errno == EINTR)
            continue;
        return n == 0 || errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

void aio__xs_signal_locked(aio__xs *xs) {
    if (!atomic_load_explicit(&xs->pending, memory_order_relaxed)) {
        /* The write first: a loop spinning on `pending` (aio__wakeup_spin)
         * then takes mu to drain only once the system call is over, instead
         * of blocking on mu for its length and being woken again: two
         * context switches per completion. A loop that reads the fd before
         * `pending` is set finds nothing to drain and leaves the fd
         * readable, so its next poll comes back at once; nothing is lost. */
        wake_write(xs);
        atomic_store_explicit(&xs->pending, 1, memory_order_release);
    }
    if (xs->waiting)
        pthread_cond_broadcast(&xs->cv);
}

/* ---- lifetime ---- */

int aio__wakeup_init(aio_loop *loop) {
    aio__xs *xs = aio__calloc(1, sizeof *xs);
    if (!xs)
        return -ENOMEM;
    pthread_mutex_init(&xs->mu, NULL);
    aio__cond_init(&xs->cv);
    atomic_init(&xs->pending, 0);
    xs->may_spin = aio__spare_cpus() > 0;
    atomic_init(&xs->refs, 1u);
    atomic_init(&xs->extrefs, 0);
    xs->rfd = xs->wfd = xs->bwake = -1;
    xs->close_timeout = 5.0;
    loop->xs = xs;
    int rc = wake_open(loop, xs);
    if (rc < 0) {
        aio__wakeup_close(loop);
        aio__wakeup_free(loop);
    }
    return rc;
}

void aio__wakeup_close(aio_loop *loop) {
    aio__xs *xs = loop->xs;
    pthread_mutex_lock(&xs->mu);
    xs->closing = xs->closed = true; /* nobody writes the fd from now on */
    xs->ncalls = 0;                  /* calls accepted and not yet run never run (as ready entries don't) */
    xs->nspare = xs->spare_pos = 0;
    pthread_mutex_unlock(&xs->mu);
    if (xs->kind != AIO__WAKE_BACKEND && xs->rfd >= 0)
        aio_remove_reader(loop, xs->rfd);
}

void aio__xs_unref(aio__xs *xs) {
    if (atomic_fetch_sub_explicit(&xs->refs, 1u, memory_order_acq_rel) != 1u)
        return;
    if (xs->rfd >= 0)
        close(xs->rfd);
    if (xs->wfd >= 0 && xs->wfd != xs->rfd)
        close(xs->wfd);
    pthread_mutex_destroy(&xs->mu);
    pthread_cond_destroy(&xs->cv);
    aio__executor_free_spares(xs);
    aio__free(xs->calls);
    aio__free(xs->spare);
    aio__free(xs);
}

void aio__wakeup_free(aio_loop *loop) {
    if (loop->xs)
        aio__xs_unref(loop->xs);
    loop->xs = NULL;
}

int aio__wakeup_watched(const aio_loop *loop) {
    return loop->xs && loop->xs->kind != AIO__WAKE_BACKEND ? 1 : 0;
}

bool aio__wakeup_alive(const aio_loop *loop) {
    aio__xs *xs = loop->xs;
    return xs && (xs->njobs > 0 || atomic_load(&xs->extrefs) > 0 || atomic_load(&xs->pending));
}

/* ---- the loop's side ---- */

/* Queue the posted calls taken at a drain, in order, as far as the ready
 * queue has room (it grows if it can): a call that finds none waits, with
 * those behind it, for the next drain. */
static void queue_posted(aio_loop *loop, aio__xs *xs) {
    while (xs->spare_pos < xs->nspare) {
        const aio__tcall *c = &xs->spare[xs->spare_pos];
        if (aio__ready_push(loop, c->fn, c->arg, NULL) < 0)
            return;
        xs->spare_pos++;
    }
}

void aio__wakeup_drain(aio_loop *loop) {
    aio__xs *xs = loop->xs;
    if (!xs || !atomic_load_explicit(&xs->pending, memory_order_acquire))
        return;
    pthread_mutex_lock(&xs->mu);
    bool cleared = wake_clear(xs);
    atomic_store_explicit(&xs->pending, 0, memory_order_relaxed);
    aio__job *done = xs->done_head;
    xs->done_head = xs->done_tail = NULL;
    if (xs->spare_pos == xs->nspare) {
        /* Swap the call buffers: posters keep appending to the other one. */
        aio__tcall *calls = xs->calls;
        size_t cap = xs->capcalls;
        xs->nspare = xs->ncalls;
        xs->spare_pos = 0;
        xs->calls = xs->spare;
        xs->capcalls = xs->capspare;
        xs->ncalls = 0;
        xs->spare = calls;
        xs->capspare = cap;
    }
    pthread_mutex_unlock(&xs->mu);
    queue_posted(loop, xs);
    if (!cleared || xs->spare_pos < xs->nspare) {
        /* Calls left over, or a wakeup fd we could not empty: signal
         * ourselves, so that the next poll returns at once and the next
         * drain looks again. Nothing accepted is dropped. */
        pthread_mutex_lock(&xs->mu);
        if (!xs->closed)
            aio__xs_signal_locked(xs);
        pthread_mutex_unlock(&xs->mu);
    }
    if (done)
        aio__executor_collect(loop, done);
}

/* ---- public ---- */

int aio_call_soon_threadsafe(aio_loop *loop, aio_callback fn, void *arg) {
    if (!loop || !fn)
        return -EINVAL;
    aio__xs *xs = loop->xs;
    if (!xs)
        return AIO_ECLOSED;
    pthread_mutex_lock(&xs->mu);
    int rc = 0;
    if (xs->closing) {
        rc = AIO_ECLOSED;
    } else if (xs->ncalls == xs->capcalls) {
        size_t cap = xs->capcalls ? xs->capcalls * 2 : 64;
        aio__tcall *c = aio__realloc(xs->calls, cap * sizeof *c);
        if (c) {
            xs->calls = c;
            xs->capcalls = cap;
        } else {
            rc = -ENOMEM;
        }
    }
    if (rc == 0) {
        xs->calls[xs->ncalls].fn = fn;
        xs->calls[xs->ncalls].arg = arg;
        xs->ncalls++;
        aio__xs_signal_locked(xs);
    }
    pthread_mutex_unlock(&xs->mu);
    return rc;
}

int aio_loop_ref(aio_loop *loop) {
    if (!loop || !loop->xs)
        return -EINVAL;
    atomic_fetch_add(&loop->xs->extrefs, 1);
    return 0;
}

int aio_loop_unref(aio_loop *loop) {
    if (!loop || !loop->xs)
        return -EINVAL;
    aio__xs *xs = loop->xs;
    int n = atomic_load(&xs->extrefs);
    do {
        if (n <= 0)
            return AIO_ENOREF;
    } while (!atomic_compare_exchange_weak(&xs->extrefs, &n, n - 1));
    if (n == 1) {
        /* A loop blocked only for this reference must look again (and may
         * now report AIO_EDEADLOCK). */
        pthread_mutex_lock(&xs->mu);
        if (!xs->closed)
            aio__xs_signal_locked(xs);
        pthread_mutex_unlock(&xs->mu);
    }
    return 0;
}

/* ---- short spins instead of sleeping ---- */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

bool aio__spin_until_change(const atomic_uint *flag, unsigned seen, int64_t ns) {
    int64_t deadline = 0;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(flag, memory_order_acquire) != seen)
            return true;
        cpu_relax();
        if ((i & 63) == 0) { /* read the clock rarely: it costs more than a pause */
            int64_t now = aio__clock_ns();
            if (!deadline)
                deadline = now + ns;
            else if (now >= deadline)
                return false;
        }
    }
}

unsigned aio__spare_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 1)
        return 0;
    return n - 1 > 2 ? 2u : (unsigned)(n - 1);
}

bool aio__wakeup_spin(aio_loop *loop) {
    aio__xs *xs = loop->xs;
    if (!xs || xs->njobs == 0 || !xs->may_spin)
        return false; /* nothing running for us (or one CPU): sleep at once */
    int64_t deadline = 0;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&xs->pending, memory_order_acquire))
            return true;
        cpu_relax();
        if ((i & 63) == 0) {
            int64_t now = aio__clock_ns();
            if (!deadline)
                deadline = now + AIO__SPIN_NS;
            else if (now >= deadline)
                return false;
        }
    }
}
