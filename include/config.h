/*
 * Daemon configuration: defaults, then the file given by --config, then
 * SIGNAL_<KEY> environment variables, then command-line flags. Everything
 * is validated before the server starts; an error names the key, the value
 * and where it came from. A loaded config is immutable and reference
 * counted so SIGHUP can swap in a new one while workers still read the old.
 */
#ifndef SIGNAL_CONFIG_H
#define SIGNAL_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_ROOM_NAME_MAX 256 /* characters */

struct config {
    atomic_uint refs;

    char *listen;      /* as given: "host:port" or "[v6]:port" */
    char *listen_host; /* without brackets */
    uint16_t listen_port;
    unsigned workers; /* resolved: never 0 */
    char *ws_path;
    char *jwt_secret;
    size_t jwt_secret_len;
    char *jwt_claims_secret; /* decrypts ignis encrypted claims */
    size_t jwt_claims_secret_len;
    char *jwt_algorithm; /* only "HS256" is accepted */
    long jwt_leeway_s;
    char *admin_user; /* NULL: Basic authentication off */
    char *admin_password;
    char **room_allow; /* fnmatch patterns */
    size_t room_allow_count;
    char **default_rooms;
    size_t default_room_count;
    bool require_encryption;
    unsigned auth_timeout_ms;
    unsigned heartbeat_interval_ms;
    unsigned heartbeat_timeout_ms;
    unsigned idle_timeout_s;
    size_t max_message_bytes;
    size_t max_body_bytes;
    size_t max_header_bytes;
    size_t outbound_limit_bytes;
    unsigned max_connections;
    unsigned command_queue_limit;
    unsigned shutdown_timeout_ms;
    enum log_level log_level;
    enum log_format log_format;

    char *config_path; /* NULL when no file was given */
};

enum config_status {
    CONFIG_OK,
    CONFIG_EXIT_SUCCESS, /* --help or --version was printed */
    CONFIG_INVALID,      /* the message is in err */
};

/* Loads the configuration from argv, the environment and the file named
 * by --config. On CONFIG_OK *out holds a config with one reference.
 * *check_only is set by --check-config. */
enum config_status config_load(int argc, char **argv, struct config **out,
                               bool *check_only, char *err, size_t err_len);

struct config *config_ref(struct config *c);
void config_unref(struct config *c);

/* True when a room name is valid (non-empty, at most 256 characters of
 * UTF-8, not starting with "ws:") and one of the room_allow patterns
 * matches it. */
bool config_room_allowed(const struct config *c, const char *name, size_t len);

/* True when a room name is valid, whatever the policy. */
bool config_room_name_valid(const char *name, size_t len);

#endif
