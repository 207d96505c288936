/*
 * The WebSocket clients of signal-bench. Each client thread runs one
 * libevent base and owns a fixed slice of the clients. It connects them,
 * performs the upgrade, authenticates with a JWT and a fresh P-256 key,
 * derives the session key and joins the client's room. Then it checks
 * every message that arrives: it decrypts it, finds its stream from the
 * topic, and counts it as delivered, duplicated or reordered. Only the
 * owning thread touches a client; other threads read the atomic counters.
 *
 * The receive path reads into one per-thread buffer, parses frames in
 * place and decrypts into per-thread scratch with one AES-GCM context, so
 * a delivered message allocates nothing.
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

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "base64.h"
#include "bench.h"
#include "http_parser.h"
#include "token.h"

#define TOKEN_TTL_S 3600
#define UPGRADE_HEAD_MAX 16384
#define HEARTBEAT_INTERVAL_S 20
#define WRITE_BUFFER_SIZE 65536

static void on_client_read(evutil_socket_t fd, short what, void *arg);
static void on_client_write(evutil_socket_t fd, short what, void *arg);
static void start_connects(struct bench_thread *t);

static uint64_t next_random(struct bench_thread *t)
{
    /* xorshift64*: masks and WebSocket keys need no cryptographic
     * strength in a load generator, only speed. */
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

static const struct bench_config *config_of(const struct bench_client *c)
{
    return c->thread->run->cfg;
}

static void publish_progress(struct bench_thread *t)
{
    if (atomic_load_explicit(&t->live_delivered, memory_order_relaxed) ==
        t->stats.delivered)
        return;
    atomic_store_explicit(&t->live_last_delivery_ns, now_ns(),
                          memory_order_relaxed);
    atomic_store_explicit(&t->live_delivered, t->stats.delivered,
                          memory_order_relaxed);
}

/* ---- closing ---------------------------------------------------------- */

static bool in_handshake(const struct bench_client *c)
{
    return c->state == CLIENT_CONNECTING || c->state == CLIENT_UPGRADING ||
           c->state == CLIENT_AUTHENTICATING;
}

static bool is_finished(const struct bench_client *c)
{
    return c->state == CLIENT_CLOSED || c->state == CLIENT_FAILED;
}

/* Ends a client that has no connection in progress (never connected, or
 * its socket could not be set up), counting error e. */
static void client_give_up(struct bench_thread *t, struct bench_client *c,
                           enum bench_error e)
{
    t->stats.errors[e]++;
    c->state = CLIENT_FAILED;
    atomic_fetch_add_explicit(&t->live_failed, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->live_finished, 1, memory_order_relaxed);
}

/* Closes the socket and frees what the connection held. failed is true
 * when this ends the client abnormally; the caller has counted the
 * reason. A client still in its handshake makes room for the next one. */
static void client_finish(struct bench_client *c, bool failed)
{
    struct bench_thread *t = c->thread;
    bool was_handshaking = in_handshake(c);

    net_close(&c->read_event, &c->write_event, &c->fd);
    ws_reader_free(&c->reader);
    free(c->carry);
    free(c->pending);
    c->carry = NULL;
    c->pending = NULL;
    c->carry_len = c->carry_cap = 0;
    c->pending_len = c->pending_cap = 0;
    crypto_ecdh_free(c->key_pair);
    c->key_pair = NULL;
    free(c->auth_message);
    c->auth_message = NULL;
    crypto_wipe(c->key, sizeof(c->key));

    c->state = failed ? CLIENT_FAILED : CLIENT_CLOSED;
    atomic_fetch_add_explicit(&t->live_finished, 1, memory_order_relaxed);

    if (was_handshaking) {
        atomic_fetch_add_explicit(&t->live_failed, 1, memory_order_relaxed);
        t->connecting--;
        start_connects(t);
    }
}

static void client_fail(struct bench_client *c, enum bench_error e)
{
    c->thread->stats.errors[e]++;
    client_finish(c, true);
}

/* ---- writing ---------------------------------------------------------- */

