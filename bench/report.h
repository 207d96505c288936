/*
 * The outcome of one signal-bench run and its two renderings: a summary
 * for people and a JSON object for bench/run.sh and other scripts.
 */
#ifndef SIGNAL_BENCH_REPORT_H
#define SIGNAL_BENCH_REPORT_H

#include <stdio.h>

#include "bench.h"

struct bench_result {
    unsigned ready;  /* clients that authenticated */
    unsigned failed; /* clients that did not */
    double handshake_s;
    double delivery_s; /* first send to last delivery */
    bool stalled;
    uint64_t unprobed; /* stream members that never saw a probe */

    struct bench_stats stats; /* clients and REST merged */
    struct histogram rest_latency_ns;
    uint64_t planned;
    uint64_t sent;
    uint64_t accepted;
    uint64_t expected; /* deliveries the accepted messages owe */
    uint64_t lost;
    uint64_t rest_requests;

    /* Samples of the --server-pid processes and of this process's CPU
     * time: before connecting, once connected (after --settle for
     * idle-memory), before sending and after the last delivery. */
    struct process_sample server_before;
    struct process_sample server_connected;
    struct process_sample server_sending;
    struct process_sample server_after;
    double bench_cpu_before;
    double bench_cpu_connected;
    double bench_cpu_sending;
    double bench_cpu_after;

    bool has_verdict; /* smoke only */
    bool passed;
};

void report_print(const struct bench_run *run, const struct bench_result *res,
                  FILE *out);
void report_print_json(const struct bench_run *run,
                       const struct bench_result *res, FILE *out);

#endif
