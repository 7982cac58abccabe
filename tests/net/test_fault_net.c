/* Socket system calls that fail: EINTR, EAGAIN, ECONNRESET, EMFILE
 * injected through the system-call countdowns of core/fault.h (the wrappers
 * of io/sys.h), on every backend, one process per case. What must hold: EINTR is retried and invisible; an
 * EAGAIN is a wait, not an error, and loses nothing; ECONNRESET fails that
 * stream only (its reads, writes and drains), and the loop and every other
 * stream carry on; EMFILE on accept pauses the server without spinning,
 * and it recovers; a failed socket() leaks nothing. */
#include "net_support.h"

#include "core/fault.h"
#include "core/loop.h"
#include "net/net.h"

/* Fail the nth call of one kind (counting from 1) with err, or every one
 * from the nth on (core/fault.h's countdowns: process-wide, so each case
 * runs in a process of its own). */
static void arm(int call, int nth, int err) { aio__fault_sys_arm(call, AIO__FAULT_ONCE, nth, err); }
static void arm_from(int call, int nth, int err) { aio__fault_sys_arm(call, AIO__FAULT_FROM, nth, err); }
static long fired(int call) { return aio__fault_sys_failed(call); }

static void stream_pair(aio_loop *loop, aio_stream *a, aio_stream *b) {
    struct sockaddr_storage addr;
    socklen_t len;
    int L = net_listen(&addr, &len);
    int fa = net_connect(&addr, len);
    int fb = accept(L, NULL, NULL);
    close(L);
    assert_aio_ok(aio_stream_open_fd(loop, fa, NULL, a));
    assert_aio_ok(aio_stream_open_fd(loop, fb, NULL, b));
}

static int64_t read_some(aio_loop *loop, aio_stream s, char *buf, size_t n, int *err) {
    aio_value v;
    *err = aio_run_until_complete(loop, aio_stream_read(loop, s, buf, n), &v);
    return *err == 0 ? v.i : -1;
}

/* ---- EINTR ---- */

static void eintr_is_retried(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream a, b;
    stream_pair(loop, &a, &b);
    char buf[16];
    int err;
    arm(AIO__SYS_SEND, 1, EINTR);
    assert_aio_ok(aio_stream_write(loop, a, "hello", 5));
    assert_int_equal(fired(AIO__SYS_SEND), 1);
    arm(AIO__SYS_RECV, 1, EINTR);
    assert_int_equal(read_some(loop, b, buf, sizeof buf, &err), 5);
    assert_int_equal(fired(AIO__SYS_RECV), 1);
    assert_memory_equal(buf, "hello", 5);
    aio__fault_reset();
    aio_stream_close(loop, a);
    aio_stream_close(loop, b);
    aio_loop_free(loop);
}

static void eintr_on_accept_and_connect(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct sockaddr_storage addr;
    socklen_t len;
    int L = net_listen(&addr, &len);
    /* connect: interrupted, the connection goes on (as a real EINTR) */
    arm(AIO__SYS_CONNECT, 1, EINTR);
    aio_value v;
    assert_aio_ok(
        aio_run_until_complete(loop, aio_open_connection(loop, "127.0.0.1", net_port_of(&addr), NULL), &v));
    assert_int_equal(fired(AIO__SYS_CONNECT), 1);
    aio_stream c = aio_stream_from(v);
    /* accept: interrupted once, then it gets the connection */
    arm(AIO__SYS_ACCEPT, 1, EINTR);
    assert_aio_ok(aio_run_until_complete(loop, aio_sock_accept(loop, L, NULL, NULL), &v));
    assert_int_equal(fired(AIO__SYS_ACCEPT), 1);
    assert_true(v.i >= 0);
    close((int)v.i);
    aio__fault_reset();
    aio_stream_close(loop, c);
    close(L);
    aio_loop_free(loop);
}

/* ---- EAGAIN: a wait, nothing lost ---- */

