/*
 * The REST driver of signal-bench: one thread with its own event base and
 * a few keep-alive HTTP/1.1 connections that send the planned messages
 * with Basic auth (broadcast, room send, client send). Each stream is
 * bound to one connection, so the server receives its messages in seq
 * order.
 * Three bounds hold sending back. The pipeline bounds the HTTP requests in
 * flight per connection. The window bounds the messages of a stream that
 * have not yet reached all its members, so no client has more than that
 * many pending. With a rate given, the schedule bounds the rest.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "base64.h"
#include "bench.h"
#include "http_parser.h"

#define RESPONSE_HEAD_MAX 16384
#define RESPONSE_BODY_MAX 65536
#define RECONNECT_DELAY_US 100000

enum rest_command {
    REST_NONE,
    REST_PROBE,
    REST_SEND,
    REST_STOP,
};

struct rest_request {
    uint32_t stream;
    uint32_t seq;
    bool probe;
    uint64_t sent_ns;
};

struct rest_conn {
    struct rest_driver *driver;
    unsigned index;
    int fd;
    bool connected;
    struct event *read_event;
    struct event *write_event;
    struct event *retry_event;

    char *in;
    size_t in_len;
    size_t in_cap;
    char *out;
    size_t out_len;
    size_t out_off;
    size_t out_cap;

    struct rest_request ring[BENCH_MAX_PIPELINE];
    unsigned ring_head;
    unsigned ring_count;

    uint32_t *streams; /* streams bound to this connection */
    unsigned stream_count;
    unsigned cursor;  /* round-robin position in streams */
    uint32_t *probes; /* streams waiting for a probe, FIFO */
    unsigned probe_head;
    unsigned probe_count;
};

struct rest_driver {
    struct bench_run *run;
    pthread_t tid;
    struct event_base *base;
    struct event *command_event;
    struct event *tick_event;
    _Atomic int command;
    _Atomic unsigned acknowledged;

    struct rest_conn *conns;
    unsigned conn_count;
    char authorization[512];
    char *body;
    size_t body_cap;

    bool sending;
    bool send_requested;
    uint64_t remaining; /* planned messages not yet queued */
    uint64_t deadline_ns;
    uint64_t next_due_ns; /* rate mode: schedule of the next message */
    uint64_t interval_ns;
    uint64_t expected; /* deliveries of the messages still counted */
    uint64_t requests;
    bool tick_armed;

    struct bench_stats stats;
    struct histogram latency_ns;

    _Atomic uint64_t live_expected;
    _Atomic uint64_t live_rejected; /* responses other than a success */
    _Atomic uint64_t live_first_send_ns;
    _Atomic uint64_t live_last_send_ns;
    _Atomic bool live_done;
};

static void on_conn_read(evutil_socket_t fd, short what, void *arg);
static void on_conn_write(evutil_socket_t fd, short what, void *arg);
static void on_conn_retry(evutil_socket_t fd, short what, void *arg);
static void pump(struct rest_driver *d);

/* ---- windows ---------------------------------------------------------- */

/* Moves the stream's completed mark past every seq that has reached all
 * its members, and frees their ring slots for later seqs. */
static void advance_completed(struct bench_stream *s)
{
    while (s->completed < s->next_seq) {
        _Atomic uint32_t *slot =
            &s->delivery_ring[s->completed % BENCH_DELIVERY_RING];
        if (atomic_load_explicit(slot, memory_order_relaxed) < s->members)
            break;
        atomic_store_explicit(slot, 0, memory_order_relaxed);
        s->completed++;
    }
}

/* Marks a message that will not be delivered (its request failed) as
 * complete, so the window moves on. */
static void give_up_message(struct bench_stream *s, uint32_t seq)
{
    atomic_fetch_add_explicit(&s->delivery_ring[seq % BENCH_DELIVERY_RING],
                              s->members, memory_order_relaxed);
}

/* ---- connections ------------------------------------------------------ */

static void conn_close(struct rest_conn *c)
{
    net_close(&c->read_event, &c->write_event, &c->fd);
    c->connected = false;
    c->in_len = 0;
    c->out_len = 0;
    c->out_off = 0;
}

