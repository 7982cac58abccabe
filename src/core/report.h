/* Reports (asyncio's call_exception_handler; report.c): what the loop
 * tells the exception handler, or stderr when none is set. */
#ifndef AIO_CORE_REPORT_H_STATE
#define AIO_CORE_REPORT_H_STATE
#include "aio/aio.h"

/* Where reports go (aio_loop_set_exception_handler; report.c). */
typedef struct aio__reporting {
    aio_exception_handler handler;
    void *arg;
} aio__reporting;
#endif /* AIO_CORE_REPORT_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_CORE_REPORT_H)
#define AIO_CORE_REPORT_H
#include "core/loop.h"

/* Tell the exception handler (or stderr); idx names the future
 * concerned, or is AIO__NIL. */
void aio__report(aio_loop *loop, const char *msg, int err, uint32_t idx);
/* The same with the report's location given (NULL: none). */
void aio__report_at(aio_loop *loop, const char *msg, int err, uint32_t idx, const char *location);
/* Report a failed future's error if nobody retrieved it, exactly once. */
void aio__report_unretrieved(aio_loop *loop, uint32_t idx);
#endif /* AIO_CORE_REPORT_H */
