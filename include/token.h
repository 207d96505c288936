/*
 * JWT verification for WebSocket clients and REST callers (libjwt), with
 * the algorithm pinned to HS256: a token whose header names any other
 * algorithm, "none" included, is rejected before its signature is looked
 * at. Also reads the user id of tokens minted by the ignis JWT service,
 * which encrypts every claim but the standard ones (iss sub aud jti nbf exp
 * iat): name and value are each base64(IV || AES-256-CBC(text)), with a
 * random 16-byte IV and PKCS#7 padding, under the application secret cut
 * to 32 bytes or padded with '0' up to 32. Also mints tokens for the
 * development setup, tests and the benchmark. Thread-safe.
 */
#ifndef SIGNAL_TOKEN_H
#define SIGNAL_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOKEN_MAX_LEN 8192    /* longer tokens are rejected as malformed */
#define TOKEN_USER_ID_MAX 256 /* bytes of a user id, without the NUL */

enum token_result {
    TOKEN_OK,
    TOKEN_MALFORMED,     /* not three base64url parts of JSON */
    TOKEN_BAD_ALGORITHM, /* header alg is not HS256 */
    TOKEN_BAD_SIGNATURE,
    TOKEN_EXPIRED,       /* now > exp + leeway */
    TOKEN_NOT_YET_VALID, /* now + leeway < nbf */
    TOKEN_NO_SUBJECT,    /* no usable "sub" or "userId", clear or encrypted */
};

/* Verifies token (len bytes, not necessarily NUL-terminated) against the
 * shared secret. On TOKEN_OK copies the user id into user_id (capacity
 * TOKEN_USER_ID_MAX + 1), non-empty and at most TOKEN_USER_ID_MAX bytes:
 * - the "sub" claim when it is a string;
 * - else the "userId" claim when it is a string;
 * - else the value of the one encrypted claim whose name decrypts to
 *   "userId", with the shared secret as the application secret. A value
 *   that is a JSON string gives its content, a JSON number its decimal
 *   text, and text that is not JSON (earlier ignis releases) is taken as
 *   it is if it is valid UTF-8. Claims that do not decrypt are skipped.
 * A numeric exp or nbf is enforced, and a non-numeric one makes the token
 * malformed, as do a duplicated header member and a "crit" header. An empty
 * secret verifies nothing: every well-formed HS256 token gets
 * TOKEN_BAD_SIGNATURE. A negative leeway counts as 0. */
enum token_result token_verify(const char *token, size_t len,
                               const uint8_t *secret, size_t secret_len,
                               long leeway_s, time_t now, char *user_id);

/* Verifies token as token_verify does, but decrypts the claims with
 * claims_secret, the application secret of the ignis service, which may
 * differ from its signing secret. An empty claims_secret decrypts no
 * claim. */
enum token_result token_verify_with_claims_secret(
    const char *token, size_t len, const uint8_t *secret, size_t secret_len,
    const uint8_t *claims_secret, size_t claims_secret_len, long leeway_s,
    time_t now, char *user_id);

/* Short machine-friendly name for logs: "malformed", "expired", ... */
const char *token_result_name(enum token_result r);

/* Mints an HS256 token with sub, iat = now and exp = now + ttl_s. Returns a
 * malloc'd string, or NULL (also for an empty secret or a NULL sub). */
char *token_issue(const uint8_t *secret, size_t secret_len, const char *sub,
                  time_t now, long ttl_s);

#endif
