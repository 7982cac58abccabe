/* libaio — Unix signals (asyncio's loop.add_signal_handler) and graceful
 * shutdown of aio_run (asyncio.Runner's Ctrl-C handling).
 *
 * A handler runs on the loop's thread as an ordinary callback, never inside
 * the kernel's signal handler: it may do anything a callback does. The
 * library's own signal handler only sets a flag and writes to a file
 * descriptor of each loop concerned (both async-signal-safe).
 *
 * Sharing, since dispositions belong to the process, not to a loop:
 *   - Every loop that registered a signal gets each delivery (a handler or
 *     a waiter registers it; asyncio allows only the main thread's loop),
 *     whichever thread the kernel runs the signal handler on: loops on
 *     other threads are woken through their fd;
 *   - deliveries that arrive before the loop gets to them are merged into
 *     one (as the kernel merges pending standard signals);
 *   - while at least one loop handles a signal, the disposition the process
 *     had before (SIG_DFL, SIG_IGN or a handler of yours) is saved and does
 *     not run; it is restored when the last loop lets the signal go (handler
 *     removed, last waiter done, loop closed), unless you replaced ours
 *     meanwhile;
 *   - a thread that blocks the signal (pthread_sigmask) never runs the
 *     handler; the kernel picks another thread. Blocked in every thread (as
 *     for sigwait), it is never delivered to any loop.
 * A delivery costs a system call or two in the interrupted thread and a few
 * microseconds until the handler runs on an idle loop (docs/guide.md has
 * the figures); a busy loop sees it at its next poll, at most poll_budget
 * callbacks later.
 */
#ifndef AIO_SIGNAL_H
#define AIO_SIGNAL_H

#include "aio/coro_impl.h"
#include "aio/loop.h"
#include "aio/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A signal handler: fn(loop, signo, arg), on the loop's thread. */
typedef void (*aio_signal_callback)(aio_loop *loop, int signo, void *arg);

/* Call fn(loop, signo, arg) on the loop for every delivery of signo
 * (asyncio's add_signal_handler), until removed or the loop is closed. A
 * second handler for the same signal on the same loop replaces the first.
 * A loop with a handler keeps running (no AIO_EDEADLOCK) while it waits.
 * Returns: 0.
 * Errors: -EINVAL (NULL loop or fn; no signal; SIGKILL, SIGSTOP, or the
 * faults SIGSEGV, SIGBUS, SIGFPE, SIGILL), AIO_ECLOSED, -ENOMEM, or the
 * error of making the loop's signal fd at its first registration (-EMFILE).
 * Consumes: nothing. */
int aio_add_signal_handler(aio_loop *loop, int signo, aio_signal_callback fn, void *arg);

/* Remove the loop's handler of signo (asyncio's remove_signal_handler). If
 * no loop handles signo any more, its previous disposition is back.
 * Returns: 1 if a handler was removed, 0 if there was none.
 * Errors: -EINVAL (NULL loop, or not a signal number).
 * Consumes: nothing. */
int aio_remove_signal_handler(aio_loop *loop, int signo);

/* A future that completes with result signo (.i) at the next delivery of
 * signo to the loop: "wait for this signal". Every waiter of a signal is
 * completed by the same delivery (and any handler runs too); a delivery
 * before the call is not seen. Cancel it to stop waiting. Takes a loop or,
 * inside a coroutine, its task.
 * Returns: the future (the caller owns one reference).
 * Errors: those of aio_add_signal_handler, as an error handle.
 * Consumes: nothing. */
aio_future aio_signal_wait(aio_loop *loop, int signo);

/* ---- graceful shutdown in aio_run --------------------------------------
 * aio_run (and aio_run_coro) route SIGINT as asyncio.Runner does: the first
 * SIGINT cancels the main task, whose coroutine sees AIO_ECANCELLED at its
 * await and may clean up, awaiting as much as it needs; a second SIGINT
 * ends the process the default way (the signal's default action: it works
 * even if the loop is stuck). The route lasts while the main task runs;
 * the previous disposition is restored when it ends. A signal that is
 * ignored (SIG_IGN: e.g. a background job of a non-interactive shell) or
 * has a handler of the application's when the run starts is left alone.
 * If the main task ends cancelled after such a signal, the run returns
 * -EINTR (asyncio raises KeyboardInterrupt); if its coroutine handled the
 * cancel (AIO_CANCEL_HANDLED) and returned, the run returns 0.
 * The route does not keep the loop alive: a main task waiting for nothing
 * still ends the run with AIO_EDEADLOCK. */

#define AIO_RUN_SIGINT 1u     /* route SIGINT (the default) */
#define AIO_RUN_SIGTERM 2u    /* route SIGTERM the same way */
#define AIO_RUN_NO_SIGNALS 4u /* route nothing: signals keep their dispositions */

typedef struct aio_run_options {
    /* AIO_RUN_SIGINT and/or AIO_RUN_SIGTERM, or AIO_RUN_NO_SIGNALS; 0 means
     * the default, AIO_RUN_SIGINT. */
    unsigned signals;
    /* The loop's options (aio_loop_create); NULL for the defaults. */
    const aio_loop_options *loop;
} aio_run_options;

/* aio_run_coro with options (opts may be NULL: aio_run_coro's behaviour).
 * Returns: 0, and the coroutine's result in *result if result is not NULL.
 * Errors: the coroutine's error; -EINTR (it ended cancelled after a routed
 * signal); -EINVAL (NULL fn, a NULL frame with a size, unknown bits in
 * opts->signals); AIO_ERUNNING (a loop runs on this thread); -ENOMEM or
 * aio_loop_create's errors.
 * Consumes: nothing. */
int aio_run_coro_ex(aio_coro_fn fn, const void *frame, size_t frame_size, aio_value *result,
                    const aio_run_options *opts);

/* aio_run_ex(opts, fn, &frame) or aio_run_ex(opts, fn): aio_run with
 * options, no result. */
#define aio_run_ex(opts, ...) AIO__CAT(aio__run_ex_, AIO__HAS_FRAME(__VA_ARGS__))((opts), __VA_ARGS__)
#define aio__run_ex_0(opts, fn) aio_run_coro_ex((fn), (const void *)0, 0, (aio_value *)0, (opts))
#define aio__run_ex_1(opts, fn, ...)                                                                         \
    aio_run_coro_ex((fn), (__VA_ARGS__), AIO__FRAME_SIZE(__VA_ARGS__), (aio_value *)0, (opts))

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for. */
#ifndef AIO_BUILDING
#define aio_add_signal_handler(x, ...) aio_add_signal_handler(AIO__LOOP(x), __VA_ARGS__)
#define aio_remove_signal_handler(x, ...) aio_remove_signal_handler(AIO__LOOP(x), __VA_ARGS__)
#define aio_signal_wait(x, ...) aio_signal_wait(AIO__LOOP(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_SIGNAL_H */