static void conn_schedule_retry(struct rest_conn *c)
{
    const struct timeval delay = {0, RECONNECT_DELAY_US};
    event_add(c->retry_event, &delay);
}

static void conn_open(struct rest_conn *c)
{
    struct rest_driver *d = c->driver;

    c->fd = net_connect(&d->run->cfg->target, 0);
    if (c->fd < 0)
        goto fail;
    c->read_event =
        event_new(d->base, c->fd, EV_READ | EV_PERSIST, on_conn_read, c);
    c->write_event = event_new(d->base, c->fd, EV_WRITE, on_conn_write, c);
    if (c->read_event == NULL || c->write_event == NULL)
        goto fail;
    event_add(c->write_event, NULL);
    return;

fail:
    d->stats.errors[ERR_REST_CONNECT]++;
    conn_close(c);
    conn_schedule_retry(c);
}

/* Requests without a response are lost with the connection: their
 * deliveries are no longer expected. */
static void conn_drop_pending(struct rest_conn *c)
{
    struct rest_driver *d = c->driver;

    while (c->ring_count > 0) {
        struct rest_request *r = &c->ring[c->ring_head];
        if (!r->probe) {
            struct bench_stream *s = &d->run->streams[r->stream];
            d->expected -= s->members;
            give_up_message(s, r->seq);
        }
        c->ring_head = (c->ring_head + 1) % BENCH_MAX_PIPELINE;
        c->ring_count--;
        d->stats.errors[ERR_REST_LOST]++;
    }
    atomic_store_explicit(&d->live_expected, d->expected, memory_order_relaxed);
}

static void conn_reset(struct rest_conn *c)
{
    conn_drop_pending(c);
    conn_close(c);
    conn_open(c);
}

static void on_conn_retry(evutil_socket_t fd, short what, void *arg)
{
    conn_open(arg);
}

static bool conn_flush(struct rest_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                event_add(c->write_event, NULL);
                return true;
            }
            if (errno == EINTR)
                continue;
            return false;
        }
        c->out_off += (size_t)n;
    }
    c->out_len = 0;
    c->out_off = 0;
    return true;
}

static void on_conn_write(evutil_socket_t fd, short what, void *arg)
{
    struct rest_conn *c = arg;

    if (!c->connected) {
        if (!net_connect_succeeded(fd)) {
            c->driver->stats.errors[ERR_REST_CONNECT]++;
            conn_close(c);
            conn_schedule_retry(c);
            return;
        }
        c->connected = true;
        event_add(c->read_event, NULL);
        pump(c->driver);
        return;
    }
    if (!conn_flush(c))
        conn_reset(c);
}

/* ---- requests --------------------------------------------------------- */

static bool reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t grown_cap = need * 2;
    char *grown = realloc(*buf, grown_cap);
    if (grown == NULL)
        return false;
    *buf = grown;
    *cap = grown_cap;
    return true;
}

/* Appends one POST with the body in d->body to the connection's output. */
static bool queue_request(struct rest_conn *c, const struct bench_stream *s,
                          size_t body_len)
{
    struct rest_driver *d = c->driver;
    const struct bench_config *cfg = d->run->cfg;
    char head[1024];

    int n = snprintf(head, sizeof(head),
                     "POST %s%s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Authorization: %s\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n",
                     cfg->rest_prefix, s->path, cfg->target_text,
                     d->authorization, body_len);
    if (n < 0 || (size_t)n >= sizeof(head))
        return false;
    if (!reserve(&c->out, &c->out_cap, c->out_len + (size_t)n + body_len))
        return false;
    memcpy(c->out + c->out_len, head, (size_t)n);
    memcpy(c->out + c->out_len + (size_t)n, d->body, body_len);
    c->out_len += (size_t)n + body_len;
    return true;
}

static void ring_push(struct rest_conn *c, uint32_t stream, uint32_t seq,
                      bool probe, uint64_t sent_ns)
{
    unsigned slot = (c->ring_head + c->ring_count) % BENCH_MAX_PIPELINE;
    c->ring[slot] = (struct rest_request){stream, seq, probe, sent_ns};
    c->ring_count++;
    c->driver->requests++;
}

