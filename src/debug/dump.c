/* Printing the await graph (graph.c's snapshot): a table, a tree from the
 * tasks nobody waits on, one task's call graph upwards (who waits on it),
 * and the deadlocks. */
#include "core/futures.h"
#include "core/loop.h"
#include "core/mem.h"
#include "debug/debug.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64 /* tree levels printed; deeper ones are summarised */

static const char *state_name(aio_task_state s) {
    switch (s) {
    case AIO_TASK_NOT_STARTED:
        return "not started";
    case AIO_TASK_READY:
        return "ready";
    case AIO_TASK_RUNNING:
        return "running";
    default:
        return "waiting";
    }
}

/* "#3 'name'" or "#3". */
static void label(const aio_task_info *ti, char *buf, size_t len) {
    if (ti->name)
        snprintf(buf, len, "#%u '%s'", ti->id, ti->name);
    else
        snprintf(buf, len, "#%u", ti->id);
}

/* ---- the table ---- */

/* A growable string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = aio__realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

static void frames_line(const aio_task_info *ti, bool full, sbuf *b) {
    char one[512];
    for (size_t f = 0; f < ti->nframes; f++) {
        if (f)
            sb_add(b, " > ");
        snprintf(one, sizeof one, "%s:%d in %s", aio__site_file(ti->frames[f], full), ti->frames[f]->line,
                 aio__site_func(ti->frames[f]));
        sb_add(b, one);
    }
    if (ti->nframes == 0)
        sb_add(b, "-");
}

static void awaited_by_line(const aio_task_graph *g, const aio_task_info *ti, sbuf *b) {
    char one[512];
    for (size_t k = 0; k < ti->nawaited_by; k++) {
        const aio_awaiter *a = &ti->awaited_by[k];
        snprintf(one, sizeof one, "%s#%u%s%s", k ? ", " : "", g->tasks[a->task].id, a->via ? " via " : "",
                 a->via ? a->via : "");
        sb_add(b, one);
    }
    if (ti->nawaited_by == 0)
        sb_add(b, "-");
}

enum { C_TASK, C_NAME, C_STATE, C_AWAITS, C_BY, C_FRAMES, NCOLS };

static void print_table(const aio_task_graph *g, FILE *out, bool full, bool *oom) {
    static const char *const head[NCOLS] = {"task",   "name",       "state",
                                            "awaits", "awaited by", "frames (outermost first)"};
    size_t width[NCOLS];
    for (int k = 0; k < NCOLS; k++)
        width[k] = strlen(head[k]);
    /* Two passes: widths, then rows (each row's cells built again). */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            for (int k = 0; k < NCOLS - 1; k++)
                fprintf(out, "%-*s  ", (int)width[k], head[k]);
            fprintf(out, "%s\n", head[NCOLS - 1]);
        }
        for (size_t i = 0; i < g->n; i++) {
            const aio_task_info *ti = &g->tasks[i];
            char id[16], state[32];
            snprintf(id, sizeof id, "#%u", ti->id);
            snprintf(state, sizeof state, "%s%s", state_name(ti->state),
                     ti->in_deadlock ? " (deadlock)" : "");
            sbuf by = {0}, frames = {0};
            awaited_by_line(g, ti, &by);
            frames_line(ti, full, &frames);
            const char *cell[NCOLS] = {id,
                                       ti->name ? ti->name : "-",
                                       state,
                                       ti->awaits_text[0] ? ti->awaits_text : "-",
                                       by.s ? by.s : "",
                                       frames.s ? frames.s : ""};
            *oom |= by.oom || frames.oom;
            for (int k = 0; k < NCOLS; k++) {
                if (pass == 0) {
                    size_t w = strlen(cell[k]);
                    width[k] = w > width[k] ? w : width[k];
                } else if (k < NCOLS - 1) {
                    fprintf(out, "%-*s  ", (int)width[k], cell[k]);
                } else {
                    fprintf(out, "%s\n", cell[k]);
                }
            }
            aio__free(by.s);
            aio__free(frames.s);
        }
    }
}

/* ---- the trees ---- */

