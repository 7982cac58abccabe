/* Task groups (asyncio.TaskGroup, Python 3.11+ semantics, and 3.15's
 * cancel()): the rules are in aio/group.h.
 *
 * A group is a scope record in its parent's frame (scope.h). Each child is
 * a task with one done callback (a node, as gather's, whose argument is the
 * group) that counts it off, collects its error and, on the first one,
 * aborts the group. The group keeps children alive with library holds, not
 * references (the node's, then the error list's), so that no user call on
 * a borrowed handle can drop them. The children possibly still running are
 * kept in an array of handles, for cancelling them: when it is full and at
 * least half of it has ended, it is compacted instead of grown, so a
 * long-lived group costs what its live children cost.
 *
 * The join awaits a plain future that the last child's end completes; a
 * cancellation of the parent cancels that future, and the join (a loop in
 * AIO_GROUP_JOIN) takes a new one. When the parent's coroutine ends with
 * the group open, scope.c closes it: the last child's end then completes
 * the parent task itself.
 *
 * Cancellation counting (asyncio's uncancel rules): the group notes the
 * parent's cancelling count at entry. It withdraws the one cancellation it
 * requests itself (a child's failure, aio_group_cancel); whatever else is
 * above the entry count at the join was requested from outside and is
 * reported (AIO_ECANCELLED), or, when errors win, delivered again. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/cancel.h"
#include "core/loop.h"
#include "core/report.h"
#include "core/mem.h"
#include "core/task.h"
#include "scope/scope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* aio__flags */
enum {
    G_CANCEL_ON_ENTER = 1, /* cancel() came before the entry */
    G_ABORTING = 2,        /* children cancelled: nothing new is spawned */
    G_EXITING = 4,         /* the join (or the coroutine's end) began */
    G_PARENT_CANCEL = 8,   /* we asked the parent to cancel: withdraw it at the end */
    G_JOIN_WAIT = 16,      /* the join awaits aio__join */
    G_CLOSING = 32,        /* the coroutine ended: scope.c completes the task when we finish */
};

static uint32_t idx_of(aio_future f) { return (uint32_t)(f.id & AIO__IDX_MASK); }

/* What a call on g may do: 0 (open), or why not. */
static int check_open(const aio_loop *loop, const aio_group *g) {
    if (!loop || !g)
        return -EINVAL;
    switch (g->aio__s.aio__state) {
    case AIO__SC_NEW:
        return -EINVAL; /* "has not been entered" */
    case AIO__SC_FAILED:
        return g->aio__s.aio__err;
    case AIO__SC_DONE:
        return AIO_EDONE; /* "is finished" */
    default:
        break;
    }
    if (g->aio__s.aio__tag != loop->tag)
        return AIO_EFOREIGN;
    return 0;
}

/* ---- errors ---- */

static bool push_error(aio_loop *loop, aio_group *g, aio_future task, int err) {
    struct aio__group_errors *b = g->aio__errs;
    if (!b || b->n == b->cap) {
        uint32_t cap = b ? b->cap * 2 : 4;
        struct aio__group_errors *nb = aio__realloc(b, sizeof *b + (size_t)cap * sizeof b->e[0]);
        if (!nb) {
            /* Still counted: the join reports AIO_EGROUP; the error itself
             * goes to the exception handler. */
            g->aio__lost++;
            aio__report(loop, "out of memory: a task group's error was not stored", err,
                        task.id ? idx_of(task) : AIO__NIL);
            return false;
        }
        if (!b) {
            nb->next = NULL;
            nb->owner = g;
            nb->task = g->aio__s.aio__task;
            nb->n = 0;
        }
        nb->cap = cap;
        g->aio__errs = b = nb;
    }
    b->e[b->n].task = task;
    b->e[b->n].err = err;
    b->n++;
    return true;
}

void aio__group_errors_free(aio_loop *loop, struct aio__group_errors *b) {
    for (uint32_t i = 0; i < b->n; i++)
        if (b->e[i].task.id)
            aio__fut_drop(loop, idx_of(b->e[i].task)); /* our hold on the failed child */
    aio__free(b);
}

