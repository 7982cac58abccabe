/* Introspection and debug mode (aio/debug.h): where mode, the decoder of
 * resume points (where.c); the snapshot of the await graph (graph.c) and its
 * printing (dump.c); debug mode's reports: slow callbacks and steps,
 * creation sites, locations in reports (debug.c). */
#ifndef AIO_DEBUG_DEBUG_H_STATE
#define AIO_DEBUG_DEBUG_H_STATE
#include "aio/aio.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a future was created (AIO_DEBUG_SITES), by slot: valid while the
 * slot's generation is still `gen` (a reused slot has moved on). */
struct aio__created {
    const char *file;
    uint32_t line;
    uint32_t gen;
};

typedef struct aio__debug {
    bool on;         /* debug mode (aio_loop_set_debug) */
    int64_t slow_ns; /* report callbacks and steps that take longer */
    /* Where mode's collector: the sites the coroutine asked reported,
     * outermost first; it stops descending after `max` of them. */
    const aio_site **frames;
    size_t nframes, cap, max;
    bool frames_lost;             /* a site could not be stored (out of memory) */
    struct aio__created *created; /* creation sites by slot, at first use */
    uint32_t created_cap;
} aio__debug;
#endif /* AIO_DEBUG_DEBUG_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_DEBUG_DEBUG_H)
#define AIO_DEBUG_DEBUG_H
#include "core/loop.h"

/* ---- where.c ---- */
/* Decode task t's chain of resume points: its frames' sites, outermost
 * first, in loop->dbg.frames (at most max). Returns how many (0 for a task
 * that never ran or has finished: nothing to decode), or -ENOMEM. Works
 * whether or not the loop runs, from inside a coroutine too (the running
 * task then reports where it last resumed). */
int aio__where_task(aio_loop *loop, aio_task *t, size_t max);
/* The same for resume point lc instead of t's own (slow-step reports). */
int aio__where_task_at(aio_loop *loop, aio_task *t, uint32_t lc, size_t max);
/* "file:line in func > ..." for frames[0..n) into buf; returns buf. */
char *aio__frames_text(const aio_site *const *frames, size_t n, bool full_paths, char *buf, size_t len);
/* A site's file as printed: the part after the last '/' unless full. */
const char *aio__site_file(const aio_site *s, bool full_paths);
/* A coroutine's name from its site: AIO_CORO's body is aio__body_of_<name>. */
const char *aio__site_func(const aio_site *s);

/* ---- debug.c ---- */
/* At loop creation: options' debug (> 0 on, < 0 off, 0: $AIO_DEBUG). */
void aio__debug_init(aio_loop *loop, int debug, double slow_callback_duration);
void aio__debug_free(aio_loop *loop); /* at close */
/* Run one ready-queue entry timing it (and each task step or callback
 * inside a batch), reporting what is slower than the threshold: debug
 * mode's run loop calls this instead of running the entry (run.c). */
void aio__debug_run_entry(aio_loop *loop, aio_callback fn, void *arg);
/* For a report about slot idx, in debug mode: where the pending task is
 * suspended, or where the future was created; NULL if unknown. */
const char *aio__debug_location(aio_loop *loop, uint32_t idx, char *buf, size_t len);

/* ---- graph.c (a snapshot; dump.c prints it) ---- */
struct aio__strings; /* the snapshot's text, in chunks that never move */
struct aio_task_graph {
    int64_t now_ns; /* loop time of the capture */
    size_t n;
    aio_task_info *tasks;
    const aio_site **frames; /* every task's frames, end to end */
    size_t *waits_on;        /* every task's, end to end */
    aio_awaiter *awaited_by; /* every task's, end to end */
    size_t ndeadlocks;
    size_t *deadlock_start; /* deadlock k: cycle[deadlock_start[k] .. deadlock_start[k + 1]) */
    size_t *cycle;
    struct aio__strings *strings;
};
#endif /* AIO_DEBUG_DEBUG_H */
