/*
 * Shared by the libFuzzer targets: the entry point's prototype and a check
 * that reports a broken invariant and aborts, so libFuzzer records the
 * input as a crash. Unlike assert it stays on in every build type.
 */
#ifndef SIGNAL_FUZZ_CHECK_H
#define SIGNAL_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_fail(const char *file, int line, const char *condition,
                             const char *message)
{
    fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n", file, line, message,
            condition);
    abort();
}

#define FUZZ_CHECK(condition, message)                                         \
    ((condition) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #condition, message))

/* Copies size bytes into a heap block of exactly that size (1 byte for an
 * empty input), so that AddressSanitizer reports a read past the end. */
static inline uint8_t *fuzz_copy(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size > 0 ? size : 1);

    if (copy == NULL)
        abort();
    if (size > 0)
        memcpy(copy, data, size);
    return copy;
}

#endif
