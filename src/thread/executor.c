/* The executor: thread pools and run_in_executor.
 *
 * A job goes: loop thread (submit: QUEUED on the pool's queue) -> a worker
 * (RUNNING, then DONE, posted to its loop's completion queue, aio__xs) ->
 * loop thread (aio__executor_collect completes the future and gives the job
 * back to its pool's free list). The futures table is touched by the loop
 * thread only.
 *
 * The job owns its future (AIO__FF_OWNED, like a combinator): cancelling
 * the future calls job_cancel at once, on the loop thread, which unlinks a
 * QUEUED job under the pool lock, so a job cancelled before it started never
 * runs (no window in which a worker could still pick it up); otherwise the
 * job's cancel flag is raised and it becomes an orphan whose completion is
 * discarded. Only the job's own completion or its cancel completes the
 * future.
 *
 * Lifetimes (no use after free whatever finishes first):
 *   - a job is owned by exactly one of: the pool queue, a worker, a
 *     completion queue, or the loop (orphan bookkeeping); it returns to its
 *     pool's free list through job_release, from the loop thread, or from a
 *     worker when its loop is closed;
 *   - a pool is reference counted under its mutex: its creator, every live
 *     worker thread, every job out of the free list; the last one frees it;
 *   - a loop's aio__xs likewise: the loop, and every job submitted from it.
 *
 * Memory: one malloc per job only while the free list is empty; up to
 * AIO__FREE_MAX job records are kept for reuse. */
#include "core/compiler.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/owner.h"
#include "thread/thread.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AIO__POOL_MAX_THREADS 1024u
#define AIO__FREE_MAX 4096u

enum { J_QUEUED = 1, J_RUNNING, J_DONE };

struct aio__job {
    /* ops = job_ops: the job owns its future. A job is never on the loop's
     * list of combinator owners, so the owner's links serve as the loop's
     * list of jobs in flight (JOB_NEXT). */
    aio__owner owner;        /* owner.aux: the future's slot (loop) */
    aio__job *next, *prev;   /* pool queue, free list, completion queue (next) */
    union {
        aio_job_fn fn;    /* until the worker called it */
        aio_value result; /* then: what it returned (read after the completion lock) */
    } u;
    void *arg;
    struct aio_pool *pool;
    aio__xs *xs;
    int err;
    atomic_bool cancel;      /* cooperative cancel flag, read by the job */
    uint8_t state;           /* pool->mu */
    bool orphan;             /* loop: the future is done already; discard */
    bool local;              /* loop: in the loop's batch, not yet given to the pool */
};
/* 96 bytes with malloc's header (128 before the links were shared, 112
 * before fn and result shared 8 bytes): the first-touch cost of a record
 * is about 2.8 ns per byte on the reference VM. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct aio__job) == 88, "a job record is 88 bytes");
#define JOB_NEXT(j) ((aio__job *)(void *)(j)->owner.next) /* owner is the first member */

typedef struct worker_slot {
    pthread_t tid;
    bool started, exited;    /* pool->mu */
} worker_slot;

