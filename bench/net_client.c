/* Load client of the network workload (bench/README.md, workload 8): one
 * process, one thread, non-blocking sockets on epoll. Its own code, not
 * built on libaio, so that it loads every server the same way.
 *
 *   net_client [-p PID] [-l LABEL] [-y] [-w WARM] pingpong ADDR C R S
 *   net_client [-p PID] [-l LABEL] stream ADDR BYTES
 *   net_client [-p PID] [-l LABEL] idle ADDR C
 *
 * ADDR is HOST:PORT (TCP) or unix:PATH. PID is the server's: its CPU time
 * over the timed part (and its RSS in idle mode) is read from /proc.
 *
 * pingpong: C connections; on each, R round trips of an S-byte message
 *   (write S bytes, read the S bytes echoed, repeat), all connections at
 *   once. First WARM round trips per connection (default min(R/10, 100))
 *   untimed, then the timed part: R round trips each. Reports round trips/s,
 *   p50/p99/p99.9 latency (time from a message's write to its last byte
 *   read), the server's CPU per round trip and, with -y, its system calls
 *   per round trip (perf; "syscalls_per_op":null if perf cannot count).
 * stream: one connection sends BYTES (e.g. 1 GiB) in 64 KiB writes while
 *   reading the echo back at the same time; the run ends when the last byte
 *   is back. Reports MB/s (10^6 B/s) and the server's CPU s per GiB.
 * idle: opens C connections, 256 at a time, each doing one 64-byte round
 *   trip (so the server has accepted it and set it up), holds them all, and
 *   reports the server's RSS growth per connection. Closes with RST (linger
 *   0), so 10,000 sockets do not sit in TIME_WAIT between runs.
 *
 * Every byte echoed is checked against what was sent. One JSON line as
 * bench.h's (n = round trips or bytes; ns_per_op / cpu_ns_per_op are the
 * client's wall and CPU per op) with the server's figures as extras. Exit
 * status 1 on any error (connection refused or closed early, wrong bytes). */
#include "bench.h"
#include "net_proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#define STREAM_CHUNK 65536 /* bytes per write in stream mode */
#define STREAM_READ 262144 /* bytes per read in stream mode */
#define IDLE_BATCH 256     /* connections set up at a time in idle mode */
#define IDLE_MSG 64        /* bytes of the one round trip of an idle connection */

static void die(const char *what) {
    fprintf(stderr, "net_client: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

static void fail(const char *what) {
    fprintf(stderr, "net_client: %s\n", what);
    exit(1);
}

/* ------------------------------------------------------------ address -- */
typedef struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family;
} addr;

static addr parse_addr(const char *s) {
    addr a;
    memset(&a, 0, sizeof a);
    if (strncmp(s, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&a.ss;
        if (strlen(s + 5) >= sizeof un->sun_path)
            fail("unix socket path too long");
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, s + 5);
        a.len = sizeof *un;
        a.family = AF_UNIX;
        return a;
    }
    const char *colon = strrchr(s, ':');
    if (!colon)
        fail("ADDR is HOST:PORT or unix:PATH");
    char host[256];
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof host)
        fail("host too long");
    memcpy(host, s, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        fail("bad HOST:PORT (numeric addresses only)");
    memcpy(&a.ss, res->ai_addr, res->ai_addrlen);
    a.len = res->ai_addrlen;
    a.family = res->ai_family;
    freeaddrinfo(res);
    return a;
}

/* ------------------------------------------------------- connections -- */
typedef struct conn {
    int fd;
    int rounds;      /* round trips completed */
    size_t got;      /* bytes of the current echo read */
    size_t put;      /* bytes of the current message written */
    int64_t sent_at; /* when the current message's write began */
    int want_out;    /* EPOLLOUT is armed (a write was short) */
} conn;

static int epfd;

static void watch(conn *c, int op, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(epfd, op, c->fd, &ev) < 0)
        die("epoll_ctl");
}

