/* aio_group_spawn checks the frame against the type AIO_CORO declared, as
 * aio_spawn does.
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

aio_future spawn(aio_loop *loop, aio_group *g);
aio_future spawn(aio_loop *loop, aio_group *g) {
#ifdef CONTROL
    return aio_group_spawn(loop, g, coro, &(struct right){1});
#else
    return aio_group_spawn(loop, g, coro, &(struct wrong){1});
#endif
}
