/*
 * Strict, bounded HTTP/1.1 request-head parser without I/O or allocation.
 * The parsed request points into the caller's buffer. Used by the workers for
 * every connection before any upgrade; pure, safe on any thread.
 */
#ifndef SIGNAL_HTTP_PARSER_H
#define SIGNAL_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 64

struct http_header {
    const char *name;
    size_t name_len;
    const char *value; /* leading and trailing spaces and tabs removed */
    size_t value_len;
};

struct http_request {
    const char *method;
    size_t method_len;
    const char *target; /* origin-form: starts with '/' */
    size_t target_len;
    int version_minor; /* HTTP/1.<version_minor>: 0 or 1 */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t header_count;
    size_t head_len;        /* bytes up to and including the empty line */
    int64_t content_length; /* -1 when absent */
    bool keep_alive;        /* from the version and the Connection header */
};

enum http_parse_status {
    HTTP_PARSE_INCOMPLETE = 0, /* need more bytes; none of them is wrong yet */
    HTTP_PARSE_OK = 1,
    HTTP_PARSE_ERROR = -1, /* *http_status says which answer to give */
};

/* Parses the request head at the start of buf[0..len). A head longer than
 * max_head bytes or with more than HTTP_MAX_HEADERS headers fails with 431.
 * A Transfer-Encoding of any kind fails with 501, and a version other than
 * 1.0 or 1.1 with 505. Everything else fails with 400: a malformed request
 * line, a target not in origin-form, header syntax, obsolete line folding,
 * bare CR or LF, control characters, an invalid or duplicate Content-Length
 * or Host, and a missing Host on HTTP/1.1. Empty lines before the request line
 * are skipped and counted in head_len. A syntax error is reported as soon as
 * its byte is in buf, even before the head is complete. */
enum http_parse_status http_parse_request(const char *buf, size_t len,
                                          size_t max_head,
                                          struct http_request *req,
                                          int *http_status);

/* First header with this name (case-insensitive), or NULL. */
const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name);

/* True when a comma-separated header value contains token, compared
 * case-insensitively ("keep-alive, Upgrade" contains "upgrade"). */
bool http_header_has_token(const char *value, size_t len, const char *token);

/* Percent-decodes in[0..n) into out (at least n bytes). Fails on a '%' not
 * followed by two hex digits and on a decoded NUL byte. */
bool http_percent_decode(const char *in, size_t n, char *out, size_t *out_len);

/* Length of the path part of the request target (before any '?'). */
size_t http_path_len(const struct http_request *req);

/* Reason phrase for a status code ("Not Found"); "Unknown" when not known. */
const char *http_status_reason(int status);

#endif
