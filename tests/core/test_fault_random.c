/* Random API sequences (random_api.c) for a bounded time: programs of
 * pseudo-random bytes from seeds 1, 2, 3, ..., each run on fresh loops
 * with the allocation failures it injects itself, checked by return-code
 * oracles (random_api.h). CI runs it under ASan+UBSan, which turn any
 * memory error or undefined behaviour into a failure too.
 *
 * AIO_RANDOM_SECONDS sets the time budget (default 2.5 s per backend);
 * AIO_RANDOM_SEED replays one seed (a failure prints its seed). */
#include "support.h"

#include "random_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PROGRAM_BYTES 3000

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: a seed's program. */
static void program(uint64_t seed, uint8_t *buf, size_t n) {
    uint64_t x = seed;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t z = (x += UINT64_C(0x9E3779B97F4A7C15));
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        z ^= z >> 31;
        for (size_t k = 0; k < 8 && i + k < n; k++)
            buf[i + k] = (uint8_t)(z >> (8 * k));
    }
}

static void run_seed(uint64_t seed, long *ops) {
    static uint8_t buf[PROGRAM_BYTES];
    program(seed, buf, sizeof buf);
    rapi_result r;
    rapi_run(buf, sizeof buf, &r);
    *ops += r.ops;
    if (r.violations)
        fail_msg("seed %llu (replay: AIO_RANDOM_SEED=%llu): %s (%d violations)", (unsigned long long)seed,
                 (unsigned long long)seed, r.first, r.violations);
}

static void random_api_sequences(void **state) {
    (void)state;
    long ops = 0;
    const char *replay = getenv("AIO_RANDOM_SEED");
    if (replay && *replay) {
        run_seed(strtoull(replay, NULL, 10), &ops);
        printf("random API sequences: seed %s replayed, %ld operations, no violation\n", replay, ops);
        return;
    }
    const char *budget_env = getenv("AIO_RANDOM_SECONDS");
    double budget = budget_env && *budget_env ? atof(budget_env) : 2.5;
    double start = now_s();
    uint64_t seed = 1;
    for (; seed == 1 || now_s() - start < budget; seed++)
        run_seed(seed, &ops);
    printf("random API sequences: %llu programs, %ld operations in %.1f s, no violation\n",
           (unsigned long long)(seed - 1), ops, now_s() - start);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_api_sequences),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
