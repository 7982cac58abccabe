/* Workload 3, libuv peer: N uv_timer_t, deadlines uniform in [0, MAX_MS] ms
 * (xorshift64 seed 42, as aio_timers.c), armed, then uv_run until the last
 * has fired. libuv timeouts are whole milliseconds: the delay is rounded to
 * the nearest ms. The handle array is malloc'd before the timed part and
 * first touched inside it (as libaio's tables are).
 *
 *   uv_timers MAX_MS [N=1000000] */
#include "../bench.h"

#include <uv.h>

static long n, fired;
static int64_t last;

static void fire(uv_timer_t *h) {
    (void)h;
    if (++fired == n)
        last = bench_now_ns();
}

int main(int argc, char **argv) {
    if (argc < 2)
        bench_usage("uv_timers MAX_MS [N]");
    long max_ms = strtol(argv[1], NULL, 10);
    n = bench_arg_long(argc, argv, 2, 1000000);
    uv_loop_t *loop = uv_default_loop();
    uv_timer_t *t = malloc((size_t)n * sizeof *t);
    uint64_t seed = 42;
    bench_mark m;
    uv_update_time(loop);
    bench_start(&m);
    int64_t t0 = m.wall;
    for (long i = 0; i < n; i++) {
        uv_timer_init(loop, &t[i]);
        uv_timer_start(&t[i], fire, (uint64_t)(bench_uniform(&seed) * (double)max_ms + 0.5), 0);
    }
    int64_t arm_end = bench_now_ns();
    uv_run(loop, UV_RUN_DEFAULT);
    bench_stop(&m);
    if (fired != n)
        return 1;
    char variant[32];
    snprintf(variant, sizeof variant, "0-%ldms", max_ms);
    bench_emit("timers", "libuv", variant, "fresh", n, &m, ",\"arm_ns\":%.3f,\"total_s\":%.6f",
               (double)(arm_end - t0) / (double)n, (double)(last - t0) / 1e9);
    return 0;
}
