/* Workload 5, reference sizes: what a libuv / libev handle costs before any
 * coroutine or future is attached to it. Prints one JSON line. */
#define _GNU_SOURCE /* uv.h needs pthread_rwlock_t */
#include <stdio.h>

#ifdef BENCH_HAVE_UV
#include <uv.h>
#endif
#ifdef BENCH_HAVE_EV
#include <ev.h>
#endif

int main(void) {
    printf("{\"workload\":\"sizes\",\"system\":\"reference\"");
#ifdef BENCH_HAVE_UV
    printf(",\"uv_timer_t\":%zu,\"uv_idle_t\":%zu,\"uv_tcp_t\":%zu,\"uv_async_t\":%zu,\"uv_work_t\":%zu,"
           "\"uv_loop_t\":%zu",
           sizeof(uv_timer_t), sizeof(uv_idle_t), sizeof(uv_tcp_t), sizeof(uv_async_t), sizeof(uv_work_t),
           sizeof(uv_loop_t));
#endif
#ifdef BENCH_HAVE_EV
    printf(",\"ev_timer\":%zu,\"ev_io\":%zu,\"ev_idle\":%zu", sizeof(ev_timer), sizeof(ev_io),
           sizeof(ev_idle));
#endif
    printf("}\n");
    return 0;
}
