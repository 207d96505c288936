/*
 * signal-bench: a load generator for signal-server and any other server
 * that speaks the same protocol (the ignis reference included). This file
 * reads the command line, lays out the clients and message streams of the
 * chosen scenario, and drives the phases from the main thread: prepare
 * keys and tokens, connect and authenticate, probe room membership, send,
 * drain, close. client.c runs the WebSocket clients, rest.c the REST
 * calls, report.c prints the result.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "bench.h"
#include "report.h"

#define POLL_INTERVAL_NS 5000000
#define CLOSE_TIMEOUT_S 5.0
#define PROBE_ROUND_NS 200000000

static const struct {
    const char *name;
    enum scenario scenario;
} scenarios[] = {
    {"connect", SCENARIO_CONNECT},
    {"broadcast", SCENARIO_BROADCAST},
    {"rooms", SCENARIO_ROOMS},
    {"direct", SCENARIO_DIRECT},
    {"idle-memory", SCENARIO_IDLE_MEMORY},
    {"smoke", SCENARIO_SMOKE},
};

static void usage(FILE *out)
{
    fputs(
        "Usage: signal-bench SCENARIO [OPTION]...\n"
        "Load generator for the signal-server WebSocket protocol.\n"
        "\n"
        "Scenarios:\n"
        "  connect       connect and authenticate --clients; handshakes/s\n"
        "  broadcast     --clients receive --messages broadcasts of --size "
        "bytes\n"
        "  rooms         --rooms rooms of --room-size clients; --messages "
        "room\n"
        "                sends spread over the rooms\n"
        "  direct        --messages client sends spread over --clients\n"
        "  idle-memory   server RSS with no client and with --clients idle\n"
        "                authenticated clients; bytes per client\n"
        "  smoke         200 clients in 4 rooms, 100 broadcasts, 100 room "
        "sends,\n"
        "                200 client sends; exit status 1 unless every message\n"
        "                arrived exactly once, in order, with no error\n"
        "\n"
        "Target and credentials:\n"
        "  --target HOST:PORT       server address, IPv4 (127.0.0.1:8080)\n"
        "  --ws-path PATH           WebSocket path (/ws)\n"
        "  --rest-prefix PATH       REST prefix\n"
        "                           (/v1/api/socket/websocket/clients)\n"
        "  --jwt-secret SECRET      HS256 secret for client tokens "
        "(bench-secret)\n"
        "  --admin-user USER        REST Basic user (admin)\n"
        "  --admin-password PASS    REST Basic password (admin)\n"
        "  --plain                  no key exchange, plain messages (for a\n"
        "                           server with encryption turned off)\n"
        "\n"
        "Load:\n"
        "  --clients N              WebSocket clients (1000)\n"
        "  --rooms N                rooms scenario: rooms (10)\n"
        "  --room-size N            rooms scenario: clients per room (10)\n"
        "  --messages N             REST sends (100)\n"
        "  --broadcasts N, --room-sends N, --client-sends N\n"
        "                           smoke scenario mix (100, 100, 200)\n"
        "  --size BYTES             length of each message's data JSON (64)\n"
        "  --rate N                 REST sends per second; 0 sends as fast as\n"
        "                           the window allows (0)\n"
        "  --in-flight N            window: messages of one stream (the\n"
        "                           broadcast, a room, a client) sent but not\n"
        "                           yet received by all its members, 1-32 (2)\n"
        "  --rest-connections N     keep-alive REST connections (4)\n"
        "  --pipeline N             HTTP requests in flight per REST\n"
        "                           connection (1)\n"
        "  --threads N              client threads (2)\n"
        "  --concurrency N          handshakes in progress at once (100)\n"
        "  --source-addresses N     spread clients over 127.0.0.1..N; 0 picks\n"
        "                           from the ephemeral port range (0)\n"
        "\n"
        "Time bounds, in seconds:\n"
        "  --duration S             stop sending after S (30)\n"
        "  --connect-timeout S      give up on clients not authenticated (30)\n"
        "  --drain-timeout S        give up when no delivery arrives for S "
        "(10)\n"
        "  --settle S               idle-memory: wait before reading RSS (2)\n"
        "\n"
        "Output:\n"
        "  --server-pid PID[,PID]   read CPU time and RSS of these processes\n"
        "  --label TEXT             name of the target in the report\n"
        "  --json                   JSON on stdout, summary on stderr\n"
        "  --help                   this text\n",
        out);
}

/* ---- options ---------------------------------------------------------- */

