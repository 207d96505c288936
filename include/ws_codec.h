/*
 * RFC 6455 framing without I/O: frame header encoding and decoding,
 * masking, close-code rules, the handshake accept key, and a reader that
 * turns a byte stream into messages and control frames with every protocol
 * check applied (reserved bits and opcodes, masking, control frame rules,
 * fragmentation, incremental UTF-8, size limit). One reader per connection;
 * it is owned by whichever thread owns the connection.
 */
#ifndef SIGNAL_WS_CODEC_H
#define SIGNAL_WS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_NO_STATUS = 1005, /* never sent: "no code in the close frame" */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL_ERROR = 1011,
};

/* Maximum frame header length: 2 + 8 (64-bit length) + 4 (mask). */
#define WS_MAX_HEADER_LEN 14
/* Maximum header length of an unmasked (server to client) frame. */
#define WS_MAX_SERVER_HEADER_LEN 10
/* Largest payload of a control frame. */
#define WS_MAX_CONTROL_PAYLOAD 125

struct ws_frame_header {
    bool fin;
    uint8_t rsv;    /* the three RSV bits, shifted down: 0..7 */
    uint8_t opcode; /* 0..15 */
    bool masked;
    uint8_t mask[4];
    uint64_t payload_len;
    size_t header_len;
};

/* Decodes a frame header from buf. Returns the header length (> 0), 0 when
 * more bytes are needed, or -1 when the 64-bit length has its top bit set or
 * a 16/64-bit length is not in its minimal encoding. Makes no other check. */
int ws_parse_frame_header(const uint8_t *buf, size_t len,
                          struct ws_frame_header *h);

/* Writes a frame header into out (capacity WS_MAX_HEADER_LEN). mask is NULL
 * for server frames. Returns the header length. */
size_t ws_write_frame_header(uint8_t *out, bool fin, uint8_t opcode,
                             uint64_t payload_len, const uint8_t mask[4]);

/* XORs p[0..n) with the mask, starting at mask position offset % 4. */
void ws_apply_mask(uint8_t *p, size_t n, const uint8_t mask[4],
                   uint64_t offset);

/* True when a peer may send this code in a close frame (1000-1003,
 * 1007-1014, 3000-4999). */
bool ws_close_code_is_valid(unsigned code);

/* Computes Sec-WebSocket-Accept for a Sec-WebSocket-Key value; out gets 28
 * characters and a NUL, or only a NUL when OpenSSL fails. */
void ws_compute_accept_key(const char *key, size_t key_len, char out[29]);

enum ws_event_type {
    WS_EVENT_NONE,    /* need more bytes */
    WS_EVENT_MESSAGE, /* a complete text or binary message */
    WS_EVENT_PING,
    WS_EVENT_PONG,
    WS_EVENT_CLOSE, /* a valid close frame from the peer */
    WS_EVENT_ERROR, /* protocol violation: close with close_code */
};

struct ws_event {
    enum ws_event_type type;
    uint8_t opcode;      /* MESSAGE: WS_OP_TEXT or WS_OP_BINARY */
    const uint8_t *data; /* payload, in buf or in r->message: valid until the
                            next ws_reader call or until the caller removes
                            the consumed bytes from buf */
    size_t len;
    unsigned close_code; /* CLOSE: the peer's code or WS_CLOSE_NO_STATUS;
                            ERROR: the code to close with */
    const char *error;   /* ERROR: a short reason for the log */
};

struct ws_reader {
    bool expect_masked; /* true on the server side */
    size_t max_message; /* limit of a reassembled message, in bytes */
    /* Reassembly of a fragmented message (heap, grows on demand). */
    bool in_message;
    uint8_t message_opcode;
    uint8_t *message;
    size_t message_len;
    size_t message_cap;
    struct utf8_validator utf8;
};

void ws_reader_init(struct ws_reader *r, bool expect_masked,
                    size_t max_message);

/* Frees the reassembly buffer; the reader may be reused after ws_reader_init.
 */
void ws_reader_free(struct ws_reader *r);

/* Looks for the next event in buf[0..len) and returns the number of bytes
 * consumed. Consumes whole frames only and unmasks payloads in place.
 * The caller removes the consumed bytes from buf whatever ev->type is,
 * because non-final fragments are consumed (copied into r->message) without
 * an event: WS_EVENT_NONE means the next event needs more bytes and may come
 * with a non-zero count. After WS_EVENT_ERROR the stream must not be read
 * further. Fails fast: an oversized length is reported from the frame
 * header, and invalid UTF-8 from the first complete frame that contains it,
 * before the rest of the message arrives. */
size_t ws_reader_next(struct ws_reader *r, uint8_t *buf, size_t len,
                      struct ws_event *ev);

#endif
