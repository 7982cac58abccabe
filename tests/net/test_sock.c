/* Awaitable fds and the sock_* calls on sockets the test owns:
 * aio_wait_readable / writable, aio_sock_recv, sendall, accept, connect.
 * Cases SOCK-01..04 of the streams acceptance spec, plus readiness,
 * FIFO order, and what a take that finds nothing does. White-box where a
 * case asks that no registration remains (io.h). */
#include "net_support.h"

#include "core/loop.h"
#include "io/io.h"

/* ---- a few coroutines ---- */

struct recv_task {
    int fd;
    size_t n;
    int err;
    int64_t got;
    char buf[1024];
};
struct accept_task {
    int fd;
    int err;
    int conn;
    struct sockaddr_storage addr;
    socklen_t alen;
};
struct send_task {
    int fd;
    const char *data;
    size_t n;
    int err;
};
AIO_CORO(sendall_once, struct send_task) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sock_sendall(t, f->fd, f->data, f->n));
    f->err = AIO_ERR(t);
    AIO_END(t);
}

static void socketpair_nb(int sv[2]) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

static unsigned registered(aio_loop *loop, int fd) {
    return fd < loop->io.cap ? loop->io.fds[fd].events : 0u;
}

/* ---- readiness ---- */

static void wait_readable_completes_when_data_arrives(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int sv[2];
    socketpair_nb(sv);
    int base = loop->io.count; /* the loop's own wakeup fd */
    aio_future r = aio_wait_readable(loop, sv[0]);
    assert_aio_ok(aio_future_check(r));
    assert_int_equal(loop->io.count, base + 1);
    test_run_iterations(loop, 3);
    assert_int_equal(aio_future_done(loop, r), 0); /* nothing to read */
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_aio_ok(aio_run_until_complete(loop, r, NULL));
    /* Writable at once; nothing stays registered once nobody waits. */
    assert_aio_ok(aio_run_until_complete(loop, aio_wait_writable(loop, sv[0]), NULL));
    assert_int_equal(registered(loop, sv[0]), 0);
    assert_int_equal(loop->io.count, base);
    char c;
    assert_int_equal(read(sv[0], &c, 1), 1); /* the byte is still there: nothing consumed it */
    close(sv[0]);
    close(sv[1]);
    aio_loop_free(loop);
}

static void wait_readable_errors(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    assert_aio_err(aio_future_check(aio_wait_readable(loop, -1)), -EBADF);
    assert_aio_err(aio_future_check(aio_wait_readable(loop, 1000)), -EBADF);
    assert_aio_err(aio_future_check(aio_wait_readable(NULL, 0)), -EINVAL);
    assert_aio_err(aio_future_check(aio_sock_recv(loop, 0, NULL, 5)), -EINVAL);
    aio_loop_close(loop);
    assert_aio_err(aio_future_check(aio_wait_readable(loop, 0)), AIO_ECLOSED);
    aio_loop_free(loop);
}

/* wait_for on a readiness waiter: the timeout cancels it, which removes
 * the fd's registration at once. */
struct wf_task {
    int fd;
    int *err;
};
AIO_CORO(readable_with_timeout, struct wf_task) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_wait_for(t, aio_wait_readable(t, f->fd), 0.05));
    *f->err = AIO_ERR(t);
    AIO_END(t);
}

static void wait_readable_timeout_unregisters(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    int sv[2];
    socketpair_nb(sv);
    int base = loop->io.count, err = 1;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_spawn(loop, readable_with_timeout, &(struct wf_task){sv[0], &err}), NULL));
    assert_aio_err(err, AIO_ETIMEDOUT);
    assert_int_equal(registered(loop, sv[0]), 0);
    assert_int_equal(loop->io.count, base);
    close(sv[0]);
    close(sv[1]);
    aio_loop_free(loop);
}

/* ---- SOCK-01: a round trip on sockets the caller owns ---- */

/* The tests' coroutines keep their state in the test's own struct (a task
 * runs on a copy of its frame): the frame holds a pointer to it. */
struct sock01 {
    int L, C;
    struct sockaddr_storage laddr;
    socklen_t llen;
    struct accept_task acc;
    char buf[1024];
    size_t got;
    int err;
};
static const char REQ[] = "GET / HTTP/1.0\r\n\r\n";

/* The accepted socket is the acceptor task's copy's business: it reports
 * it through a pointer. */