/* Non-blocking connect of n sockets; returns when every one is connected. */
static void connect_all(conn *cs, int n, const addr *a) {
    int pending = 0;
    for (int i = 0; i < n; i++) {
        conn *c = &cs[i];
        memset(c, 0, sizeof *c);
        c->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            die("socket (raise RLIMIT_NOFILE?)");
        if (a->family != AF_UNIX) {
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        if (connect(c->fd, (const struct sockaddr *)&a->ss, a->len) == 0) {
            watch(c, EPOLL_CTL_ADD, EPOLLIN);
            continue;
        }
        /* A Unix socket whose backlog is full says EAGAIN: not connecting. */
        if (errno != EINPROGRESS)
            die("connect");
        watch(c, EPOLL_CTL_ADD, EPOLLOUT);
        c->want_out = 1;
        pending++;
    }
    struct epoll_event evs[256];
    while (pending > 0) {
        int k = epoll_wait(epfd, evs, 256, 10000);
        if (k == 0)
            fail("connect timed out");
        if (k < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < k; i++) {
            conn *c = evs[i].data.ptr;
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err) {
                errno = err;
                die("connect");
            }
            c->want_out = 0;
            watch(c, EPOLL_CTL_MOD, EPOLLIN);
            pending--;
        }
    }
}

/* The message: byte i of every message is msg[i]. */
static unsigned char *msg, *rbuf;
static size_t msg_len;

/* Writes what is left of c's message; arms EPOLLOUT if the socket is full. */
static void send_rest(conn *c) {
    while (c->put < msg_len) {
        ssize_t w = write(c->fd, msg + c->put, msg_len - c->put);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                die("write");
            if (!c->want_out) {
                c->want_out = 1;
                watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
            }
            return;
        }
        c->put += (size_t)w;
    }
    if (c->want_out) {
        c->want_out = 0;
        watch(c, EPOLL_CTL_MOD, EPOLLIN);
    }
}

static void start_message(conn *c, int64_t now) {
    c->got = 0;
    c->put = 0;
    c->sent_at = now;
    send_rest(c);
}

/* Ping-pong on n connected sockets until each has done `rounds` round
 * trips. Latencies (ns) go to lat[] when it is not NULL (n * rounds
 * entries, in order of completion). */
