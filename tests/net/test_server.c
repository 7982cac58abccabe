/* Connections and servers: CONN-01..03, SERVER-01..04 and UNIX-01..03 of
 * the streams acceptance spec, and the list: refused, host not
 * found, a reset mid-write, cancel of a connect and of an accept, IPv6.
 * Every server a test starts is closed before the test ends. */
#include "net_support.h"

#include "core/loop.h"
#include "net/net.h"

#include <netinet/tcp.h>

/* ---- what a test's handlers share with it ---- */
struct srv_state {
    int connections;
    int finished;
    int nodelay;
    struct sockaddr_storage peer; /* the server side's peername */
    socklen_t peerlen;
    struct sockaddr_storage sock; /* and its sockname */
    socklen_t socklen;
    int mode; /* what the handler does (below) */
    int err;
};
enum {
    ECHO_LINE,
    ECHO_ALL,
    READ_TO_EOF_THEN_CLOSE,
    PARTIAL_THEN_FAIL,
    BYE_THEN_CANCEL,
    RETURN_UNCLOSED,
    FLOOD
};

struct client {
    aio_stream stream; /* set by the server */
    struct srv_state *st;
    char line[256];
    int n;
};
AIO_CORO(handler, struct client) {
    struct srv_state *st = f->st;
    AIO_BEGIN(t);
    st->connections++;
    {
        int fd = aio_stream_fd(t, f->stream), one = 0;
        socklen_t l = sizeof one;
        if (fd >= 0 && getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, &l) == 0 && one)
            st->nodelay++;
        st->peerlen = sizeof st->peer;
        aio_stream_peername(t, f->stream, (struct sockaddr *)&st->peer, &st->peerlen);
        st->socklen = sizeof st->sock;
        aio_stream_sockname(t, f->stream, (struct sockaddr *)&st->sock, &st->socklen);
    }
    if (st->mode == ECHO_LINE) {
        AIO_AWAIT_OR(t, aio_stream_readline(t, f->stream, f->line, sizeof f->line), out);
        aio_stream_write(t, f->stream, f->line, (size_t)AIO_RESULT(t).i);
        AIO_AWAIT_OR(t, aio_stream_drain(t, f->stream), out);
        aio_stream_close(t, f->stream);
        AIO_AWAIT(t, aio_stream_wait_closed(t, f->stream));
    } else if (st->mode == ECHO_ALL) {
        for (;;) {
            AIO_AWAIT_OR(t, aio_stream_read(t, f->stream, NULL, 0), out); /* zero-copy */
            if (AIO_RESULT(t).i == 0)
                break;
            {
                size_t len;
                const void *p = aio_stream_peek(t, f->stream, &len);
                if (aio_stream_write(t, f->stream, p, len) < 0)
                    break;
                aio_stream_consume(t, f->stream, len);
            }
            AIO_AWAIT_OR(t, aio_stream_drain(t, f->stream), out);
        }
        aio_stream_write_eof(t, f->stream);
    } else if (st->mode == READ_TO_EOF_THEN_CLOSE) {
        AIO_AWAIT(t, aio_stream_read_to_eof(t, f->stream));
        aio_stream_close(t, f->stream);
    } else if (st->mode == PARTIAL_THEN_FAIL) {
        aio_stream_write(t, f->stream, "partial", 7);
        st->finished++;
        AIO_FAIL(t, -EIO);
    } else if (st->mode == BYE_THEN_CANCEL) {
        aio_stream_write(t, f->stream, "bye", 3);
        aio_task_cancel(t, aio_task_handle(t), NULL);
        AIO_AWAIT(t, aio_sleep(t, 0)); /* where the cancel lands */
        st->finished++;
        AIO_RETURN(t, 0);
    } else if (st->mode == RETURN_UNCLOSED) {
        aio_stream_write(t, f->stream, "unclosed", 8);
    } else if (st->mode == FLOOD) {
        for (f->n = 0; f->n < 100000; f->n++) {
            if ((st->err = aio_stream_write(t, f->stream, f->line, sizeof f->line)) < 0)
                break;
            AIO_AWAIT(t, aio_stream_drain(t, f->stream));
            if (AIO_ERR(t) < 0) {
                st->err = AIO_ERR(t);
                break;
            }
        }
    }
out:
    if (AIO_ERR(t) < 0 && AIO_ERR(t) != AIO_ECANCELLED)
        st->err = AIO_ERR(t);
    st->finished++;
    AIO_END(t);
}

