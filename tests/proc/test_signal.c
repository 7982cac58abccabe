/* Signals: handlers and waiters on a loop, several loops on several
 * threads, dispositions saved and restored, aio_run's graceful shutdown
 * (SIGINT cancels the main task, a second one ends the process), and EINTR
 * never surfacing as an error.
 *
 * Every case changes signal dispositions, so ctest runs each one in its own
 * process: `test_signal NAME` runs the case NAME only (tests/CMakeLists.txt
 * lists them). Signals used: SIGUSR1, SIGUSR2, SIGINT, SIGTERM. */
#include "support.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef void (*sig_fn)(int);

static sig_fn disposition(int signo) {
    struct sigaction sa;
    assert_int_equal(sigaction(signo, NULL, &sa), 0);
    return sa.sa_handler;
}

static void set_disposition(int signo, sig_fn fn, int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    assert_int_equal(sigaction(signo, &sa, NULL), 0);
}

/* An application's own handler, to see it restored and running again. */
static atomic_int app_hits;
static void app_handler(int signo) {
    (void)signo;
    atomic_fetch_add(&app_hits, 1);
}

/* ---- what a handler saw ---- */

typedef struct seen {
    int count;
    int signo;
    pthread_t thread;
    bool stop; /* stop the loop on the first delivery */
} seen;

static void on_signal(aio_loop *loop, int signo, void *arg) {
    seen *s = arg;
    s->count++;
    s->signo = signo;
    s->thread = pthread_self();
    if (s->stop)
        aio_loop_stop(loop);
}

typedef struct sender {
    int signo;
    int delay_ms;
} sender;

static void *send_later(void *arg) {
    sender *s = arg;
    sleep_ms(s->delay_ms);
    kill(getpid(), s->signo);
    return NULL;
}

/* The loop blocks in its poll (nothing but the handler keeps it running);
 * another thread's kill() wakes it, and the handler runs on the loop's
 * thread. */
static void SIG_while_sleeping(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    seen s = {.stop = true};
    assert_aio_ok(aio_add_signal_handler(loop, SIGUSR1, on_signal, &s));
    assert_true(disposition(SIGUSR1) != SIG_DFL);
    pthread_t th;
    sender snd = {SIGUSR1, 50};
    assert_int_equal(pthread_create(&th, NULL, send_later, &snd), 0);
    int64_t t0 = now_ns();
    assert_aio_ok(aio_run_forever(loop));
    int64_t waited = now_ns() - t0;
    pthread_join(th, NULL);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.signo, SIGUSR1);
    assert_true(pthread_equal(s.thread, pthread_self()));
    assert_true(waited >= 40 * 1000000LL); /* it did wait for the signal */
    assert_aio_ok(aio_loop_free(loop));
    assert_ptr_equal(disposition(SIGUSR1), SIG_DFL);
}

/* raise() runs the signal handler before it returns: the loop's handler
 * must not have run by then (it is a callback, never run from inside the
 * signal handler), and runs in a later callback of the same thread. */
typedef struct raiser {
    seen *s;
    int count_at_return;
} raiser;

static void raise_usr1(aio_loop *loop, void *arg) {
    (void)loop;
    raiser *r = arg;
    raise(SIGUSR1);
    r->count_at_return = r->s->count;
}

static void SIG_not_inside_handler(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    seen s = {.stop = true};
    raiser r = {&s, -1};
    assert_aio_ok(aio_add_signal_handler(loop, SIGUSR1, on_signal, &s));
    assert_aio_ok(aio_call_soon(loop, raise_usr1, &r, NULL));
    assert_aio_ok(aio_run_forever(loop));
    assert_int_equal(r.count_at_return, 0);
    assert_int_equal(s.count, 1);
    assert_aio_ok(aio_loop_free(loop));
}

/* A busy loop (a callback chain: the ready queue is never empty, so the
 * loop skips the system call of its polls) still sees a signal, within
 * poll_budget callbacks of its delivery. */
typedef struct busy {
    seen s;
    long n, after_raise;
    bool raised;
    atomic_int sent; /* the other thread's kill() has returned */
    long after_sent;
    bool use_thread;
} busy;

static void spin(aio_loop *loop, void *arg) {
    busy *b = arg;
    if (b->s.count > 0 || b->n > 50000000) {
        aio_loop_stop(loop);
        return;
    }
    b->n++;
    if (b->raised)
        b->after_raise++;
    if (atomic_load(&b->sent))
        b->after_sent++;
    if (!b->use_thread && b->n == 1000) {
        raise(SIGUSR1);
        b->raised = true;
    }
    assert_aio_ok(aio_call_soon(loop, spin, b, NULL));
}

static void *send_busy(void *arg) {
    busy *b = arg;
    sleep_ms(30);
    kill(getpid(), SIGUSR1);
    atomic_store(&b->sent, 1);
    return NULL;
}

