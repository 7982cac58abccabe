/* libaio — subprocesses (asyncio's create_subprocess_exec and
 * create_subprocess_shell, and asyncio.subprocess.Process).
 *
 * A child's stdin, stdout and stderr are each inherited (the default),
 * /dev/null, a pipe to the parent, an fd of yours, or (stderr only) where
 * stdout goes. A pipe is a stream (aio/stream.h) over the parent's end:
 * write the child's input with aio_stream_write, read its output with any
 * read call; aio_stream_close on stdin sends it end of file. A write to a
 * child that closed its stdin fails with -EPIPE: SIGPIPE never kills the
 * parent. aio_process_communicate writes the input and reads both outputs
 * at once (no deadlock however much the child prints), then awaits the
 * exit; aio_subprocess_run (Python's subprocess.run) does all of it in one
 * call.
 *
 * Spawning is synchronous: posix_spawn (a vfork-like clone on Linux: the
 * parent's memory is not copied, however big it is) returns once the
 * child has run exec, so creating a process is a plain call, not a
 * future. Every fd the library opens is close-on-exec; by default the
 * child gets no fd of ours but 0, 1 and 2 (asyncio's close_fds=True) where
 * the C library can close the others (posix_spawn_file_actions_addclosefrom_np:
 * glibc 2.34 and later); elsewhere it inherits the fds of yours that lack
 * FD_CLOEXEC. The program is looked up in the PATH of this process
 * (posix_spawnp), not in opts->env's.
 *
 * Reaping. The library waits for its own children only, never for
 * waitpid(-1): a child you start yourself is never reaped by it. On Linux
 * (5.3 and later) each child has a pidfd the loop polls, so nothing
 * process-wide changes. Where pidfd_open is missing (older kernels, other
 * systems, valgrind) the loop handles SIGCHLD through aio/signal.h and, on
 * each delivery, calls waitpid(pid, WNOHANG) for each of its own children:
 * while a loop has such a child, SIGCHLD's previous disposition does not
 * run (a SIGCHLD handler of yours, or SIG_IGN's automatic reaping of your
 * own children). Several loops (one per thread) each reap their own
 * children, either way.
 *
 * Who frees what. A process belongs to whoever created it and is given
 * back with aio_process_close, which closes its pipes; the child, if it
 * still runs, is not killed: the loop reaps it in the background when it
 * exits (no zombie). Closing the loop kills (SIGKILL) and reaps every
 * child it still watches, released or not: nothing is left behind (as
 * asyncio's transports kill their child when they are closed). The
 * streams of the pipes belong to the process: aio_process_close closes
 * those still open.
 *
 * Cancelling. As in asyncio, cancelling aio_process_wait or
 * aio_process_communicate stops the waiting and leaves the child alone;
 * with aio_communicate.kill_on_cancel set, a cancelled communicate kills
 * the child (SIGKILL). aio_subprocess_run kills the child on a cancel or
 * any failure, as Python's subprocess.run does; the loop then reaps it.
 * Either way no zombie is left. */
#ifndef AIO_PROCESS_H
#define AIO_PROCESS_H

#include "aio/coro_impl.h"
#include "aio/stream.h"
#include "aio/types.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- a process handle (a small value, checked on every call, as a
 * stream's: AIO_ECLOSED once closed, AIO_EFOREIGN, AIO_ENULL) ---- */
typedef struct aio_process {
    uint64_t id;
} aio_process;
#define AIO_PROCESS_NULL ((aio_process){0})

/* What a child's stdin, stdout or stderr is (asyncio.subprocess's None,
 * PIPE, DEVNULL, STDOUT, or an fd). */
typedef enum aio_stdio {
    AIO_SUBPROCESS_INHERIT = 0, /* None: the parent's own (the default) */
    AIO_SUBPROCESS_PIPE = 1,    /* PIPE: a pipe, the parent's end a stream */
    AIO_SUBPROCESS_DEVNULL = 2, /* DEVNULL: /dev/null */
    AIO_SUBPROCESS_STDOUT = 3,  /* STDOUT (stderr only): wherever stdout goes */
    AIO_SUBPROCESS_FD = 4       /* an fd of yours (in_fd, out_fd, err_fd): the child gets a copy */
} aio_stdio;

/* Zero-initialised: every default (asyncio's). */
typedef struct aio_process_options {
    aio_stdio in, out, err;    /* the child's stdin, stdout, stderr */
    int in_fd, out_fd, err_fd; /* with AIO_SUBPROCESS_FD: the fd (it stays yours, open) */
    const char *cwd;           /* the child's working directory; NULL: ours */
    char *const *env;          /* the child's whole environment ("NAME=value", NULL-ended); NULL: ours */
    int keep_fds;              /* 1: the child also inherits our fds without FD_CLOEXEC (close_fds=False) */
    int new_session;           /* 1: the child runs setsid() (start_new_session=True) */
    int new_process_group;     /* 1: the child leads a new process group (process_group=0) */
    aio_stream_options stream; /* the pipes' streams (their limit and write-buffer marks) */
} aio_process_options;

