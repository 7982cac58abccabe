/* Measuring helpers shared by every C benchmark program of bench/ (libaio's,
 * the floors and the libuv/libev peers), so that all of them measure the
 * same way:
 *
 *   - wall time: CLOCK_MONOTONIC around the hot part only;
 *   - CPU time: CLOCK_PROCESS_CPUTIME_ID around the same part;
 *   - minor page faults: getrusage(RUSAGE_SELF) around the same part;
 *   - peak RSS: VmHWM from /proc/self/status at the end. Not ru_maxrss:
 *     Linux carries ru_maxrss across exec, so a child of a big parent would
 *     report the parent's peak.
 *
 * Each program prints one JSON object per measured round on stdout, e.g.
 *   {"workload":"spawn","system":"libaio","variant":"ret","mode":"fresh",
 *    "n":1000000,"ns_per_op":180.1,"cpu_ns_per_op":179.9,"faults":13000,
 *    "peak_kib":60000, ...extras}
 * "mode" is "fresh" (first round in a new process: memory touched for the
 * first time) or "warm" (the same work again in the same process and loop).
 * bench/run reads these lines. */
#ifndef AIO_BENCH_H
#define AIO_BENCH_H

#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static inline int64_t bench_clock(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static inline int64_t bench_now_ns(void) { return bench_clock(CLOCK_MONOTONIC); }
static inline int64_t bench_cpu_ns(void) { return bench_clock(CLOCK_PROCESS_CPUTIME_ID); }

static inline long bench_minflt(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* Resident set size now, in bytes (/proc/self/statm). */
static inline long bench_rss_bytes(void) {
    long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &size, &res) != 2)
        res = 0;
    fclose(f);
    return res * sysconf(_SC_PAGESIZE);
}

/* Peak RSS of this process image, in KiB (VmHWM). */
static inline long bench_peak_kib(void) {
    char line[256];
    long kib = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

typedef struct bench_mark {
    int64_t wall, cpu;
    long flt;
} bench_mark;

static inline void bench_start(bench_mark *m) {
    m->flt = bench_minflt();
    m->cpu = bench_cpu_ns();
    m->wall = bench_now_ns();
}

/* Turns a started mark into the deltas. */
static inline void bench_stop(bench_mark *m) {
    int64_t wall = bench_now_ns();
    int64_t cpu = bench_cpu_ns();
    long flt = bench_minflt();
    m->wall = wall - m->wall;
    m->cpu = cpu - m->cpu;
    m->flt = flt - m->flt;
}

/* One result line. `extra` is NULL or a printf format producing more
 * ,"key":value pairs (starting with a comma). */
static inline void bench_emit(const char *workload, const char *system, const char *variant, const char *mode,
                              long n, const bench_mark *m, const char *extra, ...) {
    printf("{\"workload\":\"%s\",\"system\":\"%s\",\"variant\":\"%s\",\"mode\":\"%s\",\"n\":%ld,"
           "\"ns_per_op\":%.3f,\"cpu_ns_per_op\":%.3f,\"wall_s\":%.6f,\"faults\":%ld,\"peak_kib\":%ld",
           workload, system, variant, mode, n, (double)m->wall / (double)n, (double)m->cpu / (double)n,
           (double)m->wall / 1e9, m->flt, bench_peak_kib());
    if (extra) {
        va_list ap;
        va_start(ap, extra);
        vprintf(extra, ap);
        va_end(ap);
    }
    printf("}\n");
    fflush(stdout);
}

/* Deadlines: xorshift64, seed 42, the same sequence in every C program. */
static inline uint64_t bench_xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}
/* Uniform in [0, 1). */
static inline double bench_uniform(uint64_t *s) { return (double)(bench_xorshift(s) >> 11) * 0x1.0p-53; }

static inline long bench_arg_long(int argc, char **argv, int i, long dflt) {
    return argc > i ? strtol(argv[i], NULL, 10) : dflt;
}

static inline void bench_usage(const char *usage) {
    fprintf(stderr, "usage: %s\n", usage);
    exit(2);
}

#endif /* AIO_BENCH_H */
