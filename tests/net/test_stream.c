/* Streams: the reader (READ-01..09), the writer (WRITE-01..03) and
 * cancellation (CANCEL-01..03) of the streams acceptance spec.
 *
 * Reader cases use the feed form (aio_stream_create_reader +
 * feed_data / feed_eof / set_error) where the spec allows it: "the peer
 * sends A | B" is feed A, run the loop, feed B. The same reads are also run
 * over real sockets. Where libaio differs from asyncio on purpose, the
 * test says so and checks libaio's documented behaviour. */
#include "net_support.h"

#include "core/loop.h"
#include "net/net.h"

static const char DATA[] = "line1\nline2\nline3\n"; /* 18 bytes */

/* ---- one read, as a task ---- */

enum { OP_READ, OP_EXACT, OP_UNTIL, OP_UNTIL_ANY, OP_LINE, OP_EOF };
struct res {
    int err;
    int64_t n;
    char buf[256];
};
struct rd_frame {
    aio_stream s;
    int op;
    size_t n; /* read/exact: the count; until/line: the cap */
    const char *sep;
    const char *const *seps;
    size_t nseps;
    struct res *r;
    bool zero_copy;
};
AIO_CORO(do_read, struct rd_frame) {
    AIO_BEGIN(t);
    {
        void *b = f->zero_copy ? NULL : f->r->buf;
        aio_future fut;
        switch (f->op) {
        case OP_READ:
            fut = aio_stream_read(t, f->s, b, f->n);
            break;
        case OP_EXACT:
            fut = aio_stream_readexactly(t, f->s, b, f->n);
            break;
        case OP_UNTIL:
            fut = aio_stream_readuntil(t, f->s, f->sep, b, f->n);
            break;
        case OP_UNTIL_ANY:
            fut = aio_stream_readuntil_any(t, f->s, f->seps, f->nseps, b, f->n);
            break;
        case OP_LINE:
            fut = aio_stream_readline(t, f->s, b, f->n);
            break;
        default:
            fut = aio_stream_read_to_eof(t, f->s);
            break;
        }
        f->r->err = 1; /* pending */
        AIO_AWAIT(t, fut);
    }
    f->r->err = AIO_ERR(t);
    f->r->n = AIO_ERR(t) == 0 ? AIO_RESULT(t).i : -1;
    AIO_END(t);
}

static aio_future start_read(aio_loop *loop, aio_stream s, int op, size_t n, const char *sep, struct res *r) {
    memset(r, 0, sizeof *r);
    r->err = 1;
    return aio_spawn(loop, do_read, &(struct rd_frame){s, op, n, sep, NULL, 0, r, false});
}

/* Run a read to completion; its outcome in *r. */
static int read_now(aio_loop *loop, aio_stream s, int op, size_t n, const char *sep, struct res *r) {
    aio_future f = start_read(loop, s, op, n, sep, r);
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    return r->err;
}

static void run_a_little(aio_loop *loop) { test_run_iterations(loop, 3); }

static aio_stream reader_new(aio_loop *loop, size_t limit) {
    aio_stream s;
    aio_stream_options o = {0};
    o.limit = limit;
    assert_aio_ok(aio_stream_create_reader(loop, &o, &s));
    return s;
}

static void feed(aio_loop *loop, aio_stream s, const char *str) {
    assert_aio_ok(aio_stream_feed_data(loop, s, str, strlen(str)));
}

static void assert_buffered(aio_loop *loop, aio_stream s, const char *expect) {
    size_t len;
    const char *p = aio_stream_peek(loop, s, &len);
    assert_int_equal(len, strlen(expect));
    if (len)
        assert_memory_equal(p, expect, len);
    assert_int_equal(aio_stream_buffered(loop, s), (ssize_t)len);
}

#define assert_read(r, expect)                                                                               \
    do {                                                                                                     \
        assert_aio_ok((r)->err);                                                                             \
        assert_int_equal((r)->n, (int64_t)strlen(expect));                                                   \
        assert_memory_equal((r)->buf, (expect), strlen(expect));                                             \
    } while (0)

/* ---- READ-01: read(n) returns what is there, up to n ---- */

