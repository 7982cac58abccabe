/* libaio — error codes.
 *
 * Every public function returns 0 (or a non-negative count) on success and a
 * negative code on failure. Codes are either negated errno values (-EINVAL,
 * -ENOMEM, -EBADF, ...) or one of the library's own codes below, which live in
 * a range no errno value uses. aio_strerror() describes any of them and
 * aio_err_name() names it.
 *
 * Both come from two tables, so a code, its name and its message are written
 * once: AIO_ERROR_MAP (the library's named codes, which become the enum
 * constants AIO_ESTALE, ...) and AIO_ERRNO_MAP (the errno values libaio
 * returns or passes on, by name). Users may expand them too, e.g. to build a
 * table of their own; NAME may itself be an errno macro (ESTALE, ETIMEDOUT,
 * EDEADLOCK), so use it only with # or ## (#NAME, AIO_##NAME).
 *
 * Errors you set on a future yourself (aio_future_set_error) should be
 * negated errno values or your own negative codes outside [-4199, -4096].
 */
#ifndef AIO_ERRORS_H
#define AIO_ERRORS_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's own codes take [AIO_E_LAST, AIO_E_BASE]: 104 values, of
 * which the table below uses the first ones. A new code takes the next
 * unused value; a code is never renumbered or reused, and the range never
 * moves (it is part of the ABI). */
#define AIO_E_BASE (-4096)
#define AIO_E_LAST (AIO_E_BASE - 103)

/* AIO_ERROR_MAP(X) calls X(NAME, value, message) for every code with a
 * library name; the constant is AIO_NAME. AIO_ECANCELLED and AIO_ETIMEDOUT
 * are negated errno values (asyncio's CancelledError and TimeoutError); every
 * other value lies in [AIO_E_LAST, AIO_E_BASE].
 * Returns: the expansions of X, one per code, in the table's order.
 * Errors: none.  Consumes: nothing. */
#define AIO_ERROR_MAP(X)                                                                                     \
    /* asyncio.CancelledError: the future or task was cancelled. */                                          \
    X(ECANCELLED, -ECANCELED, "cancelled")                                                                   \
    /* asyncio.TimeoutError. */                                                                              \
    X(ETIMEDOUT, -ETIMEDOUT, "timed out")                                                                    \
    /* The handle's slot has been freed (and maybe reused): the handle is stale. */                          \
    X(ESTALE, AIO_E_BASE - 0, "stale handle: the future or callback was freed")                              \
    /* The handle belongs to another loop. */                                                                \
    X(EFOREIGN, AIO_E_BASE - 1, "handle belongs to another loop")                                            \
    /* asyncio.InvalidStateError: result()/error() of a future still pending. */                             \
    X(ENOTDONE, AIO_E_BASE - 2, "invalid state: the future is not done yet")                                 \
    /* asyncio.InvalidStateError: set_result()/set_error() of a future already done. */                      \
    X(EDONE, AIO_E_BASE - 3, "invalid state: the future is already done")                                    \
    /* Operation not allowed on a task or a combinator's future (a task is                                   \
     * completed only by its coroutine, a gather only by its children). */                                   \
    X(EISTASK, AIO_E_BASE - 4, "a task or combinator future is completed only by its own code")              \
    /* The handle is not a task (task-only operation on a plain future). */                                  \
    X(ENOTTASK, AIO_E_BASE - 5, "not a task")                                                                \
    /* The loop is closed. */                                                                                \
    X(ECLOSED, AIO_E_BASE - 6, "the loop is closed")                                                         \
    /* The loop is already running (nested run, close from inside a callback). */                            \
    X(ERUNNING, AIO_E_BASE - 7, "the loop is already running")                                               \
    /* Nothing left could ever complete the awaited future: no ready callbacks,                              \
     * no timers, no watched file descriptors. asyncio would hang forever. */                                \
    X(EDEADLOCK, AIO_E_BASE - 8, "deadlock: nothing left could complete the awaited future")                 \
    /* A release without a matching reference. */                                                            \
    X(ENOREF, AIO_E_BASE - 9, "release without a reference")                                                 \
    /* The null handle (a zero-initialised aio_future or aio_handle). */                                     \
    X(ENULL, AIO_E_BASE - 10, "null handle")                                                                 \
    /* The loop was stopped (aio_loop_stop) before the future completed. */                                  \
    X(ESTOPPED, AIO_E_BASE - 11, "the loop was stopped before the future completed")                         \
    /* asyncio.QueueShutDown: the queue was shut down (aio_queue_shutdown);                                  \
     * also a task group that is shutting down (a child failed, or it was                                    \
     * cancelled) and takes no new task. */                                                                  \
    X(ESHUTDOWN, AIO_E_BASE - 12, "shut down: it takes nothing new (a queue, a task group)")                 \
    /* RuntimeError of a lock or condition used without holding the lock                                     \
     * (release of an unlocked lock; wait or notify without the lock). */                                    \
    X(ENOTLOCKED, AIO_E_BASE - 13, "the lock is not acquired")                                               \
    /* asyncio.BrokenBarrierError: the barrier was aborted or reset. */                                      \
    X(EBROKEN, AIO_E_BASE - 14, "the barrier is broken (aborted or reset)")                                  \
    /* Called from inside a report handler on the loop that is reporting: the                                \
     * call could change the loop, so it is refused and changes nothing (see                                 \
     * aio_loop_set_exception_handler for what a handler may call). */                                       \
    X(EINREPORT, AIO_E_BASE - 15, "not allowed from inside the loop's report handler")                       \
    /* asyncio's ExceptionGroup from a TaskGroup: tasks of a group failed;                                   \
     * aio_group_errors() lists each (task, error). */                                                       \
    X(EGROUP, AIO_E_BASE - 16, "tasks of a group failed: aio_group_errors lists each error")                 \
    /* asyncio.IncompleteReadError: the stream ended before the read was                                     \
     * complete; the bytes that did arrive stay buffered (aio/stream.h). */                                  \
    X(EINCOMPLETE, AIO_E_BASE - 17, "incomplete read: the stream ended first (the bytes stay buffered)")     \
    /* asyncio.LimitOverrunError: no separator within the limit; the data stays                              \
     * buffered. */                                                                                          \
    X(ELIMIT, AIO_E_BASE - 18, "limit overrun: no separator within the limit (the data stays buffered)")     \
    /* socket.gaierror EAI_NONAME: the host name does not resolve. */                                        \
    X(ENOTFOUND, AIO_E_BASE - 19, "host not found: the name does not resolve")                               \
    /* socket.gaierror, any other failure of the resolver (getaddrinfo). */                                  \
    X(ERESOLVE, AIO_E_BASE - 20, "name resolution failed")

