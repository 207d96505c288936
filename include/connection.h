/*
 * One client connection: HTTP until a WebSocket upgrade, then WebSocket.
 * A connection belongs to exactly one worker, which alone reads, writes,
 * encrypts for and frees it; no lock is ever taken for it. Input is
 * buffered only while a request or frame is incomplete, output only while
 * the socket cannot take it, so an idle connection has no buffers.
 */
#ifndef SIGNAL_CONNECTION_H
#define SIGNAL_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "registry.h"
#include "ws_codec.h"

struct worker;
struct event;
struct local_room;
struct message;

enum conn_kind {
    CONN_HTTP,
    CONN_WEBSOCKET,
};

enum conn_phase {
    PHASE_OPEN,    /* reading and writing normally */
    PHASE_CLOSING, /* final bytes queued; waiting for them to drain */
    PHASE_LINGER,  /* output drained, write side shut; waiting for EOF */
    PHASE_DEAD,    /* to be freed at the end of the current batch */
};

/* Pending output: bytes [start, start + len) of data. */
struct outbuf {
    uint8_t *data;
    size_t start, len, cap;
};

struct connection {
    struct worker *worker;
    int fd;
    uint32_t slot;       /* index in the worker's slot table */
    uint32_t generation; /* distinguishes reuses of one slot */
    enum conn_kind kind;
    enum conn_phase phase;

    struct event *read_event;
    struct event *write_event; /* created while output is pending */

    /* Links in the worker's lists; see worker.h. */
    struct connection *all_prev, *all_next;
    struct connection *state_prev, *state_next; /* unauthorized FIFO or
                                                   authenticated list */
    struct connection *flush_next;
    struct connection *reap_next;
    bool in_flush_list;
    bool read_paused; /* input stopped until output drains */
    bool in_state_list;
    bool counted; /* counted in server->ws_connections */

    uint8_t *in; /* unconsumed input, heap, only while incomplete */
    size_t in_len, in_cap;
    struct outbuf out;

    /* HTTP */
    int64_t request_started_ms; /* first byte of the current request */
    bool close_after_flush;
    bool continue_sent; /* "100 Continue" sent for the current request */
    bool head_request;  /* the request is HEAD: no response body */

    /* WebSocket */
    struct ws_reader reader;
    enum client_state state;
    bool encrypted;
    bool close_sent;
    char id[CLIENT_ID_LEN + 1];
    struct client_record *record;
    uint8_t key[CRYPTO_KEY_LEN];
    uint64_t messages_sealed;
    struct local_room **rooms;
    uint16_t room_count, room_cap;
    int64_t upgraded_ms;      /* monotonic */
    int64_t last_activity_ms; /* monotonic: last data message */
    int64_t last_frame_ms;    /* monotonic: last frame of any kind */
    int64_t ping_sent_ms;     /* monotonic; 0 when no ping is pending */
    int64_t linger_until_ms;  /* monotonic: end of CLOSING or LINGER */
};

/* Takes an accepted socket. Returns NULL (and closes fd) on failure. */
struct connection *conn_new(struct worker *w, int fd);

/* Frees the connection now: unregisters it, closes the socket. */
void conn_free(struct connection *c);

/* Queues bytes for the client; false when the backlog would pass the
 * outbound limit (the caller then closes with 4005). */
bool conn_queue(struct connection *c, const void *data, size_t len);

/* Reserves len bytes at the end of the output and returns where to write
 * them, or NULL when the backlog would pass the outbound limit. */
uint8_t *conn_reserve(struct connection *c, size_t len);

/* Queues one unmasked WebSocket frame. */
bool conn_send_frame(struct connection *c, uint8_t opcode, const void *payload,
                     size_t len);

/* Sends a close frame (code 0: none), stops reading application data and
 * closes the socket once the frame has drained or after a grace period.
 * reason is a short ASCII text for the log and the frame. */
void conn_close(struct connection *c, unsigned code, const char *reason);

/* Drops the connection without a close frame. */
void conn_abort(struct connection *c, const char *reason);

/* Closes a client whose backlog is over the outbound limit (4005). */
void conn_close_slow_consumer(struct connection *c);

/* Writes pending output; called by the worker after each batch of work. */
void conn_flush(struct connection *c);

/* Sends an HTTP response with the usual headers; content_type NULL means
 * application/json. extra_headers is NULL or CRLF-terminated lines. */
void conn_http_respond(struct connection *c, int status,
                       const char *content_type, const char *body,
                       size_t body_len, const char *extra_headers);

/* Sends {"error": message} with the given status. */
void conn_http_error(struct connection *c, int status, const char *message);

#endif