static void READ_01_read_up_to_n(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct res r;
    aio_stream s = reader_new(loop, 0);
    aio_future f = start_read(loop, s, OP_READ, 30, NULL, &r);
    run_a_little(loop);
    assert_int_equal(r.err, 1); /* waiting */
    feed(loop, s, DATA);
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    assert_read(&r, DATA); /* at once, without waiting to fill 30 */
    aio_stream_close(loop, s);

    s = reader_new(loop, 0);
    feed(loop, s, "line1");
    run_a_little(loop);
    feed(loop, s, "line2");
    read_now(loop, s, OP_READ, 5, NULL, &r);
    assert_read(&r, "line1");
    assert_buffered(loop, s, "line2");
    read_now(loop, s, OP_READ, 0, NULL, &r); /* read(0): empty at once, buffer unchanged */
    assert_read(&r, "");
    assert_buffered(loop, s, "line2");
    aio_stream_close(loop, s);

    s = reader_new(loop, 0);
    read_now(loop, s, OP_READ, 0, NULL, &r); /* also on an empty buffer before EOF */
    assert_read(&r, "");
    f = start_read(loop, s, OP_READ, 1024, NULL, &r);
    run_a_little(loop);
    assert_aio_ok(aio_stream_feed_eof(loop, s));
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    assert_read(&r, ""); /* EOF: empty */
    aio_stream_close(loop, s);

    s = reader_new(loop, 3); /* the limit does not cap reads */
    feed(loop, s, "chunk");
    read_now(loop, s, OP_READ, 5, NULL, &r);
    assert_read(&r, "chunk");
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

/* ---- READ-02: read(-1) reads to EOF ---- */

static void READ_02_read_to_eof(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct res r;
    aio_stream s = reader_new(loop, 0);
    aio_future f = start_read(loop, s, OP_EOF, 0, NULL, &r);
    run_a_little(loop);
    feed(loop, s, "chunk1\n");
    run_a_little(loop);
    feed(loop, s, "chunk2");
    run_a_little(loop);
    assert_int_equal(r.err, 1);
    assert_aio_ok(aio_stream_feed_eof(loop, s));
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    assert_aio_ok(r.err);
    assert_int_equal(r.n, 13);
    /* libaio: the bytes stay buffered (zero-copy) for peek / consume. */
    assert_buffered(loop, s, "chunk1\nchunk2");
    assert_int_equal(aio_stream_at_eof(loop, s), 0);
    assert_aio_ok(aio_stream_consume(loop, s, 13));
    assert_int_equal(aio_stream_at_eof(loop, s), 1);
    read_now(loop, s, OP_EOF, 0, NULL, &r);
    assert_int_equal(r.n, 0); /* another read to EOF: empty */
    aio_stream_close(loop, s);

    s = reader_new(loop, 1); /* not bounded by the limit, no deadlock */
    feed(loop, s, "data");
    assert_aio_ok(aio_stream_feed_eof(loop, s));
    read_now(loop, s, OP_EOF, 0, NULL, &r);
    assert_int_equal(r.n, 4);
    assert_buffered(loop, s, "data");
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

/* ---- READ-03: readline and at_eof ---- */

static void READ_03_readline_and_at_eof(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct res r;
    aio_stream s = reader_new(loop, 0);
    assert_int_equal(aio_stream_at_eof(loop, s), 0); /* a new reader */
    feed(loop, s, "chunk1 ");
    aio_future f = start_read(loop, s, OP_LINE, sizeof r.buf, NULL, &r);
    run_a_little(loop);
    feed(loop, s, "chunk2 ");
    run_a_little(loop);
    feed(loop, s, "chunk3 ");
    run_a_little(loop);
    feed(loop, s, "\n chunk4");
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    assert_read(&r, "chunk1 chunk2 chunk3 \n");
    assert_buffered(loop, s, " chunk4");
    aio_stream_close(loop, s);

    s = reader_new(loop, 0);
    feed(loop, s, "some data");
    assert_aio_ok(aio_stream_feed_eof(loop, s));
    assert_int_equal(aio_stream_at_eof(loop, s), 0); /* data buffered after EOF */
    read_now(loop, s, OP_LINE, sizeof r.buf, NULL, &r);
    assert_read(&r, "some data"); /* no error at EOF */
    assert_int_equal(aio_stream_at_eof(loop, s), 1);
    read_now(loop, s, OP_LINE, sizeof r.buf, NULL, &r);
    assert_read(&r, "");
    aio_stream_close(loop, s);

    s = reader_new(loop, 0);
    assert_aio_ok(aio_stream_feed_eof(loop, s));
    read_now(loop, s, OP_LINE, sizeof r.buf, NULL, &r); /* EOF on an empty buffer */
    assert_read(&r, "");
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

/* ---- READ-04: readexactly ---- */

static void READ_04_readexactly(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct res r;
    aio_stream s = reader_new(loop, 0);
    aio_future f = start_read(loop, s, OP_EXACT, 36, NULL, &r);
    for (int i = 0; i < 3; i++) {
        run_a_little(loop);
        feed(loop, s, DATA);
    }
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    assert_aio_ok(r.err);
    assert_int_equal(r.n, 36);
    assert_memory_equal(r.buf, "line1\nline2\nline3\nline1\nline2\nline3\n", 36);
    assert_buffered(loop, s, DATA);
    read_now(loop, s, OP_EXACT, 0, NULL, &r); /* readexactly(0): empty at once */
    assert_read(&r, "");
    assert_buffered(loop, s, DATA);
    /* readexactly(-1): n is a size_t in C, it cannot be negative. */
    aio_stream_close(loop, s);

    s = reader_new(loop, 3); /* the limit does not apply */
    feed(loop, s, "chunk");
    read_now(loop, s, OP_EXACT, 5, NULL, &r);
    assert_read(&r, "chunk");
    aio_stream_close(loop, s);

    s = reader_new(loop, 0);
    f = start_read(loop, s, OP_EXACT, 36, NULL, &r);
    run_a_little(loop);
    feed(loop, s, DATA);
    run_a_little(loop);
    assert_aio_ok(aio_stream_feed_eof(loop, s));
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    /* IncompleteReadError: libaio keeps the 18 bytes buffered (asyncio
     * moves them into the exception): nothing is lost, read them. */
    assert_aio_err(r.err, AIO_EINCOMPLETE);
    assert_int_equal(aio_stream_buffered(loop, s), 18);
    assert_buffered(loop, s, DATA);
    read_now(loop, s, OP_READ, 100, NULL, &r);
    assert_read(&r, DATA);
    assert_int_equal(aio_stream_at_eof(loop, s), 1);
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

/* ---- READ-05: readuntil with the separator split across chunks ---- */

static void until_chunks(aio_loop *loop, const char *sep, const char *const *chunks, bool before,
                         const char *expect) {
    struct res r;
    aio_stream s = reader_new(loop, 0);
    aio_future f;
    if (before) { /* every chunk buffered before the read starts */
        for (int i = 0; chunks[i]; i++)
            feed(loop, s, chunks[i]);
        f = start_read(loop, s, OP_UNTIL, sizeof r.buf, sep, &r);
    } else { /* the chunks arrive while the read waits */
        f = start_read(loop, s, OP_UNTIL, sizeof r.buf, sep, &r);
        for (int i = 0; chunks[i]; i++) {
            run_a_little(loop);
            feed(loop, s, chunks[i]);
        }
    }
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    assert_read(&r, expect);
    assert_int_equal(aio_stream_buffered(loop, s), 0);
    aio_stream_close(loop, s);
}

static void READ_05_readuntil_across_chunks(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    const char *a[] = {"QWEaa", "XYaa", "a", NULL};
    const char *b[] = {"QWEaa", "XYa", "aa", NULL};
    const char *c[] = {"XXX", "a", "a", "a", NULL};
    const char *d[] = {"aaa", NULL};
    for (int before = 0; before < 2; before++) {
        until_chunks(loop, "aaa", a, before, "QWEaaXYaaa");
        until_chunks(loop, "aaa", b, before, "QWEaaXYaaa");
        until_chunks(loop, "aaa", c, before, "XXXaaa");
        until_chunks(loop, "aaa", d, before, "aaa");
    }
    struct res r;
    aio_stream s = reader_new(loop, 0);
    feed(loop, s, "lineAAAxxx");
    read_now(loop, s, OP_UNTIL, sizeof r.buf, "AAA", &r);
    assert_read(&r, "lineAAA");
    assert_buffered(loop, s, "xxx");
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

/* ---- READ-06: readuntil at EOF, invalid separators ---- */

static void READ_06_readuntil_eof_and_bad_separators(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct res r;
    aio_stream s = reader_new(loop, 0);
    feed(loop, s, "some dataAA");
    assert_aio_ok(aio_stream_feed_eof(loop, s));
    read_now(loop, s, OP_UNTIL, sizeof r.buf, "AAA", &r);
    /* IncompleteReadError: the 11 bytes (partial separator kept) stay
     * buffered in libaio instead of being cleared into the exception. */
    assert_aio_err(r.err, AIO_EINCOMPLETE);
    assert_buffered(loop, s, "some dataAA");
    /* Empty separator, a set with an empty one, an empty set. */
    assert_aio_err(aio_future_check(aio_stream_readuntil(loop, s, "", r.buf, sizeof r.buf)), -EINVAL);
    const char *with_empty[] = {"a", ""};
    assert_aio_err(aio_future_check(aio_stream_readuntil_any(loop, s, with_empty, 2, r.buf, sizeof r.buf)),
                   -EINVAL);
    assert_aio_err(aio_future_check(aio_stream_readuntil_any(loop, s, with_empty, 0, r.buf, sizeof r.buf)),
                   -EINVAL);
    assert_aio_err(aio_future_check(aio_stream_readuntil(loop, s, "AAA", r.buf, 2)), -EINVAL); /* no room */
    assert_buffered(loop, s, "some dataAA");
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

/* ---- READ-07: over the limit, readuntil keeps the data ---- */

static void READ_07_limit_overrun_keeps_data(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct res r;
    aio_stream s = reader_new(loop, 3);
    feed(loop, s, "some dataAA");
    read_now(loop, s, OP_UNTIL, sizeof r.buf, "AAA", &r);
    assert_aio_err(r.err, AIO_ELIMIT); /* "Separator is not found, and chunk exceed the limit" */
    assert_buffered(loop, s, "some dataAA");
    feed(loop, s, "A");
    read_now(loop, s, OP_UNTIL, sizeof r.buf, "AAA", &r);
    assert_aio_err(r.err, AIO_ELIMIT); /* "Separator is found, but chunk is longer than limit" */
    assert_buffered(loop, s, "some dataAAA");
    read_now(loop, s, OP_EXACT, 12, NULL, &r);
    assert_read(&r, "some dataAAA");
    aio_stream_close(loop, s);

    /* Strict: the limit counts the bytes before the separator. */
    s = reader_new(loop, 7);
    feed(loop, s, "1234567\n");
    read_now(loop, s, OP_LINE, sizeof r.buf, NULL, &r);
    assert_read(&r, "1234567\n");
    feed(loop, s, "12345678\n");
    read_now(loop, s, OP_LINE, sizeof r.buf, NULL, &r);
    assert_aio_err(r.err, AIO_ELIMIT); /* libaio: readline keeps the data too */
    assert_buffered(loop, s, "12345678\n");
    aio_stream_close(loop, s);

    /* The caller's buffer is a limit too: a line must fit in cap. */
    s = reader_new(loop, 0);
    feed(loop, s, "0123456789\n");
    read_now(loop, s, OP_LINE, 8, NULL, &r);
    assert_aio_err(r.err, AIO_ELIMIT);
    assert_buffered(loop, s, "0123456789\n");
    read_now(loop, s, OP_LINE, 11, NULL, &r);
    assert_read(&r, "0123456789\n");
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

/* ---- READ-08: an error takes precedence over buffered bytes ---- */

static void READ_08_error_precedence(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct res r;
    aio_stream s = reader_new(loop, 0);
    feed(loop, s, "line\n");
    read_now(loop, s, OP_READ, 2, NULL, &r);
    assert_read(&r, "li");
    assert_aio_ok(aio_stream_set_error(loop, s, -ECONNRESET));
    assert_aio_err(read_now(loop, s, OP_READ, 2, NULL, &r), -ECONNRESET);
    assert_aio_err(read_now(loop, s, OP_READ, 0, NULL, &r), -ECONNRESET);
    assert_aio_err(read_now(loop, s, OP_EXACT, 0, NULL, &r), -ECONNRESET);
    assert_aio_err(read_now(loop, s, OP_LINE, sizeof r.buf, NULL, &r), -ECONNRESET);
    assert_aio_err(read_now(loop, s, OP_UNTIL, sizeof r.buf, "x", &r), -ECONNRESET);
    assert_aio_err(aio_stream_set_error(loop, s, 5), -EINVAL);
    aio_stream_close(loop, s);

    /* A readline already waiting wakes with the error. */
    s = reader_new(loop, 0);
    aio_future f = start_read(loop, s, OP_LINE, sizeof r.buf, NULL, &r);
    run_a_little(loop);
    assert_aio_ok(aio_stream_set_error(loop, s, -ECONNRESET));
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    assert_aio_err(r.err, -ECONNRESET);
    aio_stream_close(loop, s);

    /* A waiting readline cancelled, then the error: nothing raised, no
     * waiter left. */
    s = reader_new(loop, 0);
    test_reports reports;
    test_collect_reports(loop, &reports);
    f = start_read(loop, s, OP_LINE, sizeof r.buf, NULL, &r);
    run_a_little(loop);
    assert_int_equal(aio_task_cancel(loop, f, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, f, NULL), AIO_ECANCELLED);
    assert_aio_ok(aio_stream_set_error(loop, s, -ECONNRESET));
    run_a_little(loop);
    assert_int_equal(reports.count, 0);
    int err;
    aio__stream *st = aio__stream_get(loop, s, &err);
    assert_non_null(st);
    assert_false(aio__stream_reading(st)); /* no read waits */
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

/* ---- READ-09: one reader at a time, feeding rules, the limit ---- */

static void READ_09_one_reader_and_feeding_rules(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct res r, r2;
    aio_stream s = reader_new(loop, 0);
    aio_future f = start_read(loop, s, OP_READ, 10, NULL, &r);
    run_a_little(loop);
    /* A second read while one waits: at once -EBUSY (asyncio's RuntimeError). */
    assert_aio_err(read_now(loop, s, OP_LINE, sizeof r2.buf, NULL, &r2), -EBUSY);
    assert_aio_err(aio_stream_consume(loop, s, 0), -EBUSY);
    /* An empty feed does nothing and wakes nobody. */
    assert_aio_ok(aio_stream_feed_data(loop, s, "", 0));
    run_a_little(loop);
    assert_int_equal(r.err, 1);
    feed(loop, s, "hi\n");
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    assert_read(&r, "hi\n"); /* the first read is unaffected */
    /* Feeding after EOF: an error, buffer and EOF state unchanged. */
    feed(loop, s, "x");
    assert_aio_ok(aio_stream_feed_eof(loop, s));
    assert_aio_err(aio_stream_feed_data(loop, s, "y", 1), -EINVAL);
    assert_buffered(loop, s, "x");
    read_now(loop, s, OP_READ, 10, NULL, &r);
    assert_read(&r, "x");
    assert_int_equal(aio_stream_at_eof(loop, s), 1);
    /* A limit <= 0: the limit is a size_t, 0 means the default (65,536). */
    aio_stream_close(loop, s);
    s = reader_new(loop, 0);
    char big[65600];
    memset(big, 'x', sizeof big);
    assert_aio_ok(aio_stream_feed_data(loop, s, big, 65536));
    feed(loop, s, "\n");
    aio_future line = aio_stream_readline(loop, s, NULL, 0); /* zero-copy: the line stays */
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, line, &v));
    assert_int_equal(v.i, 65537); /* 65,536 before the separator: within the limit */
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

/* Zero-copy reads: buf NULL leaves the bytes for peek / consume. */
static void zero_copy_reads(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_stream s = reader_new(loop, 0);
    aio_value v;
    aio_future f = aio_stream_read(loop, s, NULL, 0);
    run_a_little(loop);
    feed(loop, s, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET");
    assert_aio_ok(aio_run_until_complete(loop, f, &v));
    assert_int_equal(v.i, 30);
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_readuntil(loop, s, "\r\n\r\n", NULL, 0), &v));
    assert_int_equal(v.i, 27);
    assert_buffered(loop, s, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET");
    assert_aio_ok(aio_stream_consume(loop, s, (size_t)v.i));
    assert_buffered(loop, s, "GET");
    assert_aio_err(aio_stream_consume(loop, s, 4), -EINVAL);
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_readexactly(loop, s, NULL, 3), &v));
    assert_int_equal(v.i, 3);
    assert_buffered(loop, s, "GET");
    const char *seps[] = {"\r\n", "\n"};
    feed(loop, s, "x\ny\r\n");
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_readuntil_any(loop, s, seps, 2, NULL, 0), &v));
    assert_int_equal(v.i, 5); /* "GETx\n" ends first */
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

/* ---- the same reads over real sockets ---- */

/* Two streams, one each end of a connected pair (TCP on loopback, or a
 * Unix socketpair). */
static void stream_pair(aio_loop *loop, bool tcp, aio_stream *a, aio_stream *b) {
    int fa, fb;
    if (tcp) {
        struct sockaddr_storage addr;
        socklen_t len;
        int L = net_listen(&addr, &len);
        fa = net_connect(&addr, len);
        fb = accept(L, NULL, NULL);
        close(L);
    } else {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        fa = sv[0];
        fb = sv[1];
    }
    assert_aio_ok(aio_stream_open_fd(loop, fa, NULL, a));
    assert_aio_ok(aio_stream_open_fd(loop, fb, NULL, b));
}

static void reads_over_sockets(void **state) {
    (void)state;
    for (int tcp = 0; tcp < 2; tcp++) {
        aio_loop *loop = test_loop_new(0);
        aio_stream w, s;
        stream_pair(loop, tcp, &w, &s);
        struct res r;
        aio_future f = start_read(loop, s, OP_READ, 30, NULL, &r);
        run_a_little(loop);
        assert_int_equal(r.err, 1);
        assert_aio_ok(aio_stream_write(loop, w, DATA, 18));
        assert_aio_ok(aio_run_until_complete(loop, f, NULL));
        assert_read(&r, DATA);
        f = start_read(loop, s, OP_LINE, sizeof r.buf, NULL, &r);
        assert_aio_ok(aio_stream_write(loop, w, "chunk1 ", 7));
        run_a_little(loop);
        assert_aio_ok(aio_stream_write(loop, w, "chunk2\nrest", 11));
        assert_aio_ok(aio_run_until_complete(loop, f, NULL));
        assert_read(&r, "chunk1 chunk2\n");
        f = start_read(loop, s, OP_EXACT, 10, NULL, &r);
        run_a_little(loop);
        assert_aio_ok(aio_stream_write_eof(loop, w));
        assert_aio_ok(aio_run_until_complete(loop, f, NULL));
        assert_aio_err(r.err, AIO_EINCOMPLETE);
        assert_buffered(loop, s, "rest");
        read_now(loop, s, OP_READ, 10, NULL, &r);
        assert_read(&r, "rest");
        read_now(loop, s, OP_READ, 10, NULL, &r);
        assert_read(&r, ""); /* EOF */
        assert_int_equal(aio_stream_at_eof(loop, s), 1);
        aio_stream_close(loop, w);
        aio_stream_close(loop, s);
        aio_loop_free(loop);
    }
}

/* ---- WRITE-01: back-pressure against a slow reader ---- */

#define W01_CHUNK 16384
#define W01_COUNT 2000
struct w01 {
    aio_stream w, peer;
    size_t peak, max_after_drain, low_seen_after_block;
    int blocked, err, perr;
    size_t received;
    uint32_t sum, psum;
    bool order_ok;
};
struct w01_frame {
    struct w01 *x;
    int i;
    char chunk[W01_CHUNK];
};
AIO_CORO(w01_writer, struct w01_frame) {
    struct w01 *x = f->x;
    AIO_BEGIN(t);
    for (f->i = 0; f->i < W01_COUNT; f->i++) {
        for (int k = 0; k < W01_CHUNK; k++)
            f->chunk[k] = (char)((f->i * 7 + k) & 0xff);
        for (int k = 0; k < W01_CHUNK; k++)
            x->sum = x->sum * 31u + (uint8_t)f->chunk[k];
        if (aio_stream_write(t, x->w, f->chunk, W01_CHUNK) < 0)
            break;
        {
            size_t b = (size_t)aio_stream_write_buffer_size(t, x->w);
            if (b > x->peak)
                x->peak = b;
            aio_future d = aio_stream_drain(t, x->w);
            if (aio_future_done(t, d) == 0)
                x->blocked++;
            AIO_AWAIT(t, d);
        }
        if (AIO_ERR(t) < 0) {
            x->err = AIO_ERR(t);
            break;
        }
        {
            size_t b = (size_t)aio_stream_write_buffer_size(t, x->w);
            if (b > x->max_after_drain)
                x->max_after_drain = b;
        }
    }
    aio_stream_write_eof(t, x->w);
    AIO_END(t);
}
struct w01_reader_frame {
    struct w01 *x;
    char buf[65536];
};
AIO_CORO(w01_reader, struct w01_reader_frame) {
    struct w01 *x = f->x;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.3)); /* not reading for a while */
    for (;;) {
        AIO_AWAIT(t, aio_stream_read(t, x->peer, f->buf, sizeof f->buf));
        if (AIO_ERR(t) < 0) {
            x->perr = AIO_ERR(t);
            break;
        }
        if (AIO_RESULT(t).i == 0)
            break;
        for (int64_t k = 0; k < AIO_RESULT(t).i; k++)
            x->psum = x->psum * 31u + (uint8_t)f->buf[k];
        x->received += (size_t)AIO_RESULT(t).i;
    }
    AIO_END(t);
}

static void WRITE_01_back_pressure(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct w01 *x = calloc(1, sizeof *x);
    stream_pair(loop, true, &x->w, &x->peer);
    aio_future rd = aio_spawn(loop, w01_reader, &(struct w01_reader_frame){x, {0}});
    aio_future wr = aio_spawn(loop, w01_writer, &(struct w01_frame){x, 0, {0}});
    assert_aio_ok(aio_run_until_complete(loop, wr, NULL));
    assert_aio_ok(aio_run_until_complete(loop, rd, NULL));
    assert_aio_ok(x->err);
    assert_aio_ok(x->perr);
    assert_true(x->blocked >= 1);                                 /* a drain blocked while the peer slept */
    assert_true(x->max_after_drain <= 65536);                     /* after any drain: <= high */
    assert_true(x->peak <= 65536 + W01_CHUNK);                    /* peak <= high + one write */
    assert_int_equal(x->received, (size_t)W01_CHUNK * W01_COUNT); /* 32 MiB */
    assert_int_equal(x->psum, x->sum);                            /* in order */
    /* The limits. */
    assert_aio_err(aio_stream_set_write_buffer_limits(loop, x->w, 0, 1), -EINVAL);
    aio_stream_close(loop, x->w);
    aio_stream_close(loop, x->peer);
    free(x);
    aio_loop_free(loop);
}

/* set_write_buffer_limits(256, 128) with 512 bytes buffered pauses at once;
 * a blocked drain is released only at the low-water mark; several tasks
 * may drain at once. */
struct drain_frame {
    aio_stream s;
    int *err;
    ssize_t *left;
    int fast; /* AIO_STREAM_DRAIN instead of an await of aio_stream_drain */
};
AIO_CORO(drainer, struct drain_frame) {
    AIO_BEGIN(t);
    if (f->fast)
        AIO_STREAM_DRAIN(t, f->s);
    else
        AIO_AWAIT(t, aio_stream_drain(t, f->s));
    *f->err = AIO_ERR(t);
    *f->left = aio_stream_write_buffer_size(t, f->s);
    AIO_END(t);
}

static void WRITE_01_limits_and_several_drainers(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream w, peer;
    stream_pair(loop, true, &w, &peer);
    /* Fill the socket so that writes stay buffered. */
    int fd = aio_stream_fd(loop, w);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    char junk[4096];
    memset(junk, 'j', sizeof junk);
    while (aio_stream_write_buffer_size(loop, w) == 0)
        assert_aio_ok(aio_stream_write(loop, w, junk, sizeof junk));
    assert_aio_ok(aio_stream_write(loop, w, junk, 512));
    assert_aio_ok(aio_stream_set_write_buffer_limits(loop, w, 256, 128)); /* paused at once */
    int e[3] = {1, 1, 1};
    ssize_t left[3];
    aio_future d[3];
    for (int i = 0; i < 3; i++) /* the middle one with the fast form: it must wait as well */
        d[i] = aio_spawn(loop, drainer, &(struct drain_frame){w, &e[i], &left[i], i == 1});
    run_a_little(loop);
    for (int i = 0; i < 3; i++)
        assert_int_equal(e[i], 1); /* all three wait */
    /* The peer reads everything: the drains are released together. */
    int pfd = aio_stream_fd(loop, peer);
    net_set_nonblock(pfd, 1);
    while (aio_future_done(loop, d[2]) != 1) {
        char buf[65536];
        while (read(pfd, buf, sizeof buf) > 0) {
        }
        test_run_iterations(loop, 1);
    }
    for (int i = 0; i < 3; i++) {
        assert_aio_ok(aio_run_until_complete(loop, d[i], NULL));
        assert_aio_ok(e[i]);
        assert_true(left[i] <= 128); /* released only at the low-water mark */
    }
    aio_stream_close(loop, w);
    aio_stream_close(loop, peer);
    aio_loop_free(loop);
}

/* AIO_STREAM_DRAIN gives what an await of aio_stream_drain gives, and makes
 * no future when drain need not wait: 0 at once while nothing is over the
 * high-water mark; the stream's sticky error, AIO_ECLOSED and AIO_ENULL as
 * the future form gives them; a cancel pending on the task is not delivered
 * (an await of a done future does not suspend) but lands at the next await
 * that does. (Waiting while paused: WRITE_01's middle drainer.) */
struct fast_drain_out {
    int fast_made_future, await_made_future; /* a futures slot was taken and given back */
    int cancel_landed;
    int err[6];
    int64_t result[3];
};
struct fast_drain {
    aio_stream s, closed, broken;
    struct fast_drain_out *out; /* the frame is copied into the task */
    uint32_t head, gen, n;      /* the futures table before a drain */
};
/* Where the next future would go: a future made and freed since moves the
 * free list's head or its slot's generation (or the table's size). */
static void note_table(aio_task *t, struct fast_drain *f) {
    aio_loop *loop = aio_task_loop(t);
    f->head = loop->fut.free;
    f->gen = f->head == AIO__NIL ? 0 : loop->fut.slots[f->head].gen;
    f->n = loop->fut.n;
}
static int table_moved(aio_task *t, const struct fast_drain *f) {
    aio_loop *loop = aio_task_loop(t);
    return loop->fut.free != f->head || loop->fut.n != f->n ||
           (f->head != AIO__NIL && loop->fut.slots[f->head].gen != f->gen);
}
AIO_CORO(fast_drainer, struct fast_drain) {
    AIO_BEGIN(t);
    assert_aio_ok(aio_stream_write(t, f->s, "abc", 3));
    AIO_RESULT(t).i = -1; /* the fast form must set it */
    note_table(t, f);
    AIO_STREAM_DRAIN(t, f->s);
    f->out->fast_made_future = table_moved(t, f);
    f->out->err[0] = AIO_ERR(t);
    f->out->result[0] = AIO_RESULT(t).i;
    note_table(t, f);
    AIO_AWAIT(t, aio_stream_drain(t, f->s));
    f->out->await_made_future = table_moved(t, f); /* shows the check can see one */
    f->out->err[1] = AIO_ERR(t);
    f->out->result[1] = AIO_RESULT(t).i;
    AIO_STREAM_DRAIN(t, f->closed);
    f->out->err[2] = AIO_ERR(t);
    AIO_STREAM_DRAIN(t, AIO_STREAM_NULL);
    f->out->err[3] = AIO_ERR(t);
    AIO_STREAM_DRAIN(t, f->broken);
    f->out->err[4] = AIO_ERR(t);
    AIO_AWAIT(t, aio_stream_drain(t, f->broken));
    f->out->err[5] = AIO_ERR(t);
    /* A cancel pending: the drain done at once does not deliver it. */
    assert_int_equal(aio_task_cancel(t, aio_current_task(t), NULL), 1);
    AIO_RESULT(t).i = -1;
    AIO_STREAM_DRAIN(t, f->s);
    f->out->result[2] = AIO_ERR(t) == 0 ? AIO_RESULT(t).i : -2;
    AIO_AWAIT(t, aio_sleep(t, 0)); /* it lands here */
    f->out->cancel_landed = AIO_ERR(t) == AIO_ECANCELLED;
    AIO_END(t);
}

static void WRITE_drain_fast_form(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream w, peer, c1, c2, e1, e2;
    stream_pair(loop, true, &w, &peer);
    stream_pair(loop, true, &c1, &c2);
    stream_pair(loop, true, &e1, &e2);
    aio_stream_close(loop, c1);
    /* e1's peer is gone: writes end in a sticky error. */
    aio_stream_abort(loop, e2);
    for (int i = 0; i < 1000 && aio_stream_write(loop, e1, "x", 1) == 0; i++)
        test_run_iterations(loop, 1);
    assert_true(aio_stream_write(loop, e1, "x", 1) < 0);
    struct fast_drain_out out = {.err = {1, 1, 1, 1, 1, 1}, .result = {-1, -1, -1}};
    assert_aio_err(
        aio_run_until_complete(
            loop, aio_spawn(loop, fast_drainer, &(struct fast_drain){w, c1, e1, &out, 0, 0, 0}), NULL),
        AIO_ECANCELLED);
    assert_int_equal(out.cancel_landed, 1); /* the pending cancel landed at the sleep */
    assert_int_equal(out.fast_made_future, 0);
    assert_int_equal(out.await_made_future, 1);
    assert_aio_ok(out.err[0]);
    assert_int_equal(out.result[0], 0);
    assert_aio_ok(out.err[1]);
    assert_int_equal(out.result[1], 0);
    assert_aio_err(out.err[2], AIO_ECLOSED);
    assert_aio_err(aio_future_check(aio_stream_drain(loop, c1)), AIO_ECLOSED); /* as the future form */
    assert_aio_err(out.err[3], AIO_ENULL);
    assert_true(out.err[4] < 0);
    assert_aio_err(out.err[4], out.err[5]); /* the sticky error, as the future form gives it */
    assert_int_equal(out.result[2], 0);
    aio_stream_close(loop, w);
    aio_stream_close(loop, peer);
    aio_stream_close(loop, c2);
    aio_stream_close(loop, e1);
    aio_loop_free(loop);
}

/* ---- WRITE-02: half-close, both ways ---- */

static void WRITE_02_half_close(void **state) {
    (void)state;
    for (int tcp = 0; tcp < 2; tcp++) {
        aio_loop *loop = test_loop_new(0);
        aio_stream c, srv;
        stream_pair(loop, tcp, &c, &srv);
        struct res r;
        assert_int_equal(aio_stream_can_write_eof(loop, c), 1);
        assert_aio_ok(aio_stream_write(loop, c, "ping", 4));
        assert_aio_ok(aio_stream_write_eof(loop, c));
        assert_aio_ok(aio_stream_write_eof(loop, c)); /* the second does nothing */
        assert_aio_err(aio_stream_write(loop, c, "x", 1), -EPIPE);
        struct iovec v = {(void *)"x", 1};
        assert_aio_err(aio_stream_writev(loop, c, &v, 1), -EPIPE);
        read_now(loop, srv, OP_EOF, 0, NULL, &r);
        assert_aio_ok(r.err);
        assert_buffered(loop, srv, "ping");
        assert_aio_ok(aio_stream_consume(loop, srv, 4));
        assert_int_equal(aio_stream_at_eof(loop, srv), 1);
        assert_aio_ok(aio_stream_write(loop, srv, "pong", 4));
        assert_aio_ok(aio_stream_write_eof(loop, srv));
        read_now(loop, c, OP_READ, 10, NULL, &r); /* half-closed itself, still receives */
        assert_read(&r, "pong");
        read_now(loop, c, OP_READ, 10, NULL, &r);
        assert_read(&r, "");
        assert_int_equal(aio_stream_at_eof(loop, c), 1);
        aio_stream_close(loop, c);
        assert_aio_ok(aio_stream_write_eof(loop, c)); /* after close: nothing */
        aio_stream_close(loop, srv);
        aio_loop_free(loop);
    }
}

/* write_eof with bytes still buffered waits until they are sent. */
static void WRITE_02_write_eof_after_the_buffer(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream w, peer;
    stream_pair(loop, true, &w, &peer);
    size_t total = 4 << 20;
    char *big = malloc(total);
    for (size_t i = 0; i < total; i++)
        big[i] = (char)(i * 13);
    assert_aio_ok(aio_stream_write(loop, w, big, total));
    assert_true(aio_stream_write_buffer_size(loop, w) > 0);
    assert_aio_ok(aio_stream_write_eof(loop, w));
    struct res r;
    read_now(loop, peer, OP_EOF, 0, NULL, &r);
    assert_aio_ok(r.err);
    assert_int_equal(r.n, (int64_t)total);
    size_t len;
    const char *p = aio_stream_peek(loop, peer, &len);
    assert_int_equal(len, total);
    assert_memory_equal(p, big, total);
    free(big);
    aio_stream_close(loop, w);
    aio_stream_close(loop, peer);
    aio_loop_free(loop);
}

/* ---- WRITE-03: writing after close, the close lifecycle ---- */

struct wc_frame {
    aio_stream s;
    int *err;
};
AIO_CORO(wait_closed_task, struct wc_frame) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_stream_wait_closed(t, f->s));
    *f->err = AIO_ERR(t);
    AIO_END(t);
}