static aio_server start(aio_loop *loop, const char *host, struct srv_state *st, const aio_server_options *o) {
    aio_value v;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_start_server(loop, host, 0, handler, &(struct client){.st = st}, o), &v));
    return aio_server_from(v);
}

static void stop(aio_loop *loop, aio_server srv) {
    assert_aio_ok(aio_server_close(loop, srv));
    aio_server_close_clients(loop, srv);
    assert_aio_ok(aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL));
}

static aio_stream connect_to(aio_loop *loop, const char *host, int port) {
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_open_connection(loop, host, port, NULL), &v));
    return aio_stream_from(v);
}

/* Read what a stream gets until EOF (or an error): into buf, the count. */
static int64_t read_all(aio_loop *loop, aio_stream s, char *buf, size_t cap, int *err) {
    aio_value v;
    *err = aio_run_until_complete(loop, aio_stream_read_to_eof(loop, s), &v);
    if (*err < 0)
        return -1;
    size_t len;
    const void *p = aio_stream_peek(loop, s, &len);
    if (len > cap)
        len = cap;
    if (len)
        memcpy(buf, p, len);
    return (int64_t)len;
}

/* ---- CONN-01: a connection and its addresses ---- */

static void CONN_01_open_connection(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports reports;
    test_collect_reports(loop, &reports);
    struct srv_state st = {0};
    st.mode = ECHO_LINE;
    aio_server srv = start(loop, "127.0.0.1", &st, NULL);
    int port = aio_server_port(loop, srv);
    assert_true(port > 0);
    aio_stream c = connect_to(loop, "127.0.0.1", port);
    assert_aio_ok(aio_stream_write(loop, c, "hello world!\n", 13));
    char line[64];
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_readline(loop, c, line, sizeof line), &v));
    assert_int_equal(v.i, 13);
    assert_memory_equal(line, "hello world!\n", 13);
    /* peername: the server socket's address; sockname: what the server sees. */
    struct sockaddr_storage p, s, sa;
    socklen_t pl = sizeof p, sl = sizeof s, sal = sizeof sa;
    assert_aio_ok(aio_stream_peername(loop, c, (struct sockaddr *)&p, &pl));
    assert_aio_ok(aio_stream_sockname(loop, c, (struct sockaddr *)&s, &sl));
    assert_aio_ok(aio_server_sockname(loop, srv, 0, (struct sockaddr *)&sa, &sal));
    assert_int_equal(pl, sal);
    assert_memory_equal(&p, &sa, pl);
    assert_int_equal(sl, st.peerlen);
    assert_memory_equal(&s, &st.peer, sl);
    /* TCP_NODELAY on both sides. */
    int one = 0;
    socklen_t ol = sizeof one;
    assert_int_equal(getsockopt(aio_stream_fd(loop, c), IPPROTO_TCP, TCP_NODELAY, &one, &ol), 0);
    assert_int_equal(one, 1);
    assert_int_equal(st.nodelay, 1);
    aio_stream_close(loop, c);
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_wait_closed(loop, c), NULL));
    /* libaio: a closed stream's addresses are gone (AIO_ECLOSED); read them first. */
    assert_aio_err(aio_stream_peername(loop, c, (struct sockaddr *)&p, &pl), AIO_ECLOSED);
    stop(loop, srv);
    assert_int_equal(st.finished, 1);
    assert_aio_ok(st.err);
    assert_int_equal(reports.count, 0); /* nothing reported */
    aio_loop_free(loop);
}

/* ---- CONN-02: refused ---- */

static void CONN_02_refused(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports reports;
    test_collect_reports(loop, &reports);
    struct sockaddr_storage dead;
    socklen_t dl;
    int port = net_closed_port(&dead, &dl);
    int fds = net_open_fds();
    assert_aio_err(aio_run_until_complete(loop, aio_open_connection(loop, "127.0.0.1", port, NULL), NULL),
                   -ECONNREFUSED);
    assert_int_equal(net_open_fds(), fds);
    /* A name with several addresses, all refusing: the first one's error. */
    assert_aio_err(aio_run_until_complete(loop, aio_open_connection(loop, "localhost", port, NULL), NULL),
                   -ECONNREFUSED);
    assert_int_equal(net_open_fds(), fds);
    /* The loop and other connections carry on. */
    struct srv_state st = {0};
    st.mode = ECHO_LINE;
    aio_server srv = start(loop, "127.0.0.1", &st, NULL);
    aio_stream c = connect_to(loop, "127.0.0.1", aio_server_port(loop, srv));
    assert_aio_ok(aio_stream_write(loop, c, "x\n", 2));
    char line[8];
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_readline(loop, c, line, sizeof line), NULL));
    aio_stream_close(loop, c);
    stop(loop, srv);
    assert_int_equal(reports.count, 0);
    aio_loop_free(loop);
}

