/*
 * Renders a bench_result: a short summary for people and a JSON object
 * (built with cJSON) for bench/run.sh. Times in the JSON are milliseconds
 * for latencies and seconds for durations and CPU time; memory is KiB.
 */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "report.h"

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static double per_second(uint64_t count, double seconds)
{
    return seconds > 0 ? (double)count / seconds : 0;
}

static double cpu_between(const struct process_sample *a,
                          const struct process_sample *b)
{
    if (!a->valid || !b->valid)
        return 0;
    return (b->cpu_user_s + b->cpu_system_s) -
           (a->cpu_user_s + a->cpu_system_s);
}

static bool has_streams(const struct bench_run *run)
{
    return run->stream_count > 0;
}

static bool is_idle_memory(const struct bench_run *run)
{
    return run->cfg->scenario == SCENARIO_IDLE_MEMORY;
}

/* Bytes of server RSS per authenticated idle client. */
static double idle_bytes_per_client(const struct bench_result *res)
{
    if (!res->server_before.valid || !res->server_connected.valid ||
        res->ready == 0)
        return 0;
    double delta = (double)res->server_connected.rss_kib -
                   (double)res->server_before.rss_kib;
    return delta * 1024.0 / res->ready;
}

/* ---- human summary ---------------------------------------------------- */

static void print_latency(FILE *out, const char *label,
                          const struct histogram *h)
{
    if (h->total == 0) {
        fprintf(out, "  %-12s none recorded\n", label);
        return;
    }
    fprintf(out, "  %-12s p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms\n",
            label, ms(histogram_percentile(h, 50)),
            ms(histogram_percentile(h, 90)), ms(histogram_percentile(h, 99)),
            ms(h->max));
}

static void print_errors(FILE *out, const struct bench_stats *s)
{
    fprintf(out, "  %-12s", "errors");
    if (stats_error_total(s) == 0)
        fputs(" none", out);
    for (unsigned i = 0; i < BENCH_ERROR_COUNT; i++) {
        if (s->errors[i] > 0)
            fprintf(out, " %s=%llu", bench_error_name(i),
                    (unsigned long long)s->errors[i]);
    }
    fputc('\n', out);

    if (s->close_codes[0].count == 0)
        return;
    fprintf(out, "  %-12s", "close codes");
    for (unsigned i = 0; i < BENCH_CLOSE_CODE_SLOTS; i++) {
        if (s->close_codes[i].count > 0)
            fprintf(out, " %u=%llu", s->close_codes[i].code,
                    (unsigned long long)s->close_codes[i].count);
    }
    fputc('\n', out);
}

static void print_resources(FILE *out, const struct bench_run *run,
                            const struct bench_result *res)
{
    if (run->cfg->server_pid_count > 0 && res->server_before.valid) {
        const struct process_sample *last =
            has_streams(run) ? &res->server_after : &res->server_connected;
        fprintf(out, "  %-12s cpu %.2f s connecting", "server",
                cpu_between(&res->server_before, &res->server_connected));
        if (has_streams(run))
            fprintf(out, ", %.2f s sending",
                    cpu_between(&res->server_sending, &res->server_after));
        fprintf(out, "; rss %llu KiB (peak %llu KiB)\n",
                (unsigned long long)last->rss_kib,
                (unsigned long long)last->hwm_kib);
    }

    fprintf(out, "  %-12s cpu %.2f s connecting", "bench",
            res->bench_cpu_connected - res->bench_cpu_before);
    if (has_streams(run))
        fprintf(out, ", %.2f s sending",
                res->bench_cpu_after - res->bench_cpu_sending);
    fputc('\n', out);

    if (is_idle_memory(run))
        fprintf(out,
                "  %-12s rss %llu KiB with no client, %llu KiB with %u: "
                "%.0f bytes per client\n",
                "idle memory", (unsigned long long)res->server_before.rss_kib,
                (unsigned long long)res->server_connected.rss_kib, res->ready,
                idle_bytes_per_client(res));
}

