/*
 * Incremental UTF-8 validation (RFC 3629): rejects overlong forms,
 * surrogates (U+D800..U+DFFF) and code points above U+10FFFF at the first
 * byte that makes the sequence impossible, so a WebSocket text message can
 * fail fast across fragment boundaries. Pure, no allocation.
 */
#ifndef SIGNAL_UTF8_H
#define SIGNAL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct utf8_validator {
    uint32_t state; /* 0: at a code point boundary */
};

enum utf8_status {
    UTF8_COMPLETE,   /* valid so far and ends on a code point boundary */
    UTF8_INCOMPLETE, /* valid so far but ends inside a code point */
    UTF8_INVALID,    /* can never become valid */
};

static inline void utf8_validator_init(struct utf8_validator *v)
{
    v->state = 0;
}

/* Feeds the next n bytes. Once UTF8_INVALID is returned the validator stays
 * invalid until re-initialised. */
enum utf8_status utf8_validator_feed(struct utf8_validator *v, const uint8_t *p,
                                     size_t n);

/* Whole-buffer check: true when p[0..n) is complete, valid UTF-8. */
bool utf8_is_valid(const uint8_t *p, size_t n);

/* Number of code points in valid UTF-8 text. */
size_t utf8_count_code_points(const uint8_t *p, size_t n);

#endif