static bool send_probe(struct rest_conn *c)
{
    struct rest_driver *d = c->driver;
    uint32_t index = c->probes[c->probe_head];
    const struct bench_stream *s = &d->run->streams[index];

    c->probe_head = (c->probe_head + 1) % c->stream_count;
    c->probe_count--;
    int n = snprintf(d->body, d->body_cap,
                     "{\"topic\":\"%s\",\"data\":{\"probe\":true}}",
                     stream_probe_topic(s->kind));
    if (!queue_request(c, s, (size_t)n))
        return false;
    ring_push(c, index, 0, true, now_ns());
    return true;
}

/* Next stream of this connection that has messages left and room in its
 * window, round-robin. *waiting is set when a stream has messages left but
 * its window is full. */
static struct bench_stream *pick_stream(struct rest_conn *c, uint32_t *index,
                                        bool *waiting)
{
    struct bench_run *run = c->driver->run;
    unsigned window = run->cfg->in_flight;

    for (unsigned i = 0; i < c->stream_count; i++) {
        uint32_t candidate = c->streams[(c->cursor + i) % c->stream_count];
        struct bench_stream *s = &run->streams[candidate];
        if (s->next_seq >= s->planned)
            continue;
        advance_completed(s);
        if (s->next_seq >= s->completed + window) {
            *waiting = true;
            continue;
        }
        c->cursor = (c->cursor + i + 1) % c->stream_count;
        *index = candidate;
        return s;
    }
    return NULL;
}

static bool send_message(struct rest_conn *c, uint32_t index,
                         struct bench_stream *s, uint64_t sent_ns)
{
    struct rest_driver *d = c->driver;
    struct bench_run *run = d->run;

    int n = snprintf(d->body, d->body_cap,
                     "{\"topic\":\"%s\",\"data\":", stream_topic(s->kind));
    size_t len = (size_t)n;
    len += payload_format(d->body + len, run, run->cfg->size, index,
                          s->next_seq, sent_ns - run->epoch_ns);
    d->body[len++] = '}';
    if (!queue_request(c, s, len))
        return false;

    ring_push(c, index, s->next_seq, false, now_ns());
    s->next_seq++;
    d->remaining--;
    d->expected += s->members;
    atomic_store_explicit(&d->live_expected, d->expected, memory_order_relaxed);
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&d->live_first_send_ns, &zero, sent_ns);
    atomic_store_explicit(&d->live_last_send_ns, sent_ns, memory_order_relaxed);
    return true;
}

static void arm_tick(struct rest_driver *d)
{
    const struct timeval tick = {0, 1000};
    if (d->tick_armed)
        return;
    d->tick_armed = true;
    event_add(d->tick_event, &tick);
}

/* Fills the connection's pipeline. Returns false when the output buffer
 * could not grow. */
static bool fill_pipeline(struct rest_conn *c)
{
    struct rest_driver *d = c->driver;
    unsigned pipeline = d->run->cfg->pipeline;

    while (c->ring_count < pipeline) {
        if (c->probe_count > 0) {
            if (!send_probe(c))
                return false;
            continue;
        }
        if (!d->sending)
            break;

        uint64_t now = now_ns();
        if (now >= d->deadline_ns) {
            d->sending = false;
            break;
        }
        uint32_t index;
        bool waiting = false;
        struct bench_stream *s = pick_stream(c, &index, &waiting);
        if (s == NULL) {
            if (waiting)
                arm_tick(d);
            break;
        }

        /* In rate mode the send time is the scheduled one, so a message
         * held back by the window or the pipeline counts its wait in the
         * latency instead of hiding it. */
        uint64_t sent_ns = now;
        if (d->interval_ns > 0) {
            if (now < d->next_due_ns) {
                arm_tick(d);
                break;
            }
            sent_ns = d->next_due_ns;
            d->next_due_ns += d->interval_ns;
        }
        if (!send_message(c, index, s, sent_ns))
            return false;
    }
    return true;
}

static void check_done(struct rest_driver *d)
{
    if (!d->send_requested)
        return;
    if (d->sending && d->remaining > 0)
        return;
    for (unsigned i = 0; i < d->conn_count; i++) {
        if (d->conns[i].ring_count > 0 || d->conns[i].probe_count > 0)
            return;
    }
    d->sending = false;
    atomic_store(&d->live_done, true);
}

