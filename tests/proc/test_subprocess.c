/* Subprocesses (aio/process.h): exit codes and signals, the three stdio
 * streams, communicate with big outputs on both streams at once, a child
 * that closes its stdin early (EPIPE, never SIGPIPE), cancellation (a run
 * kills its child; a wait does not), reaping (no zombie left, a child we
 * start ourselves never reaped by the library, two loops on two threads),
 * close-on-exec of every library fd, and failures at each step.
 *
 * Each case runs in a process of its own (ctest: one entry per case and
 * backend): some change SIGPIPE's disposition, hook SIGCHLD, arm fault
 * countdowns, or count the process's children. The *_sigchld cases run
 * another case with pidfd_open failing (ENOSYS, as on kernels before 5.3
 * and under valgrind), so that reaping takes the SIGCHLD route.
 *
 * Under valgrind pidfd_open is missing (the SIGCHLD route is taken there
 * anyway) and posix_spawn becomes a fork that cannot report an exec
 * failure: the child then exits 127. The one case that depends on it
 * checks that instead, when it runs under valgrind (RUNNING_ON_VALGRIND,
 * or valgrind's preload library in LD_PRELOAD). */
#include "support.h"

#ifdef AIO_FAULT_INJECTION
#include "core/fault.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

extern char **environ;

static bool under_valgrind(void) {
#ifdef RUNNING_ON_VALGRIND
    if (RUNNING_ON_VALGRIND)
        return true;
#endif
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload") != NULL;
}

/* ---- helpers ---- */

/* A shell child; stdout and stderr, unless given, go to /dev/null: a
 * child left running by a failed case must not hold ctest's pipe. */
static aio_process sh(aio_loop *loop, const char *cmd, const aio_process_options *opts) {
    aio_process_options o = {0};
    if (opts)
        o = *opts;
    if (o.out == AIO_SUBPROCESS_INHERIT)
        o.out = AIO_SUBPROCESS_DEVNULL;
    if (o.err == AIO_SUBPROCESS_INHERIT)
        o.err = AIO_SUBPROCESS_DEVNULL;
    aio_process p;
    assert_aio_ok(aio_create_subprocess_shell(loop, cmd, &o, &p));
    assert_true(aio_process_pid(loop, p) > 0);
    return p;
}

/* Run the loop until p has exited: its return code. */
static int wait_code(aio_loop *loop, aio_process p) {
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_process_wait(loop, p), &v));
    return (int)v.i;
}

/* How many children this process has (every thread's), from /proc. */
static int children_count(void) {
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[320];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread ended meanwhile */
        int pid;
        while (fscanf(f, "%d", &pid) == 1)
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

/* Nothing of ours left: no child at all (running or zombie), and
 * waitpid(-1) finds none to reap (it would reap a zombie: the test ends
 * here anyway). */
static void assert_no_children(void) {
    assert_int_equal(children_count(), 0);
    int status;
    assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

/* pid is gone for good: reaped (a zombie still answers kill 0). */
static bool reaped(pid_t pid) { return kill(pid, 0) < 0 && errno == ESRCH; }

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own */
}

#ifdef AIO_FAULT_INJECTION
/* pidfd_open fails with ENOSYS from now on: the SIGCHLD route. */
static void force_sigchld_route(void) { aio__fault_sys_arm(AIO__SYS_PIDFD, AIO__FAULT_FROM, 1, ENOSYS); }
#endif

/* ---- exit codes and signals ---- */

static void exit_codes(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    static const int codes[] = {0, 1, 3, 42, 255};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char cmd[32];
        snprintf(cmd, sizeof cmd, "exit %d", codes[i]);
        aio_process p = sh(loop, cmd, NULL);
        assert_int_equal(wait_code(loop, p), codes[i]);
        int code = -1;
        assert_int_equal(aio_process_returncode(loop, p, &code), 1);
        assert_int_equal(code, codes[i]);
        assert_int_equal(wait_code(loop, p), codes[i]); /* again: at once, the same */
        assert_aio_ok(aio_process_close(loop, p));
    }
    /* exec: the program itself, with its arguments; it runs until its
     * stdin ends. */
    aio_process_options o = {0};
    o.in = AIO_SUBPROCESS_PIPE;
    aio_process p;
    assert_aio_ok(aio_create_subprocess_exec(
        loop, (const char *[]){"sh", "-c", "read x; exit $#", "zero", "a", "b", NULL}, &o, &p));
    int code = -1;
    assert_int_equal(aio_process_returncode(loop, p, &code), 0); /* running: asyncio's None */
    assert_int_equal(code, -1);
    aio_stream_close(loop, aio_process_stdin(loop, p));
    assert_int_equal(wait_code(loop, p), 2);
    aio_process_close(loop, p);
    assert_aio_ok(aio_loop_free(loop));
    assert_no_children();
}

static void exit_by_signal(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_process p = sh(loop, "kill -USR1 $$", NULL);
    assert_int_equal(wait_code(loop, p), -SIGUSR1); /* asyncio's returncode: -N */
    aio_process_close(loop, p);

    p = sh(loop, "exec sleep 100", NULL);
    assert_aio_ok(aio_process_terminate(loop, p));
    assert_int_equal(wait_code(loop, p), -SIGTERM);
    assert_aio_err(aio_process_kill(loop, p), -ESRCH); /* reaped: ProcessLookupError */
    aio_process_close(loop, p);

    p = sh(loop, "exec sleep 100", NULL);
    assert_aio_ok(aio_process_kill(loop, p));
    assert_int_equal(wait_code(loop, p), -SIGKILL);
    aio_process_close(loop, p);

    p = sh(loop, "exec sleep 100", NULL);
    assert_aio_ok(aio_process_send_signal(loop, p, 0)); /* only asks whether it is there */
    assert_aio_ok(aio_process_send_signal(loop, p, SIGHUP));
    assert_int_equal(wait_code(loop, p), -SIGHUP);
    aio_process_close(loop, p);

    /* A shell that ignores SIGPIPE still starts its children with the default. */
    signal(SIGPIPE, SIG_IGN);
    p = sh(loop, "kill -PIPE $$; exit 0", NULL);
    assert_int_equal(wait_code(loop, p), -SIGPIPE);
    aio_process_close(loop, p);
    signal(SIGPIPE, SIG_DFL);
    assert_aio_ok(aio_loop_free(loop));
    assert_no_children();
}

