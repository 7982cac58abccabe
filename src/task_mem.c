/* Task memory: header and frame together, carved from per-size chunks the
 * loop owns instead of one malloc each.
 *
 * Sizes come in steps of 8 bytes from 32 to AIO__TM_MAX (larger tasks use
 * malloc). A freed task goes on its size's free list, linked through its
 * first word, and is reused before the chunk's untouched end: a program
 * that keeps spawning reuses warm memory. Chunks double per size, from
 * 4 KiB to 8 MiB (the big ones ask for huge pages, mem.c), and are freed
 * with the loop; the memory of a burst of tasks is kept for reuse until
 * then, as the futures table is.
 *
 * Against malloc this saves its 8-byte header and rounding to 16 per task:
 * a task with an 8-byte frame takes 40 bytes, not 48.
 *
 * Alignment: a frame sits at offset 32 from its task. A size class that is
 * a multiple of 16 keeps every task 16-aligned (chunks start 16-aligned);
 * a class of 16k + 8 bytes is used only for frames whose size is not a
 * multiple of 16, and a type's alignment divides its size, so those frames
 * need at most 8. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define AIO__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIO__ASAN 1
#endif
#endif
#ifdef AIO__ASAN /* a freed task is poisoned, as malloc's would be */
#include <sanitizer/asan_interface.h>
#define TM_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define TM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define TM_POISON(p, n) ((void)(p), (void)(n))
#define TM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define TM_FIRST_CHUNK ((size_t)4 << 10)
#define TM_LAST_CHUNK ((size_t)8 << 20)

typedef struct aio__tm_chunk {
    struct aio__tm_chunk *next;
    size_t len; /* bytes, this header included */
} aio__tm_chunk;
#define TM_CHUNK_HEAD ((sizeof(aio__tm_chunk) + 15) & ~(size_t)15)

struct aio__task_mem {
    void *free[AIO__TM_CLASSES]; /* freed tasks of each size */
    char *bump[AIO__TM_CLASSES]; /* the untouched rest of its newest chunk */
    char *end[AIO__TM_CLASSES];
    uint8_t nchunks[AIO__TM_CLASSES];
    aio__tm_chunk *chunks;
};

static size_t class_size(unsigned c) { return AIO__TM_MIN + 8u * c; }

static bool new_chunk(aio_loop *loop, aio__task_mem *m, unsigned c) {
    size_t len = TM_FIRST_CHUNK << m->nchunks[c];
    if (len > TM_LAST_CHUNK)
        len = TM_LAST_CHUNK;
    void *p = NULL;
    if (aio__table_resize(loop, &p, 0, len) < 0)
        return false;
    aio__tm_chunk *k = p;
    k->next = m->chunks;
    k->len = len;
    m->chunks = k;
    if (m->nchunks[c] < 16)
        m->nchunks[c]++;
    m->bump[c] = (char *)p + TM_CHUNK_HEAD;
    m->end[c] = (char *)p + len;
    TM_POISON(m->bump[c], len - TM_CHUNK_HEAD);
    return true;
}

aio_task *aio__task_alloc(aio_loop *loop, size_t size) {
    if (size > AIO__TM_MAX) {
        aio_task *t = malloc(size);
        if (t) {
            memset(t, 0, sizeof *t);
            t->aio__size_class = AIO__TM_MALLOC;
        }
        return t;
    }
    aio__task_mem *m = loop->tmem;
    if (!m && !(m = loop->tmem = calloc(1, sizeof *m)))
        return NULL;
    unsigned c = (unsigned)((size < AIO__TM_MIN ? 0 : size - AIO__TM_MIN) + 7) / 8;
    size_t n = class_size(c);
    aio_task *t = m->free[c];
    if (t) {
        TM_UNPOISON(t, n);
        m->free[c] = *(void **)t;
    } else {
        if ((size_t)(m->end[c] - m->bump[c]) < n && !new_chunk(loop, m, c))
            return NULL;
        t = (aio_task *)(void *)m->bump[c];
        m->bump[c] += n;
        TM_UNPOISON(t, n);
    }
    memset(t, 0, sizeof *t);
    t->aio__size_class = c & 0x3fu;
    return t;
}

void aio__task_free(aio_loop *loop, aio_task *t) {
    unsigned c = t->aio__size_class;
    if (c == AIO__TM_MALLOC) {
        free(t);
        return;
    }
    aio__task_mem *m = loop->tmem;
    *(void **)t = m->free[c];
    m->free[c] = t;
    TM_POISON(t, class_size(c));
}

void aio__task_mem_free(aio_loop *loop) {
    aio__task_mem *m = loop->tmem;
    if (!m)
        return;
    while (m->chunks) {
        aio__tm_chunk *k = m->chunks;
        m->chunks = k->next;
        TM_UNPOISON(k, k->len);
        aio__table_free(loop, k, k->len);
    }
    free(m);
    loop->tmem = NULL;
}
