/* The first asyncio program: print Hello, wait one second, print World. */
#include <aio/aio.h>
#include <stdio.h>

static aio_status hello(aio_task *t, void *frame) {
    (void)frame; /* no frame: nothing survives an await here */
    AIO_BEGIN(t);
    puts("Hello");
    fflush(stdout);
    AIO_AWAIT(t, aio_sleep(t, 1.0));
    puts("World");
    AIO_END(t);
}

int main(void) { return aio_run(hello) == 0 ? 0 : 1; }
