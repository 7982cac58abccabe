/* Reaping: knowing when a child exits, and collecting its status, without
 * ever waiting for a pid the library did not start (process.h says why
 * and how the two routes work; this file is them).
 *
 * The pidfd route: the child's pidfd is a library watcher of the loop
 * (io.h's aio__iow); it turns readable when the child exits, and the
 * report calls waitpid(pid, WNOHANG) for that pid. The record may be
 * freed from inside that report: the io layer touches nothing of a
 * watcher after its report returns, and the watch was stopped first.
 *
 * The SIGCHLD route: the loop hooks SIGCHLD while it has children on this
 * route; each delivery (merged as the kernel merges them) runs on_sigchld
 * on the loop's thread, which polls each of those children. A child that
 * exits between its spawn and the hook is found by the waitpid made right
 * after hooking. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/mem.h"
#include "proc/process.h"
#include "proc/signal.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static aio__child_rec *of_watcher(aio__iow *w) {
    return (aio__child_rec *)(void *)((char *)w - offsetof(aio__child_rec, w));
}

/* asyncio's returncode from a wait status. */
static int returncode(int status) {
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return 0; /* not reached: stopped children are not waited for */
}

static void end_watch(aio_loop *loop, aio__child_rec *r) {
    struct aio__proc *pr = loop->proc;
    if (r->w.fd >= 0) {
        aio__iow_stop(loop, &r->w);
        aio__sys_close(r->w.fd);
        r->w.fd = -1;
    }
    if (r->sigchld) {
        r->sigchld = false;
        if (--pr->sigchld_waiting == 0 && pr->sigchld_hooked) {
            aio__signal_unhook(loop, SIGCHLD); /* its previous disposition is back */
            pr->sigchld_hooked = false;
        }
    }
}

/* The child is gone: status, or lost (someone else reaped it). Every wait
 * completes with the code (a value, nothing to take: any number of waits
 * get the same one). */
static void reaped(aio_loop *loop, aio__child_rec *r, int status, bool lost) {
    r->reaped = true;
    r->lost = lost;
    r->code = lost ? -ECHILD : returncode(status);
    end_watch(loop, r);
    aio_value v;
    v.i = r->code;
    while (!aio__waitq_empty(&r->waits)) {
        uint32_t idx = aio__waitq_head(&r->waits);
        aio__waitq_unlink(loop, idx);
        aio__fut_finish(loop, idx, lost ? AIO__FS_ERROR : AIO__FS_RESULT, v);
        aio__fut_drop(loop, idx); /* the queue's hold */
    }
    aio__child_maybe_free(loop, r);
}

void aio__reaper_try(aio_loop *loop, aio__child_rec *r) {
    if (r->reaped)
        return;
    int status = 0;
    pid_t got;
    do
        got = waitpid(r->pid, &status, WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got == r->pid)
        reaped(loop, r, status, false);
    else if (got < 0 && errno == ECHILD)
        reaped(loop, r, 0, true);
    /* 0: it still runs (a report for another reason, or another child's
     * SIGCHLD) */
}

static void on_pidfd(aio_loop *loop, aio__iow *w, unsigned events) {
    (void)events;
    aio__reaper_try(loop, of_watcher(w));
}

static void on_sigchld(aio_loop *loop, int signo, void *arg) {
    (void)signo;
    (void)arg;
    struct aio__proc *pr = loop->proc;
    aio__child_rec *r = pr ? pr->head : NULL;
    while (r) {
        aio__child_rec *next = r->next; /* r may be freed */
        if (r->sigchld)
            aio__reaper_try(loop, r);
        r = next;
    }
}

int aio__reaper_watch(aio_loop *loop, aio__child_rec *r) {
    struct aio__proc *pr = loop->proc;
    if (!pr->no_pidfd) {
        int fd = aio__sys_pidfd_open(r->pid);
        if (fd >= 0) {
            if (aio__iow_start(loop, &r->w, fd, on_pidfd, AIO__EV_READ) == 0)
                return 0;
            aio__sys_close(fd); /* no room to watch it: the other route */
            r->w.fd = -1;
        } else if (errno == ENOSYS || errno == EPERM) {
            pr->no_pidfd = true; /* the system has none (or forbids it): don't ask again */
        }
    }
    if (!pr->sigchld_hooked) {
        int rc = aio__signal_hook(loop, SIGCHLD, on_sigchld, NULL);
        if (rc < 0)
            return rc;
        pr->sigchld_hooked = true;
    }
    r->sigchld = true;
    pr->sigchld_waiting++;
    aio__reaper_try(loop, r); /* it may have exited before SIGCHLD was hooked */
    return 0;
}

int aio__reaper_signal(aio__child_rec *r, int signo) {
#if defined(__linux__) && defined(SYS_pidfd_send_signal)
    if (r->w.fd >= 0) {
        if (syscall(SYS_pidfd_send_signal, r->w.fd, signo, NULL, 0) == 0)
            return 0;
        if (errno != ENOSYS)
            return -errno;
    }
#endif
    return kill(r->pid, signo) == 0 ? 0 : -errno;
}

void aio__reaper_kill_and_reap(pid_t pid) {
    int status;
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

void aio__proc_close(aio_loop *loop) {
    struct aio__proc *pr = loop->proc;
    if (!pr)
        return;
    aio__child_rec *r = pr->head;
    while (r) {
        aio__child_rec *next = r->next;
        if (!r->reaped) {
            /* The loop goes, and nothing would reap it: end it now (the
             * waitpid returns within microseconds of a SIGKILL). */
            (void)aio__reaper_signal(r, SIGKILL);
            int status;
            while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR) {
            }
            if (r->w.fd >= 0) {
                aio__iow_stop(loop, &r->w);
                aio__sys_close(r->w.fd);
            }
        }
        /* Waits still queued are futures: freed with the table. */
        aio__free(r);
        r = next;
    }
    if (pr->sigchld_hooked)
        aio__signal_unhook(loop, SIGCHLD);
    aio__free(pr);
    loop->proc = NULL;
}
