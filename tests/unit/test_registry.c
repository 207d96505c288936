/*
 * Unit tests of the registry: clients, rooms with their per-worker member
 * counts, the user index and the ClientInfo JSON. The first tests run on
 * one thread and check exact values. The last one runs writer threads,
 * each owning one worker's clients, while reader threads list and look up
 * clients, rooms and users. Build with -Db_sanitize=thread to have
 * ThreadSanitizer check the locking.
 */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "registry.h"

#define WORKERS 4
#define NOW_MS 1800000000123LL /* 2027-01-15T08:00:00.123Z */

/* Writes a lower-case hyphenated UUID made from two numbers, so every
 * test can name its clients without a random source. */
static void make_id(char id[CLIENT_ID_LEN + 1], unsigned high, unsigned low)
{
    snprintf(id, CLIENT_ID_LEN + 1, "%08x-0000-4000-8000-%012x", high, low);
}

static struct registry *reg;

static void setup(void)
{
    ck_assert(hmap_init_seed());
    reg = registry_new(WORKERS);
    ck_assert_ptr_nonnull(reg);
}

static void teardown(void)
{
    registry_free(reg);
    reg = NULL;
}

static struct client_record *add(unsigned n, unsigned worker)
{
    char id[CLIENT_ID_LEN + 1];

    make_id(id, 0, n);
    struct client_record *rec =
        registry_add_client(reg, id, worker, 1000 + n, NOW_MS);
    ck_assert_msg(rec != NULL, "adding client %s failed", id);
    return rec;
}

static enum registry_join_result join(struct client_record *rec,
                                      const char *room, const char **interned)
{
    const char *ignored = NULL;
    return registry_join(reg, rec, room, strlen(room),
                         interned != NULL ? interned : &ignored);
}

static bool leave(struct client_record *rec, const char *room)
{
    return registry_leave(reg, rec, room, strlen(room));
}

/* Fills has_members for a room and returns it as a string of 0 and 1,
 * one character per worker, for readable assertions. */
static const char *room_workers(const char *room, bool *any)
{
    static char pattern[WORKERS + 1];
    bool has_members[WORKERS];

    memset(has_members, 1, sizeof has_members);
    *any = registry_room_workers(reg, room, strlen(room), has_members);
    for (unsigned w = 0; w < WORKERS; w++)
        pattern[w] = has_members[w] ? '1' : '0';
    pattern[WORKERS] = '\0';
    return pattern;
}

START_TEST(test_add_and_find_client)
{
    char id[CLIENT_ID_LEN + 1];
    unsigned worker = 99;
    uint64_t handle = 0;

    make_id(id, 0, 1);
    ck_assert_str_eq(id, "00000000-0000-4000-8000-000000000001");
    struct client_record *rec = registry_add_client(reg, id, 3, 77, NOW_MS);
    ck_assert_ptr_nonnull(rec);
    ck_assert_uint_eq(registry_client_count(reg), 1);

    ck_assert(registry_find_client(reg, id, CLIENT_ID_LEN, &worker, &handle));
    ck_assert_uint_eq(worker, 3);
    ck_assert_uint_eq(handle, 77);

    /* Unknown ids and a prefix of a known id are not found, and the outputs
     * are left alone. */
    char other[CLIENT_ID_LEN + 1];
    make_id(other, 0, 2);
    worker = 99;
    handle = 5;
    ck_assert(
        !registry_find_client(reg, other, CLIENT_ID_LEN, &worker, &handle));
    ck_assert(
        !registry_find_client(reg, id, CLIENT_ID_LEN - 1, &worker, &handle));
    ck_assert(!registry_find_client(reg, "", 0, &worker, &handle));
    ck_assert_uint_eq(worker, 99);
    ck_assert_uint_eq(handle, 5);
}
END_TEST

START_TEST(test_duplicate_id_rejected)
{
    char id[CLIENT_ID_LEN + 1];
    unsigned worker = 0;
    uint64_t handle = 0;

    make_id(id, 0, 1);
    ck_assert_ptr_nonnull(registry_add_client(reg, id, 0, 10, NOW_MS));
    ck_assert_ptr_null(registry_add_client(reg, id, 1, 11, NOW_MS));
    ck_assert_uint_eq(registry_client_count(reg), 1);
    ck_assert(registry_find_client(reg, id, CLIENT_ID_LEN, &worker, &handle));
    ck_assert_uint_eq(worker, 0);
    ck_assert_uint_eq(handle, 10);
}
END_TEST