static void eagain_on_recv_is_a_wait(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream a, b;
    stream_pair(loop, &a, &b);
    assert_aio_ok(aio_stream_write(loop, a, "one", 3));
    test_run_iterations(loop, 2);
    arm(AIO__SYS_RECV, 1, EAGAIN); /* the bytes are there, the recv says no */
    aio_future r = aio_stream_readexactly(loop, b, NULL, 6);
    test_run_iterations(loop, 3);
    assert_int_equal(fired(AIO__SYS_RECV), 1);
    /* More bytes come (a new edge on epoll; poll saw the first already). */
    assert_aio_ok(aio_stream_write(loop, a, "two", 3));
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, r, &v));
    assert_int_equal(v.i, 6);
    size_t n;
    const char *p = aio_stream_peek(loop, b, &n);
    assert_int_equal(n, 6);
    assert_memory_equal(p, "onetwo", 6);
    aio__fault_reset();
    aio_stream_close(loop, a);
    aio_stream_close(loop, b);
    aio_loop_free(loop);
}

static void eagain_on_send_buffers(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream a, b;
    stream_pair(loop, &a, &b);
    arm(AIO__SYS_SEND, 1, EAGAIN);
    assert_aio_ok(aio_stream_write(loop, a, "abc", 3));
    assert_int_equal(fired(AIO__SYS_SEND), 1);
    assert_int_equal(aio_stream_write_buffer_size(loop, a), 3); /* kept for later */
    /* The next report of the socket sends it: on an edge backend, any (the
     * peer's bytes arriving carry the writable state too). */
    assert_aio_ok(aio_stream_write(loop, b, "x", 1));
    char buf[8];
    int err;
    assert_int_equal(read_some(loop, b, buf, sizeof buf, &err), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(aio_stream_write_buffer_size(loop, a), 0);
    aio__fault_reset();
    aio_stream_close(loop, a);
    aio_stream_close(loop, b);
    aio_loop_free(loop);
}

/* ---- ECONNRESET: that stream fails, nothing else ---- */

static void econnreset_on_recv(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream a, b, c, d;
    stream_pair(loop, &a, &b);
    stream_pair(loop, &c, &d);
    aio_future r = aio_stream_read(loop, b, NULL, 0);
    test_run_iterations(loop, 2);
    arm(AIO__SYS_RECV, 1, ECONNRESET);
    assert_aio_ok(aio_stream_write(loop, a, "data", 4));
    assert_aio_err(aio_run_until_complete(loop, r, NULL), -ECONNRESET);
    aio__fault_reset();
    /* Sticky: reads, writes and drains of b fail with it. */
    char buf[8];
    int err;
    read_some(loop, b, buf, sizeof buf, &err);
    assert_aio_err(err, -ECONNRESET);
    assert_aio_err(aio_stream_write(loop, b, "x", 1), -ECONNRESET);
    assert_aio_err(aio_future_check(aio_stream_drain(loop, b)), -ECONNRESET);
    /* The other streams carry on. */
    assert_aio_ok(aio_stream_write(loop, c, "fine", 4));
    assert_int_equal(read_some(loop, d, buf, sizeof buf, &err), 4);
    aio_stream_close(loop, a);
    aio_stream_close(loop, b);
    aio_stream_close(loop, c);
    aio_stream_close(loop, d);
    aio_loop_free(loop);
}

struct drain_frame {
    aio_stream s;
    int *err;
};
AIO_CORO(drainer, struct drain_frame) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_stream_drain(t, f->s));
    *f->err = AIO_ERR(t);
    AIO_END(t);
}

static void econnreset_on_send_fails_writes_and_drains(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream a, b;
    stream_pair(loop, &a, &b);
    /* Fill a's socket and pause it, with a drain waiting. */
    char chunk[65536];
    memset(chunk, 'z', sizeof chunk);
    while (aio_stream_write_buffer_size(loop, a) <= 65536)
        assert_aio_ok(aio_stream_write(loop, a, chunk, sizeof chunk));
    int derr = 1;
    aio_future d = aio_spawn(loop, drainer, &(struct drain_frame){a, &derr});
    test_run_iterations(loop, 2);
    assert_int_equal(derr, 1);
    /* The peer reads; a's next send is reset. */
    arm(AIO__SYS_SEND, 1, ECONNRESET);
    int fd = aio_stream_fd(loop, b);
    net_set_nonblock(fd, 1);
    while (aio_future_done(loop, d) != 1) {
        char buf[65536];
        while (read(fd, buf, sizeof buf) > 0) {
        }
        test_run_iterations(loop, 1);
    }
    assert_aio_ok(aio_run_until_complete(loop, d, NULL));
    assert_aio_err(derr, -ECONNRESET); /* the drain waiting sees the error */
    assert_aio_err(aio_stream_write(loop, a, "x", 1), -ECONNRESET);
    assert_int_equal(aio_stream_write_buffer_size(loop, a), 0); /* what could not go was dropped */
    aio__fault_reset();
    aio_stream_close(loop, a);
    aio_stream_close(loop, b);
    aio_loop_free(loop);
}