struct acc_frame {
    struct sock01 *x;
};
AIO_CORO(sock01_accept, struct acc_frame) {
    struct sock01 *x = f->x;
    AIO_BEGIN(t);
    x->acc.alen = sizeof x->acc.addr;
    AIO_AWAIT(t, aio_sock_accept(t, x->L, (struct sockaddr *)&x->acc.addr, &x->acc.alen));
    x->acc.err = AIO_ERR(t);
    x->acc.conn = AIO_ERR(t) == 0 ? (int)AIO_RESULT(t).i : -1;
    AIO_END(t);
}

struct recv_all_frame {
    int fd;
    char *buf;
    size_t want, *got;
    int *err;
};
AIO_CORO(recv_all, struct recv_all_frame) {
    AIO_BEGIN(t);
    while (*f->got < f->want) {
        AIO_AWAIT(t, aio_sock_recv(t, f->fd, f->buf + *f->got, f->want - *f->got));
        if (AIO_ERR(t) < 0 || AIO_RESULT(t).i == 0) {
            *f->err = AIO_ERR(t) < 0 ? AIO_ERR(t) : -EPIPE;
            AIO_RETURN(t, 0);
        }
        *f->got += (size_t)AIO_RESULT(t).i;
    }
    AIO_END(t);
}

struct connect_frame {
    int fd;
    const struct sockaddr_storage *addr;
    socklen_t len;
    int *err;
};
AIO_CORO(connect_once, struct connect_frame) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sock_connect(t, f->fd, (const struct sockaddr *)f->addr, f->len));
    *f->err = AIO_ERR(t);
    AIO_END(t);
}

static void SOCK_01_round_trip(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct sock01 x;
    memset(&x, 0, sizeof x);
    x.L = net_listen(&x.laddr, &x.llen);
    net_set_nonblock(x.L, 0);                             /* blocking: accept makes it non-blocking */
    x.C = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* blocking too */
    x.acc.conn = -1;
    aio_future acc = aio_spawn(loop, sock01_accept, &(struct acc_frame){&x});
    int cerr = 1;
    aio_future con = aio_spawn(loop, connect_once, &(struct connect_frame){x.C, &x.laddr, x.llen, &cerr});
    assert_aio_ok(aio_run_until_complete(loop, con, NULL));
    assert_aio_ok(cerr);
    assert_aio_ok(aio_run_until_complete(loop, acc, NULL));
    assert_aio_ok(x.acc.err);
    assert_true(x.acc.conn >= 0);
    assert_true(net_is_nonblock(x.acc.conn));                  /* the accepted socket is non-blocking */
    assert_true(net_is_nonblock(x.L) && net_is_nonblock(x.C)); /* documented: made non-blocking */
    /* addr is C's local address; C's peer address is L's. */
    struct sockaddr_storage cl, cp;
    socklen_t cll = sizeof cl, cpl = sizeof cp;
    assert_int_equal(getsockname(x.C, (struct sockaddr *)&cl, &cll), 0);
    assert_int_equal(getpeername(x.C, (struct sockaddr *)&cp, &cpl), 0);
    assert_int_equal(x.acc.alen, cll);
    assert_memory_equal(&x.acc.addr, &cl, cll);
    assert_int_equal(cpl, x.llen);
    assert_memory_equal(&cp, &x.laddr, cpl);
    /* sendall, then recv on the accepted socket (a short first read is fine). */
    aio_future snd = aio_spawn(loop, sendall_once, &(struct send_task){x.C, REQ, sizeof REQ - 1, 0});
    int rerr = 0;
    aio_future rcv =
        aio_spawn(loop, recv_all, &(struct recv_all_frame){x.acc.conn, x.buf, sizeof REQ - 1, &x.got, &rerr});
    assert_aio_ok(aio_run_until_complete(loop, snd, NULL));
    assert_aio_ok(aio_run_until_complete(loop, rcv, NULL));
    assert_aio_ok(rerr);
    assert_int_equal(x.got, sizeof REQ - 1);
    assert_memory_equal(x.buf, REQ, sizeof REQ - 1);
    close(x.acc.conn);
    close(x.L);
    close(x.C);
    aio_loop_free(loop);
}

/* A blocking socket never blocks the loop in recv (MSG_DONTWAIT). */
static void send_later(aio_loop *loop, void *arg) {
    (void)loop;
    assert_int_equal(write(*(int *)arg, "late", 4), 4);
}

static void SOCK_01_blocking_socket_never_blocks(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0); /* blocking */
    int err = 1;
    size_t got = 0;
    char buf[16];
    aio_future rt = aio_spawn(loop, recv_all, &(struct recv_all_frame){sv[0], buf, 4, &got, &err});
    assert_aio_ok(aio_call_later(loop, 0.02, send_later, &sv[1], NULL));
    assert_aio_ok(aio_run_until_complete(loop, rt, NULL));
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "late", 4);
    assert_false(net_is_nonblock(sv[0])); /* recv leaves the socket's flags alone */
    close(sv[0]);
    close(sv[1]);
    aio_loop_free(loop);
}

