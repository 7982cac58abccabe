/* What the floor servers (floor_echo.c, floor_http.c) share: the command
 * line, the listening socket and the shutdown signal. Every server of the
 * network workload, floors and peers alike, behaves the same outside:
 *
 *   SERVER HOST PORT     TCP; PORT 0 lets the kernel pick one
 *   SERVER unix:PATH     a Unix stream socket (the floors only)
 *
 * prints "listening HOST PORT" (or "listening unix:PATH") as its first
 * line on stdout, serves until SIGTERM or SIGINT, and exits 0. */
#ifndef AIO_BENCH_NET_SERVER_H
#define AIO_BENCH_NET_SERVER_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define NET_BACKLOG 4096 /* every server listens with this backlog */

static inline void net_die(const char *what) {
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(1);
}

/* The listening socket (non-blocking) for argv's HOST PORT or unix:PATH;
 * prints the "listening" line. `*is_tcp` tells whether accepted sockets
 * take TCP_NODELAY. Exits 2 on a bad command line, 1 on a socket error. */
static inline int net_listen(int argc, char **argv, int *is_tcp) {
    int fd;
    if (argc == 2 && strncmp(argv[1], "unix:", 5) == 0) {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        if (strlen(argv[1] + 5) >= sizeof un.sun_path) {
            fprintf(stderr, "unix socket path too long\n");
            exit(2);
        }
        strcpy(un.sun_path, argv[1] + 5);
        unlink(un.sun_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&un, sizeof un) < 0 || listen(fd, NET_BACKLOG) < 0)
            net_die("listen");
        printf("listening %s\n", argv[1]);
        fflush(stdout);
        *is_tcp = 0;
        return fd;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT | unix:PATH\n", argv[0]);
        exit(2);
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE}, *res;
    if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0) {
        fprintf(stderr, "bad HOST PORT (numeric addresses only)\n");
        exit(2);
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, NET_BACKLOG) < 0)
        net_die("listen");
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN], port[16];
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        net_die("getsockname");
    printf("listening %s %s\n", host, port);
    fflush(stdout);
    *is_tcp = 1;
    return fd;
}

/* SIGTERM and SIGINT as a readable descriptor (blocked as signals), and
 * SIGPIPE ignored: a write to a connection the client reset must fail with
 * EPIPE, not kill the server. */
static inline int net_signal_fd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        net_die("sigprocmask");
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        net_die("signalfd");
    return fd;
}

/* Accepts every pending connection (the listener is edge-triggered) and
 * adds it to the epoll set, edge-triggered for input and output. `admit`
 * makes room for its state; -1 refuses it. */
static inline void net_accept_all(int ep, int lfd, int is_tcp, int (*admit)(int fd)) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                perror("accept4"); /* EMFILE and the like: keep serving */
            return;
        }
        if (admit(fd) < 0) {
            close(fd);
            continue;
        }
        if (is_tcp) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            close(fd);
    }
}

/* The whole server: listens (argv as above), then one epoll_wait per loop
 * iteration, `on_event` for each ready connection, until SIGTERM/SIGINT.
 * Returns the exit status, 0. */
static inline int net_serve(int argc, char **argv, int (*admit)(int fd),
                            void (*on_event)(int fd, uint32_t events)) {
    int is_tcp;
    int sfd = net_signal_fd();
    int lfd = net_listen(argc, argv, &is_tcp);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        net_die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = lfd};
    struct epoll_event sev = {.events = EPOLLIN, .data.fd = sfd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &sev) < 0)
        net_die("epoll_ctl");
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            net_die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd)
                net_accept_all(ep, lfd, is_tcp, admit);
            else if (fd == sfd)
                return 0; /* SIGTERM or SIGINT */
            else
                on_event(fd, evs[i].events);
        }
    }
}

#endif /* AIO_BENCH_NET_SERVER_H */
