/* A task stores its coroutine as a 24-bit index into the loop's table of
 * coroutine functions (coro_fns.c). */
#ifndef AIO_CORE_CORO_FNS_H_STATE
#define AIO_CORE_CORO_FNS_H_STATE
#include "aio/aio.h"
#include <stdint.h>

typedef struct aio__coro_fns {
    aio_coro_fn *table;
    uint32_t n, cap, hash_cap;
    uint32_t *hash;
    aio_coro_fn last; /* the last one looked up, and its index */
    uint32_t last_idx;
} aio__coro_fns;
#endif /* AIO_CORE_CORO_FNS_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_CORO_FNS_H)
#define AIO_CORE_CORO_FNS_H
#include "core/loop.h"

int aio__coro_fn_index_slow(aio_loop *loop, aio_coro_fn fn, uint32_t *idx);
static inline int aio__coro_fn_index(aio_loop *loop, aio_coro_fn fn, uint32_t *idx) {
    if (fn == loop->fns.last) { /* spawning the same coroutine again: the usual case */
        *idx = loop->fns.last_idx;
        return 0;
    }
    return aio__coro_fn_index_slow(loop, fn, idx);
}
void aio__coro_fns_free(aio_loop *loop);
#endif /* AIO_CORE_CORO_FNS_H */