/* ---- CONN-03: a host that cannot be resolved ---- */

static void CONN_03_host_not_found(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    int fds = net_open_fds();
    assert_aio_err(
        aio_run_until_complete(loop, aio_open_connection(loop, "nonexistent.invalid", 80, NULL), NULL),
        AIO_ENOTFOUND);
    assert_int_equal(net_open_fds(), fds); /* no socket was made */
    assert_aio_err(aio_future_check(aio_open_connection(loop, NULL, 80, NULL)), -EINVAL);
    assert_aio_err(aio_future_check(aio_open_connection(loop, "127.0.0.1", 70000, NULL)), -EINVAL);
    /* A name that resolves connects: the lookup ran on the executor. */
    struct srv_state st = {0};
    st.mode = ECHO_LINE;
    aio_server srv = start(loop, "localhost", &st, NULL);
    assert_true(aio_server_nsockets(loop, srv) >= 1);
    aio_stream c = connect_to(loop, "localhost", aio_server_port(loop, srv));
    aio_stream_close(loop, c);
    stop(loop, srv);
    aio_loop_free(loop);
}

/* ---- SERVER-01: start, serve, stop ---- */

static void SERVER_01_start_serve_stop(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    test_reports reports;
    test_collect_reports(loop, &reports);
    struct srv_state st = {0};
    st.mode = ECHO_LINE;
    aio_server srv = start(loop, "127.0.0.1", &st, NULL);
    assert_int_equal(aio_server_is_serving(loop, srv), 1);
    assert_int_equal(aio_server_nsockets(loop, srv), 1);
    int port = aio_server_port(loop, srv);
    aio_stream c = connect_to(loop, "127.0.0.1", port);
    assert_aio_ok(aio_stream_write(loop, c, "hello world!\n", 13));
    char line[64];
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_readline(loop, c, line, sizeof line), &v));
    assert_int_equal(v.i, 13);
    aio_stream_close(loop, c);
    assert_aio_ok(aio_server_close(loop, srv));
    assert_aio_ok(aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL));
    assert_int_equal(aio_server_nsockets(loop, srv), 0);
    assert_int_equal(aio_server_is_serving(loop, srv), 0);
    assert_aio_err(aio_run_until_complete(loop, aio_open_connection(loop, "127.0.0.1", port, NULL), NULL),
                   -ECONNREFUSED);
    assert_int_equal(reports.count, 0);
    aio_loop_free(loop);
}

/* ---- SERVER-02: what wait_closed waits for ---- */

struct wc {
    aio_server srv;
    int *done;
};
AIO_CORO(server_wait_closed, struct wc) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_server_wait_closed(t, f->srv));
    *f->done = AIO_ERR(t) == 0 ? 1 : AIO_ERR(t);
    AIO_END(t);
}