/* ---- the stdio streams ---- */

struct sort_result {
    aio_process p;
    char out[256];
    int code;
};
struct sort_frame {
    struct sort_result *r; /* the frame is the task's copy: results go here */
};
AIO_CORO(sort_by_hand, struct sort_frame) {
    AIO_BEGIN(t);
    {
        aio_process_options o = {0};
        o.in = AIO_SUBPROCESS_PIPE;
        o.out = AIO_SUBPROCESS_PIPE;
        assert_aio_ok(aio_create_subprocess_exec(t, (const char *[]){"sort", NULL}, &o, &f->r->p));
        aio_stream in = aio_process_stdin(t, f->r->p);
        assert_aio_ok(aio_stream_write(t, in, "c\nb\na\n", 6));
        assert_int_equal(aio_stream_can_write_eof(t, in), 1);
        assert_aio_ok(aio_stream_write_eof(t, in)); /* a pipe's end of file: closes it */
        assert_aio_err(aio_stream_write(t, in, "x", 1), -EPIPE);
        assert_true(aio_process_stderr(t, f->r->p).id == 0); /* inherited: no stream */
    }
    AIO_AWAIT(t, aio_stream_readexactly(t, aio_process_stdout(t, f->r->p), f->r->out, 6));
    assert_aio_ok(AIO_ERR(t));
    AIO_AWAIT(t, aio_stream_read(t, aio_process_stdout(t, f->r->p), f->r->out + 6, sizeof f->r->out - 6));
    assert_aio_ok(AIO_ERR(t));
    assert_int_equal(AIO_RESULT(t).i, 0); /* its end */
    AIO_AWAIT(t, aio_process_wait(t, f->r->p));
    f->r->code = (int)AIO_RESULT(t).i;
    aio_process_close(t, f->r->p);
    AIO_END(t);
}

static void stdio_streams(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    struct sort_result fr;
    memset(&fr, 0, sizeof fr);
    fr.code = -1;
    assert_aio_ok(
        aio_run_until_complete(loop, aio_spawn(loop, sort_by_hand, &(struct sort_frame){&fr}), NULL));
    assert_memory_equal(fr.out, "a\nb\nc\n", 6);
    assert_int_equal(fr.code, 0);
    assert_aio_err(aio_stream_write(loop, aio_process_stdin(loop, fr.p), "x", 1), AIO_ENULL); /* closed */
    assert_aio_ok(aio_loop_free(loop));
}

static void stdio_modes(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_communicate io;

    /* stderr to stdout (2>&1), stdin from /dev/null. */
    aio_process_options o = {0};
    o.in = AIO_SUBPROCESS_DEVNULL;
    o.out = AIO_SUBPROCESS_PIPE;
    o.err = AIO_SUBPROCESS_STDOUT;
    aio_process p = sh(loop, "echo out; echo err >&2; cat; echo end", &o);
    assert_true(aio_process_stdin(loop, p).id == 0 && aio_process_stderr(loop, p).id == 0);
    memset(&io, 0, sizeof io);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_process_communicate(loop, p, &io), &v));
    assert_int_equal(v.i, 0);
    assert_int_equal(io.out.len, strlen("out\nerr\nend\n"));
    assert_memory_equal(io.out.data, "out\nerr\nend\n", io.out.len);
    assert_null(io.err.data);
    free(io.out.data);
    aio_process_close(loop, p);

    /* stdout to /dev/null, stderr to an fd of ours (a pipe we read). */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    memset(&o, 0, sizeof o);
    o.out = AIO_SUBPROCESS_DEVNULL;
    o.err = AIO_SUBPROCESS_FD;
    o.err_fd = fds[1];
    p = sh(loop, "echo lost; echo found >&2", &o);
    assert_int_equal(wait_code(loop, p), 0);
    assert_true(fcntl(fds[1], F_GETFD) >= 0); /* ours, still open */
    close(fds[1]);
    char buf[64];
    ssize_t n = read(fds[0], buf, sizeof buf);
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "found\n", 6);
    close(fds[0]);
    aio_process_close(loop, p);

    /* fd 1 as stderr: dup2s never overwrite one another (2>&1 of ours). */
    memset(&o, 0, sizeof o);
    o.out = AIO_SUBPROCESS_PIPE;
    o.err = AIO_SUBPROCESS_FD;
    o.err_fd = 2;
    p = sh(loop, "echo piped", &o);
    memset(&io, 0, sizeof io);
    assert_aio_ok(aio_run_until_complete(loop, aio_process_communicate(loop, p, &io), &v));
    assert_int_equal(io.out.len, 6);
    free(io.out.data);
    aio_process_close(loop, p);
    assert_aio_ok(aio_loop_free(loop));
}