START_TEST(test_remove_client_forgets_it)
{
    char id[CLIENT_ID_LEN + 1];
    unsigned worker;
    uint64_t handle;
    struct client_record *a = add(1, 0);
    struct client_record *b = add(2, 1);

    ck_assert_uint_eq(registry_client_count(reg), 2);
    registry_remove_client(reg, a);
    ck_assert_uint_eq(registry_client_count(reg), 1);
    make_id(id, 0, 1);
    ck_assert(!registry_find_client(reg, id, CLIENT_ID_LEN, &worker, &handle));
    ck_assert_ptr_null(registry_client_info(reg, id, CLIENT_ID_LEN));
    make_id(id, 0, 2);
    ck_assert(registry_find_client(reg, id, CLIENT_ID_LEN, &worker, &handle));
    ck_assert_uint_eq(worker, 1);
    ck_assert_uint_eq(handle, 1002);

    /* The id is free again once its client is gone. */
    a = add(1, 2);
    make_id(id, 0, 1);
    ck_assert(registry_find_client(reg, id, CLIENT_ID_LEN, &worker, &handle));
    ck_assert_uint_eq(worker, 2);
    registry_remove_client(reg, a);
    registry_remove_client(reg, b);
    ck_assert_uint_eq(registry_client_count(reg), 0);
}
END_TEST

START_TEST(test_join_interns_room_name)
{
    struct client_record *a = add(1, 0);
    struct client_record *b = add(2, 1);
    const char *first = NULL, *second = NULL;
    char name[] = "lobby";

    ck_assert_int_eq(registry_join(reg, a, name, 5, &first), REGISTRY_JOINED);
    ck_assert_ptr_nonnull(first);
    ck_assert_str_eq(first, "lobby");
    ck_assert_ptr_ne(first, name);

    /* The interned copy does not depend on the caller's buffer, and a
     * second member gets the same copy. */
    memcpy(name, "XXXXX", 5);
    ck_assert_str_eq(first, "lobby");
    ck_assert_int_eq(join(b, "lobby", &second), REGISTRY_JOINED);
    ck_assert_ptr_eq(second, first);
    ck_assert_uint_eq(registry_room_count(reg), 1);
}
END_TEST

START_TEST(test_join_uses_len_not_nul)
{
    struct client_record *a = add(1, 0);
    const char *interned = NULL;
    bool any;

    ck_assert_int_eq(registry_join(reg, a, "lobby-and-more", 5, &interned),
                     REGISTRY_JOINED);
    ck_assert_str_eq(interned, "lobby");
    ck_assert_str_eq(room_workers("lobby", &any), "1000");
    ck_assert(any);
    ck_assert_str_eq(room_workers("lobby-and-more", &any), "0000");
    ck_assert(!any);

    /* A name with an embedded NUL is a different room. */
    ck_assert_int_eq(registry_join(reg, a, "lobby\0x", 7, &interned),
                     REGISTRY_JOINED);
    ck_assert_uint_eq(registry_room_count(reg), 2);
    ck_assert(registry_leave(reg, a, "lobby\0x", 7));
    ck_assert_uint_eq(registry_room_count(reg), 1);
}
END_TEST

START_TEST(test_second_join_already_member)
{
    struct client_record *a = add(1, 0);
    const char *interned = NULL;
    const char *again = "unchanged";

    ck_assert_int_eq(join(a, "lobby", &interned), REGISTRY_JOINED);
    ck_assert_int_eq(join(a, "lobby", &again), REGISTRY_ALREADY_MEMBER);
    ck_assert_str_eq(again, "unchanged");
    ck_assert_uint_eq(registry_room_count(reg), 1);

    /* Still one membership: one leave empties the room. */
    ck_assert(leave(a, "lobby"));
    ck_assert_uint_eq(registry_room_count(reg), 0);
    ck_assert(!leave(a, "lobby"));
    ck_assert_int_eq(join(a, "lobby", &interned), REGISTRY_JOINED);
}
END_TEST

START_TEST(test_leave_only_rooms_joined)
{
    struct client_record *a = add(1, 0);
    struct client_record *b = add(2, 0);

    ck_assert_int_eq(join(a, "red", NULL), REGISTRY_JOINED);
    ck_assert(!leave(b, "red"));
    ck_assert(!leave(a, "blue"));
    ck_assert(!leave(a, "re"));
    ck_assert(!leave(a, "redder"));
    ck_assert_uint_eq(registry_room_count(reg), 1);
    ck_assert(leave(a, "red"));
    ck_assert_uint_eq(registry_room_count(reg), 0);
}
END_TEST

