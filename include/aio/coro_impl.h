/* libaio — the machinery under the coroutine macros. NOT API.
 *
 * Everything here is compiled into the user's coroutines by the macros of
 * aio/coro.h: the task header's layout, the thread-local running loop, the
 * continuation (resume point) implementations and the functions the macros
 * call. It is part of the ABI: a change to any of it bumps AIO_ABI_VERSION,
 * and code built against one ABI must not be linked with another. Use only
 * the documented macros of aio/coro.h and the functions of aio/task.h.
 * (protothreads keeps lc-*.h under pt.h the same way.)
 */
#ifndef AIO_CORO_IMPL_H
#define AIO_CORO_IMPL_H

#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped by every change to this file's layouts or calls. */
#define AIO_ABI_VERSION 3

/* What a coroutine function returns: the macros produce it, you never write it. */
typedef enum aio_status { AIO_SUSPENDED = 0, AIO_FINISHED = 1 } aio_status;

typedef aio_status (*aio_coro_fn)(aio_task *t, void *frame);

/* ---- the running loop ----
 * The loop running on this thread (its aio__loop_head), NULL when none is.
 * Coroutines only run inside their loop's run functions, which set it, so a
 * coroutine finds its loop here instead of in every task (the task header is
 * paid per task). Initial-exec TLS: one load, no call. */
struct aio__loop_head;
#if defined(__cplusplus)
#define AIO__THREAD_LOCAL thread_local
#else
#define AIO__THREAD_LOCAL _Thread_local
#endif
#if defined(__GNUC__) || defined(__clang__)
#define AIO__TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define AIO__TLS_MODEL
#endif
extern AIO__THREAD_LOCAL struct aio__loop_head *aio__running AIO__TLS_MODEL;

/* The start of every aio_loop: what belongs to the coroutine running now.
 * Only one coroutine runs at a time on a loop, so these live here rather
 * than in each task. */
struct aio__loop_head {
    uint32_t *lcp; /* where its resume point is */
    int err;       /* the status of its last await (or of a child's return) */
    int where;     /* nonzero: "where mode" (below): report the resume point, run nothing */
};

/* The task a coroutine runs in: 24 bytes, paid once per task. The fields
 * are the library's: user code reads them only through AIO_ERR / AIO_RESULT
 * and the functions of aio/task.h. */
struct aio_task {
    union {
        aio_value v;           /* result of the last await, or the returned value */
        struct {               /* instead, while suspended in an await or queued to start: */
            uint32_t awaiting; /* the slot awaited */
            uint32_t next;     /* link in its waiter list (or in the start batch) */
        } w;
    } aio__u;
    uint32_t aio__cbs;             /* while pending: its future's callback list */
    uint32_t aio__lc;              /* resume point of the top coroutine, 0 = start */
    uint32_t aio__slot : 26;       /* this task's own future slot */
    uint32_t aio__cancelling : 5;  /* requested cancellations not undone (saturates) */
    uint32_t aio__must_cancel : 1; /* deliver AIO_ECANCELLED at the next resume */
    uint32_t aio__fn : 23;         /* the top coroutine, in the loop's table of them */
    uint32_t aio__scoped : 1;      /* has task-group or timeout scopes (aio/group.h) */
    uint32_t aio__is_awaiting : 1; /* aio__u.w is in use */
    uint32_t aio__cancel_sent : 1; /* the awaited future was asked to cancel */
    uint32_t aio__size_class : 6;  /* where its memory came from (task_mem.c) */
};

#define AIO__LCP(t) ((void)(t), aio__running->lcp)

/* A parameter the body may leave unused (the typed coroutine's frame). */
#if defined(__GNUC__) || defined(__clang__)
#define AIO__MAYBE_UNUSED __attribute__((unused))
#else
#define AIO__MAYBE_UNUSED
#endif

/* ---- loop or task ----
 * AIO__LOOP(x): the loop from an aio_loop * or, inside a coroutine, its
 * aio_task * (the loop running on this thread: a task is only ever used
 * inside its coroutine). A void * (NULL included) is taken as a loop. Any
 * other type is a compile error. AIO__LOOP_ONLY(x): the same for calls that
 * take only a loop (running or closing one): a task is a compile error. */