static bool has_errors(const aio_group *g) {
    return (g->aio__errs && g->aio__errs->n) || g->aio__lost || g->aio__body_err;
}

/* Forget the errors of a joined group (aio_group_clear, a new entry). */
static void clear_errors(aio_loop *loop, aio_group *g) {
    struct aio__group_errors *b = g->aio__errs;
    if (!b)
        return;
    g->aio__errs = NULL;
    aio__scope_unkeep(loop, b);
    aio__group_errors_free(loop, b);
}

/* ---- children ---- */

static void free_kids(aio_loop *loop, aio_group *g) {
    aio__table_free(loop, g->aio__kids, (size_t)g->aio__capkids * sizeof *g->aio__kids);
    g->aio__kids = NULL;
    g->aio__nkids = g->aio__capkids = 0;
}

/* Room for one more child: drop the ones that ended if that frees at least
 * half (the entries of ended children are nkids - pending at least), else
 * double. */
static int kids_reserve(aio_loop *loop, aio_group *g) {
    if (g->aio__nkids < g->aio__capkids)
        return 0;
    if (g->aio__nkids >= 2u * g->aio__pending) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < g->aio__nkids; i++) {
            uint32_t idx;
            if (aio__fut_lookup_fast(loop, g->aio__kids[i], &idx) &&
                loop->fut.slots[idx].state == AIO__FS_PENDING)
                g->aio__kids[n++] = g->aio__kids[i];
        }
        g->aio__nkids = n;
        if (n < g->aio__capkids)
            return 0;
    }
    uint32_t cap = g->aio__capkids ? g->aio__capkids * 2 : 16;
    if (cap <= g->aio__capkids)
        return -ENOMEM;
    void *p = g->aio__kids;
    size_t len = (size_t)g->aio__capkids * sizeof *g->aio__kids;
    if (aio__table_resize(loop, &p, len, len, (size_t)cap * sizeof *g->aio__kids) < 0)
        return -ENOMEM;
    g->aio__kids = p;
    g->aio__capkids = cap;
    return 0;
}

/* Cancel every child still running; from now on nothing new is spawned. */
static void abort_children(aio_loop *loop, aio_group *g) {
    g->aio__s.aio__flags |= G_ABORTING;
    for (uint32_t i = 0; i < g->aio__nkids; i++) {
        uint32_t idx;
        if (aio__fut_lookup_fast(loop, g->aio__kids[i], &idx) &&
            loop->fut.slots[idx].state == AIO__FS_PENDING)
            aio__fut_cancel_idx(loop, idx, NULL);
    }
}

/* Abort, and cancel the parent too (its current await sees AIO_ECANCELLED):
 * a child failed, or aio_group_cancel. The group withdraws this request. */
static void abort_with_parent(aio_loop *loop, aio_group *g) {
    abort_children(loop, g);
    if (!(g->aio__s.aio__flags & (G_PARENT_CANCEL | G_CLOSING))) {
        g->aio__s.aio__flags |= G_PARENT_CANCEL;
        aio__fut_cancel_idx(loop, g->aio__s.aio__task, NULL);
    }
}

/* Every child has ended. */
static void all_done(aio_loop *loop, aio_group *g) {
    if (g->aio__s.aio__flags & G_CLOSING) {
        /* The parent's coroutine ended: complete the parent now. Last: that
         * frees its frame, where g lives. */
        aio__task_complete(loop, aio__scope_task(loop, &g->aio__s));
        return;
    }
    uint32_t j;
    if (g->aio__join.id && aio__fut_lookup_fast(loop, g->aio__join, &j) &&
        loop->fut.slots[j].state == AIO__FS_PENDING)
        aio__fut_finish(loop, j, AIO__FS_RESULT, (aio_value){0});
}