static bool append_pending(struct bench_client *c, const uint8_t *p, size_t n)
{
    size_t need = c->pending_len + n;
    if (need > c->pending_cap) {
        size_t cap = need < 4096 ? 4096 : need * 2;
        uint8_t *grown = realloc(c->pending, cap);
        if (grown == NULL)
            return false;
        c->pending = grown;
        c->pending_cap = (uint32_t)cap;
    }
    memcpy(c->pending + c->pending_len, p, n);
    c->pending_len = (uint32_t)need;
    return true;
}

/* Writes what the socket takes now and keeps the rest for on_client_write.
 * Returns false (after failing the client) on a socket error. */
static bool client_write(struct bench_client *c, const uint8_t *p, size_t n)
{
    if (c->pending_len > 0) {
        if (!append_pending(c, p, n)) {
            client_fail(c, ERR_SOCKET);
            return false;
        }
        return true;
    }

    ssize_t written = send(c->fd, p, n, MSG_NOSIGNAL);
    if (written < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            client_fail(c, ERR_SOCKET);
            return false;
        }
        written = 0;
    }
    if ((size_t)written == n)
        return true;

    if (!append_pending(c, p + written, n - (size_t)written)) {
        client_fail(c, ERR_SOCKET);
        return false;
    }
    event_add(c->write_event, NULL);
    return true;
}

/* Sends one masked frame, as RFC 6455 requires of a client. */
static bool client_send_frame(struct bench_client *c, uint8_t opcode,
                              const void *payload, size_t n)
{
    struct bench_thread *t = c->thread;
    uint64_t r = next_random(t);
    uint8_t mask[4] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16),
                       (uint8_t)(r >> 24)};

    if (n + WS_MAX_HEADER_LEN > t->write_cap) {
        client_fail(c, ERR_SOCKET);
        return false;
    }
    size_t header =
        ws_write_frame_header(t->write_buffer, true, opcode, n, mask);
    memcpy(t->write_buffer + header, payload, n);
    ws_apply_mask(t->write_buffer + header, n, mask, 0);
    return client_write(c, t->write_buffer, header + n);
}

static bool client_send_text(struct bench_client *c, const char *text)
{
    return client_send_frame(c, WS_OP_TEXT, text, strlen(text));
}

static void client_send_close(struct bench_client *c, unsigned code)
{
    uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    if (client_send_frame(c, WS_OP_CLOSE, payload, sizeof(payload)))
        c->close_sent = true;
}

/* ---- connecting ------------------------------------------------------- */

static bool client_connect(struct bench_thread *t, struct bench_client *c)
{
    const struct bench_run *run = t->run;

    /* Spread clients over 127.0.0.1..127.0.0.K when one source address
     * would run short of ephemeral ports. */
    uint32_t source = run->source_addresses > 1
                          ? INADDR_LOOPBACK + c->index % run->source_addresses
                          : 0;
    c->fd = net_connect(&run->cfg->target, source);
    if (c->fd < 0)
        goto fail;

    c->read_event =
        event_new(t->base, c->fd, EV_READ | EV_PERSIST, on_client_read, c);
    c->write_event = event_new(t->base, c->fd, EV_WRITE, on_client_write, c);
    if (c->read_event == NULL || c->write_event == NULL)
        goto fail;
    ws_reader_init(&c->reader, false, BENCH_READ_BUFFER / 2);

    c->started_ns = now_ns();
    c->state = CLIENT_CONNECTING;
    t->connecting++;
    event_add(c->write_event, NULL);
    return true;

fail:
    net_close(&c->read_event, &c->write_event, &c->fd);
    client_give_up(t, c, ERR_CONNECT);
    return false;
}

/* Keeps at most t->concurrency handshakes in progress. A client that fails
 * at once does not take a slot, so the loop moves on to the next one. */
static void start_connects(struct bench_thread *t)
{
    while (t->connecting < t->concurrency &&
           t->next_to_connect < t->client_count) {
        struct bench_client *c =
            &t->run->clients[t->clients[t->next_to_connect++]];
        if (c->state == CLIENT_IDLE)
            client_connect(t, c);
    }
}