START_TEST(test_room_workers_per_worker)
{
    struct client_record *w0 = add(1, 0);
    struct client_record *w2a = add(2, 2);
    struct client_record *w2b = add(3, 2);
    struct client_record *w3 = add(4, 3);
    bool any;

    ck_assert_str_eq(room_workers("r", &any), "0000");
    ck_assert(!any);

    ck_assert_int_eq(join(w2a, "r", NULL), REGISTRY_JOINED);
    ck_assert_str_eq(room_workers("r", &any), "0010");
    ck_assert(any);
    ck_assert_int_eq(join(w0, "r", NULL), REGISTRY_JOINED);
    ck_assert_int_eq(join(w2b, "r", NULL), REGISTRY_JOINED);
    ck_assert_int_eq(join(w3, "other", NULL), REGISTRY_JOINED);
    ck_assert_str_eq(room_workers("r", &any), "1010");
    ck_assert_str_eq(room_workers("other", &any), "0001");

    /* Worker 2 keeps the room while one of its two members remains. */
    ck_assert(leave(w2a, "r"));
    ck_assert_str_eq(room_workers("r", &any), "1010");
    ck_assert(leave(w0, "r"));
    ck_assert_str_eq(room_workers("r", &any), "0010");

    /* Removing a client leaves its rooms. */
    registry_remove_client(reg, w2b);
    ck_assert_str_eq(room_workers("r", &any), "0000");
    ck_assert(!any);
    ck_assert_uint_eq(registry_room_count(reg), 1);
    registry_remove_client(reg, w3);
    ck_assert_uint_eq(registry_room_count(reg), 0);
    registry_remove_client(reg, w0);
    registry_remove_client(reg, w2a);
    ck_assert_uint_eq(registry_client_count(reg), 0);
}
END_TEST

START_TEST(test_many_rooms_per_client)
{
    /* Past the first few rooms the membership array has to grow. */
    enum { ROOMS = 300 };
    struct client_record *a = add(1, 1);
    char room[32];

    for (unsigned i = 0; i < ROOMS; i++) {
        snprintf(room, sizeof room, "room-%u", i);
        ck_assert_int_eq(join(a, room, NULL), REGISTRY_JOINED);
    }
    ck_assert_uint_eq(registry_room_count(reg), ROOMS);
    for (unsigned i = 0; i < ROOMS; i++) {
        snprintf(room, sizeof room, "room-%u", i);
        ck_assert_int_eq(join(a, room, NULL), REGISTRY_ALREADY_MEMBER);
    }

    char id[CLIENT_ID_LEN + 1];
    make_id(id, 0, 1);
    cJSON *info = registry_client_info(reg, id, CLIENT_ID_LEN);
    ck_assert_ptr_nonnull(info);
    ck_assert_int_eq(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(info, "rooms")),
        ROOMS);
    cJSON_Delete(info);

    registry_remove_client(reg, a);
    ck_assert_uint_eq(registry_room_count(reg), 0);
}
END_TEST

static const cJSON *member(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    ck_assert_msg(item != NULL, "ClientInfo has no \"%s\"", name);
    return item;
}

static void check_string_member(const cJSON *object, const char *name,
                                const char *expected)
{
    const cJSON *item = member(object, name);
    ck_assert_msg(cJSON_IsString(item), "\"%s\" is not a string", name);
    ck_assert_str_eq(item->valuestring, expected);
}

static void check_number_member(const cJSON *object, const char *name,
                                double expected)
{
    const cJSON *item = member(object, name);
    ck_assert_msg(cJSON_IsNumber(item), "\"%s\" is not a number", name);
    ck_assert_msg(item->valuedouble == expected,
                  "\"%s\" is %.0f, expected %.0f", name, item->valuedouble,
                  expected);
}

static void check_rooms(const cJSON *info, const char *const *expected,
                        int count)
{
    const cJSON *rooms = member(info, "rooms");

    ck_assert(cJSON_IsArray(rooms));
    ck_assert_int_eq(cJSON_GetArraySize(rooms), count);
    for (int i = 0; i < count; i++) {
        const cJSON *room = cJSON_GetArrayItem(rooms, i);
        ck_assert(cJSON_IsString(room));
        ck_assert_str_eq(room->valuestring, expected[i]);
    }
}

START_TEST(test_client_info_before_authentication)
{
    char id[CLIENT_ID_LEN + 1];

    add(5, 1);
    make_id(id, 0, 5);
    cJSON *info = registry_client_info(reg, id, CLIENT_ID_LEN);
    ck_assert_ptr_nonnull(info);

    /* No userId until the client has authenticated. */
    ck_assert_int_eq(cJSON_GetArraySize(info), 7);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(info, "userId"));
    check_string_member(info, "id", "00000000-0000-4000-8000-000000000005");
    check_string_member(info, "state", "unauthorized");
    ck_assert(cJSON_IsFalse(member(info, "encrypted")));
    check_rooms(info, NULL, 0);
    check_number_member(info, "connectedAt", 1800000000123.0);
    check_number_member(info, "lastActivity", 1800000000123.0);
    const cJSON *metadata = member(info, "metadata");
    ck_assert(cJSON_IsObject(metadata));
    ck_assert_ptr_null(metadata->child);

    char *text = cJSON_PrintUnformatted(info);
    ck_assert_str_eq(text, "{\"id\":\"00000000-0000-4000-8000-000000000005\","
                           "\"state\":\"unauthorized\",\"encrypted\":false,"
                           "\"rooms\":[],\"connectedAt\":1800000000123,"
                           "\"lastActivity\":1800000000123,\"metadata\":{}}");
    free(text);
    cJSON_Delete(info);
}
END_TEST

