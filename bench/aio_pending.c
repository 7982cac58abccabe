/* Workload 5, libaio: memory per waiting task.
 *
 *   aio_pending own|shared [N=100000]
 *
 * N tasks each await a future that never completes: "own" (each task creates
 * its own future) or "shared" (all await one). The figure is the RSS delta
 * (/proc/self/statm) from before creating the tasks to after all of them
 * have reached their await, divided by N. The task handles are released at
 * once (fire-and-forget), as the task only needs its 8-byte frame. The
 * library's overhead per task is bytes_per_task - frame_bytes. */
#include "bench.h"

#include <aio/aio.h>

struct waiter {
    int64_t id; /* the user's frame: 8 bytes */
};

struct ctx {
    long n;
    int shared;
    aio_future fut;
    long rss0, rss1;
    bench_mark m;
};
static struct ctx C;

static aio_status waiter(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    if (C.shared)
        AIO_AWAIT(t, aio_future_retain(aio_task_loop(t), C.fut));
    else
        AIO_AWAIT(t, aio_future_new(t));
    AIO_END(t);
}

struct main_frame {
    long i;
};

static aio_status main_coro(aio_task *t, void *frame) {
    struct main_frame *f = frame;
    aio_loop *loop = aio_task_loop(t);
    AIO_BEGIN(t);
    C.rss0 = bench_rss_bytes();
    bench_start(&C.m);
    for (f->i = 0; f->i < C.n; f->i++)
        aio_future_release(loop, aio_create_task(t, waiter, &(struct waiter){f->i}));
    AIO_YIELD(t); /* every task runs to its await before we resume */
    bench_stop(&C.m);
    C.rss1 = bench_rss_bytes();
    AIO_END(t);
}

static void quiet(aio_loop *loop, const aio_report *r, void *arg) {
    (void)loop, (void)r, (void)arg; /* N "destroyed but pending" reports at close */
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "own") != 0 && strcmp(argv[1], "shared") != 0))
        bench_usage("aio_pending own|shared [N]");
    C.shared = strcmp(argv[1], "shared") == 0;
    C.n = bench_arg_long(argc, argv, 2, 100000);
    aio_loop *loop = NULL;
    aio_loop_create(&loop, NULL);
    if (!loop)
        return 1;
    aio_loop_set_exception_handler(loop, quiet, NULL);
    C.fut = aio_future_new(loop);
    int rc = aio_run_until_complete(loop, aio_create_task(loop, main_coro, &(struct main_frame){0}), NULL);
    if (rc < 0 || aio_loop_pending_tasks(loop) != (size_t)C.n) {
        fprintf(stderr, "aio_pending: rc %d pending %zu\n", rc, aio_loop_pending_tasks(loop));
        return 1;
    }
    bench_emit("pending", "libaio", argv[1], "fresh", C.n, &C.m,
               ",\"bytes_per_task\":%.1f,\"frame_bytes\":%zu", (double)(C.rss1 - C.rss0) / (double)C.n,
               sizeof(struct waiter));
    aio_loop_free(loop);
    return 0;
}
