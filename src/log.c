/*
 * Line-oriented operator logs on stderr. Shared by every thread: the level
 * and format are atomics, and each line is built in a stack buffer and
 * written with one write(2).
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static atomic_int current_level = LOG_INFO;
static atomic_int current_format = LOG_FORMAT_TEXT;
static atomic_bool journal_prefix = false;

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const journal_priorities[] = {"<7>", "<6>", "<4>", "<3>"};

void log_set_level(enum log_level level)
{
    atomic_store_explicit(&current_level, level, memory_order_relaxed);
}

void log_set_format(enum log_format format)
{
    atomic_store_explicit(&current_format, format, memory_order_relaxed);
}

void log_set_journal_prefix(bool on)
{
    atomic_store_explicit(&journal_prefix, on, memory_order_relaxed);
}

bool log_enabled(enum log_level level)
{
    return (int)level >=
           atomic_load_explicit(&current_level, memory_order_relaxed);
}

bool log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

char *log_quote(char *dst, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (cap < 3) {
        if (cap > 0)
            dst[0] = '\0';
        return dst;
    }
    dst[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t need = (c == '"' || c == '\\')   ? 2
                      : (c < 0x20 || c >= 0x7f) ? 4
                                                : 1;

        if (o + need + 2 > cap)
            break;
        if (need == 2) {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (need == 4) {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return dst;
}

static size_t format_time(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
    return n + (m > 0 ? (size_t)m : 0);
}

/* Appends the key=value fields as JSON members. Values in double quotes
 * are kept as JSON strings (their \xNN escapes become \u00NN); bare values
 * become strings too, so consumers see one type per key. */
static size_t append_json_fields(char *out, size_t o, size_t cap,
                                 const char *fields)
{
    const char *p = fields;

    while (*p != '\0' && o + 16 < cap) {
        while (*p == ' ')
            p++;
        const char *key = p;
        while (*p != '\0' && *p != '=' && *p != ' ')
            p++;
        if (*p != '=')
            break;
        size_t key_len = (size_t)(p - key);
        p++;
        o += (size_t)snprintf(out + o, cap - o, ",\"%.*s\":\"", (int)key_len,
                              key);
        if (*p == '"') {
            p++;
            while (*p != '\0' && *p != '"' && o + 8 < cap) {
                if (p[0] == '\\' && p[1] == 'x' && p[2] && p[3]) {
                    o += (size_t)snprintf(out + o, cap - o, "\\u00%c%c", p[2],
                                          p[3]);
                    p += 4;
                } else if (p[0] == '\\' && p[1] != '\0') {
                    out[o++] = p[0];
                    out[o++] = p[1];
                    p += 2;
                } else {
                    out[o++] = *p++;
                }
            }
            if (*p == '"')
                p++;
        } else {
            while (*p != '\0' && *p != ' ' && o + 8 < cap) {
                if (*p == '"' || *p == '\\')
                    out[o++] = '\\';
                out[o++] = *p++;
            }
        }
        if (o + 2 < cap)
            out[o++] = '"';
    }
    return o;
}

void log_event(enum log_level level, const char *event, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    char fields[LOG_LINE_MAX - 256];
    char ts[40];
    size_t o = 0;
    va_list ap;

    if (!log_enabled(level))
        return;

    fields[0] = '\0';
    if (fmt != NULL && fmt[0] != '\0') {
        va_start(ap, fmt);
        vsnprintf(fields, sizeof(fields), fmt, ap);
        va_end(ap);
    }
    format_time(ts, sizeof(ts));

    if (atomic_load_explicit(&journal_prefix, memory_order_relaxed))
        o += (size_t)snprintf(line, sizeof(line), "%s",
                              journal_priorities[level]);

    if (atomic_load_explicit(&current_format, memory_order_relaxed) ==
        LOG_FORMAT_JSON) {
        o +=
            (size_t)snprintf(line + o, sizeof(line) - o,
                             "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"%s\"",
                             ts, level_names[level], event);
        o = append_json_fields(line, o, sizeof(line) - 2, fields);
        line[o++] = '}';
    } else {
        int n = snprintf(line + o, sizeof(line) - o,
                         "ts=%s level=%s event=%s%s%s", ts, level_names[level],
                         event, fields[0] ? " " : "", fields);
        o += (n > 0 && (size_t)n < sizeof(line) - o) ? (size_t)n
                                                     : sizeof(line) - o - 2;
    }
    line[o++] = '\n';

    /* A failed log write has nowhere better to be reported. */
    ssize_t w = write(STDERR_FILENO, line, o);
    (void)w;
}
