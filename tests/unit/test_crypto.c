/*
 * Unit tests of the session cryptography. The fixed vectors in
 * crypto_vectors.h come from Python's cryptography package
 * (tests/vectors/make_crypto_vectors.py), so a wrong curve, HKDF info
 * string, salt use or tag layout fails here even though both ends of a
 * round trip through our own code would agree.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "crypto_vectors.h"

static EVP_PKEY *load_server_private_key(void)
{
    const unsigned char *p = vector_server_private_der;
    EVP_PKEY *key =
        d2i_AutoPrivateKey(NULL, &p, (long)sizeof vector_server_private_der);

    ck_assert_msg(key != NULL, "the DER private key did not load");
    return key;
}

static bool is_all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

/* Fixed vectors. */

START_TEST(test_hkdf_info_string)
{
    ck_assert_str_eq(CRYPTO_HKDF_INFO, VECTOR_HKDF_INFO);
}
END_TEST

START_TEST(test_export_public_key_vector)
{
    EVP_PKEY *server = load_server_private_key();
    uint8_t exported[CRYPTO_PUBLIC_KEY_LEN];

    ck_assert(crypto_export_public_key(server, exported));
    ck_assert_mem_eq(exported, vector_server_public, CRYPTO_PUBLIC_KEY_LEN);
    EVP_PKEY_free(server);
}
END_TEST

START_TEST(test_shared_secret_vector)
{
    EVP_PKEY *server = load_server_private_key();
    EVP_PKEY *client = crypto_import_public_key(vector_client_public,
                                                sizeof vector_client_public);
    uint8_t secret[CRYPTO_SECRET_LEN];

    ck_assert_ptr_nonnull(client);
    ck_assert(crypto_derive_shared_secret(server, client, secret));
    ck_assert_mem_eq(secret, vector_shared_secret, CRYPTO_SECRET_LEN);

    EVP_PKEY_free(client);
    EVP_PKEY_free(server);
}
END_TEST

START_TEST(test_session_key_vector)
{
    uint8_t key[CRYPTO_KEY_LEN];

    ck_assert(
        crypto_derive_session_key(vector_shared_secret, vector_salt, key));
    ck_assert_mem_eq(key, vector_session_key, CRYPTO_KEY_LEN);
}
END_TEST

START_TEST(test_gcm_seal_vector)
{
    struct crypto_gcm *gcm = crypto_gcm_new();
    uint8_t sealed[sizeof vector_gcm_plain + CRYPTO_TAG_LEN];

    ck_assert_ptr_nonnull(gcm);
    ck_assert_uint_eq(sizeof vector_gcm_sealed, sizeof sealed);
    ck_assert(crypto_gcm_seal(gcm, vector_gcm_key, vector_gcm_iv,
                              vector_gcm_plain, sizeof vector_gcm_plain,
                              sealed));
    ck_assert_mem_eq(sealed, vector_gcm_sealed, sizeof sealed);
    crypto_gcm_free(gcm);
}
END_TEST

START_TEST(test_gcm_open_vector)
{
    struct crypto_gcm *gcm = crypto_gcm_new();
    uint8_t plain[sizeof vector_gcm_plain];

    ck_assert(crypto_gcm_open(gcm, vector_gcm_key, vector_gcm_iv,
                              vector_gcm_sealed, sizeof vector_gcm_sealed,
                              plain));
    ck_assert_mem_eq(plain, vector_gcm_plain, sizeof plain);
    crypto_gcm_free(gcm);
}
END_TEST

START_TEST(test_gcm_empty_plaintext_vector)
{
    struct crypto_gcm *gcm = crypto_gcm_new();
    uint8_t sealed[CRYPTO_TAG_LEN];
    uint8_t plain[1];

    /* The sealed form of nothing is the tag alone. */
    ck_assert_uint_eq(sizeof vector_gcm_empty_sealed, CRYPTO_TAG_LEN);
    ck_assert(
        crypto_gcm_seal(gcm, vector_gcm_key, vector_gcm_iv, plain, 0, sealed));
    ck_assert_mem_eq(sealed, vector_gcm_empty_sealed, CRYPTO_TAG_LEN);
    ck_assert(crypto_gcm_open(gcm, vector_gcm_key, vector_gcm_iv, sealed,
                              CRYPTO_TAG_LEN, plain));
    crypto_gcm_free(gcm);
}
END_TEST

