/* The loop's clock and conversions of seconds to its nanoseconds. */
#include "core/loop.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

int64_t aio__clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Seconds to nanoseconds, rounded up (a timer never fires early) and clamped
 * to +-AIO__TIME_LIMIT. No libm needed. */
int64_t aio__seconds_to_ns(double s) {
    double ns = s * 1e9;
    if (ns >= (double)AIO__TIME_LIMIT)
        return AIO__TIME_LIMIT; /* +infinity and 1e300 too */
    if (ns <= -(double)AIO__TIME_LIMIT)
        return -AIO__TIME_LIMIT;
    int64_t n = (int64_t)ns; /* truncates toward zero */
    return (double)n < ns ? n + 1 : n;
}

int64_t aio__delay_ns(double delay) { return delay <= 0 ? 0 : aio__seconds_to_ns(delay); }

int64_t aio__time_add(int64_t t, int64_t d) {
    /* Each test is written so that it cannot overflow itself. */
    if (d > 0 && t > AIO__TIME_LIMIT - d)
        return AIO__TIME_LIMIT;
    if (d < 0 && t < -AIO__TIME_LIMIT - d)
        return -AIO__TIME_LIMIT;
    t += d;
    return t > AIO__TIME_LIMIT ? AIO__TIME_LIMIT : t < -AIO__TIME_LIMIT ? -AIO__TIME_LIMIT : t;
}

int64_t aio__deadline(const aio_loop *loop, double seconds) {
    return aio__time_add(loop->now_ns, aio__seconds_to_ns(seconds));
}

bool aio__timeout_deadline(const aio_loop *loop, double timeout, int64_t *when) {
    if (timeout > 0 && isinf(timeout))
        return false;
    *when = aio__time_add(loop->now_ns, aio__delay_ns(timeout));
    return true;
}