START_TEST(test_client_info_after_authentication)
{
    static const char *const rooms[] = {"00000000-0000-4000-8000-000000000006",
                                        "ws-default", "public-b", "public-a"};
    char id[CLIENT_ID_LEN + 1];
    struct client_record *rec = add(6, 2);

    make_id(id, 0, 6);
    registry_set_state(reg, rec, CLIENT_AUTHENTICATING);
    cJSON *info = registry_client_info(reg, id, CLIENT_ID_LEN);
    check_string_member(info, "state", "authenticating");
    cJSON_Delete(info);

    ck_assert(registry_set_authenticated(reg, rec, "user-42", true));
    registry_touch(rec, NOW_MS + 4500);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(join(rec, rooms[i], NULL), REGISTRY_JOINED);
    ck_assert(leave(rec, "public-b"));
    ck_assert_int_eq(join(rec, "public-b", NULL), REGISTRY_JOINED);

    info = registry_client_info(reg, id, CLIENT_ID_LEN);
    ck_assert_ptr_nonnull(info);
    ck_assert_int_eq(cJSON_GetArraySize(info), 8);
    check_string_member(info, "id", id);
    check_string_member(info, "userId", "user-42");
    check_string_member(info, "state", "authenticated");
    ck_assert(cJSON_IsTrue(member(info, "encrypted")));

    /* Rooms are listed in join order, and a rejoined room goes last. */
    static const char *const listed[] = {"00000000-0000-4000-8000-000000000006",
                                         "ws-default", "public-a", "public-b"};
    check_rooms(info, listed, 4);
    check_number_member(info, "connectedAt", 1800000000123.0);
    check_number_member(info, "lastActivity", 1800000004623.0);
    cJSON_Delete(info);

    registry_set_state(reg, rec, CLIENT_DISCONNECTED);
    info = registry_client_info(reg, id, CLIENT_ID_LEN);
    check_string_member(info, "state", "disconnected");
    check_string_member(info, "userId", "user-42");
    cJSON_Delete(info);
}
END_TEST

START_TEST(test_client_info_unknown_id)
{
    char id[CLIENT_ID_LEN + 1];

    add(1, 0);
    make_id(id, 0, 2);
    ck_assert_ptr_null(registry_client_info(reg, id, CLIENT_ID_LEN));
    ck_assert_ptr_null(registry_client_info(reg, "", 0));
}
END_TEST

START_TEST(test_state_names)
{
    ck_assert_str_eq(client_state_name(CLIENT_UNAUTHORIZED), "unauthorized");
    ck_assert_str_eq(client_state_name(CLIENT_AUTHENTICATING),
                     "authenticating");
    ck_assert_str_eq(client_state_name(CLIENT_AUTHENTICATED), "authenticated");
    ck_assert_str_eq(client_state_name(CLIENT_DISCONNECTED), "disconnected");
}
END_TEST

START_TEST(test_list_clients_has_each_once)
{
    enum { COUNT = 200 };
    bool seen[COUNT] = {false};

    cJSON *empty = registry_list_clients(reg);
    ck_assert(cJSON_IsArray(empty));
    ck_assert_int_eq(cJSON_GetArraySize(empty), 0);
    cJSON_Delete(empty);

    for (unsigned i = 0; i < COUNT; i++)
        add(i, i % WORKERS);
    cJSON *list = registry_list_clients(reg);
    ck_assert(cJSON_IsArray(list));
    ck_assert_int_eq(cJSON_GetArraySize(list), COUNT);

    const cJSON *info;
    cJSON_ArrayForEach(info, list)
    {
        const cJSON *id = member(info, "id");
        unsigned high, low;
        ck_assert(cJSON_IsString(id));
        ck_assert_int_eq(
            sscanf(id->valuestring, "%8x-0000-4000-8000-%12x", &high, &low), 2);
        ck_assert_uint_eq(high, 0);
        ck_assert_uint_lt(low, COUNT);
        ck_assert_msg(!seen[low], "client %s listed twice", id->valuestring);
        seen[low] = true;
        check_string_member(info, "state", "unauthorized");
    }
    cJSON_Delete(list);
}
END_TEST

