/* Host names, resolved off the loop thread: getaddrinfo runs as a job on
 * the loop's executor pool (asyncio does the same in its default
 * executor), and the answer comes back on the loop thread through the
 * job's future.
 *
 * A lookup cannot be interrupted, so it is never cancelled: a caller that
 * gives up (its open_connection was cancelled) abandons it, and the answer
 * is freed when it comes back. Ownership of the request between the job
 * and the loop, for the one case where the loop may go first (it closes
 * while the job runs), is settled by an atomic state: whichever side
 * finishes second frees the request. */
#include "core/futures.h"
#include "core/mem.h"
#include "net/net.h"

#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_QUEUED, R_RUNNING, R_DONE, R_GONE };

struct aio__resolve {
    _Atomic int state;
    aio__resolve *prev, *next; /* the loop's list (loop thread) */
    aio__resolve_cb cb;
    void *arg;
    bool abandoned; /* loop thread: nobody wants the answer */
    int family, flags;
    char port[8];
    int gai, sys_errno; /* the job's answer */
    struct addrinfo *res;
    char host[]; /* copied */
};

int aio__gai_error(int gai, int sys_errno) {
    switch (gai) {
    case 0:
        return 0;
    case EAI_NONAME:
#ifdef EAI_NODATA
#if EAI_NODATA != EAI_NONAME
    case EAI_NODATA:
#endif
#endif
        return AIO_ENOTFOUND;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_FAMILY:
        return -EAFNOSUPPORT;
    case EAI_SYSTEM:
        return sys_errno ? -sys_errno : AIO_ERESOLVE;
    default:
        return AIO_ERESOLVE;
    }
}

static void req_free(aio__resolve *r) {
    if (r->res)
        freeaddrinfo(r->res);
    aio__free(r);
}

/* On a worker thread. */
static int resolve_job(void *arg, aio_value *result) {
    aio__resolve *r = arg;
    result->p = r;
    if (atomic_exchange(&r->state, R_RUNNING) == R_GONE) {
        req_free(r); /* the loop closed before we started */
        return 0;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = r->family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = r->flags;
    errno = 0;
    r->gai = getaddrinfo(r->host[0] ? r->host : NULL, r->port, &hints, &r->res);
    r->sys_errno = errno;
    if (r->gai != 0)
        r->res = NULL;
    if (atomic_exchange(&r->state, R_DONE) == R_GONE)
        req_free(r); /* the loop closed while we ran */
    return 0;
}

static void unlink_req(aio_loop *loop, aio__resolve *r) {
    struct aio__net *n = loop->net;
    if (r->prev)
        r->prev->next = r->next;
    else
        n->resolving = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

/* The job's future is done (loop thread): the job finished, or it could
 * not be run (the pool refused it). */
static void resolve_done(aio_loop *loop, aio_future f, void *arg) {
    aio__resolve *r = arg;
    unlink_req(loop, r);
    int err = aio_future_error(loop, f);
    aio_future_release(loop, f);
    if (!r->abandoned) {
        if (err == 0)
            err = aio__gai_error(r->gai, r->sys_errno);
        if (err == 0 && !r->res)
            err = AIO_ERESOLVE; /* "getaddrinfo() returned empty list" */
        r->cb(loop, r->arg, err, err == 0 ? r->res : NULL);
    }
    req_free(r);
}

aio__resolve *aio__resolve_start(aio_loop *loop, const char *host, int port, bool passive, int family,
                                 aio__resolve_cb cb, void *arg, int *err) {
    struct aio__net *n = aio__net_get(loop);
    size_t hl = host ? strlen(host) : 0;
    aio__resolve *r = n ? aio__calloc(1, sizeof *r + hl + 1) : NULL;
    if (!r) {
        *err = -ENOMEM;
        return NULL;
    }
    atomic_init(&r->state, R_QUEUED);
    r->cb = cb;
    r->arg = arg;
    r->family = family;
    r->flags = passive ? AI_PASSIVE : 0; /* no AI_ADDRCONFIG: with loopback only it hides localhost */
    snprintf(r->port, sizeof r->port, "%d", port);
    if (hl)
        memcpy(r->host, host, hl);
    aio_future job = aio_run_in_executor(loop, NULL, resolve_job, r);
    int rc = aio_future_check(job);
    if (rc == 0)
        rc = aio_future_add_done_callback(loop, job, resolve_done, r);
    if (rc < 0) {
        if (aio_future_check(job) == 0) {
            /* Cannot listen for its answer: let the job free the request. */
            if (atomic_exchange(&r->state, R_GONE) == R_DONE)
                req_free(r);
            aio_future_release(loop, job);
        } else {
            aio__free(r);
        }
        *err = rc;
        return NULL;
    }
    r->next = n->resolving;
    if (r->next)
        r->next->prev = r;
    n->resolving = r;
    return r;
}

void aio__resolve_abandon(aio_loop *loop, aio__resolve *r) {
    (void)loop;
    r->abandoned = true; /* freed when the answer comes */
}

/* At loop close, after the executor's close: a job that finished (its
 * completion dropped by the close) is freed here; one still running frees
 * the request itself when it ends. One still queued was removed from its
 * pool by the close and never runs: freed here too. (The executor's close
 * waits for running jobs, 5 s by default; only a worker that took the job
 * and then stalled longer than that before its first instruction could
 * still run it.) */
void aio__resolves_free_all(aio_loop *loop) {
    struct aio__net *n = loop->net;
    aio__resolve *r = n->resolving;
    n->resolving = NULL;
    while (r) {
        aio__resolve *next = r->next;
        int prev = atomic_exchange(&r->state, R_GONE);
        if (prev == R_DONE || prev == R_QUEUED)
            req_free(r);
        r = next;
    }
}
