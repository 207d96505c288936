/*
 * Unit tests of configuration loading. They cover the defaults, the
 * precedence of file < SIGNAL_<KEY> environment < command-line flags, both
 * flag spellings, and every kind of invalid value with its key, value and
 * origin named in the error. They also cover the cross-key rules, the file
 * syntax and the room policy (room_allow globs and the room name rules).
 * Each test starts with no SIGNAL_* variable set and writes its config
 * files under /tmp.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

extern char **environ;

static char err[2048];
static char file_path[64];
static bool check_only;

static void clear_signal_environment(void)
{
    char *names[256];
    size_t count = 0;

    /* Collect first: unsetenv changes environ under the loop. */
    for (char **e = environ; *e != NULL && count < 256; e++) {
        if (strncmp(*e, "SIGNAL_", 7) == 0)
            names[count++] = strndup(*e, strcspn(*e, "="));
    }
    for (size_t i = 0; i < count; i++) {
        unsetenv(names[i]);
        free(names[i]);
    }
}

static void setup(void)
{
    clear_signal_environment();
    err[0] = '\0';
    file_path[0] = '\0';
}

static void teardown(void)
{
    if (file_path[0] != '\0')
        unlink(file_path);
}

/* Writes text to a new temporary file and returns its path. */
static const char *write_config(const char *text)
{
    if (file_path[0] != '\0')
        unlink(file_path);
    snprintf(file_path, sizeof file_path, "/tmp/test_config_XXXXXX");
    int fd = mkstemp(file_path);
    ck_assert_msg(fd >= 0, "mkstemp failed");
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    return file_path;
}

/* Runs config_load on "signal-server" followed by the NULL-terminated
 * arguments. */
static enum config_status load_args(struct config **out, const char **args)
{
    char *argv[64];
    int argc = 0;

    argv[argc++] = (char *)"signal-server";
    for (; *args != NULL; args++) {
        ck_assert_int_lt(argc, 63);
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    err[0] = '\0';
    return config_load(argc, argv, out, &check_only, err, sizeof err);
}

#define LOAD(out, ...) load_args(out, (const char *[]){__VA_ARGS__, NULL})

static struct config *load_ok(const char **args)
{
    struct config *c = NULL;
    enum config_status status = load_args(&c, args);

