/*
 * REST routing and handlers. Routes under REST_PREFIX other than /status
 * need a Bearer JWT or Basic credentials; the check comes before routing,
 * so an unauthenticated caller learns nothing about which paths exist.
 * Fan-out posts one command per worker with one shared message.
 */
#include "rest.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "base64.h"
#include "config.h"
#include "connection.h"
#include "http_parser.h"
#include "json_text.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "openapi.h"
#include "registry.h"
#include "server.h"
#include "session.h"
#include "token.h"
#include "utf8.h"
#include "worker.h"

/* Long enough for a 256-character room name of 4-byte characters,
 * percent-encoded, inside the send route. */
#define PATH_MAX_LEN 4096

struct request_context {
    struct connection *conn;
    struct server *server;
    const struct http_request *req;
    enum rest_route route;
};

static void respond_json(struct request_context *ctx, int status, cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;

    if (text == NULL) {
        conn_http_error(ctx->conn, 500, "Out of memory");
        status = 500;
    } else {
        conn_http_respond(ctx->conn, status, NULL, text, strlen(text), NULL);
    }
    metrics_count_request(&ctx->server->metrics, ctx->route, status);
    cJSON_free(text);
    cJSON_Delete(body);
}

static void respond_error(struct request_context *ctx, int status,
                          const char *message, const char *extra_headers)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;

    if (o != NULL && cJSON_AddStringToObject(o, "error", message) != NULL)
        text = cJSON_PrintUnformatted(o);
    if (text != NULL)
        conn_http_respond(ctx->conn, status, NULL, text, strlen(text),
                          extra_headers);
    else
        conn_http_error(ctx->conn, 500, "Out of memory");
    metrics_count_request(&ctx->server->metrics, ctx->route, status);
    cJSON_free(text);
    cJSON_Delete(o);
}

static void respond_success(struct request_context *ctx)
{
    cJSON *o = cJSON_CreateObject();

    if (o != NULL)
        cJSON_AddBoolToObject(o, "success", true);
    respond_json(ctx, 200, o);
}

static bool method_is(const struct http_request *req, const char *method)
{
    /* HEAD is GET without the body (RFC 9110, section 9.3.2). */
    if (strcmp(method, "GET") == 0 && req->method_len == 4 &&
        memcmp(req->method, "HEAD", 4) == 0)
        return true;
    return req->method_len == strlen(method) &&
           memcmp(req->method, method, req->method_len) == 0;
}

/* Compares secrets in time independent of where they differ. */
static bool secret_equal(const char *a, size_t a_len, const char *b,
                         size_t b_len)
{
    return a_len == b_len && CRYPTO_memcmp(a, b, a_len) == 0;
}

static bool check_basic(const struct config *settings, const char *value,
                        size_t len)
{
    char decoded[1024];
    size_t decoded_len = 0;

    if (settings->admin_user == NULL || len == 0 ||
        !base64_decode(value, len, (uint8_t *)decoded, sizeof(decoded) - 1,
                       &decoded_len))
        return false;

    const char *colon = memchr(decoded, ':', decoded_len);
    bool ok = false;
    if (colon != NULL) {
        size_t user_len = (size_t)(colon - decoded);
        const char *password = colon + 1;
        size_t password_len = decoded_len - user_len - 1;
        /* Both comparisons always run. */
        bool user_ok = secret_equal(decoded, user_len, settings->admin_user,
                                    strlen(settings->admin_user));
        bool password_ok =
            secret_equal(password, password_len, settings->admin_password,
                         strlen(settings->admin_password));
        ok = user_ok && password_ok;
    }
    explicit_bzero(decoded, sizeof(decoded));
    return ok;
}

/* Returns NULL when authorized, else the reason for the 401. */
static const char *check_authorization(struct request_context *ctx)
{
    const struct http_header *h = http_find_header(ctx->req, "Authorization");
    const char *why = "Missing Authorization header";

    if (h == NULL)
        return why;

    struct config *settings = server_settings(ctx->server);
    const char *v = h->value;
    size_t len = h->value_len;
    if (len >= 7 && strncasecmp(v, "Bearer ", 7) == 0) {
        char user_id[TOKEN_USER_ID_MAX + 1];
        enum token_result r =
            server_verify_token(ctx->server, v + 7, len - 7, user_id);
        /* REST callers are operators' tools: a subject is not required. */
        why = (r == TOKEN_OK || r == TOKEN_NO_SUBJECT) ? NULL : "Invalid token";
    } else if (len > 6 && strncasecmp(v, "Basic ", 6) == 0) {
        why = check_basic(settings, v + 6, len - 6) ? NULL
                                                    : "Invalid credentials";
    } else {
        why = "Unsupported authorization scheme; use Bearer or Basic";
    }
    config_unref(settings);
    return why;
}

