/*
 * A message for fan-out: the envelope {"event": ..., "data": ...} as JSON
 * text, built once by the REST handler, immutable afterwards and shared by
 * every worker that delivers it. The plain text frame is built with it, so
 * plain-mode clients get the same bytes without copying per client. The
 * reference count is atomic; the last worker to finish frees it.
 */
#ifndef SIGNAL_MESSAGE_H
#define SIGNAL_MESSAGE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct message {
    atomic_uint refs;
    const char *plain; /* envelope JSON text, inside frame */
    size_t plain_len;
    const uint8_t *frame; /* unmasked text frame carrying plain */
    size_t frame_len;
    char *room; /* target of a room send, else NULL */
    size_t room_len;
    char client_id[37]; /* target of a client send, else "" */
};

/* Builds the envelope for event and data (data may be NULL: no "data"
 * member). Returns a message with one reference, or NULL. */
struct message *message_new(const char *event, const cJSON *data);

/* Builds the envelope with data given as JSON text, copied byte for byte
 * (data_json NULL: no "data" member). */
struct message *message_with_raw_data(const char *event, const char *data_json,
                                      size_t data_len);

/* Like message_new, from envelope text that is already serialised. */
struct message *message_from_text(const char *text, size_t len);

struct message *message_ref(struct message *m);
void message_unref(struct message *m);

#endif