static void SERVER_02_wait_closed(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    st.mode = READ_TO_EOF_THEN_CLOSE;
    aio_server srv = start(loop, "127.0.0.1", &st, NULL);
    int port = aio_server_port(loop, srv);
    int d1 = 0, d2 = 0, d3 = 0;
    aio_future t1 = aio_spawn(loop, server_wait_closed, &(struct wc){srv, &d1});
    test_run_iterations(loop, 3);
    aio_stream c = connect_to(loop, "127.0.0.1", port);
    while (st.connections == 0)
        test_run_iterations(loop, 1);
    aio_future t2 = aio_spawn(loop, server_wait_closed, &(struct wc){srv, &d2});
    assert_aio_ok(aio_server_close(loop, srv));
    aio_future t3 = aio_spawn(loop, server_wait_closed, &(struct wc){srv, &d3});
    test_run_iterations(loop, 5);
    assert_int_equal(d1 + d2 + d3, 0); /* all pending while the client is connected */
    /* close() stopped accepting, but the client can still write. */
    assert_aio_err(aio_run_until_complete(loop, aio_open_connection(loop, "127.0.0.1", port, NULL), NULL),
                   -ECONNREFUSED);
    assert_aio_ok(aio_stream_write(loop, c, "still here", 10));
    test_run_iterations(loop, 3);
    assert_int_equal(d1 + d2 + d3, 0);
    aio_stream_close(loop, c); /* the client leaves: all three complete */
    assert_aio_ok(aio_run_until_complete(loop, t1, NULL));
    assert_aio_ok(aio_run_until_complete(loop, t2, NULL));
    assert_aio_ok(aio_run_until_complete(loop, t3, NULL));
    assert_int_equal(d1 + d2 + d3, 3);
    assert_aio_ok(aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL)); /* at once */

    /* The server's and the client's close in the same iteration. */
    srv = start(loop, "127.0.0.1", &st, NULL);
    int before = st.connections;
    c = connect_to(loop, "127.0.0.1", aio_server_port(loop, srv));
    while (st.connections == before)
        test_run_iterations(loop, 1);
    aio_stream_close(loop, c);
    aio_server_close(loop, srv);
    assert_aio_ok(aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL));

    /* Not asyncio 3.12's trap: close_clients ends a client that never leaves. */
    srv = start(loop, "127.0.0.1", &st, NULL);
    before = st.connections;
    c = connect_to(loop, "127.0.0.1", aio_server_port(loop, srv));
    while (st.connections == before)
        test_run_iterations(loop, 1);
    aio_server_close(loop, srv);
    assert_int_equal(aio_server_close_clients(loop, srv), 1);
    assert_aio_ok(aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL));
    aio_stream_close(loop, c);
    aio_loop_free(loop);
}

/* ---- SERVER-03: start_serving and serve_forever ---- */

struct sf {
    aio_server srv;
    int *err;
};
AIO_CORO(serve_forever_task, struct sf) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_server_serve_forever(t, f->srv));
    *f->err = AIO_ERR(t);
    AIO_END(t);
}

static void SERVER_03_serve_forever(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    st.mode = ECHO_LINE;
    aio_server_options o = {0};
    o.defer_serving = 1;
    aio_server srv = start(loop, "127.0.0.1", &st, &o);
    int port = aio_server_port(loop, srv);
    assert_int_equal(aio_server_is_serving(loop, srv), 0);
    assert_aio_err(aio_run_until_complete(loop, aio_open_connection(loop, "127.0.0.1", port, NULL), NULL),
                   -ECONNREFUSED); /* bound, not listening */
    int err = 1;
    aio_future sf1 = aio_spawn(loop, serve_forever_task, &(struct sf){srv, &err});
    test_run_iterations(loop, 2);
    assert_int_equal(aio_server_is_serving(loop, srv), 1);
    assert_aio_err(aio_future_check(aio_server_serve_forever(loop, srv)), -EBUSY);
    aio_stream c = connect_to(loop, "127.0.0.1", port);
    aio_stream_close(loop, c);
    /* close() while serve_forever is awaited: it ends cancelled. */
    assert_aio_ok(aio_server_close(loop, srv));
    assert_aio_ok(aio_run_until_complete(loop, sf1, NULL)); /* the task saw it and returned */
    assert_aio_err(err, AIO_ECANCELLED);
    assert_aio_ok(aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL));
    assert_aio_err(aio_future_check(aio_server_serve_forever(loop, srv)), AIO_ECLOSED);

    /* Cancelling serve_forever closes the server. */
    srv = start(loop, "127.0.0.1", &st, NULL);
    err = 1;
    aio_future sf2 = aio_spawn(loop, serve_forever_task, &(struct sf){srv, &err});
    test_run_iterations(loop, 2);
    assert_int_equal(aio_task_cancel(loop, sf2, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, sf2, NULL), AIO_ECANCELLED);
    assert_int_equal(aio_server_nsockets(loop, srv), 0);
    assert_int_equal(aio_server_is_serving(loop, srv), 0);
    assert_aio_err(aio_future_check(aio_server_serve_forever(loop, srv)), AIO_ECLOSED);
    aio_loop_free(loop);
}

/* ---- SERVER-04: how a connection task ends ---- */

