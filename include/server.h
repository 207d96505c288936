/*
 * Process-wide state shared by the acceptor, the workers and the REST
 * handlers: the startup configuration (immutable), the reloadable settings
 * (swapped under settings_lock on SIGHUP), the registry, the workers and a
 * few atomic counters. The main thread creates it before any other thread
 * starts and frees it after they have all been joined.
 */
#ifndef SIGNAL_SERVER_H
#define SIGNAL_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "token.h"

struct worker;
struct registry;

struct server {
    struct config *config; /* startup values; never changes */

    pthread_mutex_t settings_lock;
    struct config *settings; /* reloadable values; guarded by settings_lock */

    struct registry *registry;
    struct worker **workers;
    unsigned worker_count;

    int listen_fd;
    bool listen_fd_from_systemd;
    char listen_addr[80]; /* the bound address, for logs */

    atomic_uint ws_connections; /* open WebSocket connections, all states */
    atomic_uint workers_running;
    atomic_bool accepting;
    atomic_bool stopping;
    int64_t started_ms;

    struct metrics metrics;
};

/* The current reloadable settings with one reference; release with
 * config_unref. */
struct config *server_settings(struct server *s);

/* Verifies a client or REST token against the current settings. */
enum token_result server_verify_token(struct server *s, const char *token,
                                      size_t len, char *user_id);

/* Runs the daemon until SIGTERM or SIGINT. Returns the exit status. */
int server_run(struct config *config, int argc, char **argv);

int64_t clock_realtime_ms(void);
int64_t clock_monotonic_ms(void);

#endif
