/* The loop's clock and conversions of seconds to its nanoseconds. */
#include "core/loop.h"

#include <stdint.h>
#include <time.h>

int64_t aio__clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Seconds to nanoseconds, rounded up (a timer never fires early) and clamped
 * to +-4e18 ns (126 years), far from overflow. No libm needed. */
#define AIO__NS_LIMIT INT64_C(4000000000000000000)
int64_t aio__seconds_to_ns(double s) {
    double ns = s * 1e9;
    if (ns >= 4e18)
        return AIO__NS_LIMIT;
    if (ns <= -4e18)
        return -AIO__NS_LIMIT;
    int64_t n = (int64_t)ns; /* truncates toward zero */
    return (double)n < ns ? n + 1 : n;
}

int64_t aio__delay_ns(double delay) { return delay <= 0 ? 0 : aio__seconds_to_ns(delay); }
