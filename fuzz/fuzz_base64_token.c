/*
 * libFuzzer target for the input decoders of the authentication path:
 * strict base64 (base64_decode), JWT verification (token_verify with a
 * fixed secret) and UTF-8 validation. The first byte picks the mode (byte
 * % 3); the rest is the input:
 *
 *   0  base64: a decoded string re-encodes to exactly the input, and any
 *      bytes survive an encode-decode round trip.
 *   1  token: verification of arbitrary text never crashes, and an
 *      accepted token yields a NUL-terminated user id. A token
 *      issued for a subject made from the input verifies to that subject
 *      and fails once expired or under another secret.
 *   2  UTF-8: after every prefix the incremental validator agrees with an
 *      independent reference that decodes code points, for the input fed
 *      whole, in chunks and byte by byte; utf8_is_valid agrees too.
 */
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "fuzz_check.h"
#include "token.h"
#include "utf8.h"

static const uint8_t secret[] = "fuzz-secret-0123456789abcdef";
static const uint8_t other_secret[] = "fuzz-secret-0123456789abcdeF";
static const time_t now = 1767225600; /* 2026-01-01T00:00:00Z */

static void fuzz_base64(const uint8_t *data, size_t size)
{
    size_t cap = base64_decoded_max(size);
    uint8_t *decoded = malloc(cap > 0 ? cap : 1);
    char *encoded = malloc(base64_encoded_len(size) + 1);
    uint8_t *again = malloc(size > 0 ? size : 1);
    size_t decoded_len = 0, again_len = 0;

    if (decoded == NULL || encoded == NULL || again == NULL)
        abort();

    if (base64_decode((const char *)data, size, decoded, cap, &decoded_len)) {
        FUZZ_CHECK(decoded_len <= cap, "decoded more than base64_decoded_max");
        size_t n = base64_encode(decoded, decoded_len, encoded);
        FUZZ_CHECK(n == size && memcmp(encoded, data, size) == 0,
                   "accepted input is not the canonical encoding of its bytes");
        if (decoded_len > 0)
            FUZZ_CHECK(!base64_decode((const char *)data, size, again,
                                      decoded_len - 1, &again_len),
                       "decoded into a buffer one byte too small");
    }

    size_t n = base64_encode(data, size, encoded);
    FUZZ_CHECK(n == base64_encoded_len(size), "encoded length differs");
    FUZZ_CHECK(base64_decode(encoded, n, again, size, &again_len),
               "own encoding rejected");
    FUZZ_CHECK(again_len == size && memcmp(again, data, size) == 0,
               "encode-decode round trip changed the bytes");

    free(decoded);
    free(encoded);
    free(again);
}

static void fuzz_token(const uint8_t *data, size_t size)
{
    char user_id[TOKEN_USER_ID_MAX + 1];

    memset(user_id, 'x', sizeof user_id);
    enum token_result r = token_verify((const char *)data, size, secret,
                                       sizeof secret - 1, 0, now, user_id);
    FUZZ_CHECK(token_result_name(r) != NULL, "result without a name");
    if (r == TOKEN_OK)
        FUZZ_CHECK(memchr(user_id, '\0', sizeof user_id) != NULL,
                   "accepted token gave an unterminated user id");

    /* A subject of up to 64 printable ASCII characters taken from the input. */
    char sub[65];
    size_t sub_len = 0;
    for (size_t i = 0; i < size && sub_len < sizeof sub - 1; i++) {
        if (data[i] >= 0x20 && data[i] < 0x7F)
            sub[sub_len++] = (char)data[i];
    }
    if (sub_len == 0)
        return;
    sub[sub_len] = '\0';

    char *token = token_issue(secret, sizeof secret - 1, sub, now, 60);
    FUZZ_CHECK(token != NULL, "token_issue failed");
    size_t token_len = strlen(token);

    r = token_verify(token, token_len, secret, sizeof secret - 1, 0, now + 30,
                     user_id);
    FUZZ_CHECK(r == TOKEN_OK, "issued token rejected");
    FUZZ_CHECK(strcmp(user_id, sub) == 0,
               "issued token verified to another subject");
    FUZZ_CHECK(token_verify(token, token_len, secret, sizeof secret - 1, 0,
                            now + 61, user_id) == TOKEN_EXPIRED,
               "expired token not reported expired");
    FUZZ_CHECK(token_verify(token, token_len, other_secret,
                            sizeof other_secret - 1, 0, now + 30,
                            user_id) == TOKEN_BAD_SIGNATURE,
               "token accepted under another secret");
    free(token);
}