static void SERVER_04_task_endings(void **state) {
    (void)state;
    const int modes[] = {PARTIAL_THEN_FAIL, BYE_THEN_CANCEL, RETURN_UNCLOSED};
    const char *expect[] = {"partial", "bye", "unclosed"};
    for (int m = 0; m < 3; m++) {
        aio_loop *loop = test_loop_new(0);
        test_reports reports;
        test_collect_reports(loop, &reports);
        struct srv_state st = {0};
        st.mode = modes[m];
        aio_server srv = start(loop, "127.0.0.1", &st, NULL);
        aio_stream c = connect_to(loop, "127.0.0.1", aio_server_port(loop, srv));
        char buf[64];
        int err;
        int64_t n = read_all(loop, c, buf, sizeof buf, &err);
        assert_aio_ok(err);
        assert_int_equal(n, (int64_t)strlen(expect[m])); /* the bytes written, then EOF */
        assert_memory_equal(buf, expect[m], (size_t)n);
        if (modes[m] == PARTIAL_THEN_FAIL) {
            assert_int_equal(reports.count, 1);
            assert_string_equal(reports.last_message, "Unhandled error in a client connection task");
            assert_aio_err(reports.last_error, -EIO);
        } else {
            assert_int_equal(reports.count, 0); /* a cancel is not reported */
        }
        aio_stream_close(loop, c);
        stop(loop, srv);
        aio_loop_free(loop);
    }
}

/* ---- a reset mid-write; the server carries on ---- */

static void reset_mid_write(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    st.mode = FLOOD;
    aio_server srv = start(loop, "127.0.0.1", &st, NULL);
    int port = aio_server_port(loop, srv);
    aio_stream c = connect_to(loop, "127.0.0.1", port);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_readexactly(loop, c, NULL, 100000), &v));
    /* Abort with SO_LINGER 0: the peer gets a reset. */
    struct linger lg = {1, 0};
    assert_int_equal(setsockopt(aio_stream_fd(loop, c), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    aio_stream_abort(loop, c);
    while (st.finished == 0)
        test_run_iterations(loop, 1);
    assert_true(st.err == -ECONNRESET || st.err == -EPIPE);
    /* The server and other connections carry on. */
    st.mode = ECHO_LINE;
    st.err = 0;
    c = connect_to(loop, "127.0.0.1", port);
    assert_aio_ok(aio_stream_write(loop, c, "ok\n", 3));
    char line[8];
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_readline(loop, c, line, sizeof line), &v));
    assert_int_equal(v.i, 3);
    aio_stream_close(loop, c);
    stop(loop, srv);
    aio_loop_free(loop);
}

/* ---- cancel in connect ---- */

struct oc {
    const char *host;
    int port;
    int *err;
    aio_stream *out;
};
AIO_CORO(open_task, struct oc) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_open_connection(t, f->host, f->port, NULL));
    *f->err = AIO_ERR(t);
    if (AIO_ERR(t) == 0)
        *f->out = aio_stream_from(AIO_RESULT(t));
    AIO_END(t);
}

static void cancel_in_connect(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    st.mode = READ_TO_EOF_THEN_CLOSE;
    aio_server srv = start(loop, "127.0.0.1", &st, NULL);
    int port = aio_server_port(loop, srv);
    int fds = net_open_fds();
    /* Cancelled while it connects (or resolves), before it resumed: the
     * connection is closed, nothing leaks. */
    const char *hosts[] = {"127.0.0.1", "localhost"};
    for (int h = 0; h < 2; h++) {
        for (int iters = 0; iters < 4; iters++) {
            int err = 1;
            aio_stream out = AIO_STREAM_NULL;
            aio_future t = aio_spawn(loop, open_task, &(struct oc){hosts[h], port, &err, &out});
            if (iters)
                test_run_iterations(loop, iters);
            aio_task_cancel(loop, t, NULL);
            int rc = aio_run_until_complete(loop, t, NULL);
            if (rc == 0) { /* it had finished: a stream, ours to close */
                assert_aio_ok(err);
                aio_stream_close(loop, out);
            } else {
                assert_aio_err(rc, AIO_ECANCELLED);
            }
        }
    }
    /* wait_for with a timeout of 0: cancelled at once. */
    assert_aio_err(aio_run_until_complete(
                       loop, aio_wait_for(loop, aio_open_connection(loop, "127.0.0.1", port, NULL), 0), NULL),
                   AIO_ETIMEDOUT);
    test_run_iterations(loop, 5);
    assert_int_equal(net_open_fds(), fds);
    stop(loop, srv);
    aio_loop_free(loop);
}

