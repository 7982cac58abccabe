/* Smallest user program: one task, one sleep, one result. */
#include <aio/aio.h>
#include <stdio.h>

static aio_status answer(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    AIO_AWAIT(t, aio_sleep(t, 0.01));
    AIO_RETURN(t, 42);
    AIO_END(t);
}

int main(void) {
    aio_value v;
    int rc = aio_run_coro(answer, NULL, 0, &v);
    printf("consumer: %s (%s), %lld\n", aio_err_name(rc), aio_strerror(rc), (long long)v.i);
    return rc == 0 && v.i == 42 ? 0 : 1;
}