/* Parses {"topic": string, "data": any} into a fan-out message. */
/* Bytes of the largest frame a message becomes for one client: the
 * encrypted wrapper when encryption is on, else the plain frame. */
static size_t delivered_frame_len(const struct config *c,
                                  const struct message *m)
{
    return c->require_encryption ? session_sealed_frame_len(m->plain_len)
                                 : m->frame_len;
}

static struct message *parse_message_body(struct request_context *ctx,
                                          const char *body, size_t len)
{
    struct message *m = NULL;

    /* Messages travel in text frames, which must be UTF-8; cJSON passes
     * invalid bytes through. */
    if (!utf8_is_valid((const uint8_t *)body, len)) {
        respond_error(ctx, 400, "Body must be UTF-8 JSON", NULL);
        return NULL;
    }

    cJSON *root = json_parse_strict(body, len);
    if (root == NULL || !cJSON_IsObject(root)) {
        respond_error(ctx, 400, "Body must be a JSON object", NULL);
    } else {
        const cJSON *topic = cJSON_GetObjectItemCaseSensitive(root, "topic");
        size_t start = 0, end = 0;
        if (!cJSON_IsString(topic)) {
            respond_error(ctx, 400, "Body must have a string \"topic\"", NULL);
        } else {
            /* data is relayed as the caller wrote it: printing it again
             * through cJSON would round large integers. */
            bool has_data =
                json_member_span(body, len, root, "data", &start, &end);
            m = message_with_raw_data(topic->valuestring,
                                      has_data ? body + start : NULL,
                                      end - start);
            if (m == NULL)
                respond_error(ctx, 500, "Out of memory", NULL);
        }
    }
    cJSON_Delete(root);

    /* A message no client could take would close every recipient as a
     * slow consumer; refuse it here instead. */
    const struct config *c = ctx->server->config;
    if (m != NULL && delivered_frame_len(c, m) > c->outbound_limit_bytes) {
        char why[160];
        snprintf(why, sizeof(why),
                 "Message too large: its frame of %zu bytes exceeds "
                 "outbound_limit_bytes (%zu)",
                 delivered_frame_len(c, m), c->outbound_limit_bytes);
        respond_error(ctx, 413, why, NULL);
        message_unref(m);
        m = NULL;
    }
    return m;
}

/* Posts the message to each selected worker. Returns false when a queue
 * was full; workers posted before it still deliver. */
static bool post_to_workers(struct server *s, enum command_type type,
                            struct message *m, const bool *selected)
{
    bool all = true;

    for (unsigned w = 0; w < s->worker_count; w++) {
        if (selected != NULL && !selected[w])
            continue;
        struct command cmd = {.type = type, .message = message_ref(m)};
        if (!worker_post(s->workers[w], &cmd)) {
            message_unref(m);
            metrics_add(&s->metrics.commands_rejected, 1);
            all = false;
        }
    }
    return all;
}

static void respond_posted(struct request_context *ctx, bool posted)
{
    if (posted) {
        respond_success(ctx);
    } else {
        log_event(LOG_WARN, "command_queue_full", "route=%d", ctx->route);
        respond_error(ctx, 503, "Server busy: a worker command queue is full",
                      "Retry-After: 1\r\n");
    }
}

static void handle_broadcast(struct request_context *ctx, const char *body,
                             size_t len)
{
    struct message *m = parse_message_body(ctx, body, len);

    if (m == NULL)
        return;
    respond_posted(ctx, post_to_workers(ctx->server, CMD_BROADCAST, m, NULL));
    message_unref(m);
}

static void handle_room_send(struct request_context *ctx, const char *room,
                             size_t room_len, const char *body, size_t len)
{
    struct server *s = ctx->server;
    struct message *m = parse_message_body(ctx, body, len);
    bool selected[s->worker_count];

    if (m == NULL)
        return;
    m->room = malloc(room_len + 1);
    if (m->room == NULL) {
        respond_error(ctx, 500, "Out of memory", NULL);
        message_unref(m);
        return;
    }
    memcpy(m->room, room, room_len);
    m->room[room_len] = '\0';
    m->room_len = room_len;

    bool posted = true;
    if (registry_room_workers(s->registry, room, room_len, selected))
        posted = post_to_workers(s, CMD_ROOM_SEND, m, selected);
    respond_posted(ctx, posted);
    message_unref(m);
}

static void handle_client_send(struct request_context *ctx, const char *id,
                               size_t id_len, const char *body, size_t len)
{
    struct server *s = ctx->server;
    struct message *m = parse_message_body(ctx, body, len);
    unsigned worker;
    uint64_t handle;

    if (m == NULL)
        return;

    /* An unknown id still succeeds: the client may live elsewhere. */
    bool posted = true;
    if (registry_find_client(s->registry, id, id_len, &worker, &handle)) {
        struct command cmd = {.type = CMD_CLIENT_SEND,
                              .handle = handle,
                              .message = message_ref(m)};
        posted = worker_post(s->workers[worker], &cmd);
        if (!posted) {
            message_unref(m);
            metrics_add(&s->metrics.commands_rejected, 1);
        }
    }
    respond_posted(ctx, posted);
    message_unref(m);
}

