/*
 * Session cryptography on OpenSSL 3's EVP interfaces: P-256 key pairs and
 * ECDH, HKDF-SHA256 through EVP_KDF, and AES-256-GCM through a cipher
 * context that each thread keeps in its own struct crypto_gcm and re-keys
 * per message. Secrets that pass through local buffers are wiped before
 * the functions return.
 */
#include "crypto.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#define CURVE_NAME "P-256"

struct crypto_gcm {
    EVP_CIPHER_CTX *ctx; /* AES-256-GCM selected, key and IV set per call */
};

bool crypto_random(void *p, size_t n)
{
    unsigned char *out = p;

    /* RAND_bytes takes an int length. */
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(out, chunk) != 1)
            return false;
        out += chunk;
        n -= (size_t)chunk;
    }
    return true;
}

void crypto_wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

EVP_PKEY *crypto_generate_key_pair(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", CURVE_NAME);
}

bool crypto_export_public_key(EVP_PKEY *key, uint8_t out[CRYPTO_PUBLIC_KEY_LEN])
{
    size_t len = 0;

    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out,
                                        CRYPTO_PUBLIC_KEY_LEN, &len) != 1)
        return false;
    /* Keys made here or by crypto_import_public_key use the uncompressed
     * form, the only one the peer accepts. */
    return len == CRYPTO_PUBLIC_KEY_LEN && out[0] == 0x04;
}

EVP_PKEY *crypto_import_public_key(const uint8_t *raw, size_t len)
{
    OSSL_PARAM_BLD *builder = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY_CTX *check_ctx = NULL;
    EVP_PKEY *key = NULL;

    if (len != CRYPTO_PUBLIC_KEY_LEN || raw[0] != 0x04)
        return NULL;

    builder = OSSL_PARAM_BLD_new();
    if (builder == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME,
                                         CURVE_NAME, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, raw,
                                          len))
        goto fail;
    params = OSSL_PARAM_BLD_to_param(builder);
    if (params == NULL)
        goto fail;

    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto fail;

    /* OpenSSL 3.0's decoder already rejects points off the curve. The full
     * public key check (coordinates in range, on the curve, not the point
     * at infinity) keeps that guarantee without relying on the decoder. */
    check_ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (check_ctx == NULL || EVP_PKEY_public_check(check_ctx) != 1)
        goto fail;

    EVP_PKEY_CTX_free(check_ctx);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(builder);
    return key;

fail:
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(check_ctx);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(builder);
    return NULL;
}

bool crypto_derive_shared_secret(EVP_PKEY *mine, EVP_PKEY *peer,
                                 uint8_t secret[CRYPTO_SECRET_LEN])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    size_t len = CRYPTO_SECRET_LEN;
    bool ok = ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
              EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
              EVP_PKEY_derive(ctx, secret, &len) == 1 &&
              len == CRYPTO_SECRET_LEN;

    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        crypto_wipe(secret, CRYPTO_SECRET_LEN);
    return ok;
}

bool crypto_derive_session_key(const uint8_t secret[CRYPTO_SECRET_LEN],
                               const uint8_t salt[CRYPTO_SALT_LEN],
                               uint8_t key[CRYPTO_KEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    bool ok = false;

    if (ctx != NULL) {
        /* OSSL_PARAM wants non-const pointers but only reads them. */
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256",
                                             0),
            OSSL_PARAM_construct_octet_string(
                OSSL_KDF_PARAM_KEY, (void *)secret, CRYPTO_SECRET_LEN),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                              CRYPTO_SALT_LEN),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                              (void *)CRYPTO_HKDF_INFO,
                                              sizeof CRYPTO_HKDF_INFO - 1),
            OSSL_PARAM_construct_end(),
        };
        ok = EVP_KDF_derive(ctx, key, CRYPTO_KEY_LEN, params) == 1;
    }

    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    if (!ok)
        crypto_wipe(key, CRYPTO_KEY_LEN);
    return ok;
}