/* The library's codes. They are enum constants (usable in switch and in
 * constant expressions, not in #if). */
enum aio_err_code {
#define AIO__ERROR_ENUM(name, value, message) AIO_##name = (value),
    AIO_ERROR_MAP(AIO__ERROR_ENUM)
#undef AIO__ERROR_ENUM
};

/* AIO_ERRNO_MAP(X) calls X(NAME, message) for every errno value libaio
 * returns or passes on from the system, as the negated code -NAME. All are
 * POSIX names; aliases of one value are listed once (EAGAIN, not
 * EWOULDBLOCK; EDEADLK, not EDEADLOCK; EOPNOTSUPP, not ENOTSUP).
 * ECANCELED and ETIMEDOUT are not here: their negations are the library's
 * AIO_ECANCELLED and AIO_ETIMEDOUT.
 * Returns: the expansions of X, one per errno name, in the table's order.
 * Errors: none.  Consumes: nothing. */
#define AIO_ERRNO_MAP(X)                                                                                     \
    /* Bad arguments and resources. */                                                                       \
    X(EINVAL, "invalid argument")                                                                            \
    X(ENOMEM, "out of memory")                                                                               \
    X(EOVERFLOW, "value too large for its type")                                                             \
    X(ERANGE, "result out of range")                                                                         \
    X(EFAULT, "bad address")                                                                                 \
    X(ENOSYS, "function not implemented")                                                                    \
    X(EOPNOTSUPP, "operation not supported")                                                                 \
    X(EPERM, "operation not permitted")                                                                      \
    X(EACCES, "permission denied")                                                                           \
    X(EAGAIN, "resource temporarily unavailable, try again")                                                 \
    X(EINTR, "interrupted by a signal")                                                                      \
    X(EBUSY, "device or resource busy")                                                                      \
    X(EDEADLK, "resource deadlock avoided")                                                                  \
    X(EALREADY, "operation already in progress")                                                             \
    X(EINPROGRESS, "operation in progress")                                                                  \
    /* File descriptors and files. */                                                                        \
    X(EBADF, "bad file descriptor")                                                                          \
    X(EMFILE, "too many open files in this process")                                                         \
    X(ENFILE, "too many open files in the system")                                                           \
    X(ENOENT, "no such file or directory")                                                                   \
    X(EEXIST, "file exists")                                                                                 \
    X(ENOTDIR, "not a directory")                                                                            \
    X(EISDIR, "is a directory")                                                                              \
    X(ENOTEMPTY, "directory not empty")                                                                      \
    X(ENAMETOOLONG, "file name too long")                                                                    \
    X(ELOOP, "too many levels of symbolic links")                                                            \
    X(EXDEV, "cross-device link")                                                                            \
    X(EROFS, "read-only file system")                                                                        \
    X(ENOSPC, "no space left on device")                                                                     \
    X(EFBIG, "file too large")                                                                               \
    X(ESPIPE, "invalid seek")                                                                                \
    X(ENOTTY, "inappropriate ioctl for device")                                                              \
    X(ENODEV, "no such device")                                                                              \
    X(ENXIO, "no such device or address")                                                                    \
    X(ETXTBSY, "text file busy")                                                                             \
    X(EIO, "input/output error")                                                                             \
    X(EPIPE, "broken pipe")                                                                                  \
    /* Processes. */                                                                                         \
    X(ESRCH, "no such process")                                                                              \
    X(ECHILD, "no child processes")                                                                          \
    X(E2BIG, "argument list too long")                                                                       \
    X(ENOEXEC, "executable format error")                                                                    \
    /* Sockets and networks. */                                                                              \
    X(ENOTSOCK, "not a socket")                                                                              \
    X(EDESTADDRREQ, "destination address required")                                                          \
    X(EMSGSIZE, "message too long")                                                                          \
    X(EPROTOTYPE, "protocol wrong type for socket")                                                          \
    X(ENOPROTOOPT, "protocol not available")                                                                 \
    X(EPROTONOSUPPORT, "protocol not supported")                                                             \
    X(EAFNOSUPPORT, "address family not supported")                                                          \
    X(EADDRINUSE, "address already in use")                                                                  \
    X(EADDRNOTAVAIL, "address not available")                                                                \
    X(ENETDOWN, "network is down")                                                                           \
    X(ENETUNREACH, "network is unreachable")                                                                 \
    X(ENETRESET, "connection reset by the network")                                                          \
    X(ECONNABORTED, "connection aborted")                                                                    \
    X(ECONNRESET, "connection reset by peer")                                                                \
    X(ENOBUFS, "no buffer space available")                                                                  \
    X(EISCONN, "socket is already connected")                                                                \
    X(ENOTCONN, "socket is not connected")                                                                   \
    X(ECONNREFUSED, "connection refused")                                                                    \
    X(EHOSTUNREACH, "host is unreachable")                                                                   \
    X(EPROTO, "protocol error")

