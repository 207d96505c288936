/*
 * signalctl: command-line client for signal-server's REST admin API.
 *
 * One process, one request: it resolves the server URL and credentials
 * (flags, then SIGNALCTL_* environment variables, then the daemon's own
 * configuration file), sends a single HTTP/1.1 request over a plain TCP
 * socket with a deadline, and prints the response for a person (a table, a
 * list of fields) or as the server's JSON. Exit status: 0 success, 1 the
 * server rejected the request or sent an invalid response, 2 usage error,
 * 3 server unreachable.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "build_config.h"

enum exit_code {
    EXIT_OK = 0,
    EXIT_REJECTED = 1,
    EXIT_USAGE = 2,
    EXIT_UNREACHABLE = 3,
};

#define DEFAULT_CONFIG_PATH "/etc/signal-server/signal-server.conf"
#define DEFAULT_URL "http://127.0.0.1:8080"
#define DEFAULT_TIMEOUT_MS 10000
#define API_PREFIX "/v1/api/socket/websocket/clients"

/* Bounds on what signalctl reads: a list of 10000 clients is a few MiB. */
#define MAX_RESPONSE_BYTES (64u * 1024 * 1024)
#define MAX_DATA_BYTES (64u * 1024 * 1024)
#define MAX_CONFIG_LINE 8192

/* Source of a setting. A lower value takes precedence. */
enum source {
    SOURCE_FLAG = 1,
    SOURCE_ENV = 2,
    SOURCE_CONFIG = 3,
    SOURCE_DEFAULT = 4,
    SOURCE_NONE = 5,
};

struct setting {
    char *value;
    enum source source;
};

struct options {
    struct setting url;
    struct setting user;
    struct setting password;
    struct setting token;
    const char *config_path;
    bool config_path_given;
    int timeout_ms;
};

struct server_url {
    char host[256];
    char port[6];
    char prefix[1024]; /* path from the URL, without a trailing slash */
};

struct http_response {
    int status;
    char reason[128];
    char *body; /* NUL-terminated */
    size_t body_len;
};

static const char *program_name = "signalctl";

static void print_error(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

static void print_error(const char *format, ...)
{
    va_list args;

    fprintf(stderr, "%s: ", program_name);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
}

static void *xmalloc(size_t size)
{
    void *p = malloc(size);

    if (p == NULL) {
        print_error("out of memory");
        exit(EXIT_REJECTED);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t len = strlen(s);
    char *copy = xmalloc(len + 1);

    memcpy(copy, s, len + 1);
    return copy;
}

static void setting_set(struct setting *setting, const char *value,
                        enum source source)
{
    if (source >= setting->source)
        return;
    free(setting->value);
    setting->value = xstrdup(value);
    setting->source = source;
}

static void print_usage(FILE *out)
{
    fprintf(
        out,
        "Usage: signalctl [OPTIONS] COMMAND [ARGS]\n"
        "\n"
        "Administer a running signal-server through its REST API.\n"
        "\n"
        "Commands:\n"
        "  status                       readiness and open connection count\n"
        "  list [--json]                connected clients as a table, or the "
        "server's JSON\n"
        "  show [--json] ID             one client's details\n"
        "  broadcast TOPIC [DATA]       send event TOPIC to every "
        "authenticated client\n"
        "  send-room ROOM TOPIC [DATA]  send event TOPIC to every member of "
        "ROOM\n"
        "  send ID TOPIC [DATA]         send event TOPIC to one client\n"
        "  disconnect ID                close one client's connection (code "
        "1000)\n"
        "\n"
        "DATA is JSON text (quote it for the shell), or - to read it from "
        "standard\n"
        "input. Without DATA the event carries null.\n"
        "\n"
        "Options:\n"
        "  --url URL             server, http://HOST[:PORT][/PATH] (default "
        "from the\n"
        "                        config file's listen key, else " DEFAULT_URL
        ")\n"
        "  --user USER           user name for HTTP Basic authentication\n"
        "  --password PASSWORD   password for HTTP Basic authentication\n"
        "  --token JWT           token for Bearer authentication\n"
        "  --config FILE         daemon configuration to read listen, "
        "admin_user and\n"
        "                        admin_password from "
        "(default " DEFAULT_CONFIG_PATH ")\n"
        "  --timeout SECONDS     limit for connecting and for the whole "
        "request\n"
        "                        (default %d)\n"
        "  --help                print this help and exit\n"
        "  --version             print the version and exit\n"
        "\n"
        "Environment: SIGNALCTL_URL, SIGNALCTL_USER, SIGNALCTL_PASSWORD and\n"
        "SIGNALCTL_TOKEN apply where the matching option is not given.\n"
        "\n"
        "Exit status: 0 success, 1 the server rejected the request, 2 usage "
        "error,\n"
        "3 the server could not be reached.\n",
        DEFAULT_TIMEOUT_MS / 1000);
}

static int usage_error(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

static int usage_error(const char *format, ...)
{
    va_list args;

    fprintf(stderr, "%s: ", program_name);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, "\nTry 'signalctl --help' for more information.\n");
    return EXIT_USAGE;
}

/* ------------------------------------------------------------------------
 * Configuration file: the daemon's `key = value` lines, `#` comments.
 * Only listen, admin_user and admin_password matter here.
 * ---------------------------------------------------------------------- */

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
                       end[-1] == '\n'))
        end--;
    *end = '\0';
    return s;
}

/* Turn the daemon's listen address into a URL a client can connect to: a
 * wildcard address is reached through loopback. */
