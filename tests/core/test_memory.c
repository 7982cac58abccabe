/* The loop's bulk memory: tasks carved from per-size chunks (task_mem.c)
 * and big tables that ask for transparent huge pages (mem.c). What a user
 * can rely on: every frame is copied whole and aligned for its type, freed
 * task memory is reused without mixing tasks up, and tables keep their
 * contents as they grow past the size where they move to a mapping of
 * their own, with huge pages on or off. */
#include "support.h"

#include <aio/combinators.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- frames of every size ------------------------------------------------------ */

#define MAX_FRAME 600 /* past the largest size class (480 bytes of frame) */

struct frame_check {
    int ok, ran;
};

/* The frame is raw bytes: a pointer to the check, its size, then a pattern. */
struct frame_head {
    struct frame_check *check;
    uint32_t size;
};

static unsigned char pattern(uint32_t size, size_t i) { return (unsigned char)(i * 31u + size); }

/* The alignment a type of `size` bytes may need: the largest power of two
 * dividing it, at most max_align_t's. */
static uintptr_t alignment_for(size_t size) {
    uintptr_t a = 1;
    while (a < _Alignof(max_align_t) && size % (a * 2) == 0)
        a *= 2;
    return a;
}

static bool frame_intact(const unsigned char *frame) {
    struct frame_head h;
    memcpy(&h, frame, sizeof h);
    if ((uintptr_t)frame % alignment_for(h.size) != 0)
        return false;
    for (size_t i = sizeof h; i < h.size; i++)
        if (frame[i] != pattern(h.size, i))
            return false;
    return true;
}

static aio_status sized_frame(aio_task *t, void *frame) {
    struct frame_head h;
    memcpy(&h, frame, sizeof h);
    AIO_BEGIN(t);
    if (!frame_intact(frame))
        h.check->ok = 0;
    AIO_YIELD(t); /* other tasks of the same size start and finish meanwhile */
    memcpy(&h, frame, sizeof h);
    if (!frame_intact(frame))
        h.check->ok = 0;
    h.check->ran++;
    AIO_RETURN(t, h.size);
    AIO_END(t);
}

static aio_future spawn_sized(aio_loop *loop, struct frame_check *check, uint32_t size) {
    unsigned char buf[MAX_FRAME];
    struct frame_head h = {check, size};
    memcpy(buf, &h, sizeof h);
    for (size_t i = sizeof h; i < size; i++)
        buf[i] = pattern(size, i);
    return aio_create_task_sized(loop, sized_frame, buf, size);
}

/* Frames from 16 to 600 bytes, three tasks of each size alive at once, two
 * rounds (the second reuses the first's freed memory): each sees its own
 * bytes, aligned as its size allows, and returns its size. */
static void task_frames_of_every_size(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    struct frame_check check = {1, 0};
    int expected = 0;
    for (int round = 0; round < 2; round++) {
        for (uint32_t size = sizeof(struct frame_head); size <= MAX_FRAME; size++) {
            aio_future kids[3];
            for (int k = 0; k < 3; k++)
                assert_int_equal(aio_future_check(kids[k] = spawn_sized(loop, &check, size)), 0);
            aio_outcome res[3];
            assert_int_equal(aio_run_until_complete(loop, aio_gather(loop, kids, 3, res, 0), NULL), 0);
            for (int k = 0; k < 3; k++) {
                assert_int_equal(res[k].err, 0);
                assert_int_equal(res[k].value.i, size);
            }
            expected += 3;
        }
    }
    assert_int_equal(check.ran, expected);
    assert_true(check.ok);
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    aio_loop_free(loop);
}

/* Tasks still pending at close are freed with their memory: nothing leaks
 * (valgrind and ASan check), for small and malloc'd frames alike. */
static void task_memory_freed_at_close(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    test_reports reports;
    test_collect_reports(loop, &reports);
    struct frame_check check = {1, 0};
    for (uint32_t size = sizeof(struct frame_head); size <= MAX_FRAME; size += 37)
        assert_int_equal(aio_future_release(loop, spawn_sized(loop, &check, size)), 0);
    assert_int_equal(aio_loop_close(loop), 0);
    assert_int_equal(reports.count, (MAX_FRAME - (int)sizeof(struct frame_head)) / 37 + 1);
    assert_int_equal(check.ran, 0);
    aio_loop_free(loop);
}

/* ---- big tables ------------------------------------------------------------------- */

/* Each task awaits a future of its own and returns what it got. */
struct waiter {
    aio_future inbox;
};

static aio_status waiter(aio_task *t, void *frame) {
    struct waiter *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, f->inbox);
    AIO_RETURN(t, AIO_RESULT(t).i * 2);
    AIO_END(t);
}

