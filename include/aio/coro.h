/* libaio — stackless coroutines (protothreads-style).
 *
 * A coroutine is a plain function
 *
 *     aio_status name(aio_task *t, void *frame);
 *
 * whose state lives in its *frame*, a struct of yours that the task owns.
 * LOCAL VARIABLES DO NOT SURVIVE AN AWAIT: the function returns at every
 * suspension and is called again to resume. Keep in the frame whatever must
 * live across an await.
 *
 *     struct hello { int n; };
 *
 *     static aio_status hello(aio_task *t, void *frame) {
 *         struct hello *f = frame;        // recomputed on every resume: fine
 *         AIO_BEGIN(t);
 *         puts("Hello");
 *         AIO_AWAIT(t, aio_sleep(t, 1.0));
 *         if (AIO_ERR(t) == AIO_ECANCELLED) { ... clean up ... }
 *         puts("World");
 *         AIO_RETURN(t, f->n);
 *         AIO_END(t);
 *     }
 *
 * The macros:
 *   AIO_BEGIN(t)               first statement of the body.
 *   AIO_AWAIT(t, fut)          suspend until the future is done (at once if it
 *                              is). Afterwards AIO_ERR(t) is 0 or its error
 *                              (AIO_ECANCELLED, ...) and AIO_RESULT(t) its
 *                              result. Consumes the reference to `fut`.
 *   AIO_AWAIT_CORO(t, fn, c)   run coroutine fn inline, its frame embedded in
 *                              yours (declared with AIO_CHILD): no task, no
 *                              allocation. Afterwards AIO_ERR/AIO_RESULT hold
 *                              what it returned.
 *   AIO_YIELD(t)               let every other ready callback run once
 *                              (asyncio's sleep(0)).
 *   AIO_RETURN(t, x)           finish with result AIO_VALUE(x).
 *   AIO_FAIL(t, err)           finish with error `err` (< 0).
 *   AIO_END(t)                 last statement: falling off it returns 0.
 *
 * Cancellation is delivered at an await: AIO_ERR(t) reads AIO_ECANCELLED
 * there, the coroutine may clean up (and even await more), and the task ends
 * cancelled however it finishes (AIO_RETURN included) unless it calls
 * aio_task_uncancel(t) to carry on, or AIO_FAIL()s with another error.
 *
 * Two continuation implementations (protothreads' lc-addrlabels / lc-switch):
 *   - labels-as-values (GCC, Clang; the default there): `switch` statements
 *     in coroutine bodies work, and so do several awaits on one line;
 *   - switch/case (any C11 compiler, or define AIO_CORO_SWITCH before
 *     including): every await is a `case` label, so an await must not sit
 *     inside a `switch` statement of yours (the compiler then reports a
 *     duplicate or misplaced case). Several awaits on one line work.
 * In both, do not declare variables with initialisers between two awaits and
 * expect them to be initialised after the second: they are locals.
 */
#ifndef AIO_CORO_H
#define AIO_CORO_H

#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a coroutine function returns: the macros produce it, you never write it. */
typedef enum aio_status { AIO_SUSPENDED = 0, AIO_FINISHED = 1 } aio_status;

typedef aio_status (*aio_coro_fn)(aio_task *t, void *frame);

/* The task a coroutine runs in. The fields are the library's: read them only
 * through AIO_ERR / AIO_RESULT and the functions of aio/task.h. */
struct aio_task { /* 24 bytes: the header is paid once per task */
    union {
        aio_value v; /* result of the last await, or the returned value */
        struct {     /* instead, while suspended in an await or queued to start: */
            uint32_t awaiting; /* the slot awaited */
            uint32_t next;     /* link in its waiter list (or in the start batch) */
        } w;
    } aio__u;
    uint32_t aio__cbs;               /* while pending: its future's callback list */
    uint32_t aio__lc;                /* resume point of the top coroutine, 0 = start */
    uint32_t aio__slot : 26;         /* this task's own future slot */
    uint32_t aio__cancelling : 5;    /* requested cancellations not undone (saturates) */
    uint32_t aio__must_cancel : 1;   /* deliver AIO_ECANCELLED at the next resume */
    uint32_t aio__fn : 24;           /* the top coroutine, in the loop's table of them */
    uint32_t aio__is_awaiting : 1;   /* aio__u.w is in use */
    uint32_t aio__cancel_sent : 1;   /* the awaited future was asked to cancel */
    uint32_t aio__size_class : 6;    /* where its memory came from (task_mem.c) */
};

