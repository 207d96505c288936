/*
 * Unit tests of JWT verification. The tokens in token_vectors.h are minted
 * by tests/vectors/make_token_vectors.py: signatures with Python's hmac
 * module, and the encrypted claims of ignis tokens with the cryptography
 * package. So the verifier is checked against tokens that libjwt did not
 * make, laid out and keyed by code other than the code under test. Every
 * test passes a fixed "now", so none depends on the clock.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"
#include "token_vectors.h"

static const uint8_t *const secret = (const uint8_t *)VECTOR_SECRET;
static const size_t secret_len = sizeof VECTOR_SECRET - 1;

struct verify_case {
    const char *name;
    const char *token;
    long leeway_s;
    enum token_result expected;
    const char *user_id; /* expected on TOKEN_OK */
};

#define CASE(token, leeway, expected, user_id)                                 \
    {                                                                          \
#token, VECTOR_JWT_##token, leeway, expected, user_id                  \
    }

static const struct verify_case verify_cases[] = {
    /* Accepted tokens and the user id they carry. */
    CASE(GOOD, 0, TOKEN_OK, "user-42"),
    CASE(USER_ID_CLAIM, 0, TOKEN_OK, "user-7"),
    CASE(SUB_AND_USER_ID, 0, TOKEN_OK, "from-sub"),
    CASE(SUB_NUMBER_WITH_USER_ID, 0, TOKEN_OK, "fallback"),
    CASE(NO_TIMES, 0, TOKEN_OK, "timeless"),
    CASE(SUB_AT_MAX, 0, TOKEN_OK, NULL),
    CASE(AT_MAX_LEN, 0, TOKEN_OK, "big"),
    /* Subject rules. */
    CASE(SUB_NUMBER, 0, TOKEN_NO_SUBJECT, NULL),
    CASE(SUB_NULL, 0, TOKEN_NO_SUBJECT, NULL),
    CASE(USER_ID_OBJECT, 0, TOKEN_NO_SUBJECT, NULL),
    CASE(NO_SUBJECT, 0, TOKEN_NO_SUBJECT, NULL),
    CASE(SUB_EMPTY, 0, TOKEN_NO_SUBJECT, NULL),
    CASE(SUB_OVER_MAX, 0, TOKEN_NO_SUBJECT, NULL),
    /* exp and nbf, with and without leeway. */
    CASE(EXPIRED_1S, 0, TOKEN_EXPIRED, NULL),
    CASE(EXPIRED_1S, 1, TOKEN_OK, "u"),
    CASE(EXPIRED_1S, -5, TOKEN_EXPIRED, NULL),
    CASE(EXP_NOW, 0, TOKEN_OK, "u"),
    CASE(EXP_FRACTION, 0, TOKEN_EXPIRED, NULL),
    CASE(EXP_FRACTION, 1, TOKEN_OK, "u"),
    CASE(NBF_IN_30S, 0, TOKEN_NOT_YET_VALID, NULL),
    CASE(NBF_IN_30S, 29, TOKEN_NOT_YET_VALID, NULL),
    CASE(NBF_IN_30S, 30, TOKEN_OK, "u"),
    CASE(NBF_NOW, 0, TOKEN_OK, "u"),
    CASE(EXP_STRING, 0, TOKEN_MALFORMED, NULL),
    CASE(NBF_STRING, 0, TOKEN_MALFORMED, NULL),
    CASE(EXP_BOOL, 0, TOKEN_MALFORMED, NULL),
    /* Algorithms other than HS256, "none" first. */
    CASE(ALG_NONE, 0, TOKEN_BAD_ALGORITHM, NULL),
    CASE(ALG_NONE_SIGNED, 0, TOKEN_BAD_ALGORITHM, NULL),
    CASE(ALG_NONE_UPPER, 0, TOKEN_BAD_ALGORITHM, NULL),
    CASE(ALG_HS512, 0, TOKEN_BAD_ALGORITHM, NULL),
    CASE(ALG_RS256, 0, TOKEN_BAD_ALGORITHM, NULL),
    CASE(ALG_LOWER, 0, TOKEN_BAD_ALGORITHM, NULL),
    CASE(ALG_MISSING, 0, TOKEN_BAD_ALGORITHM, NULL),
    CASE(ALG_NUMBER, 0, TOKEN_BAD_ALGORITHM, NULL),
    CASE(ALG_DUPLICATE, 0, TOKEN_MALFORMED, NULL),
    CASE(CRIT_HEADER, 0, TOKEN_MALFORMED, NULL),
    /* Signatures. */
    CASE(WRONG_SECRET, 0, TOKEN_BAD_SIGNATURE, NULL),
    CASE(SWAPPED_PAYLOAD, 0, TOKEN_BAD_SIGNATURE, NULL),
    CASE(EMPTY_SIGNATURE, 0, TOKEN_BAD_SIGNATURE, NULL),
    /* Structure. */
    CASE(HEADER_NOT_JSON, 0, TOKEN_MALFORMED, NULL),
    CASE(HEADER_ARRAY, 0, TOKEN_MALFORMED, NULL),
    CASE(PAYLOAD_NOT_JSON, 0, TOKEN_MALFORMED, NULL),
    CASE(PAYLOAD_ARRAY, 0, TOKEN_MALFORMED, NULL),
    CASE(PADDED_SEGMENTS, 0, TOKEN_MALFORMED, NULL),
    CASE(OVER_MAX_LEN, 0, TOKEN_MALFORMED, NULL),
};

