/* The await graph: a snapshot of every unfinished task, what it awaits,
 * its frames' await sites, who waits on it, and the deadlocks.
 *
 * Read from the loop's state, changing nothing:
 *   - tasks: the pending slots flagged AIO__FF_TASK;
 *   - frames: where mode (where.c);
 *   - what a task awaits: its awaited slot's flags (a timer: a sleep, whose
 *     deadline is its timer key's; an owner: a combinator, which describes
 *     itself and its children through aio__owner_ops.describe; a wait
 *     queue: its kind; a task);
 *   - edges "task A waits on task B": from each waiting task through the
 *     combinators it awaits down to tasks. A combinator's child counts only
 *     while the combinator's callback is on the child's list: that is what
 *     listening means, and it cannot be stale. A task group's parent waits
 *     on each child from the start (found from the child's group node);
 *   - deadlocks: the strongly connected components of those edges that hold
 *     a cycle (Tarjan's algorithm, iterative: a million tasks deep is fine).
 */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/owner.h"
#include "core/task.h"
#include "core/timers.h"
#include "core/waitq.h"
#include "debug/debug.h"
#include "scope/scope.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 32 /* combinators inside combinators: deeper is not followed */

/* ---- the snapshot's strings: chunks that never move ---- */

struct aio__strings {
    struct aio__strings *next;
    size_t used, cap;
    char text[];
};

static const char *str_add(aio_task_graph *g, const char *s, size_t len) {
    struct aio__strings *c = g->strings;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > 4000 ? len + 1 : 4000;
        c = aio__malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = g->strings;
        c->used = 0;
        c->cap = cap;
        g->strings = c;
    }
    char *p = c->text + c->used;
    memcpy(p, s, len);
    p[len] = '\0';
    c->used += len + 1;
    return p;
}