START_TEST(test_user_index)
{
    char ids[4][CLIENT_ID_LEN + 1];
    char expected_a[CLIENT_ID_LEN + 1], expected_b[CLIENT_ID_LEN + 1];
    struct client_record *a = add(1, 0);
    struct client_record *b = add(2, 1);
    struct client_record *c = add(3, 2);
    struct client_record *anonymous = add(4, 3);

    make_id(expected_a, 0, 1);
    make_id(expected_b, 0, 2);
    ck_assert_uint_eq(registry_user_clients(reg, "alice", ids, 4), 0);
    ck_assert(registry_set_authenticated(reg, a, "alice", true));
    ck_assert(registry_set_authenticated(reg, b, "alice", false));
    ck_assert(registry_set_authenticated(reg, c, "bob", true));

    /* Both of alice's clients, in either order. */
    memset(ids, 0, sizeof ids);
    ck_assert_uint_eq(registry_user_clients(reg, "alice", ids, 4), 2);
    bool a_first = strcmp(ids[0], expected_a) == 0;
    ck_assert_str_eq(ids[a_first ? 0 : 1], expected_a);
    ck_assert_str_eq(ids[a_first ? 1 : 0], expected_b);
    ck_assert_str_eq(ids[2], "");

    /* A smaller capacity still returns the full count. */
    memset(ids, 0, sizeof ids);
    ck_assert_uint_eq(registry_user_clients(reg, "alice", ids, 1), 2);
    ck_assert_uint_eq(strlen(ids[0]), CLIENT_ID_LEN);
    ck_assert_str_eq(ids[1], "");
    ck_assert_uint_eq(registry_user_clients(reg, "alice", ids, 0), 2);

    ck_assert_uint_eq(registry_user_clients(reg, "bob", ids, 4), 1);
    ck_assert_str_eq(ids[0], "00000000-0000-4000-8000-000000000003");
    ck_assert_uint_eq(registry_user_clients(reg, "alic", ids, 4), 0);
    ck_assert_uint_eq(registry_user_clients(reg, "", ids, 4), 0);

    registry_remove_client(reg, a);
    ck_assert_uint_eq(registry_user_clients(reg, "alice", ids, 4), 1);
    ck_assert_str_eq(ids[0], expected_b);
    registry_remove_client(reg, b);
    ck_assert_uint_eq(registry_user_clients(reg, "alice", ids, 4), 0);
    registry_remove_client(reg, anonymous);
    registry_remove_client(reg, c);
    ck_assert_uint_eq(registry_user_clients(reg, "bob", ids, 4), 0);
    ck_assert_uint_eq(registry_client_count(reg), 0);
}
END_TEST

START_TEST(test_counts_follow_changes)
{
    struct client_record *recs[10];

    ck_assert_uint_eq(registry_client_count(reg), 0);
    ck_assert_uint_eq(registry_room_count(reg), 0);
    for (unsigned i = 0; i < 10; i++) {
        recs[i] = add(i, i % WORKERS);
        ck_assert_uint_eq(registry_client_count(reg), i + 1);
    }
    for (unsigned i = 0; i < 10; i++) {
        char room[16];
        snprintf(room, sizeof room, "pair-%u", i / 2);
        ck_assert_int_eq(join(recs[i], room, NULL), REGISTRY_JOINED);
        ck_assert_int_eq(join(recs[i], "all", NULL), REGISTRY_JOINED);
    }
    ck_assert_uint_eq(registry_room_count(reg), 6);
    for (unsigned i = 0; i < 10; i++) {
        registry_remove_client(reg, recs[i]);
        ck_assert_uint_eq(registry_client_count(reg), 9 - i);
        /* pair-k empties when its second client goes, "all" at the end. */
        size_t rooms = 5 - (i + 1) / 2 + (i < 9 ? 1 : 0);
        ck_assert_msg(registry_room_count(reg) == rooms,
                      "after removing %u clients: %zu rooms, expected %zu",
                      i + 1, registry_room_count(reg), rooms);
    }
}
END_TEST

START_TEST(test_count_states_by_client_state)
{
    struct client_record *recs[5];
    size_t counts[4] = {0};

    for (unsigned i = 0; i < 5; i++)
        recs[i] = add(i, 0);
    registry_set_state(reg, recs[0], CLIENT_AUTHENTICATING);
    ck_assert(registry_set_authenticated(reg, recs[1], "user-a", true));
    ck_assert(registry_set_authenticated(reg, recs[2], "user-b", false));
    registry_count_states(reg, counts);
    ck_assert_uint_eq(counts[CLIENT_UNAUTHORIZED], 2);
    ck_assert_uint_eq(counts[CLIENT_AUTHENTICATING], 1);
    ck_assert_uint_eq(counts[CLIENT_AUTHENTICATED], 2);
    ck_assert_uint_eq(counts[CLIENT_DISCONNECTED], 0);
    for (unsigned i = 0; i < 5; i++)
        registry_remove_client(reg, recs[i]);
}
END_TEST

