/*
 * Unit tests of the incremental UTF-8 validator: the encoding boundaries,
 * valid text fed in two pieces split at every byte, and for each kind of
 * invalid sequence the exact byte at which validation fails.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Feeds p one byte at a time and returns the index of the byte that made
 * the validator report UTF8_INVALID, or -1 when it never did. */
static long first_invalid_byte(const uint8_t *p, size_t n)
{
    struct utf8_validator v;

    utf8_validator_init(&v);
    for (size_t i = 0; i < n; i++) {
        if (utf8_validator_feed(&v, p + i, 1) == UTF8_INVALID)
            return (long)i;
    }
    return -1;
}

struct sequence {
    const char *name;
    const char *bytes;
    size_t len;
};

#define SEQ(name, literal)                                                     \
    {                                                                          \
        name, literal, sizeof literal - 1                                      \
    }

/* The first and last code point of each encoding length, and the code
 * points on either side of the surrogate range. */
static const struct sequence boundary_sequences[] = {
    SEQ("U+0000", "\x00"),
    SEQ("U+007F", "\x7f"),
    SEQ("U+0080", "\xc2\x80"),
    SEQ("U+07FF", "\xdf\xbf"),
    SEQ("U+0800", "\xe0\xa0\x80"),
    SEQ("U+D7FF", "\xed\x9f\xbf"),
    SEQ("U+E000", "\xee\x80\x80"),
    SEQ("U+FFFF", "\xef\xbf\xbf"),
    SEQ("U+10000", "\xf0\x90\x80\x80"),
    SEQ("U+10FFFF", "\xf4\x8f\xbf\xbf"),
};

START_TEST(test_boundary_code_points_valid)
{
    const struct sequence *s = &boundary_sequences[_i];
    const uint8_t *p = (const uint8_t *)s->bytes;

    ck_assert_msg(utf8_is_valid(p, s->len), "%s rejected", s->name);
    ck_assert_int_eq(first_invalid_byte(p, s->len), -1);
    ck_assert_uint_eq(utf8_count_code_points(p, s->len), 1);
}
END_TEST

START_TEST(test_boundary_code_point_incomplete_prefix)
{
    const struct sequence *s = &boundary_sequences[_i];
    const uint8_t *p = (const uint8_t *)s->bytes;

    /* Every proper prefix of a multi-byte sequence is valid so far but
     * not complete, and is not valid as a whole text. */
    for (size_t cut = 1; cut < s->len; cut++) {
        struct utf8_validator v;
        utf8_validator_init(&v);
        ck_assert_msg(utf8_validator_feed(&v, p, cut) == UTF8_INCOMPLETE,
                      "%s cut after %zu bytes not incomplete", s->name, cut);
        ck_assert_msg(!utf8_is_valid(p, cut), "%s cut after %zu accepted",
                      s->name, cut);
    }
}
END_TEST

/* Mixed text with code points of every length, including the boundaries. */
static const char mixed_text[] = "a\x7f"
                                 "\xc2\x80\xdf\xbf"
                                 "\xe0\xa0\x80\xef\xbf\xbf"
                                 "\xe2\x82\xac" /* U+20AC euro sign */
                                 "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"
                                 "\xf0\x9f\x98\x80" /* U+1F600 */
                                 " z";

/* True when byte i of mixed_text is not the start of a code point, that is
 * when a text cut before it would end inside a code point. */
static bool is_continuation(size_t i)
{
    return ((uint8_t)mixed_text[i] & 0xC0) == 0x80;
}

START_TEST(test_valid_text_split_every_position)
{
    const uint8_t *p = (const uint8_t *)mixed_text;
    size_t n = sizeof mixed_text - 1;

    for (size_t cut = 0; cut <= n; cut++) {
        struct utf8_validator v;
        utf8_validator_init(&v);

        enum utf8_status expected_first =
            cut < n && is_continuation(cut) ? UTF8_INCOMPLETE : UTF8_COMPLETE;
        enum utf8_status first = utf8_validator_feed(&v, p, cut);
        ck_assert_msg(first == expected_first,
                      "first piece of %zu bytes: status %d, expected %d", cut,
                      first, expected_first);

        enum utf8_status second = utf8_validator_feed(&v, p + cut, n - cut);
        ck_assert_msg(second == UTF8_COMPLETE,
                      "split at %zu: second piece status %d", cut, second);
    }
}
END_TEST

