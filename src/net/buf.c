/* Byte buffers of streams (read and write side), and the loop's pool of
 * blocks behind them.
 *
 * An empty buffer holds no memory: an idle connection costs no buffer
 * bytes at all. A buffer that gets bytes takes a 64 KiB block from the
 * loop's pool and gives it back as soon as it is empty again, so a busy
 * echo loop borrows and returns the same warm block and never calls
 * malloc. A buffer that must hold more than a block (a long line, a big
 * readexactly, a slow reader's backlog) grows by doubling with realloc and
 * is freed when emptied. The pool keeps at most AIO__NET_POOL_MAX free
 * blocks. */
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

static char *block_get(aio_loop *loop) {
    struct aio__net *n = loop->net;
    if (n->blocks) {
        void *b = n->blocks;
        n->blocks = *(void **)b;
        n->nblocks--;
        return b;
    }
    return malloc(AIO__NET_BLOCK);
}

static void block_put(aio_loop *loop, char *b) {
    struct aio__net *n = loop->net;
    if (n->nblocks >= AIO__NET_POOL_MAX) {
        free(b);
        return;
    }
    *(void **)(void *)b = n->blocks;
    n->blocks = b;
    n->nblocks++;
}

void aio__buf_release(aio_loop *loop, aio__buf *b) {
    if (b->data) {
        if (b->cap == AIO__NET_BLOCK)
            block_put(loop, b->data);
        else
            free(b->data);
    }
    b->data = NULL;
    b->start = b->end = b->cap = 0;
}

int aio__buf_reserve(aio_loop *loop, aio__buf *b, size_t room) {
    if (room == 0)
        room = 1;
    if (b->cap - b->end >= room)
        return 0;
    size_t len = aio__buf_len(b);
    if (!b->data) {
        if (room <= AIO__NET_BLOCK) {
            if (!(b->data = block_get(loop)))
                return -ENOMEM;
            b->cap = AIO__NET_BLOCK;
        } else {
            if (!(b->data = malloc(room)))
                return -ENOMEM;
            b->cap = room;
        }
        b->start = b->end = 0;
        return 0;
    }
    if (b->cap - len >= room) { /* moving the bytes to the front makes room */
        memmove(b->data, b->data + b->start, len);
        b->start = 0;
        b->end = len;
        return 0;
    }
    if (len > SIZE_MAX - room)
        return -ENOMEM;
    size_t cap = b->cap;
    while (cap < len + room)
        cap = cap > SIZE_MAX / 2 ? len + room : cap * 2;
    char *p = malloc(cap);
    if (!p)
        return -ENOMEM;
    memcpy(p, b->data + b->start, len);
    aio__buf_release(loop, b);
    b->data = p;
    b->cap = cap;
    b->start = 0;
    b->end = len;
    return 0;
}

int aio__buf_append(aio_loop *loop, aio__buf *b, const void *p, size_t n) {
    if (n == 0)
        return 0;
    int rc = aio__buf_reserve(loop, b, n);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->end, p, n);
    b->end += n;
    return 0;
}

void aio__buf_consume(aio_loop *loop, aio__buf *b, size_t n) {
    b->start += n;
    if (b->start == b->end)
        aio__buf_release(loop, b);
}
