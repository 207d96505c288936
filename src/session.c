/*
 * The application protocol of an upgraded connection (the wire protocol's
 * events, rooms and encryption). Every function runs on the worker that
 * owns the connection; shared state is reached only through the registry
 * and the reference-counted settings.
 */
#include "session.h"

#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base64.h"
#include "config.h"
#include "connection.h"
#include "json_text.h"
#include "log.h"
#include "message.h"
#include "registry.h"
#include "server.h"
#include "token.h"
#include "worker.h"

/* Rooms one client may be in at once, its own and the default ones
 * included; joins beyond are dropped and logged. */
#define SESSION_MAX_ROOMS 1024

/* A key may seal at most 2^32 messages with random 96-bit IVs (NIST SP
 * 800-38D, section 8.3); the connection is closed with 4005 first. */
#define SESSION_MAX_SEALED (UINT64_C(1) << 32)

#define SEALED_PREFIX "{\"event\":\"encrypted\",\"data\":{\"iv\":\""
#define SEALED_MIDDLE "\",\"ct\":\""
#define SEALED_SUFFIX "\"}}"

static void send_plain_text(struct connection *c, const char *text, size_t len)
{
    if (!conn_send_frame(c, WS_OP_TEXT, text, len))
        conn_close_slow_consumer(c);
}

/* Sends {"event": event, "data": data} in clear; takes ownership of data. */
static void send_plain_event(struct connection *c, const char *event,
                             cJSON *data)
{
    cJSON *envelope = cJSON_CreateObject();
    char *text = NULL;

    if (envelope != NULL && cJSON_AddStringToObject(envelope, "event", event)) {
        if (data != NULL) {
            cJSON_AddItemToObject(envelope, "data", data);
            data = NULL;
        }
        text = cJSON_PrintUnformatted(envelope);
    }
    if (text != NULL)
        send_plain_text(c, text, strlen(text));
    else
        log_event(LOG_ERROR, "out_of_memory", "client=%s where=send_event",
                  c->id);
    cJSON_free(text);
    cJSON_Delete(data);
    cJSON_Delete(envelope);
}

static void send_error(struct connection *c, const char *message)
{
    cJSON *data = cJSON_CreateObject();

    if (data != NULL)
        cJSON_AddStringToObject(data, "message", message);
    send_plain_event(c, "error", data);
}

static size_t sealed_payload_len(size_t plain_len)
{
    return sizeof(SEALED_PREFIX) - 1 + base64_encoded_len(CRYPTO_IV_LEN) +
           sizeof(SEALED_MIDDLE) - 1 +
           base64_encoded_len(plain_len + CRYPTO_TAG_LEN) +
           sizeof(SEALED_SUFFIX) - 1;
}

size_t session_sealed_frame_len(size_t plain_len)
{
    uint8_t header[WS_MAX_HEADER_LEN];
    size_t payload = sealed_payload_len(plain_len);

    return ws_write_frame_header(header, true, WS_OP_TEXT, payload, NULL) +
           payload;
}

/* Encrypts plain for the client and queues the wrapper frame. */
static bool send_sealed(struct connection *c, const char *plain, size_t len)
{
    struct worker *w = c->worker;
    uint8_t iv[CRYPTO_IV_LEN];
    uint8_t header[WS_MAX_HEADER_LEN];

    if (++c->messages_sealed >= SESSION_MAX_SEALED) {
        log_event(LOG_WARN, "key_exhausted", "client=%s fd=%d code=4005", c->id,
                  c->fd);
        conn_close(c, 4005, "Session key exhausted");
        return false;
    }

    uint8_t *sealed = worker_seal_scratch(w, len + CRYPTO_TAG_LEN);
    if (sealed == NULL)
        return false;
    worker_next_iv(w, iv);
    if (!crypto_gcm_seal(w->gcm, c->key, iv, (const uint8_t *)plain, len,
                         sealed)) {
        log_event(LOG_ERROR, "encrypt_failed", "client=%s fd=%d", c->id, c->fd);
        return false;
    }

    size_t payload = sealed_payload_len(len);
    size_t header_len =
        ws_write_frame_header(header, true, WS_OP_TEXT, payload, NULL);
    uint8_t *p = conn_reserve(c, header_len + payload);
    if (p == NULL) {
        conn_close_slow_consumer(c);
        return false;
    }

    /* The wrapper is written straight into the output buffer. */
    memcpy(p, header, header_len);
    p += header_len;
    memcpy(p, SEALED_PREFIX, sizeof(SEALED_PREFIX) - 1);
    p += sizeof(SEALED_PREFIX) - 1;
    p += base64_encode(iv, CRYPTO_IV_LEN, (char *)p);
    memcpy(p, SEALED_MIDDLE, sizeof(SEALED_MIDDLE) - 1);
    p += sizeof(SEALED_MIDDLE) - 1;
    p += base64_encode(sealed, len + CRYPTO_TAG_LEN, (char *)p);
    memcpy(p, SEALED_SUFFIX, sizeof(SEALED_SUFFIX) - 1);
    return true;
}