START_TEST(test_verify_vector)
{
    const struct verify_case *c = &verify_cases[_i];
    char user_id[TOKEN_USER_ID_MAX + 1];

    memset(user_id, 0, sizeof user_id);
    enum token_result result =
        token_verify(c->token, strlen(c->token), secret, secret_len,
                     c->leeway_s, VECTOR_NOW, user_id);
    ck_assert_msg(result == c->expected, "%s (leeway %ld): %s, expected %s",
                  c->name, c->leeway_s, token_result_name(result),
                  token_result_name(c->expected));
    if (c->user_id != NULL)
        ck_assert_str_eq(user_id, c->user_id);
}
END_TEST

/* Tokens of the ignis JWT service, whose user id sits in an encrypted
 * claim. The generator encrypts with the application secret named here,
 * or with the signing secret where the case gives no claims secret. */
struct ignis_case {
    const char *name;
    const char *token;
    const char *secret;        /* signing secret */
    const char *claims_secret; /* NULL: token_verify, the signing secret */
    enum token_result expected;
    const char *user_id; /* expected on TOKEN_OK */
};

#define IGNIS(token, secret, claims_secret, expected, user_id)                 \
    {                                                                          \
#token, VECTOR_JWT_##token, secret, claims_secret, expected, user_id   \
    }

