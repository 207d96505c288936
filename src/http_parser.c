/*
 * Strict HTTP/1.1 request-head parser (RFC 9110 and RFC 9112). It walks the
 * buffer once with a cursor, so a byte that can never start a valid request
 * is reported as soon as it is in the buffer, and running out of bytes is
 * distinguished from an error. It stores pointers into the caller's buffer and
 * allocates nothing.
 */
#include "http_parser.h"

#include <string.h>
#include <strings.h>

enum step {
    STEP_DONE,      /* the element was parsed */
    STEP_NEED_MORE, /* the buffer ends inside the element */
    STEP_FAILED,    /* parser.status contains the response status */
    STEP_END_OF_HEAD,
};

struct parser {
    const char *p;   /* next byte to read */
    const char *end; /* end of the readable bytes: min(len, max_head) */
    int status;
};

/* tchar from RFC 9110 section 5.6.2: the characters of a method or a
 * header name. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Characters of an origin-form target (RFC 3986 pchar, '/' and '?'), with
 * '%' accepted here and its two hex digits checked by the caller. */
static bool is_target_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("-._~!$&'()*+,;=:@/?%", c) != NULL;
}

/* field-vchar, SP and HTAB (RFC 9110 section 5.5): obs-text is allowed,
 * every other control character is not. */
static bool is_field_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7F);
}