/* ---- SOCK-02: bulk transfer, then EOF ---- */

#define BULK 1000000
struct bulk {
    char *payload;
    char *got;
    size_t ngot;
    int err;
    int reads;
    int64_t eof_result;
};
struct bulk_reader_frame {
    int fd;
    struct bulk *b;
    bool into; /* recv_into style: one caller-owned 1,000,000-byte buffer */
    char *chunk;
};
AIO_CORO(bulk_reader, struct bulk_reader_frame) {
    AIO_BEGIN(t);
    for (;;) {
        if (f->into)
            AIO_AWAIT(t, aio_sock_recv(t, f->fd, f->b->got + f->b->ngot, BULK - f->b->ngot + 1));
        else
            AIO_AWAIT(t, aio_sock_recv(t, f->fd, f->chunk, BULK));
        if (AIO_ERR(t) < 0) {
            f->b->err = AIO_ERR(t);
            AIO_RETURN(t, 0);
        }
        if (AIO_RESULT(t).i == 0)
            break;
        assert_true(AIO_RESULT(t).i >= 1 && AIO_RESULT(t).i <= BULK);
        if (!f->into)
            memcpy(f->b->got + f->b->ngot, f->chunk, (size_t)AIO_RESULT(t).i);
        f->b->ngot += (size_t)AIO_RESULT(t).i;
        f->b->reads++;
    }
    f->b->eof_result = AIO_RESULT(t).i; /* empty at EOF, not an error */
    AIO_END(t);
}

struct bulk_writer_frame {
    int fd;
    struct bulk *b;
    int err;
};
AIO_CORO(bulk_writer, struct bulk_writer_frame) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sock_sendall(t, f->fd, f->b->payload, BULK));
    f->b->err = AIO_ERR(t);
    shutdown(f->fd, SHUT_WR);
    AIO_END(t);
}

static void bulk_run(bool into) {
    aio_loop *loop = test_loop_new(0);
    struct sockaddr_storage a;
    socklen_t al;
    int L = net_listen(&a, &al);
    int C = net_connect(&a, al);
    int S = accept(L, NULL, NULL);
    net_set_nonblock(S, 1);
    net_set_nonblock(C, 1);
    struct bulk b;
    memset(&b, 0, sizeof b);
    b.payload = malloc(BULK);
    b.got = malloc(BULK + 1);
    char *chunk = malloc(BULK);
    for (size_t i = 0; i < BULK; i++)
        b.payload[i] = (char)('0' + i % 10);
    aio_future r = aio_spawn(loop, bulk_reader, &(struct bulk_reader_frame){S, &b, into, chunk});
    aio_future w = aio_spawn(loop, bulk_writer, &(struct bulk_writer_frame){C, &b, 0});
    assert_aio_ok(aio_run_until_complete(loop, w, NULL));
    assert_aio_ok(aio_run_until_complete(loop, r, NULL));
    assert_aio_ok(b.err);
    assert_int_equal(b.ngot, BULK);
    assert_memory_equal(b.got, b.payload, BULK);
    assert_true(b.reads >= 1);
    assert_int_equal(b.eof_result, 0);
    free(b.payload);
    free(b.got);
    free(chunk);
    close(S);
    close(C);
    close(L);
    aio_loop_free(loop);
}

static void SOCK_02_bulk_then_eof(void **state) {
    (void)state;
    bulk_run(false);
}
static void SOCK_02_bulk_recv_into(void **state) {
    (void)state;
    bulk_run(true);
}

/* ---- SOCK-03: cancel, then retry at once ---- */