    ck_assert_msg(status == CONFIG_OK, "config_load failed: %s", err);
    ck_assert_ptr_nonnull(c);
    return c;
}

#define LOAD_OK(...) load_ok((const char *[]){__VA_ARGS__, NULL})

static void expect_invalid(const char **args)
{
    struct config *c = (struct config *)1;

    ck_assert_int_eq(load_args(&c, args), CONFIG_INVALID);
    ck_assert_ptr_null(c);
    ck_assert_msg(err[0] != '\0', "CONFIG_INVALID without a message");
}

#define EXPECT_INVALID(...) expect_invalid((const char *[]){__VA_ARGS__, NULL})

static void expect_in_error(const char *part)
{
    ck_assert_msg(strstr(err, part) != NULL,
                  "error \"%s\" does not contain \"%s\"", err, part);
}

START_TEST(test_defaults)
{
    struct config *c = LOAD_OK("--jwt-secret=s");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned expected_workers = 1;

    /* workers = 0 means one per online CPU, at most 1024. */
    if (cpus > 1024)
        expected_workers = 1024;
    else if (cpus > 0)
        expected_workers = (unsigned)cpus;

    ck_assert(!check_only);
    ck_assert_uint_eq(atomic_load(&c->refs), 1);
    ck_assert_str_eq(c->listen, "127.0.0.1:8080");
    ck_assert_str_eq(c->listen_host, "127.0.0.1");
    ck_assert_uint_eq(c->listen_port, 8080);
    ck_assert_uint_eq(c->workers, expected_workers);
    ck_assert_str_eq(c->ws_path, "/ws");
    ck_assert_str_eq(c->jwt_secret, "s");
    ck_assert_uint_eq(c->jwt_secret_len, 1);
    ck_assert_str_eq(c->jwt_algorithm, "HS256");
    ck_assert_int_eq(c->jwt_leeway_s, 0);
    ck_assert_ptr_null(c->admin_user);
    ck_assert_ptr_null(c->admin_password);
    ck_assert_uint_eq(c->room_allow_count, 0);
    ck_assert_uint_eq(c->default_room_count, 2);
    ck_assert_str_eq(c->default_rooms[0], "ws-default");
    ck_assert_str_eq(c->default_rooms[1], "ws-notification");
    ck_assert(c->require_encryption);
    ck_assert_uint_eq(c->auth_timeout_ms, 5000);
    ck_assert_uint_eq(c->heartbeat_interval_ms, 30000);
    ck_assert_uint_eq(c->heartbeat_timeout_ms, 90000);
    ck_assert_uint_eq(c->idle_timeout_s, 60);
    ck_assert_uint_eq(c->max_message_bytes, 131072);
    ck_assert_uint_eq(c->max_body_bytes, 1048576);
    ck_assert_uint_eq(c->max_header_bytes, 16384);
    ck_assert_uint_eq(c->outbound_limit_bytes, 1048576);
    ck_assert_uint_eq(c->max_connections, 10000);
    ck_assert_uint_eq(c->command_queue_limit, 65536);
    ck_assert_uint_eq(c->shutdown_timeout_ms, 5000);
    ck_assert_int_eq(c->log_level, LOG_INFO);
    ck_assert_int_eq(c->log_format, LOG_FORMAT_TEXT);
    ck_assert_ptr_null(c->config_path);
    config_unref(c);
}
END_TEST

START_TEST(test_file_then_environment_then_flags)
{
    const char *path = write_config("workers = 3\n"
                                    "ws_path = /from-file\n"
                                    "auth_timeout_ms = 1111\n"
                                    "jwt_secret = file-secret\n");

    /* The file alone. */
    struct config *c = LOAD_OK("--config", path);
    ck_assert_uint_eq(c->workers, 3);
    ck_assert_str_eq(c->ws_path, "/from-file");
    ck_assert_uint_eq(c->auth_timeout_ms, 1111);
    ck_assert_str_eq(c->jwt_secret, "file-secret");
    ck_assert_str_eq(c->config_path, path);
    config_unref(c);

    /* The environment wins over the file, key by key. */
    setenv("SIGNAL_WORKERS", "5", 1);
    setenv("SIGNAL_JWT_SECRET", "env-secret", 1);
    setenv("SIGNAL_HEARTBEAT_INTERVAL_MS", "2222", 1);
    c = LOAD_OK("--config", path);
    ck_assert_uint_eq(c->workers, 5);
    ck_assert_str_eq(c->jwt_secret, "env-secret");
    ck_assert_str_eq(c->ws_path, "/from-file");
    ck_assert_uint_eq(c->auth_timeout_ms, 1111);
    ck_assert_uint_eq(c->heartbeat_interval_ms, 2222);
    config_unref(c);

    /* Flags win over both, wherever --config appears. */
    c = LOAD_OK("--workers=7", "--config", path, "--idle-timeout-s", "33");
    ck_assert_uint_eq(c->workers, 7);
    ck_assert_str_eq(c->jwt_secret, "env-secret");
    ck_assert_str_eq(c->ws_path, "/from-file");
    ck_assert_uint_eq(c->auth_timeout_ms, 1111);
    ck_assert_uint_eq(c->heartbeat_interval_ms, 2222);
    ck_assert_uint_eq(c->idle_timeout_s, 33);
    config_unref(c);

    /* The last of two flags for one key wins. */
    c = LOAD_OK("--config", path, "--workers=8", "--workers", "9");
    ck_assert_uint_eq(c->workers, 9);
    config_unref(c);
}
END_TEST

START_TEST(test_environment_without_file)
{
    setenv("SIGNAL_JWT_SECRET", "from-env", 1);
    setenv("SIGNAL_REQUIRE_ENCRYPTION", "false", 1);
    setenv("SIGNAL_ROOM_ALLOW", "public-*", 1);
    setenv("SIGNAL_LOG_FORMAT", "json", 1);
    /* Lower-case names are not read. */
    setenv("signal_workers", "77", 1);

    struct config *c = LOAD_OK("--listen=127.0.0.1:0");
    ck_assert_str_eq(c->jwt_secret, "from-env");
    ck_assert(!c->require_encryption);
    ck_assert_uint_eq(c->room_allow_count, 1);
    ck_assert_str_eq(c->room_allow[0], "public-*");
    ck_assert_int_eq(c->log_format, LOG_FORMAT_JSON);
    ck_assert_uint_ne(c->workers, 77);
    ck_assert_uint_eq(c->listen_port, 0);
    config_unref(c);
    unsetenv("signal_workers");
}
END_TEST

START_TEST(test_flag_spellings)
{
    struct config *c = LOAD_OK("--jwt-secret", "spaced");
    ck_assert_str_eq(c->jwt_secret, "spaced");
    config_unref(c);

    c = LOAD_OK("--jwt_secret=underscored");
    ck_assert_str_eq(c->jwt_secret, "underscored");
    config_unref(c);

    /* Only the first '=' separates the key from the value. */
    c = LOAD_OK("--jwt-secret=a=b=c", "--max-message-bytes=4096",
                "--max_body_bytes", "2048", "--heartbeat_timeout-ms=120000");
    ck_assert_str_eq(c->jwt_secret, "a=b=c");
    ck_assert_uint_eq(c->jwt_secret_len, 5);
    ck_assert_uint_eq(c->max_message_bytes, 4096);
    ck_assert_uint_eq(c->max_body_bytes, 2048);
    ck_assert_uint_eq(c->heartbeat_timeout_ms, 120000);
    config_unref(c);

    /* A value may be empty with '=' and start with dashes without it. */
    c = LOAD_OK("--jwt-secret=s", "--room-allow=", "--admin-user", "--op",
                "--admin-password", "pw");
    ck_assert_uint_eq(c->room_allow_count, 0);
    ck_assert_str_eq(c->admin_user, "--op");
    ck_assert_str_eq(c->admin_password, "pw");
    config_unref(c);
}
END_TEST

START_TEST(test_config_flag_both_forms)
{
    const char *path = write_config("jwt_secret = x\nworkers = 2\n");

    struct config *c = LOAD_OK("--config="
                               "/nonexistent",
                               "--config", path);
    ck_assert_uint_eq(c->workers, 2);
    config_unref(c);

    char flag[128];
    snprintf(flag, sizeof flag, "--config=%s", path);
    c = LOAD_OK(flag);
    ck_assert_uint_eq(c->workers, 2);
    ck_assert_str_eq(c->config_path, path);
    config_unref(c);
}
END_TEST

START_TEST(test_check_help_version)
{
    struct config *c = NULL;

    c = LOAD_OK("--check-config", "--jwt-secret=s");
    ck_assert(check_only);
    config_unref(c);

    c = (struct config *)1;
    ck_assert_int_eq(LOAD(&c, "--help"), CONFIG_EXIT_SUCCESS);
    ck_assert_ptr_null(c);
    c = (struct config *)1;
    ck_assert_int_eq(LOAD(&c, "--version"), CONFIG_EXIT_SUCCESS);
    ck_assert_ptr_null(c);

    /* --help exits before any value is validated. */
    c = (struct config *)1;
    ck_assert_int_eq(LOAD(&c, "--workers=abc", "--help"), CONFIG_EXIT_SUCCESS);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_bad_arguments)
{
    EXPECT_INVALID("--jwt-secret=s", "--no-such-key=1");
    expect_in_error("--no-such-key");

    EXPECT_INVALID("--jwt-secret=s", "--workers");
    expect_in_error("missing value");
    expect_in_error("--workers");

    EXPECT_INVALID("--jwt-secret=s", "workers=3");
    expect_in_error("unexpected argument");
    expect_in_error("workers=3");

    EXPECT_INVALID("--jwt-secret=s", "-w", "3");
    expect_in_error("\"-w\"");

    EXPECT_INVALID("--jwt-secret=s", "--config=/nonexistent/signal.conf");
    expect_in_error("/nonexistent/signal.conf");
}
END_TEST

/* Values each key rejects. Every row is tried from a flag in both
 * spellings, from the environment and from a file. */
struct invalid_case {
    const char *key;
    const char *value;
};

static const struct invalid_case invalid_cases[] = {
    {"workers", "-1"},
    {"workers", "abc"},
    {"workers", "1025"},
    {"workers", ""},
    {"workers", "3x"},
    {"workers", "1.5"},
    {"workers", "+3"},
    {"workers", "99999999999999999999999"},
    {"jwt_leeway_s", "301"},
    {"jwt_leeway_s", "-5"},
    {"auth_timeout_ms", "9"},
    {"auth_timeout_ms", "3600001"},
    {"heartbeat_interval_ms", "9"},
    {"heartbeat_interval_ms", "86400001"},
    {"heartbeat_timeout_ms", "9"},
    {"heartbeat_timeout_ms", "86400001"},
    {"idle_timeout_s", "0"},
    {"idle_timeout_s", "86401"},
    {"max_message_bytes", "127"},
    {"max_message_bytes", "67108865"},
    {"max_body_bytes", "67108865"},
    {"max_header_bytes", "1023"},
    {"max_header_bytes", "1048577"},
    {"outbound_limit_bytes", "4095"},
    {"outbound_limit_bytes", "1073741825"},
    {"max_connections", "0"},
    {"max_connections", "10000001"},
    {"command_queue_limit", "15"},
    {"command_queue_limit", "16777217"},
    {"shutdown_timeout_ms", "600001"},
    {"require_encryption", "maybe"},
    {"require_encryption", "2"},
    {"require_encryption", ""},
    {"listen", "8080"},
    {"listen", "localhost"},
    {"listen", ":8080"},
    {"listen", "127.0.0.1:"},
    {"listen", "127.0.0.1:65536"},
    {"listen", "127.0.0.1:-1"},
    {"listen", "127.0.0.1:80x"},
    {"listen", "::1:80"},
    {"listen", "[::1]80"},
    {"listen", "[::1"},
    {"listen", "[]:80"},
    {"log_level", "verbose"},
    {"log_level", "INFO"},
    {"log_level", ""},
    {"log_format", "xml"},
    {"log_format", "JSON"},
    {"jwt_algorithm", "RS256"},
    {"jwt_algorithm", "none"},
    {"jwt_algorithm", "hs256"},
    {"default_rooms", "ws:internal"},
    {"default_rooms", "a,ws:x"},
    {"ws_path", "ws"},
    {"ws_path", ""},
    {"ws_path", "/ws?x=1"},
    {"ws_path", "/w s"},
    {"ws_path", "/ws#top"},
    {"admin_user", "ad:min"},
};

enum origin_kind {
    ORIGIN_FLAG_EQUALS,
    ORIGIN_FLAG_DASHED,
    ORIGIN_ENV,
    ORIGIN_FILE
};

static const char *const origin_kind_names[] = {"--key=value", "--key value",
                                                "environment", "file"};

static void check_invalid(const struct invalid_case *row, enum origin_kind kind)
{
    char flag[128], dashed[64], env_name[64], origin[128], quoted[128];
    struct config *c = (struct config *)1;
    enum config_status status;

    snprintf(dashed, sizeof dashed, "--%s", row->key);
    for (char *p = dashed + 2; *p != '\0'; p++)
        *p = *p == '_' ? '-' : *p;
    snprintf(env_name, sizeof env_name, "SIGNAL_");
    for (size_t i = 0; row->key[i] != '\0'; i++)
        env_name[7 + i] = (char)(row->key[i] >= 'a' && row->key[i] <= 'z'
                                     ? row->key[i] - 'a' + 'A'
                                     : row->key[i]);
    env_name[7 + strlen(row->key)] = '\0';

    switch (kind) {
    case ORIGIN_FLAG_EQUALS:
        snprintf(flag, sizeof flag, "--%s=%s", row->key, row->value);
        snprintf(origin, sizeof origin, "--%s", row->key);
        status = LOAD(&c, "--jwt-secret=s", flag);
        break;
    case ORIGIN_FLAG_DASHED:
        snprintf(origin, sizeof origin, "%s", dashed);
        status = LOAD(&c, "--jwt-secret=s", dashed, row->value);
        break;
    case ORIGIN_ENV:
        setenv(env_name, row->value, 1);
        snprintf(origin, sizeof origin, "%s", env_name);
        status = LOAD(&c, "--jwt-secret=s");
        unsetenv(env_name);
        break;
    case ORIGIN_FILE:
    default: {
        char text[512];
        snprintf(text, sizeof text, "# line 1 is a comment\n%s = %s\n",
                 row->key, row->value);
        const char *path = write_config(text);
        snprintf(origin, sizeof origin, "%s line 2", path);
        status = LOAD(&c, "--jwt-secret=s", "--config", path);
        break;
    }
    }

    ck_assert_msg(status == CONFIG_INVALID, "%s = \"%s\" from %s accepted",
                  row->key, row->value, origin_kind_names[kind]);
    ck_assert_ptr_null(c);
    snprintf(quoted, sizeof quoted, "\"%s\"", row->value);
    ck_assert_msg(strstr(err, row->key) != NULL,
                  "%s = \"%s\" from %s: error \"%s\" does not name the key",
                  row->key, row->value, origin_kind_names[kind], err);
    ck_assert_msg(strstr(err, quoted) != NULL,
                  "%s = \"%s\" from %s: error \"%s\" does not quote the value",
                  row->key, row->value, origin_kind_names[kind], err);
    ck_assert_msg(strstr(err, origin) != NULL,
                  "%s = \"%s\": error \"%s\" does not name the origin %s",
                  row->key, row->value, err, origin);
}

START_TEST(test_invalid_value_named_with_origin)
{
    const struct invalid_case *row = &invalid_cases[_i];

    check_invalid(row, ORIGIN_FLAG_EQUALS);
    check_invalid(row, ORIGIN_FLAG_DASHED);
    check_invalid(row, ORIGIN_ENV);
    check_invalid(row, ORIGIN_FILE);
}
END_TEST

START_TEST(test_default_room_over_256_characters)
{
    char value[300], flag[320];

    memset(value, 'r', 257);
    value[257] = '\0';
    snprintf(flag, sizeof flag, "--default-rooms=%s", value);
    EXPECT_INVALID("--jwt-secret=s", flag);
    expect_in_error("default_rooms");
    expect_in_error(value);
    expect_in_error("--default-rooms");

    /* 256 characters are still a valid name. */
    value[256] = '\0';
    snprintf(flag, sizeof flag, "--default-rooms=%s", value);
    struct config *c = LOAD_OK("--jwt-secret=s", flag);
    ck_assert_uint_eq(c->default_room_count, 1);
    ck_assert_str_eq(c->default_rooms[0], value);
    config_unref(c);
}
END_TEST

START_TEST(test_accepted_boundaries)
{
    struct config *c =
        LOAD_OK("--jwt-secret=s", "--workers=1024", "--jwt-leeway-s=300",
                "--auth-timeout-ms=10", "--heartbeat-interval-ms=10",
                "--heartbeat-timeout-ms=86400000", "--idle-timeout-s=1",
                "--max-message-bytes=128", "--max-body-bytes=0",
                "--max-header-bytes=1048576", "--outbound-limit-bytes=4096",
                "--max-connections=1", "--command-queue-limit=16",
                "--shutdown-timeout-ms=0", "--listen=[::1]:65535");
    ck_assert_uint_eq(c->workers, 1024);
    ck_assert_int_eq(c->jwt_leeway_s, 300);
    ck_assert_uint_eq(c->auth_timeout_ms, 10);
    ck_assert_uint_eq(c->heartbeat_interval_ms, 10);
    ck_assert_uint_eq(c->heartbeat_timeout_ms, 86400000);
    ck_assert_uint_eq(c->idle_timeout_s, 1);
    ck_assert_uint_eq(c->max_message_bytes, 128);
    ck_assert_uint_eq(c->max_body_bytes, 0);
    ck_assert_uint_eq(c->max_header_bytes, 1048576);
    ck_assert_uint_eq(c->outbound_limit_bytes, 4096);
    ck_assert_uint_eq(c->max_connections, 1);
    ck_assert_uint_eq(c->command_queue_limit, 16);
    ck_assert_uint_eq(c->shutdown_timeout_ms, 0);
    ck_assert_str_eq(c->listen, "[::1]:65535");
    ck_assert_str_eq(c->listen_host, "::1");
    ck_assert_uint_eq(c->listen_port, 65535);
    config_unref(c);

    c = LOAD_OK("--jwt-secret=s", "--listen=localhost:0", "--workers=1");
    ck_assert_str_eq(c->listen_host, "localhost");
    ck_assert_uint_eq(c->listen_port, 0);
    ck_assert_uint_eq(c->workers, 1);
    config_unref(c);
}
END_TEST

START_TEST(test_booleans_and_levels)
{
    static const struct {
        const char *text;
        bool value;
    } booleans[] = {
        {"true", true}, {"yes", true}, {"on", true},     {"1", true},
        {"TRUE", true}, {"Yes", true}, {"false", false}, {"no", false},
        {"off", false}, {"0", false},  {"Off", false},   {"FALSE", false},
    };
    static const struct {
        const char *text;
        enum log_level level;
    } levels[] = {
        {"debug", LOG_DEBUG},
        {"info", LOG_INFO},
        {"warn", LOG_WARN},
        {"error", LOG_ERROR},
    };
    char flag[64];

    for (size_t i = 0; i < sizeof booleans / sizeof booleans[0]; i++) {
        snprintf(flag, sizeof flag, "--require-encryption=%s",
                 booleans[i].text);
        struct config *c = LOAD_OK("--jwt-secret=s", flag);
        ck_assert_msg(c->require_encryption == booleans[i].value,
                      "require_encryption=%s read as %d", booleans[i].text,
                      c->require_encryption);
        config_unref(c);
    }
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        snprintf(flag, sizeof flag, "--log-level=%s", levels[i].text);
        struct config *c = LOAD_OK("--jwt-secret=s", flag);
        ck_assert_int_eq(c->log_level, levels[i].level);
        config_unref(c);
    }
}
END_TEST

