/* Spawning a child (asyncio's create_subprocess_exec / _shell) and the
 * calls on its handle (pid, returncode, wait, signals, close).
 *
 * A spawn, step by step, so that a failure at any step leaves nothing
 * behind (no fd, no child):
 *   1. the child's stdio: a pipe, /dev/null or a copy of the caller's fd
 *      for each of 0, 1, 2, every fd close-on-exec and numbered 3 or more
 *      (so that the dup2s onto 0, 1, 2 in the child never overwrite a
 *      source, and each dup2 clears close-on-exec on its copy only);
 *   2. the parent's pipe ends become streams (before the spawn: a stream
 *      that cannot be made needs no child undone);
 *   3. posix_spawnp: a vfork-like clone where the C library has one
 *      (glibc: the parent's memory is never copied, and the child runs
 *      only async-signal-safe code until exec, so it is safe in a threaded
 *      program), which reports an exec failure as its return value;
 *   4. the parent closes the child's ends; the reaper watches the child
 *      (reaper.c). If no watch can be made, the child is killed and
 *      reaped at once: the call fails and leaves no zombie. */
#include "core/futures.h"
#include "core/handles.h"
#include "core/mem.h"
#include "net/net.h"
#include "proc/process.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* ---- the loop's state and the records ---- */

struct aio__proc *aio__proc_get(aio_loop *loop) {
    if (!loop->proc)
        loop->proc = aio__calloc(1, sizeof *loop->proc);
    return loop->proc;
}

aio__child_rec *aio__child_get(aio_loop *loop, aio_process p, int *err) {
    return (aio__child_rec *)aio__nh_get(loop, p.id, AIO__NK_PROCESS, err);
}

