/*
 * Process-wide counters for GET /metrics. Every field is an atomic updated
 * with relaxed ordering from any thread; a scrape reads a consistent-enough
 * snapshot without locks. Per-worker gauges live in struct worker.
 */
#ifndef SIGNAL_METRICS_H
#define SIGNAL_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum auth_failure_reason {
    AUTH_FAIL_TOKEN,     /* invalid, expired or missing token */
    AUTH_FAIL_HANDSHAKE, /* unusable client public key */
    AUTH_FAIL_TIMEOUT,   /* no authenticate in time */
    AUTH_FAIL_REASON_COUNT,
};

enum rest_route {
    ROUTE_STATUS,
    ROUTE_LIST,
    ROUTE_GET_CLIENT,
    ROUTE_BROADCAST,
    ROUTE_ROOM_SEND,
    ROUTE_CLIENT_SEND,
    ROUTE_DISCONNECT,
    ROUTE_METRICS,
    ROUTE_HEALTH,
    ROUTE_READY,
    ROUTE_OPENAPI,
    ROUTE_UPGRADE,
    ROUTE_OTHER,
    ROUTE_COUNT,
};

/* Close codes worth counting one by one; others go to "other". */
#define METRICS_CLOSE_CODES                                                    \
    X(1000)                                                                    \
    X(1001) X(1002) X(1007) X(1009) X(4001) X(4002) X(4003) X(4004) X(4005)

enum metrics_close_slot {
#define X(code) CLOSE_SLOT_##code,
    METRICS_CLOSE_CODES
#undef X
        CLOSE_SLOT_OTHER,
    CLOSE_SLOT_COUNT,
};

/* HTTP statuses the server sends, for requests by route and status. */
#define METRICS_STATUSES                                                       \
    X(101)                                                                     \
    X(200)                                                                     \
    X(400) X(401) X(404) X(405) X(413) X(414) X(426) X(431) X(500) X(501)      \
        X(503) X(505)

enum metrics_status_slot {
#define X(code) STATUS_SLOT_##code,
    METRICS_STATUSES
#undef X
        STATUS_SLOT_COUNT,
};

struct metrics {
    atomic_uint_fast64_t handshakes; /* successful authentications */
    atomic_uint_fast64_t auth_failures[AUTH_FAIL_REASON_COUNT];
    atomic_uint_fast64_t messages_delivered; /* messages queued to clients */
    atomic_uint_fast64_t bytes_delivered;    /* bytes written to sockets */
    atomic_uint_fast64_t deliveries_dropped; /* lost to slow-consumer closes */
    atomic_uint_fast64_t closes[CLOSE_SLOT_COUNT];
    atomic_uint_fast64_t slow_consumer_closes;
    atomic_uint_fast64_t rest_requests[ROUTE_COUNT][STATUS_SLOT_COUNT];
    atomic_uint_fast64_t commands_rejected; /* queue full: REST got 503 */
};

static inline void metrics_add(atomic_uint_fast64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

void metrics_count_close(struct metrics *m, unsigned code);
void metrics_count_request(struct metrics *m, enum rest_route route,
                           int status);

struct server;
/* Renders every metric in the Prometheus text format (version 0.0.4).
 * Returns a malloc'd string. */
char *metrics_render(struct server *s, size_t *len);

#endif
