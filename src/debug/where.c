/* Where mode: decoding a suspended task's resume points into source sites.
 *
 * A task's resume point (aio__lc) is a place in its coroutine, encoded as a
 * label offset or a case number. To decode it we call the coroutine again,
 * with that resume point, while the loop head's `where` flag is set: the
 * resume label's code (aio/coro_impl.h, AIO__WHERE_HERE) sees the flag,
 * hands us its static site record through aio__where_here and returns
 * before any statement of the body runs. At an AIO_AWAIT_CORO site the
 * parent reports its own site and aio__where_child goes on into the child
 * with the child's resume point (kept in the parent's frame), so the whole
 * chain of inline coroutines reports itself, outermost first.
 *
 * Nothing is stored per task: the cost is one test after each resume label.
 * What the decoder relies on: the coroutine is written with the macros (its
 * body starts with AIO_BEGIN), and code before AIO_BEGIN (a user's own
 * statements, if any) runs at every entry, this one included. */
#include "core/loop.h"
#include "core/mem.h"
#include "core/task.h"
#include "debug/debug.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The loop asking: where mode only ever runs with aio__running set to it. */
static aio_loop *asking(void) { return aio__running_loop(); }

static void collect(aio_loop *loop, const aio_site *site) {
    aio__debug *d = &loop->dbg;
    if (d->nframes == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        const aio_site **f = aio__realloc(d->frames, cap * sizeof *f);
        if (!f) {
            d->frames_lost = true;
            return;
        }
        d->frames = f;
        d->cap = cap;
    }
    d->frames[d->nframes++] = site;
}

aio_status aio__where_here(const aio_site *site) {
    collect(asking(), site);
    return AIO_SUSPENDED;
}

aio_status aio__where_child(const aio_site *site, aio_task *t, aio_coro_fn fn, uint32_t *lcp, void *frame) {
    aio_loop *loop = asking();
    collect(loop, site);
    /* Down into the child only while it is suspended: a child that has
     * not started (0) or has finished (a running task that went past this
     * await) would run its body. */
    if (loop->dbg.nframes < loop->dbg.max && *lcp != 0 && *lcp != AIO__LC_FINISHED) {
        uint32_t *saved = loop->pub.lcp;
        loop->pub.lcp = lcp;
        (void)fn(t, frame);
        loop->pub.lcp = saved;
    }
    return AIO_SUSPENDED;
}

int aio__where_task_at(aio_loop *loop, aio_task *t, uint32_t lc, size_t max) {
    loop->dbg.nframes = 0;
    loop->dbg.frames_lost = false;
    if (lc == 0 || lc == AIO__LC_FINISHED || max == 0)
        return 0; /* never suspended, or done: there is no resume point to decode */
    /* Everything the coroutine could read or change is put back after:
     * the head (a dump may run inside a coroutine, whose resume pointer
     * and last status these are) and the thread's running loop (the dump
     * may be of a loop that is not running, or not this thread's current). */
    struct aio__loop_head *prev_running = aio__running;
    struct aio__loop_head saved = loop->pub;
    uint32_t own = t->aio__lc;
    aio__running = &loop->pub;
    loop->pub.where = 1;
    loop->pub.lcp = &t->aio__lc;
    loop->dbg.max = max;
    t->aio__lc = lc;
    (void)loop->fns.table[t->aio__fn](t, aio__task_frame(t));
    t->aio__lc = own;
    loop->pub = saved;
    aio__running = prev_running;
    if (loop->dbg.frames_lost)
        return -ENOMEM;
    return (int)loop->dbg.nframes;
}

int aio__where_task(aio_loop *loop, aio_task *t, size_t max) {
    return aio__where_task_at(loop, t, t->aio__lc, max);
}

const char *aio__site_file(const aio_site *s, bool full_paths) {
    const char *f = s->file ? s->file : "?";
    const char *slash = full_paths ? NULL : strrchr(f, '/');
    return slash ? slash + 1 : f;
}

const char *aio_site_name(const aio_site *site) { return site ? aio__site_func(site) : "?"; }

const char *aio__site_func(const aio_site *s) {
    static const char prefix[] = "aio__body_of_";
    const char *f = s->func ? s->func : "?";
    return strncmp(f, prefix, sizeof prefix - 1) == 0 ? f + sizeof prefix - 1 : f;
}

char *aio__frames_text(const aio_site *const *frames, size_t n, bool full_paths, char *buf, size_t len) {
    size_t at = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < n && at < len; i++) {
        int w = snprintf(buf + at, len - at, "%s%s:%d in %s", i ? " > " : "",
                         aio__site_file(frames[i], full_paths), frames[i]->line, aio__site_func(frames[i]));
        if (w < 0)
            break;
        at += (size_t)w;
    }
    return buf;
}
