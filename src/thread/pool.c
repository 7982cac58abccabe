/* The thread pool: worker threads, the job queue, job records and their
 * free list, shutting a pool down (thread/pool.h). The loop's side of the
 * executor is executor.c.
 *
 * Lifetimes (no use after free whatever finishes first):
 *   - a job is owned by exactly one of: the pool queue, a worker, a
 *     completion queue, or the loop (orphan bookkeeping); it returns to its
 *     pool's free list through aio__job_release, from the loop thread, or
 *     from a worker when its loop is closed;
 *   - a pool is reference counted under its mutex: its creator, every live
 *     worker thread, every job submitted and not yet finished with; the
 *     last one frees it;
 *   - a loop's aio__xs likewise: the loop, and every job submitted from it.
 *
 * Memory: one malloc per job only while the free lists are empty; up to
 * AIO__FREE_MAX job records are kept for reuse. */
#include "core/compiler.h"
#include "core/loop.h"
#include "core/mem.h"
#include "thread/pool.h"
#include "thread/thread.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AIO__POOL_MAX_THREADS 1024u

typedef struct worker_slot {
    pthread_t tid;
    bool started, exited; /* pool->mu */
} worker_slot;

struct aio_pool {
    pthread_mutex_t mu;
    pthread_cond_t work;   /* idle workers wait here */
    pthread_cond_t gone;   /* aio_pool_free waits here for workers to exit */
    aio__job *head, *tail; /* queued jobs, FIFO */
    aio__job *free;
    unsigned nfree;
    unsigned max, nthreads, alive, idle, running, queued;
    atomic_uint refs;      /* creator + live workers + jobs submitted, not yet finished with */
    atomic_uint submitted; /* bumped per submit: idle workers spin on it */
    atomic_uint spinners;  /* workers spinning for the next submit now */
    unsigned max_spinners; /* at most this many spin (CPUs - 1, capped) */
    bool stopping;
    worker_slot *workers;
};

static _Thread_local aio__job *current_job;

int aio_job_cancelled(void) {
    return current_job ? atomic_load_explicit(&current_job->cancel, memory_order_relaxed) : 0;
}

/* ---- pool ---- */

static unsigned default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n + 4 > 32 ? 32u : (unsigned)n + 4u;
}

