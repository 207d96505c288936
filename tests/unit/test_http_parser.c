/*
 * Unit tests of the HTTP request-head parser: well-formed requests and what
 * it extracts from them, pipelined requests, incomplete input, and every
 * error status with the input that must cause it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"

#define MAX_HEAD 16384

static enum http_parse_status parse(const char *text, struct http_request *req,
                                    int *status)
{
    *status = 0;
    return http_parse_request(text, strlen(text), MAX_HEAD, req, status);
}

static bool span_equals(const char *p, size_t n, const char *expected)
{
    return n == strlen(expected) && memcmp(p, expected, n) == 0;
}

#define ck_assert_span(p, n, expected)                                         \
    ck_assert_msg(span_equals(p, n, expected),                                 \
                  "got \"%.*s\", expected \"%s\"", (int)(n), p, expected)

START_TEST(test_simple_get)
{
    const char *text = "GET /index.html HTTP/1.1\r\n"
                       "Host: example.com\r\n"
                       "\r\n";
    struct http_request req;
    int status;

    ck_assert_int_eq(parse(text, &req, &status), HTTP_PARSE_OK);
    ck_assert_span(req.method, req.method_len, "GET");
    ck_assert_span(req.target, req.target_len, "/index.html");
    ck_assert_int_eq(req.version_minor, 1);
    ck_assert_uint_eq(req.header_count, 1);
    ck_assert_span(req.headers[0].name, req.headers[0].name_len, "Host");
    ck_assert_span(req.headers[0].value, req.headers[0].value_len,
                   "example.com");
    ck_assert_uint_eq(req.head_len, strlen(text));
    ck_assert_int_eq(req.content_length, -1);
    ck_assert(req.keep_alive);
}
END_TEST

START_TEST(test_websocket_upgrade_headers)
{
    const char *text = "GET /ws?room=a%20b HTTP/1.1\r\n"
                       "Host: 127.0.0.1:8080\r\n"
                       "upgrade:websocket\r\n"
                       "Connection: keep-alive, Upgrade\r\n"
                       "Sec-WebSocket-Key: \t dGhlIHNhbXBsZSBub25jZQ== \t\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "X-Empty:\r\n"
                       "X-Obs-Text: caf\xc3\xa9\r\n"
                       "\r\n";
    struct http_request req;
    int status;

    ck_assert_int_eq(parse(text, &req, &status), HTTP_PARSE_OK);
    ck_assert_span(req.target, req.target_len, "/ws?room=a%20b");
    ck_assert_uint_eq(req.header_count, 7);

    const struct http_header *h = http_find_header(&req, "UPGRADE");
    ck_assert_ptr_nonnull(h);
    ck_assert_span(h->value, h->value_len, "websocket");

    h = http_find_header(&req, "sec-websocket-key");
    ck_assert_ptr_nonnull(h);
    ck_assert_span(h->value, h->value_len, "dGhlIHNhbXBsZSBub25jZQ==");

    h = http_find_header(&req, "Connection");
    ck_assert_ptr_nonnull(h);
    ck_assert(http_header_has_token(h->value, h->value_len, "upgrade"));
    ck_assert(req.keep_alive);

    h = http_find_header(&req, "X-Empty");
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(h->value_len, 0);

    h = http_find_header(&req, "X-Obs-Text");
    ck_assert_ptr_nonnull(h);
    ck_assert_span(h->value, h->value_len, "caf\xc3\xa9");

    ck_assert_ptr_null(http_find_header(&req, "Sec-WebSocket-Protocol"));
    ck_assert_ptr_null(http_find_header(&req, "Host2"));
}
END_TEST

START_TEST(test_post_with_content_length)
{
    const char *text = "POST /v1/api/socket/websocket/clients/broadcast "
                       "HTTP/1.1\r\n"
                       "Host: localhost\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: 11\r\n"
                       "\r\n"
                       "{\"topic\":1}";
    struct http_request req;
    int status;

    ck_assert_int_eq(parse(text, &req, &status), HTTP_PARSE_OK);
    ck_assert_span(req.method, req.method_len, "POST");
    ck_assert_int_eq(req.content_length, 11);
    ck_assert_uint_eq(req.head_len, strlen(text) - 11);
    ck_assert_str_eq(text + req.head_len, "{\"topic\":1}");
}
END_TEST

START_TEST(test_content_length_zero_and_max)
{
    struct http_request req;
    int status;

    ck_assert_int_eq(parse("PUT / HTTP/1.1\r\nHost: h\r\n"
                           "Content-Length: 0\r\n\r\n",
                           &req, &status),
                     HTTP_PARSE_OK);
    ck_assert_int_eq(req.content_length, 0);

    ck_assert_int_eq(parse("PUT / HTTP/1.1\r\nHost: h\r\n"
                           "Content-Length: 9223372036854775807\r\n\r\n",
                           &req, &status),
                     HTTP_PARSE_OK);
    ck_assert_int_eq(req.content_length, INT64_MAX);
}
END_TEST

START_TEST(test_keep_alive_rules)
{
    static const struct {
        const char *text;
        bool keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n",
         false},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", true},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_request req;
        int status;
        ck_assert_int_eq(parse(cases[i].text, &req, &status), HTTP_PARSE_OK);
        ck_assert_msg(req.keep_alive == cases[i].keep_alive,
                      "case %zu: keep_alive %d, expected %d", i, req.keep_alive,
                      cases[i].keep_alive);
    }
}
END_TEST

START_TEST(test_http10_without_host)
{
    struct http_request req;
    int status;

    ck_assert_int_eq(parse("GET /healthz HTTP/1.0\r\n\r\n", &req, &status),
                     HTTP_PARSE_OK);
    ck_assert_int_eq(req.version_minor, 0);
    ck_assert_uint_eq(req.header_count, 0);
}
END_TEST

START_TEST(test_pipelined_requests)
{
    const char *text =
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
        "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n"
        "hi"
        "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t len = strlen(text);
    struct http_request req;
    int status = 0;
    size_t offset = 0;

    ck_assert_int_eq(http_parse_request(text, len, MAX_HEAD, &req, &status),
                     HTTP_PARSE_OK);
    ck_assert_span(req.target, req.target_len, "/a");
    ck_assert_uint_eq(req.head_len, 28);
    offset += req.head_len;

    ck_assert_int_eq(http_parse_request(text + offset, len - offset, MAX_HEAD,
                                        &req, &status),
                     HTTP_PARSE_OK);
    ck_assert_span(req.target, req.target_len, "/b");
    ck_assert_int_eq(req.content_length, 2);
    ck_assert_uint_eq(req.head_len, 48);
    offset += req.head_len + (size_t)req.content_length;

    ck_assert_int_eq(http_parse_request(text + offset, len - offset, MAX_HEAD,
                                        &req, &status),
                     HTTP_PARSE_OK);
    ck_assert_span(req.target, req.target_len, "/c");
    ck_assert_uint_eq(offset + req.head_len, len);
}
END_TEST

START_TEST(test_leading_empty_lines_skipped)
{
    const char *text = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    struct http_request req;
    int status;

    ck_assert_int_eq(parse(text, &req, &status), HTTP_PARSE_OK);
    ck_assert_span(req.method, req.method_len, "GET");
    ck_assert_uint_eq(req.head_len, strlen(text));
}
END_TEST

START_TEST(test_every_prefix_incomplete)
{
    const char *text = "POST /rooms/a%2Fb/send?x=1 HTTP/1.1\r\n"
                       "Host: example.com:8080\r\n"
                       "Content-Length: 10\r\n"
                       "X-Tab:\tvalue\t\r\n"
                       "\r\n";
    size_t len = strlen(text);
    struct http_request req;

    for (size_t cut = 0; cut < len; cut++) {
        int status = 0;
        enum http_parse_status result =
            http_parse_request(text, cut, MAX_HEAD, &req, &status);
        ck_assert_msg(result == HTTP_PARSE_INCOMPLETE,
                      "prefix of %zu bytes: result %d, status %d", cut, result,
                      status);
    }

    int status = 0;
    ck_assert_int_eq(http_parse_request(text, len, MAX_HEAD, &req, &status),
                     HTTP_PARSE_OK);
    ck_assert_uint_eq(req.head_len, len);
}
END_TEST

START_TEST(test_head_at_limit_accepted)
{
    const char *text = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: abcdef\r\n\r\n";
    size_t len = strlen(text);
    struct http_request req;
    int status = 0;

    ck_assert_int_eq(http_parse_request(text, len, len, &req, &status),
                     HTTP_PARSE_OK);
    ck_assert_uint_eq(req.head_len, len);

    /* The same bytes followed by a body still fit: only the head counts. */
    char with_body[128];
    snprintf(with_body, sizeof with_body, "%sBODY", text);
    ck_assert_int_eq(
        http_parse_request(with_body, strlen(with_body), len, &req, &status),
        HTTP_PARSE_OK);
}
END_TEST

