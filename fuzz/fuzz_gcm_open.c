/*
 * libFuzzer target for AES-256-GCM (crypto_gcm_open and crypto_gcm_seal),
 * which the server runs on every encrypted message a client sends. Input
 * layout: 32 bytes of key, 12 bytes of IV, then the ciphertext with its
 * tag. Opening arbitrary input must not crash. When opening succeeds,
 * sealing the plaintext again must give back the input. Sealing the ciphertext
 * bytes as a plaintext must open to the same bytes, and one flipped bit
 * anywhere in the sealed message must make opening fail.
 */
#include <stdbool.h>
#include <string.h>

#include "crypto.h"
#include "fuzz_check.h"

/* One context for the whole run, like a worker thread's. */
static struct crypto_gcm *gcm;

static void check_open(const uint8_t *key, const uint8_t *iv,
                       const uint8_t *sealed, size_t n)
{
    size_t plain_len = n > CRYPTO_TAG_LEN ? n - CRYPTO_TAG_LEN : 0;
    uint8_t *plain = malloc(plain_len > 0 ? plain_len : 1);
    uint8_t *resealed = malloc(n > 0 ? n : 1);

    if (plain == NULL || resealed == NULL)
        abort();
    if (crypto_gcm_open(gcm, key, iv, sealed, n, plain)) {
        FUZZ_CHECK(n >= CRYPTO_TAG_LEN,
                   "opened a message shorter than the tag");
        FUZZ_CHECK(crypto_gcm_seal(gcm, key, iv, plain, plain_len, resealed),
                   "sealing an opened plaintext failed");
        FUZZ_CHECK(memcmp(resealed, sealed, n) == 0,
                   "sealing the opened plaintext gave other bytes");
    }
    free(plain);
    free(resealed);
}

static void check_round_trip(const uint8_t *key, const uint8_t *iv,
                             const uint8_t *plain, size_t n)
{
    size_t sealed_len = n + CRYPTO_TAG_LEN;
    uint8_t *sealed = malloc(sealed_len);
    uint8_t *opened = malloc(n > 0 ? n : 1);

    if (sealed == NULL || opened == NULL)
        abort();
    FUZZ_CHECK(crypto_gcm_seal(gcm, key, iv, plain, n, sealed), "seal failed");
    FUZZ_CHECK(crypto_gcm_open(gcm, key, iv, sealed, sealed_len, opened),
               "opening a sealed message failed");
    FUZZ_CHECK(n == 0 || memcmp(opened, plain, n) == 0,
               "seal-open round trip changed the plaintext");

    /* The bit to flip comes from the key bytes, so it moves with the input. */
    size_t bit = ((size_t)key[0] << 8 | key[1]) % (sealed_len * 8);
    sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    FUZZ_CHECK(!crypto_gcm_open(gcm, key, iv, sealed, sealed_len, opened),
               "a tampered message opened");
    free(sealed);
    free(opened);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < CRYPTO_KEY_LEN + CRYPTO_IV_LEN)
        return 0;
    if (gcm == NULL && (gcm = crypto_gcm_new()) == NULL)
        abort();

    uint8_t key[CRYPTO_KEY_LEN], iv[CRYPTO_IV_LEN];
    memcpy(key, data, CRYPTO_KEY_LEN);
    memcpy(iv, data + CRYPTO_KEY_LEN, CRYPTO_IV_LEN);
    size_t n = size - CRYPTO_KEY_LEN - CRYPTO_IV_LEN;
    uint8_t *rest = fuzz_copy(data + CRYPTO_KEY_LEN + CRYPTO_IV_LEN, n);

    check_open(key, iv, rest, n);
    check_round_trip(key, iv, rest, n);
    free(rest);
    return 0;
}