static bool url_from_listen(const char *listen, char *url, size_t url_size)
{
    const char *colon = strrchr(listen, ':');
    char host[256];
    size_t host_len;

    if (colon == NULL || colon[1] == '\0')
        return false;
    host_len = (size_t)(colon - listen);
    if (host_len >= sizeof(host))
        return false;
    memcpy(host, listen, host_len);
    host[host_len] = '\0';

    if (strcmp(colon + 1, "0") == 0)
        return false;
    if (host_len == 0 || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    else if (strcmp(host, "[::]") == 0 || strcmp(host, "::") == 0)
        snprintf(host, sizeof(host), "[::1]");

    return snprintf(url, url_size, "http://%s:%s", host, colon + 1) <
           (int)url_size;
}

/* Read the config file. A missing file is fine unless the user named it. */
static int read_config(struct options *opts)
{
    FILE *file = fopen(opts->config_path, "r");
    char line[MAX_CONFIG_LINE];
    unsigned line_number = 0;

    if (file == NULL) {
        if (errno == ENOENT && !opts->config_path_given)
            return EXIT_OK;
        if (!opts->config_path_given) {
            /* The packaged file is readable by root and the daemon's group
             * only. Other users give the URL and credentials another way,
             * so the note appears only while one of them is missing. */
            bool url_missing = opts->url.source > SOURCE_ENV;
            bool credentials_missing = opts->user.source > SOURCE_ENV &&
                                       opts->token.source > SOURCE_ENV;

            if (url_missing || credentials_missing)
                print_error("note: cannot read %s (%s); its settings are not "
                            "used",
                            opts->config_path, strerror(errno));
            return EXIT_OK;
        }
        return usage_error("cannot read config file %s: %s", opts->config_path,
                           strerror(errno));
    }

    while (fgets(line, sizeof(line), file) != NULL) {
        char *key, *value, *equals;

        line_number++;
        key = trim(line);
        if (*key == '\0' || *key == '#')
            continue;
        equals = strchr(key, '=');
        if (equals == NULL)
            continue; /* the daemon reports malformed lines itself */
        *equals = '\0';
        value = trim(equals + 1);
        key = trim(key);

        /* As in the daemon, double quotes keep leading or trailing spaces
         * and '#' in a value. */
        size_t value_len = strlen(value);
        if (value_len >= 2 && value[0] == '"' && value[value_len - 1] == '"') {
            value[value_len - 1] = '\0';
            value++;
        }

        if (strcmp(key, "listen") == 0) {
            char url[300];

            if (url_from_listen(value, url, sizeof(url)))
                setting_set(&opts->url, url, SOURCE_CONFIG);
            else
                print_error("note: %s:%u: listen = %s gives no address to "
                            "connect to; use --url",
                            opts->config_path, line_number, value);
        } else if (strcmp(key, "admin_user") == 0) {
            setting_set(&opts->user, value, SOURCE_CONFIG);
        } else if (strcmp(key, "admin_password") == 0) {
            setting_set(&opts->password, value, SOURCE_CONFIG);
        }
    }
    fclose(file);
    return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * URL and request building.
 * ---------------------------------------------------------------------- */

static int parse_url(const char *url, struct server_url *out)
{
    const char *p, *host_end, *port_start = NULL, *path;
    size_t host_len;

    if (strncasecmp(url, "https://", 8) == 0)
        return usage_error(
            "invalid URL '%s': https is not supported; reach the "
            "daemon's own http port, or a proxy's http port",
            url);
    if (strncasecmp(url, "http://", 7) != 0)
        return usage_error("invalid URL '%s': it must start with http://", url);
    p = url + 7;

    /* Host: a bracketed IPv6 literal or a name/IPv4 address up to ':' or '/'.
     */
    if (*p == '[') {
        host_end = strchr(p, ']');
        if (host_end == NULL)
            return usage_error(
                "invalid URL '%s': no ']' after the IPv6 address", url);
        host_len = (size_t)(host_end - p - 1);
        p++;
        path = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/?#");
        host_len = (size_t)(host_end - p);
        path = host_end;
    }
    if (host_len == 0 || host_len >= sizeof(out->host))
        return usage_error("invalid URL '%s': the host is missing or too long",
                           url);
    memcpy(out->host, p, host_len);
    out->host[host_len] = '\0';

    /* Port: digits after ':', 80 when absent. */
    snprintf(out->port, sizeof(out->port), "80");
    if (*path == ':') {
        char *end;
        long port;

        port_start = path + 1;
        errno = 0;
        port = strtol(port_start, &end, 10);
        if (end == port_start || errno != 0 || port < 1 || port > 65535 ||
            (*end != '\0' && *end != '/'))
            return usage_error(
                "invalid URL '%s': the port must be a number from "
                "1 to 65535",
                url);
        snprintf(out->port, sizeof(out->port), "%ld", port);
        path = end;
    }

    /* Path prefix, for a server behind a proxy under a sub-path. */
    if (*path != '\0' && *path != '/')
        return usage_error("invalid URL '%s': unexpected '%c' after the host",
                           url, *path);
    if (strchr(path, '?') != NULL || strchr(path, '#') != NULL)
        return usage_error(
            "invalid URL '%s': a query or fragment is not allowed", url);
    if (strlen(path) >= sizeof(out->prefix))
        return usage_error("invalid URL '%s': the path is too long", url);
    snprintf(out->prefix, sizeof(out->prefix), "%s", path);
    for (size_t len = strlen(out->prefix);
         len > 0 && out->prefix[len - 1] == '/'; len--)
        out->prefix[len - 1] = '\0';
    return EXIT_OK;
}

/* Percent-encode a path segment: everything but RFC 3986 unreserved
 * characters, so '/', '?', '%' and spaces in an id or room name stay inside
 * the segment. */
static char *percent_encode(const char *segment)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = xmalloc(strlen(segment) * 3 + 1);
    char *o = out;

    for (const unsigned char *s = (const unsigned char *)segment; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
            (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_' ||
            *s == '~') {
            *o++ = (char)*s;
        } else {
            *o++ = '%';
            *o++ = hex[*s >> 4];
            *o++ = hex[*s & 15];
        }
    }
    *o = '\0';
    return out;
}

static char *base64_encode(const char *input)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(input);
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    const unsigned char *in = (const unsigned char *)input;
    char *o = out;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        *o++ = alphabet[in[i] >> 2];
        *o++ = alphabet[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        *o++ = alphabet[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
        *o++ = alphabet[in[i + 2] & 63];
    }
    if (i < len) {
        *o++ = alphabet[in[i] >> 2];
        if (i + 1 < len) {
            *o++ = alphabet[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
            *o++ = alphabet[(in[i + 1] & 15) << 2];
        } else {
            *o++ = alphabet[(in[i] & 3) << 4];
            *o++ = '=';
        }
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* Build the Authorization header line (with CRLF), or "" when the request
 * carries no credentials. A token wins over a user from the same or a
 * lower-precedence source. */
static char *authorization_header(const struct options *opts, bool needs_auth)
{
    if (!needs_auth)
        return xstrdup("");

    if (opts->token.value != NULL && opts->token.source <= opts->user.source) {
        size_t size = strlen(opts->token.value) + 32;
        char *header = xmalloc(size);

        snprintf(header, size, "Authorization: Bearer %s\r\n",
                 opts->token.value);
        return header;
    }
    if (opts->user.value != NULL) {
        const char *password = opts->password.value ? opts->password.value : "";
        size_t pair_size = strlen(opts->user.value) + strlen(password) + 2;
        char *pair = xmalloc(pair_size);
        char *encoded, *header;
        size_t size;

        snprintf(pair, pair_size, "%s:%s", opts->user.value, password);
        encoded = base64_encode(pair);
        size = strlen(encoded) + 32;
        header = xmalloc(size);
        snprintf(header, size, "Authorization: Basic %s\r\n", encoded);
        free(pair);
        free(encoded);
        return header;
    }
    return xstrdup("");
}

/* ------------------------------------------------------------------------
 * HTTP over a plain socket, with one deadline for the whole exchange.
 * ---------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
    int64_t left = deadline - now_ms();

    return left > 0 ? (int)left : 0;
}

/* Wait until fd is ready for `events`; false on timeout (errno ETIMEDOUT). */
static bool wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};

    for (;;) {
        int n = poll(&pfd, 1, remaining_ms(deadline));

        if (n > 0)
            return true;
        if (n == 0) {
            errno = ETIMEDOUT;
            return false;
        }
        if (errno != EINTR)
            return false;
    }
}

static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
               ai->ai_protocol);
    int error = 0;
    socklen_t len = sizeof(error);

    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS)
        goto fail;
    if (!wait_fd(fd, POLLOUT, deadline))
        goto fail;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
        goto fail;
    if (error != 0) {
        errno = error;
        goto fail;
    }
    return fd;