static void rec_unlink(struct aio__proc *pr, aio__child_rec *r) {
    if (r->prev)
        r->prev->next = r->next;
    else
        pr->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

void aio__child_maybe_free(aio_loop *loop, aio__child_rec *r) {
    if (r->released && r->reaped && aio__waitq_empty(&r->waits)) {
        rec_unlink(loop->proc, r);
        aio__free(r);
    }
}

/* ---- step 1: the child's stdio ---- */

typedef struct stdio_plan {
    int child[3]; /* what the child gets as 0, 1, 2 (a copy numbered >= 3), or -1: nothing to do */
    int ours[3];  /* our end of a pipe, or -1 */
} stdio_plan;

static void plan_close(stdio_plan *pl) {
    for (int i = 0; i < 3; i++) {
        aio__sys_close(pl->child[i]);
        aio__sys_close(pl->ours[i]);
        pl->child[i] = pl->ours[i] = -1;
    }
}

/* fd moved to a close-on-exec number >= 3 if it is 0, 1 or 2 (possible
 * when this process closed its own): the fd, or -1 and errno (fd closed). */
static int above_stdio(int fd) {
    if (fd >= 3)
        return fd;
    int c = aio__sys_dup_cloexec(fd, 3);
    int e = errno;
    aio__sys_close(fd);
    errno = e;
    return c;
}

static int plan_one(stdio_plan *pl, int i, aio_stdio mode, int fd) {
    int p[2];
    switch (mode) {
    case AIO_SUBPROCESS_PIPE:
        if (aio__sys_pipe_cloexec(p) < 0)
            return -errno;
        pl->child[i] = i == 0 ? p[0] : p[1]; /* the child reads its stdin, writes the others */
        pl->ours[i] = i == 0 ? p[1] : p[0];
        break;
    case AIO_SUBPROCESS_DEVNULL:
        if ((pl->child[i] = aio__sys_open_devnull()) < 0)
            return -errno;
        break;
    case AIO_SUBPROCESS_FD:
        if ((pl->child[i] = aio__sys_dup_cloexec(fd, 3)) < 0)
            return -errno; /* -EBADF: not an open fd */
        break;
    default: /* INHERIT: nothing; STDOUT: a dup2 of 1 onto 2 (do_spawn) */
        break;
    }
    if (pl->child[i] >= 0 && (pl->child[i] = above_stdio(pl->child[i])) < 0)
        return -errno;
    return 0;
}

static int plan_stdio(const aio_process_options *o, stdio_plan *pl) {
    const aio_stdio modes[3] = {o->in, o->out, o->err};
    const int fds[3] = {o->in_fd, o->out_fd, o->err_fd};
    for (int i = 0; i < 3; i++)
        pl->child[i] = pl->ours[i] = -1;
    for (int i = 0; i < 3; i++) {
        int rc = plan_one(pl, i, modes[i], fds[i]);
        if (rc < 0) {
            plan_close(pl);
            return rc;
        }
    }
    return 0;
}

static int check_opts(const aio_process_options *o) {
    const aio_stdio modes[3] = {o->in, o->out, o->err};
    const int fds[3] = {o->in_fd, o->out_fd, o->err_fd};
    for (int i = 0; i < 3; i++) {
        if ((unsigned)modes[i] > (unsigned)AIO_SUBPROCESS_FD)
            return -EINVAL;
        if (modes[i] == AIO_SUBPROCESS_STDOUT && i != 2)
            return -EINVAL; /* asyncio: STDOUT is for stderr only */
        if (modes[i] == AIO_SUBPROCESS_FD && fds[i] < 0)
            return -EINVAL;
    }
    if (o->new_session && o->new_process_group)
        return -EINVAL; /* a session leader leads its group already */
    if (o->stream.high_water && o->stream.low_water > o->stream.high_water)
        return -EINVAL;
    return 0;
}

/* ---- step 3: posix_spawnp ---- */

static int do_spawn(const char *const *argv, const aio_process_options *o, const stdio_plan *pl, pid_t *pid) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        return -rc;
    if ((rc = posix_spawnattr_init(&attr))) {
        posix_spawn_file_actions_destroy(&fa);
        return -rc;
    }
    for (int i = 0; i < 3 && !rc; i++)
        if (pl->child[i] >= 0)
            rc = posix_spawn_file_actions_adddup2(&fa, pl->child[i], i);
    if (!rc && o->err == AIO_SUBPROCESS_STDOUT)
        rc = posix_spawn_file_actions_adddup2(&fa, 1, 2); /* after stdout's own */
    if (!rc && o->cwd) {
#ifdef AIO_HAVE_SPAWN_CHDIR
        rc = posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
#else
        rc = EOPNOTSUPP;
#endif
    }
#ifdef AIO_HAVE_SPAWN_CLOSEFROM
    if (!rc && !o->keep_fds)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    /* Python's restore_signals: SIGPIPE and SIGXFSZ back to their default
     * (a server that ignores SIGPIPE should not make its children ignore
     * it). Handled signals go back to default at exec anyway. */
    short flags = POSIX_SPAWN_SETSIGDEF;
    sigset_t dfl;
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
#ifdef SIGXFSZ
    sigaddset(&dfl, SIGXFSZ);
#endif
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&attr, &dfl);
    if (!rc && o->new_process_group) {
        flags |= POSIX_SPAWN_SETPGROUP;
        rc = posix_spawnattr_setpgroup(&attr, 0);
    }
    if (!rc && o->new_session) {
#ifdef POSIX_SPAWN_SETSID
        flags |= POSIX_SPAWN_SETSID;
#else
        rc = EOPNOTSUPP;
#endif
    }
    if (!rc)
        rc = posix_spawnattr_setflags(&attr, flags);
    if (!rc) /* posix_spawnp changes neither argv nor envp */
        rc = aio__sys_spawnp(pid, argv[0], &fa, &attr, (char *const *)(uintptr_t)argv,
                             o->env ? o->env : environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

/* ---- creating ---- */

static void pipes_abort(aio_loop *loop, aio__child_rec *r) {
    for (int i = 0; i < 3; i++) {
        if (r->pipes[i].id)
            aio_stream_abort(loop, r->pipes[i]);
        r->pipes[i] = AIO_STREAM_NULL;
    }
}

static int create(aio_loop *loop, const char *const *argv, const aio_process_options *opts,
                  aio_process *out) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return rc;
    if (!out || !argv || !argv[0])
        return -EINVAL;
    *out = AIO_PROCESS_NULL;
    aio_process_options defaults;
    memset(&defaults, 0, sizeof defaults);
    const aio_process_options *o = opts ? opts : &defaults;
    if ((rc = check_opts(o)) < 0)
        return rc;
    struct aio__proc *pr = aio__proc_get(loop);
    aio__child_rec *r = pr ? aio__calloc(1, sizeof *r) : NULL;
    if (!r)
        return -ENOMEM;
    r->w.fd = -1;
    if ((rc = aio__nh_new(loop, r, AIO__NK_PROCESS, &r->id)) < 0) {
        aio__free(r);
        return rc;
    }
    stdio_plan pl;
    if ((rc = plan_stdio(o, &pl)) == 0) {
        for (int i = 0; i < 3 && rc == 0; i++) {
            if (pl.ours[i] < 0)
                continue;
            rc = aio_stream_open_fd(loop, pl.ours[i], &o->stream, &r->pipes[i]);
            pl.ours[i] = -1; /* the stream's now (or closed) */
        }
        pid_t pid = 0;
        if (rc == 0)
            rc = do_spawn(argv, o, &pl, &pid);
        plan_close(&pl); /* the child's ends are the child's */
        r->pid = pid;
    }
    if (rc < 0) {
        pipes_abort(loop, r);
        aio__nh_free(loop, r->id);
        aio__free(r);
        return rc;
    }
    r->next = pr->head;
    if (pr->head)
        pr->head->prev = r;
    pr->head = r;
    if ((rc = aio__reaper_watch(loop, r)) < 0) {
        aio__reaper_kill_and_reap(r->pid);
        pipes_abort(loop, r);
        aio__nh_free(loop, r->id);
        rec_unlink(pr, r);
        aio__free(r);
        return rc;
    }
    *out = (aio_process){r->id};
    return 0;
}