START_TEST(test_head_over_limit_431)
{
    const char *text = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: abcdef\r\n\r\n";
    size_t len = strlen(text);
    struct http_request req;
    int status = 0;

    ck_assert_int_eq(http_parse_request(text, len, len - 1, &req, &status),
                     HTTP_PARSE_ERROR);
    ck_assert_int_eq(status, 431);

    /* An incomplete head that already fills the limit cannot fit either. */
    status = 0;
    ck_assert_int_eq(http_parse_request(text, 20, 20, &req, &status),
                     HTTP_PARSE_ERROR);
    ck_assert_int_eq(status, 431);

    /* Below the limit the same prefix is only incomplete. */
    ck_assert_int_eq(http_parse_request(text, 20, 21, &req, &status),
                     HTTP_PARSE_INCOMPLETE);
}
END_TEST

static void build_request_with_headers(char *buf, size_t cap, int count)
{
    size_t used = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 1; i < count; i++)
        used += (size_t)snprintf(buf + used, cap - used, "X-H%d: %d\r\n", i, i);
    snprintf(buf + used, cap - used, "\r\n");
}

START_TEST(test_header_count_limit)
{
    char buf[4096];
    struct http_request req;
    int status = 0;

    build_request_with_headers(buf, sizeof buf, HTTP_MAX_HEADERS);
    ck_assert_int_eq(parse(buf, &req, &status), HTTP_PARSE_OK);
    ck_assert_uint_eq(req.header_count, HTTP_MAX_HEADERS);

    build_request_with_headers(buf, sizeof buf, HTTP_MAX_HEADERS + 1);
    ck_assert_int_eq(parse(buf, &req, &status), HTTP_PARSE_ERROR);
    ck_assert_int_eq(status, 431);
}
END_TEST