static void SIG_while_busy(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    busy b = {0};
    assert_aio_ok(aio_add_signal_handler(loop, SIGUSR1, on_signal, &b.s));
    assert_aio_ok(aio_call_soon(loop, spin, &b, NULL));
    assert_aio_ok(aio_run_forever(loop));
    assert_int_equal(b.s.count, 1);
    /* raise() delivers at once: the next poll, at most poll_budget
     * callbacks later, finds the flag; the delivery runs in that iteration. */
    assert_true(b.after_raise >= 1);
    assert_true(b.after_raise <= (long)AIO_DEFAULT_POLL_BUDGET + 2);

    /* The same from another thread, while the chain runs. */
    busy c = {.use_thread = true};
    assert_aio_ok(aio_add_signal_handler(loop, SIGUSR1, on_signal, &c.s));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, send_busy, &c), 0);
    assert_aio_ok(aio_call_soon(loop, spin, &c, NULL));
    assert_aio_ok(aio_run_forever(loop));
    pthread_join(th, NULL);
    assert_int_equal(c.s.count, 1);
    assert_true(c.n < 50000000); /* seen while the chain was still running */
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- two loops on two threads (run under TSan in CI) ---- */

#define ROUNDS 200

typedef struct looper {
    aio_loop *loop;
    atomic_int ready;
    atomic_int count; /* deliveries the handler saw */
    atomic_int waits; /* deliveries the waiting coroutine saw */
    atomic_int wrong_thread;
    pthread_t thread;
    int rc, wait_rc, free_rc;
} looper;

static void count_signal(aio_loop *loop, int signo, void *arg) {
    (void)loop;
    looper *l = arg;
    if (signo != SIGUSR1 || !pthread_equal(pthread_self(), l->thread))
        atomic_fetch_add(&l->wrong_thread, 1);
    atomic_fetch_add(&l->count, 1);
}

struct waiter_frame {
    looper *l;
};

AIO_CORO(wait_signals, struct waiter_frame) {
    AIO_BEGIN(t);
    for (;;) {
        AIO_AWAIT(t, aio_signal_wait(t, SIGUSR1));
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
        if (AIO_RESULT(t).i != SIGUSR1)
            atomic_fetch_add(&f->l->wrong_thread, 1);
        atomic_fetch_add(&f->l->waits, 1);
    }
    AIO_END(t);
}

static void mark_ready(aio_loop *loop, void *arg) {
    (void)loop;
    atomic_store(&((looper *)arg)->ready, 1);
}

static void stop_loop(aio_loop *loop, void *arg) {
    (void)arg;
    aio_loop_stop(loop);
}

static void *loop_thread(void *arg) {
    looper *l = arg;
    l->thread = pthread_self();
    aio_future w = aio_spawn(l->loop, wait_signals, &(struct waiter_frame){.l = l});
    l->rc = aio_call_soon(l->loop, mark_ready, l, NULL);
    if (l->rc == 0)
        l->rc = aio_run_forever(l->loop);
    aio_task_cancel(l->loop, w, NULL);
    l->wait_rc = aio_run_until_complete(l->loop, w, NULL);
    l->free_rc = aio_loop_free(l->loop);
    return NULL;
}

/* Loops made and freed again and again while signals fly: slots of the
 * process table are claimed and released under the handler's feet. */
typedef struct churn {
    atomic_int stop;
    atomic_int iterations;
    int failures;
} churn;

static void churn_noop(aio_loop *loop, int signo, void *arg) { (void)loop, (void)signo, (void)arg; }

static void *churn_thread(void *arg) {
    churn *c = arg;
    while (!atomic_load(&c->stop)) {
        aio_loop *loop;
        if (aio_loop_create(&loop, NULL) < 0) {
            c->failures++;
            break;
        }
        if (aio_add_signal_handler(loop, SIGUSR1, churn_noop, NULL) != 0)
            c->failures++;
        aio_future w = aio_signal_wait(loop, SIGUSR2);
        if (aio_future_cancel(loop, w, NULL) != 1 || aio_future_release(loop, w) != 0)
            c->failures++;
        if (aio_loop_free(loop) != 0)
            c->failures++;
        atomic_fetch_add(&c->iterations, 1);
    }
    return NULL;
}

static bool wait_for_count(looper *l, int n) {
    int64_t deadline = now_ns() + 10 * 1000000000LL;
    while (atomic_load(&l->count) < n || atomic_load(&l->waits) < n) {
        if (now_ns() > deadline)
            return false;
        sched_yield();
    }
    return true;
}

