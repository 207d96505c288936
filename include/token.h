/*
 * JWT verification for WebSocket clients and REST callers (libjwt), with
 * the algorithm pinned to HS256: a token whose header names any other
 * algorithm, "none" included, is rejected before its signature is looked
 * at. Also mints tokens for the development setup, tests and the benchmark.
 * Thread-safe.
 */
#ifndef SIGNAL_TOKEN_H
#define SIGNAL_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOKEN_MAX_LEN 8192      /* longer tokens are rejected as malformed */
#define TOKEN_USER_ID_MAX 256   /* bytes of a user id, without the NUL */

enum token_result {
    TOKEN_OK,
    TOKEN_MALFORMED,      /* not three base64url parts of JSON */
    TOKEN_BAD_ALGORITHM,  /* header alg is not HS256 */
    TOKEN_BAD_SIGNATURE,
    TOKEN_EXPIRED,        /* now > exp + leeway */
    TOKEN_NOT_YET_VALID,  /* now + leeway < nbf */
    TOKEN_NO_SUBJECT,     /* neither a string "sub" nor a string "userId" */
};

/* Verifies token (len bytes, not necessarily NUL-terminated) against the
 * shared secret. On TOKEN_OK copies the user id ("sub", else "userId") into
 * user_id (capacity TOKEN_USER_ID_MAX + 1). A numeric exp or nbf is
 * enforced; a non-numeric one makes the token malformed. */
enum token_result token_verify(const char *token, size_t len,
                               const uint8_t *secret, size_t secret_len,
                               long leeway_s, time_t now, char *user_id);

/* Short machine-friendly name for logs: "malformed", "expired", ... */
const char *token_result_name(enum token_result r);

/* Mints an HS256 token with sub, iat = now and exp = now + ttl_s. Returns a
 * malloc'd string, or NULL. */
char *token_issue(const uint8_t *secret, size_t secret_len, const char *sub,
                  time_t now, long ttl_s);

#endif