START_TEST(test_missing_jwt_secret)
{
    EXPECT_INVALID("--workers=2");
    expect_in_error("jwt_secret");

    EXPECT_INVALID("--jwt-secret=");
    expect_in_error("jwt_secret");

    setenv("SIGNAL_JWT_SECRET", "", 1);
    EXPECT_INVALID("--workers=2");
    expect_in_error("jwt_secret");
}
END_TEST

START_TEST(test_secrets_never_in_errors)
{
    EXPECT_INVALID("--jwt-secret=TOP-SECRET-VALUE", "--admin-user=admin",
                   "--admin-password=PASSWORD-VALUE", "--workers=abc");
    expect_in_error("workers");
    ck_assert_msg(strstr(err, "TOP-SECRET-VALUE") == NULL,
                  "error shows the secret: %s", err);
    ck_assert_msg(strstr(err, "PASSWORD-VALUE") == NULL,
                  "error shows the password: %s", err);

    EXPECT_INVALID("--admin-password=PASSWORD-VALUE",
                   "--jwt-secret=TOP-SECRET-VALUE");
    ck_assert_msg(strstr(err, "TOP-SECRET-VALUE") == NULL,
                  "error shows the secret: %s", err);
    ck_assert_msg(strstr(err, "PASSWORD-VALUE") == NULL,
                  "error shows the password: %s", err);
}
END_TEST

