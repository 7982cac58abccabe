/* Debug mode (aio/debug.h): slow callbacks and task steps reported with
 * their location, failed futures nobody looked at reported with where they
 * were created (this file is compiled with AIO_DEBUG_SITES), tasks pending
 * at close reported with their await sites; nothing of it when off.
 * Slowness is real time: a callback sleeps 30 ms against a 5 ms threshold
 * (or 10 s, for "not slow"), generous both ways on a loaded machine. */
#define AIO_DEBUG_SITES
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------- */

#define MAX_REPORTS 16
typedef struct reports {
    int n;
    struct {
        char message[128];
        char location[1024];
        bool has_location;
        aio_future future;
        int error;
    } r[MAX_REPORTS];
} reports;

static void collect(aio_loop *loop, const aio_report *report, void *arg) {
    (void)loop;
    reports *rs = arg;
    if (rs->n == MAX_REPORTS)
        return;
    snprintf(rs->r[rs->n].message, sizeof rs->r[rs->n].message, "%s", report->message);
    snprintf(rs->r[rs->n].location, sizeof rs->r[rs->n].location, "%s",
             report->location ? report->location : "");
    rs->r[rs->n].has_location = report->location != NULL;
    rs->r[rs->n].future = report->future;
    rs->r[rs->n].error = report->error;
    rs->n++;
}

/* A virtual-clock loop, debug mode as asked, slow above `slow` seconds. */
static aio_loop *debug_loop(int debug, double slow, reports *rs) {
    aio_loop_options opts = {0};
    opts.virtual_clock = 1;
    opts.debug = debug;
    opts.slow_callback_duration = slow;
    aio_loop *loop = NULL;
    assert_aio_ok(aio_loop_create(&loop, &opts));
    memset(rs, 0, sizeof *rs);
    assert_aio_ok(aio_loop_set_exception_handler(loop, collect, rs));
    return loop;
}

