/*
 * Unit tests of the WebSocket codec: frame header encoding at the length
 * boundaries, masking, close codes, the handshake accept key, and the
 * reader's events and close codes for every protocol rule it enforces.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ws_codec.h"

#define MAX_MESSAGE 1024

static const uint8_t test_mask[4] = {0x37, 0xFA, 0x21, 0x3D};

/* A byte stream as a connection would buffer it. */
struct stream {
    uint8_t *data;
    size_t len;
    size_t cap;
};

static void stream_init(struct stream *s, size_t cap)
{
    s->data = malloc(cap);
    ck_assert_ptr_nonnull(s->data);
    s->len = 0;
    s->cap = cap;
}

static void stream_append(struct stream *s, const void *p, size_t n)
{
    ck_assert_uint_le(s->len + n, s->cap);
    memcpy(s->data + s->len, p, n);
    s->len += n;
}

static void stream_consume(struct stream *s, size_t n)
{
    ck_assert_uint_le(n, s->len);
    memmove(s->data, s->data + n, s->len - n);
    s->len -= n;
}

/* Appends one frame as a client (masked) or a server (unmasked) sends it.
 * rsv is ORed into the first byte as the three RSV bits. */
static size_t append_frame(struct stream *s, bool fin, uint8_t opcode,
                           uint8_t rsv, bool masked, const void *payload,
                           size_t n)
{
    uint8_t header[WS_MAX_HEADER_LEN];
    size_t header_len = ws_write_frame_header(header, fin, opcode, n,
                                              masked ? test_mask : NULL);
    header[0] |= (uint8_t)(rsv << 4);
    stream_append(s, header, header_len);

    size_t start = s->len;
    stream_append(s, payload, n);
    if (masked)
        ws_apply_mask(s->data + start, n, test_mask, 0);
    return header_len + n;
}

static size_t append_client_frame(struct stream *s, bool fin, uint8_t opcode,
                                  const void *payload, size_t n)
{
    return append_frame(s, fin, opcode, 0, true, payload, n);
}

/* Runs the server-side reader on the stream and expects an error event
 * with this close code, reported without consuming the bad frame. */
static void expect_error(struct ws_reader *r, struct stream *s,
                         unsigned close_code)
{
    struct ws_event ev;

    ws_reader_next(r, s->data, s->len, &ev);
    ck_assert_msg(ev.type == WS_EVENT_ERROR, "event type %d, expected error",
                  ev.type);
    ck_assert_uint_eq(ev.close_code, close_code);
    ck_assert_ptr_nonnull(ev.error);
}

/* Frame header encoding and decoding. */