/* A child's done callback. */
static void child_done(aio_loop *loop, aio_future f, void *arg) {
    aio_group *g = arg;
    uint32_t idx = idx_of(f);
    int err = aio__fut_outcome(loop, idx, NULL); /* an error counts as retrieved: it is ours */
    g->aio__pending--;
    if (err != 0 && err != AIO_ECANCELLED) {
        /* The list keeps the child's slot (its outcome) with a hold of its
         * own: the callback's goes when we return. */
        int held = aio__fut_hold(loop, idx);
        if (held < 0)
            g->aio__lost++; /* past 16 bits of holds and out of memory: counted, not listed */
        else if (!push_error(loop, g, f, err))
            aio__fut_drop(loop, idx);
        if (!(g->aio__s.aio__flags & (G_ABORTING | G_PARENT_CANCEL)))
            abort_with_parent(loop, g);
    }
    if (g->aio__pending == 0)
        all_done(loop, g);
}

/* ---- the task dumps ---- */

bool aio__group_listener(const aio_loop *loop, aio_done_callback fn, void *arg, uint32_t *parent,
                         uint32_t *join, char *text, size_t len) {
    if (fn != child_done)
        return false;
    const aio_group *g = arg;
    uint32_t j;
    *parent = g->aio__s.aio__task;
    *join = g->aio__join.id && aio__fut_lookup_fast(loop, g->aio__join, &j) ? j : AIO__NIL;
    snprintf(text, len, "task group: %u running%s", g->aio__pending,
             (g->aio__s.aio__flags & G_ABORTING) ? ", cancelling" : "");
    return true;
}

/* ---- the API ---- */

int aio_group_enter(aio_task *t, aio_group *g) {
    aio_loop *loop;
    if (!g)
        return -EINVAL;
    if (!aio__scope_running_task(t, &loop))
        return -EINVAL; /* "cannot determine the parent task": g stays as it was */
    uint8_t state = g->aio__s.aio__state;
    if (state == AIO__SC_OPEN || state == AIO__SC_EXPIRING)
        return -EALREADY;
    bool cancel_now = state == AIO__SC_NEW && (g->aio__s.aio__flags & G_CANCEL_ON_ENTER);
    if (state == AIO__SC_DONE && g->aio__s.aio__tag == loop->tag)
        clear_errors(loop, g);
    memset(g, 0, sizeof *g);
    int rc = aio__scope_open(loop, t, &g->aio__s, AIO__SCOPE_GROUP);
    if (rc < 0) {
        g->aio__s.aio__state = AIO__SC_FAILED;
        g->aio__s.aio__err = rc;
        return rc;
    }
    if (cancel_now)
        abort_with_parent(loop, g);
    return 0;
}

aio_future aio_group_create_task_sized(aio_loop *loop, aio_group *g, aio_coro_fn fn, const void *frame,
                                       size_t frame_size) {
    int rc = check_open(loop, g);
    if (rc < 0)
        return aio__error_handle(rc);
    if (g->aio__s.aio__flags & G_ABORTING)
        return aio__error_handle(AIO_ESHUTDOWN); /* "is shutting down" */
    if ((g->aio__s.aio__flags & G_EXITING) && g->aio__pending == 0)
        return aio__error_handle(AIO_EDONE); /* "is finished": its join is ending */
    if ((rc = kids_reserve(loop, g)) < 0)
        return aio__error_handle(rc);
    aio_future f = aio_create_task_sized(loop, fn, frame, frame_size);
    if (aio_future_check(f) < 0)
        return f;
    uint32_t idx = idx_of(f);
    if ((rc = aio__fut_add_node(loop, idx, child_done, g)) < 0) {
        aio__fut_cancel_idx(loop, idx, NULL); /* never runs */
        aio__fut_consume(loop, idx);
        return aio__error_handle(rc);
    }
    /* The reference create_task gave goes: the node's hold keeps the slot
     * until child_done has run, and a hold is the library's, so nothing
     * the user does with the borrowed handle (an await that consumes, a
     * release: AIO_ENOREF) can take it from under the group. */
    aio__fut_consume_held(loop, idx);
    g->aio__kids[g->aio__nkids++] = f;
    g->aio__pending++;
    return f; /* borrowed */
}

