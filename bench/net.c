/*
 * Socket and HTTP helpers shared by the WebSocket clients and the REST
 * driver: non-blocking TCP connects, closing a socket with its events, and
 * header lookup in an HTTP/1.1 response head (include/http_parser.h covers
 * requests only). No state of their own, so any thread may call them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "bench.h"

int net_connect(const struct sockaddr_in *target, uint32_t source_address)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    /* IP_BIND_ADDRESS_NO_PORT defers the port choice to connect(), so a
     * port is unique per (source, destination) pair instead of per source
     * address. */
    if (source_address != 0) {
        struct sockaddr_in source = {
            .sin_family = AF_INET,
            .sin_port = 0,
            .sin_addr.s_addr = htonl(source_address),
        };
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&source, sizeof(source)) != 0)
            goto fail;
    }

    if (connect(fd, (const struct sockaddr *)target, sizeof(*target)) != 0 &&
        errno != EINPROGRESS)
        goto fail;
    return fd;

fail:
    close(fd);
    return -1;
}

bool net_connect_succeeded(int fd)
{
    int error = 0;
    socklen_t len = sizeof(error);
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 &&
           error == 0;
}

void net_close(struct event **read_event, struct event **write_event, int *fd)
{
    if (*read_event != NULL)
        event_free(*read_event);
    if (*write_event != NULL)
        event_free(*write_event);
    *read_event = NULL;
    *write_event = NULL;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

bool http_head_find(const char *head, size_t len, const char *name,
                    const char **value, size_t *value_len)
{
    size_t name_len = strlen(name);
    const char *end = head + len;

    /* The status line never matches: start after its line feed. */
    const char *line = memchr(head, '\n', len);
    while (line != NULL && line + 1 < end) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            return false;
        size_t line_len = (size_t)(eol - line);
        if (line_len > 0 && line[line_len - 1] == '\r')
            line_len--;

        if (line_len > name_len && line[name_len] == ':' &&
            strncasecmp(line, name, name_len) == 0) {
            const char *v = line + name_len + 1;
            const char *v_end = line + line_len;
            while (v < v_end && (*v == ' ' || *v == '\t'))
                v++;
            while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
                v_end--;
            *value = v;
            *value_len = (size_t)(v_end - v);
            return true;
        }
        line = eol;
    }
    return false;
}
