/* A void pointer frame: its size is unknown (GNU C would say 1).
 * expect: aio_frame_is_a_void_pointer__pass_a_typed_pointer_or_call_the_sized_function */
#include <aio/aio.h>

struct frame {
    int n;
};
static aio_status coro(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_END(t);
}

aio_future spawn(aio_loop *loop, void *generic_frame);
aio_future spawn(aio_loop *loop, void *generic_frame) {
#ifdef CONTROL
    return aio_create_task(loop, coro, (struct frame *)generic_frame);
#else
    return aio_create_task(loop, coro, generic_frame);
#endif
}