static const struct {
    uint64_t payload_len;
    size_t header_len; /* unmasked */
    uint8_t bytes[10];
} length_encodings[] = {
    {0, 2, {0x82, 0x00}},
    {1, 2, {0x82, 0x01}},
    {125, 2, {0x82, 0x7D}},
    {126, 4, {0x82, 0x7E, 0x00, 0x7E}},
    {65535, 4, {0x82, 0x7E, 0xFF, 0xFF}},
    {65536, 10, {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}},
    {UINT64_C(0x7FFFFFFFFFFFFFFF),
     10,
     {0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
};

START_TEST(test_header_length_encoding)
{
    uint64_t payload_len = length_encodings[_i].payload_len;
    size_t expected_len = length_encodings[_i].header_len;
    uint8_t out[WS_MAX_HEADER_LEN];

    size_t n =
        ws_write_frame_header(out, true, WS_OP_BINARY, payload_len, NULL);
    ck_assert_uint_eq(n, expected_len);
    ck_assert_mem_eq(out, length_encodings[_i].bytes, n);
    ck_assert_uint_le(n, WS_MAX_SERVER_HEADER_LEN);

    struct ws_frame_header h;
    ck_assert_int_eq(ws_parse_frame_header(out, n, &h), (int)n);
    ck_assert(h.fin);
    ck_assert_uint_eq(h.rsv, 0);
    ck_assert_uint_eq(h.opcode, WS_OP_BINARY);
    ck_assert(!h.masked);
    ck_assert_uint_eq(h.payload_len, payload_len);
    ck_assert_uint_eq(h.header_len, n);
}
END_TEST

START_TEST(test_header_masked_round_trip)
{
    uint64_t payload_len = length_encodings[_i].payload_len;
    uint8_t out[WS_MAX_HEADER_LEN];

    size_t n =
        ws_write_frame_header(out, false, WS_OP_TEXT, payload_len, test_mask);
    ck_assert_uint_eq(n, length_encodings[_i].header_len + 4);
    ck_assert_uint_eq(out[0], 0x01);
    ck_assert_uint_eq(out[1] & 0x80, 0x80);
    ck_assert_mem_eq(out + n - 4, test_mask, 4);

    struct ws_frame_header h;
    ck_assert_int_eq(ws_parse_frame_header(out, n, &h), (int)n);
    ck_assert(!h.fin);
    ck_assert_uint_eq(h.opcode, WS_OP_TEXT);
    ck_assert(h.masked);
    ck_assert_mem_eq(h.mask, test_mask, 4);
    ck_assert_uint_eq(h.payload_len, payload_len);

    /* Every shorter prefix needs more bytes. */
    for (size_t cut = 0; cut < n; cut++)
        ck_assert_int_eq(ws_parse_frame_header(out, cut, &h), 0);
}
END_TEST

START_TEST(test_header_rsv_and_opcode_decoded)
{
    const uint8_t frame[] = {0x7B, 0x00}; /* FIN 0, RSV 111, opcode 0xB */
    struct ws_frame_header h;

    ck_assert_int_eq(ws_parse_frame_header(frame, 2, &h), 2);
    ck_assert(!h.fin);
    ck_assert_uint_eq(h.rsv, 7);
    ck_assert_uint_eq(h.opcode, 0xB);
}
END_TEST

START_TEST(test_header_length_top_bit_rejected)
{
    const uint8_t frame[] = {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0};
    struct ws_frame_header h;

    ck_assert_int_eq(ws_parse_frame_header(frame, sizeof frame, &h), -1);
}
END_TEST

START_TEST(test_header_non_minimal_length_rejected)
{
    const uint8_t in_16_bits[] = {0x82, 0x7E, 0x00, 0x7D};
    const uint8_t in_64_bits[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    struct ws_frame_header h;

    ck_assert_int_eq(ws_parse_frame_header(in_16_bits, sizeof in_16_bits, &h),
                     -1);
    ck_assert_int_eq(ws_parse_frame_header(in_64_bits, sizeof in_64_bits, &h),
                     -1);
}
END_TEST

/* Masking. */

START_TEST(test_mask_matches_bytewise_xor)
{
    uint8_t original[80], masked[88];

    for (size_t i = 0; i < sizeof original; i++)
        original[i] = (uint8_t)(i * 31 + 7);

    /* Every length, offset and buffer alignment against the definition:
     * byte i is XORed with mask[(offset + i) % 4]. */
    for (size_t n = 0; n <= sizeof original; n++) {
        for (uint64_t offset = 0; offset < 8; offset++) {
            for (size_t align = 0; align < 8; align++) {
                uint8_t *p = masked + align;
                memcpy(p, original, n);
                ws_apply_mask(p, n, test_mask, offset);
                for (size_t i = 0; i < n; i++) {
                    uint8_t expected =
                        original[i] ^ test_mask[(offset + i) % 4];
                    ck_assert_msg(p[i] == expected,
                                  "n %zu offset %llu align %zu byte %zu", n,
                                  (unsigned long long)offset, align, i);
                }
            }
        }
    }
}
END_TEST

START_TEST(test_mask_in_pieces_with_offset)
{
    uint8_t whole[37], pieces[37];

    for (size_t i = 0; i < sizeof whole; i++)
        whole[i] = pieces[i] = (uint8_t)i;
    ws_apply_mask(whole, sizeof whole, test_mask, 0);

    /* Masking from a running offset continues the key where it stopped. */
    ws_apply_mask(pieces, 5, test_mask, 0);
    ws_apply_mask(pieces + 5, 13, test_mask, 5);
    ws_apply_mask(pieces + 18, 19, test_mask, 18);
    ck_assert_mem_eq(pieces, whole, sizeof whole);

    /* Masking twice restores the data. */
    ws_apply_mask(whole, sizeof whole, test_mask, 0);
    for (size_t i = 0; i < sizeof whole; i++)
        ck_assert_uint_eq(whole[i], i);
}
END_TEST

/* Close codes and the accept key. */

START_TEST(test_close_code_validity)
{
    static const struct {
        unsigned code;
        bool valid;
    } cases[] = {
        {0, false},    {999, false},  {1000, true},   {1001, true},
        {1002, true},  {1003, true},  {1004, false},  {1005, false},
        {1006, false}, {1007, true},  {1008, true},   {1009, true},
        {1010, true},  {1011, true},  {1014, true},   {1015, false},
        {1016, false}, {2999, false}, {3000, true},   {4000, true},
        {4999, true},  {5000, false}, {65535, false},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(ws_close_code_is_valid(cases[i].code) == cases[i].valid,
                      "code %u: expected %s", cases[i].code,
                      cases[i].valid ? "valid" : "invalid");
}
END_TEST

START_TEST(test_accept_key_rfc6455_example)
{
    /* RFC 6455 section 1.3. */
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    char accept[29];

    memset(accept, 'x', sizeof accept);
    ws_compute_accept_key(key, strlen(key), accept);
    ck_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

/* The reader: valid traffic. */

START_TEST(test_reader_unfragmented_text_in_place)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 256);
    size_t frame_len = append_client_frame(&s, true, WS_OP_TEXT, "Hello", 5);

    size_t consumed = ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_uint_eq(consumed, frame_len);
    ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
    ck_assert_uint_eq(ev.opcode, WS_OP_TEXT);
    ck_assert_uint_eq(ev.len, 5);
    ck_assert_mem_eq(ev.data, "Hello", 5);
    /* No copy: the payload is unmasked where it lies, after the header. */
    ck_assert_ptr_eq(ev.data, s.data + 6);
    ck_assert_ptr_null(r.message);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_reader_waits_for_whole_frame)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;
    uint8_t payload[300];

    memset(payload, 'a', sizeof payload);
    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 512);
    size_t frame_len =
        append_client_frame(&s, true, WS_OP_BINARY, payload, sizeof payload);

    /* The reader unmasks in place only once the whole frame is there, so
     * calling it on each prefix leaves the bytes untouched. */
    for (size_t cut = 0; cut < frame_len; cut++) {
        ck_assert_uint_eq(ws_reader_next(&r, s.data, cut, &ev), 0);
        ck_assert_msg(ev.type == WS_EVENT_NONE, "prefix %zu: event %d", cut,
                      ev.type);
    }
    ck_assert_uint_eq(ws_reader_next(&r, s.data, frame_len, &ev), frame_len);
    ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
    ck_assert_uint_eq(ev.opcode, WS_OP_BINARY);
    ck_assert_mem_eq(ev.data, payload, sizeof payload);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_reader_lengths_at_encoding_boundaries)
{
    static const size_t lengths[] = {0, 125, 126, 65535, 65536};
    uint8_t *payload = malloc(65536);
    ck_assert_ptr_nonnull(payload);
    for (size_t i = 0; i < 65536; i++)
        payload[i] = (uint8_t)(i * 13);

    for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
        struct ws_reader r;
        struct stream s;
        struct ws_event ev;

        ws_reader_init(&r, true, 65536);
        stream_init(&s, 65536 + WS_MAX_HEADER_LEN);
        size_t frame_len =
            append_client_frame(&s, true, WS_OP_BINARY, payload, lengths[k]);

        ck_assert_uint_eq(ws_reader_next(&r, s.data, s.len, &ev), frame_len);
        ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
        ck_assert_uint_eq(ev.len, lengths[k]);
        ck_assert_msg(memcmp(ev.data, payload, lengths[k]) == 0,
                      "payload of %zu bytes differs", lengths[k]);

        ws_reader_free(&r);
        free(s.data);
    }
    free(payload);
}
END_TEST