static void cwd_env_group(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    char *env[] = {"GREETING=hello there", "PATH=/usr/bin:/bin", NULL};
    aio_process_options o = {0};
    o.out = AIO_SUBPROCESS_PIPE;
    o.cwd = "/";
    o.env = env;
    o.new_process_group = 1;
    aio_process p = sh(
        loop,
        "pwd; echo \"$GREETING\"; echo \"${HOME:-no home}\"; read -r _ _ _ _ pg _ </proc/$$/stat; echo $pg",
        &o);
    aio_communicate io;
    memset(&io, 0, sizeof io);
    char buf[256];
    io.out.data = buf; /* our buffer this time */
    io.out.cap = sizeof buf - 1;
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_process_communicate(loop, p, &io), &v));
    assert_int_equal(v.i, 0);
    assert_ptr_equal(io.out.data, buf);
    buf[io.out.len] = '\0';
    char expect[160];
    snprintf(expect, sizeof expect, "/\nhello there\nno home\n%d\n", aio_process_pid(loop, p));
    assert_string_equal(buf, expect); /* its own process group */
    aio_process_close(loop, p);

    memset(&o, 0, sizeof o);
    o.cwd = "/nonexistent/directory";
    assert_aio_err(aio_create_subprocess_exec(loop, (const char *[]){"true", NULL}, &o, &p),
                   under_valgrind() ? 0 : -ENOENT);
    if (under_valgrind()) { /* no exec failure reported there: the child's 127 */
        assert_int_equal(wait_code(loop, p), 127);
        aio_process_close(loop, p);
    }
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- communicate ---- */

/* Big outputs on both streams at once, and big input through cat at the
 * same time: a communicate that read one stream after the other, or wrote
 * all input first, would deadlock on a full pipe. */
static void big_outputs_both_streams(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    size_t in_len = 6u << 20; /* 6 MiB through cat */
    char *input = malloc(in_len);
    assert_non_null(input);
    for (size_t i = 0; i < in_len; i++)
        input[i] = (char)('a' + i % 26);
    aio_process_options o = {0};
    o.in = AIO_SUBPROCESS_PIPE;
    o.out = AIO_SUBPROCESS_PIPE;
    o.err = AIO_SUBPROCESS_PIPE;
    /* stderr: 3 MB of "e" while cat echoes the input */
    aio_process p = sh(loop, "head -c 3000000 /dev/zero | tr '\\0' e >&2 & cat; wait", &o);
    aio_communicate io;
    memset(&io, 0, sizeof io);
    io.input = input;
    io.input_len = in_len;
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_process_communicate(loop, p, &io), &v));
    assert_int_equal(v.i, 0);
    assert_int_equal(io.out.len, in_len);
    assert_memory_equal(io.out.data, input, in_len);
    assert_int_equal(io.err.len, 3000000);
    for (size_t i = 0; i < io.err.len; i++)
        if (io.err.data[i] != 'e')
            fail_msg("stderr byte %zu is %d", i, io.err.data[i]);
    assert_true(io.out.cap >= io.out.len);
    /* the pipes were closed once read to their end */
    assert_int_equal(aio_stream_is_closing(loop, aio_process_stdout(loop, p)), 1);
    assert_int_equal(aio_stream_is_closing(loop, aio_process_stdin(loop, p)), 1);
    free(io.out.data);
    free(io.err.data);
    free(input);
    aio_process_close(loop, p);
    assert_aio_ok(aio_loop_free(loop));
    assert_no_children();
}

static void communicate_buffers(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_process_options o = {0};
    o.out = AIO_SUBPROCESS_PIPE;
    o.err = AIO_SUBPROCESS_PIPE;
    aio_communicate io;
    char small[10];

    /* Our buffer, exactly the size of the output: fine. */
    aio_process p = sh(loop, "printf 0123456789", &o);
    memset(&io, 0, sizeof io);
    io.out.data = small;
    io.out.cap = sizeof small;
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_process_communicate(loop, p, &io), &v));
    assert_int_equal(io.out.len, 10);
    assert_memory_equal(small, "0123456789", 10);
    assert_int_equal(io.err.len, 0);
    aio_process_close(loop, p);

    /* One byte more: -ENOBUFS, the buffer full, the rest still in the pipe. */
    p = sh(loop, "printf 0123456789A", &o);
    memset(&io, 0, sizeof io);
    io.out.data = small;
    io.out.cap = sizeof small;
    assert_aio_err(aio_run_until_complete(loop, aio_process_communicate(loop, p, &io), NULL), -ENOBUFS);
    assert_int_equal(io.out.len, 10);
    char rest[4];
    assert_aio_ok(
        aio_run_until_complete(loop, aio_stream_read(loop, aio_process_stdout(loop, p), rest, 4), &v));
    assert_int_equal(v.i, 1);
    assert_int_equal(rest[0], 'A');
    assert_int_equal(wait_code(loop, p), 0); /* a failed communicate leaves the child alone */
    aio_process_close(loop, p);

    /* The library's buffer with a limit. */
    p = sh(loop, "head -c 100000 /dev/zero >&2", &o);
    memset(&io, 0, sizeof io);
    io.err.limit = 70000;
    assert_aio_err(aio_run_until_complete(loop, aio_process_communicate(loop, p, &io), NULL), -ENOBUFS);
    assert_int_equal(io.err.len, 70000);
    assert_int_equal(io.err.cap, 70000);
    free(io.err.data);
    free(io.out.data);
    aio_process_kill(loop, p);
    wait_code(loop, p);
    aio_process_close(loop, p);

    /* No pipe at all: communicate is a wait. */
    p = sh(loop, "exit 5", NULL);
    memset(&io, 0, sizeof io);
    assert_aio_ok(aio_run_until_complete(loop, aio_process_communicate(loop, p, &io), &v));
    assert_int_equal(v.i, 5);
    assert_null(io.out.data);
    aio_process_close(loop, p);
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- stdin closed early: EPIPE, never SIGPIPE ---- */

