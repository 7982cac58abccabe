/* White-box test of the wait queue and "wake, then take" (src/core/waitq.h):
 * a minimal primitive built on them, a pool of permits, as the sync
 * primitives and streams build theirs. What must hold: a permit is taken
 * when the waiter's coroutine resumes, never handed over at completion; a
 * waiter cancelled while queued leaves the queue at once; a waiter woken
 * and then cancelled (or released untaken) passes its wake-up on; nothing
 * is lost, nothing is counted twice. */
#include "support.h"

#include "core/futures.h"
#include "core/handles.h"
#include "core/loop.h"
#include "core/waitq.h"

#include <stddef.h>
#include <string.h>

/* ---- a pool of permits ---- */

struct permits {
    aio__waitq q;
    aio__taker tk;
    aio_loop *loop;
    int avail;    /* free permits (one reserved per woken waiter is not in here) */
    int woken;    /* waiters woken whose permit is reserved, not yet taken */
    int taken;    /* permits handed over, in total */
    int declined; /* wake-ups passed on */
    int serial;   /* what take() hands out: 1, 2, 3, ... */
};

static struct permits *of_taker(aio__taker *tk) {
    return (struct permits *)(void *)((char *)tk - offsetof(struct permits, tk));
}

/* Wake the next waiter if a permit is free: reserve it for that waiter. */
static void wake_next(struct permits *p) {
    if (p->avail > 0 && aio__waitq_wake(p->loop, &p->q, &p->tk)) {
        p->avail--;
        p->woken++;
    }
}

static int permit_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    (void)loop;
    (void)idx;
    struct permits *p = of_taker(tk);
    p->woken--;
    p->taken++;
    out->i = ++p->serial;
    return 0;
}

static void permit_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)loop;
    (void)idx;
    struct permits *p = of_taker(tk);
    p->woken--;
    p->avail++; /* the reserved permit goes back... */
    p->declined++;
    wake_next(p); /* ...and on to the next waiter */
}

static void permits_init(struct permits *p, aio_loop *loop, int n) {
    memset(p, 0, sizeof *p);
    p->loop = loop;
    p->avail = n;
    static const aio__taker_ops tk_ops = {permit_take, permit_decline, NULL};
    p->tk.ops = &tk_ops;
}

/* A future completing once a permit is ours: at once if one is free and
 * nobody waits (no barging past the queue or a woken waiter). */
static aio_future permit_acquire(struct permits *p) {
    aio_loop *loop = p->loop;
    uint32_t idx;
    if (p->avail > 0 && p->woken == 0 && aio__waitq_empty(&p->q)) {
        aio_future f = aio_future_new(loop);
        p->avail--;
        p->taken++;
        aio_future_set_result(loop, f, AIO_VALUE(++p->serial));
        return f;
    }
    int rc = aio__waitq_push(loop, &p->q, &idx);
    return rc < 0 ? aio__error_handle(rc) : aio__fut_handle(loop, idx);
}

static void permit_release(struct permits *p) {
    p->avail++;
    wake_next(p);
}

/* ---- a task that takes a permit ---- */

struct taker_task {
    struct permits *p;
    int *err;        /* the acquire's outcome */
    int64_t *serial; /* which permit it got */
};

AIO_CORO(takes_permit, struct taker_task) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, permit_acquire(f->p));
    *f->err = AIO_ERR(t);
    *f->serial = AIO_ERR(t) == 0 ? AIO_RESULT(t).i : -1;
    AIO_END(t);
}

static aio_future spawn_taker(aio_loop *loop, struct permits *p, int *err, int64_t *serial) {
    *err = 1; /* not yet */
    *serial = 0;
    return aio_spawn(loop, takes_permit, &(struct taker_task){p, err, serial});
}

static void run_a_little(aio_loop *loop) { test_run_iterations(loop, 4); }

/* The permit is taken when the waiter resumes: after release() the
 * waiter's future is done but the permit is only reserved. */
