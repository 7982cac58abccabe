/* The first asyncio program: print Hello, wait one second, print World. */
#include <aio/aio.h>
#include <stdio.h>

struct hello {
    int unused; /* what must survive an await goes here */
};

static aio_status hello(aio_task *t, void *frame) {
    (void)frame;
    AIO_BEGIN(t);
    puts("Hello");
    fflush(stdout);
    AIO_AWAIT(t, aio_sleep(t, 1.0));
    puts("World");
    AIO_END(t);
}

int main(void) { return aio_run(hello, &(struct hello){0}) == 0 ? 0 : 1; }
