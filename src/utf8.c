/*
 * Incremental UTF-8 validation as a small state machine. Each state names
 * what the next byte must be, following the byte-sequence grammar of
 * RFC 3629 section 4, so the first byte that no valid text can
 * contain moves the machine to the reject state. Runs of ASCII at a code
 * point boundary are skipped eight bytes at a time.
 */
#include "utf8.h"

#include <string.h>

enum {
    ACCEPT = 0, /* at a code point boundary */
    NEED_1,     /* one more byte in 80..BF */
    NEED_2,     /* two more bytes in 80..BF */
    NEED_3,     /* three more bytes in 80..BF */
    AFTER_E0,   /* next in A0..BF (excludes overlong 3-byte forms) */
    AFTER_ED,   /* next in 80..9F (excludes surrogates) */
    AFTER_F0,   /* next in 90..BF (excludes overlong 4-byte forms) */
    AFTER_F4,   /* next in 80..8F (excludes code points > U+10FFFF) */
    REJECT,
};

static uint32_t state_after_lead(uint8_t b)
{
    if (b < 0x80)
        return ACCEPT;
    if (b < 0xC2) /* a continuation byte, or C0/C1: overlong 2-byte forms */
        return REJECT;
    if (b < 0xE0)
        return NEED_1;
    if (b == 0xE0)
        return AFTER_E0;
    if (b == 0xED)
        return AFTER_ED;
    if (b < 0xF0)
        return NEED_2;
    if (b == 0xF0)
        return AFTER_F0;
    if (b < 0xF4)
        return NEED_3;
    if (b == 0xF4)
        return AFTER_F4;
    return REJECT; /* F5..FF would start code points above U+10FFFF */
}

static uint32_t step(uint32_t state, uint8_t b)
{
    switch (state) {
    case ACCEPT:
        return state_after_lead(b);
    case NEED_1:
        return b >= 0x80 && b <= 0xBF ? ACCEPT : REJECT;
    case NEED_2:
        return b >= 0x80 && b <= 0xBF ? NEED_1 : REJECT;
    case NEED_3:
        return b >= 0x80 && b <= 0xBF ? NEED_2 : REJECT;
    case AFTER_E0:
        return b >= 0xA0 && b <= 0xBF ? NEED_1 : REJECT;
    case AFTER_ED:
        return b >= 0x80 && b <= 0x9F ? NEED_1 : REJECT;
    case AFTER_F0:
        return b >= 0x90 && b <= 0xBF ? NEED_2 : REJECT;
    case AFTER_F4:
        return b >= 0x80 && b <= 0x8F ? NEED_2 : REJECT;
    default:
        return REJECT;
    }
}

enum utf8_status utf8_validator_feed(struct utf8_validator *v, const uint8_t *p,
                                     size_t n)
{
    uint32_t state = v->state;
    size_t i = 0;

    while (i < n && state != REJECT) {
        /* Most text is ASCII: skip whole words with no high bit set. */
        if (state == ACCEPT) {
            while (n - i >= 8) {
                uint64_t word;
                memcpy(&word, p + i, sizeof word);
                if (word & UINT64_C(0x8080808080808080))
                    break;
                i += 8;
            }
            if (i == n)
                break;
        }
        state = step(state, p[i]);
        i++;
    }

    v->state = state;
    if (state == REJECT)
        return UTF8_INVALID;
    return state == ACCEPT ? UTF8_COMPLETE : UTF8_INCOMPLETE;
}

bool utf8_is_valid(const uint8_t *p, size_t n)
{
    struct utf8_validator v;

    utf8_validator_init(&v);
    return utf8_validator_feed(&v, p, n) == UTF8_COMPLETE;
}

size_t utf8_count_code_points(const uint8_t *p, size_t n)
{
    size_t count = 0;

    /* In valid text every byte that is not a continuation byte starts a
     * code point. */
    for (size_t i = 0; i < n; i++)
        count += (p[i] & 0xC0) != 0x80;
    return count;
}