static const struct ignis_case ignis_cases[] = {
    /* The value as JSON text (ignis 0.0.7) and as a bare string (earlier
     * releases), under secrets longer than, shorter than and exactly 32
     * characters. */
    IGNIS(IGNIS_JSON_VALUE, VECTOR_SECRET, NULL, TOKEN_OK, "user-42"),
    IGNIS(IGNIS_BARE_VALUE, VECTOR_SECRET, NULL, TOKEN_OK, "user-legacy-7"),
    IGNIS(IGNIS_SHORT_SECRET, VECTOR_IGNIS_SHORT_SECRET, NULL, TOKEN_OK,
          "short-user"),
    IGNIS(IGNIS_EXACT_SECRET, VECTOR_IGNIS_EXACT_SECRET, NULL, TOKEN_OK,
          "exact-user"),
    IGNIS(IGNIS_NO_TIMES, VECTOR_SECRET, NULL, TOKEN_OK, "timeless-ignis"),
    /* The key is the secret cut to 32 characters or padded with '0'. */
    IGNIS(IGNIS_JSON_VALUE, VECTOR_SECRET, "unit-test-secret-0123456789abcde",
          TOKEN_OK, "user-42"),
    IGNIS(IGNIS_JSON_VALUE, VECTOR_SECRET,
          "unit-test-secret-0123456789abcdeXYZ", TOKEN_OK, "user-42"),
    IGNIS(IGNIS_JSON_VALUE, VECTOR_SECRET, "unit-test-secret-0123456789abcd",
          TOKEN_NO_SUBJECT, NULL),
    IGNIS(IGNIS_SHORT_SECRET, VECTOR_IGNIS_SHORT_SECRET, "short-app-secret00",
          TOKEN_OK, "short-user"),
    IGNIS(IGNIS_SHORT_SECRET, VECTOR_IGNIS_SHORT_SECRET,
          "short-app-secret0000000000000000", TOKEN_OK, "short-user"),
    IGNIS(IGNIS_SHORT_SECRET, VECTOR_IGNIS_SHORT_SECRET, "short-app-secreT",
          TOKEN_NO_SUBJECT, NULL),
    /* A signing secret and an application secret of their own. */
    IGNIS(IGNIS_SEPARATE_APP_SECRET, VECTOR_SECRET, VECTOR_IGNIS_APP_SECRET,
          TOKEN_OK, "app-user"),
    IGNIS(IGNIS_SEPARATE_APP_SECRET, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT,
          NULL),
    IGNIS(IGNIS_WRONG_APP_SECRET, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT, NULL),
    IGNIS(IGNIS_JSON_VALUE, VECTOR_SECRET, "", TOKEN_NO_SUBJECT, NULL),
    IGNIS(IGNIS_SHORT_SECRET, VECTOR_SECRET, NULL, TOKEN_BAD_SIGNATURE, NULL),
    /* Numbers give their decimal text, and text that is not JSON is kept. */
    IGNIS(IGNIS_NUMBER_VALUE, VECTOR_SECRET, NULL, TOKEN_OK, "42"),
    IGNIS(IGNIS_NEGATIVE_NUMBER, VECTOR_SECRET, NULL, TOKEN_OK, "-7"),
    IGNIS(IGNIS_EXPONENT_NUMBER, VECTOR_SECRET, NULL, TOKEN_OK, "1000"),
    IGNIS(IGNIS_FRACTION_NUMBER, VECTOR_SECRET, NULL, TOKEN_OK, "2.5"),
    IGNIS(IGNIS_LEADING_ZERO, VECTOR_SECRET, NULL, TOKEN_OK, "007"),
    IGNIS(IGNIS_JSON_SPACES, VECTOR_SECRET, NULL, TOKEN_OK, "spaced"),
    IGNIS(IGNIS_QUOTED_NOT_JSON, VECTOR_SECRET, NULL, TOKEN_OK, "\"abc\"x"),
    IGNIS(IGNIS_UNICODE_ESCAPED, VECTOR_SECRET, NULL, TOKEN_OK,
          "\xc3\xa9l\xc3\xa8ve"),
    IGNIS(IGNIS_UNICODE_RAW, VECTOR_SECRET, NULL, TOKEN_OK,
          "\xc3\xa9l\xc3\xa8ve"),
    IGNIS(IGNIS_BARE_UNICODE, VECTOR_SECRET, NULL, TOKEN_OK,
          "\xc3\xa9l\xc3\xa8ve"),
    IGNIS(IGNIS_VALUE_AT_MAX, VECTOR_SECRET, NULL, TOKEN_OK, NULL),
    /* Values that are no user id. */
    IGNIS(IGNIS_VALUE_OBJECT, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT, NULL),
    IGNIS(IGNIS_VALUE_TRUE, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT, NULL),
    IGNIS(IGNIS_VALUE_EMPTY_STRING, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT,
          NULL),
    IGNIS(IGNIS_VALUE_EMPTY, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT, NULL),
    IGNIS(IGNIS_VALUE_NUL_ESCAPE, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT, NULL),
    IGNIS(IGNIS_VALUE_INVALID_UTF8, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT,
          NULL),
    IGNIS(IGNIS_VALUE_OVER_MAX, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT, NULL),
    /* Clear claims come first, and times are still enforced. */
    IGNIS(IGNIS_WITH_SUB, VECTOR_SECRET, NULL, TOKEN_OK, "clear-sub"),
    IGNIS(IGNIS_CLEAR_USER_ID, VECTOR_SECRET, NULL, TOKEN_OK, "clear-user"),
    IGNIS(IGNIS_EXPIRED, VECTOR_SECRET, NULL, TOKEN_EXPIRED, NULL),
    /* Claims that do not decrypt are skipped, and two userId claims are
     * ambiguous. */
    IGNIS(IGNIS_CORRUPTED_OTHER_CLAIM, VECTOR_SECRET, NULL, TOKEN_OK,
          "user-42"),
    IGNIS(IGNIS_CORRUPTED_NAME, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT, NULL),
    IGNIS(IGNIS_CORRUPTED_VALUE, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT, NULL),
    IGNIS(IGNIS_NON_CIPHERTEXT_CLAIMS, VECTOR_SECRET, NULL, TOKEN_OK,
          "user-42"),
    IGNIS(IGNIS_TWO_USER_IDS, VECTOR_SECRET, NULL, TOKEN_NO_SUBJECT, NULL),
};