START_TEST(test_valid_text_byte_by_byte)
{
    const uint8_t *p = (const uint8_t *)mixed_text;
    size_t n = sizeof mixed_text - 1;
    struct utf8_validator v;

    utf8_validator_init(&v);
    for (size_t i = 0; i < n; i++) {
        enum utf8_status expected = i + 1 < n && is_continuation(i + 1)
                                        ? UTF8_INCOMPLETE
                                        : UTF8_COMPLETE;
        ck_assert_msg(utf8_validator_feed(&v, p + i, 1) == expected,
                      "byte %zu: unexpected status", i);
    }
    ck_assert(utf8_is_valid(p, n));
    ck_assert_uint_eq(utf8_count_code_points(p, n), 12);
}
END_TEST

START_TEST(test_empty_input_complete)
{
    struct utf8_validator v;

    utf8_validator_init(&v);
    ck_assert(utf8_validator_feed(&v, NULL, 0) == UTF8_COMPLETE);
    ck_assert(utf8_is_valid((const uint8_t *)"", 0));
    ck_assert_uint_eq(utf8_count_code_points((const uint8_t *)"", 0), 0);
}
END_TEST

struct invalid_sequence {
    const char *name;
    const char *bytes;
    size_t len;
    long fails_at; /* index of the first byte no valid text can have */
};

#define BAD(name, literal, at)                                                 \
    {                                                                          \
        name, literal, sizeof literal - 1, at                                  \
    }

static const struct invalid_sequence invalid_sequences[] = {
    /* Overlong forms. */
    BAD("overlong U+0000 in 2 bytes", "\xc0\x80", 0),
    BAD("overlong U+007F in 2 bytes", "\xc1\xbf", 0),
    BAD("overlong U+0000 in 3 bytes", "\xe0\x80\x80", 1),
    BAD("overlong U+07FF in 3 bytes", "\xe0\x9f\xbf", 1),
    BAD("overlong U+0000 in 4 bytes", "\xf0\x80\x80\x80", 1),
    BAD("overlong U+FFFF in 4 bytes", "\xf0\x8f\xbf\xbf", 1),
    BAD("overlong '/' in 2 bytes", "a\xc0\xaf", 1),
    /* Surrogates. */
    BAD("surrogate U+D800", "\xed\xa0\x80", 1),
    BAD("surrogate U+DBFF", "\xed\xaf\xbf", 1),
    BAD("surrogate U+DC00", "\xed\xb0\x80", 1),
    BAD("surrogate U+DFFF", "\xed\xbf\xbf", 1),
    BAD("surrogate pair U+D83D U+DE00", "\xed\xa0\xbd\xed\xb8\x80", 1),
    /* Above U+10FFFF. */
    BAD("U+110000", "\xf4\x90\x80\x80", 1),
    BAD("U+13FFFF", "\xf4\xbf\xbf\xbf", 1),
    BAD("lead byte F5", "\xf5\x80\x80\x80", 0),
    BAD("lead byte F7", "\xf7\xbf\xbf\xbf", 0),
    BAD("lead byte F8 (5-byte form)", "\xf8\x88\x80\x80\x80", 0),
    BAD("lead byte FC (6-byte form)", "\xfc\x84\x80\x80\x80\x80", 0),
    BAD("byte FE", "\xfe", 0),
    BAD("byte FF", "ab\xff", 2),
    /* Bad continuation bytes. */
    BAD("lone continuation 80", "\x80", 0),
    BAD("lone continuation BF after ASCII", "abc\xbf", 3),
    BAD("continuation after complete 2-byte", "\xc2\x80\x80", 2),
    BAD("ASCII in place of 2nd byte of 2", "\xc2\x41", 1),
    BAD("ASCII in place of 3rd byte of 3", "\xe1\x80\x41", 2),
    BAD("ASCII in place of 4th byte of 4", "\xf1\x80\x80\x41", 3),
    BAD("lead byte in place of continuation", "\xe1\x80\xc2\x80", 2),
    BAD("truncated 2-byte then ASCII", "\xc2 ", 1),
    BAD("truncated 4-byte then 3-byte", "\xf0\x90\x80\xe2\x82\xac", 3),
};

START_TEST(test_invalid_fails_at_first_bad_byte)
{
    const struct invalid_sequence *s = &invalid_sequences[_i];
    const uint8_t *p = (const uint8_t *)s->bytes;

    ck_assert_msg(first_invalid_byte(p, s->len) == s->fails_at,
                  "%s: failed at byte %ld, expected %ld", s->name,
                  first_invalid_byte(p, s->len), s->fails_at);
    ck_assert_msg(!utf8_is_valid(p, s->len), "%s accepted", s->name);

    struct utf8_validator v;
    utf8_validator_init(&v);
    ck_assert_msg(utf8_validator_feed(&v, p, s->len) == UTF8_INVALID,
                  "%s fed at once not invalid", s->name);
}
END_TEST