static void SOCK_03_cancelled_recv_takes_nothing(void **state) {
    (void)state;
    for (int variant = 0; variant < 2; variant++) { /* (a) cancel; (b) wait_for's timeout */
        aio_loop *loop = test_loop_new(0);
        int sv[2];
        socketpair_nb(sv);
        int err1 = 1;
        size_t got1 = 0;
        char buf1[1024];
        aio_future t1 = aio_spawn(loop, recv_all, &(struct recv_all_frame){sv[0], buf1, 1024, &got1, &err1});
        test_run_iterations(loop, 1);
        assert_int_equal(aio_task_cancel(loop, t1, NULL), 1);
        /* At once, no yield in between: a new recv; then the peer sends R. */
        int err2 = 0;
        size_t got2 = 0;
        char buf2[1024];
        aio_future t2 = aio_spawn(loop, recv_all, &(struct recv_all_frame){sv[0], buf2, 1, &got2, &err2});
        assert_int_equal(write(sv[1], "R", 1), 1);
        assert_aio_ok(aio_run_until_complete(loop, t2, NULL));
        assert_aio_err(aio_run_until_complete(loop, t1, NULL), AIO_ECANCELLED);
        assert_int_equal(got1, 0); /* the cancelled call took nothing */
        assert_int_equal(got2, 1);
        assert_int_equal(buf2[0], 'R');
        assert_int_equal(registered(loop, sv[0]), 0);
        close(sv[0]);
        close(sv[1]);
        aio_loop_free(loop);
    }
}

/* (c) a cancelled sendall, then another at once. */
static void SOCK_03_cancelled_sendall_then_another(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int sv[2];
    socketpair_nb(sv);
    int C = sv[0], peer = sv[1];
    /* Fill C's send buffer with spaces until a 4-byte send would block. */
    char spaces[4096];
    memset(spaces, ' ', sizeof spaces);
    size_t filled = 0;
    for (;;) {
        ssize_t k = send(C, spaces, sizeof spaces, MSG_DONTWAIT);
        if (k > 0) {
            filled += (size_t)k;
            continue;
        }
        k = send(C, spaces, 4, MSG_DONTWAIT);
        if (k > 0) {
            filled += (size_t)k;
            continue;
        }
        break;
    }
    aio_future t1 = aio_spawn(loop, sendall_once, &(struct send_task){C, "hello", 5, 1});
    test_run_iterations(loop, 1);
    assert_int_equal(aio_task_cancel(loop, t1, NULL), 1);
    aio_future t2 = aio_spawn(loop, sendall_once, &(struct send_task){C, "world", 5, 1});
    /* The peer reads everything meanwhile, on a thread of its own would be
     * simplest; here: drain from a loop callback until EOF. */
    char *all = malloc(filled + 64);
    size_t nall = 0;
    while (aio_future_done(loop, t2) != 1) {
        ssize_t k = read(peer, all + nall, filled + 64 - nall);
        if (k > 0)
            nall += (size_t)k;
        test_run_iterations(loop, 1);
    }
    assert_aio_ok(aio_run_until_complete(loop, t2, NULL));
    assert_aio_err(aio_run_until_complete(loop, t1, NULL), AIO_ECANCELLED);
    shutdown(C, SHUT_WR);
    net_set_nonblock(peer, 0);
    for (;;) {
        ssize_t k = read(peer, all + nall, filled + 64 - nall);
        if (k <= 0)
            break;
        nall += (size_t)k;
    }
    /* The non-space bytes end with "world"; a prefix of "hello" may come first. */
    char tail[16];
    size_t nt = 0;
    for (size_t i = 0; i < nall; i++)
        if (all[i] != ' ' && nt < sizeof tail)
            tail[nt++] = all[i];
    assert_true(nt >= 5);
    assert_memory_equal(tail + nt - 5, "world", 5);
    for (size_t i = 0; i + 5 < nt; i++)
        assert_int_equal(tail[i], "hello"[i]);
    free(all);
    close(C);
    close(peer);
    aio_loop_free(loop);
}

/* ---- SOCK-04: refused, and a timed-out accept ---- */

struct acc_wf_frame {
    int fd;
    int *err;
};
AIO_CORO(accept_with_timeout, struct acc_wf_frame) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_wait_for(t, aio_sock_accept(t, f->fd, NULL, NULL), 0.1));
    *f->err = AIO_ERR(t);
    if (AIO_ERR(t) == 0)
        close((int)AIO_RESULT(t).i);
    AIO_END(t);
}

static void SOCK_04_refused_and_accept_timeout(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    /* (a) refused */
    struct sockaddr_storage dead;
    socklen_t dl;
    net_closed_port(&dead, &dl);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int err = 1;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_spawn(loop, connect_once, &(struct connect_frame){fd, &dead, dl, &err}), NULL));
    assert_aio_err(err, -ECONNREFUSED);
    close(fd);
    /* (b) wait_for(sock_accept(L), 0.1) with no client */
    struct sockaddr_storage a;
    socklen_t al;
    int L = net_listen(&a, &al);
    double t0 = aio_loop_time(loop);
    assert_aio_ok(aio_run_until_complete(
        loop, aio_spawn(loop, accept_with_timeout, &(struct acc_wf_frame){L, &err}), NULL));
    double dt = aio_loop_time(loop) - t0;
    assert_aio_err(err, AIO_ETIMEDOUT);
    assert_true(dt >= 0.1 && dt < 5.0);
    assert_int_equal(registered(loop, L), 0); /* no registration for L remains */
    close(L);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_aio_ok(aio_run_until_complete(
        loop, aio_spawn(loop, connect_once, &(struct connect_frame){fd, &a, al, &err}), NULL));
    assert_aio_err(err, -ECONNREFUSED);
    close(fd);
    aio_loop_free(loop);
}