/* Complete requests that must fail, with the status they must get. */
static const struct {
    const char *text;
    size_t len; /* 0: strlen(text) */
    int status;
    const char *why;
} bad_requests[] = {
    /* Request line. */
    {" / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "empty method"},
    {"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "two spaces after method"},
    {"GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "tab after method"},
    {"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "'(' in method"},
    {"GET index HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "relative target"},
    {"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "absolute-form"},
    {"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "asterisk-form"},
    {"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "authority-form"},
    {"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "space in target"},
    {"GET /a\"b HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "'\"' in target"},
    {"GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "fragment in target"},
    {"GET /a\\b HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "backslash in target"},
    {"GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "raw UTF-8 target"},
    {"GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "bad percent-encoding"},
    {"GET /%4 HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "short percent-encoding"},
    {"GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n", 28, 400, "NUL in target"},
    {"GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "control in target"},
    {"GET /\r\nHost: h\r\n\r\n", 0, 400, "HTTP/0.9 request line"},
    {"GET / \r\nHost: h\r\n\r\n", 0, 400, "missing version"},
    {"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 0, 400, "space after version"},
    {"GET / http/1.1\r\nHost: h\r\n\r\n", 0, 400, "lower-case version"},
    {"GET / HTTP/11\r\nHost: h\r\n\r\n", 0, 400, "version without dot"},
    {"GET / HTTP/1.10\r\nHost: h\r\n\r\n", 0, 400, "three-digit version"},
    {"GET / HTTP/1.1\nHost: h\r\n\r\n", 0, 400, "bare LF after request line"},
    {"GET / HTTP/1.1\rHost: h\r\n\r\n", 0, 400, "bare CR after request line"},
    {"\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400, "leading bare LF"},
    /* Header lines. */
    {"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 0, 400, "bare LF in header"},
    {"GET / HTTP/1.1\r\nHost: h\r\n\n", 0, 400, "bare LF as empty line"},
    {"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 0, 400, "bare CR in header"},
    {"GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", 0, 400, "CR CR LF empty line"},
    {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 0, 400, "space before colon"},
    {"GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n", 0, 400, "empty header name"},
    {"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 0, 400, "no colon"},
    {"GET / HTTP/1.1\r\nHost: h\r\nX(y): 1\r\n\r\n", 0, 400, "'(' in name"},
    {"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 0, 400,
     "obsolete line folding with space"},
    {"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 0, 400,
     "obsolete line folding with tab"},
    {"GET / HTTP/1.1\r\n Host: h\r\n\r\n", 0, 400, "space before first header"},
    {"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 0, 400,
     "control character in value"},
    {"GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fz\r\n\r\n", 0, 400, "DEL in value"},
    {"GET / HTTP/1.1\r\nHost: h\r\nX: a\0z\r\n\r\n", 35, 400, "NUL in value"},
    /* Framing and routing headers. */
    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", 0, 400,
     "non-numeric Content-Length"},
    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 0, 400,
     "negative Content-Length"},
    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 0, 400,
     "signed Content-Length"},
    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 0, 400,
     "empty Content-Length"},
    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", 0, 400,
     "Content-Length with space"},
    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 0, 400,
     "Content-Length list"},
    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n"
     "\r\n",
     0, 400, "Content-Length above INT64_MAX"},
    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
     "content-length: 5\r\n\r\n",
     0, 400, "duplicate Content-Length"},
    {"GET / HTTP/1.1\r\n\r\n", 0, 400, "missing Host on 1.1"},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 0, 400, "duplicate Host"},
    {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, 400, "space in Host"},
    {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 0, 400, "'/' in Host"},
    {"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 501,
     "chunked body"},
    {"GET / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: identity\r\n\r\n", 0, 501,
     "identity transfer coding"},
    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
     "Transfer-Encoding: chunked\r\n\r\n",
     0, 501, "Transfer-Encoding with Content-Length"},
    {"GET / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 501,
     "Transfer-Encoding on 1.0"},
    /* Versions. */
    {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 0, 505, "HTTP/2.0"},
    {"GET / HTTP/1.2\r\nHost: h\r\n\r\n", 0, 505, "HTTP/1.2"},
    {"GET / HTTP/0.9\r\nHost: h\r\n\r\n", 0, 505, "HTTP/0.9"},
    {"GET / HTTP/3.1\r\n\r\n", 0, 505, "HTTP/3.1"},
};

START_TEST(test_bad_request_status)
{
    const char *text = bad_requests[_i].text;
    size_t len = bad_requests[_i].len ? bad_requests[_i].len : strlen(text);
    struct http_request req;
    int status = 0;

    enum http_parse_status result =
        http_parse_request(text, len, MAX_HEAD, &req, &status);
    ck_assert_msg(result == HTTP_PARSE_ERROR, "%s: result %d, expected error",
                  bad_requests[_i].why, result);
    ck_assert_msg(status == bad_requests[_i].status,
                  "%s: status %d, expected %d", bad_requests[_i].why, status,
                  bad_requests[_i].status);
}
END_TEST

START_TEST(test_syntax_error_before_head_complete)
{
    /* A bad byte fails at once: the client need not finish its head. */
    static const char *prefixes[] = {
        "GET /\x01",
        "GET\t",
        "GET / HTTP/1.1\n",
        "GET / HTTP/1.1\r\nHo st",
        "GET / HTTP/1.1\r\nX: a\r\n b",
        "GET / HTTX",
        "GET / HTTP/1.1\r\nX: \x7f",
    };

    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        struct http_request req;
        int status = 0;
        ck_assert_msg(parse(prefixes[i], &req, &status) == HTTP_PARSE_ERROR,
                      "prefix %zu not rejected", i);
        ck_assert_int_eq(status, 400);
    }
}
END_TEST

START_TEST(test_header_has_token)
{
    const char *value = "keep-alive, Upgrade";

    ck_assert(http_header_has_token(value, strlen(value), "upgrade"));
    ck_assert(http_header_has_token(value, strlen(value), "Keep-Alive"));
    ck_assert(!http_header_has_token(value, strlen(value), "close"));
    ck_assert(!http_header_has_token(value, strlen(value), "keep"));
    ck_assert(!http_header_has_token(value, strlen(value), "grade"));

    const char *spaced = " ,\tUpgrade\t, ,close ";
    ck_assert(http_header_has_token(spaced, strlen(spaced), "upgrade"));
    ck_assert(http_header_has_token(spaced, strlen(spaced), "close"));
    ck_assert(!http_header_has_token(spaced, strlen(spaced), ""));
    ck_assert(!http_header_has_token("", 0, "close"));

    /* The length bounds the value: "closed" cut to 5 bytes is "close". */
    ck_assert(http_header_has_token("closed", 5, "close"));
    ck_assert(!http_header_has_token("closed", 6, "close"));
}
END_TEST

START_TEST(test_percent_decode)
{
    char out[64];
    size_t out_len = 0;

    const char *in = "room%20one%2Fa+b%e2%82%AC";
    ck_assert(http_percent_decode(in, strlen(in), out, &out_len));
    ck_assert_uint_eq(out_len, 15);
    ck_assert_mem_eq(out, "room one/a+b\xe2\x82\xac", 15);

    ck_assert(http_percent_decode("", 0, out, &out_len));
    ck_assert_uint_eq(out_len, 0);

    ck_assert(!http_percent_decode("a%", 2, out, &out_len));
    ck_assert(!http_percent_decode("a%4", 3, out, &out_len));
    ck_assert(!http_percent_decode("%g0", 3, out, &out_len));
    ck_assert(!http_percent_decode("%0g", 3, out, &out_len));
    ck_assert(!http_percent_decode("a%00b", 5, out, &out_len));
    /* The length bounds the input: "%41" cut to 2 bytes is incomplete. */
    ck_assert(!http_percent_decode("%41", 2, out, &out_len));
}
END_TEST

START_TEST(test_status_reason)
{
    ck_assert_str_eq(http_status_reason(101), "Switching Protocols");
    ck_assert_str_eq(http_status_reason(200), "OK");
    ck_assert_str_eq(http_status_reason(400), "Bad Request");
    ck_assert_str_eq(http_status_reason(404), "Not Found");
    ck_assert_str_eq(http_status_reason(431),
                     "Request Header Fields Too Large");
    ck_assert_str_eq(http_status_reason(501), "Not Implemented");
    ck_assert_str_eq(http_status_reason(505), "HTTP Version Not Supported");
    ck_assert_str_eq(http_status_reason(299), "Unknown");
}
END_TEST

static Suite *http_parser_suite(void)
{
    Suite *s = suite_create("http_parser");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_simple_get);
    tcase_add_test(tc, test_websocket_upgrade_headers);
    tcase_add_test(tc, test_post_with_content_length);
    tcase_add_test(tc, test_content_length_zero_and_max);
    tcase_add_test(tc, test_keep_alive_rules);
    tcase_add_test(tc, test_http10_without_host);
    tcase_add_test(tc, test_pipelined_requests);
    tcase_add_test(tc, test_leading_empty_lines_skipped);
    tcase_add_test(tc, test_every_prefix_incomplete);
    tcase_add_test(tc, test_head_at_limit_accepted);
    tcase_add_test(tc, test_head_over_limit_431);
    tcase_add_test(tc, test_header_count_limit);
    tcase_add_loop_test(tc, test_bad_request_status, 0,
                        sizeof bad_requests / sizeof bad_requests[0]);
    tcase_add_test(tc, test_syntax_error_before_head_complete);
    tcase_add_test(tc, test_header_has_token);
    tcase_add_test(tc, test_percent_decode);
    tcase_add_test(tc, test_status_reason);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(http_parser_suite());

    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
