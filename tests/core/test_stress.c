/* Randomised stress of the ownership rules: many futures, tasks and
 * combinators created, completed, cancelled, awaited, retained and released
 * in random order — including misuse (double releases, stale and foreign
 * handles) — for a few thousand steps per seed. What it asserts:
 *   - every call returns 0/1 or one of the documented codes, never anything
 *     else, and the loop keeps running;
 *   - every task finishes once everything is cancelled (no lost wake-up);
 *   - the loop closes with no task pending and nothing leaked (the suite
 *     runs under ASan/LSan and valgrind in CI).
 * The seeds are fixed so that a failure reproduces. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NHANDLES 64
#define STEPS 4000

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t next(rng *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s >> 11);
}

static int pick(rng *r, int n) { return (int)(next(r) % (uint32_t)n); }

/* A code some call may legitimately return. */
static int expected_code(int rc) {
    switch (rc) {
    case 0:
    case 1:
    case AIO_ECANCELLED:
    case AIO_ETIMEDOUT:
    case AIO_ESTALE:
    case AIO_ENOTDONE:
    case AIO_EDONE:
    case AIO_EISTASK:
    case AIO_ENOTTASK:
    case AIO_ENOREF:
    case AIO_ENULL:
    case AIO_EFOREIGN:
    case AIO_EDEADLOCK:
    case -EDOM:
    case -ENOENT:
        return 1;
    default:
        return 0;
    }
}

#define CHECK(rc)                                                                                            \
    do {                                                                                                     \
        int rc_ = (rc);                                                                                      \
        if (!expected_code(rc_))                                                                             \
            fail_msg("unexpected code %d (%s) at line %d", rc_, aio_strerror(rc_), __LINE__);                \
    } while (0)

typedef struct world {
    aio_loop *loop;
    aio_loop *other;
    aio_future h[NHANDLES]; /* handles we (think we) own; may be stale */
    aio_outcome results[NHANDLES][8];
    rng r;
    int tasks_started, tasks_finished;
    int callbacks;
} world;

static void count_done(aio_loop *loop, aio_future f, void *arg) {
    (void)loop;
    (void)f;
    ++*(int *)arg;
}

struct worker {
    world *w;
    aio_future f; /* what it awaits (its own reference) */
    int steps;
};

static aio_status worker(aio_task *t, void *frame) {
    struct worker *f = frame;
    AIO_BEGIN(t);
    f->w->tasks_started++;
    AIO_AWAIT(t, f->f);
    CHECK(AIO_ERR(t));
    for (f->steps = 0; f->steps < 3; f->steps++) {
        AIO_AWAIT(t, aio_sleep(t, 0.001 * f->steps));
        if (AIO_ERR(t) == AIO_ECANCELLED)
            break;
        AIO_YIELD(t);
    }
    f->w->tasks_finished++;
    if (f->steps == 2)
        AIO_FAIL(t, -EDOM); /* some tasks fail: their errors go unretrieved */
    AIO_RETURN(t, f->steps);
    AIO_END(t);
}

static aio_future any_handle(world *w) {
    switch (pick(&w->r, 10)) {
    case 0:
        return AIO_FUTURE_NULL;
    case 1:
        return aio_future_new(w->other); /* foreign (leaks in `other` until it closes) */
    default:
        return w->h[pick(&w->r, NHANDLES)];
    }
}

