/* Offload benchmark (issue 4): tiny jobs run on a 4-thread pool and awaited.
 *   batch: all N submitted with aio_run_in_executor from a coroutine, then
 *          one aio_gather;
 *   seq:   one job at a time, a coroutine awaiting each (a full round trip:
 *          loop -> worker -> loop, two thread wake-ups).
 * Prints ns per job for a fresh round and a warm one (job records and
 * futures reused). Build and compare with bench/peers/uv_offload.c: see
 * bench/README-offload.md. Usage: offload batch|seq [N] */
#define _GNU_SOURCE
#include <aio/aio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int tiny(void *arg, aio_value *result) {
    result->i = (intptr_t)arg;
    return 0;
}

/* batch: a coroutine submits all N jobs, then awaits one gather (as the
 * asyncio peer does: submissions made while the loop runs reach the pool as
 * one batch when the loop next polls). */
struct batch_frame {
    aio_pool *pool;
    long n;
    aio_future *kids;
    aio_outcome *out;
};

static aio_status batch_coro(aio_task *t, void *frame) {
    struct batch_frame *f = frame;
    AIO_BEGIN(t);
    for (long i = 0; i < f->n; i++)
        f->kids[i] = aio_run_in_executor(aio_task_loop(t), f->pool, tiny, (void *)(intptr_t)i);
    AIO_AWAIT(t, aio_gather(t, f->kids, (size_t)f->n, f->out, 0));
    AIO_END(t);
}

static long long batch(aio_loop *loop, aio_pool *pool, long n, aio_future *kids, aio_outcome *out) {
    struct batch_frame fr = {pool, n, kids, out};
    if (aio_run_until_complete(loop, aio_create_task(loop, batch_coro, &fr), NULL) < 0)
        return -1;
    long long sum = 0;
    for (long i = 0; i < n; i++)
        sum += out[i].value.i;
    return sum;
}

struct seq_frame {
    aio_pool *pool;
    long n, i;
    long long sum;
};

static aio_status seq_coro(aio_task *t, void *frame) {
    struct seq_frame *f = frame;
    AIO_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        AIO_AWAIT(t, aio_run_in_executor(aio_task_loop(t), f->pool, tiny, (void *)(intptr_t)f->i));
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
        f->sum += AIO_RESULT(t).i;
    }
    AIO_RETURN(t, f->sum);
    AIO_END(t);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "batch";
    int is_seq = strcmp(mode, "seq") == 0;
    long n = argc > 2 ? atol(argv[2]) : (is_seq ? 20000 : 100000);
    if (n <= 0 || (!is_seq && strcmp(mode, "batch") != 0)) {
        fprintf(stderr, "usage: offload batch|seq [N]\n");
        return 2;
    }
    aio_loop *loop = NULL;
    aio_loop_create(&loop, NULL);
    aio_pool *pool;
    if (!loop || aio_pool_create(&pool, &(aio_pool_options){.threads = 4}) < 0)
        return 1;
    aio_future *kids = malloc((size_t)n * sizeof *kids);
    aio_outcome *out = malloc((size_t)n * sizeof *out);
    if (!kids || !out)
        return 1;
    long long want = (long long)n * (n - 1) / 2;
    for (int round = 0; round < 2; round++) {
        int64_t t0 = now_ns();
        long long sum;
        if (is_seq) {
            aio_value v;
            struct seq_frame fr = {pool, n, 0, 0};
            sum = aio_run_until_complete(loop, aio_create_task(loop, seq_coro, &fr), &v) < 0 ? -1 : v.i;
        } else {
            sum = batch(loop, pool, n, kids, out);
        }
        int64_t dt = now_ns() - t0;
        if (sum != want) {
            fprintf(stderr, "wrong sum %lld, want %lld\n", sum, want);
            return 1;
        }
        printf("{\"workload\":\"offload\",\"system\":\"libaio\",\"variant\":\"%s\",\"mode\":\"%s\","
               "\"n\":%ld,\"threads\":4,\"ns_per_op\":%.1f}\n",
               mode, round ? "warm" : "fresh", n, (double)dt / (double)n);
    }
    free(kids);
    free(out);
    aio_loop_free(loop);
    aio_pool_free(pool, -1);
    return 0;
}
