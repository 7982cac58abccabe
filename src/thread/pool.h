/* The thread pool (pool.c): worker threads, the job queue, job records and
 * their free list, and shutting a pool down. The loop's side of the
 * executor (executor.c, shutdown.c) hands jobs over and takes them back
 * through these functions; struct aio_pool stays private to pool.c.
 *
 * A job goes: loop thread (aio__pool_submit: QUEUED on the pool's queue)
 * -> a worker (RUNNING, then DONE, posted to its loop's completion queue in
 * aio__xs) -> loop thread (aio__executor_collect completes the future and
 * gives the record back). The pool holds no loop state, so no STATE part:
 * a loop reaches its default pool through loop->xs. */
#ifndef AIO_THREAD_POOL_H
#define AIO_THREAD_POOL_H

#include "core/owner.h"
#include "thread/thread.h"

#include <stdatomic.h>
#include <stdbool.h>

/* Job records kept for reuse, by a pool and by each loop. */
#define AIO__FREE_MAX 4096u

enum { AIO__JOB_QUEUED = 1, AIO__JOB_RUNNING, AIO__JOB_DONE };

struct aio__job {
    /* ops: the executor's: the job owns its future (an embedded owner, on
     * no list of the loop's). */
    aio__owner owner;        /* owner.aux: the future's slot (loop) */
    aio__job *next, *prev;   /* pool queue, free list, completion queue (next) */
    aio__job *lnext, *lprev; /* the loop's list of jobs in flight (loop thread) */
    union {
        aio_job_fn fn;    /* until the worker called it */
        aio_value result; /* then: what it returned (read after the completion lock) */
    } u;
    void *arg;
    struct aio_pool *pool;
    aio__xs *xs;
    int err;
    atomic_bool cancel; /* cooperative cancel flag, read by the job */
    uint8_t state;      /* AIO__JOB_*, under the pool's lock */
    bool orphan;        /* loop: the future is done already; discard */
    bool local;         /* loop: in the loop's batch, not yet given to the pool */
};
#define AIO__JOB_NEXT(j) ((j)->lnext)

/* Unlink j from a doubly linked FIFO (next/prev): a pool's queue, or a
 * loop's batch of jobs not yet handed to their pools. */
static inline void aio__job_fifo_unlink(aio__job **head, aio__job **tail, aio__job *j) {
    if (j->prev)
        j->prev->next = j->next;
    else
        *head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        *tail = j->prev;
}

/* Loop thread: a record from the pool's free list, else malloc'd; its
 * contents are the caller's to set. NULL if out of memory. */
aio__job *aio__pool_job_alloc(struct aio_pool *p);
/* A record that holds no reference (its submit failed early): back to the
 * free list, or freed. */
void aio__pool_job_discard(aio__job *j);
/* Any thread: the job is finished with: drop its references to its loop's
 * aio__xs and to its pool, and give the record back. */
void aio__job_release(aio__job *j);
/* Loop thread: n finished jobs of p are finished with. Their references to
 * p are dropped and `records` (those of them the loop does not keep, chained
 * by next) go to its free list, under one acquisition of the lock. */
void aio__pool_jobs_done(struct aio_pool *p, aio__job *records, unsigned n);
/* One more reference to p: a job submitted to it holds one until it is
 * finished with (aio__job_release, aio__pool_jobs_done). */
void aio__pool_ref(struct aio_pool *p);
/* Queue a chain of n jobs (linked by next, all of pool p) under one lock,
 * starting the workers they need. 0, AIO_ECLOSED (the pool is stopping),
 * -EAGAIN or -ENOMEM (no worker could be started). */
int aio__pool_submit(struct aio_pool *p, aio__job *head, unsigned n);
/* Unlink a job still on its pool's queue: 1 if it was (it never runs), 0 if
 * a worker has it or it is done. */
int aio__pool_unqueue(aio__job *j);
/* 1 while a worker runs the job (not queued, not finished). */
bool aio__pool_job_running(aio__job *j);
/* Shutting a pool down, in two steps (aio_pool_free does both):
 * stop: submits are refused from now on, queued jobs never run (each is
 * posted to its loop as cancelled), idle workers exit and busy ones exit
 * after their job; release: wait up to `timeout` seconds (0: not at all;
 * negative or infinite: without limit) for the workers to exit, join those
 * that did, detach the others, drop the creator's reference. Returns the
 * number of jobs still running then (abandoned: their workers finish them
 * and post them as usual). */
void aio__pool_stop(struct aio_pool *p);
int aio__pool_release(struct aio_pool *p, double timeout);

#endif /* AIO_THREAD_POOL_H */
