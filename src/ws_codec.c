/*
 * RFC 6455 framing without I/O. The reader checks each frame header as soon
 * as enough of it is buffered, unmasks payloads in place, returns
 * unfragmented messages as pointers into the caller's buffer and copies
 * fragmented ones into its own reassembly buffer. The reader belongs to the
 * thread that owns its connection. The other functions keep no state.
 */
#include "ws_codec.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base64.h"

/* RFC 6455 section 1.3: appended to Sec-WebSocket-Key before hashing. */
static const char websocket_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ws_parse_frame_header(const uint8_t *buf, size_t len,
                          struct ws_frame_header *h)
{
    if (len < 2)
        return 0;

    h->fin = (buf[0] & 0x80) != 0;
    h->rsv = (buf[0] >> 4) & 0x07;
    h->opcode = buf[0] & 0x0F;
    h->masked = (buf[1] & 0x80) != 0;

    size_t header_len = 2;
    uint8_t len7 = buf[1] & 0x7F;
    if (len7 < 126) {
        h->payload_len = len7;
    } else if (len7 == 126) {
        header_len += 2;
        if (len < header_len)
            return 0;
        h->payload_len = (uint64_t)buf[2] << 8 | buf[3];
        if (h->payload_len < 126)
            return -1;
    } else {
        header_len += 8;
        if (len < header_len)
            return 0;
        if (buf[2] & 0x80)
            return -1;
        uint64_t n = 0;
        for (int i = 2; i < 10; i++)
            n = n << 8 | buf[i];
        if (n <= 0xFFFF)
            return -1;
        h->payload_len = n;
    }

    if (h->masked) {
        if (len < header_len + 4)
            return 0;
        memcpy(h->mask, buf + header_len, 4);
        header_len += 4;
    } else {
        memset(h->mask, 0, sizeof h->mask);
    }

    h->header_len = header_len;
    return (int)header_len;
}

size_t ws_write_frame_header(uint8_t *out, bool fin, uint8_t opcode,
                             uint64_t payload_len, const uint8_t mask[4])
{
    size_t n = 0;
    uint8_t mask_bit = mask != NULL ? 0x80 : 0;

    out[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    if (payload_len < 126) {
        out[n++] = mask_bit | (uint8_t)payload_len;
    } else if (payload_len <= 0xFFFF) {
        out[n++] = mask_bit | 126;
        out[n++] = (uint8_t)(payload_len >> 8);
        out[n++] = (uint8_t)payload_len;
    } else {
        out[n++] = mask_bit | 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(payload_len >> shift);
    }

    if (mask != NULL) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void ws_apply_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
    /* The key rotated so that byte 0 of it applies to p[0], repeated to
     * fill a word. Built in memory order, so the XOR needs no byte swap. */
    uint8_t pattern[8];
    for (int i = 0; i < 8; i++)
        pattern[i] = mask[(offset + (uint64_t)i) % 4];
    uint64_t word_mask;
    memcpy(&word_mask, pattern, sizeof word_mask);

    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, sizeof word);
        word ^= word_mask;
        memcpy(p + i, &word, sizeof word);
    }
    for (; i < n; i++)
        p[i] ^= pattern[i % 8];
}

bool ws_close_code_is_valid(unsigned code)
{
    /* 1004 is reserved, and 1005, 1006 and 1015 stand in for missing
     * codes locally, so none of them may appear in a close frame. */
    if (code >= 1000 && code <= 1003)
        return true;
    if (code >= 1007 && code <= 1014)
        return true;
    return code >= 3000 && code <= 4999;
}

void ws_compute_accept_key(const char *key, size_t key_len, char out[29])
{
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned digest_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok =
        ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, key, key_len) == 1 &&
        EVP_DigestUpdate(ctx, websocket_guid, sizeof websocket_guid - 1) == 1 &&
        EVP_DigestFinal_ex(ctx, digest, &digest_len) == 1 && digest_len == 20;
    EVP_MD_CTX_free(ctx);

    if (!ok) {
        out[0] = '\0';
        return;
    }
    size_t written = base64_encode(digest, digest_len, out);
    out[written] = '\0';
}

void ws_reader_init(struct ws_reader *r, bool expect_masked, size_t max_message)
{
    memset(r, 0, sizeof *r);
    r->expect_masked = expect_masked;
    r->max_message = max_message;
    utf8_validator_init(&r->utf8);
}

