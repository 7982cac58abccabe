/* Workload 10, libaio: the synchronisation primitives (aio/sync.h).
 *
 *   aio_sync lock handoff [N=1000000] [rounds=2]
 *       two tasks each loop: acquire the lock, count, yield once while
 *       holding it (so that the other queues), release. Each release wakes
 *       the other task, and the next acquire waits behind it: N handoffs,
 *       ns per handoff (one lock wake-up, one yield, two resumes).
 *   aio_sync semaphore 10 [N=1000000] [rounds=2]
 *       N tasks each: acquire a Semaphore(10), yield once (asyncio's
 *       sleep(0)), release; gathered. ns per task.
 *   aio_sync queue 1|1000 [N=1000000] [rounds=2]
 *       a producer puts 0 .. N-1 into a queue of that maxsize, a consumer
 *       gets them (checking the order). ns per item.
 *
 * The coroutines use the fast forms (AIO_LOCK_ACQUIRE, AIO_SEMAPHORE_ACQUIRE,
 * AIO_QUEUE_PUT, AIO_QUEUE_GET: no future when the call need not wait). A
 * variant ending in "-fut" ("1000-fut", "handoff-fut", ...) uses the plain
 * AIO_AWAIT(t, aio_..._acquire/put/get(...)) form instead: a future per
 * call, woken at once when it need not wait.
 *
 * The asyncio/uvloop peers (peers/asyncio_peer.py: lock, semaphore, queue)
 * run the same code with `async with lock`, `async with sem` and
 * `await q.put / q.get`. The timed part runs inside the loop, from the
 * first task's start to the last one's end. Round 1 is "fresh", later
 * rounds "warm" (same process, same loop). */

/* The plain form (a future per call), or the fast one. */
static int use_futures;
#include "bench.h"

#include <aio/aio.h>

/* ---- lock handoff ---- */

struct lock_ctx {
    aio_lock lock;
    long n, count;
    int err;
};
struct locker {
    struct lock_ctx *c;
};
AIO_CORO(locker, struct locker) {
    AIO_BEGIN(t);
    for (;;) {
        if (use_futures)
            AIO_AWAIT(t, aio_lock_acquire(t, &f->c->lock));
        else
            AIO_LOCK_ACQUIRE(t, &f->c->lock);
        if (AIO_ERR(t) < 0) {
            f->c->err = AIO_ERR(t);
            AIO_FAIL(t, AIO_ERR(t));
        }
        if (f->c->count == f->c->n)
            break;
        f->c->count++;
        AIO_YIELD(t);
        aio_lock_release(t, &f->c->lock);
    }
    aio_lock_release(t, &f->c->lock);
    AIO_END(t);
}

static int run_lock(aio_loop *loop, long n, bench_mark *m, long *handoffs) {
    struct lock_ctx c = {.n = n};
    aio_lock_init(&c.lock);
    aio_future a = aio_spawn(loop, locker, &(struct locker){&c});
    aio_future b = aio_spawn(loop, locker, &(struct locker){&c});
    bench_start(m);
    int ra = aio_run_until_complete(loop, a, NULL);
    int rb = aio_run_until_complete(loop, b, NULL);
    bench_stop(m);
    *handoffs = c.count;
    return ra < 0 ? ra : rb < 0 ? rb : c.err;
}

/* ---- Semaphore(10) over N short tasks ---- */

struct sem_ctx {
    aio_semaphore sem;
    long n;
    aio_future *kids;
    aio_outcome *res;
    bench_mark m;
    int err;
};
struct sem_job {
    aio_semaphore *sem;
};
AIO_CORO(sem_job, struct sem_job) {
    AIO_BEGIN(t);
    if (use_futures)
        AIO_AWAIT(t, aio_semaphore_acquire(t, f->sem));
    else
        AIO_SEMAPHORE_ACQUIRE(t, f->sem);
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    AIO_YIELD(t);
    aio_semaphore_release(t, f->sem);
    AIO_END(t);
}
struct sem_main {
    struct sem_ctx *c;
    long i;
};
AIO_CORO(sem_main, struct sem_main) {
    AIO_BEGIN(t);
    bench_start(&f->c->m);
    for (f->i = 0; f->i < f->c->n; f->i++)
        f->c->kids[f->i] = aio_spawn(t, sem_job, &(struct sem_job){&f->c->sem});
    AIO_AWAIT(t, aio_gather(t, f->c->kids, (size_t)f->c->n, f->c->res, 0));
    bench_stop(&f->c->m);
    f->c->err = AIO_ERR(t);
    AIO_END(t);
}