START_TEST(test_admin_credentials_together)
{
    EXPECT_INVALID("--jwt-secret=s", "--admin-user=admin");
    expect_in_error("admin_user");
    expect_in_error("admin_password");
    expect_in_error(
        "admin_user is set (from --admin-user) but admin_password is not");

    EXPECT_INVALID("--jwt-secret=s", "--admin-password=pw");
    expect_in_error(
        "admin_password is set (from --admin-password) but admin_user is not");

    EXPECT_INVALID("--jwt-secret=s", "--admin-user=admin", "--admin-password=");
    expect_in_error("admin_password");
    expect_in_error("\"\"");

    struct config *c =
        LOAD_OK("--jwt-secret=s", "--admin-user=admin", "--admin-password=pw");
    ck_assert_str_eq(c->admin_user, "admin");
    ck_assert_str_eq(c->admin_password, "pw");
    config_unref(c);
}
END_TEST

START_TEST(test_heartbeat_timeout_below_interval)
{
    EXPECT_INVALID("--jwt-secret=s", "--heartbeat-interval-ms=5000",
                   "--heartbeat-timeout-ms=4999");
    expect_in_error("heartbeat_timeout_ms");
    expect_in_error("\"4999\"");
    expect_in_error("heartbeat_interval_ms");

    struct config *c = LOAD_OK("--jwt-secret=s", "--heartbeat-interval-ms=5000",
                               "--heartbeat-timeout-ms=5000");
    ck_assert_uint_eq(c->heartbeat_timeout_ms, 5000);
    config_unref(c);
}
END_TEST

