/* Addresses and socket options: numeric hosts (no lookup, so no blocking
 * on the loop thread), Unix paths (never truncated), and the flags every
 * socket of the library gets. */
#include "io/sys.h"
#include "net/net.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

int aio__addr_numeric(const char *host, int port, bool passive, int family, struct sockaddr_storage *out,
                      socklen_t *len) {
    if (port < 0 || port > 65535)
        return -EINVAL;
    char serv[8];
    snprintf(serv, sizeof serv, "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    if (host && !*host)
        host = NULL;
    if (!host && !passive)
        return -EINVAL;
    int gai = getaddrinfo(host, serv, &hints, &res);
    if (gai == EAI_NONAME)
        return -EAGAIN; /* a name: resolve it */
    if (gai != 0)
        return gai == EAI_FAMILY ? -EAFNOSUPPORT : -EINVAL;
    /* Passive with no host: IPv6's wildcard if there is one (dual stack
     * on Linux by default), as the first answer is. */
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int aio__addr_unix(const char *path, struct sockaddr_storage *out, socklen_t *len) {
    if (!path || !*path)
        return -EINVAL;
    struct sockaddr_un *un = (struct sockaddr_un *)(void *)out;
    size_t n = strlen(path);
    if (n >= sizeof un->sun_path)
        return -ENAMETOOLONG;
    memset(un, 0, sizeof *un);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

int aio__fd_nonblock(int fd) { return aio__sys_nonblock(fd) < 0 ? -errno : 0; }

int aio__sock_nodelay(int fd) {
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0)
        return 0;
    return errno == EOPNOTSUPP || errno == ENOPROTOOPT ? 0 : -errno;
}
