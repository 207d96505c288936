/*
 * Unit tests of the pure parts of signal-bench that its verdicts rest on:
 * the JSON scanner of the receive path, the latency histogram and the
 * message payload. A wrong scanner or pad check would turn tampering into
 * deliveries, or deliveries into errors.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const envelope_keys[] = {"event", "data"};

static bool scan(const char *text, struct json_value values[2])
{
    return json_scan_object(text, strlen(text), envelope_keys, 2, values);
}

START_TEST(test_scan_finds_top_level_members)
{
    const char *text =
        " {\"id\":\"x\", \"event\" : \"bench.room\",\"data\":{\"a\":[1,2,"
        "{\"event\":null}],\"b\":-1.5e3}} ";
    struct json_value v[2];

    ck_assert(scan(text, v));
    ck_assert_int_eq(v[0].type, JSON_STRING);
    ck_assert(json_value_equals(&v[0], "bench.room"));
    ck_assert_int_eq(v[1].type, JSON_OBJECT);
    ck_assert_uint_eq(v[1].n, strlen("{\"a\":[1,2,{\"event\":null}],"
                                     "\"b\":-1.5e3}"));
    ck_assert(memcmp(v[1].p, "{\"a\":[1,2,{\"event\":null}],\"b\":-1.5e3}",
                     v[1].n) == 0);
}
END_TEST

START_TEST(test_scan_marks_missing_members)
{
    struct json_value v[2];

    ck_assert(scan("{\"event\":\"heartbeat\"}", v));
    ck_assert(json_value_equals(&v[0], "heartbeat"));
    ck_assert_int_eq(v[1].type, JSON_MISSING);
}
END_TEST

START_TEST(test_scan_rejects_invalid_json)
{
    static const char *const invalid[] = {
        "",
        "[]",
        "{",
        "{\"event\":\"x\"",
        "{\"event\":\"x\"} trailing",
        "{\"event\":\"x\",}",
        "{\"event\" \"x\"}",
        "{event:\"x\"}",
        "{\"event\":\"unterminated}",
        "{\"event\":\"bad \\q escape\"}",
        "{\"event\":\"short \\u12 escape\"}",
        "{\"event\":\"tab\tinside\"}",
        "{\"n\":01}",
        "{\"n\":1.}",
        "{\"n\":-}",
        "{\"n\":1e}",
        "{\"n\":tru}",
        "{\"a\":[1,]}",
        "{\"event\":\"x\",\"event\":\"y\"}",
    };
    struct json_value v[2];

    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        ck_assert_msg(!scan(invalid[i], v), "accepted invalid JSON: %s",
                      invalid[i]);
}
END_TEST

START_TEST(test_scan_rejects_deep_nesting)
{
    char text[512];
    size_t n = 0;

    n += (size_t)sprintf(text, "{\"data\":");
    for (int i = 0; i < 100; i++)
        text[n++] = '[';
    for (int i = 0; i < 100; i++)
        text[n++] = ']';
    text[n++] = '}';
    text[n] = '\0';

    struct json_value v[2];
    ck_assert(!scan(text, v));
}
END_TEST

/* The string scan skips 8 bytes at a time; a quote, backslash or control
 * character must be found at every offset of the word. */
START_TEST(test_scan_string_stops_at_every_offset)
{
    for (int len = 0; len < 40; len++) {
        char text[128];
        char body[64];

        memset(body, 'k', (size_t)len);
        body[len] = '\0';
        snprintf(text, sizeof(text), "{\"event\":\"%s\",\"data\":1}", body);
        struct json_value v[2];
        ck_assert_msg(scan(text, v), "rejected a %d-byte string", len);
        ck_assert_uint_eq(v[0].n, (size_t)len);
        ck_assert(!v[0].escaped);

        snprintf(text, sizeof(text), "{\"event\":\"%s\\\"q\",\"data\":1}",
                 body);
        ck_assert(scan(text, v));
        ck_assert_uint_eq(v[0].n, (size_t)len + 3);
        ck_assert(v[0].escaped);

        snprintf(text, sizeof(text), "{\"event\":\"%s\n\",\"data\":1}", body);
        ck_assert_msg(!scan(text, v), "accepted a raw line feed after %d", len);
    }
}
END_TEST

START_TEST(test_u64_accepts_plain_integers_only)
{
    static const struct {
        const char *text;
        bool valid;
        uint64_t value;
    } cases[] = {
        {"{\"n\":0}", true, 0},
        {"{\"n\":42}", true, 42},
        {"{\"n\":9223372036854775808}", true, UINT64_C(9223372036854775808)},
        {"{\"n\":9223372036854775809}", false, 0},
        {"{\"n\":-1}", false, 0},
        {"{\"n\":1.5}", false, 0},
        {"{\"n\":1e3}", false, 0},
        {"{\"n\":\"7\"}", false, 0},
    };
    static const char *const keys[] = {"n"};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct json_value v;
        uint64_t out = 0;
        ck_assert(json_scan_object(cases[i].text, strlen(cases[i].text), keys,
                                   1, &v));
        ck_assert_msg(json_value_u64(&v, &out) == cases[i].valid,
                      "json_value_u64 on %s", cases[i].text);
        if (cases[i].valid)
            ck_assert_uint_eq(out, cases[i].value);
    }
}
END_TEST

START_TEST(test_equals_compares_whole_string)
{
    struct json_value v = {JSON_STRING, "bench.room", 10, false};

    ck_assert(json_value_equals(&v, "bench.room"));
    ck_assert(!json_value_equals(&v, "bench.roo"));
    ck_assert(!json_value_equals(&v, "bench.rooms"));
    ck_assert(!json_value_equals(&v, "bench.probe.room"));
}
END_TEST

