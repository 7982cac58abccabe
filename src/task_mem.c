/* Task memory: header and frame together, carved from per-size chunks the
 * loop owns instead of one malloc each.
 *
 * Sizes come in steps of 8 bytes from 32 to AIO__TM_MAX (larger tasks use
 * malloc). A freed task goes on its size's free list, linked through its
 * first word, and is reused before the chunk's untouched end: a program
 * that keeps spawning reuses warm memory. Each size has an arena (mem.c):
 * chunks that double from 4 KiB to 8 MiB, the big ones with huge pages,
 * freed with the loop; the memory of a burst of tasks is kept for reuse
 * until then, as the futures table is.
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

struct aio__task_mem {
    aio__arena arena[AIO__TM_CLASSES]; /* one per size */
};

static size_t class_size(unsigned c) { return AIO__TM_MIN + 8u * c; }

/* A zeroed header, its size class recorded. */
static aio_task *task_init(void *p, unsigned size_class) {
    aio_task *t = p;
    memset(t, 0, sizeof *t);
    t->aio__size_class = size_class & 0x3fu;
    return t;
}

aio_task *aio__task_alloc(aio_loop *loop, size_t size) {
    if (size > AIO__TM_MAX) {
        void *p = malloc(size);
        return p ? task_init(p, AIO__TM_MALLOC) : NULL;
    }
    aio__task_mem *m = loop->tmem;
    if (!m && !(m = loop->tmem = calloc(1, sizeof *m)))
        return NULL;
    unsigned c = (unsigned)(size - AIO__TM_MIN + 7) / 8; /* size >= the header's */
    void *p = aio__arena_alloc(loop, &m->arena[c], class_size(c));
    return p ? task_init(p, c) : NULL;
}

void aio__task_free(aio_loop *loop, aio_task *t) {
    unsigned c = t->aio__size_class;
    if (c == AIO__TM_MALLOC) {
        free(t);
        return;
    }
    aio__arena_put(&loop->tmem->arena[c], t, class_size(c));
}

void aio__task_mem_free(aio_loop *loop) {
    aio__task_mem *m = loop->tmem;
    if (!m)
        return;
    for (unsigned c = 0; c < AIO__TM_CLASSES; c++)
        aio__arena_free(loop, &m->arena[c]);
    free(m);
    loop->tmem = NULL;
}