#define BIG_N 300000 /* 600,000 slots (a 24 MiB table), 300,000 gather nodes */

static void big_tables_keep_contents(int huge_pages) {
    aio_loop_options opts = {.virtual_clock = 1, .huge_pages = huge_pages};
    aio_loop *loop;
    assert_int_equal(aio_loop_create(&loop, &opts), 0);
    aio_future *inbox = malloc(BIG_N * sizeof *inbox);
    aio_future *kids = malloc(BIG_N * sizeof *kids);
    aio_outcome *res = malloc(BIG_N * sizeof *res);
    assert_non_null(inbox);
    assert_non_null(kids);
    assert_non_null(res);
    for (int i = 0; i < BIG_N; i++) {
        inbox[i] = aio_future_new(loop);
        assert_int_equal(aio_future_check(aio_future_retain(loop, inbox[i])), 0); /* ours + the awaiter's */
        kids[i] = aio_create_task(loop, waiter, &(struct waiter){inbox[i]});
        assert_int_equal(aio_future_check(kids[i]), 0);
    }
    aio_future all = aio_gather(loop, kids, BIG_N, res, 0);
    test_run_iterations(loop, 2); /* every task is now waiting */
    for (int i = 0; i < BIG_N; i++) {
        assert_int_equal(aio_future_set_result(loop, inbox[i], AIO_VALUE(i)), 0);
        assert_int_equal(aio_future_release(loop, inbox[i]), 0);
    }
    assert_int_equal(aio_run_until_complete(loop, all, NULL), 0);
    for (int i = 0; i < BIG_N; i++) {
        assert_int_equal(res[i].err, 0);
        if (res[i].value.i != 2 * (int64_t)i)
            fail_msg("task %d returned %lld", i, (long long)res[i].value.i);
    }
    free(inbox);
    free(kids);
    free(res);
    assert_int_equal(aio_loop_close(loop), 0);
    aio_loop_free(loop);
}

static void big_tables_with_huge_pages(void **state) {
    (void)state;
    big_tables_keep_contents(1);
}

static void big_tables_without_huge_pages(void **state) {
    (void)state;
    big_tables_keep_contents(-1);
}

/* 300,000 timers: their keys fill 9 MiB of wheel blocks from the loop's
 * arena (the last chunks with huge pages, when on) and fire in deadline
 * order, then the blocks are reused by a second round. */
struct timer_order {
    aio_loop *loop;
    int64_t last;
    int fired, out_of_order;
};

static void timer_fired(aio_loop *loop, void *arg) {
    struct timer_order *o = arg;
    int64_t now = aio_loop_time_ns(loop);
    if (now < o->last)
        o->out_of_order++;
    o->last = now;
    if (++o->fired % BIG_N == 0)
        aio_loop_stop(loop);
}

static void many_timers_from_the_arena(void **state) {
    (void)state;
    aio_loop_options opts = {.virtual_clock = 1, .huge_pages = 1};
    aio_loop *loop;
    assert_int_equal(aio_loop_create(&loop, &opts), 0);
    struct timer_order o = {loop, 0, 0, 0};
    uint64_t x = 42;
    for (int round = 1; round <= 2; round++) {
        for (int i = 0; i < BIG_N; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
            assert_int_equal(aio_call_later(loop, (double)(x % 1000000) * 1e-6, timer_fired, &o, NULL), 0);
        }
        assert_int_equal(aio_run_forever(loop), 0);
        assert_int_equal(o.fired, round * BIG_N);
    }
    assert_int_equal(o.out_of_order, 0);
    assert_int_equal(aio_loop_close(loop), 0);
    aio_loop_free(loop);
}

#ifdef __linux__
/* Mappings of this process flagged for huge pages ("hg" in VmFlags). */
static int huge_page_mappings(void) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " hg"))
            n++;
    fclose(f);
    return n;
}

/* KiB of this process's mappings flagged for huge pages (adjacent mappings
 * may merge, so sizes say more than counts). */
static void count_done_cb(aio_loop *loop, aio_future f, void *arg) { (void)loop, (void)f, (void)arg; }

static long huge_page_kib(void) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    long size = 0, total = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Size:", 5) == 0)
            size = strtol(line + 5, NULL, 10);
        else if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " hg"))
            total += size;
    }
    fclose(f);
    return total;
}

/* With huge pages off no table asks for them; on, a table of 8 MiB or more
 * does (where the kernel has transparent huge pages at all). */
