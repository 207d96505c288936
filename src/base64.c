/*
 * Strict RFC 4648 base64 with the standard alphabet and '=' padding. Both
 * directions are table-driven and work on whole 3-byte groups. Decoding
 * checks every character, the padding and the pad bits. No state, so any
 * thread may call it.
 */
#include "base64.h"

static const char encode_table[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of each alphabet character. X marks every other byte, '=' included,
 * so one OR over a group shows whether any character was invalid. */
#define X 0xFF
// clang-format off
static const uint8_t decode_table[256] = {
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  62, X,  X,  X,  63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X,  X,  X,  X,  X,  X,
    X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,  X,  X,  X,
    X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
};
// clang-format on
#undef X

size_t base64_encode(const uint8_t *in, size_t n, char *out)
{
    char *start = out;
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t group =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[0] = encode_table[group >> 18];
        out[1] = encode_table[(group >> 12) & 0x3F];
        out[2] = encode_table[(group >> 6) & 0x3F];
        out[3] = encode_table[group & 0x3F];
        out += 4;
    }

    /* One or two bytes left: pad the group with zero bits and '='. */
    if (n - i == 1) {
        uint32_t group = (uint32_t)in[i] << 16;
        out[0] = encode_table[group >> 18];
        out[1] = encode_table[(group >> 12) & 0x3F];
        out[2] = '=';
        out[3] = '=';
        out += 4;
    } else if (n - i == 2) {
        uint32_t group = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[0] = encode_table[group >> 18];
        out[1] = encode_table[(group >> 12) & 0x3F];
        out[2] = encode_table[(group >> 6) & 0x3F];
        out[3] = '=';
        out += 4;
    }
    return (size_t)(out - start);
}

bool base64_decode(const char *in, size_t n, uint8_t *out, size_t out_cap,
                   size_t *out_len)
{
    const uint8_t *s = (const uint8_t *)in;

    if (n % 4 != 0)
        return false;
    if (n == 0) {
        *out_len = 0;
        return true;
    }

    /* Padding may only close the last group, as "xx==" or "xxx=". */
    size_t pad = 0;
    if (s[n - 1] == '=')
        pad = s[n - 2] == '=' ? 2 : 1;
    size_t decoded_len = n / 4 * 3 - pad;
    if (decoded_len > out_cap)
        return false;

    /* Every group but the last has four alphabet characters. */
    size_t full_end = n - 4;
    for (size_t i = 0; i < full_end; i += 4) {
        uint8_t a = decode_table[s[i]], b = decode_table[s[i + 1]];
        uint8_t c = decode_table[s[i + 2]], d = decode_table[s[i + 3]];
        if ((a | b | c | d) & 0xC0)
            return false;
        uint32_t group =
            (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
        out[0] = (uint8_t)(group >> 16);
        out[1] = (uint8_t)(group >> 8);
        out[2] = (uint8_t)group;
        out += 3;
    }

    /* The last group: the characters before the padding must be in the
     * alphabet and the bits that the padding drops must be zero, so every
     * byte string has exactly one accepted encoding. */
    const uint8_t *last = s + full_end;
    uint8_t a = decode_table[last[0]], b = decode_table[last[1]];
    uint8_t c = pad == 2 ? 0 : decode_table[last[2]];
    uint8_t d = pad >= 1 ? 0 : decode_table[last[3]];
    if ((a | b | c | d) & 0xC0)
        return false;
    uint32_t group =
        (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
    if (pad == 2 && (b & 0x0F) != 0)
        return false;
    if (pad == 1 && (c & 0x03) != 0)
        return false;
    out[0] = (uint8_t)(group >> 16);
    if (pad < 2)
        out[1] = (uint8_t)(group >> 8);
    if (pad < 1)
        out[2] = (uint8_t)group;

    *out_len = decoded_len;
    return true;
}
