/* Streams under load: 1,000 concurrent clients against one server, and a
 * 64 MiB transfer checked both ways. Raises its soft RLIMIT_NOFILE to the
 * hard limit if needed (a process of its own: its own ctest entry), and
 * skips the 1,000 clients if even that is too low. */
#include "net_support.h"

#include <sys/resource.h>

#define CLIENTS 1000

/* ---- the server: echo lines, or echo everything with checksums ---- */
struct srv_state {
    int served;
    uint32_t in_sum; /* what the server received (the 64 MiB test) */
    uint64_t in_bytes;
};
struct line_client {
    aio_stream stream;
    struct srv_state *st;
    char line[64];
};
AIO_CORO(echo_line, struct line_client) {
    AIO_BEGIN(t);
    AIO_AWAIT_OR(t, aio_stream_readline(t, f->stream, f->line, sizeof f->line), out);
    aio_stream_write(t, f->stream, f->line, (size_t)AIO_RESULT(t).i);
    AIO_AWAIT_OR(t, aio_stream_drain(t, f->stream), out);
    f->st->served++;
out:;
    AIO_END(t);
}

static uint32_t sum_bytes(uint32_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = h * 16777619u ^ p[i];
    return h;
}

struct bulk_client {
    aio_stream stream;
    struct srv_state *st;
};
AIO_CORO(echo_all, struct bulk_client) {
    AIO_BEGIN(t);
    for (;;) {
        AIO_AWAIT_OR(t, aio_stream_read(t, f->stream, NULL, 0), out);
        if (AIO_RESULT(t).i == 0)
            break;
        {
            size_t len;
            const unsigned char *p = aio_stream_peek(t, f->stream, &len);
            f->st->in_sum = sum_bytes(f->st->in_sum, p, len);
            f->st->in_bytes += len;
            if (aio_stream_write(t, f->stream, p, len) < 0)
                break;
            aio_stream_consume(t, f->stream, len);
        }
        AIO_AWAIT_OR(t, aio_stream_drain(t, f->stream), out);
    }
    aio_stream_write_eof(t, f->stream);
    f->st->served++;
out:;
    AIO_END(t);
}

static int raise_nofile(rlim_t want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur >= want)
        return 1;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        return 0;
    rl.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* ---- 1,000 concurrent clients ---- */

struct line_task {
    int port;
    int id;
    int *ok;
    aio_stream s;
    char sent[32], got[32];
    int len;
};
AIO_CORO(one_client, struct line_task) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_open_connection(t, "127.0.0.1", f->port, NULL));
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    f->s = aio_stream_from(AIO_RESULT(t));
    f->len = snprintf(f->sent, sizeof f->sent, "client %d\n", f->id);
    aio_stream_write(t, f->s, f->sent, (size_t)f->len);
    AIO_AWAIT(t, aio_stream_readline(t, f->s, f->got, sizeof f->got));
    if (AIO_ERR(t) == 0 && AIO_RESULT(t).i == f->len && memcmp(f->got, f->sent, (size_t)f->len) == 0)
        (*f->ok)++;
    aio_stream_close(t, f->s);
    AIO_END(t);
}

static void thousand_concurrent_clients(void **state) {
    (void)state;
    if (!raise_nofile(2 * CLIENTS + 200)) {
        skip();
        return;
    }
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    aio_value v;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_start_server(loop, "127.0.0.1", 0, echo_line, &(struct line_client){.st = &st}, NULL), &v));
    aio_server srv = aio_server_from(v);
    int port = aio_server_port(loop, srv);
    static aio_future tasks[CLIENTS];
    static aio_outcome results[CLIENTS];
    int ok = 0;
    for (int i = 0; i < CLIENTS; i++)
        tasks[i] = aio_spawn(loop, one_client, &(struct line_task){.port = port, .id = i, .ok = &ok});
    assert_aio_ok(aio_run_until_complete(loop, aio_gather(loop, tasks, CLIENTS, results, 0), NULL));
    assert_int_equal(ok, CLIENTS);
    aio_server_close(loop, srv);
    assert_aio_ok(aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL));
    assert_int_equal(st.served, CLIENTS);
    aio_loop_free(loop);
}

/* ---- 64 MiB, checked both ways ---- */

#define BIG ((size_t)64 << 20)
#define CHUNK 65536
struct big {
    aio_stream s;
    uint32_t out_sum, back_sum;
    uint64_t back_bytes;
    int werr, rerr;
};
struct big_writer {
    struct big *b;
    size_t sent;
    unsigned char chunk[CHUNK];
};
AIO_CORO(big_writer, struct big_writer) {
    AIO_BEGIN(t);
    for (f->sent = 0; f->sent < BIG; f->sent += CHUNK) {
        for (size_t k = 0; k < CHUNK; k++)
            f->chunk[k] = (unsigned char)((f->sent + k) * 2654435761u >> 24);
        f->b->out_sum = sum_bytes(f->b->out_sum, f->chunk, CHUNK);
        if ((f->b->werr = aio_stream_write(t, f->b->s, f->chunk, CHUNK)) < 0)
            AIO_RETURN(t, 0);
        AIO_AWAIT(t, aio_stream_drain(t, f->b->s));
        if ((f->b->werr = AIO_ERR(t)) < 0)
            AIO_RETURN(t, 0);
    }
    aio_stream_write_eof(t, f->b->s);
    AIO_END(t);
}
struct big_reader {
    struct big *b;
    unsigned char buf[CHUNK];
};
AIO_CORO(big_reader, struct big_reader) {
    AIO_BEGIN(t);
    for (;;) {
        AIO_AWAIT(t, aio_stream_read(t, f->b->s, f->buf, sizeof f->buf));
        if ((f->b->rerr = AIO_ERR(t)) < 0 || AIO_RESULT(t).i == 0)
            break;
        f->b->back_sum = sum_bytes(f->b->back_sum, f->buf, (size_t)AIO_RESULT(t).i);
        f->b->back_bytes += (uint64_t)AIO_RESULT(t).i;
    }
    AIO_END(t);
}

static void transfer_64_mib_both_ways(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct srv_state st = {0};
    aio_value v;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_start_server(loop, "127.0.0.1", 0, echo_all, &(struct bulk_client){.st = &st}, NULL), &v));
    aio_server srv = aio_server_from(v);
    struct big *b = calloc(1, sizeof *b);
    assert_aio_ok(aio_run_until_complete(
        loop, aio_open_connection(loop, "127.0.0.1", aio_server_port(loop, srv), NULL), &v));
    b->s = aio_stream_from(v);
    struct big_writer *wf = calloc(1, sizeof *wf);
    wf->b = b;
    aio_future w = aio_create_task(loop, big_writer, wf);
    aio_future r = aio_spawn(loop, big_reader, &(struct big_reader){b, {0}});
    free(wf); /* the task has its own copy */
    assert_aio_ok(aio_run_until_complete(loop, w, NULL));
    assert_aio_ok(aio_run_until_complete(loop, r, NULL));
    assert_aio_ok(b->werr);
    assert_aio_ok(b->rerr);
    assert_int_equal(st.in_bytes, BIG); /* client -> server */
    assert_int_equal(st.in_sum, b->out_sum);
    assert_int_equal(b->back_bytes, BIG); /* server -> client */
    assert_int_equal(b->back_sum, b->out_sum);
    aio_stream_close(loop, b->s);
    aio_server_close(loop, srv);
    assert_aio_ok(aio_run_until_complete(loop, aio_server_wait_closed(loop, srv), NULL));
    free(b);
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thousand_concurrent_clients),
        cmocka_unit_test(transfer_64_mib_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