START_TEST(test_verify_ignis_vector)
{
    const struct ignis_case *c = &ignis_cases[_i];
    char user_id[TOKEN_USER_ID_MAX + 1];
    enum token_result result;

    memset(user_id, 0, sizeof user_id);
    if (c->claims_secret == NULL)
        result =
            token_verify(c->token, strlen(c->token), (const uint8_t *)c->secret,
                         strlen(c->secret), 0, VECTOR_NOW, user_id);
    else
        result = token_verify_with_claims_secret(
            c->token, strlen(c->token), (const uint8_t *)c->secret,
            strlen(c->secret), (const uint8_t *)c->claims_secret,
            strlen(c->claims_secret), 0, VECTOR_NOW, user_id);
    ck_assert_msg(result == c->expected,
                  "%s (claims secret %s): %s, expected %s", c->name,
                  c->claims_secret ? c->claims_secret : "signing secret",
                  token_result_name(result), token_result_name(c->expected));
    if (c->user_id != NULL)
        ck_assert_str_eq(user_id, c->user_id);
}
END_TEST

START_TEST(test_ignis_user_id_at_max)
{
    char user_id[TOKEN_USER_ID_MAX + 1];

    memset(user_id, 'z', sizeof user_id);
    ck_assert_int_eq(token_verify(VECTOR_JWT_IGNIS_VALUE_AT_MAX,
                                  strlen(VECTOR_JWT_IGNIS_VALUE_AT_MAX), secret,
                                  secret_len, 0, VECTOR_NOW, user_id),
                     TOKEN_OK);
    ck_assert_uint_eq(strlen(user_id), TOKEN_USER_ID_MAX);
    for (size_t i = 0; i < TOKEN_USER_ID_MAX; i++)
        ck_assert_int_eq(user_id[i], 'u');
}
END_TEST

START_TEST(test_sub_at_max_copied_whole)
{
    char user_id[TOKEN_USER_ID_MAX + 1];

    memset(user_id, 'z', sizeof user_id);
    ck_assert_int_eq(token_verify(VECTOR_JWT_SUB_AT_MAX,
                                  strlen(VECTOR_JWT_SUB_AT_MAX), secret,
                                  secret_len, 0, VECTOR_NOW, user_id),
                     TOKEN_OK);
    ck_assert_uint_eq(strlen(user_id), TOKEN_USER_ID_MAX);
    for (size_t i = 0; i < TOKEN_USER_ID_MAX; i++)
        ck_assert_int_eq(user_id[i], 'a');
}
END_TEST