static void handle_disconnect(struct request_context *ctx, const char *id,
                              size_t id_len)
{
    struct server *s = ctx->server;
    unsigned worker;
    uint64_t handle;

    if (!registry_find_client(s->registry, id, id_len, &worker, &handle)) {
        respond_error(ctx, 404, "Client not found", NULL);
        return;
    }
    struct command cmd = {
        .type = CMD_DISCONNECT, .handle = handle, .code = WS_CLOSE_NORMAL};
    bool posted = worker_post(s->workers[worker], &cmd);
    if (!posted)
        metrics_add(&s->metrics.commands_rejected, 1);
    respond_posted(ctx, posted);
}

static void handle_get_client(struct request_context *ctx, const char *id,
                              size_t id_len)
{
    cJSON *info = registry_client_info(ctx->server->registry, id, id_len);

    if (info == NULL)
        respond_error(ctx, 404, "Client not found", NULL);
    else
        respond_json(ctx, 200, info);
}

static void handle_list(struct request_context *ctx)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *clients = registry_list_clients(ctx->server->registry);

    if (o == NULL || clients == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(clients);
        respond_error(ctx, 500, "Out of memory", NULL);
        return;
    }
    cJSON_AddItemToObject(o, "clients", clients);
    respond_json(ctx, 200, o);
}

static bool server_ready(struct server *s)
{
    return atomic_load(&s->accepting) && !atomic_load(&s->stopping) &&
           atomic_load(&s->workers_running) == s->worker_count;
}

static void handle_status(struct request_context *ctx)
{
    cJSON *o = cJSON_CreateObject();
    bool ready = server_ready(ctx->server);

    if (o != NULL) {
        cJSON_AddBoolToObject(o, "isReady", ready);
        cJSON_AddNumberToObject(
            o, "clientCount",
            ready ? (double)atomic_load(&ctx->server->ws_connections) : 0);
    }
    respond_json(ctx, 200, o);
}

static void handle_probe(struct request_context *ctx, bool readiness)
{
    bool ok = !readiness || server_ready(ctx->server);
    cJSON *o = cJSON_CreateObject();

    if (o != NULL)
        cJSON_AddStringToObject(o, "status", ok ? "ok" : "unavailable");
    respond_json(ctx, ok ? 200 : 503, o);
}

static void handle_metrics(struct request_context *ctx)
{
    size_t len = 0;
    char *text = metrics_render(ctx->server, &len);

    if (text == NULL) {
        respond_error(ctx, 500, "Out of memory", NULL);
        return;
    }
    metrics_count_request(&ctx->server->metrics, ctx->route, 200);
    conn_http_respond(ctx->conn, 200,
                      "text/plain; version=0.0.4; charset=utf-8", text, len,
                      NULL);
    free(text);
}

static void handle_openapi(struct request_context *ctx)
{
    metrics_count_request(&ctx->server->metrics, ctx->route, 200);
    conn_http_respond(ctx->conn, 200, NULL, openapi_document,
                      openapi_document_len, NULL);
}

static void method_not_allowed(struct request_context *ctx, const char *allow)
{
    char header[64];

    snprintf(header, sizeof(header), "Allow: %s%s\r\n", allow,
             strcmp(allow, "GET") == 0 ? ", HEAD" : "");
    respond_error(ctx, 405, "Method not allowed", header);
}

/* Routes a path below REST_PREFIX (sub starts with '/' or is empty). The
 * segments are percent-decoded into buf. */
