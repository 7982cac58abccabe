/* Five tasks sleep 1..5 seconds. aio_wait gives them 2.5 seconds: two are
 * done, three still pending. The pending ones are then cancelled, and each
 * ends cancelled after cleaning up at its await. */
#include <aio/aio.h>
#include <stdio.h>

#define NTASKS 5

struct sleeper {
    int id;
};

static aio_status sleeper(aio_task *t, void *frame) {
    struct sleeper *f = frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->id));
    if (AIO_ERR(t) == AIO_ECANCELLED) {
        printf("task %d: cancelled while sleeping, cleaning up\n", f->id);
        AIO_FAIL(t, AIO_ECANCELLED);
    }
    printf("task %d: slept %d s\n", f->id, f->id);
    AIO_RETURN(t, f->id);
    AIO_END(t);
}

struct main_frame {
    aio_future tasks[NTASKS];
    int ndone, i;
};

static aio_status main_coro(aio_task *t, void *frame) {
    struct main_frame *f = frame;
    aio_loop *loop = aio_task_loop(t);
    AIO_BEGIN(t);
    for (f->i = 0; f->i < NTASKS; f->i++)
        f->tasks[f->i] = aio_create_task(t, sleeper, &(struct sleeper){f->i + 1});

    AIO_AWAIT(t, aio_wait(t, f->tasks, NTASKS, 2.5, AIO_ALL_COMPLETED));
    if (AIO_ERR(t) < 0)
        AIO_FAIL(t, AIO_ERR(t));
    /* Done ones first, pending ones after. */
    f->ndone = aio_wait_partition(loop, f->tasks, NTASKS);
    printf("after 2.5 s: %d done, %d pending\n", f->ndone, NTASKS - f->ndone);
    for (f->i = 0; f->i < NTASKS; f->i++) {
        aio_value v;
        if (aio_future_result(loop, f->tasks[f->i], &v) == 0)
            printf("  done: task %lld\n", (long long)v.i);
        else
            aio_task_cancel(loop, f->tasks[f->i], "no more waiting");
    }

    /* Let the cancelled tasks finish their cleanup, then look at them. */
    AIO_AWAIT(t, aio_wait(t, f->tasks, NTASKS, AIO_FOREVER, AIO_ALL_COMPLETED));
    for (f->i = f->ndone; f->i < NTASKS; f->i++)
        printf("  pending task %d ended %s\n", f->i + 1,
               aio_future_cancelled(loop, f->tasks[f->i]) == 1 ? "cancelled" : "otherwise");
    for (f->i = 0; f->i < NTASKS; f->i++)
        aio_future_release(loop, f->tasks[f->i]); /* wait does not consume */
    AIO_END(t);
}

int main(void) {
    int rc = aio_run(main_coro, &(struct main_frame){0});
    if (rc < 0)
        fprintf(stderr, "tasks_wait: %s\n", aio_strerror(rc));
    return rc == 0 ? 0 : 1;
}