enum option_id {
    OPT_TARGET = 256,
    OPT_WS_PATH,
    OPT_REST_PREFIX,
    OPT_JWT_SECRET,
    OPT_ADMIN_USER,
    OPT_ADMIN_PASSWORD,
    OPT_PLAIN,
    OPT_CLIENTS,
    OPT_ROOMS,
    OPT_ROOM_SIZE,
    OPT_MESSAGES,
    OPT_BROADCASTS,
    OPT_ROOM_SENDS,
    OPT_CLIENT_SENDS,
    OPT_SIZE,
    OPT_RATE,
    OPT_IN_FLIGHT,
    OPT_REST_CONNECTIONS,
    OPT_PIPELINE,
    OPT_THREADS,
    OPT_CONCURRENCY,
    OPT_SOURCE_ADDRESSES,
    OPT_DURATION,
    OPT_CONNECT_TIMEOUT,
    OPT_DRAIN_TIMEOUT,
    OPT_SETTLE,
    OPT_SERVER_PID,
    OPT_LABEL,
    OPT_JSON,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"target", required_argument, NULL, OPT_TARGET},
    {"ws-path", required_argument, NULL, OPT_WS_PATH},
    {"rest-prefix", required_argument, NULL, OPT_REST_PREFIX},
    {"jwt-secret", required_argument, NULL, OPT_JWT_SECRET},
    {"admin-user", required_argument, NULL, OPT_ADMIN_USER},
    {"admin-password", required_argument, NULL, OPT_ADMIN_PASSWORD},
    {"plain", no_argument, NULL, OPT_PLAIN},
    {"clients", required_argument, NULL, OPT_CLIENTS},
    {"rooms", required_argument, NULL, OPT_ROOMS},
    {"room-size", required_argument, NULL, OPT_ROOM_SIZE},
    {"messages", required_argument, NULL, OPT_MESSAGES},
    {"broadcasts", required_argument, NULL, OPT_BROADCASTS},
    {"room-sends", required_argument, NULL, OPT_ROOM_SENDS},
    {"client-sends", required_argument, NULL, OPT_CLIENT_SENDS},
    {"size", required_argument, NULL, OPT_SIZE},
    {"rate", required_argument, NULL, OPT_RATE},
    {"in-flight", required_argument, NULL, OPT_IN_FLIGHT},
    {"rest-connections", required_argument, NULL, OPT_REST_CONNECTIONS},
    {"pipeline", required_argument, NULL, OPT_PIPELINE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"source-addresses", required_argument, NULL, OPT_SOURCE_ADDRESSES},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
    {"settle", required_argument, NULL, OPT_SETTLE},
    {"server-pid", required_argument, NULL, OPT_SERVER_PID},
    {"label", required_argument, NULL, OPT_LABEL},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char *option_name(int id)
{
    for (const struct option *o = long_options; o->name != NULL; o++) {
        if (o->val == id)
            return o->name;
    }
    return "?";
}

static bool parse_unsigned(const char *text, unsigned min, unsigned max,
                           unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' ||
        v < min || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

static bool parse_seconds(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= 0) || v > 86400)
        return false;
    *out = v;
    return true;
}

static bool parse_target(struct bench_config *cfg, const char *text)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    unsigned port;

    if (colon == NULL || (size_t)(colon - text) >= sizeof(host) ||
        !parse_unsigned(colon + 1, 1, 65535, &port))
        return false;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';

    memset(&cfg->target, 0, sizeof(cfg->target));
    cfg->target.sin_family = AF_INET;
    cfg->target.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &cfg->target.sin_addr) != 1)
        return false;
    snprintf(cfg->target_text, sizeof(cfg->target_text), "%s:%u", host, port);
    return true;
}

static bool parse_pids(struct bench_config *cfg, const char *text)
{
    char *copy = strdup(text);
    char *save = NULL;
    bool ok = copy != NULL;

    for (char *item = ok ? strtok_r(copy, ",", &save) : NULL; item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        unsigned pid;
        if (cfg->server_pid_count == BENCH_MAX_SERVER_PIDS ||
            !parse_unsigned(item, 1, 0x7FFFFFFF, &pid)) {
            ok = false;
            break;
        }
        cfg->server_pids[cfg->server_pid_count++] = (pid_t)pid;
    }
    free(copy);
    return ok;
}