struct aio_pool {
    pthread_mutex_t mu;
    pthread_cond_t work;     /* idle workers wait here */
    pthread_cond_t gone;     /* aio_pool_free waits here for workers to exit */
    aio__job *head, *tail;   /* queued jobs, FIFO */
    aio__job *free;
    unsigned nfree;
    unsigned max, nthreads, alive, idle, running, queued;
    atomic_uint refs;        /* creator + live workers + jobs out of the free list */
    atomic_uint submitted;   /* bumped per submit: idle workers spin on it */
    atomic_uint spinners;    /* workers spinning for the next submit now */
    unsigned max_spinners;   /* at most this many spin (CPUs - 1, capped) */
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

/* Loop thread: a job record, from the loop's own spares (no lock), else
 * the pool's free list, else malloc. */
static aio__job *job_get(aio__xs *xs, aio_pool *p) {
    aio__job *j = xs->spare_jobs;
    if (j) {
        xs->spare_jobs = j->next;
        xs->nspare_jobs--;
    } else {
        pthread_mutex_lock(&p->mu);
        j = p->free;
        if (j) {
            p->free = j->next;
            p->nfree--;
        }
        pthread_mutex_unlock(&p->mu);
    }
    if (!j && !(j = aio__malloc(sizeof *j)))
        return NULL;
    memset(j, 0, sizeof *j);
    atomic_init(&j->cancel, false);
    j->pool = p;
    return j;
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

/* A job whose pool reference was never taken (submit failed early). */
static void job_put_unsubmitted(aio__job *j) {
    aio_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    j = free_list_put_locked(p, j);
    pthread_mutex_unlock(&p->mu);
    free(j);
}

/* Any thread: the job is finished with; drop what it held. */
static void job_release(aio__job *j) {
    aio__xs_unref(j->xs);
    aio_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    j = free_list_put_locked(p, j);
    pool_unref_unlock(p);
    free(j);
}

/* Worker (or pool shutdown): hand a finished job to its loop, or discard it
 * if the loop is closed. */
static void job_post(aio__job *j) {
    aio__xs *xs = j->xs;
    pthread_mutex_lock(&xs->mu);
    if (xs->closed) {
        pthread_mutex_unlock(&xs->mu);
        job_release(j);
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
            finished->state = J_DONE;
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
            j->state = J_RUNNING;
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

/* Queue a chain of n jobs (linked by next, all of pool p) under one lock
 * (loop thread). Starts the workers they need and wakes only as many
 * sleepers as the spinning workers cannot serve. */
static int pool_submit_chain(aio_pool *p, aio__job *head, unsigned n) {
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
        j->state = J_QUEUED;
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

/* ---- the loop's batch of submits ----
 * A job submitted while its loop runs waits in the loop's batch (xs->sub,
 * a doubly linked FIFO through next/prev) until the loop next polls, and
 * then the whole batch reaches each pool under one lock: a coroutine that
 * submits 10,000 jobs takes the pool lock once, not 10,000 times against
 * the workers. The wait is short: the loop polls as soon as its ready queue
 * is empty, and at the latest after poll_budget callbacks. A loop that is
 * not running hands each job over at once, so that work submitted before
 * aio_run_until_complete starts at once, as with asyncio. */
/* Unlink j from a doubly linked FIFO (next/prev): the pool's queue or the
 * loop's batch. */
static void fifo_unlink(aio__job **head, aio__job **tail, aio__job *j) {
    if (j->prev)
        j->prev->next = j->next;
    else
        *head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        *tail = j->prev;
}

static void unsubmit(aio__xs *xs, aio__job *j) {
    fifo_unlink(&xs->sub_head, &xs->sub_tail, j);
    j->local = false;
}

static void submit_later(aio__xs *xs, aio__job *j) {
    j->local = true;
    j->next = NULL;
    j->prev = xs->sub_tail;
    if (xs->sub_tail)
        xs->sub_tail->next = j;
    else
        xs->sub_head = j;
    xs->sub_tail = j;
}

/* Unlink a QUEUED job (loop thread). 1 if it was still queued. */
static int pool_unqueue(aio__job *j) {
    if (j->local) { /* still in the loop's batch: the pool never saw it */
        unsubmit(j->xs, j);
        return 1;
    }
    aio_pool *p = j->pool;
    int removed = 0;
    pthread_mutex_lock(&p->mu);
    if (j->state == J_QUEUED) {
        fifo_unlink(&p->head, &p->tail, j);
        p->queued--;
        j->state = 0;
        removed = 1;
    } else {
        atomic_store_explicit(&j->cancel, true, memory_order_relaxed);
    }
    pthread_mutex_unlock(&p->mu);
    return removed;
}

int aio_pool_free(aio_pool *p, double timeout) {
    if (!p || isnan(timeout))
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    aio__job *queued = p->head;
    p->head = p->tail = NULL;
    p->queued = 0;
    for (aio__job *j = queued; j; j = j->next) {
        j->state = J_DONE;
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

/* ---- the loop's side ---- */

static void loop_list_remove(aio__xs *xs, aio__job *j) {
    if (j->owner.prev)
        j->owner.prev->next = j->owner.next;
    else
        xs->jobs = JOB_NEXT(j);
    if (j->owner.next)
        j->owner.next->prev = j->owner.prev;
    xs->njobs--;
}

/* Cancel of a job's future (loop thread). */
static int job_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    aio__job *j = (aio__job *)(void *)((char *)o - offsetof(aio__job, owner));
    bool unqueued = pool_unqueue(j); /* never started: it never will */
    if (!unqueued)
        j->orphan = true; /* running or posted: collect will discard it */
    /* Finish while the record is ours: the future's callback list is in
     * its owner, inside the record, until the finish takes it out. */
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, j->owner.aux, AIO_ECANCELLED, v);
    if (unqueued) {
        loop_list_remove(loop->xs, j);
        job_release(j); /* may free it */
    }
    return 1;
}

static const aio__owner_ops job_ops = {job_cancel};

/* A job that never reached its pool: its future ends with err, the record
 * goes back (loop thread). */
static void fail_unsubmitted(aio_loop *loop, aio__job *j, int err) {
    loop_list_remove(loop->xs, j);
    aio__owned_finish(loop, j->owner.aux, err, (aio_value){0});
    job_release(j);
}

aio_future aio_run_in_executor(aio_loop *loop, aio_pool *pool, aio_job_fn fn, void *arg) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (!fn)
        return aio__error_handle(-EINVAL);
    aio__xs *xs = loop->xs;
    if (!pool) {
        if (!xs->pool && (rc = aio_pool_create(&xs->pool, NULL)) < 0)
            return aio__error_handle(rc);
        pool = xs->pool;
    }
    aio__job *j = job_get(xs, pool);
    if (!j)
        return aio__error_handle(-ENOMEM);
    uint32_t idx;
    if ((rc = aio__fut_alloc(loop, &idx)) < 0) {
        job_put_unsubmitted(j);
        return aio__error_handle(rc);
    }
    j->owner.ops = &job_ops;
    aio__fut_set_owner(loop, idx, &j->owner);
    aio_future f = aio__fut_handle(loop, idx);
    j->u.fn = fn;
    j->arg = arg;
    j->owner.aux = idx;
    j->xs = xs;
    atomic_fetch_add_explicit(&xs->refs, 1u, memory_order_relaxed);   /* the job's */
    atomic_fetch_add_explicit(&pool->refs, 1u, memory_order_relaxed); /* the job's */
    j->owner.prev = NULL;
    j->owner.next = xs->jobs ? &xs->jobs->owner : NULL;
    if (xs->jobs)
        xs->jobs->owner.prev = &j->owner;
    xs->jobs = j;
    xs->njobs++;
    if (loop->running) {
        submit_later(xs, j);
        return f;
    }
    j->next = NULL;
    if ((rc = pool_submit_chain(pool, j, 1)) < 0) {
        fail_unsubmitted(loop, j, AIO_ECANCELLED);
        aio__fut_consume(loop, idx);
        return aio__error_handle(rc);
    }
    return f;
}

void aio__executor_flush(aio_loop *loop) {
    aio__xs *xs = loop->xs;
    aio__job *j = xs->sub_head;
    xs->sub_head = xs->sub_tail = NULL;
    while (j) {
        aio__job *head = j, *last = j;
        aio_pool *p = j->pool;
        unsigned n = 0;
        for (; j && j->pool == p; j = j->next, n++) { /* a run of jobs of one pool */
            j->local = false;
            last = j;
        }
        last->next = NULL;
        int rc = pool_submit_chain(p, head, n);
        while (rc < 0 && head) { /* the pool is closing, or no thread could start */
            aio__job *next = head->next;
            fail_unsubmitted(loop, head, rc);
            head = next;
        }
    }
}

/* Complete the future of a job that finished (loop thread). */
static void complete_future(aio_loop *loop, aio__job *j) {
    uint32_t idx = j->owner.aux;
    /* Still pending: a cancelled job is an orphan and never gets here. */
    aio_value v = j->u.result;
    if (j->err == AIO_ECANCELLED)
        v.p = NULL;
    aio__owned_finish(loop, idx, j->err < 0 ? j->err : 0, v);
}

/* Give `n` finished jobs (chained by next, all of pool p) back with one
 * acquisition of the pool lock instead of one each; the loop keeps up to
 * AIO__FREE_MAX records itself, so that the next submits take no lock. */
static void release_batch(aio__xs *xs, aio_pool *p, aio__job *head, unsigned n) {
    while (head && xs->nspare_jobs < AIO__FREE_MAX) {
        aio__job *j = head;
        head = j->next;
        j->next = xs->spare_jobs;
        xs->spare_jobs = j;
        xs->nspare_jobs++;
    }
    aio__job *spill = NULL; /* jobs the free list has no room for */
    pthread_mutex_lock(&p->mu);
    while (head) {
        aio__job *j = head;
        head = j->next;
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

void aio__executor_free_spares(aio__xs *xs) {
    while (xs->spare_jobs) {
        aio__job *j = xs->spare_jobs;
        xs->spare_jobs = j->next;
        free(j);
    }
    xs->nspare_jobs = 0;
}

void aio__executor_collect(aio_loop *loop, aio__job *done) {
    aio_pool *pool = NULL;
    aio__job *batch = NULL;
    unsigned n = 0;
    while (done) {
        aio__job *j = done;
        done = j->next;
        loop_list_remove(loop->xs, j);
        if (!j->orphan && !loop->closed)
            complete_future(loop, j);
        aio__xs_unref(j->xs);
        if (pool && j->pool != pool) { /* jobs of several pools: one batch each */
            release_batch(loop->xs, pool, batch, n);
            batch = NULL;
            n = 0;
        }
        pool = j->pool;
        j->next = batch;
        batch = j;
        n++;
    }
    if (pool)
        release_batch(loop->xs, pool, batch, n);
}

int aio_loop_set_executor_timeout(aio_loop *loop, double seconds) {
    if (!loop || !loop->xs || !(seconds >= 0))
        return -EINVAL;
    loop->xs->close_timeout = seconds;
    return 0;
}

/* At close, before the futures go: queued jobs are removed, running ones
 * asked to stop and waited for (bounded); what still runs is abandoned,
 * reported, and discarded by its worker later. */
void aio__executor_close(aio_loop *loop) {
    aio__xs *xs = loop->xs;
    pthread_mutex_lock(&xs->mu);
    xs->closing = true; /* no more threadsafe calls */
    pthread_mutex_unlock(&xs->mu);
    for (aio__job *j = xs->jobs, *next; j; j = next) {
        next = JOB_NEXT(j);
        j->orphan = true; /* the futures table is about to go */
        if (pool_unqueue(j)) {
            loop_list_remove(xs, j);
            job_release(j);
        }
    }
    struct timespec dl;
    bool forever = isinf(xs->close_timeout);
    aio__abstime(&dl, xs->close_timeout);
    pthread_mutex_lock(&xs->mu);
    for (;;) {
        aio__job *done = xs->done_head;
        xs->done_head = xs->done_tail = NULL;
        if (done) {
            pthread_mutex_unlock(&xs->mu);
            aio__executor_collect(loop, done);
            pthread_mutex_lock(&xs->mu);
            continue;
        }
        if (xs->njobs == 0)
            break;
        xs->waiting = true;
        int rc = forever ? pthread_cond_wait(&xs->cv, &xs->mu) : pthread_cond_timedwait(&xs->cv, &xs->mu, &dl);
        xs->waiting = false;
        if (rc != 0 && !xs->done_head)
            break; /* timed out */
    }
    xs->closed = true; /* workers discard from now on */
    pthread_mutex_unlock(&xs->mu);
    for (aio__job *j = xs->jobs; j; j = JOB_NEXT(j))
        aio__report(loop, "executor job abandoned at close: still running, its result will be discarded",
                    AIO_ETIMEDOUT, AIO__NIL);
    xs->jobs = NULL; /* the workers own them now */
    xs->njobs = 0;
    if (xs->pool) {
        aio_pool_free(xs->pool, 0);
        xs->pool = NULL;
    }
}
