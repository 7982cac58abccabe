/* A group's join is an await: it takes the task, and a loop is a compile
 * error.
 * expect: _Generic|generic association|not compatible with any */
#include <aio/aio.h>

struct frame {
    aio_group g;
};
AIO_CORO(coro, struct frame) {
    AIO_BEGIN(t);
    AIO_GROUP_BEGIN(t, &f->g);
#ifdef CONTROL
    AIO_GROUP_JOIN(t, &f->g);
#else
    AIO_GROUP_JOIN(aio_task_loop(t), &f->g);
#endif
    AIO_END(t);
}
