/*
 * Strict RFC 4648 base64 (standard alphabet, '=' padding). Decoding rejects
 * any length that is not a multiple of 4, whitespace, characters outside the
 * alphabet, misplaced padding and non-zero pad bits. Pure functions, safe on
 * any thread.
 */
#ifndef SIGNAL_BASE64_H
#define SIGNAL_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Number of characters base64_encode writes for n input bytes (no NUL). */
static inline size_t base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Upper bound of the bytes base64_decode writes for n input characters. */
static inline size_t base64_decoded_max(size_t n)
{
    return n / 4 * 3;
}

/* Encodes n bytes into out, which must hold base64_encoded_len(n) chars.
 * Writes no terminating NUL. Returns the number of characters written. */
size_t base64_encode(const uint8_t *in, size_t n, char *out);

/* Decodes n characters into out (capacity out_cap). Returns false on any
 * malformed input or when out_cap is too small; *out_len is then undefined. */
bool base64_decode(const char *in, size_t n, uint8_t *out, size_t out_cap,
                   size_t *out_len);

#endif
