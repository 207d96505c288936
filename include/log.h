/*
 * Operator logs: one line per event on stderr, either key=value text
 * (`ts=... level=info event=listening addr=127.0.0.1:8080`) or one JSON
 * object per line. Each line is written with a single write(2), so lines
 * from different threads never interleave. The level can change at run
 * time (SIGHUP) and is read with relaxed atomics.
 */
#ifndef SIGNAL_LOG_H
#define SIGNAL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

void log_set_level(enum log_level level);
void log_set_format(enum log_format format);

/* Prefix each line with its syslog priority ("<6>") for journald. */
void log_set_journal_prefix(bool on);

bool log_enabled(enum log_level level);

/* Parses "debug", "info", "warn" or "error". */
bool log_level_parse(const char *s, enum log_level *out);

/* Logs one event. fmt produces the remaining fields as `key=value` pairs
 * separated by spaces; a value with spaces or quotes must be written with
 * log_quote. Nothing is formatted when the level is disabled. */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes s as a double-quoted value with \" \\ and \xNN escapes for
 * control and non-ASCII bytes, cut to fit cap. Returns dst. */
char *log_quote(char *dst, size_t cap, const char *s, size_t len);

#endif
