/*
 * Prometheus exposition of the process-wide counters and per-worker gauges.
 * Rendering runs on the worker that handles GET /metrics; it only reads
 * atomics and /proc/self, so it takes no lock but the registry's
 * per-shard ones for the client counts.
 */
#include "metrics.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"
#include "server.h"
#include "worker.h"

static const unsigned close_codes[] = {
#define X(code) code,
    METRICS_CLOSE_CODES
#undef X
};

static const int statuses[] = {
#define X(code) code,
    METRICS_STATUSES
#undef X
};

static const char *const route_names[ROUTE_COUNT] = {
    [ROUTE_STATUS] = "status",         [ROUTE_LIST] = "list_clients",
    [ROUTE_GET_CLIENT] = "get_client", [ROUTE_BROADCAST] = "broadcast",
    [ROUTE_ROOM_SEND] = "room_send",   [ROUTE_CLIENT_SEND] = "client_send",
    [ROUTE_DISCONNECT] = "disconnect", [ROUTE_METRICS] = "metrics",
    [ROUTE_HEALTH] = "healthz",        [ROUTE_READY] = "readyz",
    [ROUTE_OPENAPI] = "openapi",       [ROUTE_UPGRADE] = "websocket_upgrade",
    [ROUTE_OTHER] = "other",
};

static const char *const auth_reasons[AUTH_FAIL_REASON_COUNT] = {
    [AUTH_FAIL_TOKEN] = "invalid_token",
    [AUTH_FAIL_HANDSHAKE] = "key_exchange",
    [AUTH_FAIL_TIMEOUT] = "timeout",
};

void metrics_count_close(struct metrics *m, unsigned code)
{
    for (size_t i = 0; i < sizeof(close_codes) / sizeof(close_codes[0]); i++) {
        if (close_codes[i] == code) {
            metrics_add(&m->closes[i], 1);
            return;
        }
    }
    metrics_add(&m->closes[CLOSE_SLOT_OTHER], 1);
}

void metrics_count_request(struct metrics *m, enum rest_route route, int status)
{
    for (size_t i = 0; i < STATUS_SLOT_COUNT; i++) {
        if (statuses[i] == status) {
            metrics_add(&m->rest_requests[route][i], 1);
            return;
        }
    }
}

struct text {
    char *data;
    size_t len, cap;
    bool failed;
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;

    if (t->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *data = realloc(t->data, cap);
        if (data == NULL) {
            t->failed = true;
            return;
        }
        t->data = data;
        t->cap = cap;
    }
}

static void header(struct text *t, const char *name, const char *type,
                   const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t load(atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static long resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;

    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;

    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

char *metrics_render(struct server *s, size_t *len)
{
    struct metrics *m = &s->metrics;
    struct text t = {.data = malloc(8192), .cap = 8192};
    uint64_t delivered = 0, bytes = 0;

    if (t.data == NULL)
        return NULL;

    /* Clients by state: authenticated ones are in the registry with that
     * state; the rest of the open WebSocket connections are not yet. */
    size_t by_state[4] = {0};
    registry_count_states(s->registry, by_state);
    header(&t, "signal_clients", "gauge", "Open WebSocket clients by state.");
    for (int i = 0; i < 3; i++)
        put(&t, "signal_clients{state=\"%s\"} %zu\n",
            client_state_name((enum client_state)i), by_state[i]);

    header(&t, "signal_handshakes_total", "counter",
           "Clients that completed authentication and key exchange.");
    put(&t, "signal_handshakes_total %llu\n",
        (unsigned long long)load(&m->handshakes));

    header(&t, "signal_auth_failures_total", "counter",
           "Failed client authentications by reason.");
    for (int i = 0; i < AUTH_FAIL_REASON_COUNT; i++)
        put(&t, "signal_auth_failures_total{reason=\"%s\"} %llu\n",
            auth_reasons[i], (unsigned long long)load(&m->auth_failures[i]));

    for (unsigned w = 0; w < s->worker_count; w++) {
        delivered += load(&s->workers[w]->delivered);
        bytes += load(&s->workers[w]->bytes_written);
    }
    header(&t, "signal_messages_delivered_total", "counter",
           "Messages queued for delivery to clients.");
    put(&t, "signal_messages_delivered_total %llu\n",
        (unsigned long long)delivered);
    header(&t, "signal_bytes_delivered_total", "counter",
           "Bytes written to WebSocket clients, frames and wrappers included.");
    put(&t, "signal_bytes_delivered_total %llu\n", (unsigned long long)bytes);
    header(&t, "signal_deliveries_dropped_total", "counter",
           "Messages not delivered because the client's backlog was full.");
    put(&t, "signal_deliveries_dropped_total %llu\n",
        (unsigned long long)load(&m->deliveries_dropped));

    header(&t, "signal_closes_total", "counter",
           "WebSocket close frames sent, by close code.");
    for (size_t i = 0; i < CLOSE_SLOT_COUNT; i++) {
        if (i < sizeof(close_codes) / sizeof(close_codes[0]))
            put(&t, "signal_closes_total{code=\"%u\"} %llu\n", close_codes[i],
                (unsigned long long)load(&m->closes[i]));
        else
            put(&t, "signal_closes_total{code=\"other\"} %llu\n",
                (unsigned long long)load(&m->closes[i]));
    }
    header(&t, "signal_slow_consumer_closes_total", "counter",
           "Clients closed because their backlog passed outbound_limit_bytes.");
    put(&t, "signal_slow_consumer_closes_total %llu\n",
        (unsigned long long)load(&m->slow_consumer_closes));
    header(&t, "signal_commands_rejected_total", "counter",
           "Commands refused because a worker queue was full.");
    put(&t, "signal_commands_rejected_total %llu\n",
        (unsigned long long)load(&m->commands_rejected));

    header(&t, "signal_http_requests_total", "counter",
           "HTTP requests answered, by route and status.");
    for (int r = 0; r < ROUTE_COUNT; r++) {
        for (int i = 0; i < STATUS_SLOT_COUNT; i++) {
            uint64_t v = load(&m->rest_requests[r][i]);
            if (v > 0)
                put(&t,
                    "signal_http_requests_total{route=\"%s\",status=\"%d\"} "
                    "%llu\n",
                    route_names[r], statuses[i], (unsigned long long)v);
        }
    }

    header(&t, "signal_worker_queue_depth", "gauge",
           "Commands waiting in each worker's queue.");
    for (unsigned w = 0; w < s->worker_count; w++)
        put(&t, "signal_worker_queue_depth{worker=\"%u\"} %zu\n", w,
            atomic_load(&s->workers[w]->queue_depth));
    header(&t, "signal_worker_clients", "gauge",
           "Connections owned by each worker, HTTP ones included.");
    for (unsigned w = 0; w < s->worker_count; w++)
        put(&t, "signal_worker_clients{worker=\"%u\"} %u\n", w,
            atomic_load(&s->workers[w]->clients));

    header(&t, "process_resident_memory_bytes", "gauge",
           "Resident memory size in bytes.");
    put(&t, "process_resident_memory_bytes %ld\n", resident_bytes());
    header(&t, "process_open_fds", "gauge", "Number of open file descriptors.");
    put(&t, "process_open_fds %ld\n", open_fds());
    header(&t, "process_start_time_seconds", "gauge",
           "Start time of the process since the Unix epoch in seconds.");
    put(&t, "process_start_time_seconds %lld\n",
        (long long)(s->started_ms / 1000));

    if (t.failed) {
        free(t.data);
        return NULL;
    }
    *len = t.len;
    return t.data;
}
