/* Three tasks sleep 1, 2 and 3 seconds at once: the whole run takes about
 * 3 seconds, not 6, because sleeping tasks do not block each other. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <aio/aio.h>
#include <stdio.h>
#include <time.h>

struct sleeper {
    int seconds;
};

AIO_CORO(sleeper, struct sleeper) {
    AIO_BEGIN(t);
    printf("task %d: sleeping %d s\n", f->seconds, f->seconds);
    AIO_AWAIT(t, aio_sleep(t, f->seconds));
    printf("task %d: woke up\n", f->seconds);
    AIO_RETURN(t, f->seconds);
    AIO_END(t);
}

struct main_frame {
    aio_future tasks[3];
    int i;
    int total;
};

AIO_CORO(main_coro, struct main_frame) {
    AIO_BEGIN(t);
    for (f->i = 0; f->i < 3; f->i++)
        f->tasks[f->i] = aio_spawn(t, sleeper, &(struct sleeper){f->i + 1});
    for (f->i = 0; f->i < 3; f->i++) {
        AIO_AWAIT(t, f->tasks[f->i]); /* consumes the task handle */
        if (AIO_ERR(t) < 0)
            AIO_FAIL(t, AIO_ERR(t));
        f->total += (int)AIO_RESULT(t).i;
    }
    printf("slept %d s in total\n", f->total);
    AIO_END(t);
}

int main(void) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = aio_run(main_coro, &(struct main_frame){0});
    clock_gettime(CLOCK_MONOTONIC, &b);
    double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("took %.1f s\n", took);
    if (rc < 0)
        fprintf(stderr, "sleep: %s\n", aio_strerror(rc));
    return rc == 0 ? 0 : 1;
}
