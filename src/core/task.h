/* Tasks: a coroutine and its future (task.c), where their memory comes
 * from (task_mem.c). */
#ifndef AIO_CORE_TASK_H_STATE
#define AIO_CORE_TASK_H_STATE
#include "aio/aio.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct aio__task_mem aio__task_mem;
typedef struct aio__tasks {
    uint64_t start_seq;   /* queue position of the newest task-start batch */
    aio_task *start_tail; /* its last task, valid while that entry is the last queued */
    aio_task *current;    /* the task running now */
    size_t count;         /* tasks not yet finished */
    aio__task_mem *mem;   /* task memory by size (task_mem.c), at first use */
    /* The scopes module's hook (src/scope/), installed at its first use:
     * called instead of completing a task whose aio__scoped bit is set;
     * true if it took the task over (it completes it later). */
    bool (*scope_end)(aio_loop *loop, aio_task *t);
} aio__tasks;
#endif /* AIO_CORE_TASK_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_TASK_H)
#define AIO_CORE_TASK_H
#include "core/loop.h"
#include "core/futures.h"
#include "core/coro_fns.h"
#include "core/ready.h"
#include "core/waitq.h"

/* Frames start right after the 24-byte header; the task's memory
 * (task_mem.c) is placed so that the frame is aligned for its type. */
#define AIO__FRAME_OFFSET sizeof(struct aio_task)
static inline void *aio__task_frame(aio_task *t) { return (char *)t + AIO__FRAME_OFFSET; }
/* The coroutine finished (or a task cancelled before it started): complete
 * the task's future, free the task, drop the loop's hold on the slot. */
void aio__task_complete(aio_loop *loop, aio_task *t);
/* Deliver a pending cancellation (aio__must_cancel) at resume: AIO_ECANCELLED
 * becomes the await's outcome. True if that completed the task instead (it
 * never started: its body never runs). */
bool aio__task_take_cancel(aio_loop *loop, aio_task *t);

/* Resume (or start) the task's top coroutine. Inline: a wake-up (every
 * handoff) goes from the dispatch straight into the coroutine. */
static inline void aio__task_run(aio_loop *loop, aio_task *t) {
    if (t->aio__must_cancel && aio__task_take_cancel(loop, t))
        return;
    /* Tasks never nest: they run only from ready-queue entries, which only
     * a loop's run functions run, and those refuse to run a running loop.
     * So no task was current before, and none is after. */
    loop->task.current = t;
    loop->pub.lcp = &t->aio__lc;
    aio_status st = loop->fns.table[t->aio__fn](t, aio__task_frame(t));
    loop->task.current = NULL;
    if (st == AIO_FINISHED)
        aio__task_complete(loop, t);
}

/* Its awaited future is done: take the outcome, resume the task. */
/* The outcome of any other state than a result (out of line): an error, a
 * cancel, or a WOKEN future, taken, or declined if the task was cancelled
 * since its future completed (waitq.h: passed on, unless its taker says
 * otherwise). */
void aio__task_wakeup_other(aio_loop *loop, aio_task *t, uint32_t idx);
static inline void aio__task_wakeup(aio_loop *loop, aio_task *t) {
    uint32_t idx = t->aio__u.w.awaiting;
    t->aio__is_awaiting = 0;
    t->aio__cancel_sent = 0;
    const aio__fut *s = &loop->fut.slots[idx];
    if (AIO__LIKELY(s->state == AIO__FS_RESULT)) { /* the usual outcome: nothing to take */
        loop->pub.err = 0;
        t->aio__u.v = s->u.value;
    } else {
        aio__task_wakeup_other(loop, t, idx);
    }
    aio__task_run(loop, t);
}
int aio__task_cancel_idx(aio_loop *loop, uint32_t idx, const char *msg);
void aio__task_destroy(aio_loop *loop, aio_task *t); /* at close */
void aio__cancel_all_tasks(aio_loop *loop);
/* At loop creation: tell the futures table how to cancel and destroy tasks. */
void aio__tasks_init(aio_loop *loop);
/* asyncio 3.13's Task.uncancel(): one request fewer; at 0 a cancellation
 * not yet delivered (aio__must_cancel) is dropped too. The remaining count. */
int aio__task_uncancel(aio_task *t);
/* asyncio's uncancel() then cancel() on the running task t: the count is
 * unchanged, and the cancellation is delivered again at its next await. */
void aio__task_cancel_again(aio_loop *loop, aio_task *t);
/* For the scopes module (src/scope/): install its task-end hook, and mark a
 * task as having scopes (the hook then runs before it completes). */
static inline void aio__task_set_scope_hook(aio_loop *loop, bool (*fn)(aio_loop *, aio_task *)) {
    loop->task.scope_end = fn;
}
static inline void aio__task_set_scoped(aio_task *t, bool on) { t->aio__scoped = on ? 1u : 0u; }
/* The message of the cancellation pending on t, or NULL. */
const char *aio__task_cancel_msg(const aio_loop *loop, const aio_task *t);
/* The ready-queue entry that starts (or resumes after a yield) a batch of
 * tasks linked through aio__u.w.next. */
void aio__task_start_batch(aio_loop *loop, void *arg);
/* The ready-queue entry that resumes a task after it awaited sleep(0) (await.c). */
void aio__task_step(aio_loop *loop, void *arg);
/* Queue t to start (or resume after a yield): it joins the open start batch
 * if that is still the last ready entry. 0 or -ENOMEM. Inline: a spawn and
 * a yield make one each. */
static inline int aio__task_queue_start(aio_loop *loop, aio_task *t) {
    t->aio__u.w.next = AIO__NIL;
    if (aio__ready_is_last(loop, loop->task.start_seq)) {
        loop->task.start_tail->aio__u.w.next = t->aio__slot;
    } else {
        int rc = aio__ready_push(loop, aio__task_start_batch, t, &loop->task.start_seq);
        if (rc < 0)
            return rc;
    }
    loop->task.start_tail = t;
    return 0;
}

/* A call served at once inside a coroutine (the fast forms: AIO_LOCK_ACQUIRE
 * and the like, AIO_STREAM_DRAIN): its outcome, as an await of a done
 * future would leave it in t. Returns 1. */
static inline int aio__task_served_now(aio_task *t, int err, aio_value v) {
    aio__running_loop()->pub.err = err;
    t->aio__u.v = v;
    return 1;
}

/* task_mem.c: tasks (header + frame) from the loop's per-size chunks */
#define AIO__TM_MIN 24u     /* the smallest class: a header alone */
#define AIO__TM_CLASSES 62u /* 24, 32, ..., 512 bytes */
#define AIO__TM_MAX (AIO__TM_MIN + 8u * (AIO__TM_CLASSES - 1u))
#define AIO__TM_MALLOC 63u   /* aio__size_class of a task malloc'd alone... */
#define AIO__TM_MALLOC_8 62u /* ...8 bytes into its block (a 16-aligned frame) */
typedef struct aio__task_mem aio__task_mem;
/* Memory for a task of `size` bytes (its aio__size_class set); NULL if out
 * of memory. */
aio_task *aio__task_alloc(aio_loop *loop, size_t size);
void aio__task_free(aio_loop *loop, aio_task *t);
void aio__task_mem_free(aio_loop *loop); /* at close, after every task */
#endif                                   /* AIO_CORE_TASK_H */