START_TEST(test_reader_message_at_size_limit)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;
    uint8_t payload[MAX_MESSAGE];

    memset(payload, 'x', sizeof payload);
    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 2 * MAX_MESSAGE);

    /* Exactly max_message, in one frame and in three fragments. */
    append_client_frame(&s, true, WS_OP_TEXT, payload, MAX_MESSAGE);
    ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
    ck_assert_uint_eq(ev.len, MAX_MESSAGE);
    s.len = 0;

    append_client_frame(&s, false, WS_OP_TEXT, payload, 1000);
    append_client_frame(&s, false, WS_OP_CONTINUATION, payload, 0);
    append_client_frame(&s, true, WS_OP_CONTINUATION, payload, 24);
    ck_assert_uint_eq(ws_reader_next(&r, s.data, s.len, &ev), s.len);
    ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
    ck_assert_uint_eq(ev.len, MAX_MESSAGE);
    ck_assert_mem_eq(ev.data, payload, MAX_MESSAGE);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_reader_fragments_with_ping_between)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 256);
    size_t first = append_client_frame(&s, false, WS_OP_TEXT, "Hel", 3);
    size_t ping =
        append_client_frame(&s, true, WS_OP_PING, "are you there", 13);
    size_t middle =
        append_client_frame(&s, false, WS_OP_CONTINUATION, "lo, ", 4);
    size_t last = append_client_frame(&s, true, WS_OP_CONTINUATION, "world", 5);

    /* The first fragment is consumed on the way to the ping. */
    size_t consumed = ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_uint_eq(consumed, first + ping);
    ck_assert_int_eq(ev.type, WS_EVENT_PING);
    ck_assert_uint_eq(ev.len, 13);
    ck_assert_mem_eq(ev.data, "are you there", 13);
    ck_assert(r.in_message);
    stream_consume(&s, consumed);

    consumed = ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_uint_eq(consumed, middle + last);
    ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
    ck_assert_uint_eq(ev.opcode, WS_OP_TEXT);
    ck_assert_uint_eq(ev.len, 12);
    ck_assert_mem_eq(ev.data, "Hello, world", 12);
    ck_assert_ptr_eq(ev.data, r.message);
    ck_assert(!r.in_message);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_reader_fragment_consumed_without_event)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 256);
    size_t first = append_client_frame(&s, false, WS_OP_BINARY, "ab", 2);

    /* A lone non-final fragment: no event yet, but its bytes are taken. */
    ck_assert_uint_eq(ws_reader_next(&r, s.data, s.len, &ev), first);
    ck_assert_int_eq(ev.type, WS_EVENT_NONE);
    stream_consume(&s, first);

    append_client_frame(&s, true, WS_OP_CONTINUATION, "cd", 2);
    ck_assert_uint_eq(ws_reader_next(&r, s.data, s.len, &ev), s.len);
    ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
    ck_assert_uint_eq(ev.opcode, WS_OP_BINARY);
    ck_assert_mem_eq(ev.data, "abcd", 4);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

