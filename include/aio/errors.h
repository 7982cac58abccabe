/* libaio — error codes.
 *
 * Every public function returns 0 (or a non-negative count) on success and a
 * negative code on failure. Codes are either negated errno values (-EINVAL,
 * -ENOMEM, -EBADF, ...) or one of the library's own codes below, which live in
 * a range no errno value uses. aio_strerror() names any of them.
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

/* asyncio.CancelledError: the future or task was cancelled. */
#define AIO_ECANCELLED (-ECANCELED)
/* asyncio.TimeoutError. */
#define AIO_ETIMEDOUT (-ETIMEDOUT)

/* The library's own codes. */
#define AIO_E_BASE (-4096)
/* The handle's slot has been freed (and maybe reused): the handle is stale. */
#define AIO_ESTALE (AIO_E_BASE - 0)
/* The handle belongs to another loop. */
#define AIO_EFOREIGN (AIO_E_BASE - 1)
/* asyncio.InvalidStateError: result()/error() of a future still pending. */
#define AIO_ENOTDONE (AIO_E_BASE - 2)
/* asyncio.InvalidStateError: set_result()/set_error() of a future already done. */
#define AIO_EDONE (AIO_E_BASE - 3)
/* Operation not allowed on a task or a combinator's future (a task is
 * completed only by its coroutine, a gather only by its children). */
#define AIO_EISTASK (AIO_E_BASE - 4)
/* The handle is not a task (task-only operation on a plain future). */
#define AIO_ENOTTASK (AIO_E_BASE - 5)
/* The loop is closed. */
#define AIO_ECLOSED (AIO_E_BASE - 6)
/* The loop is already running (nested run, close from inside a callback). */
#define AIO_ERUNNING (AIO_E_BASE - 7)
/* Nothing left could ever complete the awaited future: no ready callbacks,
 * no timers, no watched file descriptors. asyncio would hang forever. */
#define AIO_EDEADLOCK (AIO_E_BASE - 8)
/* A release without a matching reference. */
#define AIO_ENOREF (AIO_E_BASE - 9)
/* The null handle (a zero-initialised aio_future or aio_handle). */
#define AIO_ENULL (AIO_E_BASE - 10)
/* The loop was stopped (aio_loop_stop) before the future completed. */
#define AIO_ESTOPPED (AIO_E_BASE - 11)
/* Lowest library code; codes in [AIO_E_LAST, AIO_E_BASE] are reserved. */
#define AIO_E_LAST (AIO_E_BASE - 103)

/* A short, static, human-readable description of `code` (never NULL). */
const char *aio_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif /* AIO_ERRORS_H */