/* Cancel in accept: a woken accept cancelled before it resumed takes no
 * connection: the next accept gets it. */
struct acc {
    int fd;
    int *err;
    int *conn;
};
AIO_CORO(accept_task, struct acc) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sock_accept(t, f->fd, NULL, NULL));
    *f->err = AIO_ERR(t);
    *f->conn = AIO_ERR(t) == 0 ? (int)AIO_RESULT(t).i : -1;
    AIO_END(t);
}

static void cancel_in_accept(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct sockaddr_storage a;
    socklen_t al;
    int L = net_listen(&a, &al);
    int e1 = 1, c1 = -1, e2 = 1, c2 = -1;
    aio_future t1 = aio_spawn(loop, accept_task, &(struct acc){L, &e1, &c1});
    test_run_iterations(loop, 2);
    int client = net_connect(&a, al);
    /* Run until the accept is woken, then cancel before it resumes. */
    while (aio_future_done(loop, t1) == 0) {
        int wk = 0;
        uint32_t idx = 0;
        (void)idx;
        for (uint32_t i = 0; i < loop->fut.n; i++)
            if (loop->fut.slots[i].state == AIO__FS_WOKEN)
                wk = 1;
        if (wk) {
            aio_task_cancel(loop, t1, NULL);
            break;
        }
        aio_loop_time(loop);
        test_run_iterations(loop, 1);
    }
    int rc = aio_run_until_complete(loop, t1, NULL);
    if (rc == AIO_ECANCELLED) {
        assert_int_equal(c1, -1);
    } else { /* it resumed first: it has the connection */
        assert_aio_ok(rc);
        assert_true(c1 >= 0);
        close(c1);
        close(client);
        client = net_connect(&a, al);
    }
    aio_future t2 = aio_spawn(loop, accept_task, &(struct acc){L, &e2, &c2});
    assert_aio_ok(aio_run_until_complete(loop, t2, NULL));
    assert_aio_ok(e2);
    assert_true(c2 >= 0); /* the connection was not lost */
    close(c2);
    close(client);
    close(L);
    aio_loop_free(loop);
}

/* ---- IPv6 ---- */

static void ipv6_round_trip(void **state) {
    (void)state;
    if (!net_have_ipv6()) {
        skip();
        return;
    }
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    st.mode = ECHO_LINE;
    aio_server srv = start(loop, "::1", &st, NULL);
    aio_stream c = connect_to(loop, "::1", aio_server_port(loop, srv));
    assert_aio_ok(aio_stream_write(loop, c, "six\n", 4));
    char line[8];
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_readline(loop, c, line, sizeof line), &v));
    assert_int_equal(v.i, 4);
    assert_int_equal(st.nodelay, 1);
    aio_stream_close(loop, c);
    stop(loop, srv);
    aio_loop_free(loop);
}

/* Every interface: host NULL gives one socket per family, on one port. */
static void wildcard_and_reuse_port(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    st.mode = ECHO_LINE;
    aio_server srv = start(loop, NULL, &st, NULL);
    int n = aio_server_nsockets(loop, srv);
    assert_true(n >= 1);
    int port = aio_server_port(loop, srv);
    for (int i = 0; i < n; i++) {
        struct sockaddr_storage ss;
        socklen_t l = sizeof ss;
        assert_aio_ok(aio_server_sockname(loop, srv, i, (struct sockaddr *)&ss, &l));
        assert_int_equal(net_port_of(&ss), port);
    }
    aio_stream c = connect_to(loop, "127.0.0.1", port);
    aio_stream_close(loop, c);
    stop(loop, srv);
    /* Two servers on one port with reuse_port; without it, EADDRINUSE. */
    aio_server_options o = {0};
    o.reuse_port = 1;
    aio_server a = start(loop, "127.0.0.1", &st, &o);
    port = aio_server_port(loop, a);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_start_server(loop, "127.0.0.1", port, handler, &(struct client){.st = &st}, &o), &v));
    aio_server b = aio_server_from(v);
    assert_aio_err(aio_run_until_complete(
                       loop,
                       aio_start_server(loop, "127.0.0.1", port, handler, &(struct client){.st = &st}, NULL),
                       NULL),
                   -EADDRINUSE);
    stop(loop, a);
    stop(loop, b);
    aio_loop_free(loop);
}