int aio_group_cancel(aio_loop *loop, aio_group *g) {
    if (!loop || !g)
        return -EINVAL;
    if (g->aio__s.aio__state == AIO__SC_NEW) {
        g->aio__s.aio__flags |= G_CANCEL_ON_ENTER;
        return 0;
    }
    int rc = check_open(loop, g);
    if (rc == AIO_EFOREIGN || rc == -EINVAL)
        return rc;
    if (rc < 0)
        return 0; /* finished: nothing to do (asyncio: cancel() is idempotent) */
    if ((g->aio__s.aio__flags & G_EXITING) && g->aio__pending == 0)
        return 0;
    if (!(g->aio__s.aio__flags & G_ABORTING))
        abort_with_parent(loop, g);
    return 0;
}

int aio_group_fail(aio_loop *loop, aio_group *g, int err) {
    int rc = check_open(loop, g);
    if (rc < 0)
        return rc;
    if (err >= 0 || err == AIO_ECANCELLED)
        return -EINVAL;
    if (g->aio__body_err)
        return -EALREADY;
    g->aio__body_err = err;
    if (!(g->aio__s.aio__flags & G_ABORTING))
        abort_children(loop, g); /* the parent is the one leaving: not cancelled */
    return 0;
}

/* The requests above the entry count that are not the group's own: a
 * cancellation from outside, pending. */
static bool outer_cancel(const aio_task *t, const aio_group *g) {
    unsigned own = (g->aio__s.aio__flags & G_PARENT_CANCEL) ? 1u : 0u;
    return t->aio__cancelling > g->aio__s.aio__cancelling + own;
}

static void release_join(aio_loop *loop, aio_group *g) {
    if (g->aio__join.id)
        aio__fut_consume(loop, idx_of(g->aio__join));
    g->aio__join.id = 0;
}

/* The end of a join: every child has ended. The outcome into AIO_ERR. */
static void finish_join(aio_loop *loop, aio_task *t, aio_group *g) {
    if (g->aio__s.aio__flags & G_PARENT_CANCEL)
        aio__task_uncancel(t); /* our own request, withdrawn */
    free_kids(loop, g);
    if (g->aio__body_err)
        push_error(loop, g, (aio_future){0}, g->aio__body_err); /* asyncio lists the body's last */
    int err = 0;
    if (has_errors(g)) {
        err = AIO_EGROUP;
        if (t->aio__cancelling > g->aio__s.aio__cancelling) {
            /* Errors win, but the outer cancellation must not be lost: it is
             * delivered again at the next await (asyncio: uncancel() and
             * cancel(), which keeps the count). */
            aio__task_cancel_again(loop, t);
        }
    } else if (t->aio__cancelling > g->aio__s.aio__cancelling && !t->aio__must_cancel) {
        err = AIO_ECANCELLED; /* cancelled from outside, delivered: it propagates */
    }                         /* (one requested but not delivered yet, as the join had nothing to
                                 await, lands at the next await: asyncio's __aexit__ does not raise it) */
    g->aio__s.aio__state = AIO__SC_DONE;
    g->aio__s.aio__flags = 0;
    aio__scope_unlink(loop, &g->aio__s);
    if (g->aio__errs)
        aio__scope_keep(loop, g->aio__errs); /* readable until cleared or the task ends */
    loop->pub.err = err;
    t->aio__u.v.u = 0;
}

