/* asyncio's Process.communicate, and aio_subprocess_run (Python's
 * subprocess.run) on top of it.
 *
 * A communicate is an owner state (core/owner.h) driving up to four child
 * futures at once, each with a done callback: the stdin writer (a write of
 * a chunk, then a drain), the stdout and stderr readers, and, once all
 * three are over, the wait for the exit. A reader is a zero-copy read (it
 * ends once bytes are buffered, or at the end); its callback copies what
 * is buffered into the caller's output (aio_stream_peek, then _consume):
 * a combinator reads for its caller, so the bytes are in the caller's
 * output from then on, whatever happens next, and a library buffer is
 * allocated only when bytes come, sized for them. Input goes in 64 KiB
 * chunks, each drained before the next, so a big input is not copied
 * whole into the stream's buffer.
 *
 * The end (result, failure or cancel) abandons every child still pending:
 * a callback not yet scheduled is removed and its future dropped (a read
 * not yet taken leaves its bytes in the stream); one already scheduled
 * still runs, sees the end and only drops its future. The state is freed
 * once the future is done and no callback of ours is left to run. */
#include "core/callbacks.h"
#include "core/futures.h"
#include "core/handles.h"
#include "core/mem.h"
#include "core/owner.h"
#include "proc/process.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define IN_CHUNK ((size_t)65536)
#define OUT_FIRST ((size_t)4096) /* a library buffer's first size; it doubles */

enum { OP_IN, OP_OUT, OP_ERR, OP_WAIT, NOPS };

typedef struct comm {
    aio__owner owner;
    uint32_t fut;
    aio_process p;
    aio_communicate *io;
    aio_communicate own; /* aio_subprocess_run without io: no input, outputs dropped */
    aio_stream pipe[3];  /* the pipes still served (AIO_STREAM_NULL: done, or none) */
    size_t in_off;
    uint32_t op[NOPS]; /* a child future with our callback on it, or AIO__NIL */
    unsigned live;     /* callbacks of ours registered and not yet run */
    bool lib[2];       /* stdout's, stderr's buffer is the library's (data was NULL) */
    bool run;          /* aio_subprocess_run: kill on failure, close at the end */
    bool drop_output;  /* run without io */
    bool starting;     /* inside start(): not freed even if it ends there */
    bool done;
} comm;

static void on_in(aio_loop *loop, aio_future f, void *arg);
static void on_out(aio_loop *loop, aio_future f, void *arg);
static void on_err(aio_loop *loop, aio_future f, void *arg);
static void on_wait(aio_loop *loop, aio_future f, void *arg);
static const aio_done_callback op_cb[NOPS] = {on_in, on_out, on_err, on_wait};

static void maybe_free(aio_loop *loop, comm *c) {
    if (c->done && c->live == 0 && !c->starting)
        aio__owner_free(loop, &c->owner);
}

/* The end: every child still pending abandoned, the child killed if the
 * call says so, our future completed. */
static void finish(aio_loop *loop, comm *c, int err, aio_value v, bool kill_child) {
    c->done = true;
    for (int i = 0; i < NOPS; i++) {
        uint32_t idx = c->op[i];
        if (idx == AIO__NIL || aio__fut_remove_node(loop, idx, op_cb[i], c) == 0)
            continue; /* none, or its callback is scheduled: it drops the future */
        c->op[i] = AIO__NIL;
        c->live--;
        aio__abandon(loop, idx, true);
    }
    int e;
    aio__child_rec *r = aio__child_get(loop, c->p, &e);
    if (r) {
        r->communicating = false;
        if (kill_child && !r->reaped)
            (void)aio__reaper_signal(r, SIGKILL); /* the loop reaps it */
    }
    if (c->run)
        aio_process_close(loop, c->p);
    aio__owned_finish(loop, c->fut, err, v);
    maybe_free(loop, c);
}

static void fail(aio_loop *loop, comm *c, int err) { finish(loop, c, err, AIO_NONE, c->run); }

/* Put our callback on child future f (whose reference is ours); 0, or the
 * error (f's, or of registering: f is dropped). */
static int watch(aio_loop *loop, comm *c, aio_future f, int which) {
    uint32_t idx;
    int rc = aio__fut_lookup(loop, f, &idx);
    if (rc < 0)
        return rc; /* an error handle: the call's error */
    /* Done already (a read of bytes buffered, a drain with room): the
     * callback runs next iteration all the same. */
    if ((rc = aio_future_add_done_callback(loop, f, op_cb[which], c)) < 0) {
        aio__abandon(loop, idx, true);
        return rc;
    }
    c->op[which] = idx;
    c->live++;
    return 0;
}

/* The wait for the exit, once no pipe is served any more. */
static void maybe_wait(aio_loop *loop, comm *c) {
    if (c->done || c->pipe[0].id || c->pipe[1].id || c->pipe[2].id || c->op[OP_WAIT] != AIO__NIL)
        return;
    int rc = watch(loop, c, aio_process_wait(loop, c->p), OP_WAIT);
    if (rc < 0)
        fail(loop, c, rc);
}

