/* Floors: the bare data-structure work of each workload, with no error
 * checks, no handles, no cancellation and no poll. They show how close each
 * libaio figure is to the limit on this machine.
 *
 *   floor cb_batch|cb_chain|spawn|spawn_yield|pingpong [N] [rounds=2]
 *   floor heap MAX_MS [N] [rounds=2]
 *   floor pending [N]
 *
 * cb_*      a ring of (fn, arg), 16 B entries, run until empty;
 * spawn*    a malloc'd 32 B "task" (fn, state, FIFO link, value) per child,
 *           an intrusive FIFO, a result array; each task is freed when done;
 * pingpong  two 32 B tasks, a 24 B future (state, value, waiter) per handoff
 *           set and a fresh one taken from a free list, the waiter queued
 *           and resumed;
 * heap      a 4-ary min-heap of (deadline ns, seq, slot) with a (fn, arg)
 *           slot table: arm N deadlines, then pop and call them in order
 *           (compute only: no clock, no waiting);
 * pending   RSS delta per "task": a malloc'd 32 B frame, a 24 B future in a
 *           table and an 8 B pointer.
 * Round 1 is "fresh", later rounds "warm" (memory already touched). */
#include "bench.h"

typedef void (*fn_t)(void *);

/* ---- ring of (fn, arg) ---- */
typedef struct {
    fn_t fn;
    void *arg;
} ent;
static ent *ring;
static uint64_t head, tail, mask;

static void ring_init(uint64_t cap) {
    uint64_t c = 64;
    while (c < cap)
        c *= 2;
    ring = malloc(c * sizeof *ring);
    mask = c - 1;
    head = tail = 0;
}
static inline void push(fn_t fn, void *arg) {
    ring[tail & mask] = (ent){fn, arg};
    tail++;
}
static void drain(void) {
    while (head != tail) {
        ent e = ring[head & mask];
        head++;
        e.fn(e.arg);
    }
}

static long counter, limit;
static void cb_count(void *arg) {
    (void)arg;
    counter++;
}
static void cb_next(void *arg) {
    if (++counter < limit)
        push(cb_next, arg);
}

/* ---- tasks ---- */
typedef struct task {
    int (*fn)(struct task *);
    int state;
    int64_t value;
    struct task *next;
} task; /* 32 bytes */

static task *qh, *qt;
static int64_t *results;
static inline void tq_push(task *t) {
    t->next = NULL;
    if (qt)
        qt->next = t;
    else
        qh = t;
    qt = t;
}
static int t_ret(task *t) {
    results[t->value] = t->value;
    return 1;
}
static int t_yield(task *t) {
    if (t->state == 0) {
        t->state = 1;
        tq_push(t);
        return 0;
    }
    results[t->value] = t->value;
    return 1;
}
static void run_tasks(void) {
    while (qh) {
        task *t = qh;
        qh = t->next;
        if (!qh)
            qt = NULL;
        if (t->fn(t))
            free(t);
    }
}

/* ---- ping-pong ---- */
typedef struct fut {
    int done;
    int64_t value;
    task *waiter;
} fut; /* 24 bytes */
static fut *inbox[2];
static fut *fut_free; /* freed futures are reused, as a futures table does */
static fut *fut_new(void) {
    fut *f = fut_free;
    if (f)
        fut_free = (fut *)f->waiter;
    else
        f = malloc(sizeof *f);
    f->done = 0;
    f->value = 0;
    f->waiter = NULL;
    return f;
}
static void fut_del(fut *f) {
    f->waiter = (task *)fut_free;
    fut_free = f;
}
static task *players[2];
static long pp_n;
static int t_player(task *t) {
    int me = t == players[1];
    for (;;) {
        fut *f = inbox[me];
        if (!f->done) {
            f->waiter = t;
            return 0;
        }
        int64_t v = f->value;
        fut_del(f);
        if (v >= pp_n)
            return 1;
        inbox[me] = fut_new();
        fut *o = inbox[!me];
        o->done = 1;
        o->value = v + 1;
        if (o->waiter) {
            tq_push(o->waiter);
            o->waiter = NULL;
        }
        if (v + 1 >= pp_n)
            return 1;
    }
}

/* ---- heap ---- */
typedef struct {
    int64_t when;
    uint32_t seq, slot;
} hent;
static hent *heap;
static ent *slots;
static uint32_t hlen;
static inline int hless(const hent *a, const hent *b) {
    return a->when != b->when ? a->when < b->when : (int32_t)(a->seq - b->seq) < 0;
}
static void hpush(hent e) {
    uint32_t pos = hlen++;
    while (pos > 0) {
        uint32_t p = (pos - 1) / 4;
        if (!hless(&e, &heap[p]))
            break;
        heap[pos] = heap[p];
        pos = p;
    }
    heap[pos] = e;
}
static hent hpop(void) {
    hent top = heap[0], e = heap[--hlen];
    uint32_t pos = 0, n = hlen;
    for (;;) {
        uint32_t first = pos * 4 + 1;
        if (first >= n)
            break;
        uint32_t best = first, end = first + 4 < n ? first + 4 : n;
        for (uint32_t c = first + 1; c < end; c++)
            if (hless(&heap[c], &heap[best]))
                best = c;
        if (!hless(&heap[best], &e))
            break;
        heap[pos] = heap[best];
        pos = best;
    }
    if (n)
        heap[pos] = e;
    return top;
}