static void WRITE_03_close_lifecycle(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream w, peer;
    stream_pair(loop, true, &w, &peer);
    assert_aio_ok(aio_stream_write(loop, peer, "unread", 6)); /* w has unread data */
    run_a_little(loop);
    int err = 1;
    aio_future wc = aio_spawn(loop, wait_closed_task, &(struct wc_frame){w, &err});
    run_a_little(loop);
    assert_int_equal(err, 1);
    assert_int_equal(aio_stream_is_closing(loop, w), 0);
    assert_aio_ok(aio_stream_close(loop, w));
    assert_int_equal(aio_stream_is_closing(loop, w), 1); /* at once */
    /* libaio: a closed stream's calls fail with AIO_ECLOSED (asyncio drops
     * writes silently, fails drain with ConnectionResetError and lets the
     * reader see EOF). */
    assert_aio_err(aio_stream_write(loop, w, "data", 4), AIO_ECLOSED);
    assert_aio_err(aio_future_check(aio_stream_drain(loop, w)), AIO_ECLOSED);
    assert_aio_err(aio_future_check(aio_stream_read(loop, w, &err, 1)), AIO_ECLOSED);
    assert_aio_ok(aio_run_until_complete(loop, wc, NULL));
    assert_aio_ok(err);                       /* wait_closed completes with unread data */
    assert_aio_ok(aio_stream_close(loop, w)); /* a second close is harmless */
    assert_aio_ok(aio_run_until_complete(loop, aio_stream_wait_closed(loop, w), NULL));
    struct res r;
    read_now(loop, peer, OP_READ, 10, NULL, &r);
    /* The peer sees the end: a reset, as w closed with bytes unread. */
    assert_true(r.err == -ECONNRESET || (r.err == 0 && r.n == 0));
    aio_stream_close(loop, peer);
    aio_loop_free(loop);
}

