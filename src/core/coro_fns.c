/* The loop's table of coroutine functions.
 *
 * A task names its top coroutine by a 24-bit index into this table instead
 * of an 8-byte pointer: with the 32-bit resume point, that is what keeps
 * the task header at 32 bytes. A program has few distinct coroutine
 * functions and spawns the same one many times in a row, so the lookup is
 * one comparison with the last function used, else an open-addressing hash
 * probe. Entries are never removed: the table holds at most one entry per
 * function the loop ever started. */
#include "internal.h"

#include <stdlib.h>

#define AIO__FNS_MAX (1u << 24)

static uint32_t fn_hash(aio_coro_fn fn, uint32_t mask) {
    uint64_t x = (uint64_t)(uintptr_t)fn * UINT64_C(0x9E3779B97F4A7C15);
    return (uint32_t)(x >> 32) & mask;
}

/* Rebuild the hash (slots hold index + 1; 0 is empty) at `cap` slots. */
static int rehash(aio_loop *loop, uint32_t cap) {
    uint32_t *h = calloc(cap, sizeof *h);
    if (!h)
        return -ENOMEM;
    for (uint32_t i = 0; i < loop->nfns; i++) {
        uint32_t p = fn_hash(loop->fns[i], cap - 1);
        while (h[p])
            p = (p + 1) & (cap - 1);
        h[p] = i + 1;
    }
    free(loop->fn_hash);
    loop->fn_hash = h;
    loop->fn_hash_cap = cap;
    return 0;
}

int aio__coro_fn_index_slow(aio_loop *loop, aio_coro_fn fn, uint32_t *out) {
    if (loop->fn_hash_cap) {
        uint32_t mask = loop->fn_hash_cap - 1;
        for (uint32_t p = fn_hash(fn, mask); loop->fn_hash[p]; p = (p + 1) & mask) {
            uint32_t i = loop->fn_hash[p] - 1;
            if (loop->fns[i] == fn) {
                loop->last_fn = fn;
                loop->last_fn_idx = i;
                *out = i;
                return 0;
            }
        }
    }
    if (loop->nfns == AIO__FNS_MAX)
        return -ENOMEM;
    if (loop->nfns == loop->capfns) {
        uint32_t cap = loop->capfns ? loop->capfns * 2 : 8;
        aio_coro_fn *f = realloc(loop->fns, cap * sizeof *f);
        if (!f)
            return -ENOMEM;
        loop->fns = f;
        loop->capfns = cap;
    }
    /* Keep the hash at most half full (its capacity is a power of two). */
    if (2 * (loop->nfns + 1) > loop->fn_hash_cap) {
        int rc = rehash(loop, loop->fn_hash_cap ? loop->fn_hash_cap * 2 : 16);
        if (rc < 0)
            return rc;
    }
    uint32_t i = loop->nfns++;
    loop->fns[i] = fn;
    uint32_t mask = loop->fn_hash_cap - 1, p = fn_hash(fn, mask);
    while (loop->fn_hash[p])
        p = (p + 1) & mask;
    loop->fn_hash[p] = i + 1;
    loop->last_fn = fn;
    loop->last_fn_idx = i;
    *out = i;
    return 0;
}

void aio__coro_fns_free(aio_loop *loop) {
    free(loop->fns);
    free(loop->fn_hash);
    loop->fns = NULL;
    loop->fn_hash = NULL;
    loop->nfns = loop->capfns = loop->fn_hash_cap = 0;
    loop->last_fn = NULL;
}
