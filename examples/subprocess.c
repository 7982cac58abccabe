/* Subprocesses: four ways to run a program and talk to it.
 *
 *   1. `sort`, its input written to its stdin by hand and its output read
 *      line by line from its stdout stream (asyncio's proc.stdin.write,
 *      proc.stdout.readline, proc.wait);
 *   2. a shell pipeline that prints 10 MB, read whole with communicate
 *      into a buffer the library allocates (no deadlock, however much it
 *      prints: stdout and stderr are read at once);
 *   3. aio_subprocess_run (Python's subprocess.run): input in, output out,
 *      one call;
 *   4. a child that would sleep for a minute, under a 0.2 s timeout: the
 *      timeout cancels the communicate, which kills the child
 *      (kill_on_cancel); its wait then says how it ended.
 *
 * Prints a summary of each; exits 0 if all went as expected. */
#include <aio/aio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char FRUIT[] = "pear\napple\nfig\nbanana\n";

struct main_frame {
    aio_process p;
    char line[64];
    int lines;
    aio_communicate io;
    size_t zeros;
};

AIO_CORO(run_all, struct main_frame) {
    AIO_BEGIN(t);

    /* 1. sort, by hand. */
    {
        aio_process_options o = {0};
        o.in = AIO_SUBPROCESS_PIPE;
        o.out = AIO_SUBPROCESS_PIPE;
        int rc = aio_create_subprocess_exec(t, (const char *[]){"sort", NULL}, &o, &f->p);
        if (rc < 0) {
            printf("sort: %s\n", aio_strerror(rc));
            AIO_FAIL(t, rc);
        }
        aio_stream_write(t, aio_process_stdin(t, f->p), FRUIT, strlen(FRUIT));
        aio_stream_close(t, aio_process_stdin(t, f->p)); /* sort sees the end of its input */
    }
    for (;;) {
        AIO_AWAIT(t, aio_stream_readline(t, aio_process_stdout(t, f->p), f->line, sizeof f->line - 1));
        if (AIO_ERR(t) < 0 || AIO_RESULT(t).i == 0)
            break;
        f->line[AIO_RESULT(t).i] = '\0';
        printf("sorted: %s", f->line);
        f->lines++;
    }
    AIO_AWAIT(t, aio_process_wait(t, f->p));
    printf("sort: %d lines, exit status %d\n", f->lines, (int)AIO_RESULT(t).i);
    aio_process_close(t, f->p);

    /* 2. 10 MB through a pipe, read with communicate. */
    {
        aio_process_options o = {0};
        o.out = AIO_SUBPROCESS_PIPE;
        o.err = AIO_SUBPROCESS_PIPE;
        int rc = aio_create_subprocess_shell(t, "head -c 10000000 /dev/zero | tr '\\0' x; echo done >&2", &o,
                                             &f->p);
        if (rc < 0) {
            printf("shell: %s\n", aio_strerror(rc));
            AIO_FAIL(t, rc);
        }
    }
    memset(&f->io, 0, sizeof f->io); /* out.data NULL: the library allocates */
    AIO_AWAIT(t, aio_process_communicate(t, f->p, &f->io));
    if (AIO_ERR(t) < 0) {
        printf("communicate: %s\n", aio_strerror(AIO_ERR(t)));
    } else {
        for (size_t i = 0; i < f->io.out.len; i++)
            f->zeros += f->io.out.data[i] == 'x';
        printf("big output: %zu bytes on stdout (%s), stderr \"%.*s\", exit status %d\n", f->io.out.len,
               f->zeros == f->io.out.len ? "all x" : "corrupt", (int)(f->io.err.len ? f->io.err.len - 1 : 0),
               f->io.err.data ? f->io.err.data : "", (int)AIO_RESULT(t).i);
    }
    free(f->io.out.data); /* the library's buffers are ours now */
    free(f->io.err.data);
    aio_process_close(t, f->p);

    /* 3. One call: input in, output out. */
    {
        aio_process_options o = {0};
        o.in = AIO_SUBPROCESS_PIPE;
        o.out = AIO_SUBPROCESS_PIPE;
        memset(&f->io, 0, sizeof f->io);
        f->io.input = "shout\n";
        f->io.input_len = 6;
        f->io.out.data = f->line; /* our buffer this time */
        f->io.out.cap = sizeof f->line;
        AIO_AWAIT(t, aio_subprocess_run(t, (const char *[]){"tr", "a-z", "A-Z", NULL}, &o, &f->io));
    }
    printf("tr a-z A-Z: %.*s", (int)f->io.out.len, f->line);

    /* 4. A child that never ends, under a timeout: killed on the cancel. */
    {
        int rc = aio_create_subprocess_exec(t, (const char *[]){"sleep", "60", NULL}, NULL, &f->p);
        if (rc < 0)
            AIO_FAIL(t, rc);
        memset(&f->io, 0, sizeof f->io);
        f->io.kill_on_cancel = 1;
    }
    AIO_AWAIT(t, aio_wait_for(t, aio_process_communicate(t, f->p, &f->io), 0.2));
    printf("sleep 60 under a 0.2 s timeout: %s", aio_err_name(AIO_ERR(t)));
    AIO_AWAIT(t, aio_process_wait(t, f->p));
    printf(", then its return code: %d (killed by signal %d)\n", (int)AIO_RESULT(t).i, -(int)AIO_RESULT(t).i);
    aio_process_close(t, f->p);
    AIO_RETURN(t, 0);
    AIO_END(t);
}

int main(void) {
    struct main_frame f;
    memset(&f, 0, sizeof f);
    int rc = aio_run(run_all, &f);
    if (rc < 0)
        printf("failed: %s\n", aio_strerror(rc));
    return rc == 0 ? 0 : 1;
}
