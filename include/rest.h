/*
 * The REST admin API and the operational endpoints (/metrics, /healthz,
 * /readyz, the OpenAPI document). Handlers run on the worker that owns the
 * HTTP connection; they read the registry and post commands to the
 * workers that own the targeted clients, and respond at once.
 */
#ifndef SIGNAL_REST_H
#define SIGNAL_REST_H

#include <stddef.h>

struct connection;
struct http_request;

#define REST_PREFIX "/v1/api/socket/websocket/clients"

/* Handles one complete request (head and body) and queues the response. */
void rest_handle(struct connection *c, const struct http_request *req,
                 const char *body, size_t body_len);

#endif
