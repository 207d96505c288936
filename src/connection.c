/*
 * Connection I/O for the owning worker. It reads and buffers input,
 * handles HTTP/1.1 requests up to the WebSocket upgrade and WebSocket
 * frames after it, and queues output under the per-client backlog limit.
 * Closing sends a close frame, drains the output, half-closes the socket,
 * waits for the peer's EOF and frees the connection.
 */
#include "connection.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "base64.h"
#include "config.h"
#include "http_parser.h"
#include "log.h"
#include "rest.h"
#include "server.h"
#include "session.h"
#include "worker.h"

/* Output backlog at which a connection stops being read until it drains,
 * so a client that sends faster than it reads cannot grow our buffers. */
#define READ_PAUSE_BACKLOG (256 * 1024)

/* How long a closing connection may take to drain and send EOF. */
#define CLOSE_GRACE_MS 2000

/* Output buffers of this size are recycled through the worker's pool;
 * most bursts of frames to one client fit. */
#define OUTBUF_POOLED WORKER_OUTBUF_SIZE

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void release_outbuf(struct worker *w, struct outbuf *o);

static void make_client_id(char out[CLIENT_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    size_t o = 0;

    if (!crypto_random(b, sizeof(b)))
        abort(); /* without randomness ids and keys would be guessable */
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

struct connection *conn_new(struct worker *w, int fd)
{
    struct connection *c = calloc(1, sizeof(*c));
    int one = 1;

    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->worker = w;
    c->fd = fd;
    c->kind = CONN_HTTP;
    c->phase = PHASE_OPEN;
    c->request_started_ms = clock_monotonic_ms();
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    c->read_event = event_new(w->base, fd, EV_READ | EV_PERSIST, on_read, c);
    if (c->read_event == NULL || !worker_attach(w, c)) {
        if (c->read_event != NULL)
            event_free(c->read_event);
        close(fd);
        free(c);
        log_event(LOG_ERROR, "out_of_memory", "where=accept fd=%d", fd);
        return NULL;
    }
    if (event_add(c->read_event, NULL) != 0) {
        conn_free(c);
        return NULL;
    }
    return c;
}

/* Removes the client from the registry and the connection count; safe to
 * call more than once. */
static void unregister(struct connection *c)
{
    struct server *s = c->worker->server;

    if (c->record != NULL) {
        registry_remove_client(s->registry, c->record);
        c->record = NULL;
    }
    if (c->counted) {
        atomic_fetch_sub(&s->ws_connections, 1);
        c->counted = false;
    }
}

void conn_free(struct connection *c)
{
    struct worker *w = c->worker;

    if (c->kind == CONN_WEBSOCKET) {
        log_event(LOG_DEBUG, "connection_freed", "client=%s fd=%d", c->id,
                  c->fd);
        session_on_close(c);
    }
    unregister(c);
    if (c->in_flush_list) {
        struct connection **pp = &w->flush_list;
        while (*pp != c)
            pp = &(*pp)->flush_next;
        *pp = c->flush_next;
    }
    if (c->phase == PHASE_DEAD) {
        struct connection **pp = &w->reap_list;
        while (*pp != NULL && *pp != c)
            pp = &(*pp)->reap_next;
        if (*pp == c)
            *pp = c->reap_next;
    }
    worker_detach(w, c);

    if (c->read_event != NULL)
        event_free(c->read_event);
    if (c->write_event != NULL)
        event_free(c->write_event);
    close(c->fd);
    crypto_wipe(c->key, sizeof(c->key));
    ws_reader_free(&c->reader);
    free(c->rooms);
    free(c->in);
    release_outbuf(w, &c->out);
    free(c);
}

void conn_abort(struct connection *c, const char *reason)
{
    if (c->phase == PHASE_DEAD)
        return;
    if (c->kind == CONN_WEBSOCKET && !c->close_sent)
        log_event(LOG_DEBUG, "connection_dropped",
                  "client=%s fd=%d reason=\"%s\"", c->id, c->fd, reason);
    if (c->kind == CONN_WEBSOCKET)
        worker_mark_closed(c->worker, c);
    c->phase = PHASE_DEAD;
    c->reap_next = c->worker->reap_list;
    c->worker->reap_list = c;
}

/* Returns an output buffer's memory to the worker's pool, or frees it. */
static void release_outbuf(struct worker *w, struct outbuf *o)
{
    if (o->data != NULL && o->cap == OUTBUF_POOLED &&
        w->outbuf_pool_count < WORKER_OUTBUF_POOL)
        w->outbuf_pool[w->outbuf_pool_count++] = o->data;
    else
        free(o->data);
    o->data = NULL;
    o->start = o->len = o->cap = 0;
}

/* Makes room for len more bytes of output, without a backlog limit. */
static uint8_t *grow_outbuf(struct connection *c, size_t len)
{
    struct outbuf *o = &c->out;
    struct worker *w = c->worker;

    if (o->data == NULL && len <= OUTBUF_POOLED) {
        o->data = w->outbuf_pool_count > 0
                      ? w->outbuf_pool[--w->outbuf_pool_count]
                      : malloc(OUTBUF_POOLED);
        if (o->data == NULL)
            return NULL;
        o->cap = OUTBUF_POOLED;
    }

    /* Reuse the space already sent, then grow. */
    if (o->start + o->len + len > o->cap) {
        if (o->start > 0) {
            memmove(o->data, o->data + o->start, o->len);
            o->start = 0;
        }
        if (o->len + len > o->cap) {
            size_t cap = o->cap ? o->cap : OUTBUF_POOLED;
            while (cap < o->len + len)
                cap *= 2;
            uint8_t *data = realloc(o->data, cap);
            if (data == NULL)
                return NULL;
            o->data = data;
            o->cap = cap;
        }
    }
    uint8_t *p = o->data + o->start + o->len;
    o->len += len;
    worker_schedule_flush(w, c);
    return p;
}

uint8_t *conn_reserve(struct connection *c, size_t len)
{
    size_t limit = c->worker->server->config->outbound_limit_bytes;

    /* A close frame may pass the limit a little, so it can follow the
     * backlog of a slow consumer. */
    if (c->out.len + len > limit &&
        !(c->close_sent && c->out.len + len <= limit + 256))
        return NULL;
    return grow_outbuf(c, len);
}

bool conn_queue(struct connection *c, const void *data, size_t len)
{
    uint8_t *p = conn_reserve(c, len);

    if (p == NULL)
        return false;
    memcpy(p, data, len);
    return true;
}

bool conn_send_frame(struct connection *c, uint8_t opcode, const void *payload,
                     size_t len)
{
    uint8_t header[WS_MAX_HEADER_LEN];
    size_t header_len = ws_write_frame_header(header, true, opcode, len, NULL);
    uint8_t *p = conn_reserve(c, header_len + len);

    if (p == NULL)
        return false;
    memcpy(p, header, header_len);
    if (len > 0)
        memcpy(p + header_len, payload, len);
    return true;
}

static void leave_open_phase(struct connection *c)
{
    if (c->kind == CONN_WEBSOCKET) {
        worker_mark_closed(c->worker, c);
        c->state = CLIENT_DISCONNECTED;
        /* Removed from the registry at once, so REST no longer lists or
         * targets it. */
        unregister(c);
    }
    c->phase = PHASE_CLOSING;
    c->linger_until_ms = clock_monotonic_ms() + CLOSE_GRACE_MS;
    worker_schedule_flush(c->worker, c);
}

void conn_close(struct connection *c, unsigned code, const char *reason)
{
    if (c->phase != PHASE_OPEN)
        return;

    if (c->kind == CONN_WEBSOCKET && !c->close_sent) {
        uint8_t payload[WS_MAX_CONTROL_PAYLOAD] = {0};
        size_t len = 0;

        if (code != 0) {
            size_t reason_len = reason ? strlen(reason) : 0;
            if (reason_len > WS_MAX_CONTROL_PAYLOAD - 2)
                reason_len = WS_MAX_CONTROL_PAYLOAD - 2;
            payload[0] = (uint8_t)(code >> 8);
            payload[1] = (uint8_t)code;
            memcpy(payload + 2, reason, reason_len);
            len = 2 + reason_len;
        }
        c->close_sent = true;
        conn_send_frame(c, WS_OP_CLOSE, payload, len);
        metrics_count_close(&c->worker->server->metrics, code);
        log_event(code == WS_CLOSE_GOING_AWAY || code == WS_CLOSE_NORMAL ||
                          code == 0
                      ? LOG_DEBUG
                      : LOG_INFO,
                  "close", "client=%s fd=%d code=%u reason=\"%s\"", c->id,
                  c->fd, code, reason ? reason : "");
    }
    leave_open_phase(c);
}

void conn_close_slow_consumer(struct connection *c)
{
    struct metrics *m = &c->worker->server->metrics;

    if (c->phase != PHASE_OPEN)
        return;
    metrics_add(&m->slow_consumer_closes, 1);
    metrics_add(&m->deliveries_dropped, 1);
    log_event(LOG_WARN, "slow_consumer",
              "client=%s fd=%d code=4005 backlog=%zu", c->id, c->fd,
              c->out.len);

    /* The close frame goes behind the backlog (conn_reserve allows a
     * little over the limit for it); the grace period bounds the wait. */
    conn_close(c, 4005, "Slow consumer");
}

static void pause_reading(struct connection *c)
{
    if (!c->read_paused) {
        c->read_paused = true;
        event_del(c->read_event);
    }
}

static void resume_reading(struct connection *c)
{
    if (c->read_paused) {
        c->read_paused = false;
        event_add(c->read_event, NULL);
        /* Input buffered while paused is processed on the next turn. */
        if (c->in_len > 0)
            event_active(c->read_event, EV_READ, 0);
    }
}

void conn_flush(struct connection *c)
{
    struct outbuf *o = &c->out;
    struct worker *w = c->worker;

    if (c->phase == PHASE_DEAD)
        return;

    while (o->len > 0) {
        ssize_t n = send(c->fd, o->data + o->start, o->len,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            o->start += (size_t)n;
            o->len -= (size_t)n;
            if (c->kind == CONN_WEBSOCKET)
                atomic_fetch_add_explicit(&w->bytes_written, (uint64_t)n,
                                          memory_order_relaxed);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->write_event == NULL) {
                c->write_event = event_new(w->base, c->fd,
                                           EV_WRITE | EV_PERSIST, on_write, c);
                if (c->write_event == NULL ||
                    event_add(c->write_event, NULL) != 0) {
                    conn_abort(c, "cannot wait for writability");
                    return;
                }
            }
            if (o->len >= READ_PAUSE_BACKLOG)
                pause_reading(c);
            return;
        }
        conn_abort(c, n < 0 ? strerror(errno) : "send returned 0");
        return;
    }

    /* Drained: idle connections keep no buffers. */
    release_outbuf(w, o);
    if (c->write_event != NULL) {
        event_free(c->write_event);
        c->write_event = NULL;
    }
    resume_reading(c);

    if (c->phase == PHASE_OPEN && c->close_after_flush)
        leave_open_phase(c);
    if (c->phase == PHASE_CLOSING) {
        /* Half-close and wait for the peer's EOF, so the last bytes are
         * not lost to a reset. */
        shutdown(c->fd, SHUT_WR);
        c->phase = PHASE_LINGER;
        c->linger_until_ms = clock_monotonic_ms() + CLOSE_GRACE_MS;
    }
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct connection *c = arg;
    struct worker *w = c->worker;

    conn_flush(c);
    worker_flush(w);
}

void conn_http_respond(struct connection *c, int status,
                       const char *content_type, const char *body,
                       size_t body_len, const char *extra_headers)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "%s%s"
                     "\r\n",
                     status, http_status_reason(status),
                     content_type ? content_type : "application/json", body_len,
                     c->close_after_flush ? "Connection: close\r\n" : "",
                     extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof(head)) {
        conn_abort(c, "response head too long");
        return;
    }

    /* Responses are not subject to the WebSocket backlog limit, but pipelined
     * requests stop being read while output piles up (see process_input).
     * A response to HEAD keeps its Content-Length but carries no body. */
    if (c->head_request)
        body_len = 0;
    uint8_t *p = grow_outbuf(c, (size_t)n + body_len);
    if (p == NULL) {
        conn_abort(c, "out of memory");
        return;
    }
    memcpy(p, head, (size_t)n);
    memcpy(p + n, body, body_len);
}

