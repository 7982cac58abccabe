/* A task given to a call that takes only a loop (running a loop from
 * inside a coroutine).
 * expect: _Generic|generic association|not compatible with any */
#include <aio/aio.h>

static aio_loop *the_loop;
static aio_status coro(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
#ifdef CONTROL
    aio_run_forever(the_loop);
#else
    aio_run_forever(t);
#endif
    AIO_END(t);
}
aio_coro_fn fn = coro;
