/*
 * HS256 JWT verification and minting on libjwt 1.10. The token's shape and
 * header are checked here before jwt_decode is called, because libjwt 1.10
 * decides from the token's own header whether to verify a signature at all:
 * it accepts "alg": "none" when no key is given, and with an empty key it
 * accepts an HS256 token without checking its signature. It also matches
 * algorithm names case-insensitively, so "hs256" passes as HS256. All three
 * were found by running libjwt 1.10.2. The claims are read from libjwt's own
 * parse of the verified payload. Tokens of the ignis JWT service carry the
 * user id in an AES-256-CBC encrypted claim, which is decrypted here with
 * OpenSSL. No state, so any thread may call these functions.
 */
#include "token.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base64.h"
#include "utf8.h"

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

/* Copies n bytes of text as the user id: non-empty, at most
 * TOKEN_USER_ID_MAX bytes, valid UTF-8 and without NUL. */
static enum token_result copy_user_id_bytes(const char *text, size_t n,
                                            char *user_id)
{
    if (n == 0 || n > TOKEN_USER_ID_MAX || memchr(text, '\0', n) != NULL ||
        !utf8_is_valid((const uint8_t *)text, n))
        return TOKEN_NO_SUBJECT;
    memcpy(user_id, text, n);
    user_id[n] = '\0';
    return TOKEN_OK;
}

/* Claims the ignis JWT service leaves in clear. It encrypts all others. */
static const char *const standard_claims[] = {"iss", "sub", "aud", "jti",
                                              "nbf", "exp", "iat"};

#define CLAIM_KEY_LEN 32 /* AES-256 */
#define CLAIM_IV_LEN 16  /* AES block */

static bool is_standard_claim(const char *name)
{
    for (size_t i = 0; i < sizeof standard_claims / sizeof standard_claims[0];
         i++) {
        if (strcmp(name, standard_claims[i]) == 0)
            return true;
    }
    return false;
}

/* Makes the AES key as the ignis service does: the application secret cut
 * to 32 bytes or padded with the character '0' up to 32. ignis-helpers
 * 0.0.7 cuts and pads JavaScript characters, the same as bytes for an
 * ASCII secret, and its AES call fails for a key that is not 32 bytes in
 * UTF-8, so no ignis token is encrypted under another kind of key. */
static void derive_claim_key(const uint8_t *secret, size_t secret_len,
                             uint8_t key[CLAIM_KEY_LEN])
{
    size_t n = secret_len < CLAIM_KEY_LEN ? secret_len : CLAIM_KEY_LEN;

    memcpy(key, secret, n);
    memset(key + n, '0', CLAIM_KEY_LEN - n);
}

/* Decrypts one encrypted claim name or value: base64 of a 16-byte IV and
 * the AES-256-CBC ciphertext with PKCS#7 padding. out (capacity
 * TOKEN_MAX_LEN) receives the text and a NUL after it. False when the
 * text is not such a ciphertext under this key or its padding is wrong. */
static bool decrypt_claim(const uint8_t key[CLAIM_KEY_LEN], const char *text,
                          char *out, size_t *out_len)
{
    uint8_t raw[TOKEN_MAX_LEN];
    size_t raw_len = 0;
    size_t n = strlen(text);

    if (n > TOKEN_MAX_LEN || !base64_decode(text, n, raw, sizeof raw, &raw_len))
        return false;
    if (raw_len < CLAIM_IV_LEN + 16 || (raw_len - CLAIM_IV_LEN) % 16 != 0)
        return false;

    /* EVP_DecryptUpdate may write up to one block more than it is given,
     * and the NUL needs one byte: raw_len + 1 fits in TOKEN_MAX_LEN. */
    int ciphertext_len = (int)(raw_len - CLAIM_IV_LEN);
    int update_len = 0, final_len = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    bool ok =
        ctx != NULL &&
        EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, raw) == 1 &&
        EVP_DecryptUpdate(ctx, (uint8_t *)out, &update_len, raw + CLAIM_IV_LEN,
                          ciphertext_len) == 1 &&
        EVP_DecryptFinal_ex(ctx, (uint8_t *)out + update_len, &final_len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok)
        return false;
    *out_len = (size_t)(update_len + final_len);
    out[*out_len] = '\0';
    return true;
}