/* ---- EMFILE ---- */

struct srv_state {
    int connections;
};
struct client {
    aio_stream stream;
    struct srv_state *st;
};
AIO_CORO(count_and_close, struct client) {
    AIO_BEGIN(t);
    f->st->connections++;
    AIO_END(t);
}

/* EMFILE from accept (injected: the real one runs in test_net_emfile):
 * the server stops accepting for a while, without spinning, then gets the
 * connection. */
static void emfile_on_accept_pauses_then_recovers(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    aio_value v;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_start_server(loop, "127.0.0.1", 0, count_and_close, &(struct client){.st = &st}, NULL),
        &v));
    aio_server srv = aio_server_from(v);
    arm_from(AIO__SYS_ACCEPT, 1, EMFILE); /* out of descriptors until we say so */
    struct sockaddr_storage a;
    socklen_t al = sizeof a;
    assert_aio_ok(aio_server_sockname(loop, srv, 0, (struct sockaddr *)&a, &al));
    int c = net_connect(&a, al);
    aio_loop_stats s0, s1;
    aio_loop_get_stats(loop, &s0);
    assert_aio_ok(aio_run_until_complete(loop, aio_sleep(loop, 0.3), NULL));
    aio_loop_get_stats(loop, &s1);
    assert_int_equal(st.connections, 0);
    assert_true(fired(AIO__SYS_ACCEPT) >= 2);  /* it tried again... */
    assert_true(fired(AIO__SYS_ACCEPT) <= 12); /* ...after pauses (10, 20, 40, ... ms): no spinning */
    assert_true(s1.polls - s0.polls < 40);     /* a poll per retry, not a spin */
    aio__fault_reset();                        /* descriptors are back */
    while (st.connections == 0)
        test_run_iterations(loop, 1);
    assert_int_equal(st.connections, 1);
    close(c);
    aio_server_close(loop, srv);
    assert_aio_ok(aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL));
    aio_loop_free(loop);
}

static void emfile_on_socket_leaks_nothing(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct sockaddr_storage addr;
    socklen_t len;
    int L = net_listen(&addr, &len);
    int fds = net_open_fds();
    arm(AIO__SYS_SOCKET, 1, EMFILE);
    assert_aio_err(
        aio_run_until_complete(loop, aio_open_connection(loop, "127.0.0.1", net_port_of(&addr), NULL), NULL),
        -EMFILE);
    assert_int_equal(net_open_fds(), fds);
    /* connect refused (injected): the socket is closed. */
    arm(AIO__SYS_CONNECT, 1, ECONNREFUSED);
    assert_aio_err(
        aio_run_until_complete(loop, aio_open_connection(loop, "127.0.0.1", net_port_of(&addr), NULL), NULL),
        -ECONNREFUSED);
    assert_int_equal(net_open_fds(), fds);
    aio__fault_reset();
    close(L);
    aio_loop_free(loop);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eintr_is_retried),
        cmocka_unit_test(eintr_on_accept_and_connect),
        cmocka_unit_test(eagain_on_recv_is_a_wait),
        cmocka_unit_test(eagain_on_send_buffers),
        cmocka_unit_test(econnreset_on_recv),
        cmocka_unit_test(econnreset_on_send_fails_writes_and_drains),
        cmocka_unit_test(emfile_on_accept_pauses_then_recovers),
        cmocka_unit_test(emfile_on_socket_leaks_nothing),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
