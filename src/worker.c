/*
 * Worker threads. Each runs one libevent loop over the connections it
 * owns: it accepts sockets handed over by the acceptor, serves HTTP and
 * WebSocket on them, runs their timers (authentication deadline, heartbeat
 * sweep, transport pings) and executes commands posted by REST handlers on
 * any worker (fan-out, single sends, disconnects, shutdown). Everything in
 * struct worker below the mailbox is touched by this thread only.
 */
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "connection.h"
#include "crypto.h"
#include "log.h"
#include "message.h"
#include "registry.h"
#include "server.h"
#include "session.h"

/* Commands taken from the mailbox per wakeup, so a flood of commands
 * cannot starve socket I/O. */
#define COMMAND_BATCH 64

static void on_wake(evutil_socket_t fd, short what, void *arg);
static void on_auth_timer(evutil_socket_t fd, short what, void *arg);
static void on_heartbeat_timer(evutil_socket_t fd, short what, void *arg);
static void on_idle_timer(evutil_socket_t fd, short what, void *arg);
static void on_shutdown_timer(evutil_socket_t fd, short what, void *arg);

static struct timeval ms_to_tv(int64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
                         .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static unsigned idle_tick_ms(const struct config *c)
{
    unsigned ms = c->idle_timeout_s * 1000 / 4;

    if (ms < 50)
        return 50;
    if (ms > 1000)
        return 1000;
    return ms;
}

struct worker *worker_new(struct server *s, unsigned index)
{
    struct worker *w = calloc(1, sizeof(*w));
    const struct config *c = s->config;

    if (w == NULL)
        return NULL;
    w->index = index;
    w->server = s;
    w->wake_fd = -1;
    w->iv_pool_used = sizeof(w->iv_pool); /* empty: filled on first use */
    pthread_mutex_init(&w->mailbox_lock, NULL);
    hmap_init(&w->rooms);

    /* Accepted sockets get room beyond the command limit, so a burst of
     * REST fan-out never makes the acceptor drop new connections. */
    w->command_limit = c->command_queue_limit;
    w->queue_cap = c->command_queue_limit + WORKER_ACCEPT_RESERVE;
    w->queue = calloc(w->queue_cap, sizeof(*w->queue));
    w->read_chunk = malloc(WORKER_READ_CHUNK);
    w->gcm = crypto_gcm_new();
    w->base = event_base_new();
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->queue == NULL || w->read_chunk == NULL || w->gcm == NULL ||
        w->base == NULL || w->wake_fd < 0)
        goto fail;

    w->wake_event =
        event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, on_wake, w);
    w->auth_timer = evtimer_new(w->base, on_auth_timer, w);
    w->heartbeat_timer =
        event_new(w->base, -1, EV_PERSIST, on_heartbeat_timer, w);
    w->idle_timer = event_new(w->base, -1, EV_PERSIST, on_idle_timer, w);
    w->shutdown_timer = evtimer_new(w->base, on_shutdown_timer, w);
    if (w->wake_event == NULL || w->auth_timer == NULL ||
        w->heartbeat_timer == NULL || w->idle_timer == NULL ||
        w->shutdown_timer == NULL)
        goto fail;

    struct timeval heartbeat = ms_to_tv(c->heartbeat_interval_ms);
    struct timeval idle = ms_to_tv(idle_tick_ms(c));
    if (event_add(w->wake_event, NULL) != 0 ||
        event_add(w->heartbeat_timer, &heartbeat) != 0 ||
        event_add(w->idle_timer, &idle) != 0)
        goto fail;
    return w;

fail:
    log_event(LOG_ERROR, "worker_init_failed", "worker=%u", index);
    worker_free(w);
    return NULL;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    atomic_fetch_add(&w->server->workers_running, 1);
    event_base_dispatch(w->base);
    atomic_fetch_sub(&w->server->workers_running, 1);
    return NULL;
}

bool worker_start(struct worker *w)
{
    int err = pthread_create(&w->thread, NULL, worker_main, w);

    if (err != 0) {
        log_event(LOG_ERROR, "worker_start_failed", "worker=%u error=\"%s\"",
                  w->index, strerror(err));
        return false;
    }
    return true;
}

void worker_join(struct worker *w)
{
    pthread_join(w->thread, NULL);
}

