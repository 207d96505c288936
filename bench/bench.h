/*
 * Shared declarations of signal-bench, the load generator. The main thread
 * drives the phases of a run: prepare, connect, probe, send, close. Each
 * client thread owns a slice of the WebSocket clients and its own event
 * base. One REST thread owns the keep-alive HTTP connections that send the
 * messages. Threads share only the read-only configuration, the stream
 * plan (written by the main thread before the REST thread starts) and the
 * atomic counters declared here.
 */
#ifndef SIGNAL_BENCH_H
#define SIGNAL_BENCH_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "ws_codec.h"

#define BENCH_MAX_THREADS 32
#define BENCH_MAX_SERVER_PIDS 8
#define BENCH_MAX_REST_CONNECTIONS 64
#define BENCH_MAX_PIPELINE 64
#define BENCH_MAX_IN_FLIGHT 32
/* Slots of a stream's delivery ring: twice the largest window, so the
 * slots of the messages in flight never collide. */
#define BENCH_DELIVERY_RING (2 * BENCH_MAX_IN_FLIGHT)
#define BENCH_MAX_MESSAGE_SIZE (128 * 1024)
#define BENCH_CLIENT_ID_MAX 64
#define BENCH_NONE UINT32_MAX

/* Read scratch of a client thread: large enough for the largest frame the
 * benchmark expects (an encrypted message of BENCH_MAX_MESSAGE_SIZE bytes,
 * base64-encoded, plus the envelope), because frames are parsed in place. */
#define BENCH_READ_BUFFER (512 * 1024)

/* ---- errors ---------------------------------------------------------- */

enum bench_error {
    ERR_CONNECT,          /* TCP connect failed */
    ERR_UPGRADE,          /* no valid 101 response to the upgrade */
    ERR_AUTH_REJECTED,    /* error event or close before "connected" */
    ERR_HANDSHAKE,        /* "connected" malformed or key derivation failed */
    ERR_CLOSED_BY_SERVER, /* close frame or EOF while not closing */
    ERR_WS_PROTOCOL,      /* the server broke RFC 6455 framing */
    ERR_SOCKET,           /* read or write failed on a client socket */
    ERR_DECRYPT,          /* wrapper malformed or tag did not verify */
    ERR_UNENCRYPTED,      /* plain application message in encrypted mode */
    ERR_ENVELOPE,         /* message is not an {"event", "data"} object */
    ERR_PAYLOAD,          /* seq, t or pad missing, out of range or altered */
    ERR_UNEXPECTED_EVENT, /* an event this client should not receive */
    ERR_ERROR_EVENT,      /* an "error" event after authentication */
    ERR_REST_CONNECT,     /* REST connection could not be opened */
    ERR_REST_LOST,        /* REST connection closed with requests pending */
    ERR_REST_STATUS,      /* REST response status other than 200 */
    ERR_REST_RESPONSE,    /* REST response invalid or not a success */
    ERR_NOT_READY,        /* client not authenticated before the deadline */
    ERR_PROBE_MISSING,    /* member never received a probe of its stream */
    ERR_CLOSE_TIMEOUT,    /* no close reply before the deadline */
    ERR_STALLED,          /* deliveries stopped before all arrived */
    BENCH_ERROR_COUNT
};

const char *bench_error_name(enum bench_error e);

/* ---- histogram (stats.c) --------------------------------------------- */

/* Log-linear buckets in the style of HdrHistogram: values below
 * 2^HIST_SUB_BITS are exact, above that each power of two is split into
 * 2^HIST_SUB_BITS buckets, so a recorded value is known to within 1/128. */
#define HIST_SUB_BITS 7
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB_COUNT)

struct histogram {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t min;
    uint64_t max;
};

void histogram_init(struct histogram *h);
void histogram_record(struct histogram *h, uint64_t value);
void histogram_merge(struct histogram *dst, const struct histogram *src);
/* Highest value of the bucket holding the p-th percentile (0 < p <= 100),
 * capped at the exact maximum; 0 when empty. */
uint64_t histogram_percentile(const struct histogram *h, double p);

/* ---- counters --------------------------------------------------------- */

#define BENCH_CLOSE_CODE_SLOTS 16

struct close_code_count {
    unsigned code;
    uint64_t count;
};

