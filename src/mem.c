/* Memory the loop owns in bulk: its growing tables (futures, callback
 * nodes, ready ring, timers), its task slab, and big combinator states.
 *
 * Touching new memory is what a million-task program spends most of its
 * time on: a first-touch page fault costs microseconds on a VM, and each
 * 4 KiB page is one fault. Where the kernel offers transparent huge pages
 * only on request (Linux's "madvise" mode, Debian's default), a table that
 * has grown to 8 MiB asks for them, so each further 2 MiB costs one fault
 * instead of 512. Smaller tables never ask, so a small program's memory
 * stays exactly what it touches. aio_loop_options.huge_pages turns this off. */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define AIO__HUGE_PAGE ((size_t)2 << 20)
/* Tables from this size on ask for huge pages: then the at most 2 MiB that
 * rounding to a huge page commits beyond what is touched is a small share. */
#define AIO__BIG_TABLE ((size_t)8 << 20)

#if defined(__linux__) && defined(MADV_HUGEPAGE) && defined(MREMAP_MAYMOVE)
#define AIO__HAVE_THP 1
#else
#define AIO__HAVE_THP 0
#endif

/* A table of this size lives in its own mapping, a whole number of huge
 * pages long, advised as huge-page memory. It must be its own mapping:
 * advising part of malloc's block would split it, and mremap (how a big
 * block grows without copying) refuses a split one. */
static bool is_big(const aio_loop *loop, size_t len) {
    return AIO__HAVE_THP && loop->huge_pages && len >= AIO__BIG_TABLE;
}

static size_t map_len(size_t len) { return (len + AIO__HUGE_PAGE - 1) & ~(AIO__HUGE_PAGE - 1); }

#if AIO__HAVE_THP
/* A hint: without THP in this kernel nothing changes. */
static void advise_huge(void *p, size_t len) { (void)madvise(p, map_len(len), MADV_HUGEPAGE); }
#endif

int aio__table_resize(const aio_loop *loop, void **p, size_t old_len, size_t keep, size_t new_len) {
    if (!is_big(loop, new_len)) {
        void *q = realloc(*p, new_len);
        if (!q)
            return -ENOMEM;
        *p = q;
        return 0;
    }
#if AIO__HAVE_THP
    void *q;
    if (is_big(loop, old_len)) { /* the mapping keeps its advice as it grows or moves */
        q = mremap(*p, map_len(old_len), map_len(new_len), MREMAP_MAYMOVE);
    } else {
        q = mmap(NULL, map_len(new_len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q != MAP_FAILED) {
            advise_huge(q, new_len); /* before the copy, or the copy faults 4 KiB pages in */
            if (keep)
                memcpy(q, *p, keep); /* not the rest: copying untouched pages touches them */
            free(*p);
        }
    }
    if (q == MAP_FAILED)
        return -ENOMEM;
    *p = q;
#endif
    return 0;
}

void aio__table_free(const aio_loop *loop, void *p, size_t len) {
#if AIO__HAVE_THP
    if (p && is_big(loop, len)) {
        munmap(p, map_len(len));
        return;
    }
#endif
    (void)len;
    free(p);
}

/* ---- memory written whole at once ---- */

void *aio__bulk_alloc(const aio_loop *loop, size_t len, bool *mapped) {
    *mapped = false;
#if AIO__HAVE_THP
    if (loop->huge_pages && len >= AIO__BULK_MIN) {
        /* Its own mapping, rounded to pages only: the kernel gives huge
         * pages to the whole 2 MiB extents inside it, and every page of
         * it is about to be written anyway. */
        void *q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q != MAP_FAILED) {
            (void)madvise(q, len, MADV_HUGEPAGE);
            *mapped = true;
            return q; /* zeroed, as calloc's */
        }
    }
#else
    (void)loop;
#endif
    return calloc(1, len);
}

void aio__bulk_free(void *p, size_t len, bool mapped) {
#if AIO__HAVE_THP
    if (mapped) {
        munmap(p, len);
        return;
    }
#endif
    (void)len, (void)mapped;
    free(p);
}

/* ---- arenas ---- */

#define ARENA_FIRST_CHUNK ((size_t)4 << 10)
#define ARENA_LAST_CHUNK ((size_t)8 << 20)

struct aio__chunk {
    struct aio__chunk *next;
    size_t len; /* bytes, this header included */
};
#define CHUNK_HEAD ((sizeof(struct aio__chunk) + 15) & ~(size_t)15) /* objects 16-aligned */

static bool arena_grow(const aio_loop *loop, aio__arena *a, size_t size) {
    size_t len = a->nchunks < 11 ? ARENA_FIRST_CHUNK << a->nchunks : ARENA_LAST_CHUNK; /* 4 KiB << 11 */
    if (len < CHUNK_HEAD + a->skew + size)
        len = CHUNK_HEAD + a->skew + size;
    void *p = NULL;
    if (aio__table_resize(loop, &p, 0, 0, len) < 0)
        return false;
    struct aio__chunk *k = p;
    k->next = a->chunks;
    k->len = len;
    a->chunks = k;
    a->nchunks++;
    a->bump = (char *)p + CHUNK_HEAD + a->skew;
    a->end = (char *)p + len;
    AIO__POISON((char *)p + CHUNK_HEAD, len - CHUNK_HEAD); /* untouched until handed out */
    return true;
}

/* The current chunk is too small: take a new one. */
void *aio__arena_alloc_chunk(const aio_loop *loop, aio__arena *a, size_t size) {
    return arena_grow(loop, a, size) ? aio__arena_alloc(loop, a, size) : NULL;
}

void aio__arena_free(const aio_loop *loop, aio__arena *a) {
    while (a->chunks) {
        struct aio__chunk *k = a->chunks;
        a->chunks = k->next;
        AIO__UNPOISON(k, k->len);
        aio__table_free(loop, k, k->len);
    }
    a->free = NULL;
    a->bump = a->end = NULL;
    a->nchunks = 0;
}

bool aio__huge_pages_default(int option) {
    if (option != 0)
        return option > 0;
    const char *env = getenv("AIO_HUGE_PAGES");
    return !(env && env[0] == '0');
}
