/* Workload 3, libev peer: N ev_timer, deadlines uniform in [0, MAX_MS] ms
 * (xorshift64 seed 42, as aio_timers.c; libev takes real-valued seconds),
 * armed, then ev_run until the last has fired. The watcher array is
 * malloc'd before the timed part and first touched inside it.
 *
 *   ev_timers MAX_MS [N=1000000] */
#include "../bench.h"

#include <ev.h>

static long n, fired;
static int64_t last;

static void fire(struct ev_loop *loop, ev_timer *w, int revents) {
    (void)loop, (void)w, (void)revents;
    if (++fired == n)
        last = bench_now_ns();
}

int main(int argc, char **argv) {
    if (argc < 2)
        bench_usage("ev_timers MAX_MS [N]");
    long max_ms = strtol(argv[1], NULL, 10);
    n = bench_arg_long(argc, argv, 2, 1000000);
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    ev_timer *t = malloc((size_t)n * sizeof *t);
    uint64_t seed = 42;
    double max_s = (double)max_ms / 1000.0;
    bench_mark m;
    ev_now_update(loop);
    bench_start(&m);
    int64_t t0 = m.wall;
    for (long i = 0; i < n; i++) {
        ev_timer_init(&t[i], fire, bench_uniform(&seed) * max_s, 0.);
        ev_timer_start(loop, &t[i]);
    }
    int64_t arm_end = bench_now_ns();
    ev_run(loop, 0);
    bench_stop(&m);
    if (fired != n)
        return 1;
    char variant[32];
    snprintf(variant, sizeof variant, "0-%ldms", max_ms);
    bench_emit("timers", "libev", variant, "fresh", n, &m, ",\"arm_ns\":%.3f,\"total_s\":%.6f",
               (double)(arm_end - t0) / (double)n, (double)(last - t0) / 1e9);
    return 0;
}
