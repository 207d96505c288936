/*
 * A small intrusive hash map with string keys, used by the registry shards
 * and by each worker's room index. Keys are hashed with SipHash-1-3 under a
 * per-process random key, so names chosen by clients cannot be made to
 * collide on purpose. Not thread-safe: each map has one owner (a lock
 * stripe or a worker) documented where it is declared.
 */
#ifndef SIGNAL_HMAP_H
#define SIGNAL_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_node {
    struct hmap_node *next;
    const char *key; /* owned by the containing object */
    size_t key_len;
    uint64_t hash;
};

struct hmap {
    struct hmap_node **buckets;
    size_t bucket_count; /* 0 or a power of two */
    size_t size;
};

/* Seeds the hash key from the CSPRNG; call once before any map is used. */
bool hmap_init_seed(void);

uint64_t hmap_hash(const char *key, size_t len);

void hmap_init(struct hmap *m);

/* Frees the bucket array, not the nodes. */
void hmap_free(struct hmap *m);

struct hmap_node *hmap_find(const struct hmap *m, const char *key, size_t len);

/* Inserts a node whose key is not in the map yet; node->key and key_len
 * must be set. Returns false when the table cannot grow (out of memory). */
bool hmap_insert(struct hmap *m, struct hmap_node *node);

void hmap_remove(struct hmap *m, struct hmap_node *node);

/* Calls fn for every node; fn must not change the map. */
void hmap_for_each(const struct hmap *m,
                   void (*fn)(struct hmap_node *node, void *arg), void *arg);

#define hmap_entry(ptr, type, member)                                          \
    ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