static inline aio_loop *aio__loop_of_loop(aio_loop *l) { return l; }
static inline aio_loop *aio__loop_of_void(void *p) { return (aio_loop *)p; }
static inline aio_loop *aio__loop_of_task(const aio_task *t) {
    return t ? (aio_loop *)(void *)aio__running : (aio_loop *)0;
}
static inline const aio_loop *aio__cloop_of_loop(const aio_loop *l) { return l; }
static inline const aio_loop *aio__cloop_of_void(const void *p) { return (const aio_loop *)p; }
static inline const aio_loop *aio__cloop_of_task(const aio_task *t) { return aio__loop_of_task(t); }
#define AIO__LOOP(x)                                                                                         \
    _Generic((x),                                                                                  \
        aio_loop *: aio__loop_of_loop,                                                             \
        aio_task *: aio__loop_of_task,                                                             \
        const aio_task *: aio__loop_of_task,                                                       \
        void *: aio__loop_of_void)(x)
/* For calls that only read the loop (they take a const aio_loop *). */
#define AIO__CLOOP(x)                                                                                        \
    _Generic((x),                                                                                  \
        aio_loop *: aio__cloop_of_loop,                                                            \
        const aio_loop *: aio__cloop_of_loop,                                                      \
        aio_task *: aio__cloop_of_task,                                                            \
        const aio_task *: aio__cloop_of_task,                                                      \
        void *: aio__cloop_of_void,                                                                \
        const void *: aio__cloop_of_void)(x)
#define AIO__LOOP_ONLY(x) _Generic((x), aio_loop * : aio__loop_of_loop, void * : aio__loop_of_void)(x)
#define AIO__CLOOP_ONLY(x)                                                                                   \
    _Generic((x),                                                                                  \
        aio_loop *: aio__cloop_of_loop,                                                            \
        const aio_loop *: aio__cloop_of_loop,                                                      \
        void *: aio__cloop_of_void,                                                                \
        const void *: aio__cloop_of_void)(x)
/* A task where only a task is accepted (or a void pointer: NULL); anything
 * else, a loop included, is a compile error. */
#define AIO__TASK_ONLY(t) _Generic((t), aio_task * : (t), void * : (aio_task *)(t))
#define AIO__CTASK_ONLY(t)                                                                                   \
    _Generic((t), aio_task * : (t), const aio_task * : (t), void * : (const aio_task *)(t))

/* ---- continuations ----
 * Resume points are 32 bits: with labels as values, a label's offset from
 * the body's start label (GCC's documented &&label - &&base idiom), with
 * switch/case a case number. Finished is a value neither can be: no
 * function is 2 GiB long, and case numbers stay small. */
#define AIO__CAT_(a, b) a##b
#define AIO__CAT(a, b) AIO__CAT_(a, b)
#define AIO__LC_FINISHED ((uint32_t)0x80000000u)

#if !defined(AIO_CORO_SWITCH) && (defined(__GNUC__) || defined(__clang__))
#define AIO_CORO_LABELS 1
/* Labels as values. __extension__ keeps -Wpedantic quiet about &&label; the
 * computed goto sits behind a pragma for the same reason. */
#define AIO__LC_RESUME(lcp)                                                                                  \
    {                                                                                                        \
        if (*(lcp) != 0) {                                                                                   \
            _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpedantic\"") goto *(          \
                void *)((char *)&&aio__lc_start + (int32_t) * (lcp));                                        \
            _Pragma("GCC diagnostic pop")                                                                    \
        }                                                                                                    \
    aio__lc_start:;
/* The offset of resume label n from aio__lc_start (0 would be the start
 * itself, which is the same place to go). */
#define AIO__LC_SET(lcp, n)                                                                                  \
    (*(lcp) =                                                                                                \
         (uint32_t)(int32_t)(__extension__((char *)&&AIO__CAT(aio__resume_, n) - (char *)&&aio__lc_start)))
#define AIO__LC_LABEL(n) AIO__CAT(aio__resume_, n) :;
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
#define AIO__LC_RESUME(lcp)                                                                                  \
    switch (*(lcp)) {                                                                                        \
    case 0:
#define AIO__LC_SET(lcp, n) (*(lcp) = (uint32_t)(n) + 2u)
#define AIO__LC_LABEL(n)                                                                                     \
    AIO__FALLTHROUGH;                                                                                        \
    case (n) + 2:;
#define AIO__LC_CLOSE                                                                                        \
    AIO__FALLTHROUGH;                                                                                        \
    default:                                                                                                 \
        break;                                                                                               \
        }
#endif

/* ---- where mode ----
 * A suspended coroutine's resume point is a place in its source, but
 * encoded (a label offset, a case number). To decode it, the library calls
 * the coroutine again with its resume point while aio__running->where is
 * set (aio/debug.h's task dumps, debug mode's reports): right after every
 * resume label the macros test that flag and, if set, hand the library the
 * await's static site record and return before any statement of the body
 * runs. At an AIO_AWAIT_CORO the report goes on into the child, so a chain
 * of inline coroutines reports each frame. Cost when unused: one test per
 * resume; no byte per task. */