void worker_free(struct worker *w)
{
    if (w == NULL)
        return;

    /* Connections still open at exit are freed without ceremony. */
    while (w->all != NULL)
        conn_free(w->all);
    for (size_t i = w->queue_head, n = 0; n < w->queue_count;
         n++, i = (i + 1) % w->queue_cap) {
        if (w->queue[i].type == CMD_ACCEPT)
            close(w->queue[i].fd);
        message_unref(w->queue[i].message);
    }

    if (w->wake_event)
        event_free(w->wake_event);
    if (w->auth_timer)
        event_free(w->auth_timer);
    if (w->heartbeat_timer)
        event_free(w->heartbeat_timer);
    if (w->idle_timer)
        event_free(w->idle_timer);
    if (w->shutdown_timer)
        event_free(w->shutdown_timer);
    if (w->base)
        event_base_free(w->base);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    crypto_gcm_free(w->gcm);
    crypto_wipe(w->iv_pool, sizeof(w->iv_pool));
    if (w->seal_scratch != NULL)
        crypto_wipe(w->seal_scratch, w->seal_scratch_cap);
    free(w->seal_scratch);
    for (size_t i = 0; i < w->outbuf_pool_count; i++)
        free(w->outbuf_pool[i]);
    free(w->read_chunk);
    free(w->queue);
    free(w->slots);
    free(w->free_slots);
    hmap_free(&w->rooms);
    pthread_mutex_destroy(&w->mailbox_lock);
    free(w);
}

bool worker_post(struct worker *w, const struct command *cmd)
{
    bool wake = false;

    size_t limit = cmd->type == CMD_ACCEPT || cmd->type == CMD_SHUTDOWN
                       ? w->queue_cap
                       : w->command_limit;

    pthread_mutex_lock(&w->mailbox_lock);
    if (w->queue_count >= limit) {
        pthread_mutex_unlock(&w->mailbox_lock);
        return false;
    }
    w->queue[(w->queue_head + w->queue_count) % w->queue_cap] = *cmd;
    w->queue_count++;
    atomic_store_explicit(&w->queue_depth, w->queue_count,
                          memory_order_relaxed);
    if (!w->wake_pending) {
        w->wake_pending = true;
        wake = true;
    }
    pthread_mutex_unlock(&w->mailbox_lock);

    if (wake) {
        uint64_t one = 1;
        ssize_t n = write(w->wake_fd, &one, sizeof(one));
        (void)n; /* an eventfd write only fails when the counter is full,
                    which still leaves the worker woken */
    }
    return true;
}

static struct connection *find_by_handle(struct worker *w, uint64_t handle)
{
    uint32_t slot = (uint32_t)(handle >> 32);
    uint32_t generation = (uint32_t)handle;

    if (slot >= w->slot_count || w->slots[slot] == NULL)
        return NULL;
    struct connection *c = w->slots[slot];
    return c->generation == generation ? c : NULL;
}

static void close_all_clients(struct worker *w)
{
    struct connection *c, *next;

    for (c = w->all; c != NULL; c = next) {
        next = c->all_next;
        if (c->kind == CONN_WEBSOCKET)
            conn_close(c, WS_CLOSE_GOING_AWAY, "Server shutting down");
        else if (c->out.len == 0)
            conn_abort(c, "server shutting down");
        else
            c->close_after_flush = true;
    }
}

static void stop_if_drained(struct worker *w)
{
    if (w->shutting_down && w->all == NULL)
        event_base_loopbreak(w->base);
}