static void taken_when_the_waiter_resumes(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct permits p;
    permits_init(&p, loop, 0);
    int err;
    int64_t serial;
    aio_future a = spawn_taker(loop, &p, &err, &serial);
    run_a_little(loop);
    assert_int_equal(p.q.count, 1);
    permit_release(&p);
    assert_int_equal(p.woken, 1); /* reserved... */
    assert_int_equal(p.taken, 0); /* ...not handed over */
    assert_aio_ok(aio_run_until_complete(loop, a, NULL));
    assert_aio_ok(err);
    assert_int_equal(serial, 1);
    assert_int_equal(p.taken, 1);
    assert_int_equal(p.woken, 0);
    assert_int_equal(p.avail, 0);
    aio_loop_free(loop);
}

/* A waiter cancelled while queued leaves the queue at once, and takes
 * nothing; the next release goes to the next waiter, in FIFO order. */
static void cancelled_while_queued_leaves_the_queue(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct permits p;
    permits_init(&p, loop, 0);
    int err[3];
    int64_t serial[3];
    aio_future t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn_taker(loop, &p, &err[i], &serial[i]);
    run_a_little(loop);
    assert_int_equal(p.q.count, 3);
    assert_int_equal(aio_task_cancel(loop, t[1], NULL), 1); /* the middle one */
    assert_int_equal(p.q.count, 2);
    assert_aio_err(aio_run_until_complete(loop, t[1], NULL), AIO_ECANCELLED);
    assert_aio_err(err[1], AIO_ECANCELLED);
    permit_release(&p);
    permit_release(&p);
    assert_aio_ok(aio_run_until_complete(loop, t[2], NULL));
    assert_aio_ok(aio_run_until_complete(loop, t[0], NULL));
    assert_int_equal(serial[0], 1); /* FIFO: the first waiter first */
    assert_int_equal(serial[2], 2);
    assert_int_equal(p.taken, 2);
    assert_int_equal(p.declined, 0);
    assert_int_equal(p.q.count, 0);
    aio_loop_free(loop);
}

/* The race CPython fixed for Lock (bpo-27585) and Semaphore (gh-90155): a
 * waiter is woken, then cancelled before it resumed. Its permit must go to
 * the next waiter, not vanish. */
struct release_then_cancel {
    struct permits *p;
    aio_future victim;
};
static void release_then_cancel_cb(aio_loop *loop, void *arg) {
    struct release_then_cancel *r = arg;
    permit_release(r->p);                     /* wakes the victim (the head)... */
    aio_task_cancel(loop, r->victim, "late"); /* ...which is cancelled before it runs */
}

static void woken_then_cancelled_passes_the_wakeup_on(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct permits p;
    permits_init(&p, loop, 0);
    int err[2];
    int64_t serial[2];
    aio_future a = spawn_taker(loop, &p, &err[0], &serial[0]);
    aio_future b = spawn_taker(loop, &p, &err[1], &serial[1]);
    run_a_little(loop);
    struct release_then_cancel r = {&p, a};
    assert_aio_ok(aio_call_soon(loop, release_then_cancel_cb, &r, NULL));
    assert_aio_err(aio_run_until_complete(loop, a, NULL), AIO_ECANCELLED);
    assert_aio_err(err[0], AIO_ECANCELLED);
    assert_aio_ok(aio_run_until_complete(loop, b, NULL));
    assert_aio_ok(err[1]);
    assert_int_equal(serial[1], 1); /* the one permit, now b's */
    assert_int_equal(p.declined, 1);
    assert_int_equal(p.taken, 1);
    assert_int_equal(p.avail + p.woken, 0); /* conserved: 1 released, 1 taken */
    aio_loop_free(loop);
}

/* A woken future nobody awaits, released: its wake-up is passed on. */
static void released_untaken_passes_the_wakeup_on(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct permits p;
    permits_init(&p, loop, 0);
    aio_future first = permit_acquire(&p); /* plain C: nobody awaits it */
    int err;
    int64_t serial;
    aio_future b = spawn_taker(loop, &p, &err, &serial);
    run_a_little(loop);
    permit_release(&p);
    assert_int_equal(aio_future_done(loop, first), 1);
    assert_int_equal(p.woken, 1);
    assert_aio_ok(aio_future_release(loop, first)); /* never taken */
    assert_int_equal(p.declined, 1);
    assert_aio_ok(aio_run_until_complete(loop, b, NULL));
    assert_aio_ok(err);
    assert_int_equal(p.taken, 1);
    aio_loop_free(loop);
}

/* aio_future_result on a woken future takes it; a second read sees the
 * settled outcome and takes nothing more. */
