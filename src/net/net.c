/* The network module's per-loop state and the handles of streams and
 * servers.
 *
 * The state is made at the first network call (a loop that never opens a
 * socket pays one pointer). Streams and servers are named by handles
 * (tag:16 | gen:22 | index:26, the futures' layout) into one table: a
 * handle outlives its object safely, as a freed slot's generation moves on
 * and every later lookup says AIO_ECLOSED instead of touching freed
 * memory. */
#include "core/handles.h"
#include "core/mem.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(void *) != 8 || sizeof(aio__nslot) == 16, "a handle's slot is 16 bytes");
_Static_assert(AIO__GEN_BITS <= 24, "a generation fits the slot's 24 bits");

struct aio__net *aio__net_get(aio_loop *loop) {
    if (!loop->net) {
        loop->net = aio__calloc(1, sizeof *loop->net);
        if (loop->net)
            loop->net->free = AIO__NIL;
    }
    return loop->net;
}

int aio__nh_new(aio_loop *loop, void *obj, uint8_t kind, uint64_t *id) {
    struct aio__net *n = aio__net_get(loop);
    if (!n)
        return -ENOMEM;
    uint32_t i = n->free;
    if (i != AIO__NIL) {
        n->free = n->slots[i].next_free;
    } else {
        if (n->n == n->cap) {
            uint32_t cap = n->cap ? n->cap * 2 : 64;
            if (cap > (uint32_t)AIO__IDX_MASK)
                return -ENOMEM;
            void *p = n->slots;
            size_t old = (size_t)n->cap * sizeof(aio__nslot);
            if (aio__table_resize(loop, &p, old, old, (size_t)cap * sizeof(aio__nslot)) < 0)
                return -ENOMEM;
            n->slots = p;
            n->cap = cap;
        }
        i = n->n++;
        n->slots[i].gen = 1;
    }
    aio__nslot *s = &n->slots[i];
    s->obj = obj;
    s->kind = kind;
    *id = loop->fut.tag_bits | ((uint64_t)s->gen << AIO__IDX_BITS) | i;
    return 0;
}

void aio__nh_free(aio_loop *loop, uint64_t id) {
    struct aio__net *n = loop->net;
    uint32_t i = (uint32_t)(id & AIO__IDX_MASK);
    aio__nslot *s = &n->slots[i];
    s->obj = NULL;
    s->gen = (uint32_t)((s->gen + 1) & AIO__GEN_MASK);
    if (s->gen == 0)
        s->gen = 1; /* 0 never names a live object */
    s->next_free = n->free;
    n->free = i;
}

void *aio__nh_get_slow(aio_loop *loop, uint64_t id, uint8_t kind, int *err) {
    if (!loop) {
        *err = -EINVAL;
        return NULL;
    }
    if (id == 0) {
        *err = AIO_ENULL;
        return NULL;
    }
    if ((id >> AIO__TAG_SHIFT) != loop->tag) {
        *err = AIO_EFOREIGN;
        return NULL;
    }
    struct aio__net *n = loop->net;
    uint32_t i = (uint32_t)(id & AIO__IDX_MASK);
    uint32_t gen = (uint32_t)((id >> AIO__IDX_BITS) & AIO__GEN_MASK);
    if (!n || i >= n->n || n->slots[i].gen != gen || !n->slots[i].obj || n->slots[i].kind != kind) {
        *err = AIO_ECLOSED;
        return NULL;
    }
    return n->slots[i].obj;
}

void aio__net_close(aio_loop *loop) {
    struct aio__net *n = loop->net;
    if (!n)
        return;
    aio__connects_free_all(loop);
    aio__servers_free_all(loop);
    aio__streams_free_all(loop);
    aio__resolves_free_all(loop);
    aio__pool *pools[2] = {&n->blocks, &n->bigs};
    for (int i = 0; i < 2; i++)
        while (pools[i]->free) {
            void *b = pools[i]->free;
            pools[i]->free = *(void **)b;
            aio__free(b);
        }
    aio__arena_free(loop, &n->streams);
    aio__arena_free(loop, &n->extras);
    aio__arena_free(loop, &n->smalls);
    aio__table_free(loop, n->slots, (size_t)n->cap * sizeof(aio__nslot));
    aio__free(n);
    loop->net = NULL;
}
