/* Workload 4, libuv peer. libuv has no ready queue of callbacks:
 *   chain: one uv_idle_t whose callback runs once per loop iteration until
 *          N have run (each iteration also polls: libuv's loop registers
 *          fds of its own, so it calls epoll_wait(0) every time);
 *   batch: N uv_idle_t handles started, each stopping itself when it runs
 *          (all run in one iteration). The array is malloc'd before the
 *          timed part and first touched inside it.
 *
 *   uv_callbacks batch|chain [N=1000000] */
#include "../bench.h"

#include <uv.h>

static long n, ran;

static void on_chain(uv_idle_t *h) {
    if (++ran == n)
        uv_idle_stop(h);
}
static void on_batch(uv_idle_t *h) {
    ++ran;
    uv_idle_stop(h);
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "batch") != 0 && strcmp(argv[1], "chain") != 0))
        bench_usage("uv_callbacks batch|chain [N]");
    int batch = strcmp(argv[1], "batch") == 0;
    n = bench_arg_long(argc, argv, 2, 1000000);
    uv_loop_t *loop = uv_default_loop();
    uv_idle_t *h = malloc((size_t)(batch ? n : 1) * sizeof *h);
    bench_mark m;
    bench_start(&m);
    if (batch) {
        for (long i = 0; i < n; i++) {
            uv_idle_init(loop, &h[i]);
            uv_idle_start(&h[i], on_batch);
        }
    } else {
        uv_idle_init(loop, h);
        uv_idle_start(h, on_chain);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    bench_stop(&m);
    if (ran != n)
        return 1;
    bench_emit("callbacks", "libuv", argv[1], "fresh", n, &m, NULL);
    return 0;
}
