/* The random API-sequence interpreter (random_api.h). */
#include "random_api.h"

#include "core/fault.h"

#include <aio/aio.h>
#include <aio/combinators.h>
#include <aio/executor.h>

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HANDLES 48
#define MAX_OPS 600

/* What we know of a handle we created. */
enum kind { K_PLAIN, K_TASK, K_SLEEP, K_COMB, K_ITER, K_NEXT, K_JOB };
enum known { UNKNOWN, SET_RESULT, SET_ERROR, CANCELLED };

typedef struct href {
    aio_future f;
    int refs; /* references we hold (0: kept to try a stale or borrowed handle) */
    enum kind kind;
    enum known known;
    int64_t value;
} href;

typedef struct interp {
    const uint8_t *data;
    size_t size, pos;
    aio_loop *loop;
    aio_future foreign; /* a handle of a loop freed earlier */
    href h[MAX_HANDLES];
    int n;
    rapi_result *out;
} interp;

static void violation(interp *in, const char *fmt, ...) {
    if (in->out->violations++ > 0)
        return;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(in->out->first, sizeof in->out->first, "op %ld: %s", in->out->ops, msg);
}

/* The next byte of the program (0 once it is over). */
static unsigned byte(interp *in) { return in->pos < in->size ? in->data[in->pos++] : 0; }
static bool over(const interp *in) { return in->pos >= in->size; }

/* ---- return-code oracles ---- */

/* rc must be 0 (or >= 0) or one of the listed codes (0-terminated). */
static bool allowed(interp *in, int rc, const char *what, ...) {
    if (rc >= 0)
        return true;
    va_list ap;
    va_start(ap, what);
    int code;
    bool ok = false;
    while ((code = va_arg(ap, int)) != 0)
        if (code == rc)
            ok = true;
    va_end(ap);
    if (!ok)
        violation(in, "%s returned %s", what, aio_err_name(rc));
    return ok;
}

/* A lookup on a handle: held (refs > 0) it may not be stale; else any
 * lookup code goes. */
static bool lookup_ok(interp *in, const href *r, int rc, const char *what) {
    if (r->refs > 0 && (rc == AIO_ESTALE || rc == AIO_EFOREIGN || rc == AIO_ENULL)) {
        violation(in, "%s: a handle we hold is %s", what, aio_err_name(rc));
        return false;
    }
    return true;
}

/* ---- the handle table ---- */

static href *add(interp *in, aio_future f, enum kind k) {
    if (aio_future_check(f) < 0)
        return NULL;
    if (in->n == MAX_HANDLES) { /* full: forget the oldest (its references go back) */
        if (in->h[0].refs > 0 && aio_future_release(in->loop, in->h[0].f) < 0)
            violation(in, "release of a held handle failed");
        for (int r = in->h[0].refs - 1; r > 0; r--)
            (void)aio_future_release(in->loop, in->h[0].f);
        memmove(&in->h[0], &in->h[1], (size_t)(MAX_HANDLES - 1) * sizeof in->h[0]);
        in->n--;
    }
    href *r = &in->h[in->n++];
    memset(r, 0, sizeof *r);
    r->f = f;
    r->refs = 1;
    r->kind = k;
    return r;
}

static href *pick(interp *in) { return in->n ? &in->h[byte(in) % in->n] : NULL; }

/* A handle we hold a reference to, or NULL. */
static href *pick_held(interp *in) {
    unsigned start = byte(in);
    for (int i = 0; i < in->n; i++) {
        href *r = &in->h[(start + (unsigned)i) % (unsigned)in->n];
        if (r->refs > 0)
            return r;
    }
    return NULL;
}

/* ---- coroutines, jobs, callbacks ---- */

struct coro {
    int op;
    double delay;
    int64_t value;
    aio_future awaited; /* T_AWAIT: a reference handed to the task */
};
enum { T_RETURN, T_SLEEP, T_AWAIT, T_FAIL, T_YIELD };

AIO_CORO(rapi_task, struct coro) {
    AIO_BEGIN(t);
    switch (f->op) {
    case T_SLEEP:
        AIO_AWAIT(t, aio_sleep(t, f->delay));
        break;
    case T_AWAIT:
        AIO_AWAIT(t, f->awaited);
        break;
    case T_YIELD:
        AIO_YIELD(t);
        break;
    case T_FAIL:
        AIO_FAIL(t, -EIO);
    default:
        break;
    }
    AIO_RETURN(t, f->value);
    AIO_END(t);
}

static int rapi_job(void *arg, aio_value *out) {
    (void)arg;
    *out = AIO_VALUE(77);
    return 0;
}

static void noop(aio_loop *loop, void *arg) { (void)loop, (void)arg; }
static void noop_done(aio_loop *loop, aio_future f, void *arg) { (void)loop, (void)f, (void)arg; }
static void quiet(aio_loop *loop, const aio_report *r, void *arg) { (void)loop, (void)r, (void)arg; }

