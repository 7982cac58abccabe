/* Workload 2, libaio: two tasks hand a counter back and forth through
 * futures N times.
 *
 *   aio_pingpong [N=1000000] [rounds=2]
 *
 * Each task awaits its own inbox future; on waking it replaces the inbox with
 * a fresh future and resolves the other task's inbox with the counter + 1.
 * One handoff = one set_result, one wake-up, one resume, one future created
 * and freed. The asyncio/uvloop peers (peers/pingpong.py) do the same. */
#include "bench.h"

#include <aio/aio.h>

struct shared {
    aio_loop *loop;
    aio_future inbox[2];
    long n;
};

struct player {
    struct shared *s;
    int me;
};

static aio_status player(aio_task *t, void *frame) {
    struct player *f = frame;
    struct shared *s = f->s;
    AIO_BEGIN(t);
    for (;;) {
        AIO_AWAIT(t, s->inbox[f->me]); /* consumes the inbox's reference */
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
        int64_t v = AIO_RESULT(t).i;
        if (v >= s->n)
            break;
        s->inbox[f->me] = aio_future_new(t);
        aio_future_set_result(s->loop, s->inbox[!f->me], AIO_VALUE(v + 1));
        if (v + 1 >= s->n)
            break;
    }
    AIO_END(t);
}

int main(int argc, char **argv) {
    long n = bench_arg_long(argc, argv, 1, 1000000);
    long rounds = bench_arg_long(argc, argv, 2, 2);
    aio_loop *loop = NULL;
    aio_loop_create(&loop, NULL);
    if (!loop)
        return 1;
    for (long r = 0; r < rounds; r++) {
        struct shared s = {.loop = loop, .n = n};
        s.inbox[0] = aio_future_new(loop);
        s.inbox[1] = aio_future_new(loop);
        aio_future a = aio_create_task(loop, player, &(struct player){&s, 0});
        aio_future b = aio_create_task(loop, player, &(struct player){&s, 1});
        bench_mark m;
        bench_start(&m);
        aio_future_set_result(loop, s.inbox[0], AIO_VALUE(1)); /* handoff 1 */
        int ra = aio_run_until_complete(loop, a, NULL);
        int rb = aio_run_until_complete(loop, b, NULL);
        bench_stop(&m);
        if (ra < 0 || rb < 0) {
            fprintf(stderr, "aio_pingpong: %s / %s\n", aio_strerror(ra), aio_strerror(rb));
            return 1;
        }
        aio_loop_stats st;
        aio_loop_get_stats(loop, &st);
        bench_emit("pingpong", "libaio", "futures", r == 0 ? "fresh" : "warm", n, &m, ",\"polls_total\":%llu",
                   (unsigned long long)st.polls);
    }
    aio_loop_free(loop);
    return 0;
}