static void result_takes_once(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct permits p;
    permits_init(&p, loop, 0);
    aio_future f = permit_acquire(&p);
    permit_release(&p);
    aio_value v1, v2;
    assert_aio_ok(aio_future_result(loop, f, &v1));
    assert_aio_ok(aio_future_result(loop, f, &v2));
    assert_int_equal(v1.i, 1);
    assert_int_equal(v2.i, 1);
    assert_int_equal(p.taken, 1);
    assert_int_equal(aio_future_cancelled(loop, f), 0);
    assert_aio_ok(aio_future_release(loop, f));
    assert_int_equal(p.declined, 0);
    aio_loop_free(loop);
}

/* wait_for on a waiter: the timeout cancels it, which unlinks it. */
struct wf_task {
    struct permits *p;
    int *err;
};
AIO_CORO(waits_with_timeout, struct wf_task) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_wait_for(t, permit_acquire(f->p), 1.0));
    *f->err = AIO_ERR(t);
    AIO_END(t);
}

static void timeout_unlinks_the_waiter(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct permits p;
    permits_init(&p, loop, 0);
    int err = 1;
    aio_future a = aio_spawn(loop, waits_with_timeout, &(struct wf_task){&p, &err});
    assert_aio_ok(aio_run_until_complete(loop, a, NULL));
    assert_aio_err(err, AIO_ETIMEDOUT);
    assert_int_equal(p.q.count, 0);
    permit_release(&p); /* nobody waits: it stays free */
    assert_int_equal(p.avail, 1);
    assert_int_equal(p.woken, 0);
    aio_loop_free(loop);
}

/* A waiter is completed only by its primitive. */
static void waiter_refuses_set_result(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct permits p;
    permits_init(&p, loop, 0);
    aio_future f = permit_acquire(&p);
    assert_aio_err(aio_future_set_result(loop, f, AIO_VALUE(1)), AIO_EISTASK);
    assert_aio_err(aio_future_set_error(loop, f, -EIO), AIO_EISTASK);
    assert_int_equal(p.q.count, 1);
    assert_int_equal(aio_future_cancel(loop, f, NULL), 1);
    assert_int_equal(p.q.count, 0);
    assert_aio_ok(aio_future_release(loop, f));
    aio_loop_free(loop);
}

/* A queued waiter whose reference is dropped stays queued (the queue
 * holds it) and is woken normally; then declined at free. */
static void queue_holds_its_waiters(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct permits p;
    permits_init(&p, loop, 0);
    assert_aio_ok(aio_future_release(loop, permit_acquire(&p)));
    assert_int_equal(p.q.count, 1);
    permit_release(&p); /* woken, and nobody holds it any more: freed untaken */
    assert_int_equal(p.q.count, 0);
    assert_int_equal(p.declined, 1);
    assert_int_equal(p.avail, 1);
    aio_loop_free(loop);
}

/* Many waiters and random cancels: permits conserved, FIFO among the
 * waiters left, nothing lost (a small model check). */
static void many_waiters_random_cancels(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct permits p;
    permits_init(&p, loop, 0);
    enum { N = 200 };
    static int err[N];
    static int64_t serial[N];
    static aio_future t[N];
    for (int i = 0; i < N; i++)
        t[i] = spawn_taker(loop, &p, &err[i], &serial[i]);
    run_a_little(loop);
    unsigned seed = 12345;
    int cancelled = 0, released = 0;
    for (int round = 0; round < N; round++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 16) % N);
        if ((seed >> 8) & 1) {
            if (aio_task_cancel(loop, t[i], NULL) == 1 && err[i] == 1)
                cancelled++;
        } else {
            permit_release(&p);
            released++;
        }
        if (round % 7 == 0)
            run_a_little(loop);
    }
    run_a_little(loop);
    int got = 0, was_cancelled = 0;
    int64_t last = 0;
    for (int i = 0; i < N; i++) {
        if (err[i] == 0) {
            got++;
            assert_true(serial[i] > last); /* FIFO: earlier waiters got earlier permits */
            last = serial[i];
        } else if (err[i] == AIO_ECANCELLED) {
            was_cancelled++;
        }
    }
    /* Conservation: every permit released is held, free, or reserved. */
    assert_int_equal(got, p.taken);
    assert_int_equal(released, p.taken + p.avail + p.woken);
    assert_int_equal(p.woken, 0);
    /* Whoever still waits does so because no permit is free. */
    assert_true(p.q.count == 0 || p.avail == 0);
    for (int i = 0; i < N; i++)
        aio_future_release(loop, t[i]);
    aio_loop_free(loop);
    (void)was_cancelled;
    (void)cancelled;
}

