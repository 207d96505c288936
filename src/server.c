/*
 * Process lifecycle on the main thread: bind (or take the socket from
 * systemd), start the workers and the acceptor, report readiness, then
 * wait for signals: SIGHUP reloads the reloadable settings, SIGTERM and
 * SIGINT close every client with 1001 and stop. Signals are blocked in
 * every thread and taken here with sigtimedwait.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "build_config.h"
#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "acceptor.h"
#include "hmap.h"
#include "log.h"
#include "registry.h"
#include "worker.h"

/* How often STATUS= is refreshed for systemctl status, in seconds. */
#define STATUS_PERIOD_S 5

int64_t clock_realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct config *server_settings(struct server *s)
{
    pthread_mutex_lock(&s->settings_lock);
    struct config *c = config_ref(s->settings);
    pthread_mutex_unlock(&s->settings_lock);
    return c;
}

enum token_result server_verify_token(struct server *s, const char *token,
                                      size_t len, char *user_id)
{
    struct config *c = server_settings(s);
    enum token_result r = token_verify_with_claims_secret(
        token, len, (const uint8_t *)c->jwt_secret, c->jwt_secret_len,
        (const uint8_t *)c->jwt_claims_secret, c->jwt_claims_secret_len,
        c->jwt_leeway_s, time(NULL), user_id);

    config_unref(c);
    return r;
}

static void notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void notify(const char *fmt, ...)
{
#if HAVE_LIBSYSTEMD
    char text[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    sd_notify(0, text);
#else
    (void)fmt;
#endif
}

/* Takes a listening socket passed by systemd socket activation. */
static int socket_from_systemd(void)
{
#if HAVE_LIBSYSTEMD
    int n = sd_listen_fds(1);
    if (n < 0) {
        log_event(LOG_ERROR, "socket_activation_failed", "error=\"%s\"",
                  strerror(-n));
        return -2;
    }
    if (n == 0)
        return -1;
    if (n > 1)
        log_event(LOG_WARN, "socket_activation", "sockets=%d used=1", n);
    int fd = SD_LISTEN_FDS_START;
    if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
        log_event(LOG_ERROR, "socket_activation_failed",
                  "error=\"descriptor 3 is not a listening stream socket\"");
        return -2;
    }

    /* systemd passes a blocking socket; the acceptor drains it until
     * EAGAIN and would otherwise block in accept4 and miss its stop. */
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        log_event(LOG_ERROR, "socket_activation_failed", "error=\"%s\"",
                  strerror(errno));
        return -2;
    }
    return fd;
#else
    return -1;
#endif
}

static int bind_listener(const struct config *c)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[8];
    int fd = -1;

    snprintf(port, sizeof(port), "%u", c->listen_port);
    int err = getaddrinfo(c->listen_host, port, &hints, &res);
    if (err != 0) {
        log_event(LOG_ERROR, "bind_failed", "listen=%s error=\"%s\"", c->listen,
                  gai_strerror(err));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int one = 1;
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, SOMAXCONN) == 0)
            break;
        log_event(LOG_ERROR, "bind_failed",
                  "listen=%s error=\"%s\" hint=\"set listen (--listen, "
                  "SIGNAL_LISTEN) to a free address\"",
                  c->listen, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void describe_listener(struct server *s)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
            port = ntohs(in->sin_port);
            snprintf(s->listen_addr, sizeof(s->listen_addr), "%s:%u", host,
                     port);
            return;
        }
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            port = ntohs(in6->sin6_port);
            snprintf(s->listen_addr, sizeof(s->listen_addr), "[%s]:%u", host,
                     port);
            return;
        }
    }
    snprintf(s->listen_addr, sizeof(s->listen_addr), "unknown");
}

static void reload(struct server *s, int argc, char **argv)
{
    struct config *fresh = NULL;
    bool check_only;
    char err[512];

    notify("RELOADING=1");
    if (config_load(argc, argv, &fresh, &check_only, err, sizeof(err)) !=
        CONFIG_OK) {
        char quoted[600];
        log_event(LOG_ERROR, "reload_failed", "error=%s kept=previous",
                  log_quote(quoted, sizeof(quoted), err, strlen(err)));
        notify("READY=1");
        return;
    }

    /* Only the reloadable keys take effect; the rest stay as started. */
    pthread_mutex_lock(&s->settings_lock);
    struct config *old = s->settings;
    s->settings = fresh;
    pthread_mutex_unlock(&s->settings_lock);
    config_unref(old);
    log_set_level(fresh->log_level);
    log_event(LOG_INFO, "reloaded",
              "applied=jwt_secret,jwt_claims_secret,jwt_leeway_s,admin_user,"
              "admin_password,room_allow,log_level");
    notify("READY=1");
}

