/*
 * Unit tests of the strict base64 codec: the RFC 4648 section 10 vectors,
 * round trips of every length and byte value, and each kind of input that
 * decoding must reject.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

struct vector {
    const char *plain;
    const char *encoded;
};

/* RFC 4648 section 10. */
static const struct vector rfc4648_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static bool decode_string(const char *in, uint8_t *out, size_t cap,
                          size_t *out_len)
{
    return base64_decode(in, strlen(in), out, cap, out_len);
}

START_TEST(test_encode_rfc4648_vectors)
{
    const struct vector *v = &rfc4648_vectors[_i];
    char out[16];
    size_t n = strlen(v->plain);

    size_t written = base64_encode((const uint8_t *)v->plain, n, out);
    ck_assert_uint_eq(written, strlen(v->encoded));
    ck_assert_uint_eq(written, base64_encoded_len(n));
    ck_assert_mem_eq(out, v->encoded, written);
}
END_TEST

START_TEST(test_decode_rfc4648_vectors)
{
    const struct vector *v = &rfc4648_vectors[_i];
    uint8_t out[16];
    size_t out_len = 99;

    ck_assert_msg(decode_string(v->encoded, out, sizeof out, &out_len),
                  "decoding \"%s\" failed", v->encoded);
    ck_assert_uint_eq(out_len, strlen(v->plain));
    ck_assert_mem_eq(out, v->plain, out_len);
}
END_TEST

START_TEST(test_round_trip_every_length)
{
    uint8_t plain[300], decoded[300];
    char encoded[400];

    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (uint8_t)(i * 7 + 13);

    for (size_t n = 0; n <= sizeof plain; n++) {
        size_t written = base64_encode(plain, n, encoded);
        ck_assert_uint_eq(written, base64_encoded_len(n));
        ck_assert_uint_le(n, base64_decoded_max(written));

        size_t out_len = 0;
        ck_assert_msg(base64_decode(encoded, written, decoded, n, &out_len),
                      "decoding the encoding of %zu bytes failed", n);
        ck_assert_uint_eq(out_len, n);
        ck_assert_mem_eq(decoded, plain, n);
    }
}
END_TEST

START_TEST(test_round_trip_every_byte_value)
{
    uint8_t plain[256], decoded[256];
    char encoded[344];

    for (int i = 0; i < 256; i++)
        plain[i] = (uint8_t)i;
    size_t written = base64_encode(plain, sizeof plain, encoded);
    ck_assert_uint_eq(written, 344);

    size_t out_len = 0;
    ck_assert(
        base64_decode(encoded, written, decoded, sizeof decoded, &out_len));
    ck_assert_uint_eq(out_len, 256);
    ck_assert_mem_eq(decoded, plain, 256);
}
END_TEST

START_TEST(test_decode_uses_whole_alphabet)
{
    /* The 64 alphabet characters in order decode to 48 bytes whose bits
     * count up 0, 1, 2, ... 63 in 6-bit steps. */
    const char *alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t out[48];
    size_t out_len = 0;

    ck_assert(decode_string(alphabet, out, sizeof out, &out_len));
    ck_assert_uint_eq(out_len, 48);
    for (unsigned value = 0; value < 64; value++) {
        size_t bit = value * 6;
        unsigned got = 0;
        for (int k = 0; k < 6; k++, bit++)
            got = got << 1 | ((out[bit / 8] >> (7 - bit % 8)) & 1);
        ck_assert_uint_eq(got, value);
    }
}
END_TEST

