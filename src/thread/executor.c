/* The executor, the loop's side: run_in_executor, the loop's batch of
 * submits, collecting completions, and what closing the loop does to jobs
 * in flight. The pool itself (threads, queue, job records) is pool.c.
 *
 * The job owns its future (AIO__FF_OWNED, like a combinator): cancelling
 * the future calls job_cancel at once, on the loop thread, which unlinks a
 * QUEUED job under the pool lock, so a job cancelled before it started never
 * runs (no window in which a worker could still pick it up); otherwise the
 * job's cancel flag is raised and it becomes an orphan whose completion is
 * discarded. Only the job's own completion or its cancel completes the
 * future. The futures table is touched by the loop thread only. */
#include "core/compiler.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/report.h"
#include "core/owner.h"
#include "thread/pool.h"
#include "thread/thread.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 96 bytes with malloc's header (128 before the links were shared, 112
 * before fn and result shared 8 bytes): the first-touch cost of a record
 * is about 2.8 ns per byte on the reference VM. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct aio__job) == 88, "a job record is 88 bytes");

/* Loop thread: a job record, from the loop's own spares (no lock), else
 * the pool's free list, else malloc. */
static aio__job *job_get(aio__xs *xs, aio_pool *p) {
    aio__job *j = xs->spare_jobs;
    if (j) {
        xs->spare_jobs = j->next;
        xs->nspare_jobs--;
    } else if (!(j = aio__pool_job_alloc(p))) {
        return NULL;
    }
    memset(j, 0, sizeof *j);
    atomic_init(&j->cancel, false);
    j->pool = p;
    return j;
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
static void unsubmit(aio__xs *xs, aio__job *j) {
    aio__job_fifo_unlink(&xs->sub_head, &xs->sub_tail, j);
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

/* Unlink a job not yet started (loop thread): from the loop's batch or its
 * pool's queue. 1 if it was still there (it never runs). */
static int job_unqueue(aio__job *j) {
    if (j->local) { /* still in the loop's batch: the pool never saw it */
        unsubmit(j->xs, j);
        return 1;
    }
    return aio__pool_unqueue(j);
}

/* ---- the loop's side ---- */

static void loop_list_remove(aio__xs *xs, aio__job *j) {
    if (j->owner.prev)
        j->owner.prev->next = j->owner.next;
    else
        xs->jobs = AIO__JOB_NEXT(j);
    if (j->owner.next)
        j->owner.next->prev = j->owner.prev;
    xs->njobs--;
}

/* Cancel of a job's future (loop thread). */
static int job_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    aio__job *j = (aio__job *)(void *)((char *)o - offsetof(aio__job, owner));
    bool unqueued = job_unqueue(j); /* never started: it never will */
    if (!unqueued) {
        j->orphan = true; /* running or posted: collect will discard it */
        atomic_store_explicit(&j->cancel, true, memory_order_relaxed); /* aio_job_cancelled() */
    }
    /* Finish while the record is ours: the future's callback list is in
     * its owner, inside the record, until the finish takes it out. */
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    aio__owned_finish(loop, j->owner.aux, AIO_ECANCELLED, v);
    if (unqueued) {
        loop_list_remove(loop->xs, j);
        aio__job_release(j); /* may free it */
    }
    return 1;
}

/* For the task dumps (aio/debug.h). */
static void job_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    (void)loop;
    (void)o;
    snprintf(info->text, info->len, "executor job");
}

static const aio__owner_ops job_ops = {.cancel = job_cancel, .describe = job_describe};

/* A job that never reached its pool: its future ends with err, the record
 * goes back (loop thread). */
static void fail_unsubmitted(aio_loop *loop, aio__job *j, int err) {
    loop_list_remove(loop->xs, j);
    aio__owned_finish(loop, j->owner.aux, err, (aio_value){0});
    aio__job_release(j);
}

aio_future aio_run_in_executor(aio_loop *loop, aio_pool *pool, aio_job_fn fn, void *arg) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    if (!fn)
        return aio__error_handle(-EINVAL);
    aio__xs *xs = loop->xs;
    if (!pool) {
        if (xs->default_shut)
            return aio__error_handle(AIO_ECLOSED); /* aio_shutdown_default_executor was called */
        if (!xs->pool && (rc = aio_pool_create(&xs->pool, NULL)) < 0)
            return aio__error_handle(rc);
        pool = xs->pool;
    }
    aio__job *j = job_get(xs, pool);
    if (!j)
        return aio__error_handle(-ENOMEM);
    uint32_t idx;
    if ((rc = aio__fut_alloc(loop, &idx)) < 0) {
        aio__pool_job_discard(j);
        return aio__error_handle(rc);
    }
    j->owner.ops = &job_ops;
    aio__fut_set_owner(loop, idx, &j->owner);
    aio_future f = aio__fut_handle(loop, idx);
    j->u.fn = fn;
    j->arg = arg;
    j->owner.aux = idx;
    j->xs = xs;
    atomic_fetch_add_explicit(&xs->refs, 1u, memory_order_relaxed); /* the job's */
    aio__pool_ref(pool);                                            /* the job's */
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
    if ((rc = aio__pool_submit(pool, j, 1)) < 0) {
        fail_unsubmitted(loop, j, AIO_ECANCELLED);
        aio__fut_consume(loop, idx);
        return aio__error_handle(rc);
    }
    return f;
}

void aio__executor_cancel_unsent(aio_loop *loop, aio_pool *pool) {
    aio__xs *xs = loop->xs;
    for (aio__job *j = xs->sub_head, *next; j; j = next) {
        next = j->next;
        if (j->pool == pool) {
            unsubmit(xs, j);
            fail_unsubmitted(loop, j, AIO_ECANCELLED);
        }
    }
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
        int rc = aio__pool_submit(p, head, n);
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
    aio__pool_jobs_done(p, head, n);
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
        if (loop->xs->shutdown)
            aio__shutdown_job_collected(loop, j);
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
        next = AIO__JOB_NEXT(j);
        j->orphan = true; /* the futures table is about to go */
        if (job_unqueue(j)) {
            loop_list_remove(xs, j);
            aio__job_release(j);
        } else {
            atomic_store_explicit(&j->cancel, true, memory_order_relaxed); /* asked to stop */
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
        int rc =
            forever ? pthread_cond_wait(&xs->cv, &xs->mu) : pthread_cond_timedwait(&xs->cv, &xs->mu, &dl);
        xs->waiting = false;
        if (rc != 0 && !xs->done_head)
            break; /* timed out */
    }
    xs->closed = true; /* workers discard from now on */
    pthread_mutex_unlock(&xs->mu);
    char msg[200]; /* which bound expired, and how long it was */
    snprintf(msg, sizeof msg,
             "executor job abandoned at loop close: still running after the executor timeout "
             "(aio_loop_set_executor_timeout, %g s); its result will be discarded",
             xs->close_timeout);
    for (aio__job *j = xs->jobs; j; j = AIO__JOB_NEXT(j))
        aio__report(loop, msg, AIO_ETIMEDOUT, AIO__NIL);
    xs->jobs = NULL; /* the workers own them now */
    xs->njobs = 0;
    if (xs->shutdown)
        aio__shutdown_close(loop);
    if (xs->pool) {
        aio_pool_free(xs->pool, 0);
        xs->pool = NULL;
    }
}