static void set_defaults(struct bench_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    parse_target(cfg, "127.0.0.1:8080");
    cfg->ws_path = "/ws";
    cfg->rest_prefix = "/v1/api/socket/websocket/clients";
    cfg->jwt_secret = "bench-secret";
    cfg->admin_user = "admin";
    cfg->admin_password = "admin";
    cfg->clients = 1000;
    cfg->threads = 2;
    cfg->concurrency = 100;
    cfg->rooms = 10;
    cfg->room_size = 10;
    cfg->messages = 100;
    cfg->broadcasts = 100;
    cfg->room_sends = 100;
    cfg->client_sends = 200;
    cfg->size = 64;
    cfg->in_flight = 2;
    cfg->rest_connections = 4;
    cfg->pipeline = 1;
    cfg->duration_s = 30;
    cfg->connect_timeout_s = 30;
    cfg->drain_timeout_s = 10;
    cfg->settle_s = 2;
}

/* Parses one option into cfg; false when its value is invalid. */
static bool apply_option(struct bench_config *cfg, int id, const char *arg)
{
    switch (id) {
    case OPT_TARGET:
        return parse_target(cfg, arg);
    case OPT_WS_PATH:
        cfg->ws_path = arg;
        return arg[0] == '/';
    case OPT_REST_PREFIX:
        cfg->rest_prefix = arg;
        return arg[0] == '/';
    case OPT_JWT_SECRET:
        cfg->jwt_secret = arg;
        return arg[0] != '\0';
    case OPT_ADMIN_USER:
        cfg->admin_user = arg;
        return true;
    case OPT_ADMIN_PASSWORD:
        cfg->admin_password = arg;
        return true;
    case OPT_CLIENTS:
        return parse_unsigned(arg, 1, 1000000, &cfg->clients);
    case OPT_ROOMS:
        return parse_unsigned(arg, 1, 100000, &cfg->rooms);
    case OPT_ROOM_SIZE:
        return parse_unsigned(arg, 1, 1000000, &cfg->room_size);
    case OPT_MESSAGES:
        return parse_unsigned(arg, 0, 100000000, &cfg->messages);
    case OPT_BROADCASTS:
        return parse_unsigned(arg, 0, 1000000, &cfg->broadcasts);
    case OPT_ROOM_SENDS:
        return parse_unsigned(arg, 0, 1000000, &cfg->room_sends);
    case OPT_CLIENT_SENDS:
        return parse_unsigned(arg, 0, 1000000, &cfg->client_sends);
    case OPT_SIZE:
        return parse_unsigned(arg, 0, BENCH_MAX_MESSAGE_SIZE, &cfg->size);
    case OPT_RATE: {
        double rate;
        if (!parse_seconds(arg, &rate))
            return false;
        cfg->rate = rate;
        return true;
    }
    case OPT_IN_FLIGHT:
        return parse_unsigned(arg, 1, BENCH_MAX_IN_FLIGHT, &cfg->in_flight);
    case OPT_REST_CONNECTIONS:
        return parse_unsigned(arg, 1, BENCH_MAX_REST_CONNECTIONS,
                              &cfg->rest_connections);
    case OPT_PIPELINE:
        return parse_unsigned(arg, 1, BENCH_MAX_PIPELINE, &cfg->pipeline);
    case OPT_THREADS:
        return parse_unsigned(arg, 1, BENCH_MAX_THREADS, &cfg->threads);
    case OPT_CONCURRENCY:
        return parse_unsigned(arg, 1, 100000, &cfg->concurrency);
    case OPT_SOURCE_ADDRESSES:
        return parse_unsigned(arg, 0, 254, &cfg->source_addresses);
    case OPT_DURATION:
        return parse_seconds(arg, &cfg->duration_s);
    case OPT_CONNECT_TIMEOUT:
        return parse_seconds(arg, &cfg->connect_timeout_s);
    case OPT_DRAIN_TIMEOUT:
        return parse_seconds(arg, &cfg->drain_timeout_s);
    case OPT_SETTLE:
        return parse_seconds(arg, &cfg->settle_s);
    case OPT_SERVER_PID:
        return parse_pids(cfg, arg);
    case OPT_LABEL:
        cfg->label = arg;
        return true;
    case OPT_PLAIN:
        cfg->plain = true;
        return true;
    case OPT_JSON:
        cfg->json = true;
        return true;
    default:
        return false;
    }
}

