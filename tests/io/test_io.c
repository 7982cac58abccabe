/* fd watchers (add_reader / add_writer) on pipes and socketpairs, the poll
 * policy (a busy ready queue, a re-armed zero-delay timer or a yielding task
 * never starves I/O for more than poll_budget callbacks), and robustness
 * when a watched fd is closed. Every test runs on every backend. */
#include "support.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

static void make_pipe(int fds[2]) { assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0); }

static void make_socketpair(int fds[2]) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
}

static void put_byte(int fd, char c) { assert_int_equal(write(fd, &c, 1), 1); }

static double real_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static aio_loop *loop_with_budget(unsigned budget) {
    aio_loop_options opts = {0};
    opts.poll_budget = budget;
    aio_loop *loop = NULL;
    assert_int_equal(aio_loop_create(&loop, &opts), 0);
    return loop;
}

static void stop_cb(aio_loop *loop, void *arg) {
    (void)arg;
    aio_loop_stop(loop);
}

/* A watcher that counts its calls and, at `stop_at`, removes itself (as a
 * reader or writer) and completes `fut` (or stops the loop). */
typedef struct watcher {
    int fd;
    int is_writer;
    int calls;
    int stop_at;
    int consume; /* reader: read one byte per call */
    char got[16];
    int ngot;
    aio_future fut;
} watcher;

static void watcher_cb(aio_loop *loop, void *arg) {
    watcher *w = arg;
    w->calls++;
    if (w->consume) {
        char c;
        ssize_t n = read(w->fd, &c, 1);
        if (n == 1 && w->ngot < (int)sizeof w->got)
            w->got[w->ngot++] = c;
    }
    if (w->calls == w->stop_at) {
        if (w->is_writer)
            assert_int_equal(aio_remove_writer(loop, w->fd), 1);
        else
            assert_int_equal(aio_remove_reader(loop, w->fd), 1);
        if (aio_future_check(w->fut) == 0)
            assert_int_equal(aio_future_set_result(loop, w->fut, AIO_VALUE(w->calls)), 0);
        else
            aio_loop_stop(loop);
    }
}

/* ---- basic readiness ----------------------------------------------------- */