/* A read waiting when its stream is closed ends with AIO_ECLOSED. */
static void close_ends_a_waiting_read(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream a, b;
    stream_pair(loop, false, &a, &b);
    struct res r;
    aio_future f = start_read(loop, b, OP_READ, 10, NULL, &r);
    run_a_little(loop);
    assert_aio_ok(aio_stream_close(loop, b));
    assert_aio_ok(aio_run_until_complete(loop, f, NULL));
    assert_aio_err(r.err, AIO_ECLOSED);
    aio_stream_close(loop, a);
    aio_loop_free(loop);
}

/* ---- CANCEL-01..03 ---- */

static void CANCEL_01_readexactly_keeps_what_arrived(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream w, s;
    stream_pair(loop, true, &w, &s);
    struct res r;
    aio_future f = start_read(loop, s, OP_EXACT, 10, NULL, &r);
    run_a_little(loop);
    assert_aio_ok(aio_stream_write(loop, w, "12345", 5));
    run_a_little(loop);
    assert_int_equal(aio_task_cancel(loop, f, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, f, NULL), AIO_ECANCELLED);
    read_now(loop, s, OP_READ, 100, NULL, &r);
    assert_read(&r, "12345");

    /* Race form: "abcde" wakes a waiting readexactly(5), and the task is
     * cancelled before it resumes. */
    aio_stream rd = reader_new(loop, 0);
    f = start_read(loop, rd, OP_EXACT, 5, NULL, &r);
    run_a_little(loop);
    feed(loop, rd, "abcde");                             /* the read is woken now... */
    assert_int_equal(aio_task_cancel(loop, f, NULL), 1); /* ...and cancelled before it resumed */
    assert_aio_err(aio_run_until_complete(loop, f, NULL), AIO_ECANCELLED);
    assert_buffered(loop, rd, "abcde");
    aio_stream_close(loop, rd);
    aio_stream_close(loop, w);
    aio_stream_close(loop, s);
    aio_loop_free(loop);
}

