/*
 * Sharded, lock-striped registry of clients, rooms and users. See
 * registry.h for the ownership rules. Each shard is a hmap under one
 * pthread mutex; a record's own fields are written only by its owning
 * worker while it holds the record's client shard lock, except
 * last_activity, which is an atomic.
 */
#include "registry.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

#define SHARD_COUNT 64 /* a power of two */

struct room {
    struct hmap_node node;
    char *name;
    size_t name_len;
    size_t total;
    uint32_t per_worker[]; /* members owned by each worker */
};

struct user {
    struct hmap_node node;
    char *user_id;
    struct client_record **clients;
    size_t count, cap;
};

struct client_record {
    struct hmap_node node;
    char id[CLIENT_ID_LEN + 1];
    char *user_id;
    unsigned worker;
    uint64_t handle;
    enum client_state state;
    bool encrypted;
    int64_t connected_at_ms;
    _Atomic int64_t last_activity_ms;
    struct room **rooms; /* rooms the client is in, in join order */
    uint16_t room_count, room_cap;
};

struct shard {
    pthread_mutex_t lock;
    struct hmap map;
};

struct registry {
    unsigned worker_count;
    struct shard clients[SHARD_COUNT];
    struct shard rooms[SHARD_COUNT];
    struct shard users[SHARD_COUNT];
};

static const char *const state_names[] = {"unauthorized", "authenticating",
                                          "authenticated", "disconnected"};

const char *client_state_name(enum client_state s)
{
    return state_names[s];
}

static struct shard *shard_for(struct shard *shards, const char *key,
                               size_t len)
{
    return &shards[hmap_hash(key, len) >> 58 & (SHARD_COUNT - 1)];
}

static void shards_init(struct shard *shards)
{
    for (size_t i = 0; i < SHARD_COUNT; i++) {
        pthread_mutex_init(&shards[i].lock, NULL);
        hmap_init(&shards[i].map);
    }
}

struct registry *registry_new(unsigned worker_count)
{
    struct registry *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->worker_count = worker_count;
    shards_init(r->clients);
    shards_init(r->rooms);
    shards_init(r->users);
    return r;
}

static void free_client_node(struct hmap_node *n, void *arg)
{
    struct client_record *rec = hmap_entry(n, struct client_record, node);
    free(rec->user_id);
    free(rec->rooms);
    free(rec);
}

static void free_room_node(struct hmap_node *n, void *arg)
{
    struct room *room = hmap_entry(n, struct room, node);
    free(room->name);
    free(room);
}

static void free_user_node(struct hmap_node *n, void *arg)
{
    struct user *u = hmap_entry(n, struct user, node);
    free(u->user_id);
    free(u->clients);
    free(u);
}

/* Frees every node of a map. hmap_for_each cannot do this, because it
 * reads a node's next pointer after the callback has freed the node. */
static void free_all_nodes(struct hmap *m,
                           void (*free_node)(struct hmap_node *n, void *arg))
{
    for (size_t b = 0; b < m->bucket_count; b++) {
        struct hmap_node *n = m->buckets[b];
        while (n != NULL) {
            struct hmap_node *next = n->next;
            free_node(n, NULL);
            n = next;
        }
        m->buckets[b] = NULL;
    }
    m->size = 0;
}

void registry_free(struct registry *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < SHARD_COUNT; i++) {
        free_all_nodes(&r->clients[i].map, free_client_node);
        free_all_nodes(&r->rooms[i].map, free_room_node);
        free_all_nodes(&r->users[i].map, free_user_node);
        hmap_free(&r->clients[i].map);
        hmap_free(&r->rooms[i].map);
        hmap_free(&r->users[i].map);
        pthread_mutex_destroy(&r->clients[i].lock);
        pthread_mutex_destroy(&r->rooms[i].lock);
        pthread_mutex_destroy(&r->users[i].lock);
    }
    free(r);
}

struct client_record *registry_add_client(struct registry *r, const char *id,
                                          unsigned worker, uint64_t handle,
                                          int64_t now_ms)
{
    struct client_record *rec = calloc(1, sizeof(*rec));

    if (rec == NULL)
        return NULL;
    memcpy(rec->id, id, CLIENT_ID_LEN);
    rec->worker = worker;
    rec->handle = handle;
    rec->state = CLIENT_UNAUTHORIZED;
    rec->connected_at_ms = now_ms;
    atomic_init(&rec->last_activity_ms, now_ms);
    rec->node.key = rec->id;
    rec->node.key_len = CLIENT_ID_LEN;

    struct shard *s = shard_for(r->clients, rec->id, CLIENT_ID_LEN);
    pthread_mutex_lock(&s->lock);
    bool ok = hmap_find(&s->map, rec->id, CLIENT_ID_LEN) == NULL &&
              hmap_insert(&s->map, &rec->node);
    pthread_mutex_unlock(&s->lock);
    if (!ok) {
        free(rec);
        return NULL;
    }
    return rec;
}

