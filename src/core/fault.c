/* Fault injection countdowns (test builds only: see core/fault.h). */
#include "core/fault.h"

#ifdef AIO_FAULT_INJECTION
#include <stdatomic.h>

/* One countdown. `mode` is read first on every call: disarmed, a fault
 * point costs one relaxed load and one increment. */
typedef struct countdown {
    atomic_int mode;
    atomic_long at;     /* the call that fails first (1-based) */
    atomic_long seen;   /* calls since the last arm */
    atomic_long failed; /* failures injected since the last arm */
    atomic_int err;     /* system calls: the errno value */
} countdown;

static countdown alloc_cd;
static countdown sys_cd[AIO__SYS_COUNT];

/* Count a call; true if it must fail. */
static bool hit(countdown *c) {
    long k = atomic_fetch_add_explicit(&c->seen, 1, memory_order_relaxed) + 1;
    int mode = atomic_load_explicit(&c->mode, memory_order_acquire);
    long at = atomic_load_explicit(&c->at, memory_order_relaxed);
    bool fail = (mode == AIO__FAULT_ONCE && k == at) || (mode == AIO__FAULT_FROM && k >= at);
    if (fail)
        atomic_fetch_add_explicit(&c->failed, 1, memory_order_relaxed);
    return fail;
}

static void arm(countdown *c, enum aio__fault_mode mode, long n, int err) {
    atomic_store_explicit(&c->mode, AIO__FAULT_OFF, memory_order_release);
    atomic_store_explicit(&c->seen, 0, memory_order_relaxed);
    atomic_store_explicit(&c->failed, 0, memory_order_relaxed);
    atomic_store_explicit(&c->at, n, memory_order_relaxed);
    atomic_store_explicit(&c->err, err, memory_order_relaxed);
    atomic_store_explicit(&c->mode, (int)mode, memory_order_release);
}

bool aio__fault_alloc(void) { return hit(&alloc_cd); }

int aio__fault_sys(int id) {
    if (id < 0 || id >= AIO__SYS_COUNT || !hit(&sys_cd[id]))
        return 0;
    return atomic_load_explicit(&sys_cd[id].err, memory_order_relaxed);
}

void aio__fault_alloc_arm(enum aio__fault_mode mode, long n) { arm(&alloc_cd, mode, n, 0); }
long aio__fault_alloc_seen(void) { return atomic_load(&alloc_cd.seen); }
long aio__fault_alloc_failed(void) { return atomic_load(&alloc_cd.failed); }

void aio__fault_sys_arm(enum aio__sys_id id, enum aio__fault_mode mode, long n, int err) {
    if (id < AIO__SYS_COUNT)
        arm(&sys_cd[id], mode, n, err);
}
long aio__fault_sys_seen(enum aio__sys_id id) {
    return id < AIO__SYS_COUNT ? atomic_load(&sys_cd[id].seen) : 0;
}
long aio__fault_sys_failed(enum aio__sys_id id) {
    return id < AIO__SYS_COUNT ? atomic_load(&sys_cd[id].failed) : 0;
}

void aio__fault_reset(void) {
    arm(&alloc_cd, AIO__FAULT_OFF, 0, 0);
    for (int i = 0; i < AIO__SYS_COUNT; i++)
        arm(&sys_cd[i], AIO__FAULT_OFF, 0, 0);
}
#else
typedef int aio__fault_unused; /* ISO C: a translation unit declares something */
#endif