static void CANCEL_02_readuntil_keeps_what_arrived(void **state) {
    (void)state;
    for (int line = 0; line < 2; line++) {
        aio_loop *loop = test_loop_new(0);
        aio_stream w, s;
        stream_pair(loop, true, &w, &s);
        const char *sep = line ? "\n" : "\r\n";
        struct res r;
        aio_future f = start_read(loop, s, line ? OP_LINE : OP_UNTIL, sizeof r.buf, sep, &r);
        run_a_little(loop);
        assert_aio_ok(aio_stream_write(loop, w, "GET / HTTP/1.1\r", 15));
        run_a_little(loop);
        assert_int_equal(aio_task_cancel(loop, f, NULL), 1);
        assert_aio_err(aio_run_until_complete(loop, f, NULL), AIO_ECANCELLED);
        assert_aio_ok(aio_stream_write(loop, w, "\nHost", 5));
        read_now(loop, s, line ? OP_LINE : OP_UNTIL, sizeof r.buf, sep, &r);
        assert_read(&r, "GET / HTTP/1.1\r\n");
        run_a_little(loop);
        assert_buffered(loop, s, "Host");
        aio_stream_close(loop, w);
        aio_stream_close(loop, s);
        aio_loop_free(loop);
    }
}

static void CANCEL_03_cancelled_drain(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream w, peer;
    stream_pair(loop, true, &w, &peer);
    /* Pause W: the peer does not read. */
    size_t total = 0;
    char chunk[65536];
    uint32_t sum = 0;
    for (int i = 0; aio_stream_write_buffer_size(loop, w) <= 65536; i++) {
        for (size_t k = 0; k < sizeof chunk; k++)
            chunk[k] = (char)(i + k);
        for (size_t k = 0; k < sizeof chunk; k++)
            sum = sum * 31u + (uint8_t)chunk[k];
        assert_aio_ok(aio_stream_write(loop, w, chunk, sizeof chunk));
        total += sizeof chunk;
    }
    int err = 1;
    ssize_t left;
    aio_future d = aio_spawn(loop, drainer, &(struct drain_frame){w, &err, &left, 0});
    run_a_little(loop);
    assert_int_equal(err, 1); /* blocked */
    assert_int_equal(aio_task_cancel(loop, d, NULL), 1);
    assert_aio_err(aio_run_until_complete(loop, d, NULL), AIO_ECANCELLED);
    int e2;
    aio__stream *st = aio__stream_get(loop, w, &e2);
    assert_non_null(st->x);                    /* it buffered: it has its extras */
    assert_true(aio__waitq_empty(&st->x->dq)); /* no drain waiter remains */
    assert_aio_ok(aio_stream_write(loop, w, "tail", 4));
    for (int k = 0; k < 4; k++)
        sum = sum * 31u + (uint8_t) "tail"[k];
    total += 4;
    assert_aio_ok(aio_stream_write_eof(loop, w));
    /* A later drain works; the peer receives every byte in order. */
    err = 1;
    d = aio_spawn(loop, drainer, &(struct drain_frame){w, &err, &left, 1});
    struct res r;
    read_now(loop, peer, OP_EOF, 0, NULL, &r);
    assert_aio_ok(aio_run_until_complete(loop, d, NULL));
    assert_aio_ok(err);
    assert_int_equal(r.n, (int64_t)total);
    size_t len;
    const unsigned char *p = aio_stream_peek(loop, peer, &len);
    uint32_t got = 0;
    for (size_t k = 0; k < len; k++)
        got = got * 31u + p[k];
    assert_int_equal(got, sum);
    aio_stream_close(loop, w);
    aio_stream_close(loop, peer);
    aio_loop_free(loop);
}