/* The start of every aio_loop: what belongs to the coroutine running now.
 * Only one coroutine runs at a time on a loop, so these live here rather
 * than in each task (the task header is paid per task). A coroutine finds
 * its loop as aio__running (aio/types.h). */
struct aio__loop_head {
    uint32_t *lcp; /* where its resume point is */
    int err;       /* the status of its last await (or of a child's return) */
};
#define AIO__LCP(t) ((void)(t), aio__running->lcp)

/* The status / result of the last await (or inline coroutine), inside the
 * coroutine: read them before the next await. AIO_ERR is the loop's (one
 * coroutine runs at a time), AIO_RESULT the task's. */
#define AIO_ERR(t) ((void)(t), aio__running->err)
#define AIO_RESULT(t) ((t)->aio__u.v)

/* A cancel the coroutine handles (asyncio's `except CancelledError:` that
 * does not re-raise). Right after an await: true if it ended with
 * AIO_ECANCELLED, and then the cancellations delivered to the task so far
 * are undone (as aio_task_uncancel), so that the task finishes with what it
 * returns instead of ending cancelled; false otherwise (nothing changes;
 * also for a task other than the one running).
 *     AIO_AWAIT(t, aio_sleep(t, 10));
 *     if (AIO_CANCEL_HANDLED(t))
 *         AIO_RETURN(t, 42);              // ends with 42, not cancelled
 * A cancel requested after that await (still pending) is not undone. */
int aio_task_cancel_handled(aio_task *t);
#define AIO_CANCEL_HANDLED(t) aio_task_cancel_handled(t)

/* Storage for an inline child coroutine inside your frame:
 *     struct parent { AIO_CHILD(struct child) sub; };
 * Set the child's inputs in `f->sub.frame` before AIO_AWAIT_CORO. */
#define AIO_CHILD(frame_type)                                                                      \
    struct {                                                                                       \
        uint32_t aio__lc;                                                                          \
        frame_type frame;                                                                          \
    }

/* ---- internals used by the macros ---- */
#define AIO__CAT_(a, b) a##b
#define AIO__CAT(a, b) AIO__CAT_(a, b)
/* Resume points are 32 bits: with labels as values, a label's offset from
 * the body's start label (GCC's documented &&label - &&base idiom), with
 * switch/case a case number. Finished is a value neither can be: no
 * function is 2 GiB long, and case numbers stay small. */
#define AIO__LC_FINISHED ((uint32_t)0x80000000u)

#if !defined(AIO_CORO_SWITCH) && (defined(__GNUC__) || defined(__clang__))
#define AIO_CORO_LABELS 1
/* Labels as values. __extension__ keeps -Wpedantic quiet about &&label; the
 * computed goto sits behind a pragma for the same reason. */
#define AIO__LC_RESUME(lcp)                                                                        \
    {                                                                                              \
        if (*(lcp) != 0) {                                                                         \
            _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpedantic\"")        \
                goto *(void *)((char *)&&aio__lc_start + (int32_t) * (lcp));                       \
            _Pragma("GCC diagnostic pop")                                                          \
        }                                                                                          \
        aio__lc_start:;
/* The offset of resume label n from aio__lc_start (0 would be the start
 * itself, which is the same place to go). */
#define AIO__LC_SET(lcp, n)                                                                        \
    (*(lcp) = (uint32_t)(int32_t)(__extension__((char *)&&AIO__CAT(aio__resume_, n) -              \
                                                (char *)&&aio__lc_start)))