void session_deliver(struct connection *c, const struct message *m)
{
    struct worker *w = c->worker;

    if (c->phase != PHASE_OPEN || c->state != CLIENT_AUTHENTICATED)
        return;
    if (c->encrypted) {
        if (!send_sealed(c, m->plain, m->plain_len))
            return;
    } else if (!conn_queue(c, m->frame, m->frame_len)) {
        conn_close_slow_consumer(c);
        return;
    }
    atomic_fetch_add_explicit(&w->delivered, 1, memory_order_relaxed);
}

static void format_iso_time(char out[32])
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Joins a room that passed the policy (or needs none: the client's own
 * and the default rooms). */
static bool join_room(struct connection *c, const char *name, size_t len)
{
    struct worker *w = c->worker;
    struct registry *r = w->server->registry;
    const char *interned;

    if (c->room_count >= SESSION_MAX_ROOMS) {
        log_event(LOG_INFO, "join_refused", "client=%s reason=too_many_rooms",
                  c->id);
        return false;
    }
    switch (registry_join(r, c->record, name, len, &interned)) {
    case REGISTRY_ALREADY_MEMBER:
        return true;
    case REGISTRY_NO_MEMORY:
        log_event(LOG_ERROR, "out_of_memory", "client=%s where=join", c->id);
        return false;
    case REGISTRY_JOINED:
        break;
    }
    if (worker_room_join(w, c, name, len) == NULL) {
        registry_leave(r, c->record, name, len);
        log_event(LOG_ERROR, "out_of_memory", "client=%s where=join", c->id);
        return false;
    }
    return true;
}

static void leave_room(struct connection *c, const char *name, size_t len)
{
    for (uint16_t i = 0; i < c->room_count; i++) {
        struct local_room *room = c->rooms[i];
        if (room->name_len == len && memcmp(room->name, name, len) == 0) {
            worker_room_leave(c->worker, c, room);
            registry_leave(c->worker->server->registry, c->record, name, len);
            return;
        }
    }
}

void session_on_close(struct connection *c)
{
    while (c->room_count > 0) {
        struct local_room *room = c->rooms[c->room_count - 1];
        worker_room_leave(c->worker, c, room);
    }
}

static void fail_authentication(struct connection *c,
                                enum auth_failure_reason why,
                                const char *reason, unsigned code,
                                const char *message)
{
    metrics_add(&c->worker->server->metrics.auth_failures[why], 1);
    log_event(LOG_WARN, "auth_failed", "client=%s fd=%d code=%u reason=%s",
              c->id, c->fd, code, reason);
    send_error(c, message);
    conn_close(c, code, message);
}