static void stdin_closed_early(void **state) {
    (void)state;
    /* The default disposition, which would end the process. */
    struct sigaction dfl, before, after;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, &before);
    sigset_t mask_before, mask_after;
    pthread_sigmask(SIG_SETMASK, NULL, &mask_before);

    aio_loop *loop = test_loop_new(0);
    size_t big = 1u << 20;
    char *data = calloc(1, big);
    assert_non_null(data);
    aio_process_options o = {0};
    o.in = AIO_SUBPROCESS_PIPE;

    /* The child is gone: the write itself fails. */
    aio_process p = sh(loop, "exec 0<&-; exit 0", &o);
    assert_int_equal(wait_code(loop, p), 0);
    assert_aio_err(aio_stream_write(loop, aio_process_stdin(loop, p), data, big), -EPIPE);
    aio_process_close(loop, p);

    /* It reads one byte and leaves: what was buffered cannot go, the drain
     * says so. */
    p = sh(loop, "head -c 1 >/dev/null", &o);
    aio_stream in = aio_process_stdin(loop, p);
    int rc = aio_stream_write(loop, in, data, big);
    if (rc == 0)
        rc = aio_run_until_complete(loop, aio_stream_drain(loop, in), NULL);
    assert_aio_err(rc, -EPIPE);
    assert_int_equal(wait_code(loop, p), 0);
    aio_process_close(loop, p);

    /* communicate ignores it (asyncio's): the output and the code come. */
    memset(&o, 0, sizeof o);
    o.in = AIO_SUBPROCESS_PIPE;
    o.out = AIO_SUBPROCESS_PIPE;
    p = sh(loop, "head -c 5; exit 7", &o);
    aio_communicate io;
    memset(&io, 0, sizeof io);
    io.input = data;
    io.input_len = big;
    memset(data, 'z', 5);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(loop, aio_process_communicate(loop, p, &io), &v));
    assert_int_equal(v.i, 7);
    assert_int_equal(io.out.len, 5);
    assert_memory_equal(io.out.data, "zzzzz", 5);
    free(io.out.data);
    aio_process_close(loop, p);

    /* Nothing process-wide changed. */
    sigaction(SIGPIPE, NULL, &after);
    assert_true(after.sa_handler == SIG_DFL);
    pthread_sigmask(SIG_SETMASK, NULL, &mask_after);
    assert_int_equal(sigismember(&mask_after, SIGPIPE), sigismember(&mask_before, SIGPIPE));
    sigset_t pending;
    sigpending(&pending);
    assert_false(sigismember(&pending, SIGPIPE));
    sigaction(SIGPIPE, &before, NULL);
    free(data);
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- cancellation ---- */

/* A child that never exits: the run's cancel (here, its timeout) kills
 * it, and the loop reaps it. */
static void never_exits_killed_on_cancel(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_future run = aio_subprocess_run(loop, (const char *[]){"sleep", "100", NULL}, NULL, NULL);
    assert_aio_err(aio_run_until_complete(loop, aio_wait_for(loop, run, 0.1), NULL), AIO_ETIMEDOUT);
    /* killed; reaped by the loop as it runs */
    for (int i = 0; i < 200 && children_count() > 0; i++)
        aio_run_until_complete(loop, aio_sleep(loop, 0.01), NULL);
    assert_no_children();

    /* communicate with kill_on_cancel: the same, for a process of ours */
    aio_process_options o = {0};
    o.out = AIO_SUBPROCESS_PIPE;
    aio_process p = sh(loop, "echo started; exec sleep 100", &o);
    pid_t pid = aio_process_pid(loop, p);
    aio_communicate io;
    memset(&io, 0, sizeof io);
    io.kill_on_cancel = 1;
    assert_aio_err(
        aio_run_until_complete(loop, aio_wait_for(loop, aio_process_communicate(loop, p, &io), 0.1), NULL),
        AIO_ETIMEDOUT);
    assert_int_equal(io.out.len, 8); /* what came before the cancel stays ours */
    assert_memory_equal(io.out.data, "started\n", 8);
    free(io.out.data);
    assert_int_equal(wait_code(loop, p), -SIGKILL);
    assert_true(reaped(pid));
    aio_process_close(loop, p);

    /* asyncio's: a cancelled wait or communicate leaves the child alone */
    p = sh(loop, "exec sleep 100", &o);
    assert_aio_err(aio_run_until_complete(loop, aio_wait_for(loop, aio_process_wait(loop, p), 0.05), NULL),
                   AIO_ETIMEDOUT);
    memset(&io, 0, sizeof io);
    assert_aio_err(
        aio_run_until_complete(loop, aio_wait_for(loop, aio_process_communicate(loop, p, &io), 0.05), NULL),
        AIO_ETIMEDOUT);
    free(io.out.data);
    int code;
    assert_int_equal(aio_process_returncode(loop, p, &code), 0); /* still running */
    assert_aio_ok(aio_process_kill(loop, p));
    assert_int_equal(wait_code(loop, p), -SIGKILL);
    aio_process_close(loop, p);
    assert_aio_ok(aio_loop_free(loop));
    assert_no_children();
}

/* ---- reaping ---- */

/* Every way a child can end, and the loop closed with some running: no
 * zombie left. */
static void no_zombies(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    pid_t pids[6];
    aio_process p;
    /* exited and waited for */
    p = sh(loop, "exit 1", NULL);
    pids[0] = aio_process_pid(loop, p);
    wait_code(loop, p);
    aio_process_close(loop, p);
    /* closed while it runs: reaped in the background once it exits */
    p = sh(loop, "sleep 0.1", NULL);
    pids[1] = aio_process_pid(loop, p);
    aio_process_close(loop, p);
    /* exited, never waited for, closed */
    p = sh(loop, "exit 0", NULL);
    pids[2] = aio_process_pid(loop, p);
    aio_run_until_complete(loop, aio_sleep(loop, 0.05), NULL);
    aio_process_close(loop, p);
    for (int i = 0; i < 300 && !reaped(pids[1]); i++)
        aio_run_until_complete(loop, aio_sleep(loop, 0.01), NULL);
    assert_true(reaped(pids[0]) && reaped(pids[1]) && reaped(pids[2]));
    /* still running when the loop closes: killed and reaped by the close,
     * with their handles open or closed */
    p = sh(loop, "exec sleep 100", NULL);
    pids[3] = aio_process_pid(loop, p);
    p = sh(loop, "exec sleep 100", NULL);
    pids[4] = aio_process_pid(loop, p);
    aio_process_close(loop, p);
    aio_process_options o = {0};
    o.out = AIO_SUBPROCESS_PIPE;
    p = sh(loop, "exec sleep 100", &o);
    pids[5] = aio_process_pid(loop, p);
    aio_future w = aio_process_wait(loop, p); /* pending at close: freed with the loop */
    (void)w;
    assert_int_equal(children_count(), 3);
    assert_aio_ok(aio_loop_free(loop));
    for (int i = 0; i < 6; i++)
        assert_true(reaped(pids[i]));
    assert_no_children();
}

