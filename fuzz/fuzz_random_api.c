/* libFuzzer driver of the random API-sequence interpreter
 * (tests/core/random_api.c): libFuzzer's input is the program. A violated
 * oracle aborts, with the violation on stderr; the sanitizers catch the
 * rest. Not part of ctest (tests/core/test_fault_random.c is the driver there):
 *
 *   CC=clang cmake -S . -B build-fuzz -DAIO_BUILD_FUZZ=ON \
 *       -DAIO_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
 *   cmake --build build-fuzz --target fuzz_random_api
 *   build-fuzz/fuzz/fuzz_random_api -max_total_time=60 corpus/
 */
#include "random_api.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rapi_result r;
    rapi_run(data, size, &r);
    if (r.violations) {
        fprintf(stderr, "random API sequence: %s (%d violations)\n", r.first, r.violations);
        abort();
    }
    return 0;
}