/* Inputs that a strict decoder must reject, each with the rule it breaks. */
static const struct {
    const char *input;
    const char *rule;
} rejected_inputs[] = {
    {"Z", "length not a multiple of 4"},
    {"Zg", "length not a multiple of 4"},
    {"Zg=", "length not a multiple of 4"},
    {"Zm9vY", "length not a multiple of 4"},
    {"Zm9v\n", "trailing newline"},
    {"Zm9v\r\nYmFy", "line break inside"},
    {" Zm9", "leading space"},
    {"Zm 9", "space inside"},
    {"Zm9\t", "tab"},
    {"Zm9-", "base64url character '-'"},
    {"Zm9_", "base64url character '_'"},
    {"Zm9.", "character outside the alphabet"},
    {"Zm9*", "character outside the alphabet"},
    {"Zm9\x80", "byte above 0x7F"},
    {"Zm9\xff", "byte 0xFF"},
    {"====", "padding only"},
    {"Z===", "three padding characters"},
    {"=m9v", "padding first"},
    {"Z=9v", "padding in second place"},
    {"Zm=v", "padding before a data character"},
    {"Zg==Zm9v", "padding before the last group"},
    {"Zm8=Zm9v", "padding before the last group"},
    {"Zm9vZg=a", "data after padding"},
    {"Zh==", "non-zero pad bits after one byte"},
    {"Zm9=", "non-zero pad bits after two bytes"},
    {"Zg=/", "'/' after a padding character"},
};

START_TEST(test_decode_rejects_malformed)
{
    const char *input = rejected_inputs[_i].input;
    uint8_t out[16];
    size_t out_len = 0;

    ck_assert_msg(!decode_string(input, out, sizeof out, &out_len),
                  "accepted \"%s\" (%s)", input, rejected_inputs[_i].rule);
}
END_TEST

START_TEST(test_decode_rejects_nul_byte)
{
    uint8_t out[16];
    size_t out_len = 0;

    ck_assert(!base64_decode("Zm\0v", 4, out, sizeof out, &out_len));
    ck_assert(!base64_decode("Zg=\0", 4, out, sizeof out, &out_len));
}
END_TEST

START_TEST(test_decode_rejects_small_buffer)
{
    uint8_t out[6];
    size_t out_len = 0;

    ck_assert(!decode_string("Zm9vYmFy", out, 5, &out_len));
    ck_assert(!decode_string("Zm9vYg==", out, 3, &out_len));
    ck_assert(!decode_string("Zg==", out, 0, &out_len));
}
END_TEST

START_TEST(test_decode_fits_exact_buffer)
{
    /* The capacity check counts the padding, so a padded input fits in
     * exactly as many bytes as it encodes. */
    uint8_t out[4] = {0xAA, 0xAA, 0xAA, 0xAA};
    size_t out_len = 0;

    ck_assert(decode_string("Zm9vYg==", out, 4, &out_len));
    ck_assert_uint_eq(out_len, 4);
    ck_assert_mem_eq(out, "foob", 4);

    memset(out, 0xAA, sizeof out);
    ck_assert(decode_string("Zm8=", out, 2, &out_len));
    ck_assert_uint_eq(out_len, 2);
    ck_assert_mem_eq(out, "fo", 2);
    ck_assert_uint_eq(out[2], 0xAA);
}
END_TEST

static Suite *base64_suite(void)
{
    Suite *s = suite_create("base64");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_encode_rfc4648_vectors, 0,
                        sizeof rfc4648_vectors / sizeof rfc4648_vectors[0]);
    tcase_add_loop_test(tc, test_decode_rfc4648_vectors, 0,
                        sizeof rfc4648_vectors / sizeof rfc4648_vectors[0]);
    tcase_add_test(tc, test_round_trip_every_length);
    tcase_add_test(tc, test_round_trip_every_byte_value);
    tcase_add_test(tc, test_decode_uses_whole_alphabet);
    tcase_add_loop_test(tc, test_decode_rejects_malformed, 0,
                        sizeof rejected_inputs / sizeof rejected_inputs[0]);
    tcase_add_test(tc, test_decode_rejects_nul_byte);
    tcase_add_test(tc, test_decode_rejects_small_buffer);
    tcase_add_test(tc, test_decode_fits_exact_buffer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(base64_suite());

    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
