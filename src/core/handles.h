/* The bit layout of the handles users hold (aio_future, aio_handle). */
#ifndef AIO_CORE_HANDLES_H
#define AIO_CORE_HANDLES_H

#include "aio/aio.h"

#include <stdint.h>

/* ---- handles ----------------------------------------------------------
 * A future handle is  tag:16 | gen:22 | index:26  (high to low).
 * tag is the loop's (never 0); tag 0 with a non-zero id is an error handle
 * whose low 32 bits are -code. A callback handle is tag:16 | kind:1 | 47
 * bits: for a ready-queue entry its sequence number, for a timer
 * gen:21 | index:26. */
#define AIO__IDX_BITS 26
#define AIO__IDX_MASK ((UINT64_C(1) << AIO__IDX_BITS) - 1)
#define AIO__GEN_BITS 22
#define AIO__GEN_MASK ((UINT64_C(1) << AIO__GEN_BITS) - 1)
#define AIO__TGEN_BITS 21 /* of the timer slot's 22: handles carry 21 */
#define AIO__TGEN_MASK ((UINT64_C(1) << AIO__TGEN_BITS) - 1)
#define AIO__TAG_SHIFT 48
#define AIO__KIND_TIMER (UINT64_C(1) << 47)
#define AIO__SEQ_MASK ((UINT64_C(1) << 47) - 1)

static inline aio_future aio__error_handle(int code) {
    aio_future f;
    f.id = (uint64_t)(uint32_t)(-code);
    return f;
}

#endif /* AIO_CORE_HANDLES_H */
