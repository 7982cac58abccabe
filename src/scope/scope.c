/* What task groups and timeout scopes share: each task's chain of open
 * scopes and the hook that closes them when the coroutine ends inside
 * them (C has no `finally`: this is where it happens).
 *
 * The hook runs from aio__task_complete, only for a task whose aio__scoped
 * bit is set, before anything is completed or freed: the frame holding the
 * records is still there. It closes the scopes innermost first with the
 * coroutine's outcome; a group with children still running makes the task
 * wait (it is in no list meanwhile: cancelling it only counts), and the
 * last child's end calls aio__task_complete again, which resumes here. */
#include "core/futures.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/task.h"
#include "scope/scope.h"

#include <stdlib.h>
#include <string.h>

aio_task *aio__scope_running_task(aio_task *t, aio_loop **loop) {
    aio_loop *l = aio__running_loop();
    *loop = l;
    return (t && l && l->task.current == t) ? t : NULL;
}

aio_task *aio__scope_task(const aio_loop *loop, const struct aio__scope *s) {
    return loop->fut.slots[s->aio__task].u.task;
}

static bool task_end(aio_loop *loop, aio_task *t);

/* Cover slot `slot` (the futures table's size, at least). */
static int grow(aio_loop *loop, uint32_t slot) {
    uint32_t cap = loop->fut.cap > 64 ? loop->fut.cap : 64;
    if (cap <= slot)
        cap = slot + 1;
    aio__scope_slot *s = aio__calloc(cap, sizeof *s); /* pages of untouched slots stay unmapped */
    if (!s)
        return -ENOMEM;
    if (loop->scope.slots)
        memcpy(s, loop->scope.slots, (size_t)loop->scope.cap * sizeof *s);
    aio__free(loop->scope.slots);
    loop->scope.slots = s;
    loop->scope.cap = cap;
    return 0;
}

int aio__scope_open(aio_loop *loop, aio_task *t, struct aio__scope *s, uint8_t kind) {
    uint32_t slot = t->aio__slot;
    if (slot >= loop->scope.cap && grow(loop, slot) < 0)
        return -ENOMEM;
    if (!loop->task.scope_end)
        aio__task_set_scope_hook(loop, task_end);
    aio__scope_slot *ss = &loop->scope.slots[slot];
    s->aio__outer = ss->open;
    s->aio__task = slot;
    s->aio__tag = loop->tag;
    s->aio__kind = kind;
    s->aio__state = AIO__SC_OPEN;
    s->aio__err = 0;
    s->aio__cancelling = (uint8_t)t->aio__cancelling;
    ss->open = s;
    aio__task_set_scoped(t, true);
    return 0;
}

/* The task has nothing left in its entry: it completes like any other. */
static void maybe_unmark(aio_loop *loop, uint32_t slot) {
    aio__scope_slot *ss = &loop->scope.slots[slot];
    if (!ss->open && !ss->kept)
        aio__task_set_scoped(loop->fut.slots[slot].u.task, false);
}

void aio__scope_unlink(aio_loop *loop, struct aio__scope *s) {
    /* Usually the innermost one; a scope ended out of order is found too. */
    struct aio__scope **p = &loop->scope.slots[s->aio__task].open;
    while (*p && *p != s)
        p = &(*p)->aio__outer;
    if (*p)
        *p = s->aio__outer;
    s->aio__outer = NULL;
    maybe_unmark(loop, s->aio__task);
}

void aio__scope_keep(aio_loop *loop, struct aio__group_errors *b) {
    aio__scope_slot *ss = &loop->scope.slots[b->task];
    b->next = ss->kept;
    ss->kept = b;
    aio__task_set_scoped(loop->fut.slots[b->task].u.task, true);
}

void aio__scope_unkeep(aio_loop *loop, struct aio__group_errors *b) {
    struct aio__group_errors **p = &loop->scope.slots[b->task].kept;
    while (*p && *p != b)
        p = &(*p)->next;
    if (*p)
        *p = b->next;
    b->next = NULL;
    maybe_unmark(loop, b->task);
}

/* The hook (see the top of the file). */
static bool task_end(aio_loop *loop, aio_task *t) {
    aio__scope_slot *ss = &loop->scope.slots[t->aio__slot];
    int err = loop->pub.err; /* the coroutine's outcome (a resumed group close keeps its own) */
    aio_value v = t->aio__u.v;
    struct aio__scope *s;
    while ((s = ss->open) != NULL) {
        if (s->aio__kind == AIO__SCOPE_TIMEOUT)
            aio__timeout_close(loop, t, (aio_timeout *)(void *)s, &err);
        else if (aio__group_close(loop, t, (aio_group *)(void *)s, &err, &v))
            return true; /* children first */
    }
    /* Nobody can read a joined group's errors once its task is gone. */
    while (ss->kept) {
        struct aio__group_errors *b = ss->kept;
        ss->kept = b->next;
        if (b->owner->aio__errs == b) /* still its list (the frame is still here) */
            b->owner->aio__errs = NULL;
        aio__group_errors_free(loop, b);
    }
    aio__task_set_scoped(t, false);
    loop->pub.err = err;
    t->aio__u.v = v;
    return false;
}

void aio__scopes_free(aio_loop *loop) {
    for (uint32_t i = 0; i < loop->scope.cap; i++) {
        aio__scope_slot *ss = &loop->scope.slots[i];
        for (struct aio__scope *s = ss->open; s; s = s->aio__outer)
            if (s->aio__kind == AIO__SCOPE_GROUP)
                aio__group_free_at_close(loop, (aio_group *)(void *)s);
        while (ss->kept) {
            struct aio__group_errors *b = ss->kept;
            ss->kept = b->next;
            aio__free(b);
        }
    }
    aio__free(loop->scope.slots);
    loop->scope.slots = NULL;
    loop->scope.cap = 0;
}
