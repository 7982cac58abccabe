/* Scopes: task groups (group.c) and timeout scopes (timeout.c), and what
 * they share (scope.c): every task's chain of open scopes, the hook that
 * closes them when a coroutine ends inside them, and the error lists a
 * group keeps after its join.
 *
 * A scope record (struct aio__scope, aio/group.h) lives in its task's
 * frame; the loop finds a task's records through loop->scope.slots, by the
 * task's future slot: `open` is the innermost open scope (linked outwards
 * through aio__outer), `kept` the error lists of groups joined with errors.
 * A task has an entry exactly while its aio__scoped bit is set, which is
 * what makes tasks without scopes pay nothing when they complete. */
#ifndef AIO_SCOPE_SCOPE_H_STATE
#define AIO_SCOPE_SCOPE_H_STATE
#include "aio/aio.h"

#include <stdint.h>

typedef struct aio__scope_slot {
    struct aio__scope *open;        /* innermost open scope, or NULL */
    struct aio__group_errors *kept; /* joined groups' error lists, or NULL */
} aio__scope_slot;

typedef struct aio__scopes {
    aio__scope_slot *slots; /* by task slot; covers every task with aio__scoped set */
    uint32_t cap;
} aio__scopes;
#endif /* AIO_SCOPE_SCOPE_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_SCOPE_SCOPE_H)
#define AIO_SCOPE_SCOPE_H
#include "core/loop.h"

#include <stdbool.h>

enum { AIO__SCOPE_GROUP = 1, AIO__SCOPE_TIMEOUT = 2 };

/* aio__state. A record in the NEW state is zeroed storage; OPEN and
 * EXPIRING (a timeout whose deadline passed) are linked in their task's
 * chain; FAILED keeps the entry's error in aio__err. */
enum { AIO__SC_NEW = 0, AIO__SC_OPEN, AIO__SC_EXPIRING, AIO__SC_DONE, AIO__SC_FAILED };

/* A group's collected errors: one block, grown while the group is open,
 * then kept on its task's list until cleared (the group's aio__errs points
 * at it meanwhile; `owner` says which group to forget it in). */
struct aio__group_errors {
    struct aio__group_errors *next; /* on the task's kept list */
    aio_group *owner;
    uint32_t task;
    uint32_t n, cap;
    aio_group_error e[];
};

/* scope.c */
/* `t` if it is the task running now on the loop running here, else NULL. */
aio_task *aio__scope_running_task(aio_task *t, aio_loop **loop);
/* Open record s of `kind` in running task t: linked innermost in its
 * chain, state OPEN, the task's cancelling count noted; aio__flags left
 * as they are. 0 or -ENOMEM (s untouched). */
int aio__scope_open(aio_loop *loop, aio_task *t, struct aio__scope *s, uint8_t kind);
/* Take an open record out of its task's chain. */
void aio__scope_unlink(aio_loop *loop, struct aio__scope *s);
/* The task a linked record belongs to (pending, so its slot names it). */
aio_task *aio__scope_task(const aio_loop *loop, const struct aio__scope *s);
/* Keep a joined group's errors on its task's list / take them off it. */
void aio__scope_keep(aio_loop *loop, struct aio__group_errors *b);
void aio__scope_unkeep(aio_loop *loop, struct aio__group_errors *b);
/* At close, before the tasks' memory goes: free every list and block. */
void aio__scopes_free(aio_loop *loop);

/* group.c, timeout.c: closing a scope that is open when its coroutine
 * ends, with the coroutine's outcome in *err / *v (updated). The group's
 * returns true if it waits for children first: the task is then completed
 * (aio__task_complete) when the last one has ended. */
bool aio__group_close(aio_loop *loop, aio_task *t, aio_group *g, int *err, aio_value *v);
void aio__timeout_close(aio_loop *loop, aio_task *t, aio_timeout *to, int *err);
/* Release the errors' task references and free the block. */
void aio__group_errors_free(aio_loop *loop, struct aio__group_errors *b);
/* Free what an open group holds, at close (no reference is released). */
void aio__group_free_at_close(aio_loop *loop, aio_group *g);
/* For the task dumps (aio/debug.h): whether a child's done callback
 * (fn, arg) is a group's; if so, the slot of the task that entered it
 * (*parent), the future its join waits on now (*join, AIO__NIL if none)
 * and a line about it. Reads only. */
bool aio__group_listener(const aio_loop *loop, aio_done_callback fn, void *arg, uint32_t *parent,
                         uint32_t *join, char *text, size_t len);
#endif /* AIO_SCOPE_SCOPE_H */
