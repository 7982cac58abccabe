/* Debug mode (asyncio's debug mode): slow callbacks and task steps, the
 * creation sites of futures (AIO_DEBUG_SITES), and where-mode locations in
 * the loop's reports.
 *
 * Off, none of this runs: the run loop picks its timed path when a run
 * starts (run.c), and reports add a location only in debug mode. On, each
 * ready-queue entry is timed, and so is each task step and each callback
 * run inside a batch entry (dispatches, task starts, due timers), so a
 * report names the task or callback, not the batch. */
#include "core/callbacks.h"
#include "core/compiler.h"
#include "core/futures.h"
#include "core/loop.h"
#include "core/report.h"
#include "core/mem.h"
#include "core/task.h"
#include "core/timers.h"
#include "debug/debug.h"
#include "io/io.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SLOW_NS INT64_C(100000000) /* asyncio's slow_callback_duration: 0.1 s */

/* ---- settings ---- */

void aio__debug_init(aio_loop *loop, int debug, double slow_callback_duration) {
    if (debug == 0) {
        const char *env = getenv("AIO_DEBUG"); /* as PYTHONASYNCIODEBUG: set and not "0" */
        debug = env && env[0] && strcmp(env, "0") != 0 ? 1 : -1;
    }
    loop->dbg.on = debug > 0;
    loop->dbg.slow_ns = slow_callback_duration > 0 && isfinite(slow_callback_duration)
                            ? aio__seconds_to_ns(slow_callback_duration)
                            : DEFAULT_SLOW_NS;
}

void aio__debug_free(aio_loop *loop) {
    aio__free(loop->dbg.frames);
    aio__free(loop->dbg.created);
    loop->dbg.frames = NULL;
    loop->dbg.created = NULL;
    loop->dbg.cap = loop->dbg.nframes = 0;
    loop->dbg.created_cap = 0;
}

int aio_loop_set_debug(aio_loop *loop, int enabled) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    loop->dbg.on = enabled != 0;
    return 0;
}

int aio_loop_get_debug(const aio_loop *loop) { return loop ? loop->dbg.on : -EINVAL; }

int aio_loop_set_slow_callback_duration(aio_loop *loop, double seconds) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!(seconds >= 0) || isinf(seconds))
        return -EINVAL;
    loop->dbg.slow_ns = aio__seconds_to_ns(seconds);
    return 0;
}

double aio_loop_get_slow_callback_duration(const aio_loop *loop) {
    return loop ? (double)loop->dbg.slow_ns / 1e9 : 0.0;
}

/* ---- creation sites ---- */

/* The loop of the creating call under way on this thread (aio/debug.h's
 * macros set it just before the call). Only read right after, for a
 * handle whose tag must match it: it is never followed once stale. */
static AIO__THREAD_LOCAL aio_loop *site_loop;

aio_loop *aio__site_loop(aio_loop *loop) {
    site_loop = loop;
    return loop;
}

aio_future aio__sited(aio_future f, const char *file, int line) {
    aio_loop *loop = site_loop;
    uint32_t idx;
    if (!loop || !loop->dbg.on || !aio__fut_lookup_fast(loop, f, &idx))
        return f;
    aio__debug *d = &loop->dbg;
    if (idx >= d->created_cap) {
        uint32_t cap = loop->fut.cap > idx ? loop->fut.cap : idx + 1;
        struct aio__created *c = aio__realloc(d->created, (size_t)cap * sizeof *c);
        if (!c)
            return f; /* the report will lack the site, nothing else */
        memset(c + d->created_cap, 0, (size_t)(cap - d->created_cap) * sizeof *c);
        d->created = c;
        d->created_cap = cap;
    }
    d->created[idx] = (struct aio__created){file, line > 0 ? (uint32_t)line : 0, loop->fut.slots[idx].gen};
    return f;
}

static const struct aio__created *created_at(const aio_loop *loop, uint32_t idx) {
    const aio__debug *d = &loop->dbg;
    if (idx >= d->created_cap || !d->created[idx].file || d->created[idx].gen != loop->fut.slots[idx].gen)
        return NULL;
    return &d->created[idx];
}

/* ---- locations ---- */

/* A task's frames, "a.c:3 in main > b.c:9 in child", or why there are none. */
static void task_where(aio_loop *loop, aio_task *t, char *buf, size_t len) {
    int n = aio__where_task(loop, t, SIZE_MAX);
    if (n > 0)
        aio__frames_text(loop->dbg.frames, (size_t)n, false, buf, len);
    else
        snprintf(buf, len, "%s", t->aio__lc == 0 ? "not started" : n < 0 ? "(out of memory)" : "?");
}