START_TEST(test_envelope_sealed_under_derived_key)
{
    /* The whole server path from the fixed inputs: private key and client
     * point to secret, secret and salt to key, key to an encrypted
     * envelope. */
    EVP_PKEY *server = load_server_private_key();
    EVP_PKEY *client = crypto_import_public_key(vector_client_public,
                                                sizeof vector_client_public);
    struct crypto_gcm *gcm = crypto_gcm_new();
    uint8_t secret[CRYPTO_SECRET_LEN], key[CRYPTO_KEY_LEN];
    uint8_t sealed[sizeof vector_envelope + CRYPTO_TAG_LEN];

    ck_assert(crypto_derive_shared_secret(server, client, secret));
    ck_assert(crypto_derive_session_key(secret, vector_salt, key));
    ck_assert(crypto_gcm_seal(gcm, key, vector_envelope_iv, vector_envelope,
                              sizeof vector_envelope, sealed));
    ck_assert_uint_eq(sizeof sealed, sizeof vector_envelope_sealed);
    ck_assert_mem_eq(sealed, vector_envelope_sealed, sizeof sealed);

    crypto_gcm_free(gcm);
    EVP_PKEY_free(client);
    EVP_PKEY_free(server);
}
END_TEST

/* AES-256-GCM behaviour. */

START_TEST(test_gcm_tampered_byte_rejected)
{
    struct crypto_gcm *gcm = crypto_gcm_new();
    uint8_t sealed[sizeof vector_gcm_sealed];
    uint8_t plain[sizeof vector_gcm_plain];

    /* Flipping one bit anywhere, ciphertext or tag, must fail the tag
     * check and leave no plaintext behind. */
    for (size_t i = 0; i < sizeof sealed; i++) {
        memcpy(sealed, vector_gcm_sealed, sizeof sealed);
        sealed[i] ^= 0x01;
        memset(plain, 0xAA, sizeof plain);
        ck_assert_msg(!crypto_gcm_open(gcm, vector_gcm_key, vector_gcm_iv,
                                       sealed, sizeof sealed, plain),
                      "bit flip in byte %zu accepted", i);
        ck_assert_msg(is_all_zero(plain, sizeof plain),
                      "plaintext left after failed open (byte %zu)", i);
    }
    crypto_gcm_free(gcm);
}
END_TEST

START_TEST(test_gcm_wrong_key_or_iv_rejected)
{
    struct crypto_gcm *gcm = crypto_gcm_new();
    uint8_t plain[sizeof vector_gcm_plain];
    uint8_t key[CRYPTO_KEY_LEN], iv[CRYPTO_IV_LEN];

    memcpy(key, vector_gcm_key, sizeof key);
    key[31] ^= 0x80;
    ck_assert(!crypto_gcm_open(gcm, key, vector_gcm_iv, vector_gcm_sealed,
                               sizeof vector_gcm_sealed, plain));

    memcpy(iv, vector_gcm_iv, sizeof iv);
    iv[0] ^= 0x01;
    ck_assert(!crypto_gcm_open(gcm, vector_gcm_key, iv, vector_gcm_sealed,
                               sizeof vector_gcm_sealed, plain));

    /* The context still works with the right key after the failures. */
    ck_assert(crypto_gcm_open(gcm, vector_gcm_key, vector_gcm_iv,
                              vector_gcm_sealed, sizeof vector_gcm_sealed,
                              plain));
    crypto_gcm_free(gcm);
}
END_TEST

START_TEST(test_gcm_truncated_input_rejected)
{
    struct crypto_gcm *gcm = crypto_gcm_new();
    uint8_t plain[sizeof vector_gcm_plain];

    /* Shorter than a tag, and the tag cut off the end. */
    ck_assert(!crypto_gcm_open(gcm, vector_gcm_key, vector_gcm_iv,
                               vector_gcm_sealed, CRYPTO_TAG_LEN - 1, plain));
    ck_assert(!crypto_gcm_open(gcm, vector_gcm_key, vector_gcm_iv,
                               vector_gcm_sealed, 0, plain));
    ck_assert(!crypto_gcm_open(gcm, vector_gcm_key, vector_gcm_iv,
                               vector_gcm_sealed, sizeof vector_gcm_sealed - 1,
                               plain));
    crypto_gcm_free(gcm);
}
END_TEST