struct bench_stats {
    uint64_t errors[BENCH_ERROR_COUNT];
    struct close_code_count close_codes[BENCH_CLOSE_CODE_SLOTS];
    uint64_t handshakes;
    uint64_t delivered;  /* first arrival of a planned message */
    uint64_t duplicated; /* a seq that had already arrived */
    uint64_t reordered;  /* arrived after a higher seq of its stream */
    uint64_t bytes_received;
    struct histogram handshake_ns;
    struct histogram latency_ns;
};

void stats_init(struct bench_stats *s);
void stats_merge(struct bench_stats *dst, const struct bench_stats *src);
void stats_count_close_code(struct bench_stats *s, unsigned code);
uint64_t stats_error_total(const struct bench_stats *s);

/* ---- configuration ---------------------------------------------------- */

enum scenario {
    SCENARIO_CONNECT,
    SCENARIO_BROADCAST,
    SCENARIO_ROOMS,
    SCENARIO_DIRECT,
    SCENARIO_IDLE_MEMORY,
    SCENARIO_SMOKE,
};

struct bench_config {
    enum scenario scenario;
    const char *scenario_name;
    const char *label;
    struct sockaddr_in target;
    char target_text[80]; /* "127.0.0.1:8080", also the Host header */
    const char *ws_path;
    const char *rest_prefix;
    const char *jwt_secret;
    const char *admin_user;
    const char *admin_password;
    unsigned clients;
    unsigned threads;
    unsigned concurrency; /* handshakes in progress, all threads together */
    unsigned rooms;
    unsigned room_size;
    unsigned messages;     /* REST sends planned, all streams together */
    unsigned broadcasts;   /* smoke: broadcast sends */
    unsigned room_sends;   /* smoke: room sends */
    unsigned client_sends; /* smoke: client sends */
    unsigned size;         /* bytes of the "data" JSON text of a message */
    double rate;           /* messages per second; 0: as fast as allowed */
    unsigned in_flight;    /* messages of a stream not yet fully delivered */
    unsigned rest_connections;
    unsigned pipeline; /* HTTP requests in flight per REST connection */
    double duration_s; /* sending stops after this long */
    double connect_timeout_s;
    double drain_timeout_s; /* wait this long without progress at the end */
    double settle_s;
    bool plain;
    bool json;
    pid_t server_pids[BENCH_MAX_SERVER_PIDS];
    unsigned server_pid_count;
    unsigned source_addresses;
};

/* ---- streams ---------------------------------------------------------- */

/* The benchmark topics: a client tells a message's stream from its event. */
enum stream_kind {
    STREAM_BROADCAST,
    STREAM_ROOM,
    STREAM_CLIENT,
    STREAM_KIND_COUNT
};

const char *stream_topic(enum stream_kind kind);
const char *stream_probe_topic(enum stream_kind kind);

/* One ordered sequence of messages to one target: the broadcast, one room
 * or one client. A stream is sent over one REST connection only, so the
 * server receives its messages in seq order and clients must see them in
 * that order. */
struct bench_stream {
    enum stream_kind kind;
    char path[192];   /* request target of the REST call */
    uint32_t planned; /* messages to send */
    uint32_t members; /* authenticated subscribers when sending starts */
    unsigned conn;    /* index of the REST connection that sends it */
    /* Owned by the REST thread while sending, read by main afterwards. */
    uint32_t next_seq;
    uint32_t accepted;  /* responses 200 with "success": true */
    uint32_t completed; /* seqs 0..completed-1 reached every member */
    /* Client threads count the first deliveries of seq n in slot
     * n % BENCH_DELIVERY_RING. The REST thread clears the slot once seq n
     * has reached every member. */
    _Atomic uint32_t delivery_ring[BENCH_DELIVERY_RING];
};

/* A client's view of one stream: which seqs arrived, as a bitmap. */
struct subscription {
    uint32_t stream; /* BENCH_NONE: not subscribed */
    uint32_t received;
    uint32_t next_seq; /* highest seq seen + 1 */
    bool probed;
    uint64_t *seen;
};

/* ---- clients (client.c) ----------------------------------------------- */

enum client_state {
    CLIENT_IDLE,
    CLIENT_CONNECTING,
    CLIENT_UPGRADING,
    CLIENT_AUTHENTICATING,
    CLIENT_READY,
    CLIENT_CLOSING,
    CLIENT_CLOSED,
    CLIENT_FAILED,
};

