/* Helpers for the network tests: loopback sockets, free ports, Unix paths
 * in a fresh temporary directory. Everything here is plain POSIX (no
 * libaio), so the tests' peers do not depend on the code under test. */
#ifndef AIO_TEST_NET_SUPPORT_H
#define AIO_TEST_NET_SUPPORT_H

#include "support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static inline void net_set_nonblock(int fd, int on) {
    int fl = fcntl(fd, F_GETFL);
    assert_true(fl >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK), 0);
}

static inline int net_is_nonblock(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

/* A listening TCP socket on 127.0.0.1 (or ::1), port picked by the kernel;
 * its address in *addr. */
static inline int net_listen_on(int family, struct sockaddr_storage *addr, socklen_t *len) {
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t l;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        l = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        l = sizeof *in6;
    }
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, l), 0);
    assert_int_equal(listen(fd, 128), 0);
    *len = sizeof *addr;
    assert_int_equal(getsockname(fd, (struct sockaddr *)addr, len), 0);
    return fd;
}
static inline int net_listen(struct sockaddr_storage *addr, socklen_t *len) {
    return net_listen_on(AF_INET, addr, len);
}

static inline int net_port_of(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* A 127.0.0.1 port that was bound and released: a connect is refused. */
static inline int net_closed_port(struct sockaddr_storage *addr, socklen_t *len) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof in), 0);
    *len = sizeof *addr;
    assert_int_equal(getsockname(fd, (struct sockaddr *)addr, len), 0);
    close(fd);
    return net_port_of(addr);
}

/* A blocking TCP client connected to addr (loopback connects at once). */
static inline int net_connect(const struct sockaddr_storage *addr, socklen_t len) {
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (const struct sockaddr *)addr, len), 0);
    return fd;
}

static inline int net_have_ipv6(void) {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof in6);
    in6.sin6_family = AF_INET6;
    in6.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&in6, sizeof in6) == 0;
    close(fd);
    return ok;
}

/* A fresh temporary directory (for Unix socket paths); removed with
 * net_tmpdir_remove once its files are gone. */
static inline void net_tmpdir(char *dir, size_t size) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, size, "%s/aio-net-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
}
static inline void net_tmpdir_remove(const char *dir, const char *file) {
    char p[512];
    if (file) {
        snprintf(p, sizeof p, "%s/%s", dir, file);
        unlink(p);
    }
    rmdir(dir);
}

/* Blocking helpers for peers. */
static inline void net_write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0 && errno == EAGAIN) {
            struct pollfd pf = {fd, POLLOUT, 0};
            poll(&pf, 1, 1000);
            continue;
        }
        assert_true(k > 0);
        c += k;
        n -= (size_t)k;
    }
}

/* Number of open fds of this process. */
static inline int net_open_fds(void) {
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

#endif