static void SIG_two_loops_two_threads(void **state) {
    (void)state;
    looper l[2];
    memset(l, 0, sizeof l);
    for (int i = 0; i < 2; i++) {
        l[i].loop = test_loop_new(0);
        assert_aio_ok(aio_add_signal_handler(l[i].loop, SIGUSR1, count_signal, &l[i]));
    }
    pthread_t th[2], ch;
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, loop_thread, &l[i]), 0);
    churn c = {0};
    assert_int_equal(pthread_create(&ch, NULL, churn_thread, &c), 0);
    for (int i = 0; i < 2; i++)
        while (!atomic_load(&l[i].ready))
            sched_yield();
    /* One signal at a time: every loop that registered it gets each one
     * (the next is sent once both saw the last, so none is merged). At
     * least ROUNDS, and on until the churn has made and freed 20 loops
     * meanwhile. */
    int ok = 1, sent = 0;
    int64_t deadline = now_ns() + 30 * 1000000000LL;
    while (ok && (sent < ROUNDS || (atomic_load(&c.iterations) < 20 && now_ns() < deadline))) {
        kill(getpid(), SIGUSR1);
        sent++;
        ok = wait_for_count(&l[0], sent) && wait_for_count(&l[1], sent);
    }
    atomic_store(&c.stop, 1);
    pthread_join(ch, NULL);
    for (int i = 0; i < 2; i++)
        assert_aio_ok(aio_call_soon_threadsafe(l[i].loop, stop_loop, NULL));
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_true(ok);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(atomic_load(&l[i].count), sent);
        assert_int_equal(atomic_load(&l[i].waits), sent);
        assert_int_equal(atomic_load(&l[i].wrong_thread), 0);
        assert_aio_ok(l[i].rc);
        assert_aio_err(l[i].wait_rc, AIO_ECANCELLED);
        assert_aio_ok(l[i].free_rc);
    }
    assert_int_equal(c.failures, 0);
    assert_true(atomic_load(&c.iterations) >= 20);
    /* Every loop let go: the disposition is the one before. */
    assert_ptr_equal(disposition(SIGUSR1), SIG_DFL);
    assert_ptr_equal(disposition(SIGUSR2), SIG_DFL);
}

/* ---- dispositions: saved, restored when the last registration goes ---- */

/* Run the loop for 10 ms: its polls see what was delivered. */
static void run_briefly(aio_loop *loop) {
    assert_aio_ok(aio_run_until_complete(loop, aio_sleep(loop, 0.01), NULL));
}

static void SIG_removed_default_restored(void **state) {
    (void)state;
    set_disposition(SIGUSR2, app_handler, 0);
    set_disposition(SIGTERM, SIG_IGN, 0);
    aio_loop *a = test_loop_new(0), *b = test_loop_new(0);
    seen sa = {0}, sb = {0};
    assert_aio_ok(aio_add_signal_handler(a, SIGUSR1, on_signal, &sa));
    assert_aio_ok(aio_add_signal_handler(a, SIGUSR2, on_signal, &sa));
    assert_aio_ok(aio_add_signal_handler(b, SIGUSR2, on_signal, &sb));
    assert_aio_ok(aio_add_signal_handler(b, SIGTERM, on_signal, &sb));
    sig_fn ours = disposition(SIGUSR1);
    assert_true(ours != SIG_DFL && ours != SIG_IGN && ours != app_handler);
    assert_ptr_equal(disposition(SIGUSR2), ours);
    assert_ptr_equal(disposition(SIGTERM), ours);

    /* The application's handler does not run while a loop has the signal. */
    raise(SIGUSR2);
    assert_int_equal(atomic_load(&app_hits), 0);
    run_briefly(a);
    run_briefly(b);
    assert_int_equal(sa.count, 1);
    assert_int_equal(sb.count, 1);

    /* A second handler for the same signal on the same loop replaces the first. */
    seen sa2 = {0};
    assert_aio_ok(aio_add_signal_handler(a, SIGUSR1, on_signal, &sa2));
    raise(SIGUSR1);
    run_briefly(a);
    assert_int_equal(sa.count, 1);
    assert_int_equal(sa2.count, 1);

    /* Removed: the default is back at once (no other loop holds SIGUSR1). */
    assert_int_equal(aio_remove_signal_handler(a, SIGUSR1), 1);
    assert_int_equal(aio_remove_signal_handler(a, SIGUSR1), 0);
    assert_ptr_equal(disposition(SIGUSR1), SIG_DFL);
    /* SIGUSR2: b still has it; only when b lets go is the app's back. */
    assert_int_equal(aio_remove_signal_handler(a, SIGUSR2), 1);
    assert_ptr_equal(disposition(SIGUSR2), ours);
    assert_int_equal(aio_remove_signal_handler(b, SIGUSR2), 1);
    assert_ptr_equal(disposition(SIGUSR2), app_handler);
    raise(SIGUSR2);
    assert_int_equal(atomic_load(&app_hits), 1);
    /* Closing the loop lets go of what it still holds: SIG_IGN is back. */
    assert_aio_ok(aio_loop_free(b));
    assert_ptr_equal(disposition(SIGTERM), SIG_IGN);

    /* A signal removed between its delivery and the loop's drain: nothing runs. */
    seen sc = {0};
    assert_aio_ok(aio_add_signal_handler(a, SIGUSR1, on_signal, &sc));
    assert_aio_ok(aio_add_signal_handler(a, SIGUSR2, on_signal, &sc)); /* keeps the slot busy */
    raise(SIGUSR1);
    assert_int_equal(aio_remove_signal_handler(a, SIGUSR1), 1);
    run_briefly(a);
    assert_int_equal(sc.count, 0);

    /* An application that replaced our handler meanwhile keeps its own. */
    set_disposition(SIGUSR2, SIG_IGN, 0);
    assert_int_equal(aio_remove_signal_handler(a, SIGUSR2), 1);
    assert_ptr_equal(disposition(SIGUSR2), SIG_IGN);
    assert_aio_ok(aio_loop_free(a));
}