static void step(world *w) {
    aio_loop *loop = w->loop;
    int i = pick(&w->r, NHANDLES);
    aio_future *slot = &w->h[i];
    switch (pick(&w->r, 14)) {
    case 0: /* a new plain future, dropping what was there */
        CHECK(aio_future_release(loop, *slot));
        *slot = aio_future_new(loop);
        break;
    case 1: /* a task awaiting some handle (its own reference to it) */
        CHECK(aio_future_release(loop, *slot));
        *slot = aio_create_task(loop, worker, &(struct worker){w, aio_future_retain(loop, any_handle(w)), 0});
        CHECK(aio_future_check(*slot));
        break;
    case 2:
        CHECK(aio_future_set_result(loop, any_handle(w), AIO_VALUE(i)));
        break;
    case 3:
        CHECK(aio_future_set_error(loop, any_handle(w), -EDOM));
        break;
    case 4:
        CHECK(aio_future_cancel(loop, any_handle(w), "stress"));
        break;
    case 5:
        CHECK(aio_future_release(loop, any_handle(w))); /* may over-release: must not crash */
        break;
    case 6: { /* gather of retained handles */
        aio_future kids[8];
        int n = pick(&w->r, 8);
        for (int k = 0; k < n; k++)
            kids[k] = aio_future_retain(loop, w->h[pick(&w->r, NHANDLES)]);
        aio_future g = aio_gather(loop, kids, (size_t)n, w->results[i], (unsigned)pick(&w->r, 4) & 3u);
        if (aio_future_check(g) < 0) /* a bad child: nothing consumed */
            for (int k = 0; k < n; k++)
                CHECK(aio_future_release(loop, kids[k]));
        CHECK(aio_future_release(loop, *slot));
        *slot = g;
        /* results[i] stays valid: the world outlives every gather */
        break;
    }
    case 7: { /* wait on handles (not consumed) */
        aio_future kids[4];
        for (int k = 0; k < 4; k++)
            kids[k] = w->h[pick(&w->r, NHANDLES)];
        aio_future wt = aio_wait(loop, kids, 4, 0.002 * pick(&w->r, 4), (aio_return_when)pick(&w->r, 3));
        CHECK(aio_future_release(loop, wt));
        break;
    }
    case 8: /* wait_for of a retained handle */
        CHECK(aio_future_release(loop, *slot));
        *slot = aio_wait_for(loop, aio_future_retain(loop, any_handle(w)), 0.001 * pick(&w->r, 3));
        break;
    case 9: /* shield */
        CHECK(aio_future_release(loop, *slot));
        *slot = aio_shield(loop, aio_future_retain(loop, any_handle(w)));
        break;
    case 10: { /* done callbacks added, and sometimes removed again */
        aio_future f = any_handle(w);
        CHECK(aio_future_add_done_callback(loop, f, count_done, &w->callbacks));
        if (pick(&w->r, 2))
            CHECK(aio_future_remove_done_callback(loop, f, count_done, &w->callbacks) > 0);
        break;
    }
    case 11: { /* look at things */
        aio_value v;
        CHECK(aio_future_result(loop, any_handle(w), &v));
        CHECK(aio_future_done(loop, any_handle(w)));
        CHECK(aio_future_cancelled(loop, any_handle(w)));
        break;
    }
    case 12: /* a sleep future */
        CHECK(aio_future_release(loop, *slot));
        *slot = aio_sleep(loop, 0.001 * pick(&w->r, 5));
        break;
    default: /* let the loop run a little */
        test_run_iterations(loop, 1 + pick(&w->r, 3));
        break;
    }
}

static void stress_seed(uint64_t seed) {
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->r.s = seed;
    w->loop = test_loop_new(1);
    w->other = test_loop_new(1);
    test_reports reps;
    test_collect_reports(w->loop, &reps); /* failed tasks' errors go unretrieved: reported */
    for (int s = 0; s < STEPS; s++)
        step(w);
    /* Wind down: cancel everything, let every task finish. */
    for (int i = 0; i < NHANDLES; i++)
        CHECK(aio_future_cancel(w->loop, w->h[i], "end"));
    for (int round = 0; round < 100 && aio_loop_pending_tasks(w->loop) > 0; round++) {
        /* Tasks may still await futures nobody will complete: cancelling
         * their tasks again (through current handles) or the loop's close
         * handles the rest. Run what can run. */
        test_run_iterations(w->loop, 5);
    }
    for (int i = 0; i < NHANDLES; i++)
        CHECK(aio_future_release(w->loop, w->h[i]));
    assert_true(w->tasks_finished <= w->tasks_started);
    assert_true(w->tasks_started > 100); /* the mix really ran tasks... */
    assert_true(w->callbacks > 10);      /* ...and done callbacks */
    if (getenv("AIO_STRESS_VERBOSE"))
        printf("seed %llx: %d tasks started, %d finished, %d callbacks, %d reports\n",
               (unsigned long long)seed, w->tasks_started, w->tasks_finished, w->callbacks, reps.count);
    assert_int_equal(aio_loop_close(w->loop), 0); /* reports, never crashes */
    assert_int_equal(aio_loop_free(w->loop), 0);
    assert_int_equal(aio_loop_free(w->other), 0);
    free(w);
}

static void stress_seed_1(void **state) {
    (void)state;
    stress_seed(0x9E3779B97F4A7C15u);
}
static void stress_seed_2(void **state) {
    (void)state;
    stress_seed(0xD1B54A32D192ED03u);
}
static void stress_seed_3(void **state) {
    (void)state;
    stress_seed(42);
}

/* A chain of 100,000 tasks, each awaiting the one before; cancelling the
 * last reaches the first without recursing 100,000 calls deep, and every
 * task ends cancelled. */
struct link {
    aio_future prev; /* null for the first, which awaits a future never set */
    aio_future never;
};

static aio_status chain_link(aio_task *t, void *frame) {
    struct link *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_future_check(f->prev) == 0 ? f->prev : f->never);
    AIO_FAIL(t, AIO_ERR(t)); /* pass the cancellation on */
    AIO_END(t);
}