START_TEST(test_unknown_key_in_file)
{
    const char *path = write_config("# settings\n"
                                    "\n"
                                    "workers = 2\n"
                                    "no_such_key = 1\n");

    EXPECT_INVALID("--jwt-secret=s", "--config", path);
    expect_in_error(path);
    expect_in_error("line 4");
    expect_in_error("\"no_such_key\"");

    /* Dashes are a flag spelling only. */
    path = write_config("jwt-secret = x\n");
    EXPECT_INVALID("--config", path);
    expect_in_error("line 1");
    expect_in_error("\"jwt-secret\"");
}
END_TEST

START_TEST(test_line_without_equals_in_file)
{
    const char *path = write_config("jwt_secret = x\n"
                                    "workers 4\n");

    EXPECT_INVALID("--config", path);
    expect_in_error(path);
    expect_in_error("line 2");
    expect_in_error("workers 4");
}
END_TEST

START_TEST(test_file_syntax)
{
    const char *path =
        write_config("# comment\n"
                     "   # indented comment\n"
                     "\n"
                     "\t  \n"
                     "jwt_secret=\"x\"\n"
                     "admin_user = op\n"
                     "admin_password = \"  two words # not a comment  \"\n"
                     "listen =   127.0.0.1:9000   \r\n"
                     "\tworkers\t=\t6\t\n"
                     "default_rooms = \"\"\n"
                     "room_allow =  public-* , team-? ,, exact \n"
                     "ws_path = \"/quoted\"\n");

    struct config *c = LOAD_OK("--config", path);
    ck_assert_str_eq(c->jwt_secret, "x");
    ck_assert_uint_eq(c->jwt_secret_len, 1);
    ck_assert_str_eq(c->admin_user, "op");
    ck_assert_str_eq(c->admin_password, "  two words # not a comment  ");
    ck_assert_str_eq(c->listen, "127.0.0.1:9000");
    ck_assert_uint_eq(c->listen_port, 9000);
    ck_assert_uint_eq(c->workers, 6);
    ck_assert_uint_eq(c->default_room_count, 0);
    ck_assert_uint_eq(c->room_allow_count, 3);
    ck_assert_str_eq(c->room_allow[0], "public-*");
    ck_assert_str_eq(c->room_allow[1], "team-?");
    ck_assert_str_eq(c->room_allow[2], "exact");
    ck_assert_str_eq(c->ws_path, "/quoted");
    config_unref(c);

    /* A lone quote is kept as it is. */
    path = write_config(
        "jwt_secret = \"x\nadmin_user = \"bob\nadmin_password = p\n");
    c = LOAD_OK("--config", path);
    ck_assert_str_eq(c->jwt_secret, "\"x");
    ck_assert_str_eq(c->admin_user, "\"bob");
    config_unref(c);
}
END_TEST

