/* Memory: the loop's growing tables, bulk blocks and fixed-size arenas.
 * Every allocation of the library goes through here (see aio__alloc). */
#ifndef AIO_CORE_MEM_H
#define AIO_CORE_MEM_H

#include "aio/aio.h"
#include "core/compiler.h"
#include "core/fault.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- the one allocation path ----
 * Every allocation of the library is one of these (never malloc & co.
 * directly): in test builds each asks the fault countdown first
 * (core/fault.h), so a test can make any one of them fail; in other
 * builds they are the libc calls themselves. Each returns NULL when out of
 * memory (the mappings too: never MAP_FAILED). */
#ifdef AIO_FAULT_INJECTION
#define AIO__ALLOC_FAILS() aio__fault_alloc()
#else
#define AIO__ALLOC_FAILS() false
#endif
static inline void *aio__malloc(size_t n) { return AIO__ALLOC_FAILS() ? NULL : malloc(n); }
static inline void *aio__calloc(size_t n, size_t size) { return AIO__ALLOC_FAILS() ? NULL : calloc(n, size); }
/* On failure p is left as it was. */
static inline void *aio__realloc(void *p, size_t n) { return AIO__ALLOC_FAILS() ? NULL : realloc(p, n); }
/* size a multiple of align (C11). */
static inline void *aio__aligned_alloc(size_t align, size_t size) {
    return AIO__ALLOC_FAILS() ? NULL : aligned_alloc(align, size);
}
static inline char *aio__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = aio__malloc(n);
    return p ? memcpy(p, s, n) : NULL;
}
static inline void aio__free(void *p) { free(p); }
/* Anonymous private read-write mappings (mem.c; where mmap exists). */
void *aio__mmap_anon(size_t len);
void *aio__mremap(void *p, size_t old_len, size_t new_len); /* may move it */
void aio__munmap(void *p, size_t len);

/* An arena of objects of one size: carved one after another from chunks
 * that double from 4 KiB to 8 MiB (the big ones with huge pages), reused
 * through a free list linked by their first word, all freed at once.
 * Zero-initialised = empty. */
typedef struct aio__arena {
    void *free;                /* objects given back, poisoned under ASan */
    char *bump, *end;          /* the untouched rest of the newest chunk */
    struct aio__chunk *chunks; /* mem.c */
    unsigned nchunks;
    unsigned skew; /* objects start this far past a 16-byte boundary (0 or 8) */
} aio__arena;

/* Grow a loop table (*p, NULL at first) from old_len to new_len bytes,
 * keeping its first `keep` bytes (the rest may be lost when it moves):
 * realloc, or from 8 MiB on a mapping of its own that asks for transparent
 * huge pages (unless the loop's huge_pages is off). 0 or -ENOMEM (*p
 * unchanged). */
int aio__table_resize(const aio_loop *loop, void **p, size_t old_len, size_t keep, size_t new_len);
/* The slot tables (futures, callback nodes, timer slots) only grow, by
 * doubling from 64 records: the capacity after `cap`, at most `max`; 0 when
 * `cap` is at `max` already (the table is full for good). */
static inline uint32_t aio__slots_next_cap(uint32_t cap, uint32_t max) {
    uint32_t next = cap ? (cap > max / 2 ? max : cap * 2) : (max < 64 ? max : 64);
    return next > cap ? next : 0;
}
/* Grow a full slot table of `cap` records of `size` bytes to `new_cap`
 * (every record is in use: all are kept). 0 or -ENOMEM (*p unchanged). */
static inline int aio__slots_grow(const aio_loop *loop, void **p, uint32_t cap, uint32_t new_cap,
                                  size_t size) {
    size_t old = (size_t)cap * size;
    return aio__table_resize(loop, p, old, old, (size_t)new_cap * size);
}
/* Free a table of len bytes (its current size) from aio__table_resize. */
void aio__table_free(const aio_loop *loop, void *p, size_t len);
/* len zeroed bytes that the caller writes whole at once (a combinator's
 * state with an entry per child): from AIO__BULK_MIN on a mapping of its
 * own that asks for huge pages (*mapped says so), as no page of it stays
 * untouched; else calloc. NULL if out of memory. */
#define AIO__BULK_MIN ((size_t)2 << 20)
void *aio__bulk_alloc(const aio_loop *loop, size_t len, bool *mapped);
void aio__bulk_free(void *p, size_t len, bool mapped);
/* An object of the arena's `size` bytes (a multiple of 16 keeps them
 * 16-aligned, of 8 8-aligned): one given back, else a new one; NULL if out
 * of memory. Inline: a spawn takes one per task. */
void *aio__arena_alloc_chunk(const aio_loop *loop, aio__arena *a, size_t size);
static inline void *aio__arena_alloc(const aio_loop *loop, aio__arena *a, size_t size) {
    void *p = a->free;
    if (p) {
        AIO__UNPOISON(p, size);
        a->free = *(void **)p;
        return p;
    }
    if ((size_t)(a->end - a->bump) < size)
        return aio__arena_alloc_chunk(loop, a, size);
    p = a->bump;
    a->bump += size;
    AIO__UNPOISON(p, size);
    return p;
}
/* Give an object of `size` bytes back for reuse. */
static inline void aio__arena_put(aio__arena *a, void *p, size_t size) {
    *(void **)p = a->free;
    a->free = p;
    AIO__POISON(p, size);
}
void aio__arena_free(const aio_loop *loop, aio__arena *a);
/* The loop's setting from aio_loop_options.huge_pages (0: $AIO_HUGE_PAGES,
 * on unless it is "0"). */
bool aio__huge_pages_default(int option);

#endif /* AIO_CORE_MEM_H */