static void run_command(struct worker *w, struct command *cmd)
{
    struct connection *c, *next;

    switch (cmd->type) {
    case CMD_ACCEPT:
        if (w->shutting_down) {
            close(cmd->fd);
            break;
        }
        conn_new(w, cmd->fd);
        break;
    case CMD_BROADCAST:
        for (c = w->authed; c != NULL; c = next) {
            next = c->state_next;
            session_deliver(c, cmd->message);
        }
        break;
    case CMD_ROOM_SEND: {
        struct hmap_node *n =
            hmap_find(&w->rooms, cmd->message->room, cmd->message->room_len);
        if (n == NULL)
            break;
        /* Members that close during the loop stay in the array until they
         * are freed at the end of the batch; delivery skips them. */
        struct local_room *room = hmap_entry(n, struct local_room, node);
        for (size_t i = 0; i < room->count; i++)
            session_deliver(room->members[i], cmd->message);
        break;
    }
    case CMD_CLIENT_SEND:
        c = find_by_handle(w, cmd->handle);
        if (c != NULL)
            session_deliver(c, cmd->message);
        break;
    case CMD_DISCONNECT:
        c = find_by_handle(w, cmd->handle);
        if (c != NULL)
            conn_close(c, cmd->code, "Disconnected by server");
        break;
    case CMD_SHUTDOWN:
        if (!w->shutting_down) {
            w->shutting_down = true;
            w->shutdown_deadline_ms =
                clock_monotonic_ms() + w->server->config->shutdown_timeout_ms;
            struct timeval tv =
                ms_to_tv(w->server->config->shutdown_timeout_ms);
            event_add(w->shutdown_timer, &tv);
            close_all_clients(w);
        }
        break;
    }
    message_unref(cmd->message);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct command batch[COMMAND_BATCH];
    size_t n = 0;
    uint64_t counter;
    bool more;

    /* Reset the eventfd before taking commands: a post that lands after
     * this read either is taken below or writes the eventfd again. */
    ssize_t r = read(fd, &counter, sizeof(counter));
    (void)r;

    pthread_mutex_lock(&w->mailbox_lock);
    while (n < COMMAND_BATCH && w->queue_count > 0) {
        batch[n++] = w->queue[w->queue_head];
        w->queue_head = (w->queue_head + 1) % w->queue_cap;
        w->queue_count--;
    }
    more = w->queue_count > 0;
    if (!more)
        w->wake_pending = false;
    atomic_store_explicit(&w->queue_depth, w->queue_count,
                          memory_order_relaxed);
    pthread_mutex_unlock(&w->mailbox_lock);

    for (size_t i = 0; i < n; i++)
        run_command(w, &batch[i]);
    worker_flush(w);

    /* Let sockets run before the next batch. */
    if (more)
        event_active(w->wake_event, EV_READ, 0);
    stop_if_drained(w);
}

/* Closes unauthorized clients whose deadline passed, oldest first, and
 * re-arms the timer for the next one. */
static void arm_auth_timer(struct worker *w)
{
    if (w->unauth_head == NULL) {
        evtimer_del(w->auth_timer);
        return;
    }
    int64_t deadline =
        w->unauth_head->upgraded_ms + w->server->config->auth_timeout_ms;
    int64_t wait = deadline - clock_monotonic_ms();
    struct timeval tv = ms_to_tv(wait > 0 ? wait : 0);
    evtimer_add(w->auth_timer, &tv);
}

static void on_auth_timer(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    int64_t now = clock_monotonic_ms();
    unsigned timeout = w->server->config->auth_timeout_ms;

    while (w->unauth_head != NULL &&
           now - w->unauth_head->upgraded_ms >= (int64_t)timeout) {
        struct connection *c = w->unauth_head;
        metrics_add(&w->server->metrics.auth_failures[AUTH_FAIL_TIMEOUT], 1);
        log_event(LOG_INFO, "auth_timeout", "client=%s fd=%d code=4001", c->id,
                  c->fd);
        conn_close(c, 4001, "Authentication timeout");
    }
    arm_auth_timer(w);
    worker_flush(w);
}

static void on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    int64_t now = clock_monotonic_ms();
    int64_t timeout = w->server->config->heartbeat_timeout_ms;
    struct connection *c, *next;

    for (c = w->authed; c != NULL; c = next) {
        next = c->state_next;
        if (now - c->last_activity_ms > timeout) {
            log_event(LOG_INFO, "heartbeat_timeout",
                      "client=%s fd=%d code=4002 idle_ms=%lld", c->id, c->fd,
                      (long long)(now - c->last_activity_ms));
            conn_close(c, 4002, "Heartbeat timeout");
        }
    }
    worker_flush(w);
}

/* Checks transport liveness. A silent WebSocket gets a ping and is dropped
 * when the ping goes unanswered. HTTP connections idle or slow past
 * idle_timeout are dropped, and so are closing connections whose grace
 * period ran out. */
