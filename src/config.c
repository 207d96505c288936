/*
 * Configuration loading and validation. Raw values are collected per key
 * from the three sources in order of precedence (file < environment <
 * flags), then each is converted and checked once, so an error can say
 * where the offending value came from. Runs on the main thread only.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build_config.h"
#include "utf8.h"

enum value_type {
    TYPE_STRING,
    TYPE_SECRET,   /* a string never echoed in errors */
    TYPE_UNSIGNED, /* an unsigned field */
    TYPE_SIZE,     /* a size_t field */
    TYPE_LONG,     /* a long field */
    TYPE_BOOL,
    TYPE_LISTEN,
    TYPE_LIST,
    TYPE_ROOM_LIST,
    TYPE_LOG_LEVEL,
    TYPE_LOG_FORMAT,
    TYPE_ALGORITHM,
};

struct key_spec {
    const char *name;
    enum value_type type;
    size_t field;              /* offset in struct config of a number's field */
    const char *default_value; /* NULL: unset */
    unsigned long long min, max;
    const char *help; /* ends with the unit where there is one */
};

#define FIELD(member) offsetof(struct config, member)

static const struct key_spec keys[] = {
    {"listen", TYPE_LISTEN, 0, "127.0.0.1:8080", 0, 0,
     "address and TCP port to listen on (host:port, [v6]:port; port 0 picks a "
     "free one)"},
    {"workers", TYPE_UNSIGNED, FIELD(workers), "0", 0, 1024,
     "worker threads (0: one per CPU)"},
    {"ws_path", TYPE_STRING, 0, "/ws", 0, 0,
     "URL path of the WebSocket endpoint"},
    {"jwt_secret", TYPE_SECRET, 0, NULL, 0, 0,
     "shared HS256 secret for client and REST tokens (required)"},
    {"jwt_claims_secret", TYPE_SECRET, 0, NULL, 0, 0,
     "application secret of ignis tokens with encrypted claims (default: "
     "jwt_secret)"},
    {"jwt_algorithm", TYPE_ALGORITHM, 0, "HS256", 0, 0,
     "the only JWT algorithm accepted (HS256)"},
    {"jwt_leeway_s", TYPE_LONG, FIELD(jwt_leeway_s), "0", 0, 300,
     "clock leeway for exp and nbf, in seconds"},
    {"admin_user", TYPE_STRING, 0, NULL, 0, 0,
     "Basic authentication user for REST (unset: Basic off)"},
    {"admin_password", TYPE_SECRET, 0, NULL, 0, 0,
     "Basic authentication password for REST"},
    {"room_allow", TYPE_LIST, 0, "", 0, 0,
     "comma-separated glob patterns of rooms clients may join (empty: none)"},
    {"default_rooms", TYPE_ROOM_LIST, 0, "ws-default,ws-notification", 0, 0,
     "comma-separated rooms every client joins on authentication"},
    {"require_encryption", TYPE_BOOL, 0, "true", 0, 0,
     "require the ECDH handshake and encrypt every message (true/false)"},
    {"auth_timeout_ms", TYPE_UNSIGNED, FIELD(auth_timeout_ms), "5000", 10,
     3600000, "time to authenticate after the upgrade, in milliseconds"},
    {"heartbeat_interval_ms", TYPE_UNSIGNED, FIELD(heartbeat_interval_ms),
     "30000", 10, 86400000, "period of the heartbeat sweep, in milliseconds"},
    {"heartbeat_timeout_ms", TYPE_UNSIGNED, FIELD(heartbeat_timeout_ms),
     "90000", 10, 86400000,
     "inactivity after which a client is closed with 4002, in milliseconds"},
    {"idle_timeout_s", TYPE_UNSIGNED, FIELD(idle_timeout_s), "60", 1, 86400,
     "silence before a transport ping, and again before dropping, in seconds"},
    {"max_message_bytes", TYPE_SIZE, FIELD(max_message_bytes), "131072", 128,
     64 * 1024 * 1024, "largest WebSocket message accepted, in bytes"},
    {"max_body_bytes", TYPE_SIZE, FIELD(max_body_bytes), "1048576", 0,
     64 * 1024 * 1024, "largest REST request body, in bytes"},
    {"max_header_bytes", TYPE_SIZE, FIELD(max_header_bytes), "16384", 1024,
     1024 * 1024, "largest HTTP request head, in bytes"},
    {"outbound_limit_bytes", TYPE_SIZE, FIELD(outbound_limit_bytes), "1048576",
     4096, 1024ULL * 1024 * 1024,
     "unsent bytes per client before it is closed with 4005, in bytes"},
    {"max_connections", TYPE_UNSIGNED, FIELD(max_connections), "10000", 1,
     10000000, "WebSocket connections served at once (beyond: 503)"},
    {"command_queue_limit", TYPE_UNSIGNED, FIELD(command_queue_limit), "65536",
     16, 16777216, "commands waiting per worker before REST answers 503"},
    {"shutdown_timeout_ms", TYPE_UNSIGNED, FIELD(shutdown_timeout_ms), "5000",
     0, 600000, "time to drain clients on SIGTERM, in milliseconds"},
    {"log_level", TYPE_LOG_LEVEL, 0, "info", 0, 0,
     "debug, info, warn or error"},
    {"log_format", TYPE_LOG_FORMAT, 0, "text", 0, 0,
     "text (key=value) or json"},
};