/* asyncio.create_subprocess_exec: run argv[0] (looked up in PATH unless it
 * has a '/') with arguments argv (NULL-ended; copied: it need not outlive
 * the call). opts may be NULL (every default).
 * Returns: 0 and *out, the new process (yours to close with
 *   aio_process_close).
 * Errors: -ENOENT, -EACCES, -ENOEXEC, ... (the program cannot be run:
 *   where the C library cannot say so, as under valgrind, the child exits
 *   with status 127 instead, as a shell's would), -EINVAL (NULL argv or
 *   argv[0], NULL out, an aio_stdio out of range, AIO_SUBPROCESS_STDOUT
 *   other than for err, AIO_SUBPROCESS_FD with a negative fd), -EBADF (an
 *   fd of AIO_SUBPROCESS_FD that is not open), -EOPNOTSUPP (cwd where the C
 *   library cannot change directory in posix_spawn), -EMFILE, -ENFILE,
 *   -EAGAIN (no process left), -ENOMEM, AIO_ECLOSED.
 * Consumes: nothing (the fds of AIO_SUBPROCESS_FD stay yours). */
int aio_create_subprocess_exec(aio_loop *loop, const char *const *argv, const aio_process_options *opts,
                               aio_process *out);

/* asyncio.create_subprocess_shell: run cmd with /bin/sh -c.
 * Returns: as aio_create_subprocess_exec.
 * Errors: as aio_create_subprocess_exec (-EINVAL: NULL cmd).
 * Consumes: nothing. */
int aio_create_subprocess_shell(aio_loop *loop, const char *cmd, const aio_process_options *opts,
                                aio_process *out);

/* The process a future's result carries (aio_subprocess_run does not
 * give one; this is for your own futures).
 * Returns: the handle (checked when it is used).
 * Errors: none.
 * Consumes: nothing. */
static inline aio_process aio_process_from(aio_value v) {
    aio_process p;
    p.id = v.u;
    return p;
}

/* Process.stdin / stdout / stderr: the stream of that pipe; a stream you
 * closed yourself answers AIO_ECLOSED from then on.
 * Returns: the stream; AIO_STREAM_NULL (whose every call says AIO_ENULL)
 *   when that one is not a pipe, or for a bad process handle.
 * Errors: none (see Returns).
 * Consumes: nothing. */
aio_stream aio_process_stdin(aio_loop *loop, aio_process p);
aio_stream aio_process_stdout(aio_loop *loop, aio_process p);
aio_stream aio_process_stderr(aio_loop *loop, aio_process p);

/* Process.pid.
 * Returns: the child's process id (> 0), also after it exited.
 * Errors: AIO_ECLOSED (closed), AIO_EFOREIGN, AIO_ENULL, -EINVAL (NULL
 *   loop).
 * Consumes: nothing. */
int aio_process_pid(aio_loop *loop, aio_process p);

/* Process.returncode: the exit status as asyncio gives it, once the loop
 * has reaped the child: the exit code (0..255), or -N for a child killed
 * by signal N.
 * Returns: 1 and *code once it exited; 0 while it runs (asyncio's None).
 * Errors: -ECHILD (someone else reaped it: waitpid(-1) elsewhere in the
 *   program, or SIGCHLD set to SIG_IGN; its status is lost), -EINVAL (NULL
 *   code), the handle's (AIO_ECLOSED, AIO_EFOREIGN, AIO_ENULL).
 * Consumes: nothing. */
int aio_process_returncode(aio_loop *loop, aio_process p, int *code);

/* asyncio's Process.wait(): a future done once the child has exited. Any
 * number of waits may be pending; cancelling one only stops that wait. As
 * with asyncio, a child that fills a pipe nobody reads never exits: read
 * its output, or use aio_process_communicate.
 * Returns: a future whose result .i is the return code (as
 *   aio_process_returncode), done at once if the child exited already.
 * Errors: the future's: -ECHILD (as aio_process_returncode). As an error
 *   handle: the handle's (AIO_ECLOSED, ...), -ENOMEM.
 * Consumes: nothing. */
aio_future aio_process_wait(aio_loop *loop, aio_process p);

/* send_signal(signo), terminate() (SIGTERM), kill() (SIGKILL). The signal
 * goes through the child's pidfd where there is one, so it can never reach
 * another process that got the pid after the child was reaped.
 * Returns: 0.
 * Errors: -ESRCH (the child was reaped already: asyncio's
 *   ProcessLookupError), -EINVAL (not a signal number), -EPERM, the
 *   handle's.
 * Consumes: nothing. */
