/* Workload 3, libaio: N one-shot timers with deadlines uniform in
 * [0, MAX_MS] ms, armed with aio_call_later from a callback on the running
 * loop, then run until the last one has fired.
 *
 *   aio_timers MAX_MS [N=1000000] [rounds=1]
 *
 * Reports wall and CPU ns per timer (arm + fire), the arming phase alone
 * ("arm_ns"), and "total_s": first arm to last fire (≈ MAX_MS / 1000 s when
 * the loop keeps up). Deadlines come from xorshift64 seed 42, drawn inside
 * the arming loop in every C program (no 8 MB array in the peak RSS). */
#include "bench.h"

#include <aio/aio.h>

struct ctx {
    long n, fired;
    double max_s;
    bench_mark m;
    int64_t t0, arm_end, last;
};

static void fire(aio_loop *loop, void *arg) {
    struct ctx *c = arg;
    if (++c->fired == c->n) {
        c->last = bench_now_ns();
        aio_loop_stop(loop);
    }
}

static void arm_all(aio_loop *loop, void *arg) {
    struct ctx *c = arg;
    uint64_t seed = 42;
    bench_start(&c->m);
    c->t0 = c->m.wall;
    for (long i = 0; i < c->n; i++)
        if (aio_call_later(loop, bench_uniform(&seed) * c->max_s, fire, c, NULL) < 0) {
            fprintf(stderr, "aio_timers: arm failed\n");
            exit(1);
        }
    c->arm_end = bench_now_ns();
}

int main(int argc, char **argv) {
    if (argc < 2)
        bench_usage("aio_timers MAX_MS [N] [rounds]");
    long max_ms = strtol(argv[1], NULL, 10);
    long n = bench_arg_long(argc, argv, 2, 1000000);
    long rounds = bench_arg_long(argc, argv, 3, 1);
    aio_loop *loop = NULL;
    aio_loop_create(&loop, NULL);
    if (!loop)
        return 1;
    char variant[32];
    snprintf(variant, sizeof variant, "0-%ldms", max_ms);
    for (long r = 0; r < rounds; r++) {
        struct ctx c = {.n = n, .max_s = (double)max_ms / 1000.0};
        aio_call_soon(loop, arm_all, &c, NULL);
        int rc = aio_run_forever(loop);
        bench_stop(&c.m);
        if (rc < 0 || c.fired != n) {
            fprintf(stderr, "aio_timers: rc %d fired %ld\n", rc, c.fired);
            return 1;
        }
        bench_emit("timers", "libaio", variant, r == 0 ? "fresh" : "warm", n, &c.m,
                   ",\"arm_ns\":%.3f,\"total_s\":%.6f", (double)(c.arm_end - c.t0) / (double)n,
                   (double)(c.last - c.t0) / 1e9);
    }
    aio_loop_free(loop);
    return 0;
}