/* A child this program starts itself is never reaped by the library. */
static void own_child_not_stolen(void **state) {
    (void)state;
    pid_t own;
    char *argv[] = {"sh", "-c", "exit 7", NULL};
    assert_int_equal(posix_spawnp(&own, "sh", NULL, NULL, argv, environ), 0);
    char *argv2[] = {"sh", "-c", "sleep 0.2; exit 9", NULL};
    pid_t own_late;
    assert_int_equal(posix_spawnp(&own_late, "sh", NULL, NULL, argv2, environ), 0);
    aio_loop *loop = test_loop_new(0);
    for (int i = 0; i < 5; i++) {
        aio_process p = sh(loop, "sleep 0.05", NULL);
        assert_int_equal(wait_code(loop, p), 0);
        aio_process_close(loop, p);
    }
    aio_process p = sh(loop, "sleep 0.3", NULL); /* outlives own_late */
    assert_int_equal(wait_code(loop, p), 0);
    aio_process_close(loop, p);
    assert_aio_ok(aio_loop_free(loop));
    int status;
    assert_int_equal(waitpid(own, &status, 0), own);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
    assert_int_equal(waitpid(own_late, &status, 0), own_late);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 9);
    assert_no_children();
}

/* Someone else reaps our child (waitpid(-1) elsewhere in the program): the
 * wait says -ECHILD; it never hangs. */
static void child_reaped_elsewhere(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_process_options o = {0};
    o.in = AIO_SUBPROCESS_PIPE;
    aio_process p = sh(loop, "read x; exit 3", &o); /* runs until its stdin ends */
    pid_t pid = aio_process_pid(loop, p);
    aio_stream_close(loop, aio_process_stdin(loop, p));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid); /* stolen, before the loop looks */
    assert_aio_err(aio_run_until_complete(loop, aio_process_wait(loop, p), NULL), -ECHILD);
    int code;
    assert_aio_err(aio_process_returncode(loop, p, &code), -ECHILD);
    assert_aio_err(aio_process_kill(loop, p), -ESRCH);
    aio_process_close(loop, p);
    assert_aio_ok(aio_loop_free(loop));
}

/* Two loops on two threads, each running subprocesses at once. */
struct thread_arg {
    int id;
    int ok;
};

static void *loop_thread(void *arg) {
    struct thread_arg *a = arg;
    aio_loop *loop = NULL;
    if (aio_loop_create(&loop, NULL) < 0)
        return NULL;
    char input[4096];
    memset(input, 'a' + a->id, sizeof input);
    int good = 0;
    for (int i = 0; i < 10; i++) {
        aio_process_options o = {0};
        o.in = AIO_SUBPROCESS_PIPE;
        o.out = AIO_SUBPROCESS_PIPE;
        aio_communicate io;
        memset(&io, 0, sizeof io);
        io.input = input;
        io.input_len = sizeof input;
        char argv2[16];
        snprintf(argv2, sizeof argv2, "%d", i);
        aio_value v;
        int rc = aio_run_until_complete(
            loop,
            aio_subprocess_run(loop, (const char *[]){"sh", "-c", "cat; exit $0", argv2, NULL}, &o, &io), &v);
        if (rc == 0 && v.i == i && io.out.len == sizeof input &&
            memcmp(io.out.data, input, sizeof input) == 0)
            good++;
        free(io.out.data);
        /* and a wait on a process of the loop's own */
        aio_process p;
        if (aio_create_subprocess_exec(loop, (const char *[]){"sh", "-c", "exit 4", NULL}, NULL, &p) == 0) {
            if (aio_run_until_complete(loop, aio_process_wait(loop, p), &v) == 0 && v.i == 4)
                good++;
            aio_process_close(loop, p);
        }
    }
    aio_loop_free(loop);
    a->ok = good;
    return NULL;
}

static void two_loops_two_threads(void **state) {
    (void)state;
    pthread_t th[2];
    struct thread_arg args[2] = {{0, 0}, {1, 0}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, loop_thread, &args[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(args[0].ok, 20);
    assert_int_equal(args[1].ok, 20);
    assert_no_children();
}

/* ---- close-on-exec ---- */

/* The child (this binary, run with --list-fds) prints its open fds. */
static int list_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 1;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) != self)
            printf("%s\n", e->d_name);
    closedir(d);
    return 0;
}

