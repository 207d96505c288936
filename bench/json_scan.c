/*
 * A validating JSON scanner for the receive path of signal-bench: it walks
 * one object, checks the whole text against RFC 8259 and points at the
 * members the caller names, without allocating or copying. cJSON would do
 * the same job with one allocation per node on every delivered message.
 * Pure functions, safe on any thread.
 */
#include <string.h>

#include "bench.h"

#define JSON_MAX_DEPTH 64

struct scanner {
    const char *p;
    const char *end;
};

static void skip_space(struct scanner *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* True when one of the 8 bytes in word is '"', '\\' or a control
 * character, the bytes a string scan must stop at. Bitwise tests in the
 * style of "Bit Twiddling Hacks" (haszero, hasless). */
static bool word_needs_care(uint64_t word)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t highs = UINT64_C(0x8080808080808080);
    uint64_t quote = word ^ (ones * '"');
    uint64_t backslash = word ^ (ones * '\\');

    uint64_t has_quote = (quote - ones) & ~quote & highs;
    uint64_t has_backslash = (backslash - ones) & ~backslash & highs;
    uint64_t has_control = (word - ones * 0x20) & ~word & highs;
    return (has_quote | has_backslash | has_control) != 0;
}

/* Scans a string starting at the opening quote. On success v covers the
 * raw text between the quotes. UTF-8 is not checked here because the
 * WebSocket reader has already validated every text message. */
static bool scan_string(struct scanner *s, struct json_value *v)
{
    s->p++;
    const char *start = s->p;
    bool escaped = false;

    /* Base64 ciphertext and pads are long runs of plain characters: skip
     * them 8 bytes at a time. */
    while (s->end - s->p >= 8) {
        uint64_t word;
        memcpy(&word, s->p, sizeof(word));
        if (word_needs_care(word))
            break;
        s->p += 8;
    }

    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            v->type = JSON_STRING;
            v->p = start;
            v->n = (size_t)(s->p - start);
            v->escaped = escaped;
            s->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c != '\\') {
            s->p++;
            continue;
        }

        escaped = true;
        if (s->end - s->p < 2)
            return false;
        char e = s->p[1];
        if (e == 'u') {
            if (s->end - s->p < 6)
                return false;
            for (int i = 2; i < 6; i++) {
                if (!is_hex(s->p[i]))
                    return false;
            }
            s->p += 6;
        } else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
            s->p += 2;
        } else {
            return false;
        }
    }
    return false;
}

static bool scan_digits(struct scanner *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

static bool scan_number(struct scanner *s, struct json_value *v)
{
    const char *start = s->p;

    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0') {
        s->p++;
    } else if (!scan_digits(s)) {
        return false;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!scan_digits(s))
            return false;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!scan_digits(s))
            return false;
    }

    v->type = JSON_NUMBER;
    v->p = start;
    v->n = (size_t)(s->p - start);
    return true;
}

static bool scan_literal(struct scanner *s, const char *word,
                         enum json_type type, struct json_value *v)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    v->type = type;
    v->p = s->p;
    v->n = n;
    s->p += n;
    return true;
}

static bool scan_value(struct scanner *s, struct json_value *v, int depth);

/* Scans an object starting at '{'. When keys is not NULL (top level only)
 * the named members are stored in values. */
static bool scan_members(struct scanner *s, int depth, const char *const *keys,
                         size_t key_count, struct json_value *values)
{
    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return true;
    }

    for (;;) {
        struct json_value key;
        struct json_value value;

        skip_space(s);
        if (s->p >= s->end || *s->p != '"' || !scan_string(s, &key))
            return false;
        skip_space(s);
        if (s->p >= s->end || *s->p != ':')
            return false;
        s->p++;
        if (!scan_value(s, &value, depth + 1))
            return false;

        for (size_t i = 0; keys != NULL && i < key_count; i++) {
            if (key.escaped || !json_value_equals(&key, keys[i]))
                continue;
            if (values[i].type != JSON_MISSING)
                return false;
            values[i] = value;
        }

        skip_space(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == '}') {
            s->p++;
            return true;
        }
        if (*s->p != ',')
            return false;
        s->p++;
    }
}

static bool scan_elements(struct scanner *s, int depth)
{
    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }

    for (;;) {
        struct json_value element;
        if (!scan_value(s, &element, depth + 1))
            return false;
        skip_space(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == ']') {
            s->p++;
            return true;
        }
        if (*s->p != ',')
            return false;
        s->p++;
    }
}

static bool scan_value(struct scanner *s, struct json_value *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return false;
    skip_space(s);
    if (s->p >= s->end)
        return false;

    const char *start = s->p;
    switch (*s->p) {
    case '"':
        return scan_string(s, v);
    case '{':
        if (!scan_members(s, depth, NULL, 0, NULL))
            return false;
        v->type = JSON_OBJECT;
        break;
    case '[':
        if (!scan_elements(s, depth))
            return false;
        v->type = JSON_ARRAY;
        break;
    case 't':
        return scan_literal(s, "true", JSON_TRUE, v);
    case 'f':
        return scan_literal(s, "false", JSON_FALSE, v);
    case 'n':
        return scan_literal(s, "null", JSON_NULL, v);
    default:
        return scan_number(s, v);
    }

    v->p = start;
    v->n = (size_t)(s->p - start);
    v->escaped = false;
    return true;
}

bool json_scan_object(const char *text, size_t n, const char *const *keys,
                      size_t key_count, struct json_value *values)
{
    struct scanner s = {text, text + n};

    for (size_t i = 0; i < key_count; i++)
        values[i] = (struct json_value){.type = JSON_MISSING};

    skip_space(&s);
    if (s.p >= s.end || *s.p != '{')
        return false;
    if (!scan_members(&s, 0, keys, key_count, values))
        return false;
    skip_space(&s);
    return s.p == s.end;
}

bool json_value_u64(const struct json_value *v, uint64_t *out)
{
    if (v->type != JSON_NUMBER || v->n == 0 || v->n > 19)
        return false;
    if (v->n > 1 && v->p[0] == '0')
        return false;

    uint64_t value = 0;
    for (size_t i = 0; i < v->n; i++) {
        char c = v->p[i];
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + (uint64_t)(c - '0');
    }
    if (value > (UINT64_C(1) << 63))
        return false;
    *out = value;
    return true;
}

bool json_value_equals(const struct json_value *v, const char *s)
{
    /* One pass that stops at the first difference: most comparisons are
     * between different topics. */
    size_t i = 0;
    for (; i < v->n; i++) {
        if (s[i] == '\0' || s[i] != v->p[i])
            return false;
    }
    return s[i] == '\0';
}
