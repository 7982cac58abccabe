/* Network workload, libev peer: a TCP echo server on libev's ev_io
 * watchers (level-triggered, epoll backend). A readable connection is read
 * once into a shared 256 KiB buffer (as the floor's) and written straight
 * back; the rest of a short write is kept in a buffer of the connection's
 * own, its read watcher stops and its write watcher starts until the rest
 * is out.
 *
 *   ev_echo HOST PORT    prints "listening HOST PORT", serves until
 *                        SIGTERM/SIGINT, exits 0 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 262144

typedef struct echo_conn {
    ev_io r, w;
    char *pend; /* pend[off .. off+len) is still to write, or NULL */
    size_t off, len;
} echo_conn;

static char buf[BUF_SIZE];

static void drop(struct ev_loop *loop, echo_conn *c) {
    ev_io_stop(loop, &c->r);
    ev_io_stop(loop, &c->w);
    close(c->r.fd);
    free(c->pend);
    free(c);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents) {
    (void)revents;
    echo_conn *c = (echo_conn *)((char *)w - offsetof(echo_conn, w));
    while (c->len) {
        ssize_t n = write(w->fd, c->pend + c->off, c->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                drop(loop, c);
            return;
        }
        c->off += (size_t)n;
        c->len -= (size_t)n;
    }
    ev_io_stop(loop, &c->w);
    ev_io_start(loop, &c->r);
}

static void on_readable(struct ev_loop *loop, ev_io *r, int revents) {
    (void)revents;
    echo_conn *c = (echo_conn *)r; /* r is the first member */
    ssize_t n = read(r->fd, buf, BUF_SIZE);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            drop(loop, c);
        return;
    }
    ssize_t w = write(r->fd, buf, (size_t)n);
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            drop(loop, c);
            return;
        }
        w = 0;
    }
    if (w == n)
        return;
    if (!c->pend && !(c->pend = malloc(BUF_SIZE))) {
        drop(loop, c);
        return;
    }
    memcpy(c->pend, buf + w, (size_t)(n - w));
    c->off = 0;
    c->len = (size_t)(n - w);
    ev_io_stop(loop, &c->r);
    ev_io_start(loop, &c->w);
}

static void on_accept(struct ev_loop *loop, ev_io *lw, int revents) {
    (void)revents;
    for (;;) {
        int fd = accept4(lw->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN: all taken; anything else: try again on the next event */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        echo_conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        ev_io_init(&c->r, on_readable, fd, EV_READ);
        ev_io_init(&c->w, on_writable, fd, EV_WRITE);
        ev_io_start(loop, &c->r);
    }
}

static void on_signal(struct ev_loop *loop, ev_signal *s, int revents) {
    (void)s;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: ev_echo HOST PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE}, *res;
    if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0) {
        fprintf(stderr, "ev_echo: bad address\n");
        return 2;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
        perror("ev_echo: listen");
        return 1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN], port[16];
    getsockname(fd, (struct sockaddr *)&ss, &len);
    getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port, sizeof port,
                NI_NUMERICHOST | NI_NUMERICSERV);
    printf("listening %s %s\n", host, port);
    fflush(stdout);

    struct ev_loop *loop = ev_default_loop(0);
    ev_io lw;
    ev_signal sigterm, sigint;
    ev_io_init(&lw, on_accept, fd, EV_READ);
    ev_io_start(loop, &lw);
    ev_signal_init(&sigterm, on_signal, SIGTERM);
    ev_signal_init(&sigint, on_signal, SIGINT);
    ev_signal_start(loop, &sigterm);
    ev_signal_start(loop, &sigint);
    ev_run(loop, 0);
    return 0;
}
