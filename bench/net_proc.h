/* What the network load client (net_client.c) reads about ANOTHER process,
 * the server under test, given its PID:
 *
 *   - CPU time: the sum of se.sum_exec_runtime of every thread
 *     (/proc/PID/task/TID/schedstat, first field, in ns). getrusage cannot
 *     see another process, and /proc/PID/stat's utime + stime come in clock
 *     ticks (10 ms here), too coarse for a 100 ms run. The user/system split
 *     comes from /proc/PID/stat (ticks: a rough share only).
 *   - resident memory: VmRSS from /proc/PID/status.
 *   - system calls: `perf stat -e raw_syscalls:sys_enter -p PID`, started
 *     with its events disabled and switched on and off through its control
 *     pipes (--control fd:CTL,ACK), so that exactly the timed part counts.
 *     perf's tracepoint costs the server time, so the caller counts in a run
 *     of its own, not in the one whose CPU time it reports. */
#ifndef AIO_BENCH_NET_PROC_H
#define AIO_BENCH_NET_PROC_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* CPU ns used so far by every live thread of `pid`; -1 if unreadable. */
static inline int64_t proc_cpu_ns(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[300];
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue; /* the thread ended meanwhile */
        long long ns = 0;
        if (fscanf(f, "%lld", &ns) == 1)
            sum += ns;
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* utime and stime of `pid` in clock ticks (fields 14 and 15 of
 * /proc/PID/stat; the command name, field 2, may hold spaces, so parse
 * from its closing parenthesis). Returns 0, or -1 if unreadable. */
static inline int proc_ticks(pid_t pid, long long *utime, long long *stime) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) */
    char state;
    long long skip;
    if (sscanf(p + 2, "%c %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &state, &skip, &skip,
               &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, utime, stime) != 13)
        return -1;
    return 0;
}

/* VmRSS of `pid` in KiB; -1 if unreadable. */
static inline long proc_rss_kib(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* A running `perf stat` attached to the server, events disabled until
 * syscount_enable(). */
typedef struct syscount {
    pid_t perf;   /* 0: not running */
    int ctl, ack; /* our ends of perf's control and acknowledgement pipes */
    int out;      /* perf's stderr, where -x, writes the counts */
} syscount;

static inline void syscount_close(syscount *s) {
    close(s->ctl);
    close(s->ack);
    close(s->out);
    s->perf = 0;
}

/* Starts perf against `pid`. Returns 0, or -1 (perf missing or failing:
 * the caller reports the count as unknown). */
static inline int syscount_start(syscount *s, pid_t pid) {
    int fds[6] = {-1, -1, -1, -1, -1, -1}; /* ctl, ack, out: read end, write end each */
    memset(s, 0, sizeof *s);
    pid_t child = -1;
    if (pipe2(fds, O_CLOEXEC) == 0 && pipe2(fds + 2, O_CLOEXEC) == 0 && pipe2(fds + 4, O_CLOEXEC) == 0)
        child = fork();
    if (child == 0) {
        /* perf reads commands on fd 3 and acknowledges on fd 4. */
        if (dup2(fds[0], 3) < 0 || dup2(fds[3], 4) < 0 || dup2(fds[5], 2) < 0)
            _exit(127);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        char target[32];
        snprintf(target, sizeof target, "%d", (int)pid);
        execlp("perf", "perf", "stat", "-x,", "--no-big-num", "-D", "-1", "--control", "fd:3,4", "-e",
               "raw_syscalls:sys_enter", "-p", target, (char *)NULL);
        _exit(127);
    }
    /* Ours: the write end of ctl, the read ends of ack and out. */
    close(fds[0]);
    close(fds[3]);
    close(fds[5]);
    if (child < 0) {
        close(fds[1]);
        close(fds[2]);
        close(fds[4]);
        return -1;
    }
    s->perf = child;
    s->ctl = fds[1];
    s->ack = fds[2];
    s->out = fds[4];
    return 0;
}

/* Sends "enable" or "disable" and waits for perf's "ack". Returns 0 or -1. */
static inline int syscount_command(syscount *s, const char *cmd) {
    if (!s->perf)
        return -1;
    size_t len = strlen(cmd);
    if (write(s->ctl, cmd, len) != (ssize_t)len)
        return -1;
    char buf[16];
    ssize_t n = read(s->ack, buf, sizeof buf); /* blocks until perf acted */
    return n > 0 ? 0 : -1;
}

static inline int syscount_enable(syscount *s) { return syscount_command(s, "enable\n"); }
static inline int syscount_disable(syscount *s) { return syscount_command(s, "disable\n"); }

/* Stops perf and returns the count, or -1 if perf could not count
 * ("<not supported>" on some VMs). */
static inline long long syscount_finish(syscount *s) {
    if (!s->perf)
        return -1;
    kill(s->perf, SIGINT);
    char buf[4096];
    size_t used = 0;
    ssize_t n;
    while (used < sizeof buf - 1 && (n = read(s->out, buf + used, sizeof buf - 1 - used)) > 0)
        used += (size_t)n;
    buf[used] = '\0';
    int status;
    waitpid(s->perf, &status, 0);
    syscount_close(s);
    /* -x, lines: "COUNT,UNIT,EVENT,..."; other lines are perf's messages. */
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, ",raw_syscalls:sys_enter"))
            continue;
        char *end;
        long long count = strtoll(line, &end, 10);
        return end != line && *end == ',' ? count : -1;
    }
    return -1;
}

#endif /* AIO_BENCH_NET_PROC_H */
