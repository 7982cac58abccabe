/* The loop's table of coroutine functions.
 *
 * A task names its top coroutine by a 23-bit index into this table instead
 * of an 8-byte pointer: with the 32-bit resume point, that is what keeps
 * the task header at 32 bytes. A program has few distinct coroutine
 * functions and spawns the same one many times in a row, so the lookup is
 * one comparison with the last function used, else an open-addressing hash
 * probe. Entries are never removed: the table holds at most one entry per
 * function the loop ever started. */
#include "core/coro_fns.h"
#include "core/loop.h"
#include "core/mem.h"

#include <stdlib.h>

#define AIO__FNS_MAX (1u << 23)

static uint32_t fn_hash(aio_coro_fn fn, uint32_t mask) {
    uint64_t x = (uint64_t)(uintptr_t)fn * UINT64_C(0x9E3779B97F4A7C15);
    return (uint32_t)(x >> 32) & mask;
}

/* Rebuild the hash (slots hold index + 1; 0 is empty) at `cap` slots. */
static int rehash(aio_loop *loop, uint32_t cap) {
    uint32_t *h = aio__calloc(cap, sizeof *h);
    if (!h)
        return -ENOMEM;
    for (uint32_t i = 0; i < loop->fns.n; i++) {
        uint32_t p = fn_hash(loop->fns.table[i], cap - 1);
        while (h[p])
            p = (p + 1) & (cap - 1);
        h[p] = i + 1;
    }
    aio__free(loop->fns.hash);
    loop->fns.hash = h;
    loop->fns.hash_cap = cap;
    return 0;
}

int aio__coro_fn_index_slow(aio_loop *loop, aio_coro_fn fn, uint32_t *out) {
    if (loop->fns.hash_cap) {
        uint32_t mask = loop->fns.hash_cap - 1;
        for (uint32_t p = fn_hash(fn, mask); loop->fns.hash[p]; p = (p + 1) & mask) {
            uint32_t i = loop->fns.hash[p] - 1;
            if (loop->fns.table[i] == fn) {
                loop->fns.last = fn;
                loop->fns.last_idx = i;
                *out = i;
                return 0;
            }
        }
    }
    if (loop->fns.n == AIO__FNS_MAX)
        return -ENOMEM;
    if (loop->fns.n == loop->fns.cap) {
        uint32_t cap = loop->fns.cap ? loop->fns.cap * 2 : 8;
        aio_coro_fn *f = aio__realloc(loop->fns.table, cap * sizeof *f);
        if (!f)
            return -ENOMEM;
        loop->fns.table = f;
        loop->fns.cap = cap;
    }
    /* Keep the hash at most half full (its capacity is a power of two). */
    if (2 * (loop->fns.n + 1) > loop->fns.hash_cap) {
        int rc = rehash(loop, loop->fns.hash_cap ? loop->fns.hash_cap * 2 : 16);
        if (rc < 0)
            return rc;
    }
    uint32_t i = loop->fns.n++;
    loop->fns.table[i] = fn;
    uint32_t mask = loop->fns.hash_cap - 1, p = fn_hash(fn, mask);
    while (loop->fns.hash[p])
        p = (p + 1) & mask;
    loop->fns.hash[p] = i + 1;
    loop->fns.last = fn;
    loop->fns.last_idx = i;
    *out = i;
    return 0;
}

void aio__coro_fns_free(aio_loop *loop) {
    aio__free(loop->fns.table);
    aio__free(loop->fns.hash);
    loop->fns.table = NULL;
    loop->fns.hash = NULL;
    loop->fns.n = loop->fns.cap = loop->fns.hash_cap = 0;
    loop->fns.last = NULL;
}