START_TEST(test_verify_other_secret)
{
    char user_id[TOKEN_USER_ID_MAX + 1];
    const uint8_t *other = (const uint8_t *)VECTOR_OTHER_SECRET;

    ck_assert_int_eq(token_verify(VECTOR_JWT_WRONG_SECRET,
                                  strlen(VECTOR_JWT_WRONG_SECRET), other,
                                  sizeof VECTOR_OTHER_SECRET - 1, 0, VECTOR_NOW,
                                  user_id),
                     TOKEN_OK);
    ck_assert_str_eq(user_id, "user-42");
    ck_assert_int_eq(token_verify(VECTOR_JWT_GOOD, strlen(VECTOR_JWT_GOOD),
                                  other, sizeof VECTOR_OTHER_SECRET - 1, 0,
                                  VECTOR_NOW, user_id),
                     TOKEN_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_empty_secret_rejects_all)
{
    /* libjwt 1.10 skips the signature check when given an empty key, so
     * these would pass there: a valid HS256 token and an "alg": "none"
     * token. */
    char user_id[TOKEN_USER_ID_MAX + 1];

    ck_assert_int_eq(token_verify(VECTOR_JWT_GOOD, strlen(VECTOR_JWT_GOOD),
                                  (const uint8_t *)"", 0, 0, VECTOR_NOW,
                                  user_id),
                     TOKEN_BAD_SIGNATURE);
    ck_assert_int_eq(
        token_verify(VECTOR_JWT_ALG_NONE, strlen(VECTOR_JWT_ALG_NONE),
                     (const uint8_t *)"", 0, 0, VECTOR_NOW, user_id),
        TOKEN_BAD_ALGORITHM);
}
END_TEST

START_TEST(test_token_length_bounded_by_len)
{
    /* The token need not be NUL-terminated: bytes after len are ignored,
     * and a len that cuts the signature short fails it. */
    char buf[1024];
    char user_id[TOKEN_USER_ID_MAX + 1];
    size_t n = strlen(VECTOR_JWT_GOOD);

    memcpy(buf, VECTOR_JWT_GOOD, n);
    memcpy(buf + n, "garbage.after", 13);
    ck_assert_int_eq(
        token_verify(buf, n, secret, secret_len, 0, VECTOR_NOW, user_id),
        TOKEN_OK);
    ck_assert_str_eq(user_id, "user-42");
    ck_assert_int_eq(
        token_verify(buf, n - 1, secret, secret_len, 0, VECTOR_NOW, user_id),
        TOKEN_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_garbage_input_malformed)
{
    static const char *garbage[] = {
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "..",
        "...",
        ".eyJzdWIiOiJ1In0.sig",
        "eyJhbGciOiJIUzI1NiJ9..sig",
        "eyJhbGciOiJIUzI1NiJ9 .eyJzdWIiOiJ1In0.sig",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.si+g",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.si/g",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig",
        "eyJhbGciOiJIUzI1NiJ9\n.eyJzdWIiOiJ1In0.sig",
        "e.eyJzdWIiOiJ1In0.sig", /* 1 character: not base64url of anything */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig\xff",
    };
    char user_id[TOKEN_USER_ID_MAX + 1];

    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        enum token_result result =
            token_verify(garbage[i], strlen(garbage[i]), secret, secret_len, 0,
                         VECTOR_NOW, user_id);
        ck_assert_msg(result == TOKEN_MALFORMED, "\"%s\": %s", garbage[i],
                      token_result_name(result));
    }
}
END_TEST

START_TEST(test_embedded_nul_malformed)
{
    char buf[512];
    char user_id[TOKEN_USER_ID_MAX + 1];
    size_t n = strlen(VECTOR_JWT_GOOD);

    memcpy(buf, VECTOR_JWT_GOOD, n);
    buf[10] = '\0';
    ck_assert_int_eq(
        token_verify(buf, n, secret, secret_len, 0, VECTOR_NOW, user_id),
        TOKEN_MALFORMED);
}
END_TEST

START_TEST(test_oversize_token_malformed)
{
    /* Far over the limit: rejected before anything is decoded. */
    size_t n = 4 * TOKEN_MAX_LEN;
    char *big = malloc(n);
    char user_id[TOKEN_USER_ID_MAX + 1];

    ck_assert_ptr_nonnull(big);
    memset(big, 'A', n);
    big[100] = '.';
    big[200] = '.';
    ck_assert_int_eq(
        token_verify(big, n, secret, secret_len, 0, VECTOR_NOW, user_id),
        TOKEN_MALFORMED);
    ck_assert_uint_eq(strlen(VECTOR_JWT_OVER_MAX_LEN), TOKEN_MAX_LEN + 1);
    ck_assert_uint_eq(strlen(VECTOR_JWT_AT_MAX_LEN), TOKEN_MAX_LEN);
    free(big);
}
END_TEST

START_TEST(test_issue_then_verify)
{
    char user_id[TOKEN_USER_ID_MAX + 1];
    char *token = token_issue(secret, secret_len, "alice", VECTOR_NOW, 60);

    ck_assert_ptr_nonnull(token);
    ck_assert_int_eq(token_verify(token, strlen(token), secret, secret_len, 0,
                                  VECTOR_NOW, user_id),
                     TOKEN_OK);
    ck_assert_str_eq(user_id, "alice");

    /* exp = now + ttl: valid through its last second, expired after. */
    ck_assert_int_eq(token_verify(token, strlen(token), secret, secret_len, 0,
                                  VECTOR_NOW + 60, user_id),
                     TOKEN_OK);
    ck_assert_int_eq(token_verify(token, strlen(token), secret, secret_len, 0,
                                  VECTOR_NOW + 61, user_id),
                     TOKEN_EXPIRED);
    ck_assert_int_eq(token_verify(token, strlen(token), secret, secret_len, 5,
                                  VECTOR_NOW + 65, user_id),
                     TOKEN_OK);
    ck_assert_int_eq(
        token_verify(token, strlen(token), (const uint8_t *)VECTOR_OTHER_SECRET,
                     sizeof VECTOR_OTHER_SECRET - 1, 0, VECTOR_NOW, user_id),
        TOKEN_BAD_SIGNATURE);
    free(token);
}
END_TEST

START_TEST(test_issue_header_is_hs256)
{
    /* The minted header is exactly {"alg":"HS256","typ":"JWT"}, as libjwt
     * 1.10 writes it, base64url-encoded. */
    char *token = token_issue(secret, secret_len, "bob", VECTOR_NOW, 60);

    ck_assert_ptr_nonnull(token);
    ck_assert_msg(strncmp(token, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) ==
                      0,
                  "unexpected header in %s", token);
    free(token);
}
END_TEST

START_TEST(test_issue_rejects_empty_secret)
{
    ck_assert_ptr_null(
        token_issue((const uint8_t *)"", 0, "alice", VECTOR_NOW, 60));
    ck_assert_ptr_null(token_issue(secret, secret_len, NULL, VECTOR_NOW, 60));
}
END_TEST

START_TEST(test_result_names)
{
    ck_assert_str_eq(token_result_name(TOKEN_OK), "ok");
    ck_assert_str_eq(token_result_name(TOKEN_MALFORMED), "malformed");
    ck_assert_str_eq(token_result_name(TOKEN_BAD_ALGORITHM), "bad_algorithm");
    ck_assert_str_eq(token_result_name(TOKEN_BAD_SIGNATURE), "bad_signature");
    ck_assert_str_eq(token_result_name(TOKEN_EXPIRED), "expired");
    ck_assert_str_eq(token_result_name(TOKEN_NOT_YET_VALID), "not_yet_valid");
    ck_assert_str_eq(token_result_name(TOKEN_NO_SUBJECT), "no_subject");
}
END_TEST

static Suite *token_suite(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_verify_vector, 0,
                        sizeof verify_cases / sizeof verify_cases[0]);
    tcase_add_loop_test(tc, test_verify_ignis_vector, 0,
                        sizeof ignis_cases / sizeof ignis_cases[0]);
    tcase_add_test(tc, test_ignis_user_id_at_max);
    tcase_add_test(tc, test_sub_at_max_copied_whole);
    tcase_add_test(tc, test_verify_other_secret);
    tcase_add_test(tc, test_empty_secret_rejects_all);
    tcase_add_test(tc, test_token_length_bounded_by_len);
    tcase_add_test(tc, test_garbage_input_malformed);
    tcase_add_test(tc, test_embedded_nul_malformed);
    tcase_add_test(tc, test_oversize_token_malformed);
    tcase_add_test(tc, test_issue_then_verify);
    tcase_add_test(tc, test_issue_header_is_hs256);
    tcase_add_test(tc, test_issue_rejects_empty_secret);
    tcase_add_test(tc, test_result_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(token_suite());

    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
