/* A pipeline: a producer feeds jobs into a bounded queue; three workers
 * take them, each job's slow call limited to two at a time by a semaphore;
 * the results are collected in job order. It runs twice: once cleanly, and
 * once with a job that fails, which stops the whole pipeline: the other
 * tasks are cancelled, and each one cleans up (a worker cancelled while it
 * holds a permit gives it back) before the pipeline reports the failure.
 * The tasks run in a task group (asyncio's TaskGroup): the first failure
 * cancels the others, the join waits until every one has cleaned up, and
 * nothing is left to release by hand. */
#include <aio/aio.h>
#include <stdio.h>
#include <string.h>

#define NJOBS 10
#define NWORKERS 3

struct pipeline {
    aio_queue jobs;      /* job numbers, at most 2 waiting */
    aio_semaphore calls; /* at most 2 slow calls at once */
    int fail_job;        /* this job fails (0: none) */
    long results[NJOBS + 1];
    int busy, max_busy; /* slow calls under way */
};

struct producer {
    struct pipeline *p;
    int i;
};

AIO_CORO(producer, struct producer) {
    AIO_BEGIN(t);
    for (f->i = 1; f->i <= NJOBS; f->i++) {
        AIO_QUEUE_PUT(t, &f->p->jobs, f->i); /* waits while the queue is full */
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t)); /* cancelled: nothing to clean up */
    }
    aio_queue_shutdown(t, &f->p->jobs, 0); /* no more jobs: workers stop once it is empty */
    AIO_END(t);
}

struct worker {
    struct pipeline *p;
    int job;
};

AIO_CORO(worker, struct worker) {
    AIO_BEGIN(t);
    for (;;) {
        AIO_QUEUE_GET(t, &f->p->jobs);
        if (AIO_ERR(t) == AIO_ESHUTDOWN)
            break; /* the producer is done and the queue empty */
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
        f->job = (int)AIO_RESULT(t).i;

        AIO_SEMAPHORE_ACQUIRE(t, &f->p->calls);
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t)); /* no permit taken */
        if (++f->p->busy > f->p->max_busy)
            f->p->max_busy = f->p->busy;
        AIO_AWAIT(t, aio_sleep(t, 0.01)); /* the slow call */
        f->p->busy--;
        aio_semaphore_release(t, &f->p->calls); /* however the call ended */
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
        if (f->job == f->p->fail_job)
            AIO_FAIL(t, -EIO);

        f->p->results[f->job] = (long)f->job * f->job;
        aio_queue_task_done(t, &f->p->jobs);
    }
    AIO_END(t);
}

struct run {
    struct pipeline p;
    aio_group g;
    int err;
};

/* A join that reports AIO_EGROUP lists its children's errors (asyncio's
 * ExceptionGroup): the first one says what went wrong. */
static int first_child_error(const aio_group *g) {
    size_t n;
    const aio_group_error *e = aio_group_errors(g, &n);
    return n > 0 ? e[0].err : AIO_EGROUP;
}

AIO_CORO(run_pipeline, struct run) {
    AIO_BEGIN(t);
    aio_queue_init(&f->p.jobs, 2);
    aio_semaphore_init(&f->p.calls, 2);
    AIO_GROUP_BEGIN(t, &f->g); /* async with TaskGroup() as g: */
    aio_group_spawn(t, &f->g, producer, &(struct producer){&f->p, 0});
    for (int i = 0; i < NWORKERS; i++)
        aio_group_spawn(t, &f->g, worker, &(struct worker){&f->p, 0});
    /* The join waits for all of them; the first failure cancels the rest,
     * and the join returns once they have all finished their cleanup, so
     * the queue and the semaphore outlive every waiter. */
    AIO_GROUP_JOIN(t, &f->g);
    f->err = AIO_ERR(t);
    if (f->err == AIO_EGROUP)
        f->err = first_child_error(&f->g);

    for (int job = 1; job <= NJOBS; job++)
        if (f->p.results[job])
            printf("job %d -> %ld\n", job, f->p.results[job]);
    if (f->err < 0)
        printf("pipeline failed: %s\n", aio_strerror(f->err));
    else
        printf("%d jobs, %d workers, at most %d slow calls at once\n", NJOBS, NWORKERS, f->p.max_busy);
    printf("permits back: %ld of 2\n", aio_semaphore_value(&f->p.calls));
    aio_queue_destroy(t, &f->p.jobs);
    AIO_END(t);
}

int main(void) {
    static struct run clean, failing; /* big frames: copied into their tasks */
    int rc = aio_run(run_pipeline, &clean);
    failing.p.fail_job = 7;
    if (rc == 0)
        rc = aio_run(run_pipeline, &failing);
    if (rc < 0)
        fprintf(stderr, "pipeline: %s\n", aio_strerror(rc));
    return rc == 0 ? 0 : 1;
}
