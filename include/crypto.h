/*
 * The session cryptography of the wire protocol: ECDH on P-256, HKDF-SHA256
 * with the fixed info string, AES-256-GCM with 12-byte IVs and the 16-byte
 * tag appended to the ciphertext (WebCrypto's layout), no additional data.
 * Built on OpenSSL 3's EVP APIs. Functions are thread-safe; a crypto_gcm
 * context belongs to one thread.
 */
#ifndef SIGNAL_CRYPTO_H
#define SIGNAL_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define CRYPTO_KEY_LEN 32
#define CRYPTO_IV_LEN 12
#define CRYPTO_TAG_LEN 16
#define CRYPTO_SALT_LEN 32
#define CRYPTO_SECRET_LEN 32
#define CRYPTO_PUBLIC_KEY_LEN 65 /* 0x04 || X || Y */
#define CRYPTO_HKDF_INFO "ignis-ecdh-p256-aes-256-gcm-v1"

/* Fills p[0..n) from OpenSSL's CSPRNG. */
bool crypto_random(void *p, size_t n);

/* Overwrites secret memory in a way the compiler keeps. */
void crypto_wipe(void *p, size_t n);

/* A fresh P-256 key pair, or NULL. Free with EVP_PKEY_free. */
EVP_PKEY *crypto_generate_key_pair(void);

/* Writes the uncompressed public point of key into out. */
bool crypto_export_public_key(EVP_PKEY *key,
                              uint8_t out[CRYPTO_PUBLIC_KEY_LEN]);

/* Imports a peer's uncompressed P-256 point. NULL when raw is not 65 bytes,
 * not uncompressed, or not a point on the curve. */
EVP_PKEY *crypto_import_public_key(const uint8_t *raw, size_t len);

/* ECDH: the 32-byte X coordinate of the shared point. */
bool crypto_derive_shared_secret(EVP_PKEY *mine, EVP_PKEY *peer,
                                 uint8_t secret[CRYPTO_SECRET_LEN]);

/* HKDF-SHA256(IKM = secret, salt, info = CRYPTO_HKDF_INFO) -> 32-byte key. */
bool crypto_derive_session_key(const uint8_t secret[CRYPTO_SECRET_LEN],
                               const uint8_t salt[CRYPTO_SALT_LEN],
                               uint8_t key[CRYPTO_KEY_LEN]);

/* A P-256 key pair for one handshake on the fast path: EC_GROUP and
 * EC_POINT arithmetic, without the EVP_PKEY provider dispatch that costs
 * OpenSSL 3.0 more than the point multiplication itself (see crypto.c).
 * Not shared between threads. */
struct crypto_ecdh;

/* A fresh key pair with a uniform private scalar in [1, n-1], or NULL. */
struct crypto_ecdh *crypto_ecdh_generate(void);

/* A key pair from a fixed 32-byte big-endian private scalar (tests). */
struct crypto_ecdh *crypto_ecdh_from_private(const uint8_t scalar[32]);

/* The uncompressed public point (65 bytes). */
const uint8_t *crypto_ecdh_public_key(const struct crypto_ecdh *k);

/* ECDH with a peer's uncompressed point: the X coordinate of the shared
 * point. False when the point is not 65 bytes, not uncompressed or not on
 * the curve. */
bool crypto_ecdh_derive(const struct crypto_ecdh *k, const uint8_t *peer,
                        size_t len, uint8_t secret[CRYPTO_SECRET_LEN]);

/* Wipes the private scalar and frees the pair. */
void crypto_ecdh_free(struct crypto_ecdh *k);

/* The server side of the key exchange in one step: imports the client's
 * public key, generates a fresh key pair and salt, and derives the session
 * key. Returns false when the client key is unusable or OpenSSL fails. */
bool crypto_accept_key_exchange(const uint8_t *client_public, size_t len,
                                uint8_t server_public[CRYPTO_PUBLIC_KEY_LEN],
                                uint8_t salt[CRYPTO_SALT_LEN],
                                uint8_t key[CRYPTO_KEY_LEN]);

/* A reusable AES-256-GCM context owned by one thread. */
struct crypto_gcm;

struct crypto_gcm *crypto_gcm_new(void);
void crypto_gcm_free(struct crypto_gcm *gcm);

/* Encrypts n bytes; out receives n + CRYPTO_TAG_LEN bytes (ciphertext, tag). */
bool crypto_gcm_seal(struct crypto_gcm *gcm, const uint8_t key[CRYPTO_KEY_LEN],
                     const uint8_t iv[CRYPTO_IV_LEN], const uint8_t *plain,
                     size_t n, uint8_t *out);

/* Decrypts and authenticates n bytes of ciphertext-with-tag (n >= 16); out
 * receives n - CRYPTO_TAG_LEN bytes. False when the tag does not verify. */
bool crypto_gcm_open(struct crypto_gcm *gcm, const uint8_t key[CRYPTO_KEY_LEN],
                     const uint8_t iv[CRYPTO_IV_LEN], const uint8_t *sealed,
                     size_t n, uint8_t *out);

#endif
