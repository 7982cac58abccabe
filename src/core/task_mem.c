/* Task memory: header and frame together, carved from per-size chunks the
 * loop owns instead of one malloc each.
 *
 * Sizes come in steps of 8 bytes from 24 to AIO__TM_MAX (larger tasks use
 * malloc). A freed task goes on its size's free list, linked through its
 * first word, and is reused before the chunk's untouched end: a program
 * that keeps spawning reuses warm memory. Each size has an arena (mem.c):
 * chunks that double from 4 KiB to 8 MiB, the big ones with huge pages,
 * freed with the loop; the memory of a burst of tasks is kept for reuse
 * until then, as the futures table is.
 *
 * Against malloc this saves its 8-byte header and rounding to 16 per task:
 * a task with an 8-byte frame takes 32 bytes, not 48.
 *
 * Alignment: a frame sits at offset 24 from its task, and a type's
 * alignment divides its size. So a frame whose size is a multiple of 16
 * (the only ones that may need 16) must start its task 8 past a 16-byte
 * boundary: it takes 8 bytes more, which makes its size class a multiple
 * of 16, and the arenas of those classes hand out blocks at 16k + 8. The
 * other classes (16k + 8 bytes each) only ever hold frames that need at
 * most 8, and 8-aligned blocks are enough for them. */
#include "core/loop.h"
#include "core/mem.h"
#include "core/task.h"

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

static aio__task_mem *task_mem_new(void) {
    aio__task_mem *m = aio__calloc(1, sizeof *m);
    if (m)
        for (unsigned c = 0; c < AIO__TM_CLASSES; c++)
            m->arena[c].skew = class_size(c) % 16 == 0 ? 8 : 0; /* blocks at 16k + 8 */
    return m;
}

aio_task *aio__task_alloc(aio_loop *loop, size_t size) {
    bool align16 = size % 16 == AIO__TM_MIN % 16 && size > AIO__TM_MIN; /* frame size 16k, k > 0 */
    if (align16)
        size += 8;
    if (size > AIO__TM_MAX) {
        if (!align16) {
            void *p = aio__malloc(size);
            return p ? task_init(p, AIO__TM_MALLOC) : NULL;
        }
        /* size is far from SIZE_MAX: aio_create_task_sized caps frames at PTRDIFF_MAX */
        char *p = aio__aligned_alloc(16, (size + 15) & ~(size_t)15);
        return p ? task_init(p + 8, AIO__TM_MALLOC_8) : NULL;
    }
    aio__task_mem *m = loop->task.mem;
    if (!m && !(m = loop->task.mem = task_mem_new()))
        return NULL;
    unsigned c = (unsigned)(size - AIO__TM_MIN + 7) / 8; /* size >= the header's */
    void *p = aio__arena_alloc(loop, &m->arena[c], class_size(c));
    return p ? task_init(p, c) : NULL;
}

void aio__task_free(aio_loop *loop, aio_task *t) {
    unsigned c = t->aio__size_class;
    if (c == AIO__TM_MALLOC) {
        aio__free(t);
        return;
    }
    if (c == AIO__TM_MALLOC_8) {
        aio__free((char *)t - 8);
        return;
    }
    aio__arena_put(&loop->task.mem->arena[c], t, class_size(c));
}

void aio__task_mem_free(aio_loop *loop) {
    aio__task_mem *m = loop->task.mem;
    if (!m)
        return;
    for (unsigned c = 0; c < AIO__TM_CLASSES; c++)
        aio__arena_free(loop, &m->arena[c]);
    aio__free(m);
    loop->task.mem = NULL;
}