static void send_upgrade_request(struct bench_client *c)
{
    const struct bench_config *cfg = config_of(c);
    char request[512];

    int n = snprintf(request, sizeof(request),
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "\r\n",
                     cfg->ws_path, cfg->target_text, c->ws_key);
    c->state = CLIENT_UPGRADING;
    if (!client_write(c, (const uint8_t *)request, (size_t)n))
        return;
    event_add(c->read_event, NULL);
}

static void on_client_write(evutil_socket_t fd, short what, void *arg)
{
    struct bench_client *c = arg;

    if (c->state == CLIENT_CONNECTING) {
        if (!net_connect_succeeded(fd)) {
            client_fail(c, ERR_CONNECT);
            return;
        }
        send_upgrade_request(c);
        return;
    }

    ssize_t written = send(fd, c->pending, c->pending_len, MSG_NOSIGNAL);
    if (written < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            event_add(c->write_event, NULL);
            return;
        }
        client_fail(c, ERR_SOCKET);
        return;
    }
    memmove(c->pending, c->pending + written, c->pending_len - (size_t)written);
    c->pending_len -= (uint32_t)written;
    if (c->pending_len > 0)
        event_add(c->write_event, NULL);
}

/* ---- upgrade ---------------------------------------------------------- */

/* Checks the 101 response: status, Upgrade, Connection and the accept
 * key. */
static bool upgrade_response_valid(const struct bench_client *c,
                                   const char *head, size_t len)
{
    static const char status_line[] = "HTTP/1.1 101";
    const char *value;
    size_t value_len;
    char expected[29];

    if (len < sizeof(status_line) - 1 ||
        memcmp(head, status_line, sizeof(status_line) - 1) != 0)
        return false;
    if (!http_head_find(head, len, "Upgrade", &value, &value_len) ||
        !http_header_has_token(value, value_len, "websocket"))
        return false;
    if (!http_head_find(head, len, "Connection", &value, &value_len) ||
        !http_header_has_token(value, value_len, "upgrade"))
        return false;

    ws_compute_accept_key(c->ws_key, strlen(c->ws_key), expected);
    return http_head_find(head, len, "Sec-WebSocket-Accept", &value,
                          &value_len) &&
           value_len == 28 && memcmp(value, expected, 28) == 0;
}

/* Consumes the HTTP response to the upgrade. Returns the bytes of the head,
 * 0 when the head is not complete yet, or -1 after failing the client. */
static long read_upgrade_response(struct bench_client *c, const uint8_t *buf,
                                  size_t len)
{
    const uint8_t *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL) {
        if (len > UPGRADE_HEAD_MAX) {
            client_fail(c, ERR_UPGRADE);
            return -1;
        }
        return 0;
    }

    size_t head_len = (size_t)(end - buf) + 4;
    if (!upgrade_response_valid(c, (const char *)buf, head_len)) {
        client_fail(c, ERR_UPGRADE);
        return -1;
    }

    c->state = CLIENT_AUTHENTICATING;
    bool sent = client_send_text(c, c->auth_message);
    free(c->auth_message);
    c->auth_message = NULL;
    return sent ? (long)head_len : -1;
}

/* ---- authentication --------------------------------------------------- */

static bool decode_exact(const cJSON *item, uint8_t *out, size_t want)
{
    uint8_t buf[128];
    size_t n;

    if (!cJSON_IsString(item))
        return false;
    size_t len = strlen(item->valuestring);
    if (base64_decoded_max(len) > sizeof(buf) ||
        !base64_decode(item->valuestring, len, buf, sizeof(buf), &n) ||
        n != want)
        return false;
    memcpy(out, buf, want);
    return true;
}