/* True when a JSON string literal contains the escape \u0000, which cJSON
 * would decode into a NUL that ends its C string early. */
static bool json_string_has_nul(const char *text, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (text[i] != '\\')
            continue;
        if (i + 5 < n && memcmp(text + i + 1, "u0000", 5) == 0)
            return true;
        i++; /* skip the escaped character, "\\" included */
    }
    return false;
}

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* True when text[0..n) is a JSON integer: an optional minus sign and
 * digits without a leading zero. */
static bool is_json_integer(const char *text, size_t n)
{
    size_t i = n > 0 && text[0] == '-' ? 1 : 0;

    if (i == n || (text[i] == '0' && n - i > 1))
        return false;
    for (; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
    }
    return true;
}

/* True when text[0..n) matches the JSON number grammar (RFC 8259 section
 * 6). cJSON's parser also takes forms JSON forbids, such as "007". */
static bool is_json_number(const char *text, size_t n)
{
    size_t i = 0;

    if (i < n && text[i] == '-')
        i++;
    if (i < n && text[i] == '0') {
        i++;
    } else if (i < n && text[i] >= '1' && text[i] <= '9') {
        while (i < n && text[i] >= '0' && text[i] <= '9')
            i++;
    } else {
        return false;
    }
    if (i < n && text[i] == '.') {
        size_t digits = ++i;
        while (i < n && text[i] >= '0' && text[i] <= '9')
            i++;
        if (i == digits)
            return false;
    }
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        if (i < n && (text[i] == '+' || text[i] == '-'))
            i++;
        size_t digits = i;
        while (i < n && text[i] >= '0' && text[i] <= '9')
            i++;
        if (i == digits)
            return false;
    }
    return i == n;
}

/* Writes a JSON number as decimal text: an integer as written, an
 * integral value below 2^53 in magnitude in full ("1e3" gives "1000"),
 * and any other number as the shortest %g text that reads back as the
 * same double. */
static enum token_result copy_number_user_id(const char *text, size_t n,
                                             double value, char *user_id)
{
    char decimal[64];

    if (is_json_integer(text, n))
        return copy_user_id_bytes(text, n, user_id);
    if (!isfinite(value))
        return TOKEN_NO_SUBJECT; /* beyond the range of a double */
    if (value > -9007199254740992.0 && value < 9007199254740992.0 &&
        value == (double)(long long)value) {
        snprintf(decimal, sizeof decimal, "%lld", (long long)value);
    } else {
        for (int precision = 1; precision <= 17; precision++) {
            snprintf(decimal, sizeof decimal, "%.*g", precision, value);
            if (strtod(decimal, NULL) == value)
                break;
        }
    }
    return copy_user_id_bytes(decimal, strlen(decimal), user_id);
}

/* Reads the decrypted value of the userId claim. ignis 0.0.7 encrypts JSON
 * text. Earlier releases encrypted the bare string, so text that is not
 * JSON is the user id as it is. A JSON string gives its content and a
 * number its decimal text. Any other JSON value (true, null, an object or
 * an array) is no user id, like the same value in a clear claim. */
static enum token_result user_id_from_claim_text(const char *text, size_t n,
                                                 char *user_id)
{
    const char *end = NULL;
    cJSON *value = cJSON_ParseWithLengthOpts(text, n, &end, false);

    /* cJSON stops after the first value, so check that only JSON
     * whitespace follows it. */
    if (value != NULL) {
        const char *p = end;
        while (p < text + n && is_json_space(*p))
            p++;
        if (p != text + n) {
            cJSON_Delete(value);
            value = NULL;
        }
    }

    /* The trimmed text of the value, for the number grammar check. */
    const char *first = text;
    const char *last = text + n;
    while (first < last && is_json_space(*first))
        first++;
    while (last > first && is_json_space(last[-1]))
        last--;
    size_t trimmed_len = (size_t)(last - first);

    enum token_result result;
    if (cJSON_IsString(value)) {
        result = json_string_has_nul(text, n)
                     ? TOKEN_NO_SUBJECT
                     : copy_user_id_bytes(value->valuestring,
                                          strlen(value->valuestring), user_id);
    } else if (cJSON_IsNumber(value) && is_json_number(first, trimmed_len)) {
        result = copy_number_user_id(first, trimmed_len, value->valuedouble,
                                     user_id);
    } else if (cJSON_IsNumber(value) || value == NULL) {
        result = copy_user_id_bytes(text, n, user_id);
    } else {
        result = TOKEN_NO_SUBJECT;
    }
    cJSON_Delete(value);
    return result;
}

