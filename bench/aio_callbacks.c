/* Workload 4, libaio: N zero-delay callbacks (aio_call_soon).
 *
 *   aio_callbacks batch|chain [N=1000000] [rounds=2]
 *
 * "batch": one callback queues all N, then they run. "chain": each callback
 * queues the next, so one callback per loop iteration (libaio polls only
 * when the ready queue is empty or every poll_budget = 256 callbacks, see
 * docs/design.md; every peer polls once per iteration). */
#include "bench.h"

#include <aio/aio.h>

struct ctx {
    long n, ran;
    bench_mark m;
};

static void cb_chain(aio_loop *loop, void *arg) {
    struct ctx *c = arg;
    if (++c->ran == c->n)
        aio_loop_stop(loop);
    else
        aio_call_soon(loop, cb_chain, c, NULL);
}

static void cb_batch(aio_loop *loop, void *arg) {
    struct ctx *c = arg;
    if (++c->ran == c->n)
        aio_loop_stop(loop);
}

static void start_batch(aio_loop *loop, void *arg) {
    struct ctx *c = arg;
    bench_start(&c->m);
    for (long i = 0; i < c->n; i++)
        if (aio_call_soon(loop, cb_batch, c, NULL) < 0)
            exit(1);
}

static void start_chain(aio_loop *loop, void *arg) {
    struct ctx *c = arg;
    bench_start(&c->m);
    aio_call_soon(loop, cb_chain, c, NULL);
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "batch") != 0 && strcmp(argv[1], "chain") != 0))
        bench_usage("aio_callbacks batch|chain [N] [rounds]");
    int batch = strcmp(argv[1], "batch") == 0;
    long n = bench_arg_long(argc, argv, 2, 1000000);
    long rounds = bench_arg_long(argc, argv, 3, 2);
    aio_loop *loop = NULL;
    aio_loop_create(&loop, NULL);
    if (!loop)
        return 1;
    for (long r = 0; r < rounds; r++) {
        struct ctx c = {.n = n};
        aio_loop_stats s0, s1;
        aio_loop_get_stats(loop, &s0);
        aio_call_soon(loop, batch ? start_batch : start_chain, &c, NULL);
        int rc = aio_run_forever(loop);
        bench_stop(&c.m);
        aio_loop_get_stats(loop, &s1);
        if (rc < 0 || c.ran != n) {
            fprintf(stderr, "aio_callbacks: rc %d ran %ld\n", rc, c.ran);
            return 1;
        }
        bench_emit("callbacks", "libaio", argv[1], r == 0 ? "fresh" : "warm", n, &c.m, ",\"polls\":%llu",
                   (unsigned long long)(s1.polls - s0.polls));
    }
    aio_loop_free(loop);
    return 0;
}