START_TEST(test_truncated_sequences_incomplete)
{
    static const struct sequence truncated[] = {
        SEQ("2-byte missing 1", "\xc2"),
        SEQ("3-byte missing 2", "\xe2"),
        SEQ("3-byte missing 1", "\xe2\x82"),
        SEQ("4-byte missing 3", "\xf0"),
        SEQ("4-byte missing 2", "\xf0\x9f"),
        SEQ("4-byte missing 1", "\xf0\x9f\x98"),
        SEQ("text then 4-byte missing 1", "hello \xf4\x8f\xbf"),
    };

    for (size_t i = 0; i < sizeof truncated / sizeof truncated[0]; i++) {
        const uint8_t *p = (const uint8_t *)truncated[i].bytes;
        struct utf8_validator v;

        utf8_validator_init(&v);
        ck_assert_msg(utf8_validator_feed(&v, p, truncated[i].len) ==
                          UTF8_INCOMPLETE,
                      "%s not incomplete", truncated[i].name);
        ck_assert_msg(!utf8_is_valid(p, truncated[i].len), "%s accepted",
                      truncated[i].name);
    }
}
END_TEST

START_TEST(test_invalid_state_is_sticky)
{
    struct utf8_validator v;

    utf8_validator_init(&v);
    ck_assert(utf8_validator_feed(&v, (const uint8_t *)"\xff", 1) ==
              UTF8_INVALID);
    ck_assert(utf8_validator_feed(&v, (const uint8_t *)"abc", 3) ==
              UTF8_INVALID);
    ck_assert(utf8_validator_feed(&v, NULL, 0) == UTF8_INVALID);

    utf8_validator_init(&v);
    ck_assert(utf8_validator_feed(&v, (const uint8_t *)"abc", 3) ==
              UTF8_COMPLETE);
}
END_TEST

START_TEST(test_invalid_byte_after_ascii_run)
{
    /* Long ASCII runs are skipped a word at a time. A bad byte at any
     * offset and alignment must still be found at its exact index. */
    uint8_t text[80];

    for (size_t bad = 0; bad < sizeof text; bad++) {
        memset(text, 'x', sizeof text);
        text[bad] = 0x80;
        for (size_t start = 0; start <= bad && start < 8; start++) {
            struct utf8_validator v;
            utf8_validator_init(&v);
            ck_assert_msg(
                utf8_validator_feed(&v, text + start, sizeof text - start) ==
                    UTF8_INVALID,
                "0x80 at %zu from offset %zu not found", bad, start);
        }
        ck_assert_int_eq(first_invalid_byte(text, sizeof text), (long)bad);
    }
}
END_TEST

START_TEST(test_multibyte_after_ascii_run)
{
    /* A valid sequence right after a word-sized ASCII run is followed into,
     * and a sequence left open at the end is reported as incomplete. */
    uint8_t text[20];

    memset(text, 'x', 16);
    memcpy(text + 16, "\xe2\x82\xac", 3);
    ck_assert(utf8_is_valid(text, 19));

    struct utf8_validator v;
    utf8_validator_init(&v);
    ck_assert(utf8_validator_feed(&v, text, 18) == UTF8_INCOMPLETE);
    ck_assert(utf8_validator_feed(&v, text + 18, 1) == UTF8_COMPLETE);
}
END_TEST

START_TEST(test_count_code_points)
{
    ck_assert_uint_eq(utf8_count_code_points((const uint8_t *)"abc", 3), 3);
    ck_assert_uint_eq(
        utf8_count_code_points((const uint8_t *)"\xc3\xa9t\xc3\xa9", 5), 3);
    ck_assert_uint_eq(
        utf8_count_code_points((const uint8_t *)"\xf0\x9f\x98\x80!", 5), 2);
}
END_TEST

static Suite *utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("core");
    int boundaries = sizeof boundary_sequences / sizeof boundary_sequences[0];
    int invalids = sizeof invalid_sequences / sizeof invalid_sequences[0];

    tcase_add_loop_test(tc, test_boundary_code_points_valid, 0, boundaries);
    tcase_add_loop_test(tc, test_boundary_code_point_incomplete_prefix, 0,
                        boundaries);
    tcase_add_test(tc, test_valid_text_split_every_position);
    tcase_add_test(tc, test_valid_text_byte_by_byte);
    tcase_add_test(tc, test_empty_input_complete);
    tcase_add_loop_test(tc, test_invalid_fails_at_first_bad_byte, 0, invalids);
    tcase_add_test(tc, test_truncated_sequences_incomplete);
    tcase_add_test(tc, test_invalid_state_is_sticky);
    tcase_add_test(tc, test_invalid_byte_after_ascii_run);
    tcase_add_test(tc, test_multibyte_after_ascii_run);
    tcase_add_test(tc, test_count_code_points);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(utf8_suite());

    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