/* ---- handles ---- */

static void handles_are_checked(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_loop *other = test_loop_new(0);
    aio_stream s = reader_new(loop, 0);
    char c;
    assert_aio_err(aio_future_check(aio_stream_read(loop, AIO_STREAM_NULL, &c, 1)), AIO_ENULL);
    assert_aio_err(aio_future_check(aio_stream_read(other, s, &c, 1)), AIO_EFOREIGN);
    assert_aio_err(aio_future_check(aio_stream_read(NULL, s, &c, 1)), -EINVAL);
    assert_aio_err(aio_stream_write(loop, s, "x", 1), -EOPNOTSUPP);
    assert_aio_err(aio_stream_fd(loop, s), -EOPNOTSUPP);
    assert_aio_ok(aio_stream_close(loop, s));
    assert_aio_err(aio_stream_buffered(loop, s), AIO_ECLOSED);
    assert_aio_err(aio_stream_feed_data(loop, s, "x", 1), AIO_ECLOSED);
    assert_aio_ok(aio_stream_close(loop, s));
    assert_int_equal(aio_stream_is_closing(loop, s), 1);
    aio_stream s2 = reader_new(loop, 0); /* reuses the slot: the old handle stays dead */
    assert_aio_err(aio_stream_buffered(loop, s), AIO_ECLOSED);
    assert_int_equal(aio_stream_buffered(loop, s2), 0);
    aio_stream_options bad = {0};
    bad.high_water = 10;
    bad.low_water = 20;
    assert_aio_err(aio_stream_create_reader(loop, &bad, &s2), -EINVAL);
    aio_loop_free(other);
    aio_loop_free(loop); /* s2 still open: the close frees it */
}

