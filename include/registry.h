/*
 * The registry: the one structure shared by all workers. It maps client
 * ids to their record (owning worker, connection handle, state, rooms),
 * room names to how many members each worker has, and user ids to client
 * ids. Each map is split into shards, each guarded by its own mutex (lock
 * striping, shard chosen by the key's hash). Locks are held for the lookup
 * or update only, never across I/O or crypto. Lock order: client shard,
 * then room shard, then user shard.
 *
 * A client record is created and destroyed by the worker that owns the
 * connection; only that worker changes it (under the shard lock). Other
 * threads read records only under the shard lock, so a record they see is
 * never freed under them.
 */
#ifndef SIGNAL_REGISTRY_H
#define SIGNAL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define CLIENT_ID_LEN 36 /* lower-case hyphenated UUID */

enum client_state {
    CLIENT_UNAUTHORIZED,
    CLIENT_AUTHENTICATING,
    CLIENT_AUTHENTICATED,
    CLIENT_DISCONNECTED,
};

struct registry;
struct client_record;

struct registry *registry_new(unsigned worker_count);
void registry_free(struct registry *r);

/* Adds a client in state unauthorized. Returns NULL when out of memory. */
struct client_record *registry_add_client(struct registry *r, const char *id,
                                          unsigned worker, uint64_t handle,
                                          int64_t now_ms);

/* Removes the client from every room and user index and frees the record. */
void registry_remove_client(struct registry *r, struct client_record *rec);

void registry_set_state(struct registry *r, struct client_record *rec,
                        enum client_state state);

/* Marks the client authenticated and indexes it under its user id. */
bool registry_set_authenticated(struct registry *r, struct client_record *rec,
                                const char *user_id, bool encrypted);

/* Records client activity (milliseconds since the epoch). Lock-free. */
void registry_touch(struct client_record *rec, int64_t now_ms);

enum registry_join_result {
    REGISTRY_JOINED,
    REGISTRY_ALREADY_MEMBER,
    REGISTRY_NO_MEMORY,
};

/* Adds the client to a room. On REGISTRY_JOINED *interned receives the
 * registry's copy of the name, valid while the client stays a member. */
enum registry_join_result registry_join(struct registry *r,
                                        struct client_record *rec,
                                        const char *room, size_t len,
                                        const char **interned);

/* Removes the client from a room; false when it was not a member. */
bool registry_leave(struct registry *r, struct client_record *rec,
                    const char *room, size_t len);

/* Finds the owner of a client id. */
bool registry_find_client(struct registry *r, const char *id, size_t len,
                          unsigned *worker, uint64_t *handle);

/* Sets has_members[w] for each worker with members in the room. Returns
 * false when the room has no members at all. */
bool registry_room_workers(struct registry *r, const char *room, size_t len,
                           bool *has_members);

/* ClientInfo JSON of one client, or NULL when not found. */
cJSON *registry_client_info(struct registry *r, const char *id, size_t len);

/* Array of ClientInfo for every client. */
cJSON *registry_list_clients(struct registry *r);

/* Copies up to cap client ids of a user into ids; returns how many the
 * user has in all. */
size_t registry_user_clients(struct registry *r, const char *user_id,
                             char (*ids)[CLIENT_ID_LEN + 1], size_t cap);

size_t registry_client_count(struct registry *r);

/* Adds the number of clients in each state to counts[state]. */
void registry_count_states(struct registry *r, size_t counts[4]);
size_t registry_room_count(struct registry *r);

const char *client_state_name(enum client_state s);

#endif