/* Returns 0 when cfg is complete, 2 (usage error) otherwise, -1 for --help. */
static int parse_command_line(struct bench_config *cfg, int argc, char **argv)
{
    set_defaults(cfg);
    for (;;) {
        int id = getopt_long(argc, argv, "", long_options, NULL);
        if (id == -1)
            break;
        if (id == OPT_HELP)
            return -1;
        if (id == '?')
            return 2;
        if (!apply_option(cfg, id, optarg)) {
            fprintf(stderr, "signal-bench: invalid value for --%s: '%s'\n",
                    option_name(id), optarg);
            return 2;
        }
    }

    if (optind != argc - 1) {
        fputs("signal-bench: expected one scenario; see --help\n", stderr);
        return 2;
    }
    cfg->scenario_name = argv[optind];
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        if (strcmp(scenarios[i].name, argv[optind]) == 0) {
            cfg->scenario = scenarios[i].scenario;
            return 0;
        }
    }
    fprintf(stderr, "signal-bench: unknown scenario '%s'; see --help\n",
            argv[optind]);
    return 2;
}

/* ---- limits ----------------------------------------------------------- */

/* Raises the soft open-file limit to the hard one and returns the limit. */
static rlim_t raise_file_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
            getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

/* Source addresses needed so that no address uses more than half of the
 * ephemeral port range, which leaves room for sockets in TIME_WAIT. */
static unsigned pick_source_addresses(unsigned clients)
{
    unsigned low = 32768;
    unsigned high = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%u %u", &low, &high) != 2 || high <= low) {
            low = 32768;
            high = 60999;
        }
        fclose(f);
    }

    unsigned per_address = (high - low + 1) / 2;
    unsigned needed = (clients + per_address - 1) / per_address;
    if (needed < 1)
        needed = 1;
    return needed > 254 ? 254 : needed;
}

/* ---- layout of clients and streams ----------------------------------- */

static bool add_stream(struct bench_run *run, enum stream_kind kind,
                       const char *path, uint32_t planned)
{
    struct bench_stream *s = &run->streams[run->stream_count];
    s->kind = kind;
    snprintf(s->path, sizeof(s->path), "%s", path);
    s->planned = planned;
    s->conn = run->stream_count % run->cfg->rest_connections;
    run->stream_count++;
    return true;
}

static bool subscribe(struct bench_client *c, enum stream_kind kind,
                      uint32_t stream, uint32_t planned)
{
    struct subscription *sub = &c->subs[kind];
    sub->stream = stream;
    sub->seen = calloc((planned + 63) / 64 + 1, sizeof(uint64_t));
    return sub->seen != NULL;
}

/* Splits total messages over n streams, the first ones taking the rest. */
static uint32_t share(unsigned total, unsigned n, unsigned i)
{
    return total / n + (i < total % n ? 1 : 0);
}