/* Derives the session key from the server's public key and salt. */
static bool derive_key(struct bench_client *c, const cJSON *data)
{
    uint8_t server_public[CRYPTO_PUBLIC_KEY_LEN];
    uint8_t salt[CRYPTO_SALT_LEN];
    uint8_t secret[CRYPTO_SECRET_LEN];
    bool ok = false;

    if (!decode_exact(cJSON_GetObjectItemCaseSensitive(data, "serverPublicKey"),
                      server_public, sizeof(server_public)) ||
        !decode_exact(cJSON_GetObjectItemCaseSensitive(data, "salt"), salt,
                      sizeof(salt)))
        return false;

    if (crypto_ecdh_derive(c->key_pair, server_public, sizeof(server_public),
                           secret) &&
        crypto_derive_session_key(secret, salt, c->key))
        ok = true;
    crypto_wipe(secret, sizeof(secret));
    return ok;
}

static void handle_connected(struct bench_client *c, const uint8_t *text,
                             size_t len)
{
    struct bench_thread *t = c->thread;
    bool ok = false;

    if (c->state != CLIENT_AUTHENTICATING) {
        t->stats.errors[ERR_UNEXPECTED_EVENT]++;
        return;
    }

    /* Once per client, so the general parser is fine here. */
    cJSON *root = cJSON_ParseWithLength((const char *)text, len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "id");
    if (cJSON_IsString(id) && strlen(id->valuestring) < sizeof(c->id)) {
        strcpy(c->id, id->valuestring);
        ok = config_of(c)->plain || derive_key(c, data);
    }
    cJSON_Delete(root);
    crypto_ecdh_free(c->key_pair);
    c->key_pair = NULL;
    if (!ok) {
        client_fail(c, ERR_HANDSHAKE);
        return;
    }

    uint64_t now = now_ns();
    c->state = CLIENT_READY;
    c->was_ready = true;
    t->stats.handshakes++;
    histogram_record(&t->stats.handshake_ns, now - c->started_ns);
    t->last_ready_ns = now;
    atomic_fetch_add_explicit(&t->live_ready, 1, memory_order_relaxed);
    t->connecting--;

    if (c->room >= 0) {
        char join[96];
        snprintf(
            join, sizeof(join),
            "{\"event\":\"join\",\"data\":{\"rooms\":[\"public-bench-%d\"]}}",
            c->room);
        client_send_text(c, join);
    }
    start_connects(t);
}

/* ---- application messages -------------------------------------------- */

static bool bitmap_test_and_set(uint64_t *bits, uint64_t i)
{
    uint64_t bit = UINT64_C(1) << (i % 64);
    bool was_set = (bits[i / 64] & bit) != 0;
    bits[i / 64] |= bit;
    return was_set;
}

static void handle_bench_message(struct bench_client *c, enum stream_kind kind,
                                 const struct json_value *data)
{
    static const char *const keys[] = {"s", "seq", "t", "pad"};
    struct bench_thread *t = c->thread;
    struct bench_run *run = t->run;
    struct subscription *sub = &c->subs[kind];
    struct json_value v[4];
    uint64_t stream;
    uint64_t seq;
    uint64_t sent;

    if (sub->stream == BENCH_NONE) {
        t->stats.errors[ERR_UNEXPECTED_EVENT]++;
        return;
    }
    if (data->type != JSON_OBJECT ||
        !json_scan_object(data->p, data->n, keys, 4, v) ||
        !json_value_u64(&v[0], &stream) || !json_value_u64(&v[1], &seq) ||
        !json_value_u64(&v[2], &sent) || v[3].type != JSON_STRING ||
        v[3].escaped) {
        t->stats.errors[ERR_PAYLOAD]++;
        return;
    }

    /* The message must belong to this client's stream, carry a seq that
     * was planned, a send time in the past and the pad that was sent. */
    uint64_t now = now_ns() - run->epoch_ns;
    if (stream != sub->stream || seq >= run->streams[stream].planned ||
        sent > now ||
        v[3].n !=
            payload_pad_len(run->cfg->size, (uint32_t)stream, seq, sent) ||
        memcmp(v[3].p, run->pad_pattern + seq % 26, v[3].n) != 0) {
        t->stats.errors[ERR_PAYLOAD]++;
        return;
    }

    if (bitmap_test_and_set(sub->seen, seq)) {
        t->stats.duplicated++;
        return;
    }
    sub->received++;
    t->stats.delivered++;
    atomic_fetch_add_explicit(
        &run->streams[stream].delivery_ring[seq % BENCH_DELIVERY_RING], 1,
        memory_order_relaxed);
    if (seq < sub->next_seq)
        t->stats.reordered++;
    else
        sub->next_seq = (uint32_t)seq + 1;
    histogram_record(&t->stats.latency_ns, now - sent);
}