static void SIG_errors(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    seen s = {0};
    assert_aio_err(aio_add_signal_handler(loop, SIGKILL, on_signal, &s), -EINVAL);
    assert_aio_err(aio_add_signal_handler(loop, SIGSTOP, on_signal, &s), -EINVAL);
    assert_aio_err(aio_add_signal_handler(loop, SIGSEGV, on_signal, &s), -EINVAL);
    assert_aio_err(aio_add_signal_handler(loop, SIGFPE, on_signal, &s), -EINVAL);
    assert_aio_err(aio_add_signal_handler(loop, 0, on_signal, &s), -EINVAL);
    assert_aio_err(aio_add_signal_handler(loop, -1, on_signal, &s), -EINVAL);
    assert_aio_err(aio_add_signal_handler(loop, 100000, on_signal, &s), -EINVAL);
    assert_aio_err(aio_add_signal_handler(loop, SIGUSR1, NULL, &s), -EINVAL);
    assert_aio_err(aio_add_signal_handler(NULL, SIGUSR1, on_signal, &s), -EINVAL);
    assert_aio_err(aio_future_check(aio_signal_wait(loop, SIGKILL)), -EINVAL);
    assert_aio_err(aio_future_check(aio_signal_wait(NULL, SIGUSR1)), -EINVAL);
    assert_aio_err(aio_remove_signal_handler(loop, 0), -EINVAL);
    assert_aio_err(aio_remove_signal_handler(NULL, SIGUSR1), -EINVAL);
    assert_int_equal(aio_remove_signal_handler(loop, SIGUSR1), 0);
    assert_int_equal(aio_remove_signal_handler(loop, SIGKILL), 0);
    assert_ptr_equal(disposition(SIGUSR1), SIG_DFL); /* nothing was installed */
    assert_aio_ok(aio_add_signal_handler(loop, SIGUSR1, on_signal, &s));
    assert_aio_ok(aio_loop_close(loop));
    assert_ptr_equal(disposition(SIGUSR1), SIG_DFL);
    assert_aio_err(aio_add_signal_handler(loop, SIGUSR1, on_signal, &s), AIO_ECLOSED);
    assert_aio_err(aio_future_check(aio_signal_wait(loop, SIGUSR1)), AIO_ECLOSED);
    assert_int_equal(aio_remove_signal_handler(loop, SIGUSR1), 0);
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- aio_signal_wait ---- */

struct wait_frame {
    int signo;
    int64_t got;
    int err;
};

AIO_CORO(wait_one, struct wait_frame) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_signal_wait(t, f->signo));
    f->err = AIO_ERR(t);
    f->got = AIO_RESULT(t).i;
    AIO_RETURN(t, f->got);
    AIO_END(t);
}

static void raise_usr1_cb(aio_loop *loop, void *arg) {
    (void)loop, (void)arg;
    raise(SIGUSR1);
}

static void SIG_wait(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    /* Two waiters, one delivery: both complete with the signal number. */
    aio_future w1 = aio_signal_wait(loop, SIGUSR1);
    aio_future w2 = aio_signal_wait(loop, SIGUSR1);
    assert_aio_ok(aio_future_check(w1));
    assert_int_equal(aio_future_done(loop, w1), 0);
    assert_true(disposition(SIGUSR1) != SIG_DFL);
    assert_aio_ok(aio_call_later(loop, 0.02, raise_usr1_cb, NULL, NULL));
    aio_value v;
    /* Nothing else could complete w1: the waiter keeps the loop alive. */
    assert_aio_ok(aio_run_until_complete(loop, w1, &v));
    assert_int_equal(v.i, SIGUSR1);
    assert_int_equal(aio_future_done(loop, w2), 1);
    assert_aio_ok(aio_future_result(loop, w2, &v));
    assert_int_equal(v.i, SIGUSR1);
    assert_aio_ok(aio_future_release(loop, w2));
    /* The last waiter done: the signal goes back to its default. */
    assert_ptr_equal(disposition(SIGUSR1), SIG_DFL);

    /* From a coroutine, the signal sent by another thread. */
    pthread_t th;
    sender snd = {SIGUSR1, 30};
    assert_int_equal(pthread_create(&th, NULL, send_later, &snd), 0);
    struct wait_frame wf = {SIGUSR1, 0, 1};
    aio_future task = aio_spawn(loop, wait_one, &wf);
    assert_aio_ok(aio_run_until_complete(loop, task, &v));
    pthread_join(th, NULL);
    assert_int_equal(v.i, SIGUSR1);

    /* Cancelled: the waiter goes, and with it the registration. */
    aio_future w3 = aio_signal_wait(loop, SIGUSR2);
    assert_true(disposition(SIGUSR2) != SIG_DFL);
    assert_int_equal(aio_future_cancel(loop, w3, "enough"), 1);
    assert_ptr_equal(disposition(SIGUSR2), SIG_DFL);
    assert_int_equal(aio_future_cancelled(loop, w3), 1);
    assert_string_equal(aio_future_cancel_message(loop, w3), "enough");
    assert_aio_ok(aio_future_release(loop, w3));

    /* A waiter and a handler of the same signal: both see the delivery, and
     * the handler keeps the registration after the waiter is done. */
    seen s = {0};
    assert_aio_ok(aio_add_signal_handler(loop, SIGUSR1, on_signal, &s));
    aio_future w4 = aio_signal_wait(loop, SIGUSR1);
    raise(SIGUSR1);
    assert_aio_ok(aio_run_until_complete(loop, w4, &v));
    assert_int_equal(v.i, SIGUSR1);
    assert_int_equal(s.count, 1);
    assert_true(disposition(SIGUSR1) != SIG_DFL);

    /* Pending at close: freed with the loop, dispositions restored. */
    aio_future w5 = aio_signal_wait(loop, SIGUSR2);
    assert_aio_ok(aio_future_check(w5));
    assert_aio_ok(aio_loop_free(loop));
    assert_ptr_equal(disposition(SIGUSR1), SIG_DFL);
    assert_ptr_equal(disposition(SIGUSR2), SIG_DFL);
}

