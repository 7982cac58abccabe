/* Task groups, libaio: spawn N tasks into a group and join it.
 *
 *   aio_group ret|yield [N=1000000] [rounds=2]
 *
 * asyncio's `async with TaskGroup() as tg: for i in range(N):
 * tg.create_task(f(i))`: the timed part runs inside one coroutine, from the
 * group's BEGIN to the end of its JOIN. "ret": each child returns at once;
 * "yield": it yields to the loop once first (`await asyncio.sleep(0)`).
 * Each child adds its index to a sum in the main frame (checked after the
 * round), so the work is the same as spawn-gather's minus the outcome
 * array. Round 1 is "fresh" (new process); later rounds repeat the work on
 * the same loop ("warm"). */
#include "bench.h"

#include <aio/aio.h>

struct child {
    int64_t i;
    int64_t *sum;
};

AIO_CORO(child_ret, struct child) {
    AIO_BEGIN(t);
    *f->sum += f->i;
    AIO_RETURN(t, f->i);
    AIO_END(t);
}

AIO_CORO(child_yield, struct child) {
    AIO_BEGIN(t);
    AIO_YIELD(t);
    *f->sum += f->i;
    AIO_RETURN(t, f->i);
    AIO_END(t);
}

struct ctx {
    long n;
    int yield;
    bench_mark m;
    int64_t sum;
    int err;
};

struct main_frame {
    struct ctx *c;
    aio_group g;
    long i;
};

AIO_CORO(main_coro, struct main_frame) {
    struct ctx *c = f->c;
    AIO_BEGIN(t);
    bench_start(&c->m);
    AIO_GROUP_BEGIN(t, &f->g);
    if (c->yield)
        for (f->i = 0; f->i < c->n; f->i++)
            aio_group_spawn(t, &f->g, child_yield, &(struct child){f->i, &c->sum});
    else
        for (f->i = 0; f->i < c->n; f->i++)
            aio_group_spawn(t, &f->g, child_ret, &(struct child){f->i, &c->sum});
    AIO_GROUP_JOIN(t, &f->g);
    bench_stop(&c->m);
    c->err = AIO_ERR(t);
    AIO_END(t);
}

int main(int argc, char **argv) {
    if (argc < 2)
        bench_usage("aio_group ret|yield [N] [rounds]");
    int yield = strcmp(argv[1], "yield") == 0;
    if (!yield && strcmp(argv[1], "ret") != 0)
        bench_usage("aio_group ret|yield [N] [rounds]");
    long n = bench_arg_long(argc, argv, 2, 1000000);
    long rounds = bench_arg_long(argc, argv, 3, 2);
    aio_loop *loop = NULL;
    aio_loop_create(&loop, NULL);
    if (!loop)
        return 1;
    struct ctx c = {.n = n, .yield = yield};
    for (long r = 0; r < rounds; r++) {
        c.sum = 0;
        c.err = 0;
        int rc =
            aio_run_until_complete(loop, aio_spawn(loop, main_coro, &(struct main_frame){.c = &c}), NULL);
        if (rc < 0 || c.err < 0 || c.sum != (int64_t)n * (n - 1) / 2) {
            fprintf(stderr, "aio_group: rc %d err %d sum %lld\n", rc, c.err, (long long)c.sum);
            return 1;
        }
        bench_emit("group", "libaio", argv[1], r == 0 ? "fresh" : "warm", n, &c.m, NULL);
    }
    aio_loop_free(loop);
    return 0;
}