START_TEST(test_gcm_context_rekeyed_per_call)
{
    struct crypto_gcm *gcm = crypto_gcm_new();
    uint8_t key_a[CRYPTO_KEY_LEN], key_b[CRYPTO_KEY_LEN];
    uint8_t iv[CRYPTO_IV_LEN];
    uint8_t sealed_a[64 + CRYPTO_TAG_LEN], sealed_b[64 + CRYPTO_TAG_LEN];
    uint8_t text[64], plain[64];

    memset(key_a, 0x11, sizeof key_a);
    memset(key_b, 0x22, sizeof key_b);
    memset(iv, 0x33, sizeof iv);
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (uint8_t)i;

    /* One context alternating keys and directions, as a worker thread
     * does for many clients. */
    for (int round = 0; round < 3; round++) {
        ck_assert(crypto_gcm_seal(gcm, key_a, iv, text, sizeof text, sealed_a));
        ck_assert(crypto_gcm_seal(gcm, key_b, iv, text, sizeof text, sealed_b));
        ck_assert(memcmp(sealed_a, sealed_b, sizeof sealed_a) != 0);

        ck_assert(
            crypto_gcm_open(gcm, key_a, iv, sealed_a, sizeof sealed_a, plain));
        ck_assert_mem_eq(plain, text, sizeof text);
        ck_assert(
            !crypto_gcm_open(gcm, key_a, iv, sealed_b, sizeof sealed_b, plain));
        ck_assert(
            crypto_gcm_open(gcm, key_b, iv, sealed_b, sizeof sealed_b, plain));
        ck_assert_mem_eq(plain, text, sizeof text);
    }
    crypto_gcm_free(gcm);
}
END_TEST

START_TEST(test_gcm_round_trip_lengths)
{
    struct crypto_gcm *gcm = crypto_gcm_new();
    uint8_t text[300], sealed[300 + CRYPTO_TAG_LEN], plain[300];

    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (uint8_t)(i * 3);

    for (size_t n = 0; n <= sizeof text; n += 7) {
        ck_assert(crypto_gcm_seal(gcm, vector_gcm_key, vector_gcm_iv, text, n,
                                  sealed));
        ck_assert(crypto_gcm_open(gcm, vector_gcm_key, vector_gcm_iv, sealed,
                                  n + CRYPTO_TAG_LEN, plain));
        ck_assert_msg(memcmp(plain, text, n) == 0, "round trip of %zu bytes",
                      n);
    }
    crypto_gcm_free(gcm);
}
END_TEST

/* Public key import. */

START_TEST(test_import_vector_points)
{
    EVP_PKEY *key = crypto_import_public_key(vector_server_public,
                                             sizeof vector_server_public);
    uint8_t exported[CRYPTO_PUBLIC_KEY_LEN];

    ck_assert_ptr_nonnull(key);
    ck_assert(crypto_export_public_key(key, exported));
    ck_assert_mem_eq(exported, vector_server_public, CRYPTO_PUBLIC_KEY_LEN);
    EVP_PKEY_free(key);
}
END_TEST