START_TEST(test_default_rooms_list)
{
    struct config *c =
        LOAD_OK("--jwt-secret=s", "--default-rooms= a , b ,, c ");

    ck_assert_uint_eq(c->default_room_count, 3);
    ck_assert_str_eq(c->default_rooms[0], "a");
    ck_assert_str_eq(c->default_rooms[1], "b");
    ck_assert_str_eq(c->default_rooms[2], "c");
    config_unref(c);
}
END_TEST

START_TEST(test_reference_count)
{
    struct config *c = LOAD_OK("--jwt-secret=s");

    ck_assert_ptr_eq(config_ref(c), c);
    ck_assert_uint_eq(atomic_load(&c->refs), 2);
    config_unref(c);
    ck_assert_uint_eq(atomic_load(&c->refs), 1);
    ck_assert_str_eq(c->jwt_secret, "s");
    config_unref(c);
    config_unref(NULL);
}
END_TEST

/* Returns a string of count copies of the UTF-8 text unit, malloc'd. */
static char *repeat(const char *unit, size_t count)
{
    size_t n = strlen(unit);
    char *s = malloc(n * count + 1);

    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < count; i++)
        memcpy(s + i * n, unit, n);
    s[n * count] = '\0';
    return s;
}

START_TEST(test_room_name_rules)
{
    static const struct {
        const char *name;
        size_t len;
        bool valid;
    } names[] = {
        {"", 0, false},
        {"a", 1, true},
        {"ws", 2, true},
        {"ws:", 3, false},
        {"ws:x", 4, false},
        {"WS:x", 4, true},
        {"w:s", 3, true},
        {"xws:", 4, true},
        {"a\0b", 3, false},
        {"\xff", 1, false},
        {"\xc3\x28", 2, false},
        {"caf\xc3\xa9", 5, true},
        {"room with spaces", 16, true},
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ck_assert_msg(config_room_name_valid(names[i].name, names[i].len) ==
                          names[i].valid,
                      "room name %zu (\"%s\") valid is not %d", i,
                      names[i].name, names[i].valid);
    }
}
END_TEST