typedef struct tree {
    const aio_task_graph *g;
    FILE *out;
    bool full;
    bool up;       /* towards who waits (awaited_by) rather than what it waits on */
    bool *shown;   /* printed once already: later references say so */
    bool *on_path; /* on the path from the root: a cycle */
    char prefix[4 * MAX_DEPTH + 8];
} tree;

static void detail(tree *tr, size_t plen, bool bar, const char *text) {
    fprintf(tr->out, "%.*s%s   %s\n", (int)plen, tr->prefix, bar ? "|" : " ", text);
}

/* Print task v at prefix length plen; `via` is how its parent reaches it. */
static void node(tree *tr, size_t v, size_t plen, int depth, const char *connector, const char *via) {
    const aio_task_info *ti = &tr->g->tasks[v];
    char lab[160];
    label(ti, lab, sizeof lab);
    size_t nkids = tr->up ? ti->nawaited_by : ti->nwaits_on;
    fprintf(tr->out, "%.*s%s%s%s%s (%s)", (int)plen, tr->prefix, connector, lab, via ? " via " : "",
            via ? via : "", state_name(ti->state));
    if (tr->on_path[v]) {
        fprintf(tr->out, ": waits on itself through the tasks above: deadlock\n");
        return;
    }
    if (tr->shown[v] && nkids > 0) {
        fprintf(tr->out, ": shown above\n");
        return;
    }
    fputc('\n', tr->out);
    /* The children's connectors hang under this line's label. */
    size_t cplen = plen;
    if (connector[0]) {
        const char *ext = strcmp(connector, "`-- ") == 0 ? "    " : "|   ";
        memcpy(tr->prefix + plen, ext, 4);
        cplen += 4;
    }
    bool bar = nkids > 0 && depth < MAX_DEPTH;
    char line[600];
    for (size_t f = 0; f < ti->nframes; f++) {
        snprintf(line, sizeof line, "at %s:%d in %s", aio__site_file(ti->frames[f], tr->full),
                 ti->frames[f]->line, aio__site_func(ti->frames[f]));
        detail(tr, cplen, bar, line);
    }
    if (ti->awaits_text[0]) {
        snprintf(line, sizeof line, "awaits %s", ti->awaits_text);
        detail(tr, cplen, bar, line);
    }
    if (tr->up && nkids == 0)
        detail(tr, cplen, false, "awaited by no task");
    tr->shown[v] = true;
    if (nkids == 0)
        return;
    if (depth >= MAX_DEPTH) {
        detail(tr, cplen, false, "... (deeper levels not shown)");
        return;
    }
    tr->on_path[v] = true;
    for (size_t k = 0; k < nkids; k++) {
        const char *conn = k + 1 == nkids ? "`-- " : "|-- ";
        if (tr->up)
            node(tr, ti->awaited_by[k].task, cplen, depth + 1, conn, ti->awaited_by[k].via);
        else
            node(tr, ti->waits_on[k], cplen, depth + 1, conn, NULL);
    }
    tr->on_path[v] = false;
}

static bool tree_init(tree *tr, const aio_task_graph *g, FILE *out, bool full, bool up) {
    tr->g = g;
    tr->out = out;
    tr->full = full;
    tr->up = up;
    tr->shown = aio__calloc(g->n ? g->n : 1, sizeof *tr->shown);
    tr->on_path = aio__calloc(g->n ? g->n : 1, sizeof *tr->on_path);
    return tr->shown && tr->on_path;
}

static void tree_fini(tree *tr) {
    aio__free(tr->shown);
    aio__free(tr->on_path);
}

static void print_tree(const aio_task_graph *g, FILE *out, bool full, bool *oom) {
    tree tr;
    if (!tree_init(&tr, g, out, full, false)) {
        *oom = true;
        tree_fini(&tr);
        return;
    }
    /* From the tasks nobody waits on; then any left (cycles reach no root). */
    for (size_t v = 0; v < g->n; v++)
        if (g->tasks[v].nawaited_by == 0)
            node(&tr, v, 0, 0, "", NULL);
    for (size_t v = 0; v < g->n; v++)
        if (!tr.shown[v])
            node(&tr, v, 0, 0, "", NULL);
    tree_fini(&tr);
}