int aio_create_subprocess_exec(aio_loop *loop, const char *const *argv, const aio_process_options *opts,
                               aio_process *out) {
    return create(loop, argv, opts, out);
}

int aio_create_subprocess_shell(aio_loop *loop, const char *cmd, const aio_process_options *opts,
                                aio_process *out) {
    if (!cmd)
        return -EINVAL;
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return create(loop, argv, opts, out);
}

/* ---- the handle's calls ---- */

static aio_stream pipe_of(aio_loop *loop, aio_process p, int i) {
    int err;
    aio__child_rec *r = aio__child_get(loop, p, &err);
    return r ? r->pipes[i] : AIO_STREAM_NULL;
}
aio_stream aio_process_stdin(aio_loop *loop, aio_process p) { return pipe_of(loop, p, 0); }
aio_stream aio_process_stdout(aio_loop *loop, aio_process p) { return pipe_of(loop, p, 1); }
aio_stream aio_process_stderr(aio_loop *loop, aio_process p) { return pipe_of(loop, p, 2); }

int aio_process_pid(aio_loop *loop, aio_process p) {
    int err;
    aio__child_rec *r = aio__child_get(loop, p, &err);
    return r ? (int)r->pid : err;
}

int aio_process_returncode(aio_loop *loop, aio_process p, int *code) {
    int err;
    aio__child_rec *r = aio__child_get(loop, p, &err);
    if (!r)
        return err;
    if (!code)
        return -EINVAL;
    if (!r->reaped)
        return 0;
    if (r->lost)
        return -ECHILD;
    *code = r->code;
    return 1;
}

/* For the task dumps (aio/debug.h): which child. */
static void waits_describe(aio_loop *loop, const aio__waitq *q, char *buf, size_t len) {
    (void)loop;
    const aio__child_rec *r =
        (const aio__child_rec *)(const void *)((const char *)q - offsetof(aio__child_rec, waits));
    snprintf(buf, len, "pid %d", (int)r->pid);
}

aio_future aio_process_wait(aio_loop *loop, aio_process p) {
    int err = aio__loop_usable(loop);
    if (err < 0)
        return aio__error_handle(err);
    aio__child_rec *r = aio__child_get(loop, p, &err);
    if (!r)
        return aio__error_handle(err);
    if (r->reaped) {
        aio_future f = aio_future_new_on(loop);
        if (aio_future_check(f) == 0) {
            if (r->lost)
                aio_future_set_error(loop, f, -ECHILD);
            else
                aio_future_set_result(loop, f, AIO_VALUE(r->code));
        }
        return f;
    }
    static const aio__waitq_ops waits_ops = {.what = "process wait", .describe = waits_describe};
    r->waits.ops = &waits_ops;
    uint32_t idx;
    if ((err = aio__waitq_push(loop, &r->waits, &idx)) < 0)
        return aio__error_handle(err);
    return aio__fut_handle(loop, idx);
}

int aio_process_send_signal(aio_loop *loop, aio_process p, int signo) {
    int err;
    aio__child_rec *r = aio__child_get(loop, p, &err);
    if (!r)
        return err;
    if (signo < 0 || signo >= AIO__NSIG)
        return -EINVAL;
    if (r->reaped)
        return -ESRCH; /* its pid may be someone else's by now */
    return aio__reaper_signal(r, signo);
}

int aio_process_terminate(aio_loop *loop, aio_process p) { return aio_process_send_signal(loop, p, SIGTERM); }
int aio_process_kill(aio_loop *loop, aio_process p) { return aio_process_send_signal(loop, p, SIGKILL); }

int aio_process_close(aio_loop *loop, aio_process p) {
    int err;
    aio__child_rec *r = aio__child_get(loop, p, &err);
    if (!r)
        return err == AIO_ECLOSED ? 0 : err;
    for (int i = 0; i < 3; i++) {
        if (r->pipes[i].id)
            aio_stream_close(loop, r->pipes[i]); /* 0 also if you closed it already */
        r->pipes[i] = AIO_STREAM_NULL;
    }
    aio__nh_free(loop, r->id);
    r->id = 0;
    r->released = true;
    aio__child_maybe_free(loop, r); /* else once reaped */
    return 0;
}
