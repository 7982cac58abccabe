/* Peer of bench/offload.c: libuv's uv_queue_work on its 4-thread pool
 * (UV_THREADPOOL_SIZE=4), tiny jobs, batch (all queued, loop run until all
 * after_work ran) and seq (each after_work queues the next).
 * Usage: uv_offload batch|seq [N] */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

typedef struct job {
    uv_work_t req;
    long i, result;
} job;

static long n_jobs, next_i, done_count;
static long long sum;
static job *jobs;
static int is_seq;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void work(uv_work_t *req) {
    job *j = (job *)req;
    j->result = j->i;
}

static void after(uv_work_t *req, int status) {
    job *j = (job *)req;
    (void)status;
    sum += j->result;
    done_count++;
    if (is_seq && next_i < n_jobs) {
        job *k = &jobs[next_i];
        k->i = next_i++;
        uv_queue_work(uv_default_loop(), &k->req, work, after);
    }
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "batch";
    is_seq = strcmp(mode, "seq") == 0;
    n_jobs = argc > 2 ? atol(argv[2]) : (is_seq ? 20000 : 100000);
    if (n_jobs <= 0 || (!is_seq && strcmp(mode, "batch") != 0)) {
        fprintf(stderr, "usage: uv_offload batch|seq [N]\n");
        return 2;
    }
    setenv("UV_THREADPOOL_SIZE", "4", 1);
    jobs = calloc((size_t)n_jobs, sizeof *jobs);
    if (!jobs)
        return 1;
    uv_loop_t *loop = uv_default_loop();
    for (int round = 0; round < 2; round++) {
        sum = 0;
        done_count = 0;
        next_i = 0;
        int64_t t0 = now_ns();
        if (is_seq) {
            jobs[0].i = next_i++;
            uv_queue_work(loop, &jobs[0].req, work, after);
        } else {
            for (long i = 0; i < n_jobs; i++) {
                jobs[i].i = i;
                uv_queue_work(loop, &jobs[i].req, work, after);
            }
        }
        uv_run(loop, UV_RUN_DEFAULT);
        int64_t dt = now_ns() - t0;
        if (done_count != n_jobs || sum != (long long)n_jobs * (n_jobs - 1) / 2) {
            fprintf(stderr, "wrong result\n");
            return 1;
        }
        printf("{\"workload\":\"offload\",\"system\":\"libuv\",\"variant\":\"%s\",\"mode\":\"%s\","
               "\"n\":%ld,\"threads\":4,\"ns_per_op\":%.1f}\n",
               mode, round ? "warm" : "fresh", n_jobs, (double)dt / (double)n_jobs);
    }
    uv_loop_close(loop);
    free(jobs);
    return 0;
}