/* Feeds bytes one at a time, removing what the reader consumed, and records
 * the events: the stream a slow connection would deliver. */
START_TEST(test_reader_byte_by_byte_stream)
{
    struct ws_reader r;
    struct stream wire, buffered;
    struct ws_event ev;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&wire, 512);
    stream_init(&buffered, 512);
    append_client_frame(&wire, false, WS_OP_TEXT, "caf\xc3", 4);
    append_client_frame(&wire, true, WS_OP_PONG, "", 0);
    append_client_frame(&wire, true, WS_OP_CONTINUATION, "\xa9!", 2);
    append_client_frame(&wire, true, WS_OP_BINARY, "\xff\x00", 2);
    append_client_frame(&wire, true, WS_OP_CLOSE,
                        "\x03\xe8"
                        "bye",
                        5);

    enum ws_event_type types[8];
    size_t event_count = 0;
    for (size_t i = 0; i < wire.len; i++) {
        stream_append(&buffered, wire.data + i, 1);
        size_t consumed = ws_reader_next(&r, buffered.data, buffered.len, &ev);
        ck_assert_int_ne(ev.type, WS_EVENT_ERROR);
        if (ev.type == WS_EVENT_MESSAGE && ev.opcode == WS_OP_TEXT)
            ck_assert_mem_eq(ev.data, "caf\xc3\xa9!", 6);
        if (ev.type == WS_EVENT_MESSAGE && ev.opcode == WS_OP_BINARY)
            ck_assert_mem_eq(ev.data, "\xff\x00", 2);
        if (ev.type == WS_EVENT_CLOSE) {
            ck_assert_uint_eq(ev.close_code, 1000);
            ck_assert_uint_eq(ev.len, 3);
            ck_assert_mem_eq(ev.data, "bye", 3);
        }
        if (ev.type != WS_EVENT_NONE) {
            ck_assert_uint_lt(event_count, 8);
            types[event_count++] = ev.type;
        }
        stream_consume(&buffered, consumed);
    }

    ck_assert_uint_eq(buffered.len, 0);
    ck_assert_uint_eq(event_count, 4);
    ck_assert_int_eq(types[0], WS_EVENT_PONG);
    ck_assert_int_eq(types[1], WS_EVENT_MESSAGE);
    ck_assert_int_eq(types[2], WS_EVENT_MESSAGE);
    ck_assert_int_eq(types[3], WS_EVENT_CLOSE);

    ws_reader_free(&r);
    free(wire.data);
    free(buffered.data);
}
END_TEST