static void pingpong(conn *cs, int n, int rounds, uint32_t *lat) {
    if (rounds <= 0)
        return;
    long k = 0;
    int done = 0;
    int64_t now = bench_now_ns();
    for (int i = 0; i < n; i++) {
        cs[i].rounds = 0;
        start_message(&cs[i], now);
    }
    struct epoll_event evs[256];
    while (done < n) {
        int m = epoll_wait(epfd, evs, 256, 10000);
        if (m == 0)
            fail("no echo for 10 s");
        if (m < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < m; i++) {
            conn *c = evs[i].data.ptr;
            if (evs[i].events & EPOLLOUT)
                send_rest(c);
            if (!(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            ssize_t r = read(c->fd, rbuf, msg_len - c->got);
            if (r < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                die("read");
            }
            if (r == 0)
                fail("the server closed a connection");
            if (c->got + (size_t)r > c->put || memcmp(rbuf, msg + c->got, (size_t)r) != 0)
                fail("the echo differs from the message");
            c->got += (size_t)r;
            if (c->got < msg_len)
                continue;
            now = bench_now_ns();
            if (lat)
                lat[k++] = (uint32_t)((now - c->sent_at) > UINT32_MAX ? UINT32_MAX : now - c->sent_at);
            if (++c->rounds == rounds)
                done++;
            else
                start_message(c, now);
        }
    }
}

static void close_all(conn *cs, int n, int reset) {
    for (int i = 0; i < n; i++) {
        if (reset) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(cs[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(cs[i].fd);
    }
}

/* ------------------------------------------------------ server state -- */
static pid_t server_pid;

typedef struct server_mark {
    int64_t cpu_ns;
    long long utime, stime;
} server_mark;

static server_mark server_now(void) {
    server_mark s = {-1, 0, 0};
    if (server_pid > 0) {
        s.cpu_ns = proc_cpu_ns(server_pid);
        if (proc_ticks(server_pid, &s.utime, &s.stime) < 0)
            s.utime = s.stime = 0;
    }
    return s;
}

/* ,"server_cpu_ns":..,"server_cpu_ns_per_op":..,"server_sys_share":.. */
static void server_json(char *out, size_t cap, server_mark a, server_mark b, double ops, int64_t wall) {
    if (a.cpu_ns < 0 || b.cpu_ns < 0) {
        snprintf(out, cap, ",\"server_cpu_ns\":null,\"server_cpu_ns_per_op\":null");
        return;
    }
    int64_t cpu = b.cpu_ns - a.cpu_ns;
    long long ut = b.utime - a.utime, st = b.stime - a.stime;
    char share[32] = "null";
    if (ut + st > 0)
        snprintf(share, sizeof share, "%.3f", (double)st / (double)(ut + st));
    snprintf(out, cap,
             ",\"server_cpu_ns\":%lld,\"server_cpu_ns_per_op\":%.3f,\"server_cpu_pct\":%.1f,"
             "\"server_sys_share\":%s",
             (long long)cpu, (double)cpu / ops, 100.0 * (double)cpu / (double)wall, share);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double pct_us(const uint32_t *sorted, long n, double p) {
    long i = (long)(p * (double)(n - 1) + 0.5);
    return sorted[i] / 1000.0;
}

/* ------------------------------------------------------------- modes -- */
static const char *label = "server";

static void run_pingpong(const addr *a, int nconn, int rounds, size_t size, int warm, int count_syscalls) {
    msg_len = size;
    msg = malloc(size);
    rbuf = malloc(size);
    for (size_t i = 0; i < size; i++)
        msg[i] = (unsigned char)('a' + i % 26);
    long total = (long)nconn * rounds;
    uint32_t *lat = malloc((size_t)total * sizeof *lat);
    conn *cs = calloc((size_t)nconn, sizeof *cs);
    if (!msg || !rbuf || !lat || !cs)
        die("malloc");
    memset(lat, 0, (size_t)total * sizeof *lat); /* touch before the timed part */
    connect_all(cs, nconn, a);
    pingpong(cs, nconn, warm, NULL);

    syscount sc = {0};
    int counting =
        count_syscalls && server_pid > 0 && syscount_start(&sc, server_pid) == 0 && syscount_enable(&sc) == 0;
    server_mark s0 = server_now();
    bench_mark m;
    bench_start(&m);
    pingpong(cs, nconn, rounds, lat);
    bench_stop(&m);
    server_mark s1 = server_now();
    long long calls = -1;
    if (counting && syscount_disable(&sc) == 0)
        calls = syscount_finish(&sc);
    else if (sc.perf)
        syscount_finish(&sc);
    close_all(cs, nconn, 0);

    qsort(lat, (size_t)total, sizeof *lat, cmp_u32);
    char srv[256], sys[64] = "null", variant[64];
    server_json(srv, sizeof srv, s0, s1, (double)total, m.wall);
    if (calls >= 0)
        snprintf(sys, sizeof sys, "%.3f", (double)calls / (double)total);
    snprintf(variant, sizeof variant, "pingpong-c%d-%zuB", nconn, size);
    bench_emit("net", label, variant, "fresh", total, &m,
               ",\"conns\":%d,\"rounds\":%d,\"size\":%zu,\"warm_rounds\":%d,\"ops_per_s\":%.1f,"
               "\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"client_cpu_pct\":%.1f%s,"
               "\"syscalls_per_op\":%s",
               nconn, rounds, size, warm, (double)total * 1e9 / (double)m.wall, pct_us(lat, total, 0.50),
               pct_us(lat, total, 0.99), pct_us(lat, total, 0.999), 100.0 * (double)m.cpu / (double)m.wall,
               srv, sys);
    free(cs);
    free(lat);
    free(msg);
    free(rbuf);
}

/* Stream: byte at offset o of the stream is pattern[o % STREAM_CHUNK], and
 * every write starts inside one period, so no write crosses its end. */
static void run_stream(const addr *a, long long total) {
    unsigned char *pattern = malloc(STREAM_CHUNK), *in = malloc(STREAM_READ);
    if (!pattern || !in)
        die("malloc");
    for (int i = 0; i < STREAM_CHUNK; i++)
        pattern[i] = (unsigned char)(i * 7 + (i >> 8));
    memset(in, 0, STREAM_READ);
    conn c;
    connect_all(&c, 1, a);
    watch(&c, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT | EPOLLET);
    long long sent = 0, got = 0;
    struct epoll_event ev;

    server_mark s0 = server_now();
    bench_mark m;
    bench_start(&m);
    while (got < total) {
        /* Edge-triggered: write until the socket is full, read until empty. */
        while (sent < total) {
            size_t off = (size_t)(sent % STREAM_CHUNK);
            size_t len = STREAM_CHUNK - off;
            if ((long long)len > total - sent)
                len = (size_t)(total - sent);
            ssize_t w = write(c.fd, pattern + off, len);
            if (w < 0) {
                if (errno == EAGAIN)
                    break;
                if (errno != EINTR)
                    die("write");
                continue;
            }
            sent += w;
        }
        for (;;) {
            ssize_t r = read(c.fd, in, STREAM_READ);
            if (r < 0) {
                if (errno == EAGAIN)
                    break;
                if (errno != EINTR)
                    die("read");
                continue;
            }
            if (r == 0)
                fail("the server closed the stream early");
            if (got + r > sent)
                fail("the server sent more than it received");
            for (ssize_t i = 0; i < r;) { /* compare period by period */
                size_t off = (size_t)((got + i) % STREAM_CHUNK);
                size_t len = STREAM_CHUNK - off;
                if ((ssize_t)len > r - i)
                    len = (size_t)(r - i);
                if (memcmp(in + i, pattern + off, len) != 0)
                    fail("the echo differs from the stream");
                i += (ssize_t)len;
            }
            got += r;
        }
        if (got >= total)
            break;
        int k = epoll_wait(epfd, &ev, 1, 10000);
        if (k == 0)
            fail("the stream stalled for 10 s");
        if (k < 0 && errno != EINTR)
            die("epoll_wait");
    }
    bench_stop(&m);
    server_mark s1 = server_now();
    close(c.fd);

    char srv[256];
    server_json(srv, sizeof srv, s0, s1, (double)total, m.wall);
    double gib = (double)total / (double)(1LL << 30);
    double cpu_s = s0.cpu_ns >= 0 && s1.cpu_ns >= 0 ? (double)(s1.cpu_ns - s0.cpu_ns) / 1e9 : -1;
    char per_gib[32] = "null";
    if (cpu_s >= 0)
        snprintf(per_gib, sizeof per_gib, "%.4f", cpu_s / gib);
    bench_emit("net", label, "stream", "fresh", (long)total, &m,
               ",\"bytes\":%lld,\"mb_per_s\":%.1f,\"mib_per_s\":%.1f,\"server_cpu_s_per_gib\":%s,"
               "\"client_cpu_pct\":%.1f%s",
               total, (double)total * 1e3 / (double)m.wall, (double)total * 1e9 / (double)m.wall / 1048576.0,
               per_gib, 100.0 * (double)m.cpu / (double)m.wall, srv);
    free(pattern);
    free(in);
}

static void run_idle(const addr *a, int nconn) {
    if (server_pid <= 0)
        fail("idle mode needs the server's PID (-p)");
    msg_len = IDLE_MSG;
    msg = malloc(IDLE_MSG);
    rbuf = malloc(IDLE_MSG);
    conn *cs = calloc((size_t)nconn, sizeof *cs);
    if (!msg || !rbuf || !cs)
        die("malloc");
    for (size_t i = 0; i < IDLE_MSG; i++)
        msg[i] = (unsigned char)('A' + i % 26);
    long before = proc_rss_kib(server_pid);
    bench_mark m;
    bench_start(&m);
    for (int i = 0; i < nconn; i += IDLE_BATCH) {
        int n = nconn - i < IDLE_BATCH ? nconn - i : IDLE_BATCH;
        connect_all(cs + i, n, a);
        pingpong(cs + i, n, 1, NULL);
    }
    bench_stop(&m);
    usleep(200000); /* let the server finish whatever follows its last echo */
    long after = proc_rss_kib(server_pid);
    close_all(cs, nconn, 1);
    if (before < 0 || after < 0)
        fail("cannot read the server's VmRSS");
    long delta = (after - before) * 1024L;
    bench_emit("net", label, "idle", "fresh", nconn, &m,
               ",\"conns\":%d,\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"rss_delta_bytes\":%ld,"
               "\"bytes_per_conn\":%.1f",
               nconn, before, after, delta, (double)delta / (double)nconn);
    free(cs);
    free(msg);
    free(rbuf);
}

/* Room for n sockets: the soft limit up to the hard one, and the hard one
 * too when allowed (root). */
static void raise_nofile(long need) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || (rlim_t)need <= rl.rlim_cur)
        return;
    if ((rlim_t)need > rl.rlim_max) {
        struct rlimit up = {(rlim_t)need, (rlim_t)need};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            return;
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static void usage(void) {
    bench_usage("net_client [-p PID] [-l LABEL] [-y] [-w WARM] pingpong ADDR C R S\n"
                "       net_client [-p PID] [-l LABEL] stream ADDR BYTES\n"
                "       net_client [-p PID] [-l LABEL] idle ADDR C\n"
                "ADDR: HOST:PORT or unix:PATH");
}

int main(int argc, char **argv) {
    int count_syscalls = 0, warm = -1, opt;
    while ((opt = getopt(argc, argv, "+p:l:yw:")) != -1) {
        switch (opt) {
        case 'p':
            server_pid = (pid_t)strtol(optarg, NULL, 10);
            break;
        case 'l':
            label = optarg;
            break;
        case 'y':
            count_syscalls = 1;
            break;
        case 'w':
            warm = (int)strtol(optarg, NULL, 10);
            break;
        default:
            usage();
        }
    }
    argc -= optind;
    argv += optind;
    if (argc < 3)
        usage();
    signal(SIGPIPE, SIG_IGN);
    addr a = parse_addr(argv[1]);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1");
    if (strcmp(argv[0], "pingpong") == 0 && argc == 5) {
        int c = (int)strtol(argv[2], NULL, 10), r = (int)strtol(argv[3], NULL, 10);
        long s = strtol(argv[4], NULL, 10);
        if (c < 1 || r < 1 || s < 1)
            usage();
        raise_nofile(c + 64);
        run_pingpong(&a, c, r, (size_t)s, warm >= 0 ? warm : (r / 10 < 100 ? r / 10 : 100), count_syscalls);
    } else if (strcmp(argv[0], "stream") == 0 && argc == 3) {
        long long bytes = strtoll(argv[2], NULL, 10);
        if (bytes < 1)
            usage();
        run_stream(&a, bytes);
    } else if (strcmp(argv[0], "idle") == 0 && argc == 3) {
        int c = (int)strtol(argv[2], NULL, 10);
        if (c < 1)
            usage();
        raise_nofile(c + 64);
        run_idle(&a, c);
    } else {
        usage();
    }
    return 0;
}
