/* libaio — the basic types every other header uses.
 *
 *   aio_loop    an event loop (opaque; one per thread).
 *   aio_future  a handle to a future (or task) in a loop's futures table.
 *   aio_handle  a handle to a scheduled callback (call_soon / call_later).
 *   aio_value   what a future carries as its result: 8 bytes, see below.
 *   aio_task    the context a coroutine runs in (see aio/coro.h).
 */
#ifndef AIO_TYPES_H
#define AIO_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aio_loop aio_loop;
typedef struct aio_task aio_task;

/* A future's result. The loop copies these 8 bytes and never interprets or
 * frees what `p` points to: the producer and the consumer of a result agree
 * on its ownership (typically the consumer frees it, or it points into a
 * frame or a static). Build one with AIO_VALUE(x) from any integer, floating
 * or pointer expression. */
typedef union aio_value {
    int64_t i;
    uint64_t u;
    double d;
    void *p;
} aio_value;

/* A future handle: 64 bits naming a slot of one loop's futures table, with a
 * generation (a handle whose slot was freed is detected, never followed) and a
 * loop tag (a handle given to another loop is detected). Copy it freely; it is
 * not a pointer. A zero-initialised handle is the null handle.
 *
 * A call that creates a future and fails returns an *error handle* carrying
 * the error code instead: every function given an error handle returns that
 * code, and awaiting it completes at once with that code. aio_future_check()
 * tells an error handle from a real one. */
typedef struct aio_future {
    uint64_t id;
} aio_future;

/* A handle to a callback scheduled by aio_call_soon / aio_call_later /
 * aio_call_at, for aio_handle_cancel(). Zero-initialised: the null handle. */
typedef struct aio_handle {
    uint64_t id;
} aio_handle;

/* A plain callback: what aio_call_soon, aio_call_later and the fd watchers run. */
typedef void (*aio_callback)(aio_loop *loop, void *arg);

/* A done callback (asyncio's add_done_callback): runs on the loop, one
 * iteration after the future completes, never inside set_result itself. */
typedef void (*aio_done_callback)(aio_loop *loop, aio_future fut, void *arg);

/* AIO_VALUE(x): an aio_value from an integer, floating point, pointer or
 * aio_value expression (C11 _Generic: integers go to .i/.u, floating to .d,
 * anything else is taken as a pointer).
 * Returns: the aio_value (x is evaluated once).
 * Errors: none (an x of another type, a struct say, does not compile).
 * Consumes: nothing. */
static inline aio_value aio__value_i(int64_t x) {
    aio_value v;
    v.i = x;
    return v;
}
static inline aio_value aio__value_u(uint64_t x) {
    aio_value v;
    v.u = x;
    return v;
}
static inline aio_value aio__value_d(double x) {
    aio_value v;
    v.d = x;
    return v;
}
static inline aio_value aio__value_p(const volatile void *x) {
    aio_value v;
    v.p = (void *)(uintptr_t)x;
    return v;
}
static inline aio_value aio__value_v(aio_value x) { return x; }

#define AIO_VALUE(x)                                                                                         \
    _Generic((x), _Bool                                                                                      \
             : aio__value_u, char                                                                            \
             : aio__value_i, signed char                                                                     \
             : aio__value_i, unsigned char                                                                   \
             : aio__value_u, short                                                                           \
             : aio__value_i, unsigned short                                                                  \
             : aio__value_u, int                                                                             \
             : aio__value_i, unsigned int                                                                    \
             : aio__value_u, long                                                                            \
             : aio__value_i, unsigned long                                                                   \
             : aio__value_u, long long                                                                       \
             : aio__value_i, unsigned long long                                                              \
             : aio__value_u, float                                                                           \
             : aio__value_d, double                                                                          \
             : aio__value_d, aio_value                                                                       \
             : aio__value_v, default                                                                         \
             : aio__value_p)(x)

/* The empty result (asyncio's None). */
#define AIO_NONE (aio__value_u(0))

#ifdef __cplusplus
}
#endif
#endif /* AIO_TYPES_H */
