/* Five tasks sleep 1..5 seconds in a task group, under a 2.5-second
 * timeout scope (asyncio: `async with timeout(2.5): async with
 * TaskGroup() as g: ...`). Two finish in time. At 2.5 s the deadline
 * cancels the main task where it waits, in the group's join; the group then
 * cancels the three children still sleeping, each cleans up at its await,
 * and the join returns once every one of them has ended. The scope's end
 * turns that cancellation into AIO_ETIMEDOUT. No handle to release: the
 * group holds its children's references and drops them as they end. */
#include <aio/aio.h>
#include <stdio.h>

#define NTASKS 5

struct sleeper {
    int id;
    int *done; /* in main's frame: counts the tasks that slept their fill */
};

AIO_CORO(sleeper, struct sleeper) {
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, f->id));
    if (AIO_ERR(t) == AIO_ECANCELLED) {
        printf("task %d: cancelled while sleeping, cleaning up\n", f->id);
        AIO_FAIL(t, AIO_ECANCELLED);
    }
    printf("task %d: slept %d s\n", f->id, f->id);
    (*f->done)++;
    AIO_RETURN(t, f->id);
    AIO_END(t);
}

struct main_frame {
    aio_timeout deadline;
    aio_group g;
    double start;
    int done, i;
};

AIO_CORO(main_coro, struct main_frame) {
    AIO_BEGIN(t);
    f->start = aio_loop_time(t);
    AIO_TIMEOUT_BEGIN(t, &f->deadline, 2.5);
    AIO_GROUP_BEGIN(t, &f->g);
    for (f->i = 1; f->i <= NTASKS; f->i++)
        aio_group_spawn(t, &f->g, sleeper, &(struct sleeper){.id = f->i, .done = &f->done});
    AIO_GROUP_JOIN(t, &f->g); /* waits for all five, or until the deadline */
    printf("the group's join: %s\n", aio_err_name(AIO_ERR(t)));
    AIO_TIMEOUT_END(t, &f->deadline);
    printf("after %.1f s: %d done, %d cancelled; the timeout scope: %s\n", aio_loop_time(t) - f->start,
           f->done, NTASKS - f->done, aio_err_name(AIO_ERR(t)));
    AIO_END(t);
}

int main(void) {
    int rc = aio_run(main_coro, &(struct main_frame){0});
    if (rc < 0)
        fprintf(stderr, "tasks_wait: %s\n", aio_strerror(rc));
    return rc == 0 ? 0 : 1;
}