static bool lay_out(struct bench_run *run, struct bench_config *cfg)
{
    unsigned rooms = 0;
    unsigned room_messages = 0;
    unsigned broadcasts = 0;
    unsigned client_messages = 0;

    switch (cfg->scenario) {
    case SCENARIO_BROADCAST:
        broadcasts = cfg->messages;
        break;
    case SCENARIO_ROOMS:
        cfg->clients = cfg->rooms * cfg->room_size;
        rooms = cfg->rooms;
        room_messages = cfg->messages;
        break;
    case SCENARIO_DIRECT:
        client_messages = cfg->messages;
        break;
    case SCENARIO_SMOKE:
        cfg->clients = 200;
        rooms = 4;
        broadcasts = cfg->broadcasts;
        room_messages = cfg->room_sends;
        client_messages = cfg->client_sends;
        break;
    default:
        break;
    }

    run->client_count = cfg->clients;
    run->clients = calloc(cfg->clients, sizeof(*run->clients));
    run->streams = calloc(1 + rooms + cfg->clients, sizeof(*run->streams));
    if (run->clients == NULL || run->streams == NULL)
        return false;

    for (unsigned i = 0; i < cfg->clients; i++) {
        struct bench_client *c = &run->clients[i];
        c->index = i;
        c->fd = -1;
        c->room = -1;
        for (int k = 0; k < STREAM_KIND_COUNT; k++)
            c->subs[k].stream = BENCH_NONE;
    }

    if (broadcasts > 0 || cfg->scenario == SCENARIO_BROADCAST) {
        uint32_t stream = run->stream_count;
        add_stream(run, STREAM_BROADCAST, "/broadcast", broadcasts);
        for (unsigned i = 0; i < cfg->clients; i++) {
            if (!subscribe(&run->clients[i], STREAM_BROADCAST, stream,
                           broadcasts))
                return false;
        }
    }

    /* Client i joins room i % rooms, so every thread has members of
     * every room. */
    for (unsigned r = 0; r < rooms; r++) {
        char path[96];
        snprintf(path, sizeof(path), "/rooms/public-bench-%u/send", r);
        uint32_t planned = share(room_messages, rooms, r);
        uint32_t stream = run->stream_count;
        add_stream(run, STREAM_ROOM, path, planned);
        for (unsigned i = r; i < cfg->clients; i += rooms) {
            run->clients[i].room = (int)r;
            if (!subscribe(&run->clients[i], STREAM_ROOM, stream, planned))
                return false;
        }
    }

    /* Client streams get their path once the client id is known. */
    if (client_messages > 0) {
        for (unsigned i = 0; i < cfg->clients; i++) {
            uint32_t planned = share(client_messages, cfg->clients, i);
            uint32_t stream = run->stream_count;
            add_stream(run, STREAM_CLIENT, "", planned);
            if (!subscribe(&run->clients[i], STREAM_CLIENT, stream, planned))
                return false;
        }
    }

    run->pad_pattern_len = cfg->size + 32;
    run->pad_pattern = malloc(run->pad_pattern_len);
    if (run->pad_pattern == NULL)
        return false;
    for (size_t i = 0; i < run->pad_pattern_len; i++)
        run->pad_pattern[i] = (char)('a' + i % 26);
    return true;
}

static bool start_threads(struct bench_run *run)
{
    const struct bench_config *cfg = run->cfg;

    run->thread_count =
        cfg->threads < cfg->clients ? cfg->threads : cfg->clients;
    for (unsigned t = 0; t < run->thread_count; t++) {
        struct bench_thread *thread = &run->threads[t];
        thread->run = run;
        thread->id = t;
        thread->clients =
            calloc(cfg->clients / run->thread_count + 1, sizeof(uint32_t));
        if (thread->clients == NULL)
            return false;
    }
    for (unsigned i = 0; i < cfg->clients; i++) {
        struct bench_thread *thread = &run->threads[i % run->thread_count];
        run->clients[i].thread = thread;
        thread->clients[thread->client_count++] = i;
    }
    for (unsigned t = 0; t < run->thread_count; t++) {
        if (!client_thread_start(&run->threads[t]))
            return false;
    }
    return true;
}

/* ---- phases ----------------------------------------------------------- */

uint64_t delivered_total(struct bench_run *run)
{
    uint64_t total = 0;
    for (unsigned t = 0; t < run->thread_count; t++)
        total += atomic_load_explicit(&run->threads[t].live_delivered,
                                      memory_order_relaxed);
    return total;
}

static uint64_t sum_live(struct bench_run *run, size_t offset)
{
    uint64_t total = 0;
    for (unsigned t = 0; t < run->thread_count; t++) {
        _Atomic uint64_t *counter =
            (_Atomic uint64_t *)((char *)&run->threads[t] + offset);
        total += atomic_load_explicit(counter, memory_order_relaxed);
    }
    return total;
}

#define SUM_LIVE(run, field) sum_live(run, offsetof(struct bench_thread, field))

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

static void call_all(struct bench_run *run, enum thread_command command)
{
    unsigned tickets[BENCH_MAX_THREADS];
    for (unsigned t = 0; t < run->thread_count; t++)
        tickets[t] = client_thread_post(&run->threads[t], command);
    for (unsigned t = 0; t < run->thread_count; t++)
        client_thread_wait(&run->threads[t], tickets[t]);
}