int main(int argc, char **argv) {
    if (argc < 2)
        bench_usage("floor cb_batch|cb_chain|spawn|spawn_yield|pingpong|heap|pending ...");
    const char *mode = argv[1];
    int is_heap = strcmp(mode, "heap") == 0;
    long max_ms = is_heap ? bench_arg_long(argc, argv, 2, 1) : 0;
    int a = is_heap ? 3 : 2;
    long n = bench_arg_long(argc, argv, a, 1000000);
    long rounds = bench_arg_long(argc, argv, a + 1, 2);
    bench_mark m;

    if (strcmp(mode, "pending") == 0) {
        fut *table = malloc((size_t)n * sizeof *table);
        task **ptrs = malloc((size_t)n * sizeof *ptrs);
        long rss0 = bench_rss_bytes();
        bench_start(&m);
        for (long i = 0; i < n; i++) {
            task *t = malloc(sizeof *t);
            t->fn = t_ret;
            t->state = 1;
            t->value = i;
            t->next = NULL;
            table[i] = (fut){0, 0, t};
            ptrs[i] = t;
        }
        bench_stop(&m);
        long rss1 = bench_rss_bytes();
        bench_emit("pending", "floor", "own", "fresh", n, &m, ",\"bytes_per_task\":%.1f,\"frame_bytes\":8",
                   (double)(rss1 - rss0) / (double)n);
        return 0;
    }

    const char *workload = "?", *variant = mode;
    for (long r = 0; r < rounds; r++) {
        const char *fresh = r == 0 ? "fresh" : "warm";
        counter = 0;
        if (strcmp(mode, "cb_batch") == 0 || strcmp(mode, "cb_chain") == 0) {
            int batch = mode[3] == 'b';
            workload = "callbacks";
            variant = batch ? "batch" : "chain";
            if (r == 0)
                ring_init(batch ? (uint64_t)n : 64);
            limit = n;
            bench_start(&m);
            if (batch)
                for (long i = 0; i < n; i++)
                    push(cb_count, NULL);
            else
                push(cb_next, NULL);
            drain();
            bench_stop(&m);
            if (counter != n)
                return 1;
        } else if (strncmp(mode, "spawn", 5) == 0) {
            int yield = strcmp(mode, "spawn_yield") == 0;
            workload = "spawn";
            variant = yield ? "yield" : "ret";
            if (r == 0)
                results = malloc((size_t)n * sizeof *results);
            bench_start(&m);
            for (long i = 0; i < n; i++) {
                task *t = malloc(sizeof *t);
                t->fn = yield ? t_yield : t_ret;
                t->state = 0;
                t->value = i;
                tq_push(t);
            }
            run_tasks();
            int64_t sum = 0;
            for (long i = 0; i < n; i++)
                sum += results[i];
            bench_stop(&m);
            if (sum != (int64_t)n * (n - 1) / 2)
                return 1;
        } else if (strcmp(mode, "pingpong") == 0) {
            workload = "pingpong";
            variant = "futures";
            pp_n = n;
            for (int k = 0; k < 2; k++) {
                inbox[k] = fut_new();
                players[k] = calloc(1, sizeof(task));
                players[k]->fn = t_player;
            }
            bench_start(&m);
            inbox[0]->done = 1;
            inbox[0]->value = 1;
            tq_push(players[0]);
            tq_push(players[1]);
            while (qh) {
                task *t = qh;
                qh = t->next;
                if (!qh)
                    qt = NULL;
                t->fn(t);
            }
            bench_stop(&m);
            free(players[0]);
            free(players[1]);
        } else if (is_heap) {
            workload = "timers";
            static char v[32];
            snprintf(v, sizeof v, "0-%ldms", max_ms);
            variant = v;
            if (r == 0) {
                heap = malloc((size_t)n * sizeof *heap);
                slots = malloc((size_t)n * sizeof *slots);
            }
            uint64_t seed = 42;
            double max_ns = (double)max_ms * 1e6;
            bench_start(&m);
            for (long i = 0; i < n; i++) {
                slots[i] = (ent){cb_count, NULL};
                hpush((hent){(int64_t)(bench_uniform(&seed) * max_ns), (uint32_t)i, (uint32_t)i});
            }
            while (hlen) {
                hent e = hpop();
                slots[e.slot].fn(slots[e.slot].arg);
            }
            bench_stop(&m);
            if (counter != n)
                return 1;
        } else {
            bench_usage("floor cb_batch|cb_chain|spawn|spawn_yield|pingpong|heap|pending ...");
        }
        bench_emit(workload, "floor", variant, fresh, n, &m, NULL);
    }
    return 0;
}