void conn_http_error(struct connection *c, int status, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    char *body = NULL;

    if (o != NULL && cJSON_AddStringToObject(o, "error", message) != NULL)
        body = cJSON_PrintUnformatted(o);
    if (body != NULL)
        conn_http_respond(c, status, NULL, body, strlen(body), NULL);
    else
        conn_abort(c, "out of memory");
    cJSON_free(body);
    cJSON_Delete(o);
}

/* Sends the error response to a request after which the connection closes. */
static void http_fail(struct connection *c, int status, const char *message,
                      const char *extra_headers)
{
    cJSON *o = cJSON_CreateObject();
    char *body = NULL;

    c->close_after_flush = true;
    if (o != NULL && cJSON_AddStringToObject(o, "error", message) != NULL)
        body = cJSON_PrintUnformatted(o);
    if (body != NULL)
        conn_http_respond(c, status, NULL, body, strlen(body), extra_headers);
    else
        conn_abort(c, "out of memory");
    cJSON_free(body);
    cJSON_Delete(o);
    metrics_count_request(&c->worker->server->metrics, ROUTE_OTHER, status);
}

static bool path_is(const struct http_request *req, const char *path)
{
    size_t len = http_path_len(req);
    return strlen(path) == len && memcmp(req->target, path, len) == 0;
}