/* ---- UNIX-01..03 ---- */

static void UNIX_01_streams_and_sock_calls(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    char dir[256], path[300];
    net_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/s", dir);
    struct srv_state st = {0};
    st.mode = ECHO_LINE;
    aio_value v;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_start_unix_server(loop, path, handler, &(struct client){.st = &st}, NULL), &v));
    aio_server srv = aio_server_from(v);
    assert_aio_ok(aio_run_until_complete(loop, aio_open_unix_connection(loop, path, NULL), &v));
    aio_stream c = aio_stream_from(v);
    assert_aio_ok(aio_stream_write(loop, c, "hello world!\n", 13));
    char line[64];
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_readline(loop, c, line, sizeof line), &v));
    assert_int_equal(v.i, 13);
    /* Client: sockname unnamed, peername the path; server: the reverse. */
    struct sockaddr_un a;
    socklen_t al = sizeof a;
    assert_aio_ok(aio_stream_sockname(loop, c, (struct sockaddr *)&a, &al));
    assert_true(al <= offsetof(struct sockaddr_un, sun_path) || a.sun_path[0] == '\0');
    al = sizeof a;
    assert_aio_ok(aio_stream_peername(loop, c, (struct sockaddr *)&a, &al));
    assert_string_equal(a.sun_path, path);
    const struct sockaddr_un *sp = (const struct sockaddr_un *)&st.sock;
    assert_string_equal(sp->sun_path, path);
    assert_true(st.peerlen <= offsetof(struct sockaddr_un, sun_path) ||
                ((const struct sockaddr_un *)&st.peer)->sun_path[0] == '\0');
    aio_stream_close(loop, c);
    stop(loop, srv);
    /* The sock_* calls on AF_UNIX sockets: connect, sendall, recv. */
    int L = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_un un = {0};
    un.sun_family = AF_UNIX;
    memcpy(un.sun_path, path, strlen(path) + 1); /* short: a fresh /tmp directory */
    assert_int_equal(bind(L, (struct sockaddr *)&un, sizeof un), 0);
    assert_int_equal(listen(L, 8), 0);
    int C = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_aio_ok(
        aio_run_until_complete(loop, aio_sock_connect(loop, C, (struct sockaddr *)&un, sizeof un), NULL));
    assert_aio_ok(aio_run_until_complete(loop, aio_sock_accept(loop, L, NULL, NULL), &v));
    int S = (int)v.i;
    assert_aio_ok(aio_run_until_complete(loop, aio_sock_sendall(loop, C, "unix", 4), NULL));
    char buf[8];
    assert_aio_ok(aio_run_until_complete(loop, aio_sock_recv(loop, S, buf, sizeof buf), &v));
    assert_int_equal(v.i, 4);
    assert_memory_equal(buf, "unix", 4);
    close(S);
    close(C);
    close(L);
    net_tmpdir_remove(dir, "s");
    aio_loop_free(loop);
}

static void UNIX_02_socket_file_life(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    char dir[256], path[300];
    net_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/s", dir);
    struct srv_state st = {0};
    st.mode = ECHO_LINE;
    struct client fr = {.st = &st};
    /* A stale socket file: connect refused, start_server replaces it. */
    int old = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = {0};
    un.sun_family = AF_UNIX;
    memcpy(un.sun_path, path, strlen(path) + 1); /* short: a fresh /tmp directory */
    assert_int_equal(bind(old, (struct sockaddr *)&un, sizeof un), 0);
    close(old);
    assert_aio_err(aio_run_until_complete(loop, aio_open_unix_connection(loop, path, NULL), NULL),
                   -ECONNREFUSED);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_start_unix_server(loop, path, handler, &fr, NULL), &v));
    aio_server srv = aio_server_from(v);
    /* A live one at the path: refused with EADDRINUSE (documented). */
    assert_aio_err(aio_run_until_complete(loop, aio_start_unix_server(loop, path, handler, &fr, NULL), NULL),
                   -EADDRINUSE);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    stop(loop, srv);
    assert_int_equal(stat(path, &sb), -1); /* close removed the path */
    /* keep_unix_path: it stays. */
    aio_server_options o = {0};
    o.keep_unix_path = 1;
    assert_aio_ok(aio_run_until_complete(loop, aio_start_unix_server(loop, path, handler, &fr, &o), &v));
    stop(loop, aio_server_from(v));
    assert_int_equal(stat(path, &sb), 0);
    /* Replaced by someone else's socket before the close: left alone. */
    assert_aio_ok(aio_run_until_complete(loop, aio_start_unix_server(loop, path, handler, &fr, NULL), &v));
    srv = aio_server_from(v);
    unlink(path);
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(other, (struct sockaddr *)&un, sizeof un), 0);
    stop(loop, srv);
    assert_int_equal(stat(path, &sb), 0);
    close(other);
    unlink(path);
    /* Already gone: close still succeeds. */
    assert_aio_ok(aio_run_until_complete(loop, aio_start_unix_server(loop, path, handler, &fr, NULL), &v));
    srv = aio_server_from(v);
    unlink(path);
    stop(loop, srv);
    net_tmpdir_remove(dir, "s");
    aio_loop_free(loop);
}