static double a_time(interp *in) {
    static const double times[] = {0.0, 0.001, 0.01, 0.5, -1.0, INFINITY, -INFINITY, 1e300, NAN, 5e-324};
    return times[byte(in) % 10];
}

/* ---- loops ---- */

static void new_loop(interp *in) {
    aio_loop_options o = {0};
    o.virtual_clock = 1;
    int rc = aio_loop_create(&in->loop, &o);
    if (rc == -ENOMEM) { /* a fault the program armed: try again without */
        aio__fault_reset();
        rc = aio_loop_create(&in->loop, &o);
    }
    if (rc < 0) {
        violation(in, "aio_loop_create: %s", aio_err_name(rc));
        in->loop = NULL;
        return;
    }
    (void)aio_loop_set_exception_handler(in->loop, quiet, NULL);
    in->n = 0;
}

static void end_loop(interp *in) {
    if (!in->loop)
        return;
    if (in->n > 0)
        in->foreign = in->h[0].f;
    int rc = aio_loop_free(in->loop);
    if (rc != 0)
        violation(in, "aio_loop_free: %s", aio_err_name(rc));
    in->loop = NULL;
    in->n = 0;
}

/* ---- operations ---- */

/* Up to 4 distinct held handles, one reference each taken for a consuming
 * call (consume = true) or only borrowed. */
static size_t pick_set(interp *in, aio_future *out, href **refs, bool consume) {
    size_t k = 1 + byte(in) % 4, n = 0;
    for (size_t i = 0; i < k; i++) {
        href *r = pick_held(in);
        if (!r)
            break;
        bool dup = false;
        for (size_t j = 0; j < n; j++)
            dup |= refs[j] == r;
        if (dup)
            continue;
        out[n] = r->f;
        refs[n++] = r;
    }
    if (consume)
        for (size_t i = 0; i < n; i++)
            refs[i]->refs--; /* consumed on every path */
    return n;
}

static void op_check_outcome(interp *in, href *r) {
    aio_value v;
    int d = aio_future_done(in->loop, r->f);
    lookup_ok(in, r, d, "aio_future_done");
    int rc = aio_future_result(in->loop, r->f, &v);
    lookup_ok(in, r, rc, "aio_future_result");
    if (r->refs == 0)
        return;
    switch (r->known) {
    case SET_RESULT:
        if (rc != 0 || v.i != r->value)
            violation(in, "a future set to %lld reads %s / %lld", (long long)r->value, aio_err_name(rc),
                      (long long)v.i);
        break;
    case SET_ERROR:
        if (rc != -EIO)
            violation(in, "a future failed with -EIO reads %s", aio_err_name(rc));
        break;
    case CANCELLED:
        if (rc != AIO_ECANCELLED)
            violation(in, "a cancelled future reads %s", aio_err_name(rc));
        break;
    default:
        if (d == 0 && rc != AIO_ENOTDONE)
            violation(in, "a pending future's result: %s", aio_err_name(rc));
        break;
    }
}

static bool tracing;