#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

struct raw_value {
    char *value;
    char origin[300]; /* "file /etc/x.conf line 3", "SIGNAL_WORKERS",
                         "--workers" */
};

static void set_error(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

static int find_key(const char *name, size_t len)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        size_t n = strlen(keys[i].name);
        if (n != len)
            continue;

        /* Flags may spell the key with dashes. */
        bool same = true;
        for (size_t j = 0; j < n && same; j++) {
            char c = name[j] == '-' ? '_' : name[j];
            same = c == keys[i].name[j];
        }
        if (same)
            return (int)i;
    }
    return -1;
}

static void set_raw(struct raw_value *raw, const char *value, size_t len,
                    const char *origin)
{
    free(raw->value);
    raw->value = strndup(value, len);
    snprintf(raw->origin, sizeof(raw->origin), "%s", origin);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static bool read_file(const char *path, struct raw_value *raw, char *err,
                      size_t err_len)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    unsigned lineno = 0;
    bool ok = true;

    if (f == NULL) {
        set_error(err, err_len, "cannot open config file %s: %s", path,
                  strerror(errno));
        return false;
    }
    while (ok && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            set_error(err, err_len, "%s line %u: line longer than %zu bytes",
                      path, lineno, sizeof(line) - 2);
            ok = false;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;

        char *eq = strchr(s, '=');
        if (eq == NULL) {
            set_error(err, err_len,
                      "%s line %u: expected \"key = value\", got \"%s\"", path,
                      lineno, s);
            ok = false;
            break;
        }
        *eq = '\0';
        char *name = trim(s);
        char *value = trim(eq + 1);
        int k = find_key(name, strlen(name));
        if (k < 0 || strchr(name, '-') != NULL) {
            set_error(err, err_len, "%s line %u: unknown key \"%s\"", path,
                      lineno, name);
            ok = false;
            break;
        }

        /* A value may be double-quoted to keep leading or trailing spaces
         * or a '#'. */
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value++;
            vlen -= 2;
        }
        char origin[300];
        snprintf(origin, sizeof(origin), "%s line %u", path, lineno);
        set_raw(&raw[k], value, vlen, origin);
    }
    if (ok && ferror(f)) {
        set_error(err, err_len, "cannot read config file %s: %s", path,
                  strerror(errno));
        ok = false;
    }
    fclose(f);
    return ok;
}

static void read_environment(struct raw_value *raw)
{
    char name[64];

    for (size_t i = 0; i < KEY_COUNT; i++) {
        size_t o = (size_t)snprintf(name, sizeof(name), "SIGNAL_");
        for (const char *p = keys[i].name; *p && o + 1 < sizeof(name); p++)
            name[o++] = (char)toupper((unsigned char)*p);
        name[o] = '\0';

        const char *v = getenv(name);
        if (v != NULL)
            set_raw(&raw[i], v, strlen(v), name);
    }
}

static void print_help(void)
{
    printf("Usage: signal-server [--config FILE] [--KEY=VALUE]... "
           "[--check-config]\n"
           "Encrypted WebSocket fan-out daemon with a REST admin API.\n\n"
           "Options:\n"
           "  --config FILE    read key = value settings from FILE\n"
           "  --check-config   validate the configuration and exit\n"
           "  --help           print this help and exit\n"
           "  --version        print the version and exit\n\n"
           "Settings (file key, flag --key or --key-with-dashes, environment "
           "SIGNAL_KEY):\n");
    for (size_t i = 0; i < KEY_COUNT; i++) {
        printf("  %-22s %s", keys[i].name, keys[i].help);
        if (keys[i].default_value != NULL && keys[i].default_value[0] != '\0')
            printf(" [%s]", keys[i].default_value);
        printf("\n");
    }
}

