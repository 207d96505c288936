/*
 * Unit tests of the intrusive hash map: insert, find and remove, growth
 * over thousands of keys, keys that share prefixes or contain NUL and
 * other raw bytes, and a for_each that visits every node exactly once.
 * The keys are compared by length and bytes, never as C strings.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

struct item {
    struct hmap_node node;
    char key[32];
    size_t key_len;
    unsigned visits; /* set by for_each callbacks */
};

static void item_set_key(struct item *it, const void *key, size_t len)
{
    ck_assert_uint_le(len, sizeof it->key);
    memcpy(it->key, key, len);
    it->key_len = len;
    it->visits = 0;
    it->node.key = it->key;
    it->node.key_len = len;
}

static struct item *find_item(const struct hmap *m, const void *key, size_t len)
{
    struct hmap_node *n = hmap_find(m, key, len);
    return n != NULL ? hmap_entry(n, struct item, node) : NULL;
}

static bool is_power_of_two(size_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

static void count_visit(struct hmap_node *node, void *arg)
{
    hmap_entry(node, struct item, node)->visits++;
    (*(size_t *)arg)++;
}

static void setup(void)
{
    ck_assert(hmap_init_seed());
}

START_TEST(test_empty_map_finds_nothing)
{
    struct hmap m;

    hmap_init(&m);
    ck_assert_uint_eq(m.size, 0);
    ck_assert_uint_eq(m.bucket_count, 0);
    ck_assert_ptr_null(m.buckets);
    ck_assert_ptr_null(hmap_find(&m, "a", 1));
    ck_assert_ptr_null(hmap_find(&m, "", 0));

    size_t calls = 0;
    hmap_for_each(&m, count_visit, &calls);
    ck_assert_uint_eq(calls, 0);
    hmap_free(&m);
}
END_TEST

START_TEST(test_insert_find_remove_one)
{
    struct hmap m;
    struct item it;

    hmap_init(&m);
    item_set_key(&it, "room-1", 6);
    ck_assert(hmap_insert(&m, &it.node));
    ck_assert_uint_eq(m.size, 1);
    ck_assert_uint_eq(m.bucket_count, 8);
    ck_assert_uint_eq(it.node.hash, hmap_hash("room-1", 6));

    ck_assert_ptr_eq(find_item(&m, "room-1", 6), &it);
    ck_assert_ptr_null(hmap_find(&m, "room-2", 6));
    ck_assert_ptr_null(hmap_find(&m, "room-", 5));
    ck_assert_ptr_null(hmap_find(&m, "room-12", 7));

    hmap_remove(&m, &it.node);
    ck_assert_uint_eq(m.size, 0);
    ck_assert_ptr_null(hmap_find(&m, "room-1", 6));

    /* The node can go back in after removal. */
    ck_assert(hmap_insert(&m, &it.node));
    ck_assert_ptr_eq(find_item(&m, "room-1", 6), &it);
    hmap_free(&m);
    ck_assert_uint_eq(m.size, 0);
    ck_assert_uint_eq(m.bucket_count, 0);
    ck_assert_ptr_null(m.buckets);
}
END_TEST

START_TEST(test_empty_key_is_a_key)
{
    struct hmap m;
    struct item empty, other;

    hmap_init(&m);
    item_set_key(&empty, "", 0);
    item_set_key(&other, "x", 1);
    ck_assert(hmap_insert(&m, &empty.node));
    ck_assert(hmap_insert(&m, &other.node));
    ck_assert_ptr_eq(find_item(&m, "", 0), &empty);
    ck_assert_ptr_eq(find_item(&m, "x", 1), &other);
    hmap_remove(&m, &empty.node);
    ck_assert_ptr_null(hmap_find(&m, "", 0));
    ck_assert_ptr_eq(find_item(&m, "x", 1), &other);
    hmap_free(&m);
}
END_TEST

START_TEST(test_hash_depends_on_bytes_and_length)
{
    /* Same bytes, same hash; the length is part of the hash, so a key and
     * the same key with a trailing NUL differ. */
    ck_assert_uint_eq(hmap_hash("abc", 3), hmap_hash("abc", 3));
    ck_assert_uint_ne(hmap_hash("abc", 3), hmap_hash("abd", 3));
    ck_assert_uint_ne(hmap_hash("a", 1), hmap_hash("a\0", 2));
    ck_assert_uint_ne(hmap_hash("", 0), hmap_hash("\0", 1));
    ck_assert_uint_ne(hmap_hash("12345678", 8), hmap_hash("123456789", 9));
}
END_TEST

enum { GROWTH_KEYS = 20000 };

START_TEST(test_growth_keeps_every_key)
{
    struct hmap m;
    struct item *items = calloc(GROWTH_KEYS, sizeof(*items));
    char key[32];

    ck_assert_ptr_nonnull(items);
    hmap_init(&m);
    for (size_t i = 0; i < GROWTH_KEYS; i++) {
        int n = snprintf(key, sizeof key, "client-%zu", i);
        item_set_key(&items[i], key, (size_t)n);
        ck_assert_msg(hmap_insert(&m, &items[i].node), "insert %s failed", key);
        ck_assert_uint_eq(m.size, i + 1);

        /* Doubling keeps the load factor at or below 1. */
        ck_assert_msg(is_power_of_two(m.bucket_count),
                      "bucket_count %zu is not a power of two", m.bucket_count);
        ck_assert_uint_ge(m.bucket_count, m.size);
    }
    ck_assert_uint_eq(m.bucket_count, 32768);

    for (size_t i = 0; i < GROWTH_KEYS; i++) {
        int n = snprintf(key, sizeof key, "client-%zu", i);
        ck_assert_msg(find_item(&m, key, (size_t)n) == &items[i],
                      "%s not found after growth", key);
    }
    for (size_t i = GROWTH_KEYS; i < GROWTH_KEYS + 1000; i++) {
        int n = snprintf(key, sizeof key, "client-%zu", i);
        ck_assert_msg(hmap_find(&m, key, (size_t)n) == NULL,
                      "%s found but never inserted", key);
    }

    /* Remove the even keys; the odd ones stay reachable. */
    for (size_t i = 0; i < GROWTH_KEYS; i += 2)
        hmap_remove(&m, &items[i].node);
    ck_assert_uint_eq(m.size, GROWTH_KEYS / 2);
    for (size_t i = 0; i < GROWTH_KEYS; i++) {
        int n = snprintf(key, sizeof key, "client-%zu", i);
        struct item *found = find_item(&m, key, (size_t)n);
        if (i % 2 == 0)
            ck_assert_msg(found == NULL, "%s found after removal", key);
        else
            ck_assert_msg(found == &items[i], "%s lost by removals", key);
    }
    for (size_t i = 1; i < GROWTH_KEYS; i += 2)
        hmap_remove(&m, &items[i].node);
    ck_assert_uint_eq(m.size, 0);
    hmap_free(&m);
    free(items);
}
END_TEST

START_TEST(test_prefix_keys_stay_distinct)
{
    static const char text[] = "abcdefghijklmnopqrstuvwxyz";
    struct hmap m;
    struct item items[sizeof text]; /* prefixes of length 0 to 26 */

    hmap_init(&m);
    for (size_t len = 0; len < sizeof text; len++) {
        item_set_key(&items[len], text, len);
        ck_assert(hmap_insert(&m, &items[len].node));
    }
    ck_assert_uint_eq(m.size, sizeof text);
    for (size_t len = 0; len < sizeof text; len++) {
        ck_assert_msg(find_item(&m, text, len) == &items[len],
                      "prefix of length %zu found the wrong node", len);
    }

    /* Removing a middle prefix leaves its shorter and longer neighbours. */
    hmap_remove(&m, &items[8].node);
    ck_assert_ptr_null(hmap_find(&m, text, 8));
    ck_assert_ptr_eq(find_item(&m, text, 7), &items[7]);
    ck_assert_ptr_eq(find_item(&m, text, 9), &items[9]);
    hmap_free(&m);
}
END_TEST

START_TEST(test_embedded_nul_and_raw_bytes)
{
    static const struct {
        const char *bytes;
        size_t len;
    } keys[] = {
        {"a", 1},
        {"a\0", 2},
        {"a\0b", 3},
        {"a\0c", 3},
        {"\0", 1},
        {"\0\0", 2},
        {"\0\0\0\0\0\0\0\0", 8},
        {"\0\0\0\0\0\0\0\0\0", 9},
        {"\xff\xfe\x80", 3},
        {"\xff\xfe\x81", 3},
        {"room\nname", 9},
        {"12345678abcdefgh", 16},
        {"12345678abcdefgi", 16},
    };
    enum { KEY_COUNT = sizeof keys / sizeof keys[0] };
    struct hmap m;
    struct item items[KEY_COUNT];

    hmap_init(&m);
    for (size_t i = 0; i < KEY_COUNT; i++) {
        item_set_key(&items[i], keys[i].bytes, keys[i].len);
        ck_assert(hmap_insert(&m, &items[i].node));
    }
    for (size_t i = 0; i < KEY_COUNT; i++) {
        ck_assert_msg(find_item(&m, keys[i].bytes, keys[i].len) == &items[i],
                      "key %zu (%zu bytes) found the wrong node", i,
                      keys[i].len);
    }
    ck_assert_ptr_null(hmap_find(&m, "a\0d", 3));
    ck_assert_ptr_null(hmap_find(&m, "\0\0\0", 3));
    ck_assert_ptr_null(hmap_find(&m, "\xff\xfe", 2));
    hmap_free(&m);
}
END_TEST

START_TEST(test_every_single_byte_key)
{
    struct hmap m;
    struct item items[256];

    hmap_init(&m);
    for (unsigned b = 0; b < 256; b++) {
        unsigned char byte = (unsigned char)b;
        item_set_key(&items[b], &byte, 1);
        ck_assert(hmap_insert(&m, &items[b].node));
    }
    ck_assert_uint_eq(m.size, 256);
    for (unsigned b = 0; b < 256; b++) {
        unsigned char byte = (unsigned char)b;
        ck_assert_msg(find_item(&m, &byte, 1) == &items[b],
                      "byte 0x%02x found the wrong node", b);
    }
    hmap_free(&m);
}
END_TEST

START_TEST(test_for_each_visits_each_node_once)
{
    enum { COUNT = 5000 };
    struct hmap m;
    struct item *items = calloc(COUNT, sizeof(*items));
    char key[32];
    size_t calls = 0;

    ck_assert_ptr_nonnull(items);
    hmap_init(&m);
    for (size_t i = 0; i < COUNT; i++) {
        int n = snprintf(key, sizeof key, "user:%zu", i);
        item_set_key(&items[i], key, (size_t)n);
        ck_assert(hmap_insert(&m, &items[i].node));
    }
    hmap_for_each(&m, count_visit, &calls);
    ck_assert_uint_eq(calls, COUNT);
    for (size_t i = 0; i < COUNT; i++)
        ck_assert_msg(items[i].visits == 1, "item %zu visited %u times", i,
                      items[i].visits);

    /* Removed nodes are not visited. */
    for (size_t i = 0; i < COUNT; i++)
        items[i].visits = 0;
    for (size_t i = 0; i < COUNT; i += 3)
        hmap_remove(&m, &items[i].node);
    calls = 0;
    hmap_for_each(&m, count_visit, &calls);
    ck_assert_uint_eq(calls, COUNT - (COUNT + 2) / 3);
    for (size_t i = 0; i < COUNT; i++) {
        unsigned expected = i % 3 == 0 ? 0 : 1;
        ck_assert_msg(items[i].visits == expected,
                      "item %zu visited %u times, expected %u", i,
                      items[i].visits, expected);
    }
    hmap_free(&m);
    free(items);
}
END_TEST

START_TEST(test_entry_recovers_container)
{
    struct item it;

    item_set_key(&it, "k", 1);
    ck_assert_ptr_eq(hmap_entry(&it.node, struct item, node), &it);
}
END_TEST

static Suite *hmap_suite(void)
{
    Suite *s = suite_create("hmap");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_empty_map_finds_nothing);
    tcase_add_test(tc, test_insert_find_remove_one);
    tcase_add_test(tc, test_empty_key_is_a_key);
    tcase_add_test(tc, test_hash_depends_on_bytes_and_length);
    tcase_add_test(tc, test_growth_keeps_every_key);
    tcase_add_test(tc, test_prefix_keys_stay_distinct);
    tcase_add_test(tc, test_embedded_nul_and_raw_bytes);
    tcase_add_test(tc, test_every_single_byte_key);
    tcase_add_test(tc, test_for_each_visits_each_node_once);
    tcase_add_test(tc, test_entry_recovers_container);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(hmap_suite());

    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