/* A reader runs once its pipe becomes readable, not before. */
static void reader_runs_when_readable(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int p[2];
    make_pipe(p);
    watcher w = {.fd = p[0], .stop_at = 1, .consume = 1};
    assert_int_equal(aio_add_reader(loop, p[0], watcher_cb, &w), 0);

    /* Empty pipe: 5 ms of waiting, no call. */
    assert_int_equal(aio_call_later(loop, 0.005, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(w.calls, 0);

    put_byte(p[1], 'x');
    w.fut = aio_future_new(loop);
    aio_value v = AIO_NONE;
    assert_int_equal(aio_run_until_complete(loop, w.fut, &v), 0);
    assert_int_equal(v.i, 1);
    assert_int_equal(w.ngot, 1);
    assert_int_equal(w.got[0], 'x');
    close(p[0]);
    close(p[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A writer runs while its fd is writable (an empty pipe is). */
static void writer_runs_when_writable(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int p[2];
    make_pipe(p);
    watcher w = {.fd = p[1], .is_writer = 1, .stop_at = 1, .fut = aio_future_new(loop)};
    assert_int_equal(aio_add_writer(loop, p[1], watcher_cb, &w), 0);
    assert_int_equal(aio_run_until_complete(loop, w.fut, NULL), 0);
    assert_int_equal(w.calls, 1);
    close(p[0]);
    close(p[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Watchers are level-triggered: a reader that does not drain its fd is
 * called again in every iteration, once per iteration. */
static void reader_is_level_triggered(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int p[2];
    make_pipe(p);
    put_byte(p[1], 'a');
    watcher w = {.fd = p[0], .stop_at = 3, .fut = AIO_FUTURE_NULL};
    assert_int_equal(aio_add_reader(loop, p[0], watcher_cb, &w), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(w.calls, 3);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_int_equal(st.iterations, 3);
    assert_int_equal(st.callbacks, 3);
    close(p[0]);
    close(p[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Closing the write end wakes the reader, which then reads EOF. */
static void reader_wakes_on_eof(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int p[2];
    make_pipe(p);
    watcher w = {.fd = p[0], .stop_at = 1, .consume = 1, .fut = aio_future_new(loop)};
    assert_int_equal(aio_add_reader(loop, p[0], watcher_cb, &w), 0);
    close(p[1]);
    assert_int_equal(aio_run_until_complete(loop, w.fut, NULL), 0);
    assert_int_equal(w.ngot, 0);
    char c;
    assert_int_equal(read(p[0], &c, 1), 0);
    close(p[0]);
    assert_int_equal(aio_loop_free(loop), 0);
}

typedef struct drain_state {
    int fd;
    int drained;
    int writer_calls_before_drain;
    int writer_calls;
    aio_future fut;
} drain_state;

static void drain_cb(aio_loop *loop, void *arg) {
    (void)loop;
    drain_state *d = arg;
    char buf[4096];
    while (read(d->fd, buf, sizeof buf) > 0) {
    }
    d->writer_calls_before_drain = d->writer_calls;
    d->drained = 1;
}

static void full_writer(aio_loop *loop, void *arg) {
    drain_state *d = arg;
    if (d->writer_calls++ == 0)
        assert_int_equal(aio_future_set_result(loop, d->fut, AIO_NONE), 0);
}

/* A writer on a full socket is not called until the peer drains it. */
static void writer_waits_for_buffer_space(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int s[2];
    make_socketpair(s);
    char buf[4096];
    memset(buf, 'z', sizeof buf);
    while (write(s[0], buf, sizeof buf) > 0) {
    }
    drain_state d = {.fd = s[1], .fut = aio_future_new(loop)};
    assert_int_equal(aio_add_writer(loop, s[0], full_writer, &d), 0);
    assert_int_equal(aio_call_later(loop, 0.01, drain_cb, &d, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, d.fut, NULL), 0);
    assert_int_equal(d.drained, 1);
    assert_int_equal(d.writer_calls_before_drain, 0);
    assert_int_equal(d.writer_calls, 1);
    assert_int_equal(aio_remove_writer(loop, s[0]), 1);
    close(s[0]);
    close(s[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A ping-pong on one socketpair: a reader and a writer on the same fd,
 * the writer removed while the reader stays registered and working. */
typedef struct pingpong {
    int a, b;
    int a_reads, a_writes, b_reads;
    aio_future fut;
} pingpong;

static void a_writable(aio_loop *loop, void *arg) {
    pingpong *pp = arg;
    pp->a_writes++;
    assert_int_equal(write(pp->a, "ping", 4), 4);
    assert_int_equal(aio_remove_writer(loop, pp->a), 1);
    assert_int_equal(aio_remove_writer(loop, pp->a), 0);
}

static void b_readable(aio_loop *loop, void *arg) {
    pingpong *pp = arg;
    char buf[8];
    ssize_t n = read(pp->b, buf, sizeof buf);
    if (n <= 0)
        return;
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    pp->b_reads++;
    assert_int_equal(write(pp->b, "pong", 4), 4);
    assert_int_equal(aio_remove_reader(loop, pp->b), 1);
}

static void a_readable(aio_loop *loop, void *arg) {
    pingpong *pp = arg;
    char buf[8];
    ssize_t n = read(pp->a, buf, sizeof buf);
    if (n <= 0)
        return;
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "pong", 4);
    pp->a_reads++;
    assert_int_equal(aio_remove_reader(loop, pp->a), 1);
    assert_int_equal(aio_future_set_result(loop, pp->fut, AIO_NONE), 0);
}

static void reader_and_writer_on_same_fd(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int s[2];
    make_socketpair(s);
    pingpong pp = {s[0], s[1], 0, 0, 0, aio_future_new(loop)};
    assert_int_equal(aio_add_reader(loop, s[0], a_readable, &pp), 0);
    assert_int_equal(aio_add_writer(loop, s[0], a_writable, &pp), 0);
    assert_int_equal(aio_add_reader(loop, s[1], b_readable, &pp), 0);
    assert_int_equal(aio_run_until_complete(loop, pp.fut, NULL), 0);
    assert_int_equal(pp.a_writes, 1);
    assert_int_equal(pp.b_reads, 1);
    assert_int_equal(pp.a_reads, 1);
    /* Nothing is watched any more. */
    assert_int_equal(aio_remove_reader(loop, s[0]), 0);
    assert_int_equal(aio_remove_reader(loop, s[1]), 0);
    close(s[0]);
    close(s[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- errors and removal ----------------------------------------------------- */

static void never_cb(aio_loop *loop, void *arg) {
    (void)loop;
    ++*(int *)arg;
}

/* Bad fds give -EBADF, NULL arguments -EINVAL, a closed loop AIO_ECLOSED;
 * removing what is not watched gives 0, removing twice 1 then 0. A regular
 * file is -EPERM on epoll (it cannot watch one). */
static void watcher_errors_and_removal(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int n = 0;
    int p[2];
    make_pipe(p);
    int closed_fd = dup(p[0]);
    assert_true(closed_fd >= 0);
    close(closed_fd);

    assert_int_equal(aio_add_reader(loop, -1, never_cb, &n), -EBADF);
    assert_int_equal(aio_add_writer(loop, -1, never_cb, &n), -EBADF);
    assert_int_equal(aio_add_reader(loop, closed_fd, never_cb, &n), -EBADF);
    assert_int_equal(aio_add_writer(loop, closed_fd, never_cb, &n), -EBADF);
    assert_int_equal(aio_add_reader(loop, p[0], NULL, &n), -EINVAL);
    assert_int_equal(aio_add_writer(loop, p[1], NULL, &n), -EINVAL);
    assert_int_equal(aio_add_reader(NULL, p[0], never_cb, &n), -EINVAL);
    assert_int_equal(aio_remove_reader(NULL, p[0]), -EINVAL);
    assert_int_equal(aio_remove_writer(NULL, p[1]), -EINVAL);

    assert_int_equal(aio_remove_reader(loop, p[0]), 0);
    assert_int_equal(aio_remove_writer(loop, p[1]), 0);
    assert_int_equal(aio_remove_reader(loop, 100000), 0);
    assert_int_equal(aio_add_reader(loop, p[0], never_cb, &n), 0);
    assert_int_equal(aio_remove_writer(loop, p[0]), 0); /* only a reader there */
    assert_int_equal(aio_remove_reader(loop, p[0]), 1);
    assert_int_equal(aio_remove_reader(loop, p[0]), 0);
    assert_int_equal(aio_add_writer(loop, p[1], never_cb, &n), 0);
    assert_int_equal(aio_remove_writer(loop, p[1]), 1);
    assert_int_equal(aio_remove_writer(loop, p[1]), 0);

    /* Nothing is left watched: the loop has nothing to wait for. */
    put_byte(p[1], 'x');
    assert_int_equal(aio_run_forever(loop), AIO_EDEADLOCK);
    assert_int_equal(n, 0);

    char path[] = "/tmp/aio_test_io_XXXXXX";
    int file = mkstemp(path);
    assert_true(file >= 0);
    unlink(path);
    int rc = aio_add_reader(loop, file, never_cb, &n);
    if (strcmp(aio_loop_backend(loop), "epoll") == 0)
        assert_int_equal(rc, -EPERM);
    else
        assert_true(rc == 0 || rc == -EPERM);
    aio_remove_reader(loop, file);
    close(file);

    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(aio_add_reader(loop, p[0], never_cb, &n), AIO_ECLOSED);
    assert_int_equal(aio_add_writer(loop, p[1], never_cb, &n), AIO_ECLOSED);
    close(p[0]);
    close(p[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Adding a second reader for an fd replaces the first. */
static void second_reader_replaces_first(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int p[2];
    make_pipe(p);
    put_byte(p[1], 'q');
    int first = 0;
    watcher w = {.fd = p[0], .stop_at = 1, .consume = 1, .fut = aio_future_new(loop)};
    assert_int_equal(aio_add_reader(loop, p[0], never_cb, &first), 0);
    assert_int_equal(aio_add_reader(loop, p[0], watcher_cb, &w), 0);
    assert_int_equal(aio_run_until_complete(loop, w.fut, NULL), 0);
    assert_int_equal(first, 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(aio_remove_reader(loop, p[0]), 0); /* watcher_cb removed it */
    close(p[0]);
    close(p[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

typedef struct cross {
    int my_fd, other_fd;
    int *total;
} cross;

static void cross_remove(aio_loop *loop, void *arg) {
    cross *c = arg;
    ++*c->total;
    aio_remove_reader(loop, c->other_fd);
    aio_remove_reader(loop, c->my_fd);
    aio_loop_stop(loop);
}

/* Two fds readable in the same poll: whichever reader runs first removes
 * the other, which then must not run in that iteration although its event
 * was already collected. */
static void removed_reader_not_run_in_same_iteration(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int p[2], q[2];
    make_pipe(p);
    make_pipe(q);
    put_byte(p[1], '1');
    put_byte(q[1], '2');
    int total = 0;
    cross cp = {p[0], q[0], &total}, cq = {q[0], p[0], &total};
    assert_int_equal(aio_add_reader(loop, p[0], cross_remove, &cp), 0);
    assert_int_equal(aio_add_reader(loop, q[0], cross_remove, &cq), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(total, 1);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_int_equal(st.iterations, 1);
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Many fds at once (beyond small initial tables): each reader runs once. */
typedef struct many {
    int count;
    aio_future fut;
} many;

typedef struct many_one {
    int fd;
    int calls;
    many *m;
} many_one;

static void many_reader(aio_loop *loop, void *arg) {
    many_one *o = arg;
    o->calls++;
    assert_int_equal(aio_remove_reader(loop, o->fd), 1);
    if (++o->m->count == 100)
        assert_int_equal(aio_future_set_result(loop, o->m->fut, AIO_NONE), 0);
}

static void many_fds(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int p[100][2];
    many m = {0, aio_future_new(loop)};
    many_one o[100];
    for (int i = 0; i < 100; i++) {
        make_pipe(p[i]);
        o[i] = (many_one){p[i][0], 0, &m};
        assert_int_equal(aio_add_reader(loop, p[i][0], many_reader, &o[i]), 0);
    }
    for (int i = 99; i >= 0; i--)
        put_byte(p[i][1], 'm');
    assert_int_equal(aio_run_until_complete(loop, m.fut, NULL), 0);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(o[i].calls, 1);
        close(p[i][0]);
        close(p[i][1]);
    }
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- fds closed while watched ------------------------------------------------- */

static void count_reader(aio_loop *loop, void *arg) {
    (void)loop;
    ++*(int *)arg;
}

/* Closing a watched fd (readable, even) must not crash, spin or hang the
 * loop; removing the watcher afterwards is safe; and a new fd that reuses
 * the number can then be watched and works. */
static void close_watched_fd_then_remove(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    test_collect_reports(loop, &r);
    int p[2];
    make_pipe(p);
    int n = 0;
    assert_int_equal(aio_add_reader(loop, p[0], count_reader, &n), 0);
    put_byte(p[1], 'x');
    int old_fd = p[0];
    close(p[0]);
    close(p[1]);

    double t0 = real_now();
    assert_int_equal(aio_call_later(loop, 0.01, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_true(real_now() - t0 < 5.0);
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    assert_true(st.polls < 100); /* waited, did not spin */
    int rc = aio_remove_reader(loop, old_fd);
    assert_true(rc == 0 || rc == 1);
    assert_int_equal(aio_remove_reader(loop, old_fd), 0);

    int q[2];
    make_pipe(q); /* typically reuses old_fd */
    watcher w = {.fd = q[0], .stop_at = 1, .consume = 1, .fut = aio_future_new(loop)};
    assert_int_equal(aio_add_reader(loop, q[0], watcher_cb, &w), 0);
    put_byte(q[1], 'y');
    assert_int_equal(aio_call_later(loop, 2.0, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, w.fut, NULL), 0);
    assert_int_equal(w.got[0], 'y');
    close(q[0]);
    close(q[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* Beyond the letter of aio/loop.h, but what "closing a watched fd must not
 * break the loop" implies: a watched fd is closed without removal, its number
 * is reused by a new pipe at once, and add_reader on the new fd (which
 * replaces the old watcher) must actually watch the new file. */
static void fd_number_reused_after_close_without_remove(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports r;
    test_collect_reports(loop, &r);
    int p[2];
    make_pipe(p);
    int n = 0;
    assert_int_equal(aio_add_reader(loop, p[0], count_reader, &n), 0);
    int old_fd = p[0];
    close(p[0]);
    close(p[1]);
    int q[2];
    make_pipe(q);
    if (q[0] != old_fd) { /* make the new read end take the old number */
        assert_int_equal(dup2(q[0], old_fd), old_fd);
        close(q[0]);
        q[0] = old_fd;
        assert_int_equal(fcntl(q[0], F_SETFL, O_NONBLOCK), 0);
    }
    watcher w = {.fd = q[0], .stop_at = 1, .consume = 1, .fut = aio_future_new(loop)};
    assert_int_equal(aio_add_reader(loop, q[0], watcher_cb, &w), 0);
    put_byte(q[1], 'z');
    /* A stop after 2 s turns "never woken" into AIO_ESTOPPED instead of a hang. */
    assert_int_equal(aio_call_later(loop, 2.0, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_until_complete(loop, aio_future_retain(loop, w.fut), NULL), 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(n, 0);
    aio_future_release(loop, w.fut);
    aio_remove_reader(loop, q[0]);
    close(q[0]);
    close(q[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* ---- the poll policy: I/O is never starved ---------------------------------------- */

typedef struct starve {
    int spins;       /* busy callbacks run so far */
    int spins_at_io; /* spins when the reader ran, or -1 */
    uint64_t callbacks_at_io;
    int done;
    int limit; /* give up (and fail) after this many spins */
    int fd;
} starve;

static void spin_soon(aio_loop *loop, void *arg) {
    starve *s = arg;
    if (s->done)
        return;
    if (++s->spins >= s->limit) {
        aio_loop_stop(loop);
        return;
    }
    assert_int_equal(aio_call_soon(loop, spin_soon, s, NULL), 0);
}

static void spin_timer(aio_loop *loop, void *arg) {
    starve *s = arg;
    if (s->done)
        return;
    if (++s->spins >= s->limit) {
        aio_loop_stop(loop);
        return;
    }
    assert_int_equal(aio_call_later(loop, 0.0, spin_timer, s, NULL), 0);
}

static void starve_reader(aio_loop *loop, void *arg) {
    starve *s = arg;
    aio_loop_stats st;
    assert_int_equal(aio_loop_get_stats(loop, &st), 0);
    s->callbacks_at_io = st.callbacks;
    s->spins_at_io = s->spins;
    s->done = 1;
    assert_int_equal(aio_remove_reader(loop, s->fd), 1);
    aio_loop_stop(loop);
}

static void run_starvation(aio_loop *loop, unsigned budget, aio_callback spinner, int as_timer) {
    int p[2];
    make_pipe(p);
    put_byte(p[1], 'r');
    starve s = {0, -1, 0, 0, 100000, p[0]};
    assert_int_equal(aio_add_reader(loop, p[0], starve_reader, &s), 0);
    if (as_timer)
        assert_int_equal(aio_call_later(loop, 0.0, spinner, &s, NULL), 0);
    else
        assert_int_equal(aio_call_soon(loop, spinner, &s, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(s.done, 1);
    assert_true(s.spins_at_io >= 0);
    assert_true(s.spins_at_io <= (int)budget + 2);
    assert_true(s.callbacks_at_io <= (uint64_t)budget + 2);
    close(p[0]);
    close(p[1]);
}

/* A callback that re-schedules itself forever (the ready queue never
 * empties) cannot delay a readable fd by more than poll_budget callbacks:
 * default budget. */
static void busy_queue_does_not_starve_io_default_budget(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    run_starvation(loop, AIO_DEFAULT_POLL_BUDGET, spin_soon, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* The same with a small explicit budget (8). */
static void busy_queue_does_not_starve_io_small_budget(void **state) {
    (void)state;
    aio_loop *loop = loop_with_budget(8);
    run_starvation(loop, 8, spin_soon, 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A zero-delay timer re-armed forever does not starve I/O either. */
static void zero_delay_timer_does_not_starve_io(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    run_starvation(loop, AIO_DEFAULT_POLL_BUDGET, spin_timer, 1);
    assert_int_equal(aio_loop_free(loop), 0);
    loop = loop_with_budget(4);
    run_starvation(loop, 4, spin_timer, 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A task that yields forever does not starve I/O either. */
typedef struct yielder {
    starve *s;
    int yields;
} yielder;

static aio_status yield_forever(aio_task *t, void *frame) {
    yielder *y = frame;
    AIO_BEGIN(t);
    while (!y->s->done && y->yields < y->s->limit) {
        y->yields++;
        y->s->spins++;
        AIO_YIELD(t);
    }
    AIO_RETURN(t, y->yields);
    AIO_END(t);
}

static void yielding_task_does_not_starve_io(void **state) {
    (void)state;
    aio_loop *loop = loop_with_budget(16);
    int p[2];
    make_pipe(p);
    put_byte(p[1], 'r');
    starve s = {0, -1, 0, 0, 100000, p[0]};
    assert_int_equal(aio_add_reader(loop, p[0], starve_reader, &s), 0);
    aio_future t = aio_create_task(loop, yield_forever, &(yielder){&s, 0});
    assert_int_equal(aio_future_check(t), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(s.done, 1);
    assert_true(s.spins_at_io <= 16 + 2);
    aio_value v = AIO_NONE;
    assert_int_equal(aio_run_until_complete(loop, t, &v), 0);
    assert_true(v.i <= 16 + 3);
    close(p[0]);
    close(p[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A busy ready queue does not starve timers either (real clock): a 1 ms
 * timer fires while a callback keeps re-scheduling itself. */
typedef struct timer_starve {
    int spins;
    int fired;
    double deadline;
    int gave_up;
} timer_starve;

static void spin_until(aio_loop *loop, void *arg) {
    timer_starve *s = arg;
    if (s->fired)
        return;
    s->spins++;
    if ((s->spins & 1023) == 0 && real_now() > s->deadline) {
        s->gave_up = 1;
        aio_loop_stop(loop);
        return;
    }
    assert_int_equal(aio_call_soon(loop, spin_until, s, NULL), 0);
}

static void timer_fired(aio_loop *loop, void *arg) {
    timer_starve *s = arg;
    s->fired = 1;
    aio_loop_stop(loop);
}

static void busy_queue_does_not_starve_timers(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    timer_starve s = {0, 0, real_now() + 10.0, 0};
    assert_int_equal(aio_call_later(loop, 0.001, timer_fired, &s, NULL), 0);
    assert_int_equal(aio_call_soon(loop, spin_until, &s, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(s.gave_up, 0);
    assert_int_equal(s.fired, 1);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* On the virtual clock, a readable fd is served before the clock jumps to
 * the next timer. */
typedef struct vio {
    int64_t read_at;
    int fd;
} vio;

static void vio_reader(aio_loop *loop, void *arg) {
    vio *v = arg;
    v->read_at = aio_loop_time_ns(loop);
    assert_int_equal(aio_remove_reader(loop, v->fd), 1);
}

static void virtual_clock_serves_io_before_jumping(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int p[2];
    make_pipe(p);
    put_byte(p[1], 'v');
    vio v = {-1, p[0]};
    assert_int_equal(aio_add_reader(loop, p[0], vio_reader, &v), 0);
    assert_int_equal(aio_call_later(loop, 5.0, stop_cb, NULL, NULL), 0);
    assert_int_equal(aio_run_forever(loop), 0);
    assert_int_equal(v.read_at, 0);
    assert_int_equal(aio_loop_time_ns(loop), 5000000000);
    close(p[0]);
    close(p[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

/* A watched fd is something that can complete the awaited future: no
 * AIO_EDEADLOCK while another thread will write to it (10 ms later). */
static void *write_later(void *arg) {
    int fd = *(int *)arg;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    char c = 'w';
    ssize_t n = write(fd, &c, 1);
    (void)n;
    return NULL;
}

static void watched_fd_is_not_a_deadlock(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int p[2];
    make_pipe(p);
    watcher w = {.fd = p[0], .stop_at = 1, .consume = 1, .fut = aio_future_new(loop)};
    assert_int_equal(aio_add_reader(loop, p[0], watcher_cb, &w), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_later, &p[1]), 0);
    int rc = aio_run_until_complete(loop, w.fut, NULL);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(w.got[0], 'w');
    close(p[0]);
    close(p[1]);
    assert_int_equal(aio_loop_free(loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_runs_when_readable),
        cmocka_unit_test(writer_runs_when_writable),
        cmocka_unit_test(reader_is_level_triggered),
        cmocka_unit_test(reader_wakes_on_eof),
        cmocka_unit_test(writer_waits_for_buffer_space),
        cmocka_unit_test(reader_and_writer_on_same_fd),
        cmocka_unit_test(watcher_errors_and_removal),
        cmocka_unit_test(second_reader_replaces_first),
        cmocka_unit_test(removed_reader_not_run_in_same_iteration),
        cmocka_unit_test(many_fds),
        cmocka_unit_test(close_watched_fd_then_remove),
        cmocka_unit_test(fd_number_reused_after_close_without_remove),
        cmocka_unit_test(busy_queue_does_not_starve_io_default_budget),
        cmocka_unit_test(busy_queue_does_not_starve_io_small_budget),
        cmocka_unit_test(zero_delay_timer_does_not_starve_io),
        cmocka_unit_test(yielding_task_does_not_starve_io),
        cmocka_unit_test(busy_queue_does_not_starve_timers),
        cmocka_unit_test(virtual_clock_serves_io_before_jumping),
        cmocka_unit_test(watched_fd_is_not_a_deadlock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