static bool parse_uint(const char *s, unsigned long long min,
                       unsigned long long max, unsigned long long *out)
{
    char *end;

    if (*s == '\0' || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_listen(const char *s, struct config *c)
{
    const char *colon;
    size_t host_len;
    const char *host = s;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return false;
        host = s + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
            return false;
        host_len = (size_t)(colon - s);
    }
    if (host_len == 0)
        return false;

    unsigned long long port;
    if (!parse_uint(colon + 1, 0, 65535, &port))
        return false;
    c->listen_host = strndup(host, host_len);
    c->listen_port = (uint16_t)port;
    return c->listen_host != NULL;
}

/* Splits a comma-separated list, trimming spaces and dropping empty
 * entries. */
static bool split_list(const char *s, char ***out, size_t *count)
{
    char *copy = strdup(s);
    char **items = NULL;
    size_t n = 0;
    char *save = NULL;

    if (copy == NULL)
        return false;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        char *t = trim(tok);
        if (*t == '\0')
            continue;
        char **grown = realloc(items, (n + 1) * sizeof(*items));
        if (grown == NULL)
            break;
        items = grown;
        items[n] = strdup(t);
        if (items[n] == NULL)
            break;
        n++;
    }
    free(copy);
    *out = items;
    *count = n;
    return true;
}

bool config_room_name_valid(const char *name, size_t len)
{
    if (len == 0 || memchr(name, '\0', len) != NULL)
        return false;
    if (len >= 3 && memcmp(name, "ws:", 3) == 0)
        return false;
    if (!utf8_is_valid((const uint8_t *)name, len))
        return false;
    return utf8_count_code_points((const uint8_t *)name, len) <=
           CONFIG_ROOM_NAME_MAX;
}

bool config_room_allowed(const struct config *c, const char *name, size_t len)
{
    if (!config_room_name_valid(name, len))
        return false;

    /* fnmatch needs a NUL-terminated name; valid names are short. */
    char buf[CONFIG_ROOM_NAME_MAX * 4 + 1];
    memcpy(buf, name, len);
    buf[len] = '\0';
    for (size_t i = 0; i < c->room_allow_count; i++) {
        if (fnmatch(c->room_allow[i], buf, 0) == 0)
            return true;
    }
    return false;
}

