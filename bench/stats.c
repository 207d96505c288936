/*
 * Counters of signal-bench: the latency histogram, per-thread statistics
 * and their merge, error names, and samples of the server's CPU time and
 * memory from /proc. Each thread owns its own bench_stats; the main thread
 * merges them after the threads have stopped.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const char *const error_names[BENCH_ERROR_COUNT] = {
    [ERR_CONNECT] = "connect_failed",
    [ERR_UPGRADE] = "upgrade_failed",
    [ERR_AUTH_REJECTED] = "auth_rejected",
    [ERR_HANDSHAKE] = "handshake_invalid",
    [ERR_CLOSED_BY_SERVER] = "closed_by_server",
    [ERR_WS_PROTOCOL] = "websocket_protocol_error",
    [ERR_SOCKET] = "socket_error",
    [ERR_DECRYPT] = "decrypt_failed",
    [ERR_UNENCRYPTED] = "unencrypted_message",
    [ERR_ENVELOPE] = "invalid_envelope",
    [ERR_PAYLOAD] = "invalid_payload",
    [ERR_UNEXPECTED_EVENT] = "unexpected_event",
    [ERR_ERROR_EVENT] = "error_event",
    [ERR_REST_CONNECT] = "rest_connect_failed",
    [ERR_REST_LOST] = "rest_connection_lost",
    [ERR_REST_STATUS] = "rest_status_not_200",
    [ERR_REST_RESPONSE] = "rest_invalid_response",
    [ERR_NOT_READY] = "not_ready_in_time",
    [ERR_PROBE_MISSING] = "probe_not_received",
    [ERR_CLOSE_TIMEOUT] = "close_timed_out",
    [ERR_STALLED] = "deliveries_stalled",
};

const char *bench_error_name(enum bench_error e)
{
    return error_names[e];
}

/* ---- histogram -------------------------------------------------------- */

static unsigned bucket_index(uint64_t value)
{
    if (value < HIST_SUB_COUNT)
        return (unsigned)value;

    /* The top HIST_SUB_BITS + 1 bits select the bucket: shift is how many
     * low bits the bucket does not resolve. */
    unsigned msb = 63u - (unsigned)__builtin_clzll(value);
    unsigned shift = msb - HIST_SUB_BITS;
    unsigned sub = (unsigned)(value >> shift) & (HIST_SUB_COUNT - 1);
    return (shift + 1) * HIST_SUB_COUNT + sub;
}

static uint64_t bucket_highest(unsigned index)
{
    if (index < HIST_SUB_COUNT)
        return index;

    unsigned shift = index / HIST_SUB_COUNT - 1;
    uint64_t sub = index % HIST_SUB_COUNT;
    uint64_t lowest = (HIST_SUB_COUNT + sub) << shift;
    return lowest + ((UINT64_C(1) << shift) - 1);
}

void histogram_init(struct histogram *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void histogram_record(struct histogram *h, uint64_t value)
{
    h->counts[bucket_index(value)]++;
    h->total++;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

void histogram_merge(struct histogram *dst, const struct histogram *src)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t histogram_percentile(const struct histogram *h, double p)
{
    if (h->total == 0)
        return 0;

    /* The rank of the p-th percentile, rounded up, at least 1. */
    double exact_rank = p / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)exact_rank;
    if ((double)rank < exact_rank)
        rank++;
    if (rank == 0)
        rank = 1;

    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t value = bucket_highest(i);
            return value < h->max ? value : h->max;
        }
    }
    return h->max;
}

/* ---- per-thread statistics ------------------------------------------- */

void stats_init(struct bench_stats *s)
{
    memset(s, 0, sizeof(*s));
    histogram_init(&s->handshake_ns);
    histogram_init(&s->latency_ns);
}

static void add_close_code(struct bench_stats *s, unsigned code, uint64_t count)
{
    for (unsigned i = 0; i < BENCH_CLOSE_CODE_SLOTS; i++) {
        if (s->close_codes[i].count == 0) {
            s->close_codes[i].code = code;
            s->close_codes[i].count = count;
            return;
        }
        if (s->close_codes[i].code == code) {
            s->close_codes[i].count += count;
            return;
        }
    }
    /* NOTE: codes beyond BENCH_CLOSE_CODE_SLOTS distinct values are not
     * counted here; the error counters still count every close. */
}

void stats_count_close_code(struct bench_stats *s, unsigned code)
{
    add_close_code(s, code, 1);
}

void stats_merge(struct bench_stats *dst, const struct bench_stats *src)
{
    for (unsigned i = 0; i < BENCH_ERROR_COUNT; i++)
        dst->errors[i] += src->errors[i];
    for (unsigned i = 0; i < BENCH_CLOSE_CODE_SLOTS; i++) {
        if (src->close_codes[i].count > 0)
            add_close_code(dst, src->close_codes[i].code,
                           src->close_codes[i].count);
    }
    dst->handshakes += src->handshakes;
    dst->delivered += src->delivered;
    dst->duplicated += src->duplicated;
    dst->reordered += src->reordered;
    dst->bytes_received += src->bytes_received;
    histogram_merge(&dst->handshake_ns, &src->handshake_ns);
    histogram_merge(&dst->latency_ns, &src->latency_ns);
}

uint64_t stats_error_total(const struct bench_stats *s)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < BENCH_ERROR_COUNT; i++)
        total += s->errors[i];
    return total;
}

/* ---- /proc ------------------------------------------------------------ */

/* utime and stime are fields 14 and 15 of /proc/<pid>/stat. The second
 * field (the command name) may hold spaces and parentheses, so counting
 * starts after its last ')', where field 3 begins. */
static bool read_cpu_times(pid_t pid, double *user_s, double *system_s)
{
    char path[64];
    char text[1024];

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';

    char *p = strrchr(text, ')');
    if (p == NULL)
        return false;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &utime, &stime) != 2)
        return false;

    long ticks = sysconf(_SC_CLK_TCK);
    if (ticks <= 0)
        return false;
    *user_s = (double)utime / (double)ticks;
    *system_s = (double)stime / (double)ticks;
    return true;
}

static bool read_memory(pid_t pid, uint64_t *rss_kib, uint64_t *hwm_kib)
{
    char path[64];
    char line[256];
    bool found_rss = false;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;

    *hwm_kib = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long long kib;
        if (sscanf(line, "VmRSS: %llu kB", &kib) == 1) {
            *rss_kib = kib;
            found_rss = true;
        } else if (sscanf(line, "VmHWM: %llu kB", &kib) == 1) {
            *hwm_kib = kib;
        }
    }
    fclose(f);
    return found_rss;
}

struct process_sample process_sample_read(pid_t pid)
{
    struct process_sample s = {0};

    if (!read_cpu_times(pid, &s.cpu_user_s, &s.cpu_system_s))
        return s;
    if (!read_memory(pid, &s.rss_kib, &s.hwm_kib))
        return s;
    s.valid = true;
    return s;
}