static const char *str_printf(aio_task_graph *g, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    return str_add(g, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* ---- growable arrays ---- */

static bool grow(void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = aio__realloc(*p, c * size);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

typedef struct edge {
    size_t from, to;
    const char *via;
} edge;

/* What the capture carries around. */
typedef struct capture {
    aio_loop *loop;
    aio_task_graph *g;
    uint32_t *gidx;    /* slot -> task index (AIO__NIL: not a task) */
    int64_t *deadline; /* timer slot -> deadline (INT64_MIN: none) */
    edge *edges;
    size_t nedges, cap_edges;
    const aio_site **frames;
    size_t nframes, cap_frames;
    size_t *frame_at; /* per task: where its frames start in `frames` */
    bool oom;
} capture;

static void add_edge(capture *c, size_t from, size_t to, const char *via) {
    if (!grow((void **)&c->edges, &c->cap_edges, c->nedges + 1, sizeof *c->edges)) {
        c->oom = true;
        return;
    }
    c->edges[c->nedges++] = (edge){from, to, via};
}

/* ---- timers: the deadline of each armed timer slot ---- */

static void note_deadline(void *ctx, const aio__heap_ent *e) {
    capture *c = ctx;
    uint32_t slot = e->slot & (uint32_t)AIO__IDX_MASK;
    if (slot != AIO__TK_NOSLOT && aio__key_live(c->loop, e) && slot < c->loop->tm.n)
        c->deadline[slot] = e->when;
}

static int64_t timer_deadline(const capture *c, uint32_t timer) {
    return c->deadline && timer < c->loop->tm.n ? c->deadline[timer] : INT64_MIN;
}

/* ---- combinators ---- */

/* Whether (cb, arg) is on pending slot idx's callback list. */
static bool listens(aio_loop *loop, uint32_t idx, aio_done_callback cb, void *arg) {
    if (idx >= loop->fut.n || loop->fut.slots[idx].state != AIO__FS_PENDING)
        return false;
    uint32_t e = *aio__fut_cbs(loop, idx);
    while (e != AIO__NIL) {
        if (e & AIO__WAITER_BIT) {
            e = loop->fut.slots[e & ~AIO__WAITER_BIT].u.task->aio__u.w.next;
            continue;
        }
        const aio__node *nd = &loop->cb.nodes[e];
        if (nd->fn == cb && nd->arg == arg)
            return true;
        e = nd->next;
    }
    return false;
}

typedef struct children {
    aio_loop *loop;
    uint32_t *idx;
    size_t n, cap;
    bool oom;
} children;

static void child_found(aio__owner_info *info, uint32_t idx, aio_done_callback cb, void *arg) {
    children *ch = info->ctx;
    if (!listens(ch->loop, idx, cb, arg))
        return;
    if (!grow((void **)&ch->idx, &ch->cap, ch->n + 1, sizeof *ch->idx)) {
        ch->oom = true;
        return;
    }
    ch->idx[ch->n++] = idx;
}

/* Ask owner o what it is and which futures it still listens to. */
static void describe_owner(aio_loop *loop, aio__owner *o, char *text, size_t len, uint32_t *timer,
                           children *ch) {
    aio__owner_info info = {.text = text, .len = len, .timer = AIO__NIL, .child = child_found, .ctx = ch};
    ch->loop = loop;
    snprintf(text, len, "combinator");
    if (o->ops->describe)
        o->ops->describe(loop, o, &info);
    *timer = info.timer;
}

/* The edges from task `from` to the tasks it waits on through slot idx:
 * the task itself, or a combinator's children, recursively. */
static void follow(capture *c, size_t from, uint32_t idx, const char *via, unsigned depth) {
    aio_loop *loop = c->loop;
    const aio__fut *s = &loop->fut.slots[idx];
    if (s->state != AIO__FS_PENDING)
        return;
    if (s->flags & AIO__FF_TASK) {
        if (c->gidx[idx] != AIO__NIL)
            add_edge(c, from, c->gidx[idx], via);
        return;
    }
    if (!(s->flags & AIO__FF_OWNED) || depth >= MAX_NESTING)
        return;
    char text[160];
    uint32_t timer;
    children ch = {0};
    describe_owner(loop, s->u.owner, text, sizeof text, &timer, &ch);
    c->oom |= ch.oom;
    size_t kind = strcspn(text, ":(");
    while (kind > 0 && text[kind - 1] == ' ')
        kind--;
    const char *v =
        via ? str_printf(c->g, "%s > %.*s", via, (int)kind, text) : str_printf(c->g, "%.*s", (int)kind, text);
    if (!v)
        c->oom = true;
    for (size_t i = 0; i < ch.n && v; i++)
        follow(c, from, ch.idx[i], v, depth + 1);
    aio__free(ch.idx);
}

/* ---- one task ---- */

static const char *task_label(capture *c, uint32_t slot) {
    const char *name = c->loop->fut.extras ? c->loop->fut.extras[slot].name : NULL;
    return name ? str_printf(c->g, "task #%u '%s'", slot, name) : str_printf(c->g, "task #%u", slot);
}

/* What task i (slot `slot`) awaits: its state, kind, text, deadline; and
 * the edges from it. */
static void describe_await(capture *c, size_t i, aio_task *t) {
    aio_loop *loop = c->loop;
    aio_task_info *ti = &c->g->tasks[i];
    ti->awaits = AIO_AWAITS_NOTHING;
    ti->awaits_text = "";
    if (t == loop->task.current) {
        ti->state = AIO_TASK_RUNNING;
        return;
    }
    if (t->aio__lc == AIO__LC_FINISHED) {
        /* Its coroutine returned inside an open task group: the task ends
         * once the group's children have (group_edges names them). */
        ti->state = AIO_TASK_WAITING;
        ti->awaits = AIO_AWAITS_COMBINATOR;
        ti->awaits_text = "task group: its coroutine returned, its children run on";
        return;
    }
    if (!t->aio__is_awaiting) {
        ti->state = t->aio__lc == 0 ? AIO_TASK_NOT_STARTED : AIO_TASK_READY;
        return;
    }
    uint32_t idx = t->aio__u.w.awaiting;
    const aio__fut *s = &loop->fut.slots[idx];
    ti->awaited = aio__fut_handle(loop, idx);
    if (s->state != AIO__FS_PENDING) {
        ti->state = AIO_TASK_READY;
        ti->awaits = AIO_AWAITS_DONE;
        ti->awaits_text =
            str_printf(c->g, "%s #%u (done)", (s->flags & AIO__FF_TASK) ? "task" : "future", idx);
        return;
    }
    ti->state = AIO_TASK_WAITING;
    const char *text = NULL;
    if (s->flags & AIO__FF_TASK) {
        ti->awaits = AIO_AWAITS_TASK;
        text = task_label(c, idx);
        follow(c, i, idx, NULL, 0);
    } else if (s->flags & AIO__FF_TIMER) {
        ti->awaits = AIO_AWAITS_SLEEP;
        int64_t when = timer_deadline(c, s->u.p.timer);
        if (when == INT64_MIN) {
            text = str_printf(c->g, "sleep");
        } else {
            ti->deadline = (double)when / 1e9;
            text = when > loop->now_ns
                       ? str_printf(c->g, "sleep: %.3f s left", (double)(when - loop->now_ns) / 1e9)
                       : str_printf(c->g, "sleep: due");
        }
    } else if (s->flags & AIO__FF_OWNED) {
        ti->awaits = AIO_AWAITS_COMBINATOR;
        char desc[160];
        uint32_t timer;
        children ch = {0};
        describe_owner(loop, s->u.owner, desc, sizeof desc, &timer, &ch);
        aio__free(ch.idx); /* follow() asks again, nested */
        int64_t when = timer != AIO__NIL ? timer_deadline(c, timer) : INT64_MIN;
        if (when != INT64_MIN) {
            ti->deadline = (double)when / 1e9;
            text = str_printf(c->g, "%s, timeout in %.3f s", desc,
                              when > loop->now_ns ? (double)(when - loop->now_ns) / 1e9 : 0.0);
        } else {
            text = str_printf(c->g, "%s", desc);
        }
        follow(c, i, idx, NULL, 0);
    } else if ((s->flags & AIO__FF_WAITQ) && loop->fut.links) {
        ti->awaits = AIO_AWAITS_QUEUE;
        const aio__waitq *q = loop->fut.links[idx].q;
        const aio__waitq_ops *k = q->ops;
        char more[120] = "";
        if (k && k->describe)
            k->describe(loop, q, more, sizeof more);
        text = str_printf(c->g, "%s (%u waiting)%s%s", k && k->what ? k->what : "wait queue", q->count,
                          more[0] ? ": " : "", more);
    } else {
        ti->awaits = AIO_AWAITS_FUTURE;
        text = str_printf(c->g, "future #%u", idx);
    }
    if (!text)
        c->oom = true;
    else
        ti->awaits_text = text;
}

static void capture_task(capture *c, size_t i, uint32_t slot) {
    aio_loop *loop = c->loop;
    aio_task *t = loop->fut.slots[slot].u.task;
    aio_task_info *ti = &c->g->tasks[i];
    ti->handle = aio__fut_handle(loop, slot);
    ti->id = slot;
    const char *name = loop->fut.extras ? loop->fut.extras[slot].name : NULL;
    if (name && !(ti->name = str_add(c->g, name, strlen(name))))
        c->oom = true;
    ti->cancelling = t->aio__cancelling;
    int nf = aio__where_task(loop, t, SIZE_MAX);
    c->frame_at[i] = c->nframes;
    if (nf < 0) {
        c->oom = true;
    } else if (nf > 0) {
        if (!grow((void **)&c->frames, &c->cap_frames, c->nframes + (size_t)nf, sizeof *c->frames)) {
            c->oom = true;
        } else {
            memcpy(c->frames + c->nframes, loop->dbg.frames, (size_t)nf * sizeof *c->frames);
            c->nframes += (size_t)nf;
            ti->nframes = (size_t)nf;
        }
    }
    describe_await(c, i, t);
}

/* ---- task groups ---- */

/* A child's group node names the task that entered the group, which waits
 * on each child from the start (as Python 3.14's call graph has it: it
 * cannot end before them), and the future its join waits on: a parent in
 * the join awaits "the task group", not a plain future. */
static void group_edges(capture *c) {
    aio_loop *loop = c->loop;
    for (uint32_t s = 0; s < loop->fut.n; s++) {
        if (c->gidx[s] == AIO__NIL)
            continue;
        uint32_t e = *aio__fut_cbs(loop, s);
        while (e != AIO__NIL) {
            if (e & AIO__WAITER_BIT) {
                e = loop->fut.slots[e & ~AIO__WAITER_BIT].u.task->aio__u.w.next;
                continue;
            }
            const aio__node *nd = &loop->cb.nodes[e];
            uint32_t parent, join;
            char text[96];
            if (aio__group_listener(loop, nd->fn, nd->arg, &parent, &join, text, sizeof text) &&
                parent < loop->fut.n && c->gidx[parent] != AIO__NIL) {
                add_edge(c, c->gidx[parent], c->gidx[s], "task group");
                aio_task_info *pi = &c->g->tasks[c->gidx[parent]];
                if (pi->awaits == AIO_AWAITS_FUTURE && join != AIO__NIL &&
                    (uint32_t)(pi->awaited.id & AIO__IDX_MASK) == join) {
                    pi->awaits = AIO_AWAITS_COMBINATOR;
                    const char *t = str_printf(c->g, "%s", text);
                    if (t)
                        pi->awaits_text = t;
                    else
                        c->oom = true;
                }
            }
            e = nd->next;
        }
    }
}

/* ---- deadlocks: Tarjan's strongly connected components ---- */

typedef struct tarjan {
    size_t *index, *low, *stack, *call, *next_edge, *comp;
    bool *on_stack;
} tarjan;

/* Out-edges of v: waits_on[start[v] .. start[v + 1]) (the CSR built below). */
static void find_deadlocks(aio_task_graph *g, const size_t *start, bool *oom) {
    size_t n = g->n;
    if (n == 0)
        return;
    tarjan tj;
    tj.index = aio__malloc(n * sizeof(size_t));
    tj.low = aio__malloc(n * sizeof(size_t));
    tj.stack = aio__malloc(n * sizeof(size_t));
    tj.call = aio__malloc(n * sizeof(size_t));
    tj.next_edge = aio__malloc(n * sizeof(size_t));
    tj.comp = aio__malloc(n * sizeof(size_t));
    tj.on_stack = aio__calloc(n, sizeof(bool));
    size_t *pos = aio__malloc(n * sizeof(size_t));
    size_t *path = aio__malloc(n * sizeof(size_t));
    size_t *cycles = NULL, ncycle = 0, cap_cycle = 0;
    size_t *starts = NULL, nstarts = 0, cap_starts = 0;
    if (!tj.index || !tj.low || !tj.stack || !tj.call || !tj.next_edge || !tj.comp || !tj.on_stack || !pos ||
        !path) {
        *oom = true;
        goto out;
    }
    const size_t UNSEEN = SIZE_MAX;
    for (size_t v = 0; v < n; v++) {
        tj.index[v] = UNSEEN;
        tj.comp[v] = UNSEEN;
        pos[v] = UNSEEN;
    }
    size_t counter = 0, sp = 0, ncomp = 0;
    for (size_t root = 0; root < n; root++) {
        if (tj.index[root] != UNSEEN)
            continue;
        size_t depth = 0;
        tj.call[depth++] = root;
        tj.index[root] = tj.low[root] = counter++;
        tj.next_edge[root] = start[root];
        tj.stack[sp++] = root;
        tj.on_stack[root] = true;
        while (depth > 0) {
            size_t v = tj.call[depth - 1];
            if (tj.next_edge[v] < start[v + 1]) {
                size_t w = g->waits_on[tj.next_edge[v]++];
                if (tj.index[w] == UNSEEN) {
                    tj.index[w] = tj.low[w] = counter++;
                    tj.next_edge[w] = start[w];
                    tj.stack[sp++] = w;
                    tj.on_stack[w] = true;
                    tj.call[depth++] = w;
                } else if (tj.on_stack[w] && tj.index[w] < tj.low[v]) {
                    tj.low[v] = tj.index[w];
                }
                continue;
            }
            depth--;
            if (depth > 0 && tj.low[v] < tj.low[tj.call[depth - 1]])
                tj.low[tj.call[depth - 1]] = tj.low[v];
            if (tj.low[v] != tj.index[v])
                continue;
            /* v roots a component: pop it. */
            size_t size = 0, w, top = sp;
            do {
                w = tj.stack[--sp];
                tj.on_stack[w] = false;
                tj.comp[w] = ncomp;
                size++;
            } while (w != v);
            bool self = false;
            for (size_t e = start[v]; e < start[v + 1]; e++)
                self |= g->waits_on[e] == v;
            if (size > 1 || self) {
                /* A deadlock: walk from v inside the component until a task
                 * repeats; the repeated stretch is one cycle. */
                size_t len = 0, cur = v;
                while (pos[cur] == UNSEEN) {
                    pos[cur] = len;
                    path[len++] = cur;
                    size_t nx = cur;
                    for (size_t e = start[cur]; e < start[cur + 1]; e++)
                        if (tj.comp[g->waits_on[e]] == ncomp) {
                            nx = g->waits_on[e];
                            break;
                        }
                    cur = nx;
                }
                size_t from = pos[cur];
                for (size_t k = 0; k < len; k++)
                    pos[path[k]] = UNSEEN;
                if (!grow((void **)&cycles, &cap_cycle, ncycle + (len - from), sizeof *cycles) ||
                    !grow((void **)&starts, &cap_starts, nstarts + 2, sizeof *starts)) {
                    *oom = true;
                    goto out;
                }
                if (nstarts == 0)
                    starts[nstarts++] = 0;
                memcpy(cycles + ncycle, path + from, (len - from) * sizeof *cycles);
                ncycle += len - from;
                starts[nstarts++] = ncycle;
                for (size_t k = sp; k < top; k++) /* every member, not only the cycle's */
                    g->tasks[tj.stack[k]].in_deadlock = true;
            }
            ncomp++;
        }
    }
    g->ndeadlocks = nstarts ? nstarts - 1 : 0;
    g->deadlock_start = starts;
    g->cycle = cycles;
    starts = NULL;
    cycles = NULL;
out:
    aio__free(tj.index);
    aio__free(tj.low);
    aio__free(tj.stack);
    aio__free(tj.call);
    aio__free(tj.next_edge);
    aio__free(tj.comp);
    aio__free(tj.on_stack);
    aio__free(pos);
    aio__free(path);
    aio__free(cycles);
    aio__free(starts);
}

/* ---- the edges as per-task arrays ---- */

static void build_adjacency(capture *c) {
    aio_task_graph *g = c->g;
    size_t n = g->n, m = c->nedges;
    size_t *start = aio__calloc(n + 1, sizeof *start);
    size_t *in_start = aio__calloc(n + 1, sizeof *in_start);
    g->waits_on = aio__malloc((m ? m : 1) * sizeof *g->waits_on);
    g->awaited_by = aio__malloc((m ? m : 1) * sizeof *g->awaited_by);
    if (!start || !in_start || !g->waits_on || !g->awaited_by) {
        c->oom = true;
        goto out;
    }
    for (size_t e = 0; e < m; e++) {
        start[c->edges[e].from + 1]++;
        in_start[c->edges[e].to + 1]++;
    }
    for (size_t v = 0; v < n; v++) {
        start[v + 1] += start[v];
        in_start[v + 1] += in_start[v];
    }
    for (size_t v = 0; v < n; v++) {
        g->tasks[v].waits_on = g->waits_on + start[v];
        g->tasks[v].nwaits_on = start[v + 1] - start[v];
        g->tasks[v].awaited_by = g->awaited_by + in_start[v];
        g->tasks[v].nawaited_by = in_start[v + 1] - in_start[v];
    }
    /* Fill in edge order (tasks' order): each list comes out sorted. */
    size_t *out_fill = aio__malloc((n ? n : 1) * sizeof *out_fill);
    size_t *in_fill = aio__malloc((n ? n : 1) * sizeof *in_fill);
    if (!out_fill || !in_fill) {
        aio__free(out_fill);
        aio__free(in_fill);
        c->oom = true;
        goto out;
    }
    memcpy(out_fill, start, n * sizeof *start);
    memcpy(in_fill, in_start, n * sizeof *in_start);
    for (size_t e = 0; e < m; e++) {
        g->waits_on[out_fill[c->edges[e].from]++] = c->edges[e].to;
        g->awaited_by[in_fill[c->edges[e].to]++] = (aio_awaiter){c->edges[e].from, c->edges[e].via};
    }
    aio__free(out_fill);
    aio__free(in_fill);
    find_deadlocks(g, start, &c->oom);
out:
    aio__free(start);
    aio__free(in_start);
}

/* ---- public ---- */

int aio_all_tasks(aio_loop *loop, aio_future *out, size_t cap) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!out && cap > 0)
        return -EINVAL;
    size_t n = 0;
    for (uint32_t i = 0; i < loop->fut.n; i++)
        if (loop->fut.slots[i].state == AIO__FS_PENDING && (loop->fut.slots[i].flags & AIO__FF_TASK)) {
            if (n < cap)
                out[n] = aio__fut_handle(loop, i);
            n++;
        }
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

void aio_task_graph_free(aio_task_graph *g) {
    if (!g)
        return;
    while (g->strings) {
        struct aio__strings *next = g->strings->next;
        aio__free(g->strings);
        g->strings = next;
    }
    aio__free(g->tasks);
    aio__free(g->frames);
    aio__free(g->waits_on);
    aio__free(g->awaited_by);
    aio__free(g->deadlock_start);
    aio__free(g->cycle);
    aio__free(g);
}

int aio_task_graph_capture(aio_loop *loop, aio_task_graph **out) {
    if (!out)
        return -EINVAL;
    *out = NULL;
    /* A closed loop has no tasks; one inside a report may be in the middle
     * of its own work, its lists not to be walked. */
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    aio_task_graph *g = aio__calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->now_ns = loop->now_ns;
    capture c = {.loop = loop, .g = g};
    size_t n = 0;
    for (uint32_t i = 0; i < loop->fut.n; i++)
        n += loop->fut.slots[i].state == AIO__FS_PENDING && (loop->fut.slots[i].flags & AIO__FF_TASK);
    g->tasks = aio__calloc(n ? n : 1, sizeof *g->tasks);
    c.gidx = aio__malloc((loop->fut.n ? loop->fut.n : 1) * sizeof *c.gidx);
    c.frame_at = aio__malloc((n ? n : 1) * sizeof *c.frame_at);
    if (loop->tm.n)
        c.deadline = aio__malloc(loop->tm.n * sizeof *c.deadline);
    if (!g->tasks || !c.gidx || !c.frame_at || (loop->tm.n && !c.deadline)) {
        c.oom = true;
        goto done;
    }
    for (uint32_t i = 0; i < loop->tm.n; i++)
        c.deadline[i] = INT64_MIN;
    if (loop->tm.n)
        aio__timers_each(loop, note_deadline, &c);
    size_t k = 0;
    for (uint32_t i = 0; i < loop->fut.n; i++) {
        bool task = loop->fut.slots[i].state == AIO__FS_PENDING && (loop->fut.slots[i].flags & AIO__FF_TASK);
        c.gidx[i] = task ? (uint32_t)k++ : AIO__NIL;
    }
    g->n = n;
    for (uint32_t i = 0; i < loop->fut.n; i++)
        if (c.gidx[i] != AIO__NIL)
            capture_task(&c, c.gidx[i], i);
    group_edges(&c);
    /* The frames' pool is complete: point each task into it. */
    g->frames = c.frames;
    c.frames = NULL;
    for (size_t i = 0; i < n; i++)
        g->tasks[i].frames = g->tasks[i].nframes ? g->frames + c.frame_at[i] : NULL;
    if (!c.oom)
        build_adjacency(&c);
done:
    aio__free(c.gidx);
    aio__free(c.deadline);
    aio__free(c.edges);
    aio__free(c.frames);
    aio__free(c.frame_at);
    if (c.oom) {
        aio_task_graph_free(g);
        return -ENOMEM;
    }
    *out = g;
    return 0;
}

size_t aio_task_graph_size(const aio_task_graph *g) { return g ? g->n : 0; }

const aio_task_info *aio_task_graph_task(const aio_task_graph *g, size_t i) {
    return g && i < g->n ? &g->tasks[i] : NULL;
}

size_t aio_task_graph_deadlocks(const aio_task_graph *g) { return g ? g->ndeadlocks : 0; }

size_t aio_task_graph_deadlock(const aio_task_graph *g, size_t k, const size_t **tasks) {
    if (!g || k >= g->ndeadlocks) {
        if (tasks)
            *tasks = NULL;
        return 0;
    }
    if (tasks)
        *tasks = g->cycle + g->deadlock_start[k];
    return g->deadlock_start[k + 1] - g->deadlock_start[k];
}