struct bench_thread;

struct bench_client {
    struct bench_thread *thread;
    struct event *read_event;
    struct event *write_event;
    int fd;
    uint32_t index;
    enum client_state state;
    bool close_sent;
    bool was_ready; /* reached CLIENT_READY at some point */
    unsigned close_code;
    int room; /* -1: none */
    struct ws_reader reader;
    /* Bytes of an incomplete frame (or HTTP head) carried to the next read;
     * allocated only when a read ends inside a frame. */
    uint8_t *carry;
    uint32_t carry_len;
    uint32_t carry_cap;
    /* Output the socket did not take yet; allocated on demand. */
    uint8_t *pending;
    uint32_t pending_len;
    uint32_t pending_cap;
    struct crypto_ecdh *key_pair; /* until the key is derived */
    char *auth_message;
    char ws_key[25];
    uint8_t key[CRYPTO_KEY_LEN];
    char id[BENCH_CLIENT_ID_MAX];
    uint64_t started_ns;
    struct subscription subs[STREAM_KIND_COUNT];
};

enum thread_command {
    COMMAND_NONE,
    COMMAND_PREPARE, /* mint tokens and key pairs */
    COMMAND_CONNECT, /* start connecting; progress in the live counters */
    COMMAND_ABANDON, /* give up on clients not yet authenticated */
    COMMAND_CLOSE,   /* send close frames; progress in live_finished */
    COMMAND_STOP,    /* close every socket and leave the loop */
};

struct bench_run;

struct bench_thread {
    struct bench_run *run;
    unsigned id;
    pthread_t tid;
    struct event_base *base;
    struct event *command_event;
    struct event *heartbeat_event;
    _Atomic int command;
    _Atomic unsigned acknowledged; /* count of finished commands */

    uint32_t *clients; /* indices into run->clients */
    unsigned client_count;
    unsigned next_to_connect;
    unsigned connecting;
    unsigned concurrency;

    uint8_t *read_buffer; /* BENCH_READ_BUFFER bytes */
    uint8_t *cipher_buffer;
    uint8_t *plain_buffer;
    uint8_t *write_buffer;
    size_t crypt_cap;
    size_t write_cap;
    struct crypto_gcm *gcm;
    uint64_t rng;

    struct bench_stats stats;
    uint64_t first_connect_ns;
    uint64_t last_ready_ns;

    /* Written by this thread, read by the main and REST threads. */
    _Atomic uint64_t live_ready;    /* clients that authenticated */
    _Atomic uint64_t live_failed;   /* clients that failed to authenticate */
    _Atomic uint64_t live_finished; /* clients whose socket is closed */
    _Atomic uint64_t live_delivered;
    _Atomic uint64_t live_probed[STREAM_KIND_COUNT];
    _Atomic uint64_t live_last_delivery_ns;
};

/* Creates the thread's event base and buffers and starts its loop. */
bool client_thread_start(struct bench_thread *t);
/* Hands a command to the thread and returns a ticket for
 * client_thread_wait. One command at a time: wait before posting again. */
unsigned client_thread_post(struct bench_thread *t,
                            enum thread_command command);
/* Blocks until the thread has carried out the command of the ticket (for
 * CONNECT and CLOSE: until it has started). After STOP the thread has left
 * its loop and may be joined. */
void client_thread_wait(struct bench_thread *t, unsigned ticket);
void client_thread_join(struct bench_thread *t);
void client_thread_free(struct bench_thread *t);

/* ---- REST driver (rest.c) --------------------------------------------- */

struct rest_driver;

struct rest_driver *rest_driver_start(struct bench_run *run);
/* Sends one probe message to every broadcast and room stream. Joins have
 * no reply in the protocol, so the main thread probes until every member
 * has seen a probe of its stream. */
void rest_driver_probe(struct rest_driver *d);
/* Starts sending the planned messages. rest_driver_done() turns true once
 * every stream is sent (or the duration ran out) and every request has its
 * response. */