static void authenticate(struct connection *c, const cJSON *data)
{
    struct worker *w = c->worker;
    struct server *s = w->server;
    const struct config *cfg = s->config;
    char user_id[TOKEN_USER_ID_MAX + 1];
    uint8_t server_public[CRYPTO_PUBLIC_KEY_LEN];
    uint8_t salt[CRYPTO_SALT_LEN];

    c->state = CLIENT_AUTHENTICATING;
    registry_set_state(s->registry, c->record, CLIENT_AUTHENTICATING);

    /* The token is checked before the key exchange, so a client without
     * a valid token learns nothing about the encryption step. */
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(data, "token");
    enum token_result verdict = TOKEN_MALFORMED;
    if (cJSON_IsString(token))
        verdict = server_verify_token(s, token->valuestring,
                                      strlen(token->valuestring), user_id);
    if (verdict != TOKEN_OK) {
        fail_authentication(c, AUTH_FAIL_TOKEN,
                            cJSON_IsString(token) ? token_result_name(verdict)
                                                  : "missing_token",
                            4003, "Authentication failed");
        return;
    }

    if (cfg->require_encryption) {
        const cJSON *key =
            cJSON_GetObjectItemCaseSensitive(data, "clientPublicKey");
        uint8_t client_public[CRYPTO_PUBLIC_KEY_LEN + 3];
        size_t client_len = 0;
        const char *why = NULL;

        if (!cJSON_IsString(key))
            why = "missing_public_key";
        else if (!base64_decode(key->valuestring, strlen(key->valuestring),
                                client_public, sizeof(client_public),
                                &client_len))
            why = "public_key_not_base64";
        else if (!crypto_accept_key_exchange(client_public, client_len,
                                             server_public, salt, c->key))
            why = "unusable_public_key";
        if (why != NULL) {
            fail_authentication(c, AUTH_FAIL_HANDSHAKE, why, 4004,
                                "Encryption handshake failed");
            return;
        }
    }

    if (!registry_set_authenticated(s->registry, c->record, user_id,
                                    cfg->require_encryption)) {
        log_event(LOG_ERROR, "out_of_memory", "client=%s where=authenticate",
                  c->id);
        conn_close(c, WS_CLOSE_INTERNAL_ERROR, "Internal error");
        return;
    }
    c->state = CLIENT_AUTHENTICATED;
    c->encrypted = cfg->require_encryption;
    worker_mark_authenticated(w, c);
    join_room(c, c->id, CLIENT_ID_LEN);
    for (size_t i = 0; i < cfg->default_room_count; i++)
        join_room(c, cfg->default_rooms[i], strlen(cfg->default_rooms[i]));

    cJSON *info = cJSON_CreateObject();
    char now[32];
    char b64_key[base64_encoded_len(CRYPTO_PUBLIC_KEY_LEN) + 1];
    char b64_salt[base64_encoded_len(CRYPTO_SALT_LEN) + 1];

    format_iso_time(now);
    if (info != NULL) {
        cJSON_AddStringToObject(info, "id", c->id);
        cJSON_AddStringToObject(info, "userId", user_id);
        cJSON_AddStringToObject(info, "time", now);
        if (c->encrypted) {
            b64_key[base64_encode(server_public, sizeof(server_public),
                                  b64_key)] = '\0';
            b64_salt[base64_encode(salt, sizeof(salt), b64_salt)] = '\0';
            cJSON_AddStringToObject(info, "serverPublicKey", b64_key);
            cJSON_AddStringToObject(info, "salt", b64_salt);
        }
    }
    send_plain_event(c, "connected", info);
    crypto_wipe(salt, sizeof(salt));
    metrics_add(&s->metrics.handshakes, 1);

    if (log_enabled(LOG_DEBUG)) {
        char quoted[TOKEN_USER_ID_MAX * 4 + 3];
        log_event(LOG_DEBUG, "authenticated",
                  "client=%s fd=%d user=%s encrypted=%s", c->id, c->fd,
                  log_quote(quoted, sizeof(quoted), user_id, strlen(user_id)),
                  c->encrypted ? "true" : "false");
    }
}

static void change_rooms(struct connection *c, const cJSON *data, bool join)
{
    const cJSON *rooms = cJSON_GetObjectItemCaseSensitive(data, "rooms");
    const cJSON *item;

    if (!cJSON_IsArray(rooms)) {
        log_event(LOG_DEBUG, join ? "join_ignored" : "leave_ignored",
                  "client=%s reason=rooms_not_an_array", c->id);
        return;
    }

    /* One log line per join message, not per name: a message may carry
     * thousands of names. */
    struct config *settings = join ? server_settings(c->worker->server) : NULL;
    const char *first_refused = NULL;
    size_t refused = 0;
    cJSON_ArrayForEach(item, rooms)
    {
        if (!cJSON_IsString(item))
            continue;
        const char *name = item->valuestring;
        size_t len = strlen(name);
        if (!join) {
            leave_room(c, name, len);
        } else if (config_room_allowed(settings, name, len)) {
            join_room(c, name, len);
        } else if (refused++ == 0) {
            first_refused = name;
        }
    }
    if (refused > 0 && log_enabled(LOG_INFO)) {
        char quoted[96];
        log_event(LOG_INFO, "join_refused", "client=%s refused=%zu first=%s",
                  c->id, refused,
                  log_quote(quoted, sizeof(quoted), first_refused,
                            strlen(first_refused)));
    }
    config_unref(settings);
}

