/* A random model test of the primitives under cancellation. Many tasks
 * take and release a semaphore and a lock and pass items through a bounded
 * queue, yielding while they hold things; another task cancels them at
 * random (every await point gets hit: a queued acquire, a woken one not
 * yet resumed, a yield inside a critical section, a put or get). A
 * cancelled worker undoes what it holds and carries on. After every loop
 * iteration a checker asserts the invariants:
 *   - permits conserved: held + free + reserved for woken = K;
 *   - the lock: held by at most one task, exactly when it says so;
 *   - items conserved: in the queue = put - got, never above maxsize;
 *   - no item lost or duplicated: each item got once, after it was put;
 *   - FIFO: grants of the semaphore, the lock and the queue's gets follow
 *     the order of the calls (tickets), and items leave in the order of
 *     the puts that put them.
 * At the end every item put was got exactly once (the rest drained after
 * a shutdown). Each call is made at random in its future form (AIO_AWAIT)
 * or its fast form (AIO_LOCK_ACQUIRE, ...). Several seeds; every backend. */
#include "sync_support.h"

#include <string.h>

enum { WORKERS = 48, ROUNDS = 60, PERMITS = 3, QMAX = 4, MAX_ITEMS = WORKERS * ROUNDS + 1 };

static struct model {
    aio_semaphore sem;
    aio_lock lock;
    aio_queue q;
    unsigned seed;
    int sem_held, lock_held;
    uint64_t next_ticket, sem_last, lock_last, get_last;
    int64_t next_item, last_item;
    uint8_t put_ok[MAX_ITEMS], got[MAX_ITEMS];
    int64_t puts_ok, gets_ok;
    int in_queue_op, finished, cancels, cancelled_seen, steps;
    int cancels_while_woken; /* cancels while some waiter was woken and not yet resumed */
    aio_future workers[WORKERS];
} M;

static unsigned rnd(void) {
    M.seed = M.seed * 1103515245u + 12345u;
    return (M.seed >> 16) & 0x7fff;
}

struct worker {
    int round, op, i;
    uint64_t ticket;
    int64_t item;
};

/* A cancel was delivered at this await: note it, and carry on. */
static int cancelled_here(aio_task *t, int err) {
    if (err != AIO_ECANCELLED)
        return 0;
    M.cancelled_seen++;
    aio_task_uncancel(t);
    return 1;
}

AIO_CORO(worker, struct worker) {
    AIO_BEGIN(t);
    for (f->round = 0; f->round < ROUNDS; f->round++) {
        f->op = (int)(rnd() % 4);
        if (f->op == 0) { /* the semaphore */
            f->ticket = ++M.next_ticket;
            if (rnd() & 1) /* the future form or the fast form */
                AIO_AWAIT(t, aio_semaphore_acquire(t, &M.sem));
            else
                AIO_SEMAPHORE_ACQUIRE(t, &M.sem);
            if (cancelled_here(t, AIO_ERR(t)))
                continue;
            assert_aio_ok(AIO_ERR(t));
            assert_true(f->ticket > M.sem_last); /* FIFO */
            M.sem_last = f->ticket;
            M.sem_held++;
            for (f->i = (int)(rnd() % 3); f->i > 0; f->i--) {
                AIO_YIELD(t);
                if (cancelled_here(t, AIO_ERR(t)))
                    break;
            }
            M.sem_held--;
            assert_aio_ok(aio_semaphore_release(t, &M.sem));
        } else if (f->op == 1) { /* the lock */
            f->ticket = ++M.next_ticket;
            if (rnd() & 1)
                AIO_AWAIT(t, aio_lock_acquire(t, &M.lock));
            else
                AIO_LOCK_ACQUIRE(t, &M.lock);
            if (cancelled_here(t, AIO_ERR(t)))
                continue;
            assert_aio_ok(AIO_ERR(t));
            assert_true(f->ticket > M.lock_last);
            M.lock_last = f->ticket;
            assert_int_equal(M.lock_held, 0); /* mutual exclusion */
            M.lock_held = 1;
            for (f->i = (int)(rnd() % 3); f->i > 0; f->i--) {
                AIO_YIELD(t);
                if (cancelled_here(t, AIO_ERR(t)))
                    break;
                assert_int_equal(M.lock_held, 1);
            }
            M.lock_held = 0;
            assert_aio_ok(aio_lock_release(t, &M.lock));
        } else if (f->op == 2) { /* put */
            f->item = ++M.next_item;
            M.in_queue_op++;
            if (rnd() & 1)
                AIO_AWAIT(t, aio_queue_put(t, &M.q, f->item));
            else
                AIO_QUEUE_PUT(t, &M.q, f->item);
            M.in_queue_op--;
            if (cancelled_here(t, AIO_ERR(t)) || AIO_ERR(t) == AIO_ESHUTDOWN)
                continue;
            assert_aio_ok(AIO_ERR(t));
            M.put_ok[f->item] = 1; /* it went in at this resume */
            M.puts_ok++;
        } else { /* get */
            f->ticket = ++M.next_ticket;
            M.in_queue_op++;
            if (rnd() & 1)
                AIO_AWAIT(t, aio_queue_get(t, &M.q));
            else
                AIO_QUEUE_GET(t, &M.q);
            M.in_queue_op--;
            if (cancelled_here(t, AIO_ERR(t)) || AIO_ERR(t) == AIO_ESHUTDOWN)
                continue;
            assert_aio_ok(AIO_ERR(t));
            f->item = AIO_RESULT(t).i;
            assert_true(f->item > 0 && f->item < MAX_ITEMS);
            assert_int_equal(M.put_ok[f->item], 1); /* put before */
            assert_int_equal(M.got[f->item], 0);    /* not duplicated */
            M.got[f->item] = 1;
            assert_true(f->item > M.last_item); /* FIFO items */
            M.last_item = f->item;
            assert_true(f->ticket > M.get_last); /* FIFO getters */
            M.get_last = f->ticket;
            M.gets_ok++;
        }
    }
    M.finished++;
    AIO_END(t);
}