/* ---- aio_run: graceful shutdown ---- */

typedef struct probe {
    bool uncancel;     /* clean up, then carry on and return 7 */
    bool from_thread;  /* the signal comes from another thread */
    int signo;         /* what to send */
    int first_err;     /* what the first await saw */
    char msg[16];      /* its cancel message */
    int cleanup_errs;  /* errors seen by the awaits of the cleanup */
    int cleanup_steps; /* awaits of the cleanup that completed */
    sig_fn during;     /* SIGINT's disposition inside the run */
} probe;

struct child_frame {
    int steps;
};

AIO_CORO(cleanup_child, struct child_frame) {
    AIO_BEGIN(t);
    AIO_AWAIT_OK(t, aio_sleep(t, 0.005));
    AIO_RETURN(t, f->steps + 1);
    AIO_END(t);
}

static void raise_cb(aio_loop *loop, void *arg) {
    (void)loop;
    raise((int)(intptr_t)arg);
}

struct main_frame {
    probe *p;
    pthread_t th;
    sender snd;
};

AIO_CORO(interrupted_main, struct main_frame) {
    AIO_BEGIN(t);
    f->p->during = disposition(SIGINT);
    if (f->p->from_thread) {
        f->snd.signo = f->p->signo;
        f->snd.delay_ms = 30;
        assert_int_equal(pthread_create(&f->th, NULL, send_later, &f->snd), 0);
    } else {
        assert_aio_ok(aio_call_later(t, 0.02, raise_cb, (void *)(intptr_t)f->p->signo, NULL));
    }
    AIO_AWAIT(t, aio_sleep(t, 100));
    if (f->p->from_thread)
        pthread_join(f->th, NULL);
    f->p->first_err = AIO_ERR(t);
    if (AIO_CANCEL_MESSAGE(t))
        snprintf(f->p->msg, sizeof f->p->msg, "%s", AIO_CANCEL_MESSAGE(t));
    if (AIO_ERR(t) != AIO_ECANCELLED)
        AIO_RETURN(t, -1);
    /* Clean up, awaiting as a coroutine does: a sleep, then a child task. */
    AIO_AWAIT(t, aio_sleep(t, 0.01));
    if (AIO_ERR(t) < 0)
        f->p->cleanup_errs++;
    else
        f->p->cleanup_steps++;
    AIO_AWAIT(t, aio_spawn(t, cleanup_child, &(struct child_frame){.steps = f->p->cleanup_steps}));
    if (AIO_ERR(t) < 0)
        f->p->cleanup_errs++;
    else
        f->p->cleanup_steps = (int)AIO_RESULT(t).i;
    if (f->p->uncancel) {
        aio_task_uncancel(t);
        AIO_RETURN(t, 7);
    }
    AIO_FAIL(t, AIO_ECANCELLED);
    AIO_END(t);
}

static void SIG_run_sigint_cleanup(void **state) {
    (void)state;
    /* The coroutine cleans up and ends cancelled: the run says -EINTR. */
    probe p = {.signo = SIGINT};
    assert_aio_err(aio_run(interrupted_main, &(struct main_frame){.p = &p}), -EINTR);
    assert_true(p.during != SIG_DFL);
    assert_aio_err(p.first_err, AIO_ECANCELLED);
    assert_string_equal(p.msg, "SIGINT");
    assert_int_equal(p.cleanup_errs, 0);
    assert_int_equal(p.cleanup_steps, 2);
    assert_ptr_equal(disposition(SIGINT), SIG_DFL);

    /* It cleans up and carries on (uncancel): the run returns its result. */
    probe q = {.signo = SIGINT, .uncancel = true, .from_thread = true};
    aio_value v = {0};
    assert_aio_ok(
        aio_run_coro(interrupted_main, &(struct main_frame){.p = &q}, sizeof(struct main_frame), &v));
    assert_int_equal(v.i, 7);
    assert_int_equal(q.cleanup_steps, 2);
    assert_ptr_equal(disposition(SIGINT), SIG_DFL);
}

