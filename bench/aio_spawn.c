/* Workloads 1 and 6, libaio: spawn N tasks and gather them.
 *
 *   aio_spawn ret|yield [N=1000000] [rounds=2]
 *
 * "ret": each task's coroutine returns its index at once; "yield": it yields
 * to the loop once first (asyncio's `await asyncio.sleep(0)`). The timed part
 * runs inside one coroutine, from creating the first task to the gather
 * completing (asyncio: `await gather(*[f(i) for i in range(N)])`). The handle
 * and outcome arrays are malloc'd before the timed part and first touched in
 * it, as Python allocates its list inside. Round 1 is "fresh" (new process);
 * later rounds repeat the work on the same loop ("warm"). */
#include "bench.h"

#include <aio/aio.h>
#ifdef AIO_BENCH_HAVE_GATHER
#include <aio/combinators.h>
#endif

struct child {
    int64_t i;
};

static aio_status child_ret(aio_task *t, void *frame) {
    struct child *f = frame;
    AIO_BEGIN(t);
    AIO_RETURN(t, f->i);
    AIO_END(t);
}

static aio_status child_yield(aio_task *t, void *frame) {
    struct child *f = frame;
    AIO_BEGIN(t);
    AIO_YIELD(t);
    AIO_RETURN(t, f->i);
    AIO_END(t);
}

struct ctx {
    long n;
    aio_coro_fn fn;
    aio_future *kids;
#ifdef AIO_BENCH_HAVE_GATHER
    aio_outcome *res;
#endif
    bench_mark m;
    int64_t sum;
    int err;
};

struct main_frame {
    struct ctx *c;
    long i;
};

static aio_status main_coro(aio_task *t, void *frame) {
    struct main_frame *f = frame;
    struct ctx *c = f->c;
    AIO_BEGIN(t);
    bench_start(&c->m);
    for (f->i = 0; f->i < c->n; f->i++)
        c->kids[f->i] = aio_create_task(t, c->fn, &(struct child){f->i});
#ifdef AIO_BENCH_HAVE_GATHER
    AIO_AWAIT(t, aio_gather(t, c->kids, (size_t)c->n, c->res, 0));
    bench_stop(&c->m);
    c->err = AIO_ERR(t);
    for (long i = 0; i < c->n; i++)
        c->sum += c->res[i].value.i;
#else
    /* aio_gather not built yet: await the tasks one by one. */
    for (f->i = 0; f->i < c->n; f->i++) {
        AIO_AWAIT(t, c->kids[f->i]);
        if (AIO_ERR(t) < 0)
            c->err = AIO_ERR(t);
        c->sum += AIO_RESULT(t).i;
    }
    bench_stop(&c->m);
#endif
    AIO_END(t);
}

int main(int argc, char **argv) {
    if (argc < 2)
        bench_usage("aio_spawn ret|yield [N] [rounds]");
    int yield = strcmp(argv[1], "yield") == 0;
    if (!yield && strcmp(argv[1], "ret") != 0)
        bench_usage("aio_spawn ret|yield [N] [rounds]");
    long n = bench_arg_long(argc, argv, 2, 1000000);
    long rounds = bench_arg_long(argc, argv, 3, 2);
    aio_loop *loop = NULL;
    aio_loop_create(&loop, NULL);
    if (!loop)
        return 1;
    struct ctx c = {.n = n, .fn = yield ? child_yield : child_ret};
    c.kids = malloc((size_t)n * sizeof *c.kids);
#ifdef AIO_BENCH_HAVE_GATHER
    c.res = malloc((size_t)n * sizeof *c.res);
    const char *how = "gather";
#else
    const char *how = "await-each";
#endif
    for (long r = 0; r < rounds; r++) {
        c.sum = 0;
        c.err = 0;
        int rc =
            aio_run_until_complete(loop, aio_create_task(loop, main_coro, &(struct main_frame){&c, 0}), NULL);
        if (rc < 0 || c.err < 0 || c.sum != (int64_t)n * (n - 1) / 2) {
            fprintf(stderr, "aio_spawn: rc %d err %d sum %lld\n", rc, c.err, (long long)c.sum);
            return 1;
        }
        bench_emit("spawn", "libaio", argv[1], r == 0 ? "fresh" : "warm", n, &c.m, ",\"how\":\"%s\"", how);
    }
    aio_loop_free(loop);
    return 0;
}