/* The field prime of P-256, as a coordinate it is out of range. */
static const uint8_t p256_prime[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

enum bad_point {
    BAD_PREFIX_00,
    BAD_PREFIX_02,
    BAD_PREFIX_03,
    BAD_PREFIX_06_HYBRID,
    BAD_Y_FLIPPED,
    BAD_X_IS_PRIME,
    BAD_Y_IS_PRIME,
    BAD_ALL_ZERO,
    BAD_ALL_ONES,
    BAD_POINT_COUNT,
};

static const char *const bad_point_names[] = {
    "prefix 0x00",
    "prefix 0x02",
    "prefix 0x03",
    "hybrid prefix 0x06",
    "Y low bit flipped (off the curve)",
    "X = p",
    "Y = p",
    "all zero",
    "all 0xFF",
};

/* Writes the client's vector point spoiled in the way case names. */
static void make_bad_point(int which, uint8_t raw[CRYPTO_PUBLIC_KEY_LEN])
{
    memcpy(raw, vector_client_public, CRYPTO_PUBLIC_KEY_LEN);
    switch ((enum bad_point)which) {
    case BAD_PREFIX_00:
        raw[0] = 0x00;
        break;
    case BAD_PREFIX_02:
        raw[0] = 0x02;
        break;
    case BAD_PREFIX_03:
        raw[0] = 0x03;
        break;
    case BAD_PREFIX_06_HYBRID:
        raw[0] = (raw[64] & 1) ? 0x07 : 0x06;
        break;
    case BAD_Y_FLIPPED:
        raw[64] ^= 0x01;
        break;
    case BAD_X_IS_PRIME:
        memcpy(raw + 1, p256_prime, 32);
        break;
    case BAD_Y_IS_PRIME:
        memcpy(raw + 33, p256_prime, 32);
        break;
    case BAD_ALL_ZERO:
        memset(raw + 1, 0x00, 64);
        break;
    case BAD_ALL_ONES:
        memset(raw + 1, 0xFF, 64);
        break;
    default:
        ck_abort_msg("no such case");
    }
}

START_TEST(test_import_rejects_bad_point)
{
    uint8_t raw[CRYPTO_PUBLIC_KEY_LEN];

    make_bad_point(_i, raw);
    EVP_PKEY *key = crypto_import_public_key(raw, sizeof raw);
    ck_assert_msg(key == NULL, "imported a point with %s", bad_point_names[_i]);
    EVP_PKEY_free(key);
}
END_TEST

/* The fast ECDH path must agree with the independent vectors. */
static struct crypto_ecdh *load_server_fast_key(void)
{
    EVP_PKEY *server = load_server_private_key();
    BIGNUM *scalar = NULL;
    uint8_t bytes[32];

    ck_assert(EVP_PKEY_get_bn_param(server, OSSL_PKEY_PARAM_PRIV_KEY, &scalar));
    ck_assert_int_eq(BN_bn2binpad(scalar, bytes, sizeof bytes), 32);
    struct crypto_ecdh *k = crypto_ecdh_from_private(bytes);
    ck_assert_ptr_nonnull(k);
    BN_clear_free(scalar);
    EVP_PKEY_free(server);
    return k;
}

START_TEST(test_ecdh_fast_path_vector)
{
    struct crypto_ecdh *k = load_server_fast_key();
    uint8_t secret[CRYPTO_SECRET_LEN];

    ck_assert_mem_eq(crypto_ecdh_public_key(k), vector_server_public,
                     CRYPTO_PUBLIC_KEY_LEN);
    ck_assert(crypto_ecdh_derive(k, vector_client_public,
                                 sizeof vector_client_public, secret));
    ck_assert_mem_eq(secret, vector_shared_secret, CRYPTO_SECRET_LEN);
    crypto_ecdh_free(k);
}
END_TEST

START_TEST(test_ecdh_fast_path_rejects_bad_point)
{
    struct crypto_ecdh *k = load_server_fast_key();
    uint8_t raw[CRYPTO_PUBLIC_KEY_LEN];
    uint8_t secret[CRYPTO_SECRET_LEN];

    make_bad_point(_i, raw);
    ck_assert_msg(!crypto_ecdh_derive(k, raw, sizeof raw, secret),
                  "derived a secret from a point with %s", bad_point_names[_i]);
    ck_assert_msg(!crypto_ecdh_derive(k, raw, sizeof raw - 1, secret),
                  "derived a secret from a 64-byte point");
    crypto_ecdh_free(k);
}
END_TEST

START_TEST(test_ecdh_fast_path_rejects_bad_scalar)
{
    uint8_t zero[32] = {0};
    uint8_t ones[32];

    memset(ones, 0xFF, sizeof ones); /* above the group order */
    ck_assert_ptr_null(crypto_ecdh_from_private(zero));
    ck_assert_ptr_null(crypto_ecdh_from_private(ones));
}
END_TEST

START_TEST(test_ecdh_generated_pairs_agree_with_evp)
{
    struct crypto_ecdh *fast = crypto_ecdh_generate();
    EVP_PKEY *evp = crypto_generate_key_pair();
    uint8_t evp_public[CRYPTO_PUBLIC_KEY_LEN];
    uint8_t a[CRYPTO_SECRET_LEN], b[CRYPTO_SECRET_LEN];

    ck_assert_ptr_nonnull(fast);
    ck_assert_ptr_nonnull(evp);
    ck_assert(crypto_export_public_key(evp, evp_public));
    ck_assert(crypto_ecdh_derive(fast, evp_public, sizeof evp_public, a));
    EVP_PKEY *fast_public = crypto_import_public_key(
        crypto_ecdh_public_key(fast), CRYPTO_PUBLIC_KEY_LEN);
    ck_assert_ptr_nonnull(fast_public);
    ck_assert(crypto_derive_shared_secret(evp, fast_public, b));
    ck_assert_mem_eq(a, b, CRYPTO_SECRET_LEN);
    EVP_PKEY_free(fast_public);
    EVP_PKEY_free(evp);
    crypto_ecdh_free(fast);
}
END_TEST

START_TEST(test_import_rejects_wrong_length)
{
    static const size_t lengths[] = {0, 1, 33, 64};
    uint8_t raw[66];

    memcpy(raw, vector_client_public, CRYPTO_PUBLIC_KEY_LEN);
    raw[65] = 0x00;
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
        ck_assert_msg(crypto_import_public_key(raw, lengths[i]) == NULL,
                      "imported %zu bytes", lengths[i]);
    ck_assert_ptr_null(crypto_import_public_key(raw, 66));

    /* The 33-byte compressed form of a valid point is not accepted either. */
    raw[0] = (vector_client_public[64] & 1) ? 0x03 : 0x02;
    ck_assert_ptr_null(crypto_import_public_key(raw, 33));
}
END_TEST

/* Generated keys and the one-step exchange. */

START_TEST(test_generated_pairs_agree)
{
    EVP_PKEY *a = crypto_generate_key_pair();
    EVP_PKEY *b = crypto_generate_key_pair();
    uint8_t raw_a[CRYPTO_PUBLIC_KEY_LEN], raw_b[CRYPTO_PUBLIC_KEY_LEN];
    uint8_t secret_ab[CRYPTO_SECRET_LEN], secret_ba[CRYPTO_SECRET_LEN];

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert(crypto_export_public_key(a, raw_a));
    ck_assert(crypto_export_public_key(b, raw_b));
    ck_assert_uint_eq(raw_a[0], 0x04);
    ck_assert(memcmp(raw_a, raw_b, sizeof raw_a) != 0);

    /* Each side uses only the other's exported bytes. */
    EVP_PKEY *peer_of_a = crypto_import_public_key(raw_b, sizeof raw_b);
    EVP_PKEY *peer_of_b = crypto_import_public_key(raw_a, sizeof raw_a);
    ck_assert_ptr_nonnull(peer_of_a);
    ck_assert_ptr_nonnull(peer_of_b);
    ck_assert(crypto_derive_shared_secret(a, peer_of_a, secret_ab));
    ck_assert(crypto_derive_shared_secret(b, peer_of_b, secret_ba));
    ck_assert_mem_eq(secret_ab, secret_ba, CRYPTO_SECRET_LEN);

    EVP_PKEY_free(peer_of_a);
    EVP_PKEY_free(peer_of_b);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
}
END_TEST

START_TEST(test_accept_key_exchange_matches_client)
{
    EVP_PKEY *client = crypto_generate_key_pair();
    uint8_t client_public[CRYPTO_PUBLIC_KEY_LEN];
    uint8_t server_public[CRYPTO_PUBLIC_KEY_LEN], salt[CRYPTO_SALT_LEN];
    uint8_t server_key[CRYPTO_KEY_LEN];

    ck_assert(crypto_export_public_key(client, client_public));
    ck_assert(crypto_accept_key_exchange(client_public, sizeof client_public,
                                         server_public, salt, server_key));

    /* The client's side, from what the connected event carries. */
    EVP_PKEY *server =
        crypto_import_public_key(server_public, sizeof server_public);
    uint8_t secret[CRYPTO_SECRET_LEN], client_key[CRYPTO_KEY_LEN];
    ck_assert_ptr_nonnull(server);
    ck_assert(crypto_derive_shared_secret(client, server, secret));
    ck_assert(crypto_derive_session_key(secret, salt, client_key));
    ck_assert_mem_eq(client_key, server_key, CRYPTO_KEY_LEN);

    /* A second exchange uses a fresh key pair and salt. */
    uint8_t second_public[CRYPTO_PUBLIC_KEY_LEN], second_salt[CRYPTO_SALT_LEN];
    uint8_t second_key[CRYPTO_KEY_LEN];
    ck_assert(crypto_accept_key_exchange(client_public, sizeof client_public,
                                         second_public, second_salt,
                                         second_key));
    ck_assert(memcmp(second_public, server_public, sizeof server_public) != 0);
    ck_assert(memcmp(second_salt, salt, sizeof salt) != 0);
    ck_assert(memcmp(second_key, server_key, sizeof server_key) != 0);

    EVP_PKEY_free(server);
    EVP_PKEY_free(client);
}
END_TEST

START_TEST(test_accept_key_exchange_rejects_bad_key)
{
    uint8_t raw[CRYPTO_PUBLIC_KEY_LEN];
    uint8_t server_public[CRYPTO_PUBLIC_KEY_LEN], salt[CRYPTO_SALT_LEN];
    uint8_t key[CRYPTO_KEY_LEN];

    memcpy(raw, vector_client_public, sizeof raw);
    raw[64] ^= 0x01;
    ck_assert(
        !crypto_accept_key_exchange(raw, sizeof raw, server_public, salt, key));
    ck_assert(!crypto_accept_key_exchange(raw, 64, server_public, salt, key));
}
END_TEST

START_TEST(test_random_and_wipe)
{
    uint8_t a[64], b[64];

    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    ck_assert(crypto_random(a, sizeof a));
    ck_assert(crypto_random(b, sizeof b));
    ck_assert(!is_all_zero(a, sizeof a));
    ck_assert(memcmp(a, b, sizeof a) != 0);
    ck_assert(crypto_random(a, 0));

    crypto_wipe(a, sizeof a);
    ck_assert(is_all_zero(a, sizeof a));
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *vectors = tcase_create("vectors");
    TCase *gcm = tcase_create("gcm");
    TCase *keys = tcase_create("keys");

    tcase_add_test(vectors, test_hkdf_info_string);
    tcase_add_test(vectors, test_export_public_key_vector);
    tcase_add_test(vectors, test_shared_secret_vector);
    tcase_add_test(vectors, test_session_key_vector);
    tcase_add_test(vectors, test_gcm_seal_vector);
    tcase_add_test(vectors, test_gcm_open_vector);
    tcase_add_test(vectors, test_gcm_empty_plaintext_vector);
    tcase_add_test(vectors, test_envelope_sealed_under_derived_key);
    suite_add_tcase(s, vectors);

    tcase_add_test(gcm, test_gcm_tampered_byte_rejected);
    tcase_add_test(gcm, test_gcm_wrong_key_or_iv_rejected);
    tcase_add_test(gcm, test_gcm_truncated_input_rejected);
    tcase_add_test(gcm, test_gcm_context_rekeyed_per_call);
    tcase_add_test(gcm, test_gcm_round_trip_lengths);
    suite_add_tcase(s, gcm);

    tcase_add_test(keys, test_import_vector_points);
    tcase_add_loop_test(keys, test_import_rejects_bad_point, 0,
                        BAD_POINT_COUNT);
    tcase_add_test(keys, test_import_rejects_wrong_length);
    tcase_add_test(keys, test_ecdh_fast_path_vector);
    tcase_add_loop_test(keys, test_ecdh_fast_path_rejects_bad_point, 0,
                        BAD_POINT_COUNT);
    tcase_add_test(keys, test_ecdh_fast_path_rejects_bad_scalar);
    tcase_add_test(keys, test_ecdh_generated_pairs_agree_with_evp);
    tcase_add_test(keys, test_generated_pairs_agree);
    tcase_add_test(keys, test_accept_key_exchange_matches_client);
    tcase_add_test(keys, test_accept_key_exchange_rejects_bad_key);
    tcase_add_test(keys, test_random_and_wipe);
    suite_add_tcase(s, keys);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(crypto_suite());

    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