void report_print(const struct bench_run *run, const struct bench_result *res,
                  FILE *out)
{
    const struct bench_config *cfg = run->cfg;

    fprintf(out, "signal-bench %s: %s%s%s%s, %s, %u clients, %u threads\n",
            cfg->scenario_name, cfg->target_text, cfg->label ? " (" : "",
            cfg->label ? cfg->label : "", cfg->label ? ")" : "",
            cfg->plain ? "plain" : "encrypted", run->client_count,
            run->thread_count);
    fprintf(out, "  %-12s %u ready, %u failed in %.3f s: %.0f/s\n",
            "handshakes", res->ready, res->failed, res->handshake_s,
            per_second(res->ready, res->handshake_s));
    print_latency(out, "handshake", &res->stats.handshake_ns);

    if (has_streams(run)) {
        fprintf(out,
                "  %-12s %llu planned, %llu sent, %llu accepted, %u bytes "
                "each\n",
                "messages", (unsigned long long)res->planned,
                (unsigned long long)res->sent,
                (unsigned long long)res->accepted, cfg->size);
        print_latency(out, "REST", &res->rest_latency_ns);
        fprintf(out, "  %-12s %llu of %llu in %.3f s: %.0f/s\n", "deliveries",
                (unsigned long long)res->stats.delivered,
                (unsigned long long)res->expected, res->delivery_s,
                per_second(res->stats.delivered, res->delivery_s));
        print_latency(out, "latency", &res->stats.latency_ns);
        fprintf(out, "  %-12s %llu lost, %llu duplicated, %llu reordered\n",
                "order", (unsigned long long)res->lost,
                (unsigned long long)res->stats.duplicated,
                (unsigned long long)res->stats.reordered);
    }
    print_errors(out, &res->stats);
    print_resources(out, run, res);
    if (res->has_verdict)
        fprintf(out, "  %-12s %s\n", "verdict",
                res->passed ? "PASS: every message exactly once, in order"
                            : "FAIL");
}

/* ---- JSON ------------------------------------------------------------- */

static cJSON *latency_json(const struct histogram *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double)h->total);
    cJSON_AddNumberToObject(o, "p50", ms(histogram_percentile(h, 50)));
    cJSON_AddNumberToObject(o, "p90", ms(histogram_percentile(h, 90)));
    cJSON_AddNumberToObject(o, "p99", ms(histogram_percentile(h, 99)));
    cJSON_AddNumberToObject(o, "p999", ms(histogram_percentile(h, 99.9)));
    cJSON_AddNumberToObject(o, "max", ms(h->max));
    return o;
}

static cJSON *errors_json(const struct bench_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    for (unsigned i = 0; i < BENCH_ERROR_COUNT; i++) {
        if (s->errors[i] > 0)
            cJSON_AddNumberToObject(o, bench_error_name(i),
                                    (double)s->errors[i]);
    }
    return o;
}

static cJSON *close_codes_json(const struct bench_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    for (unsigned i = 0; i < BENCH_CLOSE_CODE_SLOTS; i++) {
        char code[16];
        if (s->close_codes[i].count == 0)
            continue;
        snprintf(code, sizeof(code), "%u", s->close_codes[i].code);
        cJSON_AddNumberToObject(o, code, (double)s->close_codes[i].count);
    }
    return o;
}

static cJSON *server_json(const struct bench_run *run,
                          const struct bench_result *res)
{
    const struct bench_config *cfg = run->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON *pids = cJSON_AddArrayToObject(o, "pids");
    for (unsigned i = 0; i < cfg->server_pid_count; i++)
        cJSON_AddItemToArray(pids,
                             cJSON_CreateNumber((double)cfg->server_pids[i]));

    const struct process_sample *last =
        has_streams(run) ? &res->server_after : &res->server_connected;
    cJSON_AddBoolToObject(o, "sampled",
                          res->server_before.valid && last->valid);
    cJSON_AddNumberToObject(
        o, "connect_cpu_s",
        cpu_between(&res->server_before, &res->server_connected));
    if (has_streams(run)) {
        double cpu = cpu_between(&res->server_sending, &res->server_after);
        cJSON_AddNumberToObject(o, "send_cpu_s", cpu);
        cJSON_AddNumberToObject(o, "deliveries_per_cpu_s",
                                per_second(res->stats.delivered, cpu));
    }
    cJSON_AddNumberToObject(o, "rss_kib", (double)last->rss_kib);
    cJSON_AddNumberToObject(o, "peak_rss_kib", (double)last->hwm_kib);
    return o;
}

