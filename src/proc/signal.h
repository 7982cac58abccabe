/* Signals: the process-wide table every loop's signal handling goes
 * through (signal_table.c), a loop's handlers and waiters (signal.c), and
 * aio_run's graceful shutdown route (signal.c, used by core/runner.c).
 *
 * How a delivery travels, and why each step is there:
 *   1. The kernel runs our one handler (signal_table.c) on whichever thread
 *      it picks. The handler only touches lock-free atomics of the process
 *      table and write()s 8 bytes to the fd of every loop that registered
 *      the signal: all async-signal-safe. It never takes a mutex (the
 *      cross-thread wakeup in thread/wakeup.c does, so it cannot be used).
 *   2. The loop sees the byte in its poll, or sees the slot's `any` flag in
 *      the check after every poll (a busy loop skips the system call).
 *   3. It drains: one ready-queue entry per pending signal, which runs the
 *      handler, completes the waiters, cancels aio_run's main task: all on
 *      the loop thread, as ordinary callbacks. */
#ifndef AIO_PROC_SIGNAL_H_STATE
#define AIO_PROC_SIGNAL_H_STATE
#include "aio/aio.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Signal numbers are below AIO__NSIG (Linux: 65, realtime ones included). */
#if defined(NSIG)
#define AIO__NSIG NSIG
#elif defined(_NSIG)
#define AIO__NSIG _NSIG
#else
#define AIO__NSIG 65
#endif

/* One loop's entry in the process table (signal_table.c). The handler reads
 * and writes only these atomics. */
typedef struct aio__sig_slot {
    atomic_int wfd1;                 /* the owning loop's signal fd + 1; 0: no fd (free slot) */
    atomic_uchar any;                /* some pending[] set: the loop drains after its next poll */
    atomic_uchar want[AIO__NSIG];    /* the loop handles this signal */
    atomic_uchar route[AIO__NSIG];   /* aio_run's route: 0 none, 1 armed, 2 fired once */
    atomic_uchar pending[AIO__NSIG]; /* delivered, not yet drained */
    bool claimed;                    /* the table's mutex: a loop owns this slot */
} aio__sig_slot;

struct aio__sig_state; /* signal.c: handlers, waiters, the route */

/* A loop's signal state (loop->sig), written by signal.c only. All zero
 * until the loop's first registration. */
typedef struct aio__signals {
    aio__sig_slot *slot;       /* our process-table slot, from the first registration to close */
    struct aio__sig_state *st; /* per-signal handlers and waiters */
    uint8_t watched;           /* 1 while our fd is watched (it is in loop->io.count) */
    uint8_t unref;             /* 1 while it is watched for aio_run's route only */
} aio__signals;
#endif /* AIO_PROC_SIGNAL_H_STATE */

#if !defined(AIO__LOOP_STATE_PASS) && !defined(AIO_PROC_SIGNAL_H)
#define AIO_PROC_SIGNAL_H
#include "core/loop.h"

/* ---- the process table (signal_table.c) ---------------------------------- */

/* Claim a free slot for a loop whose signal fd is wfd. 0, -ENOMEM. */
int aio__sigtab_claim(int wfd, aio__sig_slot **out);
/* Give every signal of the slot up (dispositions restored where it was the
 * last loop), then the slot itself. On return no signal handler touches
 * the slot's fd any more: the loop may close it. */
void aio__sigtab_release(aio__sig_slot *slot);
/* The slot's loop handles signo from now on; the first loop in the process
 * to do so installs our handler and saves the previous disposition. With
 * only_if_default, nothing is done unless the disposition is the default
 * (or ours already): returns 0 then. 1 when added; -errno of sigaction. */
int aio__sigtab_add(aio__sig_slot *slot, int signo, bool only_if_default);
/* The slot's loop no longer handles signo; the last loop in the process to
 * let go restores the saved disposition (if ours is still installed). */
void aio__sigtab_remove(aio__sig_slot *slot, int signo);
/* 1 if signo was delivered to the slot since the last call (and clear it). */
static inline bool aio__sigtab_take(aio__sig_slot *slot, int signo) {
    return atomic_exchange(&slot->pending[signo], 0) != 0;
}
/* -EINVAL for a number that is no signal, or one a handler cannot take:
 * SIGKILL and SIGSTOP, and the faults a program raises on itself (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL), whose handler returning would fault again. */
int aio__signal_check_number(int signo);

/* ---- the loop's side (signal.c) ------------------------------------------ */

/* The library's own handler of signo on this loop (the SIGCHLD route of
 * proc/reaper.c), beside the application's (aio_add_signal_handler), which
 * it neither replaces nor is replaced by; it keeps the loop alive as a
 * handler does. fn runs on the loop's thread at each delivery, before the
 * application's handler. 0, or the errors of aio_add_signal_handler. */
int aio__signal_hook(aio_loop *loop, int signo, aio_signal_callback fn, void *arg);
void aio__signal_unhook(aio_loop *loop, int signo);

void aio__signal_drain(aio_loop *loop); /* queue a delivery for each pending signal */
void aio__signal_close(aio_loop *loop); /* at close: every registration goes */

/* Our fd, while watched: a poll that may not block need not report it
 * (aio__signal_after_poll looks at the flag instead). */
static inline int aio__signal_watched(const aio_loop *loop) { return loop->sig.watched; }
/* Our fd, when only aio_run's route keeps it watched: it must not keep a
 * loop that can otherwise never finish from reporting AIO_EDEADLOCK. */
static inline int aio__signal_unref(const aio_loop *loop) { return loop->sig.unref; }
/* After every poll: one load when no signal came (or no slot). */
static inline void aio__signal_after_poll(aio_loop *loop) {
    if (loop->sig.slot && atomic_load_explicit(&loop->sig.slot->any, memory_order_acquire))
        aio__signal_drain(loop);
}

/* aio_run's graceful shutdown. Route the AIO_RUN_SIGINT / AIO_RUN_SIGTERM
 * signals in `signals` to cancelling task `main`, each only if it has its
 * default disposition now (or libaio handles it already); the second
 * delivery of a routed signal then ends the process the default way (the
 * handler itself does that, so it works even if the loop is stuck).
 * Returns how many signals are routed, or a negative error (nothing routed). */
int aio__signal_route_begin(aio_loop *loop, aio_future main, unsigned signals);
/* End the routes (dispositions restored where no loop handles the signal
 * any more). Returns the signal that cancelled the main task, or 0. */
int aio__signal_route_end(aio_loop *loop);
#endif /* AIO_PROC_SIGNAL_H */