static void route_clients(struct request_context *ctx, const char *sub,
                          size_t sub_len, const char *body, size_t body_len)
{
    const struct http_request *req = ctx->req;
    char decoded[PATH_MAX_LEN];
    size_t decoded_len = 0;
    bool get = method_is(req, "GET"), post = method_is(req, "POST");

    if (sub_len == 7 && memcmp(sub, "/status", 7) == 0) {
        ctx->route = ROUTE_STATUS;
        if (get)
            handle_status(ctx);
        else
            method_not_allowed(ctx, "GET");
        return;
    }

    ctx->route = ROUTE_OTHER;
    const char *why = check_authorization(ctx);
    if (why != NULL) {
        log_event(LOG_DEBUG, "rest_unauthorized", "fd=%d reason=\"%s\"",
                  ctx->conn->fd, why);
        respond_error(
            ctx, 401, why,
            "WWW-Authenticate: Bearer, Basic realm=\"signal-server\"\r\n");
        return;
    }

    if (sub_len == 0 || (sub_len == 1 && sub[0] == '/')) {
        ctx->route = ROUTE_LIST;
        if (get)
            handle_list(ctx);
        else
            method_not_allowed(ctx, "GET");
        return;
    }
    if (sub_len == 10 && memcmp(sub, "/broadcast", 10) == 0 && !get) {
        ctx->route = ROUTE_BROADCAST;
        if (post)
            handle_broadcast(ctx, body, body_len);
        else
            method_not_allowed(ctx, "POST");
        return;
    }

    /* Split the rest into segments: /a, /a/b or /a/b/c. */
    const char *seg[3];
    size_t seg_len[3];
    size_t count = 0;
    const char *p = sub, *end = sub + sub_len;
    while (p < end && count < 3) {
        if (*p != '/')
            break;
        p++;
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *stop = slash ? slash : end;
        seg[count] = p;
        seg_len[count] = (size_t)(stop - p);
        count++;
        p = stop;
    }
    if (p != end || count == 0) {
        respond_error(ctx, 404, "Not found", NULL);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (seg_len[i] == 0) {
            respond_error(ctx, 404, "Not found", NULL);
            return;
        }
    }

    /* Decode the parameter segment (the room name or the client id). */
    size_t param = (count == 3) ? 1 : 0;
    if (!http_percent_decode(seg[param], seg_len[param], decoded,
                             &decoded_len)) {
        respond_error(ctx, 400, "Invalid percent-encoding in path", NULL);
        return;
    }

    if (count == 3 && seg_len[0] == 5 && memcmp(seg[0], "rooms", 5) == 0 &&
        seg_len[2] == 4 && memcmp(seg[2], "send", 4) == 0) {
        ctx->route = ROUTE_ROOM_SEND;
        if (post)
            handle_room_send(ctx, decoded, decoded_len, body, body_len);
        else
            method_not_allowed(ctx, "POST");
        return;
    }
    if (count == 2 && seg_len[1] == 4 && memcmp(seg[1], "send", 4) == 0) {
        ctx->route = ROUTE_CLIENT_SEND;
        if (post)
            handle_client_send(ctx, decoded, decoded_len, body, body_len);
        else
            method_not_allowed(ctx, "POST");
        return;
    }
    if (count == 2 && seg_len[1] == 10 &&
        memcmp(seg[1], "disconnect", 10) == 0) {
        ctx->route = ROUTE_DISCONNECT;
        if (post)
            handle_disconnect(ctx, decoded, decoded_len);
        else
            method_not_allowed(ctx, "POST");
        return;
    }
    if (count == 1) {
        ctx->route = ROUTE_GET_CLIENT;
        if (get)
            handle_get_client(ctx, decoded, decoded_len);
        else
            method_not_allowed(ctx, "GET");
        return;
    }
    respond_error(ctx, 404, "Not found", NULL);
}

void rest_handle(struct connection *c, const struct http_request *req,
                 const char *body, size_t body_len)
{
    struct request_context ctx = {.conn = c,
                                  .server = c->worker->server,
                                  .req = req,
                                  .route = ROUTE_OTHER};
    size_t path_len = http_path_len(req);
    const size_t prefix_len = sizeof(REST_PREFIX) - 1;

    if (path_len > PATH_MAX_LEN) {
        respond_error(&ctx, 414, "Request path too long", NULL);
        return;
    }

    const char *path = req->target;
    if (path_len >= prefix_len && memcmp(path, REST_PREFIX, prefix_len) == 0 &&
        (path_len == prefix_len || path[prefix_len] == '/')) {
        route_clients(&ctx, path + prefix_len, path_len - prefix_len, body,
                      body_len);
        return;
    }

    static const struct {
        const char *path;
        enum rest_route route;
    } plain_routes[] = {
        {"/metrics", ROUTE_METRICS},
        {"/healthz", ROUTE_HEALTH},
        {"/readyz", ROUTE_READY},
        {"/v1/api/openapi.json", ROUTE_OPENAPI},
    };
    for (size_t i = 0; i < sizeof(plain_routes) / sizeof(plain_routes[0]);
         i++) {
        if (strlen(plain_routes[i].path) != path_len ||
            memcmp(plain_routes[i].path, path, path_len) != 0)
            continue;
        ctx.route = plain_routes[i].route;
        if (!method_is(req, "GET")) {
            method_not_allowed(&ctx, "GET");
        } else if (ctx.route == ROUTE_METRICS) {
            handle_metrics(&ctx);
        } else if (ctx.route == ROUTE_OPENAPI) {
            handle_openapi(&ctx);
        } else {
            handle_probe(&ctx, ctx.route == ROUTE_READY);
        }
        return;
    }
    respond_error(&ctx, 404, "Not found", NULL);
}
