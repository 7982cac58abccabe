/* aio_strerror: names for the library's codes and for negated errno values. */
#include "aio/errors.h"

#include <string.h>

const char *aio_strerror(int code) {
    switch (code) {
    case 0: return "success";
    case AIO_ECANCELLED: return "cancelled";
    case AIO_ETIMEDOUT: return "timed out";
    case AIO_ESTALE: return "stale handle: the future or callback was freed";
    case AIO_EFOREIGN: return "handle belongs to another loop";
    case AIO_ENOTDONE: return "invalid state: the future is not done yet";
    case AIO_EDONE: return "invalid state: the future is already done";
    case AIO_EISTASK: return "a task or combinator future is completed only by its own code";
    case AIO_ENOTTASK: return "not a task";
    case AIO_ECLOSED: return "the loop is closed";
    case AIO_ERUNNING: return "the loop is already running";
    case AIO_EDEADLOCK: return "deadlock: nothing left could complete the awaited future";
    case AIO_ENOREF: return "release without a reference";
    case AIO_ENULL: return "null handle";
    case AIO_ESTOPPED: return "the loop was stopped before the future completed";
    default: break;
    }
    if (code < 0 && code > AIO_E_LAST - 1 && code <= AIO_E_BASE)
        return "unknown libaio error";
    if (code < 0 && code > -4096)
        return strerror(-code); /* glibc's strerror is thread-safe for known codes */
    return "unknown error";
}