static void cancel_long_chain(void **state) {
    (void)state;
    enum { N = 100000 };
    aio_loop *loop = test_loop_new(1);
    aio_future never = aio_future_new(loop);
    aio_future prev = AIO_FUTURE_NULL, first = AIO_FUTURE_NULL;
    for (int i = 0; i < N; i++) {
        aio_future t = aio_create_task(loop, chain_link,
                                       &(struct link){prev, i == 0 ? aio_future_retain(loop, never) : never});
        if (i == 0)
            first = aio_future_retain(loop, t);
        prev = t;
    }
    test_run_iterations(loop, 2); /* everyone is waiting now */
    assert_int_equal(aio_task_cancel(loop, prev, "chain"), 1);
    assert_int_equal(aio_run_until_complete(loop, prev, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_future_cancelled(loop, first), 1);
    assert_int_equal(aio_future_cancelled(loop, never), 1);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_future_release(loop, first), 0);
    assert_int_equal(aio_future_release(loop, never), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- timers: a random model check ----------------------------------------------
 * Timers armed with random delays (0 to days), cancelled at random and
 * fired by moving a virtual clock. After every step the loop's count of
 * armed timers must match the model, a cancelled timer must never fire, a
 * fired one never early, and with no timer armed the loop must report a
 * deadlock at once instead of waking for a cancelled timer's key (the loop
 * decides "none armed" from its count of stale keys). */
#define NTIMERS 256

typedef struct model_timer {
    struct timer_model *m;
    aio_handle h;
    int64_t deadline; /* at least this loop time when it fires */
    int state;        /* 0 unused, 1 armed, 2 fired, 3 cancelled */
} model_timer;

typedef struct timer_model {
    aio_loop *loop;
    model_timer t[NTIMERS];
    int armed, bad;
} timer_model;

static void model_fire(aio_loop *loop, void *arg) {
    model_timer *t = arg;
    if (t->state != 1 || aio_loop_time_ns(loop) < t->deadline)
        t->m->bad++; /* fired after a cancel, twice, or early */
    t->state = 2;
    t->m->armed--;
}

static void model_check(timer_model *m) {
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(m->loop, &st), 0);
    assert_int_equal(st.timers, (uint64_t)m->armed);
    assert_int_equal(m->bad, 0);
    if (m->armed == 0) {
        int64_t before = aio_loop_time_ns(m->loop);
        assert_int_equal(aio_run_forever(m->loop), AIO_EDEADLOCK);
        assert_int_equal(aio_loop_time_ns(m->loop), before);
        assert_int_equal(aio_loop_get_stats(m->loop, &st), 0);
        assert_int_equal(st.timer_entries, 0); /* the cancelled timers' keys are gone */
    }
}

static void timers_model_seed(uint64_t seed) {
    static const int64_t scale[] = {0, 1000, 100000, 10000000, 1000000000, INT64_C(86400000000000)};
    timer_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->loop = test_loop_new(1);
    rng r = {seed};
    for (int step = 0; step < 3000; step++) {
        model_timer *t = &m->t[pick(&r, NTIMERS)];
        switch (pick(&r, 4)) {
        case 0:
        case 1: /* arm (or re-arm a finished record) */
            if (t->state == 1)
                break;
            int64_t delay = scale[pick(&r, 6)] * (1 + pick(&r, 1000)) / 1000;
            t->m = m;
            t->deadline = aio_loop_time_ns(m->loop) + delay;
            assert_int_equal(aio_call_later(m->loop, (double)delay * 1e-9, model_fire, t, &t->h), 0);
            t->state = 1;
            m->armed++;
            break;
        case 2: /* cancel: 1 while armed, 0 once fired or cancelled */
            if (t->state == 0)
                break;
            assert_int_equal(aio_handle_cancel(m->loop, t->h), t->state == 1 ? 1 : 0);
            if (t->state == 1) {
                t->state = 3;
                m->armed--;
            }
            break;
        default: /* let time pass */
            assert_int_equal(aio_loop_advance(m->loop, (double)scale[pick(&r, 6)] * 1e-9 * pick(&r, 3)), 0);
            test_run_iterations(m->loop, 1 + pick(&r, 3));
            break;
        }
        model_check(m);
    }
    for (int i = 0; i < NTIMERS; i++) /* cancel what is left: nothing armed, no wake-up */
        if (m->t[i].state == 1) {
            assert_int_equal(aio_handle_cancel(m->loop, m->t[i].h), 1);
            m->t[i].state = 3;
            m->armed--;
        }
    model_check(m);
    assert_int_equal(aio_loop_free(m->loop), 0);
    free(m);
}

static void timers_model_random(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++)
        timers_model_seed(seed * 0x9E3779B97F4A7C15u);
}

/* AIO_STRESS_SEEDS=n runs n more seeds (for hunting, not in CI). */
static void stress_more_seeds(void **state) {
    (void)state;
    const char *e = getenv("AIO_STRESS_SEEDS");
    for (long k = e ? atol(e) : 0; k > 0; k--)
        stress_seed((uint64_t)k * 0x9E3779B97F4A7C15u + 1u);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stress_seed_1),       cmocka_unit_test(stress_seed_2),
        cmocka_unit_test(stress_seed_3),       cmocka_unit_test(cancel_long_chain),
        cmocka_unit_test(timers_model_random), cmocka_unit_test(stress_more_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