static void on_idle_timer(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    int64_t now = clock_monotonic_ms();
    int64_t idle = (int64_t)w->server->config->idle_timeout_s * 1000;
    struct connection *c, *next;

    for (c = w->all; c != NULL; c = next) {
        next = c->all_next;
        if (c->phase == PHASE_CLOSING || c->phase == PHASE_LINGER) {
            if (now >= c->linger_until_ms)
                conn_abort(c, "close grace period over");
            continue;
        }
        if (c->phase != PHASE_OPEN)
            continue;
        if (c->kind == CONN_HTTP) {
            if (now - c->request_started_ms >= idle)
                conn_abort(c, "http idle timeout");
            continue;
        }
        if (c->ping_sent_ms != 0) {
            if (now - c->ping_sent_ms >= idle) {
                log_event(LOG_INFO, "transport_timeout", "client=%s fd=%d",
                          c->id, c->fd);
                conn_abort(c, "no pong");
            }
        } else if (now - c->last_frame_ms >= idle) {
            c->ping_sent_ms = now;
            conn_send_frame(c, WS_OP_PING, "", 0);
        }
    }
    worker_flush(w);
}

static void on_shutdown_timer(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    log_event(LOG_WARN, "shutdown_deadline", "worker=%u remaining=%u", w->index,
              atomic_load(&w->clients));
    while (w->all != NULL)
        conn_free(w->all);
    event_base_loopbreak(w->base);
}

void worker_schedule_flush(struct worker *w, struct connection *c)
{
    if (c->in_flush_list)
        return;
    c->in_flush_list = true;
    c->flush_next = w->flush_list;
    w->flush_list = c;
}

void worker_flush(struct worker *w)
{
    while (w->flush_list != NULL) {
        struct connection *c = w->flush_list;
        w->flush_list = c->flush_next;
        c->in_flush_list = false;
        conn_flush(c);
    }
    while (w->reap_list != NULL) {
        struct connection *c = w->reap_list;
        w->reap_list = c->reap_next;
        conn_free(c);
    }
    stop_if_drained(w);
}

bool worker_attach(struct worker *w, struct connection *c)
{
    uint32_t slot;

    if (w->free_slot_count > 0) {
        slot = w->free_slots[--w->free_slot_count];
    } else {
        if (w->slot_count == w->slot_cap) {
            uint32_t cap = w->slot_cap ? w->slot_cap * 2 : 256;
            struct connection **slots = realloc(w->slots, cap * sizeof(*slots));
            if (slots == NULL)
                return false;
            w->slots = slots;
            uint32_t *free_slots =
                realloc(w->free_slots, cap * sizeof(*free_slots));
            if (free_slots == NULL)
                return false;
            w->free_slots = free_slots;
            w->slot_cap = cap;
        }
        slot = w->slot_count++;
        w->slots[slot] = NULL;
    }

    /* Generations start from a random point so a handle from an earlier
     * run of this slot never matches by accident. */
    static _Thread_local uint32_t next_generation;
    if (next_generation == 0)
        crypto_random(&next_generation, sizeof(next_generation));
    c->generation = ++next_generation;
    c->slot = slot;
    w->slots[slot] = c;

    c->all_prev = NULL;
    c->all_next = w->all;
    if (w->all != NULL)
        w->all->all_prev = c;
    w->all = c;
    atomic_fetch_add_explicit(&w->clients, 1, memory_order_relaxed);
    return true;
}

static void state_list_remove(struct worker *w, struct connection *c)
{
    if (!c->in_state_list)
        return;
    if (c->state_prev != NULL)
        c->state_prev->state_next = c->state_next;
    else if (w->unauth_head == c)
        w->unauth_head = c->state_next;
    else
        w->authed = c->state_next;
    if (c->state_next != NULL)
        c->state_next->state_prev = c->state_prev;
    else if (w->unauth_tail == c)
        w->unauth_tail = c->state_prev;
    c->state_prev = c->state_next = NULL;
    c->in_state_list = false;
}

void worker_detach(struct worker *w, struct connection *c)
{
    state_list_remove(w, c);
    if (c->all_prev != NULL)
        c->all_prev->all_next = c->all_next;
    else
        w->all = c->all_next;
    if (c->all_next != NULL)
        c->all_next->all_prev = c->all_prev;

    w->slots[c->slot] = NULL;
    w->free_slots[w->free_slot_count++] = c->slot;
    atomic_fetch_sub_explicit(&w->clients, 1, memory_order_relaxed);
}

