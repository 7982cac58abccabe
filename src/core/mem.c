/* Memory the loop owns in bulk: its growing tables (futures, callback
 * nodes, ready ring, timers), its task slab, and big combinator states.
 *
 * Touching new memory is what a million-task program spends most of its
 * time on: a first-touch page fault costs microseconds on a VM, and each
 * 4 KiB page is one fault. Where the kernel offers transparent huge pages
 * only on request (Linux's "madvise" mode, Debian's default), a table that
 * has grown to 8 MiB asks for them, so each further 2 MiB costs one fault
 * instead of 512. Smaller tables never ask, so a small program's memory
 * stays exactly what it touches. aio_loop_options.huge_pages turns this off.
 * From 16 KiB a table is a mapping of its own either way, grown by mremap:
 * a realloc that copies touches every page of the copy again, and the old
 * block it leaves in malloc's heap stays resident (a hole in the middle of
 * the heap is never given back). */
#include "core/compiler.h"
#include "core/loop.h"
#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define AIO__HUGE_PAGE ((size_t)2 << 20)
#define AIO__PAGE ((size_t)4 << 10)
/* Tables from this size on ask for huge pages: then the at most 2 MiB that
 * rounding to a huge page commits beyond what is touched is a small share. */
#define AIO__BIG_TABLE ((size_t)8 << 20)
/* Tables from this size on live in a mapping of their own, grown with
 * mremap: growing never copies them, so their pages are never touched
 * twice (a realloc that copies faults the copy's pages in again), and the
 * size they had before goes back to the system. A table grown by realloc
 * leaves each old block as a hole in malloc's heap, resident and never
 * given back; glibc's own threshold for mapping a block (128 KiB, raised
 * each time a block it mapped is freed) does not help, as the raise also
 * stops it trimming the heap. 10,000 idle connections of a server left
 * about 40 bytes each in such holes with 256 KiB here. Below it, realloc:
 * a loop whose tables stay small makes no mapping. */
#define AIO__MAPPED_TABLE ((size_t)16 << 10)

#if defined(__linux__) && defined(MREMAP_MAYMOVE)
#define AIO__HAVE_MREMAP 1
#else
#define AIO__HAVE_MREMAP 0
#endif
#if AIO__HAVE_MREMAP && defined(MADV_HUGEPAGE)
#define AIO__HAVE_THP 1
#else
#define AIO__HAVE_THP 0
#endif

/* ---- mappings ---- */

#if defined(__linux__)
void *aio__mmap_anon(size_t len) {
    if (AIO__ALLOC_FAILS())
        return NULL;
    void *q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return q == MAP_FAILED ? NULL : q;
}

void aio__munmap(void *p, size_t len) { munmap(p, len); }
#endif
#if AIO__HAVE_MREMAP
void *aio__mremap(void *p, size_t old_len, size_t new_len) {
    if (AIO__ALLOC_FAILS())
        return NULL;
    void *q = mremap(p, old_len, new_len, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}
#endif

static bool is_mapped(size_t len) { return AIO__HAVE_MREMAP && len >= AIO__MAPPED_TABLE; }

/* A mapped table this size asks for huge pages. It must be a mapping of
 * its own: advising part of malloc's block would split it, and mremap
 * refuses a split one. */
static bool is_big(const aio_loop *loop, size_t len) {
    return AIO__HAVE_THP && loop->huge_pages && len >= AIO__BIG_TABLE;
}

/* A mapped table's length: whole huge pages once it asks for them, whole
 * pages before. A function of the loop and len only: mremap is told the
 * old length again. */
static size_t map_len(const aio_loop *loop, size_t len) {
    size_t unit = is_big(loop, len) ? AIO__HUGE_PAGE : AIO__PAGE;
    return (len + unit - 1) & ~(unit - 1);
}

/* Ask for huge pages on a mapped table that is big (a hint: without THP in
 * this kernel nothing changes). */
static void advise_huge(const aio_loop *loop, void *p, size_t len) {
#if AIO__HAVE_THP
    if (is_big(loop, len))
        (void)madvise(p, map_len(loop, len), MADV_HUGEPAGE);
#else
    (void)loop, (void)p, (void)len;
#endif
}

int aio__table_resize(const aio_loop *loop, void **p, size_t old_len, size_t keep, size_t new_len) {
    if (!is_mapped(new_len)) {
        void *q = aio__realloc(*p, new_len);
        if (!q)
            return -ENOMEM;
        *p = q;
        return 0;
    }
#if AIO__HAVE_MREMAP
    void *q;
    size_t len = map_len(loop, new_len);
    if (is_mapped(old_len)) { /* moves the pages, copies nothing */
        q = aio__mremap(*p, map_len(loop, old_len), len);
        if (!q)
            return -ENOMEM;
        advise_huge(loop, q, new_len); /* again: the new part is not touched yet */
    } else {
        q = aio__mmap_anon(len);
        if (!q)
            return -ENOMEM;
        advise_huge(loop, q, new_len); /* before the copy, or the copy faults 4 KiB pages in */
        if (keep)
            memcpy(q, *p, keep); /* not the rest: copying untouched pages touches them */
        aio__free(*p);
    }
    *p = q;
#endif
    return 0;
}

void aio__table_free(const aio_loop *loop, void *p, size_t len) {
#if AIO__HAVE_MREMAP
    if (p && is_mapped(len)) {
        aio__munmap(p, map_len(loop, len));
        return;
    }
#endif
    (void)loop, (void)len;
    aio__free(p);
}

/* ---- memory written whole at once ---- */

void *aio__bulk_alloc(const aio_loop *loop, size_t len, bool *mapped) {
    *mapped = false;
#if AIO__HAVE_THP
    if (loop->huge_pages && len >= AIO__BULK_MIN) {
        /* Its own mapping, rounded to pages only: the kernel gives huge
         * pages to the whole 2 MiB extents inside it, and every page of
         * it is about to be written anyway. */
        void *q = aio__mmap_anon(len);
        if (q) {
            (void)madvise(q, len, MADV_HUGEPAGE);
            *mapped = true;
            return q; /* zeroed, as calloc's */
        }
    }
#else
    (void)loop;
#endif
    return aio__calloc(1, len);
}

void aio__bulk_free(void *p, size_t len, bool mapped) {
#if AIO__HAVE_THP
    if (mapped) {
        aio__munmap(p, len);
        return;
    }
#endif
    (void)len, (void)mapped;
    aio__free(p);
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
