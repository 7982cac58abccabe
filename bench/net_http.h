/* The HTTP workload's one response and its one parsing rule, the same in
 * every HTTP server of the benchmark (floor_http.c, peers/uv_http.c,
 * peers/asyncio_net.py, and libaio's http_hello should match them):
 *
 *   - a request ends at its first blank line ("\r\n\r\n"); requests carry
 *     no body (GET, as wrk sends). Several requests may arrive in one read
 *     (pipelining) and one request over several reads;
 *   - every request gets this response, in order, and the connection stays
 *     open (HTTP/1.1 keep-alive) until the client closes it. */
#ifndef AIO_BENCH_NET_HTTP_H
#define AIO_BENCH_NET_HTTP_H

#define _GNU_SOURCE
#include <stddef.h>
#include <string.h>

#define NET_HTTP_RESPONSE                                                                                    \
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
#define NET_HTTP_RESPONSE_LEN (sizeof NET_HTTP_RESPONSE - 1)
#define NET_HTTP_MAX_HEAD 65536 /* a longer unfinished request closes the connection */

/* Number of complete requests at the start of p[0 .. n); *used is the
 * length they take (the rest is the start of an unfinished request). */
static inline size_t net_http_count(const char *p, size_t n, size_t *used) {
    size_t k = 0, at = 0;
    for (;;) {
        const char *end = memmem(p + at, n - at, "\r\n\r\n", 4);
        if (!end)
            break;
        at = (size_t)(end - p) + 4;
        k++;
    }
    *used = at;
    return k;
}

#endif /* AIO_BENCH_NET_HTTP_H */