START_TEST(test_histogram_small_values_exact)
{
    struct histogram h;
    histogram_init(&h);

    for (uint64_t v = 1; v <= 100; v++)
        histogram_record(&h, v);
    ck_assert_uint_eq(h.total, 100);
    ck_assert_uint_eq(h.min, 1);
    ck_assert_uint_eq(h.max, 100);
    ck_assert_uint_eq(histogram_percentile(&h, 50), 50);
    ck_assert_uint_eq(histogram_percentile(&h, 90), 90);
    ck_assert_uint_eq(histogram_percentile(&h, 99), 99);
    ck_assert_uint_eq(histogram_percentile(&h, 100), 100);
}
END_TEST

/* Above 128 a value is reported as the top of its bucket, which is less
 * than 1/128 above the value. */
START_TEST(test_histogram_relative_error_bounded)
{
    static const uint64_t values[] = {129,
                                      255,
                                      256,
                                      257,
                                      1000,
                                      4097,
                                      123456789,
                                      UINT64_C(1) << 40,
                                      (UINT64_C(1) << 40) + 12345,
                                      UINT64_C(18000000000000000000)};

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct histogram h;
        histogram_init(&h);
        histogram_record(&h, values[i]);
        histogram_record(&h, UINT64_MAX);

        uint64_t reported = histogram_percentile(&h, 50);
        ck_assert_msg(reported >= values[i], "%llu reported as %llu",
                      (unsigned long long)values[i],
                      (unsigned long long)reported);
        ck_assert_msg(reported - values[i] <= values[i] / 128,
                      "%llu reported as %llu", (unsigned long long)values[i],
                      (unsigned long long)reported);
    }
}
END_TEST

START_TEST(test_histogram_merge_adds_counts)
{
    struct histogram a;
    struct histogram b;
    histogram_init(&a);
    histogram_init(&b);

    histogram_record(&a, 10);
    histogram_record(&b, 20);
    histogram_record(&b, 30);
    histogram_merge(&a, &b);
    ck_assert_uint_eq(a.total, 3);
    ck_assert_uint_eq(a.min, 10);
    ck_assert_uint_eq(a.max, 30);
    ck_assert_uint_eq(histogram_percentile(&a, 50), 20);
}
END_TEST

START_TEST(test_histogram_empty_reports_zero)
{
    struct histogram h;
    histogram_init(&h);
    ck_assert_uint_eq(histogram_percentile(&h, 99), 0);
}
END_TEST

/* The data text must be exactly size bytes and carry the pad the receiver
 * checks against. */
START_TEST(test_payload_has_requested_size)
{
    static const unsigned sizes[] = {64, 100, 1024, 4096};
    static const uint64_t seqs[] = {0, 9, 10, 12345};
    static const char *const keys[] = {"s", "seq", "t", "pad"};
    struct bench_run run = {0};
    char text[4096 + 128];

    run.pad_pattern_len = 4096 + 32;
    run.pad_pattern = malloc(run.pad_pattern_len);
    ck_assert_ptr_nonnull(run.pad_pattern);
    for (size_t i = 0; i < run.pad_pattern_len; i++)
        run.pad_pattern[i] = (char)('a' + i % 26);

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (size_t k = 0; k < sizeof(seqs) / sizeof(seqs[0]); k++) {
            uint64_t t = 1234567890123 + k;
            size_t n = payload_format(text, &run, sizes[i], 7, seqs[k], t);
            ck_assert_uint_eq(n, sizes[i]);

            struct json_value v[4];
            uint64_t stream;
            uint64_t seq;
            uint64_t sent;
            ck_assert(json_scan_object(text, n, keys, 4, v));
            ck_assert(json_value_u64(&v[0], &stream));
            ck_assert(json_value_u64(&v[1], &seq));
            ck_assert(json_value_u64(&v[2], &sent));
            ck_assert_uint_eq(stream, 7);
            ck_assert_uint_eq(seq, seqs[k]);
            ck_assert_uint_eq(sent, t);
            ck_assert_uint_eq(v[3].n, payload_pad_len(sizes[i], 7, seq, t));
            ck_assert(memcmp(v[3].p, run.pad_pattern + seq % 26, v[3].n) == 0);
        }
    }
    free(run.pad_pattern);
}
END_TEST

START_TEST(test_payload_too_small_has_no_pad)
{
    ck_assert_uint_eq(payload_pad_len(10, 1, 1, 1), 0);
    ck_assert_uint_eq(payload_pad_len(30, 1, 1, 1), 0);
    ck_assert_uint_eq(payload_pad_len(31, 1, 1, 1), 1);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("signal-bench");
    TCase *json = tcase_create("json_scan");
    TCase *histogram = tcase_create("histogram");
    TCase *payload = tcase_create("payload");

    tcase_add_test(json, test_scan_finds_top_level_members);
    tcase_add_test(json, test_scan_marks_missing_members);
    tcase_add_test(json, test_scan_rejects_invalid_json);
    tcase_add_test(json, test_scan_rejects_deep_nesting);
    tcase_add_test(json, test_scan_string_stops_at_every_offset);
    tcase_add_test(json, test_u64_accepts_plain_integers_only);
    tcase_add_test(json, test_equals_compares_whole_string);
    tcase_add_test(histogram, test_histogram_small_values_exact);
    tcase_add_test(histogram, test_histogram_relative_error_bounded);
    tcase_add_test(histogram, test_histogram_merge_adds_counts);
    tcase_add_test(histogram, test_histogram_empty_reports_zero);
    tcase_add_test(payload, test_payload_has_requested_size);
    tcase_add_test(payload, test_payload_too_small_has_no_pad);
    suite_add_tcase(suite, json);
    suite_add_tcase(suite, histogram);
    suite_add_tcase(suite, payload);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