static size_t header_count(const struct http_request *req, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < req->header_count; i++) {
        const struct http_header *h = &req->headers[i];
        if (h->name_len == strlen(name) &&
            strncasecmp(h->name, name, h->name_len) == 0)
            n++;
    }
    return n;
}

/* Validates the upgrade request and switches the connection to WebSocket.
 * Returns false when it sent an error response instead. */
static bool upgrade(struct connection *c, const struct http_request *req)
{
    struct server *s = c->worker->server;
    const struct config *cfg = s->config;
    const struct http_header *h;
    uint8_t key_bytes[18];
    size_t key_len = 0;
    int status = 0;
    const char *problem = NULL;
    const char *extra = NULL;

    if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0) {
        status = 405;
        problem = "WebSocket upgrade requires GET";
        extra = "Allow: GET\r\n";
    } else if (req->version_minor < 1) {
        status = 400;
        problem = "WebSocket upgrade requires HTTP/1.1";
    } else if ((h = http_find_header(req, "Upgrade")) == NULL ||
               !http_header_has_token(h->value, h->value_len, "websocket")) {
        status = 400;
        problem = "Missing Upgrade: websocket header";
    } else if ((h = http_find_header(req, "Connection")) == NULL ||
               !http_header_has_token(h->value, h->value_len, "upgrade")) {
        status = 400;
        problem = "Missing Connection: Upgrade header";
    } else if (header_count(req, "Sec-WebSocket-Key") > 1 ||
               header_count(req, "Sec-WebSocket-Version") > 1) {
        status = 400;
        problem = "Sec-WebSocket-Key and Sec-WebSocket-Version may appear once";
    } else if ((h = http_find_header(req, "Sec-WebSocket-Version")) == NULL ||
               h->value_len != 2 || memcmp(h->value, "13", 2) != 0) {
        status = 426;
        problem = "Unsupported WebSocket version; use 13";
        extra = "Sec-WebSocket-Version: 13\r\n";
    } else if ((h = http_find_header(req, "Sec-WebSocket-Key")) == NULL ||
               !base64_decode(h->value, h->value_len, key_bytes,
                              sizeof(key_bytes), &key_len) ||
               key_len != 16) {
        status = 400;
        problem = "Sec-WebSocket-Key must be base64 of 16 bytes";
    } else if (req->content_length > 0) {
        status = 400;
        problem = "WebSocket upgrade must not carry a body";
    } else if (atomic_load(&s->stopping)) {
        status = 503;
        problem = "Server shutting down";
    }
    if (status == 0 &&
        atomic_fetch_add(&s->ws_connections, 1) >= cfg->max_connections) {
        atomic_fetch_sub(&s->ws_connections, 1);
        status = 503;
        problem = "Too many connections";
        log_event(LOG_WARN, "connection_limit", "fd=%d max_connections=%u",
                  c->fd, cfg->max_connections);
    }
    if (status != 0) {
        http_fail(c, status, problem, extra);
        return false;
    }
    c->counted = true;

    char accept[29];
    char response[160];
    ws_compute_accept_key(h->value, h->value_len, accept);
    int n = snprintf(response, sizeof(response),
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    conn_queue(c, response, (size_t)n);
    metrics_count_request(&s->metrics, ROUTE_UPGRADE, 101);

    int64_t now = clock_monotonic_ms();
    c->kind = CONN_WEBSOCKET;
    c->state = CLIENT_UNAUTHORIZED;
    c->upgraded_ms = c->last_activity_ms = c->last_frame_ms = now;
    ws_reader_init(&c->reader, true, cfg->max_message_bytes);
    make_client_id(c->id);
    uint64_t handle = (uint64_t)c->slot << 32 | c->generation;
    c->record = registry_add_client(s->registry, c->id, c->worker->index,
                                    handle, clock_realtime_ms());
    if (c->record == NULL) {
        log_event(LOG_ERROR, "out_of_memory", "where=upgrade fd=%d", c->fd);
        conn_close(c, WS_CLOSE_INTERNAL_ERROR, "Internal error");
        return true;
    }
    worker_mark_unauthorized(c->worker, c);
    return true;
}

