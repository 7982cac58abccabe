/* Subprocesses (aio/process.h):
 *
 *   subprocess.c   spawning (posix_spawn), the process handle and its calls
 *   reaper.c       reaping: a pidfd per child, or the SIGCHLD route;
 *                  signals to a child; the loop's close
 *   communicate.c  communicate and aio_subprocess_run
 *
 * A child's record lives from its spawn until it is both released (its
 * handle closed) and reaped, whichever comes last: a released child that
 * still runs is watched until it exits (no zombie), and a reaped child's
 * record stays while its handle is open (for pid and returncode). Its
 * handle comes from the network module's table (net/net.h, kind
 * AIO__NK_PROCESS); its pipes are that module's streams.
 *
 * Reaping never waits for a pid the library did not start: with a pidfd
 * the loop polls it and calls waitpid(pid, WNOHANG) when it is readable;
 * without one (pidfd_open fails: ENOSYS on older kernels and valgrind,
 * EPERM under some seccomp filters, or no pidfd on this system) the loop
 * hooks SIGCHLD (proc/signal.h's aio__signal_hook) while it has such
 * children and, at each delivery, calls waitpid(pid, WNOHANG) for each of
 * them. Each loop does that for its own children only, so several loops
 * share SIGCHLD (the process table sends every delivery to each). */
#ifndef AIO_PROC_PROCESS_H
#define AIO_PROC_PROCESS_H

#include "aio/process.h"
#include "core/loop.h"
#include "core/waitq.h"
#include "io/io.h"
#include "io/sys.h"

#include <spawn.h>
#include <stdbool.h>
#include <sys/types.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

typedef struct aio__child_rec aio__child_rec;
struct aio__child_rec {
    aio__iow w;  /* the pidfd's watcher; w.fd < 0: no pidfd (none, or closed once reaped) */
    uint64_t id; /* the handle; 0 once released */
    pid_t pid;
    int code;         /* once reaped: the return code (asyncio's), or -ECHILD in `lost` */
    aio__waitq waits; /* aio_process_wait's futures */
    aio_stream pipes[3];
    aio__child_rec *prev, *next; /* the loop's records */
    bool reaped;
    bool lost;          /* someone else reaped it: the status is unknown (-ECHILD) */
    bool released;      /* its handle was closed: freed once reaped */
    bool sigchld;       /* on the SIGCHLD route (no pidfd) */
    bool communicating; /* a communicate is under way */
};

struct aio__proc {
    aio__child_rec *head;     /* every record not yet freed */
    unsigned sigchld_waiting; /* records on the SIGCHLD route not yet reaped */
    bool sigchld_hooked;      /* SIGCHLD hooked (while sigchld_waiting > 0) */
    bool no_pidfd;            /* pidfd_open said ENOSYS once: the SIGCHLD route from now on */
};

/* ---- system calls with a fault point (core/fault.h) ---- */

/* pipe2 with O_CLOEXEC (pipe and fcntl where pipe2 is missing). */
static inline int aio__sys_pipe_cloexec(int fds[2]) {
    AIO__SYS_FAULT(AIO__SYS_PIPE, -1);
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) < 0)
        return -1;
    (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

/* A close-on-exec copy of fd numbered at least `min`. */
static inline int aio__sys_dup_cloexec(int fd, int min) {
    AIO__SYS_FAULT(AIO__SYS_PIPE, -1);
    return fcntl(fd, F_DUPFD_CLOEXEC, min);
}

static inline int aio__sys_open_devnull(void) {
    AIO__SYS_FAULT(AIO__SYS_PIPE, -1);
    return open("/dev/null", O_RDWR | O_CLOEXEC);
}

/* posix_spawnp: 0 or an errno value (not -1 and errno). */
static inline int aio__sys_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                                  const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
#ifdef AIO_FAULT_INJECTION
    int e = aio__fault_sys(AIO__SYS_SPAWN);
    if (e)
        return e;
#endif
    return posix_spawnp(pid, file, fa, attr, argv, envp);
}

/* A pidfd for child pid (close-on-exec, as every pidfd), or -1 and errno
 * (ENOSYS where the system has none). */
static inline int aio__sys_pidfd_open(pid_t pid) {
    AIO__SYS_FAULT(AIO__SYS_PIDFD, -1);
#if defined(__linux__) && defined(SYS_pidfd_open)
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

/* ---- subprocess.c ---- */
/* The record of a live process handle, or NULL and *err. */
aio__child_rec *aio__child_get(aio_loop *loop, aio_process p, int *err);
/* The loop's state, made at first use; NULL: -ENOMEM. */
struct aio__proc *aio__proc_get(aio_loop *loop);
/* Free the record if it is released, reaped, and no wait is queued. */
void aio__child_maybe_free(aio_loop *loop, aio__child_rec *r);

/* ---- reaper.c ---- */
/* Watch child r, spawned just now: its pidfd, else the SIGCHLD route. 0,
 * or an error (then nothing watches it: the caller kills and reaps it). */
int aio__reaper_watch(aio_loop *loop, aio__child_rec *r);
/* Reap r now if it has exited (waitpid WNOHANG): its waits complete, its
 * watch ends. May free r (if released). */
void aio__reaper_try(aio_loop *loop, aio__child_rec *r);
/* Send signo to a child not yet reaped (through its pidfd where it has
 * one). 0 or -errno. */
int aio__reaper_signal(aio__child_rec *r, int signo);
/* Kill a child that nothing can watch and wait for it (blocking: SIGKILL
 * ends it at once), so that it is never left a zombie. */
void aio__reaper_kill_and_reap(pid_t pid);
/* At loop close: kill (SIGKILL) and reap every child still running, free
 * every record. */
void aio__proc_close(aio_loop *loop);

#endif /* AIO_PROC_PROCESS_H */