START_TEST(test_reader_code_point_split_across_fragments)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 256);
    /* U+1F600 cut after each of its first three bytes. */
    append_client_frame(&s, false, WS_OP_TEXT, "\xf0", 1);
    append_client_frame(&s, false, WS_OP_CONTINUATION, "\x9f", 1);
    append_client_frame(&s, false, WS_OP_CONTINUATION, "\x98", 1);
    append_client_frame(&s, true, WS_OP_CONTINUATION, "\x80", 1);

    ck_assert_uint_eq(ws_reader_next(&r, s.data, s.len, &ev), s.len);
    ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
    ck_assert_uint_eq(ev.len, 4);
    ck_assert_mem_eq(ev.data, "\xf0\x9f\x98\x80", 4);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_reader_binary_not_utf8_checked)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 256);
    append_client_frame(&s, true, WS_OP_BINARY, "\xc0\x80\xff", 3);

    ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
    ck_assert_uint_eq(ev.opcode, WS_OP_BINARY);
    ck_assert_uint_eq(ev.len, 3);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_reader_control_frames)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;
    uint8_t longest[WS_MAX_CONTROL_PAYLOAD];

    memset(longest, 'p', sizeof longest);
    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 512);

    append_client_frame(&s, true, WS_OP_PING, longest, sizeof longest);
    ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_int_eq(ev.type, WS_EVENT_PING);
    ck_assert_uint_eq(ev.len, WS_MAX_CONTROL_PAYLOAD);
    ck_assert_mem_eq(ev.data, longest, sizeof longest);
    s.len = 0;

    append_client_frame(&s, true, WS_OP_PONG, "x", 1);
    ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_int_eq(ev.type, WS_EVENT_PONG);
    ck_assert_uint_eq(ev.len, 1);
    s.len = 0;

    /* A close frame without a payload carries no code. */
    append_client_frame(&s, true, WS_OP_CLOSE, "", 0);
    ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_int_eq(ev.type, WS_EVENT_CLOSE);
    ck_assert_uint_eq(ev.close_code, WS_CLOSE_NO_STATUS);
    ck_assert_uint_eq(ev.len, 0);
    s.len = 0;

    append_client_frame(&s, true, WS_OP_CLOSE, "\x0f\xa0", 2);
    ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_int_eq(ev.type, WS_EVENT_CLOSE);
    ck_assert_uint_eq(ev.close_code, 4000);
    ck_assert_uint_eq(ev.len, 0);
    s.len = 0;

    append_client_frame(&s, true, WS_OP_CLOSE, "\x03\xe9sp\xc3\xa4t", 7);
    ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_int_eq(ev.type, WS_EVENT_CLOSE);
    ck_assert_uint_eq(ev.close_code, WS_CLOSE_GOING_AWAY);
    ck_assert_uint_eq(ev.len, 5);
    ck_assert_mem_eq(ev.data, "sp\xc3\xa4t", 5);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_client_reader_accepts_unmasked)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;

    ws_reader_init(&r, false, MAX_MESSAGE);
    stream_init(&s, 256);
    size_t frame_len = append_frame(&s, true, WS_OP_TEXT, 0, false, "{}", 2);

    ck_assert_uint_eq(ws_reader_next(&r, s.data, s.len, &ev), frame_len);
    ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
    ck_assert_mem_eq(ev.data, "{}", 2);
    ck_assert_ptr_eq(ev.data, s.data + 2);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_reader_reused_after_fragmented_message)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 256);

    for (int round = 0; round < 3; round++) {
        s.len = 0;
        append_client_frame(&s, false, WS_OP_TEXT, "one ", 4);
        append_client_frame(&s, true, WS_OP_CONTINUATION, "two", 3);
        append_client_frame(&s, true, WS_OP_TEXT, "three", 5);

        size_t consumed = ws_reader_next(&r, s.data, s.len, &ev);
        ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
        ck_assert_uint_eq(ev.len, 7);
        ck_assert_mem_eq(ev.data, "one two", 7);
        stream_consume(&s, consumed);

        ws_reader_next(&r, s.data, s.len, &ev);
        ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
        ck_assert_uint_eq(ev.len, 5);
        ck_assert_mem_eq(ev.data, "three", 5);
    }

    ws_reader_free(&r);
    ck_assert_ptr_null(r.message);
    free(s.data);
}
END_TEST

/* The reader: protocol errors and their close codes. */

START_TEST(test_error_rsv_bits)
{
    for (uint8_t rsv = 1; rsv <= 7; rsv++) {
        struct ws_reader r;
        struct stream s;
        ws_reader_init(&r, true, MAX_MESSAGE);
        stream_init(&s, 64);
        append_frame(&s, true, WS_OP_TEXT, rsv, true, "hi", 2);
        expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
        ws_reader_free(&r);
        free(s.data);
    }
}
END_TEST