static void pump(struct rest_driver *d)
{
    for (unsigned i = 0; i < d->conn_count; i++) {
        struct rest_conn *c = &d->conns[i];
        if (!c->connected)
            continue;
        if (!fill_pipeline(c) || !conn_flush(c))
            conn_reset(c);
    }
    check_done(d);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct rest_driver *d = arg;
    d->tick_armed = false;
    pump(d);
}

/* ---- responses -------------------------------------------------------- */

struct response {
    int status;
    bool close;
    const char *body;
    size_t body_len;
};

/* Decodes a chunked body in place at buf[0..len). Returns the bytes the
 * chunked encoding took, 0 when incomplete, -1 when malformed; the decoded
 * body is left at the start of buf. */
static long decode_chunked(char *buf, size_t len, size_t *body_len)
{
    size_t in = 0;
    size_t out = 0;

    for (;;) {
        char *eol = memmem(buf + in, len - in, "\r\n", 2);
        if (eol == NULL)
            return len - in > 32 ? -1 : 0;
        char *end;
        unsigned long size = strtoul(buf + in, &end, 16);
        if (end == buf + in || size > RESPONSE_BODY_MAX)
            return -1;
        in = (size_t)(eol - buf) + 2;

        if (size == 0) {
            /* Trailer fields are not expected; the empty line ends it. */
            if (len - in < 2)
                return 0;
            if (memcmp(buf + in, "\r\n", 2) != 0)
                return -1;
            *body_len = out;
            return (long)(in + 2);
        }
        if (len - in < size + 2)
            return 0;
        memmove(buf + out, buf + in, size);
        out += size;
        in += size + 2;
    }
}

/* Parses one response at the start of buf[0..len). Returns its length, 0
 * when incomplete, -1 when malformed. */
static long parse_response(char *buf, size_t len, struct response *r)
{
    char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL)
        return len > RESPONSE_HEAD_MAX ? -1 : 0;
    size_t head_len = (size_t)(end - buf) + 4;

    if (head_len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return -1;
    r->status = atoi(buf + 9);
    r->close = buf[7] == '0';

    const char *value;
    size_t value_len;
    long content_length = -1;
    bool chunked = false;
    if (http_head_find(buf, head_len, "Content-Length", &value, &value_len))
        content_length = strtol(value, NULL, 10);
    if (http_head_find(buf, head_len, "Transfer-Encoding", &value, &value_len))
        chunked = http_header_has_token(value, value_len, "chunked");
    if (http_head_find(buf, head_len, "Connection", &value, &value_len)) {
        if (http_header_has_token(value, value_len, "close"))
            r->close = true;
        else if (http_header_has_token(value, value_len, "keep-alive"))
            r->close = false;
    }

    if (chunked) {
        size_t body_len;
        long used = decode_chunked(buf + head_len, len - head_len, &body_len);
        if (used <= 0)
            return used;
        r->body = buf + head_len;
        r->body_len = body_len;
        return (long)head_len + used;
    }
    if (content_length < 0 || content_length > RESPONSE_BODY_MAX)
        return -1;
    if (len - head_len < (size_t)content_length)
        return 0;
    r->body = buf + head_len;
    r->body_len = (size_t)content_length;
    return (long)(head_len + (size_t)content_length);
}

static bool body_reports_success(const struct response *r)
{
    static const char *const keys[] = {"success"};
    struct json_value v;
    return json_scan_object(r->body, r->body_len, keys, 1, &v) &&
           v.type == JSON_TRUE;
}

static void complete_request(struct rest_conn *c, const struct response *r)
{
    struct rest_driver *d = c->driver;
    struct rest_request *req = &c->ring[c->ring_head];
    struct bench_stream *s = &d->run->streams[req->stream];

    c->ring_head = (c->ring_head + 1) % BENCH_MAX_PIPELINE;
    c->ring_count--;
    histogram_record(&d->latency_ns, now_ns() - req->sent_ns);

    bool ok = r->status == 200 && body_reports_success(r);
    if (!ok) {
        enum bench_error e =
            r->status == 200 ? ERR_REST_RESPONSE : ERR_REST_STATUS;
        d->stats.errors[e]++;
        atomic_fetch_add_explicit(&d->live_rejected, 1, memory_order_relaxed);
    }
    if (req->probe)
        return;
    if (ok) {
        s->accepted++;
    } else {
        d->expected -= s->members;
        give_up_message(s, req->seq);
        atomic_store_explicit(&d->live_expected, d->expected,
                              memory_order_relaxed);
    }
}