/* The fds the child got, as a bit set of the first 256. */
static void child_fds(aio_loop *loop, int keep_fds, bool got[256]) {
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    aio_process_options o = {0};
    o.out = AIO_SUBPROCESS_PIPE;
    o.keep_fds = keep_fds;
    aio_communicate io;
    memset(&io, 0, sizeof io);
    aio_value v;
    assert_aio_ok(aio_run_until_complete(
        loop, aio_subprocess_run(loop, (const char *[]){exe, "--list-fds", NULL}, &o, &io), &v));
    assert_int_equal(v.i, 0);
    memset(got, 0, 256);
    char *save = NULL;
    char *text = malloc(io.out.len + 1);
    assert_non_null(text);
    memcpy(text, io.out.data, io.out.len);
    text[io.out.len] = '\0';
    for (char *tok = strtok_r(text, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
        int fd = atoi(tok);
        if (fd >= 0 && fd < 256)
            got[fd] = true;
    }
    free(text);
    free(io.out.data);
}

static void never_called(aio_loop *loop, int signo, void *arg) {
    (void)loop;
    (void)signo;
    (void)arg;
    fail_msg("no signal was sent");
}

static void no_library_fd_inherited(void **state) {
    (void)state;
    /* The fds this process had before (ctest's, cmocka's) that a child may
     * inherit: left out of the check. */
    bool inherited_before[256] = {false};
    for (int fd = 0; fd < 256; fd++) {
        int fl = fcntl(fd, F_GETFD);
        inherited_before[fd] = fl >= 0 && !(fl & FD_CLOEXEC);
    }
    aio_loop *loop = test_loop_new(0);
    /* Library fds of every kind: epoll/poll, the wakeup eventfd (executor
     * job), a signal eventfd, a pidfd and pipes (a live child), a stream
     * socket pair. */
    assert_aio_ok(aio_add_signal_handler(loop, SIGUSR2, never_called, NULL));
    aio_process_options o = {0};
    o.in = AIO_SUBPROCESS_PIPE;
    o.out = AIO_SUBPROCESS_PIPE;
    o.err = AIO_SUBPROCESS_PIPE;
    aio_process live = sh(loop, "exec sleep 100", &o);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    aio_stream s1, s2;
    assert_aio_ok(aio_stream_open_fd(loop, sv[0], NULL, &s1));
    assert_aio_ok(aio_stream_open_fd(loop, sv[1], NULL, &s2));
    int open_before = open_fds();
    assert_true(open_before >= 3 + 8); /* stdio, the loop's, the child's pidfd and pipes, the pair */

    bool got[256];
    child_fds(loop, 1, got); /* keep_fds: only close-on-exec keeps ours out */
    assert_true(got[0] && got[1] && got[2]);
    for (int fd = 3; fd < 256; fd++)
        if (got[fd] && !inherited_before[fd])
            fail_msg("the child inherited fd %d", fd);

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    /* By default (close_fds), not even an inheritable fd of ours. */
    int mine = dup(0);
    assert_true(mine >= 3);
    child_fds(loop, 1, got);
    assert_true(got[mine]); /* the control: with keep_fds it is there */
    child_fds(loop, 0, got);
    for (int fd = 3; fd < 256; fd++)
        if (got[fd])
            fail_msg("close_fds: the child got fd %d", fd);
    close(mine);
#endif
    aio_process_kill(loop, live);
    wait_code(loop, live);
    aio_process_close(loop, live);
    aio_stream_close(loop, s1);
    aio_stream_close(loop, s2);
    assert_aio_ok(aio_loop_free(loop));
}

/* ---- the task dumps (aio/debug.h) say what a task waits on ---- */

struct await_frame {
    aio_process p;
    bool communicate;
    aio_communicate io; /* the task's copy of the frame holds it */
};
AIO_CORO(await_process, struct await_frame) {
    AIO_BEGIN(t);
    if (f->communicate)
        AIO_AWAIT(t, aio_process_communicate(t, f->p, &f->io));
    else
        AIO_AWAIT(t, aio_process_wait(t, f->p));
    free(f->io.out.data);
    AIO_END(t);
}

static void task_dump_names_the_process(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_process_options o = {0};
    o.out = AIO_SUBPROCESS_PIPE;
    aio_process a = sh(loop, "exec sleep 100", NULL);
    aio_process b = sh(loop, "exec sleep 100", &o);
    aio_future ta = aio_spawn(loop, await_process, &(struct await_frame){a, false, {0}});
    aio_future tb = aio_spawn(loop, await_process, &(struct await_frame){b, true, {0}});
    test_run_iterations(loop, 3);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    assert_aio_ok(aio_print_tasks(loop, out, 0));
    fclose(out);
    char expect[64];
    snprintf(expect, sizeof expect, "process wait (1 waiting): pid %d", aio_process_pid(loop, a));
    if (!strstr(text, expect))
        fail_msg("no \"%s\" in:\n%s", expect, text);
    snprintf(expect, sizeof expect, "communicate: pid %d, reading stdout", aio_process_pid(loop, b));
    if (!strstr(text, expect))
        fail_msg("no \"%s\" in:\n%s", expect, text);
    free(text);
    aio_process_kill(loop, a);
    aio_process_kill(loop, b);
    assert_aio_ok(aio_run_until_complete(loop, ta, NULL));
    assert_aio_ok(aio_run_until_complete(loop, tb, NULL));
    aio_process_close(loop, a);
    aio_process_close(loop, b);
    assert_aio_ok(aio_loop_free(loop));
    assert_no_children();
}

/* ---- errors ---- */

static void errors(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    aio_process p;
    /* a program that is not there */
    int rc = aio_create_subprocess_exec(loop, (const char *[]){"no-such-program-here", NULL}, NULL, &p);
    if (under_valgrind()) {
        assert_aio_ok(rc);
        assert_int_equal(wait_code(loop, p), 127);
        aio_process_close(loop, p);
    } else {
        assert_aio_err(rc, -ENOENT);
    }
    /* bad arguments */
    assert_aio_err(aio_create_subprocess_exec(loop, NULL, NULL, &p), -EINVAL);
    assert_aio_err(aio_create_subprocess_exec(loop, (const char *[]){NULL}, NULL, &p), -EINVAL);
    assert_aio_err(aio_create_subprocess_exec(loop, (const char *[]){"true", NULL}, NULL, NULL), -EINVAL);
    assert_aio_err(aio_create_subprocess_shell(loop, NULL, NULL, &p), -EINVAL);
    assert_aio_err(aio_create_subprocess_shell(NULL, "true", NULL, &p), -EINVAL);
    aio_process_options o = {0};
    o.out = AIO_SUBPROCESS_STDOUT;
    assert_aio_err(aio_create_subprocess_shell(loop, "true", &o, &p), -EINVAL);
    memset(&o, 0, sizeof o);
    o.in = (aio_stdio)9;
    assert_aio_err(aio_create_subprocess_shell(loop, "true", &o, &p), -EINVAL);
    memset(&o, 0, sizeof o);
    o.err = AIO_SUBPROCESS_FD;
    o.err_fd = -1;
    assert_aio_err(aio_create_subprocess_shell(loop, "true", &o, &p), -EINVAL);
    o.err_fd = 999;
    assert_aio_err(aio_create_subprocess_shell(loop, "true", &o, &p), -EBADF);
    memset(&o, 0, sizeof o);
    o.new_session = o.new_process_group = 1;
    assert_aio_err(aio_create_subprocess_shell(loop, "true", &o, &p), -EINVAL);
    /* bad handles */
    assert_aio_err(aio_process_pid(loop, AIO_PROCESS_NULL), AIO_ENULL);
    assert_aio_err(aio_future_check(aio_process_wait(loop, AIO_PROCESS_NULL)), AIO_ENULL);
    assert_true(aio_process_stdout(loop, AIO_PROCESS_NULL).id == 0);
    assert_aio_err(aio_process_close(loop, AIO_PROCESS_NULL), AIO_ENULL);
    aio_loop *other = test_loop_new(0);
    p = sh(loop, "exit 0", NULL);
    assert_aio_err(aio_process_pid(other, p), AIO_EFOREIGN);
    assert_aio_err(aio_process_kill(other, p), AIO_EFOREIGN);
    int code;
    assert_aio_err(aio_process_returncode(loop, p, NULL), -EINVAL);
    assert_aio_err(aio_process_send_signal(loop, p, -1), -EINVAL);
    assert_aio_err(aio_process_send_signal(loop, p, 4096), -EINVAL);
    aio_communicate io;
    memset(&io, 0, sizeof io);
    io.input = "x";
    io.input_len = 1;
    assert_aio_err(aio_future_check(aio_process_communicate(loop, p, &io)), -EINVAL); /* no stdin pipe */
    assert_aio_err(aio_future_check(aio_process_communicate(loop, p, NULL)), -EINVAL);
    memset(&io, 0, sizeof io);
    io.out.cap = 10; /* a size without a buffer */
    assert_aio_err(aio_future_check(aio_process_communicate(loop, p, &io)), -EINVAL);
    memset(&io, 0, sizeof io);
    aio_future c1 = aio_process_communicate(loop, p, &io);
    assert_aio_ok(aio_future_check(c1));
    aio_communicate io2;
    memset(&io2, 0, sizeof io2);
    assert_aio_err(aio_future_check(aio_process_communicate(loop, p, &io2)), -EBUSY);
    assert_aio_ok(aio_run_until_complete(loop, c1, NULL));
    assert_aio_ok(aio_process_close(loop, p));
    assert_aio_ok(aio_process_close(loop, p)); /* again: nothing */
    assert_aio_err(aio_process_pid(loop, p), AIO_ECLOSED);
    assert_aio_err(aio_process_returncode(loop, p, &code), AIO_ECLOSED);
    assert_aio_err(aio_future_check(aio_process_wait(loop, p)), AIO_ECLOSED);
    assert_aio_err(aio_process_kill(loop, p), AIO_ECLOSED);
    assert_aio_ok(aio_loop_free(other));
    assert_aio_ok(aio_loop_close(loop));
    assert_aio_err(aio_create_subprocess_shell(loop, "true", NULL, &p), AIO_ECLOSED);
    assert_aio_ok(aio_loop_free(loop));
    assert_no_children();
}

#ifdef AIO_FAULT_INJECTION
/* ---- failures at each step leave nothing behind ---- */

static void system_call_failures(void **state) {
    (void)state;
    int fds_before = open_fds();
    aio_loop *loop = test_loop_new(0);
    aio_process_options o = {0};
    o.in = AIO_SUBPROCESS_PIPE;
    o.out = AIO_SUBPROCESS_PIPE;
    o.err = AIO_SUBPROCESS_DEVNULL;
    aio_process p;
    /* warm up: the loop's tables and the network module exist */
    p = sh(loop, "exit 0", &o);
    wait_code(loop, p);
    aio_process_close(loop, p);
    aio_run_until_complete(loop, aio_sleep(loop, 0.01), NULL);
    int fds = open_fds();

    aio__fault_sys_arm(AIO__SYS_PIPE, AIO__FAULT_ONCE, 2, EMFILE); /* the second pipe */
    assert_aio_err(aio_create_subprocess_shell(loop, "exit 0", &o, &p), -EMFILE);
    aio__fault_sys_arm(AIO__SYS_PIPE, AIO__FAULT_ONCE, 3, ENFILE); /* /dev/null */
    assert_aio_err(aio_create_subprocess_shell(loop, "exit 0", &o, &p), -ENFILE);
    aio__fault_sys_arm(AIO__SYS_SPAWN, AIO__FAULT_ONCE, 1, EAGAIN);
    assert_aio_err(aio_create_subprocess_shell(loop, "exit 0", &o, &p), -EAGAIN);
    aio__fault_reset();
    assert_int_equal(open_fds(), fds);
    assert_no_children();

    /* pidfd_open out of fds: the SIGCHLD route for that child instead (its
     * signal fd stays until the loop closes) */
    aio__fault_sys_arm(AIO__SYS_PIDFD, AIO__FAULT_ONCE, 1, EMFILE);
    p = sh(loop, "exit 6", &o);
    assert_int_equal(wait_code(loop, p), 6);
    aio_process_close(loop, p);
    aio__fault_reset();
    assert_aio_ok(aio_loop_free(loop));
    assert_int_equal(open_fds(), fds_before);
    assert_no_children();
}

/* Every allocation of a spawn failing in turn, each on a new loop: the
 * spawn fails with -ENOMEM and leaves nothing (no fd, no child), or gives
 * a process that works. On the SIGCHLD route the hook's allocations come
 * after the spawn: the child started is then killed and reaped. */
static void alloc_failures(bool sigchld) {
    int fds = open_fds();
    bool after_spawn = false;
    for (long n = 1;; n++) {
        aio_loop *loop = test_loop_new(0);
        if (sigchld)
            force_sigchld_route();
        aio_process_options o = {0};
        o.in = AIO_SUBPROCESS_PIPE;
        o.out = AIO_SUBPROCESS_PIPE;
        long spawns = aio__fault_sys_seen(AIO__SYS_SPAWN);
        aio__fault_alloc_arm(AIO__FAULT_ONCE, n);
        aio_process p;
        int rc = aio_create_subprocess_shell(loop, "exit 3", &o, &p);
        long failed = aio__fault_alloc_failed();
        aio__fault_alloc_arm(AIO__FAULT_OFF, 1);
        if (rc < 0) {
            assert_aio_err(rc, -ENOMEM);
            assert_int_equal(failed, 1);
            after_spawn |= aio__fault_sys_seen(AIO__SYS_SPAWN) > spawns;
        } else {
            assert_int_equal(wait_code(loop, p), 3);
            aio_process_close(loop, p);
        }
        aio__fault_reset();
        assert_aio_ok(aio_loop_free(loop));
        assert_int_equal(open_fds(), fds);
        assert_no_children();
        if (failed == 0)
            break; /* past the last allocation */
    }
    /* Where pidfd_open is missing (valgrind), every spawn takes the SIGCHLD route. */
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (pidfd >= 0)
        close(pidfd);
    assert_true(after_spawn == (sigchld || pidfd < 0));
}

static void alloc_failures_pidfd(void **state) {
    (void)state;
    alloc_failures(false);
}
static void alloc_failures_sigchld(void **state) {
    (void)state;
    alloc_failures(true);
}
#endif

/* ---- the SIGCHLD route ---- */

#ifdef AIO_FAULT_INJECTION
static void exit_codes_sigchld(void **state) {
    force_sigchld_route();
    exit_codes(state);
}
static void exit_by_signal_sigchld(void **state) {
    force_sigchld_route();
    exit_by_signal(state);
}
static void big_outputs_sigchld(void **state) {
    force_sigchld_route();
    big_outputs_both_streams(state);
}
static void never_exits_sigchld(void **state) {
    force_sigchld_route();
    never_exits_killed_on_cancel(state);
}
static void no_zombies_sigchld(void **state) {
    force_sigchld_route();
    no_zombies(state);
}
static void own_child_sigchld(void **state) {
    force_sigchld_route();
    own_child_not_stolen(state);
}
static void two_loops_sigchld(void **state) {
    force_sigchld_route(); /* both loops share SIGCHLD */
    two_loops_two_threads(state);
}

static int sigchld_calls;
static void count_sigchld(aio_loop *loop, int signo, void *arg) {
    (void)loop;
    (void)arg;
    sigchld_calls += signo == SIGCHLD;
}

/* The route hooks SIGCHLD beside a handler of the application's (both
 * run), and gives it back when its last child is reaped. */
static void sigchld_route_shares_and_restores(void **state) {
    (void)state;
    force_sigchld_route();
    struct sigaction sa;
    sigaction(SIGCHLD, NULL, &sa);
    assert_true(sa.sa_handler == SIG_DFL);
    aio_loop *loop = test_loop_new(0);
    aio_process p = sh(loop, "sleep 0.05", NULL);
    sigaction(SIGCHLD, NULL, &sa);
    assert_true(sa.sa_handler != SIG_DFL); /* hooked while it runs */
    assert_aio_ok(aio_add_signal_handler(loop, SIGCHLD, count_sigchld, NULL));
    assert_int_equal(wait_code(loop, p), 0);
    aio_process_close(loop, p);
    for (int i = 0; i < 100 && sigchld_calls == 0; i++)
        aio_run_until_complete(loop, aio_sleep(loop, 0.01), NULL);
    assert_true(sigchld_calls >= 1);
    assert_int_equal(aio_remove_signal_handler(loop, SIGCHLD), 1);
    sigaction(SIGCHLD, NULL, &sa);
    assert_true(sa.sa_handler == SIG_DFL); /* the last child reaped: given back */
    assert_aio_ok(aio_loop_free(loop));
    assert_no_children();
}
#endif

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--list-fds") == 0)
        return list_fds();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exit_codes),
        cmocka_unit_test(exit_by_signal),
        cmocka_unit_test(stdio_streams),
        cmocka_unit_test(stdio_modes),
        cmocka_unit_test(cwd_env_group),
        cmocka_unit_test(big_outputs_both_streams),
        cmocka_unit_test(communicate_buffers),
        cmocka_unit_test(stdin_closed_early),
        cmocka_unit_test(never_exits_killed_on_cancel),
        cmocka_unit_test(no_zombies),
        cmocka_unit_test(own_child_not_stolen),
        cmocka_unit_test(child_reaped_elsewhere),
        cmocka_unit_test(two_loops_two_threads),
        cmocka_unit_test(no_library_fd_inherited),
        cmocka_unit_test(task_dump_names_the_process),
        cmocka_unit_test(errors),
#ifdef AIO_FAULT_INJECTION
        cmocka_unit_test(system_call_failures),
        cmocka_unit_test(alloc_failures_pidfd),
        cmocka_unit_test(alloc_failures_sigchld),
        cmocka_unit_test(exit_codes_sigchld),
        cmocka_unit_test(exit_by_signal_sigchld),
        cmocka_unit_test(big_outputs_sigchld),
        cmocka_unit_test(never_exits_sigchld),
        cmocka_unit_test(no_zombies_sigchld),
        cmocka_unit_test(own_child_sigchld),
        cmocka_unit_test(two_loops_sigchld),
        cmocka_unit_test(sigchld_route_shares_and_restores),
#endif
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]); /* one case per process: see the top */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