static double cpu_seconds_self(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
           (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/* Sums the samples of every --server-pid. */
static struct process_sample sample_servers(const struct bench_config *cfg)
{
    struct process_sample total = {.valid = cfg->server_pid_count > 0};

    for (unsigned i = 0; i < cfg->server_pid_count; i++) {
        struct process_sample s = process_sample_read(cfg->server_pids[i]);
        if (!s.valid) {
            total.valid = false;
            continue;
        }
        total.cpu_user_s += s.cpu_user_s;
        total.cpu_system_s += s.cpu_system_s;
        total.rss_kib += s.rss_kib;
        total.hwm_kib += s.hwm_kib;
    }
    return total;
}

static void connect_clients(struct bench_run *run, struct bench_result *res)
{
    const struct bench_config *cfg = run->cfg;
    uint64_t start = now_ns();
    uint64_t deadline = start + (uint64_t)(cfg->connect_timeout_s * 1e9);

    call_all(run, COMMAND_CONNECT);
    while (now_ns() < deadline) {
        uint64_t ready = SUM_LIVE(run, live_ready);
        uint64_t failed = SUM_LIVE(run, live_failed);
        if (ready + failed >= run->client_count)
            break;
        sleep_ns(POLL_INTERVAL_NS);
    }
    call_all(run, COMMAND_ABANDON);

    uint64_t last_ready = start;
    for (unsigned t = 0; t < run->thread_count; t++) {
        if (run->threads[t].last_ready_ns > last_ready)
            last_ready = run->threads[t].last_ready_ns;
    }
    res->ready = (unsigned)SUM_LIVE(run, live_ready);
    res->failed = run->client_count - res->ready;
    res->handshake_s = (double)(last_ready - start) / 1e9;
}

/* Counts each stream's authenticated subscribers and gives client streams
 * their path now that the client ids are known. */
static void count_members(struct bench_run *run)
{
    for (unsigned i = 0; i < run->client_count; i++) {
        struct bench_client *c = &run->clients[i];
        for (int k = 0; k < STREAM_KIND_COUNT; k++) {
            if (c->subs[k].stream == BENCH_NONE)
                continue;
            struct bench_stream *s = &run->streams[c->subs[k].stream];
            if (c->was_ready)
                s->members++;
            if (k == STREAM_CLIENT)
                snprintf(s->path, sizeof(s->path), "/%s/send", c->id);
        }
    }
    /* A client that never authenticated has no id; its stream is not sent. */
    for (unsigned s = 0; s < run->stream_count; s++) {
        if (run->streams[s].members == 0)
            run->streams[s].planned = 0;
    }
}

/* Sends probe rounds until every member of every broadcast and room
 * stream has received one, because the server sends no reply to a join. */
static void probe_streams(struct bench_run *run, struct rest_driver *rest,
                          struct bench_result *res)
{
    uint64_t wanted[STREAM_KIND_COUNT] = {0};
    bool needed = false;

    for (unsigned s = 0; s < run->stream_count; s++) {
        const struct bench_stream *stream = &run->streams[s];
        if (stream->kind != STREAM_CLIENT) {
            wanted[stream->kind] += stream->members;
            needed = needed || stream->members > 0;
        }
    }
    if (!needed)
        return;

    uint64_t deadline =
        now_ns() + (uint64_t)(run->cfg->connect_timeout_s * 1e9);
    for (;;) {
        rest_driver_probe(rest);
        uint64_t round_end = now_ns() + PROBE_ROUND_NS;
        bool complete = false;
        while (!complete && now_ns() < round_end) {
            sleep_ns(POLL_INTERVAL_NS);
            complete =
                SUM_LIVE(run, live_probed[STREAM_BROADCAST]) >=
                    wanted[STREAM_BROADCAST] &&
                SUM_LIVE(run, live_probed[STREAM_ROOM]) >= wanted[STREAM_ROOM];
        }
        if (complete)
            break;

        /* When the server rejects the probes (wrong credentials, say) and
         * none got through, more rounds cannot help. */
        uint64_t probed = SUM_LIVE(run, live_probed[STREAM_BROADCAST]) +
                          SUM_LIVE(run, live_probed[STREAM_ROOM]);
        bool rejected = probed == 0 && rest_driver_rejected(rest) > 0;
        if (rejected || now_ns() >= deadline) {
            res->unprobed = wanted[STREAM_BROADCAST] + wanted[STREAM_ROOM] -
                            SUM_LIVE(run, live_probed[STREAM_BROADCAST]) -
                            SUM_LIVE(run, live_probed[STREAM_ROOM]);
            break;
        }
    }
}

static uint64_t last_delivery_ns(struct bench_run *run)
{
    uint64_t last = 0;
    for (unsigned t = 0; t < run->thread_count; t++) {
        uint64_t v = atomic_load_explicit(
            &run->threads[t].live_last_delivery_ns, memory_order_relaxed);
        if (v > last)
            last = v;
    }
    return last;
}

/* Sends the planned messages and waits until every expected delivery has
 * arrived, or nothing arrived for --drain-timeout. */
static void send_messages(struct bench_run *run, struct rest_driver *rest,
                          struct bench_result *res)
{
    const struct bench_config *cfg = run->cfg;
    uint64_t drain_ns = (uint64_t)(cfg->drain_timeout_s * 1e9);
    uint64_t last_progress = now_ns();
    uint64_t last_delivered = 0;

    rest_driver_send(rest);
    for (;;) {
        sleep_ns(POLL_INTERVAL_NS);
        uint64_t now = now_ns();
        uint64_t delivered = delivered_total(run);
        bool done = rest_driver_done(rest);

        if (done && delivered >= rest_driver_expected_deliveries(rest))
            break;
        if (delivered != last_delivered) {
            last_delivered = delivered;
            last_progress = now;
        } else if (now - last_progress > drain_ns) {
            res->stalled = true;
            break;
        }
    }

    uint64_t first = rest_driver_first_send_ns(rest);
    uint64_t last = last_delivery_ns(run);
    res->delivery_s =
        first > 0 && last > first ? (double)(last - first) / 1e9 : 0;
}

static void close_clients(struct bench_run *run)
{
    uint64_t deadline = now_ns() + (uint64_t)(CLOSE_TIMEOUT_S * 1e9);

    call_all(run, COMMAND_CLOSE);
    while (SUM_LIVE(run, live_finished) < run->client_count &&
           now_ns() < deadline)
        sleep_ns(POLL_INTERVAL_NS);
    call_all(run, COMMAND_STOP);
    for (unsigned t = 0; t < run->thread_count; t++)
        client_thread_join(&run->threads[t]);
}

/* Counts losses and merges the threads' statistics; threads have stopped. */
static void collect(struct bench_run *run, struct rest_driver *rest,
                    struct bench_result *res)
{
    stats_init(&res->stats);
    for (unsigned t = 0; t < run->thread_count; t++)
        stats_merge(&res->stats, &run->threads[t].stats);

    for (unsigned i = 0; i < run->client_count; i++) {
        const struct bench_client *c = &run->clients[i];
        if (!c->was_ready)
            continue;
        for (int k = 0; k < STREAM_KIND_COUNT; k++) {
            const struct subscription *sub = &c->subs[k];
            if (sub->stream == BENCH_NONE)
                continue;
            uint32_t accepted = run->streams[sub->stream].accepted;
            if (accepted > sub->received)
                res->lost += accepted - sub->received;
        }
    }

    for (unsigned s = 0; s < run->stream_count; s++) {
        const struct bench_stream *stream = &run->streams[s];
        res->planned += stream->planned;
        res->sent += stream->next_seq;
        res->accepted += stream->accepted;
        res->expected += (uint64_t)stream->accepted * stream->members;
    }

    if (rest != NULL) {
        stats_merge(&res->stats, rest_driver_stats(rest));
        histogram_merge(&res->rest_latency_ns, rest_driver_latency(rest));
        res->rest_requests = rest_driver_requests(rest);
    }
    res->stats.errors[ERR_STALLED] += res->stalled ? 1 : 0;
    res->stats.errors[ERR_PROBE_MISSING] += res->unprobed;
}

static bool smoke_passed(const struct bench_run *run,
                         const struct bench_result *res)
{
    return res->ready == run->client_count && res->planned > 0 &&
           res->accepted == res->planned && res->lost == 0 &&
           res->stats.duplicated == 0 && res->stats.reordered == 0 &&
           res->stats.delivered == res->expected &&
           stats_error_total(&res->stats) == 0;
}

static int run_scenario(struct bench_run *run, struct bench_result *res)
{
    const struct bench_config *cfg = run->cfg;
    bool idle = cfg->scenario == SCENARIO_IDLE_MEMORY;
    struct rest_driver *rest = NULL;

    histogram_init(&res->rest_latency_ns);
    if (!start_threads(run)) {
        fputs("signal-bench: starting the client threads failed\n", stderr);
        return 2;
    }
    call_all(run, COMMAND_PREPARE);

    res->server_before = sample_servers(cfg);
    res->bench_cpu_before = cpu_seconds_self();
    connect_clients(run, res);
    res->server_connected = sample_servers(cfg);
    res->bench_cpu_connected = cpu_seconds_self();

    if (idle) {
        sleep_ns((uint64_t)(cfg->settle_s * 1e9));
        res->server_connected = sample_servers(cfg);
    }

    count_members(run);
    if (run->stream_count > 0) {
        rest = rest_driver_start(run);
        if (rest == NULL) {
            fputs("signal-bench: starting the REST thread failed\n", stderr);
            return 2;
        }
        probe_streams(run, rest, res);
        res->server_sending = sample_servers(cfg);
        res->bench_cpu_sending = cpu_seconds_self();
        send_messages(run, rest, res);
        res->server_after = sample_servers(cfg);
        res->bench_cpu_after = cpu_seconds_self();
        rest_driver_stop(rest);
    }

    close_clients(run);
    collect(run, rest, res);
    rest_driver_free(rest);

    if (cfg->scenario == SCENARIO_SMOKE) {
        res->passed = smoke_passed(run, res);
        res->has_verdict = true;
    }
    return 0;
}

static void free_run(struct bench_run *run)
{
    for (unsigned t = 0; t < run->thread_count; t++)
        client_thread_free(&run->threads[t]);
    for (unsigned i = 0; i < run->client_count; i++) {
        for (int k = 0; k < STREAM_KIND_COUNT; k++)
            free(run->clients[i].subs[k].seen);
    }
    free(run->clients);
    free(run->streams);
    free(run->pad_pattern);
}

int main(int argc, char **argv)
{
    /* Static: the per-thread histograms make these a few MiB. */
    static struct bench_config cfg;
    static struct bench_run run;
    static struct bench_result res;

    int status = parse_command_line(&cfg, argc, argv);
    if (status == -1) {
        usage(stdout);
        return 0;
    }
    if (status != 0)
        return status;

    signal(SIGPIPE, SIG_IGN);
    rlim_t files = raise_file_limit();
    unsigned clients = cfg.scenario == SCENARIO_ROOMS
                           ? cfg.rooms * cfg.room_size
                       : cfg.scenario == SCENARIO_SMOKE ? 200
                                                        : cfg.clients;
    if ((rlim_t)clients + cfg.rest_connections + 64 > files) {
        fprintf(stderr,
                "signal-bench: %u clients need more than the open-file "
                "limit of %llu allows; lower --clients or raise "
                "'ulimit -n'\n",
                clients, (unsigned long long)files);
        return 2;
    }
    if (cfg.scenario == SCENARIO_IDLE_MEMORY && cfg.server_pid_count == 0) {
        fputs("signal-bench: idle-memory needs --server-pid\n", stderr);
        return 2;
    }

    if (evthread_use_pthreads() != 0) {
        fputs("signal-bench: libevent has no pthreads support\n", stderr);
        return 2;
    }

    memset(&run, 0, sizeof(run));
    memset(&res, 0, sizeof(res));
    run.cfg = &cfg;
    run.epoch_ns = now_ns();
    if (!lay_out(&run, &cfg)) {
        fputs("signal-bench: out of memory laying out the clients\n", stderr);
        return 2;
    }
    run.source_addresses = cfg.source_addresses > 0
                               ? cfg.source_addresses
                               : pick_source_addresses(cfg.clients);

    status = run_scenario(&run, &res);
    if (status == 0) {
        report_print(&run, &res, cfg.json ? stderr : stdout);
        if (cfg.json)
            report_print_json(&run, &res, stdout);
        if (res.has_verdict && !res.passed)
            status = 1;
    }
    free_run(&run);
    return status;
}