/* An idle stream holds no read buffer; a busy one borrows the loop's
 * block and gives it back. Writes the socket took whole made no extras. */
static void idle_stream_holds_no_buffer(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_stream a, b;
    stream_pair(loop, true, &a, &b);
    struct res r;
    for (int i = 0; i < 100; i++) {
        assert_aio_ok(aio_stream_write(loop, a, "ping", 4));
        read_now(loop, b, OP_READ, sizeof r.buf, NULL, &r);
        assert_read(&r, "ping");
    }
    int err;
    aio__stream *sb = aio__stream_get(loop, b, &err);
    assert_null(sb->rb.data);
    assert_null(sb->x);
    aio__stream *sa = aio__stream_get(loop, a, &err);
    assert_null(sa->x);
    assert_true(loop->net->blocks.nfree <= 1 && loop->net->blocks.inuse == 0);
    aio_stream_close(loop, a);
    aio_stream_close(loop, b);
    aio_loop_free(loop);
}

/* What an idle connection holds (docs/design.md): 64 streams, each with a
 * task waiting in a zero-copy read. No buffer, no extras, no wait-queue
 * link (the loop never made its link table: the reads are owned by their
 * streams), and the fd table has entries only up to the highest fd seen. */
static void idle_streams_hold_nothing_more(void **state) {
    (void)state;
    enum { N = 64 };
    aio_loop *loop = test_loop_new(0);
    aio_stream a[N], b[N];
    struct res r[N];
    struct rd_frame fr[N];
    aio_future f[N];
    int maxfd = 0;
    for (int i = 0; i < N; i++) {
        stream_pair(loop, false, &a[i], &b[i]);
        int fa = aio_stream_fd(loop, a[i]), fb = aio_stream_fd(loop, b[i]);
        maxfd = fa > maxfd ? fa : maxfd;
        maxfd = fb > maxfd ? fb : maxfd;
        memset(&r[i], 0, sizeof r[i]);
        fr[i] = (struct rd_frame){b[i], OP_READ, 0, NULL, NULL, 0, &r[i], true};
        f[i] = aio_spawn(loop, do_read, &fr[i]);
    }
    run_a_little(loop);
    assert_null(loop->fut.links);
    assert_int_equal(loop->io.cap, maxfd + 1);
    assert_true(loop->io.alloc >= loop->io.cap);
    for (int i = 0; i < N; i++) {
        int err;
        aio__stream *st = aio__stream_get(loop, b[i], &err);
        assert_non_null(st);
        assert_int_equal(r[i].err, 1); /* still waiting */
        assert_true(aio__stream_reading(st));
        assert_null(st->rb.data);
        assert_null(st->x);
        assert_null(loop->io.fds[st->w.fd].x); /* no public watcher record */
    }
    /* They all complete, zero-copy, and give their blocks back. */
    for (int i = 0; i < N; i++)
        assert_aio_ok(aio_stream_write(loop, a[i], "hi", 2));
    for (int i = 0; i < N; i++) {
        assert_aio_ok(aio_run_until_complete(loop, f[i], NULL));
        assert_int_equal(r[i].err, 0);
        assert_int_equal(r[i].n, 2);
        assert_aio_ok(aio_stream_consume(loop, b[i], 2));
        int err;
        aio__stream *st = aio__stream_get(loop, b[i], &err);
        assert_false(aio__stream_reading(st));
        assert_null(st->rb.data);
        aio_stream_close(loop, a[i]);
        aio_stream_close(loop, b[i]);
    }
    aio_loop_free(loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(READ_01_read_up_to_n),
        cmocka_unit_test(READ_02_read_to_eof),
        cmocka_unit_test(READ_03_readline_and_at_eof),
        cmocka_unit_test(READ_04_readexactly),
        cmocka_unit_test(READ_05_readuntil_across_chunks),
        cmocka_unit_test(READ_06_readuntil_eof_and_bad_separators),
        cmocka_unit_test(READ_07_limit_overrun_keeps_data),
        cmocka_unit_test(READ_08_error_precedence),
        cmocka_unit_test(READ_09_one_reader_and_feeding_rules),
        cmocka_unit_test(zero_copy_reads),
        cmocka_unit_test(reads_over_sockets),
        cmocka_unit_test(WRITE_01_back_pressure),
        cmocka_unit_test(WRITE_01_limits_and_several_drainers),
        cmocka_unit_test(WRITE_drain_fast_form),
        cmocka_unit_test(WRITE_02_half_close),
        cmocka_unit_test(WRITE_02_write_eof_after_the_buffer),
        cmocka_unit_test(WRITE_03_close_lifecycle),
        cmocka_unit_test(close_ends_a_waiting_read),
        cmocka_unit_test(CANCEL_01_readexactly_keeps_what_arrived),
        cmocka_unit_test(CANCEL_02_readuntil_keeps_what_arrived),
        cmocka_unit_test(CANCEL_03_cancelled_drain),
        cmocka_unit_test(handles_are_checked),
        cmocka_unit_test(idle_stream_holds_no_buffer),
        cmocka_unit_test(idle_streams_hold_nothing_more),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