static int run_semaphore(aio_loop *loop, long n, long permits, bench_mark *m, aio_future *kids,
                         aio_outcome *res) {
    struct sem_ctx c = {.n = n, .kids = kids, .res = res};
    aio_semaphore_init(&c.sem, permits);
    int rc = aio_run_until_complete(loop, aio_spawn(loop, sem_main, &(struct sem_main){&c, 0}), NULL);
    *m = c.m;
    if (rc == 0 && aio_semaphore_value(&c.sem) != permits)
        rc = -EINVAL; /* every permit back */
    return rc < 0 ? rc : c.err;
}

/* ---- queue producer -> consumer ---- */

struct queue_ctx {
    aio_queue q;
    long n;
    int err;
};
struct qside {
    struct queue_ctx *c;
    long i;
};
AIO_CORO(producer, struct qside) {
    AIO_BEGIN(t);
    for (f->i = 0; f->i < f->c->n; f->i++) {
        if (use_futures)
            AIO_AWAIT(t, aio_queue_put(t, &f->c->q, f->i));
        else
            AIO_QUEUE_PUT(t, &f->c->q, f->i);
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
    }
    AIO_END(t);
}
AIO_CORO(consumer, struct qside) {
    AIO_BEGIN(t);
    for (f->i = 0; f->i < f->c->n; f->i++) {
        if (use_futures)
            AIO_AWAIT(t, aio_queue_get(t, &f->c->q));
        else
            AIO_QUEUE_GET(t, &f->c->q);
        if (AIO_ERR(t) < 0 || AIO_RESULT(t).i != f->i) {
            f->c->err = AIO_ERR(t) < 0 ? AIO_ERR(t) : -EPROTO;
            AIO_FAIL(t, f->c->err);
        }
    }
    AIO_END(t);
}

static int run_queue(aio_loop *loop, long n, size_t maxsize, bench_mark *m) {
    struct queue_ctx c = {.n = n};
    aio_queue_init(&c.q, maxsize);
    aio_future p = aio_spawn(loop, producer, &(struct qside){&c, 0});
    aio_future g = aio_spawn(loop, consumer, &(struct qside){&c, 0});
    bench_start(m);
    int rg = aio_run_until_complete(loop, g, NULL);
    int rp = aio_run_until_complete(loop, p, NULL);
    bench_stop(m);
    aio_queue_destroy(loop, &c.q);
    return rg < 0 ? rg : rp < 0 ? rp : c.err;
}

int main(int argc, char **argv) {
    const char *usage =
        "aio_sync lock handoff | semaphore 10 | queue 1|1000 (each -fut: futures) [N] [rounds]";
    if (argc < 3)
        bench_usage(usage);
    const char *w = argv[1], *variant = argv[2];
    long n = bench_arg_long(argc, argv, 3, 1000000);
    long rounds = bench_arg_long(argc, argv, 4, 2);
    long param = strtol(variant, NULL, 10);
    use_futures = strstr(variant, "-fut") != NULL;
    int is_lock = strcmp(w, "lock") == 0, is_sem = strcmp(w, "semaphore") == 0,
        is_q = strcmp(w, "queue") == 0;
    if ((!is_lock && !is_sem && !is_q) || (!is_lock && param <= 0))
        bench_usage(usage);
    aio_loop *loop = NULL;
    aio_loop_create(&loop, NULL);
    if (!loop)
        return 1;
    aio_future *kids = is_sem ? malloc((size_t)n * sizeof *kids) : NULL;
    aio_outcome *res = is_sem ? malloc((size_t)n * sizeof *res) : NULL;
    for (long r = 0; r < rounds; r++) {
        bench_mark m;
        long ops = n;
        int rc = is_lock  ? run_lock(loop, n, &m, &ops)
                 : is_sem ? run_semaphore(loop, n, param, &m, kids, res)
                          : run_queue(loop, n, (size_t)param, &m);
        if (rc < 0 || ops != n) {
            fprintf(stderr, "aio_sync %s %s: %s (%ld of %ld)\n", w, variant, aio_strerror(rc), ops, n);
            return 1;
        }
        aio_loop_stats st;
        aio_loop_get_stats(loop, &st);
        char base[32]; /* the variant without "-fut": the rows of both forms compare */
        snprintf(base, sizeof base, "%.*s", (int)strcspn(variant, "-"), variant);
        bench_emit(w, "libaio", base, r == 0 ? "fresh" : "warm", n, &m,
                   ",\"form\":\"%s\",\"polls_total\":%llu", use_futures ? "futures" : "fast",
                   (unsigned long long)st.polls);
    }
    free(kids);
    free(res);
    aio_loop_free(loop);
    return 0;
}