void worker_mark_unauthorized(struct worker *w, struct connection *c)
{
    state_list_remove(w, c);
    c->state_next = NULL;
    c->state_prev = w->unauth_tail;
    if (w->unauth_tail != NULL)
        w->unauth_tail->state_next = c;
    else
        w->unauth_head = c;
    w->unauth_tail = c;
    c->in_state_list = true;
    if (w->unauth_head == c)
        arm_auth_timer(w);
}

void worker_mark_authenticated(struct worker *w, struct connection *c)
{
    bool was_head = w->unauth_head == c;

    state_list_remove(w, c);
    c->state_prev = NULL;
    c->state_next = w->authed;
    if (w->authed != NULL)
        w->authed->state_prev = c;
    w->authed = c;
    c->in_state_list = true;
    if (was_head)
        arm_auth_timer(w);
}

void worker_mark_closed(struct worker *w, struct connection *c)
{
    bool was_head = w->unauth_head == c;

    state_list_remove(w, c);
    if (was_head)
        arm_auth_timer(w);
}

struct local_room *worker_room_join(struct worker *w, struct connection *c,
                                    const char *name, size_t len)
{
    struct hmap_node *n = hmap_find(&w->rooms, name, len);
    struct local_room *room;

    if (c->room_count == c->room_cap) {
        uint16_t cap = c->room_cap ? (uint16_t)(c->room_cap * 2) : 4;
        if (cap <= c->room_cap)
            return NULL;
        struct local_room **grown = realloc(c->rooms, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        c->rooms = grown;
        c->room_cap = cap;
    }
    if (n != NULL) {
        room = hmap_entry(n, struct local_room, node);
    } else {
        room = calloc(1, sizeof(*room) + len + 1);
        if (room == NULL)
            return NULL;
        memcpy(room->name, name, len);
        room->name_len = len;
        room->node.key = room->name;
        room->node.key_len = len;
        if (!hmap_insert(&w->rooms, &room->node)) {
            free(room);
            return NULL;
        }
    }
    if (room->count == room->cap) {
        size_t cap = room->cap ? room->cap * 2 : 2;
        struct connection **grown =
            realloc(room->members, cap * sizeof(*grown));
        if (grown == NULL) {
            if (room->count == 0) {
                hmap_remove(&w->rooms, &room->node);
                free(room);
            }
            return NULL;
        }
        room->members = grown;
        room->cap = cap;
    }
    room->members[room->count++] = c;
    c->rooms[c->room_count++] = room;
    return room;
}

void worker_room_leave(struct worker *w, struct connection *c,
                       struct local_room *room)
{
    for (size_t i = 0; i < room->count; i++) {
        if (room->members[i] == c) {
            room->members[i] = room->members[--room->count];
            break;
        }
    }
    for (uint16_t i = 0; i < c->room_count; i++) {
        if (c->rooms[i] == room) {
            c->rooms[i] = c->rooms[--c->room_count];
            break;
        }
    }
    if (room->count == 0) {
        hmap_remove(&w->rooms, &room->node);
        free(room->members);
        free(room);
    }
}

void worker_next_iv(struct worker *w, uint8_t iv[CRYPTO_IV_LEN])
{
    if (w->iv_pool_used >= sizeof(w->iv_pool)) {
        if (!crypto_random(w->iv_pool, sizeof(w->iv_pool)))
            abort(); /* no randomness: continuing would reuse IVs */
        w->iv_pool_used = 0;
    }
    memcpy(iv, w->iv_pool + w->iv_pool_used, CRYPTO_IV_LEN);
    crypto_wipe(w->iv_pool + w->iv_pool_used, CRYPTO_IV_LEN);
    w->iv_pool_used += CRYPTO_IV_LEN;
}

uint8_t *worker_seal_scratch(struct worker *w, size_t len)
{
    if (len > w->seal_scratch_cap) {
        size_t cap = len < 4096 ? 4096 : len;
        uint8_t *p = realloc(w->seal_scratch, cap);
        if (p == NULL)
            return NULL;
        w->seal_scratch = p;
        w->seal_scratch_cap = cap;
    }
    return w->seal_scratch;
}