static void SIG_run_sigterm_option(void **state) {
    (void)state;
    /* SIGTERM only: SIGINT keeps its default during the run. */
    aio_run_options opts = {.signals = AIO_RUN_SIGTERM};
    probe p = {.signo = SIGTERM};
    assert_aio_err(aio_run_ex(&opts, interrupted_main, &(struct main_frame){.p = &p}), -EINTR);
    assert_ptr_equal(p.during, SIG_DFL);
    assert_string_equal(p.msg, "SIGTERM");
    assert_int_equal(p.cleanup_steps, 2);
    assert_ptr_equal(disposition(SIGTERM), SIG_DFL);

    /* Both, the SIGINT one. */
    opts.signals = AIO_RUN_SIGINT | AIO_RUN_SIGTERM;
    probe q = {.signo = SIGINT};
    assert_aio_err(aio_run_ex(&opts, interrupted_main, &(struct main_frame){.p = &q}), -EINTR);
    assert_string_equal(q.msg, "SIGINT");
    assert_ptr_equal(disposition(SIGINT), SIG_DFL);
    assert_ptr_equal(disposition(SIGTERM), SIG_DFL);

    /* Bad bits. */
    opts.signals = 64;
    assert_aio_err(aio_run_ex(&opts, interrupted_main, &(struct main_frame){.p = &q}), -EINVAL);
    opts.signals = AIO_RUN_NO_SIGNALS | AIO_RUN_SIGINT;
    assert_aio_err(aio_run_ex(&opts, interrupted_main, &(struct main_frame){.p = &q}), -EINVAL);
}

/* A run that must not touch SIGINT: it keeps its disposition throughout. */
struct plain_frame {
    bool raise_it;
};

AIO_CORO(plain_main, struct plain_frame) {
    AIO_BEGIN(t);
    if (f->raise_it)
        raise(SIGINT);
    AIO_AWAIT_OK(t, aio_sleep(t, 0.02));
    AIO_RETURN(t, 3);
    AIO_END(t);
}

AIO_CORO(stuck_main, struct plain_frame) {
    AIO_BEGIN(t);
    AIO_AWAIT_OK(t, aio_future_new(t)); /* nothing will ever complete it */
    AIO_END(t);
}

static void SIG_run_leaves_alone(void **state) {
    (void)state;
    struct plain_frame pf = {.raise_it = true};
    aio_value v;
    /* Ignored (a background job of a non-interactive shell): left ignored,
     * and a SIGINT during the run does nothing. */
    set_disposition(SIGINT, SIG_IGN, 0);
    assert_aio_ok(aio_run_coro(plain_main, &pf, sizeof pf, &v));
    assert_int_equal(v.i, 3);
    assert_ptr_equal(disposition(SIGINT), SIG_IGN);

    /* The application's own handler: left in place, and it runs. */
    set_disposition(SIGINT, app_handler, 0);
    atomic_store(&app_hits, 0);
    assert_aio_ok(aio_run_coro(plain_main, &pf, sizeof pf, &v));
    assert_int_equal(v.i, 3);
    assert_int_equal(atomic_load(&app_hits), 1);
    assert_ptr_equal(disposition(SIGINT), app_handler);
    set_disposition(SIGINT, SIG_DFL, 0);

    /* The route keeps nothing alive: a main task that waits for nothing is
     * still a deadlock. */
    assert_aio_err(aio_run(stuck_main, &(struct plain_frame){0}), AIO_EDEADLOCK);
    assert_ptr_equal(disposition(SIGINT), SIG_DFL);
}

/* What the run's coroutine sees of SIGINT's disposition, through a pointer. */
struct during_frame {
    sig_fn *during;
    seen *s;
};

AIO_CORO(see_disposition, struct during_frame) {
    AIO_BEGIN(t);
    *f->during = disposition(SIGINT);
    if (f->s) {
        /* The coroutine handles SIGINT itself: aio_run's route steps aside. */
        assert_aio_ok(aio_add_signal_handler(t, SIGINT, on_signal, f->s));
        raise(SIGINT);
    }
    AIO_AWAIT_OK(t, aio_sleep(t, 0.02));
    AIO_END(t);
}

static void SIG_run_dispositions(void **state) {
    (void)state;
    sig_fn during = NULL;
    assert_aio_ok(aio_run(see_disposition, &(struct during_frame){.during = &during}));
    assert_true(during != SIG_DFL && during != SIG_IGN);
    aio_run_options none = {.signals = AIO_RUN_NO_SIGNALS};
    assert_aio_ok(aio_run_ex(&none, see_disposition, &(struct during_frame){.during = &during}));
    assert_ptr_equal(during, SIG_DFL);
    set_disposition(SIGINT, SIG_IGN, 0);
    assert_aio_ok(aio_run(see_disposition, &(struct during_frame){.during = &during}));
    assert_ptr_equal(during, SIG_IGN);
    set_disposition(SIGINT, SIG_DFL, 0);
    /* A handler of the coroutine's own replaces the route: it runs, and the
     * main task is not cancelled. */
    seen s = {0};
    assert_aio_ok(aio_run(see_disposition, &(struct during_frame){.during = &during, .s = &s}));
    assert_int_equal(s.count, 1);
    assert_ptr_equal(disposition(SIGINT), SIG_DFL);
}