bool crypto_accept_key_exchange(const uint8_t *client_public, size_t len,
                                uint8_t server_public[CRYPTO_PUBLIC_KEY_LEN],
                                uint8_t salt[CRYPTO_SALT_LEN],
                                uint8_t key[CRYPTO_KEY_LEN])
{
    uint8_t secret[CRYPTO_SECRET_LEN];
    EVP_PKEY *peer = crypto_import_public_key(client_public, len);
    EVP_PKEY *mine = NULL;
    bool ok = false;

    if (peer == NULL)
        return false;

    /* A fresh key pair for every connection gives forward secrecy: the
     * private key is freed with this function's locals. */
    mine = crypto_generate_key_pair();
    ok = mine != NULL && crypto_export_public_key(mine, server_public) &&
         crypto_derive_shared_secret(mine, peer, secret) &&
         crypto_random(salt, CRYPTO_SALT_LEN) &&
         crypto_derive_session_key(secret, salt, key);

    crypto_wipe(secret, sizeof secret);
    EVP_PKEY_free(mine);
    EVP_PKEY_free(peer);
    if (!ok)
        crypto_wipe(key, CRYPTO_KEY_LEN);
    return ok;
}

struct crypto_gcm *crypto_gcm_new(void)
{
    struct crypto_gcm *gcm = calloc(1, sizeof *gcm);

    if (gcm == NULL)
        return NULL;
    gcm->ctx = EVP_CIPHER_CTX_new();
    /* Select the cipher once. Later calls pass only the key and IV, which
     * skips the cipher lookup. */
    if (gcm->ctx == NULL || EVP_CipherInit_ex(gcm->ctx, EVP_aes_256_gcm(), NULL,
                                              NULL, NULL, 1) != 1) {
        crypto_gcm_free(gcm);
        return NULL;
    }
    return gcm;
}

void crypto_gcm_free(struct crypto_gcm *gcm)
{
    if (gcm == NULL)
        return;
    /* OpenSSL's AES-GCM implementation clears its key schedule here. */
    EVP_CIPHER_CTX_free(gcm->ctx);
    free(gcm);
}

bool crypto_gcm_seal(struct crypto_gcm *gcm, const uint8_t key[CRYPTO_KEY_LEN],
                     const uint8_t iv[CRYPTO_IV_LEN], const uint8_t *plain,
                     size_t n, uint8_t *out)
{
    int len = 0, final_len = 0;

    if (n > INT_MAX - CRYPTO_TAG_LEN)
        return false;
    if (EVP_CipherInit_ex(gcm->ctx, NULL, NULL, key, iv, 1) != 1 ||
        EVP_EncryptUpdate(gcm->ctx, out, &len, plain, (int)n) != 1 ||
        EVP_EncryptFinal_ex(gcm->ctx, out + len, &final_len) != 1 ||
        (size_t)len + (size_t)final_len != n)
        return false;
    return EVP_CIPHER_CTX_ctrl(gcm->ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN,
                               out + n) == 1;
}

bool crypto_gcm_open(struct crypto_gcm *gcm, const uint8_t key[CRYPTO_KEY_LEN],
                     const uint8_t iv[CRYPTO_IV_LEN], const uint8_t *sealed,
                     size_t n, uint8_t *out)
{
    uint8_t tag[CRYPTO_TAG_LEN];
    int len = 0, final_len = 0;

    if (n < CRYPTO_TAG_LEN || n > INT_MAX)
        return false;
    size_t cipher_len = n - CRYPTO_TAG_LEN;
    memcpy(tag, sealed + cipher_len, CRYPTO_TAG_LEN);

    bool ok =
        EVP_CipherInit_ex(gcm->ctx, NULL, NULL, key, iv, 0) == 1 &&
        EVP_DecryptUpdate(gcm->ctx, out, &len, sealed, (int)cipher_len) == 1 &&
        EVP_CIPHER_CTX_ctrl(gcm->ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN,
                            tag) == 1 &&
        EVP_DecryptFinal_ex(gcm->ctx, out + len, &final_len) == 1 &&
        (size_t)len + (size_t)final_len == cipher_len;

    /* The plaintext of a forged message must not reach the caller. */
    if (!ok)
        crypto_wipe(out, cipher_len);
    return ok;
}
