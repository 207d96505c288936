/*
 * A worker thread: one libevent event_base, the connections it owns, its
 * timers and per-thread scratch (cipher context, buffers). Other threads
 * talk to a worker only through its mailbox: a bounded queue of commands
 * under mailbox_lock, plus an eventfd that wakes the worker's loop.
 */
#ifndef SIGNAL_WORKER_H
#define SIGNAL_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hmap.h"

#define CRYPTO_IV_POOL (12 * 256) /* random IVs drawn at once */

struct server;
struct connection;
struct message;
struct event;
struct event_base;
struct crypto_gcm;

enum command_type {
    CMD_ACCEPT,      /* fd: a new socket to serve */
    CMD_BROADCAST,   /* message: to every authenticated client */
    CMD_ROOM_SEND,   /* message: to members of message->room */
    CMD_CLIENT_SEND, /* message, handle: to one client */
    CMD_DISCONNECT,  /* handle, code: close one client */
    CMD_SHUTDOWN,    /* close every client with 1001 and stop */
};

struct command {
    enum command_type type;
    int fd;
    unsigned code;
    uint64_t handle;         /* slot << 32 | generation */
    struct message *message; /* a reference owned by the command */
};

/* Members of one room among a worker's own connections. The name is a
 * copy of the worker's own, so the registry may drop its room first. */
struct local_room {
    struct hmap_node node;
    struct connection **members;
    size_t count, cap;
    size_t name_len;
    char name[]; /* NUL-terminated */
};

#define WORKER_READ_CHUNK 65536
#define WORKER_ACCEPT_RESERVE 4096 /* queue slots only accepts may use */
#define WORKER_OUTBUF_SIZE 16384   /* size of pooled output buffers */
#define WORKER_OUTBUF_POOL 256     /* pooled buffers kept per worker */

struct worker {
    unsigned index;
    struct server *server;
    pthread_t thread;
    struct event_base *base;

    /* Mailbox, shared with every thread; guarded by mailbox_lock. */
    pthread_mutex_t mailbox_lock;
    struct command *queue;
    size_t queue_head, queue_count, queue_cap;
    size_t command_limit; /* commands other than accept and shutdown */
    bool wake_pending;    /* a wakeup is written and not yet read */
    int wake_fd;          /* eventfd */
    struct event *wake_event;

    /* Gauges for /metrics, written by the worker, read by anyone. */
    atomic_uint clients;
    atomic_size_t queue_depth;
    atomic_uint_fast64_t delivered;     /* messages queued to clients */
    atomic_uint_fast64_t bytes_written; /* bytes written to sockets */

    /* Everything below belongs to the worker thread alone. */
    struct connection *all;         /* every connection */
    struct connection *unauth_head; /* WebSocket, unauthorized, oldest first */
    struct connection *unauth_tail;
    struct connection *authed;     /* WebSocket, authenticated */
    struct connection *flush_list; /* connections with output to write */
    struct connection *reap_list;  /* PHASE_DEAD connections to free */
    struct connection **slots;     /* slot table for handles */
    uint32_t slot_count, slot_cap;
    uint32_t *free_slots;
    uint32_t free_slot_count;
    struct hmap rooms; /* name -> struct local_room */
    bool shutting_down;
    int64_t shutdown_deadline_ms;

    struct event *auth_timer;
    struct event *heartbeat_timer;
    struct event *idle_timer;
    struct event *shutdown_timer;

    struct crypto_gcm *gcm;
    uint8_t *read_chunk;   /* WORKER_READ_CHUNK bytes */
    uint8_t *seal_scratch; /* grows to the largest ciphertext */
    size_t seal_scratch_cap;
    uint8_t *outbuf_pool[WORKER_OUTBUF_POOL]; /* free output buffers */
    size_t outbuf_pool_count;
    uint8_t iv_pool[CRYPTO_IV_POOL];
    size_t iv_pool_used;
};

struct worker *worker_new(struct server *s, unsigned index);
bool worker_start(struct worker *w);
void worker_join(struct worker *w);
void worker_free(struct worker *w);

/* Posts a command and wakes the worker. False when the queue is full; the
 * command's message reference then stays with the caller. */
bool worker_post(struct worker *w, const struct command *cmd);

/* Called from the owning thread only. */
void worker_schedule_flush(struct worker *w, struct connection *c);
void worker_flush(struct worker *w);
bool worker_attach(struct worker *w, struct connection *c);
void worker_detach(struct worker *w, struct connection *c);
void worker_mark_unauthorized(struct worker *w, struct connection *c);
void worker_mark_authenticated(struct worker *w, struct connection *c);
void worker_mark_closed(struct worker *w, struct connection *c);
struct local_room *worker_room_join(struct worker *w, struct connection *c,
                                    const char *name, size_t len);
void worker_room_leave(struct worker *w, struct connection *c,
                       struct local_room *room);
/* Takes the next random IV from the worker's pool. */
void worker_next_iv(struct worker *w, uint8_t iv[12]);

/* Per-worker buffer of at least len bytes for ciphertext, or NULL. */
uint8_t *worker_seal_scratch(struct worker *w, size_t len);

#endif