START_TEST(test_room_name_length_in_code_points)
{
    static const char *const units[] = {"a", "\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80"};

    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        char *at_max = repeat(units[u], 256);
        char *over = repeat(units[u], 257);
        ck_assert_msg(config_room_name_valid(at_max, strlen(at_max)),
                      "256 code points of %zu bytes rejected",
                      strlen(units[u]));
        ck_assert_msg(!config_room_name_valid(over, strlen(over)),
                      "257 code points of %zu bytes accepted",
                      strlen(units[u]));
        free(at_max);
        free(over);
    }

    /* 255 ASCII characters and one 4-byte character: 256 code points. */
    char *mixed = repeat("a", 255);
    char name[300];
    snprintf(name, sizeof name, "%s\xf0\x9f\x98\x80", mixed);
    ck_assert(config_room_name_valid(name, strlen(name)));
    free(mixed);
}
END_TEST

START_TEST(test_room_allow_globs)
{
    struct config *c =
        LOAD_OK("--jwt-secret=s", "--room-allow=public-*, team-?,exact,[ab]*z");
    static const struct {
        const char *name;
        bool allowed;
    } names[] = {
        {"public-x", true},   {"public-", true}, {"public-a/b", true},
        {"Public-x", false},  {"public", false}, {"team-1", true},
        {"team-12", false},   {"team-", false},  {"exact", true},
        {"exact2", false},    {"xexact", false}, {"az", true},
        {"buzz", true},       {"cz", false},     {"bza", false},
        {"private-1", false},
    };

    ck_assert_uint_eq(c->room_allow_count, 4);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ck_assert_msg(
            config_room_allowed(c, names[i].name, strlen(names[i].name)) ==
                names[i].allowed,
            "room \"%s\" allowed is not %d", names[i].name, names[i].allowed);
    }

    /* Only len bytes of the name count. */
    ck_assert(config_room_allowed(c, "exact-and-more", 5));
    ck_assert(!config_room_allowed(c, "team-12", 7));
    ck_assert(config_room_allowed(c, "team-12", 6));
    config_unref(c);
}
END_TEST