START_TEST(test_error_reserved_opcodes)
{
    static const uint8_t reserved[] = {0x3, 0x4, 0x5, 0x6, 0x7,
                                       0xB, 0xC, 0xD, 0xE, 0xF};

    for (size_t i = 0; i < sizeof reserved; i++) {
        struct ws_reader r;
        struct stream s;
        ws_reader_init(&r, true, MAX_MESSAGE);
        stream_init(&s, 64);
        append_client_frame(&s, true, reserved[i], "", 0);
        expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
        ws_reader_free(&r);
        free(s.data);
    }
}
END_TEST

START_TEST(test_error_unmasked_client_frame)
{
    struct ws_reader r;
    struct stream s;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 64);
    append_frame(&s, true, WS_OP_TEXT, 0, false, "hi", 2);
    expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_masked_server_frame)
{
    struct ws_reader r;
    struct stream s;

    ws_reader_init(&r, false, MAX_MESSAGE);
    stream_init(&s, 64);
    append_client_frame(&s, true, WS_OP_TEXT, "hi", 2);
    expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_control_frame_too_long)
{
    static const uint8_t opcodes[] = {WS_OP_PING, WS_OP_PONG, WS_OP_CLOSE};
    uint8_t payload[126];

    memset(payload, 0, sizeof payload);
    payload[0] = 0x03;
    payload[1] = 0xE8;
    for (size_t i = 0; i < sizeof opcodes; i++) {
        struct ws_reader r;
        struct stream s;
        ws_reader_init(&r, true, MAX_MESSAGE);
        stream_init(&s, 256);
        append_client_frame(&s, true, opcodes[i], payload, sizeof payload);
        expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
        ws_reader_free(&r);
        free(s.data);
    }
}
END_TEST

START_TEST(test_error_fragmented_control_frame)
{
    static const uint8_t opcodes[] = {WS_OP_PING, WS_OP_PONG, WS_OP_CLOSE};

    for (size_t i = 0; i < sizeof opcodes; i++) {
        struct ws_reader r;
        struct stream s;
        ws_reader_init(&r, true, MAX_MESSAGE);
        stream_init(&s, 64);
        append_client_frame(&s, false, opcodes[i], "", 0);
        expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
        ws_reader_free(&r);
        free(s.data);
    }
}
END_TEST

START_TEST(test_error_length_top_bit)
{
    struct ws_reader r;
    struct stream s;
    const uint8_t header[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0x10};

    /* Only the header is buffered: the length alone decides. */
    ws_reader_init(&r, true, SIZE_MAX);
    stream_init(&s, 64);
    stream_append(&s, header, sizeof header);
    stream_append(&s, test_mask, 4);
    expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_non_minimal_length)
{
    struct ws_reader r;
    struct stream s;
    const uint8_t header[] = {0x82, 0xFE, 0x00, 0x05};

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 64);
    stream_append(&s, header, sizeof header);
    stream_append(&s, test_mask, 4);
    stream_append(&s, "12345", 5);
    expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_continuation_without_message)
{
    struct ws_reader r;
    struct stream s;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 64);
    append_client_frame(&s, true, WS_OP_CONTINUATION, "x", 1);
    expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_continuation_after_message_end)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 64);
    append_client_frame(&s, false, WS_OP_TEXT, "a", 1);
    append_client_frame(&s, true, WS_OP_CONTINUATION, "b", 1);
    size_t consumed = ws_reader_next(&r, s.data, s.len, &ev);
    ck_assert_int_eq(ev.type, WS_EVENT_MESSAGE);
    stream_consume(&s, consumed);

    append_client_frame(&s, true, WS_OP_CONTINUATION, "c", 1);
    expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_new_message_inside_fragmented)
{
    static const uint8_t opcodes[] = {WS_OP_TEXT, WS_OP_BINARY};

    for (size_t i = 0; i < sizeof opcodes; i++) {
        struct ws_reader r;
        struct stream s;
        struct ws_event ev;
        ws_reader_init(&r, true, MAX_MESSAGE);
        stream_init(&s, 64);
        size_t first = append_client_frame(&s, false, WS_OP_TEXT, "a", 1);
        append_client_frame(&s, true, opcodes[i], "b", 1);

        /* The first fragment is fine and consumed; the second frame is
         * reported without being consumed. */
        ck_assert_uint_eq(ws_reader_next(&r, s.data, s.len, &ev), first);
        ck_assert_int_eq(ev.type, WS_EVENT_ERROR);
        ck_assert_uint_eq(ev.close_code, WS_CLOSE_PROTOCOL_ERROR);
        ws_reader_free(&r);
        free(s.data);
    }
}
END_TEST