void registry_set_state(struct registry *r, struct client_record *rec,
                        enum client_state state)
{
    struct shard *s = shard_for(r->clients, rec->id, CLIENT_ID_LEN);

    pthread_mutex_lock(&s->lock);
    rec->state = state;
    pthread_mutex_unlock(&s->lock);
}

static bool user_add(struct registry *r, struct client_record *rec)
{
    size_t len = strlen(rec->user_id);
    struct shard *s = shard_for(r->users, rec->user_id, len);
    bool ok = false;

    pthread_mutex_lock(&s->lock);
    struct hmap_node *n = hmap_find(&s->map, rec->user_id, len);
    struct user *u = n ? hmap_entry(n, struct user, node) : NULL;
    if (u == NULL) {
        u = calloc(1, sizeof(*u));
        if (u == NULL || (u->user_id = strdup(rec->user_id)) == NULL) {
            free(u);
            goto out;
        }
        u->node.key = u->user_id;
        u->node.key_len = len;
        if (!hmap_insert(&s->map, &u->node)) {
            free(u->user_id);
            free(u);
            goto out;
        }
    }
    if (u->count == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 2;
        struct client_record **grown =
            realloc(u->clients, cap * sizeof(*grown));
        if (grown == NULL)
            goto out;
        u->clients = grown;
        u->cap = cap;
    }
    u->clients[u->count++] = rec;
    ok = true;
out:
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static void user_remove(struct registry *r, struct client_record *rec)
{
    size_t len = strlen(rec->user_id);
    struct shard *s = shard_for(r->users, rec->user_id, len);

    pthread_mutex_lock(&s->lock);
    struct hmap_node *n = hmap_find(&s->map, rec->user_id, len);
    if (n != NULL) {
        struct user *u = hmap_entry(n, struct user, node);
        for (size_t i = 0; i < u->count; i++) {
            if (u->clients[i] == rec) {
                u->clients[i] = u->clients[--u->count];
                break;
            }
        }
        if (u->count == 0) {
            hmap_remove(&s->map, &u->node);
            free_user_node(&u->node, NULL);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

bool registry_set_authenticated(struct registry *r, struct client_record *rec,
                                const char *user_id, bool encrypted)
{
    char *copy = strdup(user_id);
    struct shard *s = shard_for(r->clients, rec->id, CLIENT_ID_LEN);

    if (copy == NULL)
        return false;
    pthread_mutex_lock(&s->lock);
    rec->user_id = copy;
    rec->encrypted = encrypted;
    rec->state = CLIENT_AUTHENTICATED;
    pthread_mutex_unlock(&s->lock);

    /* The user index is only read through user ids, so a client may
     * briefly be authenticated but not yet listed under its user. */
    if (!user_add(r, rec)) {
        pthread_mutex_lock(&s->lock);
        rec->user_id = NULL;
        rec->state = CLIENT_UNAUTHORIZED;
        pthread_mutex_unlock(&s->lock);
        free(copy);
        return false;
    }
    return true;
}

void registry_touch(struct client_record *rec, int64_t now_ms)
{
    atomic_store_explicit(&rec->last_activity_ms, now_ms, memory_order_relaxed);
}

/* Finds or creates a room and counts one more member of worker w. Called
 * with the client's shard lock held (lock order: client, then room). */
static struct room *room_add_member(struct registry *r, const char *name,
                                    size_t len, unsigned w)
{
    struct shard *s = shard_for(r->rooms, name, len);
    struct room *room = NULL;

    pthread_mutex_lock(&s->lock);
    struct hmap_node *n = hmap_find(&s->map, name, len);
    if (n != NULL) {
        room = hmap_entry(n, struct room, node);
    } else {
        room = calloc(1, sizeof(*room) + r->worker_count * sizeof(uint32_t));
        if (room == NULL || (room->name = malloc(len + 1)) == NULL) {
            free(room);
            room = NULL;
            goto out;
        }
        memcpy(room->name, name, len);
        room->name[len] = '\0';
        room->name_len = len;
        room->node.key = room->name;
        room->node.key_len = len;
        if (!hmap_insert(&s->map, &room->node)) {
            free_room_node(&room->node, NULL);
            room = NULL;
            goto out;
        }
    }
    room->total++;
    room->per_worker[w]++;
out:
    pthread_mutex_unlock(&s->lock);
    return room;
}

static void room_remove_member(struct registry *r, struct room *room,
                               unsigned w)
{
    struct shard *s = shard_for(r->rooms, room->name, room->name_len);

    pthread_mutex_lock(&s->lock);
    room->per_worker[w]--;
    if (--room->total == 0) {
        hmap_remove(&s->map, &room->node);
        free_room_node(&room->node, NULL);
    }
    pthread_mutex_unlock(&s->lock);
}

static int find_member(const struct client_record *rec, const char *room,
                       size_t len)
{
    for (int i = 0; i < rec->room_count; i++) {
        const struct room *m = rec->rooms[i];
        if (m->name_len == len && memcmp(m->name, room, len) == 0)
            return i;
    }
    return -1;
}

enum registry_join_result registry_join(struct registry *r,
                                        struct client_record *rec,
                                        const char *room, size_t len,
                                        const char **interned)
{
    struct shard *s = shard_for(r->clients, rec->id, CLIENT_ID_LEN);
    enum registry_join_result result = REGISTRY_NO_MEMORY;

    pthread_mutex_lock(&s->lock);
    if (find_member(rec, room, len) >= 0) {
        result = REGISTRY_ALREADY_MEMBER;
        goto out;
    }
    if (rec->room_count == rec->room_cap) {
        if (rec->room_cap == UINT16_MAX)
            goto out;
        uint16_t cap = rec->room_cap ? (uint16_t)(rec->room_cap * 2) : 4;
        if (cap < rec->room_cap)
            cap = UINT16_MAX;
        struct room **grown = realloc(rec->rooms, cap * sizeof(*grown));
        if (grown == NULL)
            goto out;
        rec->rooms = grown;
        rec->room_cap = cap;
    }
    struct room *m = room_add_member(r, room, len, rec->worker);
    if (m == NULL)
        goto out;
    rec->rooms[rec->room_count++] = m;
    *interned = m->name;
    result = REGISTRY_JOINED;
out:
    pthread_mutex_unlock(&s->lock);
    return result;
}

bool registry_leave(struct registry *r, struct client_record *rec,
                    const char *room, size_t len)
{
    struct shard *s = shard_for(r->clients, rec->id, CLIENT_ID_LEN);
    struct room *m = NULL;

    pthread_mutex_lock(&s->lock);
    int i = find_member(rec, room, len);
    if (i >= 0) {
        m = rec->rooms[i];
        memmove(&rec->rooms[i], &rec->rooms[i + 1],
                (size_t)(rec->room_count - i - 1) * sizeof(*rec->rooms));
        rec->room_count--;
        room_remove_member(r, m, rec->worker);
    }
    pthread_mutex_unlock(&s->lock);
    return m != NULL;
}

void registry_remove_client(struct registry *r, struct client_record *rec)
{
    struct shard *s = shard_for(r->clients, rec->id, CLIENT_ID_LEN);

    pthread_mutex_lock(&s->lock);
    hmap_remove(&s->map, &rec->node);
    for (size_t i = 0; i < rec->room_count; i++)
        room_remove_member(r, rec->rooms[i], rec->worker);
    rec->room_count = 0;
    pthread_mutex_unlock(&s->lock);

    /* Unlisted now: no other thread can reach the record any more. */
    if (rec->user_id != NULL)
        user_remove(r, rec);
    free_client_node(&rec->node, NULL);
}

bool registry_find_client(struct registry *r, const char *id, size_t len,
                          unsigned *worker, uint64_t *handle)
{
    struct shard *s = shard_for(r->clients, id, len);
    bool found = false;

    pthread_mutex_lock(&s->lock);
    struct hmap_node *n = hmap_find(&s->map, id, len);
    if (n != NULL) {
        struct client_record *rec = hmap_entry(n, struct client_record, node);
        *worker = rec->worker;
        *handle = rec->handle;
        found = true;
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

bool registry_room_workers(struct registry *r, const char *room, size_t len,
                           bool *has_members)
{
    struct shard *s = shard_for(r->rooms, room, len);
    bool any = false;

    pthread_mutex_lock(&s->lock);
    struct hmap_node *n = hmap_find(&s->map, room, len);
    for (unsigned w = 0; w < r->worker_count; w++) {
        has_members[w] =
            n != NULL && hmap_entry(n, struct room, node)->per_worker[w] > 0;
        any = any || has_members[w];
    }
    pthread_mutex_unlock(&s->lock);
    return any;
}

/* Builds ClientInfo; called with the client's shard lock held. */
static cJSON *client_info_locked(const struct client_record *rec)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *rooms = cJSON_CreateArray();

    if (o == NULL || rooms == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(rooms);
        return NULL;
    }
    cJSON_AddStringToObject(o, "id", rec->id);
    if (rec->user_id != NULL)
        cJSON_AddStringToObject(o, "userId", rec->user_id);
    cJSON_AddStringToObject(o, "state", state_names[rec->state]);
    cJSON_AddBoolToObject(o, "encrypted", rec->encrypted);
    for (size_t i = 0; i < rec->room_count; i++)
        cJSON_AddItemToArray(rooms, cJSON_CreateString(rec->rooms[i]->name));
    cJSON_AddItemToObject(o, "rooms", rooms);
    cJSON_AddNumberToObject(o, "connectedAt", (double)rec->connected_at_ms);
    cJSON_AddNumberToObject(o, "lastActivity",
                            (double)atomic_load_explicit(&rec->last_activity_ms,
                                                         memory_order_relaxed));
    cJSON_AddItemToObject(o, "metadata", cJSON_CreateObject());
    return o;
}

cJSON *registry_client_info(struct registry *r, const char *id, size_t len)
{
    struct shard *s = shard_for(r->clients, id, len);
    cJSON *info = NULL;

    pthread_mutex_lock(&s->lock);
    struct hmap_node *n = hmap_find(&s->map, id, len);
    if (n != NULL)
        info = client_info_locked(hmap_entry(n, struct client_record, node));
    pthread_mutex_unlock(&s->lock);
    return info;
}

static void add_client_info(struct hmap_node *n, void *arg)
{
    cJSON *info = client_info_locked(hmap_entry(n, struct client_record, node));
    if (info != NULL)
        cJSON_AddItemToArray((cJSON *)arg, info);
}

cJSON *registry_list_clients(struct registry *r)
{
    cJSON *list = cJSON_CreateArray();

    if (list == NULL)
        return NULL;
    for (size_t i = 0; i < SHARD_COUNT; i++) {
        pthread_mutex_lock(&r->clients[i].lock);
        hmap_for_each(&r->clients[i].map, add_client_info, list);
        pthread_mutex_unlock(&r->clients[i].lock);
    }
    return list;
}

size_t registry_user_clients(struct registry *r, const char *user_id,
                             char (*ids)[CLIENT_ID_LEN + 1], size_t cap)
{
    size_t len = strlen(user_id);
    struct shard *s = shard_for(r->users, user_id, len);
    size_t count = 0;

    pthread_mutex_lock(&s->lock);
    struct hmap_node *n = hmap_find(&s->map, user_id, len);
    if (n != NULL) {
        struct user *u = hmap_entry(n, struct user, node);
        count = u->count;
        for (size_t i = 0; i < u->count && i < cap; i++)
            memcpy(ids[i], u->clients[i]->id, CLIENT_ID_LEN + 1);
    }
    pthread_mutex_unlock(&s->lock);
    return count;
}

static size_t count_shards(struct shard *shards)
{
    size_t total = 0;

    for (size_t i = 0; i < SHARD_COUNT; i++) {
        pthread_mutex_lock(&shards[i].lock);
        total += shards[i].map.size;
        pthread_mutex_unlock(&shards[i].lock);
    }
    return total;
}

size_t registry_client_count(struct registry *r)
{
    return count_shards(r->clients);
}

size_t registry_room_count(struct registry *r)
{
    return count_shards(r->rooms);
}

static void count_state(struct hmap_node *n, void *arg)
{
    size_t *counts = arg;

    counts[hmap_entry(n, struct client_record, node)->state]++;
}

void registry_count_states(struct registry *r, size_t counts[4])
{
    for (size_t i = 0; i < SHARD_COUNT; i++) {
        pthread_mutex_lock(&r->clients[i].lock);
        hmap_for_each(&r->clients[i].map, count_state, counts);
        pthread_mutex_unlock(&r->clients[i].lock);
    }
}