/* The canceller; and when every unfinished worker has waited on the queue
 * for a while (nobody left to put or get), it shuts the queue down. */
struct canceller {
    int stalled;
};
AIO_CORO(canceller, struct canceller) {
    AIO_BEGIN(t);
    while (M.finished < WORKERS) {
        AIO_YIELD(t);
        if (rnd() % 3 == 0) {
            aio_future victim = M.workers[rnd() % WORKERS];
            int woken = M.sem.aio__woken || M.lock.aio__woken || M.q.aio__woken_get || M.q.aio__woken_put;
            if (aio_future_done(t, victim) == 0 && aio_task_cancel(t, victim, NULL) == 1) {
                M.cancels++;
                M.cancels_while_woken += woken;
            }
        }
        if (M.in_queue_op > 0 && M.finished + M.in_queue_op == WORKERS)
            f->stalled++;
        else
            f->stalled = 0;
        if (f->stalled > 8)
            assert_aio_ok(aio_queue_shutdown(t, &M.q, 0));
    }
    AIO_END(t);
}

/* After every iteration (a callback that queues itself again). */
static void check_invariants(aio_loop *loop, void *arg) {
    (void)arg;
    M.steps++;
    assert_int_equal(M.sem_held + aio_semaphore_value(&M.sem) + (long)M.sem.aio__woken, PERMITS);
    assert_true(M.lock_held <= 1);
    assert_int_equal(aio_lock_locked(&M.lock), M.lock_held);
    assert_false(M.lock.aio__held && M.lock.aio__woken);
    assert_int_equal((int64_t)aio_queue_qsize(&M.q), M.puts_ok - M.gets_ok);
    assert_true(aio_queue_qsize(&M.q) + M.q.aio__woken_put <= QMAX);
    assert_true(M.q.aio__woken_get <= aio_queue_qsize(&M.q));
    if (M.finished < WORKERS)
        assert_aio_ok(aio_call_soon(loop, check_invariants, NULL, NULL));
}

static void run_model(unsigned seed) {
    memset(&M, 0, sizeof M);
    M.seed = seed;
    assert_aio_ok(aio_semaphore_init(&M.sem, PERMITS));
    assert_aio_ok(aio_lock_init(&M.lock));
    assert_aio_ok(aio_queue_init(&M.q, QMAX));
    aio_loop *loop = test_loop_new(0);
    for (int i = 0; i < WORKERS; i++)
        M.workers[i] = aio_spawn(loop, worker, &(struct worker){0});
    aio_future c = aio_spawn(loop, canceller, &(struct canceller){0});
    assert_aio_ok(aio_call_soon(loop, check_invariants, NULL, NULL));
    assert_aio_ok(aio_run_until_complete(loop, c, NULL));
    for (int i = 0; i < WORKERS; i++)
        assert_aio_ok(aio_run_until_complete(loop, M.workers[i], NULL));
    /* Drain: every item put is got exactly once. */
    assert_aio_ok(aio_queue_shutdown(loop, &M.q, 0));
    aio_value v;
    while (aio_queue_get_nowait(loop, &M.q, &v) == 0) {
        assert_int_equal(M.got[v.i], 0);
        assert_true(v.i > M.last_item);
        M.last_item = v.i;
        M.got[v.i] = 1;
        M.gets_ok++;
    }
    assert_int_equal(M.gets_ok, M.puts_ok);
    for (int64_t i = 1; i <= M.next_item; i++)
        assert_int_equal(M.got[i], M.put_ok[i]);
    assert_int_equal(M.sem_held, 0);
    assert_int_equal(aio_semaphore_value(&M.sem), PERMITS);
    assert_int_equal(aio_lock_locked(&M.lock), 0);
    assert_true(M.cancels > 0 && M.cancelled_seen > 0);
    assert_true(M.steps > ROUNDS);
    assert_aio_ok(aio_queue_destroy(loop, &M.q));
    aio_loop_free(loop);
}

static void model_random_cancels(void **state) {
    (void)state;
    int while_woken = 0;
    for (unsigned seed = 1; seed <= 32; seed++) {
        run_model(seed * 2654435761u);
        while_woken += M.cancels_while_woken;
    }
    print_message("32 runs: %d cancels while a waiter was woken and not yet resumed\n", while_woken);
    assert_true(while_woken > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_random_cancels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
