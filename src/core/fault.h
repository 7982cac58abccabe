/* Fault injection, for the test suite only.
 *
 * Built only with the CMake option AIO_FAULT_INJECTION (on when the test
 * suite is built, off otherwise): without it this header declares nothing
 * and the hooks below compile to nothing, so a release build has neither
 * the state nor the tests.
 *
 * Two kinds of fault points:
 *   - every allocation of the library (core/mem.h: aio__malloc, ...,
 *     aio__mmap_anon, aio__mremap) asks aio__fault_alloc() first;
 *   - every system call with a wrapper in io/sys.h (aio__sys_read, ...)
 *     asks aio__fault_sys(id) first.
 * A test arms a countdown: make the n-th call fail (AIO__FAULT_ONCE), or
 * every call from the n-th on (AIO__FAULT_FROM); an allocation then returns
 * NULL, a system call -1 with errno set to the chosen value.
 *
 * This is per-process test state, the one exception to "no global mutable
 * state": atomics, so that the executor's worker threads may hit fault
 * points while the loop thread arms them. Counting is process-wide: a test
 * that arms a countdown runs in a process of its own (its own ctest entry)
 * or disarms before it returns. */
#ifndef AIO_CORE_FAULT_H
#define AIO_CORE_FAULT_H

#include <stdbool.h>

/* The system calls a test can make fail (io/sys.h has their wrappers). */
enum aio__sys_id {
    AIO__SYS_READ,     /* read(2): the wakeup fd's drain, later streams */
    AIO__SYS_WRITE,    /* write(2): the wakeup fd's signal, later streams */
    AIO__SYS_WAIT,     /* the backend's wait: epoll_wait, poll or kevent */
    AIO__SYS_ACCEPT,   /* accept4(2) / accept(2): streams */
    AIO__SYS_CONNECT,  /* connect(2): streams */
    AIO__SYS_SOCKET,   /* socket(2): streams */
    AIO__SYS_RECV,     /* recv(2): streams, sock_recv */
    AIO__SYS_SEND,     /* send(2) / sendmsg(2): streams, sock_sendall */
    AIO__SYS_SHUTDOWN, /* shutdown(2): write_eof */
    AIO__SYS_BIND,     /* bind(2): servers */
    AIO__SYS_LISTEN,   /* listen(2): servers */
    AIO__SYS_PIPE,     /* pipe2(2), and the opens and dups of a child's stdio: subprocesses */
    AIO__SYS_SPAWN,    /* posix_spawn(3): subprocesses */
    AIO__SYS_PIDFD,    /* pidfd_open(2): subprocesses (ENOSYS: the SIGCHLD route) */
    AIO__SYS_COUNT
};

enum aio__fault_mode {
    AIO__FAULT_OFF,  /* never fail (counting goes on) */
    AIO__FAULT_ONCE, /* fail the n-th call only */
    AIO__FAULT_FROM  /* fail the n-th call and every one after it */
};

#ifdef AIO_FAULT_INJECTION
/* ---- hooks (the library's side) ---- */
bool aio__fault_alloc(void); /* true: this allocation must fail */
int aio__fault_sys(int id);  /* an errno value to fail this call with, or 0 */

/* ---- control (the tests' side) ---- */
/* Arm the allocation countdown (n >= 1; counting restarts at 0). */
void aio__fault_alloc_arm(enum aio__fault_mode mode, long n);
/* Allocations seen and failures injected since the last arm. */
long aio__fault_alloc_seen(void);
long aio__fault_alloc_failed(void);
/* Arm system call `id`: the n-th call (or every one from it) fails with
 * errno `err`. */
void aio__fault_sys_arm(enum aio__sys_id id, enum aio__fault_mode mode, long n, int err);
long aio__fault_sys_seen(enum aio__sys_id id);
long aio__fault_sys_failed(enum aio__sys_id id);
/* Disarm everything and reset the counts. */
void aio__fault_reset(void);
#endif

#endif /* AIO_CORE_FAULT_H */