/* Handles at most one request from buf. Returns the bytes consumed; 0 when
 * the request is incomplete. */
static size_t process_http(struct connection *c, const uint8_t *buf, size_t len)
{
    const struct config *cfg = c->worker->server->config;
    struct http_request req;
    int status = 0;

    enum http_parse_status r = http_parse_request(
        (const char *)buf, len, cfg->max_header_bytes, &req, &status);
    if (r == HTTP_PARSE_INCOMPLETE)
        return 0;
    if (r == HTTP_PARSE_ERROR) {
        static const char *const messages[][2] = {
            {"400", "Malformed HTTP request"},
            {"431", "Request header fields too large"},
            {"501", "Transfer-Encoding is not supported; send Content-Length"},
            {"505", "HTTP version not supported"},
        };
        const char *message = "Malformed HTTP request";
        char code[8];
        snprintf(code, sizeof(code), "%d", status);
        for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
            if (strcmp(messages[i][0], code) == 0)
                message = messages[i][1];
        }
        http_fail(c, status, message, NULL);
        return len;
    }

    if (path_is(&req, cfg->ws_path)) {
        upgrade(c, &req);
        return req.head_len;
    }

    if (req.content_length > (int64_t)cfg->max_body_bytes) {
        http_fail(c, 413, "Request body too large", NULL);
        return len;
    }
    size_t body_len = req.content_length > 0 ? (size_t)req.content_length : 0;
    if (len - req.head_len < body_len) {
        /* curl and other clients wait for this before sending a body. */
        const struct http_header *expect = http_find_header(&req, "Expect");
        if (!c->continue_sent && expect != NULL && req.version_minor == 1 &&
            http_header_has_token(expect->value, expect->value_len,
                                  "100-continue")) {
            static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
            c->continue_sent = true;
            uint8_t *p = grow_outbuf(c, sizeof(interim) - 1);
            if (p != NULL)
                memcpy(p, interim, sizeof(interim) - 1);
        }
        return 0;
    }
    c->continue_sent = false;

    if (!req.keep_alive)
        c->close_after_flush = true;
    c->head_request = req.method_len == 4 && memcmp(req.method, "HEAD", 4) == 0;
    rest_handle(c, &req, (const char *)buf + req.head_len, body_len);
    c->head_request = false;
    c->request_started_ms = clock_monotonic_ms();
    return req.head_len + body_len;
}

