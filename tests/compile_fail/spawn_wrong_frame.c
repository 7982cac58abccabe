/* aio_spawn checks the frame against the type AIO_CORO declared.
 * expect: _Generic|generic association|not compatible with any */
#include <aio/aio.h>

struct right {
    int n;
};
struct wrong {
    int n;
};
AIO_CORO(coro, struct right) {
    AIO_BEGIN(t);
    AIO_END(t);
}

aio_future spawn(aio_loop *loop);
aio_future spawn(aio_loop *loop) {
#ifdef CONTROL
    return aio_spawn(loop, coro, &(struct right){1});
#else
    return aio_spawn(loop, coro, &(struct wrong){1});
#endif
}