/* ---- stdin ---- */

static void in_next(aio_loop *loop, comm *c) {
    const char *input = c->io->input;
    size_t len = c->io->input_len;
    int rc = 0;
    if (c->in_off < len) {
        size_t n = len - c->in_off < IN_CHUNK ? len - c->in_off : IN_CHUNK;
        rc = aio_stream_write(loop, c->pipe[0], input + c->in_off, n);
        if (rc == 0) {
            c->in_off += n;
            if ((rc = watch(loop, c, aio_stream_drain(loop, c->pipe[0]), OP_IN)) == 0)
                return;
        }
    }
    /* All sent, or the child stopped reading: asyncio's communicate ignores
     * BrokenPipeError and ConnectionResetError of stdin. */
    if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET) {
        fail(loop, c, rc);
        return;
    }
    aio_stream_close(loop, c->pipe[0]); /* sends what is buffered, then the end of file */
    c->pipe[0] = AIO_STREAM_NULL;
    maybe_wait(loop, c);
}

/* ---- stdout, stderr ---- */

static aio_output *output_of(comm *c, int which) { return which == OP_OUT ? &c->io->out : &c->io->err; }

/* Room for `more` bytes after len in a library buffer (it doubles, up to
 * the limit): 0, or -ENOMEM. At the limit it stops growing: the caller
 * then stores what fits. */
static int grow(aio_output *o, size_t more) {
    if (o->cap - o->len >= more)
        return 0;
    size_t cap = o->cap ? o->cap : OUT_FIRST;
    while (cap - o->len < more && cap <= SIZE_MAX / 2)
        cap *= 2;
    if (o->limit && cap > o->limit)
        cap = o->limit;
    if (cap <= o->cap)
        return 0;
    char *d = aio__realloc(o->data, cap);
    if (!d)
        return -ENOMEM;
    o->data = d;
    o->cap = cap;
    return 0;
}

/* A zero-copy read: it ends once bytes are buffered (or at the end), and
 * out_done copies them (so a library buffer is allocated only for bytes
 * that came, and sized for them). */
static void out_next(aio_loop *loop, comm *c, int which) {
    int rc = watch(loop, c, aio_stream_read(loop, c->pipe[which], NULL, 0), which);
    if (rc < 0)
        fail(loop, c, rc);
}

static void out_done(aio_loop *loop, comm *c, int which, int err, aio_value v) {
    aio_output *o = output_of(c, which);
    aio_stream s = c->pipe[which];
    if (err < 0) {
        fail(loop, c, err);
        return;
    }
    if (v.i == 0) {
        aio_stream_close(loop, s); /* its end: asyncio closes the pipe */
        c->pipe[which] = AIO_STREAM_NULL;
        maybe_wait(loop, c);
        return;
    }
    size_t avail = 0;
    const char *src = aio_stream_peek(loop, s, &avail);
    size_t n = avail;
    if (!c->drop_output) {
        if (c->lib[which - OP_OUT] && (err = grow(o, avail)) < 0) {
            fail(loop, c, err);
            return;
        }
        n = o->cap - o->len < avail ? o->cap - o->len : avail;
        if (n)
            memcpy(o->data + o->len, src, n);
        o->len += n;
    }
    aio_stream_consume(loop, s, n); /* no read waits: it cannot fail */
    if (n < avail)
        fail(loop, c, -ENOBUFS); /* more than fits: the rest stays in the stream */
    else
        out_next(loop, c, which);
}

/* ---- the callbacks ---- */

/* Our callback on child `which` ran: the child's outcome (taken now), or
 * 1 if the communicate has ended meanwhile (the future is only dropped:
 * a read's bytes then stay in the stream). */
static int child_outcome(aio_loop *loop, comm *c, int which, aio_value *v) {
    uint32_t idx = c->op[which];
    c->op[which] = AIO__NIL;
    c->live--;
    if (c->done) {
        aio__fut_consume(loop, idx);
        maybe_free(loop, c);
        return 1;
    }
    int err = aio__fut_outcome(loop, idx, v);
    aio__fut_consume(loop, idx);
    return err;
}

static void on_in(aio_loop *loop, aio_future f, void *arg) {
    (void)f;
    comm *c = arg;
    aio_value v;
    int err = child_outcome(loop, c, OP_IN, &v);
    if (err == 1)
        return;
    if (err == 0) {
        in_next(loop, c);
        return;
    }
    if (err != -EPIPE && err != -ECONNRESET) {
        fail(loop, c, err);
        return;
    }
    c->in_off = c->io->input_len; /* the child stopped reading: no more input */
    in_next(loop, c);
}

static void on_read(aio_loop *loop, comm *c, int which) {
    aio_value v;
    int err = child_outcome(loop, c, which, &v);
    if (err != 1)
        out_done(loop, c, which, err, v);
}
static void on_out(aio_loop *loop, aio_future f, void *arg) {
    (void)f;
    on_read(loop, arg, OP_OUT);
}
static void on_err(aio_loop *loop, aio_future f, void *arg) {
    (void)f;
    on_read(loop, arg, OP_ERR);
}