static void on_conn_read(evutil_socket_t fd, short what, void *arg)
{
    struct rest_conn *c = arg;
    struct rest_driver *d = c->driver;

    if (!reserve(&c->in, &c->in_cap, c->in_len + 16384)) {
        conn_reset(c);
        return;
    }
    ssize_t n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        conn_reset(c);
        return;
    }
    if (n == 0) {
        conn_reset(c);
        return;
    }
    c->in_len += (size_t)n;

    size_t offset = 0;
    bool close_after = false;
    for (;;) {
        struct response r = {0};
        long used = parse_response(c->in + offset, c->in_len - offset, &r);
        if (used == 0)
            break;
        if (used < 0 || c->ring_count == 0) {
            d->stats.errors[ERR_REST_RESPONSE]++;
            conn_reset(c);
            pump(d);
            return;
        }
        complete_request(c, &r);
        offset += (size_t)used;
        if (r.close) {
            close_after = true;
            break;
        }
    }

    memmove(c->in, c->in + offset, c->in_len - offset);
    c->in_len -= offset;
    if (close_after)
        conn_reset(c);
    pump(d);
}

/* ---- thread and commands --------------------------------------------- */

static void start_probes(struct rest_driver *d)
{
    for (unsigned i = 0; i < d->conn_count; i++) {
        struct rest_conn *c = &d->conns[i];
        for (unsigned k = 0; k < c->stream_count; k++) {
            const struct bench_stream *s = &d->run->streams[c->streams[k]];
            if (s->kind == STREAM_CLIENT || s->members == 0 ||
                c->probe_count == c->stream_count)
                continue;
            unsigned slot = (c->probe_head + c->probe_count) % c->stream_count;
            c->probes[slot] = c->streams[k];
            c->probe_count++;
        }
    }
    pump(d);
}

static void start_sending(struct rest_driver *d)
{
    const struct bench_config *cfg = d->run->cfg;
    uint64_t now = now_ns();

    d->remaining = 0;
    for (unsigned i = 0; i < d->run->stream_count; i++)
        d->remaining += d->run->streams[i].planned;

    d->deadline_ns = now + (uint64_t)(cfg->duration_s * 1e9);
    d->interval_ns = cfg->rate > 0 ? (uint64_t)(1e9 / cfg->rate) : 0;
    d->next_due_ns = now;
    d->sending = true;
    d->send_requested = true;
    pump(d);
}

static void on_command(evutil_socket_t fd, short what, void *arg)
{
    struct rest_driver *d = arg;
    int command = atomic_exchange(&d->command, REST_NONE);

    switch (command) {
    case REST_PROBE:
        start_probes(d);
        break;
    case REST_SEND:
        start_sending(d);
        break;
    case REST_STOP:
        event_base_loopbreak(d->base);
        break;
    default:
        break;
    }
    atomic_fetch_add_explicit(&d->acknowledged, 1, memory_order_release);
}

static void call(struct rest_driver *d, enum rest_command command)
{
    unsigned before =
        atomic_load_explicit(&d->acknowledged, memory_order_acquire);
    const struct timespec pause = {0, 200000};

    atomic_store(&d->command, (int)command);
    event_active(d->command_event, EV_READ, 0);
    while (atomic_load_explicit(&d->acknowledged, memory_order_acquire) ==
           before)
        nanosleep(&pause, NULL);
}

