/*
 * Intrusive chained hash map with SipHash-1-3 keyed by a per-process
 * random key. The buckets double when the load factor passes 1.
 */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"

/* Written once by hmap_init_seed on the main thread before any other
 * thread starts, read-only afterwards. */
static uint64_t sip_k0, sip_k1;

bool hmap_init_seed(void)
{
    uint64_t k[2];

    if (!crypto_random(k, sizeof(k)))
        return false;
    sip_k0 = k[0];
    sip_k1 = k[1];
    return true;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void sip_round(uint64_t *v0, uint64_t *v1, uint64_t *v2,
                             uint64_t *v3)
{
    *v0 += *v1;
    *v1 = ROTL(*v1, 13);
    *v1 ^= *v0;
    *v0 = ROTL(*v0, 32);
    *v2 += *v3;
    *v3 = ROTL(*v3, 16);
    *v3 ^= *v2;
    *v0 += *v3;
    *v3 = ROTL(*v3, 21);
    *v3 ^= *v0;
    *v2 += *v1;
    *v1 = ROTL(*v1, 17);
    *v1 ^= *v2;
    *v2 = ROTL(*v2, 32);
}

uint64_t hmap_hash(const char *key, size_t len)
{
    const uint8_t *p = (const uint8_t *)key;
    uint64_t v0 = 0x736f6d6570736575ULL ^ sip_k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ sip_k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ sip_k0;
    uint64_t v3 = 0x7465646279746573ULL ^ sip_k1;
    uint64_t m;
    size_t i, tail = len & 7;

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&m, p + i, 8);
        v3 ^= m;
        sip_round(&v0, &v1, &v2, &v3);
        v0 ^= m;
    }

    /* The last block carries the remaining bytes and the length. */
    m = (uint64_t)len << 56;
    for (size_t j = 0; j < tail; j++)
        m |= (uint64_t)p[i + j] << (8 * j);
    v3 ^= m;
    sip_round(&v0, &v1, &v2, &v3);
    v0 ^= m;

    v2 ^= 0xff;
    sip_round(&v0, &v1, &v2, &v3);
    sip_round(&v0, &v1, &v2, &v3);
    sip_round(&v0, &v1, &v2, &v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

void hmap_init(struct hmap *m)
{
    m->buckets = NULL;
    m->bucket_count = 0;
    m->size = 0;
}

void hmap_free(struct hmap *m)
{
    free(m->buckets);
    hmap_init(m);
}

struct hmap_node *hmap_find(const struct hmap *m, const char *key, size_t len)
{
    if (m->bucket_count == 0)
        return NULL;

    uint64_t h = hmap_hash(key, len);
    struct hmap_node *n = m->buckets[h & (m->bucket_count - 1)];

    for (; n != NULL; n = n->next) {
        if (n->hash == h && n->key_len == len && memcmp(n->key, key, len) == 0)
            return n;
    }
    return NULL;
}

static bool grow(struct hmap *m)
{
    size_t count = m->bucket_count ? m->bucket_count * 2 : 8;
    struct hmap_node **buckets = calloc(count, sizeof(*buckets));

    if (buckets == NULL)
        return false;
    for (size_t i = 0; i < m->bucket_count; i++) {
        struct hmap_node *n = m->buckets[i], *next;
        for (; n != NULL; n = next) {
            next = n->next;
            n->next = buckets[n->hash & (count - 1)];
            buckets[n->hash & (count - 1)] = n;
        }
    }
    free(m->buckets);
    m->buckets = buckets;
    m->bucket_count = count;
    return true;
}

bool hmap_insert(struct hmap *m, struct hmap_node *node)
{
    if (m->size + 1 > m->bucket_count && !grow(m))
        return false;

    node->hash = hmap_hash(node->key, node->key_len);
    size_t b = node->hash & (m->bucket_count - 1);
    node->next = m->buckets[b];
    m->buckets[b] = node;
    m->size++;
    return true;
}

void hmap_remove(struct hmap *m, struct hmap_node *node)
{
    struct hmap_node **pp = &m->buckets[node->hash & (m->bucket_count - 1)];

    for (; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == node) {
            *pp = node->next;
            m->size--;
            return;
        }
    }
}

void hmap_for_each(const struct hmap *m,
                   void (*fn)(struct hmap_node *node, void *arg), void *arg)
{
    for (size_t i = 0; i < m->bucket_count; i++) {
        for (struct hmap_node *n = m->buckets[i]; n != NULL; n = n->next)
            fn(n, arg);
    }
}