fail:
    error = errno;
    close(fd);
    errno = error;
    return -1;
}

/* Connect to the first address of host that accepts; -1 with a message. */
static int connect_server(const struct server_url *url, int64_t deadline)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *list, *ai;
    int rc, fd = -1, last_errno = 0;

    rc = getaddrinfo(url->host, url->port, &hints, &list);
    if (rc != 0) {
        print_error("cannot resolve %s: %s", url->host, gai_strerror(rc));
        return -1;
    }
    for (ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, deadline);
        if (fd < 0)
            last_errno = errno;
    }
    freeaddrinfo(list);

    if (fd < 0) {
        if (last_errno == ETIMEDOUT)
            print_error("cannot connect to %s port %s: timed out", url->host,
                        url->port);
        else
            print_error("cannot connect to %s port %s: %s", url->host,
                        url->port, strerror(last_errno));
    }
    return fd;
}

static bool send_all(int fd, const char *data, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(fd, POLLOUT, deadline))
                return false;
            continue;
        }
        return false;
    }
    return true;
}

/* Find the end of the header block; returns the offset of the body or 0. */
static size_t header_end(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i - 3] == '\r' && buf[i - 2] == '\n' && buf[i - 1] == '\r' &&
            buf[i] == '\n')
            return i + 1;
    return 0;
}

/* Return the value of header `name` inside the header block, or NULL. The
 * value is copied into `value`. */
static const char *find_header(const char *headers, size_t len,
                               const char *name, char *value, size_t value_size)
{
    size_t name_len = strlen(name);
    const char *line = memchr(headers, '\n', len);
    const char *end = headers + len;

    while (line != NULL && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));

        if (eol == NULL)
            break;
        if ((size_t)(eol - line) > name_len && line[name_len] == ':' &&
            strncasecmp(line, name, name_len) == 0) {
            const char *v = line + name_len + 1;
            size_t v_len;

            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            v_len = (size_t)(eol - v);
            while (v_len > 0 && (v[v_len - 1] == '\r' || v[v_len - 1] == ' '))
                v_len--;
            if (v_len >= value_size)
                v_len = value_size - 1;
            memcpy(value, v, v_len);
            value[v_len] = '\0';
            return value;
        }
        line = eol;
    }
    return NULL;
}