static void print_deadlocks(const aio_task_graph *g, FILE *out) {
    for (size_t k = 0; k < g->ndeadlocks; k++) {
        const size_t *cyc;
        size_t len = aio_task_graph_deadlock(g, k, &cyc);
        fprintf(out, "deadlock: ");
        char lab[160];
        for (size_t j = 0; j <= len; j++) {
            const aio_task_info *ti = &g->tasks[cyc[j % len]];
            label(ti, lab, sizeof lab);
            fprintf(out, "%s%s", j ? " -> " : "", lab);
            /* how it waits on the next: directly or through combinators */
            if (j < len) {
                const aio_task_info *next = &g->tasks[cyc[(j + 1) % len]];
                for (size_t a = 0; a < next->nawaited_by; a++)
                    if (next->awaited_by[a].task == cyc[j] && next->awaited_by[a].via) {
                        fprintf(out, " (via %s)", next->awaited_by[a].via);
                        break;
                    }
            }
        }
        fputc('\n', out);
        for (size_t j = 0; j < len; j++) {
            const aio_task_info *ti = &g->tasks[cyc[j]];
            label(ti, lab, sizeof lab);
            sbuf frames = {0};
            frames_line(ti, false, &frames);
            fprintf(out, "  %s at %s\n", lab, frames.s ? frames.s : "?");
            aio__free(frames.s);
        }
    }
}

int aio_task_graph_print(const aio_task_graph *g, FILE *out, unsigned flags) {
    if (!g || !out)
        return -EINVAL;
    bool full = (flags & AIO_PRINT_FULL_PATHS) != 0, oom = false;
    if (!(flags & (AIO_PRINT_TABLE | AIO_PRINT_TREE)))
        flags |= AIO_PRINT_TABLE;
    size_t counts[4] = {0};
    for (size_t i = 0; i < g->n; i++)
        counts[g->tasks[i].state & 3]++;
    fprintf(out, "%zu task%s", g->n, g->n == 1 ? "" : "s");
    for (int s = AIO_TASK_WAITING; s >= AIO_TASK_NOT_STARTED; s--)
        if (counts[s])
            fprintf(out, ", %zu %s", counts[s], state_name((aio_task_state)s));
    fprintf(out, " (loop time %.3f s)\n", (double)g->now_ns / 1e9);
    if (flags & AIO_PRINT_TABLE)
        print_table(g, out, full, &oom);
    if (flags & AIO_PRINT_TREE)
        print_tree(g, out, full, &oom);
    print_deadlocks(g, out);
    if (oom)
        return -ENOMEM;
    return ferror(out) ? -EIO : 0;
}

int aio_print_tasks(aio_loop *loop, FILE *out, unsigned flags) {
    if (!loop || !out)
        return -EINVAL;
    aio_task_graph *g;
    int rc = aio_task_graph_capture(loop, &g);
    if (rc < 0)
        return rc;
    rc = aio_task_graph_print(g, out, flags);
    aio_task_graph_free(g);
    return rc;
}

int aio_print_call_graph(aio_loop *loop, aio_future task, FILE *out, unsigned flags) {
    if (!loop || !out)
        return -EINVAL;
    uint32_t idx;
    int rc = aio__fut_lookup(loop, task, &idx);
    if (rc < 0)
        return rc;
    if (!(loop->fut.slots[idx].flags & AIO__FF_TASK))
        return AIO_ENOTTASK;
    if (loop->fut.slots[idx].state != AIO__FS_PENDING)
        return AIO_EDONE;
    aio_task_graph *g;
    if ((rc = aio_task_graph_capture(loop, &g)) < 0)
        return rc;
    size_t v = 0;
    while (v < g->n && g->tasks[v].id != idx)
        v++;
    tree tr;
    if (!tree_init(&tr, g, out, (flags & AIO_PRINT_FULL_PATHS) != 0, true)) {
        rc = -ENOMEM;
    } else {
        node(&tr, v, 0, 0, "", NULL);
        rc = ferror(out) ? -EIO : 0;
    }
    tree_fini(&tr);
    aio_task_graph_free(g);
    return rc;
}