void ws_reader_free(struct ws_reader *r)
{
    free(r->message);
    r->message = NULL;
    r->message_len = 0;
    r->message_cap = 0;
    r->in_message = false;
}

static bool is_control(uint8_t opcode)
{
    return (opcode & 0x08) != 0;
}

static bool is_known_opcode(uint8_t opcode)
{
    switch (opcode) {
    case WS_OP_CONTINUATION:
    case WS_OP_TEXT:
    case WS_OP_BINARY:
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        return true;
    default:
        return false;
    }
}

static void set_error(struct ws_event *ev, unsigned code, const char *reason)
{
    ev->type = WS_EVENT_ERROR;
    ev->close_code = code;
    ev->error = reason;
    ev->data = NULL;
    ev->len = 0;
}

/* Checks what the first two bytes of a frame decide: reserved bits, the
 * opcode, the mask bit, the control frame rules and the fragmentation
 * sequence. Returns false with ev set to the error. */
static bool check_frame_start(const struct ws_reader *r, const uint8_t *buf,
                              struct ws_event *ev)
{
    bool fin = (buf[0] & 0x80) != 0;
    uint8_t opcode = buf[0] & 0x0F;
    bool masked = (buf[1] & 0x80) != 0;
    uint8_t len7 = buf[1] & 0x7F;

    /* No extension is negotiated, so no RSV bit has a meaning. */
    if (buf[0] & 0x70) {
        set_error(ev, WS_CLOSE_PROTOCOL_ERROR, "reserved bits set");
        return false;
    }
    if (!is_known_opcode(opcode)) {
        set_error(ev, WS_CLOSE_PROTOCOL_ERROR, "reserved opcode");
        return false;
    }
    if (masked != r->expect_masked) {
        set_error(ev, WS_CLOSE_PROTOCOL_ERROR,
                  r->expect_masked ? "unmasked client frame"
                                   : "masked server frame");
        return false;
    }

    if (is_control(opcode)) {
        if (!fin) {
            set_error(ev, WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame");
            return false;
        }
        if (len7 > WS_MAX_CONTROL_PAYLOAD) {
            set_error(ev, WS_CLOSE_PROTOCOL_ERROR, "control frame too long");
            return false;
        }
        return true;
    }

    if (opcode == WS_OP_CONTINUATION && !r->in_message) {
        set_error(ev, WS_CLOSE_PROTOCOL_ERROR,
                  "continuation frame without a message");
        return false;
    }
    if (opcode != WS_OP_CONTINUATION && r->in_message) {
        set_error(ev, WS_CLOSE_PROTOCOL_ERROR,
                  "new message inside a fragmented message");
        return false;
    }
    return true;
}

/* Decodes a complete close frame payload into ev. */
static void read_close_frame(const uint8_t *payload, size_t len,
                             struct ws_event *ev)
{
    if (len == 0) {
        ev->type = WS_EVENT_CLOSE;
        ev->close_code = WS_CLOSE_NO_STATUS;
        ev->data = payload;
        ev->len = 0;
        return;
    }
    if (len == 1) {
        set_error(ev, WS_CLOSE_PROTOCOL_ERROR, "close frame of 1 byte");
        return;
    }

    unsigned code = (unsigned)payload[0] << 8 | payload[1];
    if (!ws_close_code_is_valid(code)) {
        set_error(ev, WS_CLOSE_PROTOCOL_ERROR, "invalid close code");
        return;
    }
    if (!utf8_is_valid(payload + 2, len - 2)) {
        set_error(ev, WS_CLOSE_INVALID_DATA, "close reason not UTF-8");
        return;
    }
    ev->type = WS_EVENT_CLOSE;
    ev->close_code = code;
    ev->data = payload + 2;
    ev->len = len - 2;
}

/* Appends a fragment to the reassembly buffer, which the size check has
 * already bounded by max_message. */
static bool append_fragment(struct ws_reader *r, const uint8_t *p, size_t n)
{
    size_t needed = r->message_len + n;

    if (needed > r->message_cap) {
        size_t cap = r->message_cap < 4096 ? 4096 : r->message_cap;
        while (cap < needed && cap <= SIZE_MAX / 2)
            cap *= 2;
        if (cap < needed)
            cap = needed;
        if (cap > r->max_message)
            cap = r->max_message;
        uint8_t *grown = realloc(r->message, cap);
        if (grown == NULL)
            return false;
        r->message = grown;
        r->message_cap = cap;
    }
    if (n > 0)
        memcpy(r->message + r->message_len, p, n);
    r->message_len = needed;
    return true;
}

/* Validates the text of one data frame. At the end of the message the text
 * must also end on a code point boundary. */
static bool check_text(struct ws_reader *r, const uint8_t *p, size_t n,
                       bool fin, struct ws_event *ev)
{
    enum utf8_status status = utf8_validator_feed(&r->utf8, p, n);

    if (status == UTF8_INVALID) {
        set_error(ev, WS_CLOSE_INVALID_DATA, "invalid UTF-8 in text message");
        return false;
    }
    if (fin && status == UTF8_INCOMPLETE) {
        set_error(ev, WS_CLOSE_INVALID_DATA,
                  "text message ends inside a code point");
        return false;
    }
    return true;
}

/* Handles one complete data frame. Returns true when ev now contains an
 * event: the message, or an error. */
static bool read_data_frame(struct ws_reader *r,
                            const struct ws_frame_header *h, uint8_t *payload,
                            struct ws_event *ev)
{
    size_t len = (size_t)h->payload_len;

