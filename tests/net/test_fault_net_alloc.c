/* Allocation failures at every point of a network cycle: a loop, a server
 * (listening socket, accept, a task per connection), open_connection, a
 * write, a readline of the echo, a drain, closes and wait_closed on both
 * sides, the loop's close. Run for N = 1, 2, 3, ... with the N-th
 * allocation failing (once), or every allocation from the N-th on (from),
 * until a run meets no failure.
 *
 * At every N:
 *   - no crash, no hang (ctest's timeout; aio_run_until_complete never
 *     returns AIO_EDEADLOCK), no leak (LSan, valgrind), no fd left open;
 *   - every call that fails says -ENOMEM, or for the client's read one of
 *     what a connection the server had to drop gives (end of file, reset);
 *   - every call that succeeded had its effect: a line read is the line
 *     written, a server that started accepts.
 * Each mode is a process of its own (the countdown is process state). */
#include "net_support.h"

#include "core/fault.h"

#include <stdarg.h>

struct conn {
    aio_stream stream;
    char line[32];
};
AIO_CORO(echo_line, struct conn) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_stream_readline(t, f->stream, f->line, sizeof f->line));
    if (AIO_ERR(t) == 0 && AIO_RESULT(t).i > 0) {
        aio_stream_write(t, f->stream, f->line, (size_t)AIO_RESULT(t).i);
        AIO_AWAIT(t, aio_stream_drain(t, f->stream));
    }
    AIO_END(t);
}

static int violations;
static char first[256];
static void violation(const char *fmt, ...) {
    if (violations++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(first, sizeof first, fmt, ap);
        va_end(ap);
    }
}

/* rc is 0 or one of the codes allowed here. */
static bool ok_or(int rc, int n, ...) {
    if (rc == 0)
        return true;
    va_list ap;
    va_start(ap, n);
    bool ok = false;
    for (int i = 0; i < n && !ok; i++)
        ok = rc == va_arg(ap, int);
    va_end(ap);
    return ok;
}

#define CHECK(rc, what, ...)                                                                                 \
    do {                                                                                                     \
        if (!ok_or((rc), __VA_ARGS__))                                                                       \
            violation("N=%ld %s: %s", n, (what), aio_err_name(rc));                                          \
    } while (0)

static void quiet(aio_loop *loop, const aio_report *r, void *arg) {
    (void)loop;
    (void)r;
    (void)arg; /* "a connection was dropped" is the documented report */
}

/* One cycle with the countdown armed at n. */
static void cycle(long n) {
    aio_loop *loop = NULL;
    int rc = aio_loop_create(&loop, NULL);
    CHECK(rc, "loop_create", 1, -ENOMEM);
    if (rc < 0)
        return;
    aio_loop_set_exception_handler(loop, quiet, NULL);
    aio_value v;
    rc = aio_run_until_complete(
        loop, aio_start_server(loop, "127.0.0.1", 0, echo_line, &(struct conn){0}, NULL), &v);
    CHECK(rc, "start_server", 1, -ENOMEM);
    if (rc == 0) {
        aio_server srv = aio_server_from(v);
        int port = aio_server_port(loop, srv);
        if (port <= 0)
            violation("N=%ld a server that started has no port", n);
        rc = aio_run_until_complete(loop, aio_open_connection(loop, "127.0.0.1", port, NULL), &v);
        CHECK(rc, "open_connection", 1, -ENOMEM);
        if (rc == 0) {
            aio_stream c = aio_stream_from(v);
            rc = aio_stream_write(loop, c, "ping\n", 5);
            CHECK(rc, "write", 1, -ENOMEM);
            if (rc == 0) {
                char line[16];
                rc = aio_run_until_complete(loop, aio_stream_readline(loop, c, line, sizeof line), &v);
                /* A server that could not take the connection (no memory
                 * for its stream or task) drops it: end of file, a reset. */
                CHECK(rc, "readline", 3, -ENOMEM, -ECONNRESET, AIO_EINCOMPLETE);
                if (rc == 0 && v.i != 0 && (v.i != 5 || memcmp(line, "ping\n", 5) != 0))
                    violation("N=%ld the echo differs", n);
            }
            rc = aio_run_until_complete(loop, aio_stream_drain(loop, c), NULL);
            CHECK(rc, "drain", 3, -ENOMEM, -ECONNRESET, -EPIPE);
            CHECK(aio_stream_close(loop, c), "close", 0);
            CHECK(aio_run_until_complete(loop, aio_stream_wait_closed(loop, c), NULL), "wait_closed", 1,
                  -ENOMEM);
        }
        CHECK(aio_server_close(loop, srv), "server_close", 0);
        aio_server_close_clients(loop, srv);
        rc = aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL);
        CHECK(rc, "server_wait_closed", 1, -ENOMEM);
    }
    aio_loop_free(loop);
}

static void sweep(enum aio__fault_mode mode) {
    int fds = net_open_fds();
    long n;
    for (n = 1; n < 100000; n++) {
        aio__fault_alloc_arm(mode, n);
        cycle(n);
        long failed = aio__fault_alloc_failed();
        aio__fault_reset();
        if (net_open_fds() != fds)
            violation("N=%ld an fd leaked (%d open, %d before)", n, net_open_fds(), fds);
        if (failed == 0)
            break; /* the whole cycle ran without meeting the N-th allocation */
    }
    printf("%s: %ld allocation points, %d violations%s%s\n", mode == AIO__FAULT_ONCE ? "once" : "from", n - 1,
           violations, violations ? ": " : "", first);
    assert_int_equal(violations, 0);
    assert_true(n > 10); /* the cycle allocates, so the sweep covered something */
}

static void sweep_once(void **state) {
    (void)state;
    sweep(AIO__FAULT_ONCE);
}
static void sweep_from(void **state) {
    (void)state;
    sweep(AIO__FAULT_FROM);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sweep_once),
        cmocka_unit_test(sweep_from),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
