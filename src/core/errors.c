/* aio_strerror and aio_err_name: both generated from the tables in
 * <aio/errors.h>, so a code, its name and its message are written once. */
#include "aio/errors.h"

/* Every library code is either a negated errno value or lies in the library's
 * range; a duplicate value in either table fails to compile (duplicate case
 * label in the switches below). */
#define AIO__CHECK_RANGE(name, value, message)                                                               \
    _Static_assert(((value) > AIO_E_BASE && (value) < 0) ||                                                  \
                       ((value) <= AIO_E_BASE && (value) >= AIO_E_LAST),                                     \
                   "AIO_" #name " lies outside the library's range");
AIO_ERROR_MAP(AIO__CHECK_RANGE)
#undef AIO__CHECK_RANGE

/* What to say about a code neither table lists. */
static const char *unlisted_message(int code) {
    if (code > 0)
        return "not an error code: libaio's error codes are negative";
    if (code <= AIO_E_BASE && code >= AIO_E_LAST)
        return "unknown libaio error";
    if (code > AIO_E_BASE)
        return "system error not in libaio's table";
    return "unknown error";
}

const char *aio_strerror(int code) {
    switch (code) {
    case 0:
        return "success";
#define AIO__ERROR_MESSAGE(name, value, message)                                                             \
    case AIO_##name:                                                                                         \
        return message;
        AIO_ERROR_MAP(AIO__ERROR_MESSAGE)
#undef AIO__ERROR_MESSAGE
#define AIO__ERRNO_MESSAGE(name, message)                                                                    \
    case -name:                                                                                              \
        return message;
        AIO_ERRNO_MAP(AIO__ERRNO_MESSAGE)
#undef AIO__ERRNO_MESSAGE
    default:
        return unlisted_message(code);
    }
}

const char *aio_err_name(int code) {
    switch (code) {
    case 0:
        return "0";
#define AIO__ERROR_NAME(name, value, message)                                                                \
    case AIO_##name:                                                                                         \
        return "AIO_" #name;
        AIO_ERROR_MAP(AIO__ERROR_NAME)
#undef AIO__ERROR_NAME
#define AIO__ERRNO_NAME(name, message)                                                                       \
    case -name:                                                                                              \
        return "-" #name;
        AIO_ERRNO_MAP(AIO__ERRNO_NAME)
#undef AIO__ERRNO_NAME
    default:
        return "unknown";
    }
}