static void handle_probe(struct bench_client *c, enum stream_kind kind)
{
    struct subscription *sub = &c->subs[kind];
    if (sub->stream == BENCH_NONE || sub->probed)
        return;
    sub->probed = true;
    atomic_fetch_add_explicit(&c->thread->live_probed[kind], 1,
                              memory_order_relaxed);
}

static void handle_application(struct bench_client *c,
                               const struct json_value *event,
                               const struct json_value *data)
{
    if (c->state != CLIENT_READY && c->state != CLIENT_CLOSING) {
        c->thread->stats.errors[ERR_UNEXPECTED_EVENT]++;
        return;
    }
    for (int kind = 0; kind < STREAM_KIND_COUNT; kind++) {
        if (json_value_equals(event, stream_topic(kind))) {
            handle_bench_message(c, kind, data);
            return;
        }
        if (json_value_equals(event, stream_probe_topic(kind))) {
            handle_probe(c, kind);
            return;
        }
    }
    c->thread->stats.errors[ERR_UNEXPECTED_EVENT]++;
}

/* Opens {"event":"encrypted","data":{"iv","ct"}} and handles the inner
 * envelope. */
static void handle_encrypted(struct bench_client *c,
                             const struct json_value *data)
{
    static const char *const wrapper_keys[] = {"iv", "ct"};
    static const char *const envelope_keys[] = {"event", "data"};
    struct bench_thread *t = c->thread;
    struct json_value w[2];
    struct json_value inner[2];
    uint8_t iv[16];
    size_t iv_len;
    size_t sealed_len;

    if (config_of(c)->plain ||
        (c->state != CLIENT_READY && c->state != CLIENT_CLOSING)) {
        t->stats.errors[ERR_UNEXPECTED_EVENT]++;
        return;
    }
    if (data->type != JSON_OBJECT ||
        !json_scan_object(data->p, data->n, wrapper_keys, 2, w) ||
        w[0].type != JSON_STRING || w[1].type != JSON_STRING ||
        !base64_decode(w[0].p, w[0].n, iv, sizeof(iv), &iv_len) ||
        iv_len != CRYPTO_IV_LEN ||
        !base64_decode(w[1].p, w[1].n, t->cipher_buffer, t->crypt_cap,
                       &sealed_len) ||
        sealed_len < CRYPTO_TAG_LEN ||
        !crypto_gcm_open(t->gcm, c->key, iv, t->cipher_buffer, sealed_len,
                         t->plain_buffer)) {
        t->stats.errors[ERR_DECRYPT]++;
        return;
    }

    size_t plain_len = sealed_len - CRYPTO_TAG_LEN;
    if (!json_scan_object((const char *)t->plain_buffer, plain_len,
                          envelope_keys, 2, inner) ||
        inner[0].type != JSON_STRING) {
        t->stats.errors[ERR_ENVELOPE]++;
        return;
    }
    handle_application(c, &inner[0], &inner[1]);
}

static void handle_message(struct bench_client *c, const uint8_t *text,
                           size_t len)
{
    static const char *const envelope_keys[] = {"event", "data"};
    struct bench_thread *t = c->thread;
    struct json_value v[2];

    if (!json_scan_object((const char *)text, len, envelope_keys, 2, v) ||
        v[0].type != JSON_STRING) {
        t->stats.errors[ERR_ENVELOPE]++;
        return;
    }

    if (json_value_equals(&v[0], "encrypted")) {
        handle_encrypted(c, &v[1]);
    } else if (json_value_equals(&v[0], "connected")) {
        handle_connected(c, text, len);
    } else if (json_value_equals(&v[0], "error")) {
        /* Before "connected" an error means the server rejected the
         * credentials; it closes the connection itself (4003 or 4004). */
        if (c->state == CLIENT_AUTHENTICATING)
            client_fail(c, ERR_AUTH_REJECTED);
        else
            t->stats.errors[ERR_ERROR_EVENT]++;
    } else if (!config_of(c)->plain) {
        t->stats.errors[ERR_UNENCRYPTED]++;
    } else {
        handle_application(c, &v[0], &v[1]);
    }
}