/* The loop closes with waiters queued and woken: nothing leaks (ASan,
 * valgrind) and no decline runs into a primitive being torn down. */
static void close_with_waiters(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct permits p;
    permits_init(&p, loop, 0);
    aio_future held = permit_acquire(&p);
    aio_future_release(loop, permit_acquire(&p));
    int err;
    int64_t serial;
    aio_future_release(loop, spawn_taker(loop, &p, &err, &serial));
    run_a_little(loop);
    permit_release(&p); /* `held` is woken and never taken */
    int declined = p.declined;
    aio_loop_free(loop);
    assert_int_equal(p.declined, declined);
    (void)held;
}

/* ---- the extensions the primitives use (waitq.h) ---- */

/* A waiter's data is the owner's: zero when pushed, kept through the wake
 * until the slot is reused; take() reads it. */
struct echo {
    aio__waitq q;
    aio__taker tk;
    int takes, declines, cancelled_hooks;
};
static struct echo *of_echo(aio__taker *tk) {
    return (struct echo *)(void *)((char *)tk - offsetof(struct echo, tk));
}
static int echo_take(aio_loop *loop, aio__taker *tk, uint32_t idx, aio_value *out) {
    of_echo(tk)->takes++;
    *out = *aio__waitq_data(loop, idx);
    if (out->i < 0) { /* a negative datum: "cancelled", with a message */
        out->p = (void *)"by data";
        return AIO_ECANCELLED;
    }
    return 0;
}
static void echo_decline(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)loop;
    (void)idx;
    of_echo(tk)->declines++;
}
static void echo_cancelled(aio_loop *loop, aio__taker *tk, uint32_t idx) {
    (void)loop;
    (void)idx;
    of_echo(tk)->cancelled_hooks++;
}
static void echo_init(struct echo *e) {
    memset(e, 0, sizeof *e);
    static const aio__taker_ops tk_ops = {echo_take, echo_decline, NULL};
    e->tk.ops = &tk_ops;
}

static void data_is_kept_through_the_wake(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct echo e;
    echo_init(&e);
    uint32_t idx;
    assert_aio_ok(aio__waitq_push(loop, &e.q, &idx));
    assert_int_equal(aio__waitq_data(loop, idx)->u, 0);
    aio__waitq_data(loop, idx)->i = 42;
    aio_future f = aio__fut_handle(loop, idx);
    assert_true(aio__waitq_wake(loop, &e.q, &e.tk));
    aio_value v;
    assert_aio_ok(aio_future_result(loop, f, &v));
    assert_int_equal(v.i, 42);
    assert_int_equal(e.takes, 1);
    /* take() may end it cancelled, with a message */
    assert_aio_ok(aio__waitq_push(loop, &e.q, &idx));
    aio__waitq_data(loop, idx)->i = -1;
    aio_future g = aio__fut_handle(loop, idx);
    assert_true(aio__waitq_wake(loop, &e.q, &e.tk));
    assert_aio_err(aio_future_result(loop, g, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, g), 1);
    assert_string_equal(aio_future_cancel_message(loop, g), "by data");
    aio_future_release(loop, f);
    aio_future_release(loop, g);
    aio_loop_free(loop);
}

/* A queue's ops->on_cancel decides what cancelling its waiter means: here it
 * moves the waiter to another queue (still pending), from which it is
 * woken later; aio__waitq_cancel is the default. */
static struct echo *hook_target;
static int move_on_cancel(aio_loop *loop, aio__waitq *q, uint32_t idx, const char *msg) {
    (void)q;
    (void)msg;
    aio__waitq_data(loop, idx)->i = 7;
    aio__waitq_move(loop, idx, &hook_target->q);
    return 1;
}