int aio_pool_create(aio_pool **out, const aio_pool_options *opts) {
    if (!out)
        return -EINVAL;
    *out = NULL;
    unsigned n = opts && opts->threads ? opts->threads : default_threads();
    if (n > AIO__POOL_MAX_THREADS)
        return -EINVAL;
    aio_pool *p = aio__calloc(1, sizeof *p);
    worker_slot *w = aio__calloc(n, sizeof *w);
    if (!p || !w) {
        free(p);
        free(w);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    aio__cond_init(&p->gone);
    p->workers = w;
    p->max = n;
    atomic_init(&p->refs, 1u);
    atomic_init(&p->submitted, 0u);
    atomic_init(&p->spinners, 0u);
    p->max_spinners = aio__spare_cpus();
    *out = p;
    return 0;
}

int aio_pool_threads(const aio_pool *pool) {
    if (!pool)
        return -EINVAL;
    aio_pool *p = (aio_pool *)pool; /* the lock is not part of its value */
    pthread_mutex_lock(&p->mu);
    int n = (int)p->nthreads;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void pool_destroy(aio_pool *p) {
    while (p->free) {
        aio__job *j = p->free;
        p->free = j->next;
        free(j);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->gone);
    free(p->workers);
    free(p);
}

/* Drop one pool reference, with mu held; unlocks. */
static void pool_unref_unlock(aio_pool *p) {
    bool last = atomic_fetch_sub_explicit(&p->refs, 1u, memory_order_acq_rel) == 1;
    pthread_mutex_unlock(&p->mu);
    if (last)
        pool_destroy(p);
}

/* With mu held: keep j on the free list if there is room. Returns what the
 * caller must free() once the lock is dropped (j, or NULL if kept). */
static aio__job *free_list_put_locked(aio_pool *p, aio__job *j) {
    if (p->nfree >= AIO__FREE_MAX)
        return j;
    j->next = p->free;
    p->free = j;
    p->nfree++;
    return NULL;
}

aio__job *aio__pool_job_alloc(aio_pool *p) {
    pthread_mutex_lock(&p->mu);
    aio__job *j = p->free;
    if (j) {
        p->free = j->next;
        p->nfree--;
    }
    pthread_mutex_unlock(&p->mu);
    return j ? j : aio__malloc(sizeof *j);
}

void aio__pool_job_discard(aio__job *j) {
    aio_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    j = free_list_put_locked(p, j);
    pthread_mutex_unlock(&p->mu);
    free(j);
}

void aio__job_release(aio__job *j) {
    aio__xs_unref(j->xs);
    aio_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    j = free_list_put_locked(p, j);
    pool_unref_unlock(p);
    free(j);
}

void aio__pool_jobs_done(aio_pool *p, aio__job *records, unsigned n) {
    aio__job *spill = NULL; /* records the free list has no room for */
    pthread_mutex_lock(&p->mu);
    while (records) {
        aio__job *j = records;
        records = j->next;
        j = free_list_put_locked(p, j);
        if (j) {
            j->next = spill;
            spill = j;
        }
    }
    atomic_fetch_sub_explicit(&p->refs, n - 1, memory_order_relaxed); /* the last: pool_unref_unlock */
    pool_unref_unlock(p);
    while (spill) {
        aio__job *j = spill;
        spill = j->next;
        free(j);
    }
}

/* Worker (or pool shutdown): hand a finished job to its loop, or discard it
 * if the loop is closed. */
static void job_post(aio__job *j) {
    aio__xs *xs = j->xs;
    pthread_mutex_lock(&xs->mu);
    if (xs->closed) {
        pthread_mutex_unlock(&xs->mu);
        aio__job_release(j);
        return;
    }
    j->next = NULL;
    if (xs->done_tail)
        xs->done_tail->next = j;
    else
        xs->done_head = j;
    xs->done_tail = j;
    aio__xs_signal_locked(xs);
    pthread_mutex_unlock(&xs->mu);
}

/* A worker may spin for the next job only while fewer than max_spinners
 * do: more spinners than spare CPUs would take the CPU from the loop thread
 * (and from each other) and make every hand-off slower, not faster. A
 * spinner that gives up re-checks the queue under the lock before it
 * sleeps, so no job waits for a wake-up that is never sent. */
static bool spin_begin(aio_pool *p) {
    unsigned n = atomic_load_explicit(&p->spinners, memory_order_relaxed);
    while (n < p->max_spinners)
        if (atomic_compare_exchange_weak_explicit(&p->spinners, &n, n + 1, memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    return false;
}

typedef struct worker_arg {
    aio_pool *pool;
    unsigned index;
} worker_arg;

static void *worker_main(void *arg) {
    aio_pool *p = ((worker_arg *)arg)->pool;
    unsigned index = ((worker_arg *)arg)->index;
    free(arg);
    /* One pool lock per job: finishing a job and taking the next happen
     * under the same lock; the finished job is posted after it is dropped
     * (before the next job runs, so its completion is not delayed). */
    aio__job *finished = NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (finished) {
            finished->state = AIO__JOB_DONE;
            p->running--;
        }
        aio__job *j = p->head;
        if (j) {
            p->head = j->next;
            if (p->head)
                p->head->prev = NULL;
            else
                p->tail = NULL;
            p->queued--;
            p->running++;
            j->state = AIO__JOB_RUNNING;
        }
        pthread_mutex_unlock(&p->mu);
        if (finished) {
            job_post(finished);
            finished = NULL;
        }
        if (!j) {
            /* Spin briefly before sleeping: in a round trip the next job
             * follows at once, and a wake-up costs more than the spin. */
            unsigned seen = atomic_load_explicit(&p->submitted, memory_order_relaxed);
            pthread_mutex_lock(&p->mu);
            if (!p->head && !p->stopping && spin_begin(p)) {
                pthread_mutex_unlock(&p->mu);
                aio__spin_until_change(&p->submitted, seen, AIO__SPIN_NS);
                atomic_fetch_sub_explicit(&p->spinners, 1u, memory_order_relaxed);
                pthread_mutex_lock(&p->mu);
            }
            while (!p->head && !p->stopping) {
                p->idle++;
                pthread_cond_wait(&p->work, &p->mu);
                p->idle--;
            }
            if (!p->head) /* stopping, and the queue was taken by aio_pool_free */
                break;
            continue; /* take it, with the lock held */
        }

        aio_value v;
        v.u = 0;
        current_job = j;
        int err = j->u.fn(j->arg, &v);
        current_job = NULL;
        j->u.result = v;
        j->err = err > 0 ? 0 : err;
        finished = j;
        pthread_mutex_lock(&p->mu);
    }
    p->alive--;
    p->workers[index].exited = true;
    pthread_cond_broadcast(&p->gone);
    pool_unref_unlock(p);
    return NULL;
}

/* With mu held: start one more worker. Signals are blocked in workers so
 * that they are delivered to the application's threads. */
static int spawn_locked(aio_pool *p) {
    worker_arg *a = aio__malloc(sizeof *a);
    if (!a)
        return -ENOMEM;
    unsigned index = p->nthreads;
    a->pool = p;
    a->index = index; /* a is the worker's from here on */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->workers[index].tid, NULL, worker_main, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(a);
        return -rc;
    }
    p->workers[index].started = true;
    p->nthreads++;
    p->alive++;
    atomic_fetch_add_explicit(&p->refs, 1u, memory_order_relaxed);
    return 0;
}

void aio__pool_ref(aio_pool *p) { atomic_fetch_add_explicit(&p->refs, 1u, memory_order_relaxed); }

/* Loop thread. Wakes only as many sleepers as the spinning workers cannot
 * serve. */
int aio__pool_submit(aio_pool *p, aio__job *head, unsigned n) {
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return AIO_ECLOSED;
    }
    /* One more thread per job that no idle thread (or new one) will take. */
    for (unsigned spawned = 0; p->queued + n > p->idle + spawned && p->nthreads < p->max; spawned++) {
        int rc = spawn_locked(p);
        if (rc < 0) {
            if (p->nthreads > 0)
                break; /* the running ones will get through the queue */
            pthread_mutex_unlock(&p->mu);
            return rc == -ENOMEM ? rc : -EAGAIN;
        }
    }
    aio__job *prev = p->tail;
    for (aio__job *j = head; j; prev = j, j = j->next) {
        j->state = AIO__JOB_QUEUED;
        j->prev = prev;
    }
    if (p->tail)
        p->tail->next = head;
    else
        p->head = head;
    p->tail = prev;
    p->queued += n;
    atomic_fetch_add_explicit(&p->submitted, n, memory_order_release);
    /* A spinning worker takes a job without a wake-up; wake a sleeper only
     * for the jobs the spinners cannot take. */
    unsigned spinners = atomic_load_explicit(&p->spinners, memory_order_relaxed);
    unsigned wake = p->queued > spinners ? p->queued - spinners : 0;
    if (wake >= p->idle && p->idle > 1)
        pthread_cond_broadcast(&p->work);
    else
        for (unsigned i = 0; i < wake && i < p->idle; i++)
            pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int aio__pool_unqueue(aio__job *j) {
    aio_pool *p = j->pool;
    int removed = 0;
    pthread_mutex_lock(&p->mu);
    if (j->state == AIO__JOB_QUEUED) {
        aio__job_fifo_unlink(&p->head, &p->tail, j);
        p->queued--;
        j->state = 0;
        removed = 1;
    }
    pthread_mutex_unlock(&p->mu);
    return removed;
}

bool aio__pool_job_running(aio__job *j) {
    aio_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    bool running = j->state == AIO__JOB_RUNNING;
    pthread_mutex_unlock(&p->mu);
    return running;
}

void aio__pool_stop(aio_pool *p) {
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    aio__job *queued = p->head;
    p->head = p->tail = NULL;
    p->queued = 0;
    for (aio__job *j = queued; j; j = j->next) {
        j->state = AIO__JOB_DONE;
        j->err = AIO_ECANCELLED;
    }
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    /* Queued jobs never run: their loops see them cancelled. */
    while (queued) {
        aio__job *j = queued;
        queued = j->next;
        job_post(j);
    }
}

int aio__pool_release(aio_pool *p, double timeout) {
    pthread_mutex_lock(&p->mu);
    if (timeout != 0) {
        struct timespec dl;
        bool forever = timeout < 0 || isinf(timeout);
        aio__abstime(&dl, timeout);
        while (p->alive > 0) {
            if (forever)
                pthread_cond_wait(&p->gone, &p->mu);
            else if (pthread_cond_timedwait(&p->gone, &p->mu, &dl) != 0)
                break;
        }
    }
    int abandoned = (int)p->running;
    /* Join the workers that are gone, detach the others: they finish their
     * job, post it, and the last reference frees the pool. */
    for (unsigned i = 0; i < p->nthreads; i++) {
        worker_slot *w = &p->workers[i];
        if (!w->started)
            continue;
        w->started = false;
        if (w->exited) {
            pthread_t tid = w->tid;
            pthread_mutex_unlock(&p->mu);
            pthread_join(tid, NULL);
            pthread_mutex_lock(&p->mu);
        } else {
            pthread_detach(w->tid);
        }
    }
    pool_unref_unlock(p);
    return abandoned;
}

int aio_pool_free(aio_pool *p, double timeout) {
    if (!p || isnan(timeout))
        return -EINVAL;
    aio__pool_stop(p);
    return aio__pool_release(p, timeout);
}