static void huge_pages_asked_only_when_on(void **state) {
    (void)state;
    int before = huge_page_mappings();
    if (before < 0)
        skip();
    for (int on = -1; on <= 1; on += 2) {
        aio_loop_options opts = {.virtual_clock = 1, .huge_pages = on};
        aio_loop *loop;
        assert_int_equal(aio_loop_create(&loop, &opts), 0);
        for (int i = 0; i < 400000; i++) /* 400,000 slots: an 8 MiB table */
            assert_int_equal(aio_future_check(aio_future_new(loop)), 0);
        int during = huge_page_mappings();
        if (on < 0)
            assert_int_equal(during, before);
        else if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0)
            assert_true(during > before);
        assert_int_equal(aio_loop_close(loop), 0);
        aio_loop_free(loop);
        assert_int_equal(huge_page_mappings(), before); /* unmapped with the loop */
    }
}

/* A combinator's state written whole at once (a gather's entry per child)
 * asks for huge pages from 2 MiB on, before any table does, and goes back
 * to the system when the gather is done. */
static void big_gather_state_asks_for_huge_pages(void **state) {
    (void)state;
    if (huge_page_kib() < 0)
        skip();
    enum { KIDS = 300000 };                                  /* a 2.4 MB state */
    const long state_kib = KIDS * sizeof(aio_future) / 1024; /* at least */
    aio_future *kids = malloc(KIDS * sizeof *kids);
    assert_non_null(kids);
    for (int on = -1; on <= 1; on += 2) {
        aio_loop_options opts = {.virtual_clock = 1, .huge_pages = on};
        aio_loop *loop;
        assert_int_equal(aio_loop_create(&loop, &opts), 0);
        for (int i = 0; i < KIDS; i++)
            kids[i] = aio_future_retain(loop, aio_future_new(loop)); /* the gather takes one each */
        /* Grow the callback nodes first (tables keep their size), so that
         * the gather's state is the only new memory below. */
        for (int i = 0; i < KIDS; i++)
            assert_int_equal(aio_future_add_done_callback(loop, kids[i], count_done_cb, NULL), 0);
        for (int i = 0; i < KIDS; i++)
            assert_int_equal(aio_future_remove_done_callback(loop, kids[i], count_done_cb, NULL), 1);
        long tables = huge_page_kib();
        aio_future all = aio_gather(loop, kids, KIDS, NULL, 0);
        assert_int_equal(aio_future_check(all), 0);
        long during = huge_page_kib();
        if (on < 0)
            assert_int_equal(during, tables);
        else if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0)
            assert_true(during - tables >= state_kib && during - tables < state_kib + 64);
        for (int i = 0; i < KIDS; i++)
            assert_int_equal(aio_future_set_result(loop, kids[i], AIO_VALUE(i)), 0);
        aio_value v;
        assert_int_equal(aio_run_until_complete(loop, all, &v), 0);
        assert_int_equal(v.u, KIDS);
        assert_int_equal(huge_page_kib(), tables); /* the state went with the gather */
        for (int i = 0; i < KIDS; i++)
            assert_int_equal(aio_future_release(loop, kids[i]), 0);
        assert_int_equal(aio_loop_free(loop), 0);
    }
    free(kids);
}
#endif

static aio_status never_runs(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_END(t);
}

/* Frame sizes no memory can hold fail with -ENOMEM, including those the
 * task's header and alignment padding would wrap around SIZE_MAX (and
 * without asking malloc, which ASan would refuse loudly). */
static void absurd_frame_sizes(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(0);
    char frame[16] = {0};
    for (size_t back = 0; back < 64; back++) {
        aio_future f = aio_create_task_sized(loop, never_runs, frame, SIZE_MAX - back);
        assert_int_equal(aio_future_check(f), -ENOMEM);
    }
    for (size_t back = 0; back < 40; back++) { /* beyond PTRDIFF_MAX with the header and padding */
        aio_future f = aio_create_task_sized(loop, never_runs, frame, (size_t)PTRDIFF_MAX - back);
        assert_int_equal(aio_future_check(f), -ENOMEM);
    }
    assert_int_equal(aio_loop_pending_tasks(loop), 0);
    assert_int_equal(aio_loop_free(loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        // clang-format off
        cmocka_unit_test(task_frames_of_every_size),
        cmocka_unit_test(task_memory_freed_at_close),
        cmocka_unit_test(big_tables_with_huge_pages),
        cmocka_unit_test(big_tables_without_huge_pages),
        cmocka_unit_test(many_timers_from_the_arena),
#ifdef __linux__
        cmocka_unit_test(huge_pages_asked_only_when_on),
        cmocka_unit_test(big_gather_state_asks_for_huge_pages),
#endif
        cmocka_unit_test(absurd_frame_sizes),
        // clang-format on
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
