/* A server out of file descriptors (a real EMFILE: RLIMIT_NOFILE lowered,
 * in a process of its own). While connections wait that it cannot accept,
 * the loop must not spin (little CPU over half a second); once descriptors
 * are free again it must accept and serve every one of them. */
#include "net_support.h"

#include <stdbool.h>
#include <sys/resource.h>
#include <time.h>

#define WAITING 8
#define SPARE 12

struct srv_state {
    int served;
};
struct client {
    aio_stream stream;
    struct srv_state *st;
    char line[32];
};
AIO_CORO(echo_line, struct client) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_stream_readline(t, f->stream, f->line, sizeof f->line));
    if (AIO_ERR(t) == 0) {
        aio_stream_write(t, f->stream, f->line, (size_t)AIO_RESULT(t).i);
        f->st->served++;
    }
    AIO_END(t);
}

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Valgrind emulates RLIMIT_NOFILE above the kernel: its accept4 takes the
 * connection, finds the fd over the pretended limit, closes it and says
 * EMFILE, so the connection is lost, which the kernel never does (it fails
 * before dequeuing). The test cannot run under it. */
static bool under_valgrind(void) {
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "valgrind");
}

static void emfile_no_spin_and_recovery(void **state) {
    (void)state;
    if (under_valgrind()) {
        skip();
        return;
    }
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    aio_value v;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_start_server(loop, "127.0.0.1", 0, echo_line, &(struct client){.st = &st}, NULL), &v));
    aio_server srv = aio_server_from(v);
    struct sockaddr_storage a;
    socklen_t al = sizeof a;
    assert_aio_ok(aio_server_sockname(loop, srv, 0, (struct sockaddr *)&a, &al));
    /* Descriptors to give back later (low numbers: opened first). */
    int spare[SPARE];
    for (int i = 0; i < SPARE; i++)
        assert_true((spare[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
    /* Clients connect (the kernel completes them into the backlog) and
     * send a line each. */
    int c[WAITING];
    for (int i = 0; i < WAITING; i++) {
        c[i] = net_connect(&a, al);
        assert_int_equal(write(c[i], "hello\n", 6), 6);
    }
    /* No descriptor left: the limit is the lowest free number, so every
     * new fd would be over it (the fds above it stay valid). */
    int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(lowest >= 0);
    close(lowest);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)lowest;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    assert_int_equal(socket(AF_INET, SOCK_STREAM, 0), -1); /* really out */
    assert_int_equal(errno, EMFILE);

    double cpu0 = cpu_seconds();
    aio_loop_stats s0, s1;
    aio_loop_get_stats(loop, &s0);
    assert_aio_ok(aio_run_until_complete(loop, aio_sleep(loop, 0.5), NULL));
    aio_loop_get_stats(loop, &s1);
    double cpu = cpu_seconds() - cpu0;
    assert_int_equal(st.served, 0);
    assert_true(cpu < 0.1);                /* no spinning (a spin would take ~0.5 s) */
    assert_true(s1.polls - s0.polls < 40); /* a retry now and then, not a busy loop */

    /* Descriptors come back: the server catches up by itself. */
    for (int i = 0; i < SPARE; i++)
        close(spare[i]);
    double t0 = aio_loop_time(loop);
    while (st.served < WAITING && aio_loop_time(loop) - t0 < 10)
        assert_aio_ok(aio_run_until_complete(loop, aio_sleep(loop, 0.05), NULL));
    assert_int_equal(st.served, WAITING);
    for (int i = 0; i < WAITING; i++) {
        char buf[8];
        assert_int_equal(read(c[i], buf, 6), 6);
        assert_memory_equal(buf, "hello\n", 6);
        close(c[i]);
    }
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    aio_server_close(loop, srv);
    assert_aio_ok(aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL));
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(emfile_no_spin_and_recovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
