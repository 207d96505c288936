/*
 * Checks on JSON text that cJSON does not make, and a way to find where
 * an object member's value sits in the text, so REST data can be relayed
 * byte for byte (cJSON would round numbers such as 2^53 - 1 when printing
 * them again). Pure functions, safe on any thread.
 */
#ifndef SIGNAL_JSON_TEXT_H
#define SIGNAL_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Parses text[0..len) as exactly one JSON value with nothing but
 * whitespace after it. Rejects what cJSON would accept but JSON or this
 * server cannot carry: NUL bytes, "\u0000" escapes (C strings would cut
 * the value short) and raw control characters inside strings. Returns
 * NULL when the text is not acceptable. */
cJSON *json_parse_strict(const char *text, size_t len);

/* Finds the text of the value of the first member named key, where
 * object is what json_parse_strict returned for text[0..len). Returns
 * false when the object has no such member. */
bool json_member_span(const char *text, size_t len, const cJSON *object,
                      const char *key, size_t *start, size_t *end);

#endif