static void busy(void) {
    struct timespec ts = {0, 30 * 1000 * 1000}; /* 30 ms: "slow" against 5 ms */
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static bool starts_with(const char *s, const char *head) { return strncmp(s, head, strlen(head)) == 0; }

/* "...test_debug_mode.c:LINE..." is in s. */
static bool names_line(const char *s, const char *what, int line) {
    char want[128];
    snprintf(want, sizeof want, "test_debug_mode.c:%d%s", line, what);
    return strstr(s, want) != NULL;
}

/* ---- settings ---------------------------------------------------------------- */

static void debug_settings(void **state) {
    (void)state;
    reports rs;
    aio_loop *loop = debug_loop(-1, 0, &rs);
    assert_int_equal(aio_loop_get_debug(loop), 0);
    assert_true(aio_loop_get_slow_callback_duration(loop) == 0.1);
    assert_aio_ok(aio_loop_set_debug(loop, 1));
    assert_int_equal(aio_loop_get_debug(loop), 1);
    assert_aio_ok(aio_loop_set_slow_callback_duration(loop, 0.25));
    assert_true(aio_loop_get_slow_callback_duration(loop) == 0.25);
    assert_aio_err(aio_loop_set_slow_callback_duration(loop, -1), -EINVAL);
    assert_aio_err(aio_loop_set_slow_callback_duration(loop, NAN), -EINVAL);
    assert_aio_err(aio_loop_set_slow_callback_duration(loop, INFINITY), -EINVAL);
    assert_aio_err(aio_loop_set_debug((aio_loop *)NULL, 1), -EINVAL);
    assert_aio_err(aio_loop_get_debug((aio_loop *)NULL), -EINVAL);
    close_loop(loop);
    /* The environment decides when the options do not. */
    const char *old = getenv("AIO_DEBUG");
    char *saved = old ? strdup(old) : NULL;
    setenv("AIO_DEBUG", "1", 1);
    loop = debug_loop(0, 0, &rs);
    assert_int_equal(aio_loop_get_debug(loop), 1);
    close_loop(loop);
    loop = debug_loop(-1, 0, &rs); /* the option wins */
    assert_int_equal(aio_loop_get_debug(loop), 0);
    close_loop(loop);
    setenv("AIO_DEBUG", "0", 1);
    loop = debug_loop(0, 0, &rs);
    assert_int_equal(aio_loop_get_debug(loop), 0);
    close_loop(loop);
    if (saved)
        setenv("AIO_DEBUG", saved, 1);
    else
        unsetenv("AIO_DEBUG");
    free(saved);
}

/* ---- slow callbacks ------------------------------------------------------------ */

static void slow_cb(aio_loop *loop, void *arg) {
    (void)loop;
    (void)arg;
    busy();
}

static void fast_cb(aio_loop *loop, void *arg) {
    (void)loop;
    ++*(int *)arg;
}

static void slow_done(aio_loop *loop, aio_future f, void *arg) {
    (void)loop;
    (void)f;
    (void)arg;
    busy();
}

struct reader {
    int fd;
    aio_future done;
};

static void slow_reader(aio_loop *loop, void *arg) {
    struct reader *r = arg;
    char c;
    assert_int_equal(read(r->fd, &c, 1), 1);
    aio_remove_reader(loop, r->fd);
    busy();
    aio_future_set_result(loop, r->done, AIO_NONE);
}

/* Each kind of callback, slow, is reported once with its function; the fast
 * ones are not. */
static void debug_reports_slow_callbacks(void **state) {
    (void)state;
    reports rs;
    aio_loop *loop = debug_loop(1, 0.005, &rs);
    int fast = 0;
    assert_aio_ok(aio_call_soon(loop, slow_cb, NULL, NULL));
    assert_aio_ok(aio_call_soon(loop, fast_cb, &fast, NULL));
    test_run_iterations(loop, 2);
    assert_int_equal(fast, 1);
    assert_int_equal(rs.n, 1);
    assert_true(starts_with(rs.r[0].message, "Executing a callback took 0."));
    assert_true(starts_with(rs.r[0].location, "callback "));
    assert_int_equal(rs.r[0].future.id, 0);

    assert_aio_ok(aio_call_later(loop, 0.5, fast_cb, &fast, NULL));
    assert_aio_ok(aio_call_later(loop, 1, slow_cb, NULL, NULL));
    assert_aio_ok(aio_run_until_complete(loop, aio_sleep(loop, 2), NULL)); /* virtual time */
    assert_int_equal(fast, 2);
    assert_int_equal(rs.n, 2);
    assert_true(starts_with(rs.r[1].message, "Executing a timer callback took 0."));

    aio_future f = aio_future_new(loop);
    assert_aio_ok(aio_future_add_done_callback(loop, f, slow_done, NULL));
    assert_aio_ok(aio_future_set_result(loop, f, AIO_NONE));
    test_run_iterations(loop, 2);
    assert_int_equal(rs.n, 3);
    assert_true(starts_with(rs.r[2].message, "Executing a done callback took 0."));
    char want[64];
    snprintf(want, sizeof want, " of future #%u", (unsigned)(f.id & 0x3ffffff));
    assert_non_null(strstr(rs.r[2].location, want));
    aio_future_release(loop, f);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
    struct reader r = {fds[0], aio_future_new(loop)};
    assert_aio_ok(aio_add_reader(loop, fds[0], slow_reader, &r));
    assert_aio_ok(aio_run_until_complete(loop, r.done, NULL));
    assert_int_equal(rs.n, 4);
    assert_true(starts_with(rs.r[3].message, "Executing an fd reader callback took 0."));
    snprintf(want, sizeof want, " on fd %d", fds[0]);
    assert_non_null(strstr(rs.r[3].location, want));
    close(fds[0]);
    close(fds[1]);
    close_loop(loop);
}

/* Under the threshold, or with debug mode off, nothing is timed. */
static void debug_quiet_when_fast_or_off(void **state) {
    (void)state;
    reports rs;
    aio_loop *loop = debug_loop(1, 10.0, &rs);
    assert_aio_ok(aio_call_soon(loop, slow_cb, NULL, NULL));
    test_run_iterations(loop, 2);
    assert_int_equal(rs.n, 0);
    close_loop(loop);
    loop = debug_loop(-1, 0.005, &rs);
    assert_aio_ok(aio_call_soon(loop, slow_cb, NULL, NULL));
    test_run_iterations(loop, 2);
    assert_int_equal(rs.n, 0);
    close_loop(loop);
}

/* Switched on during a run, debug mode starts with the next run. */
static void switch_on(aio_loop *loop, void *arg) {
    (void)arg;
    aio_loop_set_debug(loop, 1);
    aio_call_soon(loop, slow_cb, NULL, NULL);
}

static void debug_mode_follows_at_next_run(void **state) {
    (void)state;
    reports rs;
    aio_loop *loop = debug_loop(-1, 0.005, &rs);
    assert_aio_ok(aio_call_soon(loop, switch_on, NULL, NULL));
    test_run_iterations(loop, 3);
    assert_int_equal(rs.n, 0);
    assert_aio_ok(aio_call_soon(loop, slow_cb, NULL, NULL));
    test_run_iterations(loop, 2);
    assert_int_equal(rs.n, 1);
    close_loop(loop);
}

/* ---- slow task steps -------------------------------------------------------- */

struct slowpoke {
    int *lines;
    int slow_first, slow_middle, slow_last;
};
AIO_CORO(slowpoke, struct slowpoke) {
    AIO_BEGIN(t);
    if (f->slow_first)
        busy();
    f->lines[0] = __LINE__ + 1;
    AIO_AWAIT(t, aio_sleep(t, 1));
    if (f->slow_middle)
        busy();
    f->lines[1] = __LINE__ + 1;
    AIO_AWAIT(t, aio_sleep(t, 1));
    if (f->slow_last)
        busy();
    AIO_END(t);
}

/* A slow step is reported with the task, the await it resumed from and the
 * one it suspended at (or that it started, or finished). */
static void debug_reports_slow_steps(void **state) {
    (void)state;
    reports rs;
    aio_loop *loop = debug_loop(1, 0.005, &rs);
    int lines[2];
    aio_future task = aio_spawn(loop, slowpoke, &(struct slowpoke){lines, 1, 1, 1});
    aio_task_set_name(loop, task, "slowpoke");
    assert_aio_ok(aio_run_until_complete(loop, aio_future_retain(loop, task), NULL));
    assert_int_equal(rs.n, 3);
    for (int k = 0; k < 3; k++)
        assert_true(starts_with(rs.r[k].message, "Executing a task step took 0."));
    char who[64];
    snprintf(who, sizeof who, "task #%u 'slowpoke': ", (unsigned)(task.id & 0x3ffffff));
    /* first step: started, suspended at the first await */
    assert_true(starts_with(rs.r[0].location, who));
    assert_non_null(strstr(rs.r[0].location, ": started, then suspended at "));
    assert_true(names_line(rs.r[0].location, " in slowpoke", lines[0]));
    assert_int_equal(rs.r[0].future.id, task.id);
    /* second: from the first await to the second */
    char want[256];
    snprintf(
        want, sizeof want,
        "resumed at test_debug_mode.c:%d in slowpoke, then suspended at test_debug_mode.c:%d in slowpoke",
        lines[0], lines[1]);
    assert_non_null(strstr(rs.r[1].location, want));
    /* last: finished (its memory is gone: the coroutine is named by address) */
    assert_non_null(strstr(rs.r[2].location, ", then finished"));
    assert_int_equal(rs.r[2].future.id, 0);
    aio_future_release(loop, task);
    close_loop(loop);
}

/* ---- creation sites -------------------------------------------------------- */

struct failer {
    int err;
};
AIO_CORO(failer, struct failer) {
    AIO_BEGIN(t);
    AIO_FAIL(t, f->err);
    AIO_END(t);
}

/* A failed future (and a failed task) nobody looked at is reported with
 * the line that created it. */
static void debug_reports_creation_sites(void **state) {
    (void)state;
    reports rs;
    aio_loop *loop = debug_loop(1, 10, &rs);
    int line_future = __LINE__ + 1;
    aio_future f = aio_future_new(loop);
    assert_aio_ok(aio_future_set_error(loop, f, -EIO));
    assert_aio_ok(aio_future_release(loop, f));
    assert_int_equal(rs.n, 1);
    assert_string_equal(rs.r[0].message, "Future exception was never retrieved");
    assert_true(starts_with(rs.r[0].location, "created at "));
    assert_true(names_line(rs.r[0].location, "", line_future));

    int line_task = __LINE__ + 1;
    aio_future task = aio_spawn(loop, failer, &(struct failer){-EPIPE});
    assert_aio_ok(aio_future_release(loop, task)); /* fire and forget: nobody will look */
    test_run_iterations(loop, 2);
    assert_int_equal(rs.n, 2);
    assert_string_equal(rs.r[1].message, "Task exception was never retrieved");
    assert_int_equal(rs.r[1].error, -EPIPE);
    assert_true(names_line(rs.r[1].location, "", line_task));

    /* A slot reused by a future made without a site has none. */
    aio_future plain = aio_future_new_on(loop);
    assert_aio_ok(aio_future_set_error(loop, plain, -EIO));
    assert_aio_ok(aio_future_release(loop, plain));
    assert_int_equal(rs.n, 3);
    assert_false(rs.r[2].has_location);

    /* Combinators too. */
    int line_gather = __LINE__ + 1;
    aio_future g = aio_gather_of(loop, NULL, 0, aio_spawn(loop, failer, &(struct failer){-EIO}));
    aio_future_release(loop, g);
    test_run_iterations(loop, 3);
    bool found = false;
    for (int k = 3; k < rs.n; k++)
        found |= names_line(rs.r[k].location, "", line_gather) &&
                 strcmp(rs.r[k].message, "Future exception was never retrieved") == 0;
    assert_true(found);
    close_loop(loop);
}

/* ---- pending at close ------------------------------------------------------- */

struct sleeper {
    int *line;
};
AIO_CORO(sleeper, struct sleeper) {
    AIO_BEGIN(t);
    *f->line = __LINE__ + 1;
    AIO_AWAIT(t, aio_sleep(t, 3600));
    AIO_END(t);
}

/* A task still pending when the loop closes is reported with the await it
 * is suspended at (and where it was made); without debug mode, with none. */
static void debug_reports_pending_at_close(void **state) {
    (void)state;
    for (int on = 1; on >= 0; on--) {
        reports rs;
        aio_loop *loop = debug_loop(on ? 1 : -1, 10, &rs);
        int line = 0, line_made = __LINE__ + 1;
        aio_future task = aio_spawn(loop, sleeper, &(struct sleeper){&line});
        aio_task_set_name(loop, task, "stuck");
        test_run_iterations(loop, 2);
        aio_future_release(loop, task);
        close_loop(loop);
        assert_int_equal(rs.n, 1);
        assert_string_equal(rs.r[0].message, "Task was destroyed but it is pending");
        if (!on) {
            assert_false(rs.r[0].has_location);
            continue;
        }
        char want[160];
        snprintf(want, sizeof want, "suspended at test_debug_mode.c:%d in sleeper; created at ", line);
        assert_true(starts_with(rs.r[0].location, want));
        assert_true(names_line(rs.r[0].location, "", line_made));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(debug_settings),
        cmocka_unit_test(debug_reports_slow_callbacks),
        cmocka_unit_test(debug_quiet_when_fast_or_off),
        cmocka_unit_test(debug_mode_follows_at_next_run),
        cmocka_unit_test(debug_reports_slow_steps),
        cmocka_unit_test(debug_reports_creation_sites),
        cmocka_unit_test(debug_reports_pending_at_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