typedef struct aio_site {
    const char *file; /* __FILE__ of the await */
    const char *func; /* __func__ of the coroutine (AIO_CORO's body: aio__body_of_<name>) */
    int line;         /* __LINE__ of the await */
} aio_site;
aio_status aio__where_here(const aio_site *site);
aio_status aio__where_child(const aio_site *site, aio_task *t, aio_coro_fn fn, uint32_t *lcp, void *frame);
#if defined(__GNUC__) || defined(__clang__)
#define AIO__WHERE_MODE() __builtin_expect(aio__running->where != 0, 0)
/* 24 bytes a site: without it GCC pads each record to 32 (aligned for speed) */
#define AIO__SITE_ALIGN __attribute__((aligned(sizeof(void *))))
#else
#define AIO__WHERE_MODE() (aio__running->where != 0)
#define AIO__SITE_ALIGN
#endif
/* After a resume label: in where mode, report this site and return. */
#define AIO__WHERE_HERE()                                                                                    \
    if (AIO__WHERE_MODE()) {                                                                                 \
        static const aio_site aio__site AIO__SITE_ALIGN = {__FILE__, __func__, __LINE__};                    \
        return aio__where_here(&aio__site);                                                                  \
    }

/* ---- what the macros call ---- */
int aio__await(aio_task *t, aio_future f); /* 1: suspended, 0: result is in t */
int aio__yield(aio_task *t);               /* 1: queued, 0: could not queue (AIO_ERR says why) */
aio_status aio__finish(aio_task *t, uint32_t *lcp, int err, aio_value v);
aio_status aio__run_child(aio_task *t, aio_coro_fn fn, uint32_t *lcp, void *frame);

#define AIO__AWAIT(t, fut, n)                                                                                \
    do {                                                                                                     \
        if (aio__await((t), (fut))) {                                                                        \
            AIO__LC_SET(aio__lcp, n);                                                                        \
            return AIO_SUSPENDED;                                                                            \
            AIO__LC_LABEL(n)                                                                                 \
            AIO__WHERE_HERE()                                                                                \
        }                                                                                                    \
    } while (0)

#define AIO__YIELD(t, n)                                                                                     \
    do {                                                                                                     \
        if (aio__yield(t)) {                                                                                 \
            AIO__LC_SET(aio__lcp, n);                                                                        \
            return AIO_SUSPENDED;                                                                            \
            AIO__LC_LABEL(n)                                                                                 \
            AIO__WHERE_HERE()                                                                                \
        }                                                                                                    \
    } while (0)

#define AIO__AWAIT_CORO(t, fn, child, n)                                                                     \
    do {                                                                                                     \
        (child)->aio__lc = 0;                                                                                \
        AIO__LC_SET(aio__lcp, n);                                                                            \
        AIO__LC_LABEL(n)                                                                                     \
        if (AIO__WHERE_MODE()) {                                                                             \
            static const aio_site aio__site AIO__SITE_ALIGN = {__FILE__, __func__, __LINE__};                \
            return aio__where_child(&aio__site, (t), (fn), &(child)->aio__lc, &(child)->frame);              \
        }                                                                                                    \
        if (aio__run_child((t), (fn), &(child)->aio__lc, &(child)->frame) == AIO_SUSPENDED)                  \
            return AIO_SUSPENDED;                                                                            \
    } while (0)

/* ---- frames ----
 * The size of the frame `p` points to, for the task-creating macros: a
 * void pointer (whose size the compiler cannot know: GNU C says 1) is a
 * compile error naming what to do, through the incomplete struct below. */
struct aio_frame_is_a_void_pointer__pass_a_typed_pointer_or_call_the_sized_function;
#define AIO__FRAME_SIZE(...)                                                                                 \
    sizeof(*_Generic((__VA_ARGS__),                                                                          \
        void *: (struct aio_frame_is_a_void_pointer__pass_a_typed_pointer_or_call_the_sized_function *)0, \
        const void *: (struct aio_frame_is_a_void_pointer__pass_a_typed_pointer_or_call_the_sized_function *)0, \
        default: (__VA_ARGS__)))

/* Argument counting for the macros whose frame argument is optional: 0 for
 * one argument, 1 for two or more (a compound literal frame's commas count
 * as more). */
#define AIO__HAS_FRAME(...)                                                                                  \
    AIO__ARG_16(__VA_ARGS__, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, aio__no_such_arg)
#define AIO__ARG_16(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, n, ...) n
#define AIO__FIRST(a, ...) a
#define AIO__REST(a, ...) __VA_ARGS__

#ifdef __cplusplus
}
#endif
#endif /* AIO_CORO_IMPL_H */