/* ---- frames ----------------------------------------------------------- */

static void handle_close_frame(struct bench_client *c, unsigned code)
{
    stats_count_close_code(&c->thread->stats, code);

    if (c->state == CLIENT_CLOSING && c->close_sent) {
        client_finish(c, false);
        return;
    }

    /* The server closed on its own: reply with its code, as RFC 6455
     * section 5.5.1 requires, then drop the connection. */
    enum bench_error e =
        in_handshake(c) ? ERR_AUTH_REJECTED : ERR_CLOSED_BY_SERVER;
    c->close_code = code;
    if (!c->close_sent && code != WS_CLOSE_NO_STATUS)
        client_send_close(c, code);
    if (!is_finished(c))
        client_fail(c, e);
}

/* Handles every complete frame in buf. Returns the bytes consumed; the
 * client may be finished when it returns. */
static size_t process_frames(struct bench_client *c, uint8_t *buf, size_t len)
{
    size_t offset = 0;

    while (offset < len && !is_finished(c)) {
        struct ws_event ev;
        size_t used =
            ws_reader_next(&c->reader, buf + offset, len - offset, &ev);
        offset += used;

        switch (ev.type) {
        case WS_EVENT_NONE:
            if (used == 0)
                return offset;
            break;
        case WS_EVENT_MESSAGE:
            handle_message(c, ev.data, ev.len);
            break;
        case WS_EVENT_PING:
            client_send_frame(c, WS_OP_PONG, ev.data, ev.len);
            break;
        case WS_EVENT_PONG:
            break;
        case WS_EVENT_CLOSE:
            handle_close_frame(c, ev.close_code);
            return offset;
        case WS_EVENT_ERROR:
            client_fail(c, ERR_WS_PROTOCOL);
            return offset;
        }
    }
    return offset;
}

static void handle_eof(struct bench_client *c)
{
    if (c->state == CLIENT_CLOSING && c->close_sent) {
        client_finish(c, false);
        return;
    }
    if (c->state == CLIENT_UPGRADING)
        client_fail(c, ERR_UPGRADE);
    else if (c->state == CLIENT_AUTHENTICATING)
        client_fail(c, ERR_AUTH_REJECTED);
    else
        client_fail(c, ERR_CLOSED_BY_SERVER);
}

static bool keep_carry(struct bench_client *c, const uint8_t *p, size_t n)
{
    c->carry_len = 0;
    if (n == 0)
        return true;
    if (n > c->carry_cap) {
        uint8_t *grown = realloc(c->carry, n);
        if (grown == NULL)
            return false;
        c->carry = grown;
        c->carry_cap = (uint32_t)n;
    }
    memcpy(c->carry, p, n);
    c->carry_len = (uint32_t)n;
    return true;
}

static void on_client_read(evutil_socket_t fd, short what, void *arg)
{
    struct bench_client *c = arg;
    struct bench_thread *t = c->thread;
    uint8_t *buf = t->read_buffer;
    size_t have = c->carry_len;

    /* Frames are parsed in the thread's buffer, so the bytes of a frame
     * cut by the previous read go in front of the new ones. */
    if (have > 0)
        memcpy(buf, c->carry, have);
    ssize_t n = recv(fd, buf + have, BENCH_READ_BUFFER - have, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            client_fail(c, ERR_SOCKET);
        return;
    }
    if (n == 0) {
        handle_eof(c);
        return;
    }
    t->stats.bytes_received += (uint64_t)n;

    size_t len = have + (size_t)n;
    size_t used = 0;
    if (c->state == CLIENT_UPGRADING) {
        long head = read_upgrade_response(c, buf, len);
        if (head < 0)
            return;
        used = (size_t)head;
    }
    if (c->state != CLIENT_UPGRADING)
        used += process_frames(c, buf + used, len - used);
    publish_progress(t);
    if (is_finished(c))
        return;

    /* A frame that does not fit the read buffer would never complete. */
    if (len - used == BENCH_READ_BUFFER) {
        client_fail(c, ERR_WS_PROTOCOL);
        return;
    }
    if (!keep_carry(c, buf + used, len - used))
        client_fail(c, ERR_SOCKET);
}