static void on_wait(aio_loop *loop, aio_future f, void *arg) {
    (void)f;
    comm *c = arg;
    aio_value v;
    int err = child_outcome(loop, c, OP_WAIT, &v);
    if (err == 1)
        return;
    if (err < 0)
        fail(loop, c, err);
    else
        finish(loop, c, 0, v, false);
}

static int comm_cancel(aio_loop *loop, aio__owner *o, const char *msg) {
    comm *c = (comm *)o;
    if (c->done)
        return 0;
    aio_value v;
    v.p = (void *)(uintptr_t)msg;
    finish(loop, c, AIO_ECANCELLED, v, c->run || c->io->kill_on_cancel);
    return 1;
}

/* For the task dumps (aio/debug.h): the process and what is under way. */
static void comm_describe(aio_loop *loop, aio__owner *o, aio__owner_info *info) {
    comm *c = (comm *)o;
    static const char *const doing[NOPS] = {"writing stdin", "reading stdout", "reading stderr",
                                            "waiting for the exit"};
    int n = snprintf(info->text, info->len, "%s: pid %d", c->run ? "subprocess run" : "communicate",
                     aio_process_pid(loop, c->p));
    for (int i = 0; i < NOPS; i++) {
        bool busy = i == OP_WAIT ? c->op[i] != AIO__NIL : c->pipe[i].id != 0;
        if (busy && n >= 0 && (size_t)n < info->len)
            n += snprintf(info->text + n, info->len - (size_t)n, ", %s", doing[i]);
        if (c->op[i] != AIO__NIL)
            info->child(info, c->op[i], op_cb[i], c);
    }
}

static const aio__owner_ops comm_ops = {.cancel = comm_cancel, .describe = comm_describe};

/* ---- starting ---- */

static int check_output(const aio_output *o) { return !o->data && o->cap ? -EINVAL : 0; }

static int check_io(const aio_communicate *io, bool has_stdin) {
    if (io->input && io->input_len && !has_stdin)
        return -EINVAL; /* input with nowhere to go */
    int rc = check_output(&io->out);
    return rc ? rc : check_output(&io->err);
}

static aio_future start(aio_loop *loop, aio_process p, aio_communicate *io, bool run) {
    int rc = aio__loop_usable(loop);
    if (rc < 0)
        return aio__error_handle(rc);
    aio__child_rec *r = aio__child_get(loop, p, &rc);
    if (!r)
        return aio__error_handle(rc);
    if (!io && !run)
        return aio__error_handle(-EINVAL);
    if (io && (rc = check_io(io, r->pipes[0].id != 0)) < 0)
        return aio__error_handle(rc);
    if (r->communicating)
        return aio__error_handle(-EBUSY);
    uint32_t me;
    comm *c = aio__owner_new(loop, sizeof *c, &comm_ops, &me);
    if (!c)
        return aio__error_handle(-ENOMEM);
    memset((char *)c + sizeof c->owner, 0, sizeof *c - sizeof c->owner);
    c->fut = me;
    c->p = p;
    c->run = run;
    c->io = io ? io : &c->own;
    c->drop_output = io == NULL;
    for (int i = 0; i < NOPS; i++)
        c->op[i] = AIO__NIL;
    for (int i = 0; i < 3; i++)
        c->pipe[i] = r->pipes[i];
    r->communicating = true;
    aio_future handle = aio__fut_handle(loop, me);
    /* Outputs: a caller's buffer keeps its cap; a library one starts
     * empty (and grows in out_done). */
    for (int w = OP_OUT; w <= OP_ERR; w++) {
        aio_output *o = output_of(c, w);
        o->len = 0;
        c->lib[w - OP_OUT] = o->data == NULL;
    }
    /* Each step may end the communicate at once (a failure): stop there.
     * The caller's reference keeps the handle valid, `starting` the state. */
    c->starting = true;
    if (c->pipe[0].id)
        in_next(loop, c);
    for (int w = OP_OUT; w <= OP_ERR && !c->done; w++)
        if (c->pipe[w].id)
            out_next(loop, c, w);
    if (!c->done)
        maybe_wait(loop, c);
    c->starting = false;
    maybe_free(loop, c);
    return handle;
}

aio_future aio_process_communicate(aio_loop *loop, aio_process p, aio_communicate *io) {
    return start(loop, p, io, false);
}

aio_future aio_subprocess_run(aio_loop *loop, const char *const *argv, const aio_process_options *opts,
                              aio_communicate *io) {
    if (io && check_io(io, opts && opts->in == AIO_SUBPROCESS_PIPE) < 0)
        return aio__error_handle(-EINVAL); /* before a child is started for nothing */
    aio_process p;
    int rc = aio_create_subprocess_exec(loop, argv, opts, &p);
    if (rc < 0)
        return aio__error_handle(rc);
    aio_future f = start(loop, p, io, true);
    if (aio_future_check(f) < 0) {
        aio_process_kill(loop, p);
        aio_process_close(loop, p); /* the loop reaps it */
    }
    return f;
}