/* Decode a chunked body in place; false when it is malformed. */
static bool decode_chunked(char *body, size_t len, size_t *out_len)
{
    size_t in = 0, out = 0;

    for (;;) {
        char *end;
        unsigned long size;
        const char *eol = memchr(body + in, '\n', len - in);

        if (eol == NULL)
            return false;
        errno = 0;
        size = strtoul(body + in, &end, 16);
        if (end == body + in || errno != 0)
            return false;
        in = (size_t)(eol - body) + 1;
        if (size == 0)
            break;
        if (size > len - in || len - in - size < 2)
            return false;
        memmove(body + out, body + in, size);
        out += size;
        in += size + 2; /* the chunk's CRLF */
    }
    body[out] = '\0';
    *out_len = out;
    return true;
}

/* Read the whole response: until Content-Length bytes of body arrived, or
 * until the server closes (the request sends Connection: close). */
static int read_response(int fd, int64_t deadline, struct http_response *resp,
                         const struct server_url *url)
{
    size_t cap = 16384, len = 0, body_start = 0;
    char *buf = xmalloc(cap + 1);
    long long content_length = -1;
    bool chunked = false;
    char value[64];

    for (;;) {
        ssize_t n;

        if (body_start > 0 && content_length >= 0 &&
            len - body_start >= (size_t)content_length)
            break;
        if (len == cap) {
            if (cap >= MAX_RESPONSE_BYTES) {
                print_error("response from %s is larger than %u bytes",
                            url->host, MAX_RESPONSE_BYTES);
                free(buf);
                return EXIT_REJECTED;
            }
            cap *= 2;
            buf = realloc(buf, cap + 1);
            if (buf == NULL) {
                print_error("out of memory");
                return EXIT_REJECTED;
            }
        }
        n = recv(fd, buf + len, cap - len, 0);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
                wait_fd(fd, POLLIN, deadline))
                continue;
            print_error("no complete response from %s port %s: %s", url->host,
                        url->port,
                        errno == ETIMEDOUT ? "timed out" : strerror(errno));
            free(buf);
            return EXIT_UNREACHABLE;
        }
        len += (size_t)n;

        if (body_start == 0 && (body_start = header_end(buf, len)) > 0) {
            if (find_header(buf, body_start, "Content-Length", value,
                            sizeof(value)))
                content_length = strtoll(value, NULL, 10);
            if (find_header(buf, body_start, "Transfer-Encoding", value,
                            sizeof(value)) &&
                strcasecmp(value, "chunked") == 0) {
                chunked = true;
                content_length = -1;
            }
        }
    }
    buf[len] = '\0';

    /* Status line: "HTTP/1.x NNN reason". */
    if (body_start == 0 || strncmp(buf, "HTTP/1.", 7) != 0 || len < 12) {
        print_error("%s port %s closed the connection without a complete HTTP "
                    "response",
                    url->host, url->port);
        free(buf);
        return len == 0 ? EXIT_UNREACHABLE : EXIT_REJECTED;
    }
    resp->status = atoi(buf + 9);
    {
        const char *reason = buf + 12;
        size_t reason_len = strcspn(reason, "\r\n");

        while (reason_len > 0 && *reason == ' ') {
            reason++;
            reason_len--;
        }
        if (reason_len >= sizeof(resp->reason))
            reason_len = sizeof(resp->reason) - 1;
        memcpy(resp->reason, reason, reason_len);
        resp->reason[reason_len] = '\0';
    }

    /* Body: move it to the front of the buffer and undo chunking. */
    resp->body_len = len - body_start;
    if (content_length >= 0 && resp->body_len > (size_t)content_length)
        resp->body_len = (size_t)content_length;
    if (content_length >= 0 && resp->body_len < (size_t)content_length) {
        print_error("response from %s ended after %zu of %lld body bytes",
                    url->host, resp->body_len, content_length);
        free(buf);
        return EXIT_UNREACHABLE;
    }
    memmove(buf, buf + body_start, resp->body_len);
    buf[resp->body_len] = '\0';
    if (chunked && !decode_chunked(buf, resp->body_len, &resp->body_len)) {
        print_error("response from %s has an invalid chunked body", url->host);
        free(buf);
        return EXIT_REJECTED;
    }
    resp->body = buf;
    return EXIT_OK;
}

/* Send one request and read its response. Returns an exit code; on EXIT_OK
 * `resp` contains the response, whatever its status. */
static int http_request(const struct options *opts, const char *method,
                        const char *path, const char *body, bool needs_auth,
                        struct http_response *resp)
{
    struct server_url url;
    int64_t deadline = now_ms() + opts->timeout_ms;
    char *auth, *request, host_header[300];
    size_t body_len = body ? strlen(body) : 0, size;
    int fd, rc;

    rc = parse_url(opts->url.value, &url);
    if (rc != EXIT_OK)
        return rc;

    /* Request head and body in one buffer, sent in one go. */
    if (strchr(url.host, ':') != NULL)
        snprintf(host_header, sizeof(host_header), "[%s]:%s", url.host,
                 url.port);
    else
        snprintf(host_header, sizeof(host_header), "%s:%s", url.host, url.port);
    auth = authorization_header(opts, needs_auth);
    size = strlen(method) + strlen(url.prefix) + strlen(path) +
           strlen(host_header) + strlen(auth) + body_len + 256;
    request = xmalloc(size);
    snprintf(request, size,
             "%s %s%s HTTP/1.1\r\n"
             "Host: %s\r\n"
             "User-Agent: signalctl/" SIGNAL_VERSION "\r\n"
             "Accept: application/json\r\n"
             "Connection: close\r\n"
             "%s"
             "%s"
             "Content-Length: %zu\r\n"
             "\r\n"
             "%s",
             method, url.prefix, path, host_header, auth,
             body ? "Content-Type: application/json\r\n" : "", body_len,
             body ? body : "");
    free(auth);