int aio__group_join_step(aio_task *t, aio_group *g, aio_future *wait_on) {
    aio_loop *loop;
    aio_task *me = aio__scope_running_task(t, &loop);
    int rc = g ? check_open(loop, g) : -EINVAL;
    if (rc == 0 && (!me || g->aio__s.aio__task != me->aio__slot))
        rc = -EINVAL; /* only the task that entered it joins it */
    if (rc < 0) {
        if (loop)
            loop->pub.err = rc;
        return 0;
    }
    uint8_t *flags = &g->aio__s.aio__flags;
    if (*flags & G_JOIN_WAIT) {
        /* Back from the await: a cancellation of the parent cancelled the
         * join's future (asyncio: the join's await raised CancelledError). */
        *flags &= (uint8_t)~G_JOIN_WAIT;
        release_join(loop, g);
        if (loop->pub.err == AIO_ECANCELLED && !(*flags & G_ABORTING))
            abort_children(loop, g);
    } else if (!(*flags & G_EXITING)) {
        *flags |= G_EXITING;
        /* The parent is being cancelled (the body left on that): its
         * children go too. */
        if (outer_cancel(t, g) && !(*flags & G_ABORTING))
            abort_children(loop, g);
    }
    if (g->aio__pending > 0) {
        uint32_t j;
        if ((rc = aio__fut_alloc(loop, &j)) < 0) {
            loop->pub.err = rc; /* the group stays open: join again, or the end closes it */
            *flags &= (uint8_t)~G_EXITING;
            return 0;
        }
        g->aio__join = aio__fut_handle(loop, j);
        aio_future_retain(loop, g->aio__join); /* the group's, and one for the await */
        *wait_on = g->aio__join;
        *flags |= G_JOIN_WAIT;
        return 1;
    }
    finish_join(loop, t, g);
    return 0;
}

/* ---- the coroutine ended with the group open (scope.c) ---- */

bool aio__group_close(aio_loop *loop, aio_task *t, aio_group *g, int *err, aio_value *v) {
    uint8_t *flags = &g->aio__s.aio__flags;
    if (!(*flags & G_CLOSING)) {
        *flags |= G_EXITING;
        if (!(*flags & G_ABORTING))
            abort_children(loop, g); /* cancelled and awaited, not left running */
        *flags |= G_CLOSING;
        g->aio__close_err = *err;
        g->aio__close_val = *v;
    }
    if (g->aio__pending > 0)
        return true; /* all_done completes the task */
    int e = g->aio__close_err;
    aio_value val = g->aio__close_val;
    bool own = (*flags & G_PARENT_CANCEL) != 0;
    if (own)
        aio__task_uncancel(t);
    if (has_errors(g)) {
        e = AIO_EGROUP; /* the list goes with the task: the code says what happened */
        val.u = 0;
    } else if (own && e == AIO_ECANCELLED && t->aio__cancelling <= g->aio__s.aio__cancelling) {
        e = 0; /* the cancellation was the group's own, withdrawn (asyncio
                  suppresses it): the coroutine's end counts as a return */
        val.u = 0;
    }
    free_kids(loop, g);
    struct aio__group_errors *b = g->aio__errs;
    g->aio__errs = NULL;
    if (b)
        aio__group_errors_free(loop, b);
    g->aio__s.aio__state = AIO__SC_DONE;
    *flags = 0;
    aio__scope_unlink(loop, &g->aio__s);
    *err = e;
    *v = val;
    return false;
}

void aio__group_free_at_close(aio_loop *loop, aio_group *g) {
    free_kids(loop, g);
    aio__free(g->aio__errs);
    g->aio__errs = NULL;
}

/* ---- reading ---- */

const aio_group_error *aio_group_errors(const aio_group *g, size_t *n) {
    const struct aio__group_errors *b = g ? g->aio__errs : NULL;
    if (n)
        *n = b ? b->n : 0;
    return b && b->n ? b->e : NULL;
}

int aio_group_clear(aio_loop *loop, aio_group *g) {
    if (!loop || !g)
        return -EINVAL;
    uint8_t state = g->aio__s.aio__state;
    if (state == AIO__SC_OPEN)
        return -EBUSY;
    if (!g->aio__errs)
        return 0;
    if (g->aio__s.aio__tag != loop->tag)
        return AIO_EFOREIGN;
    clear_errors(loop, g);
    return 0;
}

size_t aio_group_pending(const aio_group *g) { return g ? g->aio__pending : 0; }