/* Handles at most one WebSocket frame event from buf. */
static size_t process_ws(struct connection *c, uint8_t *buf, size_t len)
{
    struct ws_event ev;
    size_t used = ws_reader_next(&c->reader, buf, len, &ev);
    int64_t now;

    switch (ev.type) {
    case WS_EVENT_NONE:
        return used; /* a non-final fragment, or 0: need more bytes */
    case WS_EVENT_MESSAGE:
        now = clock_monotonic_ms();
        c->last_frame_ms = c->last_activity_ms = now;
        if (c->record != NULL)
            registry_touch(c->record, clock_realtime_ms());
        session_on_message(c, ev.data, ev.len);
        break;
    case WS_EVENT_PING:
        c->last_frame_ms = clock_monotonic_ms();
        if (!conn_send_frame(c, WS_OP_PONG, ev.data, ev.len))
            conn_close_slow_consumer(c);
        break;
    case WS_EVENT_PONG:
        c->last_frame_ms = clock_monotonic_ms();
        c->ping_sent_ms = 0;
        break;
    case WS_EVENT_CLOSE:
        /* Echo the peer's code; a close without a code gets one without. */
        conn_close(c, ev.close_code == WS_CLOSE_NO_STATUS ? 0 : ev.close_code,
                   "");
        break;
    case WS_EVENT_ERROR:
        log_event(LOG_INFO, "protocol_error",
                  "client=%s fd=%d code=%u reason=\"%s\"", c->id, c->fd,
                  ev.close_code, ev.error ? ev.error : "");
        conn_close(c, ev.close_code, ev.error);
        return len;
    }
    return used;
}