START_TEST(test_error_too_big_from_header)
{
    struct ws_reader r;
    struct stream s;
    uint8_t header[WS_MAX_HEADER_LEN];

    /* A header announcing one byte over the limit, without its payload. */
    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 64);
    size_t n = ws_write_frame_header(header, true, WS_OP_TEXT, MAX_MESSAGE + 1,
                                     test_mask);
    stream_append(&s, header, n);
    expect_error(&r, &s, WS_CLOSE_TOO_BIG);

    /* A 64-bit length far over the limit. */
    s.len = 0;
    n = ws_write_frame_header(header, true, WS_OP_BINARY, UINT64_C(1) << 40,
                              test_mask);
    stream_append(&s, header, n);
    expect_error(&r, &s, WS_CLOSE_TOO_BIG);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_too_big_accumulated)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;
    uint8_t payload[MAX_MESSAGE];
    uint8_t header[WS_MAX_HEADER_LEN];

    memset(payload, 'z', sizeof payload);
    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 2 * MAX_MESSAGE);
    size_t first = append_client_frame(&s, false, WS_OP_BINARY, payload, 1000);

    /* The continuation's header alone pushes the message past the limit. */
    size_t n = ws_write_frame_header(header, false, WS_OP_CONTINUATION,
                                     MAX_MESSAGE - 1000 + 1, test_mask);
    stream_append(&s, header, n);
    ck_assert_uint_eq(ws_reader_next(&r, s.data, s.len, &ev), first);
    ck_assert_int_eq(ev.type, WS_EVENT_ERROR);
    ck_assert_uint_eq(ev.close_code, WS_CLOSE_TOO_BIG);

    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_invalid_utf8_single_frame)
{
    struct ws_reader r;
    struct stream s;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 64);
    append_client_frame(&s, true, WS_OP_TEXT, "ok\xed\xa0\x80", 5);
    expect_error(&r, &s, WS_CLOSE_INVALID_DATA);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_invalid_utf8_in_fragment)
{
    struct ws_reader r;
    struct stream s;
    struct ws_event ev;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 64);
    size_t first = append_client_frame(&s, false, WS_OP_TEXT, "fine ", 5);
    append_client_frame(&s, false, WS_OP_CONTINUATION, "\xc0\xaf", 2);

    /* Reported from the bad fragment, before the message is finished. */
    ck_assert_uint_eq(ws_reader_next(&r, s.data, s.len, &ev), first);
    ck_assert_int_eq(ev.type, WS_EVENT_ERROR);
    ck_assert_uint_eq(ev.close_code, WS_CLOSE_INVALID_DATA);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_incomplete_code_point_at_end)
{
    struct ws_reader r;
    struct stream s;

    /* Unfragmented, then fragmented with the cut in the last fragment. */
    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 64);
    append_client_frame(&s, true, WS_OP_TEXT, "caf\xc3", 4);
    expect_error(&r, &s, WS_CLOSE_INVALID_DATA);
    ws_reader_free(&r);

    ws_reader_init(&r, true, MAX_MESSAGE);
    s.len = 0;
    append_client_frame(&s, false, WS_OP_TEXT, "caf", 3);
    append_client_frame(&s, true, WS_OP_CONTINUATION, "\xe2\x82", 2);
    expect_error(&r, &s, WS_CLOSE_INVALID_DATA);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_close_one_byte)
{
    struct ws_reader r;
    struct stream s;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 64);
    append_client_frame(&s, true, WS_OP_CLOSE, "\x03", 1);
    expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_close_invalid_code)
{
    static const unsigned codes[] = {0,    999,  1004, 1005, 1006,
                                     1015, 2000, 2999, 5000};

    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct ws_reader r;
        struct stream s;
        uint8_t payload[2] = {(uint8_t)(codes[i] >> 8), (uint8_t)codes[i]};
        ws_reader_init(&r, true, MAX_MESSAGE);
        stream_init(&s, 64);
        append_client_frame(&s, true, WS_OP_CLOSE, payload, 2);
        expect_error(&r, &s, WS_CLOSE_PROTOCOL_ERROR);
        ws_reader_free(&r);
        free(s.data);
    }
}
END_TEST

START_TEST(test_error_close_reason_not_utf8)
{
    struct ws_reader r;
    struct stream s;

    ws_reader_init(&r, true, MAX_MESSAGE);
    stream_init(&s, 64);
    append_client_frame(&s, true, WS_OP_CLOSE, "\x03\xe8\xff", 3);
    expect_error(&r, &s, WS_CLOSE_INVALID_DATA);
    ws_reader_free(&r);
    free(s.data);
}
END_TEST

