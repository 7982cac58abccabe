/* Backend selection: compiled in by CMake where the platform has them,
 * chosen by name at run time (tests run the suite once per backend). */
#include "core/loop.h"
#include "io/io.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const aio__backend *const backends[] = {
#ifdef AIO_HAVE_EPOLL
    &aio__backend_epoll,
#endif
#ifdef AIO_HAVE_KQUEUE
    &aio__backend_kqueue,
#endif
    &aio__backend_poll, /* portable fallback: always last */
};

const aio__backend *aio__backend_find(const char *name) {
    if (!name || !*name)
        name = getenv("AIO_BACKEND");
    if (!name || !*name)
        return backends[0];
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

int aio__timeout_ms(int64_t timeout_ns) {
    if (timeout_ns < 0)
        return -1;
    if (timeout_ns >= (int64_t)INT_MAX * 1000000)
        return INT_MAX;
    return (int)((timeout_ns + 999999) / 1000000); /* round up: never wake early and spin */
}