/* Consumes as much of buf as forms complete requests or frames, stopping
 * when the connection leaves the open phase or its output backs up. */
static size_t process_input(struct connection *c, uint8_t *buf, size_t len)
{
    size_t off = 0;

    while (off < len && c->phase == PHASE_OPEN && !c->close_after_flush) {
        size_t used = c->kind == CONN_HTTP
                          ? process_http(c, buf + off, len - off)
                          : process_ws(c, buf + off, len - off);
        if (used == 0)
            break;
        off += used;
        if (c->out.len >= READ_PAUSE_BACKLOG) {
            pause_reading(c);
            break;
        }
    }
    return c->phase == PHASE_OPEN ? off : len;
}

/* Keeps unconsumed input for the next read; rest may point into c->in. */
static bool keep_input(struct connection *c, const uint8_t *rest, size_t n)
{
    bool inside = c->in != NULL && rest >= c->in && rest <= c->in + c->in_cap;

    if (n == 0) {
        free(c->in);
        c->in = NULL;
        c->in_len = c->in_cap = 0;
        return true;
    }
    if (inside) {
        memmove(c->in, rest, n);
    } else {
        if (n > c->in_cap) {
            uint8_t *p = realloc(c->in, n);
            if (p == NULL)
                return false;
            c->in = p;
            c->in_cap = n;
        }
        memcpy(c->in, rest, n);
    }
    c->in_len = n;
    return true;
}

static size_t input_limit(const struct connection *c)
{
    const struct config *cfg = c->worker->server->config;

    if (c->kind == CONN_HTTP)
        return cfg->max_header_bytes + cfg->max_body_bytes;
    return cfg->max_message_bytes + WS_MAX_HEADER_LEN;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct connection *c = arg;
    struct worker *w = c->worker;
    ssize_t n;

    /* Closing: only EOF matters now. */
    if (c->phase != PHASE_OPEN) {
        n = recv(fd, w->read_chunk, WORKER_READ_CHUNK, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            conn_abort(c, "closed");
        worker_flush(w);
        return;
    }

    if (c->in_len == 0) {
        n = recv(fd, w->read_chunk, WORKER_READ_CHUNK, 0);
        if (n > 0) {
            size_t used = process_input(c, w->read_chunk, (size_t)n);
            if (c->phase == PHASE_OPEN &&
                !keep_input(c, w->read_chunk + used, (size_t)n - used))
                conn_abort(c, "out of memory");
        }
    } else {
        /* Input is already buffered (an incomplete request or frame, or a
         * pause): append one more read, bounded by the input limit. */
        size_t want = c->in_len + WORKER_READ_CHUNK;
        size_t limit = input_limit(c) + 1;
        if (want > limit)
            want = limit > c->in_len ? limit : c->in_len;
        if (want > c->in_cap) {
            uint8_t *p = realloc(c->in, want);
            if (p == NULL) {
                conn_abort(c, "out of memory");
                worker_flush(w);
                return;
            }
            c->in = p;
            c->in_cap = want;
        }
        n = 1; /* nothing to read (buffer at its limit) is not an EOF */
        if (c->in_cap > c->in_len) {
            n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
            if (n > 0)
                c->in_len += (size_t)n;
        }
        size_t used = process_input(c, c->in, c->in_len);
        if (c->phase == PHASE_OPEN &&
            !keep_input(c, c->in + used, c->in_len - used))
            conn_abort(c, "out of memory");
    }

    if (n == 0) {
        conn_abort(c, "peer closed the connection");
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
               errno != EINTR) {
        conn_abort(c, strerror(errno));
    } else if (c->phase == PHASE_OPEN && c->in_len > input_limit(c)) {
        /* The parsers reject oversized input first; this is a backstop. */
        conn_abort(c, "input over limit");
    }
    worker_flush(w);
}