void report_print_json(const struct bench_run *run,
                       const struct bench_result *res, FILE *out)
{
    const struct bench_config *cfg = run->cfg;
    cJSON *root = cJSON_CreateObject();

    cJSON_AddStringToObject(root, "scenario", cfg->scenario_name);
    cJSON_AddStringToObject(root, "target", cfg->target_text);
    if (cfg->label != NULL)
        cJSON_AddStringToObject(root, "label", cfg->label);
    cJSON_AddBoolToObject(root, "encrypted", !cfg->plain);
    cJSON_AddNumberToObject(root, "threads", run->thread_count);

    cJSON *settings = cJSON_AddObjectToObject(root, "settings");
    cJSON_AddNumberToObject(settings, "concurrency", cfg->concurrency);
    cJSON_AddNumberToObject(settings, "source_addresses",
                            run->source_addresses);
    cJSON_AddNumberToObject(settings, "in_flight", cfg->in_flight);
    cJSON_AddNumberToObject(settings, "rest_connections",
                            cfg->rest_connections);
    cJSON_AddNumberToObject(settings, "pipeline", cfg->pipeline);
    cJSON_AddNumberToObject(settings, "rate", cfg->rate);
    cJSON_AddNumberToObject(settings, "duration_s", cfg->duration_s);

    cJSON *clients = cJSON_AddObjectToObject(root, "clients");
    cJSON_AddNumberToObject(clients, "requested", run->client_count);
    cJSON_AddNumberToObject(clients, "ready", res->ready);
    cJSON_AddNumberToObject(clients, "failed", res->failed);

    cJSON *handshakes = cJSON_AddObjectToObject(root, "handshakes");
    cJSON_AddNumberToObject(handshakes, "seconds", res->handshake_s);
    cJSON_AddNumberToObject(handshakes, "per_second",
                            per_second(res->ready, res->handshake_s));
    cJSON_AddItemToObject(handshakes, "latency_ms",
                          latency_json(&res->stats.handshake_ns));

    if (has_streams(run)) {
        cJSON *messages = cJSON_AddObjectToObject(root, "messages");
        cJSON_AddNumberToObject(messages, "size", cfg->size);
        cJSON_AddNumberToObject(messages, "planned", (double)res->planned);
        cJSON_AddNumberToObject(messages, "sent", (double)res->sent);
        cJSON_AddNumberToObject(messages, "accepted", (double)res->accepted);
        cJSON_AddNumberToObject(messages, "rest_requests",
                                (double)res->rest_requests);
        cJSON_AddItemToObject(messages, "rest_latency_ms",
                              latency_json(&res->rest_latency_ns));

        cJSON *deliveries = cJSON_AddObjectToObject(root, "deliveries");
        cJSON_AddNumberToObject(deliveries, "expected", (double)res->expected);
        cJSON_AddNumberToObject(deliveries, "delivered",
                                (double)res->stats.delivered);
        cJSON_AddNumberToObject(deliveries, "lost", (double)res->lost);
        cJSON_AddNumberToObject(deliveries, "duplicated",
                                (double)res->stats.duplicated);
        cJSON_AddNumberToObject(deliveries, "reordered",
                                (double)res->stats.reordered);
        cJSON_AddNumberToObject(deliveries, "seconds", res->delivery_s);
        cJSON_AddNumberToObject(
            deliveries, "per_second",
            per_second(res->stats.delivered, res->delivery_s));
        cJSON_AddItemToObject(deliveries, "latency_ms",
                              latency_json(&res->stats.latency_ns));
    }

    cJSON_AddItemToObject(root, "errors", errors_json(&res->stats));
    cJSON_AddNumberToObject(root, "error_total",
                            (double)stats_error_total(&res->stats));
    cJSON_AddItemToObject(root, "close_codes", close_codes_json(&res->stats));
    if (cfg->server_pid_count > 0)
        cJSON_AddItemToObject(root, "server", server_json(run, res));

    cJSON *bench = cJSON_AddObjectToObject(root, "bench");
    cJSON_AddNumberToObject(bench, "connect_cpu_s",
                            res->bench_cpu_connected - res->bench_cpu_before);
    if (has_streams(run))
        cJSON_AddNumberToObject(bench, "send_cpu_s",
                                res->bench_cpu_after - res->bench_cpu_sending);

    if (is_idle_memory(run)) {
        cJSON *idle = cJSON_AddObjectToObject(root, "idle_memory");
        cJSON_AddNumberToObject(idle, "rss_before_kib",
                                (double)res->server_before.rss_kib);
        cJSON_AddNumberToObject(idle, "rss_after_kib",
                                (double)res->server_connected.rss_kib);
        cJSON_AddNumberToObject(idle, "bytes_per_client",
                                idle_bytes_per_client(res));
    }
    if (res->has_verdict)
        cJSON_AddBoolToObject(root, "passed", res->passed);

    char *text = cJSON_PrintUnformatted(root);
    if (text != NULL) {
        fputs(text, out);
        fputc('\n', out);
        free(text);
    }
    cJSON_Delete(root);
}