    fd = connect_server(&url, deadline);
    if (fd < 0) {
        free(request);
        return EXIT_UNREACHABLE;
    }
    if (!send_all(fd, request, strlen(request), deadline)) {
        print_error("cannot send the request to %s port %s: %s", url.host,
                    url.port,
                    errno == ETIMEDOUT ? "timed out" : strerror(errno));
        free(request);
        close(fd);
        return EXIT_UNREACHABLE;
    }
    free(request);

    rc = read_response(fd, deadline, resp, &url);
    close(fd);
    return rc;
}

/* Report a non-2xx response with the server's own error text. */
static int report_rejection(const struct http_response *resp)
{
    cJSON *json = cJSON_Parse(resp->body);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");
    const char *hint = "";

    if (resp->status == 401)
        hint = " (check --user/--password or --token)";
    if (cJSON_IsString(error))
        print_error("server returned %d %s: %s%s", resp->status, resp->reason,
                    error->valuestring, hint);
    else if (resp->body_len > 0)
        print_error("server returned %d %s: %.500s%s", resp->status,
                    resp->reason, resp->body, hint);
    else
        print_error("server returned %d %s%s", resp->status, resp->reason,
                    hint);
    cJSON_Delete(json);
    return EXIT_REJECTED;
}

/* Run a request and parse a 2xx JSON object body into *json_out. */
static int call_api(const struct options *opts, const char *method,
                    const char *path, const char *body, bool needs_auth,
                    struct http_response *resp, cJSON **json_out)
{
    int rc = http_request(opts, method, path, body, needs_auth, resp);

