/*
 * libFuzzer target for the RFC 6455 stream reader (ws_reader_next), as a
 * server reader (masked frames expected) and as a client reader. Input
 * layout:
 *
 *   byte 0        message size limit: 1 << (byte % 17), 1 B to 64 KiB
 *   byte 1        number of chunk boundaries n (byte % 16)
 *   bytes 2..n+1  chunk lengths, 0 to 255 bytes each
 *   the rest      the byte stream; the last chunk takes what is left
 *
 * Each reader reads the stream twice, once whole and once delivered in the
 * chunks, the way TCP may split it. Both runs must consume no more than
 * they were given, report only events that satisfy the protocol rules, and
 * report the same events in the same order.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_check.h"
#include "ws_codec.h"

#define MAX_CHUNKS 15

struct recorded_event {
    enum ws_event_type type;
    uint8_t opcode;
    size_t len;
    unsigned close_code;
    uint64_t digest; /* FNV-1a of the payload */
};

struct run {
    struct recorded_event *events;
    size_t count;
    size_t consumed;
    bool in_message;
    size_t message_len;
};

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h;
}

static void check_event(const struct ws_event *ev, size_t used,
                        size_t max_message)
{
    switch (ev->type) {
    case WS_EVENT_NONE:
        break;
    case WS_EVENT_MESSAGE:
        FUZZ_CHECK(used > 0, "message event without consuming a frame");
        FUZZ_CHECK(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY,
                   "message with a non-data opcode");
        FUZZ_CHECK(ev->len <= max_message, "message over max_message");
        FUZZ_CHECK(ev->data != NULL || ev->len == 0, "message without data");
        if (ev->opcode == WS_OP_TEXT)
            FUZZ_CHECK(utf8_is_valid(ev->data, ev->len),
                       "text message is not valid UTF-8");
        break;
    case WS_EVENT_PING:
    case WS_EVENT_PONG:
        FUZZ_CHECK(used > 0, "control event without consuming a frame");
        FUZZ_CHECK(ev->len <= WS_MAX_CONTROL_PAYLOAD,
                   "ping or pong over 125 bytes");
        FUZZ_CHECK(ev->data != NULL || ev->len == 0,
                   "ping or pong without data");
        break;
    case WS_EVENT_CLOSE:
        FUZZ_CHECK(used > 0, "close event without consuming a frame");
        if (ev->close_code == WS_CLOSE_NO_STATUS) {
            FUZZ_CHECK(ev->len == 0, "close without a code but with a reason");
        } else {
            FUZZ_CHECK(ws_close_code_is_valid(ev->close_code),
                       "close event with an invalid code");
            FUZZ_CHECK(ev->len <= WS_MAX_CONTROL_PAYLOAD - 2,
                       "close reason over 123 bytes");
            FUZZ_CHECK(utf8_is_valid(ev->data, ev->len),
                       "close reason is not valid UTF-8");
        }
        break;
    case WS_EVENT_ERROR:
        FUZZ_CHECK(ev->close_code == WS_CLOSE_PROTOCOL_ERROR ||
                       ev->close_code == WS_CLOSE_INVALID_DATA ||
                       ev->close_code == WS_CLOSE_TOO_BIG ||
                       ev->close_code == WS_CLOSE_INTERNAL_ERROR,
                   "error with a code other than 1002, 1007, 1009, 1011");
        FUZZ_CHECK(ev->error != NULL, "error without a reason");
        break;
    default:
        FUZZ_CHECK(false, "unknown event type");
    }
}

/* Reads stream[0..len) with the bytes made available chunk by chunk, as a
 * connection does: call ws_reader_next on what is buffered, drop what it
 * consumed, and wait for the next chunk when it needs more. */
static void read_stream(bool expect_masked, size_t max_message,
                        const uint8_t *stream, size_t len,
                        const size_t *chunk_ends, size_t chunk_count,
                        struct run *out)
{
    /* The reader unmasks payloads in place, so each run gets a copy. */
    uint8_t *buf = fuzz_copy(stream, len);
    struct ws_reader reader;
    size_t start = 0, available = 0, next_chunk = 0;

    ws_reader_init(&reader, expect_masked, max_message);
    out->count = 0;
    for (;;) {
        struct ws_event ev;
        size_t used =
            ws_reader_next(&reader, buf + start, available - start, &ev);

        FUZZ_CHECK(used <= available - start, "consumed more than available");
        check_event(&ev, used, max_message);
        start += used;

        if (ev.type == WS_EVENT_NONE) {
            if (available == len)
                break;
            available =
                next_chunk < chunk_count ? chunk_ends[next_chunk++] : len;
            continue;
        }
        out->events[out->count++] = (struct recorded_event){
            .type = ev.type,
            .opcode = ev.type == WS_EVENT_MESSAGE ? ev.opcode : 0,
            .len = ev.len,
            .close_code = ev.type == WS_EVENT_CLOSE || ev.type == WS_EVENT_ERROR
                              ? ev.close_code
                              : 0,
            .digest = ev.len > 0 ? fnv1a(ev.data, ev.len) : 0,
        };
        if (ev.type == WS_EVENT_ERROR)
            break;
    }

    out->consumed = start;
    out->in_message = reader.in_message;
    out->message_len = reader.in_message ? reader.message_len : 0;
    ws_reader_free(&reader);
    free(buf);
}

static void compare_runs(const struct run *whole, const struct run *chunked)
{
    FUZZ_CHECK(whole->count == chunked->count,
               "chunked delivery changed the number of events");
    for (size_t i = 0; i < whole->count; i++) {
        const struct recorded_event *a = &whole->events[i];
        const struct recorded_event *b = &chunked->events[i];
        FUZZ_CHECK(a->type == b->type && a->opcode == b->opcode &&
                       a->len == b->len && a->close_code == b->close_code &&
                       a->digest == b->digest,
                   "chunked delivery changed an event");
    }
    bool ended_in_error =
        whole->count > 0 &&
        whole->events[whole->count - 1].type == WS_EVENT_ERROR;
    if (!ended_in_error) {
        FUZZ_CHECK(whole->consumed == chunked->consumed,
                   "chunked delivery consumed a different number of bytes");
        FUZZ_CHECK(whole->in_message == chunked->in_message &&
                       whole->message_len == chunked->message_len,
                   "chunked delivery left a different reassembly state");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;

    size_t max_message = (size_t)1 << (data[0] % 17);
    size_t chunk_count = data[1] % (MAX_CHUNKS + 1);
    if (size < 2 + chunk_count)
        return 0;
    const uint8_t *stream = data + 2 + chunk_count;
    size_t len = size - 2 - chunk_count;

    size_t chunk_ends[MAX_CHUNKS];
    size_t end = 0;
    for (size_t i = 0; i < chunk_count; i++) {
        end += data[2 + i];
        chunk_ends[i] = end < len ? end : len;
    }

    /* Every event but the last consumes at least two bytes. */
    size_t max_events = len / 2 + 2;
    struct run whole = {.events =
                            calloc(max_events, sizeof(struct recorded_event))};
    struct run chunked = {
        .events = calloc(max_events, sizeof(struct recorded_event))};
    if (whole.events == NULL || chunked.events == NULL)
        abort();

    for (int side = 0; side < 2; side++) {
        bool expect_masked = side == 0;
        read_stream(expect_masked, max_message, stream, len, NULL, 0, &whole);
        read_stream(expect_masked, max_message, stream, len, chunk_ends,
                    chunk_count, &chunked);
        compare_runs(&whole, &chunked);
    }

    free(whole.events);
    free(chunked.events);
    return 0;
}