static void UNIX_03_path_errors(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    char dir[256], path[300];
    net_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/missing", dir);
    struct srv_state st = {0};
    struct client fr = {.st = &st};
    assert_aio_err(aio_run_until_complete(loop, aio_open_unix_connection(loop, path, NULL), NULL), -ENOENT);
    /* A regular file: EADDRINUSE, the file left alone. */
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *fp = fopen(path, "w");
    fputs("mine", fp);
    fclose(fp);
    assert_aio_err(aio_run_until_complete(loop, aio_start_unix_server(loop, path, handler, &fr, NULL), NULL),
                   -EADDRINUSE);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode) && sb.st_size == 4);
    unlink(path);
    /* Longer than sun_path allows: never truncated, nothing created. */
    char longp[300];
    int n = snprintf(longp, sizeof longp, "%s/", dir);
    while (n < 200)
        longp[n++] = 'x';
    longp[n] = '\0';
    assert_aio_err(aio_future_check(aio_open_unix_connection(loop, longp, NULL)), -ENAMETOOLONG);
    assert_aio_err(aio_future_check(aio_start_unix_server(loop, longp, handler, &fr, NULL)), -ENAMETOOLONG);
    longp[sizeof(((struct sockaddr_un *)0)->sun_path) - 1] = '\0';
    assert_int_equal(stat(longp, &sb), -1);
    net_tmpdir_remove(dir, NULL);
    aio_loop_free(loop);
}

/* Server handles after close: AIO_ECLOSED or harmless. */
static void server_handles(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    aio_server srv = start(loop, "127.0.0.1", &st, NULL);
    stop(loop, srv);
    assert_aio_ok(aio_server_close(loop, srv));
    assert_int_equal(aio_server_close_clients(loop, srv), 0);
    assert_int_equal(aio_server_is_serving(loop, srv), 0);
    assert_aio_err(aio_server_start_serving(loop, srv), AIO_ECLOSED);
    assert_aio_err(aio_server_port(loop, srv), AIO_ECLOSED);
    assert_aio_err(aio_server_close(loop, AIO_SERVER_NULL), AIO_ENULL);
    assert_aio_err(
        aio_future_check(aio_start_server(loop, "127.0.0.1", -1, handler, &(struct client){0}, NULL)),
        -EINVAL);
    assert_aio_err(
        aio_future_check(aio_start_server_sized(loop, "127.0.0.1", 0, NULL, &st, sizeof st, 0, NULL)),
        -EINVAL);
    /* A server left open is closed by the loop's close. */
    start(loop, "127.0.0.1", &st, NULL);
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(CONN_01_open_connection),
        cmocka_unit_test(CONN_02_refused),
        cmocka_unit_test(CONN_03_host_not_found),
        cmocka_unit_test(SERVER_01_start_serve_stop),
        cmocka_unit_test(SERVER_02_wait_closed),
        cmocka_unit_test(SERVER_03_serve_forever),
        cmocka_unit_test(SERVER_04_task_endings),
        cmocka_unit_test(reset_mid_write),
        cmocka_unit_test(cancel_in_connect),
        cmocka_unit_test(cancel_in_accept),
        cmocka_unit_test(ipv6_round_trip),
        cmocka_unit_test(wildcard_and_reuse_port),
        cmocka_unit_test(UNIX_01_streams_and_sock_calls),
        cmocka_unit_test(UNIX_02_socket_file_life),
        cmocka_unit_test(UNIX_03_path_errors),
        cmocka_unit_test(server_handles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
