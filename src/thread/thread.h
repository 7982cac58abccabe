/* Threads and the loop: the cross-thread state each loop owns (wakeup.c),
 * call_soon_threadsafe, and the executor's loop side (executor.c). The
 * thread pool itself has its own header, thread/pool.h. */
#ifndef AIO_THREAD_THREAD_H
#define AIO_THREAD_THREAD_H

#include "core/loop.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

/* ---- threads: wakeup, call_soon_threadsafe, executor -----------------------
 * (wakeup.c, executor.c, pool.c). Each loop owns one aio__xs from creation
 * to aio_loop_free. It is reference counted (the loop's reference plus one
 * per job submitted from the loop) because an abandoned job may finish after
 * the loop is gone. Fields under `mu` are shared with other threads; the
 * ones marked "loop" are touched by the loop thread only. */

typedef struct aio__job aio__job; /* thread/pool.h */
typedef struct aio__tcall {
    aio_callback fn;
    void *arg;
} aio__tcall;

typedef struct aio__xs {
    pthread_mutex_t mu;
    pthread_cond_t cv;               /* signalled on each completion while `waiting` */
    atomic_int pending;              /* a wakeup was signalled and not yet drained */
    atomic_uint refs;                /* the loop's + one per job out of its pool */
    atomic_int extrefs;              /* aio_loop_ref() count */
    bool closing;                    /* mu: aio_loop_close began: refuse threadsafe calls */
    bool closed;                     /* mu: workers discard completions themselves */
    bool waiting;                    /* mu: close waits on cv */
    int kind;                        /* AIO__WAKE_* */
    int rfd, wfd;                    /* eventfd (rfd == wfd) or pipe */
    int bwake;                       /* AIO__WAKE_BACKEND: the handle for wake_signal */
    void (*wake_signal)(int handle); /* AIO__WAKE_BACKEND: the backend's own wakeup */
    aio__job *done_head, *done_tail; /* mu: completions, FIFO */
    aio__tcall *calls;               /* mu: threadsafe calls, in order */
    size_t ncalls, capcalls;
    /* loop: the calls taken from `calls` at the last drain (the buffers
     * are swapped), queued from spare_pos on; those that found no room in
     * the ready queue wait here, in order, for the next drain, and `calls`
     * is not taken again before they are all queued. */
    aio__tcall *spare;
    size_t capspare, nspare, spare_pos;
    /* loop thread only */
    aio__job *jobs; /* jobs submitted and not yet collected */
    size_t njobs;
    struct aio_pool *pool;         /* the default pool, created on first use */
    aio__job *sub_head, *sub_tail; /* submitted, not yet handed to a pool (executor.c) */
    aio__job *spare_jobs;          /* job records kept for reuse, no lock needed */
    unsigned nspare_jobs;
    double close_timeout; /* seconds aio_loop_close waits for running jobs */
    bool may_spin;        /* more than one CPU: spin briefly before blocking */
    /* the default pool was shut down: no new one (shutdown.c) */
    bool default_shut;
    /* aio_shutdown_default_executor waiting, or NULL (shutdown.c) */
    struct aio__shutdown *shutdown;
} aio__xs;

enum { AIO__WAKE_EVENTFD = 1, AIO__WAKE_PIPE, AIO__WAKE_BACKEND };

/* wakeup.c */
int aio__wakeup_init(aio_loop *loop);          /* at creation, after the backend */
void aio__wakeup_close(aio_loop *loop);        /* at close: after aio__executor_close */
void aio__wakeup_free(aio_loop *loop);         /* at free: drop the loop's reference */
void aio__wakeup_drain(aio_loop *loop);        /* after each poll: one atomic load if idle */
int aio__wakeup_watched(const aio_loop *loop); /* our fds counted in loop->io.count */
bool aio__wakeup_alive(const aio_loop *loop);  /* something may still wake the loop */
void aio__xs_signal_locked(aio__xs *xs);       /* with mu held: wake the loop (once) */
void aio__xs_unref(aio__xs *xs);               /* any thread */
void aio__cond_init(pthread_cond_t *cv);       /* a condvar timed on CLOCK_MONOTONIC */
/* Before blocking with executor jobs in flight: spin a few microseconds for
 * a completion (cheaper than a sleep and a wake-up). True if one came. */
bool aio__wakeup_spin(aio_loop *loop);
/* Spin for at most `ns` until *flag != seen; true if it changed. */
bool aio__spin_until_change(const atomic_uint *flag, unsigned seen, int64_t ns);
#ifndef AIO__SPIN_NS
#define AIO__SPIN_NS 30000 /* 30 us: a few thread wake-ups' worth on this class of machine */
#endif
/* How many threads may spin without taking a CPU from someone who has
 * work: online CPUs - 1, at most 2 (0 on one CPU: never spin there). */
unsigned aio__spare_cpus(void);
void aio__abstime(struct timespec *ts, double timeout); /* now + timeout, for it */

/* executor.c */
void aio__executor_close(aio_loop *loop);                   /* at close, first: bounded wait */
void aio__executor_collect(aio_loop *loop, aio__job *done); /* loop thread: completions */
/* Hand the jobs submitted since the last poll to their pools (executor.c). */
void aio__executor_flush(aio_loop *loop);
/* Jobs of `pool` still in the loop's batch end cancelled without reaching it. */
void aio__executor_cancel_unsent(aio_loop *loop, struct aio_pool *pool);
void aio__executor_free_spares(aio__xs *xs); /* when the xs goes */

/* shutdown.c, while xs->shutdown is set */
/* Collect saw job j finish: the shutdown completes after the last of its
 * pool's. */
void aio__shutdown_job_collected(aio_loop *loop, const aio__job *j);
/* At close, after the executor's own wait: release the pool. */
void aio__shutdown_close(aio_loop *loop);
#endif /* AIO_THREAD_THREAD_H */