static void post_shutdown(struct worker *w)
{
    struct command cmd = {.type = CMD_SHUTDOWN};

    /* A full queue drains within moments; shutdown must not be lost. */
    while (!worker_post(w, &cmd)) {
        struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void free_server(struct server *s)
{
    for (unsigned i = 0; i < s->worker_count; i++)
        worker_free(s->workers[i]);
    free(s->workers);
    registry_free(s->registry);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    config_unref(s->settings);
    pthread_mutex_destroy(&s->settings_lock);
}

int server_run(struct config *config, int argc, char **argv)
{
    struct server server = {0};
    struct server *s = &server;
    struct acceptor *acceptor = NULL;
    sigset_t signals;
    unsigned started = 0;
    int status = 1;

    s->config = config;
    s->settings = config_ref(config);
    s->listen_fd = -1;
    s->worker_count = config->workers;
    s->started_ms = clock_realtime_ms();
    pthread_mutex_init(&s->settings_lock, NULL);

    /* Every thread inherits this mask, so only sigtimedwait below receives
     * these signals. SIGPIPE is ignored: writes use MSG_NOSIGNAL anyway. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!hmap_init_seed()) {
        log_event(LOG_ERROR, "start_failed", "error=\"no randomness\"");
        goto out;
    }
    s->registry = registry_new(s->worker_count);
    s->workers = calloc(s->worker_count, sizeof(*s->workers));
    if (s->registry == NULL || s->workers == NULL)
        goto out;

    s->listen_fd = socket_from_systemd();
    if (s->listen_fd == -2)
        goto out;
    s->listen_fd_from_systemd = s->listen_fd >= 0;
    if (s->listen_fd < 0 && (s->listen_fd = bind_listener(config)) < 0)
        goto out;
    describe_listener(s);

    for (unsigned i = 0; i < s->worker_count; i++) {
        s->workers[i] = worker_new(s, i);
        if (s->workers[i] == NULL)
            goto out;
    }
    for (; started < s->worker_count; started++) {
        if (!worker_start(s->workers[started]))
            goto stop;
    }
    /* Ready means every worker loop runs, which /readyz and /status report
     * too. */
    for (int i = 0; i < 5000 && atomic_load(&s->workers_running) < started;
         i++) {
        struct timespec ms = {.tv_nsec = 1000 * 1000};
        nanosleep(&ms, NULL);
    }
    atomic_store(&s->accepting, true);
    acceptor = acceptor_start(s);
    if (acceptor == NULL)
        goto stop;

    log_event(
        LOG_INFO, "listening",
        "addr=%s workers=%u ws_path=%s encryption=%s socket_activation=%s",
        s->listen_addr, s->worker_count, config->ws_path,
        config->require_encryption ? "required" : "off",
        s->listen_fd_from_systemd ? "yes" : "no");
    notify("READY=1\nSTATUS=Listening on %s, 0 clients", s->listen_addr);

    for (;;) {
        struct timespec period = {.tv_sec = STATUS_PERIOD_S};
        int sig = sigtimedwait(&signals, NULL, &period);
        if (sig == SIGHUP) {
            reload(s, argc, argv);
        } else if (sig == SIGTERM || sig == SIGINT) {
            log_event(LOG_INFO, "stopping", "signal=%s clients=%u",
                      sig == SIGTERM ? "SIGTERM" : "SIGINT",
                      atomic_load(&s->ws_connections));
            break;
        } else if (sig < 0 && errno == EAGAIN) {
            unsigned clients = atomic_load(&s->ws_connections);
            notify("STATUS=Listening on %s, %u client%s", s->listen_addr,
                   clients, clients == 1 ? "" : "s");
        }
    }
    status = 0;

stop:
    notify("STOPPING=1");
    atomic_store(&s->stopping, true);
    atomic_store(&s->accepting, false);
    acceptor_stop(acceptor);
    close(s->listen_fd);
    s->listen_fd = -1;
    for (unsigned i = 0; i < started; i++)
        post_shutdown(s->workers[i]);
    for (unsigned i = 0; i < started; i++)
        worker_join(s->workers[i]);
    log_event(LOG_INFO, "stopped", "status=%d", status);

out:
    if (status != 0 && started == 0)
        log_event(LOG_ERROR, "start_failed", "listen=%s", config->listen);
    free_server(s);
    return status;
}
