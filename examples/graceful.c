/* A server-like program that stops cleanly on Ctrl-C.
 *
 * Four workers handle "requests" (a 10 ms sleep stands for each) until the
 * program is interrupted. aio_run routes SIGINT to the main task: its await
 * sees AIO_ECANCELLED, and it then cancels every worker and waits for each
 * to finish its cleanup (which awaits too), prints a summary and exits 0.
 * A second Ctrl-C during the cleanup would end the process at once. */
#include <aio/aio.h>
#include <stdio.h>

#define NWORKERS 4

struct worker {
    int id;
    long served;
};

AIO_CORO(worker, struct worker) {
    AIO_BEGIN(t);
    for (;;) {
        AIO_AWAIT(t, aio_sleep(t, 0.01)); /* one request */
        if (AIO_CANCEL_HANDLED(t))
            break; /* the shutdown was asked for: not a failure */
        f->served++;
    }
    /* Cancelled: finish cleanly. Flushing what is buffered takes an await,
     * as real cleanup often does (a bit longer for each worker, so that the
     * output has a fixed order). */
    AIO_AWAIT(t, aio_sleep(t, 0.02 * (f->id + 1)));
    printf("worker %d: flushed and closed\n", f->id);
    AIO_RETURN(t, f->served);
    AIO_END(t);
}

struct server {
    aio_future workers[NWORKERS];
    int i;
    long total;
    const char *why; /* the message of the cancel that stopped us */
};

AIO_CORO(server, struct server) {
    AIO_BEGIN(t);
    for (f->i = 0; f->i < NWORKERS; f->i++)
        f->workers[f->i] = aio_spawn(t, worker, &(struct worker){.id = f->i});
    printf("ready\n");
    fflush(stdout); /* whoever waits for this line may send the signal now */

    /* Serve until aio_run cancels us (an accept loop would be here; this
     * one does housekeeping once a second). Handled, the cancel is a
     * requested stop: the program then ends normally. */
    for (;;) {
        AIO_AWAIT(t, aio_sleep(t, 1.0));
        if (AIO_CANCEL_HANDLED(t)) {
            f->why = AIO_CANCEL_MESSAGE(t); /* the signal's name */
            break;
        }
    }
    printf("server: %s received, stopping %d workers\n", f->why ? f->why : "a cancel", NWORKERS);

    for (f->i = 0; f->i < NWORKERS; f->i++)
        aio_task_cancel(t, f->workers[f->i], "shutdown");
    /* Wait for every worker's cleanup; aio_wait leaves our references. */
    AIO_AWAIT(t, aio_wait(t, f->workers, NWORKERS, AIO_FOREVER, AIO_ALL_COMPLETED));
    for (f->i = 0; f->i < NWORKERS; f->i++) {
        aio_value served;
        if (aio_future_result(t, f->workers[f->i], &served) == 0)
            f->total += served.i;
        aio_future_release(t, f->workers[f->i]);
    }
    printf("served %ld requests with %d workers; all closed cleanly\n", f->total, NWORKERS);
    AIO_RETURN(t, f->total);
    AIO_END(t);
}

int main(void) {
    int rc = aio_run(server, &(struct server){0});
    if (rc < 0)
        fprintf(stderr, "graceful: %s\n", aio_strerror(rc));
    return rc == 0 ? 0 : 1;
}