static void *thread_main(void *arg)
{
    struct rest_driver *d = arg;
    event_base_loop(d->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static bool setup_connections(struct rest_driver *d)
{
    struct bench_run *run = d->run;

    d->conn_count = run->cfg->rest_connections;
    d->conns = calloc(d->conn_count, sizeof(*d->conns));
    if (d->conns == NULL)
        return false;

    for (unsigned i = 0; i < d->conn_count; i++) {
        struct rest_conn *c = &d->conns[i];
        c->driver = d;
        c->index = i;
        c->fd = -1;
        c->retry_event = event_new(d->base, -1, 0, on_conn_retry, c);
        if (c->retry_event == NULL)
            return false;
        for (unsigned s = 0; s < run->stream_count; s++)
            c->stream_count += run->streams[s].conn == i;
        if (c->stream_count == 0)
            continue;
        c->streams = calloc(c->stream_count, sizeof(*c->streams));
        c->probes = calloc(c->stream_count, sizeof(*c->probes));
        if (c->streams == NULL || c->probes == NULL)
            return false;
        unsigned k = 0;
        for (unsigned s = 0; s < run->stream_count; s++) {
            if (run->streams[s].conn == i)
                c->streams[k++] = s;
        }
    }
    return true;
}

struct rest_driver *rest_driver_start(struct bench_run *run)
{
    const struct bench_config *cfg = run->cfg;
    struct rest_driver *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;

    d->run = run;
    stats_init(&d->stats);
    histogram_init(&d->latency_ns);
    d->body_cap = cfg->size + 256;
    d->body = malloc(d->body_cap);
    d->base = event_base_new();
    if (d->body == NULL || d->base == NULL)
        goto fail;

    /* Basic credentials: base64 of "user:password". */
    char credentials[256];
    char encoded[350];
    int n = snprintf(credentials, sizeof(credentials), "%s:%s", cfg->admin_user,
                     cfg->admin_password);
    if (n < 0 || (size_t)n >= sizeof(credentials))
        goto fail;
    encoded[base64_encode((const uint8_t *)credentials, (size_t)n, encoded)] =
        '\0';
    snprintf(d->authorization, sizeof(d->authorization), "Basic %s", encoded);

    d->command_event = event_new(d->base, -1, 0, on_command, d);
    d->tick_event = event_new(d->base, -1, 0, on_tick, d);
    if (d->command_event == NULL || d->tick_event == NULL ||
        !setup_connections(d))
        goto fail;
    for (unsigned i = 0; i < d->conn_count; i++) {
        if (d->conns[i].stream_count > 0)
            conn_open(&d->conns[i]);
    }
    if (pthread_create(&d->tid, NULL, thread_main, d) != 0)
        goto fail;
    return d;

fail:
    rest_driver_free(d);
    return NULL;
}

void rest_driver_probe(struct rest_driver *d)
{
    call(d, REST_PROBE);
}

void rest_driver_send(struct rest_driver *d)
{
    call(d, REST_SEND);
}

bool rest_driver_done(struct rest_driver *d)
{
    return atomic_load(&d->live_done);
}

uint64_t rest_driver_expected_deliveries(struct rest_driver *d)
{
    return atomic_load_explicit(&d->live_expected, memory_order_relaxed);
}

uint64_t rest_driver_rejected(struct rest_driver *d)
{
    return atomic_load_explicit(&d->live_rejected, memory_order_relaxed);
}

uint64_t rest_driver_first_send_ns(struct rest_driver *d)
{
    return atomic_load_explicit(&d->live_first_send_ns, memory_order_relaxed);
}

uint64_t rest_driver_last_send_ns(struct rest_driver *d)
{
    return atomic_load_explicit(&d->live_last_send_ns, memory_order_relaxed);
}

void rest_driver_stop(struct rest_driver *d)
{
    call(d, REST_STOP);
    pthread_join(d->tid, NULL);
}

const struct bench_stats *rest_driver_stats(struct rest_driver *d)
{
    return &d->stats;
}

const struct histogram *rest_driver_latency(struct rest_driver *d)
{
    return &d->latency_ns;
}

uint64_t rest_driver_requests(struct rest_driver *d)
{
    return d->requests;
}

void rest_driver_free(struct rest_driver *d)
{
    if (d == NULL)
        return;
    for (unsigned i = 0; d->conns != NULL && i < d->conn_count; i++) {
        struct rest_conn *c = &d->conns[i];
        conn_close(c);
        if (c->retry_event != NULL)
            event_free(c->retry_event);
        free(c->in);
        free(c->out);
        free(c->streams);
        free(c->probes);
    }
    free(d->conns);
    if (d->command_event != NULL)
        event_free(d->command_event);
    if (d->tick_event != NULL)
        event_free(d->tick_event);
    if (d->base != NULL)
        event_base_free(d->base);
    free(d->body);
    free(d);
}
