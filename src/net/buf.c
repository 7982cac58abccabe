/* Byte buffers of streams (read and write side), and the loop's blocks
 * behind them.
 *
 * An empty buffer holds no memory: an idle connection costs no buffer
 * bytes at all. A buffer that gets bytes takes a block and gives it back
 * as soon as it is empty again:
 *   - a small one (256 bytes, from a loop arena: a free-list pop) when few
 *     bytes are expected: a request, a ping-pong message;
 *   - a 64 KiB one from the loop's pool otherwise;
 *   - a 256 KiB one from a second pool for a connection that streams (its
 *     last recv filled 64 KiB): fewer, larger recvs cost the kernel less
 *     per byte (about 40% less per GiB than 64 KiB ones here);
 *   - a malloc'd one, doubling, if it must hold more than 256 KiB (a long
 *     line, a big readexactly, a slow reader's backlog): freed when
 *     emptied.
 * So a busy connection borrows warm blocks and never calls malloc. Each
 * pool keeps as many free blocks as were in use at once recently
 * (at least 8): a hundred connections that each take a block in one poll
 * and give it back after do not free and re-allocate 6 MiB per round trip.
 * The recent peak decays by one block every 64 returns, so a burst's
 * memory goes back soon after the burst. */
#include "core/mem.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

static char *pool_get(aio__pool *p, size_t size) {
    char *b = p->free;
    if (b) {
        p->free = *(void **)(void *)b;
        p->nfree--;
    } else if (!(b = aio__malloc(size))) {
        return NULL;
    }
    if (++p->inuse > p->peak)
        p->peak = p->inuse;
    return b;
}

static void pool_put(aio__pool *p, char *b) {
    p->inuse--;
    if (p->peak > p->inuse && ++p->decay >= 64) {
        p->decay = 0;
        p->peak--;
    }
    unsigned keep = p->peak > AIO__NET_POOL_MIN ? p->peak : AIO__NET_POOL_MIN;
    if (p->nfree >= keep) {
        aio__free(b);
        return;
    }
    *(void **)(void *)b = p->free;
    p->free = b;
    p->nfree++;
}

void aio__buf_release(aio_loop *loop, aio__buf *b) {
    switch (b->kind) {
    case AIO__BUF_SMALL:
        aio__arena_put(&loop->net->smalls, b->data, AIO__NET_SMALL);
        break;
    case AIO__BUF_BLOCK:
        pool_put(&loop->net->blocks, b->data);
        break;
    case AIO__BUF_BIG:
        pool_put(&loop->net->bigs, b->data);
        break;
    case AIO__BUF_HEAP:
        aio__free(b->data);
        break;
    default:
        break;
    }
    b->data = NULL;
    b->start = b->end = b->cap = 0;
    b->kind = AIO__BUF_NONE;
}

/* Move the bytes into a new block of cap bytes of the given kind. */
static int buf_move(aio_loop *loop, aio__buf *b, size_t cap, uint8_t kind) {
    char *p = kind == AIO__BUF_SMALL   ? aio__arena_alloc(loop, &loop->net->smalls, AIO__NET_SMALL)
              : kind == AIO__BUF_BLOCK ? pool_get(&loop->net->blocks, AIO__NET_BLOCK)
              : kind == AIO__BUF_BIG   ? pool_get(&loop->net->bigs, AIO__NET_BIG)
                                       : aio__malloc(cap);
    if (!p)
        return -ENOMEM;
    size_t len = aio__buf_len(b);
    if (len)
        memcpy(p, b->data + b->start, len);
    aio__buf_release(loop, b);
    b->data = p;
    b->cap = (uint32_t)cap;
    b->kind = kind;
    b->start = 0;
    b->end = (uint32_t)len;
    return 0;
}

int aio__buf_reserve(aio_loop *loop, aio__buf *b, size_t room, bool small) {
    if (room == 0)
        room = 1;
    if (aio__buf_room(b) >= room)
        return 0;
    size_t len = aio__buf_len(b);
    if (b->kind != AIO__BUF_NONE && b->cap - len >= room) { /* moving the bytes to the front will do */
        memmove(b->data, b->data + b->start, len);
        b->start = 0;
        b->end = (uint32_t)len;
        return 0;
    }
    if (room > UINT32_MAX - len)
        return -EOVERFLOW;
    size_t need = len + room;
    if (small && need <= AIO__NET_SMALL)
        return buf_move(loop, b, AIO__NET_SMALL, AIO__BUF_SMALL);
    if (need <= AIO__NET_BLOCK)
        return buf_move(loop, b, AIO__NET_BLOCK, AIO__BUF_BLOCK);
    if (need <= AIO__NET_BIG)
        return buf_move(loop, b, AIO__NET_BIG, AIO__BUF_BIG);
    size_t cap = b->cap > AIO__NET_BIG ? b->cap : AIO__NET_BIG;
    while (cap < need)
        cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
    return buf_move(loop, b, cap, AIO__BUF_HEAP);
}

int aio__buf_append(aio_loop *loop, aio__buf *b, const void *p, size_t n) {
    if (n == 0)
        return 0;
    int rc = aio__buf_reserve(loop, b, n, n <= AIO__NET_SMALL);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->end, p, n);
    b->end += (uint32_t)n;
    return 0;
}

void aio__buf_consume(aio_loop *loop, aio__buf *b, size_t n) {
    b->start += (uint32_t)n;
    if (b->start == b->end)
        aio__buf_release(loop, b);
}