const char *aio__debug_location(aio_loop *loop, uint32_t idx, char *buf, size_t len) {
    /* Reports come from a closing loop too, whose table is hidden (barred). */
    uint32_t nslots = loop->fut.barred ? loop->fut.hidden : loop->fut.n;
    if (idx >= nslots || len == 0)
        return NULL;
    const aio__fut *s = &loop->fut.slots[idx];
    const struct aio__created *c = created_at(loop, idx);
    size_t at = 0;
    buf[0] = '\0';
    if (s->state == AIO__FS_PENDING && (s->flags & AIO__FF_TASK)) {
        char where[768];
        task_where(loop, s->u.task, where, sizeof where);
        int w = snprintf(buf, len, "%s%s", s->u.task->aio__lc ? "suspended at " : "", where);
        at = w > 0 ? (size_t)w : 0;
    }
    if (c && at < len)
        snprintf(buf + at, len - at, "%screated at %s:%u", at ? "; " : "",
                 aio__site_file(&(aio_site){c->file, NULL, 0}, false), c->line);
    return buf[0] ? buf : NULL;
}

/* A function's address and where it lives ("name (module)" when exported,
 * else "0x... (module+0xoffset)": what addr2line -f -e module takes). */
static void fn_location(void (*fn)(void), char *buf, size_t len) {
    void *p;
    _Static_assert(sizeof p == sizeof fn, "function pointers fit in a void *");
    memcpy(&p, &fn, sizeof p);
    Dl_info info;
    if (dladdr(p, &info) && info.dli_fname) {
        if (info.dli_sname && info.dli_saddr == p)
            snprintf(buf, len, "%s (%s)", info.dli_sname, info.dli_fname);
        else
            snprintf(buf, len, "%p (%s+0x%lx)", p, info.dli_fname,
                     (unsigned long)((uintptr_t)p - (uintptr_t)info.dli_fbase));
    } else {
        snprintf(buf, len, "%p", p);
    }
}

static void report_slow(aio_loop *loop, const char *what, int64_t ns, uint32_t idx, const char *location) {
    char msg[96];
    snprintf(msg, sizeof msg, "Executing %s took %.3f s", what, (double)ns / 1e9);
    aio__report_at(loop, msg, 0, idx, location);
}

/* ---- timing ---- */

static void slow_callback(aio_loop *loop, const char *what, void (*fn)(void), const char *more, int64_t ns) {
    char where[320], loc[400];
    fn_location(fn, where, sizeof where);
    snprintf(loc, sizeof loc, "callback %s%s", where, more ? more : "");
    report_slow(loop, what, ns, AIO__NIL, loc);
}

static void timed_call(aio_loop *loop, aio_callback fn, void *arg) {
    int64_t t0 = aio__clock_ns();
    fn(loop, arg);
    int64_t dt = aio__clock_ns() - t0;
    if (dt > loop->dbg.slow_ns)
        slow_callback(loop, "a timer callback", (void (*)(void))fn, NULL, dt);
}

/* A task step: who, and where it was before, to say where it went after. */
typedef struct step {
    aio_task *t;
    uint32_t slot, gen, lc, fn;
    int64_t t0;
} step;

static void step_begin(aio_loop *loop, step *s, aio_task *t) {
    s->t = t;
    s->slot = t->aio__slot;
    s->gen = loop->fut.slots[s->slot].gen;
    s->lc = t->aio__lc;
    s->fn = t->aio__fn;
    s->t0 = aio__clock_ns();
}