/* ---- commands --------------------------------------------------------- */

static bool prepare_client(struct bench_thread *t, struct bench_client *c)
{
    const struct bench_config *cfg = t->run->cfg;
    char subject[32];
    char public_b64[96];
    uint8_t key_bytes[16];
    int n;

    for (size_t i = 0; i < sizeof(key_bytes); i += 8) {
        uint64_t r = next_random(t);
        memcpy(key_bytes + i, &r, 8);
    }
    c->ws_key[base64_encode(key_bytes, sizeof(key_bytes), c->ws_key)] = '\0';

    snprintf(subject, sizeof(subject), "bench-%u", c->index);
    char *token =
        token_issue((const uint8_t *)cfg->jwt_secret, strlen(cfg->jwt_secret),
                    subject, time(NULL), TOKEN_TTL_S);
    if (token == NULL)
        return false;

    if (cfg->plain) {
        n = asprintf(&c->auth_message,
                     "{\"event\":\"authenticate\",\"data\":{\"token\":\"%s\"}}",
                     token);
    } else {
        c->key_pair = crypto_ecdh_generate();
        if (c->key_pair == NULL) {
            free(token);
            return false;
        }
        public_b64[base64_encode(crypto_ecdh_public_key(c->key_pair),
                                 CRYPTO_PUBLIC_KEY_LEN, public_b64)] = '\0';
        n = asprintf(&c->auth_message,
                     "{\"event\":\"authenticate\",\"data\":{\"token\":\"%s\","
                     "\"clientPublicKey\":\"%s\"}}",
                     token, public_b64);
    }
    free(token);
    if (n < 0) {
        c->auth_message = NULL;
        return false;
    }
    return true;
}

static void prepare_clients(struct bench_thread *t)
{
    for (unsigned i = 0; i < t->client_count; i++) {
        struct bench_client *c = &t->run->clients[t->clients[i]];
        /* A client without a token or key cannot authenticate, so the
         * connect phase skips it. */
        if (!prepare_client(t, c))
            client_give_up(t, c, ERR_HANDSHAKE);
    }
}

static void abandon_handshakes(struct bench_thread *t)
{
    /* Clients not started yet are given up too, without a socket. */
    while (t->next_to_connect < t->client_count) {
        struct bench_client *c =
            &t->run->clients[t->clients[t->next_to_connect++]];
        if (c->state == CLIENT_IDLE)
            client_give_up(t, c, ERR_NOT_READY);
    }
    for (unsigned i = 0; i < t->client_count; i++) {
        struct bench_client *c = &t->run->clients[t->clients[i]];
        if (in_handshake(c))
            client_fail(c, ERR_NOT_READY);
    }
}

static void close_clients(struct bench_thread *t)
{
    for (unsigned i = 0; i < t->client_count; i++) {
        struct bench_client *c = &t->run->clients[t->clients[i]];
        if (c->state != CLIENT_READY)
            continue;
        c->state = CLIENT_CLOSING;
        client_send_close(c, WS_CLOSE_NORMAL);
    }
}