static bool apply_value(struct config *c, size_t k, const struct raw_value *raw,
                        char *err, size_t err_len)
{
    const struct key_spec *spec = &keys[k];
    const char *v = raw->value;
    unsigned long long n = 0;
    const char *expected = NULL;

    switch (spec->type) {
    case TYPE_UNSIGNED:
    case TYPE_SIZE:
    case TYPE_LONG:
        if (!parse_uint(v, spec->min, spec->max, &n)) {
            set_error(err, err_len,
                      "invalid value \"%s\" for %s (from %s): expected an "
                      "integer from %llu to %llu",
                      v, spec->name, raw->origin, spec->min, spec->max);
            return false;
        }

        /* The ranges in the table fit each field's type. */
        char *field = (char *)c + spec->field;
        if (spec->type == TYPE_UNSIGNED)
            *(unsigned *)(void *)field = (unsigned)n;
        else if (spec->type == TYPE_SIZE)
            *(size_t *)(void *)field = (size_t)n;
        else
            *(long *)(void *)field = (long)n;
        return true;
    case TYPE_BOOL:
        if (!parse_bool(v, &c->require_encryption))
            expected = "true or false";
        break;
    case TYPE_LISTEN:
        if (!parse_listen(v, c))
            expected = "host:port or [ipv6]:port with a port from 0 to 65535";
        else
            c->listen = strdup(v);
        break;
    case TYPE_LOG_LEVEL:
        if (!log_level_parse(v, &c->log_level))
            expected = "debug, info, warn or error";
        break;
    case TYPE_LOG_FORMAT:
        if (strcmp(v, "text") == 0)
            c->log_format = LOG_FORMAT_TEXT;
        else if (strcmp(v, "json") == 0)
            c->log_format = LOG_FORMAT_JSON;
        else
            expected = "text or json";
        break;
    case TYPE_ALGORITHM:
        if (strcmp(v, "HS256") != 0)
            expected = "HS256 (the only algorithm supported)";
        else
            c->jwt_algorithm = strdup(v);
        break;
    case TYPE_LIST:
        split_list(v, &c->room_allow, &c->room_allow_count);
        break;
    case TYPE_ROOM_LIST:
        split_list(v, &c->default_rooms, &c->default_room_count);
        for (size_t i = 0; i < c->default_room_count; i++) {
            const char *r = c->default_rooms[i];
            if (!config_room_name_valid(r, strlen(r))) {
                set_error(err, err_len,
                          "invalid value \"%s\" for %s (from %s): room \"%s\" "
                          "must be 1 to 256 characters and not start with "
                          "\"ws:\"",
                          v, spec->name, raw->origin, r);
                return false;
            }
        }
        break;
    case TYPE_STRING:
    case TYPE_SECRET:
        break;
    }
    if (expected != NULL) {
        set_error(err, err_len,
                  "invalid value \"%s\" for %s (from %s): expected %s", v,
                  spec->name, raw->origin, expected);
        return false;
    }

    /* Strings land in their fields by name, each with its own checks. */
    const char *name = spec->name;
    if (strcmp(name, "ws_path") == 0) {
        if (v[0] != '/' || strpbrk(v, " ?#") != NULL) {
            set_error(err, err_len,
                      "invalid value \"%s\" for ws_path (from %s): expected a "
                      "path starting with / without spaces, ? or #",
                      v, raw->origin);
            return false;
        }
        c->ws_path = strdup(v);
    } else if (strcmp(name, "jwt_secret") == 0) {
        c->jwt_secret = strdup(v);
        c->jwt_secret_len = strlen(v);
    } else if (strcmp(name, "jwt_claims_secret") == 0) {
        c->jwt_claims_secret = strdup(v);
        c->jwt_claims_secret_len = strlen(v);
    } else if (strcmp(name, "admin_user") == 0) {
        if (strchr(v, ':') != NULL) {
            set_error(err, err_len,
                      "invalid value \"%s\" for admin_user (from %s): a Basic "
                      "authentication user cannot contain ':'",
                      v, raw->origin);
            return false;
        }
        c->admin_user = strdup(v);
    } else if (strcmp(name, "admin_password") == 0) {
        c->admin_password = strdup(v);
    }
    return true;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

static void config_free(struct config *c)
{
    if (c == NULL)
        return;
    free(c->listen);
    free(c->listen_host);
    free(c->ws_path);
    if (c->jwt_secret != NULL) {
        explicit_bzero(c->jwt_secret, c->jwt_secret_len);
        free(c->jwt_secret);
    }
    if (c->jwt_claims_secret != NULL) {
        explicit_bzero(c->jwt_claims_secret, c->jwt_claims_secret_len);
        free(c->jwt_claims_secret);
    }
    free(c->jwt_algorithm);
    free(c->admin_user);
    if (c->admin_password != NULL) {
        explicit_bzero(c->admin_password, strlen(c->admin_password));
        free(c->admin_password);
    }
    free_list(c->room_allow, c->room_allow_count);
    free_list(c->default_rooms, c->default_room_count);
    free(c->config_path);
    free(c);
}

struct config *config_ref(struct config *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void config_unref(struct config *c)
{
    if (c != NULL &&
        atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        config_free(c);
}

/* Cross-key rules, checked once every key has its value. raw gives each
 * key's origin for the messages. */
static bool check_consistency(struct config *c, const struct raw_value *raw,
                              char *err, size_t err_len)
{
    if (c->jwt_secret == NULL || c->jwt_secret_len == 0) {
        set_error(err, err_len,
                  "missing value for jwt_secret: set it in the config file, "
                  "SIGNAL_JWT_SECRET or --jwt-secret");
        return false;
    }
    if ((c->admin_user == NULL) != (c->admin_password == NULL)) {
        int k = find_key(c->admin_user ? "admin_user" : "admin_password",
                         c->admin_user ? 10 : 14);
        set_error(err, err_len,
                  "%s is set (from %s) but %s is not: set both for Basic "
                  "authentication, or neither to turn it off",
                  keys[k].name, raw[k].origin,
                  c->admin_user ? "admin_password" : "admin_user");
        return false;
    }
    if (c->admin_password != NULL && c->admin_password[0] == '\0') {
        int k = find_key("admin_password", 14);
        set_error(err, err_len,
                  "invalid value \"\" for admin_password (from %s): the "
                  "password must not be empty",
                  raw[k].origin);
        return false;
    }
    if (c->heartbeat_timeout_ms < c->heartbeat_interval_ms) {
        int k = find_key("heartbeat_timeout_ms", 20);
        int i = find_key("heartbeat_interval_ms", 21);
        set_error(err, err_len,
                  "invalid value \"%u\" for heartbeat_timeout_ms (from %s): it "
                  "must be at least heartbeat_interval_ms (%u, from %s)",
                  c->heartbeat_timeout_ms, raw[k].origin,
                  c->heartbeat_interval_ms, raw[i].origin);
        return false;
    }
    /* An empty value reads as unset, like a commented-out line. */
    if (c->jwt_claims_secret != NULL && c->jwt_claims_secret_len == 0) {
        free(c->jwt_claims_secret);
        c->jwt_claims_secret = NULL;
    }
    if (c->jwt_claims_secret == NULL) {
        c->jwt_claims_secret = strdup(c->jwt_secret);
        c->jwt_claims_secret_len = c->jwt_secret_len;
        if (c->jwt_claims_secret == NULL) {
            set_error(err, err_len, "out of memory");
            return false;
        }
    }
    if (c->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n > 1024)
            n = 1024;
        c->workers = n > 0 ? (unsigned)n : 1;
    }
    return true;
}

enum config_status config_load(int argc, char **argv, struct config **out,
                               bool *check_only, char *err, size_t err_len)
{
    struct raw_value raw[KEY_COUNT];
    struct raw_value flags[KEY_COUNT];
    const char *config_path = NULL;
    enum config_status status = CONFIG_INVALID;
    struct config *c = NULL;

    memset(raw, 0, sizeof(raw));
    memset(flags, 0, sizeof(flags));
    *check_only = false;
    *out = NULL;

    /* Flags first, only collected, so --config can name the file before
     * the file is read and the flags still win over it. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            status = CONFIG_EXIT_SUCCESS;
            goto done;
        }
        if (strcmp(a, "--version") == 0) {
            printf("signal-server %s\n", SIGNAL_VERSION);
            status = CONFIG_EXIT_SUCCESS;
            goto done;
        }
        if (strcmp(a, "--check-config") == 0) {
            *check_only = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            set_error(err, err_len, "unexpected argument \"%s\" (see --help)",
                      a);
            goto done;
        }

        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        if (value == NULL) {
            if (i + 1 >= argc) {
                set_error(err, err_len, "missing value for option --%.*s",
                          (int)name_len, name);
                goto done;
            }
            value = argv[++i];
        }
        if (name_len == 6 && strncmp(name, "config", 6) == 0) {
            config_path = value;
            continue;
        }
        int k = find_key(name, name_len);
        if (k < 0) {
            set_error(err, err_len, "unknown option \"--%.*s\" (see --help)",
                      (int)name_len, name);
            goto done;
        }
        char origin[300];
        snprintf(origin, sizeof(origin), "--%.*s", (int)name_len, name);
        set_raw(&flags[k], value, strlen(value), origin);
    }

    /* Defaults, then the file, the environment and the flags. */
    for (size_t k = 0; k < KEY_COUNT; k++) {
        if (keys[k].default_value != NULL)
            set_raw(&raw[k], keys[k].default_value,
                    strlen(keys[k].default_value), "default");
    }
    if (config_path != NULL && !read_file(config_path, raw, err, err_len))
        goto done;
    read_environment(raw);
    for (size_t k = 0; k < KEY_COUNT; k++) {
        if (flags[k].value != NULL)
            set_raw(&raw[k], flags[k].value, strlen(flags[k].value),
                    flags[k].origin);
    }

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        set_error(err, err_len, "out of memory");
        goto done;
    }
    atomic_init(&c->refs, 1);
    for (size_t k = 0; k < KEY_COUNT; k++) {
        if (raw[k].value != NULL && !apply_value(c, k, &raw[k], err, err_len))
            goto done;
    }
    if (!check_consistency(c, raw, err, err_len))
        goto done;
    if (config_path != NULL)
        c->config_path = strdup(config_path);

    *out = c;
    c = NULL;
    status = CONFIG_OK;

done:
    config_free(c);
    for (size_t k = 0; k < KEY_COUNT; k++) {
        if (raw[k].value != NULL) {
            explicit_bzero(raw[k].value, strlen(raw[k].value));
            free(raw[k].value);
        }
        if (flags[k].value != NULL) {
            explicit_bzero(flags[k].value, strlen(flags[k].value));
            free(flags[k].value);
        }
    }
    return status;
}