/* ---- the second SIGINT ends the process (in a child) ---- */

struct hang_frame {
    int fd;    /* tells the parent: 'r' ready, 'c' cleaning up */
    bool spin; /* the cleanup hangs in a busy loop instead of an await */
};

AIO_CORO(hang_main, struct hang_frame) {
    AIO_BEGIN(t);
    if (write(f->fd, "r", 1) != 1)
        AIO_FAIL(t, -EIO);
    AIO_AWAIT(t, aio_sleep(t, 100));
    if (AIO_ERR(t) != AIO_ECANCELLED)
        AIO_FAIL(t, -EPROTO);
    if (write(f->fd, "c", 1) != 1)
        AIO_FAIL(t, -EIO);
    if (f->spin)
        for (volatile int forever = 1; forever;) {
        }
    AIO_AWAIT(t, aio_sleep(t, 100)); /* a cleanup that never ends */
    AIO_END(t);
}

static bool read_byte(int fd, char want) {
    struct pollfd p = {fd, POLLIN, 0};
    char c;
    return poll(&p, 1, 10000) == 1 && read(fd, &c, 1) == 1 && c == want;
}

static void second_sigint(bool spin) {
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        int rc = aio_run(hang_main, &(struct hang_frame){.fd = pfd[1], .spin = spin});
        _exit(rc == 0 ? 0 : 3); /* not reached when it works */
    }
    close(pfd[1]);
    bool ready = read_byte(pfd[0], 'r');
    if (ready)
        kill(pid, SIGINT);
    bool cleaning = ready && read_byte(pfd[0], 'c');
    if (cleaning)
        kill(pid, SIGINT);
    int status = 0;
    for (int i = 0; i < 1000 && waitpid(pid, &status, WNOHANG) == 0; i++)
        sleep_ms(10);
    if (waitpid(pid, &status, WNOHANG) == 0) { /* still alive after 10 s */
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the second SIGINT did not end the child");
    }
    close(pfd[0]);
    assert_true(ready);
    assert_true(cleaning);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGINT);
}

static void SIG_second_sigint(void **state) {
    (void)state;
    second_sigint(false); /* the cleanup awaits forever */
    second_sigint(true);  /* the cleanup spins: the loop never polls again */
}

/* ---- EINTR is never an error ---- */

/* A storm of signals at the loop's thread: SIGUSR1 is the loop's (with
 * SA_RESTART), SIGUSR2 an application's handler without SA_RESTART, so
 * every blocking call the loop makes may fail with EINTR. Sleeps, fd
 * readiness, executor jobs and threadsafe calls must all work as usual. */
typedef struct storm {
    pthread_t target;
    atomic_int stop;
    int sent;
} storm;

