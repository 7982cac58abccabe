/* The HTTP example's check beyond curl: pipelined requests (several in
 * one write) and requests split over many writes, on one connection. Plain
 * blocking sockets, no libaio.
 *     http_probe HOST PORT      prints "probe ok" and exits 0, or says what failed */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESPONSE "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
#define REQ "GET / HTTP/1.1\r\nHost: probe\r\n\r\n"

static int fd;

static void fail(const char *what) {
    fprintf(stderr, "http_probe: %s\n", what);
    exit(1);
}

static void send_all(const char *p, size_t n) {
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k <= 0)
            fail("write");
        p += k;
        n -= (size_t)k;
    }
}

static void pause_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Read exactly n responses and check every byte. */
static void expect(int n) {
    size_t want = (size_t)n * (sizeof RESPONSE - 1), got = 0;
    char *buf = malloc(want);
    while (got < want) {
        ssize_t k = read(fd, buf + got, want - got);
        if (k <= 0)
            fail("the connection ended early");
        got += (size_t)k;
    }
    for (int i = 0; i < n; i++)
        if (memcmp(buf + (size_t)i * (sizeof RESPONSE - 1), RESPONSE, sizeof RESPONSE - 1) != 0)
            fail("a response differs");
    free(buf);
}

int main(int argc, char **argv) {
    if (argc != 3)
        fail("usage: http_probe HOST PORT");
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1)
        fail("HOST must be an IPv4 address");
    fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        fail("connect");
    /* Pipelining: three requests in one write. */
    send_all(REQ REQ REQ, 3 * (sizeof REQ - 1));
    expect(3);
    /* One request in three writes, split inside the blank line too. */
    send_all("GET / HT", 8);
    pause_ms(50);
    send_all("TP/1.1\r\nHost: probe\r\n\r", 22);
    pause_ms(50);
    send_all("\n", 1);
    expect(1);
    /* A request byte by byte, then two and a half: 2 answers, then the rest. */
    for (size_t i = 0; i < sizeof REQ - 1; i++) {
        send_all(&REQ[i], 1);
        if (i % 7 == 0)
            pause_ms(5);
    }
    expect(1);
    send_all(REQ REQ "GET / HTTP/1.1\r\n", 2 * (sizeof REQ - 1) + 16);
    expect(2);
    send_all("Host: probe\r\n\r\n", 15);
    expect(1);
    close(fd);
    printf("probe ok\n");
    return 0;
}
