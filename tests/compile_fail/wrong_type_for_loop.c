/* Something that is neither a loop nor a task where one is asked for
 * (the mistake that used to compile with a warning and read out of bounds).
 * expect: _Generic|generic association|not compatible with any */
#include <aio/aio.h>

struct app {
    aio_loop *loop;
};
int cancel(struct app *app, aio_future f);
int cancel(struct app *app, aio_future f) {
#ifdef CONTROL
    return aio_task_cancel(app->loop, f, NULL);
#else
    return aio_task_cancel(app, f, NULL);
#endif
}