/* aio_strerror: a short human-readable description of `code`.
 * Returns: a static string, never NULL, the same pointer on every call:
 *   "success" for 0; the table's message for a code of AIO_ERROR_MAP or the
 *   negation of a code of AIO_ERRNO_MAP; for any other code a string that
 *   says which kind it is: "unknown libaio error" (unused value of the
 *   library's range), "system error not in libaio's table" (any other value
 *   in (-4096, 0): call strerror(-code)), "unknown error" (below the
 *   library's range), or, for a positive value (a count, or an errno value
 *   passed without its minus sign), "not an error code: libaio's error codes
 *   are negative". Thread-safe, no allocation, not localised.
 * Errors: none.  Consumes: nothing. */
const char *aio_strerror(int code);

/* aio_err_name: the code's symbolic name, spelled as the C expression that
 * gives the code, so it can be grepped for and pasted into a comparison.
 * Returns: a static string, never NULL, the same pointer on every call:
 *   "0" for 0; "AIO_ECANCELLED", "AIO_ESTALE", ... for a code of
 *   AIO_ERROR_MAP (also for -ECANCELED and -ETIMEDOUT, which are
 *   AIO_ECANCELLED and AIO_ETIMEDOUT); "-EINVAL", "-ENOMEM", ... for the
 *   negation of a code of AIO_ERRNO_MAP; "unknown" for anything else,
 *   including every positive value (an errno value passed without its minus
 *   sign is not a libaio code). Thread-safe, no allocation.
 * Errors: none.  Consumes: nothing. */
const char *aio_err_name(int code);

#ifdef __cplusplus
}
#endif
#endif /* AIO_ERRORS_H */