void rest_driver_send(struct rest_driver *d);
bool rest_driver_done(struct rest_driver *d);
uint64_t rest_driver_expected_deliveries(struct rest_driver *d);
/* Number of requests so far whose response was not a success. */
uint64_t rest_driver_rejected(struct rest_driver *d);
uint64_t rest_driver_first_send_ns(struct rest_driver *d);
uint64_t rest_driver_last_send_ns(struct rest_driver *d);
/* Stops the thread; afterwards its counters may be read. */
void rest_driver_stop(struct rest_driver *d);
const struct bench_stats *rest_driver_stats(struct rest_driver *d);
const struct histogram *rest_driver_latency(struct rest_driver *d);
uint64_t rest_driver_requests(struct rest_driver *d);
void rest_driver_free(struct rest_driver *d);

/* ---- the run ------------------------------------------------------------ */

struct bench_run {
    const struct bench_config *cfg;
    uint64_t epoch_ns; /* origin of the "t" field: CLOCK_MONOTONIC */
    struct bench_client *clients;
    unsigned client_count;
    struct bench_stream *streams;
    unsigned stream_count;
    struct bench_thread threads[BENCH_MAX_THREADS];
    unsigned thread_count;
    unsigned source_addresses;
    /* "abc...zabc..." long enough for any pad: the pad of seq n is the
     * substring starting at n % 26. */
    char *pad_pattern;
    size_t pad_pattern_len;
};

uint64_t now_ns(void);
uint64_t delivered_total(struct bench_run *run);

/* Length of the pad that makes the data text of a message size bytes long:
 * {"s":<stream>,"seq":<seq>,"t":<t>,"pad":"<pad>"}. 0 when size is too
 * small to hold any pad. */
size_t payload_pad_len(unsigned size, uint32_t stream, uint64_t seq,
                       uint64_t t);
/* Writes the data text of a message; returns its length. out must hold
 * size + 96 bytes. */
size_t payload_format(char *out, const struct bench_run *run, unsigned size,
                      uint32_t stream, uint64_t seq, uint64_t t);

/* ---- JSON scanning without allocation (json_scan.c) ------------------- */

enum json_type {
    JSON_MISSING,
    JSON_STRING,
    JSON_NUMBER,
    JSON_OBJECT,
    JSON_ARRAY,
    JSON_TRUE,
    JSON_FALSE,
    JSON_NULL,
};

/* A value inside the scanned text. For strings, p and n cover the raw text
 * between the quotes (escapes not decoded, escaped is true when there are any).
 */
struct json_value {
    enum json_type type;
    const char *p;
    size_t n;
    bool escaped;
};

/* Checks that text[0..n) is exactly one JSON object, fully validated, and
 * fills values[i] with the top-level member named keys[i] (JSON_MISSING
 * when absent). A key given twice in the text makes the object invalid.
 * Returns false on any syntax error. */
bool json_scan_object(const char *text, size_t n, const char *const *keys,
                      size_t key_count, struct json_value *values);

/* The decimal integer in a JSON_NUMBER value: digits only, no sign,
 * fraction or exponent, at most 2^63. */
bool json_value_u64(const struct json_value *v, uint64_t *out);

bool json_value_equals(const struct json_value *v, const char *s);

/* ---- sockets and HTTP responses (net.c) ------------------------------- */

struct event;

/* Opens a non-blocking TCP socket with TCP_NODELAY and starts connecting
 * it to target, from source_address (host order) when not 0. Returns the
 * socket, or -1 with errno set. */
int net_connect(const struct sockaddr_in *target, uint32_t source_address);
/* True when the connect started by net_connect has succeeded; call once
 * the socket is writable. */
bool net_connect_succeeded(int fd);
/* Frees both events (either may be NULL) and closes *fd (may be -1). */
void net_close(struct event **read_event, struct event **write_event, int *fd);

/* Finds the first header called name (case-insensitive) in a response head
 * of len bytes (status line, header lines, empty line). On success value
 * points at the field value without surrounding spaces and tabs. */
bool http_head_find(const char *head, size_t len, const char *name,
                    const char **value, size_t *value_len);

/* ---- /proc sampling of the server (stats.c) --------------------------- */

struct process_sample {
    bool valid;
    double cpu_user_s;
    double cpu_system_s;
    uint64_t rss_kib;
    uint64_t hwm_kib;
};

/* Reads utime, stime, VmRSS and VmHWM of pid; valid is false when the
 * process is gone or /proc is unreadable. */
struct process_sample process_sample_read(pid_t pid);

#endif
