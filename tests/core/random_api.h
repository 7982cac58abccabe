/* A small interpreter of random API sequences (random_api.c): a program is
 * a byte string; each operation takes a few bytes (which call, which
 * handles, which values). Two drivers: test_fault_random.c (programs from
 * seeded pseudo-random bytes, for a bounded time, in ctest) and
 * fuzz/fuzz_random_api.c (libFuzzer's inputs).
 *
 * The oracles are return codes: every call's code must be one its
 * documentation allows; a handle we hold a reference to is never stale; a
 * future we completed keeps that outcome; a consuming call consumes on
 * every path. Allocation failures are injected by the program itself
 * (core/fault.h), so the interpreter needs a build with
 * AIO_FAULT_INJECTION and a process of its own. */
#ifndef AIO_TEST_RANDOM_API_H
#define AIO_TEST_RANDOM_API_H

#include <stddef.h>
#include <stdint.h>

typedef struct rapi_result {
    long ops;        /* operations run */
    int violations;  /* oracle violations (0: the program passed) */
    char first[256]; /* the first one, in words */
} rapi_result;

/* Run the program `data` (any bytes) on fresh loops; everything is freed
 * and the fault countdowns disarmed when it returns. */
void rapi_run(const uint8_t *data, size_t size, rapi_result *out);

#endif
