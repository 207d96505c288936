/*
 * HS256 JWT verification and minting on libjwt 1.10. The token's shape and
 * header are checked here before jwt_decode is called, because libjwt 1.10
 * decides from the token's own header whether to verify a signature at all:
 * it accepts "alg": "none" when no key is given, and with an empty key it
 * accepts an HS256 token without checking its signature. It also matches
 * algorithm names case-insensitively, so "hs256" passes as HS256. All three
 * were found by running libjwt 1.10.2. The claims are read from libjwt's own
 * parse of the verified payload. No state, so any thread may call these
 * functions.
 */
#include "token.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <jwt.h>

#include "base64.h"

/* Decodes one base64url segment without padding (RFC 7515 section 2) by
 * rewriting it as standard base64 for the strict decoder, which also
 * rejects non-zero pad bits. out receives a NUL after the bytes. */
static bool decode_segment(const char *in, size_t n, char *out, size_t out_cap,
                           size_t *out_len)
{
    char standard[TOKEN_MAX_LEN + 4];

    if (n == 0 || n % 4 == 1 || n > TOKEN_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '+' || c == '/' || c == '=')
            return false;
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        standard[i] = c;
    }
    size_t padded = n;
    while (padded % 4 != 0)
        standard[padded++] = '=';

    if (out_cap == 0 ||
        !base64_decode(standard, padded, (uint8_t *)out, out_cap - 1, out_len))
        return false;
    out[*out_len] = '\0';
    return true;
}

static bool is_base64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* True when no two members of a JSON object share a name. Parsers differ
 * in which duplicate wins, so a duplicate could make this code and libjwt
 * read different values. */
static bool has_unique_members(const cJSON *object)
{
    for (const cJSON *a = object->child; a != NULL; a = a->next) {
        for (const cJSON *b = a->next; b != NULL; b = b->next) {
            if (strcmp(a->string, b->string) == 0)
                return false;
        }
    }
    return true;
}

/* Checks the JOSE header: a JSON object without duplicate members whose
 * "alg" is exactly "HS256" and that names no critical extension. */
static enum token_result check_header(const char *segment, size_t n)
{
    char json[TOKEN_MAX_LEN];
    size_t json_len = 0;

    if (!decode_segment(segment, n, json, sizeof json, &json_len))
        return TOKEN_MALFORMED;
    cJSON *header = cJSON_ParseWithLength(json, json_len);
    if (!cJSON_IsObject(header) || !has_unique_members(header)) {
        cJSON_Delete(header);
        return TOKEN_MALFORMED;
    }

    enum token_result result = TOKEN_OK;
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0)
        result = TOKEN_BAD_ALGORITHM;
    /* RFC 7515 section 4.1.11: a token whose "crit" lists extensions the
     * recipient does not implement must be rejected, and this code
     * implements none. */
    else if (cJSON_GetObjectItemCaseSensitive(header, "crit") != NULL)
        result = TOKEN_MALFORMED;
    cJSON_Delete(header);
    return result;
}

/* Checks that the payload segment decodes to a JSON object, so that an
 * EINVAL from libjwt afterwards points at the signature. */
static bool is_json_object_segment(const char *segment, size_t n)
{
    char json[TOKEN_MAX_LEN];
    size_t json_len = 0;

    if (!decode_segment(segment, n, json, sizeof json, &json_len))
        return false;
    cJSON *payload = cJSON_ParseWithLength(json, json_len);
    bool ok = cJSON_IsObject(payload);
    cJSON_Delete(payload);
    return ok;
}

/* Splits a compact JWS into three base64url segments, header and payload
 * non-empty. Any other byte, NUL included, makes the token malformed. */
static bool check_shape(const char *token, size_t len, size_t *header_len,
                        size_t *payload_len)
{
    size_t dots[2];
    size_t dot_count = 0;

    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (dot_count == 2)
                return false;
            dots[dot_count++] = i;
        } else if (!is_base64url_char(token[i])) {
            return false;
        }
    }
    if (dot_count != 2 || dots[0] == 0 || dots[1] == dots[0] + 1)
        return false;
    *header_len = dots[0];
    *payload_len = dots[1] - dots[0] - 1;
    return true;
}

/* Applies exp and nbf (RFC 7519 sections 4.1.4 and 4.1.5) with the
 * leeway. Either may be absent, but when present it must be a number. */
static enum token_result check_times(const cJSON *claims, long leeway_s,
                                     time_t now)
{
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(claims, "nbf");
    double current = (double)now;
    double leeway = leeway_s > 0 ? (double)leeway_s : 0.0;

    if ((exp != NULL && !cJSON_IsNumber(exp)) ||
        (nbf != NULL && !cJSON_IsNumber(nbf)))
        return TOKEN_MALFORMED;
    if (exp != NULL && current > exp->valuedouble + leeway)
        return TOKEN_EXPIRED;
    if (nbf != NULL && current + leeway < nbf->valuedouble)
        return TOKEN_NOT_YET_VALID;
    return TOKEN_OK;
}

