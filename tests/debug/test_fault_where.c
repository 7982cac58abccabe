/* Task dumps and debug mode out of memory (src/core/fault.h's allocation
 * countdown): every allocation of a capture, a printout, a where-mode
 * decoding and a debug-mode report fails in turn. Each call then returns
 * -ENOMEM or succeeds (a report loses its location, nothing else), leaks
 * nothing (LSan, valgrind), and the loop goes on: its tasks still finish.
 * One process per case (the countdown is process state). */
#define AIO_DEBUG_SITES
#include "support.h"

#include "core/fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a loop with a bit of everything to describe ---- */

struct leaf {
    aio_future fut;
};
AIO_CORO(leaf, struct leaf) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->fut);
    AIO_END(t);
}

struct chain {
    AIO_CHILD(struct leaf) leaf;
};
AIO_CORO(chain, struct chain) {
    AIO_BEGIN(t);
    AIO_AWAIT_CORO(t, leaf, &f->leaf);
    AIO_END(t);
}

struct outer {
    aio_future fut;
};
AIO_CORO(outer, struct outer) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->fut);
    AIO_END(t);
}

typedef struct scene {
    aio_loop *loop;
    aio_future event;
    aio_future tasks[8];
    int n;
} scene;

static void scene_up(scene *s) {
    aio_loop_options opts = {0};
    opts.virtual_clock = 1;
    opts.debug = 1;
    assert_aio_ok(aio_loop_create(&s->loop, &opts));
    s->event = aio_future_new(s->loop);
    s->n = 0;
    for (int k = 0; k < 3; k++) {
        struct chain c;
        memset(&c, 0, sizeof c);
        c.leaf.frame.fut = aio_future_retain(s->loop, s->event);
        s->tasks[s->n] = aio_spawn(s->loop, chain, &c);
        aio_task_set_name(s->loop, s->tasks[s->n], "chain");
        s->n++;
    }
    aio_future g = aio_gather_of(s->loop, NULL, 0, aio_future_retain(s->loop, s->tasks[0]),
                                 aio_future_retain(s->loop, s->tasks[1]));
    s->tasks[s->n++] = aio_spawn(s->loop, outer, &(struct outer){aio_wait_for(s->loop, g, 100)});
    s->tasks[s->n++] = aio_spawn(s->loop, outer, &(struct outer){aio_sleep(s->loop, 50)});
    test_run_iterations(s->loop, 3);
}

/* The event fires: every task finishes (the loop was not hurt). */
static void scene_down(scene *s) {
    assert_aio_ok(aio_future_set_result(s->loop, s->event, AIO_NONE));
    aio_future_release(s->loop, s->event);
    for (int k = 0; k < s->n; k++)
        assert_aio_ok(aio_run_until_complete(s->loop, s->tasks[k], NULL));
    assert_int_equal(aio_loop_pending_tasks(s->loop), 0);
    assert_aio_ok(aio_loop_free(s->loop));
}

/* One capture and both printouts; 0 or -ENOMEM, the output complete when 0. */
static int dump_once(scene *s) {
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    int rc = aio_print_tasks(s->loop, out, AIO_PRINT_TABLE | AIO_PRINT_TREE);
    assert_int_equal(fclose(out), 0);
    if (rc == 0) {
        assert_non_null(strstr(text, "5 tasks, 5 waiting"));
        assert_non_null(strstr(text, " in chain > "));
        assert_non_null(strstr(text, "via wait_for > gather"));
    } else {
        assert_aio_err(rc, -ENOMEM);
    }
    free(text);
    return rc;
}

/* Each allocation of a dump fails in turn (ONCE), then all from the n-th on
 * (FROM): -ENOMEM or a whole printout, never half of one, never a leak. */
static void fault_where_dump_fails_cleanly(void **state) {
    (void)state;
    scene s;
    scene_up(&s);
    aio__fault_alloc_arm(AIO__FAULT_OFF, 1);
    assert_aio_ok(dump_once(&s));
    long total = aio__fault_alloc_seen();
    assert_true(total >= 5);
    for (int mode = 0; mode < 2; mode++) {
        int failed = 0;
        for (long n = 1; n <= total + 1; n++) {
            aio__fault_alloc_arm(mode ? AIO__FAULT_FROM : AIO__FAULT_ONCE, n);
            failed += dump_once(&s) < 0;
        }
        assert_true(failed > 0);
    }
    aio__fault_reset();
    assert_aio_ok(dump_once(&s));
    scene_down(&s);
}

/* Debug mode's reports out of memory: a site that cannot be recorded, a
 * where-mode decoding that cannot grow, are reported without a location
 * (or without that part of it): the report itself is never lost. */
static void count_report(aio_loop *loop, const aio_report *r, void *arg) {
    (void)loop;
    (void)r;
    ++*(int *)arg;
}

static void fault_where_reports_go_on(void **state) {
    (void)state;
    for (long n = 1; n <= 40; n++) {
        aio_loop_options opts = {0};
        opts.virtual_clock = 1;
        opts.debug = 1;
        aio_loop *loop;
        assert_aio_ok(aio_loop_create(&loop, &opts));
        int reports = 0;
        aio_loop_set_exception_handler(loop, count_report, &reports);
        aio__fault_alloc_arm(AIO__FAULT_ONCE, n);
        aio_future f = aio_future_new(loop); /* may fail, as may its site's record */
        aio_future e = aio_future_new(loop);
        struct chain c;
        memset(&c, 0, sizeof c);
        c.leaf.frame.fut = e;
        aio_future t = aio_spawn(loop, chain, &c);
        test_run_iterations(loop, 2);
        aio__fault_reset();
        int expected = 0;
        if (aio_future_check(f) == 0) {
            aio_future_set_error(loop, f, -EIO);
            aio_future_release(loop, f);
            expected++; /* never retrieved */
        }
        if (aio_future_check(t) == 0) {
            aio_future_release(loop, t);
            expected++; /* pending at close, with or without its location */
        }
        assert_aio_ok(aio_loop_free(loop));
        assert_int_equal(reports, expected);
    }
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fault_where_dump_fails_cleanly),
        cmocka_unit_test(fault_where_reports_go_on),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
