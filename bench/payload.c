/*
 * The benchmark's message payload and topics. Every message's data is
 * {"s":<stream>,"seq":<n>,"t":<send time>,"pad":"<letters>"}: s is the
 * index of the stream (so a message delivered to the wrong room is caught),
 * seq numbers the message within its stream, t is the send time in
 * nanoseconds since the run's epoch on CLOCK_MONOTONIC (sender and
 * receivers share the process, so one clock serves both ends), and pad
 * fills the text up to the requested size with letters that depend on seq,
 * so an altered pad is detected.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* Characters of the data text besides the digits and the pad:
 * {"s": ,"seq": ,"t": ,"pad":" "} */
#define PAYLOAD_FIXED_LEN 27

static const char *const topics[STREAM_KIND_COUNT] = {
    [STREAM_BROADCAST] = "bench.broadcast",
    [STREAM_ROOM] = "bench.room",
    [STREAM_CLIENT] = "bench.client",
};

static const char *const probe_topics[STREAM_KIND_COUNT] = {
    [STREAM_BROADCAST] = "bench.probe.broadcast",
    [STREAM_ROOM] = "bench.probe.room",
    [STREAM_CLIENT] = "bench.probe.client",
};

const char *stream_topic(enum stream_kind kind)
{
    return topics[kind];
}

const char *stream_probe_topic(enum stream_kind kind)
{
    return probe_topics[kind];
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t decimal_digits(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

size_t payload_pad_len(unsigned size, uint32_t stream, uint64_t seq, uint64_t t)
{
    size_t used = PAYLOAD_FIXED_LEN + decimal_digits(stream) +
                  decimal_digits(seq) + decimal_digits(t);
    return size > used ? size - used : 0;
}

size_t payload_format(char *out, const struct bench_run *run, unsigned size,
                      uint32_t stream, uint64_t seq, uint64_t t)
{
    size_t pad = payload_pad_len(size, stream, seq, t);
    int n = sprintf(out, "{\"s\":%u,\"seq\":%llu,\"t\":%llu,\"pad\":\"",
                    (unsigned)stream, (unsigned long long)seq,
                    (unsigned long long)t);

    memcpy(out + n, run->pad_pattern + seq % 26, pad);
    memcpy(out + (size_t)n + pad, "\"}", 2);
    return (size_t)n + pad + 2;
}
