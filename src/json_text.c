/*
 * Strict JSON checks and member spans on top of cJSON. The scanners here
 * walk strings with their escapes and nested containers; they run only on
 * text of bounded size (one WebSocket message or one REST body).
 */
#include "json_text.h"

#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_zero_escape(const char *p, const char *end)
{
    return end - p >= 6 && p[0] == '\\' && p[1] == 'u' && p[2] == '0' &&
           p[3] == '0' && p[4] == '0' && p[5] == '0';
}

/* True when no string contains a NUL, a "\u0000" escape or a raw control
 * character, and no NUL byte appears anywhere. */
static bool strings_are_clean(const char *p, size_t len)
{
    const char *end = p + len;
    bool in_string = false;

    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '\0')
            return false;
        if (!in_string) {
            in_string = c == '"';
            p++;
            continue;
        }
        if (c == '"') {
            in_string = false;
            p++;
        } else if (c == '\\') {
            if (is_zero_escape(p, end))
                return false;
            p += 2; /* the escaped character; \uXXXX digits follow as text */
        } else if (c < 0x20) {
            return false;
        } else {
            p++;
        }
    }
    return true;
}

cJSON *json_parse_strict(const char *text, size_t len)
{
    const char *parse_end = NULL;

    if (!strings_are_clean(text, len))
        return NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &parse_end, false);
    if (root == NULL)
        return NULL;

    /* Only whitespace may follow the value. */
    for (const char *p = parse_end; p < text + len; p++) {
        if (!is_space(*p)) {
            cJSON_Delete(root);
            return NULL;
        }
    }
    return root;
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p;
}

/* p is at an opening quote; returns the position after the closing one. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return end;
}

/* Returns the position right after the value that starts at p. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return end;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return end;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && !is_space(*p))
        p++;
    return p;
}

bool json_member_span(const char *text, size_t len, const cJSON *object,
                      const char *key, size_t *start, size_t *end_offset)
{
    const char *end = text + len;
    const char *p = skip_space(text, end);
    int index = 0, wanted = -1;
    const cJSON *child;

    /* cJSON keeps members in text order and decodes escaped keys, so the
     * member's position among its siblings finds it in the text. */
    if (!cJSON_IsObject(object) || p >= end || *p != '{')
        return false;
    cJSON_ArrayForEach(child, object)
    {
        if (child->string != NULL && strcmp(child->string, key) == 0) {
            wanted = index;
            break;
        }
        index++;
    }
    if (wanted < 0)
        return false;

    p++;
    for (int i = 0; p < end; i++) {
        p = skip_space(p, end);
        p = skip_string(p, end); /* the key */
        p = skip_space(p, end);
        p++; /* ':' */
        p = skip_space(p, end);
        const char *value = p;
        p = skip_value(p, end);
        if (i == wanted) {
            *start = (size_t)(value - text);
            *end_offset = (size_t)(p - text);
            return true;
        }
        p = skip_space(p, end);
        p++; /* ',' */
    }
    return false;
}