/* Copies "sub", or "userId" when "sub" is not a string, into user_id. The
 * id must be a non-empty string of at most TOKEN_USER_ID_MAX bytes. */
static enum token_result copy_user_id(const cJSON *claims, char *user_id)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(claims, "sub");

    if (!cJSON_IsString(id))
        id = cJSON_GetObjectItemCaseSensitive(claims, "userId");
    if (!cJSON_IsString(id))
        return TOKEN_NO_SUBJECT;

    size_t n = strlen(id->valuestring);
    if (n == 0 || n > TOKEN_USER_ID_MAX)
        return TOKEN_NO_SUBJECT;
    memcpy(user_id, id->valuestring, n + 1);
    return TOKEN_OK;
}

/* Reads the claims from libjwt's parse of the verified payload. */
static enum token_result check_claims(jwt_t *jwt, long leeway_s, time_t now,
                                      char *user_id)
{
    char *json = jwt_get_grants_json(jwt, NULL);
    cJSON *claims = json != NULL ? cJSON_Parse(json) : NULL;
    enum token_result result = TOKEN_MALFORMED;

    if (cJSON_IsObject(claims)) {
        result = check_times(claims, leeway_s, now);
        if (result == TOKEN_OK)
            result = copy_user_id(claims, user_id);
    }
    cJSON_Delete(claims);
    free(json);
    return result;
}

enum token_result token_verify(const char *token, size_t len,
                               const uint8_t *secret, size_t secret_len,
                               long leeway_s, time_t now, char *user_id)
{
    char copy[TOKEN_MAX_LEN + 1];
    size_t header_len = 0, payload_len = 0;

    if (len == 0 || len > TOKEN_MAX_LEN ||
        !check_shape(token, len, &header_len, &payload_len))
        return TOKEN_MALFORMED;

    enum token_result result = check_header(token, header_len);
    if (result != TOKEN_OK)
        return result;
    if (!is_json_object_segment(token + header_len + 1, payload_len))
        return TOKEN_MALFORMED;

    /* With an empty key libjwt 1.10 skips the signature check, so no token
     * can be verified against an empty secret. */
    if (secret_len == 0 || secret_len > INT32_MAX)
        return TOKEN_BAD_SIGNATURE;

    memcpy(copy, token, len);
    copy[len] = '\0';
    jwt_t *jwt = NULL;
    int rc = jwt_decode(&jwt, copy, secret, (int)secret_len);
    if (rc != 0) {
        /* libjwt returns EINVAL for a signature that does not verify and
         * for JSON it cannot parse. Both segments parsed above, so EINVAL
         * here means the signature (or JSON that only libjwt's parser,
         * jansson, rejects, such as "\u0000" in a string). */
        return rc == EINVAL ? TOKEN_BAD_SIGNATURE : TOKEN_MALFORMED;
    }
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        jwt_free(jwt);
        return TOKEN_BAD_ALGORITHM;
    }

    result = check_claims(jwt, leeway_s, now, user_id);
    jwt_free(jwt);
    return result;
}

const char *token_result_name(enum token_result r)
{
    switch (r) {
    case TOKEN_OK:
        return "ok";
    case TOKEN_MALFORMED:
        return "malformed";
    case TOKEN_BAD_ALGORITHM:
        return "bad_algorithm";
    case TOKEN_BAD_SIGNATURE:
        return "bad_signature";
    case TOKEN_EXPIRED:
        return "expired";
    case TOKEN_NOT_YET_VALID:
        return "not_yet_valid";
    case TOKEN_NO_SUBJECT:
        return "no_subject";
    }
    return "unknown";
}

char *token_issue(const uint8_t *secret, size_t secret_len, const char *sub,
                  time_t now, long ttl_s)
{
    jwt_t *jwt = NULL;
    char *token = NULL;

    /* An empty secret would mint tokens that token_verify rejects. */
    if (secret_len == 0 || secret_len > INT32_MAX || sub == NULL)
        return NULL;
    if (jwt_new(&jwt) != 0)
        return NULL;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, secret, (int)secret_len) == 0 &&
        jwt_add_grant(jwt, "sub", sub) == 0 &&
        jwt_add_grant_int(jwt, "iat", (long)now) == 0 &&
        jwt_add_grant_int(jwt, "exp", (long)now + ttl_s) == 0)
        token = jwt_encode_str(jwt);
    jwt_free(jwt);
    return token;
}
