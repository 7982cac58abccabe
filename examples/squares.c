/* Blocking work on a thread pool: square 1..10 with a function that sleeps
 * 0.2 s each time (as blocking I/O would), on a pool of 4 threads. The
 * results come back in argument order, and the whole run takes about 3
 * rounds of the sleep (10 jobs / 4 threads), not 10. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#include <aio/aio.h>
#include <stdio.h>
#include <time.h>

/* Runs on a worker thread: it may block. */
static int square(void *arg, aio_value *result) {
    long n = (long)(intptr_t)arg;
    nanosleep(&(struct timespec){0, 200000000L}, NULL);
    result->i = n * n;
    return 0;
}

struct main_frame {
    aio_pool *pool;
    aio_future jobs[10];
    aio_outcome results[10];
    int i;
};

AIO_CORO(main_coro, struct main_frame) {
    AIO_BEGIN(t);
    for (f->i = 0; f->i < 10; f->i++)
        f->jobs[f->i] = aio_run_in_executor(t, f->pool, square, (void *)(intptr_t)(f->i + 1));
    AIO_AWAIT(t, aio_gather(t, f->jobs, 10, f->results, 0));
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    for (f->i = 0; f->i < 10; f->i++)
        printf("%d squared is %lld\n", f->i + 1, (long long)f->results[f->i].value.i);
    AIO_END(t);
}

int main(void) {
    aio_pool *pool;
    if (aio_pool_create(&pool, &(aio_pool_options){.threads = 4}) < 0)
        return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = aio_run(main_coro, &(struct main_frame){.pool = pool});
    clock_gettime(CLOCK_MONOTONIC, &b);
    aio_pool_free(pool, -1);
    double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("took %.2f s (3 rounds of 0.2 s on 4 threads)\n", took);
    if (rc < 0)
        fprintf(stderr, "failed: %s\n", aio_strerror(rc));
    return rc < 0;
}
