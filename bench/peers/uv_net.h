/* What the libuv servers of the network workload (uv_echo.c, uv_http.c)
 * share: HOST PORT on the command line, the listening handle, the
 * "listening HOST PORT" line, and stopping on SIGTERM/SIGINT. */
#ifndef AIO_BENCH_UV_NET_H
#define AIO_BENCH_UV_NET_H

#define _GNU_SOURCE /* uv.h needs POSIX types (pthread_rwlock_t) under -std=c11 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static void uv_net_on_signal(uv_signal_t *h, int signum) {
    (void)signum;
    uv_stop(h->loop);
}

/* Listens on argv's HOST PORT (PORT 0: the kernel picks), prints the
 * listening line, runs the loop until SIGTERM or SIGINT. Returns the exit
 * status: 0, 1 on a socket error, 2 on a bad command line. */
static int uv_net_serve(int argc, char **argv, const char *name, uv_connection_cb on_connection) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", name);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a write to a reset connection fails with EPIPE instead */
    uv_loop_t *loop = uv_default_loop();
    struct sockaddr_storage ss;
    int port = atoi(argv[2]);
    if (uv_ip4_addr(argv[1], port, (struct sockaddr_in *)&ss) < 0 &&
        uv_ip6_addr(argv[1], port, (struct sockaddr_in6 *)&ss) < 0) {
        fprintf(stderr, "%s: bad address %s\n", name, argv[1]);
        return 2;
    }
    static uv_tcp_t server;
    uv_tcp_init(loop, &server);
    int r = uv_tcp_bind(&server, (const struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&server, 4096, on_connection);
    if (r < 0) {
        fprintf(stderr, "%s: listen: %s\n", name, uv_strerror(r));
        return 1;
    }
    int len = sizeof ss;
    char host[64] = "?";
    uv_tcp_getsockname(&server, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof host);
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof host);
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    printf("listening %s %d\n", host, port);
    fflush(stdout);
    uv_signal_t sigterm, sigint;
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigterm, uv_net_on_signal, SIGTERM);
    uv_signal_start(&sigint, uv_net_on_signal, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}

#endif /* AIO_BENCH_UV_NET_H */
