/* Workload 4, libev peer:
 *   chain: one ev_idle watcher, its callback runs once per loop iteration
 *          until N have run (libev polls with timeout 0 every iteration);
 *   batch: N ev_idle watchers (not started) fed with ev_feed_event, libev's
 *          pending array being the closest it has to a ready queue; one
 *          ev_run(EVRUN_NOWAIT) runs them all. The array is malloc'd before
 *          the timed part and first touched inside it.
 *
 *   ev_callbacks batch|chain [N=1000000] */
#include "../bench.h"

#include <ev.h>

static long n, ran;

static void on_chain(struct ev_loop *loop, ev_idle *w, int revents) {
    (void)revents;
    if (++ran == n)
        ev_idle_stop(loop, w);
}
static void on_batch(struct ev_loop *loop, ev_idle *w, int revents) {
    (void)loop, (void)w, (void)revents;
    ++ran;
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "batch") != 0 && strcmp(argv[1], "chain") != 0))
        bench_usage("ev_callbacks batch|chain [N]");
    int batch = strcmp(argv[1], "batch") == 0;
    n = bench_arg_long(argc, argv, 2, 1000000);
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    ev_idle *w = malloc((size_t)(batch ? n : 1) * sizeof *w);
    bench_mark m;
    bench_start(&m);
    if (batch) {
        for (long i = 0; i < n; i++) {
            ev_idle_init(&w[i], on_batch);
            ev_feed_event(loop, &w[i], EV_IDLE);
        }
        ev_run(loop, EVRUN_NOWAIT);
    } else {
        ev_idle_init(w, on_chain);
        ev_idle_start(loop, w);
        ev_run(loop, 0);
    }
    bench_stop(&m);
    if (ran != n)
        return 1;
    bench_emit("callbacks", "libev", argv[1], "fresh", n, &m, NULL);
    return 0;
}