    *json_out = NULL;
    if (rc != EXIT_OK)
        return rc;
    if (resp->status < 200 || resp->status > 299)
        return report_rejection(resp);
    *json_out = cJSON_Parse(resp->body);
    if (!cJSON_IsObject(*json_out)) {
        print_error(
            "server returned %d but its body is not a JSON object: %.200s",
            resp->status, resp->body);
        cJSON_Delete(*json_out);
        *json_out = NULL;
        return EXIT_REJECTED;
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * Output.
 * ---------------------------------------------------------------------- */

static void print_raw_json(const struct http_response *resp)
{
    fwrite(resp->body, 1, resp->body_len, stdout);
    if (resp->body_len == 0 || resp->body[resp->body_len - 1] != '\n')
        putchar('\n');
}

/* Format milliseconds since the epoch as ISO 8601 UTC, or "-". */
static void format_time(const cJSON *ms, char *out, size_t size)
{
    struct tm tm;
    time_t seconds;

    if (!cJSON_IsNumber(ms) || ms->valuedouble < 0) {
        snprintf(out, size, "-");
        return;
    }
    seconds = (time_t)(ms->valuedouble / 1000);
    if (gmtime_r(&seconds, &tm) == NULL) {
        snprintf(out, size, "-");
        return;
    }
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *string_or_dash(const cJSON *item)
{
    return cJSON_IsString(item) && item->valuestring[0] ? item->valuestring
                                                        : "-";
}

static char *join_rooms(const cJSON *rooms)
{
    size_t size = 2;
    const cJSON *room;
    char *out;

    cJSON_ArrayForEach(room, rooms) if (cJSON_IsString(room)) size +=
        strlen(room->valuestring) + 1;
    out = xmalloc(size);
    out[0] = '\0';
    cJSON_ArrayForEach(room, rooms)
    {
        if (!cJSON_IsString(room))
            continue;
        if (out[0] != '\0')
            strcat(out, ",");
        strcat(out, room->valuestring);
    }
    if (out[0] == '\0')
        strcpy(out, "-");
    return out;
}

/* Display width of UTF-8 text: one column per code point. */
static size_t text_width(const char *s)
{
    size_t width = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            width++;
    return width;
}

enum { LIST_COLUMNS = 7 };

static void print_row(char *const cells[LIST_COLUMNS],
                      const size_t widths[LIST_COLUMNS])
{
    for (int c = 0; c < LIST_COLUMNS; c++) {
        if (c == LIST_COLUMNS - 1) {
            printf("%s\n", cells[c]);
            break;
        }
        fputs(cells[c], stdout);
        for (size_t pad = text_width(cells[c]); pad < widths[c] + 2; pad++)
            putchar(' ');
    }
}

static int print_client_table(const cJSON *clients)
{
    static const char *const headings[LIST_COLUMNS] = {
        "ID", "USER", "STATE", "ENC", "ROOMS", "CONNECTED", "LAST ACTIVITY"};
    int count = cJSON_GetArraySize(clients);
    char *(*rows)[LIST_COLUMNS] = xmalloc(sizeof(*rows) * (size_t)(count + 1));
    size_t widths[LIST_COLUMNS];
    const cJSON *client;
    int r = 0;

    /* Format every cell first: the column widths depend on all rows. */
    for (int c = 0; c < LIST_COLUMNS; c++) {
        rows[0][c] = xstrdup(headings[c]);
        widths[c] = text_width(headings[c]);
    }
    cJSON_ArrayForEach(client, clients)
    {
        char connected[32], last_activity[32];
        const cJSON *encrypted =
            cJSON_GetObjectItemCaseSensitive(client, "encrypted");

        r++;
        format_time(cJSON_GetObjectItemCaseSensitive(client, "connectedAt"),
                    connected, sizeof(connected));
        format_time(cJSON_GetObjectItemCaseSensitive(client, "lastActivity"),
                    last_activity, sizeof(last_activity));
        rows[r][0] = xstrdup(
            string_or_dash(cJSON_GetObjectItemCaseSensitive(client, "id")));
        rows[r][1] = xstrdup(
            string_or_dash(cJSON_GetObjectItemCaseSensitive(client, "userId")));
        rows[r][2] = xstrdup(
            string_or_dash(cJSON_GetObjectItemCaseSensitive(client, "state")));
        rows[r][3] = xstrdup(cJSON_IsBool(encrypted)
                                 ? (cJSON_IsTrue(encrypted) ? "yes" : "no")
                                 : "-");
        rows[r][4] =
            join_rooms(cJSON_GetObjectItemCaseSensitive(client, "rooms"));
        rows[r][5] = xstrdup(connected);
        rows[r][6] = xstrdup(last_activity);
        for (int c = 0; c < LIST_COLUMNS; c++) {
            size_t width = text_width(rows[r][c]);

            if (width > widths[c])
                widths[c] = width;
        }
    }

    for (int i = 0; i <= r; i++) {
        print_row(rows[i], widths);
        for (int c = 0; c < LIST_COLUMNS; c++)
            free(rows[i][c]);
    }
    free(rows);
    return EXIT_OK;
}

static void print_client(const cJSON *client)
{
    const cJSON *encrypted =
        cJSON_GetObjectItemCaseSensitive(client, "encrypted");
    const cJSON *metadata =
        cJSON_GetObjectItemCaseSensitive(client, "metadata");
    char connected[32], last_activity[32];
    char *rooms = join_rooms(cJSON_GetObjectItemCaseSensitive(client, "rooms"));
    char *metadata_text = metadata ? cJSON_PrintUnformatted(metadata) : NULL;

    format_time(cJSON_GetObjectItemCaseSensitive(client, "connectedAt"),
                connected, sizeof(connected));
    format_time(cJSON_GetObjectItemCaseSensitive(client, "lastActivity"),
                last_activity, sizeof(last_activity));
    printf("id:             %s\n",
           string_or_dash(cJSON_GetObjectItemCaseSensitive(client, "id")));
    printf("user:           %s\n",
           string_or_dash(cJSON_GetObjectItemCaseSensitive(client, "userId")));
    printf("state:          %s\n",
           string_or_dash(cJSON_GetObjectItemCaseSensitive(client, "state")));
    printf("encrypted:      %s\n",
           cJSON_IsBool(encrypted) ? (cJSON_IsTrue(encrypted) ? "yes" : "no")
                                   : "-");
    printf("rooms:          %s\n", rooms);
    printf("connected:      %s\n", connected);
    printf("last activity:  %s\n", last_activity);
    printf("metadata:       %s\n", metadata_text ? metadata_text : "-");
    free(rooms);
    free(metadata_text);
}

/* ------------------------------------------------------------------------
 * Commands.
 * ---------------------------------------------------------------------- */

struct command_args {
    char **positional;
    int count;
    bool json;
};

static int command_status(const struct options *opts,
                          const struct command_args *args)
{
    struct http_response resp = {0};
    cJSON *json;
    int rc =
        call_api(opts, "GET", API_PREFIX "/status", NULL, false, &resp, &json);

    if (rc == EXIT_OK) {
        const cJSON *ready = cJSON_GetObjectItemCaseSensitive(json, "isReady");
        const cJSON *count =
            cJSON_GetObjectItemCaseSensitive(json, "clientCount");

        if (args->json) {
            print_raw_json(&resp);
        } else if (!cJSON_IsBool(ready) || !cJSON_IsNumber(count)) {
            print_error("status response lacks isReady or clientCount: %.200s",
                        resp.body);
            rc = EXIT_REJECTED;
        } else {
            printf("ready:    %s\n", cJSON_IsTrue(ready) ? "yes" : "no");
            printf("clients:  %.0f\n", count->valuedouble);
        }
    }
    cJSON_Delete(json);
    free(resp.body);
    return rc;
}

static int command_list(const struct options *opts,
                        const struct command_args *args)
{
    struct http_response resp = {0};
    cJSON *json;
    int rc = call_api(opts, "GET", API_PREFIX "/", NULL, true, &resp, &json);

    if (rc == EXIT_OK) {
        const cJSON *clients =
            cJSON_GetObjectItemCaseSensitive(json, "clients");

        if (args->json) {
            print_raw_json(&resp);
        } else if (!cJSON_IsArray(clients)) {
            print_error("list response has no clients array: %.200s",
                        resp.body);
            rc = EXIT_REJECTED;
        } else {
            rc = print_client_table(clients);
        }
    }
    cJSON_Delete(json);
    free(resp.body);
    return rc;
}

static int command_show(const struct options *opts,
                        const struct command_args *args)
{
    struct http_response resp = {0};
    char *id = percent_encode(args->positional[0]);
    size_t size = strlen(API_PREFIX) + strlen(id) + 2;
    char *path = xmalloc(size);
    cJSON *json;
    int rc;

    snprintf(path, size, API_PREFIX "/%s", id);
    rc = call_api(opts, "GET", path, NULL, true, &resp, &json);
    if (rc == EXIT_OK) {
        if (args->json)
            print_raw_json(&resp);
        else
            print_client(json);
    }
    cJSON_Delete(json);
    free(resp.body);
    free(path);
    free(id);
    return rc;
}

/* Read all of standard input for DATA given as "-". */
static char *read_stdin(size_t *len_out)
{
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap + 1);

    for (;;) {
        size_t n;

        if (len == cap) {
            if (cap >= MAX_DATA_BYTES) {
                free(buf);
                return NULL;
            }
            cap *= 2;
            buf = realloc(buf, cap + 1);
            if (buf == NULL) {
                print_error("out of memory");
                exit(EXIT_REJECTED);
            }
        }
        n = fread(buf + len, 1, cap - len, stdin);
        len += n;
        if (n == 0)
            break;
    }
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

/* Build {"topic": TOPIC, "data": DATA} with DATA checked as JSON and copied
 * as written, so numbers keep their exact digits. NULL after a usage error
 * has been printed. */
static char *build_message_body(const char *topic, const char *data_arg)
{
    char *data = NULL, *body;
    cJSON *object, *parsed;
    size_t len;

    if (data_arg != NULL && strcmp(data_arg, "-") == 0) {
        data = read_stdin(&len);
        if (data == NULL) {
            usage_error("DATA on standard input is larger than %u bytes",
                        MAX_DATA_BYTES);
            return NULL;
        }
        if (strlen(data) != len) {
            usage_error("DATA on standard input contains a NUL byte");
            free(data);
            return NULL;
        }
    } else if (data_arg != NULL) {
        data = xstrdup(data_arg);
    }

    if (data != NULL) {
        const char *end = NULL;

        if (*trim(data) == '\0') {
            usage_error(
                "DATA is empty; give JSON text such as '{}' or leave it "
                "out");
            free(data);
            return NULL;
        }
        parsed = cJSON_ParseWithOpts(data, &end, true);
        if (parsed == NULL) {
            const char *at = cJSON_GetErrorPtr();
            size_t offset = at && at >= data ? (size_t)(at - data) : 0;

            /* cJSON's error position is approximate: for an object it may
             * point past the closing brace. */
            if (data[offset] == '\0')
                usage_error("DATA is not valid JSON (parsing stopped at byte "
                            "%zu of %zu)",
                            offset, strlen(data));
            else
                usage_error("DATA is not valid JSON (parsing stopped at byte "
                            "%zu of %zu, near '%.20s')",
                            offset, strlen(data), data + offset);
            free(data);
            return NULL;
        }
        cJSON_Delete(parsed);
    }

    /* Without DATA the body still carries "data": null: the ignis WebSocket
     * helper (0.0.7), whose API this server mirrors, returns 200 for a body
     * without data but delivers nothing. */
    object = cJSON_CreateObject();
    if (object == NULL ||
        cJSON_AddStringToObject(object, "topic", topic) == NULL ||
        cJSON_AddRawToObject(object, "data", data ? trim(data) : "null") ==
            NULL) {
        print_error("out of memory");
        exit(EXIT_REJECTED);
    }
    body = cJSON_PrintUnformatted(object);
    cJSON_Delete(object);
    free(data);
    return body;
}

/* broadcast, send-room and send: POST a message body to `path`. */
static int post_message(const struct options *opts, const char *path,
                        const char *topic, const char *data_arg)
{
    struct http_response resp = {0};
    char *body = build_message_body(topic, data_arg);
    cJSON *json;
    int rc;

    if (body == NULL)
        return EXIT_USAGE;
    rc = call_api(opts, "POST", path, body, true, &resp, &json);
    if (rc == EXIT_OK)
        print_raw_json(&resp);
    cJSON_Delete(json);
    free(resp.body);
    free(body);
    return rc;
}

static int command_broadcast(const struct options *opts,
                             const struct command_args *args)
{
    return post_message(opts, API_PREFIX "/broadcast", args->positional[0],
                        args->count > 1 ? args->positional[1] : NULL);
}

static char *path_with_segment(const char *before, const char *segment,
                               const char *after)
{
    char *encoded = percent_encode(segment);
    size_t size = strlen(before) + strlen(encoded) + strlen(after) + 1;
    char *path = xmalloc(size);

    snprintf(path, size, "%s%s%s", before, encoded, after);
    free(encoded);
    return path;
}

static int command_send_room(const struct options *opts,
                             const struct command_args *args)
{
    char *path =
        path_with_segment(API_PREFIX "/rooms/", args->positional[0], "/send");
    int rc = post_message(opts, path, args->positional[1],
                          args->count > 2 ? args->positional[2] : NULL);

    free(path);
    return rc;
}

static int command_send(const struct options *opts,
                        const struct command_args *args)
{
    char *path =
        path_with_segment(API_PREFIX "/", args->positional[0], "/send");
    int rc = post_message(opts, path, args->positional[1],
                          args->count > 2 ? args->positional[2] : NULL);

    free(path);
    return rc;
}

static int command_disconnect(const struct options *opts,
                              const struct command_args *args)
{
    char *path =
        path_with_segment(API_PREFIX "/", args->positional[0], "/disconnect");
    struct http_response resp = {0};
    cJSON *json;
    int rc = call_api(opts, "POST", path, NULL, true, &resp, &json);

    if (rc == EXIT_OK)
        print_raw_json(&resp);
    cJSON_Delete(json);
    free(resp.body);
    free(path);
    return rc;
}

struct command {
    const char *name;
    const char *arguments; /* for usage errors */
    int min_args;
    int max_args;
    bool takes_json_flag;
    int (*run)(const struct options *, const struct command_args *);
};

static const struct command commands[] = {
    {"status", "", 0, 0, true, command_status},
    {"list", "[--json]", 0, 0, true, command_list},
    {"show", "[--json] ID", 1, 1, true, command_show},
    {"broadcast", "TOPIC [DATA]", 1, 2, false, command_broadcast},
    {"send-room", "ROOM TOPIC [DATA]", 2, 3, false, command_send_room},
    {"send", "ID TOPIC [DATA]", 2, 3, false, command_send},
    {"disconnect", "ID", 1, 1, false, command_disconnect},
};

/* Split a command's arguments into --json and positional ones. Positional
 * arguments may start with '-' ("-" for stdin, negative numbers as DATA);
 * only "--" and words starting with "--" before it are options. */
static int parse_command_args(const struct command *cmd, int argc, char **argv,
                              struct command_args *out)
{
    bool options_done = false;

    out->positional = xmalloc(sizeof(char *) * (size_t)(argc + 1));
    out->count = 0;
    out->json = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];

        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
        } else if (!options_done && strncmp(arg, "--", 2) == 0) {
            if (strcmp(arg, "--json") == 0 && cmd->takes_json_flag)
                out->json = true;
            else
                return usage_error("%s: unknown option '%s'", cmd->name, arg);
        } else {
            out->positional[out->count++] = argv[i];
        }
    }

