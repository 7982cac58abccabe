/* Where is every task? Three tasks blocked on different things (a sleep, a
 * future nobody completes, a sleep inside an inline sub-coroutine), main
 * awaiting all three through a gather, and a SIGUSR1 handler that prints
 * the task table and tree, then cancels main so that the program ends.
 *
 * Each await is marked with a comment naming its coroutine: the example's
 * test finds those lines in this file and checks that the printout shows
 * them (dump.c:LINE in NAME), the sub-coroutine's under its parent's. */
#include <aio/aio.h>

#include <signal.h>
#include <stdio.h>

struct sleeper {
    double seconds;
};
AIO_CORO(sleeper, struct sleeper) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->seconds)); /* await: sleeper */
    AIO_END(t);
}

struct waiter {
    aio_future event;
};
AIO_CORO(waiter, struct waiter) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->event); /* await: waiter */
    AIO_END(t);
}

/* An inline sub-coroutine: it runs in its caller's task, frame inside the
 * caller's frame. */
struct fetch {
    double delay;
};
AIO_CORO(fetch, struct fetch) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->delay)); /* await: fetch */
    AIO_END(t);
}

struct client {
    AIO_CHILD(struct fetch) get;
};
AIO_CORO(client, struct client) {
    AIO_BEGIN(t);
    f->get.frame.delay = 60;
    AIO_AWAIT_CORO(t, fetch, &f->get); /* await: client */
    AIO_END(t);
}

/* On demand: at SIGUSR1 (kill -USR1 <pid>), on the loop's thread like any
 * callback. Here the program sends itself one, then ends. */
static void dump_on_signal(aio_loop *loop, int signo, void *arg) {
    (void)signo;
    aio_print_tasks(loop, stdout, AIO_PRINT_TABLE | AIO_PRINT_TREE);
    aio_task_cancel(loop, *(aio_future *)arg, "dumped");
}

static void send_usr1(aio_loop *loop, void *arg) {
    (void)loop;
    (void)arg;
    raise(SIGUSR1);
}

struct main_task {
    aio_future self, event;
};
AIO_CORO(main_task, struct main_task) {
    AIO_BEGIN(t);
    f->self = aio_task_handle(t);
    f->event = aio_future_new(t);
    aio_future s = aio_spawn(t, sleeper, &(struct sleeper){3600});
    aio_future w = aio_spawn(t, waiter, &(struct waiter){aio_future_retain(t, f->event)});
    aio_future c = aio_spawn(t, client, &(struct client){{0}});
    aio_task_set_name(t, s, "sleeper");
    aio_task_set_name(t, w, "waiter");
    aio_task_set_name(t, c, "client");
    aio_task_set_name(t, f->self, "main");
    aio_add_signal_handler(t, SIGUSR1, dump_on_signal, &f->self);
    aio_call_later(t, 0.05, send_usr1, NULL, NULL);
    AIO_AWAIT(t, aio_gather_of(t, NULL, 0, s, w, c)); /* await: main */
    aio_future_release(t, f->event);
    AIO_END(t);
}

int main(void) {
    int rc = aio_run(main_task, &(struct main_task){{0}, {0}});
    printf("main ended: %s\n", rc == AIO_ECANCELLED ? "cancelled after the dump" : aio_strerror(rc));
    return rc == AIO_ECANCELLED ? 0 : 1;
}