START_TEST(test_room_allow_applies_name_rules)
{
    struct config *c = LOAD_OK("--jwt-secret=s", "--room-allow=*");
    char *at_max = repeat("\xe2\x82\xac", 256);
    char *over = repeat("\xe2\x82\xac", 257);
    char *ascii_at_max = repeat("r", 256);
    char *ascii_over = repeat("r", 257);

    ck_assert(config_room_allowed(c, "anything", 8));
    ck_assert(!config_room_allowed(c, "", 0));
    ck_assert(!config_room_allowed(c, "ws:broadcast", 12));
    ck_assert(!config_room_allowed(c, "ws:", 3));
    ck_assert(!config_room_allowed(c, "a\0b", 3));
    ck_assert(!config_room_allowed(c, "\xff", 1));
    ck_assert(config_room_allowed(c, at_max, strlen(at_max)));
    ck_assert(!config_room_allowed(c, over, strlen(over)));
    ck_assert(config_room_allowed(c, ascii_at_max, 256));
    ck_assert(!config_room_allowed(c, ascii_over, 257));
    free(at_max);
    free(over);
    free(ascii_at_max);
    free(ascii_over);
    config_unref(c);

    /* A pattern that names ws: rooms still cannot open them. */
    c = LOAD_OK("--jwt-secret=s", "--room-allow=ws:*");
    ck_assert(!config_room_allowed(c, "ws:room:x", 9));
    config_unref(c);
}
END_TEST

START_TEST(test_no_policy_rejects_every_room)
{
    static const char *const rooms[] = {"public-x", "a", "ws-default", "*"};
    struct config *c = LOAD_OK("--jwt-secret=s");

    ck_assert_uint_eq(c->room_allow_count, 0);
    for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++)
        ck_assert_msg(!config_room_allowed(c, rooms[i], strlen(rooms[i])),
                      "room \"%s\" allowed without a policy", rooms[i]);
    config_unref(c);

    /* Only separators and spaces are no policy either. */
    c = LOAD_OK("--jwt-secret=s", "--room-allow= , ,");
    ck_assert_uint_eq(c->room_allow_count, 0);
    ck_assert(!config_room_allowed(c, "public-x", 8));
    config_unref(c);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_file_then_environment_then_flags);
    tcase_add_test(tc, test_environment_without_file);
    tcase_add_test(tc, test_flag_spellings);
    tcase_add_test(tc, test_config_flag_both_forms);
    tcase_add_test(tc, test_check_help_version);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_loop_test(tc, test_invalid_value_named_with_origin, 0,
                        sizeof invalid_cases / sizeof invalid_cases[0]);
    tcase_add_test(tc, test_default_room_over_256_characters);
    tcase_add_test(tc, test_accepted_boundaries);
    tcase_add_test(tc, test_booleans_and_levels);
    tcase_add_test(tc, test_missing_jwt_secret);
    tcase_add_test(tc, test_secrets_never_in_errors);
    tcase_add_test(tc, test_admin_credentials_together);
    tcase_add_test(tc, test_heartbeat_timeout_below_interval);
    tcase_add_test(tc, test_unknown_key_in_file);
    tcase_add_test(tc, test_line_without_equals_in_file);
    tcase_add_test(tc, test_file_syntax);
    tcase_add_test(tc, test_default_rooms_list);
    tcase_add_test(tc, test_reference_count);
    tcase_add_test(tc, test_room_name_rules);
    tcase_add_test(tc, test_room_name_length_in_code_points);
    tcase_add_test(tc, test_room_allow_globs);
    tcase_add_test(tc, test_room_allow_applies_name_rules);
    tcase_add_test(tc, test_no_policy_rejects_every_room);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(config_suite());

    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