static void on_cancel_hook_and_move(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct echo from, to;
    echo_init(&from);
    echo_init(&to);
    static const aio__waitq_ops move_ops = {.on_cancel = move_on_cancel};
    from.q.ops = &move_ops;
    hook_target = &to;
    uint32_t a, b;
    assert_aio_ok(aio__waitq_push(loop, &from.q, &a));
    assert_aio_ok(aio__waitq_push(loop, &from.q, &b));
    aio_future fa = aio__fut_handle(loop, a), fb = aio__fut_handle(loop, b);
    assert_int_equal(aio_future_cancel(loop, fa, NULL), 1);
    assert_int_equal(aio_future_done(loop, fa), 0); /* moved, still pending */
    assert_int_equal(from.q.count, 1);
    assert_int_equal(to.q.count, 1);
    assert_int_equal(aio__waitq_head(&from.q), b);
    assert_int_equal(aio__waitq_head(&to.q), a);
    assert_aio_ok(aio_future_release(loop, fa));       /* the queue still holds it */
    assert_true(aio__waitq_wake(loop, &to.q, &to.tk)); /* unread: declined */
    assert_int_equal(to.declines, 1);
    /* the default cancellation */
    assert_int_equal(aio__waitq_cancel(loop, b, "bye"), 1);
    assert_int_equal(from.q.count, 0);
    assert_string_equal(aio_future_cancel_message(loop, fb), "bye");
    aio_future_release(loop, fb);
    aio_loop_free(loop);
}

/* A waiter woken at once: taken when read; released unread, declined. */
static void new_woken_is_taken_when_read(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct echo e;
    echo_init(&e);
    uint32_t idx;
    assert_aio_ok(aio__waitq_new_woken(loop, &e.tk, AIO_VALUE(5), &idx));
    aio_future f = aio__fut_handle(loop, idx);
    assert_int_equal(aio_future_done(loop, f), 1);
    assert_int_equal(e.takes, 0);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, f, &v));
    assert_int_equal(v.i, 5);
    assert_int_equal(e.takes, 1);
    assert_aio_ok(aio__waitq_new_woken(loop, &e.tk, AIO_VALUE(6), &idx));
    assert_aio_ok(aio_future_release(loop, aio__fut_handle(loop, idx)));
    assert_int_equal(e.declines, 1);
    assert_int_equal(e.takes, 1);
    aio_loop_free(loop);
}

/* A taker with a `cancelled` hook is taken even by a task cancelled after
 * the wake-up: the hook runs, take() runs, the task sees AIO_ECANCELLED. */
struct awaits_echo {
    aio_future f;
    int *err;
};
AIO_CORO(awaits_echo, struct awaits_echo) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->f);
    *f->err = AIO_ERR(t);
    AIO_END(t);
}

static void cancelled_hook_still_takes(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct echo e;
    echo_init(&e);
    static const aio__taker_ops hooked = {echo_take, echo_decline, echo_cancelled};
    e.tk.ops = &hooked;
    uint32_t idx;
    assert_aio_ok(aio__waitq_push(loop, &e.q, &idx));
    int err = 1;
    aio_future t = aio_spawn(loop, awaits_echo, &(struct awaits_echo){aio__fut_handle(loop, idx), &err});
    run_a_little(loop);
    assert_true(aio__waitq_wake(loop, &e.q, &e.tk));
    assert_int_equal(aio_task_cancel(loop, t, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, t, NULL), AIO_ECANCELLED);
    assert_aio_err(err, AIO_ECANCELLED);
    assert_int_equal(e.cancelled_hooks, 1);
    assert_int_equal(e.takes, 1);
    assert_int_equal(e.declines, 0);
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(taken_when_the_waiter_resumes),
        cmocka_unit_test(cancelled_while_queued_leaves_the_queue),
        cmocka_unit_test(woken_then_cancelled_passes_the_wakeup_on),
        cmocka_unit_test(released_untaken_passes_the_wakeup_on),
        cmocka_unit_test(result_takes_once),
        cmocka_unit_test(timeout_unlinks_the_waiter),
        cmocka_unit_test(waiter_refuses_set_result),
        cmocka_unit_test(queue_holds_its_waiters),
        cmocka_unit_test(many_waiters_random_cancels),
        cmocka_unit_test(close_with_waiters),
        cmocka_unit_test(data_is_kept_through_the_wake),
        cmocka_unit_test(on_cancel_hook_and_move),
        cmocka_unit_test(new_woken_is_taken_when_read),
        cmocka_unit_test(cancelled_hook_still_takes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