static void stop_clients(struct bench_thread *t)
{
    t->next_to_connect = t->client_count;
    for (unsigned i = 0; i < t->client_count; i++) {
        struct bench_client *c = &t->run->clients[t->clients[i]];
        if (is_finished(c) || c->state == CLIENT_IDLE)
            continue;
        if (c->state == CLIENT_CLOSING)
            client_fail(c, ERR_CLOSE_TIMEOUT);
        else
            client_finish(c, false);
    }
    publish_progress(t);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    struct bench_thread *t = arg;

    /* The server closes clients without any message for its heartbeat
     * timeout (90 s by default); a long idle-memory run must stay open. */
    for (unsigned i = 0; i < t->client_count; i++) {
        struct bench_client *c = &t->run->clients[t->clients[i]];
        if (c->state == CLIENT_READY)
            client_send_text(c, "{\"event\":\"heartbeat\"}");
    }
}

static void on_command(evutil_socket_t fd, short what, void *arg)
{
    struct bench_thread *t = arg;
    int command = atomic_exchange(&t->command, COMMAND_NONE);

    switch (command) {
    case COMMAND_PREPARE:
        prepare_clients(t);
        break;
    case COMMAND_CONNECT:
        t->first_connect_ns = now_ns();
        start_connects(t);
        break;
    case COMMAND_ABANDON:
        abandon_handshakes(t);
        break;
    case COMMAND_CLOSE:
        close_clients(t);
        break;
    case COMMAND_STOP:
        stop_clients(t);
        event_base_loopbreak(t->base);
        break;
    default:
        break;
    }
    atomic_fetch_add_explicit(&t->acknowledged, 1, memory_order_release);
}

static void *thread_main(void *arg)
{
    struct bench_thread *t = arg;
    event_base_loop(t->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

bool client_thread_start(struct bench_thread *t)
{
    const struct timeval heartbeat = {HEARTBEAT_INTERVAL_S, 0};

    stats_init(&t->stats);
    t->crypt_cap = BENCH_READ_BUFFER;
    t->write_cap = WRITE_BUFFER_SIZE;
    t->read_buffer = malloc(BENCH_READ_BUFFER);
    t->cipher_buffer = malloc(t->crypt_cap);
    t->plain_buffer = malloc(t->crypt_cap);
    t->write_buffer = malloc(t->write_cap);
    t->gcm = crypto_gcm_new();
    t->base = event_base_new();
    if (t->read_buffer == NULL || t->cipher_buffer == NULL ||
        t->plain_buffer == NULL || t->write_buffer == NULL || t->gcm == NULL ||
        t->base == NULL)
        return false;
    if (!crypto_random(&t->rng, sizeof(t->rng)))
        return false;
    t->rng |= 1;

    unsigned threads = t->run->thread_count;
    t->concurrency = t->run->cfg->concurrency / threads;
    if (t->concurrency == 0)
        t->concurrency = 1;

    t->command_event = event_new(t->base, -1, 0, on_command, t);
    t->heartbeat_event = event_new(t->base, -1, EV_PERSIST, on_heartbeat, t);
    if (t->command_event == NULL || t->heartbeat_event == NULL)
        return false;
    event_add(t->heartbeat_event, &heartbeat);

    return pthread_create(&t->tid, NULL, thread_main, t) == 0;
}

unsigned client_thread_post(struct bench_thread *t, enum thread_command command)
{
    unsigned ticket =
        atomic_load_explicit(&t->acknowledged, memory_order_acquire) + 1;
    atomic_store(&t->command, (int)command);
    event_active(t->command_event, EV_READ, 0);
    return ticket;
}

void client_thread_wait(struct bench_thread *t, unsigned ticket)
{
    const struct timespec pause = {0, 200000};
    while (atomic_load_explicit(&t->acknowledged, memory_order_acquire) <
           ticket)
        nanosleep(&pause, NULL);
}

void client_thread_join(struct bench_thread *t)
{
    pthread_join(t->tid, NULL);
}

void client_thread_free(struct bench_thread *t)
{
    if (t->command_event != NULL)
        event_free(t->command_event);
    if (t->heartbeat_event != NULL)
        event_free(t->heartbeat_event);
    if (t->base != NULL)
        event_base_free(t->base);
    crypto_gcm_free(t->gcm);
    free(t->read_buffer);
    free(t->cipher_buffer);
    free(t->plain_buffer);
    free(t->write_buffer);
    free(t->clients);
}