static void handle_envelope(struct connection *c, const cJSON *root,
                            bool sealed);

/* Checks the wrapper's shape, decrypts it and handles the inner envelope
 * as if it had arrived in clear. */
static void open_wrapper(struct connection *c, const cJSON *data)
{
    const cJSON *iv_text = cJSON_GetObjectItemCaseSensitive(data, "iv");
    const cJSON *ct_text = cJSON_GetObjectItemCaseSensitive(data, "ct");
    uint8_t iv[CRYPTO_IV_LEN + 3];
    size_t iv_len = 0, ct_len = 0;

    if (!c->encrypted || !cJSON_IsObject(data) || !cJSON_IsString(iv_text) ||
        !cJSON_IsString(ct_text))
        goto invalid;

    size_t ct_chars = strlen(ct_text->valuestring);
    if (!base64_decode(iv_text->valuestring, strlen(iv_text->valuestring), iv,
                       sizeof(iv), &iv_len) ||
        iv_len != CRYPTO_IV_LEN)
        goto invalid;

    /* The wrapper came in one message, so the ciphertext fits the scratch
     * sized from it; plain text reuses the same buffer's second half. */
    size_t max = base64_decoded_max(ct_chars);
    uint8_t *scratch = worker_seal_scratch(c->worker, 2 * max + 1);
    if (scratch == NULL)
        goto invalid;
    uint8_t *sealed = scratch;
    uint8_t *plain = scratch + max;
    if (!base64_decode(ct_text->valuestring, ct_chars, sealed, max, &ct_len) ||
        ct_len < CRYPTO_TAG_LEN)
        goto invalid;
    if (!crypto_gcm_open(c->worker->gcm, c->key, iv, sealed, ct_len, plain))
        goto invalid;

    size_t plain_len = ct_len - CRYPTO_TAG_LEN;
    cJSON *inner = json_parse_strict((const char *)plain, plain_len);
    crypto_wipe(plain, plain_len);
    if (inner == NULL || !cJSON_IsObject(inner) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(inner, "event"))) {
        cJSON_Delete(inner);
        send_error(c, "Invalid message format");
        return;
    }
    handle_envelope(c, inner, true);
    cJSON_Delete(inner);
    return;

invalid:
    log_event(LOG_DEBUG, "wrapper_rejected", "client=%s fd=%d", c->id, c->fd);
    send_error(c, "Invalid encrypted payload");
}

static void handle_envelope(struct connection *c, const cJSON *root,
                            bool sealed)
{
    const char *event =
        cJSON_GetObjectItemCaseSensitive(root, "event")->valuestring;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");

    if (strcmp(event, "authenticate") == 0) {
        if (c->state == CLIENT_UNAUTHORIZED)
            authenticate(c, data);
        else
            send_error(c, "Already authenticated");
        return;
    }
    if (c->state != CLIENT_AUTHENTICATED) {
        send_error(c, "Not authenticated");
        return;
    }
    if (strcmp(event, "heartbeat") == 0)
        return;
    if (strcmp(event, "join") == 0) {
        change_rooms(c, data, true);
    } else if (strcmp(event, "leave") == 0) {
        change_rooms(c, data, false);
    } else if (strcmp(event, "encrypted") == 0) {
        /* A wrapper inside a wrapper is not part of the protocol. */
        if (sealed)
            send_error(c, "Invalid encrypted payload");
        else
            open_wrapper(c, data);
    } else if (log_enabled(LOG_DEBUG)) {
        char quoted[96];
        log_event(LOG_DEBUG, "event_ignored", "client=%s name=%s", c->id,
                  log_quote(quoted, sizeof(quoted), event, strlen(event)));
    }
}

void session_on_message(struct connection *c, const uint8_t *data, size_t len)
{
    cJSON *root = json_parse_strict((const char *)data, len);

    if (root == NULL || !cJSON_IsObject(root) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "event"))) {
        send_error(c, "Invalid message format");
    } else {
        handle_envelope(c, root, false);
    }
    cJSON_Delete(root);
}
