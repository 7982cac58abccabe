/* The floor of the echo workloads: a raw epoll echo server written only
 * for the benchmark. No library, one thread, edge-triggered epoll, one
 * read() and one write() per round trip (and a share of one epoll_wait).
 *
 *   floor_echo HOST PORT | unix:PATH      (bench/net_server.h)
 *
 * Each connection reads into one shared 256 KiB buffer and writes what it
 * read straight back. Only when a write is short (the client is not reading
 * fast enough, as in the 1 GiB stream) does the connection get a buffer of
 * its own for the rest; it then stops reading until EPOLLOUT has drained
 * it, so memory stays bounded. An idle connection costs its slot in the
 * table below and the kernel's socket, nothing else. */
#include "net_server.h"

#include <stdint.h>

#define BUF_SIZE 262144 /* 64 KiB reads cost ~40% more CPU per GiB streamed here */

typedef struct echo_conn {
    unsigned char *pend; /* bytes read but not yet written back, or NULL */
    uint32_t off, len;   /* pend[off .. off+len) is still to write */
} echo_conn;

static echo_conn *conns; /* indexed by fd */
static int nconns;
static unsigned char buf[BUF_SIZE];

static int grow_table(int fd) {
    if (fd < nconns)
        return 0;
    int n = nconns ? nconns : 1024;
    while (n <= fd)
        n *= 2;
    echo_conn *t = realloc(conns, (size_t)n * sizeof *t);
    if (!t)
        return -1;
    memset(t + nconns, 0, (size_t)(n - nconns) * sizeof *t);
    conns = t;
    nconns = n;
    return 0;
}

static void drop(int fd) {
    free(conns[fd].pend);
    memset(&conns[fd], 0, sizeof conns[fd]);
    close(fd); /* also leaves the epoll set */
}

/* Writes the pending bytes. Returns 1 if all are out, 0 if the socket is
 * full, -1 if the connection is dead. */
static int flush(int fd, echo_conn *c) {
    while (c->len) {
        ssize_t w = write(fd, c->pend + c->off, c->len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        c->off += (uint32_t)w;
        c->len -= (uint32_t)w;
    }
    return 1;
}

/* Keeps buf[from .. n) for later. */
static int keep(echo_conn *c, size_t from, size_t n) {
    if (!c->pend && !(c->pend = malloc(BUF_SIZE)))
        return -1;
    memcpy(c->pend, buf + from, n - from);
    c->off = 0;
    c->len = (uint32_t)(n - from);
    return 0;
}

static void on_event(int fd, uint32_t events) {
    echo_conn *c = &conns[fd];
    if (c->len) {
        /* Not writable when reported: a write-space edge will come. */
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int r = flush(fd, c);
        if (r < 0)
            drop(fd);
        if (r <= 0)
            return;
    }
    /* The edge may carry more than one buffer: read until a read comes
     * back short (the socket was empty then; new bytes make a new edge). */
    for (;;) {
        ssize_t n = read(fd, buf, BUF_SIZE);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n == 0 || errno != EAGAIN)
                drop(fd);
            return;
        }
        ssize_t w = write(fd, buf, (size_t)n);
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                drop(fd);
                return;
            }
            w = 0;
        }
        if (w < n) {
            if (keep(c, (size_t)w, (size_t)n) < 0)
                drop(fd);
            return; /* read no more until EPOLLOUT has drained it */
        }
        if (n < BUF_SIZE)
            return;
    }
}

int main(int argc, char **argv) { return net_serve(argc, argv, grow_table, on_event); }