/* Concurrent use. Each writer thread plays one worker: it adds its own
 * clients in batches, authenticates them, joins shared and private rooms,
 * touches, leaves and removes them, checking every result. Readers list
 * clients and look up rooms and users meanwhile and check what they see.
 * Threads record their first failure here; the test asserts after the
 * join, because Check's asserts must run on the test's own thread. */

enum {
    WRITERS = 4,
    READERS = 2,
    CLIENTS_PER_WRITER = 10000,
    BATCH = 40,
    SHARED_ROOMS = 8,
    SHARED_USERS = 5,
};

struct thread_report {
    atomic_uint failures;
    char first[256];
    unsigned long operations;
};

struct writer_args {
    unsigned worker;
    struct thread_report report;
};

struct reader_args {
    atomic_bool *done;
    struct thread_report report;
};

static void report_failure(struct thread_report *report, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report_failure(struct thread_report *report, const char *fmt, ...)
{
    if (atomic_fetch_add(&report->failures, 1) != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(report->first, sizeof report->first, fmt, ap);
    va_end(ap);
}

#define EXPECT(report, cond, ...)                                              \
    do {                                                                       \
        if (!(cond))                                                           \
            report_failure(report, __VA_ARGS__);                               \
    } while (0)

static void shared_room(char *out, size_t cap, unsigned i)
{
    snprintf(out, cap, "shared-%u", i % SHARED_ROOMS);
}

static void private_room(char *out, size_t cap, unsigned worker)
{
    snprintf(out, cap, "private-%u", worker);
}

static void writer_batch(struct writer_args *args, unsigned first)
{
    struct thread_report *rep = &args->report;
    struct client_record *recs[BATCH];
    char id[CLIENT_ID_LEN + 1], room[32], user[32];
    const char *interned = NULL;
    unsigned w = args->worker;

    for (unsigned k = 0; k < BATCH; k++) {
        unsigned n = first + k;
        make_id(id, w + 1, n);
        recs[k] = registry_add_client(reg, id, w, ((uint64_t)w << 32) | n,
                                      NOW_MS + n);
        EXPECT(rep, recs[k] != NULL, "worker %u: adding %s failed", w, id);
        if (recs[k] == NULL)
            return;

        /* Half the clients share a few user ids with the other writers. */
        if (n % 2 == 0)
            snprintf(user, sizeof user, "shared-user-%u", n % SHARED_USERS);
        else
            snprintf(user, sizeof user, "user-%u-%u", w, n);
        EXPECT(rep, registry_set_authenticated(reg, recs[k], user, n % 3 != 0),
               "worker %u: authenticating %s failed", w, id);

        EXPECT(rep, join(recs[k], id, &interned) == REGISTRY_JOINED,
               "worker %u: joining own room %s failed", w, id);
        EXPECT(rep, strcmp(interned, id) == 0,
               "worker %u: own room interned as %s", w, interned);
        shared_room(room, sizeof room, n);
        EXPECT(rep, join(recs[k], room, &interned) == REGISTRY_JOINED,
               "worker %u: joining %s failed", w, room);
        EXPECT(rep, strcmp(interned, room) == 0, "worker %u: %s interned as %s",
               w, room, interned);
        EXPECT(rep, join(recs[k], room, NULL) == REGISTRY_ALREADY_MEMBER,
               "worker %u: second join of %s not ALREADY_MEMBER", w, room);
        private_room(room, sizeof room, w);
        EXPECT(rep, join(recs[k], room, NULL) == REGISTRY_JOINED,
               "worker %u: joining %s failed", w, room);
        registry_touch(recs[k], NOW_MS + n + 1);
        args->report.operations += 6;
    }

    for (unsigned k = 0; k < BATCH; k++) {
        unsigned n = first + k;
        unsigned found_worker = 0;
        uint64_t handle = 0;

        make_id(id, w + 1, n);
        EXPECT(rep,
               registry_find_client(reg, id, CLIENT_ID_LEN, &found_worker,
                                    &handle),
               "worker %u: own client %s not found", w, id);
        EXPECT(rep, found_worker == w && handle == (((uint64_t)w << 32) | n),
               "worker %u: %s found on worker %u with handle %llu", w, id,
               found_worker, (unsigned long long)handle);

        cJSON *info = registry_client_info(reg, id, CLIENT_ID_LEN);
        const cJSON *last =
            cJSON_GetObjectItemCaseSensitive(info, "lastActivity");
        const cJSON *rooms = cJSON_GetObjectItemCaseSensitive(info, "rooms");
        EXPECT(rep,
               cJSON_IsNumber(last) &&
                   last->valuedouble == (double)(NOW_MS + n + 1),
               "worker %u: %s has the wrong lastActivity", w, id);
        EXPECT(rep, cJSON_GetArraySize(rooms) == 3,
               "worker %u: %s is in %d rooms, expected 3", w, id,
               cJSON_GetArraySize(rooms));
        cJSON_Delete(info);

        shared_room(room, sizeof room, n);
        EXPECT(rep, leave(recs[k], room), "worker %u: leaving %s failed", w,
               room);
        EXPECT(rep, !leave(recs[k], room), "worker %u: left %s twice", w, room);
        args->report.operations += 4;
    }

    for (unsigned k = 0; k < BATCH; k++) {
        registry_remove_client(reg, recs[k]);
        args->report.operations++;
    }
}

static void *writer_main(void *arg)
{
    struct writer_args *args = arg;

    for (unsigned first = 0; first < CLIENTS_PER_WRITER; first += BATCH)
        writer_batch(args, first);
    return NULL;
}

static void reader_pass(struct thread_report *rep, unsigned pass)
{
    enum { MAX_LIVE = WRITERS * BATCH };
    char room[32], user[32], ids[MAX_LIVE][CLIENT_ID_LEN + 1];
    bool has_members[WORKERS];

    /* The list is built shard by shard, not as one snapshot, so it may
     * hold more clients than were ever live at once. Each listed client is
     * still one a writer made, and none is listed twice. */
    static _Thread_local bool listed[WRITERS][CLIENTS_PER_WRITER];
    memset(listed, 0, sizeof listed);
    cJSON *list = registry_list_clients(reg);
    EXPECT(rep, cJSON_IsArray(list), "list is not an array");
    const cJSON *info;
    cJSON_ArrayForEach(info, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(info, "id");
        unsigned high = 0, low = 0;
        bool valid =
            cJSON_IsString(id) && strlen(id->valuestring) == CLIENT_ID_LEN &&
            sscanf(id->valuestring, "%8x-0000-4000-8000-%12x", &high, &low) ==
                2 &&
            high >= 1 && high <= WRITERS && low < CLIENTS_PER_WRITER;
        EXPECT(rep, valid, "listed a client no writer made");
        if (!valid)
            continue;
        EXPECT(rep, !listed[high - 1][low], "%s listed twice", id->valuestring);
        listed[high - 1][low] = true;
    }
    cJSON_Delete(list);

    /* A private room only ever has members on its own worker. */
    for (unsigned w = 0; w < WORKERS; w++) {
        private_room(room, sizeof room, w);
        bool any = registry_room_workers(reg, room, strlen(room), has_members);
        for (unsigned other = 0; other < WORKERS; other++)
            EXPECT(rep, other == w || !has_members[other],
                   "%s has members on worker %u", room, other);
        EXPECT(rep, any == has_members[w], "%s: result %d, own worker %d", room,
               any, has_members[w]);
    }
    for (unsigned i = 0; i < SHARED_ROOMS; i++) {
        shared_room(room, sizeof room, i);
        bool any = registry_room_workers(reg, room, strlen(room), has_members);
        bool some = false;
        for (unsigned w = 0; w < WORKERS; w++)
            some = some || has_members[w];
        EXPECT(rep, any == some, "%s: result %d but members %d", room, any,
               some);
    }

    for (unsigned i = 0; i < SHARED_USERS; i++) {
        snprintf(user, sizeof user, "shared-user-%u", i);
        size_t count = registry_user_clients(reg, user, ids, MAX_LIVE);
        EXPECT(rep, count <= MAX_LIVE, "%s has %zu clients", user, count);
        for (size_t k = 0; k < count && k < MAX_LIVE; k++)
            EXPECT(rep, strlen(ids[k]) == CLIENT_ID_LEN,
                   "%s lists an id of %zu characters", user, strlen(ids[k]));
    }

    /* Lookups of clients that may or may not exist at this moment. */
    for (unsigned w = 0; w < WORKERS; w++) {
        char id[CLIENT_ID_LEN + 1];
        unsigned worker = 0;
        uint64_t handle = 0;

        make_id(id, w + 1, (pass * 7919u + w * 131u) % CLIENTS_PER_WRITER);
        if (registry_find_client(reg, id, CLIENT_ID_LEN, &worker, &handle))
            EXPECT(rep, worker == w, "%s found on worker %u", id, worker);
        cJSON *one = registry_client_info(reg, id, CLIENT_ID_LEN);
        if (one != NULL) {
            const cJSON *got = cJSON_GetObjectItemCaseSensitive(one, "id");
            EXPECT(rep,
                   cJSON_IsString(got) && strcmp(got->valuestring, id) == 0,
                   "info of %s has another id", id);
        }
        cJSON_Delete(one);
    }

    /* Counts are summed shard by shard as well, so they are bounded only
     * by what the writers make in all. */
    size_t clients = registry_client_count(reg);
    EXPECT(rep, clients <= WRITERS * CLIENTS_PER_WRITER, "%zu clients counted",
           clients);
    size_t rooms = registry_room_count(reg);
    EXPECT(rep, rooms <= WRITERS * CLIENTS_PER_WRITER + SHARED_ROOMS + WORKERS,
           "%zu rooms counted", rooms);
}

static void *reader_main(void *arg)
{
    struct reader_args *args = arg;

    while (!atomic_load(args->done)) {
        reader_pass(&args->report, (unsigned)args->report.operations);
        args->report.operations++;
    }
    return NULL;
}

START_TEST(test_concurrent_writers_and_readers)
{
    pthread_t writers[WRITERS], readers[READERS];
    struct writer_args writer_args[WRITERS];
    struct reader_args reader_args[READERS];
    atomic_bool done;

    atomic_init(&done, false);
    memset(writer_args, 0, sizeof writer_args);
    memset(reader_args, 0, sizeof reader_args);
    for (unsigned i = 0; i < READERS; i++) {
        reader_args[i].done = &done;
        ck_assert_int_eq(
            pthread_create(&readers[i], NULL, reader_main, &reader_args[i]), 0);
    }
    for (unsigned w = 0; w < WRITERS; w++) {
        writer_args[w].worker = w;
        ck_assert_int_eq(
            pthread_create(&writers[w], NULL, writer_main, &writer_args[w]), 0);
    }
    for (unsigned w = 0; w < WRITERS; w++)
        ck_assert_int_eq(pthread_join(writers[w], NULL), 0);
    atomic_store(&done, true);
    for (unsigned i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_join(readers[i], NULL), 0);

    for (unsigned w = 0; w < WRITERS; w++) {
        struct thread_report *rep = &writer_args[w].report;
        ck_assert_msg(atomic_load(&rep->failures) == 0,
                      "writer %u: %u failures, first: %s", w,
                      atomic_load(&rep->failures), rep->first);
        ck_assert_uint_eq(rep->operations, CLIENTS_PER_WRITER * 11UL);
    }
    for (unsigned i = 0; i < READERS; i++) {
        struct thread_report *rep = &reader_args[i].report;
        ck_assert_msg(atomic_load(&rep->failures) == 0,
                      "reader %u: %u failures, first: %s", i,
                      atomic_load(&rep->failures), rep->first);
        ck_assert_uint_gt(rep->operations, 0);
    }

    /* Every client was removed, and with them every room and user. */
    ck_assert_uint_eq(registry_client_count(reg), 0);
    ck_assert_uint_eq(registry_room_count(reg), 0);
    cJSON *list = registry_list_clients(reg);
    ck_assert_int_eq(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
    char ids[1][CLIENT_ID_LEN + 1];
    for (unsigned i = 0; i < SHARED_USERS; i++) {
        char user[32];
        snprintf(user, sizeof user, "shared-user-%u", i);
        ck_assert_uint_eq(registry_user_clients(reg, user, ids, 1), 0);
    }
    bool any;
    ck_assert_str_eq(room_workers("shared-0", &any), "0000");
    ck_assert_str_eq(room_workers("private-0", &any), "0000");
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("core");
    TCase *threads = tcase_create("threads");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_add_and_find_client);
    tcase_add_test(tc, test_count_states_by_client_state);
    tcase_add_test(tc, test_duplicate_id_rejected);
    tcase_add_test(tc, test_remove_client_forgets_it);
    tcase_add_test(tc, test_join_interns_room_name);
    tcase_add_test(tc, test_join_uses_len_not_nul);
    tcase_add_test(tc, test_second_join_already_member);
    tcase_add_test(tc, test_leave_only_rooms_joined);
    tcase_add_test(tc, test_room_workers_per_worker);
    tcase_add_test(tc, test_many_rooms_per_client);
    tcase_add_test(tc, test_client_info_before_authentication);
    tcase_add_test(tc, test_client_info_after_authentication);
    tcase_add_test(tc, test_client_info_unknown_id);
    tcase_add_test(tc, test_state_names);
    tcase_add_test(tc, test_list_clients_has_each_once);
    tcase_add_test(tc, test_user_index);
    tcase_add_test(tc, test_counts_follow_changes);
    suite_add_tcase(s, tc);

    /* ThreadSanitizer slows the threaded test down several times. */
    tcase_add_checked_fixture(threads, setup, teardown);
    tcase_set_timeout(threads, 240);
    tcase_add_test(threads, test_concurrent_writers_and_readers);
    suite_add_tcase(s, threads);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(registry_suite());

    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