int aio_process_send_signal(aio_loop *loop, aio_process p, int signo);
int aio_process_terminate(aio_loop *loop, aio_process p);
int aio_process_kill(aio_loop *loop, aio_process p);

/* Give the process back: its pipes' streams still open are closed (what
 * stdin buffered is sent first, as aio_stream_close does), the handle
 * answers AIO_ECLOSED from now on. A child still running is NOT killed
 * (asyncio's transport would): the loop reaps it when it exits, and waits
 * already pending still complete then. Kill it first if you mean to.
 * Returns: 0, also for a process closed already.
 * Errors: AIO_EFOREIGN, AIO_ENULL, -EINVAL (NULL loop).
 * Consumes: the process (the handle is dead from now on). */
int aio_process_close(aio_loop *loop, aio_process p);

/* ---- communicate ---- */

/* Where one output goes. Either your buffer (data and cap set), or none
 * (data NULL): the library allocates one with malloc, which is then yours:
 * free() it, whatever the outcome (data always holds the current buffer,
 * also after an error, a cancel, or a loop closed before the end). */
typedef struct aio_output {
    char *data;   /* your buffer of cap bytes, or NULL (the library's, then) */
    size_t cap;   /* its size (set by the library for its own) */
    size_t len;   /* out: the bytes stored */
    size_t limit; /* with data NULL: the most bytes to take (0: no bound) */
} aio_output;

/* What communicate writes and where it reads. The structure must stay
 * valid, and untouched, until the future is done: the library updates the
 * outputs as the bytes come. */
typedef struct aio_communicate {
    const void *input; /* written to stdin, which is then closed; NULL: stdin is just closed */
    size_t input_len;
    aio_output out, err; /* stdout's and stderr's bytes, when they are pipes */
    int kill_on_cancel;  /* 1: a cancelled communicate kills the child (SIGKILL) */
} aio_communicate;

/* asyncio's Process.communicate(input): write the input to stdin (if a
 * pipe) and close it, read stdout and stderr (those that are pipes) to
 * their end, all at once, then await the exit. Like asyncio, a child that
 * closes its stdin before taking all the input is not an error (the rest
 * is dropped: -EPIPE and -ECONNRESET of stdin are ignored). The outputs go
 * to io->out and io->err (see aio_output); a pipe's stream is closed once
 * read to its end, and stdin once written.
 * Returns: a future whose result .i is the return code (as
 *   aio_process_returncode).
 * Errors: the future's: -ENOBUFS (an output did not fit: your buffer's
 *   cap, or the limit; what fit is stored, the rest stays in the pipe),
 *   -ENOMEM, a stream's error (-EIO, AIO_ECLOSED: a pipe closed
 *   meanwhile), -ECHILD, AIO_ECANCELLED. After a failure the child is left
 *   as it is (running or not). As an error handle: -EINVAL (NULL io; input
 *   without a stdin pipe; an output with data NULL but cap set), -EBUSY
 *   (a communicate of this process is under way), the handle's, -ENOMEM.
 * Consumes: nothing. */
aio_future aio_process_communicate(aio_loop *loop, aio_process p, aio_communicate *io);

/* Python's subprocess.run(argv, input=, capture_output=): create the
 * process (as aio_create_subprocess_exec), communicate (io may be NULL:
 * no input, and what pipes print is read and dropped), close it. On a
 * cancel or any failure the child is killed (SIGKILL) and the loop reaps
 * it; the future ends at once, without waiting for that.
 * Returns: a future whose result .i is the return code.
 * Errors: the future's: those of aio_process_communicate. As an error
 *   handle: those of aio_create_subprocess_exec and of
 *   aio_process_communicate.
 * Consumes: nothing. */
aio_future aio_subprocess_run(aio_loop *loop, const char *const *argv, const aio_process_options *opts,
                              aio_communicate *io);

/* Loop or task: inside a coroutine these calls take its task `t` where a
 * loop is asked for. */
#ifndef AIO_BUILDING
#define aio_create_subprocess_exec(x, ...) aio_create_subprocess_exec(AIO__LOOP(x), __VA_ARGS__)
#define aio_create_subprocess_shell(x, ...) aio_create_subprocess_shell(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_stdin(x, ...) aio_process_stdin(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_stdout(x, ...) aio_process_stdout(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_stderr(x, ...) aio_process_stderr(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_pid(x, ...) aio_process_pid(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_returncode(x, ...) aio_process_returncode(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_wait(x, ...) aio_process_wait(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_send_signal(x, ...) aio_process_send_signal(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_terminate(x, ...) aio_process_terminate(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_kill(x, ...) aio_process_kill(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_close(x, ...) aio_process_close(AIO__LOOP(x), __VA_ARGS__)
#define aio_process_communicate(x, ...) aio_process_communicate(AIO__LOOP(x), __VA_ARGS__)
#define aio_subprocess_run(x, ...) aio_subprocess_run(AIO__LOOP(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* AIO_PROCESS_H */