static bool is_hex_digit(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

static int hex_value(unsigned char c)
{
    if (c <= '9')
        return c - '0';
    return (c | 0x20) - 'a' + 10;
}

static enum step fail(struct parser *ps, int status)
{
    ps->status = status;
    return STEP_FAILED;
}

/* Consumes CR LF. A bare CR, a bare LF or any other byte is an error. */
static enum step expect_crlf(struct parser *ps)
{
    if (ps->p == ps->end)
        return STEP_NEED_MORE;
    if (ps->p[0] != '\r')
        return fail(ps, 400);
    if (ps->p + 1 == ps->end)
        return STEP_NEED_MORE;
    if (ps->p[1] != '\n')
        return fail(ps, 400);
    ps->p += 2;
    return STEP_DONE;
}

/* Matches "HTTP/" DIGIT "." DIGIT and stores the minor version. Any other
 * major version or a minor version above 1 is 505. */
static enum step parse_version(struct parser *ps, struct http_request *req)
{
    static const char pattern[] = "HTTP/#.#";
    const size_t pattern_len = sizeof pattern - 1;

    for (size_t i = 0; i < pattern_len; i++) {
        if (ps->p + i == ps->end)
            return STEP_NEED_MORE;
        unsigned char c = (unsigned char)ps->p[i];
        bool matches = pattern[i] == '#' ? c >= '0' && c <= '9'
                                         : c == (unsigned char)pattern[i];
        if (!matches)
            return fail(ps, 400);
    }

    int major = ps->p[5] - '0';
    int minor = ps->p[7] - '0';
    ps->p += pattern_len;

    enum step step = expect_crlf(ps);
    if (step != STEP_DONE)
        return step;
    if (major != 1 || minor > 1)
        return fail(ps, 505);
    req->version_minor = minor;
    return STEP_DONE;
}

static enum step parse_target(struct parser *ps, struct http_request *req)
{
    const char *start = ps->p;

    if (ps->p == ps->end)
        return STEP_NEED_MORE;
    /* Only origin-form: absolute-form, authority-form and "*" are not
     * used by the clients of this server. */
    if (*ps->p != '/')
        return fail(ps, 400);

    while (ps->p < ps->end && is_target_char((unsigned char)*ps->p)) {
        if (*ps->p == '%') {
            for (int k = 1; k <= 2; k++) {
                if (ps->p + k == ps->end)
                    return STEP_NEED_MORE;
                if (!is_hex_digit((unsigned char)ps->p[k]))
                    return fail(ps, 400);
            }
            ps->p += 2;
        }
        ps->p++;
    }
    if (ps->p == ps->end)
        return STEP_NEED_MORE;
    if (*ps->p != ' ')
        return fail(ps, 400);

    req->target = start;
    req->target_len = (size_t)(ps->p - start);
    ps->p++;
    return STEP_DONE;
}

/* request-line = method SP request-target SP HTTP-version CRLF */
static enum step parse_request_line(struct parser *ps, struct http_request *req)
{
    /* RFC 9112 section 2.2: a server SHOULD ignore empty lines before the
     * request line, because some clients send an extra CRLF after a body. */
    for (;;) {
        if (ps->p == ps->end)
            return STEP_NEED_MORE;
        if (*ps->p != '\r')
            break;
        enum step step = expect_crlf(ps);
        if (step != STEP_DONE)
            return step;
    }

    const char *method = ps->p;
    while (ps->p < ps->end && is_tchar((unsigned char)*ps->p))
        ps->p++;
    if (ps->p == ps->end)
        return STEP_NEED_MORE;
    if (*ps->p != ' ' || ps->p == method)
        return fail(ps, 400);
    req->method = method;
    req->method_len = (size_t)(ps->p - method);
    ps->p++;

    enum step step = parse_target(ps, req);
    if (step != STEP_DONE)
        return step;
    return parse_version(ps, req);
}

/* field-line = field-name ":" OWS field-value OWS CRLF, or the empty line
 * that ends the head (STEP_END_OF_HEAD). */
static enum step parse_header_line(struct parser *ps, struct http_request *req)
{
    if (ps->p == ps->end)
        return STEP_NEED_MORE;
    if (*ps->p == '\r') {
        enum step step = expect_crlf(ps);
        return step == STEP_DONE ? STEP_END_OF_HEAD : step;
    }

    /* A line starting with whitespace is obsolete line folding (or
     * whitespace before the first header): RFC 9112 lets a server reject
     * both, and it must not guess what they mean. */
    const char *name = ps->p;
    while (ps->p < ps->end && is_tchar((unsigned char)*ps->p))
        ps->p++;
    if (ps->p == ps->end)
        return STEP_NEED_MORE;
    if (*ps->p != ':' || ps->p == name)
        return fail(ps, 400);
    size_t name_len = (size_t)(ps->p - name);
    ps->p++;

    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
    const char *value = ps->p;
    while (ps->p < ps->end && is_field_value_char((unsigned char)*ps->p))
        ps->p++;
    const char *value_end = ps->p;
    enum step step = expect_crlf(ps);
    if (step != STEP_DONE)
        return step;
    while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
        value_end--;

    if (req->header_count == HTTP_MAX_HEADERS)
        return fail(ps, 431);
    struct http_header *h = &req->headers[req->header_count++];
    h->name = name;
    h->name_len = name_len;
    h->value = value;
    h->value_len = (size_t)(value_end - value);
    return STEP_DONE;
}

static bool name_equals(const struct http_header *h, const char *name)
{
    size_t n = strlen(name);

    return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

/* Content-Length = 1*DIGIT, at most INT64_MAX. */
static bool parse_content_length(const char *s, size_t n, int64_t *out)
{
    int64_t value = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        int digit = s[i] - '0';
        if (value > (INT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = value;
    return true;
}

/* Host = uri-host [ ":" port ]: reg-name, IPv4 or IP-literal characters. */
static bool is_valid_host(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') ||
                       (c != '\0' && strchr("-._~!$&'()*+,;=%:[]", c));
        if (!allowed)
            return false;
    }
    return true;
}

/* Checks the headers that decide how the message is framed and routed,
 * and derives content_length and keep_alive. */
static enum step apply_headers(struct parser *ps, struct http_request *req)
{
    const struct http_header *host = NULL;
    const struct http_header *connection = NULL;

    req->content_length = -1;
    for (size_t i = 0; i < req->header_count; i++) {
        const struct http_header *h = &req->headers[i];

        /* A body in chunked or any other coding is not supported, and
         * guessing its length would open the door to request smuggling. */
        if (name_equals(h, "Transfer-Encoding"))
            return fail(ps, 501);

        if (name_equals(h, "Content-Length")) {
            if (req->content_length >= 0)
                return fail(ps, 400);
            if (!parse_content_length(h->value, h->value_len,
                                      &req->content_length))
                return fail(ps, 400);
        } else if (name_equals(h, "Host")) {
            if (host != NULL || !is_valid_host(h->value, h->value_len))
                return fail(ps, 400);
            host = h;
        } else if (name_equals(h, "Connection") && connection == NULL) {
            connection = h;
        }
    }

    /* RFC 9112 section 3.2: a 1.1 request without Host is rejected. */
    if (req->version_minor == 1 && host == NULL)
        return fail(ps, 400);

    if (req->version_minor == 1)
        req->keep_alive =
            connection == NULL ||
            !http_header_has_token(connection->value, connection->value_len,
                                   "close");
    else
        req->keep_alive =
            connection != NULL &&
            http_header_has_token(connection->value, connection->value_len,
                                  "keep-alive") &&
            !http_header_has_token(connection->value, connection->value_len,
                                   "close");
    return STEP_DONE;
}

enum http_parse_status http_parse_request(const char *buf, size_t len,
                                          size_t max_head,
                                          struct http_request *req,
                                          int *http_status)
{
    struct parser ps = {
        .p = buf,
        .end = buf + (len < max_head ? len : max_head),
        .status = 0,
    };

    memset(req, 0, sizeof *req);
    req->content_length = -1;

    enum step step = parse_request_line(&ps, req);
    while (step == STEP_DONE)
        step = parse_header_line(&ps, req);

    if (step == STEP_NEED_MORE) {
        /* The cursor stops at max_head, so a head that needs more bytes
         * while max_head are already here can never fit. */
        if (len >= max_head) {
            *http_status = 431;
            return HTTP_PARSE_ERROR;
        }
        return HTTP_PARSE_INCOMPLETE;
    }
    if (step == STEP_END_OF_HEAD)
        step = apply_headers(&ps, req);
    if (step == STEP_FAILED) {
        *http_status = ps.status;
        return HTTP_PARSE_ERROR;
    }

    req->head_len = (size_t)(ps.p - buf);
    return HTTP_PARSE_OK;
}

const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name)
{
    for (size_t i = 0; i < req->header_count; i++) {
        if (name_equals(&req->headers[i], name))
            return &req->headers[i];
    }
    return NULL;
}

bool http_header_has_token(const char *value, size_t len, const char *token)
{
    size_t token_len = strlen(token);
    size_t i = 0;

    /* Empty list elements are allowed and ignored (RFC 9110 section 5.6.1),
     * so they never match. */
    if (token_len == 0)
        return false;

    while (i < len) {
        /* One comma-separated element, without the spaces around it. */
        while (i < len && (value[i] == ' ' || value[i] == '\t'))
            i++;
        size_t start = i;
        while (i < len && value[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
            end--;

        if (end - start == token_len &&
            strncasecmp(value + start, token, token_len) == 0)
            return true;
        i++; /* past the comma */
    }
    return false;
}

bool http_percent_decode(const char *in, size_t n, char *out, size_t *out_len)
{
    size_t written = 0;

    for (size_t i = 0; i < n; i++) {
        if (in[i] != '%') {
            out[written++] = in[i];
            continue;
        }
        if (n - i < 3 || !is_hex_digit((unsigned char)in[i + 1]) ||
            !is_hex_digit((unsigned char)in[i + 2]))
            return false;
        int byte = hex_value((unsigned char)in[i + 1]) << 4 |
                   hex_value((unsigned char)in[i + 2]);
        if (byte == 0)
            return false;
        out[written++] = (char)byte;
        i += 2;
    }
    *out_len = written;
    return true;
}

const char *http_status_reason(int status)
{
    // clang-format off
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
    // clang-format on
}

size_t http_path_len(const struct http_request *req)
{
    const char *q = memchr(req->target, '?', req->target_len);

    return q ? (size_t)(q - req->target) : req->target_len;
}
