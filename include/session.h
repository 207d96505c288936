/*
 * The application protocol on an upgraded connection: authentication with
 * a JWT and the ECDH key exchange, join/leave under the room policy,
 * heartbeats, encrypted wrappers in both directions, and `error` events.
 * Runs on the worker that owns the connection.
 */
#ifndef SIGNAL_SESSION_H
#define SIGNAL_SESSION_H

#include <stddef.h>
#include <stdint.h>

struct connection;
struct message;

/* Handles one complete text or binary message from the client. */
void session_on_message(struct connection *c, const uint8_t *data, size_t len);

/* Delivers a fan-out message to an authenticated client, encrypting it
 * for the client when the session is encrypted. Skips clients that are
 * not authenticated or already closing. */
void session_deliver(struct connection *c, const struct message *m);

/* Bytes of the encrypted wrapper frame for an envelope of plain_len. */
size_t session_sealed_frame_len(size_t plain_len);

/* Called once when the connection closes: leaves every room. */
void session_on_close(struct connection *c);

#endif