static void step_end(aio_loop *loop, const step *s) {
    int64_t dt = aio__clock_ns() - s->t0;
    if (dt <= loop->dbg.slow_ns)
        return;
    const aio__fut *f = &loop->fut.slots[s->slot];
    /* Still the same task (its memory alive) if its slot is pending with it. */
    bool alive =
        f->gen == s->gen && f->state == AIO__FS_PENDING && (f->flags & AIO__FF_TASK) && f->u.task == s->t;
    const char *name = f->gen == s->gen && f->state != AIO__FS_FREE && loop->fut.extras
                           ? loop->fut.extras[s->slot].name
                           : NULL;
    char who[160], before[400], after[800], loc[1400];
    if (name)
        snprintf(who, sizeof who, "task #%u '%s'", s->slot, name);
    else
        snprintf(who, sizeof who, "task #%u", s->slot);
    if (s->lc == 0) {
        snprintf(before, sizeof before, "started");
    } else if (alive) {
        int n = aio__where_task_at(loop, s->t, s->lc, 1); /* its top frame: children have moved on */
        if (n > 0) {
            char sites[360];
            snprintf(before, sizeof before, "resumed at %s",
                     aio__frames_text(loop->dbg.frames, 1, false, sites, sizeof sites));
        } else {
            snprintf(before, sizeof before, "resumed");
        }
    } else {
        char fn[320];
        fn_location((void (*)(void))loop->fns.table[s->fn], fn, sizeof fn);
        snprintf(before, sizeof before, "resumed in coroutine %s", fn);
    }
    if (alive) {
        char where[760];
        task_where(loop, s->t, where, sizeof where);
        snprintf(after, sizeof after, "suspended at %s", where);
    } else {
        snprintf(after, sizeof after, "finished");
    }
    snprintf(loc, sizeof loc, "%s: %s, then %s", who, before, after);
    report_slow(loop, "a task step", dt, alive ? s->slot : AIO__NIL, loc);
}

/* Mirrors aio__dispatch_list (callbacks.h), timing each entry. */
static void timed_dispatch_list(aio_loop *loop, uint32_t e) {
    while (e != AIO__NIL) {
        uint32_t fut;
        if (e & AIO__WAITER_BIT) {
            aio_task *t = loop->fut.slots[e & ~AIO__WAITER_BIT].u.task;
            e = t->aio__u.w.next;
            fut = t->aio__u.w.awaiting;
            step s;
            step_begin(loop, &s, t);
            aio__task_wakeup(loop, t);
            step_end(loop, &s);
        } else {
            aio__node node = loop->cb.nodes[e];
            aio__node_free(loop, e);
            e = node.next;
            fut = node.fut;
            int64_t t0 = aio__clock_ns();
            node.fn(loop, aio__fut_handle(loop, fut), node.arg);
            int64_t dt = aio__clock_ns() - t0;
            if (dt > loop->dbg.slow_ns) {
                char more[48];
                snprintf(more, sizeof more, " of future #%u", fut);
                slow_callback(loop, "a done callback", (void (*)(void))node.fn, more, dt);
            }
        }
        aio__fut_drop(loop, fut);
    }
}

/* Mirrors aio__task_start_batch (task.c), timing each task. */
static void timed_start_batch(aio_loop *loop, aio_task *t) {
    while (t) {
        uint32_t next = t->aio__u.w.next;
        t->aio__u.v.u = 0;
        loop->pub.err = 0;
        step s;
        step_begin(loop, &s, t);
        aio__task_run(loop, t);
        step_end(loop, &s);
        t = next == AIO__NIL ? NULL : loop->fut.slots[next].u.task;
    }
}

void aio__debug_run_entry(aio_loop *loop, aio_callback fn, void *arg) {
    if (fn == aio__dispatch_batch) {
        timed_dispatch_list(loop, (uint32_t)(uintptr_t)arg);
    } else if (fn == aio__task_start_batch) {
        timed_start_batch(loop, arg);
    } else if (fn == aio__timers_fire_due) {
        aio__timers_fire_due_with(loop, timed_call);
    } else if (fn == aio__task_step) {
        step s;
        step_begin(loop, &s, arg);
        aio__task_step(loop, arg);
        step_end(loop, &s);
    } else if (fn == aio__io_dispatch) {
        uintptr_t v = (uintptr_t)arg;
        int fd = (int)(v >> 1), dir = (int)(v & 1);
        aio_callback watcher = fd < loop->io.cap ? loop->io.fds[fd].fn[dir] : NULL;
        int64_t t0 = aio__clock_ns();
        fn(loop, arg);
        int64_t dt = aio__clock_ns() - t0;
        if (dt > loop->dbg.slow_ns && watcher) {
            char more[48];
            snprintf(more, sizeof more, " on fd %d", fd);
            slow_callback(loop, dir ? "an fd writer callback" : "an fd reader callback",
                          (void (*)(void))watcher, more, dt);
        }
    } else {
        int64_t t0 = aio__clock_ns();
        fn(loop, arg);
        int64_t dt = aio__clock_ns() - t0;
        if (dt > loop->dbg.slow_ns)
            slow_callback(loop, "a callback", (void (*)(void))fn, NULL, dt);
    }
}
