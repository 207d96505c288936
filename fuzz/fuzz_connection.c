/*
 * Fuzzes a whole connection of the real daemon code: HTTP parsing, REST
 * routing and body handling, the WebSocket upgrade, frame reassembly, the
 * JSON envelope, authentication (token and key exchange) and encrypted
 * wrappers. One worker (its event loop driven from here, no thread) owns
 * a connection over a socketpair; the input is written to the other end.
 *
 * The first input byte picks a prefix so the fuzzer starts from
 * interesting states instead of rediscovering them:
 *   0: raw bytes from the first byte of the request
 *   1: a POST to a REST send route with valid Basic credentials; the
 *      rest is the body (the second byte picks the route)
 *   2: a valid upgrade; the rest is split at 0xFF bytes into masked text
 *      frames (envelopes before authentication)
 *   3: a valid upgrade and a valid authenticate with a real P-256 key;
 *      the rest is split into masked text frames as in 2
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "base64.h"
#include "config.h"
#include "connection.h"
#include "crypto.h"
#include "fuzz_check.h"
#include "hmap.h"
#include "registry.h"
#include "rest.h"
#include "server.h"
#include "token.h"
#include "worker.h"

#define MAX_INPUT 65536

static struct server server;
static struct worker *worker;
static char authenticate_json[1024];

static void setup(void)
{
    static char *argv[] = {"fuzz",
                           "--jwt-secret=fuzz-secret",
                           "--admin-user=admin",
                           "--admin-password=pw",
                           "--room-allow=public-*",
                           "--workers=1",
                           "--log-level=error",
                           "--max-message-bytes=65536"};
    struct config *config;
    bool check_only;
    char err[256];

    FUZZ_CHECK(config_load(sizeof(argv) / sizeof(argv[0]), argv, &config,
                           &check_only, err, sizeof(err)) == CONFIG_OK,
               err);
    FUZZ_CHECK(hmap_init_seed(), "no randomness");
    log_set_level(LOG_ERROR);
    server.config = config;
    server.settings = config_ref(config);
    pthread_mutex_init(&server.settings_lock, NULL);
    server.worker_count = 1;
    server.registry = registry_new(1);
    worker = worker_new(&server, 0);
    server.workers = &worker;
    FUZZ_CHECK(worker != NULL && server.registry != NULL, "setup failed");
    atomic_store(&server.accepting, true);
    atomic_store(&server.workers_running, 1);

    /* A valid authenticate with a fresh client key. */
    EVP_PKEY *key = crypto_generate_key_pair();
    uint8_t raw[CRYPTO_PUBLIC_KEY_LEN];
    char b64[base64_encoded_len(CRYPTO_PUBLIC_KEY_LEN) + 1];
    FUZZ_CHECK(key != NULL && crypto_export_public_key(key, raw), "keygen");
    b64[base64_encode(raw, sizeof(raw), b64)] = '\0';
    EVP_PKEY_free(key);
    char *token = token_issue((const uint8_t *)"fuzz-secret", 11, "fuzz-user",
                              time(NULL), 365L * 86400);
    FUZZ_CHECK(token != NULL, "token_issue");
    snprintf(authenticate_json, sizeof(authenticate_json),
             "{\"event\":\"authenticate\",\"data\":{\"token\":\"%s\","
             "\"clientPublicKey\":\"%s\"}}",
             token, b64);
    free(token);
}

static size_t append(uint8_t *out, size_t o, size_t cap, const void *p,
                     size_t n)
{
    if (o + n > cap)
        n = cap - o;
    memcpy(out + o, p, n);
    return o + n;
}

/* Appends one masked text frame (the mask is fixed; any mask is valid). */
static size_t append_frame(uint8_t *out, size_t o, size_t cap,
                           const uint8_t *payload, size_t n)
{
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    uint8_t header[WS_MAX_HEADER_LEN];
    size_t h = ws_write_frame_header(header, true, WS_OP_TEXT, n, mask);

    if (o + h + n > cap)
        return o;
    memcpy(out + o, header, h);
    memcpy(out + o + h, payload, n);
    ws_apply_mask(out + o + h, n, mask, 0);
    return o + h + n;
}

static size_t append_frames(uint8_t *out, size_t o, size_t cap,
                            const uint8_t *data, size_t size)
{
    size_t start = 0;

    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == 0xFF) {
            o = append_frame(out, o, cap, data + start, i - start);
            start = i + 1;
        }
    }
    return o;
}

static const char upgrade_request[] =
    "GET /ws HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

static size_t build_stream(const uint8_t *data, size_t size, uint8_t *out,
                           size_t cap)
{
    static const char *const routes[] = {
        "/broadcast",
        "/rooms/public-a/send",
        "/rooms/x%20y/send",
        "/00000000-0000-4000-8000-000000000000/send",
    };
    uint8_t mode = size > 0 ? data[0] % 4 : 0;
    size_t o = 0;
    char head[512];

    data += size > 0;
    size -= size > 0;
    switch (mode) {
    case 0:
        return append(out, 0, cap, data, size);
    case 1: {
        const char *route = routes[size > 0 ? data[0] % 4 : 0];
        data += size > 0;
        size -= size > 0;
        int n = snprintf(head, sizeof(head),
                         "POST " REST_PREFIX "%s HTTP/1.1\r\nHost: fuzz\r\n"
                         "Authorization: Basic YWRtaW46cHc=\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         route, size);
        o = append(out, 0, cap, head, (size_t)n);
        return append(out, o, cap, data, size);
    }
    case 2:
        o = append(out, 0, cap, upgrade_request, sizeof(upgrade_request) - 1);
        return append_frames(out, o, cap, data, size);
    default:
        o = append(out, 0, cap, upgrade_request, sizeof(upgrade_request) - 1);
        o = append_frame(out, o, cap, (const uint8_t *)authenticate_json,
                         strlen(authenticate_json));
        return append_frames(out, o, cap, data, size);
    }
}

/* Runs the worker's loop until it has nothing more to do right now,
 * draining what the server sends so it never blocks on a full socket. */
static void pump(int peer)
{
    uint8_t sink[65536];

    for (int i = 0; i < 64; i++) {
        event_base_loop(worker->base, EVLOOP_NONBLOCK);
        while (recv(peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
            ;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    static uint8_t stream[MAX_INPUT * 2];
    int fds[2];

    if (!ready) {
        setup();
        ready = true;
    }
    if (size > MAX_INPUT)
        return 0;

    size_t len = build_stream(data, size, stream, sizeof(stream));
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0,
               "socketpair");
    struct connection *c = conn_new(worker, fds[0]);
    FUZZ_CHECK(c != NULL, "conn_new");

    /* Feed the stream in pieces the socket buffer can take. */
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fds[1], stream + sent, len - sent, MSG_DONTWAIT);
        if (n > 0)
            sent += (size_t)n;
        pump(fds[1]);
        if (n <= 0 && worker->all == NULL)
            break;
    }
    shutdown(fds[1], SHUT_WR);
    pump(fds[1]);
    close(fds[1]);
    pump(-1);

    /* Whatever the input did, the connection must be gone by now or be
     * freeable without leaking. */
    while (worker->all != NULL)
        conn_free(worker->all);
    FUZZ_CHECK(registry_client_count(server.registry) == 0,
               "registry kept a client after its connection was freed");
    FUZZ_CHECK(atomic_load(&server.ws_connections) == 0,
               "connection count did not return to zero");
    return 0;
}