/* Number of bytes of the sequence a lead byte starts; 0 for a byte that
 * cannot start one (a continuation byte, F8..FF). */
static size_t sequence_length(uint8_t lead)
{
    if (lead < 0x80)
        return 1;
    if (lead < 0xC0)
        return 0;
    if (lead < 0xE0)
        return 2;
    if (lead < 0xF0)
        return 3;
    if (lead < 0xF8)
        return 4;
    return 0;
}

/* True when the first k bytes of an n-byte sequence can still become a
 * valid code point (RFC 3629: no overlong form, no surrogate, at most
 * U+10FFFF). The completions cover one interval of code points: the
 * missing bits all 0 up to all 1. */
static bool sequence_can_complete(const uint8_t *p, size_t k, size_t n)
{
    static const uint32_t min_code_point[] = {0, 0, 0x80, 0x800, 0x10000};
    static const uint32_t max_code_point[] = {0, 0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
    uint32_t low = n == 1 ? p[0] : p[0] & (0x7Fu >> n);

    for (size_t i = 1; i < k; i++)
        low = low << 6 | (p[i] & 0x3Fu);
    uint32_t high = low;
    for (size_t i = k; i < n; i++) {
        low = low << 6;
        high = high << 6 | 0x3F;
    }

    uint32_t from = low > min_code_point[n] ? low : min_code_point[n];
    uint32_t to = high < max_code_point[n] ? high : max_code_point[n];
    if (from > to)
        return false;
    return !(from >= 0xD800 && to <= 0xDFFF);
}

/* Fills status[i] with the expected validator status after the first i
 * bytes, for i = 0..n. */
static void reference_prefix_status(const uint8_t *p, size_t n,
                                    enum utf8_status *status)
{
    size_t i = 0;

    status[0] = UTF8_COMPLETE;
    while (i < n) {
        size_t length = sequence_length(p[i]);
        for (size_t k = 1; k <= (length > 0 ? length : 1) && i + k <= n; k++) {
            bool valid = length > 0 &&
                         (k == 1 || (p[i + k - 1] & 0xC0) == 0x80) &&
                         sequence_can_complete(p + i, k, length);
            if (!valid) {
                for (size_t j = i + k; j <= n; j++)
                    status[j] = UTF8_INVALID;
                return;
            }
            status[i + k] = k == length ? UTF8_COMPLETE : UTF8_INCOMPLETE;
        }
        i += length;
    }
}

static void feed_in_chunks(const uint8_t *p, size_t n, size_t chunk,
                           const enum utf8_status *expected)
{
    struct utf8_validator v;

    utf8_validator_init(&v);
    for (size_t start = 0; start < n; start += chunk) {
        size_t end = start + chunk < n ? start + chunk : n;
        enum utf8_status got = utf8_validator_feed(&v, p + start, end - start);
        FUZZ_CHECK(got == expected[end],
                   "incremental status differs from the reference");
    }
}

static void fuzz_utf8(const uint8_t *data, size_t size)
{
    enum utf8_status *expected = malloc((size + 1) * sizeof *expected);

    if (expected == NULL)
        abort();
    reference_prefix_status(data, size, expected);

    bool valid = expected[size] == UTF8_COMPLETE;
    FUZZ_CHECK(utf8_is_valid(data, size) == valid,
               "utf8_is_valid differs from the reference");
    if (valid) {
        size_t code_points = 0;
        for (size_t i = 0; i < size; i++)
            code_points += sequence_length(data[i]) > 0;
        FUZZ_CHECK(utf8_count_code_points(data, size) == code_points,
                   "code point count differs from the reference");
    }

    struct utf8_validator v;
    utf8_validator_init(&v);
    FUZZ_CHECK(utf8_validator_feed(&v, data, size) == expected[size],
               "status of the whole input differs from the reference");

    /* Chunks of 1 byte, of 1 to 16 bytes chosen by the first byte (which
     * crosses the validator's 8-byte ASCII fast path), and of 8 bytes. */
    feed_in_chunks(data, size, 1, expected);
    feed_in_chunks(data, size, size > 0 ? 1 + data[0] % 16 : 1, expected);
    feed_in_chunks(data, size, 8, expected);
    free(expected);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;

    /* A copy of exactly the input's size, so over-reads are caught. */
    uint8_t *input = fuzz_copy(data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        fuzz_base64(input, size - 1);
        break;
    case 1:
        fuzz_token(input, size - 1);
        break;
    default:
        fuzz_utf8(input, size - 1);
        break;
    }
    free(input);
    return 0;
}