    if (h->opcode != WS_OP_CONTINUATION) {
        utf8_validator_init(&r->utf8);
        if (h->opcode == WS_OP_TEXT && !check_text(r, payload, len, h->fin, ev))
            return true;

        /* The common case: the whole message in one frame, handed out
         * where it lies without a copy. */
        if (h->fin) {
            ev->type = WS_EVENT_MESSAGE;
            ev->opcode = h->opcode;
            ev->data = payload;
            ev->len = len;
            return true;
        }
        r->in_message = true;
        r->message_opcode = h->opcode;
        r->message_len = 0;
    } else if (r->message_opcode == WS_OP_TEXT &&
               !check_text(r, payload, len, h->fin, ev)) {
        return true;
    }

    if (!append_fragment(r, payload, len)) {
        set_error(ev, WS_CLOSE_INTERNAL_ERROR,
                  "out of memory reassembling a message");
        return true;
    }
    if (!h->fin)
        return false;

    r->in_message = false;
    ev->type = WS_EVENT_MESSAGE;
    ev->opcode = r->message_opcode;
    ev->data = r->message;
    ev->len = r->message_len;
    return true;
}

size_t ws_reader_next(struct ws_reader *r, uint8_t *buf, size_t len,
                      struct ws_event *ev)
{
    size_t consumed = 0;

    memset(ev, 0, sizeof *ev);
    ev->type = WS_EVENT_NONE;

    /* Non-final fragments produce no event, so keep reading frames until
     * one does or the buffer ends inside a frame. */
    for (;;) {
        uint8_t *frame = buf + consumed;
        size_t available = len - consumed;

        if (available < 2)
            return consumed;
        if (!check_frame_start(r, frame, ev))
            return consumed;

        struct ws_frame_header h;
        int header_len = ws_parse_frame_header(frame, available, &h);
        if (header_len < 0) {
            set_error(ev, WS_CLOSE_PROTOCOL_ERROR,
                      "invalid payload length encoding");
            return consumed;
        }
        if (header_len == 0)
            return consumed;

        /* Decided from the header, before the payload is buffered. */
        if (!is_control(h.opcode)) {
            size_t so_far = r->in_message ? r->message_len : 0;
            if (h.payload_len > r->max_message - so_far) {
                set_error(ev, WS_CLOSE_TOO_BIG, "message too big");
                return consumed;
            }
        }

        size_t payload_len = (size_t)h.payload_len;
        if (available - (size_t)header_len < payload_len)
            return consumed;

        uint8_t *payload = frame + header_len;
        if (h.masked)
            ws_apply_mask(payload, payload_len, h.mask, 0);

        /* A frame that fails a check is left unconsumed, like one whose
         * header failed. */
        bool has_event = true;
        if (h.opcode == WS_OP_PING || h.opcode == WS_OP_PONG) {
            ev->type = h.opcode == WS_OP_PING ? WS_EVENT_PING : WS_EVENT_PONG;
            ev->data = payload;
            ev->len = payload_len;
        } else if (h.opcode == WS_OP_CLOSE) {
            read_close_frame(payload, payload_len, ev);
        } else {
            has_event = read_data_frame(r, &h, payload, ev);
        }
        if (ev->type == WS_EVENT_ERROR)
            return consumed;
        consumed += (size_t)header_len + payload_len;
        if (has_event)
            return consumed;
    }
}