START_TEST(test_error_from_first_two_bytes)
{
    /* Errors that the first two bytes decide are reported before the rest
     * of the header arrives. */
    static const uint8_t starts[][2] = {
        {0xC1, 0xFE}, /* RSV1 */
        {0x83, 0x80}, /* opcode 3 */
        {0x81, 0x7F}, /* unmasked, 64-bit length follows */
        {0x09, 0x80}, /* ping without FIN */
        {0x89, 0xFE}, /* ping with a 16-bit length */
        {0x80, 0x80}, /* continuation without a message */
    };

    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        struct ws_reader r;
        struct ws_event ev;
        uint8_t buf[2] = {starts[i][0], starts[i][1]};
        ws_reader_init(&r, true, MAX_MESSAGE);
        ck_assert_uint_eq(ws_reader_next(&r, buf, 2, &ev), 0);
        ck_assert_msg(ev.type == WS_EVENT_ERROR, "start %zu: event %d", i,
                      ev.type);
        ck_assert_uint_eq(ev.close_code, WS_CLOSE_PROTOCOL_ERROR);
        ws_reader_free(&r);
    }
}
END_TEST

static Suite *ws_codec_suite(void)
{
    Suite *s = suite_create("ws_codec");
    TCase *frames = tcase_create("frames");
    TCase *reader = tcase_create("reader");
    TCase *errors = tcase_create("errors");
    int encodings = sizeof length_encodings / sizeof length_encodings[0];

    tcase_add_loop_test(frames, test_header_length_encoding, 0, encodings);
    tcase_add_loop_test(frames, test_header_masked_round_trip, 0, encodings);
    tcase_add_test(frames, test_header_rsv_and_opcode_decoded);
    tcase_add_test(frames, test_header_length_top_bit_rejected);
    tcase_add_test(frames, test_header_non_minimal_length_rejected);
    tcase_add_test(frames, test_mask_matches_bytewise_xor);
    tcase_add_test(frames, test_mask_in_pieces_with_offset);
    tcase_add_test(frames, test_close_code_validity);
    tcase_add_test(frames, test_accept_key_rfc6455_example);
    suite_add_tcase(s, frames);

    tcase_add_test(reader, test_reader_unfragmented_text_in_place);
    tcase_add_test(reader, test_reader_waits_for_whole_frame);
    tcase_add_test(reader, test_reader_lengths_at_encoding_boundaries);
    tcase_add_test(reader, test_reader_message_at_size_limit);
    tcase_add_test(reader, test_reader_fragments_with_ping_between);
    tcase_add_test(reader, test_reader_fragment_consumed_without_event);
    tcase_add_test(reader, test_reader_byte_by_byte_stream);
    tcase_add_test(reader, test_reader_code_point_split_across_fragments);
    tcase_add_test(reader, test_reader_binary_not_utf8_checked);
    tcase_add_test(reader, test_reader_control_frames);
    tcase_add_test(reader, test_client_reader_accepts_unmasked);
    tcase_add_test(reader, test_reader_reused_after_fragmented_message);
    suite_add_tcase(s, reader);

    tcase_add_test(errors, test_error_rsv_bits);
    tcase_add_test(errors, test_error_reserved_opcodes);
    tcase_add_test(errors, test_error_unmasked_client_frame);
    tcase_add_test(errors, test_error_masked_server_frame);
    tcase_add_test(errors, test_error_control_frame_too_long);
    tcase_add_test(errors, test_error_fragmented_control_frame);
    tcase_add_test(errors, test_error_length_top_bit);
    tcase_add_test(errors, test_error_non_minimal_length);
    tcase_add_test(errors, test_error_continuation_without_message);
    tcase_add_test(errors, test_error_continuation_after_message_end);
    tcase_add_test(errors, test_error_new_message_inside_fragmented);
    tcase_add_test(errors, test_error_too_big_from_header);
    tcase_add_test(errors, test_error_too_big_accumulated);
    tcase_add_test(errors, test_error_invalid_utf8_single_frame);
    tcase_add_test(errors, test_error_invalid_utf8_in_fragment);
    tcase_add_test(errors, test_error_incomplete_code_point_at_end);
    tcase_add_test(errors, test_error_close_one_byte);
    tcase_add_test(errors, test_error_close_invalid_code);
    tcase_add_test(errors, test_error_close_reason_not_utf8);
    tcase_add_test(errors, test_error_from_first_two_bytes);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(ws_codec_suite());

    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
