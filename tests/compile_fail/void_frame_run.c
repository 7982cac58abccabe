/* aio_run with a const void pointer frame.
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

int run(const void *frame);
int run(const void *frame) {
#ifdef CONTROL
    return aio_run(coro, (const struct frame *)frame);
#else
    return aio_run(coro, frame);
#endif
}