    if (out->count < cmd->min_args || out->count > cmd->max_args)
        return usage_error("%s takes %s%s", cmd->name,
                           cmd->arguments[0] ? cmd->arguments : "no arguments",
                           out->count < cmd->min_args
                               ? " (missing arguments)"
                               : " (too many arguments)");
    for (int i = 0; i < out->count; i++)
        if (out->positional[i][0] == '\0')
            return usage_error("%s: argument %d is empty", cmd->name, i + 1);
    return EXIT_OK;
}

static int parse_timeout(const char *text, int *timeout_ms)
{
    char *end;
    double seconds;

    errno = 0;
    seconds = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !(seconds > 0) ||
        seconds > 3600)
        return usage_error(
            "invalid --timeout '%s': give seconds, more than 0 and "
            "at most 3600",
            text);
    *timeout_ms = (int)(seconds * 1000);
    if (*timeout_ms < 1)
        *timeout_ms = 1;
    return EXIT_OK;
}

static int parse_options(int argc, char **argv, struct options *opts)
{
    enum {
        OPT_URL = 256,
        OPT_USER,
        OPT_PASSWORD,
        OPT_TOKEN,
        OPT_CONFIG,
        OPT_TIMEOUT,
        OPT_HELP,
        OPT_VERSION
    };
    static const struct option long_options[] = {
        {"url", required_argument, NULL, OPT_URL},
        {"user", required_argument, NULL, OPT_USER},
        {"password", required_argument, NULL, OPT_PASSWORD},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    int opt, rc;

    /* '+': stop at the command, so its arguments may start with '-'; ':'
     * so getopt reports nothing itself. */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_URL:
            setting_set(&opts->url, optarg, SOURCE_FLAG);
            break;
        case OPT_USER:
            setting_set(&opts->user, optarg, SOURCE_FLAG);
            break;
        case OPT_PASSWORD:
            setting_set(&opts->password, optarg, SOURCE_FLAG);
            break;
        case OPT_TOKEN:
            setting_set(&opts->token, optarg, SOURCE_FLAG);
            break;
        case OPT_CONFIG:
            opts->config_path = optarg;
            opts->config_path_given = true;
            break;
        case OPT_TIMEOUT:
            rc = parse_timeout(optarg, &opts->timeout_ms);
            if (rc != EXIT_OK)
                return rc;
            break;
        case OPT_HELP:
            print_usage(stdout);
            exit(EXIT_OK);
        case OPT_VERSION:
            printf("signalctl %s\n", SIGNAL_VERSION);
            exit(EXIT_OK);
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    return EXIT_OK;
}

static void apply_environment(struct options *opts)
{
    static const struct {
        const char *name;
        size_t offset;
    } variables[] = {
        {"SIGNALCTL_URL", offsetof(struct options, url)},
        {"SIGNALCTL_USER", offsetof(struct options, user)},
        {"SIGNALCTL_PASSWORD", offsetof(struct options, password)},
        {"SIGNALCTL_TOKEN", offsetof(struct options, token)},
    };

    for (size_t i = 0; i < sizeof(variables) / sizeof(variables[0]); i++) {
        const char *value = getenv(variables[i].name);

        if (value != NULL && value[0] != '\0')
            setting_set((struct setting *)((char *)opts + variables[i].offset),
                        value, SOURCE_ENV);
    }
}

int main(int argc, char **argv)
{
    struct options opts = {
        .url = {NULL, SOURCE_NONE},
        .user = {NULL, SOURCE_NONE},
        .password = {NULL, SOURCE_NONE},
        .token = {NULL, SOURCE_NONE},
        .config_path = DEFAULT_CONFIG_PATH,
        .timeout_ms = DEFAULT_TIMEOUT_MS,
    };
    const struct command *cmd = NULL;
    struct command_args args;
    int rc;

    signal(SIGPIPE, SIG_IGN);

    /* Settings in order of precedence: flags, environment, config file,
     * built-in default; setting_set keeps the first source's value. */
    rc = parse_options(argc, argv, &opts);
    if (rc != EXIT_OK)
        return rc;
    if (optind >= argc)
        return usage_error("no command given");
    apply_environment(&opts);
    rc = read_config(&opts);
    if (rc != EXIT_OK)
        return rc;
    setting_set(&opts.url, DEFAULT_URL, SOURCE_DEFAULT);

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[optind], commands[i].name) == 0)
            cmd = &commands[i];
    if (cmd == NULL)
        return usage_error("unknown command '%s'", argv[optind]);
    rc = parse_command_args(cmd, argc - optind - 1, argv + optind + 1, &args);
    if (rc == EXIT_OK)
        rc = cmd->run(&opts, &args);

    free(args.positional);
    free(opts.url.value);
    free(opts.user.value);
    free(opts.password.value);
    free(opts.token.value);
    return rc;
}