/* Finds the encrypted claim whose name decrypts to "userId" and reads its
 * value. Claims that do not decrypt under the key are skipped. Two claims
 * named userId make the user id ambiguous, so neither is used. */
static enum token_result copy_encrypted_user_id(const cJSON *claims,
                                                const uint8_t *claims_secret,
                                                size_t claims_secret_len,
                                                char *user_id)
{
    uint8_t key[CLAIM_KEY_LEN];
    char plain[TOKEN_MAX_LEN];
    size_t plain_len = 0;
    const cJSON *found = NULL;
    enum token_result result = TOKEN_NO_SUBJECT;

    if (claims_secret_len == 0)
        return TOKEN_NO_SUBJECT;
    derive_claim_key(claims_secret, claims_secret_len, key);

    for (const cJSON *claim = claims->child; claim != NULL;
         claim = claim->next) {
        if (!cJSON_IsString(claim) || is_standard_claim(claim->string))
            continue;
        if (!decrypt_claim(key, claim->string, plain, &plain_len))
            continue;
        if (plain_len != 6 || memcmp(plain, "userId", 6) != 0)
            continue;
        if (found != NULL)
            goto out;
        found = claim;
    }
    if (found != NULL &&
        decrypt_claim(key, found->valuestring, plain, &plain_len))
        result = user_id_from_claim_text(plain, plain_len, user_id);
out:
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(plain, sizeof plain);
    return result;
}

/* Copies the user id into user_id: "sub" when it is a string, else a
 * string "userId" claim, else the encrypted userId claim of an ignis
 * token. A clear id must be a non-empty string of at most
 * TOKEN_USER_ID_MAX bytes. */
static enum token_result copy_user_id(const cJSON *claims,
                                      const uint8_t *claims_secret,
                                      size_t claims_secret_len, char *user_id)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(claims, "sub");

    if (!cJSON_IsString(id))
        id = cJSON_GetObjectItemCaseSensitive(claims, "userId");
    if (!cJSON_IsString(id))
        return copy_encrypted_user_id(claims, claims_secret, claims_secret_len,
                                      user_id);

    size_t n = strlen(id->valuestring);
    if (n == 0 || n > TOKEN_USER_ID_MAX)
        return TOKEN_NO_SUBJECT;
    memcpy(user_id, id->valuestring, n + 1);
    return TOKEN_OK;
}

/* Reads the claims from libjwt's parse of the verified payload. */
static enum token_result check_claims(jwt_t *jwt, const uint8_t *claims_secret,
                                      size_t claims_secret_len, long leeway_s,
                                      time_t now, char *user_id)
{
    char *json = jwt_get_grants_json(jwt, NULL);
    cJSON *claims = json != NULL ? cJSON_Parse(json) : NULL;
    enum token_result result = TOKEN_MALFORMED;

    if (cJSON_IsObject(claims)) {
        result = check_times(claims, leeway_s, now);
        if (result == TOKEN_OK)
            result =
                copy_user_id(claims, claims_secret, claims_secret_len, user_id);
    }
    cJSON_Delete(claims);
    free(json);
    return result;
}

enum token_result token_verify(const char *token, size_t len,
                               const uint8_t *secret, size_t secret_len,
                               long leeway_s, time_t now, char *user_id)
{
    return token_verify_with_claims_secret(token, len, secret, secret_len,
                                           secret, secret_len, leeway_s, now,
                                           user_id);
}

enum token_result token_verify_with_claims_secret(
    const char *token, size_t len, const uint8_t *secret, size_t secret_len,
    const uint8_t *claims_secret, size_t claims_secret_len, long leeway_s,
    time_t now, char *user_id)
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

    result = check_claims(jwt, claims_secret, claims_secret_len, leeway_s, now,
                          user_id);
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