#define AIO__LC_LABEL(n)                                                                           \
    AIO__CAT(aio__resume_, n) :;
#define AIO__LC_CLOSE }
#else
#define AIO_CORO_LABELS 0
/* Entering a case label from the statement above is intended. */
#if (defined(__GNUC__) && __GNUC__ >= 7) || defined(__clang__)
#define AIO__FALLTHROUGH __attribute__((fallthrough))
#else
#define AIO__FALLTHROUGH ((void)0)
#endif
/* switch/case: __COUNTER__ + 2 keeps case values unique and clear of 0
 * (start) and 1 (finished). */
#define AIO__LC_RESUME(lcp)                                                                        \
    switch (*(lcp)) {                                                                              \
    case 0:
#define AIO__LC_SET(lcp, n) (*(lcp) = (uint32_t)(n) + 2u)
#define AIO__LC_LABEL(n)                                                                           \
    AIO__FALLTHROUGH;                                                                              \
    case (n) + 2:;
#define AIO__LC_CLOSE                                                                              \
    AIO__FALLTHROUGH;                                                                              \
    default:                                                                                       \
        break;                                                                                     \
        }
#endif

/* Called by the macros; not for direct use. */
int aio__await(aio_task *t, aio_future f);  /* 1: suspended, 0: result is in t */
int aio__yield(aio_task *t); /* 1: queued, 0: could not queue (AIO_ERR says why) */
aio_status aio__finish(aio_task *t, uint32_t *lcp, int err, aio_value v);
aio_status aio__run_child(aio_task *t, aio_coro_fn fn, uint32_t *lcp, void *frame);

#define AIO_BEGIN(t)                                                                               \
    uint32_t *const aio__lcp = AIO__LCP(t);                                                       \
    if (*aio__lcp == AIO__LC_FINISHED)                                                             \
        return AIO_FINISHED;                                                                       \
    AIO__LC_RESUME(aio__lcp)

#define AIO_AWAIT(t, fut) AIO__AWAIT((t), (fut), __COUNTER__)
#define AIO__AWAIT(t, fut, n)                                                                      \
    do {                                                                                           \
        if (aio__await((t), (fut))) {                                                              \
            AIO__LC_SET(aio__lcp, n);                                                              \
            return AIO_SUSPENDED;                                                                  \
            AIO__LC_LABEL(n)                                                                       \
        }                                                                                          \
    } while (0)

#define AIO_YIELD(t) AIO__YIELD((t), __COUNTER__)
#define AIO__YIELD(t, n)                                                                           \
    do {                                                                                           \
        if (aio__yield(t)) {                                                                       \
            AIO__LC_SET(aio__lcp, n);                                                              \
            return AIO_SUSPENDED;                                                                  \
            AIO__LC_LABEL(n)                                                                       \
        }                                                                                          \
    } while (0)

#define AIO_AWAIT_CORO(t, fn, child) AIO__AWAIT_CORO((t), (fn), (child), __COUNTER__)
#define AIO__AWAIT_CORO(t, fn, child, n)                                                           \
    do {                                                                                           \
        (child)->aio__lc = 0;                                                                      \
        AIO__LC_SET(aio__lcp, n);                                                                  \
        AIO__LC_LABEL(n)                                                                           \
        if (aio__run_child((t), (fn), &(child)->aio__lc, &(child)->frame) == AIO_SUSPENDED)        \
            return AIO_SUSPENDED;                                                                  \
    } while (0)

#define AIO_RETURN(t, x) return aio__finish((t), aio__lcp, 0, AIO_VALUE(x))
#define AIO_FAIL(t, err) return aio__finish((t), aio__lcp, (err), AIO_NONE)

#define AIO_END(t)                                                                                 \
    AIO__LC_CLOSE                                                                                  \
    return aio__finish((t), aio__lcp, 0, AIO_NONE)

#ifdef __cplusplus
}
#endif
#endif /* AIO_CORO_H */
