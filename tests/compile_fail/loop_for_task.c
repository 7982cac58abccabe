/* A loop given where only a task is accepted.
 * expect: _Generic|generic association|not compatible with any */
#include <aio/aio.h>

int undo(aio_loop *loop, aio_task *t);
int undo(aio_loop *loop, aio_task *t) {
    (void)loop;
    (void)t;
#ifdef CONTROL
    return aio_task_uncancel(t);
#else
    return aio_task_uncancel(loop);
#endif
}