static void step(interp *in) {
    aio_loop *loop = in->loop;
    unsigned op = byte(in) % 24;
    if (tracing)
        fprintf(stderr, "op %ld: %u (%d handles)\n", in->out->ops, op, in->n);
    href *r;
    aio_future set[4];
    href *refs[4];
    size_t n;
    int rc;
    switch (op) {
    case 0: { /* a plain future */
        aio_future f = aio_future_new(loop);
        if (allowed(in, aio_future_check(f), "aio_future_new", -ENOMEM, 0))
            add(in, f, K_PLAIN);
        break;
    }
    case 1:
    case 2: /* set a result or an error */
        if (!(r = pick(in)))
            break;
        {
            int64_t v = byte(in);
            rc = op == 1 ? aio_future_set_result(loop, r->f, AIO_VALUE(v))
                         : aio_future_set_error(loop, r->f, -EIO);
            if (lookup_ok(in, r, rc, "set_result/set_error") && r->refs > 0)
                allowed(in, rc, "set_result/set_error", AIO_EDONE, AIO_EISTASK, 0);
            if (rc == 0 && r->refs > 0) {
                if (r->known != UNKNOWN)
                    violation(in, "a future completed twice");
                r->known = op == 1 ? SET_RESULT : SET_ERROR;
                r->value = v;
            }
        }
        break;
    case 3: /* cancel */
        if (!(r = pick(in)))
            break;
        rc = aio_future_cancel(loop, r->f, byte(in) & 1 ? "msg" : NULL);
        if (lookup_ok(in, r, rc, "aio_future_cancel") && r->refs > 0)
            allowed(in, rc, "aio_future_cancel", -ENOMEM, 0);
        if (rc == 1 && r->refs > 0 && r->kind == K_PLAIN && r->known == UNKNOWN)
            r->known = CANCELLED;
        break;
    case 4: { /* a task */
        struct coro c = {(int)(byte(in) % 5), a_time(in), byte(in), {0}};
        if (c.op == T_SLEEP && (isinf(c.delay) || isnan(c.delay)))
            c.delay = 0.01;
        href *w = NULL;
        if (c.op == T_AWAIT) {
            if (!(w = pick_held(in)))
                break;
            c.awaited = w->f;
        }
        aio_future t = aio_spawn(loop, rapi_task, &c);
        rc = aio_future_check(t);
        if (allowed(in, rc, "aio_spawn", -ENOMEM, 0) && rc == 0) {
            if (w)
                w->refs--; /* handed to the task, which consumes it when it awaits */
            add(in, t, K_TASK);
        }
        break;
    }
    case 5: { /* a sleep */
        double d = a_time(in);
        aio_future s = aio_sleep(loop, d);
        rc = aio_future_check(s);
        if (isinf(d) || isnan(d)) {
            if (rc != -EINVAL)
                violation(in, "aio_sleep(%g): %s, not -EINVAL", d, aio_err_name(rc));
        } else if (allowed(in, rc, "aio_sleep", -ENOMEM, 0)) {
            add(in, s, K_SLEEP);
        }
        break;
    }
    case 6: /* gather */
        n = pick_set(in, set, refs, true);
        if (n == 0)
            break;
        {
            aio_future g = aio_gather(loop, set, n, NULL, byte(in) % 4);
            if (allowed(in, aio_future_check(g), "aio_gather", -ENOMEM, 0) && aio_future_check(g) == 0)
                add(in, g, K_COMB);
        }
        break;
    case 7: /* wait */
        n = pick_set(in, set, refs, false);
        if (n == 0)
            break;
        {
            aio_future w = aio_wait(loop, set, n, a_time(in), (aio_return_when)(byte(in) % 3));
            if (allowed(in, aio_future_check(w), "aio_wait", -ENOMEM, -EINVAL, 0) && aio_future_check(w) == 0)
                add(in, w, K_COMB);
        }
        break;
    case 8: /* wait_for */
        if (!(r = pick_held(in)))
            break;
        r->refs--;
        {
            aio_future w = aio_wait_for(loop, r->f, a_time(in));
            if (allowed(in, aio_future_check(w), "aio_wait_for", -ENOMEM, -EINVAL, 0) &&
                aio_future_check(w) == 0)
                add(in, w, K_COMB);
        }
        break;
    case 9: /* shield */
        if (!(r = pick_held(in)))
            break;
        r->refs--;
        {
            aio_future s = aio_shield(loop, r->f);
            if (allowed(in, aio_future_check(s), "aio_shield", -ENOMEM, 0) && aio_future_check(s) == 0)
                add(in, s, K_COMB);
        }
        break;
    case 10: /* as_completed */
        n = pick_set(in, set, refs, false);
        if (n == 0)
            break;
        {
            aio_future it = aio_as_completed(loop, set, n, a_time(in));
            if (allowed(in, aio_future_check(it), "aio_as_completed", -ENOMEM, -EINVAL, 0) &&
                aio_future_check(it) == 0)
                add(in, it, K_ITER);
        }
        break;
    case 11: /* as_completed_next */
        for (int i = 0; i < in->n; i++) {
            r = &in->h[(byte(in) + (unsigned)i) % (unsigned)in->n];
            if (r->kind != K_ITER || r->refs == 0)
                continue;
            aio_future x = aio_as_completed_next(loop, r->f);
            rc = aio_future_check(x);
            if (allowed(in, rc, "aio_as_completed_next", -ENOMEM, -ENOENT, AIO_ETIMEDOUT, AIO_ECANCELLED,
                        0) &&
                rc == 0)
                add(in, x, K_NEXT);
            break;
        }
        break;
    case 12: /* retain */
        if (!(r = pick_held(in)))
            break;
        rc = aio_future_check(aio_future_retain(loop, r->f));
        if (allowed(in, rc, "aio_future_retain", -ENOMEM, 0) && rc == 0)
            r->refs++;
        break;
    case 13: /* release */
        if (!(r = pick_held(in)))
            break;
        rc = aio_future_release(loop, r->f);
        if (rc != 0)
            violation(in, "aio_future_release of a held handle: %s", aio_err_name(rc));
        r->refs--;
        break;
    case 14: /* look at a future */
        if ((r = pick(in)))
            op_check_outcome(in, r);
        break;
    case 15: { /* call_soon, call_later, and sometimes cancel it */
        aio_handle hd;
        double d = a_time(in);
        rc = byte(in) & 1 ? aio_call_soon(loop, noop, NULL, &hd) : aio_call_later(loop, d, noop, NULL, &hd);
        allowed(in, rc, "call_soon/call_later", -ENOMEM, -EINVAL, 0);
        if (rc == 0 && byte(in) & 1)
            allowed(in, aio_handle_cancel(loop, hd), "aio_handle_cancel", 0);
        break;
    }
    case 16: /* done callbacks */
        if (!(r = pick_held(in)))
            break;
        rc = aio_future_add_done_callback(loop, r->f, noop_done, in);
        allowed(in, rc, "aio_future_add_done_callback", -ENOMEM, 0);
        if (rc == 0 && byte(in) & 1)
            allowed(in, aio_future_remove_done_callback(loop, r->f, noop_done, in), "remove_done_callback",
                    0);
        break;
    case 17: { /* run until a sleep ends */
        aio_future s = aio_sleep(loop, 0.001 * (byte(in) % 20));
        rc = aio_run_until_complete(loop, s, NULL);
        allowed(in, rc, "aio_run_until_complete(sleep)", -ENOMEM, 0);
        break;
    }
    case 18: /* run until a held future is done (consumes our reference) */
        if (!(r = pick_held(in)))
            break;
        {
            aio_value v;
            r->refs--;
            rc = aio_run_until_complete(loop, r->f, &v);
            if (rc == AIO_ESTALE || rc == AIO_ERUNNING || rc == AIO_ECLOSED)
                violation(in, "aio_run_until_complete: %s", aio_err_name(rc));
            if (r->known == SET_RESULT && (rc != 0 || v.i != r->value))
                violation(in, "run_until_complete of a future set to %lld: %s", (long long)r->value,
                          aio_err_name(rc));
        }
        break;
    case 19: /* move the virtual clock */
        rc = aio_loop_advance(loop, a_time(in));
        allowed(in, rc, "aio_loop_advance", -EINVAL, 0);
        break;
    case 20: { /* an executor job; sometimes the default pool's shutdown */
        aio_future j;
        if (byte(in) % 8 == 0) {
            double d = a_time(in);
            j = aio_shutdown_default_executor(loop, d);
            rc = aio_future_check(j);
            if (isnan(d) ? rc != -EINVAL : !allowed(in, rc, "aio_shutdown_default_executor", -ENOMEM, 0))
                violation(in, "aio_shutdown_default_executor(%g): %s", d, aio_err_name(rc));
        } else {
            /* AIO_ECLOSED once the default pool was shut down */
            j = aio_run_in_executor(loop, NULL, rapi_job, NULL);
            allowed(in, aio_future_check(j), "aio_run_in_executor", -ENOMEM, -EAGAIN, AIO_ECLOSED, 0);
        }
        add(in, j, K_JOB);
        break;
    }
    case 21: { /* allocation faults */
        unsigned b = byte(in);
        if (b % 3 == 0)
            aio__fault_alloc_arm(AIO__FAULT_ONCE, 1 + b % 8);
        else if (b % 3 == 1)
            aio__fault_alloc_arm(AIO__FAULT_FROM, 1 + b % 8);
        else
            aio__fault_reset();
        break;
    }
    case 22: /* close and start over; a handle of the old loop is foreign now */
        if (byte(in) % 4 != 0)
            break;
        end_loop(in);
        new_loop(in);
        if (in->loop && aio_future_check(in->foreign) == 0) {
            rc = aio_future_done(in->loop, in->foreign);
            if (rc != AIO_EFOREIGN)
                violation(in, "a freed loop's handle on a new loop: %s", aio_err_name(rc));
        }
        break;
    case 23: /* cancel a task with a message */
        for (int i = 0; i < in->n; i++) {
            r = &in->h[(byte(in) + (unsigned)i) % (unsigned)in->n];
            if (r->kind != K_TASK || r->refs == 0)
                continue;
            rc = aio_task_cancel(loop, r->f, "stop");
            allowed(in, rc, "aio_task_cancel", -ENOMEM, 0);
            break;
        }
        break;
    default:
        break;
    }
}

void rapi_run(const uint8_t *data, size_t size, rapi_result *out) {
    memset(out, 0, sizeof *out);
    interp in;
    memset(&in, 0, sizeof in);
    in.data = data;
    in.size = size;
    in.out = out;
    const char *tr = getenv("AIO_RANDOM_TRACE");
    tracing = tr && *tr && *tr != '0';
    aio__fault_reset();
    new_loop(&in);
    while (in.loop && !over(&in) && out->ops < MAX_OPS) {
        step(&in);
        out->ops++;
    }
    aio__fault_reset();
    if (in.loop) {
        /* Every held handle still answers; then the loop frees whole. */
        for (int i = 0; i < in.n; i++)
            if (in.h[i].refs > 0)
                op_check_outcome(&in, &in.h[i]);
        end_loop(&in);
    }
}