static void *storm_thread(void *arg) {
    storm *s = arg;
    while (!atomic_load(&s->stop)) {
        pthread_kill(s->target, s->sent % 2 ? SIGUSR1 : SIGUSR2);
        s->sent++;
        struct timespec ts = {0, 200000}; /* 0.2 ms */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int job_square(void *arg, aio_value *result) {
    int64_t x = (int64_t)(intptr_t)arg;
    sleep_ms(1);
    result->i = x * x;
    return 0;
}

typedef struct pingpong {
    int fds[2];
    int left;
    aio_future done;
    int errors;
} pingpong;

static void pong(aio_loop *loop, void *arg) {
    pingpong *p = arg;
    char c;
    if (read(p->fds[1], &c, 1) != 1 || write(p->fds[1], &c, 1) != 1)
        p->errors++;
    (void)loop;
}

static void ping(aio_loop *loop, void *arg) {
    pingpong *p = arg;
    char c = 'x';
    if (read(p->fds[0], &c, 1) != 1)
        p->errors++;
    if (--p->left == 0) {
        aio_future_set_result(loop, p->done, AIO_NONE);
        return;
    }
    if (write(p->fds[0], &c, 1) != 1)
        p->errors++;
}

struct eintr_frame {
    pingpong *pp;
    int i, errors, short_sleeps;
    int64_t t0;
    aio_future jobs[16];
    aio_outcome out[16];
};

AIO_CORO(eintr_main, struct eintr_frame) {
    AIO_BEGIN(t);
    for (f->i = 0; f->i < 40; f->i++) {
        f->t0 = aio_loop_time_ns(t);
        AIO_AWAIT(t, aio_sleep(t, 0.003));
        if (AIO_ERR(t) < 0)
            f->errors++;
        if (aio_loop_time_ns(t) - f->t0 < 3000000)
            f->short_sleeps++;
    }
    for (f->i = 0; f->i < 16; f->i++)
        f->jobs[f->i] = aio_to_thread(t, job_square, (void *)(intptr_t)f->i);
    AIO_AWAIT(t, aio_gather(t, f->jobs, 16, f->out, 0));
    if (AIO_ERR(t) < 0)
        f->errors++;
    for (f->i = 0; f->i < 16; f->i++)
        if (f->out[f->i].err != 0 || f->out[f->i].value.i != (int64_t)f->i * f->i)
            f->errors++;
    /* 300 round trips over a socketpair. */
    char c = 'x';
    if (write(f->pp->fds[0], &c, 1) != 1)
        f->errors++;
    AIO_AWAIT(t, aio_future_retain(t, f->pp->done));
    if (AIO_ERR(t) < 0)
        f->errors++;
    AIO_RETURN(t, f->errors + f->short_sleeps * 1000);
    AIO_END(t);
}

typedef struct poster {
    aio_loop *loop;
    int posted;
    atomic_int run;
} poster;

static void count_call(aio_loop *loop, void *arg) {
    (void)loop;
    atomic_fetch_add(&((poster *)arg)->run, 1);
}

static void *post_thread(void *arg) {
    poster *p = arg;
    for (int i = 0; i < 500; i++) {
        if (aio_call_soon_threadsafe(p->loop, count_call, p) == 0)
            p->posted++;
        if (i % 50 == 0)
            sleep_ms(1);
    }
    return NULL;
}

static void SIG_eintr_not_an_error(void **state) {
    (void)state;
    set_disposition(SIGUSR2, app_handler, 0); /* no SA_RESTART */
    atomic_store(&app_hits, 0);
    aio_loop *loop = test_loop_new(0);
    test_reports reports;
    test_collect_reports(loop, &reports);
    seen s = {0};
    assert_aio_ok(aio_add_signal_handler(loop, SIGUSR1, on_signal, &s));
    pingpong pp = {.left = 300};
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pp.fds), 0);
    pp.done = aio_future_new(loop);
    assert_aio_ok(aio_add_reader(loop, pp.fds[0], ping, &pp));
    assert_aio_ok(aio_add_reader(loop, pp.fds[1], pong, &pp));
    assert_aio_ok(aio_loop_ref(loop));
    storm st = {.target = pthread_self()};
    poster po = {.loop = loop};
    pthread_t sth, pth;
    assert_int_equal(pthread_create(&sth, NULL, storm_thread, &st), 0);
    assert_int_equal(pthread_create(&pth, NULL, post_thread, &po), 0);
    aio_value v;
    int rc = aio_run_until_complete(loop, aio_spawn(loop, eintr_main, &(struct eintr_frame){.pp = &pp}), &v);
    pthread_join(pth, NULL);
    /* Let the last threadsafe calls in. */
    for (int i = 0; i < 100 && atomic_load(&po.run) < po.posted; i++)
        test_run_iterations(loop, 2);
    atomic_store(&st.stop, 1);
    pthread_join(sth, NULL);
    assert_aio_ok(rc);
    assert_int_equal(v.i, 0); /* no error, no sleep cut short */
    assert_int_equal(pp.errors, 0);
    assert_int_equal(po.posted, 500);
    assert_int_equal(atomic_load(&po.run), 500);
    assert_int_equal(reports.count, 0);
    assert_true(st.sent > 20);
    assert_true(atomic_load(&app_hits) > 0 && s.count > 0); /* both kinds landed */
    assert_aio_ok(aio_loop_unref(loop));
    aio_remove_reader(loop, pp.fds[0]);
    aio_remove_reader(loop, pp.fds[1]);
    assert_aio_ok(aio_future_release(loop, pp.done));
    assert_aio_ok(aio_loop_free(loop));
    close(pp.fds[0]);
    close(pp.fds[1]);
}

/* Each case starts from the default dispositions, so that the binary also
 * runs whole (valgrind in CI runs it so). */
static int reset_dispositions(void **state) {
    (void)state;
    const int sigs[] = {SIGUSR1, SIGUSR2, SIGINT, SIGTERM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        set_disposition(sigs[i], SIG_DFL, 0);
    atomic_store(&app_hits, 0);
    return 0;
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(SIG_while_sleeping, reset_dispositions),
        cmocka_unit_test_setup(SIG_not_inside_handler, reset_dispositions),
        cmocka_unit_test_setup(SIG_while_busy, reset_dispositions),
        cmocka_unit_test_setup(SIG_two_loops_two_threads, reset_dispositions),
        cmocka_unit_test_setup(SIG_removed_default_restored, reset_dispositions),
        cmocka_unit_test_setup(SIG_errors, reset_dispositions),
        cmocka_unit_test_setup(SIG_wait, reset_dispositions),
        cmocka_unit_test_setup(SIG_run_sigint_cleanup, reset_dispositions),
        cmocka_unit_test_setup(SIG_run_sigterm_option, reset_dispositions),
        cmocka_unit_test_setup(SIG_run_leaves_alone, reset_dispositions),
        cmocka_unit_test_setup(SIG_run_dispositions, reset_dispositions),
        cmocka_unit_test_setup(SIG_second_sigint, reset_dispositions),
        cmocka_unit_test_setup(SIG_eintr_not_an_error, reset_dispositions),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]); /* one case per process: see the top */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
