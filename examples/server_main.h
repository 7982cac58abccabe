/* What examples/echo_server.c and examples/http_hello.c share: the command
 * line, the "listening" line, one loop per thread, and a clean stop.
 *
 *     SERVER HOST PORT [THREADS]     TCP; PORT 0: the kernel picks one
 *     SERVER unix:PATH               a Unix socket
 *
 * The first line on stdout is "listening HOST PORT" (or "listening
 * unix:PATH") once every loop accepts. THREADS > 1 runs that many loops on
 * as many threads, each with its own listening socket on the same port
 * (SO_REUSEPORT: the kernel spreads the connections). SIGINT or SIGTERM
 * stops every loop: each closes its server, lets its connections finish
 * (1 s at most, then aborts them), and the program exits 0.
 *
 * Each loop runs in aio_run_ex, which turns SIGINT and SIGTERM into a
 * cancel of its main task: serve() sees AIO_ECANCELLED at its await of
 * serve_forever. */
#ifndef AIO_EXAMPLE_SERVER_MAIN_H
#define AIO_EXAMPLE_SERVER_MAIN_H

#include <aio/aio.h>

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64

typedef struct serve_config {
    const char *name;
    const char *host;
    const char *unix_path;
    int port;
    int threads;
    /* the connection coroutine and its frame */
    aio_coro_fn coro;
    const void *frame;
    size_t frame_size, stream_offset;
    /* loops that have started (or failed): the first one's port */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready, failed;
} serve_config;

struct serve {
    serve_config *cfg;
    aio_server srv;
};

/* A loop started (or failed to): the last one prints the listening line. */
static void serve_ready(serve_config *cfg, int port, int failed) {
    pthread_mutex_lock(&cfg->mu);
    if (port > 0 && cfg->port == 0)
        cfg->port = port; /* the kernel's pick: the others bind it too */
    cfg->ready++;
    cfg->failed += failed;
    if (cfg->ready == cfg->threads && cfg->failed == 0) {
        if (cfg->unix_path)
            printf("listening unix:%s\n", cfg->unix_path);
        else
            printf("listening %s %d\n", cfg->host, cfg->port);
        fflush(stdout);
    }
    pthread_cond_broadcast(&cfg->cv);
    pthread_mutex_unlock(&cfg->mu);
}

AIO_CORO(serve, struct serve) {
    serve_config *cfg = f->cfg;
    AIO_BEGIN(t);
    {
        aio_server_options opts = {0};
        opts.backlog = 4096;
        opts.reuse_port = cfg->threads > 1;
        aio_future start = cfg->unix_path
                               ? aio_start_unix_server_sized(t, cfg->unix_path, cfg->coro, cfg->frame,
                                                             cfg->frame_size, cfg->stream_offset, &opts)
                               : aio_start_server_sized(t, cfg->host, cfg->port, cfg->coro, cfg->frame,
                                                        cfg->frame_size, cfg->stream_offset, &opts);
        AIO_AWAIT(t, start);
    }
    if (AIO_ERR(t) < 0) {
        fprintf(stderr, "%s: cannot listen: %s\n", cfg->name, aio_strerror(AIO_ERR(t)));
        serve_ready(cfg, 0, 1);
        AIO_FAIL(t, AIO_ERR(t));
    }
    f->srv = aio_server_from(AIO_RESULT(t));
    serve_ready(cfg, cfg->unix_path ? 0 : aio_server_port(t, f->srv), 0);

    /* Serve until SIGINT or SIGTERM cancels us. */
    AIO_AWAIT(t, aio_server_serve_forever(t, f->srv));
    if (!AIO_CANCEL_HANDLED(t) && AIO_ERR(t) != AIO_ECANCELLED)
        fprintf(stderr, "%s: %s\n", cfg->name, aio_strerror(AIO_ERR(t)));

    /* Stop: no new connections; the open ones get 1 s to finish. */
    aio_server_close(t, f->srv);
    aio_server_close_clients(t, f->srv);
    AIO_AWAIT(t, aio_wait_for(t, aio_server_wait_closed(t, f->srv), 1.0));
    if (AIO_ERR(t) == AIO_ETIMEDOUT) {
        aio_server_abort_clients(t, f->srv);
        AIO_AWAIT(t, aio_server_wait_closed(t, f->srv));
    }
    AIO_END(t);
}

static void *serve_thread(void *arg) {
    serve_config *cfg = arg;
    aio_run_options ro = {0};
    ro.signals = AIO_RUN_SIGINT | AIO_RUN_SIGTERM;
    int rc = aio_run_ex(&ro, serve, &(struct serve){cfg, AIO_SERVER_NULL});
    return (void *)(intptr_t)(rc == 0 || rc == -EINTR ? 0 : 1);
}

/* Wait until `n` loops have started (or one failed). */
static int serve_wait(serve_config *cfg, int n) {
    pthread_mutex_lock(&cfg->mu);
    while (cfg->ready < n && cfg->failed == 0)
        pthread_cond_wait(&cfg->cv, &cfg->mu);
    int failed = cfg->failed;
    pthread_mutex_unlock(&cfg->mu);
    return failed;
}

static int serve_main(int argc, char **argv, serve_config *cfg) {
    cfg->name = argv[0];
    if (argc == 2 && strncmp(argv[1], "unix:", 5) == 0) {
        cfg->unix_path = argv[1] + 5;
        cfg->threads = 1;
    } else if (argc == 3 || argc == 4) {
        cfg->host = argv[1];
        cfg->port = atoi(argv[2]);
        cfg->threads = argc == 4 ? atoi(argv[3]) : 1;
    }
    if ((!cfg->unix_path && !cfg->host) || cfg->threads < 1 || cfg->threads > MAX_THREADS) {
        fprintf(stderr, "usage: %s HOST PORT [THREADS] | %s unix:PATH\n", argv[0], argv[0]);
        return 2;
    }
    pthread_mutex_init(&cfg->mu, NULL);
    pthread_cond_init(&cfg->cv, NULL);
    /* One loop: on this thread (a process with one thread makes its
     * system calls without libc's cancellation bookkeeping). */
    if (cfg->threads == 1)
        return serve_thread(cfg) != NULL;
    /* Several: the first binds (port 0: the kernel picks), the others
     * then bind the same port. */
    pthread_t tid[MAX_THREADS];
    int started = 0, failed = 0;
    for (int i = 0; i < cfg->threads && !failed; i++) {
        if (pthread_create(&tid[i], NULL, serve_thread, cfg) != 0)
            break;
        started++;
        failed = serve_wait(cfg, i + 1);
    }
    int rc = failed || started < cfg->threads;
    /* Stop the loops that serve: SIGTERM reaches each through its aio_run
     * route, which stays armed while it serves. None serving (the first
     * loop failed), nothing is to be stopped, and nothing handles SIGTERM
     * any more: the failed loop's end gave the signal its default action
     * back, and raising it would kill the process (exit 143 instead of 1). */
    pthread_mutex_lock(&cfg->mu);
    int serving = cfg->ready - cfg->failed;
    pthread_mutex_unlock(&cfg->mu);
    if (rc && serving > 0)
        raise(SIGTERM);
    for (int i = 0; i < started; i++) {
        void *r;
        pthread_join(tid[i], &r);
        rc |= r != NULL;
    }
    return rc;
}

#endif