/* ---- order and edge cases ---- */

/* Two recvs on one socket: readiness goes to them in FIFO order. */
static void recv_waiters_in_fifo_order(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int sv[2];
    socketpair_nb(sv);
    int e1 = 0, e2 = 0;
    size_t g1 = 0, g2 = 0;
    char b1[4], b2[4];
    aio_future t1 = aio_spawn(loop, recv_all, &(struct recv_all_frame){sv[0], b1, 1, &g1, &e1});
    aio_future t2 = aio_spawn(loop, recv_all, &(struct recv_all_frame){sv[0], b2, 1, &g2, &e2});
    test_run_iterations(loop, 2);
    assert_int_equal(write(sv[1], "A", 1), 1);
    assert_aio_ok(aio_run_until_complete(loop, t1, NULL));
    assert_int_equal(g2, 0);
    assert_int_equal(write(sv[1], "B", 1), 1);
    assert_aio_ok(aio_run_until_complete(loop, t2, NULL));
    assert_int_equal(b1[0], 'A');
    assert_int_equal(b2[0], 'B');
    close(sv[0]);
    close(sv[1]);
    aio_loop_free(loop);
}

/* Something else reads the socket between the wake-up and the resume: the
 * recv finds nothing, ends with -EAGAIN, and took nothing. */
static void steal(aio_loop *loop, void *arg) {
    int fd = *(int *)arg;
    char c;
    assert_int_equal(read(fd, &c, 1), 1);
    aio_remove_reader(loop, fd);
}

static void take_after_a_thief_is_eagain(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int sv[2];
    socketpair_nb(sv);
    struct recv_task *r = calloc(1, sizeof *r);
    int err = 1;
    size_t got = 0;
    char buf[4];
    aio_future t1 = aio_spawn(loop, recv_all, &(struct recv_all_frame){sv[0], buf, 1, &got, &err});
    test_run_iterations(loop, 1);
    /* A public reader on the same fd runs before the woken task resumes. */
    assert_aio_ok(aio_add_reader(loop, sv[0], steal, &sv[0]));
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_aio_ok(aio_run_until_complete(loop, t1, NULL));
    assert_aio_err(err, -EAGAIN);
    assert_int_equal(got, 0);
    free(r);
    close(sv[0]);
    close(sv[1]);
    aio_loop_free(loop);
}

/* A stream's fd is the stream's: the sock_* calls and add_reader refuse it. */
static void a_streams_fd_is_refused(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int sv[2];
    socketpair_nb(sv);
    aio_stream s;
    assert_aio_ok(aio_stream_open_fd(loop, sv[0], NULL, &s));
    char c;
    assert_aio_err(aio_future_check(aio_sock_recv(loop, sv[0], &c, 1)), -EBUSY);
    assert_aio_err(aio_future_check(aio_wait_readable(loop, sv[0])), -EBUSY);
    assert_aio_err(aio_future_check(aio_sock_sendall(loop, sv[0], "x", 1)), -EBUSY);
    assert_aio_err(aio_add_reader(loop, sv[0], steal, NULL), -EBUSY);
    assert_aio_ok(aio_stream_close(loop, s));
    close(sv[1]);
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wait_readable_completes_when_data_arrives),
        cmocka_unit_test(wait_readable_errors),
        cmocka_unit_test(wait_readable_timeout_unregisters),
        cmocka_unit_test(SOCK_01_round_trip),
        cmocka_unit_test(SOCK_01_blocking_socket_never_blocks),
        cmocka_unit_test(SOCK_02_bulk_then_eof),
        cmocka_unit_test(SOCK_02_bulk_recv_into),
        cmocka_unit_test(SOCK_03_cancelled_recv_takes_nothing),
        cmocka_unit_test(SOCK_03_cancelled_sendall_then_another),
        cmocka_unit_test(SOCK_04_refused_and_accept_timeout),
        cmocka_unit_test(recv_waiters_in_fifo_order),
        cmocka_unit_test(take_after_a_thief_is_eagain),
        cmocka_unit_test(a_streams_fd_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
